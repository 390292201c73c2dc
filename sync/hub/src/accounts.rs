//! The centre's accounts: username and password (argon2id, a policy, lockout after repeated
//! failures, timing-safe checks), an optional TOTP second factor (RFC 6238), console
//! sessions (a random token in a cookie, a CSRF token to echo, idle and absolute expiry),
//! and per-account API tokens (scoped, revocable). Field staff are accounts too: their
//! enrollment codes are issued for them, and their grids come from their node.

use crate::audit::Actor;
use crate::authz::{Action, Principal};
use crate::hub::{in_tx, sha256_hex, Hub, HubError, HubResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use gridhub_store::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Failed logins before the account locks.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// The first lockout; each further failure doubles it, up to a day.
pub const LOCKOUT_MS: u64 = 15 * 60 * 1000;
/// A console session ends after this long without a request…
pub const SESSION_IDLE_MS: u64 = 30 * 60 * 1000;
/// …and after this long in any case.
pub const SESSION_MAX_MS: u64 = 12 * 3_600 * 1000;

/// A new account, as the CLI or the API asks for it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewAccount {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub role: String,
    /// Node id or code.
    pub node: String,
    /// Department id (department handlers).
    #[serde(default)]
    pub department_id: Option<String>,
    /// None: no console login (field staff), or set later.
    #[serde(default)]
    pub password: Option<String>,
}

/// An account as lists and the API show it (no secrets).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub node_id: String,
    pub department_id: Option<String>,
    pub totp: bool,
    pub locked: bool,
    pub disabled: bool,
}

impl AccountView {
    pub fn of(a: &Account, now: u64) -> AccountView {
        AccountView {
            id: a.id.clone(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role,
            node_id: a.node_id.clone(),
            department_id: a.department_id.clone(),
            totp: a.totp_secret.is_some(),
            locked: a.locked_until_ms > now,
            disabled: a.disabled,
        }
    }
}

/// A started console session: the cookie's token and the CSRF token (both shown once).
#[derive(Clone, Debug, Serialize)]
pub struct LoggedIn {
    #[serde(skip)]
    pub token: String,
    pub csrf: String,
    pub account: AccountView,
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

const COMMON: &[&str] = &[
    "password", "12345678", "qwerty", "admin", "gridhub", "1qaz2wsx", "p@ssw0rd",
];

/// The password policy: at least 10 characters of at least three kinds (lower case, upper
/// case, digits, symbols), not the username, not a well-known password.
pub fn password_problem(username: &str, pw: &str) -> Option<&'static str> {
    let kinds = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    let lower = pw.to_lowercase();
    if pw.chars().count() < 10 {
        Some("a password needs at least 10 characters")
    } else if pw.len() > 256 {
        Some("a password has at most 256 bytes")
    } else if kinds < 3 {
        Some("a password needs three of: lower case, upper case, digits, symbols")
    } else if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        Some("a password must not contain the username")
    } else if COMMON.iter().any(|c| lower.contains(c)) {
        Some("that password is too well known")
    } else {
        None
    }
}

fn hash_password(pw: &str) -> HubResult<String> {
    use ring::rand::SecureRandom;
    let mut raw = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| HubError::BadRequest("no system randomness".into()))?;
    let salt = SaltString::encode_b64(&raw)
        .map_err(|e| HubError::BadRequest(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HubError::BadRequest(format!("password hashing: {e}")))
}

/// Verify in constant time for the hash; an empty or damaged hash never matches (but costs
/// the same, so a missing account is not told apart by timing).
fn verify_password(pw: &str, phc: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password-Aa1!").unwrap_or_default());
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(pw.as_bytes(), &h).is_ok(),
        Err(_) => {
            if let Ok(h) = PasswordHash::new(dummy) {
                let _ = Argon2::default().verify_password(pw.as_bytes(), &h);
            }
            false
        }
    }
}

