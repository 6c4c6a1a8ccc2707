//! What the periodic usage report (R13 yearly reports, R19 paid use) is
//! compiled from: a handful of aggregate queries over a period
//! `[from, to)` (Unix ms), each one statement whatever the number of
//! conferences (no query per conference), the same SQL on SQLite and
//! PostgreSQL. The arithmetic (record period, hours, per unit and per
//! organisation) is the control crate's (`mcu_control::usage`); this module
//! only reads.
//!
//! What each query counts, precisely:
//!
//! - [`Store::usage_connections`]: per conference and endpoint, the quality
//!   samples taken in the period (the recorder stores one per connected
//!   endpoint per record period, rehearsal included).
//! - [`Store::usage_sample_gaps`]: for every conference with a sample in the
//!   period, how often each gap between consecutive samples of one endpoint
//!   occurs, over *all* its samples (the conference's record period is their
//!   median, as in the quality report).
//! - [`Store::usage_readiness`]: per conference and endpoint, the verdict of
//!   its latest readiness result (by `measured_at`, then id), when that
//!   latest result was measured in the period. An endpoint that failed and
//!   passed its re-test has a passing verdict.
//! - [`Store::usage_incidents`]: operator entries of category `incident`
//!   written in the period, per conference. Corrections are not counted
//!   (they amend an entry, they are not a new incident).
//! - [`Store::usage_participants`]: the listed participants of the
//!   conferences that have such an incident.
//! - [`Store::usage_conferences`]: conferences that were live, had an
//!   endpoint connected, or had an incident in the period, with their live
//!   window and their booking's organising unit.
//! - [`Store::usage_bookings`]: approved bookings whose booked window overlaps
//!   the period.

use sqlx::Row;

use crate::{Store, StoreError};

/// How many samples one endpoint has in one conference within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageConnection {
    /// The conference.
    pub conference_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Samples taken in the period.
    pub samples: i64,
}

/// How often a gap between consecutive samples of one endpoint occurs in a
/// conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleGap {
    /// The conference.
    pub conference_id: String,
    /// The gap, ms (> 0).
    pub gap_ms: i64,
    /// How many times it occurs.
    pub count: i64,
}

/// An endpoint's readiness verdict in a conference: its latest result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadinessVerdict {
    /// The conference.
    pub conference_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// When the latest result was measured (Unix ms).
    pub measured_at: i64,
    /// Whether it passed.
    pub passed: bool,
}

/// Incidents written in a conference's logbook within the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConferenceIncidents {
    /// The conference.
    pub conference_id: String,
    /// Operator entries of category `incident`.
    pub incidents: i64,
}

/// A conference as the usage report sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConferenceUsage {
    /// The conference.
    pub conference_id: String,
    /// When it went live (Unix ms).
    pub started_at: Option<i64>,
    /// When it ended (Unix ms).
    pub ended_at: Option<i64>,
    /// The organising unit of its booking (`None`: created without one).
    pub organising_unit: Option<String>,
}

/// An approved booking's window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingUsage {
    /// The booking.
    pub booking_id: i64,
    /// Its organising unit, as written.
    pub organising_unit: String,
    /// Official start (Unix ms).
    pub start_at: i64,
    /// Official end (Unix ms).
    pub end_at: i64,
    /// Its conference.
    pub conference_id: Option<String>,
}

/// An endpoint of the directory, as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEndpoint {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning unit.
    pub unit: String,
    /// Level (`central` … `commune`).
    pub level: String,
}

/// The operator entries that count as incidents (a literal, so each query
/// text stays a `&'static str`).
macro_rules! incident_in_period {
    () => {
        "kind = 'operator' AND category = 'incident' AND at_ms >= $1 AND at_ms < $2"
    };
}

