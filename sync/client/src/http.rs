//! The HTTP transport: compressed CBOR over HTTPS (rustls with *ring*; plain HTTP only to a
//! loopback hub, for tests and the demo), with device authentication by signed challenge →
//! short-lived token.

use crate::transport::{Transport, TransportError};
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

/// How to reach the hub.
#[derive(Clone, Debug, Default)]
pub struct HubTls {
    /// PEM certificate(s) of the authority that signed the hub's certificate. When given,
    /// only these are trusted (a city's own CA); otherwise the system's roots are.
    pub ca_pem: Option<Vec<u8>>,
}

/// The error and its causes on one line: "error sending request" alone does not tell a
/// fleet manager that the hub's certificate is not trusted.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn classify(e: reqwest::Error) -> TransportError {
    TransportError::Offline(describe(&e))
}

/// Plain HTTP only to this machine: anything else must be HTTPS.
fn check_scheme(base: &str) -> Result<(), TransportError> {
    let url = reqwest::Url::parse(base)
        .map_err(|e| TransportError::Refused(format!("hub address {base:?}: {e}")))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(TransportError::Refused(format!(
                    "refusing plain HTTP to {base}: use https:// (plain HTTP is only for a hub on this machine)"
                )))
            }
        }
        other => Err(TransportError::Refused(format!(
            "hub address {base:?}: unsupported scheme {other}"
        ))),
    }
}

impl HttpTransport {
    pub fn new(base: &str, device_id: &str, key: Ed25519KeyPair) -> Result<Self, TransportError> {
        Self::with_tls(base, device_id, key, &HubTls::default())
    }

    pub fn with_tls(
        base: &str,
        device_id: &str,
        key: Ed25519KeyPair,
        tls: &HubTls,
    ) -> Result<Self, TransportError> {
        check_scheme(base)?;
        let client = client_builder(tls)?
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| TransportError::Refused(describe(&e)))?;
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
        let detail = serde_json::from_slice::<ProblemDetails>(&bytes)
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

/// The device's token on the hub's other device routes (update offers and bundles): the
/// same scheme rule and TLS trust as [`HttpTransport`]; no redirect is followed, so the
/// token goes only to the hub's own address (and never over plain HTTP to another machine).
pub struct TokenClient {
    base: String,
    client: reqwest::blocking::Client,
    token: String,
}

impl TokenClient {
    pub fn new(base: &str, tls: &HubTls, token: &str) -> Result<TokenClient, TransportError> {
        check_scheme(base)?;
        let client = client_builder(tls)?
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            // Bundles are megabytes on EDGE; a stalled link still ends.
            .timeout(Duration::from_secs(30 * 60))
            .build()
            .map_err(|e| TransportError::Refused(describe(&e)))?;
        Ok(TokenClient {
            base: base.trim_end_matches('/').to_string(),
            client,
            token: token.to_string(),
        })
    }

    /// A client for the hub serving `url`, and the path (with its query) of `url` on it.
    pub fn for_url(
        url: &str,
        tls: &HubTls,
        token: &str,
    ) -> Result<(TokenClient, String), TransportError> {
        let u = reqwest::Url::parse(url)
            .map_err(|e| TransportError::Refused(format!("address {url:?}: {e}")))?;
        let path = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        let mut base = u.clone();
        base.set_path("");
        base.set_query(None);
        base.set_fragment(None);
        Ok((TokenClient::new(base.as_str(), tls, token)?, path))
    }

    /// `GET path` with the token; `from`: ask for the bytes from there on (`Range`).
    pub fn get(
        &self,
        path: &str,
        from: Option<u64>,
    ) -> Result<reqwest::blocking::Response, TransportError> {
        let mut rb = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(n) = from {
            rb = rb.header(reqwest::header::RANGE, format!("bytes={n}-"));
        }
        rb.send().map_err(classify)
    }

    /// `POST path` with a JSON body and the token; the answer read as JSON (a refusal as
    /// the error). The fleet tool asks for enrollment codes this way with an admin token.
    pub fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, TransportError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| TransportError::Refused(format!("request body: {e}")))?;
        let r = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(classify)?;
        let r = Self::check(r)?;
        let bytes = r.bytes().map_err(classify)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| TransportError::Server(format!("unreadable answer: {e}")))
    }

    /// A success, or the hub's refusal as an error.
    pub fn check(
        r: reqwest::blocking::Response,
    ) -> Result<reqwest::blocking::Response, TransportError> {
        let status = r.status();
        if status.is_success() {
            return Ok(r);
        }
        let bytes = r.bytes().unwrap_or_default();
        let detail = serde_json::from_slice::<ProblemDetails>(&bytes)
            .ok()
            .and_then(|p| p.detail.or(Some(p.title)))
            .unwrap_or_else(|| status.to_string());
        Err(match status.as_u16() {
            401 | 403 => TransportError::Auth(detail),
            429 | 500..=599 => TransportError::Server(detail),
            _ => TransportError::Refused(detail),
        })
    }
}

/// A blocking client builder with rustls on *ring* (no C toolchain beyond what ring needs,
/// cross-compiles for ARM) trusting `tls.ca_pem` only, or the system's roots.
pub fn client_builder(tls: &HubTls) -> Result<reqwest::blocking::ClientBuilder, TransportError> {
    // reqwest is built without a provider of its own; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::blocking::Client::builder();
    if let Some(pem) = &tls.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            TransportError::Refused(format!("hub CA certificate: {}", describe(&e)))
        })?;
        if certs.is_empty() {
            return Err(TransportError::Refused(
                "hub CA certificate: no certificate in the PEM file".into(),
            ));
        }
        b = b.tls_certs_only(certs);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(check_scheme("http://127.0.0.1:8470").is_ok());
        assert!(check_scheme("http://localhost:8470/").is_ok());
        assert!(check_scheme("http://[::1]:8470").is_ok());
        assert!(check_scheme("https://hub.example.cn").is_ok());
        let e = check_scheme("http://hub.example.cn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing plain HTTP"), "{e}");
        assert!(check_scheme("http://10.1.2.3:8470").is_err());
        assert!(check_scheme("ftp://hub").is_err());
        assert!(check_scheme("not a url").is_err());
    }

    #[test]
    fn a_bad_ca_file_is_a_clear_error() {
        let tls = HubTls {
            ca_pem: Some(b"hello".to_vec()),
        };
        let e = client_builder(&tls).expect_err("refused").to_string();
        assert!(e.contains("hub CA certificate"), "{e}");
    }
}
