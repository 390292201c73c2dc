//! The console's notices page (通知公告, issue 15), through the router as a browser reaches
//! it, and the devices through the real sync exchange: a notice goes to the devices under
//! the node it names (and of the role it names) and to no other — a device outside never
//! receives it in a pull, nor may it say it read it; the list counts who has read it and a
//! notice's page names them; an account may address only its own area; a form without the
//! session's CSRF token, with a title missing or with a role no device has changes nothing.

mod common;
mod console_world;

use axum::http::StatusCode;
use common::*;
use console_world::*;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridhub::notices::NewNotice;
use gridhub::store::Role;
use gridpad_core::Store;
use gridpad_proto::wire::{Health, SyncRequest, PROTOCOL};
use gridpad_proto::{Entity, Hlc, Mutation, Op};
use std::path::Path;

const DEVICE_C: &str = "0190a4b2-7c3d-7e00-8000-0000000000c1";
const DEVICE_P: &str = "0190a4b2-7c3d-7e00-8000-0000000000d1";
/// 蛟川街道's communities: 临江 (device B's grid 33021100200101) and 俞范.
const LINJIANG: &str = "330211002001";
const YUFAN: &str = "330211002002";

/// A node's id by its code.
fn node(w: &World, code: &str) -> String {
    w.th.hub.org().unwrap().find(code).unwrap().id.clone()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, PIN).unwrap()
}

fn sync(w: &World, store: &mut Store, device: &str) {
    let mut t = Direct {
        hub: w.th.hub.clone(),
        device_id: device.into(),
    };
    sync_all(store, &mut t);
}

/// The titles of the notices a device holds.
fn titles(store: &Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .queries()
        .notices(100)
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    t.sort();
    t
}

