//! The conference logbook (sổ ghi biên bản, R12): per conference, an
//! append-only, hash-chained list of entries.
//!
//! - **Append-only.** Rows are inserted, never updated or deleted. An edit is
//!   a [`LogbookKind::Correction`] that names the corrected entry's `seq` in
//!   `refers_to`.
//! - **Tamper-evident.** Each entry stores the hash of the previous entry of
//!   its conference (64 zeros for the first) and its own hash, SHA-256 over a
//!   canonical encoding of every field (see [`entry_hash`]). [`Store::verify_logbook`]
//!   walks the chain and names the first broken `seq`. The chain cannot show
//!   that entries were cut off *at the end*; the final hash printed on the
//!   signed export is what proves that.
//! - **Closed by the sign-off.** A [`LogbookKind::SignOff`] entry (the duty
//!   officer's signature) is the last entry: every later append, automatic
//!   ones included, is refused with [`StoreError::LogbookSigned`].
//! - **Safe under concurrency.** An append reads the last entry and inserts
//!   the next one in one transaction (SQLite: `BEGIN IMMEDIATE`, so appenders
//!   queue on the write lock); on PostgreSQL two appenders racing for the same
//!   `seq` meet the primary key, and the loser retries on the new last entry.

use std::fmt;
use std::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, foreign_key_violation, unique_violation};

names! {
    /// Who or what wrote a logbook entry.
    LogbookKind {
        /// Written by the system: phase changes, joins, leaves, alarms, operator actions.
        Auto = "auto",
        /// Written by an operator: an incident and its remedy, a note.
        Operator = "operator",
        /// An operator's correction of an earlier entry (`refers_to`).
        Correction = "correction",
        /// The duty officer's sign-off; closes the logbook.
        SignOff = "sign_off",
    }
}

names! {
    /// What a logbook entry is about.
    LogbookCategory {
        /// The conference changed phase (created, live, ended).
        Phase = "phase",
        /// An endpoint joined.
        Join = "join",
        /// An endpoint left.
        Leave = "leave",
        /// An endpoint's connection dropped.
        Drop = "drop",
        /// An endpoint reconnected after a drop.
        Reconnect = "reconnect",
        /// An alarm (quality, media, link).
        Alarm = "alarm",
        /// An endpoint's readiness result (R10).
        Readiness = "readiness",
        /// An operator action taken from the audit log.
        Action = "action",
        /// An incident and its remedy.
        Incident = "incident",
        /// A free note.
        Note = "note",
        /// The sign-off.
        SignOff = "sign_off",
    }
}

/// The `prev_hash` of a logbook's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append; the store gives it its `seq`, `prev_hash` and `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLogbookEntry {
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who or what wrote it.
    pub kind: LogbookKind,
    /// What it is about.
    pub category: LogbookCategory,
    /// Username, or `system`.
    pub actor: String,
    /// The entry's text (Unicode).
    pub text: String,
    /// Structured details (JSON text; `{}` when none).
    pub details: String,
    /// The corrected entry's `seq` (corrections only).
    pub refers_to: Option<i64>,
}

/// A stored logbook entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogbookEntry {
    /// The conference.
    pub conference_id: String,
    /// Position in the conference's logbook, from 1.
    pub seq: i64,
    /// The entry.
    pub entry: NewLogbookEntry,
    /// Hash of the previous entry, hex ([`GENESIS_HASH`] for seq 1).
    pub prev_hash: String,
    /// This entry's hash, hex ([`entry_hash`]).
    pub hash: String,
}

/// Why a chain is broken at an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainBreak {
    /// The entry's fields do not give its stored hash: it was changed.
    HashMismatch,
    /// The entry's `prev_hash` is not the previous entry's hash: an entry
    /// before it was changed, removed or moved.
    PrevHashMismatch,
    /// The entry with this `seq` is missing (the next one found has `found`).
    Missing {
        /// The seq found where this one was expected.
        found: i64,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HashMismatch => f.write_str("hash_mismatch"),
            Self::PrevHashMismatch => f.write_str("prev_hash_mismatch"),
            Self::Missing { .. } => f.write_str("missing"),
        }
    }
}

