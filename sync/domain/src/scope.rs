//! Scopes: who may read a record. The hub keeps one change log per scope and sends a
//! device the logs of its scopes only.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The readers of a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Base data and tasks of one grid: every device working in it (`grid:<grid id>`).
    Grid(String),
    /// The event catalog and the organisation tree above the grids (`catalog`).
    Catalog,
    /// Notices for every device (`notices`).
    Notices,
    /// Notices for the devices under one node of the organisation tree, or only for
    /// those of one role there (`notices:<node id>`, `notices:<node id>@<role>`).
    NodeNotices { node: String, role: Option<String> },
    /// The lifecycle of one device's own reports (`device:<device id>`).
    Device(String),
    /// Records that only travel up (visits, diary, patrols …), kept for the centre and
    /// never sent back down (`up:<device id>`).
    Up(String),
    /// The reports of one person (a field staff account), whichever device they used:
    /// a replacement device keeps following them (`account:<account id>`).
    Account(String),
    /// The centre's own records no device reads (the city node above the districts …)
    /// (`hub`).
    Hub,
}

impl Scope {
    /// Whether devices pull this scope's change log.
    pub fn is_pulled(&self) -> bool {
        !matches!(self, Scope::Up(_) | Scope::Hub)
    }

    /// The scope of a notice whose audience (its `area` field) is `area`: `<node id>` or
    /// `<node id>@<role>`; empty (or anything else) is every device.
    pub fn for_notice(area: &str) -> Scope {
        match format!("notices:{area}").parse() {
            Ok(s @ Scope::NodeNotices { .. }) => s,
            _ => Scope::Notices,
        }
    }

    /// The audience of a notice scope, as a notice's `area` field states it (the inverse
    /// of [`Scope::for_notice`]); empty for everyone's.
    pub fn notice_audience(&self) -> Option<String> {
        match self {
            Scope::Notices => Some(String::new()),
            Scope::NodeNotices { node, role: None } => Some(node.clone()),
            Scope::NodeNotices {
                node,
                role: Some(r),
            } => Some(format!("{node}@{r}")),
            _ => None,
        }
    }

    /// The grid of a grid scope.
    pub fn grid(&self) -> Option<&str> {
        match self {
            Scope::Grid(g) => Some(g),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Grid(g) => write!(f, "grid:{g}"),
            Scope::Catalog => f.write_str("catalog"),
            Scope::Notices => f.write_str("notices"),
            Scope::NodeNotices { node, role: None } => write!(f, "notices:{node}"),
            Scope::NodeNotices {
                node,
                role: Some(r),
            } => write!(f, "notices:{node}@{r}"),
            Scope::Device(d) => write!(f, "device:{d}"),
            Scope::Up(d) => write!(f, "up:{d}"),
            Scope::Account(a) => write!(f, "account:{a}"),
            Scope::Hub => f.write_str("hub"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UnknownScope(s.chars().take(80).collect());
        let id = |rest: &str| {
            (!rest.is_empty() && rest.len() <= 64 && !rest.contains(char::is_control))
                .then(|| rest.to_string())
                .ok_or_else(bad)
        };
        match s {
            "catalog" => Ok(Scope::Catalog),
            "notices" => Ok(Scope::Notices),
            "hub" => Ok(Scope::Hub),
            _ => match s.split_once(':') {
                Some(("grid", g)) => id(g).map(Scope::Grid),
                Some(("device", d)) => id(d).map(Scope::Device),
                Some(("up", d)) => id(d).map(Scope::Up),
                Some(("account", a)) => id(a).map(Scope::Account),
                // A node id has no `@` (a record id is letters, digits, - _ . :).
                Some(("notices", rest)) => match rest.rsplit_once('@') {
                    Some((node, role))
                        if !role.is_empty()
                            && role.len() <= 32
                            && role.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
                    {
                        Ok(Scope::NodeNotices {
                            node: id(node)?,
                            role: Some(role.to_string()),
                        })
                    }
                    Some(_) => Err(bad()),
                    None => Ok(Scope::NodeNotices {
                        node: id(rest)?,
                        role: None,
                    }),
                },
                _ => Err(bad()),
            },
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_text() {
        for s in [
            Scope::Grid("g1".into()),
            Scope::Catalog,
            Scope::Notices,
            Scope::NodeNotices {
                node: "330211001".into(),
                role: None,
            },
            Scope::NodeNotices {
                node: "33021100100101".into(),
                role: Some("field_staff".into()),
            },
            Scope::Device("0190-abc".into()),
            Scope::Up("0190-abc".into()),
            Scope::Account("0190-acc".into()),
            Scope::Hub,
        ] {
            assert_eq!(s.to_string().parse::<Scope>().unwrap(), s);
        }
        for bad in [
            "grid:",
            "grid",
            "people:1",
            "",
            "device:\n",
            "notices:",
            "notices:n@",
            "notices:n@Role",
            "notices:@field_staff",
        ] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
        assert!(!Scope::Up("d".into()).is_pulled());
        assert!(Scope::Grid("g".into()).is_pulled());
    }

    #[test]
    fn a_notice_scope_is_its_audience() {
        assert_eq!(Scope::for_notice(""), Scope::Notices);
        assert_eq!(Scope::for_notice("bad@@x y"), Scope::Notices);
        for area in ["330211001", "330211001@field_staff"] {
            let s = Scope::for_notice(area);
            assert!(matches!(s, Scope::NodeNotices { .. }), "{area}");
            assert_eq!(s.notice_audience().as_deref(), Some(area));
        }
        assert_eq!(Scope::Catalog.notice_audience(), None);
    }
}
