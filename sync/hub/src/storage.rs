//! Which storage backend a hub runs on: one SQLite file in the data directory (the default:
//! nothing else to run), or a PostgreSQL database that several gridhub instances share
//! (`--database postgres://…`, or libpq's `host=… dbname=…` form).

use gridhub_store::{HubStore, StoreError};
use std::path::Path;
use std::sync::Arc;

/// The backend a `--database` value names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `gridhub.db` in the data directory.
    Sqlite,
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl Backend {
    /// `None` or `sqlite` → SQLite; `postgres://…`, `postgresql://…` or a libpq key=value
    /// string with a `dbname` or `host` → PostgreSQL. Anything else is refused.
    pub fn parse(database: Option<&str>) -> Result<Backend, StoreError> {
        let Some(d) = database.map(str::trim).filter(|d| !d.is_empty()) else {
            return Ok(Backend::Sqlite);
        };
        if d == "sqlite" {
            return Ok(Backend::Sqlite);
        }
        let keyword = d
            .split_whitespace()
            .any(|kv| kv.starts_with("host=") || kv.starts_with("dbname="));
        if d.starts_with("postgres://") || d.starts_with("postgresql://") || keyword {
            return Ok(Backend::Postgres(d.to_string()));
        }
        Err(StoreError::Backend(
            "--database: expected `sqlite`, `postgres://…` or `host=… dbname=…`".into(),
        ))
    }
}

/// Open the hub's storage: `database` as [`Backend::parse`] reads it; SQLite lives in `dir`.
pub fn open(database: Option<&str>, dir: &Path) -> Result<Arc<dyn HubStore>, StoreError> {
    Ok(match Backend::parse(database)? {
        Backend::Sqlite => Arc::new(gridhub_sqlite::SqliteStore::open(dir)?),
        Backend::Postgres(url) => Arc::new(gridhub_postgres::PgStore::connect(&url)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_option_names_a_backend_or_is_refused() {
        assert_eq!(Backend::parse(None).unwrap(), Backend::Sqlite);
        assert_eq!(Backend::parse(Some("sqlite")).unwrap(), Backend::Sqlite);
        assert!(matches!(
            Backend::parse(Some("postgres://hub@db/gridhub")).unwrap(),
            Backend::Postgres(_)
        ));
        assert!(matches!(
            Backend::parse(Some("host=/run/postgresql dbname=gridhub")).unwrap(),
            Backend::Postgres(_)
        ));
        assert!(Backend::parse(Some("mysql://x")).is_err());
    }
}
