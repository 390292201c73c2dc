//! What an operator watches (`gridhub serve --metrics-listen`): requests and latency per
//! route, mutations applied, the database's size and connection pool, the photo store's
//! size, devices by status and last contact — in the Prometheus/OpenMetrics text format.
//!
//! Counters are kept as requests pass; sizes are sampled when scraped (the photo store's
//! at most every [`BLOB_SAMPLE_EVERY`], as it walks the directory). No label carries a
//! device, person or account: routes are the router's templates (`/v1/uploads/{id}`).

use crate::hub::{Hub, HubResult};
use gridhub_store::{with_read_tx, DeviceStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a sample of the photo store's size is reused.
pub const BLOB_SAMPLE_EVERY: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Verdict {
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceHealth {
    status: String,
    last_contact: String,
}

type Latency = Family<Route, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    latency: Latency,
    mutations: Family<Verdict, Counter>,
    ops: Gauge,
    rows: Gauge,
    db_bytes: Gauge,
    blobs: Gauge,
    blob_bytes: Gauge,
    devices: Family<DeviceHealth, Gauge>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_waits: Gauge,
    pool_wait_seconds: FloatGauge,
    blob_sample: Mutex<Option<(Instant, (u64, u64))>>,
}

fn latency_histogram() -> Histogram {
    // 1 ms … 32 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("gridhub");
        let m = Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            mutations: Family::default(),
            ops: Gauge::default(),
            rows: Gauge::default(),
            db_bytes: Gauge::default(),
            blobs: Gauge::default(),
            blob_bytes: Gauge::default(),
            devices: Family::default(),
            pool_connections: Gauge::default(),
            pool_idle: Gauge::default(),
            pool_waits: Gauge::default(),
            pool_wait_seconds: FloatGauge::default(),
            blob_sample: Mutex::new(None),
            registry: Registry::default(),
        };
        r.register(
            "http_requests",
            "HTTP requests by route and status",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            m.latency.clone(),
        );
        r.register(
            "mutations",
            "Device mutations the hub took in, by verdict (re-sent ones not counted)",
            m.mutations.clone(),
        );
        r.register("oplog_ops", "Ops in the scopes' change logs", m.ops.clone());
        r.register("records", "Live records", m.rows.clone());
        r.register(
            "database_bytes",
            "Bytes the database takes",
            m.db_bytes.clone(),
        );
        r.register("photos", "Photos in the photo store", m.blobs.clone());
        r.register(
            "photo_bytes",
            "Bytes of the photos in the photo store",
            m.blob_bytes.clone(),
        );
        r.register(
            "devices",
            "Devices by status and time since their last contact",
            m.devices.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections this instance holds",
            m.pool_connections.clone(),
        );
        r.register(
            "db_pool_idle_connections",
            "Idle database connections",
            m.pool_idle.clone(),
        );
        r.register(
            "db_pool_waits",
            "Transactions that waited for a database connection (since start)",
            m.pool_waits.clone(),
        );
        r.register(
            "db_pool_wait_seconds",
            "Time transactions waited for a database connection (since start)",
            m.pool_wait_seconds.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// One answered request (`route` is the router's template, never a concrete path).
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&Request {
                method: method.to_ascii_lowercase(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// A device mutation taken in with `verdict` (applied, merged, duplicate, rejected).
    pub fn mutation(&self, verdict: &str) {
        self.mutations
            .get_or_create(&Verdict {
                verdict: verdict.to_string(),
            })
            .inc();
    }

    /// Sample the sizes and encode everything.
    pub fn render(&self, hub: &Hub) -> HubResult<String> {
        let now = hub.now_ms();
        let (size, devices) = with_read_tx(hub.store(), |tx| Ok((tx.size()?, tx.devices()?)))?;
        self.ops.set(size.ops as i64);
        self.rows.set(size.rows as i64);
        self.db_bytes.set(size.bytes as i64);
        self.devices.clear();
        for d in &devices {
            let status = match d.status {
                DeviceStatus::Active => "active",
                DeviceStatus::Locked => "locked",
                DeviceStatus::Wiped => "wiped",
            };
            let age = now.saturating_sub(d.last_seen_ms);
            let last_contact = match age {
                _ if d.last_seen_ms == 0 => "never",
                a if a <= 3_600_000 => "1h",
                a if a <= 86_400_000 => "24h",
                a if a <= 7 * 86_400_000 => "7d",
                _ => "older",
            };
            self.devices
                .get_or_create(&DeviceHealth {
                    status: status.into(),
                    last_contact: last_contact.into(),
                })
                .inc();
        }
        if let Some(p) = hub.store().pool() {
            self.pool_connections.set(p.connections.into());
            self.pool_idle.set(p.idle.into());
            self.pool_waits.set(p.waits as i64);
            self.pool_wait_seconds.set(p.wait_ms as f64 / 1000.0);
        }
        if let Some(blobs) = hub.blobs() {
            let mut sample = self.blob_sample.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = sample.is_some_and(|(at, _)| at.elapsed() < BLOB_SAMPLE_EVERY);
            if !fresh {
                *sample = Some((Instant::now(), blobs.usage()?));
            }
            if let Some((_, (n, bytes))) = *sample {
                self.blobs.set(n as i64);
                self.blob_bytes.set(bytes as i64);
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| gridhub_store::StoreError::Backend(format!("encoding metrics: {e}")))?;
        Ok(out)
    }
}
