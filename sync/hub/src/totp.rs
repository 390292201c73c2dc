//! RFC 6238 TOTP (SHA-1, 6 digits, 30 s) — the form every authenticator app reads: the
//! optional second factor of console accounts.

const STEP_MS: u64 = 30_000;
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0);
    for &b in bytes {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(B32[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(B32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn decode(s: &str) -> Option<Vec<u8>> {
    let (mut buf, mut bits, mut out) = (0u32, 0, vec![]);
    for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = B32
            .iter()
            .position(|b| *b as char == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The code of `secret` at the time step of `ms`.
pub fn code(secret: &[u8], ms: u64) -> String {
    let counter = (ms / STEP_MS).to_be_bytes();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = ring::hmac::sign(&key, &counter);
    let h = mac.as_ref();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    format!("{:06}", bin % 1_000_000)
}

/// Whether `given` is the code of this step or a neighbouring one (clock skew).
pub fn check(secret_b32: &str, given: &str, ms: u64) -> bool {
    let Some(secret) = decode(secret_b32) else {
        return false;
    };
    let given = given.trim();
    [ms.saturating_sub(STEP_MS), ms, ms + STEP_MS]
        .iter()
        .any(|t| same(code(&secret, *t).as_bytes(), given.as_bytes()))
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B (SHA-1), last six digits.
        assert_eq!(super::code(secret, 59_000), "287082");
        assert_eq!(super::code(secret, 1_111_111_109_000), "081804");
        assert_eq!(super::code(secret, 2_000_000_000_000), "279037");
        let b32 = super::encode(secret);
        assert_eq!(super::decode(&b32).unwrap(), secret);
        assert!(super::check(&b32, "287082", 59_000 + 29_000));
        assert!(!super::check(&b32, "287083", 59_000));
    }
}