/// The result of walking a logbook's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogbookVerification {
    /// Every link holds.
    Intact {
        /// How many entries.
        entries: i64,
        /// The last entry's hash ([`GENESIS_HASH`] for an empty logbook).
        last_hash: String,
    },
    /// The first broken link.
    Broken {
        /// The first entry that does not verify.
        seq: i64,
        /// Why.
        reason: ChainBreak,
    },
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// The canonical encoding an entry's hash is taken over: a version tag, then
/// every field in a fixed order, texts as an 8-byte big-endian length and
/// their UTF-8 bytes, integers as 8 bytes big-endian, `refers_to` as a 0/1
/// presence byte (and the value when present). No two different entries
/// encode alike, so no field can bleed into its neighbour.
pub fn canonical_encoding(
    conference_id: &str,
    seq: i64,
    e: &NewLogbookEntry,
    prev_hash: &str,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128 + e.text.len() + e.details.len());
    put_bytes(&mut buf, b"mcu-logbook-v1");
    put_bytes(&mut buf, conference_id.as_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&e.at_ms.to_be_bytes());
    put_bytes(&mut buf, e.kind.as_str().as_bytes());
    put_bytes(&mut buf, e.category.as_str().as_bytes());
    put_bytes(&mut buf, e.actor.as_bytes());
    put_bytes(&mut buf, e.text.as_bytes());
    put_bytes(&mut buf, e.details.as_bytes());
    match e.refers_to {
        Some(r) => {
            buf.push(1);
            buf.extend_from_slice(&r.to_be_bytes());
        }
        None => buf.push(0),
    }
    put_bytes(&mut buf, prev_hash.as_bytes());
    buf
}

