//! Recordings (R17): start and stop a running conference's recording,
//! list the files, download one. Starting, stopping and every download
//! are audited; listing and downloading need
//! [`Permission::ReadRecordings`] (admins and operators).

use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mcu_store::{ConferenceState, Recording};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::conferences::load;
use crate::auth::{Caller, Permission};
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// Bytes read from disk per chunk of a download.
const CHUNK: usize = 256 * 1024;

/// One recording file.
#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    /// Row id (the download path uses it).
    pub id: i64,
    /// The conference recorded.
    pub conference_id: String,
    /// File name (`{conference}-{yyyymmdd-HHMMSS}.mp4`, UTC).
    pub file_name: String,
    /// Start, Unix ms.
    pub started_at: i64,
    /// End, Unix ms (`null`: still recording, or the daemon stopped during it).
    pub ended_at: Option<i64>,
    /// File size in bytes, once ended.
    pub bytes: Option<i64>,
    /// Duration in ms, once ended.
    pub duration_ms: Option<i64>,
    /// When the retention sweep deleted the file (`null`: it is there).
    pub deleted_at: Option<i64>,
}

impl From<Recording> for RecordingView {
    fn from(r: Recording) -> Self {
        Self {
            id: r.id,
            conference_id: r.conference_id,
            file_name: r.file_name,
            started_at: r.started_at,
            ended_at: r.ended_at,
            bytes: r.bytes,
            duration_ms: r.duration_ms,
            deleted_at: r.deleted_at,
        }
    }
}

/// A conference's recording state.
#[derive(Serialize, ToSchema)]
pub struct RecordingState {
    /// The conference.
    pub conference_id: String,
    /// The file being written (`null`: not recording).
    pub file_name: Option<String>,
}

/// Which recordings.
#[derive(Deserialize, IntoParams)]
pub(crate) struct RecordingsQuery {
    /// Only this conference's.
    conference: Option<String>,
}

/// Start recording a live conference: the chair view and the full mix into
/// an MP4 (H.264 + Opus) in the recordings directory.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/recording/start", tag = "recordings",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = RecordingState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`conference_not_running`, `recording_running`", body = ErrorBody)))]
pub(crate) async fn start(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordingState>> {
    s.audited(
        &caller,
        "recording.start",
        &format!("conference/{id}"),
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            let c = load(&s, &id).await?;
            if c.state != ConferenceState::Live {
                return Err(ApiError::conflict(
                    "conference_not_running",
                    format!("conference is {}", c.state),
                ));
            }
            let live = s.live.clone();
            let conference = id.clone();
            let file = tokio::task::spawn_blocking(move || live.start_recording(&conference))
                .await
                .map_err(ApiError::internal)??;
            Ok(Json(RecordingState {
                conference_id: id.clone(),
                file_name: Some(file),
            }))
        },
    )
    .await
}

/// Stop a conference's recording; the file is finished and listed.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/recording/stop", tag = "recordings",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = RecordingState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`not_recording`", body = ErrorBody)))]
pub(crate) async fn stop(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordingState>> {
    s.audited(
        &caller,
        "recording.stop",
        &format!("conference/{id}"),
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            load(&s, &id).await?;
            let live = s.live.clone();
            let conference = id.clone();
            tokio::task::spawn_blocking(move || live.stop_recording(&conference))
                .await
                .map_err(ApiError::internal)??;
            Ok(Json(RecordingState {
                conference_id: id.clone(),
                file_name: None,
            }))
        },
    )
    .await
}

/// Whether a conference is being recorded, and to which file.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/recording", tag = "recordings",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = RecordingState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn state(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordingState>> {
    caller.require(Permission::RunConferences)?;
    load(&s, &id).await?;
    Ok(Json(RecordingState {
        file_name: s.live.recording(&id),
        conference_id: id,
    }))
}

/// Recordings, newest first (deleted ones too, marked).
#[utoipa::path(get, path = "/api/v1/recordings", tag = "recordings",
    params(RecordingsQuery),
    responses((status = 200, body = Vec<RecordingView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(q): Query<RecordingsQuery>,
) -> ApiResult<Json<Vec<RecordingView>>> {
    caller.require(Permission::ReadRecordings)?;
    let rows = s.store.recordings(q.conference.as_deref()).await?;
    Ok(Json(rows.into_iter().map(RecordingView::from).collect()))
}

/// Download a recording (`video/mp4`, as an attachment). Audited.
#[utoipa::path(get, path = "/api/v1/recordings/{id}/download", tag = "recordings",
    params(("id" = i64, Path, description = "Recording id")),
    responses((status = 200, description = "The MP4 file", content_type = "video/mp4"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 410, description = "`recording_deleted`", body = ErrorBody)))]
pub(crate) async fn download(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    s.audited(
        &caller,
        "recording.download",
        &format!("recording/{id}"),
        json!({}),
        async {
            caller.require(Permission::ReadRecordings)?;
            let r = s
                .store
                .recording(id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("recording {id}")))?;
            if r.deleted_at.is_some() {
                return Err(ApiError::new(
                    axum::http::StatusCode::GONE,
                    "recording_deleted",
                    "the retention period is over: the file was deleted",
                ));
            }
            // File names are made by the daemon; refuse anything that could
            // leave the directory all the same.
            if r.file_name.contains(['/', '\\']) || r.file_name.starts_with('.') {
                return Err(ApiError::internal(format!(
                    "recording {id} has a bad file name"
                )));
            }
            let dir = s
                .live
                .recordings_dir()
                .ok_or_else(|| ApiError::not_found(format!("recording {id}")))?;
            let path = dir.join(&r.file_name);
            let file = std::fs::File::open(&path)
                .map_err(|_| ApiError::not_found(format!("recording file {}", r.file_name)))?;
            let len = file.metadata().map(|m| m.len()).ok();
            let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
            tokio::task::spawn_blocking(move || send_chunks(file, &tx));
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            });
            let mut headers = vec![
                (header::CONTENT_TYPE, "video/mp4".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", r.file_name),
                ),
            ];
            if let Some(len) = len {
                headers.push((header::CONTENT_LENGTH, len.to_string()));
            }
            let mut response = HttpBody::from_stream(stream).into_response();
            for (k, v) in headers {
                if let Ok(v) = v.parse() {
                    response.headers_mut().insert(k, v);
                }
            }
            Ok(response)
        },
    )
    .await
}

/// Reads a file in chunks into the channel until the end, an error, or the
/// client goes away.
fn send_chunks(mut file: std::fs::File, tx: &tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>) {
    loop {
        let mut buf = vec![0; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(buf)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}
