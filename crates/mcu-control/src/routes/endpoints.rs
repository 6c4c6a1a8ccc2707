//! The endpoint directory (điểm cầu), contacts (R14) and dial-in tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::auth::{self as a, Caller, Permission};
use crate::model::{ContactBody, EndpointBody, TokenResponse};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_id, check_text};

/// Most contacts one endpoint lists.
const MAX_CONTACTS: usize = 20;

fn check_optional_text(field: &str, text: &str) -> ApiResult<()> {
    if text.is_empty() {
        Ok(())
    } else {
        check_text(field, text)
    }
}

fn check_contacts(contacts: &[ContactBody]) -> ApiResult<()> {
    if contacts.len() > MAX_CONTACTS {
        return Err(ApiError::invalid(
            "contacts",
            format!("at most {MAX_CONTACTS} contacts"),
        ));
    }
    for c in contacts {
        check_text("contacts.name", &c.name)?;
        check_optional_text("contacts.title", &c.title)?;
        check_optional_text("contacts.unit", &c.unit)?;
        check_optional_text("contacts.phone", &c.phone)?;
        check_optional_text("contacts.email", &c.email)?;
        if !c.email.is_empty() && !c.email.contains('@') {
            return Err(ApiError::invalid("contacts.email", "not an e-mail address"));
        }
    }
    Ok(())
}

pub(crate) fn check_endpoint(e: &EndpointBody) -> ApiResult<()> {
    check_id("id", &e.id)?;
    check_text("name", &e.name)?;
    check_optional_text("unit", &e.unit)?;
    check_id("owner_mcu", &e.owner_mcu)?;
    check_contacts(&e.contacts)
}

