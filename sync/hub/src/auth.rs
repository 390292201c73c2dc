//! Who is asking: enrollment with a one-time code, the device's signed challenge, and
//! bearer tokens that say which kind of principal they belong to. A device is never an
//! administrator: tokens carry their kind ([`TokenOwner`]), device ids are UUIDs the
//! device chose, and each kind has its own check ([`Hub::device_session`],
//! [`Hub::admin_session`]) that every route uses through `http::extract`.

use crate::hub::{sha256_hex, Hub, HubError, HubResult, MAX_DRIFT_MS};
use gridhub_store::*;
use gridpad_proto::wire::*;

pub const TOKEN_TTL_MS: u64 = 15 * 60 * 1000;
const NONCE_TTL_MS: u64 = 60 * 1000;
/// Longest enrollment code, label or app version the hub reads.
const MAX_TEXT: usize = 64;

pub(crate) fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A device id as the hub accepts it: a UUID in its canonical lower-case form.
pub fn valid_device_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

fn bounded(what: &str, s: &str) -> HubResult<()> {
    if s.chars().count() > MAX_TEXT || s.contains(char::is_control) {
        return Err(HubError::BadRequest(format!(
            "{what} must be at most {MAX_TEXT} characters of text"
        )));
    }
    Ok(())
}

impl Hub {
    pub fn enroll(&self, req: &EnrollRequest) -> HubResult<EnrollResponse> {
        if req.public_key.len() != 32 {
            return Err(HubError::BadRequest(
                "public key must be 32 bytes (Ed25519)".into(),
            ));
        }
        if !valid_device_id(&req.device_id) {
            return Err(HubError::BadRequest(
                "device id must be a UUID in lower case".into(),
            ));
        }
        bounded("the code", &req.code)?;
        bounded("the label", &req.label)?;
        bounded("the app version", &req.app_version)?;
        let now = self.now_ms();
        let hash = sha256_hex(normalise_code(&req.code).as_bytes());
        let answer = |d: &DeviceRecord| EnrollResponse {
            device_id: d.device_id.clone(),
            user: d.user.clone(),
            grids: d.grids.clone(),
            server_time_ms: now,
            max_drift_ms: MAX_DRIFT_MS,
        };
        let mut outcome: HubResult<EnrollResponse> =
            Err(HubError::Unauthorized("unknown enrollment code".into()));
        with_tx(self.store(), |tx| {
            let Some(mut code) = tx.code(&hash)? else {
                return Ok(());
            };
            if let Some(user) = &code.used_by {
                // The same device asking again (its answer was lost) gets the same answer.
                let same = tx.device(user)?.filter(|d| {
                    *user == req.device_id
                        && d.public_key == req.public_key
                        && d.status == DeviceStatus::Active
                });
                outcome = match same {
                    Some(d) => Ok(answer(&d)),
                    None => Err(HubError::Unauthorized(
                        "enrollment code already used".into(),
                    )),
                };
                return Ok(());
            }
            if code.expires_ms < now {
                outcome = Err(HubError::Unauthorized("enrollment code expired".into()));
                return Ok(());
            }
            // An id is used once, for good: a wiped device's id enrolled again would
            // inherit its reports and evidence. A wiped device makes a new id.
            if tx.device(&req.device_id)?.is_some() {
                outcome = Err(HubError::Forbidden(
                    "a device with this id was enrolled before; a new device id is needed".into(),
                ));
                return Ok(());
            }
            code.used_by = Some(req.device_id.clone());
            tx.put_code(&code)?;
            let d = DeviceRecord {
                device_id: req.device_id.clone(),
                public_key: req.public_key.clone(),
                user: code.user.clone(),
                label: if req.label.is_empty() {
                    code.label.clone()
                } else {
                    crate::exchange::printable(&req.label, 64)
                },
                grids: code.grids.clone(),
                enrolled_ms: now,
                last_seen_ms: now,
                app_version: crate::exchange::printable(&req.app_version, 64),
                last_seq: 0,
                health: Health::default(),
                status: DeviceStatus::Active,
                clock_offset_ms: 0,
                account_id: code.account_id.clone(),
                ahead: None,
                lost_seqs: vec![],
            };
            tx.put_device(&d)?;
            crate::crash::point("enroll.before_commit");
            outcome = Ok(answer(&d));
            Ok(())
        })?;
        if outcome.is_ok() {
            crate::crash::point("enroll.after_commit");
        }
        outcome
    }