use crate::totp;
/// Whether `who` may manage an account of `role` at `node`: in its area; a fleet manager
/// only field staff; nobody but the administrator makes a system administrator.
fn may_manage(who: &Principal, node: &str, role: Role) -> HubResult<()> {
    if !who.sees_node(node) {
        return Err(HubError::NotFound(format!("node {node:.40}")));
    }
    match (who.role, role) {
        (None, _) => Ok(()),
        (Some(Role::FleetManager), Role::FieldStaff) => Ok(()),
        (Some(Role::FleetManager), _) => Err(HubError::Forbidden(
            "a fleet manager manages field staff accounts only".into(),
        )),
        (Some(_), Role::SystemAdministrator) if who.role != Some(Role::SystemAdministrator) => Err(
            HubError::Forbidden("only a system administrator makes another".into()),
        ),
        _ => Ok(()),
    }
}

impl Hub {
    /// Create an account (the command line creates the first system administrator).
    pub fn create_account(&self, who: &Principal, n: &NewAccount) -> HubResult<AccountView> {
        who.require(Action::AccountsWrite)?;
        let actor = &who.actor;
        let username = n.username.trim().to_lowercase();
        if !valid_username(&username) {
            return Err(HubError::BadRequest(
                "a username is 3–32 lower-case letters, digits, . _ -".into(),
            ));
        }
        let role = Role::parse(n.role.trim())
            .ok_or_else(|| HubError::BadRequest(format!("unknown role {:.32}", n.role)))?;
        let display: String = if n.display_name.trim().is_empty() {
            username.clone()
        } else {
            n.display_name.trim().to_string()
        };
        if display.chars().count() > 64 {
            return Err(HubError::BadRequest(
                "a display name has at most 64 characters".into(),
            ));
        }
        let tree = self.org()?;
        let node = tree
            .find(n.node.trim())
            .ok_or_else(|| HubError::BadRequest(format!("unknown node {:.40}", n.node)))?
            .clone();
        may_manage(who, &node.id, role)?;
        let password_hash = match &n.password {
            Some(pw) => {
                if let Some(p) = password_problem(&username, pw) {
                    return Err(HubError::BadRequest(p.into()));
                }
                hash_password(pw)?
            }
            None => String::new(),
        };
        let now = self.now_ms();
        let a = Account {
            id: uuid::Uuid::now_v7().to_string(),
            username,
            display_name: display,
            role,
            node_id: node.id.clone(),
            department_id: n.department_id.clone().filter(|d| !d.is_empty()),
            password_hash,
            totp_secret: None,
            failed_logins: 0,
            locked_until_ms: 0,
            disabled: false,
            created_ms: now,
            password_changed_ms: now,
        };
        in_tx(self.store(), |tx| {
            if role == Role::DepartmentHandler {
                let d = a.department_id.as_deref().ok_or_else(|| {
                    HubError::BadRequest("a department handler needs a department".into())
                })?;
                if tx.department(d)?.is_none() {
                    return Err(HubError::BadRequest(format!("unknown department {d:.40}")));
                }
            }
            tx.put_account(&a).map_err(|e| match e {
                StoreError::Conflict(_) => {
                    HubError::Conflict(format!("the username {} is taken", a.username))
                }
                e => e.into(),
            })?;
            self.audit(
                tx,
                actor,
                "account.create",
                &format!("account:{}", a.username),
                Value::Null,
                json!(AccountView::of(&a, now)),
            )
        })?;
        Ok(AccountView::of(&a, now))
    }

    /// The accounts of `who`'s area.
    pub fn accounts(&self, who: &Principal) -> HubResult<Vec<AccountView>> {
        who.require(Action::AccountsRead)?;
        let now = self.now_ms();
        Ok(with_tx(self.store(), |tx| tx.accounts())?
            .iter()
            .filter(|a| who.sees_node(&a.node_id))
            .map(|a| AccountView::of(a, now))
            .collect())
    }

    /// An account `who` may manage, by username.
    fn managed(&self, tx: &mut dyn HubTx, who: &Principal, username: &str) -> HubResult<Account> {
        let a = tx
            .account_by_username(username)?
            .filter(|a| who.sees_node(&a.node_id))
            .ok_or_else(|| HubError::NotFound(format!("account {username:.32}")))?;
        may_manage(who, &a.node_id, a.role)?;
        Ok(a)
    }

