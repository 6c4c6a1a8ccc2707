//! Per-endpoint media quality and the alarms of a running conference (R11:
//! the operators watch every site's link during the session): RTT, loss,
//! jitter, bitrate and frame rate as the MCU receives them, graded for the
//! console's badges, and the loss / freeze / drop alarms.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::live::{AlarmKind, DownlinkFigures, EndpointQuality, LiveAlarm, StreamFigures};
use crate::routes::conferences::load_visible;
use crate::{ApiResult, ControlState, ErrorBody};

/// A quality badge: how an endpoint's link looks at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Loss under 1 %, jitter under 30 ms, RTT under 150 ms.
    Good,
    /// Loss under 5 %, jitter under 50 ms, RTT under 300 ms.
    Fair,
    /// Worse than fair.
    Poor,
}

/// Grades figures: the worse of video and audio counts; an RTT not measured
/// yet does not lower the grade.
pub fn grade(q: &EndpointQuality) -> Grade {
    let loss = q.video.loss_percent.max(q.audio.loss_percent);
    let jitter = q.video.jitter_ms.max(q.audio.jitter_ms);
    let rtt = q.rtt_ms.unwrap_or(0.0);
    if loss < 1.0 && jitter < 30.0 && rtt < 150.0 {
        Grade::Good
    } else if loss < 5.0 && jitter < 50.0 && rtt < 300.0 {
        Grade::Fair
    } else {
        Grade::Poor
    }
}

/// One connected endpoint's quality over the last sample period.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointQualityView {
    /// Endpoint id.
    pub endpoint: String,
    /// Endpoint name.
    pub name: String,
    /// The badge.
    pub grade: Grade,
    /// Round-trip time, ms (absent until measured).
    pub rtt_ms: Option<f64>,
    /// Its video as received by the MCU.
    pub video: StreamFigures,
    /// Its audio as received by the MCU.
    pub audio: StreamFigures,
    /// The path towards it: bandwidth estimate, reported loss, and the
    /// bitrate class it gets (absent without feedback).
    pub downlink: Option<DownlinkFigures>,
}

/// An alarm.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct AlarmView {
    /// Endpoint id.
    pub endpoint: String,
    /// Endpoint name.
    pub name: String,
    /// `loss`, `freeze` or `drop`.
    pub kind: AlarmKind,
    /// When it was raised (Unix ms).
    pub raised_at: i64,
    /// When it was cleared (Unix ms); absent while active.
    pub cleared_at: Option<i64>,
    /// The figure that raised it (loss: percent; freeze: seconds without a picture).
    pub value: f64,
    /// The threshold it crossed (from the daemon's `[quality]` configuration).
    pub threshold: f64,
    /// Why, in words (a drop's reason).
    pub detail: String,
}

/// Quality and alarms of a conference.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct QualityView {
    /// Connected endpoints.
    pub endpoints: Vec<EndpointQualityView>,
    /// Alarms raised and not cleared, oldest first.
    pub active_alarms: Vec<AlarmView>,
    /// Cleared alarms, newest first (the last 50).
    pub recent_alarms: Vec<AlarmView>,
}

/// Per-endpoint quality and the alarms of a running conference (empty lists
/// when it is not running).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/quality", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = QualityView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn quality(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<QualityView>> {
    load_visible(&s, &caller, &id).await?;
    Ok(Json(quality_view(&s, &id).await?))
}

/// The conference's quality with the endpoints' names.
pub(crate) async fn quality_view(s: &ControlState, id: &str) -> ApiResult<QualityView> {
    let live = s.live.quality(id);
    let mut names = std::collections::BTreeMap::new();
    for e in live
        .endpoints
        .iter()
        .map(|q| &q.endpoint)
        .chain(live.active_alarms.iter().map(|a| &a.endpoint))
        .chain(live.recent_alarms.iter().map(|a| &a.endpoint))
    {
        if !names.contains_key(e) {
            let name = s
                .store
                .endpoint(e)
                .await?
                .map(|e| e.name)
                .unwrap_or_default();
            names.insert(e.clone(), name);
        }
    }
    let name = |e: &str| names.get(e).cloned().unwrap_or_default();
    let alarm = |a: LiveAlarm| AlarmView {
        name: name(&a.endpoint),
        endpoint: a.endpoint,
        kind: a.kind,
        raised_at: a.raised_at,
        cleared_at: a.cleared_at,
        value: a.value,
        threshold: a.threshold,
        detail: a.detail,
    };
    Ok(QualityView {
        endpoints: live
            .endpoints
            .into_iter()
            .map(|q| EndpointQualityView {
                name: name(&q.endpoint),
                grade: grade(&q),
                endpoint: q.endpoint,
                rtt_ms: q.rtt_ms,
                video: q.video,
                audio: q.audio,
                downlink: q.downlink,
            })
            .collect(),
        active_alarms: live.active_alarms.into_iter().map(alarm).collect(),
        recent_alarms: live.recent_alarms.into_iter().map(alarm).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(loss: f64, jitter: f64, rtt: Option<f64>) -> EndpointQuality {
        EndpointQuality {
            endpoint: "son-duong".into(),
            rtt_ms: rtt,
            video: StreamFigures {
                loss_percent: loss,
                jitter_ms: jitter,
                ..Default::default()
            },
            audio: StreamFigures::default(),
            ..Default::default()
        }
    }

    #[test]
    fn grades_follow_the_worst_figure() {
        assert_eq!(grade(&q(0.0, 5.0, Some(20.0))), Grade::Good);
        assert_eq!(
            grade(&q(0.0, 5.0, None)),
            Grade::Good,
            "RTT not measured yet"
        );
        assert_eq!(grade(&q(1.0, 5.0, Some(20.0))), Grade::Fair);
        assert_eq!(grade(&q(0.0, 30.0, Some(20.0))), Grade::Fair);
        assert_eq!(grade(&q(0.0, 5.0, Some(150.0))), Grade::Fair);
        assert_eq!(grade(&q(5.0, 5.0, Some(20.0))), Grade::Poor);
        assert_eq!(grade(&q(0.0, 50.0, Some(20.0))), Grade::Poor);
        assert_eq!(grade(&q(0.0, 5.0, Some(300.0))), Grade::Poor);
        let mut audio_bad = q(0.0, 5.0, Some(20.0));
        audio_bad.audio.loss_percent = 12.0;
        assert_eq!(grade(&audio_bad), Grade::Poor, "audio counts too");
    }
}
