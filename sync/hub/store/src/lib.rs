//! gridhub's storage contract. The hub's logic speaks only this trait, in plain domain
//! terms — no SQL. Each backend is a crate of its own with its own migrations
//! (`gridhub-sqlite`; a PostgreSQL one for cities), and every backend runs the same
//! [`conformance`] suite in its tests.

#[cfg(feature = "conformance")]
pub mod conformance;
mod deadlines;
mod handling;
mod service;

pub use deadlines::{CalendarYear, DeadlineTx, Reminder};
pub use handling::{HandlingTx, Hop};
pub use service::{PoolStats, ServiceTx, StoreSize};

pub use gridpad_domain::Scope;
use gridpad_proto::wire::{LogOp, OpKind};
use gridpad_proto::{Entity, Fields, Hlc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Backend(String),
    #[error("storage data damaged: {0}")]
    Corrupt(String),
    /// A unique name or code is taken.
    #[error("already exists: {0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a device may work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Active,
    /// Lost or suspended: the hub tells it to lock and takes nothing from it.
    Locked,
    /// To be erased: the hub tells it to wipe itself and nothing else.
    Wiped,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::Locked => "locked",
            DeviceStatus::Wiped => "wiped",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceStatus> {
        [
            DeviceStatus::Active,
            DeviceStatus::Locked,
            DeviceStatus::Wiped,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// Who a bearer token belongs to. A device token and an administrator's token are
/// different kinds, whatever their subject: no device id makes a device an administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum TokenOwner {
    /// A device session (the device id).
    Device(String),
    /// The hub's administrator API (a label for the token, e.g. who asked for it).
    Admin(String),
    /// An account's API token (the [`ApiToken`]'s id: its account, scopes, revocation).
    Account(String),
}

/// A device known to the hub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: String,
    pub public_key: Vec<u8>,
    pub user: String,
    pub label: String,
    pub grids: Vec<String>,
    pub enrolled_ms: u64,
    pub last_seen_ms: u64,
    pub app_version: String,
    /// Highest mutation sequence number applied from this device.
    pub last_seq: u64,
    pub health: gridpad_proto::wire::Health,
    pub status: DeviceStatus,
    pub clock_offset_ms: i64,
    /// The field staff account the device was enrolled for: its reports belong to the
    /// person, so a replacement device keeps following them.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The device offered sequence numbers beyond what the hub expects: the hub forgot
    /// mutations it once acknowledged (restored from a backup). Cleared when the device
    /// catches the hub up.
    #[serde(default)]
    pub ahead: Option<AheadOfHub>,
    /// Sequence numbers the device could no longer resend after a restore and skipped
    /// (`resume_from`): what was lost, newest last (the last [`MAX_LOST_RANGES`]).
    #[serde(default)]
    pub lost_seqs: Vec<(u64, u64)>,
}

/// Most skipped ranges kept on a device record.
pub const MAX_LOST_RANGES: usize = 16;

/// A device ahead of the hub (see [`DeviceRecord::ahead`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AheadOfHub {
    /// The sequence number the hub expects.
    pub expected_seq: u64,
    /// The first one the device offered.
    pub offered_seq: u64,
    /// When the hub first saw it.
    pub since_ms: u64,
}

/// A one-time enrollment code, stored only as its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentCode {
    pub code_hash: String,
    pub user: String,
    pub label: String,
    pub grids: Vec<String>,
    pub expires_ms: u64,
    pub used_by: Option<String>,
    /// The field staff account the code was issued for (its device follows the person).
    #[serde(default)]
    pub account_id: Option<String>,
}

/// The hub's current state of one record, with the clock of each field's last write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub entity: Entity,
    pub row_id: String,
    /// The scope whose devices may read it.
    pub scope: Scope,
    pub fields: Fields,
    pub field_hlc: BTreeMap<String, Hlc>,
    pub deleted: bool,
    /// The device that made the record (a report, a visit …); none for the centre's.
    pub origin: Option<String>,
}

