//! The centre's organisation (issue 14): the tree, accounts bound to a node and a role,
//! sessions with CSRF, API tokens, one authorisation check with a matrix over every route,
//! and the hash-chained audit log — through the HTTP router, as the console and scripts
//! use it.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridhub::org::NodeInput;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use serde_json::{json, Value};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "Zhenhai-2026-grid";

struct Centre {
    th: TestHub,
    app: axum::Router,
    /// Event ids: one reported in 招宝山街道, one in 蛟川街道.
    event_a: String,
    event_b: String,
    _dirs: Vec<tempfile::TempDir>,
}

/// A demo town with one report in each of two streets, and an account for every role at
/// 招宝山街道 (330211001) plus a dispatcher of 蛟川街道 (330211002).
fn centre() -> Centre {
    let hub_dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(hub_dir.path(), Arc::new(AtomicU64::new(T0)));
    let cli = Principal::cli();
    let s = th
        .hub
        .seed_demo(
            &cli,
            DemoSpec {
                persons: 1_500,
                seed: 3,
            },
        )
        .unwrap();
    let tree = th.hub.org().unwrap();
    let other_grid = tree
        .find("33021100200101")
        .expect("a grid of 蛟川街道")
        .id
        .clone();
    let mut dirs = vec![hub_dir];
    let mut report = |grid: &str, device: &str, desc: &str| {
        let d = tempfile::tempdir().unwrap();
        let mut dev = enrolled_device(&th.hub, d.path(), device, grid, T0);
        let mut t = Direct {
            hub: th.hub.clone(),
            device_id: device.into(),
        };
        sync_all(&mut dev, &mut t);
        let id = dev
            .report_event(NewReport {
                grid_id: Some(grid.to_string()),
                category_code: "0401".into(),
                description: desc.into(),
                reporter: "网格员".into(),
                ..Default::default()
            })
            .unwrap();
        sync_all(&mut dev, &mut t);
        dirs.push(d);
        id
    };
    let event_a = report(
        &s.home_grid_id,
        "0190a4b2-7c3d-7e00-8000-0000000000a1",
        "招宝山的井盖",
    );
    let event_b = report(
        &other_grid,
        "0190a4b2-7c3d-7e00-8000-0000000000b1",
        "蛟川的路灯",
    );
    th.hub
        .add_department(
            &cli,
            &gridhub::departments::NewDepartment {
                code: "cg".into(),
                name: "城管".into(),
                node: "330211001".into(),
            },
        )
        .unwrap();
    let dep = th.hub.departments(&cli).unwrap()[0].id.clone();
    for role in [
        "dispatcher",
        "department_handler",
        "supervisor",
        "fleet_manager",
        "auditor",
        "system_administrator",
        "field_staff",
    ] {
        th.hub
            .create_account(
                &cli,
                &NewAccount {
                    username: role.replace('_', "."),
                    display_name: String::new(),
                    role: role.into(),
                    node: "330211001".into(),
                    department_id: (role == "department_handler").then(|| dep.clone()),
                    password: Some(PASSWORD.into()),
                },
            )
            .unwrap();
    }
    th.hub
        .create_account(
            &cli,
            &NewAccount {
                username: "jiaochuan".into(),
                display_name: "蛟川调度".into(),
                role: "dispatcher".into(),
                node: "330211002".into(),
                department_id: None,
                password: Some(PASSWORD.into()),
            },
        )
        .unwrap();
    let app = gridhub::http::router(th.hub.clone());
    Centre {
        th,
        app,
        event_a,
        event_b,
        _dirs: dirs,
    }
}

/// A signed-in console session: the cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body, headers)
}

async fn login(
    app: &axum::Router,
    username: &str,
    password: &str,
) -> Result<Session, (StatusCode, Value)> {
    login_with_code(app, username, password, None).await
}

