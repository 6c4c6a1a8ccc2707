//! The composite preview: what a view's viewers see, as a small JPEG the
//! console refreshes once a second next to the roster.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::live::View;
use crate::routes::conferences::{load, visible_to};
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// Which view.
#[derive(Deserialize, IntoParams)]
pub(crate) struct PreviewQuery {
    /// `chair` (default) or `participants`.
    view: Option<String>,
}

/// A JPEG (480×270) of a view's composite as its viewers see it now.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/preview.jpg", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), PreviewQuery),
    responses((status = 200, description = "The picture", content_type = "image/jpeg"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn preview(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> ApiResult<Response> {
    caller.require(Permission::ReadConferences)?;
    let view = match q.view.as_deref() {
        None | Some("chair") => View::Chair,
        Some("participants") => View::Participants,
        Some(_) => {
            return Err(ApiError::invalid(
                "view",
                "view is `chair` or `participants`",
            ));
        }
    };
    let c = load(&s, &id).await?;
    if !visible_to(&caller, &c) {
        return Err(ApiError::forbidden(Permission::ReadConferences.describe()));
    }
    // The media thread answers within a loop turn; the JPEG takes a few ms:
    // neither belongs on the async workers.
    let live = s.live.clone();
    let jpeg = tokio::task::spawn_blocking(move || live.preview(&id, view))
        .await
        .map_err(ApiError::internal)??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        jpeg,
    )
        .into_response())
}
