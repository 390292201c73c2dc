//! Ed25519 release keys.
//!
//! Files are small JSON documents so that they say what they are:
//!
//! ```json
//! {"kind":"gridpad-release-secret-key","key_id":"3f1c…","pkcs8":"<base64 PKCS#8 v2>"}
//! {"kind":"gridpad-release-public-key","key_id":"3f1c…","public_key":"<base64 32 bytes>"}
//! ```
//!
//! The key id is the first 8 bytes (16 hex digits) of SHA-256 over the raw public key; a
//! device trusts every `*.pub` file in its keys directory, which is how a release key is
//! rotated (ship the new public key in an update signed by the old one, then switch).

use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use std::path::Path;

const SECRET_KIND: &str = "gridpad-release-secret-key";
const PUBLIC_KIND: &str = "gridpad-release-public-key";

pub fn key_id(public_key: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, public_key);
    hex::encode(&d.as_ref()[..8])
}

/// A release signing key (keep it offline, or in CI's secret store).
pub struct SecretKey {
    pkcs8: Vec<u8>,
    pair: Ed25519KeyPair,
}

#[derive(Serialize, Deserialize)]
struct SecretFile {
    kind: String,
    key_id: String,
    pkcs8: String,
}

#[derive(Serialize, Deserialize)]
struct PublicFile {
    kind: String,
    key_id: String,
    public_key: String,
}

impl SecretKey {
    pub fn generate() -> Result<Self> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::Other("cannot generate an Ed25519 key".into()))?;
        Self::from_pkcs8(doc.as_ref())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| Error::Other(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(SecretKey {
            pkcs8: pkcs8.to_vec(),
            pair,
        })
    }

    pub fn public(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { bytes }
    }

    pub fn key_id(&self) -> String {
        self.public().key_id()
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }

    pub fn to_file_bytes(&self) -> Vec<u8> {
        let f = SecretFile {
            kind: SECRET_KIND.into(),
            key_id: self.key_id(),
            pkcs8: B64.encode(&self.pkcs8),
        };
        let mut v = serde_json::to_vec_pretty(&f).expect("serialise key");
        v.push(b'\n');
        v
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |detail: String| Error::BadKey {
            path: path.display().to_string(),
            detail,
        };
        let f: SecretFile = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a Gridpad release key file: {e}")))?;
        if f.kind != SECRET_KIND {
            return Err(bad(format!(
                "kind is {:?}, expected {SECRET_KIND:?}",
                f.kind
            )));
        }
        let pkcs8 = B64
            .decode(f.pkcs8.trim())
            .map_err(|e| bad(format!("pkcs8 is not base64: {e}")))?;
        let key = Self::from_pkcs8(&pkcs8).map_err(|e| bad(e.to_string()))?;
        if key.key_id() != f.key_id {
            return Err(bad("key_id does not match the key".into()));
        }
        Ok(key)
    }

    /// Writes the secret key (mode 0600) and its public key beside it (`<path>.pub`, 0644).
    pub fn save(&self, path: &Path) -> Result<std::path::PathBuf> {
        crate::write_atomic(path, &self.to_file_bytes(), 0o600)?;
        let pub_path = path.with_file_name(format!(
            "{}.pub",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("release")
        ));
        crate::write_atomic(&pub_path, &self.public().to_file_bytes(), 0o644)?;
        Ok(pub_path)
    }
}

/// A release public key, as devices hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
}

impl PublicKey {
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = b
            .try_into()
            .map_err(|_| Error::Other(format!("public key must be 32 bytes, got {}", b.len())))?;
        Ok(PublicKey { bytes })
    }

    pub fn key_id(&self) -> String {
        key_id(&self.bytes)
    }

    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.bytes)
            .verify(msg, sig)
            .is_ok()
    }

    pub fn to_file_bytes(&self) -> Vec<u8> {
        let f = PublicFile {
            kind: PUBLIC_KIND.into(),
            key_id: self.key_id(),
            public_key: B64.encode(self.bytes),
        };
        let mut v = serde_json::to_vec_pretty(&f).expect("serialise key");
        v.push(b'\n');
        v
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |detail: String| Error::BadKey {
            path: path.display().to_string(),
            detail,
        };
        let f: PublicFile = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a Gridpad public key file: {e}")))?;
        if f.kind != PUBLIC_KIND {
            return Err(bad(format!(
                "kind is {:?}, expected {PUBLIC_KIND:?}",
                f.kind
            )));
        }
        let raw = B64
            .decode(f.public_key.trim())
            .map_err(|e| bad(format!("public_key is not base64: {e}")))?;
        let key = Self::from_bytes(&raw).map_err(|e| bad(e.to_string()))?;
        if key.key_id() != f.key_id {
            return Err(bad("key_id does not match the key".into()));
        }
        Ok(key)
    }
}

/// The release keys a device (or `gridctl bundle verify`) accepts.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    pub fn new(keys: Vec<PublicKey>) -> Self {
        TrustedKeys { keys }
    }

    /// A `.pub` file, or a directory whose `*.pub` files are all trusted.
    pub fn load(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_dir() {
            return Ok(TrustedKeys::new(vec![PublicKey::load(path)?]));
        }
        let mut keys = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pub"))
            .collect();
        entries.sort();
        for p in entries {
            keys.push(PublicKey::load(&p)?);
        }
        if keys.is_empty() {
            return Err(Error::BadKey {
                path: path.display().to_string(),
                detail: "no *.pub release keys in this directory".into(),
            });
        }
        Ok(TrustedKeys::new(keys))
    }

    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.key_id() == key_id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_sign_verify() {
        let dir = tempfile::tempdir().unwrap();
        let k = SecretKey::generate().unwrap();
        let p = dir.path().join("release.key");
        let pub_path = k.save(&p).unwrap();
        let k2 = SecretKey::load(&p).unwrap();
        assert_eq!(k.key_id(), k2.key_id());
        let pk = PublicKey::load(&pub_path).unwrap();
        let sig = k2.sign(b"hello");
        assert!(pk.verify(b"hello", &sig));
        assert!(!pk.verify(b"hellO", &sig));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let trusted = TrustedKeys::load(dir.path()).unwrap();
        assert!(trusted.get(&k.key_id()).is_some());
        // A secret key is not a public key.
        assert!(PublicKey::load(&p).is_err());
    }
}