/// The whole directory, central level first.
#[utoipa::path(get, path = "/api/v1/endpoints", tag = "endpoints",
    responses((status = 200, body = [EndpointBody]), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<EndpointBody>>> {
    caller.require(Permission::ReadDirectory)?;
    Ok(Json(
        s.store
            .list_endpoints()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Add an endpoint.
#[utoipa::path(post, path = "/api/v1/endpoints", tag = "endpoints", request_body = EndpointBody,
    responses((status = 201, body = EndpointBody), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Body(req): Body<EndpointBody>,
) -> ApiResult<(StatusCode, Json<EndpointBody>)> {
    let target = format!("endpoint/{}", req.id);
    let details = json!({ "name": req.name, "level": req.level, "owner_mcu": req.owner_mcu });
    s.audited(&caller, "endpoint.create", &target, details, async {
        caller.require(Permission::ManageEndpoints)?;
        check_endpoint(&req)?;
        s.store
            .create_endpoint(&req.clone().into(), s.now_ms())
            .await?;
        Ok((StatusCode::CREATED, Json(req.clone())))
    })
    .await
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = EndpointBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointBody>> {
    caller.require(Permission::ReadDirectory)?;
    let e = s
        .store
        .endpoint(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("endpoint {id}")))?;
    Ok(Json(e.into()))
}

/// Replace an endpoint's entry (the id in the path wins).
#[utoipa::path(put, path = "/api/v1/endpoints/{id}", tag = "endpoints", request_body = EndpointBody,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = EndpointBody), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(mut req): Body<EndpointBody>,
) -> ApiResult<Json<EndpointBody>> {
    let details = json!({ "name": req.name, "level": req.level, "owner_mcu": req.owner_mcu });
    s.audited(
        &caller,
        "endpoint.update",
        &format!("endpoint/{id}"),
        details,
        async {
            caller.require(Permission::ManageEndpoints)?;
            if req.id != id {
                return Err(ApiError::invalid(
                    "id",
                    "the id in the body differs from the path",
                ));
            }
            req.id = id.clone();
            check_endpoint(&req)?;
            s.store
                .update_endpoint(&req.clone().into(), s.now_ms())
                .await?;
            Ok(Json(req.clone()))
        },
    )
    .await
}

/// Remove an endpoint (refused while a conference lists it).
#[utoipa::path(delete, path = "/api/v1/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "listed by a conference", body = ErrorBody)))]
pub(crate) async fn delete(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.audited(
        &caller,
        "endpoint.delete",
        &format!("endpoint/{id}"),
        json!({}),
        async {
            caller.require(Permission::ManageEndpoints)?;
            s.store.delete_endpoint(&id).await.map_err(|e| match e {
                mcu_store::StoreError::Duplicate(what) => {
                    ApiError::conflict("endpoint_in_use", format!("endpoint is listed by {what}"))
                }
                other => other.into(),
            })?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// Replace an endpoint's technical contacts (admins; site operators for their own endpoints).
#[utoipa::path(put, path = "/api/v1/endpoints/{id}/contacts", tag = "endpoints",
    request_body = [ContactBody], params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = [ContactBody]), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn set_contacts(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(contacts): Body<Vec<ContactBody>>,
) -> ApiResult<Json<Vec<ContactBody>>> {
    let details = json!({ "contacts": contacts.len() });
    s.audited(
        &caller,
        "endpoint.contacts",
        &format!("endpoint/{id}"),
        details,
        async {
            caller.require_for(Permission::EditContacts, &id)?;
            check_contacts(&contacts)?;
            let stored: Vec<mcu_store::Contact> =
                contacts.iter().cloned().map(Into::into).collect();
            s.store.set_contacts(&id, &stored, s.now_ms()).await?;
            Ok(Json(contacts.clone()))
        },
    )
    .await
}

/// Issue a new dial-in token for an endpoint; the old one stops working.
/// The token is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/endpoints/{id}/token", tag = "endpoints",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = TokenResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn issue_token(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenResponse>> {
    s.audited(
        &caller,
        "endpoint.token",
        &format!("endpoint/{id}"),
        json!({}),
        async {
            caller.require(Permission::ManageEndpoints)?;
            let token = a::new_token();
            s.store
                .set_endpoint_token_hash(&id, Some(&a::token_hash(&token)), s.now_ms())
                .await?;
            Ok(Json(TokenResponse {
                endpoint: id.clone(),
                token,
            }))
        },
    )
    .await
}

/// One CSV cell: quoted, quotes doubled, and a leading `= + - @` defused so
/// a spreadsheet never runs it as a formula.
pub(crate) fn csv_cell(s: &str) -> String {
    // A plain negative number (a level in dBov) stays a number.
    let number = s.parse::<f64>().is_ok_and(f64::is_finite);
    let s = if s.starts_with(['=', '+', '-', '@']) && !number {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Appends one CSV row of [`csv_cell`]s, CRLF-terminated.
pub(crate) fn csv_row<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    let cells: Vec<String> = cells.iter().map(|c| csv_cell(c.as_ref())).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// The contacts list of every endpoint as CSV (UTF-8 with BOM, for the sites, R14).
#[utoipa::path(get, path = "/api/v1/contacts.csv", tag = "endpoints",
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody)))]
pub(crate) async fn contacts_csv(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::ReadDirectory)?;
    let mut out = String::from("\u{feff}");
    out.push_str("endpoint_id,endpoint_name,level,endpoint_unit,contact_name,title,contact_unit,phone,email\r\n");
    for e in s.store.list_endpoints().await? {
        let rows = if e.contacts.is_empty() {
            vec![Default::default()]
        } else {
            e.contacts.clone()
        };
        for c in rows {
            let cells = [
                e.id.as_str(),
                &e.name,
                e.level.as_str(),
                &e.unit,
                &c.name,
                &c.title,
                &c.unit,
                &c.phone,
                &c.email,
            ];
            csv_row(&mut out, &cells);
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"danh-ba-ky-thuat.csv\"",
            ),
        ],
        out,
    ))
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("Sơn \"Dương\""), "\"Sơn \"\"Dương\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("-127.0"), "\"-127.0\"");
        assert_eq!(csv_cell("-1+2"), "\"'-1+2\"");
        assert_eq!(csv_cell("-inf"), "\"'-inf\"");
    }
}

/// Import a directory CSV (admin): all rows or none; new endpoints are added,
/// existing ones replaced. Columns: `id,name,unit,level,chair_capable,owner_mcu`
/// and optionally `contact_name,contact_title,contact_phone,contact_email`.
#[utoipa::path(post, path = "/api/v1/endpoints/import", tag = "endpoints",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = crate::directory::ImportReport),
              (status = 400, description = "`invalid_csv`, with every bad row in `details.rows`", body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn import(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    text: String,
) -> ApiResult<Json<crate::directory::ImportReport>> {
    s.audited(
        &caller,
        "endpoint.import",
        "endpoints",
        json!({ "bytes": text.len() }),
        async {
            caller.require(Permission::ManageEndpoints)?;
            match crate::directory::import(&s.store, &text, s.now_ms()).await? {
                Ok(report) => Ok(Json(report)),
                Err(rows) => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_csv",
                    format!(
                        "{} row(s) cannot be imported; nothing was changed",
                        rows.len()
                    ),
                )
                .with_details(json!({ "rows": rows }))),
            }
        },
    )
    .await
}
