//! The hub's logic: enrollment and authentication, the sync exchange (push verdicts and
//! pulled pages), and the command centre's actions. Storage is behind [`HubStore`]; time
//! is injected, so a simulation can run the hub deterministically in-process.

use crate::store::*;
use gridpad_demo::{self as demo, DemoSpec, DemoSummary};
use gridpad_domain::checks::id_number;
use gridpad_domain::codes::{EventStatus, TaskCommand, TaskStatus};
use gridpad_proto::wire::*;
use gridpad_proto::{Entity, Fields, Hlc, HlcClock, Mutation, Op as MutOp};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Device clocks may run ahead of the hub's by at most this much (5 minutes).
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;
pub const TOKEN_TTL_MS: u64 = 15 * 60 * 1000;
const NONCE_TTL_MS: u64 = 60 * 1000;
/// Suggested delay between periodic exchanges.
pub const SYNC_INTERVAL_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("sequence gap: expected {expected}")]
    SeqGap { expected: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type HubResult<T> = Result<T, HubError>;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct Hub {
    store: Arc<dyn HubStore>,
    now: Clock,
    hlc: Mutex<HlcClock>,
    rng: SystemRandom,
    /// Where photos are kept (see `evidence.rs`); set by `gridhub` at start.
    pub(crate) blobs: std::sync::OnceLock<Arc<gridpad_evidence::fs_store::FsBlobStore>>,
}

/// A device's row in the health list.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceHealth {
    pub device_id: String,
    pub label: String,
    pub user: String,
    pub grids: Vec<String>,
    pub status: String,
    pub last_seen_ms: u64,
    pub app_version: String,
    pub queue_len: u64,
    pub oldest_pending_s: u64,
    pub dead_letters: u64,
    pub clock_offset_ms: i64,
    pub last_seq: u64,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
}

fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn rfc3339_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn fields_of(v: Value) -> Fields {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Which scope a record belongs to: the devices that may read it.
fn scope_for(
    entity: Entity,
    row_id: &str,
    fields: &Fields,
    origin_device: Option<&str>,
) -> Option<String> {
    let grid = || {
        fields
            .get("grid_id")
            .and_then(Value::as_str)
            .map(|g| format!("grid:{g}"))
    };
    match entity {
        Entity::CatalogCategory => Some("catalog".into()),
        Entity::Notice => Some("notices".into()),
        Entity::Grid => {
            if fields.get("level").and_then(Value::as_str) == Some("grid") {
                Some(format!("grid:{row_id}"))
            } else {
                Some("catalog".into())
            }
        }
        e if e.is_base_data() => grid(),
        Entity::Task => grid(),
        Entity::Event => origin_device.map(|d| format!("device:{d}")).or_else(grid),
        // Records that only travel up: kept for the centre, never sent back down.
        _ => origin_device.map(|d| format!("up:{d}")),
    }
}

/// Whether a scope's changes are sent to devices.
fn scope_is_pulled(scope: &str) -> bool {
    !scope.starts_with("up:")
}

impl Hub {
    pub fn new(store: Arc<dyn HubStore>, now: Clock) -> Hub {
        Hub {
            store,
            now,
            hlc: Mutex::new(HlcClock::new("hub", None)),
            rng: SystemRandom::new(),
            blobs: std::sync::OnceLock::new(),
        }
    }

    /// A hub on the system clock.
    pub fn with_system_clock(store: Arc<dyn HubStore>) -> Hub {
        Hub::new(
            store,
            Arc::new(|| chrono::Utc::now().timestamp_millis().max(0) as u64),
        )
    }

    pub fn now_ms(&self) -> u64 {
        (self.now)()
    }

    pub fn store(&self) -> &dyn HubStore {
        &*self.store
    }

    fn tick(&self) -> Hlc {
        let now = self.now_ms();
        self.hlc.lock().unwrap_or_else(|p| p.into_inner()).tick(now)
    }

    fn random(&self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.rng.fill(&mut b).expect("system randomness");
        b
    }

    // ---- the command centre ----------------------------------------------------------

    /// Import base data (the demo generator's output, or a city's export) as central
    /// records: each becomes a row and a `Put` op in its scope.
    pub fn import(&self, changes: &[gridpad_proto::RemoteChange]) -> HubResult<()> {
        with_tx(&*self.store, |tx| {
            for c in changes {
                self.central_write(tx, c.entity, &c.row_id, c.fields.clone(), &c.hlc, None)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Generate and import a demo town; returns what was generated.
    pub fn seed_demo(&self, spec: DemoSpec) -> HubResult<DemoSummary> {
        demo::generate(spec, 5_000, |batch| self.import(&batch))
    }

    /// A central edit or creation of a record (last writer wins by HLC per field).
    fn central_write(
        &self,
        tx: &mut dyn HubTx,
        entity: Entity,
        row_id: &str,
        fields: Fields,
        hlc: &Hlc,
        origin_device: Option<&str>,
    ) -> StoreResult<()> {
        let mut row = tx
            .row(entity, row_id)?
            .unwrap_or_else(|| Row::new(entity, row_id, ""));
        let mut won = Fields::new();
        for (k, v) in fields {
            if row.field_hlc.get(&k).is_none_or(|h| hlc > h) {
                row.field_hlc.insert(k.clone(), hlc.clone());
                row.fields.insert(k.clone(), v.clone());
                won.insert(k, v);
            }
        }
        let old_scope = row.scope.clone();
        if let Some(s) = scope_for(entity, row_id, &row.fields, origin_device) {
            row.scope = s;
        }
        tx.put_row(&row)?;
        if let Some(photos) = won.get("photos") {
            tx.set_photo_refs(entity, row_id, &crate::evidence::photo_list(photos))?;
        }
        if !old_scope.is_empty() && old_scope != row.scope && scope_is_pulled(&old_scope) {
            tx.append_op(
                &old_scope,
                entity,
                row_id,
                &OpKind::Remove,
                &Fields::new(),
                hlc,
            )?;
            tx.append_op(&row.scope, entity, row_id, &OpKind::Put, &row.fields, hlc)?;
        } else if !won.is_empty() && scope_is_pulled(&row.scope) {
            tx.append_op(&row.scope, entity, row_id, &OpKind::Put, &won, hlc)?;
        }
        Ok(())
    }

    /// Edit a record centrally (the centre corrects base data).
    pub fn central_edit(&self, entity: Entity, row_id: &str, fields: Fields) -> HubResult<()> {
        let hlc = self.tick();
        with_tx(&*self.store, |tx| {
            if tx.row(entity, row_id)?.is_none() {
                return Ok(false);
            }
            self.central_write(tx, entity, row_id, fields.clone(), &hlc, None)?;
            Ok(true)
        })?
        .then_some(())
        .ok_or_else(|| HubError::NotFound(format!("{entity} {row_id}")))
    }

    /// Resolve a grid given by id or code.
    pub fn grid_id(&self, grid: &str) -> HubResult<String> {
        let rows = with_tx(&*self.store, |tx| tx.rows(Entity::Grid, 100_000))?;
        rows.into_iter()
            .find(|r| {
                r.row_id == grid || r.fields.get("code").and_then(Value::as_str) == Some(grid)
            })
            .map(|r| r.row_id)
            .ok_or_else(|| HubError::NotFound(format!("grid {grid}")))
    }

    /// Issue a one-time enrollment code for a device of `user` working `grids`.
    pub fn issue_code(
        &self,
        user: &str,
        label: &str,
        grids: &[String],
        ttl_days: u64,
    ) -> HubResult<String> {
        let grids = grids
            .iter()
            .map(|g| self.grid_id(g))
            .collect::<HubResult<Vec<_>>>()?;
        if grids.is_empty() {
            return Err(HubError::BadRequest(
                "an enrollment code needs at least one grid".into(),
            ));
        }
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let raw: String = self
            .random(12)
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let code = format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]);
        let rec = EnrollmentCode {
            code_hash: sha256_hex(normalise_code(&code).as_bytes()),
            user: user.to_string(),
            label: label.to_string(),
            grids,
            expires_ms: self.now_ms() + ttl_days * 86_400_000,
            used_by: None,
        };
        with_tx(&*self.store, |tx| tx.put_code(&rec))?;
        Ok(code)
    }

    /// Create an admin API token (printed once; stored as a hash).
    pub fn issue_admin_token(&self, ttl_days: u64) -> HubResult<String> {
        let token = hex::encode(self.random(32));
        let exp = self.now_ms() + ttl_days * 86_400_000;
        with_tx(&*self.store, |tx| {
            tx.put_token(&sha256_hex(token.as_bytes()), "admin", exp)
        })?;
        Ok(token)
    }

    pub fn events(&self, limit: usize) -> HubResult<Vec<Row>> {
        Ok(with_tx(&*self.store, |tx| tx.rows(Entity::Event, limit))?)
    }

    pub fn tasks(&self, limit: usize) -> HubResult<Vec<Row>> {
        Ok(with_tx(&*self.store, |tx| tx.rows(Entity::Task, limit))?)
    }

    pub fn row(&self, entity: Entity, id: &str) -> HubResult<Option<Row>> {
        Ok(with_tx(&*self.store, |tx| tx.row(entity, id))?)
    }

    /// Move an event along its lifecycle (受理, 派遣, 核查, 结案 …); the reporting device
    /// receives the step through its device scope.
    pub fn transition_event(
        &self,
        id: &str,
        next: EventStatus,
        actor: &str,
        note: &str,
    ) -> HubResult<()> {
        let hlc = self.tick();
        let now = self.now_ms();
        let mut outcome = Ok(());
        with_tx(&*self.store, |tx| {
            outcome = self.transition_in(tx, id, next, actor, note, &hlc, now);
            Ok(())
        })?;
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    fn transition_in(
        &self,
        tx: &mut dyn HubTx,
        id: &str,
        next: EventStatus,
        actor: &str,
        note: &str,
        hlc: &Hlc,
        now: u64,
    ) -> HubResult<()> {
        let mut row = tx
            .row(Entity::Event, id)?
            .ok_or_else(|| HubError::NotFound(format!("event {id}")))?;
        let current = row
            .fields
            .get("status")
            .and_then(Value::as_str)
            .and_then(EventStatus::parse)
            .unwrap_or(EventStatus::Reported);
        if !current.can_become(next) {
            return Err(HubError::BadRequest(format!(
                "an event that is {current} cannot become {next}"
            )));
        }
        row.fields.insert("status".into(), json!(next.as_str()));
        row.field_hlc.insert("status".into(), hlc.clone());
        tx.put_row(&row)?;
        let args = fields_of(
            json!({"status": next.as_str(), "actor": actor, "note": note, "at": rfc3339_ms(now)}),
        );
        tx.append_op(
            &row.scope,
            Entity::Event,
            id,
            &OpKind::Command("transition".into()),
            &args,
            hlc,
        )?;
        Ok(())
    }

    /// Create a task for a grid (or a person in it), optionally from an event.
    pub fn create_task(
        &self,
        grid: &str,
        title: &str,
        body: &str,
        deadline_hours: u64,
        source_event: Option<&str>,
        assignee: Option<&str>,
    ) -> HubResult<String> {
        let grid_id = self.grid_id(grid)?;
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.tick();
        let now = self.now_ms();
        let source = match source_event {
            Some(e) => self.row(Entity::Event, e)?,
            None => None,
        };
        let category = source
            .as_ref()
            .and_then(|r| r.fields.get("category_code").cloned());
        let fields = fields_of(json!({
            "grid_id": grid_id, "assignee": assignee, "title": title, "body": body,
            "source_event_id": source_event, "category_code": category, "status": "assigned", "priority": 0,
            "created_at": rfc3339_ms(now), "deadline_at": rfc3339_ms(now + deadline_hours * 3_600_000),
        }));

        // The report's photos are the task's reference photos: the grid's devices may fetch
        // them (the index only; devices of this protocol take no `photos` on a task).
        let photos = source
            .as_ref()
            .and_then(|r| r.fields.get("photos"))
            .map(crate::evidence::photo_list)
            .unwrap_or_default();
        with_tx(&*self.store, |tx| {
            self.central_write(tx, Entity::Task, &id, fields.clone(), &hlc, None)?;
            if !photos.is_empty() {
                tx.set_photo_refs(Entity::Task, &id, &photos)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// 派遣: dispatch an accepted event back to its grid as a task.
    pub fn dispatch_event(
        &self,
        event_id: &str,
        actor: &str,
        deadline_hours: u64,
    ) -> HubResult<String> {
        let ev = self
            .row(Entity::Event, event_id)?
            .ok_or_else(|| HubError::NotFound(format!("event {event_id}")))?;
        let grid = ev
            .fields
            .get("grid_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let desc = ev
            .fields
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.transition_event(event_id, EventStatus::Dispatched, actor, "派遣至网格处置")?;
        self.create_task(
            &grid,
            &format!("处置: {desc}"),
            &desc,
            deadline_hours,
            Some(event_id),
            None,
        )
    }

    pub fn create_notice(&self, title: &str, body: &str) -> HubResult<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.tick();
        let fields = fields_of(
            json!({"title": title, "body": body, "published_at": rfc3339_ms(self.now_ms()), "area": ""}),
        );
        with_tx(&*self.store, |tx| {
            self.central_write(tx, Entity::Notice, &id, fields.clone(), &hlc, None)
        })?;
        Ok(id)
    }

    pub fn device_health(&self) -> HubResult<Vec<DeviceHealth>> {
        let devices = with_tx(&*self.store, |tx| tx.devices())?;
        Ok(devices
            .into_iter()
            .map(|d| DeviceHealth {
                device_id: d.device_id,
                label: d.label,
                user: d.user,
                grids: d.grids,
                status: d.status,
                last_seen_ms: d.last_seen_ms,
                app_version: d.app_version,
                queue_len: d.health.queue_len,
                oldest_pending_s: d.health.oldest_pending_s,
                dead_letters: d.health.dead_letters,
                clock_offset_ms: d.clock_offset_ms,
                last_seq: d.last_seq,
            })
            .collect())
    }

    /// Lock or wipe a lost device: it obeys on its next contact.
    pub fn set_device_status(&self, device_id: &str, status: &str) -> HubResult<()> {
        if !["active", "locked", "wiped"].contains(&status) {
            return Err(HubError::BadRequest(format!(
                "unknown device status {status}"
            )));
        }
        let found = with_tx(&*self.store, |tx| match tx.device(device_id)? {
            Some(mut d) => {
                d.status = status.to_string();
                tx.put_device(&d)?;
                Ok(true)
            }
            None => Ok(false),
        })?;
        found
            .then_some(())
            .ok_or_else(|| HubError::NotFound(format!("device {device_id}")))
    }

    // ---- devices: enrollment and authentication ------------------------------------

    pub fn enroll(&self, req: &EnrollRequest) -> HubResult<EnrollResponse> {
        if req.public_key.len() != 32 {
            return Err(HubError::BadRequest(
                "public key must be 32 bytes (Ed25519)".into(),
            ));
        }
        if req.device_id.is_empty() || req.device_id.len() > 64 {
            return Err(HubError::BadRequest(
                "device id must be 1–64 characters".into(),
            ));
        }
        let now = self.now_ms();
        let hash = sha256_hex(normalise_code(&req.code).as_bytes());
        let mut outcome: HubResult<EnrollResponse> =
            Err(HubError::Unauthorized("unknown enrollment code".into()));
        with_tx(&*self.store, |tx| {
            let Some(mut code) = tx.code(&hash)? else {
                return Ok(());
            };
            if let Some(user) = &code.used_by {
                // The same device asking again (its answer was lost) gets the same answer.
                let same = tx.device(user)?.filter(|d| {
                    *user == req.device_id && d.public_key == req.public_key && d.status != "wiped"
                });
                outcome = match same {
                    Some(d) => Ok(EnrollResponse {
                        device_id: d.device_id,
                        user: d.user,
                        grids: d.grids,
                        server_time_ms: now,
                        max_drift_ms: MAX_DRIFT_MS,
                    }),
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
            if tx
                .device(&req.device_id)?
                .is_some_and(|d| d.status != "wiped")
            {
                outcome = Err(HubError::Forbidden(
                    "a device with this id is already enrolled".into(),
                ));
                return Ok(());
            }
            code.used_by = Some(req.device_id.clone());
            tx.put_code(&code)?;
            tx.put_device(&DeviceRecord {
                device_id: req.device_id.clone(),
                public_key: req.public_key.clone(),
                user: code.user.clone(),
                label: if req.label.is_empty() {
                    code.label.clone()
                } else {
                    req.label.clone()
                },
                grids: code.grids.clone(),
                enrolled_ms: now,
                last_seen_ms: now,
                app_version: req.app_version.clone(),
                last_seq: 0,
                health: Health::default(),
                status: "active".into(),
                clock_offset_ms: 0,
            })?;
            outcome = Ok(EnrollResponse {
                device_id: req.device_id.clone(),
                user: code.user.clone(),
                grids: code.grids.clone(),
                server_time_ms: now,
                max_drift_ms: MAX_DRIFT_MS,
            });
            Ok(())
        })?;
        outcome
    }

    pub fn challenge(&self, req: &ChallengeRequest) -> HubResult<ChallengeResponse> {
        let now = self.now_ms();
        let nonce = self.random(32);
        let ok = with_tx(&*self.store, |tx| {
            tx.purge_expired(now)?;
            if tx.device(&req.device_id)?.is_none() {
                return Ok(false);
            }
            tx.put_nonce(&hex::encode(&nonce), &req.device_id, now + NONCE_TTL_MS)?;
            Ok(true)
        })?;
        if !ok {
            return Err(HubError::Unauthorized("unknown device".into()));
        }
        Ok(ChallengeResponse {
            nonce,
            expires_ms: now + NONCE_TTL_MS,
        })
    }

    /// Exchange a signed challenge for a short-lived token. A challenge works once.
    pub fn token(&self, req: &TokenRequest) -> HubResult<TokenResponse> {
        let now = self.now_ms();
        let token = hex::encode(self.random(32));
        let mut outcome = Err(HubError::Unauthorized("unknown or used challenge".into()));
        with_tx(&*self.store, |tx| {
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
                &device_id,
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

    /// The subject (device id, or `admin`) of a bearer token.
    pub fn authenticate(&self, token: &str) -> HubResult<String> {
        let now = self.now_ms();
        match with_tx(&*self.store, |tx| tx.token(&sha256_hex(token.as_bytes())))? {
            Some((subject, exp)) if exp >= now => Ok(subject),
            Some(_) => Err(HubError::Unauthorized("token expired".into())),
            None => Err(HubError::Unauthorized("unknown token".into())),
        }
    }

    pub(crate) fn scopes_of(d: &DeviceRecord) -> Vec<String> {
        let mut s = vec![
            format!("device:{}", d.device_id),
            "catalog".to_string(),
            "notices".to_string(),
        ];
        s.extend(d.grids.iter().map(|g| format!("grid:{g}")));
        s
    }

    // ---- the exchange ---------------------------------------------------------------

    /// One sync exchange: apply the pushed mutations (each with its verdict) in one
    /// transaction, then read pages of every scope the device may read.
    pub fn sync(&self, device_id: &str, req: &SyncRequest) -> HubResult<SyncResponse> {
        if req.protocol != PROTOCOL && req.protocol + 1 != PROTOCOL {
            return Err(HubError::BadRequest(format!(
                "protocol {} not served",
                req.protocol
            )));
        }
        let now = self.now_ms();
        let mut verdicts = vec![];
        let mut gap = None;
        let device = with_tx(&*self.store, |tx| {
            verdicts.clear();
            gap = None;
            let mut dev = tx
                .device(device_id)?
                .ok_or_else(|| StoreError::Backend("device vanished".into()))?;
            for m in &req.push {
                if m.seq <= dev.last_seq {
                    // Re-sent (the answer was lost): the same verdict again, with today's values.
                    let mut v = match tx.stored_verdict(device_id, m.seq)? {
                        Some(json) => serde_json::from_str(&json)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        None => Self::verdict(m.seq, Status::Duplicate, None),
                    };
                    v.canonical = Self::canonical(tx, &dev, m)?;
                    verdicts.push(v);
                    continue;
                }
                if m.seq != dev.last_seq + 1 {
                    gap = Some(dev.last_seq + 1);
                    break;
                }
                let v = if tx.mutation_seen(&m.mutation_id)? {
                    let mut v = Self::verdict(m.seq, Status::Duplicate, None);
                    v.canonical = Self::canonical(tx, &dev, m)?;
                    v
                } else {
                    let mut v = self.apply_mutation(tx, &dev, m, now)?;
                    let json = serde_json::to_string(&v).expect("verdict serialises");
                    tx.record_mutation(&m.mutation_id, device_id, m.seq, &json)?;
                    v.canonical = Self::canonical(tx, &dev, m)?;
                    v
                };
                dev.last_seq = m.seq;
                verdicts.push(v);
            }
            dev.last_seen_ms = now;
            dev.app_version = req.app_version.clone();
            dev.health = req.health.clone();
            dev.clock_offset_ms = req.device_time_ms as i64 - now as i64;
            tx.put_device(&dev)?;
            Ok(dev)
        })?;
        if let Some(expected) = gap {
            if verdicts.is_empty() {
                return Err(HubError::SeqGap { expected });
            }
        }
        let command = match device.status.as_str() {
            "locked" => Some(DeviceCommand::Lock),
            "wiped" => Some(DeviceCommand::Wipe),
            _ => None,
        };
        let scopes = Self::scopes_of(&device);
        let mut pages = vec![];
        let mut budget = req.max_bytes.clamp(4_096, 4 << 20) as usize;
        let mut more = false;
        if command != Some(DeviceCommand::Wipe) {
            with_tx(&*self.store, |tx| {
                pages.clear();
                more = false;
                for c in req.cursors.iter().filter(|c| scopes.contains(&c.scope)) {
                    let last = tx.last_op(&c.scope)?;
                    let ops = if budget > 0 && c.after_op < last {
                        tx.ops_after(&c.scope, c.after_op, budget)?
                    } else {
                        vec![]
                    };
                    let used: usize = ops
                        .iter()
                        .map(|o| {
                            serde_json::to_string(&o.fields)
                                .map(|s| s.len())
                                .unwrap_or(0)
                                + 64
                        })
                        .sum();
                    budget = budget.saturating_sub(used);
                    let next = ops
                        .last()
                        .map(|o| o.op_id)
                        .unwrap_or(c.after_op.min(last))
                        .max(c.after_op);
                    let (checksum, count) = tx.scope_summary(&c.scope, next)?;
                    let complete = next >= last;
                    more |= !complete;
                    // Only a scope still downloading pays for counting what is left.
                    let remaining = if complete {
                        0
                    } else {
                        tx.ops_after_count(&c.scope, next)?
                    };
                    pages.push(Page {
                        scope: c.scope.clone(),
                        ops,
                        next_after_op: next,
                        checksum,
                        count,
                        complete,
                        remaining,
                    });
                }
                Ok(())
            })?;
        }
        Ok(SyncResponse {
            protocol: PROTOCOL,
            acked_through: device.last_seq,
            verdicts,
            pages,
            scopes,
            more,
            server_time_ms: now,
            next_sync_in_ms: SYNC_INTERVAL_MS,
            command,
        })
    }

    fn verdict(seq: u64, status: Status, hlc: Option<Hlc>) -> Verdict {
        Verdict {
            seq,
            status,
            reason: None,
            hlc,
            conflicts: vec![],
            canonical: Fields::new(),
        }
    }

    /// The hub's current values of the base-data fields `m` touched, if the device may
    /// read the record.
    fn canonical(tx: &mut dyn HubTx, dev: &DeviceRecord, m: &Mutation) -> StoreResult<Fields> {
        if !m.entity.is_base_data() {
            return Ok(Fields::new());
        }
        let Some(row) = tx.row(m.entity, &m.row_id)? else {
            return Ok(Fields::new());
        };
        let grid = row.fields.get("grid_id").and_then(Value::as_str);
        if row.deleted || !grid.is_some_and(|g| dev.grids.iter().any(|x| x == g)) {
            return Ok(Fields::new());
        }
        Ok(m.fields
            .keys()
            .filter_map(|k| row.fields.get(k).map(|v| (k.clone(), v.clone())))
            .collect())
    }

    fn reject(seq: u64, reason: impl Into<String>) -> Verdict {
        Verdict {
            seq,
            status: Status::Rejected,
            reason: Some(reason.into()),
            hlc: None,
            conflicts: vec![],
            canonical: Fields::new(),
        }
    }

    fn apply_mutation(
        &self,
        tx: &mut dyn HubTx,
        dev: &DeviceRecord,
        m: &Mutation,
        now: u64,
    ) -> StoreResult<Verdict> {
        let hlc = m.hlc.clamped(now, MAX_DRIFT_MS);
        let in_scope = |g: Option<&str>| g.is_some_and(|g| dev.grids.iter().any(|x| x == g));
        let spec = gridpad_domain::spec(m.entity);
        if let Some(bad) = m.fields.keys().find(|k| {
            spec.field(k).is_none() && *k != "photos" && !matches!(m.op, MutOp::Command(_))
        }) {
            return Ok(Self::reject(
                m.seq,
                format!("{} has no field {bad}", m.entity),
            ));
        }
        let existing = tx.row(m.entity, &m.row_id)?;
        let grid_of = |f: &Fields| f.get("grid_id").and_then(Value::as_str).map(str::to_string);
        match (m.entity, &m.op) {
            (Entity::Grid | Entity::CatalogCategory, _) => Ok(Self::reject(
                m.seq,
                "grids and the catalog are managed by the centre",
            )),
            (e, MutOp::Insert | MutOp::Update) if e.is_base_data() => {
                let old_grid = existing.as_ref().and_then(|r| grid_of(&r.fields));
                let new_grid = grid_of(&m.fields).or(old_grid.clone());
                if m.op == MutOp::Update && existing.as_ref().is_none_or(|r| r.deleted) {
                    return Ok(Self::reject(
                        m.seq,
                        format!("{} {} does not exist at the centre", m.entity, m.row_id),
                    ));
                }
                if !in_scope(new_grid.as_deref())
                    || (old_grid.is_some() && !in_scope(old_grid.as_deref()))
                {
                    return Ok(Self::reject(m.seq, "outside this device's grids"));
                }
                if let Some(Value::String(idn)) = m.fields.get("id_number") {
                    if !id_number::is_valid(idn) {
                        return Ok(Self::reject(m.seq, "ID number is not valid"));
                    }
                }
                let mut row = existing.unwrap_or_else(|| Row::new(m.entity, &m.row_id, ""));
                let mut won = Fields::new();
                let mut conflicts = vec![];
                for (k, v) in &m.fields {
                    match row.field_hlc.get(k) {
                        Some(h) if *h >= hlc => conflicts.push(Conflict {
                            field: k.clone(),
                            device_lost: true,
                            other_value: row.fields.get(k).cloned().unwrap_or(Value::Null),
                            other_hlc: h.clone(),
                            other_by: h.node.clone(),
                        }),
                        _ => {
                            row.fields.insert(k.clone(), v.clone());
                            row.field_hlc.insert(k.clone(), hlc.clone());
                            won.insert(k.clone(), v.clone());
                        }
                    }
                }
                let old_scope = row.scope.clone();
                row.scope = format!("grid:{}", new_grid.unwrap_or_default());
                row.deleted = false;
                tx.put_row(&row)?;
                if !old_scope.is_empty() && old_scope != row.scope {
                    tx.append_op(
                        &old_scope,
                        m.entity,
                        &m.row_id,
                        &OpKind::Remove,
                        &Fields::new(),
                        &hlc,
                    )?;
                    tx.append_op(
                        &row.scope,
                        m.entity,
                        &m.row_id,
                        &OpKind::Put,
                        &row.fields,
                        &hlc,
                    )?;
                } else if !won.is_empty() {
                    tx.append_op(&row.scope, m.entity, &m.row_id, &OpKind::Put, &won, &hlc)?;
                }
                Ok(Verdict {
                    seq: m.seq,
                    status: if conflicts.is_empty() {
                        Status::Applied
                    } else {
                        Status::Merged
                    },
                    reason: None,
                    hlc: Some(hlc),
                    conflicts,
                    canonical: Fields::new(),
                })
            }
            (e, MutOp::Delete) if e.is_base_data() => {
                let Some(mut row) = existing else {
                    return Ok(Self::reject(m.seq, "no such record"));
                };
                if !in_scope(grid_of(&row.fields).as_deref()) {
                    return Ok(Self::reject(m.seq, "outside this device's grids"));
                }
                row.deleted = true;
                tx.put_row(&row)?;
                tx.append_op(
                    &row.scope,
                    m.entity,
                    &m.row_id,
                    &OpKind::Remove,
                    &Fields::new(),
                    &hlc,
                )?;
                Ok(Self::verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (Entity::Event, MutOp::Insert) => {
                if existing.is_some() {
                    return Ok(Self::verdict(m.seq, Status::Duplicate, None));
                }
                if !in_scope(grid_of(&m.fields).as_deref()) {
                    return Ok(Self::reject(m.seq, "outside this device's grids"));
                }
                let cat = m
                    .fields
                    .get("category_code")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if tx.row(Entity::CatalogCategory, cat)?.is_none() {
                    return Ok(Self::reject(
                        m.seq,
                        format!("unknown catalog category {cat}"),
                    ));
                }
                let status = m
                    .fields
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !matches!(status, "reported" | "handled_on_spot") {
                    return Ok(Self::reject(
                        m.seq,
                        format!("a new report cannot be {status}"),
                    ));
                }
                let fields = m.fields.clone();
                let photos = match fields.get("photos") {
                    None => vec![],
                    Some(p) => match crate::evidence::checked_photo_list(p) {
                        Some(list) => list,
                        None => {
                            return Ok(Self::reject(
                                m.seq,
                                "photos must be a list of SHA-256 hashes",
                            ))
                        }
                    },
                };
                tx.set_photo_refs(Entity::Event, &m.row_id, &photos)?;
                let row = Row {
                    entity: Entity::Event,
                    row_id: m.row_id.clone(),
                    scope: format!("device:{}", dev.device_id),
                    field_hlc: fields.keys().map(|k| (k.clone(), hlc.clone())).collect(),
                    fields,
                    deleted: false,
                };
                tx.put_row(&row)?;
                Ok(Self::verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (Entity::Task, MutOp::Command(name)) => {
                let Some(cmd) = TaskCommand::parse(name) else {
                    return Ok(Self::reject(m.seq, format!("unknown task command {name}")));
                };
                let Some(mut row) = existing else {
                    return Ok(Self::reject(m.seq, "no such task"));
                };
                if !in_scope(grid_of(&row.fields).as_deref()) {
                    return Ok(Self::reject(m.seq, "task of another grid"));
                }
                let current = row
                    .fields
                    .get("status")
                    .and_then(Value::as_str)
                    .and_then(TaskStatus::parse)
                    .unwrap_or(TaskStatus::Assigned);
                let Some(next) = current.after(cmd) else {
                    return Ok(Self::reject(
                        m.seq,
                        format!("cannot {cmd} a task that is {current}"),
                    ));
                };
                let mut changed = fields_of(
                    json!({"status": next.as_str(), "updated_at": m.fields.get("at").cloned().unwrap_or(Value::Null)}),
                );
                if let Some(f) = m.fields.get("feedback") {
                    changed.insert("feedback".into(), f.clone());
                }
                if let Some(r) = m.fields.get("reason") {
                    changed.insert("reject_reason".into(), r.clone());
                }
                if let Some(p) = m.fields.get("position") {
                    changed.insert("position".into(), Value::String(p.to_string()));
                }
                for (k, v) in &changed {
                    row.fields.insert(k.clone(), v.clone());
                    row.field_hlc.insert(k.clone(), hlc.clone());
                }
                tx.put_row(&row)?;
                tx.append_op(
                    &row.scope,
                    Entity::Task,
                    &m.row_id,
                    &OpKind::Put,
                    &changed,
                    &hlc,
                )?;
                // A completed task handles the event it came from (处置 → awaiting 核查).
                if next == TaskStatus::Completed {
                    if let Some(ev) = row.fields.get("source_event_id").and_then(Value::as_str) {
                        let note = m
                            .fields
                            .get("feedback")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let _ = self.transition_in(
                            tx,
                            ev,
                            EventStatus::Handled,
                            &dev.user,
                            note,
                            &hlc,
                            now,
                        );
                    }
                }
                Ok(Self::verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (
                Entity::Visit
                | Entity::Diary
                | Entity::Patrol
                | Entity::Checkin
                | Entity::TrackSegment
                | Entity::Photo
                | Entity::Notice,
                MutOp::Insert | MutOp::Update,
            ) => {
                if m.entity == Entity::Notice {
                    if m.fields.keys().any(|k| k != "read_at") {
                        return Ok(Self::reject(m.seq, "notices are published by the centre"));
                    }
                } else if let Some(g) = grid_of(&m.fields) {
                    if !in_scope(Some(&g)) {
                        return Ok(Self::reject(m.seq, "outside this device's grids"));
                    }
                }
                let up = format!("up:{}", dev.device_id);
                let mut row = existing.unwrap_or_else(|| Row::new(m.entity, &m.row_id, up.clone()));
                if m.entity == Entity::Notice {
                    // A read receipt: kept per device, not applied to the notice itself.
                    row = Row {
                        entity: Entity::Notice,
                        row_id: format!("{}#read#{}", m.row_id, dev.device_id),
                        scope: format!("up:{}", dev.device_id),
                        fields: Fields::new(),
                        field_hlc: Default::default(),
                        deleted: false,
                    };
                }
                for (k, v) in &m.fields {
                    if k != "photos" {
                        row.fields.insert(k.clone(), v.clone());
                        row.field_hlc.insert(k.clone(), hlc.clone());
                    }
                }
                tx.put_row(&row)?;
                Ok(Self::verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (e, op) => Ok(Self::reject(
                m.seq,
                format!("a device may not {} a {e}", op.to_text()),
            )),
        }
    }
}