impl Row {
    /// A record the hub has not seen before, in `scope`.
    pub fn new(entity: Entity, row_id: &str, scope: Scope) -> Row {
        Row {
            entity,
            row_id: row_id.to_string(),
            scope,
            fields: Fields::new(),
            field_hlc: BTreeMap::new(),
            deleted: false,
            origin: None,
        }
    }
}

/// One transaction's worth of storage operations.
pub trait HubTx: CentreTx + ServiceTx + DeadlineTx + HandlingTx {
    fn device(&mut self, device_id: &str) -> StoreResult<Option<DeviceRecord>>;
    fn put_device(&mut self, d: &DeviceRecord) -> StoreResult<()>;
    fn devices(&mut self) -> StoreResult<Vec<DeviceRecord>>;

    fn put_code(&mut self, c: &EnrollmentCode) -> StoreResult<()>;
    fn code(&mut self, code_hash: &str) -> StoreResult<Option<EnrollmentCode>>;

    /// Remember a login challenge until `expires_ms`.
    fn put_nonce(&mut self, nonce_hex: &str, device_id: &str, expires_ms: u64) -> StoreResult<()>;
    /// Use up a challenge: returns its device and expiry, and forgets it.
    fn take_nonce(&mut self, nonce_hex: &str) -> StoreResult<Option<(String, u64)>>;
    fn put_token(
        &mut self,
        token_hash: &str,
        owner: &TokenOwner,
        expires_ms: u64,
    ) -> StoreResult<()>;
    fn token(&mut self, token_hash: &str) -> StoreResult<Option<(TokenOwner, u64)>>;
    fn purge_expired(&mut self, now_ms: u64) -> StoreResult<()>;

    fn row(&mut self, entity: Entity, row_id: &str) -> StoreResult<Option<Row>>;
    fn put_row(&mut self, row: &Row) -> StoreResult<()>;
    /// Rows of one entity, newest first, at most `limit`.
    fn rows(&mut self, entity: Entity, limit: usize) -> StoreResult<Vec<Row>>;

    /// Append to a scope's change log; the store assigns the op id, in commit order.
    fn append_op(
        &mut self,
        scope: &Scope,
        entity: Entity,
        row_id: &str,
        kind: &OpKind,
        fields: &Fields,
        hlc: &Hlc,
    ) -> StoreResult<LogOp>;
    /// Ops of a scope after `after_op`, in order, until `max_bytes` (at least one op).
    fn ops_after(
        &mut self,
        scope: &Scope,
        after_op: u64,
        max_bytes: usize,
    ) -> StoreResult<Vec<LogOp>>;
    /// Wrapping u32 sum of op hashes and number of ops of a scope up to `upto`.
    fn scope_summary(&mut self, scope: &Scope, upto: u64) -> StoreResult<(u32, u64)>;
    /// How many of the scope's ops come after `after` (a download's remaining work).
    fn ops_after_count(&mut self, scope: &Scope, after: u64) -> StoreResult<u64>;
    fn last_op(&mut self, scope: &Scope) -> StoreResult<u64>;

    /// Idempotency by mutation id (catches a device restored from a backup).
    fn mutation_seen(&mut self, mutation_id: &str) -> StoreResult<bool>;
    /// Remember a mutation and the verdict given (JSON), so a re-sent one gets it again.
    fn record_mutation(
        &mut self,
        mutation_id: &str,
        device_id: &str,
        seq: u64,
        verdict: &str,
    ) -> StoreResult<()>;
    /// The mutation id and verdict (JSON) given to a device's mutation `seq`.
    fn stored_verdict(
        &mut self,
        device_id: &str,
        seq: u64,
    ) -> StoreResult<Option<(String, String)>>;
    /// How many mutations the hub has applied (for verification and tests).
    fn mutation_count(&mut self, device_id: Option<&str>) -> StoreResult<u64>;

