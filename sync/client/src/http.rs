//! The HTTP transport: compressed CBOR over plain HTTP/1.1 (TLS arrives with the hub's
//! TLS configuration), with device authentication by signed challenge → short-lived token.

use crate::driver::{Transport, TransportError};
use gridpad_proto::wire::{self, *};
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::time::Duration;

pub struct HttpTransport {
    base: String,
    client: reqwest::blocking::Client,
    device_id: String,
    key: Ed25519KeyPair,
    token: Option<String>,
}

fn classify(e: reqwest::Error) -> TransportError {
    TransportError::Offline(e.to_string())
}

impl HttpTransport {
    pub fn new(base: &str, device_id: &str, key: Ed25519KeyPair) -> Result<Self, TransportError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| TransportError::Refused(e.to_string()))?;
        Ok(HttpTransport {
            base: base.trim_end_matches('/').to_string(),
            client,
            device_id: device_id.to_string(),
            key,
            token: None,
        })
    }

    /// A token obtained earlier (kept by the caller in the encrypted store).
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn post<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Req,
        bearer: Option<&str>,
    ) -> Result<Resp, TransportError> {
        let mut rb = self
            .client
            .post(format!("{}{}", self.base, path))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(wire::encode(body));
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().map_err(classify)?;
        let status = resp.status();
        let bytes = resp.bytes().map_err(classify)?;
        if status.is_success() {
            return wire::decode(&bytes)
                .map_err(|e| TransportError::Server(format!("unreadable answer: {e}")));
        }
        let detail = serde_json::from_slice::<Problem>(&bytes)
            .ok()
            .and_then(|p| p.detail.or(Some(p.title)))
            .unwrap_or_else(|| status.to_string());
        Err(match status.as_u16() {
            401 | 403 => TransportError::Auth(detail),
            409 => match serde_json::from_slice::<SeqGap>(&bytes) {
                Ok(g) => TransportError::Gap(g.expected_seq),
                Err(_) => TransportError::Refused(detail),
            },
            429 | 500..=599 => TransportError::Server(detail),
            _ => TransportError::Refused(detail),
        })
    }

    /// Prove possession of the device key and get a fresh token.
    pub fn login(&mut self) -> Result<(), TransportError> {
        let ch: ChallengeResponse = self.post(
            "/v1/auth/challenge",
            &ChallengeRequest {
                device_id: self.device_id.clone(),
            },
            None,
        )?;
        let sig = self.key.sign(&auth_message(&self.device_id, &ch.nonce));
        let tok: TokenResponse = self.post(
            "/v1/auth/token",
            &TokenRequest {
                device_id: self.device_id.clone(),
                nonce: ch.nonce,
                signature: sig.as_ref().to_vec(),
            },
            None,
        )?;
        self.token = Some(tok.token);
        Ok(())
    }

    /// Enroll this device with a one-time code.
    pub fn enroll(&self, code: &str, label: &str) -> Result<EnrollResponse, TransportError> {
        self.post(
            "/v1/enroll",
            &EnrollRequest {
                code: code.to_string(),
                device_id: self.device_id.clone(),
                public_key: self.key.public_key().as_ref().to_vec(),
                app_version: env!("CARGO_PKG_VERSION").to_string(),
                label: label.to_string(),
            },
            None,
        )
    }
}

impl Transport for HttpTransport {
    fn sync(&mut self, req: &SyncRequest) -> Result<SyncResponse, TransportError> {
        if self.token.is_none() {
            self.login()?;
        }
        match self.post("/v1/sync", req, self.token.as_deref()) {
            Err(TransportError::Auth(_)) => {
                // Expired token: log in once more and retry.
                self.login()?;
                self.post("/v1/sync", req, self.token.as_deref())
            }
            other => other,
        }
    }
}
