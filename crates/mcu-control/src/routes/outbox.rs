//! The notifications outbox (R9) for the operators who decide bookings: what
//! was sent to whom, what is still pending or failing and why, and a retry
//! that makes a message due at once (the daemon's delivery worker sends it).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use mcu_store::OutboxStatus;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::model::{OutboxListView, OutboxStatusName, OutboxView};
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// Most messages one list returns.
const MAX_LIST: i64 = 500;

/// Which messages to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// `pending`, `failing` or `delivered`; absent: all.
    pub status: Option<OutboxStatusName>,
    /// At most this many, newest first (1–500, default 200).
    pub limit: Option<i64>,
}

/// The outbox: counts by status and the newest messages.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "outbox", params(OutboxFilter),
    responses((status = 200, body = OutboxListView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(filter): Query<OutboxFilter>,
) -> ApiResult<Json<OutboxListView>> {
    caller.require(Permission::DecideBookings)?;
    let limit = filter.limit.unwrap_or(200);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1–{MAX_LIST}"),
        ));
    }
    let messages = s
        .store
        .list_outbox(filter.status.map(Into::into), limit)
        .await?;
    Ok(Json(OutboxListView {
        pending: s.store.count_outbox(OutboxStatus::Pending).await?,
        failing: s.store.count_outbox(OutboxStatus::Failing).await?,
        delivered: s.store.count_outbox(OutboxStatus::Delivered).await?,
        messages: messages.into_iter().map(Into::into).collect(),
    }))
}

/// Retry a message now: it becomes due at once (a message being sent keeps
/// its lease). A delivered message is final.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "outbox",
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, body = OutboxView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`outbox_delivered`", body = ErrorBody)))]
pub(crate) async fn retry(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OutboxView>> {
    s.audited(
        &caller,
        "outbox.retry",
        &format!("outbox/{id}"),
        json!({}),
        async {
            caller.require(Permission::DecideBookings)?;
            if !s.store.retry_outbox_now(id, s.now_ms()).await? {
                return Err(match s.store.outbox_message(id).await? {
                    None => ApiError::not_found(format!("message {id}")),
                    Some(_) => ApiError::conflict(
                        "outbox_delivered",
                        format!("message {id} is delivered already"),
                    ),
                });
            }
            let m = s
                .store
                .outbox_message(id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("message {id}")))?;
            Ok(Json(m.into()))
        },
    )
    .await
}
