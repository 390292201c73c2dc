//! Versions of bundles and installed releases: semantic versions (the crate version), compared
//! by semver precedence.

use crate::{Error, Result};
use std::cmp::Ordering;

/// Parses a version; a leading `v` is accepted (`v1.2.3`).
pub fn parse(s: &str) -> Result<semver::Version> {
    let t = s.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    semver::Version::parse(t).map_err(|_| Error::BadVersion(s.to_string()))
}

pub fn compare(a: &str, b: &str) -> Result<Ordering> {
    Ok(parse(a)?.cmp_precedence(&parse(b)?))
}

/// Finds a version in the output of `program --version` (`gridpad 0.1.0` → `0.1.0`): the last
/// whitespace-separated word that parses.
pub fn from_version_output(out: &str) -> Option<String> {
    out.split_whitespace()
        .rev()
        .find(|w| parse(w).is_ok())
        .map(|w| w.trim_start_matches('v').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering() {
        assert_eq!(compare("0.2.0", "0.10.0").unwrap(), Ordering::Less);
        assert_eq!(compare("1.0.0-rc.1", "1.0.0").unwrap(), Ordering::Less);
        assert_eq!(compare("v1.0.0", "1.0.0").unwrap(), Ordering::Equal);
        assert!(parse("1.0").is_err());
        assert_eq!(
            from_version_output("gridpad 0.1.0\n").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(from_version_output("nonsense"), None);
    }
}
