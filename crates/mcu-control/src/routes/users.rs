//! Accounts (admin only).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mcu_store::{NewUser, Role, UserChange};
use serde_json::json;

use crate::auth::{self as a, Caller, Permission};
use crate::model::{NewUserRequest, UserPatch, UserView};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_text};

fn check_username(name: &str) -> ApiResult<()> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "username",
            "username must be 3–64 characters from a-z 0-9 . _ -",
        ))
    }
}

fn check_scope(role: Role, endpoints: &[String]) -> ApiResult<()> {
    match (role, endpoints.is_empty()) {
        (Role::SiteOperator, true) => Err(ApiError::invalid(
            "endpoints",
            "a site operator needs at least one endpoint to look after",
        )),
        (Role::SiteOperator, false) | (_, true) => Ok(()),
        (_, false) => Err(ApiError::invalid(
            "endpoints",
            "only site operators are given endpoints",
        )),
    }
}

/// List accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<UserView>>> {
    caller.require(Permission::ManageUsers)?;
    Ok(Json(
        s.store
            .list_users()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "`already_exists`", body = ErrorBody)))]
pub(crate) async fn create(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Body(req): Body<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let details = json!({ "role": req.role, "endpoints": req.endpoints });
    let target = format!("user/{}", req.username);
    s.audited(&caller, "user.create", &target, details, async {
        caller.require(Permission::ManageUsers)?;
        check_username(&req.username)?;
        check_text("display_name", &req.display_name)?;
        a::check_password_policy(&req.password)?;
        check_scope(req.role.into(), &req.endpoints)?;
        let user = s
            .store
            .create_user(
                &NewUser {
                    username: req.username.clone(),
                    display_name: req.display_name.clone(),
                    role: req.role.into(),
                    password_hash: a::hash_password(&req.password)?,
                    endpoints: req.endpoints.clone(),
                },
                s.now_ms(),
            )
            .await?;
        Ok((StatusCode::CREATED, Json(user.into())))
    })
    .await
}

/// Change an account.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(req): Body<UserPatch>,
) -> ApiResult<Json<UserView>> {
    let details = json!({
        "display_name": req.display_name, "role": req.role, "disabled": req.disabled,
        "password_changed": req.password.is_some(), "endpoints": req.endpoints,
    });
    s.audited(
        &caller,
        "user.update",
        &format!("user/{id}"),
        details,
        async {
            caller.require(Permission::ManageUsers)?;
            let current = s
                .store
                .user(id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
            if let Some(name) = &req.display_name {
                check_text("display_name", name)?;
            }
            if let Some(pw) = &req.password {
                a::check_password_policy(pw)?;
            }
            let role = req.role.map(Role::from).unwrap_or(current.role);
            let endpoints = req.endpoints.clone().unwrap_or(current.endpoints.clone());
            check_scope(role, &endpoints)?;
            if id == caller.user.id && (req.disabled == Some(true) || role != Role::Admin) {
                return Err(ApiError::conflict(
                    "self_lockout",
                    "an admin cannot disable or demote their own account",
                ));
            }
            let change = UserChange {
                display_name: req.display_name.clone(),
                role: req.role.map(Into::into),
                disabled: req.disabled,
                password_hash: req.password.as_deref().map(a::hash_password).transpose()?,
                endpoints: req.endpoints.clone(),
            };
            Ok(Json(s.store.update_user(id, &change).await?.into()))
        },
    )
    .await
}

/// Delete an account.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.audited(
        &caller,
        "user.delete",
        &format!("user/{id}"),
        json!({}),
        async {
            caller.require(Permission::ManageUsers)?;
            if id == caller.user.id {
                return Err(ApiError::conflict(
                    "self_lockout",
                    "an admin cannot delete their own account",
                ));
            }
            s.store.delete_user(id).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}
