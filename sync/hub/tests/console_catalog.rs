//! The console's catalog editor (事项清单, issue 15), through the router as a browser
//! reaches it, and a device through the real sync exchange: the system administrator
//! edits a 小类 (deadline in working days, thresholds, photo policy, fields, routing) and
//! publishes it; the device has it after its next sync; the edit is audited. Hostile
//! values are named in the user's language and write nothing; a form from an older
//! version of the entry, or without the session's CSRF token, changes nothing; a
//! dispatcher has no catalog page.

mod common;
mod console_world;

use axum::http::StatusCode;
use common::*;
use console_world::*;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridpad_core::Store;
use gridpad_domain::worktime::Deadline;
use gridpad_proto::Entity;

const ITEM: &str = "0401";

fn admin(w: &World) {
    let cli = Principal::cli();
    w.th.hub
        .create_account(
            &cli,
            &NewAccount {
                username: "xitong".into(),
                display_name: String::new(),
                role: "system_administrator".into(),
                node: "330211".into(),
                department_id: None,
                password: Some(PASSWORD.into()),
            },
        )
        .unwrap();
    w.th.hub
        .add_department(
            &cli,
            &gridhub::departments::NewDepartment {
                code: "cgzd".into(),
                name: "城管执法中队".into(),
                node: "330211001".into(),
            },
        )
        .unwrap();
}

/// The stored row of the item (its fields' clocks say whether anything was written).
fn item_row(w: &World) -> gridhub::store::Row {
    w.th.hub
        .row(Entity::CatalogCategory, ITEM)
        .unwrap()
        .unwrap()
}

fn edits(w: &World) -> usize {
    w.th.hub
        .audit_log(&gridhub::audit::AuditQuery {
            action: Some("catalog.edit".into()),
            ..Default::default()
        })
        .unwrap()
        .len()
}