fn audit_actions(w: &World, target: &str) -> Vec<String> {
    w.th.hub
        .audit_log(&gridhub::audit::AuditQuery {
            target: Some(target.into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|l| l.action)
        .collect()
}

fn notice_count(w: &World) -> usize {
    w.th.hub.notices(&Principal::cli()).unwrap().len()
}

/// Publish through the page's form; the answer.
async fn publish(w: &World, session: &str, fields: &[(&str, &str)]) -> Answer {
    let page = send(&w.app, get("/notices", session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (csrf, once) = (field(&page.body, "csrf"), field(&page.body, "once"));
    let mut form = vec![("csrf", csrf.as_str()), ("once", once.as_str())];
    form.extend_from_slice(fields);
    send(&w.app, post("/notices", session, &form)).await
}

/// The id of the notice titled `title`.
fn notice_id(w: &World, title: &str) -> String {
    w.th.hub
        .notices(&Principal::cli())
        .unwrap()
        .into_iter()
        .find(|n| n.title == title)
        .unwrap_or_else(|| panic!("no notice {title}"))
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_reaches_only_the_devices_under_its_node_and_the_page_counts_who_read_it() {
    let w = world();
    // A third device, in 蛟川's other community (俞范).
    let dir_c = tempfile::tempdir().unwrap();
    let mut c = enrolled_device(
        &w.th.hub,
        dir_c.path(),
        DEVICE_C,
        &node(&w, "33021100200201"),
        T0,
    );
    let mut a = open(&w.device_a_dir);
    let zb = sign_in(&w.app, "zhaobao").await;
    let jc = sign_in(&w.app, "jiaochuan").await;

    // 招宝山's dispatcher: its whole street (the default target: its area's top node).
    let page = send(&w.app, get("/notices", &zb)).await;
    assert_secure(&page, "/notices");
    assert!(
        page.body.contains("id=\"nav-notices\""),
        "a navigation link"
    );
    assert!(page.body.contains("还没有发往您管辖区域的通知"));
    let r = publish(
        &w,
        &zb,
        &[
            ("title", "招宝山街道防汛通知"),
            ("body", "今晚有大到暴雨，\r\n请巡查低洼地带。"),
            ("node", &node(&w, "330211001")),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers["location"], "/notices");
    // 蛟川's dispatcher: only 俞范社区.
    let r = publish(
        &w,
        &jc,
        &[
            ("title", "俞范社区停水通知"),
            ("body", "明日 9:00-12:00 停水。"),
            ("node", &node(&w, YUFAN)),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let flood = notice_id(&w, "招宝山街道防汛通知");
    let water = notice_id(&w, "俞范社区停水通知");
    assert_eq!(
        audit_actions(&w, &format!("notice:{flood}")),
        ["notice.publish"]
    );

    // Through the real exchange: each device holds the notices addressed to it, no other.
    let mut b = open(&w.device_b_dir);
    sync(&w, &mut a, DEVICE_A);
    sync(&w, &mut b, DEVICE_B);
    sync(&w, &mut c, DEVICE_C);
    assert_eq!(titles(&a), ["招宝山街道防汛通知"]);
    assert_eq!(titles(&b), Vec::<String>::new(), "临江 is not 俞范");
    assert_eq!(titles(&c), ["俞范社区停水通知"]);
    let body = &a.queries().notices(10).unwrap()[0].body;
    assert_eq!(body, "今晚有大到暴雨，\n请巡查低洼地带。");

    // A device outside a notice's audience may not say it read it (B knows the id only
    // from here): refused, and the count stays.
    let receipt = foreign_receipt(&w, DEVICE_B, &flood);
    assert_eq!(receipt, gridpad_proto::wire::Status::Rejected);

    // The list: newest first, "read by 0 of 1" — 招宝山 has one device, device A.
    let list = send(&w.app, get("/notices", &zb)).await.body;
    assert!(list.contains("通知已发布"), "the done message");
    assert!(list.contains(&format!(
        "data-notice=\"{flood}\" data-read=\"0\" data-recipients=\"1\""
    )));
    assert!(list.contains("0 / 1 台终端已读"));
    assert!(
        !list.contains(&water),
        "another area's notice is not listed"
    );
    let jlist = send(&w.app, get("/notices", &jc)).await.body;
    assert!(jlist.contains(&format!(
        "data-notice=\"{water}\" data-read=\"0\" data-recipients=\"1\""
    )));
    assert!(!jlist.contains(&flood));
    assert_eq!(
        send(&w.app, get(&format!("/notices/{flood}"), &jc))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "another area's notice is not found"
    );

    // Device A reads it an hour after T0; the page names it with the time, in Beijing time.
    let read_at = chrono::DateTime::from_timestamp_millis((T0 + 3_600_000) as i64).unwrap();
    a.set_clock(move || read_at);
    a.mark_notice_read(&flood).unwrap();
    sync(&w, &mut a, DEVICE_A);
    let list = send(&w.app, get("/notices", &zb)).await.body;
    assert!(list.contains(&format!(
        "data-notice=\"{flood}\" data-read=\"1\" data-recipients=\"1\""
    )));
    let detail = send(&w.app, get(&format!("/notices/{flood}"), &zb)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_secure(&detail, "a notice's page");
    let readers = section(&detail.body, "readers");
    assert!(
        readers.contains(&format!("data-device=\"{DEVICE_A}\"")),
        "{readers}"
    );
    // 2026-11-18 12:06:40 UTC.
    assert!(readers.contains("2026-11-18 20:06"), "{readers}");
    assert!(section(&detail.body, "unread").contains("范围内的终端都已阅读"));
    // 俞范's page: C has not read it yet.
    let page = send(&w.app, get(&format!("/notices/{water}"), &jc))
        .await
        .body;
    assert!(section(&page, "unread").contains(&format!("data-device=\"{DEVICE_C}\"")));
    assert!(section(&page, "readers").contains("还没有终端阅读此通知"));
    // In English.
    let en = send(
        &w.app,
        get(
            &format!("/notices/{flood}"),
            &format!("{zb}; gridhub_lang=en"),
        ),
    )
    .await
    .body;
    assert!(en.contains("read by 1 of 1 devices") && en.contains("Read by"));
    assert!(!en.contains("已读"));
}

/// `device` pushes a read receipt for `notice` as its next mutation; the verdict.
fn foreign_receipt(w: &World, device: &str, notice: &str) -> gridpad_proto::wire::Status {
    let seq =
        w.th.hub
            .device_health(&Principal::cli())
            .unwrap()
            .into_iter()
            .find(|d| d.device_id == device)
            .unwrap()
            .last_seq
            + 1;
    let mut fields = gridpad_proto::Fields::new();
    fields.insert("read_at".into(), "2026-11-18T08:00:00Z".into());
    let req = SyncRequest {
        protocol: PROTOCOL,
        app_version: "test".into(),
        device_time_ms: T0,
        push: vec![Mutation {
            seq,
            mutation_id: uuid::Uuid::now_v7().to_string(),
            hlc: Hlc::new(T0, 0, device),
            entity: Entity::Notice,
            row_id: notice.into(),
            op: Op::Update,
            fields,
        }],
        cursors: vec![],
        max_bytes: 1 << 20,
        health: Health::default(),
        resume_from: None,
    };
    let r = w.th.hub.sync(device, &req).unwrap();
    r.verdicts[0].status
}

/// The HTML of the element with `id` (up to the next `</section>`).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_for_field_staff_reaches_only_the_devices_enrolled_for_a_person() {
    let w = world();
    let cli = Principal::cli();
    // A field staff account in 临江 and the device enrolled for them (both 临江 grids).
    w.th.hub
        .create_account(
            &cli,
            &NewAccount {
                username: "linjiang.staff".into(),
                display_name: "王网格".into(),
                role: "field_staff".into(),
                node: LINJIANG.into(),
                department_id: None,
                password: None,
            },
        )
        .unwrap();
    let code =
        w.th.hub
            .issue_code_for(&cli, "linjiang.staff", "王网格的终端", 7)
            .unwrap();
    let dir_p = tempfile::tempdir().unwrap();
    let mut p = enrolled_device_with_code(&w.th.hub, dir_p.path(), DEVICE_P, &code, T0);
    let mut b = open(&w.device_b_dir);

    let jc = sign_in(&w.app, "jiaochuan").await;
    let r = publish(
        &w,
        &jc,
        &[
            ("title", "网格员培训通知"),
            ("body", "周五下午在街道二楼会议室培训。"),
            ("node", &node(&w, "330211002")),
            ("role", "field_staff"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = notice_id(&w, "网格员培训通知");
    sync(&w, &mut p, DEVICE_P);
    sync(&w, &mut b, DEVICE_B);
    assert_eq!(titles(&p), ["网格员培训通知"]);
    assert_eq!(
        titles(&b),
        Vec::<String>::new(),
        "B was issued to a named holder: it has no role"
    );
    let page = send(&w.app, get(&format!("/notices/{id}"), &jc)).await.body;
    assert!(page.contains("0 / 1 台终端已读"), "{page}");
    assert!(section(&page, "unread").contains(&format!("data-device=\"{DEVICE_P}\"")));
    assert!(page.contains("网格员"), "the role is named");

    // The hub's own check: no device has a dispatcher's role.
    let e =
        w.th.hub
            .publish_notice(
                &cli,
                &NewNotice {
                    title: "调度员会议",
                    body: "…",
                    node: Some("330211002"),
                    role: Some(Role::Dispatcher),
                },
            )
            .unwrap_err();
    assert!(matches!(e, gridhub::HubError::BadRequest(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_outside_the_accounts_area_or_without_its_csrf_token_changes_nothing() {
    let w = world();
    let zb = sign_in(&w.app, "zhaobao").await;
    let before = notice_count(&w);
    // 蛟川 is not 招宝山's dispatcher's area: refused in its language, nothing written.
    let r = publish(
        &w,
        &zb,
        &[
            ("title", "越权通知"),
            ("body", "不应发布"),
            ("node", &node(&w, "330211002")),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("不在您的管辖区域内"), "{}", r.body);
    assert!(r.body.contains("越权通知"), "the form is kept");
    // The hub says so too, as if the node did not exist.
    let who =
        w.th.hub
            .session_principal(zb.trim_start_matches("gridhub_session="), "")
            .unwrap()
            .0;
    assert!(matches!(
        w.th.hub.publish_notice(
            &who,
            &NewNotice {
                title: "越权通知",
                body: "…",
                node: Some("330211002"),
                role: None
            }
        ),
        Err(gridhub::HubError::NotFound(_))
    ));
    // Without the session's CSRF token: refused.
    let r = send(
        &w.app,
        post(
            "/notices",
            &zb,
            &[
                ("csrf", "forged"),
                ("once", "00000000000000000000000000000000"),
                ("title", "伪造的通知"),
                ("body", "…"),
                ("node", &node(&w, "330211001")),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // No title; a role no device has; hostile text in English.
    let r = publish(
        &w,
        &zb,
        &[("title", "  "), ("body", "正文"), ("node", "330211001")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("请填写通知标题"));
    let r = publish(
        &w,
        &zb,
        &[
            ("title", "调度员会议"),
            ("body", "正文"),
            ("node", &node(&w, "330211001")),
            ("role", "dispatcher"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("终端只有网格员角色"));
    let en = format!("{zb}; gridhub_lang=en");
    let long = "长".repeat(201);
    let r = publish(
        &w,
        &en,
        &[("title", &long), ("body", "x"), ("node", "330211001")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Too long"), "{}", r.body);
    assert_eq!(notice_count(&w), before, "nothing was published");
    let published =
        w.th.hub
            .audit_log(&gridhub::audit::AuditQuery {
                action: Some("notice.".into()),
                ..Default::default()
            })
            .unwrap();
    assert!(published.is_empty(), "{published:?}");

    // The same form twice (a double click) publishes once.
    let page = send(&w.app, get("/notices", &zb)).await.body;
    let (csrf, once) = (field(&page, "csrf"), field(&page, "once"));
    let form = [
        ("csrf", csrf.as_str()),
        ("once", once.as_str()),
        ("title", "一次"),
        ("body", "只发一次"),
        ("node", "330211001"),
    ];
    let first = send(&w.app, post("/notices", &zb, &form)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = send(&w.app, post("/notices", &zb, &form)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("通知只发布一次"));
    assert_eq!(notice_count(&w), before + 1);
    // A role without the right (the fleet manager) has no page and no link.
    let fm = sign_in(&w.app, "zhaobao.fleet").await;
    assert_eq!(
        send(&w.app, get("/notices", &fm)).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!send(&w.app, get("/devices", &fm))
        .await
        .body
        .contains("nav-notices"));
}
