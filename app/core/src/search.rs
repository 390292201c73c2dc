//! Chinese search over people, houses and organisations.
//!
//! Names and addresses are indexed in FTS5 one character per token (`王 芳 华`), so a
//! fragment of any length — 张, 王芳, 幸福社区 — is a phrase query answered from the index
//! (FTS5's trigram tokenizer cannot answer 1–2 character queries, and `LIKE '%…%'` would
//! scan). ID numbers and phones are searched by their tails through indexes on the reversed
//! strings. Results come in relevance tiers (exact name, name starts with, name contains,
//! address contains), each in a stable order, and are paged with a keyset cursor
//! `tier:rowid`, so page N costs the same as page 1.

use crate::error::{Error, Result};
use crate::model::{id_number, masked_phone};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use serde::{Deserialize, Serialize};

/// Text as the index sees it: letters and digits only, lower-cased, one per token.
pub fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars().filter(|c| c.is_alphanumeric()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

pub(crate) fn index_person(conn: &Connection, id: &str, fresh: bool) -> Result<()> {
    let row: Option<(i64, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT p.rid, p.name, h.full_address FROM person p LEFT JOIN house h ON h.id = p.house_id WHERE p.id = ?",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((rid, name, addr)) = row {
        if !fresh {
            conn.prepare_cached("DELETE FROM person_fts WHERE rowid = ?")?
                .execute([rid])?;
        }
        conn.prepare_cached("INSERT INTO person_fts (rowid, name, addr) VALUES (?, ?, ?)")?
            .execute(params![
                rid,
                spaced(&name),
                spaced(addr.as_deref().unwrap_or(""))
            ])?;
    }
    Ok(())
}

/// Index a house's address; `fresh` for a new row, whose residents need no refresh.
pub(crate) fn index_house(conn: &Connection, id: &str, fresh: bool) -> Result<()> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT rid, full_address FROM house WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((rid, addr)) = row {
        if !fresh {
            conn.prepare_cached("DELETE FROM house_fts WHERE rowid = ?")?
                .execute([rid])?;
        }
        conn.prepare_cached("INSERT INTO house_fts (rowid, addr) VALUES (?, ?)")?
            .execute(params![rid, spaced(&addr)])?;
        if !fresh {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT id FROM person WHERE house_id = ?")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for pid in ids {
                index_person(conn, &pid, false)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn index_organisation(conn: &Connection, id: &str, fresh: bool) -> Result<()> {
    let row: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT rid, name, address_text FROM organisation WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((rid, name, addr)) = row {
        if !fresh {
            conn.prepare_cached("DELETE FROM organisation_fts WHERE rowid = ?")?
                .execute([rid])?;
        }
        conn.prepare_cached("INSERT INTO organisation_fts (rowid, name, addr) VALUES (?, ?, ?)")?
            .execute(params![rid, spaced(&name), spaced(&addr)])?;
    }
    Ok(())
}

pub(crate) fn unindex(conn: &Connection, table: &str, id: &str) -> Result<()> {
    let rid: Option<i64> = conn
        .query_row(
            &format!("SELECT rid FROM {table} WHERE id = ?"),
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(rid) = rid {
        conn.execute(&format!("DELETE FROM {table}_fts WHERE rowid = ?"), [rid])?;
    }
    Ok(())
}

/// Rebuild every search index from the tables (after a migration or a bulk load).
pub fn rebuild_all(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM person_fts; DELETE FROM house_fts; DELETE FROM organisation_fts;",
    )?;
    let ids = |table: &str| -> Result<Vec<String>> {
        Ok(conn
            .prepare(&format!("SELECT id FROM {table}"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    };
    // The tables were just emptied: every row is fresh.
    for id in ids("house")? {
        index_house(conn, &id, true)?;
    }
    for id in ids("person")? {
        index_person(conn, &id, true)?;
    }
    for id in ids("organisation")? {
        index_organisation(conn, &id, true)?;
    }
    optimize(conn)
}

/// Merge the index segments after a bulk load (faster queries, smaller file).
pub fn optimize(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "INSERT INTO person_fts(person_fts) VALUES ('optimize');
         INSERT INTO house_fts(house_fts) VALUES ('optimize');
         INSERT INTO organisation_fts(organisation_fts) VALUES ('optimize');",
    )?;
    Ok(())
}

/// One page of results and the cursor for the next, if there may be more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchPage<T> {
    pub hits: Vec<T>,
    pub next: Option<String>,
}

/// A resident found by search, as a list shows it (ID number and phone masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonHit {
    pub id: String,
    pub name: String,
    pub sex: String,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub tags: Vec<String>,
    /// What matched: name, name_prefix, name_part, address, id_number, id_tail, phone, phone_tail
    pub matched: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseHit {
    pub id: String,
    pub full_address: String,
    pub use_: String,
    pub residents: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrganisationHit {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub contact_phone: Option<String>,
    pub matched: String,
}

/// A relevance tier: SQL returning `rid`s in ascending order, given `:after` and `:limit`.
struct Tier {
    matched: &'static str,
    sql: &'static str,
    params: Vec<(&'static str, SqlValue)>,
}

fn parse_cursor(cursor: Option<&str>) -> Result<(usize, i64)> {
    match cursor {
        None => Ok((0, 0)),
        Some(c) => {
            let bad = || Error::Invalid(format!("not a search cursor: {c:?}"));
            let (t, r) = c.split_once(':').ok_or_else(bad)?;
            Ok((t.parse().map_err(|_| bad())?, r.parse().map_err(|_| bad())?))
        }
    }
}

/// `(rowid, what matched)` pairs in rank order.
type TierHits = Vec<(i64, &'static str)>;

/// Walk the tiers from the cursor, collecting up to `limit` `(rid, matched)` pairs.
fn run_tiers(
    conn: &Connection,
    tiers: &[Tier],
    limit: usize,
    cursor: Option<&str>,
) -> Result<(TierHits, Option<String>)> {
    let (start_tier, mut after) = parse_cursor(cursor)?;
    let mut out = Vec::new();
    for (ti, tier) in tiers.iter().enumerate().skip(start_tier) {
        let want = limit - out.len();
        let mut stmt = conn.prepare_cached(tier.sql)?;
        let mut bound: Vec<(&str, &dyn ToSql)> = vec![];
        let want_i = want as i64;
        for (name, value) in &tier.params {
            bound.push((name, value as &dyn ToSql));
        }
        bound.push((":after", &after));
        bound.push((":limit", &want_i));
        let rids: Vec<i64> = stmt
            .query_map(bound.as_slice(), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let got = rids.len();
        out.extend(rids.into_iter().map(|rid| (rid, tier.matched)));
        if got == want {
            let last = out.last().map(|(rid, _)| *rid).unwrap_or(0);
            return Ok((out, Some(format!("{ti}:{last}"))));
        }
        after = 0;
    }
    Ok((out, None))
}

fn is_number_query(q: &str) -> bool {
    q.len() >= 3
        && q.chars()
            .all(|c| c.is_ascii_digit() || c == 'X' || c == 'x')
}

const TOP: char = '\u{10FFFF}';

/// Find residents by a fragment of their name (张, 王芳), of their address, by the tail
/// of their ID number (≥ 3 digits), or by phone number or its tail.
pub fn people(
    conn: &Connection,
    query: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<SearchPage<PersonHit>> {
    let q = query.trim();
    let tiers = if is_number_query(q) {
        let up = q.to_uppercase();
        let r: String = up.chars().rev().collect();
        let ru = format!("{r}{TOP}");
        let qu = format!("{q}{TOP}");
        vec![
            Tier {
                matched: "id_or_phone",
                sql: "SELECT rid FROM person WHERE (id_rev = :r OR phone = :q) AND rid > :after ORDER BY rid LIMIT :limit",
                params: vec![(":r", r.clone().into()), (":q", q.to_string().into())],
            },
            Tier {
                matched: "id_tail",
                sql: "SELECT rid FROM person WHERE id_rev >= :r AND id_rev < :ru AND id_rev != :r AND coalesce(phone, '') != :q
                      AND rid > :after ORDER BY rid LIMIT :limit",
                params: vec![(":r", r.clone().into()), (":ru", ru.clone().into()), (":q", q.to_string().into())],
            },
            Tier {
                matched: "phone_tail",
                sql: "SELECT rid FROM person WHERE phone_rev >= :r AND phone_rev < :ru AND phone != :q
                      AND NOT (coalesce(id_rev, '') >= :r AND coalesce(id_rev, '') < :ru)
                      AND rid > :after ORDER BY rid LIMIT :limit",
                params: vec![(":r", r.clone().into()), (":ru", ru.clone().into()), (":q", q.to_string().into())],
            },
            Tier {
                matched: "phone_prefix",
                sql: "SELECT rid FROM person WHERE phone >= :q AND phone < :qu AND phone != :q
                      AND NOT (coalesce(phone_rev, '') >= :r AND coalesce(phone_rev, '') < :ru)
                      AND NOT (coalesce(id_rev, '') >= :r AND coalesce(id_rev, '') < :ru)
                      AND rid > :after ORDER BY rid LIMIT :limit",
                params: vec![(":q", q.to_string().into()), (":qu", qu.into()), (":r", r.into()), (":ru", ru.into())],
            },
        ]
    } else {
        let s = spaced(q);
        if s.is_empty() {
            return Ok(SearchPage {
                hits: vec![],
                next: None,
            });
        }
        let phrase = format!("\"{s}\"");
        vec![
            Tier {
                matched: "name",
                sql: "SELECT rid FROM person WHERE name = :q AND rid > :after ORDER BY rid LIMIT :limit",
                params: vec![(":q", q.to_string().into())],
            },
            Tier {
                matched: "name_prefix",
                sql: "SELECT f.rowid FROM person_fts f JOIN person p ON p.rid = f.rowid
                      WHERE person_fts MATCH :m AND f.rowid > :after AND p.name != :q ORDER BY f.rowid LIMIT :limit",
                params: vec![(":m", format!("name : ^{phrase}").into()), (":q", q.to_string().into())],
            },
            Tier {
                matched: "name_part",
                sql: "SELECT rowid FROM person_fts WHERE person_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
                params: vec![(":m", format!("name : {phrase} NOT name : ^{phrase}").into())],
            },
            Tier {
                matched: "address",
                sql: "SELECT rowid FROM person_fts WHERE person_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
                params: vec![(":m", format!("addr : {phrase} NOT name : {phrase}").into())],
            },
        ]
    };
    let (rids, next) = run_tiers(conn, &tiers, limit.max(1), cursor)?;
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.name, p.sex, p.birth_date, p.id_number, p.phone, h.full_address, p.tags
         FROM person p LEFT JOIN house h ON h.id = p.house_id WHERE p.rid = ?",
    )?;
    let mut hits = Vec::with_capacity(rids.len());
    for (rid, matched) in rids {
        hits.push(stmt.query_row([rid], |r| {
            let id_no: Option<String> = r.get(4)?;
            let phone: Option<String> = r.get(5)?;
            let tags: String = r.get(7)?;
            Ok(PersonHit {
                id: r.get(0)?,
                name: r.get(1)?,
                sex: r.get(2)?,
                birth_date: r.get(3)?,
                id_number: id_no.as_deref().map(id_number::masked),
                phone: phone.as_deref().map(masked_phone),
                address: r.get(6)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                matched: matched.to_string(),
            })
        })?);
    }
    Ok(SearchPage { hits, next })
}

/// Find houses by any fragment of their address (幸福, 3栋, 502).
pub fn houses(
    conn: &Connection,
    query: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<SearchPage<HouseHit>> {
    let s = spaced(query);
    if s.is_empty() {
        return Ok(SearchPage {
            hits: vec![],
            next: None,
        });
    }
    let tiers = [Tier {
        matched: "address",
        sql: "SELECT rowid FROM house_fts WHERE house_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
        params: vec![(":m", format!("addr : \"{s}\"").into())],
    }];
    let (rids, next) = run_tiers(conn, &tiers, limit.max(1), cursor)?;
    let mut stmt = conn.prepare_cached(
        "SELECT h.id, h.full_address, h.use, (SELECT count(*) FROM person p WHERE p.house_id = h.id)
         FROM house h WHERE h.rid = ?",
    )?;
    let mut hits = Vec::with_capacity(rids.len());
    for (rid, _) in rids {
        hits.push(stmt.query_row([rid], |r| {
            Ok(HouseHit {
                id: r.get(0)?,
                full_address: r.get(1)?,
                use_: r.get(2)?,
                residents: r.get(3)?,
            })
        })?);
    }
    Ok(SearchPage { hits, next })
}

/// Find organisations (单位: shops, companies …) by a fragment of their name, then of their address.
pub fn organisations(
    conn: &Connection,
    query: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<SearchPage<OrganisationHit>> {
    let q = query.trim();
    let s = spaced(q);
    if s.is_empty() {
        return Ok(SearchPage {
            hits: vec![],
            next: None,
        });
    }
    let phrase = format!("\"{s}\"");
    let tiers = [
        Tier {
            matched: "name",
            sql: "SELECT rowid FROM organisation_fts WHERE organisation_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
            params: vec![(":m", format!("name : ^{phrase}").into())],
        },
        Tier {
            matched: "name_part",
            sql: "SELECT rowid FROM organisation_fts WHERE organisation_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
            params: vec![(":m", format!("name : {phrase} NOT name : ^{phrase}").into())],
        },
        Tier {
            matched: "address",
            sql: "SELECT rowid FROM organisation_fts WHERE organisation_fts MATCH :m AND rowid > :after ORDER BY rowid LIMIT :limit",
            params: vec![(":m", format!("addr : {phrase} NOT name : {phrase}").into())],
        },
    ];
    let (rids, next) = run_tiers(conn, &tiers, limit.max(1), cursor)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, kind, address_text, contact_phone FROM organisation WHERE rid = ?",
    )?;
    let mut hits = Vec::with_capacity(rids.len());
    for (rid, matched) in rids {
        hits.push(stmt.query_row([rid], |r| {
            let phone: Option<String> = r.get(4)?;
            Ok(OrganisationHit {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                address: r.get(3)?,
                contact_phone: phone.as_deref().map(masked_phone),
                matched: matched.to_string(),
            })
        })?);
    }
    Ok(SearchPage { hits, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_keeps_letters_and_digits_one_per_token() {
        assert_eq!(spaced("王芳"), "王 芳");
        assert_eq!(spaced(" 幸福社区3栋-502室 "), "幸 福 社 区 3 栋 5 0 2 室");
        assert_eq!(spaced("阿卜杜·买买提"), "阿 卜 杜 买 买 提");
        assert_eq!(spaced("ABc"), "a b c");
        assert_eq!(spaced("\"*^:()"), "");
    }

    #[test]
    fn cursors_parse_or_fail_clearly() {
        assert_eq!(parse_cursor(None).unwrap(), (0, 0));
        assert_eq!(parse_cursor(Some("2:15")).unwrap(), (2, 15));
        assert!(parse_cursor(Some("x")).is_err());
        assert!(parse_cursor(Some("1:y")).is_err());
    }
}