/// A full, valid form for the item, with `over` replacing or adding pairs.
fn form<'a>(
    csrf: &'a str,
    version: &'a str,
    over: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut f: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("version", version),
        ("name", "道路破损"),
        ("department", "城管执法中队"),
        ("deadline", "3"),
        ("unit", "working_days"),
        ("yellow", "40"),
        ("red", "70"),
        ("min_photos", "2"),
        ("max_pixels", "3000000"),
        ("quality", "75"),
        ("max_bytes", "800000"),
        ("fk0", "area_m2"),
        ("fl0", "破损面积（平方米）"),
        ("ft0", "int"),
        ("fr0", "1"),
        ("fk1", "surface"),
        ("fl1", "路面材质"),
        ("ft1", "choice"),
        ("fc1", "沥青、水泥、其他"),
        ("fk2", ""),
        ("fl2", ""),
        ("ft2", "text"),
        ("rt_street", "cgzd"),
        ("rt_community", ""),
    ];
    for (k, v) in over {
        match f.iter_mut().find(|(x, _)| x == k) {
            Some(p) => p.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_edited_on_the_page_reaches_the_device_at_its_next_sync() {
    let w = world();
    admin(&w);
    let s = sign_in(&w.app, "xitong").await;
    let list = send(&w.app, get("/catalog", &s)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_secure(&list, "/catalog");
    assert!(list.body.contains("id=\"nav-catalog\""));
    assert!(list.body.contains(&format!("data-category=\"{ITEM}\"")));
    let page = send(&w.app, get(&format!("/catalog/{ITEM}"), &s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let (csrf, version) = (field(&page.body, "csrf"), field(&page.body, "version"));
    let r = send(
        &w.app,
        post(&format!("/catalog/{ITEM}"), &s, &form(&csrf, &version, &[])),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = send(&w.app, get("/catalog", &s)).await.body;
    assert!(list.contains("已发布：终端下次同步时收到新的事项清单"));
    assert!(
        list.contains("3 个工作日") && list.contains("40% / 70%"),
        "{list}"
    );
    assert!(list.contains("街道 → 城管执法中队"));
    assert_eq!(edits(&w), 1, "one audit line");
    let routing = w.th.hub.routing(&Principal::cli()).unwrap();
    assert!(routing
        .iter()
        .any(|r| r.category_code == ITEM && r.level == "street" && r.department_code == "cgzd"));

    // The device takes it at its next sync.
    let mut dev = Store::open(&w.device_a_dir, PIN).unwrap();
    let mut t = Direct {
        hub: w.th.hub.clone(),
        device_id: w.device_a.clone(),
    };
    sync_all(&mut dev, &mut t);
    let c = dev.category(ITEM).unwrap().unwrap();
    assert_eq!(c.deadline(), Some(Deadline::working_days(3)));
    assert_eq!((c.yellow_pct, c.red_pct), (40, 70));
    assert_eq!(c.department, "城管执法中队");
    let keys: Vec<&str> = c.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["area_m2", "surface"]);
    assert!(c.fields[0].required && !c.fields[1].required);
    assert_eq!(c.fields[1].choices, ["沥青", "水泥", "其他"]);
    let policy = dev.photo_policy_json(ITEM).unwrap().unwrap();
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(policy["min_photos"], 2);
    assert_eq!(policy["quality"], 75);

    // The old form again (a stale page, another administrator's edit since): refused,
    // the current entry shown, nothing written.
    let before = item_row(&w);
    let stale = send(
        &w.app,
        post(
            &format!("/catalog/{ITEM}"),
            &s,
            &form(&csrf, &version, &[("name", "旧表单的名称")]),
        ),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("此小类在您打开页面后已被修改"));
    assert_eq!(item_row(&w).field_hlc, before.field_hlc);
    assert_eq!(edits(&w), 1);
    // The same values once more: nothing to publish.
    let page = send(&w.app, get(&format!("/catalog/{ITEM}"), &s))
        .await
        .body;
    let now = field(&page, "version");
    let r = send(
        &w.app,
        post(&format!("/catalog/{ITEM}"), &s, &form(&csrf, &now, &[])),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(send(&w.app, get("/catalog", &s))
        .await
        .body
        .contains("没有修改，未发布"));
    assert_eq!(edits(&w), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_values_are_named_in_the_users_language_and_nothing_is_written() {
    let w = world();
    admin(&w);
    let s = sign_in(&w.app, "xitong").await;
    let page = send(&w.app, get(&format!("/catalog/{ITEM}"), &s))
        .await
        .body;
    let (csrf, version) = (field(&page, "csrf"), field(&page, "version"));
    let before = item_row(&w);
    let hostile = form(
        &csrf,
        &version,
        &[
            ("name", " "),
            ("deadline", "0"),
            ("unit", "weeks"),
            ("yellow", "90"),
            ("red", "50"),
            ("quality", "5"),
            ("max_bytes", "abc"),
            ("fk0", "Bad Key<script>"),
            ("fk1", "surface"),
            ("ft1", "choice"),
            ("fc1", ""),
            ("fk2", "surface"),
            ("fl2", "重复"),
            ("ft2", "script"),
            ("rt_street", "no-such-department"),
        ],
    );
    let r = send(&w.app, post(&format!("/catalog/{ITEM}"), &s, &hostile)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for code in [
        "name_missing",
        "deadline_unit",
        "deadline_range",
        "threshold_order",
        "quality",
        "bytes",
        "field_key",
        "field_key_twice",
        "field_kind",
        "field_choices",
        "routing_department",
    ] {
        assert!(
            r.body.contains(&format!("data-problem=\"{code}\"")),
            "{code}: {}",
            r.body
        );
    }
    assert!(r.body.contains("黄色预警阈值应小于红色预警阈值"));
    assert!(!r.body.contains("<script>"), "escaped");
    assert_eq!(item_row(&w).fields, before.fields, "nothing written");
    assert_eq!(item_row(&w).field_hlc, before.field_hlc);
    assert_eq!(edits(&w), 0);
    // In English.
    let en = format!("{s}; gridhub_lang=en");
    let r = send(&w.app, post(&format!("/catalog/{ITEM}"), &en, &hostile)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Yellow must come before red"));
    assert!(!r.body.contains("黄色预警阈值"));
    // Without the session's CSRF token.
    let forged = form("forged", &version, &[("name", "伪造")]);
    let r = send(&w.app, post(&format!("/catalog/{ITEM}"), &s, &forged)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(item_row(&w).field_hlc, before.field_hlc);
    // A 大类 or an unknown code is not an item to edit.
    for code in ["04", "9999"] {
        assert_eq!(
            send(&w.app, get(&format!("/catalog/{code}"), &s))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    // A dispatcher has no catalog.
    let d = sign_in(&w.app, "zhaobao").await;
    assert_eq!(
        send(&w.app, get("/catalog", &d)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = send(&w.app, post(&format!("/catalog/{ITEM}"), &d, &forged)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(edits(&w), 0);
}
