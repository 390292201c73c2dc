//! Store access for photo evidence (gridpad-photo): photo policies, the per-device seal
//! chain (table `seal`) and resumable upload state (`photo.upload_id`, `upload_offset`,
//! `state`, `thumb_sha256`).
//!
//! Upload state and seals are device-local bookkeeping, not domain data: they change
//! without an outbox row. (Seals travel to the hub with the sync push, read from here.)

use crate::error::{Error, Result};
use crate::queries::{photo_item, PhotoItem};
use crate::store::Store;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One row of the `seal` table: a sealed record of this device's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealRow {
    pub seq: i64,
    pub record_entity: String,
    pub record_id: String,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
    /// The canonical bytes that were hashed and signed.
    pub body: String,
    pub at: String,
}

const UPLOAD_COLS: &str = crate::queries::PHOTO_COLS;

impl Store {
    /// The raw `photo_policy` JSON of a catalog category (`None`: no such category).
    pub fn photo_policy_json(&self, category_code: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT photo_policy FROM catalog_category WHERE code = ?",
                [category_code],
                |r| r.get(0),
            )
            .optional()?)
    }

    // ---- seal chain ------------------------------------------------------------------

    /// The device's last sealed record: (seq, hash).
    pub fn last_seal(&self) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq, hash FROM seal ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Append a sealed record to the chain. It must follow the last one (`seq` one more,
    /// `prev_hash` its hash) — checked in the same transaction, so two sealers racing
    /// cannot fork the chain. A record is sealed once.
    pub fn append_seal(&self, row: &SealRow) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM seal ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (want_seq, want_prev) = match &last {
            None => (1, "0".repeat(64)),
            Some((s, h)) => (s + 1, h.clone()),
        };
        if row.seq != want_seq || row.prev_hash != want_prev {
            return Err(Error::Invalid(format!(
                "seal {} does not follow the chain (expected seq {want_seq})",
                row.seq
            )));
        }
        let sealed: Option<i64> = tx
            .query_row(
                "SELECT seq FROM seal WHERE record_entity = ? AND record_id = ?",
                params![row.record_entity, row.record_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(s) = sealed {
            return Err(Error::Invalid(format!(
                "{} {} is already sealed (seal {s})",
                row.record_entity, row.record_id
            )));
        }
        tx.execute(
            "INSERT INTO seal (seq, record_entity, record_id, prev_hash, hash, signature, body, at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                row.seq,
                row.record_entity,
                row.record_id,
                row.prev_hash,
                row.hash,
                row.signature,
                row.body,
                row.at
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn seal_rows(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<SealRow>> {
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(SealRow {
                seq: r.get(0)?,
                record_entity: r.get(1)?,
                record_id: r.get(2)?,
                prev_hash: r.get(3)?,
                hash: r.get(4)?,
                signature: r.get(5)?,
                body: r.get(6)?,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The seal of one record, if it was sealed.
    pub fn seal_of(&self, entity: &str, record_id: &str) -> Result<Option<SealRow>> {
        Ok(self
            .seal_rows(
                "SELECT seq, record_entity, record_id, prev_hash, hash, signature, body, at
                 FROM seal WHERE record_entity = ? AND record_id = ?",
                params![entity, record_id],
            )?
            .pop())
    }

    /// Seals after `seq`, in chain order (what the sync push sends next).
    pub fn seals_after(&self, seq: i64, limit: usize) -> Result<Vec<SealRow>> {
        self.seal_rows(
            "SELECT seq, record_entity, record_id, prev_hash, hash, signature, body, at
             FROM seal WHERE seq > ? ORDER BY seq LIMIT ?",
            params![seq, limit as i64],
        )
    }

    // ---- photo upload state ----------------------------------------------------------

    pub fn photo_upload(&self, sha256: &str) -> Result<Option<PhotoItem>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {UPLOAD_COLS} FROM photo WHERE sha256 = ?"),
                [sha256],
                photo_item,
            )
            .optional()?)
    }

    /// Photos still to be uploaded (local or part-way) that a record uses, oldest first.
    /// A photo no record uses (taken, then left out of the report) stays on the device.
    pub fn photos_to_upload(&self, limit: usize) -> Result<Vec<PhotoItem>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {UPLOAD_COLS} FROM photo WHERE state IN ('local', 'uploading')
               AND EXISTS (SELECT 1 FROM photo_ref r WHERE r.sha256 = photo.sha256)
             ORDER BY taken_at, sha256 LIMIT ?"
        ))?;
        let rows = stmt.query_map([limit as i64], photo_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record an acknowledged upload offset (after each chunk the hub confirmed).
    pub fn set_photo_upload(&self, sha256: &str, upload_id: &str, offset: i64) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE photo SET state = 'uploading', upload_id = ?, upload_offset = ? WHERE sha256 = ?",
            params![upload_id, offset, sha256],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("photo {sha256}")));
        }
        Ok(())
    }

    /// The hub has the photo (verified by its hash).
    pub fn mark_photo_uploaded(&self, sha256: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE photo SET state = 'uploaded', upload_id = NULL, upload_offset = bytes WHERE sha256 = ?",
            [sha256],
        )?;
        Ok(())
    }

    /// Forget an upload the hub no longer knows (expired): start again from zero.
    pub fn reset_photo_upload(&self, sha256: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE photo SET state = 'local', upload_id = NULL, upload_offset = 0 WHERE sha256 = ?",
            [sha256],
        )?;
        Ok(())
    }

    pub fn set_photo_thumb(&self, sha256: &str, thumb_sha256: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE photo SET thumb_sha256 = ? WHERE sha256 = ?",
            params![thumb_sha256, sha256],
        )?;
        Ok(())
    }

    /// Photos of a record and how many of them the hub has ("3 of 5 photos uploaded").
    pub fn record_photo_progress(&self, entity: &str, record_id: &str) -> Result<(i64, i64)> {
        Ok(self.conn().query_row(
            "SELECT count(*), coalesce(sum(p.state = 'uploaded'), 0)
             FROM photo_ref r JOIN photo p ON p.sha256 = r.sha256
             WHERE r.owner_entity = ? AND r.owner_id = ?",
            params![entity, record_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}
