#![allow(dead_code)]
//! The console's test world, shared by `console.rs` and `console_devices.rs`: a hub with
//! the demo town, a device and a report in 招宝山街道 and in 蛟川街道, the centre's
//! accounts, and the helpers a browser would be (sign-in, forms, cookies).

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tower::ServiceExt;

pub const PASSWORD: &str = "Zhenhai-2026-grid";
pub const DESCRIPTION: &str = "招宝山的井盖缺失";
pub const REPORTER: &str = "李网格员";

pub struct World {
    pub th: TestHub,
    pub app: axum::Router,
    /// Reported in 招宝山街道 (330211001) and in 蛟川街道 (330211002).
    pub event_a: String,
    pub event_b: String,
    /// The devices that reported them, and where they keep their data.
    pub device_a: String,
    pub device_b: String,
    pub device_a_dir: PathBuf,
    pub device_b_dir: PathBuf,
    /// The home grid (in 招宝山街道) and a grid of 蛟川街道.
    pub grid_a: String,
    pub grid_b: String,
    _dirs: Vec<tempfile::TempDir>,
}

pub const DEVICE_A: &str = "0190a4b2-7c3d-7e00-8000-0000000000a1";
pub const DEVICE_B: &str = "0190a4b2-7c3d-7e00-8000-0000000000b1";

pub fn world() -> World {
    let hub_dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(hub_dir.path(), Arc::new(AtomicU64::new(T0)));
    let cli = Principal::cli();
    let s = th
        .hub
        .seed_demo(
            &cli,
            DemoSpec {
                persons: 300,
                seed: 3,
            },
        )
        .unwrap();
    let other_grid = th
        .hub
        .org()
        .unwrap()
        .find("33021100200101")
        .unwrap()
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
                reporter: REPORTER.into(),
                ..Default::default()
            })
            .unwrap();
        sync_all(&mut dev, &mut t);
        dirs.push(d);
        id
    };
    let event_a = report(&s.home_grid_id, DEVICE_A, DESCRIPTION);
    let event_b = report(&other_grid, DEVICE_B, "蛟川的路灯不亮");
    for (name, role, node) in [
        ("zhaobao", "dispatcher", "330211001"),
        ("jiaochuan", "dispatcher", "330211002"),
        ("shenji", "auditor", "330211"),
        ("zhaobao.fleet", "fleet_manager", "330211001"),
    ] {
        th.hub
            .create_account(
                &cli,
                &NewAccount {
                    username: name.into(),
                    display_name: String::new(),
                    role: role.into(),
                    node: node.into(),
                    department_id: None,
                    password: Some(PASSWORD.into()),
                },
            )
            .unwrap();
    }
    let app = gridhub::http::router(th.hub.clone());
    let device_a_dir = dirs[1].path().to_path_buf();
    let device_b_dir = dirs[2].path().to_path_buf();
    World {
        th,
        app,
        event_a,
        event_b,
        device_a: DEVICE_A.into(),
        device_b: DEVICE_B.into(),
        device_a_dir,
        device_b_dir,
        grid_a: s.home_grid_id.clone(),
        grid_b: other_grid,
        _dirs: dirs,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into(),
    }
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

pub fn post(path: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(encode(form)))
        .unwrap()
}

/// The value of `name="<name>" value="…"` in a page (first one).
pub fn field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn set_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Sign in through the login page: its form, its CSRF cookie, the session cookie.
pub async fn sign_in(app: &axum::Router, user: &str) -> String {
    let page = send(app, get("/login", "")).await;
    assert_eq!(page.status, StatusCode::OK);
    let pre = set_cookie(&page.headers, "gridhub_login_csrf").expect("a login CSRF cookie");
    let csrf = field(&page.body, "csrf");
    let r = send(
        app,
        post(
            "/login",
            &pre,
            &[("csrf", &csrf), ("username", user), ("password", PASSWORD)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    set_cookie(&r.headers, "gridhub_session").expect("a session cookie")
}

pub fn assert_secure(a: &Answer, what: &str) {
    let h = |k: &str| {
        a.headers
            .get(k)
            .unwrap_or_else(|| panic!("{what}: no {k}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("http"),
        "{what}: nothing from elsewhere: {csp}"
    );
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
}

/// Every URL a page makes (links, forms, images, the live list's address).
pub fn urls(html: &str) -> Vec<String> {
    let mut out = vec![];
    for attr in ["href=\"", "action=\"", "src=\"", "data-live=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            out.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    out
}