impl Store {
    /// Every endpoint of the directory, by id.
    pub async fn usage_endpoints(&self) -> Result<Vec<UsageEndpoint>, StoreError> {
        let rows = sqlx::query("SELECT id, name, unit, level FROM endpoints ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageEndpoint {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    unit: r.try_get("unit")?,
                    level: r.try_get("level")?,
                })
            })
            .collect()
    }

    /// Samples per conference and endpoint taken in `[from, to)`.
    pub async fn usage_connections(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<UsageConnection>, StoreError> {
        let rows = sqlx::query(
            "SELECT conference_id, endpoint_id, COUNT(*) AS samples FROM quality_samples \
             WHERE at_ms >= $1 AND at_ms < $2 \
             GROUP BY conference_id, endpoint_id ORDER BY conference_id, endpoint_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageConnection {
                    conference_id: r.try_get("conference_id")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    samples: r.try_get("samples")?,
                })
            })
            .collect()
    }

    /// The gaps between consecutive samples of each endpoint, counted per
    /// conference, over all the samples of the conferences that have a
    /// sample in `[from, to)`.
    pub async fn usage_sample_gaps(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<SampleGap>, StoreError> {
        let rows = sqlx::query(
            "SELECT conference_id, gap_ms, COUNT(*) AS n FROM ( \
               SELECT conference_id, at_ms - LAG(at_ms) OVER \
                 (PARTITION BY conference_id, endpoint_id ORDER BY at_ms) AS gap_ms \
               FROM quality_samples WHERE conference_id IN \
                 (SELECT conference_id FROM quality_samples WHERE at_ms >= $1 AND at_ms < $2) \
             ) gaps WHERE gap_ms > 0 GROUP BY conference_id, gap_ms ORDER BY conference_id, gap_ms",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SampleGap {
                    conference_id: r.try_get("conference_id")?,
                    gap_ms: r.try_get("gap_ms")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// Per conference and endpoint, the latest readiness result when it was
    /// measured in `[from, to)`.
    pub async fn usage_readiness(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ReadinessVerdict>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.conference_id, r.endpoint_id, r.measured_at, r.passed \
             FROM readiness_results r \
             WHERE r.measured_at >= $1 AND r.measured_at < $2 AND NOT EXISTS ( \
               SELECT 1 FROM readiness_results later \
               WHERE later.conference_id = r.conference_id AND later.endpoint_id = r.endpoint_id \
                 AND (later.measured_at > r.measured_at \
                      OR (later.measured_at = r.measured_at AND later.id > r.id))) \
             ORDER BY r.conference_id, r.endpoint_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReadinessVerdict {
                    conference_id: r.try_get("conference_id")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    measured_at: r.try_get("measured_at")?,
                    passed: r.try_get::<i64, _>("passed")? != 0,
                })
            })
            .collect()
    }

    /// Operator incident entries written in `[from, to)`, per conference.
    pub async fn usage_incidents(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConferenceIncidents>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT conference_id, COUNT(*) AS n FROM logbook_entries WHERE ",
            incident_in_period!(),
            " GROUP BY conference_id ORDER BY conference_id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConferenceIncidents {
                    conference_id: r.try_get("conference_id")?,
                    incidents: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// `(conference, endpoint)`: the listed participants (the chair
    /// included) of the conferences with an incident in `[from, to)`.
    pub async fn usage_participants(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT conference_id, endpoint_id FROM conference_participants WHERE conference_id IN \
             (SELECT conference_id FROM logbook_entries WHERE ",
            incident_in_period!(),
            ") ORDER BY conference_id, endpoint_id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("conference_id")?, r.try_get("endpoint_id")?)))
            .collect()
    }

    /// Conferences that were live in `[from, to)`, had an endpoint connected
    /// or an incident written in it, with their booking's organising unit.
    pub async fn usage_conferences(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConferenceUsage>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT c.id, c.started_at, c.ended_at, \
               (SELECT MIN(b.organising_unit) FROM bookings b WHERE b.conference_id = c.id) \
                 AS organising_unit \
             FROM conferences c WHERE \
               (c.started_at IS NOT NULL AND c.started_at < $2 \
                AND (c.ended_at IS NULL OR c.ended_at > $1)) \
               OR c.id IN (SELECT conference_id FROM quality_samples \
                           WHERE at_ms >= $1 AND at_ms < $2) \
               OR c.id IN (SELECT conference_id FROM logbook_entries WHERE ",
            incident_in_period!(),
            ") ORDER BY c.id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConferenceUsage {
                    conference_id: r.try_get("id")?,
                    started_at: r.try_get("started_at")?,
                    ended_at: r.try_get("ended_at")?,
                    organising_unit: r.try_get("organising_unit")?,
                })
            })
            .collect()
    }

    /// Approved bookings whose booked window `[start_at, end_at)` overlaps
    /// `[from, to)`.
    pub async fn usage_bookings(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<BookingUsage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, organising_unit, start_at, end_at, conference_id FROM bookings \
             WHERE status = 'approved' AND start_at < $2 AND end_at > $1 ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BookingUsage {
                    booking_id: r.try_get("id")?,
                    organising_unit: r.try_get("organising_unit")?,
                    start_at: r.try_get("start_at")?,
                    end_at: r.try_get("end_at")?,
                    conference_id: r.try_get("conference_id")?,
                })
            })
            .collect()
    }
}
