//! Handling across levels and departments (issue 16), through the console as the centre's
//! accounts use it: a community escalates (上报上级) to its street, the street dispatches
//! to a department, the department signs for it and handles it, the street verifies and
//! closes — and the reporting device shows every hop. What was sent up wrongly comes back
//! (退回下级); a department returns what is not its work; a level that no longer holds an
//! event, another department and a stale form change nothing.

mod common;
mod console_world;

use axum::http::StatusCode;
use common::*;
use console_world::*;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridhub::departments::NewDepartment;
use gridpad_domain::codes::EventStatus;

const STREET: &str = "330211001";

struct Centre {
    /// The community that holds event A's grid, its dispatcher's session and its name.
    community: String,
    community_name: String,
    /// 城管中队 (routed for 0401) and 市场监管所 (not routed), both at the street.
    chengguan: String,
    market: String,
}

fn account(w: &World, name: &str, role: &str, node: &str, department: Option<&str>) {
    w.th.hub
        .create_account(
            &Principal::cli(),
            &NewAccount {
                username: name.into(),
                display_name: String::new(),
                role: role.into(),
                node: node.into(),
                department_id: department.map(Into::into),
                password: Some(PASSWORD.into()),
            },
        )
        .unwrap();
}

fn centre(w: &World) -> Centre {
    let cli = Principal::cli();
    let tree = w.th.hub.org().unwrap();
    let community = tree.node(&w.grid_a).unwrap().parent_id.clone().unwrap();
    let community_name = tree.node(&community).unwrap().name.clone();
    let dep = |code: &str, name: &str| {
        w.th.hub
            .add_department(
                &cli,
                &NewDepartment {
                    code: code.into(),
                    name: name.into(),
                    node: STREET.into(),
                },
            )
            .unwrap()
            .id
    };
    let chengguan = dep("cg", "城管中队");
    let market = dep("sj", "市场监管所");
    w.th.hub
        .set_routing(&cli, "0401", &[("street".into(), "cg".into())])
        .unwrap();
    account(w, "shequ", "dispatcher", &community, None);
    account(
        w,
        "chengguan",
        "department_handler",
        STREET,
        Some(&chengguan),
    );
    account(w, "shichang", "department_handler", STREET, Some(&market));
    Centre {
        community,
        community_name,
        chengguan,
        market,
    }
}

/// The event's page for `session`.
async fn page(w: &World, s: &str) -> Answer {
    send(&w.app, get(&format!("/events/{}", w.event_a), s)).await
}

/// Take `action` from the page's current form, with `extra` fields.
async fn act(w: &World, s: &str, action: &str, extra: &[(&str, &str)]) -> Answer {
    let body = page(w, s).await.body;
    let (csrf, version) = (field(&body, "csrf"), field(&body, "version"));
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("action", action),
    ];
    form.extend_from_slice(extra);
    send(
        &w.app,
        post(&format!("/events/{}/act", w.event_a), s, &form),
    )
    .await
}

fn event_row(w: &World) -> gridhub_store::Row {
    w.th.hub
        .row(gridpad_proto::Entity::Event, &w.event_a)
        .unwrap()
        .unwrap()
}

fn status(w: &World) -> String {
    event_row(w).fields["status"].as_str().unwrap().to_string()
}

