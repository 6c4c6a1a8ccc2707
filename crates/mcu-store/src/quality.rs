//! Quality samples (R12, R13): what the daemon's recorder measured of each
//! connected endpoint, every few seconds of a session, kept so the quality
//! report can be compiled after the session. Rows are only inserted.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, foreign_key_violation};

/// One incoming stream's figures over a sample period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SampleFigures {
    /// Packets lost, percent of those expected.
    pub loss_percent: f64,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Bitrate received, kbit/s.
    pub kbps: f64,
    /// Frames (video) or packets (audio) per second.
    pub fps: f64,
}

/// One endpoint's figures at one moment of a conference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QualitySample {
    /// The conference.
    pub conference_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Round-trip time on its media path, ms (`None` until measured).
    pub rtt_ms: Option<f64>,
    /// Its video as received.
    pub video: SampleFigures,
    /// Its audio as received.
    pub audio: SampleFigures,
}

fn sample_from_row(r: &AnyRow) -> Result<QualitySample, StoreError> {
    let figures = |media: &str| -> Result<SampleFigures, StoreError> {
        // The column names are built from two constant prefixes.
        Ok(SampleFigures {
            loss_percent: r.try_get(format!("{media}_loss_percent").as_str())?,
            jitter_ms: r.try_get(format!("{media}_jitter_ms").as_str())?,
            kbps: r.try_get(format!("{media}_kbps").as_str())?,
            fps: r.try_get(format!("{media}_fps").as_str())?,
        })
    };
    Ok(QualitySample {
        conference_id: r.try_get("conference_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        at_ms: r.try_get("at_ms")?,
        rtt_ms: r.try_get("rtt_ms")?,
        video: figures("video")?,
        audio: figures("audio")?,
    })
}

impl Store {
    /// Stores samples (of one recorder pass) in one transaction: all or
    /// none. [`StoreError::NotFound`] when a conference does not exist.
    pub async fn add_quality_samples(&self, samples: &[QualitySample]) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for s in samples {
            let done = sqlx::query(
                "INSERT INTO quality_samples (conference_id, endpoint_id, at_ms, rtt_ms, \
                 video_loss_percent, video_jitter_ms, video_kbps, video_fps, \
                 audio_loss_percent, audio_jitter_ms, audio_kbps, audio_fps) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&s.conference_id)
            .bind(&s.endpoint_id)
            .bind(s.at_ms)
            .bind(s.rtt_ms)
            .bind(s.video.loss_percent)
            .bind(s.video.jitter_ms)
            .bind(s.video.kbps)
            .bind(s.video.fps)
            .bind(s.audio.loss_percent)
            .bind(s.audio.jitter_ms)
            .bind(s.audio.kbps)
            .bind(s.audio.fps)
            .execute(&mut *tx)
            .await;
            match done {
                Ok(_) => {}
                Err(e) if foreign_key_violation(&e) => {
                    return Err(StoreError::NotFound(format!(
                        "conference {}",
                        s.conference_id
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every sample of a conference, by endpoint then time.
    pub async fn quality_samples(
        &self,
        conference_id: &str,
    ) -> Result<Vec<QualitySample>, StoreError> {
        let rows = sqlx::query(
            "SELECT conference_id, endpoint_id, at_ms, rtt_ms, \
             video_loss_percent, video_jitter_ms, video_kbps, video_fps, \
             audio_loss_percent, audio_jitter_ms, audio_kbps, audio_fps \
             FROM quality_samples WHERE conference_id = $1 ORDER BY endpoint_id, at_ms",
        )
        .bind(conference_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sample_from_row).collect()
    }
}