    /// Set an account's password (its own change, or an administrator's reset): every
    /// session of the account ends.
    pub fn set_password(&self, who: &Principal, username: &str, pw: &str) -> HubResult<()> {
        let own = who.actor.name == username && who.role.is_some();
        if !own {
            who.require(Action::AccountsWrite)?;
        }
        let actor = &who.actor;
        if let Some(p) = password_problem(username, pw) {
            return Err(HubError::BadRequest(p.into()));
        }
        let hash = hash_password(pw)?;
        let now = self.now_ms();
        in_tx(self.store(), |tx| {
            let mut a = if own {
                tx.account_by_username(username)?
                    .ok_or_else(|| HubError::NotFound(format!("account {username:.32}")))?
            } else {
                self.managed(tx, who, username)?
            };
            a.password_hash = hash.clone();
            a.password_changed_ms = now;
            a.failed_logins = 0;
            a.locked_until_ms = 0;
            tx.put_account(&a)?;
            tx.delete_sessions_of(&a.id)?;
            self.audit(
                tx,
                actor,
                "account.password",
                &format!("account:{}", a.username),
                Value::Null,
                Value::Null,
            )
        })
    }

    /// Turn on the second factor: returns the base32 secret to enter in an authenticator.
    pub fn enable_totp(&self, who: &Principal, username: &str) -> HubResult<String> {
        let own = who.actor.name == username && who.role.is_some();
        if !own {
            who.require(Action::AccountsWrite)?;
        }
        let actor = &who.actor;
        let secret = totp::encode(&self.random(20));
        in_tx(self.store(), |tx| {
            let mut a = if own {
                tx.account_by_username(username)?
                    .ok_or_else(|| HubError::NotFound(format!("account {username:.32}")))?
            } else {
                self.managed(tx, who, username)?
            };
            a.totp_secret = Some(secret.clone());
            tx.put_account(&a)?;
            self.audit(
                tx,
                actor,
                "account.totp",
                &format!("account:{}", a.username),
                Value::Null,
                json!({"totp": true}),
            )
        })?;
        Ok(secret)
    }

    /// Disable or enable an account; disabling ends its sessions.
    pub fn set_account_disabled(
        &self,
        who: &Principal,
        username: &str,
        disabled: bool,
    ) -> HubResult<()> {
        who.require(Action::AccountsWrite)?;
        let actor = &who.actor;
        in_tx(self.store(), |tx| {
            let mut a = self.managed(tx, who, username)?;
            let before = json!({"disabled": a.disabled});
            a.disabled = disabled;
            tx.put_account(&a)?;
            if disabled {
                tx.delete_sessions_of(&a.id)?;
            }
            self.audit(
                tx,
                actor,
                "account.disable",
                &format!("account:{}", a.username),
                before,
                json!({"disabled": disabled}),
            )
        })
    }

