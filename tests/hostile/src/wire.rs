//! The crafted device client: HTTP by hand (reqwest, no gridpad-sync), bodies in the wire
//! format of `gridpad_proto::wire` (CBOR, then zstd) or deliberately broken, an Ed25519
//! identity of its own, sequence numbers and clocks it chooses itself.

use gridpad_proto::wire::{self, *};
use gridpad_proto::{Entity, Fields, Hlc, HlcClock, Mutation, Op};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Fields from a JSON object.
pub fn fields(v: Value) -> Fields {
    v.as_object()
        .expect("a JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// Now, as an RFC 3339 time.
pub fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One HTTP answer, whatever it is.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// A successful answer in the wire format.
    pub fn cbor<T: DeserializeOwned>(&self) -> T {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {} {}",
            self.status,
            self.text()
        );
        wire::decode(&self.body).unwrap_or_else(|e| panic!("not the wire format: {e}"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(2_000)]).into_owned()
    }

    /// A refusal with one of `statuses`, answered with a problem document that says why.
    pub fn refused(&self, statuses: &[u16]) -> ProblemDetails {
        assert!(
            statuses.contains(&self.status),
            "expected one of {statuses:?}, got {} {}",
            self.status,
            self.text()
        );
        self.problem()
    }

    /// The problem document of a refusal (RFC 9457), with a reason.
    pub fn problem(&self) -> ProblemDetails {
        assert!(
            (400..500).contains(&self.status),
            "a refusal is a 4xx, got {} {}",
            self.status,
            self.text()
        );
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "a refusal is a problem document, got {} {:?}: {}",
            self.status,
            self.content_type,
            self.text()
        );
        let p: ProblemDetails = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("problem document ({e}): {}", self.text()));
        assert_eq!(p.status, self.status);
        assert!(
            p.detail.as_deref().is_some_and(|d| !d.trim().is_empty()),
            "a refusal says why: {p:?}"
        );
        p
    }
}

/// Plain HTTP to one hub.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new(base: &str) -> Http {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Http {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("HTTP client"),
        }
    }

    /// Any request; the answer whatever it is (a transport failure panics).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        self.try_send(method, path, token, content_type, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, reqwest::Error> {
        let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .expect("HTTP method");
        let mut rb = self.client.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        if !body.is_empty() {
            rb = rb.body(body);
        }
        let r = rb.send()?;
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = r.bytes()?.to_vec();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// Any request with extra headers; the answer whatever it is.
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        self.try_send_with(method, path, token, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// As [`Http::send_with`]; `Err` when no answer came (the hub died on the way).
    pub fn try_send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, reqwest::Error> {
        let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .expect("HTTP method");
        let mut rb = self.client.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            rb = rb.header(*k, v.as_str());
        }
        let r = rb.body(body).send()?;
        let status = r.status().as_u16();
        let mut content_type = String::new();
        let mut upload_offset = None;
        if let Some(v) = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
        {
            content_type = v.to_string();
        }
        if let Some(v) = r
            .headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
        {
            upload_offset = v.parse::<u64>().ok();
        }
        let mut body = r.bytes().map(|b| b.to_vec()).unwrap_or_default();
        if let (Some(o), true) = (upload_offset, body.is_empty()) {
            // HEAD/PATCH answers carry their news in a header: give it to the caller.
            body = format!("{{\"upload_offset\":{o}}}").into_bytes();
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// A body in the wire format.
    pub fn post_cbor<T: serde::Serialize>(&self, path: &str, token: Option<&str>, v: &T) -> Answer {
        self.post_raw(path, token, wire::encode(v))
    }

    /// Bytes sent as if they were the wire format.
    pub fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
        self.send("post", path, token, Some(CONTENT_TYPE), body)
    }

    /// JSON (the administrator's API, seals).
    pub fn json(&self, method: &str, path: &str, token: Option<&str>, v: &Value) -> Answer {
        let body = if v.is_null() {
            vec![]
        } else {
            serde_json::to_vec(v).expect("JSON")
        };
        self.send(method, path, token, Some("application/json"), body)
    }
}

