//! `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header::SET_COOKIE};
use axum::response::{IntoResponse, Response};
use mcu_store::Session;
use serde_json::json;

use crate::auth::{self as a, Caller, SESSION_COOKIE};
use crate::model::{LoginRequest, LoginResponse, UserView};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody};

/// The client address, as an extractor.
pub(crate) struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(a::client_addr(parts)))
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username or password",
    )
}

fn locked(until: i64) -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        "account_locked",
        "too many failed logins: the account is locked for a while",
    )
    .with_details(json!({ "locked_until": until }))
}

/// Log in with a username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; also sets the HTTP-only session cookie", body = LoginResponse),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 423, description = "`account_locked` after repeated failures", body = ErrorBody),
    ))]
pub(crate) async fn login(
    State(s): State<Arc<ControlState>>,
    ClientAddr(from): ClientAddr,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Response> {
    let result = login_inner(&s, &from, &req).await;
    let (role, outcome) = match &result {
        Ok((resp, _)) => (mcu_store::Role::from(resp.user.role).as_str(), "ok"),
        Err(e) => ("-", e.code),
    };
    let actor: String = req.username.chars().take(64).collect();
    s.audit(
        (&actor, role),
        &from,
        "auth.login",
        &format!("user/{actor}"),
        &json!({}),
        outcome,
    )
    .await;
    let (resp, token) = result?;
    let secure = if s.policy.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        s.policy.session_ms / 1000
    );
    let mut response = Json(resp).into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

async fn login_inner(
    s: &ControlState,
    from: &str,
    req: &LoginRequest,
) -> ApiResult<(LoginResponse, String)> {
    let now = s.now_ms();
    let Some(user) = s.store.user_by_username(&req.username).await? else {
        a::burn_one_verification();
        return Err(invalid_credentials());
    };
    if let Some(until) = user.locked_until.filter(|&until| until > now) {
        return Err(locked(until));
    }
    if !a::verify_password(&user.password_hash, &req.password) {
        let lock = s
            .store
            .record_login_failure(user.id, now, s.policy.max_failed_logins, s.policy.lock_ms)
            .await?;
        return Err(match lock {
            Some(until) => {
                tracing::warn!(user = %user.username, "account locked after repeated failed logins");
                locked(until)
            }
            None => invalid_credentials(),
        });
    }
    if user.disabled {
        return Err(invalid_credentials());
    }
    s.store.record_login_success(user.id).await?;
    let token = a::new_token();
    let expires_at = now + s.policy.session_ms;
    s.store
        .create_session(&Session {
            token_hash: a::token_hash(&token),
            user_id: user.id,
            created_at: now,
            expires_at,
            from_addr: from.to_owned(),
        })
        .await?;
    Ok((
        LoginResponse {
            token: token.clone(),
            expires_at,
            user: user.into(),
        },
        token,
    ))
}

/// End this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out; the cookie is cleared"),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn logout(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Response> {
    s.audited(
        &caller,
        "auth.logout",
        &format!("user/{}", caller.user.username),
        json!({}),
        async {
            s.store.delete_session(&caller.token_hash).await?;
            Ok(())
        },
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("mcu_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub(crate) async fn me(caller: Caller) -> Json<UserView> {
    Json(caller.user.into())
}