    // ---- evidence (photos and seals) ----------------------------------------------------

    /// The photos (SHA-256) a record references (replaces the record's earlier list).
    fn set_photo_refs(
        &mut self,
        entity: Entity,
        row_id: &str,
        photos: &[String],
    ) -> StoreResult<()>;
    /// The records that reference a photo.
    fn photo_refs(&mut self, sha256: &str) -> StoreResult<Vec<(Entity, String)>>;
    /// Keep a sealed record as it arrived, with the verifier's verdict (JSON). The same
    /// record (device, seq, hash) is kept once.
    fn put_seal(&mut self, seal: &StoredSeal) -> StoreResult<()>;
    /// The seals that arrived for one record.
    fn seals_of(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<StoredSeal>>;
    /// A device's chain verification state (JSON), as the hub last saved it.
    fn chain_state(&mut self, device_id: &str) -> StoreResult<Option<String>>;
    fn put_chain_state(&mut self, device_id: &str, state: &str) -> StoreResult<()>;
}

/// A sealed record as the hub keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSeal {
    pub device_id: String,
    pub seq: u64,
    pub entity: String,
    pub record_id: String,
    pub hash: String,
    /// The verifier's verdict when it arrived (JSON of `gridpad_evidence::ChainVerdict`).
    pub verdict: String,
    /// The signed canonical body.
    pub body: String,
    pub received_ms: u64,
}

/// A storage backend: runs closures in serialisable transactions.
pub trait HubStore: Send + Sync + 'static {
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>) -> StoreResult<()>;

    /// Run `f` on one consistent snapshot, for reading only (a backend may refuse a write
    /// in it). Readers then never make a writer run again (PostgreSQL); by default, a
    /// [`HubStore::transaction`].
    fn read_transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.transaction(f)
    }

    /// The connection pool's state, where the backend has one.
    fn pool(&self) -> Option<PoolStats> {
        None
    }
}

/// Run `f` in a transaction and return its value.
pub fn with_tx<T>(
    store: &dyn HubStore,
    mut f: impl FnMut(&mut dyn HubTx) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.transaction(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    Ok(out.expect("transaction closure ran"))
}

/// Run `f` in a read-only snapshot ([`HubStore::read_transaction`]) and return its value.
pub fn with_read_tx<T>(
    store: &dyn HubStore,
    mut f: impl FnMut(&mut dyn HubTx) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.read_transaction(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    Ok(out.expect("transaction closure ran"))
}

// ---- the centre's organisation: accounts, departments, routing, sessions, audit ---------

/// What a centre account may do (its role); where is its node's subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 指挥中心 dispatcher: accepts, dispatches, escalates, verifies, closes.
    Dispatcher,
    /// A department's handler (公安, 城管 …): the items routed to the department.
    DepartmentHandler,
    /// Leadership: reads everything of its area, 督办 (urges).
    Supervisor,
    /// Devices: health, lock and wipe, enrollment codes, update bundles.
    FleetManager,
    /// Reads the audit log and everything else, changes nothing.
    Auditor,
    /// Accounts, the organisation, departments, the catalog.
    SystemAdministrator,
    /// A grid worker: signs in on a device, not in the console.
    FieldStaff,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Dispatcher,
        Role::DepartmentHandler,
        Role::Supervisor,
        Role::FleetManager,
        Role::Auditor,
        Role::SystemAdministrator,
        Role::FieldStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::DepartmentHandler => "department_handler",
            Role::Supervisor => "supervisor",
            Role::FleetManager => "fleet_manager",
            Role::Auditor => "auditor",
            Role::SystemAdministrator => "system_administrator",
            Role::FieldStaff => "field_staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person of the centre or the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// UUID.
    pub id: String,
    /// Login name, unique, lower case.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The organisation node whose subtree is the account's area.
    pub node_id: String,
    /// For a department handler: the department.
    pub department_id: Option<String>,
    /// Argon2id in PHC form; empty: no console login (field staff, a disabled password).
    pub password_hash: String,
    /// TOTP second factor (RFC 6238, base32 secret), when enabled.
    pub totp_secret: Option<String>,
    pub failed_logins: u32,
    pub locked_until_ms: u64,
    pub disabled: bool,
    pub created_ms: u64,
    pub password_changed_ms: u64,
}

/// A 职能部门 attached at a node (e.g. 城管 of a street).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub code: String,
    pub name: String,
    pub node_id: String,
}

