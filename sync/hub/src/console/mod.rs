//! The command centre's console: server-rendered HTML pages served by `gridhub serve` at
//! `/`, on the same origin as the API, for the centre's accounts. One file per page
//! ([`login`], [`queue`], [`event`], [`tasks`], [`notices`], [`devices`], [`catalog`], [`audit`]); the words in [`i18n`] (简体中文 by default,
//! English); a small stylesheet and a small script for progressive enhancement in
//! `assets/`, served by the hub itself (nothing is loaded from anywhere else).
//!
//! It adds no authentication and no authorisation of its own: a page signs in through
//! [`Hub::login`], finds its account through [`Hub::session_principal`] (the same
//! `gridhub_session` cookie as the JSON API) and acts through the hub's centre functions,
//! which ask [`crate::authz::Principal`] for the role and the area and write the audit log.
//! A form carries the session's CSRF token in its body (`csrf`), checked before anything
//! is done; every answer carries the security headers of [`security_headers`].

pub mod audit;
pub mod catalog;
pub mod devices;
pub mod event;
pub mod event_acts;
pub mod i18n;
pub mod login;
pub mod notices;
pub mod queue;
pub mod tasks;

use crate::authz::Principal;
use crate::http::extract::{blocking, session_cookie, ClientAddr};
use crate::hub::{sha256_hex, Hub, HubError};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use i18n::{Lang, Texts};
use maud::{html, Markup, DOCTYPE};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The console's state: the hub, and per session what it keeps between pages that must
/// not travel in a URL (the queue's and the audit log's filters, a message for the next
/// page). Kept in memory: a restart forgets filters, nothing else.
pub struct Console {
    pub hub: Arc<Hub>,
    filters: Mutex<HashMap<String, queue::Filter>>,
    audit_filters: Mutex<HashMap<String, audit::Filter>>,
    device_filters: Mutex<HashMap<String, devices::Filter>>,
    task_filters: Mutex<HashMap<String, tasks::Filter>>,
    /// Forms already done (the session's key and the form's one-time token → what it
    /// made), so a second click on "create" or "publish" makes nothing twice.
    forms_done: Mutex<HashMap<String, String>>,
    flash: Mutex<HashMap<String, &'static str>>,
}

type St = State<Arc<Console>>;

/// The console's routes, merged into gridhub's router.
pub fn router(hub: Arc<Hub>) -> Router {
    let state = Arc::new(Console {
        hub,
        filters: Mutex::default(),
        audit_filters: Mutex::default(),
        device_filters: Mutex::default(),
        task_filters: Mutex::default(),
        forms_done: Mutex::default(),
        flash: Mutex::default(),
    });
    Router::new()
        .route("/", get(queue::page))
        .route("/queue", post(queue::set_filter))
        .route("/queue/live", get(queue::live))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", post(switch_lang))
        .route("/events/{id}", get(event::page))
        .route("/events/{id}/act", post(event_acts::act))
        .route("/events/{id}/photos/{sha}", get(event::photo))
        .route("/tasks/{id}/photos/{sha}", get(tasks::photo))
        .route("/tasks", get(tasks::page).post(tasks::create))
        .route("/tasks/filter", post(tasks::set_filter))
        .route("/tasks/{id}", get(tasks::detail))
        .route("/notices", get(notices::page).post(notices::publish))
        .route("/notices/{id}", get(notices::detail))
        .route("/devices", get(devices::page).post(devices::set_filter))
        .route("/devices/{id}/act", post(devices::act))
        .route("/devices/enroll", post(devices::enroll))
        .route("/catalog", get(catalog::page))
        .route(
            "/catalog/{code}",
            get(catalog::edit_page).post(catalog::save),
        )
        .route("/audit", get(audit::page).post(audit::set_filter))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The content security policy: everything from this origin only, no inline script or
/// style, no framing, forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers on every console answer. Pages and photos are personal data: not stored
/// by the browser or a proxy; the stylesheet and script may be cached.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    let cache = if path.starts_with("/static/") {
        "private, max-age=300"
    } else {
        "no-store"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/console.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/console.js"),
    )
        .into_response()
}

/// Who asks, in which language: every console handler takes it. `who` is the signed-in
/// account (through the hub's own session check), if any.
pub struct Ctx {
    pub lang: Lang,
    pub who: Option<Principal>,
    /// The session's CSRF token; before sign-in, the login form's own (a cookie).
    pub csrf: String,
    /// The session, as the in-memory filters know it (a hash of its cookie).
    pub key: String,
    pub address: String,
}

