//! The console in a browser (issue 15), through the router as a browser would reach it:
//! security headers on every answer, CSRF refusals, the account's area on every page and
//! photo, no personal data in any URL a page makes, and an action sent twice done once.
//! The walk through a real browser is tests/e2e/tests/console_browser.rs.

mod common;
mod console_world;

use axum::http::StatusCode;
use common::*;
use console_world::*;
use gridhub::authz::Principal;

#[tokio::test(flavor = "multi_thread")]
async fn every_console_answer_carries_the_security_headers_and_pages_are_not_stored() {
    let w = world();
    let s = sign_in(&w.app, "zhaobao").await;
    for path in [
        "/login".to_string(),
        "/".into(),
        "/queue/live".into(),
        format!("/events/{}", w.event_a),
        format!("/events/{}", w.event_b),
        "/static/console.css".into(),
        "/static/console.js".into(),
        "/audit".into(),
    ] {
        let a = send(&w.app, get(&path, &s)).await;
        assert_secure(&a, &path);
        if !path.starts_with("/static/") {
            assert_eq!(a.headers["cache-control"], "no-store", "{path}");
        }
    }
    let page = send(&w.app, get("/", &s)).await.body;
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains(" style="), "no inline style");
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_the_sessions_csrf_token_changes_nothing() {
    let w = world();
    let s = sign_in(&w.app, "zhaobao").await;
    let page = send(&w.app, get(&format!("/events/{}", w.event_a), &s)).await;
    let version = field(&page.body, "version");
    let path = format!("/events/{}/act", w.event_a);
    for csrf in ["", "0123456789abcdef0123456789abcdef", "x"] {
        let r = send(
            &w.app,
            post(
                &path,
                &s,
                &[("csrf", csrf), ("version", &version), ("action", "accept")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            r.body.contains("表单已过期"),
            "the refusal in Chinese: {}",
            r.body
        );
    }
    let ev = w.th.hub.event_for(&Principal::cli(), &w.event_a).unwrap();
    assert_eq!(ev.fields["status"], "reported", "nothing was accepted");
    // The login form too: a cross-site form has no login cookie to match.
    let r = send(
        &w.app,
        post(
            "/login",
            "",
            &[
                ("csrf", "abc"),
                ("username", "zhaobao"),
                ("password", PASSWORD),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&r.headers, "gridhub_session").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dispatcher_sees_and_opens_only_the_events_of_its_street() {
    let w = world();
    let a = sign_in(&w.app, "zhaobao").await;
    let b = sign_in(&w.app, "jiaochuan").await;
    let qa = send(&w.app, get("/", &a)).await.body;
    assert!(qa.contains(&w.event_a) && !qa.contains(&w.event_b));
    let qb = send(&w.app, get("/queue/live", &b)).await.body;
    assert!(qb.contains(&w.event_b) && !qb.contains(&w.event_a), "{qb}");
    // The other street's event: as if it did not exist — page, action and photo.
    let r = send(&w.app, get(&format!("/events/{}", w.event_a), &b)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("没有找到"), "{}", r.body);
    assert!(!r.body.contains(DESCRIPTION));
    let photo = format!("/events/{}/photos/{}", w.event_a, "ab".repeat(32));
    assert_eq!(
        send(&w.app, get(&photo, &b)).await.status,
        StatusCode::NOT_FOUND
    );
    let page_b = send(&w.app, get(&format!("/events/{}", w.event_b), &b))
        .await
        .body;
    let r = send(
        &w.app,
        post(
            &format!("/events/{}/act", w.event_a),
            &b,
            &[
                ("csrf", &field(&page_b, "csrf")),
                ("version", "whatever"),
                ("action", "accept"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Signed out: every page leads to the login page.
    let r = send(&w.app, get(&format!("/events/{}", w.event_a), "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login");
    // An auditor may not act.
    let au = sign_in(&w.app, "shenji").await;
    let page = send(&w.app, get(&format!("/events/{}", w.event_a), &au)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("name=\"action\""),
        "no action forms for an auditor"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_search_travels_in_the_body_and_no_url_names_a_person() {
    let w = world();
    let s = sign_in(&w.app, "zhaobao").await;
    let page = send(&w.app, get("/", &s)).await.body;
    let csrf = field(&page, "csrf");
    let r = send(
        &w.app,
        post(
            "/queue",
            &s,
            &[("csrf", &csrf), ("do", "apply"), ("text", REPORTER)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"], "/",
        "the filter stays in the session"
    );
    let page = send(&w.app, get("/", &s)).await.body;
    assert!(
        page.contains(&w.event_a),
        "the search found the report by its reporter"
    );
    assert!(
        page.contains(&format!("value=\"{REPORTER}\"")),
        "the form shows the search"
    );
    let ev = send(&w.app, get(&format!("/events/{}", w.event_a), &s))
        .await
        .body;
    assert!(ev.contains(REPORTER) && ev.contains(DESCRIPTION));
    for html in [&page, &ev] {
        for u in urls(html) {
            for private in [REPORTER, DESCRIPTION, "%E6"] {
                assert!(!u.contains(private), "{u} names {private}");
            }
        }
    }
    // Another search that finds nothing: the other street's report is not found either.
    send(
        &w.app,
        post(
            "/queue",
            &s,
            &[("csrf", &csrf), ("do", "apply"), ("text", "路灯")],
        ),
    )
    .await;
    let page = send(&w.app, get("/", &s)).await.body;
    assert!(!page.contains(&w.event_a) && !page.contains(&w.event_b));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_sent_twice_or_from_a_stale_page_is_done_once() {
    let w = world();
    let s = sign_in(&w.app, "zhaobao").await;
    let page = send(&w.app, get(&format!("/events/{}", w.event_a), &s))
        .await
        .body;
    let (csrf, version) = (field(&page, "csrf"), field(&page, "version"));
    let path = format!("/events/{}/act", w.event_a);
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("action", "accept"),
        ("note", "立案"),
    ];
    let first = send(&w.app, post(&path, &s, &form)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = send(&w.app, post(&path, &s, &form)).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.body.contains("未执行"), "{}", second.body);
    // A stale page's dispatch (its version is the one before the accept): refused too.
    let stale = send(
        &w.app,
        post(
            &path,
            &s,
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("action", "dispatch"),
                ("hours", "12"),
            ],
        ),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let lines =
        w.th.hub
            .audit_log(&gridhub::audit::AuditQuery {
                target: Some(format!("event:{}", w.event_a)),
                ..Default::default()
            })
            .unwrap();
    let actions: Vec<&str> = lines.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(actions, ["event.accepted"], "one step, audited once");
    // The fresh page dispatches; the event's timeline shows both steps.
    let page = send(&w.app, get(&format!("/events/{}", w.event_a), &s))
        .await
        .body;
    assert!(page.contains("已受理立案"), "the done message");
    let r = send(
        &w.app,
        post(
            &path,
            &s,
            &[
                ("csrf", &csrf),
                ("version", &field(&page, "version")),
                ("action", "dispatch"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&w.app, get(&format!("/events/{}", w.event_a), &s))
        .await
        .body;
    assert!(page.contains("data-status=\"dispatched\""));
    // A rejection needs a reason: refused with a message, nothing done.
    let r = send(
        &w.app,
        post(
            &format!("/events/{}/act", w.event_a),
            &s,
            &[
                ("csrf", &csrf),
                ("version", &field(&page, "version")),
                ("action", "reject"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_page_speaks_the_users_language_and_tells_a_lockout() {
    let w = world();
    let page = send(&w.app, get("/login", "")).await;
    assert!(page.body.contains("登录指挥中心") && page.body.contains("lang=\"zh-CN\""));
    let pre = set_cookie(&page.headers, "gridhub_login_csrf").unwrap();
    let csrf = field(&page.body, "csrf");
    let en = format!("{pre}; gridhub_lang=en");
    for i in 0..6 {
        let r = send(
            &w.app,
            post(
                "/login",
                &en,
                &[
                    ("csrf", &csrf),
                    ("username", "zhaobao"),
                    ("password", "wrong-Password-1"),
                ],
            ),
        )
        .await;
        if i < 5 {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(r.body.contains("Wrong username or password"), "{}", r.body);
        } else {
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            assert!(r.body.contains("locked"), "{}", r.body);
            assert!(r.body.contains("(minutes): 15"), "{}", r.body);
        }
        assert!(
            !r.body.contains("wrong-Password-1"),
            "the password is not echoed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_totp_signs_in_in_two_steps() {
    let w = world();
    let secret = w.th.hub.enable_totp(&Principal::cli(), "zhaobao").unwrap();
    let page = send(&w.app, get("/login", "")).await;
    let pre = set_cookie(&page.headers, "gridhub_login_csrf").unwrap();
    let csrf = field(&page.body, "csrf");
    let step = send(
        &w.app,
        post(
            "/login",
            &pre,
            &[
                ("csrf", &csrf),
                ("username", "zhaobao"),
                ("password", PASSWORD),
            ],
        ),
    )
    .await;
    assert_eq!(step.status, StatusCode::OK);
    assert!(
        step.body.contains("name=\"totp\""),
        "the code step: {}",
        step.body
    );
    assert!(set_cookie(&step.headers, "gridhub_session").is_none());
    let code = gridhub::totp::code(&gridhub::totp::decode(&secret).unwrap(), T0);
    let r = send(
        &w.app,
        post(
            "/login",
            &pre,
            &[
                ("csrf", &csrf),
                ("username", "zhaobao"),
                ("password", PASSWORD),
                ("totp", &code),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let s = set_cookie(&r.headers, "gridhub_session").unwrap();
    assert_eq!(send(&w.app, get("/", &s)).await.status, StatusCode::OK);
    // Signing out ends the session: the same cookie leads to the login page again.
    let page = send(&w.app, get("/", &s)).await.body;
    let r = send(
        &w.app,
        post("/logout", &s, &[("csrf", &field(&page, "csrf"))]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&w.app, get("/", &s)).await;
    assert_eq!(r.headers["location"], "/login");
}