/// A device speaking the protocol: its own id, key, sequence numbers and clock.
pub struct Device {
    pub id: String,
    key: Ed25519KeyPair,
    pub http: Http,
    pub token: Option<String>,
    /// Highest sequence number the hub acknowledged.
    pub acked: u64,
    issued: u64,
    clock: HlcClock,
    pub grids: Vec<String>,
    /// Where this device stands in each scope it pulled.
    pub cursors: BTreeMap<String, u64>,
}

impl Device {
    /// A device with a fresh UUID and key, not enrolled.
    pub fn new(http: &Http) -> Device {
        Self::with_id(http, &uuid::Uuid::now_v7().to_string())
    }

    /// A device that calls itself `id` (whatever that is).
    pub fn with_id(http: &Http, id: &str) -> Device {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
        Device {
            id: id.to_string(),
            key: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key"),
            http: http.clone(),
            token: None,
            acked: 0,
            issued: 0,
            clock: HlcClock::new(id, None),
            grids: vec![],
            cursors: BTreeMap::new(),
        }
    }

    /// Enroll with `code` and log in; panics unless both work.
    pub fn enrolled(http: &Http, code: &str) -> Device {
        let mut d = Device::new(http);
        let r: EnrollResponse = d.enroll(code).cbor();
        assert_eq!(r.device_id, d.id);
        d.grids = r.grids;
        d.login();
        d
    }

    /// The device's Ed25519 key (it seals its records with it).
    pub fn key(&self) -> &Ed25519KeyPair {
        &self.key
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    fn enroll_request(&self, code: &str) -> EnrollRequest {
        EnrollRequest {
            code: code.into(),
            device_id: self.id.clone(),
            public_key: self.public_key(),
            app_version: "hostile".into(),
            label: "hostile".into(),
        }
    }

    pub fn enroll(&self, code: &str) -> Answer {
        self.http
            .post_cbor("/v1/enroll", None, &self.enroll_request(code))
    }

    /// An enrollment that may never be answered (the hub dies on the way): `None` then.
    pub fn try_enroll(&self, code: &str) -> Option<Answer> {
        self.http
            .try_send(
                "post",
                "/v1/enroll",
                None,
                Some(CONTENT_TYPE),
                wire::encode(&self.enroll_request(code)),
            )
            .ok()
    }

    /// Ask for a challenge and sign it (the answer to the token request).
    pub fn login_answer(&self) -> Answer {
        let c = self.http.post_cbor(
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device_id: self.id.clone(),
            },
        );
        if c.status != 200 {
            return c;
        }
        let c: ChallengeResponse = c.cbor();
        self.http.post_cbor(
            "/v1/auth/token",
            None,
            &TokenRequest {
                device_id: self.id.clone(),
                signature: self.sign(&c.nonce),
                nonce: c.nonce,
            },
        )
    }

    pub fn sign(&self, nonce: &[u8]) -> Vec<u8> {
        self.key
            .sign(&auth_message(&self.id, nonce))
            .as_ref()
            .to_vec()
    }

    pub fn login(&mut self) {
        let t: TokenResponse = self.login_answer().cbor();
        self.token = Some(t.token);
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in")
    }

    /// The next mutation of this device (sequence number and clock of its own).
    pub fn m(&mut self, entity: Entity, row_id: &str, op: Op, f: Value) -> Mutation {
        self.issued += 1;
        Mutation {
            seq: self.acked + self.issued,
            mutation_id: uuid::Uuid::now_v7().to_string(),
            hlc: self.clock.tick(now_ms()),
            entity,
            row_id: row_id.into(),
            op,
            fields: fields(f),
        }
    }

    pub fn hlc(&mut self) -> Hlc {
        self.clock.tick(now_ms())
    }