fn audit_actions(w: &World) -> Vec<String> {
    w.th.hub
        .audit_log(&gridhub::audit::AuditQuery {
            target: Some(format!("event:{}", w.event_a)),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|l| l.action)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_goes_up_to_the_street_to_a_department_and_comes_back_closed_on_the_device() {
    let w = world();
    let c = centre(&w);
    let shequ = sign_in(&w.app, "shequ").await;
    assert_eq!(
        act(&w, &shequ, "accept", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // The community cannot solve it: the form says where it goes, and it goes there.
    let body = page(&w, &shequ).await.body;
    assert!(
        body.contains("id=\"escalate-to\">招宝山街道<"),
        "escalation names the street"
    );
    let r = act(
        &w,
        &shequ,
        "escalate",
        &[("note", "涉及道路主管部门，社区无法处置")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&w), "escalated");
    // The community still sees it, and no longer acts on it; a forged form changes nothing.
    let body = page(&w, &shequ).await.body;
    assert!(body.contains("id=\"held-elsewhere\""), "{body}");
    assert!(!body.contains("data-act=\"accept\""));
    let body_form = page(&w, &shequ).await.body;
    let forged = send(
        &w.app,
        post(
            &format!("/events/{}/act", w.event_a),
            &shequ,
            &[
                ("csrf", &field(&body_form, "csrf")),
                ("version", &gridhub::centre::event_version(&event_row(&w))),
                ("action", "accept"),
            ],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(
        forged.body.contains("其他层级或部门承办"),
        "{}",
        forged.body
    );
    assert_eq!(status(&w), "escalated", "nothing changed");

    // The street takes it and sends it to its 城管中队 (routed for 0401, offered first).
    let street = sign_in(&w.app, "zhaobao").await;
    let body = page(&w, &street).await.body;
    assert!(body.contains("id=\"holder\""), "who holds it is shown");
    assert!(
        body.contains(&format!("id=\"send-back-to\">{}<", c.community_name)),
        "a 退回 would go back to the community"
    );
    let routed_first = body.find("城管中队").unwrap() < body.find("市场监管所").unwrap();
    assert!(routed_first, "the routed department first");
    assert_eq!(
        act(&w, &street, "accept", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let r = act(
        &w,
        &street,
        "dispatch_department",
        &[("department", &c.chengguan), ("hours", "48")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&w), "dispatched");

    // Another department neither sees nor handles it.
    let other = sign_in(&w.app, "shichang").await;
    assert_eq!(page(&w, &other).await.status, StatusCode::NOT_FOUND);
    let queue = send(&w.app, get("/", &other)).await.body;
    assert!(!queue.contains(&w.event_a), "not in its queue");

    // The department: in its queue; signs for it, handles it.
    let cg = sign_in(&w.app, "chengguan").await;
    let queue = send(&w.app, get("/", &cg)).await.body;
    assert!(queue.contains(&w.event_a), "in the department's queue");
    let body = page(&w, &cg).await.body;
    for a in ["department_sign", "department_handle", "department_return"] {
        assert!(body.contains(&format!("data-act=\"{a}\"")), "{a} offered");
    }
    assert!(
        !body.contains("data-act=\"close\""),
        "a department does not close"
    );
    assert_eq!(
        act(&w, &cg, "department_sign", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let r = act(&w, &cg, "department_handle", &[("note", "井盖已补装")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&w), "handled");

    // The street verifies and closes.
    for a in ["verify", "close"] {
        let r = act(&w, &street, a, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{a}: {}", r.body);
    }
    assert_eq!(status(&w), "closed");
    assert_eq!(
        audit_actions(&w),
        [
            "event.accepted",
            "event.escalated",
            "event.accepted",
            "event.dispatched",
            "event.note",
            "event.handled",
            "event.verified",
            "event.closed"
        ]
    );

    // The reporting device shows each hop, and where it went.
    let mut dev = gridpad_core::Store::open(&w.device_a_dir, PIN).unwrap();
    let mut t = Direct {
        hub: w.th.hub.clone(),
        device_id: w.device_a.clone(),
    };
    sync_all(&mut dev, &mut t);
    let hops: Vec<(EventStatus, String)> = dev
        .event_history(&w.event_a)
        .unwrap()
        .into_iter()
        .filter(|s| s.origin == "hub")
        .map(|s| (s.status, s.note))
        .collect();
    let statuses: Vec<EventStatus> = hops.iter().map(|h| h.0).collect();
    use EventStatus::*;
    assert_eq!(
        statuses,
        [Accepted, Escalated, Accepted, Dispatched, Handled, Verified, Closed]
    );
    assert_eq!(
        hops[1].1,
        "上报至招宝山街道：涉及道路主管部门，社区无法处置"
    );
    assert_eq!(hops[3].1, "派遣至城管中队");
    assert_eq!(hops[4].1, "城管中队处置：井盖已补装");
    let _ = c.community;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_was_sent_up_wrongly_comes_back_and_a_department_returns_what_is_not_its_work() {
    let w = world();
    let c = centre(&w);
    let shequ = sign_in(&w.app, "shequ").await;
    let street = sign_in(&w.app, "zhaobao").await;
    assert_eq!(
        act(&w, &shequ, "escalate", &[("note", "请街道处理")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // A reason is needed to send it back: refused, nothing changed.
    let r = act(&w, &street, "send_back", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(status(&w), "escalated");
    let r = act(
        &w,
        &street,
        "send_back",
        &[("note", "属社区职责，请社区处置")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&w), "accepted");
    // The community holds it again and acts on it.
    let body = page(&w, &shequ).await.body;
    assert!(!body.contains("id=\"held-elsewhere\""));
    assert!(body.contains("data-act=\"escalate\""));

    // A stale escalation form (the page before the 退回's successor step) does nothing twice.
    let before = page(&w, &shequ).await.body;
    let form = |v: &str| {
        vec![
            ("csrf".to_string(), field(&before, "csrf")),
            ("version".to_string(), v.to_string()),
            ("action".to_string(), "escalate".to_string()),
            ("note".to_string(), "再次上报".to_string()),
        ]
    };
    let v = field(&before, "version");
    let f = form(&v);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let path = format!("/events/{}/act", w.event_a);
    assert_eq!(
        send(&w.app, post(&path, &shequ, &pairs)).await.status,
        StatusCode::SEE_OTHER
    );
    let again = send(&w.app, post(&path, &shequ, &pairs)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a second click");
    assert_eq!(
        w.th.hub.holding(&w.event_a).unwrap().hops.len(),
        3,
        "escalate, send back, escalate: once"
    );

    // The street sends it to 市场监管所 (not routed for 0401), which returns it.
    assert_eq!(
        act(
            &w,
            &street,
            "dispatch_department",
            &[("department", &c.market), ("hours", "24")]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let sj = sign_in(&w.app, "shichang").await;
    let r = act(&w, &sj, "department_return", &[("note", "非本所职责")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&w), "accepted");
    assert_eq!(
        page(&w, &sj).await.status,
        StatusCode::NOT_FOUND,
        "returned: no longer the department's"
    );
    // The street holds it again; a department of another street is not offered and is
    // refused when forged.
    let body = page(&w, &street).await.body;
    assert!(body.contains("data-act=\"dispatch_department\""));
    let elsewhere =
        w.th.hub
            .add_department(
                &Principal::cli(),
                &NewDepartment {
                    code: "jc-cg".into(),
                    name: "蛟川城管中队".into(),
                    node: "330211002".into(),
                },
            )
            .unwrap();
    assert!(!body.contains("蛟川城管中队"));
    let r = act(
        &w,
        &street,
        "dispatch_department",
        &[("department", &elsewhere.id)],
    )
    .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&w), "accepted", "nothing changed");
    let _ = c.chengguan;
}

/// The same hops through the JSON API, as another platform makes them: an administrator's
/// token escalates, sends back and dispatches to a department; the department's own API
/// token reports it handled. A stale `expected_version`, a missing reason, an unknown
/// field and a department that does not hold the event change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_hops_through_the_json_api() {
    use axum::body::Body;
    use axum::http::{header, Request};
    let w = world();
    let c = centre(&w);
    let admin = w.th.hub.issue_admin_token(1).unwrap();
    let (token, _) =
        w.th.hub
            .create_api_token(
                &Principal::cli(),
                "chengguan",
                "城管平台",
                &["events.read".into(), "events.department".into()],
                30,
            )
            .unwrap();
    let (other, _) =
        w.th.hub
            .create_api_token(
                &Principal::cli(),
                "shichang",
                "市场监管平台",
                &["events.read".into(), "events.department".into()],
                30,
            )
            .unwrap();
    let call = |token: &str, step: &str, body: serde_json::Value| {
        let req = Request::post(format!("/v1/admin/events/{}/{step}", w.event_a))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        send(&w.app, req)
    };
    let r = call(&admin, "escalate", serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a reason is needed");
    let r = call(
        &admin,
        "escalate",
        serde_json::json!({"reason": "x", "why": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an unknown field");
    let stale = gridhub::centre::event_version(&event_row(&w));
    let r = call(
        &admin,
        "escalate",
        serde_json::json!({"reason": "社区无法处置"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["to"],
        "招宝山街道"
    );
    let r = call(
        &admin,
        "escalate",
        serde_json::json!({"reason": "again", "expected_version": stale}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a stale version");
    let r = call(
        &admin,
        "send-back",
        serde_json::json!({"reason": "属社区职责"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["to"],
        c.community_name.as_str()
    );
    assert_eq!(status(&w), "accepted");
    let r = call(
        &admin,
        "dispatch-department",
        serde_json::json!({"department": c.chengguan, "deadline_working_days": 2}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(&other, "department", serde_json::json!({"action": "sign"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not its department's");
    let r = call(
        &token,
        "department",
        serde_json::json!({"action": "handled", "text": "井盖已补装"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(status(&w), "handled");
    assert_eq!(w.th.hub.holding(&w.event_a).unwrap().hops.len(), 3);
}