/// The login form's CSRF cookie (double submit: a cross-site form cannot send it).
pub const LOGIN_CSRF_COOKIE: &str = "gridhub_login_csrf";

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<Arc<Console>> for Ctx {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let lang = cookie_value(&parts.headers, Lang::COOKIE)
            .and_then(|l| Lang::parse(&l))
            .unwrap_or(Lang::Zh);
        let ClientAddr(address) = ClientAddr::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddr(String::new()));
        let mut ctx = Ctx {
            lang,
            who: None,
            csrf: cookie_value(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or_default(),
            key: String::new(),
            address: address.clone(),
        };
        if let Some(token) = session_cookie(&parts.headers) {
            let hub = state.hub.clone();
            let key = sha256_hex(token.as_bytes());
            match blocking(move || hub.session_principal(&token, &address)).await {
                Ok((p, csrf)) => {
                    ctx.who = Some(p);
                    ctx.csrf = csrf;
                    ctx.key = key;
                }
                Err(HubError::Unauthorized(_)) => {}
                Err(e) => return Err(ctx.fail(e)),
            }
        }
        Ok(ctx)
    }
}

impl Ctx {
    pub fn t(&self) -> &'static Texts {
        self.lang.t()
    }

    /// The signed-in account, or a way to the login page.
    pub fn signed(&self) -> Result<&Principal, Failure> {
        self.who.as_ref().ok_or(Failure {
            lang: self.lang,
            kind: Kind::SignIn,
        })
    }

    /// Refuse a form whose CSRF token is not this session's (constant time).
    pub fn check_csrf(&self, given: &str) -> Result<(), Failure> {
        let ok = !self.csrf.is_empty()
            && given.len() == self.csrf.len()
            && given
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0;
        if ok {
            Ok(())
        } else {
            Err(self.failure(Kind::Csrf))
        }
    }

    pub fn failure(&self, kind: Kind) -> Failure {
        Failure {
            lang: self.lang,
            kind,
        }
    }

    /// A hub refusal as a page in the user's language.
    pub fn fail(&self, e: HubError) -> Failure {
        self.failure(match e {
            HubError::NotFound(_) => Kind::NotFound,
            HubError::Forbidden(_) | HubError::Locked { .. } => Kind::Forbidden,
            HubError::Unauthorized(_) | HubError::SecondFactorNeeded => Kind::SignIn,
            HubError::Store(e) => {
                eprintln!("gridhub console: storage error: {e}");
                Kind::Unavailable
            }
            _ => Kind::BadInput,
        })
    }
}

/// What went wrong, as the console says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SignIn,
    NotFound,
    Forbidden,
    Csrf,
    BadInput,
    Unavailable,
}

/// A refusal, answered as a page (or, for a missing sign-in, a way to the login page).
#[derive(Debug)]
pub struct Failure {
    pub lang: Lang,
    pub kind: Kind,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let t = self.lang.t();
        let (status, text) = match self.kind {
            Kind::SignIn => return Redirect::to("/login").into_response(),
            Kind::NotFound => (StatusCode::NOT_FOUND, t.err_not_found),
            Kind::Forbidden => (StatusCode::FORBIDDEN, t.err_forbidden),
            Kind::Csrf => (StatusCode::FORBIDDEN, t.err_csrf),
            Kind::BadInput => (StatusCode::BAD_REQUEST, t.err_bad_input),
            Kind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, t.err_unavailable),
        };
        let body = html! {
            section.card.error-page {
                h1 { (t.err_title) }
                p.message.error { (text) }
                p { a href="/" { (t.err_home) } }
            }
        };
        (status, bare_page_for(self.lang, t.err_title, body)).into_response()
    }
}

/// A page with the console's frame (title bar, navigation, account, language, sign-out).
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Response {
    let t = ctx.t();
    let Some(who) = &ctx.who else {
        return bare_page_for(ctx.lang, title, body);
    };
    let audit = who.may(crate::authz::Action::AuditRead);
    let queue = who.may(crate::authz::Action::EventsRead);
    let tasks = who.may(crate::authz::Action::TasksRead);
    let devices = who.may(crate::authz::Action::DevicesRead);
    let notices = who.may(crate::authz::Action::NoticesWrite);
    let catalog = who.may(crate::authz::Action::CatalogWrite);
    let frame = html! {
        header.top {
            span.brand { (t.app_name) }
            nav {
                @if queue { a href="/" { (t.nav_queue) } }
                @if tasks { a href="/tasks" id="nav-tasks" { (t.nav_tasks) } }
                @if notices { a href="/notices" id="nav-notices" { (t.nav_notices) } }
                @if devices { a href="/devices" id="nav-devices" { (t.nav_devices) } }
                @if catalog { a href="/catalog" id="nav-catalog" { (t.nav_catalog) } }
                @if audit { a href="/audit" { (t.nav_audit) } }
            }
            span.me {
                span.who { (who.actor.name) " · " (ctx.lang.role(&who.actor.role)) }
                (lang_form(ctx))
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(ctx.csrf);
                    button.link type="submit" { (t.logout) }
                }
            }
        }
        main { (body) }
    };
    document(ctx.lang, title, frame)
}