    /// Sign in to the console. Wrong username and wrong password read the same; five
    /// failures lock the account (15 min, doubling, at most a day), a locked account is
    /// refused even with the right password ([`HubError::Locked`]). An account with an
    /// authenticator signs in in two steps: the right password without a code answers
    /// [`HubError::SecondFactorNeeded`] and counts no failure; a wrong code counts one.
    /// Every failed attempt is audited.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        totp_code: Option<&str>,
        address: &str,
    ) -> HubResult<LoggedIn> {
        let now = self.now_ms();
        let username = username.trim().to_lowercase();
        let bad = || HubError::Unauthorized("wrong username or password".into());
        let account = with_tx(self.store(), |tx| tx.account_by_username(&username))?;
        let Some(a) = account.filter(|_| valid_username(&username) && password.len() <= 256) else {
            verify_password(password, "");
            return Err(bad());
        };
        let who = Actor {
            id: a.id.clone(),
            name: a.username.clone(),
            role: a.role.as_str().into(),
            node_id: a.node_id.clone(),
            address: address.chars().take(64).collect(),
        };
        if a.disabled {
            verify_password(password, "");
            return Err(bad());
        }
        if a.locked_until_ms > now {
            verify_password(password, "");
            return Err(HubError::Locked {
                minutes: (a.locked_until_ms - now).div_ceil(60_000),
            });
        }
        let password_ok = verify_password(password, &a.password_hash);
        if password_ok && a.totp_secret.is_some() && totp_code.is_none() {
            // The first of two steps, not a failure: the console asks for the code next.
            // A wrong password never gets here, so the answer tells nobody without the
            // password that the account has an authenticator.
            return Err(HubError::SecondFactorNeeded);
        }
        let ok = password_ok
            && match (&a.totp_secret, totp_code) {
                (None, _) => true,
                (Some(s), Some(c)) => totp::check(s, c, now),
                (Some(_), None) => false,
            };
        if !ok {
            in_tx(self.store(), |tx| {
                let mut a = tx.account(&a.id)?.ok_or_else(bad)?;
                a.failed_logins += 1;
                if a.failed_logins >= MAX_FAILED_LOGINS {
                    let doublings = (a.failed_logins - MAX_FAILED_LOGINS).min(7);
                    a.locked_until_ms = now + (LOCKOUT_MS << doublings).min(86_400_000);
                }
                tx.put_account(&a)?;
                self.audit(
                    tx,
                    &who,
                    "session.login_failed",
                    &format!("account:{}", a.username),
                    Value::Null,
                    json!({"failed_logins": a.failed_logins}),
                )
            })?;
            return Err(bad());
        }
        let token = hex::encode(self.random(32));
        let csrf = hex::encode(self.random(16));
        let session = Session {
            account_id: a.id.clone(),
            csrf: csrf.clone(),
            created_ms: now,
            last_seen_ms: now,
            expires_ms: now + SESSION_MAX_MS,
            address: who.address.clone(),
        };
        in_tx(self.store(), |tx| {
            let mut a = tx.account(&a.id)?.ok_or_else(bad)?;
            a.failed_logins = 0;
            a.locked_until_ms = 0;
            tx.put_account(&a)?;
            tx.put_session(&sha256_hex(token.as_bytes()), &session)?;
            self.audit(
                tx,
                &who,
                "session.login",
                &format!("account:{}", a.username),
                Value::Null,
                Value::Null,
            )
        })?;
        Ok(LoggedIn {
            token,
            csrf,
            account: AccountView::of(&a, now),
        })
    }

    /// The account of a console session, and the session's CSRF token. Idle or expired
    /// sessions, disabled accounts: refused.
    pub fn session_principal(&self, token: &str, address: &str) -> HubResult<(Principal, String)> {
        let now = self.now_ms();
        let hash = sha256_hex(token.as_bytes());
        let found = with_tx(self.store(), |tx| {
            let Some(s) = tx.session(&hash)? else {
                return Ok(None);
            };
            Ok(tx.account(&s.account_id)?.map(|a| (s, a)))
        })?;
        let Some((mut s, a)) = found else {
            return Err(HubError::Unauthorized("please sign in".into()));
        };
        if a.disabled || s.expires_ms < now || now.saturating_sub(s.last_seen_ms) > SESSION_IDLE_MS
        {
            with_tx(self.store(), |tx| tx.delete_session(&hash))?;
            return Err(HubError::Unauthorized(
                "the session has ended; please sign in again".into(),
            ));
        }
        if now - s.last_seen_ms > 60_000 {
            s.last_seen_ms = now;
            with_tx(self.store(), |tx| tx.put_session(&hash, &s))?;
        }
        let tree = self.org()?;
        Ok((Principal::of_account(&a, &tree, address, None), s.csrf))
    }

    /// End a console session.
    pub fn logout(&self, token: &str, actor: &Actor) -> HubResult<()> {
        in_tx(self.store(), |tx| {
            tx.delete_session(&sha256_hex(token.as_bytes()))?;
            self.audit(
                tx,
                actor,
                "session.logout",
                &format!("account:{}", actor.name),
                Value::Null,
                Value::Null,
            )
        })
    }

    /// An API token for an account, limited to `scopes` (each one its role allows), for
    /// `days` days. Printed once; stored as a hash.
    pub fn create_api_token(
        &self,
        who: &Principal,
        username: &str,
        label: &str,
        scopes: &[String],
        days: u64,
    ) -> HubResult<(String, ApiToken)> {
        let own = who.actor.name == username && who.role.is_some() && who.scopes.is_none();
        if !own {
            who.require(Action::AccountsWrite)?;
        }
        let actor = &who.actor;
        let now = self.now_ms();
        let token = format!("ghu_{}", hex::encode(self.random(32)));
        let id = uuid::Uuid::now_v7().to_string();
        let t = in_tx(self.store(), |tx| {
            let a = if own {
                tx.account_by_username(username)?
                    .ok_or_else(|| HubError::NotFound(format!("account {username:.32}")))?
            } else {
                self.managed(tx, who, username)?
            };
            let mut acts = vec![];
            for s in scopes {
                let act = Action::from_scope(s)
                    .ok_or_else(|| HubError::BadRequest(format!("unknown scope {s:.32}")))?;
                if !crate::authz::role_allows(a.role, act) {
                    return Err(HubError::BadRequest(format!(
                        "a {} may not {s}",
                        a.role.as_str()
                    )));
                }
                acts.push(act.scope().to_string());
            }
            if acts.is_empty() {
                return Err(HubError::BadRequest(
                    "a token needs at least one scope".into(),
                ));
            }
            let t = ApiToken {
                id: id.clone(),
                account_id: a.id.clone(),
                label: label.chars().take(64).collect(),
                scopes: acts,
                created_ms: now,
                expires_ms: now + days.clamp(1, 366) * 86_400_000,
                revoked: false,
            };
            tx.put_api_token(&t)?;
            tx.put_token(
                &sha256_hex(token.as_bytes()),
                &TokenOwner::Account(id.clone()),
                t.expires_ms,
            )?;
            self.audit(
                tx,
                actor,
                "token.create",
                &format!("token:{id}"),
                Value::Null,
                json!({"account": a.username, "scopes": t.scopes, "label": t.label}),
            )?;
            Ok(t)
        })?;
        Ok((token, t))
    }

    /// Revoke an API token at once.
    pub fn revoke_api_token(&self, who: &Principal, id: &str) -> HubResult<()> {
        // Without accounts.write, one's own tokens only: anything else is "forbidden",
        // whether it exists or not.
        let manager = who.may(Action::AccountsWrite);
        let refused = || {
            if manager {
                HubError::NotFound(format!("token {id:.40}"))
            } else {
                HubError::Forbidden("only one's own tokens".into())
            }
        };
        in_tx(self.store(), |tx| {
            let mut t = tx.api_token(id)?.ok_or_else(refused)?;
            let owner = tx.account(&t.account_id)?.ok_or_else(refused)?;
            if owner.id != who.actor.id {
                if !manager {
                    return Err(refused());
                }
                self.managed(tx, who, &owner.username)?;
            }
            t.revoked = true;
            tx.put_api_token(&t)?;
            self.audit(
                tx,
                &who.actor,
                "token.revoke",
                &format!("token:{id}"),
                Value::Null,
                Value::Null,
            )
        })
    }

    /// The principal of a bearer token of the centre: an account's API token, or the
    /// administrator's token. Device tokens are refused.
    pub fn centre_principal(&self, token: &str, address: &str) -> HubResult<Principal> {
        match self.authenticate(token)? {
            TokenOwner::Admin(label) => Ok(Principal::administrator(Actor {
                id: format!("admin-token:{label}"),
                name: label,
                role: "administrator".into(),
                node_id: String::new(),
                address: address.chars().take(64).collect(),
            })),
            TokenOwner::Account(id) => {
                let now = self.now_ms();
                let (t, a) = with_tx(self.store(), |tx| {
                    let Some(t) = tx.api_token(&id)? else {
                        return Ok(None);
                    };
                    Ok(tx.account(&t.account_id)?.map(|a| (t, a)))
                })?
                .ok_or_else(|| HubError::Unauthorized("unknown token".into()))?;
                if t.revoked || t.expires_ms < now || a.disabled {
                    return Err(HubError::Unauthorized(
                        "this token was revoked or has expired".into(),
                    ));
                }
                let scopes: HashSet<Action> = t
                    .scopes
                    .iter()
                    .filter_map(|s| Action::from_scope(s))
                    .collect();
                let tree = self.org()?;
                Ok(Principal::of_account(&a, &tree, address, Some(scopes)))
            }
            TokenOwner::Device(_) => Err(HubError::Forbidden(
                "an administrator's token is required".into(),
            )),
        }
    }
}
