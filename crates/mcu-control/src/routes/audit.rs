//! The audit log (admins and auditors).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::model::AuditView;
use crate::{ApiResult, ControlState, ErrorBody};

/// Paging of the audit log.
#[derive(Deserialize, IntoParams)]
pub(crate) struct AuditQuery {
    /// At most this many entries (1–1000, default 100).
    limit: Option<i64>,
    /// Only entries with a smaller id (the last id of the previous page).
    before: Option<i64>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditView>>> {
    caller.require(Permission::ReadAudit)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = s.store.list_audit(limit, q.before).await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}
