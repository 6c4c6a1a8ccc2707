//! The floor-request queue (R4): endpoints ask to speak, operators see the
//! ordered queue and grant (the speaker is called to the chair) or dismiss.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Caller, Permission};
use crate::live::LiveCommand;
use crate::routes::conferences::{load_visible, run_live, run_live_in_tree};
use crate::{ApiResult, ControlState, ErrorBody};

/// A pending floor request.
#[derive(Serialize, ToSchema)]
pub struct FloorRequestView {
    /// Endpoint id.
    pub endpoint: String,
    /// Endpoint name.
    pub name: String,
    /// When it asked (Unix ms); for a hand raised below this MCU, when
    /// this MCU first saw it.
    pub requested_at: i64,
    /// Where it sits, for an endpoint of the cascade below this MCU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The pending floor requests of a conference, oldest first.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/floor", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = [FloorRequestView]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn queue(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FloorRequestView>>> {
    load_visible(&s, &caller, &id).await?;
    Ok(Json(queue_view(&s, &id).await?))
}

/// The queue with the endpoints' names; a hand raised in the cascade below
/// this MCU also carries its path ("Chính phủ › Tuyên Quang › …").
pub(crate) async fn queue_view(s: &ControlState, id: &str) -> ApiResult<Vec<FloorRequestView>> {
    let queue = s.live.floor_queue(id);
    let tree = if queue.is_empty() {
        None
    } else {
        s.live.cascade(id)
    };
    let mut out = Vec::new();
    for r in queue {
        let below = tree.as_ref().and_then(|t| {
            t.endpoints
                .iter()
                .find(|e| e.endpoint == r.endpoint && e.path.len() > 1)
        });
        let name = match below {
            Some(e) => e.name.clone(),
            None => s
                .store
                .endpoint(&r.endpoint)
                .await?
                .map(|e| e.name)
                .unwrap_or_default(),
        };
        out.push(FloorRequestView {
            path: below.map(|e| e.display_path.clone()),
            endpoint: r.endpoint,
            name,
            requested_at: r.requested_at,
        });
    }
    Ok(out)
}

/// Ask for the floor on behalf of an endpoint (its site operator, or an operator).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/participants/{endpoint}/floor-request", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn request(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{endpoint}");
    s.audited(&caller, "floor.request", &target, json!({}), async {
        caller.require_for(Permission::ControlOwnRoom, &endpoint)?;
        run_live(
            &s,
            &id,
            Some(&endpoint),
            LiveCommand::RequestFloor {
                endpoint: endpoint.clone(),
            },
        )
        .await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn answer(
    s: Arc<ControlState>,
    caller: Caller,
    id: String,
    endpoint: String,
    grant: bool,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{endpoint}");
    let action = if grant {
        "floor.grant"
    } else {
        "floor.dismiss"
    };
    s.audited(&caller, action, &target, json!({}), async {
        caller.require(Permission::RunConferences)?;
        // A hand raised in the cascade below is answered through the tree.
        let command = LiveCommand::AnswerFloor {
            endpoint: endpoint.clone(),
            grant,
        };
        run_live_in_tree(&s, &caller, &id, &endpoint, command).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Grant the floor: the request leaves the queue, the endpoint is unmuted and
/// put on the chair's main tile.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/floor/{endpoint}/grant", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`no_floor_request`", body = ErrorBody)))]
pub(crate) async fn grant(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    answer(s, caller, id, endpoint, true).await
}

/// Dismiss a floor request.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/floor/{endpoint}/dismiss", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`no_floor_request`", body = ErrorBody)))]
pub(crate) async fn dismiss(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    answer(s, caller, id, endpoint, false).await
}