/// Which department handles a 小类 at a level of the tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoutingRule {
    pub category_code: String,
    pub level: String,
    pub department_code: String,
}

/// A console session (cookie), stored by the hash of its token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub account_id: String,
    /// The token forms and scripts must echo on every change (CSRF).
    pub csrf: String,
    pub created_ms: u64,
    pub last_seen_ms: u64,
    /// Absolute end; idle sessions end earlier (see the hub).
    pub expires_ms: u64,
    pub address: String,
}

/// An account's API token for integrations: scoped, revocable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub account_id: String,
    pub label: String,
    /// The actions it may take (a subset of the account's), e.g. `events.read`.
    pub scopes: Vec<String>,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub revoked: bool,
}

/// One line of the audit log: who did what to what, when, from where; chained by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3 … without gaps.
    pub seq: u64,
    pub at_ms: u64,
    /// Account id (or `cli:<user>` for the hub machine's command line).
    pub actor: String,
    pub actor_name: String,
    pub role: String,
    pub node_id: String,
    pub action: String,
    pub target: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub address: String,
    /// SHA-256 (hex) of the previous line's `hash`; zeros for the first.
    pub prev_hash: String,
    /// SHA-256 (hex) over this line's content and `prev_hash`.
    pub hash: String,
}

/// The centre's organisation in storage (one transaction's worth, like [`HubTx`]).
pub trait CentreTx {
    fn account(&mut self, id: &str) -> StoreResult<Option<Account>>;
    fn account_by_username(&mut self, username: &str) -> StoreResult<Option<Account>>;
    /// Insert or replace; usernames are unique (a clash is `StoreError::Conflict`).
    fn put_account(&mut self, a: &Account) -> StoreResult<()>;
    fn accounts(&mut self) -> StoreResult<Vec<Account>>;

    fn department(&mut self, id: &str) -> StoreResult<Option<Department>>;
    /// Insert or replace; codes are unique per node.
    fn put_department(&mut self, d: &Department) -> StoreResult<()>;
    fn departments(&mut self) -> StoreResult<Vec<Department>>;

    /// Replace the routing rules of one category.
    fn put_routing(&mut self, category_code: &str, rules: &[RoutingRule]) -> StoreResult<()>;
    fn routing(&mut self) -> StoreResult<Vec<RoutingRule>>;

    fn put_session(&mut self, token_hash: &str, s: &Session) -> StoreResult<()>;
    fn session(&mut self, token_hash: &str) -> StoreResult<Option<Session>>;
    fn delete_session(&mut self, token_hash: &str) -> StoreResult<()>;
    /// End every session of an account (password change, disabling).
    fn delete_sessions_of(&mut self, account_id: &str) -> StoreResult<()>;

    fn api_token(&mut self, id: &str) -> StoreResult<Option<ApiToken>>;
    fn put_api_token(&mut self, t: &ApiToken) -> StoreResult<()>;
    fn api_tokens_of(&mut self, account_id: &str) -> StoreResult<Vec<ApiToken>>;

    /// Append a line (its `seq` is the tail's + 1; the caller computed the hash).
    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()>;
    fn audit_tail(&mut self) -> StoreResult<Option<AuditEntry>>;
    /// Lines with `seq > after`, in order, at most `limit`.
    fn audit_after(&mut self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}