    /// An exchange that pushes `push` and pulls nothing.
    pub fn request(&self, push: Vec<Mutation>) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL,
            app_version: "hostile".into(),
            device_time_ms: now_ms(),
            push,
            cursors: vec![],
            max_bytes: 65_536,
            health: Health::default(),
            resume_from: None,
        }
    }

    /// Send an exchange as it is; the answer whatever it is. Sequence numbers not
    /// acknowledged are issued again.
    pub fn sync(&mut self, req: &SyncRequest) -> Answer {
        let token = self.token.clone();
        let a = self.http.post_cbor("/v1/sync", token.as_deref(), req);
        self.after(&a);
        a
    }

    /// Send an exchange that may never be answered (the hub dies on the way): `None` then.
    pub fn try_sync(&mut self, req: &SyncRequest) -> Option<Answer> {
        let token = self.token.clone();
        let a = self
            .http
            .try_send(
                "post",
                "/v1/sync",
                token.as_deref(),
                Some(CONTENT_TYPE),
                wire::encode(req),
            )
            .ok();
        if let Some(a) = &a {
            self.after(a);
        }
        a
    }

    /// Send raw bytes as an exchange.
    pub fn sync_raw(&mut self, body: Vec<u8>) -> Answer {
        let token = self.token.clone();
        let a = self.http.post_raw("/v1/sync", token.as_deref(), body);
        self.after(&a);
        a
    }

    fn after(&mut self, a: &Answer) {
        if a.status == 200 {
            if let Ok(r) = wire::decode::<SyncResponse>(&a.body) {
                self.acked = r.acked_through;
            }
        }
        self.issued = 0;
    }

    /// Push mutations; the hub must answer the exchange.
    pub fn push(&mut self, push: Vec<Mutation>) -> SyncResponse {
        let req = self.request(push);
        self.sync(&req).cbor()
    }

    /// Push one mutation; its verdict.
    pub fn push_one(&mut self, entity: Entity, row_id: &str, op: Op, f: Value) -> Verdict {
        let m = self.m(entity, row_id, op, f);
        let seq = m.seq;
        let r = self.push(vec![m]);
        assert_eq!(r.verdicts.len(), 1, "one verdict: {r:?}");
        assert_eq!(r.verdicts[0].seq, seq);
        r.verdicts[0].clone()
    }

    /// Pull every scope the hub gives this device until nothing more; every op received.
    /// Also asks for `extra` scopes (which the hub must ignore unless they are its own).
    pub fn pull_all(
        &mut self,
        extra: &[String],
    ) -> (Vec<(String, gridpad_proto::wire::LogOp)>, Vec<String>) {
        let mut out = vec![];
        let mut scopes = vec![];
        for _ in 0..1_000 {
            let mut req = self.request(vec![]);
            req.max_bytes = 1 << 20;
            let mut names: Vec<String> = self.cursors.keys().cloned().collect();
            names.extend(extra.iter().cloned());
            req.cursors = names
                .iter()
                .map(|s| Cursor {
                    scope: s.clone(),
                    after_op: self.cursors.get(s).copied().unwrap_or(0),
                })
                .collect();
            let r: SyncResponse = self.sync(&req).cbor();
            let mut new_scope = false;
            for s in &r.scopes {
                if !self.cursors.contains_key(s) {
                    self.cursors.insert(s.clone(), 0);
                    new_scope = true;
                }
            }
            for p in r.pages {
                self.cursors.insert(p.scope.clone(), p.next_after_op);
                out.extend(p.ops.into_iter().map(|o| (p.scope.clone(), o)));
            }
            scopes = r.scopes;
            if !r.more && !new_scope {
                return (out, scopes);
            }
        }
        panic!("pull did not settle");
    }
}

/// A verdict that refuses, with a reason.
pub fn assert_rejected(v: &Verdict, why: &str) -> String {
    assert_eq!(v.status, Status::Rejected, "{why}: {v:?}");
    let reason = v.reason.clone().unwrap_or_default();
    assert!(!reason.trim().is_empty(), "{why}: a refusal says why");
    assert!(
        reason.chars().count() <= 1_000,
        "{why}: a reason is short, not an echo: {} characters",
        reason.chars().count()
    );
    reason
}

pub fn assert_applied(v: &Verdict, what: &str) {
    assert!(
        matches!(v.status, Status::Applied | Status::Merged),
        "{what}: {v:?}"
    );
}