/// Sign in, with the authenticator's one-time code when given.
async fn login_with_code(
    app: &axum::Router,
    username: &str,
    password: &str,
    totp: Option<&str>,
) -> Result<Session, (StatusCode, Value)> {
    let mut body = json!({"username": username, "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    let req = Request::post("/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, body, headers) = call(app, req).await;
    if status != StatusCode::OK {
        return Err((status, body));
    }
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    Ok(Session {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: body["csrf"].as_str().unwrap().to_string(),
    })
}

fn req(s: &Session, method: Method, path: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_street_dispatcher_sees_and_acts_on_its_own_street_only() {
    let c = centre();
    let a = login(&c.app, "dispatcher", PASSWORD).await.unwrap();
    let b = login(&c.app, "jiaochuan", PASSWORD).await.unwrap();

    let (st, list, _) = call(&c.app, req(&a, Method::GET, "/v1/admin/events", json!({}))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        ids(&list),
        vec![c.event_a.clone()],
        "招宝山 sees only its own report"
    );
    let (_, list, _) = call(&c.app, req(&b, Method::GET, "/v1/admin/events", json!({}))).await;
    assert_eq!(ids(&list), vec![c.event_b.clone()]);

    // Acting on the other street's event: as if it did not exist.
    let path = format!("/v1/admin/events/{}/transition", c.event_b);
    let (st, _, _) = call(
        &c.app,
        req(&a, Method::POST, &path, json!({"status": "accepted"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = call(
        &c.app,
        req(&b, Method::POST, &path, json!({"status": "accepted"})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // Devices, accounts and the tree are cut to the area too.
    let (_, devices, _) = call(&c.app, req(&a, Method::GET, "/v1/admin/devices", json!({}))).await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    let (_, nodes, _) = call(&c.app, req(&b, Method::GET, "/v1/admin/org", json!({}))).await;
    let codes: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.iter().all(|c| c.starts_with("330211002")),
        "{codes:?}"
    );
    assert!(
        codes.len() >= 7,
        "the street, 2 communities, 4 grids: {codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_handler_sees_only_the_events_routed_to_its_department() {
    let c = centre();
    let h = login(&c.app, "department.handler", PASSWORD).await.unwrap();
    let events = |s: &Session| {
        let r = req(s, Method::GET, "/v1/admin/events", json!({}));
        let app = c.app.clone();
        async move { ids(&call(&app, r).await.1) }
    };
    // 城管 has no 小类 routed to it yet: nothing of the street is its business.
    assert!(events(&h).await.is_empty());
    // 0401 goes to 城管 at street level: the handler sees its own street's report of that
    // kind, never the other street's.
    c.th.hub
        .set_routing(
            &Principal::cli(),
            "0401",
            &[("street".to_string(), "cg".to_string())],
        )
        .unwrap();
    assert_eq!(events(&h).await, vec![c.event_a.clone()]);
    // Routed elsewhere, it is gone from the handler's list again.
    c.th.hub
        .set_routing(&Principal::cli(), "0401", &[])
        .unwrap();
    assert!(events(&h).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_without_the_session_csrf_token_is_refused_and_changes_nothing() {
    let c = centre();
    let a = login(&c.app, "dispatcher", PASSWORD).await.unwrap();
    let path = format!("/v1/admin/events/{}/transition", c.event_a);
    let forged = Request::post(&path)
        .header(header::COOKIE, &a.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"status": "accepted"}).to_string()))
        .unwrap();
    let (st, body, _) = call(&c.app, forged).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let ev =
        c.th.hub
            .row(gridpad_proto::Entity::Event, &c.event_a)
            .unwrap()
            .unwrap();
    assert_eq!(ev.fields["status"], json!("reported"));
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_lock_out_after_five_failures_and_weak_ones_are_refused() {
    let c = centre();
    for _ in 0..5 {
        let (st, body) = login(&c.app, "dispatcher", "wrong-Password-1")
            .await
            .err()
            .unwrap();
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["detail"],
            json!("unauthorized: wrong username or password")
        );
    }
    let (st, body) = login(&c.app, "dispatcher", PASSWORD).await.err().unwrap();
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "locked even with the right password: {body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("locked"));
    // An unknown user reads exactly like a wrong password.
    let (st, body) = login(&c.app, "nobody", PASSWORD).await.err().unwrap();
    assert_eq!(
        (st, body["detail"].clone()),
        (
            StatusCode::UNAUTHORIZED,
            json!("unauthorized: wrong username or password")
        )
    );

    let cli = Principal::cli();
    for weak in [
        "short1!A",
        "alllowercaseletters",
        "Auditor-2026-xy",
        "Password-1234",
    ] {
        let e =
            c.th.hub
                .set_password(&cli, "auditor", weak)
                .expect_err(weak);
        assert!(matches!(e, gridhub::HubError::BadRequest(_)), "{weak}: {e}");
    }
}

/// Signing in with an authenticator takes two steps; the first (the right password, no code
/// yet) is not a failure, so six sign-ins in a row do not lock the account. A wrong password
/// is only "wrong username or password": it never tells that the account has an
/// authenticator.
#[tokio::test(flavor = "multi_thread")]
async fn the_password_step_is_no_failure_and_a_wrong_password_hides_the_second_factor() {
    let c = centre();
    let secret =
        c.th.hub
            .enable_totp(&Principal::cli(), "supervisor")
            .unwrap();
    let (st, body) = login(&c.app, "supervisor", "Wrong-Password-2026")
        .await
        .err()
        .unwrap();
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("wrong username or password"), "{body}");
    assert!(!detail.contains("one-time code"), "{body}");
    for step in 0..6 {
        let (st, body) = login(&c.app, "supervisor", PASSWORD).await.err().unwrap();
        assert_eq!(st, StatusCode::UNAUTHORIZED, "step {step}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("one-time code"),
            "step {step}: {body}"
        );
    }
    let code = gridhub::totp::code(&gridhub::totp::decode(&secret).unwrap(), T0);
    let signed = login_with_code(&c.app, "supervisor", PASSWORD, Some(&code)).await;
    assert!(signed.is_ok(), "{:?}", signed.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_factor_is_asked_for_once_enabled() {
    let c = centre();
    let secret =
        c.th.hub
            .enable_totp(&Principal::cli(), "supervisor")
            .unwrap();
    let (st, body) = login(&c.app, "supervisor", PASSWORD).await.err().unwrap();
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"].as_str().unwrap().contains("one-time code"),
        "{body}"
    );
    let code = gridhub::totp::code(&gridhub::totp::decode(&secret).unwrap(), T0);
    let signed = login_with_code(&c.app, "supervisor", PASSWORD, Some(&code)).await;
    assert!(signed.is_ok(), "{:?}", signed.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_are_scoped_and_revocable() {
    let c = centre();
    let cli = Principal::cli();
    let (token, t) =
        c.th.hub
            .create_api_token(&cli, "dispatcher", "报表", &["events.read".into()], 30)
            .unwrap();
    let get = |path: &str, token: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (st, list, _) = call(&c.app, get("/v1/admin/events", &token)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        ids(&list),
        vec![c.event_a.clone()],
        "the token keeps the account's area"
    );
    let (st, _, _) = call(&c.app, get("/v1/admin/tasks", &token)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "not in the token's scopes");
    // A scope the role lacks cannot be granted.
    assert!(c
        .th
        .hub
        .create_api_token(&cli, "dispatcher", "", &["audit.read".into()], 30)
        .is_err());
    c.th.hub.revoke_api_token(&cli, &t.id).unwrap();
    let (st, _, _) = call(&c.app, get("/v1/admin/events", &token)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_tree_refuses_unknown_parents_cycles_duplicate_codes_and_wrong_levels_and_changes_nothing() {
    let c = centre();
    let cli = Principal::cli();
    let before = c.th.hub.org().unwrap().nodes.len();
    let node = |code: &str, level: &str, parent: &str| NodeInput {
        code: code.into(),
        name: format!("节点{code}"),
        level: level.into(),
        parent: parent.into(),
        boundary: None,
    };
    let bad = [
        vec![node("330211009", "street", "330299")],
        // The same code twice in one import.
        vec![
            node("330211009", "street", "330211"),
            node("330211009", "community", "330211"),
        ],
        // A community made a grid while it has grids under it.
        vec![node("330211001001", "grid", "330211001")],
        vec![node("3302110010099", "street", "330211001001")],
        // A good node first: the batch is all or nothing.
        vec![
            node("330211004", "street", "330211"),
            node("33021100401", "grid", "nowhere"),
        ],
        // Moving the street under one of its own communities.
        vec![node("330211001", "street", "330211001001")],
    ];
    for batch in bad {
        let e = c.th.hub.put_nodes(&cli, &batch).unwrap_err();
        assert!(
            matches!(
                e,
                gridhub::HubError::BadRequest(_) | gridhub::HubError::Conflict(_)
            ),
            "{e}"
        );
    }
    assert_eq!(c.th.hub.org().unwrap().nodes.len(), before);
    let csv = "code,name,level,parent\n330211004,澥浦镇,street,330211\n330211004001,十七房村,community,330211004\n";
    let added =
        c.th.hub
            .put_nodes(&cli, &gridhub::org::parse_import(csv).unwrap())
            .unwrap();
    assert_eq!(added.len(), 2);
    let tree = c.th.hub.org().unwrap();
    assert!(tree.within(&tree.find("330211").unwrap().id, &added[1]));
}

#[test]
fn every_centre_action_is_in_the_audit_log_and_an_edited_line_is_detected() {
    let c = centre();
    let cli = Principal::cli();
    let hub = &c.th.hub;
    hub.transition_event(
        &cli,
        &c.event_a,
        gridpad_domain::codes::EventStatus::Accepted,
        "受理",
    )
    .unwrap();
    hub.dispatch_event(
        &cli,
        &c.event_a,
        Some(gridpad_domain::worktime::Deadline::hours(24)),
    )
    .unwrap();
    let lines = hub.audit_log(&Default::default()).unwrap();
    let actions: Vec<&str> = lines.iter().map(|e| e.action.as_str()).collect();
    for want in [
        "data.import",
        "department.add",
        "account.create",
        "event.accepted",
        "event.dispatched",
        "task.create",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    assert!(lines.iter().all(|e| e.actor.starts_with("cli:")));
    assert!(!serde_json::to_string(&lines).unwrap().contains(PASSWORD));
    assert_eq!(hub.verify_audit().unwrap(), Ok(lines.len() as u64));

    // Someone with the database edits a line around the append-only triggers.
    let target = lines
        .iter()
        .find(|e| e.action == "event.accepted")
        .unwrap()
        .seq;
    let dir = c._dirs[0].path();
    match common::test_database(dir) {
        None => {
            let conn = rusqlite::Connection::open(dir.join("gridhub.db")).unwrap();
            conn.execute_batch("DROP TRIGGER audit_no_update;").unwrap();
            let rec: String = conn
                .query_row(
                    "SELECT record FROM audit WHERE seq = ?",
                    [target as i64],
                    |r| r.get(0),
                )
                .unwrap();
            let edited = rec.replace("\"accepted\"", "\"rejected\"");
            conn.execute(
                "UPDATE audit SET record = ? WHERE seq = ?",
                rusqlite::params![edited, target as i64],
            )
            .unwrap();
        }
        Some(url) => std::thread::spawn(move || {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            db.batch_execute("DROP TRIGGER audit_no_change ON audit").unwrap();
            db.execute(
                "UPDATE audit SET record = replace(record, '\"accepted\"', '\"rejected\"') WHERE seq = $1",
                &[&(target as i64)],
            )
            .unwrap();
        })
        .join()
        .unwrap(),
    }
    let broken = hub.verify_audit().unwrap().unwrap_err();
    assert_eq!(broken.seq, target);
}

/// Every route of the centre, the action it needs, and whether it acts on one target of an
/// area. A route served but missing here fails the test: a new route gets its row.
const MATRIX: &[(&str, &str, Option<&str>)] = &[
    ("get", "/v1/admin/devices", Some("devices.read")),
    (
        "post",
        "/v1/admin/devices/{id}/status",
        Some("devices.manage"),
    ),
    ("get", "/v1/admin/events", Some("events.read")),
    (
        "post",
        "/v1/admin/events/{id}/transition",
        Some("events.handle"),
    ),
    (
        "post",
        "/v1/admin/events/{id}/dispatch",
        Some("events.handle"),
    ),
    (
        "post",
        "/v1/admin/events/{id}/escalate",
        Some("events.handle"),
    ),
    (
        "post",
        "/v1/admin/events/{id}/send-back",
        Some("events.handle"),
    ),
    (
        "post",
        "/v1/admin/events/{id}/dispatch-department",
        Some("events.handle"),
    ),
    (
        "post",
        "/v1/admin/events/{id}/department",
        Some("events.department"),
    ),
    ("get", "/v1/admin/tasks", Some("tasks.read")),
    ("post", "/v1/admin/tasks", Some("tasks.write")),
    ("post", "/v1/admin/enrollment-codes", Some("codes.issue")),
    ("post", "/v1/admin/notices", Some("notices.write")),
    ("get", "/v1/admin/org", Some("org.read")),
    ("post", "/v1/admin/org", Some("org.write")),
    ("delete", "/v1/admin/org/{id}", Some("org.write")),
    ("get", "/v1/admin/departments", Some("org.read")),
    ("post", "/v1/admin/departments", Some("departments.write")),
    ("get", "/v1/admin/routing", Some("org.read")),
    ("put", "/v1/admin/routing/{category}", Some("catalog.write")),
    ("get", "/v1/admin/accounts", Some("accounts.read")),
    ("post", "/v1/admin/accounts", Some("accounts.write")),
    (
        "post",
        "/v1/admin/accounts/{username}/password",
        Some("accounts.write"),
    ),
    (
        "post",
        "/v1/admin/accounts/{username}/disabled",
        Some("accounts.write"),
    ),
    (
        "post",
        "/v1/admin/accounts/{username}/totp",
        Some("accounts.write"),
    ),
    (
        "post",
        "/v1/admin/accounts/{username}/tokens",
        Some("accounts.write"),
    ),
    ("delete", "/v1/admin/tokens/{id}", Some("accounts.write")),
    ("get", "/v1/admin/audit", Some("audit.read")),
    ("get", "/v1/admin/audit/verify", Some("audit.read")),
    ("put", "/v1/admin/calendar/{year}", Some("catalog.write")),
    ("get", "/v1/admin/bundles", Some("devices.read")),
    ("post", "/v1/admin/bundles", Some("bundles.publish")),
    // Any signed-in account.
    ("post", "/v1/session", None),
    ("get", "/v1/session", None),
    ("delete", "/v1/session", None),
    ("post", "/v1/session/password", None),
    ("get", "/v1/session/reminders", None),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_role_as_its_row_says() {
    let served: Vec<(&str, &str)> = gridhub::http::ROUTES
        .iter()
        .chain(gridhub::bundles::ROUTES)
        .copied()
        .filter(|(_, p)| p.starts_with("/v1/admin") || p.starts_with("/v1/session"))
        .collect();
    for r in &served {
        assert!(
            MATRIX.iter().any(|(m, p, _)| (*m, *p) == *r),
            "{} {} has no row in the authorisation matrix",
            r.0,
            r.1
        );
    }
    let c = centre();
    let app = c.app.clone().merge(gridhub::bundles::router(
        c.th.hub.clone(),
        gridhub::bundles::Bundles::new(c._dirs[0].path()),
    ));
    for role in gridhub::store::Role::ALL {
        let user = role.as_str().replace('_', ".");
        let s = login(&app, &user, PASSWORD).await.unwrap();
        for (method, path, action) in MATRIX {
            if path.starts_with("/v1/session") {
                continue;
            }
            let concrete = path
                .replace("{id}", &c.event_a)
                .replace("{username}", "jiaochuan")
                .replace("{category}", "0401")
                .replace("{year}", "2027");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (st, body, _) = call(&app, req(&s, m, &concrete, json!({}))).await;
            let allowed = action
                .and_then(gridhub::authz::Action::from_scope)
                .is_none_or(|a| gridhub::authz::role_allows(role, a));
            if allowed {
                assert_ne!(
                    st,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {path}: {body}"
                );
            } else {
                assert_eq!(
                    st,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {path}: {body}"
                );
            }
            assert_ne!(st, StatusCode::UNAUTHORIZED, "{role:?} {method} {path}");
        }
    }
}

/// The typed replies and `openapi.json` say the same: every object a list route returns has
/// exactly the properties its schema names.
#[tokio::test(flavor = "multi_thread")]
async fn list_replies_have_exactly_the_properties_openapi_describes() {
    let c = centre();
    let cli = Principal::cli();
    c.th.hub
        .dispatch_event(
            &cli,
            &c.event_a,
            Some(gridpad_domain::worktime::Deadline::hours(24)),
        )
        .unwrap_err(); // not accepted yet
    c.th.hub
        .transition_event(
            &cli,
            &c.event_a,
            gridpad_domain::codes::EventStatus::Accepted,
            "",
        )
        .unwrap();
    c.th.hub
        .dispatch_event(
            &cli,
            &c.event_a,
            Some(gridpad_domain::worktime::Deadline::hours(24)),
        )
        .unwrap();
    c.th.hub
        .set_routing(&cli, "0401", &[("street".into(), "cg".into())])
        .unwrap();
    let doc: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    let schema_of = |path: &str| -> Vec<String> {
        let items = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["items"]["$ref"];
        let name = items
            .as_str()
            .unwrap_or_else(|| panic!("{path} has no item schema"))
            .rsplit('/')
            .next()
            .unwrap();
        let mut p: Vec<String> = doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        p.sort();
        p
    };
    for (user, path) in [
        ("dispatcher", "/v1/admin/devices"),
        ("dispatcher", "/v1/admin/events"),
        ("dispatcher", "/v1/admin/tasks"),
        ("dispatcher", "/v1/admin/org"),
        ("system.administrator", "/v1/admin/departments"),
        ("system.administrator", "/v1/admin/routing"),
        ("system.administrator", "/v1/admin/accounts"),
        ("auditor", "/v1/admin/audit"),
    ] {
        let s = login(&c.app, user, PASSWORD).await.unwrap();
        let (st, list, _) = call(&c.app, req(&s, Method::GET, path, json!({}))).await;
        assert_eq!(st, StatusCode::OK, "{path}: {list}");
        let list = list.as_array().unwrap();
        assert!(!list.is_empty(), "{path} returned nothing to check");
        for item in list {
            let mut keys: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, schema_of(path), "{path}");
        }
    }
}

/// Field staff are accounts: a code issued for the person enrolls a device for the person's
/// grids, and a replacement device for the same person receives what the first one reported
/// and every later step of it.
#[test]
fn a_replacement_device_keeps_following_the_persons_reports() {
    let c = centre();
    let cli = Principal::cli();
    let hub = &c.th.hub;
    let tree = hub.org().unwrap();
    let home = tree
        .find("33021100100101")
        .expect("the home grid")
        .id
        .clone();
    hub.create_account(
        &cli,
        &NewAccount {
            username: "wang.fang".into(),
            display_name: "王芳".into(),
            role: "field_staff".into(),
            node: "33021100100101".into(),
            department_id: None,
            password: None,
        },
    )
    .unwrap();
    let enroll = |dir: &std::path::Path, id: &str| {
        let code = hub.issue_code_for(&cli, "wang.fang", id, 7).unwrap();
        enrolled_device_with_code(hub, dir, id, &code, T0)
    };
    let d1 = tempfile::tempdir().unwrap();
    let first = "0190a4b2-7c3d-7e00-8000-00000000f001";
    let mut dev = enroll(d1.path(), first);
    let mut t = Direct {
        hub: hub.clone(),
        device_id: first.into(),
    };
    sync_all(&mut dev, &mut t);
    assert_eq!(dev.kv("grid_id").unwrap().as_deref(), Some(home.as_str()));
    let ev = dev
        .report_event(NewReport {
            category_code: "0401".into(),
            description: "楼道灯坏了".into(),
            reporter: "王芳".into(),
            ..Default::default()
        })
        .unwrap();
    sync_all(&mut dev, &mut t);
    hub.transition_event(
        &cli,
        &ev,
        gridpad_domain::codes::EventStatus::Accepted,
        "受理",
    )
    .unwrap();

    // The handheld is lost; the person gets a new one.
    let d2 = tempfile::tempdir().unwrap();
    let second = "0190a4b2-7c3d-7e00-8000-00000000f002";
    let mut dev2 = enroll(d2.path(), second);
    let mut t2 = Direct {
        hub: hub.clone(),
        device_id: second.into(),
    };
    sync_all(&mut dev2, &mut t2);
    let events = dev2.events(100).unwrap();
    assert_eq!(events.len(), 1, "the earlier report is on the new device");
    assert_eq!(events[0].id, ev);
    assert_eq!(events[0].status.as_str(), "accepted");
    hub.dispatch_event(
        &cli,
        &ev,
        Some(gridpad_domain::worktime::Deadline::hours(24)),
    )
    .unwrap();
    sync_all(&mut dev2, &mut t2);
    assert_eq!(dev2.events(100).unwrap()[0].status.as_str(), "dispatched");
}