/// SHA-256 of [`canonical_encoding`], lowercase hex.
pub fn entry_hash(conference_id: &str, seq: i64, e: &NewLogbookEntry, prev_hash: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        &canonical_encoding(conference_id, seq, e, prev_hash),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends retried after losing a race for the same `seq`.
const APPEND_ATTEMPTS: usize = 16;

macro_rules! logbook_select {
    ($tail:literal) => {
        concat!(
            "SELECT conference_id, seq, at_ms, kind, category, actor, text, details, refers_to, ",
            "prev_hash, hash FROM logbook_entries ",
            $tail
        )
    };
}

fn entry_from_row(r: &AnyRow) -> Result<LogbookEntry, StoreError> {
    let kind: String = r.try_get("kind")?;
    let category: String = r.try_get("category")?;
    Ok(LogbookEntry {
        conference_id: r.try_get("conference_id")?,
        seq: r.try_get("seq")?,
        entry: NewLogbookEntry {
            at_ms: r.try_get("at_ms")?,
            kind: LogbookKind::from_str(&kind)
                .map_err(|_| StoreError::Corrupt(format!("logbook kind {kind}")))?,
            category: LogbookCategory::from_str(&category)
                .map_err(|_| StoreError::Corrupt(format!("logbook category {category}")))?,
            actor: r.try_get("actor")?,
            text: r.try_get("text")?,
            details: r.try_get("details")?,
            refers_to: r.try_get("refers_to")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

enum Attempt {
    Done(LogbookEntry),
    Lost,
}

impl Store {
    /// Appends one entry to a conference's logbook and returns it stored,
    /// with its `seq` and hashes. Fails with [`StoreError::NotFound`] for an
    /// unknown conference, [`StoreError::LogbookSigned`] once the logbook is
    /// signed off, and [`StoreError::NoSuchEntry`] when a correction's
    /// `refers_to` names no earlier entry. A sign-off closes the logbook.
    pub async fn append_logbook(
        &self,
        conference_id: &str,
        entry: &NewLogbookEntry,
    ) -> Result<LogbookEntry, StoreError> {
        for _ in 0..APPEND_ATTEMPTS {
            match self.try_append_logbook(conference_id, entry).await? {
                Attempt::Done(stored) => return Ok(stored),
                Attempt::Lost => continue,
            }
        }
        Err(StoreError::Busy(format!(
            "logbook of conference {conference_id}"
        )))
    }

    async fn try_append_logbook(
        &self,
        conference_id: &str,
        entry: &NewLogbookEntry,
    ) -> Result<Attempt, StoreError> {
        // Two appenders queue instead of both reading the same last entry.
        let mut tx = self.begin_write().await?;
        let last = sqlx::query(
            "SELECT seq, kind, hash FROM logbook_entries WHERE conference_id = $1 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(conference_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (seq, prev_hash) = match &last {
            Some(row) => {
                let kind: String = row.try_get("kind")?;
                if kind == LogbookKind::SignOff.as_str() {
                    return Err(StoreError::LogbookSigned(conference_id.to_owned()));
                }
                (
                    row.try_get::<i64, _>("seq")? + 1,
                    row.try_get::<String, _>("hash")?,
                )
            }
            None => (1, GENESIS_HASH.to_owned()),
        };
        if let Some(target) = entry.refers_to {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM logbook_entries WHERE conference_id = $1 AND seq = $2",
            )
            .bind(conference_id)
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?;
            if found.is_none() {
                return Err(StoreError::NoSuchEntry(conference_id.to_owned(), target));
            }
        }
        let hash = entry_hash(conference_id, seq, entry, &prev_hash);
        let inserted = sqlx::query(
            "INSERT INTO logbook_entries (conference_id, seq, at_ms, kind, category, actor, \
             text, details, refers_to, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(conference_id)
        .bind(seq)
        .bind(entry.at_ms)
        .bind(entry.kind.as_str())
        .bind(entry.category.as_str())
        .bind(&entry.actor)
        .bind(&entry.text)
        .bind(&entry.details)
        .bind(entry.refers_to)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another appender took this seq first: start over on its entry.
            Err(e) if unique_violation(&e) => return Ok(Attempt::Lost),
            Err(e) if foreign_key_violation(&e) => {
                return Err(StoreError::NotFound(format!("conference {conference_id}")));
            }
            Err(e) => return Err(e.into()),
        }
        match tx.commit().await {
            Ok(()) => {}
            Err(e) if unique_violation(&e) => return Ok(Attempt::Lost),
            Err(e) => return Err(e.into()),
        }
        Ok(Attempt::Done(LogbookEntry {
            conference_id: conference_id.to_owned(),
            seq,
            entry: entry.clone(),
            prev_hash,
            hash,
        }))
    }

    /// A page of a conference's logbook, oldest first: at most `limit`
    /// entries with a `seq` greater than `after` (from the start if `None`).
    pub async fn list_logbook(
        &self,
        conference_id: &str,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<LogbookEntry>, StoreError> {
        let rows = sqlx::query(logbook_select!(
            "WHERE conference_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(conference_id)
        .bind(after.unwrap_or(i64::MIN))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// A conference's whole logbook, oldest first.
    pub async fn logbook(&self, conference_id: &str) -> Result<Vec<LogbookEntry>, StoreError> {
        self.list_logbook(conference_id, None, i64::MAX).await
    }

    /// Walks a conference's chain from the first entry: each `seq` follows
    /// the one before, each hash matches the entry's fields, each
    /// `prev_hash` matches the previous entry's hash. Returns the first
    /// broken entry, or the count and the last hash.
    pub async fn verify_logbook(
        &self,
        conference_id: &str,
    ) -> Result<LogbookVerification, StoreError> {
        Ok(verify_chain(
            conference_id,
            &self.logbook(conference_id).await?,
        ))
    }
}

/// [`Store::verify_logbook`] on entries already read (in `seq` order).
pub fn verify_chain(conference_id: &str, entries: &[LogbookEntry]) -> LogbookVerification {
    let mut prev = GENESIS_HASH;
    let mut expected = 1;
    for e in entries {
        if e.seq != expected {
            return LogbookVerification::Broken {
                seq: expected,
                reason: ChainBreak::Missing { found: e.seq },
            };
        }
        if entry_hash(conference_id, e.seq, &e.entry, &e.prev_hash) != e.hash {
            return LogbookVerification::Broken {
                seq: e.seq,
                reason: ChainBreak::HashMismatch,
            };
        }
        if e.prev_hash != prev {
            return LogbookVerification::Broken {
                seq: e.seq,
                reason: ChainBreak::PrevHashMismatch,
            };
        }
        prev = &e.hash;
        expected += 1;
    }
    LogbookVerification::Intact {
        entries: expected - 1,
        last_hash: prev.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, details: &str) -> NewLogbookEntry {
        NewLogbookEntry {
            at_ms: 1,
            kind: LogbookKind::Operator,
            category: LogbookCategory::Note,
            actor: "dieuhanh".into(),
            text: text.into(),
            details: details.into(),
            refers_to: None,
        }
    }

    #[test]
    fn the_encoding_keeps_fields_apart() {
        // Plain concatenation would give "ab" + "c" == "a" + "bc".
        let a = entry_hash("c", 1, &entry("ab", "c"), GENESIS_HASH);
        let b = entry_hash("c", 1, &entry("a", "bc"), GENESIS_HASH);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let mut with_ref = entry("ab", "c");
        with_ref.refers_to = Some(0);
        assert_ne!(entry_hash("c", 1, &with_ref, GENESIS_HASH), a);
        assert_eq!(a, entry_hash("c", 1, &entry("ab", "c"), GENESIS_HASH));
    }
}