    pub fn challenge(&self, req: &ChallengeRequest) -> HubResult<ChallengeResponse> {
        let now = self.now_ms();
        let nonce = self.random(32);
        let known = valid_device_id(&req.device_id)
            && with_tx(self.store(), |tx| {
                tx.purge_expired(now)?;
                if tx.device(&req.device_id)?.is_none() {
                    return Ok(false);
                }
                tx.put_nonce(&hex::encode(&nonce), &req.device_id, now + NONCE_TTL_MS)?;
                Ok(true)
            })?;
        if !known {
            return Err(HubError::Unauthorized("unknown device".into()));
        }
        Ok(ChallengeResponse {
            nonce,
            expires_ms: now + NONCE_TTL_MS,
        })
    }

    /// Exchange a signed challenge for a short-lived device token. A challenge works once.
    /// A locked or wiped device still gets one: its next exchange tells it to lock or
    /// wipe, and takes nothing from it.
    pub fn token(&self, req: &TokenRequest) -> HubResult<TokenResponse> {
        if req.nonce.len() != 32 || req.signature.len() != 64 {
            return Err(HubError::BadRequest(
                "a 32-byte challenge and a 64-byte signature".into(),
            ));
        }
        let now = self.now_ms();
        let token = hex::encode(self.random(32));
        let mut outcome = Err(HubError::Unauthorized("unknown or used challenge".into()));
        with_tx(self.store(), |tx| {
            let Some((device_id, expires)) = tx.take_nonce(&hex::encode(&req.nonce))? else {
                return Ok(());
            };
            if device_id != req.device_id || expires < now {
                outcome = Err(HubError::Unauthorized(
                    "challenge expired or for another device".into(),
                ));
                return Ok(());
            }
            let Some(dev) = tx.device(&device_id)? else {
                return Ok(());
            };
            let key =
                ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &dev.public_key);
            if key
                .verify(&auth_message(&device_id, &req.nonce), &req.signature)
                .is_err()
            {
                outcome = Err(HubError::Unauthorized("bad signature".into()));
                return Ok(());
            }
            tx.put_token(
                &sha256_hex(token.as_bytes()),
                &TokenOwner::Device(device_id),
                now + TOKEN_TTL_MS,
            )?;
            outcome = Ok(TokenResponse {
                token: token.clone(),
                expires_ms: now + TOKEN_TTL_MS,
            });
            Ok(())
        })?;
        outcome
    }

    /// Create an administrator's API token (printed once; stored as a hash).
    pub fn issue_admin_token(&self, ttl_days: u64) -> HubResult<String> {
        let token = hex::encode(self.random(32));
        let exp = self.now_ms() + ttl_days.min(3_650) * 86_400_000;
        with_tx(self.store(), |tx| {
            tx.put_token(
                &sha256_hex(token.as_bytes()),
                &TokenOwner::Admin("admin".into()),
                exp,
            )
        })?;
        Ok(token)
    }

    /// The owner of a bearer token.
    pub fn authenticate(&self, token: &str) -> HubResult<TokenOwner> {
        if token.is_empty() || token.len() > 128 {
            return Err(HubError::Unauthorized("unknown token".into()));
        }
        let now = self.now_ms();
        match with_tx(self.store(), |tx| tx.token(&sha256_hex(token.as_bytes())))? {
            Some((owner, exp)) if exp >= now => Ok(owner),
            Some(_) => Err(HubError::Unauthorized("token expired".into())),
            None => Err(HubError::Unauthorized("unknown token".into())),
        }
    }

    /// The device a device token belongs to, whatever its status (routes decide what a
    /// locked or wiped device may still do). Any other token is refused.
    pub fn device_session(&self, token: &str) -> HubResult<DeviceRecord> {
        match self.authenticate(token)? {
            TokenOwner::Device(id) => with_tx(self.store(), |tx| tx.device(&id))?
                .ok_or_else(|| HubError::Unauthorized("unknown device".into())),
            TokenOwner::Admin(_) | TokenOwner::Account(_) => Err(HubError::Forbidden(
                "a centre token cannot act as a device".into(),
            )),
        }
    }

    /// The administrator an administrator's token belongs to. A device token is refused.
    pub fn admin_session(&self, token: &str) -> HubResult<String> {
        match self.authenticate(token)? {
            TokenOwner::Admin(label) => Ok(label),
            TokenOwner::Device(_) | TokenOwner::Account(_) => Err(HubError::Forbidden(
                "an administrator's token is required".into(),
            )),
        }
    }
}
