//! The one API error type: a stable code, a human message, optional details,
//! always as `{"error": {"code": …, "message": …, "details": …}}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mcu_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A failed API call.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (documented in docs/api.md).
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// Extra structured information.
    pub details: Option<serde_json::Value>,
}

/// The JSON body of an error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `forbidden`, `not_found`, `invalid_layout`.
    pub code: String,
    /// Human message (English; the console translates by code).
    pub message: String,
    /// Extra information, e.g. the field that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 401: no valid session.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (session cookie or Authorization: Bearer)",
        )
    }

    /// 403: the role does not allow this.
    pub fn forbidden(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("your role may not {what}"),
        )
    }

    /// 404.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 400 with the offending field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
            .with_details(serde_json::json!({ "field": field }))
    }

    /// 409: the resource is not in a state that allows this.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 without leaking internals; the cause goes to the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error in the control API");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the daemon log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => {
                Self::conflict("already_exists", format!("{what} already exists"))
            }
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::LogbookSigned(conference) => Self::conflict(
                "logbook_signed",
                format!(
                    "the logbook of conference {conference} is signed off; it takes no more entries"
                ),
            ),
            StoreError::NoSuchEntry(conference, seq) => Self::invalid(
                "refers_to",
                format!("the logbook of conference {conference} has no entry {seq}"),
            ),
            StoreError::Busy(what) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("{what} is busy; try again"),
            ),
            other => Self::internal(other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text())
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("request body larger than {} bytes", crate::MAX_BODY_BYTES),
                )
            }
            other => Self::new(other.status(), "invalid_body", other.body_text()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
