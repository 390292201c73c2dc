//! The login page: username and password, then the one-time code when the account has
//! TOTP; the lockout in words and minutes; sign-out. Signing in is [`Hub::login`] (its
//! password check, lockout and audit line); the session cookie is the API's.

use super::{
    bare_page_for, cookie_value, lang_form, Console, Ctx, Failure, Kind, LOGIN_CSRF_COOKIE,
};
use crate::accounts::SESSION_MAX_MS;
use crate::http::extract::{blocking, session_cookie};
use crate::http::session::{cookie, over_tls};
use crate::hub::HubError;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use std::sync::Arc;

#[derive(serde::Deserialize)]
pub struct Bye {
    #[serde(default)]
    bye: Option<u8>,
}

/// What the form shows besides its fields.
struct View<'a> {
    message: Option<String>,
    username: &'a str,
    /// The TOTP step: the password travels on, in the form's body.
    totp_step: Option<&'a str>,
}

fn login_csrf_cookie(value: &str, secure: bool) -> String {
    format!(
        "{LOGIN_CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    )
}

fn render(ctx: &Ctx, v: View<'_>, status: StatusCode, headers: &HeaderMap) -> Response {
    let t = ctx.t();
    // The login form's CSRF token: a cookie and the same value in the form.
    let token = if ctx.csrf.is_empty() {
        String::new()
    } else {
        ctx.csrf.clone()
    };
    let (token, set) = if token.is_empty() {
        let fresh = hex::encode(ring_random());
        (
            fresh.clone(),
            Some(login_csrf_cookie(&fresh, over_tls(headers))),
        )
    } else {
        (token, None)
    };
    let form_ctx = Ctx {
        csrf: token.clone(),
        lang: ctx.lang,
        who: None,
        key: String::new(),
        address: String::new(),
    };
    let body = html! {
        section.card.login {
            h1 { (t.login_title) }
            @if let Some(m) = &v.message { p.message.error role="alert" { (m) } }
            form method="post" action="/login" id="login-form" {
                input type="hidden" name="csrf" value=(token);
                @if let Some(pw) = v.totp_step {
                    input type="hidden" name="username" value=(v.username);
                    input type="hidden" name="password" value=(pw);
                    p.hint { (t.totp_hint) }
                    label { (t.totp)
                        input type="text" name="totp" id="totp" inputmode="numeric"
                            autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus;
                    }
                } @else {
                    label { (t.username)
                        input type="text" name="username" id="username" value=(v.username)
                            autocomplete="username" maxlength="64" required autofocus;
                    }
                    label { (t.password)
                        input type="password" name="password" id="password"
                            autocomplete="current-password" maxlength="256" required;
                    }
                }
                button.primary type="submit" id="login-submit" { (t.login_button) }
            }
            div.switch { (lang_form(&form_ctx)) }
        }
    };
    let mut r = bare_page_for(ctx.lang, t.login_title, body);
    *r.status_mut() = status;
    if let Some(c) = set {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn ring_random() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("system randomness");
    b
}

pub async fn page(ctx: Ctx, headers: HeaderMap, Query(q): Query<Bye>) -> Response {
    if ctx.who.is_some() {
        return Redirect::to("/").into_response();
    }
    let t = ctx.t();
    let message = match (q.bye, session_cookie(&headers)) {
        (Some(_), _) => Some(t.logged_out.to_string()),
        // A cookie the hub no longer knows: the session ended.
        (None, Some(_)) => Some(t.session_ended.to_string()),
        _ => None,
    };
    render(
        &ctx,
        View {
            message,
            username: "",
            totp_step: None,
        },
        StatusCode::OK,
        &headers,
    )
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

pub async fn submit(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, Failure> {
    let given = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if given.is_empty() || !constant_eq(&given, &f.csrf) {
        return Err(ctx.failure(Kind::Csrf));
    }
    let t = ctx.t();
    let hub = c.hub.clone();
    let (user, pw, code, addr) = (
        f.username.clone(),
        f.password.clone(),
        f.totp.clone().filter(|c| !c.trim().is_empty()),
        ctx.address.clone(),
    );
    let had_code = code.is_some();
    let r = blocking(move || hub.login(&user, &pw, code.as_deref().map(str::trim), &addr)).await;
    let ctx = Ctx { csrf: given, ..ctx };
    match r {
        Ok(l) => {
            let secure = over_tls(&headers);
            let mut out = Redirect::to("/").into_response();
            let hs = out.headers_mut();
            for c in [
                cookie(&l.token, SESSION_MAX_MS / 1000, secure),
                format!("{LOGIN_CSRF_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            ] {
                if let Ok(v) = c.parse() {
                    hs.append(header::SET_COOKIE, v);
                }
            }
            Ok(out)
        }
        Err(HubError::SecondFactorNeeded) => Ok(render(
            &ctx,
            View {
                message: None,
                username: &f.username,
                totp_step: Some(&f.password),
            },
            StatusCode::OK,
            &headers,
        )),
        Err(HubError::Unauthorized(_)) => Ok(render(
            &ctx,
            View {
                message: Some(
                    if had_code {
                        t.login_totp_bad
                    } else {
                        t.login_bad
                    }
                    .into(),
                ),
                username: &f.username,
                totp_step: None,
            },
            StatusCode::UNAUTHORIZED,
            &headers,
        )),
        Err(HubError::Locked { minutes }) => Ok(render(
            &ctx,
            View {
                message: Some(format!("{} {minutes}", t.login_locked)),
                username: &f.username,
                totp_step: None,
            },
            StatusCode::FORBIDDEN,
            &headers,
        )),
        Err(e) => Err(ctx.fail(e)),
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |x, (p, q)| x | (p ^ q)) == 0
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    ctx.check_csrf(&f.csrf)?;
    let token = session_cookie(&headers).unwrap_or_default();
    let hub = c.hub.clone();
    blocking(move || hub.logout(&token, &who.actor))
        .await
        .map_err(|e| ctx.fail(e))?;
    let mut out = Redirect::to("/login?bye=1").into_response();
    if let Ok(v) = cookie("", 0, over_tls(&headers)).parse() {
        out.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(out)
}
