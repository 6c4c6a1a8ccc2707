//! Readiness results (R10, R11): what a readiness check measured of each
//! endpoint of a conference, and whether it passed. Rows are only inserted;
//! an endpoint's current readiness in a conference is its latest row, so a
//! re-test that passes replaces a failure without erasing it.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, foreign_key_violation};

/// The figures measured over a readiness window (`None`: nothing received
/// to measure).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadinessFigures {
    /// Loudest audio level received, dBov.
    pub audio_level_dbov: Option<f64>,
    /// Video frame rate received, mean over the window.
    pub video_fps: Option<f64>,
    /// Picture size received (width, height).
    pub video_size: Option<(u32, u32)>,
    /// Round-trip time, mean, ms.
    pub rtt_ms: Option<f64>,
    /// Packet loss, mean of audio and video's worse, percent.
    pub loss_percent: Option<f64>,
    /// Interarrival jitter, mean of the worse stream, ms.
    pub jitter_ms: Option<f64>,
    /// Frames of the composite the endpoint's client decoded per second.
    pub decoded_fps: Option<f64>,
}

/// One endpoint's readiness result.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadinessResult {
    /// The conference.
    pub conference_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// End of the measuring window (Unix ms).
    pub measured_at: i64,
    /// Length of the window, ms.
    pub window_ms: i64,
    /// Passed every threshold.
    pub passed: bool,
    /// Why it failed, one reason per entry (empty when passed).
    pub reasons: Vec<String>,
    /// What was measured.
    pub figures: ReadinessFigures,
}

fn result_from_row(r: &AnyRow) -> Result<ReadinessResult, StoreError> {
    let reasons: String = r.try_get("reasons")?;
    let width: Option<i64> = r.try_get("video_width")?;
    let height: Option<i64> = r.try_get("video_height")?;
    Ok(ReadinessResult {
        conference_id: r.try_get("conference_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        measured_at: r.try_get("measured_at")?,
        window_ms: r.try_get("window_ms")?,
        passed: r.try_get::<i64, _>("passed")? != 0,
        reasons: reasons
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        figures: ReadinessFigures {
            audio_level_dbov: r.try_get("audio_level_dbov")?,
            video_fps: r.try_get("video_fps")?,
            video_size: width.zip(height).map(|(w, h)| {
                (
                    w.clamp(0, u32::MAX as i64) as u32,
                    h.clamp(0, u32::MAX as i64) as u32,
                )
            }),
            rtt_ms: r.try_get("rtt_ms")?,
            loss_percent: r.try_get("loss_percent")?,
            jitter_ms: r.try_get("jitter_ms")?,
            decoded_fps: r.try_get("decoded_fps")?,
        },
    })
}

/// The columns, in the order of the insert's binds.
macro_rules! columns {
    () => {
        "conference_id, endpoint_id, measured_at, window_ms, passed, reasons, \
         audio_level_dbov, video_fps, video_width, video_height, rtt_ms, loss_percent, \
         jitter_ms, decoded_fps"
    };
}

impl Store {
    /// Stores a readiness result. [`StoreError::NotFound`] when the
    /// conference does not exist. A reason is kept on one line (a line break
    /// in it becomes a space; an empty reason is dropped).
    pub async fn add_readiness_result(&self, r: &ReadinessResult) -> Result<(), StoreError> {
        let reasons: Vec<String> = r
            .reasons
            .iter()
            .map(|l| l.replace(['\r', '\n'], " "))
            .filter(|l| !l.trim().is_empty())
            .collect();
        let done = sqlx::query(concat!(
            "INSERT INTO readiness_results (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&r.conference_id)
        .bind(&r.endpoint_id)
        .bind(r.measured_at)
        .bind(r.window_ms)
        .bind(i64::from(r.passed))
        .bind(reasons.join("\n"))
        .bind(r.figures.audio_level_dbov)
        .bind(r.figures.video_fps)
        .bind(r.figures.video_size.map(|(w, _)| i64::from(w)))
        .bind(r.figures.video_size.map(|(_, h)| i64::from(h)))
        .bind(r.figures.rtt_ms)
        .bind(r.figures.loss_percent)
        .bind(r.figures.jitter_ms)
        .bind(r.figures.decoded_fps)
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if foreign_key_violation(&e) => Err(StoreError::NotFound(format!(
                "conference {}",
                r.conference_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every readiness result of a conference, by endpoint then time (the
    /// last of an endpoint's rows is its current readiness).
    pub async fn readiness_results(
        &self,
        conference_id: &str,
    ) -> Result<Vec<ReadinessResult>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM readiness_results WHERE conference_id = $1 \
             ORDER BY endpoint_id, measured_at, id"
        ))
        .bind(conference_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(result_from_row).collect()
    }
}
