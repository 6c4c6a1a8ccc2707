//! The notifications outbox (R9): messages to the contacts of a booking's
//! endpoints, kept until delivered and never deleted.
//!
//! - **Written with the change it announces.** [`Store::approve_booking_notifying`]
//!   and [`Store::decide_booking_notifying`] insert their messages in the
//!   booking's own transaction: a booking is never approved or cancelled
//!   without its notices, and no notice exists for a change that did not happen.
//! - **Claimed with a lease.** [`Store::claim_outbox`] takes due messages
//!   (`next_attempt_at <= now`, not delivered, no live lease) and sets
//!   `locked_until = now + lease` in one statement, so a second worker, or the
//!   same daemon restarted, does not send them again while the lease runs.
//!   The claim re-checks its condition on every row it updates: on PostgreSQL
//!   two workers racing for a row leave it to the first.
//! - **Delivered or failing.** [`Store::outbox_delivered`] ends a message;
//!   [`Store::outbox_failed`] records the error, one more attempt and the
//!   next attempt time (the worker's backoff), and drops the lease.
//! - **Retried on demand.** [`Store::retry_outbox_now`] makes a message due
//!   at once (the console's retry button); a running lease is respected.

use std::fmt;
use std::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, foreign_key_violation};

names! {
    /// How a message is delivered.
    OutboxChannel {
        /// An HTTP POST of the message as JSON to the configured webhook.
        Webhook = "webhook",
        /// An e-mail to the contact's address through the configured SMTP server.
        Email = "email",
    }
}

names! {
    /// Where a message is.
    OutboxStatus {
        /// Not tried yet.
        Pending = "pending",
        /// Tried and failed at least once; retried with backoff.
        Failing = "failing",
        /// Delivered (final).
        Delivered = "delivered",
    }
}

names! {
    /// What a message announces.
    OutboxEvent {
        /// The booking was approved: the rehearsal and official times.
        Approved = "approved",
        /// An approved booking changed: the new times.
        Changed = "changed",
        /// An approved booking was cancelled.
        Cancelled = "cancelled",
    }
}

/// A message to put in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// The booking it is about.
    pub booking_id: i64,
    /// The participating endpoint whose contact receives it.
    pub endpoint_id: String,
    /// What it announces.
    pub event: OutboxEvent,
    /// How it is delivered.
    pub channel: OutboxChannel,
    /// The contact's name (the endpoint's name when it has no contact).
    pub recipient_name: String,
    /// The contact's e-mail address (empty when unknown).
    pub recipient_email: String,
    /// The contact's phone number (empty when unknown).
    pub recipient_phone: String,
    /// Subject line (Unicode).
    pub subject: String,
    /// Body text (Unicode, lines separated by `\n`).
    pub body: String,
    /// The structured message (JSON text), what the webhook receives.
    pub payload: String,
    /// When written (Unix ms).
    pub created_at: i64,
}

/// A stored message with its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Row id, increasing; also the webhook's idempotency key.
    pub id: i64,
    /// The message.
    pub message: NewOutboxMessage,
    /// Where it is.
    pub status: OutboxStatus,
    /// Delivery attempts made so far.
    pub attempts: i64,
    /// When it is due next (Unix ms).
    pub next_attempt_at: i64,
    /// A worker holds it until then (Unix ms), if claimed.
    pub locked_until: Option<i64>,
    /// When it was last tried (Unix ms).
    pub last_attempt_at: Option<i64>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was delivered (Unix ms).
    pub delivered_at: Option<i64>,
}

macro_rules! outbox_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, booking_id, endpoint_id, event, channel, recipient_name, ",
            "recipient_email, recipient_phone, subject, body, payload, created_at, status, ",
            "attempts, next_attempt_at, locked_until, last_attempt_at, last_error, ",
            "delivered_at FROM outbox ",
            $tail
        )
    };
}

