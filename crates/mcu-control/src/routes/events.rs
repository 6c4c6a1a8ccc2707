//! The events WebSocket of a conference: what the console shows live, pushed
//! instead of polled — the conference with its roster, the floor queue,
//! audio levels with the active speaker a few times a second, every
//! endpoint's quality once a second, and the alarms as they change.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::routes::conferences::{load, load_visible, view};
use crate::routes::floor::queue_view;
use crate::routes::quality::quality_view;
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// How often the socket samples the conference.
const TICK: Duration = Duration::from_millis(250);
/// How often the session behind the socket is checked again.
const SESSION_CHECK_TICKS: u32 = 20;
/// How often quality figures are sent (the daemon samples once a second).
const QUALITY_TICKS: u32 = 4;

/// Subscribe to a conference's live events (WebSocket).
///
/// Messages, JSON text frames: `{"type": "conference", "conference": {…}}`
/// (on connect and on every change of state or roster), `{"type": "floor",
/// "queue": […]}` (on connect and on change), `{"type": "levels",
/// "active_speaker": "son-duong", "levels": {"son-duong": -23.5}}` (four
/// times a second while live), `{"type": "quality", "endpoints": […]}` (once
/// a second while live: per endpoint its grade, RTT, and loss, jitter,
/// bitrate and frame rate of its video and audio, as in
/// `GET /api/v1/conferences/{id}/quality`), `{"type": "alarms", "active":
/// […], "recent": […]}` (on connect and whenever an alarm is raised or
/// cleared). The socket closes when the conference ends or the session does.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/events", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 101, description = "WebSocket of conference events"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn events(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    load_visible(&s, &caller, &id).await?;
    Ok(ws.on_upgrade(move |socket| stream(socket, s, caller, id)))
}

async fn snapshot(s: &ControlState, id: &str) -> ApiResult<(Value, Value, bool)> {
    let c = load(s, id).await?;
    let live = c.state.media_running();
    let conference = serde_json::to_value(view(s, c).await?).map_err(ApiError::internal)?;
    let floor = serde_json::to_value(queue_view(s, id).await?).map_err(ApiError::internal)?;
    Ok((conference, floor, live))
}

async fn stream(mut socket: WebSocket, s: Arc<ControlState>, caller: Caller, id: String) {
    let (mut last_conference, mut last_floor) = (Value::Null, Value::Null);
    let mut last_alarms = Value::Null;
    let mut tick = tokio::time::interval(TICK);
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        }
        ticks += 1;
        if ticks.is_multiple_of(SESSION_CHECK_TICKS) {
            let valid = s.store.session_user(&caller.token_hash, s.now_ms()).await;
            if !matches!(valid, Ok(Some(_))) {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
        let Ok((conference, floor, live)) = snapshot(&s, &id).await else {
            let _ = socket.send(Message::Close(None)).await;
            return;
        };
        let mut frames = Vec::new();
        if conference != last_conference {
            frames.push(json!({ "type": "conference", "conference": conference }));
            last_conference = conference;
        }
        if floor != last_floor {
            frames.push(json!({ "type": "floor", "queue": floor }));
            last_floor = floor;
        }
        if live {
            let l = s.live.levels(&id);
            let levels: serde_json::Map<String, Value> = l
                .levels
                .into_iter()
                .map(|(e, db)| (e, json!((db * 10.0).round() / 10.0)))
                .collect();
            frames.push(
                json!({ "type": "levels", "active_speaker": l.active_speaker, "levels": levels }),
            );
        }
        if live && (ticks == 1 || ticks.is_multiple_of(QUALITY_TICKS)) {
            let Ok(q) = quality_view(&s, &id).await else {
                let _ = socket.send(Message::Close(None)).await;
                return;
            };
            frames.push(json!({ "type": "quality", "endpoints": q.endpoints }));
            let alarms =
                json!({ "type": "alarms", "active": q.active_alarms, "recent": q.recent_alarms });
            if alarms != last_alarms {
                frames.push(alarms.clone());
                last_alarms = alarms;
            }
        }
        for f in frames {
            if socket
                .send(Message::Text(f.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
        if !live
            && matches!(
                last_conference["state"].as_str(),
                Some("ended" | "reported")
            )
        {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}
