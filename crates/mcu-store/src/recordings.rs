//! Recordings (R17): one row per MP4 file the daemon wrote of a
//! conference. The daemon adds the row when a recording starts, finishes
//! it when the recording stops, and marks it deleted when the retention
//! sweep removes the file.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, foreign_key_violation};

/// One recording of a conference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Row id.
    pub id: i64,
    /// The conference recorded.
    pub conference_id: String,
    /// The MP4's file name in the recordings directory (no path).
    pub file_name: String,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it stopped (`None`: running, or the daemon died during it).
    pub ended_at: Option<i64>,
    /// File size once stopped.
    pub bytes: Option<i64>,
    /// Recorded duration once stopped, ms.
    pub duration_ms: Option<i64>,
    /// When the retention sweep deleted the file.
    pub deleted_at: Option<i64>,
}

const COLUMNS: &str =
    "id, conference_id, file_name, started_at, ended_at, bytes, duration_ms, deleted_at";

fn recording_from_row(r: &AnyRow) -> Result<Recording, StoreError> {
    Ok(Recording {
        id: r.try_get("id")?,
        conference_id: r.try_get("conference_id")?,
        file_name: r.try_get("file_name")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        bytes: r.try_get("bytes")?,
        duration_ms: r.try_get("duration_ms")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

impl Store {
    /// Adds a started recording; returns its id. [`StoreError::NotFound`]
    /// when the conference does not exist.
    pub async fn add_recording(
        &self,
        conference_id: &str,
        file_name: &str,
        started_at: i64,
    ) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO recordings (conference_id, file_name, started_at) \
             VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(conference_id)
        .bind(file_name)
        .bind(started_at)
        .fetch_one(&self.pool)
        .await;
        match done {
            Ok(row) => Ok(row.try_get("id")?),
            Err(e) if foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("conference {conference_id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records how a recording ended: when, its size and duration.
    pub async fn finish_recording(
        &self,
        id: i64,
        ended_at: i64,
        bytes: i64,
        duration_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE recordings SET ended_at = $1, bytes = $2, duration_ms = $3 WHERE id = $4",
        )
        .bind(ended_at)
        .bind(bytes)
        .bind(duration_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("recording {id}")));
        }
        Ok(())
    }

    /// Marks a recording's file deleted (by the retention sweep).
    pub async fn mark_recording_deleted(&self, id: i64, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE recordings SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One recording.
    pub async fn recording(&self, id: i64) -> Result<Option<Recording>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recordings WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(recording_from_row).transpose()
    }

    /// Recordings, newest first; of one conference when given. Deleted
    /// ones are included (their `deleted_at` says so).
    pub async fn recordings(
        &self,
        conference_id: Option<&str>,
    ) -> Result<Vec<Recording>, StoreError> {
        let rows = match conference_id {
            Some(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM recordings WHERE conference_id = $1 \
                     ORDER BY started_at DESC, id DESC"
                )))
                .bind(c)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM recordings ORDER BY started_at DESC, id DESC"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(recording_from_row).collect()
    }

    /// Recordings not yet deleted that started before `cutoff` (Unix ms):
    /// what the retention sweep removes.
    pub async fn recordings_started_before(
        &self,
        cutoff: i64,
    ) -> Result<Vec<Recording>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM recordings WHERE started_at < $1 AND deleted_at IS NULL \
             ORDER BY started_at"
        )))
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(recording_from_row).collect()
    }
}