fn message_from_row(r: &AnyRow) -> Result<OutboxMessage, StoreError> {
    fn parse<T: FromStr>(r: &AnyRow, col: &str) -> Result<T, StoreError> {
        let v: String = r.try_get(col)?;
        T::from_str(&v).map_err(|_| StoreError::Corrupt(format!("outbox {col} {v}")))
    }
    Ok(OutboxMessage {
        id: r.try_get("id")?,
        message: NewOutboxMessage {
            booking_id: r.try_get("booking_id")?,
            endpoint_id: r.try_get("endpoint_id")?,
            event: parse(r, "event")?,
            channel: parse(r, "channel")?,
            recipient_name: r.try_get("recipient_name")?,
            recipient_email: r.try_get("recipient_email")?,
            recipient_phone: r.try_get("recipient_phone")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            payload: r.try_get("payload")?,
            created_at: r.try_get("created_at")?,
        },
        status: parse(r, "status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        locked_until: r.try_get("locked_until")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        last_error: r.try_get("last_error")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

/// Inserts messages in the caller's transaction; they are due at once.
pub(crate) async fn insert_outbox(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    messages: &[NewOutboxMessage],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(messages.len());
    for m in messages {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (booking_id, endpoint_id, event, channel, recipient_name, \
             recipient_email, recipient_phone, subject, body, payload, created_at, status, \
             attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $11) RETURNING id",
        )
        .bind(m.booking_id)
        .bind(&m.endpoint_id)
        .bind(m.event.as_str())
        .bind(m.channel.as_str())
        .bind(&m.recipient_name)
        .bind(&m.recipient_email)
        .bind(&m.recipient_phone)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(&m.payload)
        .bind(m.created_at)
        .bind(OutboxStatus::Pending.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("booking {}", m.booking_id))
            } else {
                e.into()
            }
        })?;
        ids.push(id);
    }
    Ok(ids)
}

impl Store {
    /// Puts messages in the outbox (all or none), due at once; returns their ids.
    pub async fn enqueue_outbox(
        &self,
        messages: &[NewOutboxMessage],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids = insert_outbox(&mut tx, messages).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Claims up to `limit` due messages of the given channels for
    /// `lease_ms`: not delivered, `next_attempt_at <= now_ms`, and no lease
    /// running. Returns them oldest first, with `locked_until` set.
    pub async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        channels: &[OutboxChannel],
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut claimed = Vec::new();
        // One statement per channel keeps the SQL text constant (no IN list).
        for channel in channels {
            let rows = sqlx::query(outbox_select!(
                "WHERE id IN (SELECT id FROM outbox WHERE status <> $1 AND channel = $2 \
                 AND next_attempt_at <= $3 AND (locked_until IS NULL OR locked_until <= $3) \
                 ORDER BY id LIMIT $4)"
            ))
            .bind(OutboxStatus::Delivered.as_str())
            .bind(channel.as_str())
            .bind(now_ms)
            .bind(limit - claimed.len() as i64)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let candidate = message_from_row(row)?;
                // The condition again, on the row as it is now: a concurrent
                // claim that took it first leaves nothing to update here.
                let done = sqlx::query(
                    "UPDATE outbox SET locked_until = $1 WHERE id = $2 AND status <> $3 \
                     AND next_attempt_at <= $4 AND (locked_until IS NULL OR locked_until <= $4)",
                )
                .bind(now_ms + lease_ms)
                .bind(candidate.id)
                .bind(OutboxStatus::Delivered.as_str())
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 1 {
                    claimed.push(OutboxMessage {
                        locked_until: Some(now_ms + lease_ms),
                        ..candidate
                    });
                }
            }
            if claimed.len() as i64 >= limit {
                break;
            }
        }
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    /// Marks a message delivered and drops its lease. Returns false when it
    /// does not exist or was delivered already.
    pub async fn outbox_delivered(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_attempt_at = $2, \
             delivered_at = $2, locked_until = NULL WHERE id = $3 AND status <> $1",
        )
        .bind(OutboxStatus::Delivered.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: status `failing`, the error, one more
    /// attempt, due again at `next_attempt_at`, lease dropped. Returns false
    /// when the message does not exist or was delivered meanwhile.
    pub async fn outbox_failed(
        &self,
        id: i64,
        now_ms: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_attempt_at = $2, \
             last_error = $3, next_attempt_at = $4, locked_until = NULL \
             WHERE id = $5 AND status <> $6",
        )
        .bind(OutboxStatus::Failing.as_str())
        .bind(now_ms)
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .bind(OutboxStatus::Delivered.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes an undelivered message due now (a message being sent keeps its
    /// lease). Returns false when it does not exist or was delivered.
    pub async fn retry_outbox_now(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND status <> $3")
                .bind(now_ms)
                .bind(id)
                .bind(OutboxStatus::Delivered.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One message.
    pub async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(outbox_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Messages newest first, at most `limit`, of one status if given.
    pub async fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(outbox_select!(
                    "WHERE status = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(s.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(outbox_select!("ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(message_from_row).collect()
    }

    /// How many messages are in a status.
    pub async fn count_outbox(&self, status: OutboxStatus) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = $1")
                .bind(status.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Messages of one booking, oldest first.
    pub async fn booking_outbox(&self, booking_id: i64) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(outbox_select!("WHERE booking_id = $1 ORDER BY id"))
            .bind(booking_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_from_row).collect()
    }
}