/// The switch to the other language (a form: the choice is a cookie).
pub fn lang_form(ctx: &Ctx) -> Markup {
    html! {
        form.lang method="post" action="/lang" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            input type="hidden" name="lang" value=(ctx.lang.other().code());
            button.link type="submit" id="switch-lang" { (ctx.t().switch_to) }
        }
    }
}

/// A page without the account's frame (login, errors).
pub(crate) fn bare_page_for(lang: Lang, title: &str, body: Markup) -> Response {
    let t = lang.t();
    document(
        lang,
        title,
        html! {
            header.top { span.brand { (t.app_name) } }
            main { (body) }
        },
    )
}

fn document(lang: Lang, title: &str, body: Markup) -> Response {
    let t = lang.t();
    let m = html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t.app_name) }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body { (body) }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        m.into_string(),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

/// Remember the chosen language (a year), then back to the start.
async fn switch_lang(ctx: Ctx, Form(f): Form<LangForm>) -> Result<Response, Failure> {
    ctx.check_csrf(&f.csrf)?;
    let lang = Lang::parse(&f.lang).ok_or(ctx.failure(Kind::BadInput))?;
    let to = if ctx.who.is_some() { "/" } else { "/login" };
    Ok((
        [(
            header::SET_COOKIE,
            format!(
                "{}={}; Path=/; SameSite=Strict; Max-Age=31536000",
                Lang::COOKIE,
                lang.code()
            ),
        )],
        Redirect::to(to),
    )
        .into_response())
}

/// A form's one-time token as it comes in ([`Console::once_begin`]).
pub enum Once {
    /// The first time: go ahead, then [`Console::once_end`].
    First,
    /// The first submission of this form is still at work.
    Pending,
    /// Done before: the id of what it made.
    Done(String),
}

/// A one-time token as the forms carry it: 32 hex digits.
pub fn valid_once(once: &str) -> bool {
    once.len() == 32 && once.chars().all(|c| c.is_ascii_hexdigit())
}

impl Console {
    /// Reserve a form's one-time token: a second submission of the same form (a double
    /// click, a reload) finds it and makes nothing.
    pub fn once_begin(&self, key: &str, once: &str) -> Once {
        let mut done = self.forms_done.lock().unwrap_or_else(|p| p.into_inner());
        match done.get(&format!("{key}:{once}")) {
            Some(id) if id.is_empty() => Once::Pending,
            Some(id) => Once::Done(id.clone()),
            None => {
                if done.len() > 10_000 {
                    done.clear();
                }
                done.insert(format!("{key}:{once}"), String::new());
                Once::First
            }
        }
    }

    /// The form's work is over: it made `made`, or (`None`) it failed and may be sent again.
    pub fn once_end(&self, key: &str, once: &str, made: Option<&str>) {
        let mut done = self.forms_done.lock().unwrap_or_else(|p| p.into_inner());
        match made {
            Some(id) => done.insert(format!("{key}:{once}"), id.to_string()),
            None => done.remove(&format!("{key}:{once}")),
        };
    }

    /// Leave a message for the session's next page.
    pub fn flash(&self, key: &str, text: &'static str) {
        self.flash
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), text);
    }

    pub fn take_flash(&self, key: &str) -> Option<&'static str> {
        self.flash
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
    }
}

/// The strip above a list: how many in all, how many in each status (a badge of class
/// `<badge><status>` named by `label`), and how many the filter shows.
pub fn counts<K: AsRef<str> + Ord>(
    t: &Texts,
    counts: &std::collections::BTreeMap<K, usize>,
    matching: usize,
    badge: &str,
    label: impl Fn(&str) -> &'static str,
) -> Markup {
    html! {
        ul.counts {
            li { span.n { (counts.values().sum::<usize>()) } " " (t.all) }
            @for (s, n) in counts {
                li { span class={(badge) (s.as_ref())} { (label(s.as_ref())) } " " span.n { (n) } }
            }
            li.matching { (t.total_shown) " " span.n #matching { (matching) } }
        }
    }
}

/// Text as a form's record keeps it: line breaks as `\n`, no other control characters,
/// trimmed.
pub fn clean_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

/// A time as the centre reads it: Beijing time, to the minute.
pub fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.chars().take(32).collect())
}

/// Milliseconds as Beijing time, to the second.
pub fn local_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}
