//! The operators' control plane: a REST API under `/api/v1` with accounts,
//! roles and sessions, the endpoint directory, conferences and live control,
//! the audit log, and its OpenAPI document at `/api/openapi.json`.
//!
//! It owns no media and no sockets: [`router`] gives an axum `Router` the
//! daemon serves (over TLS), [`ControlState`] holds the [`mcu_store::Store`],
//! the daemon's [`Live`] media handle and a wall clock (injected, so tests
//! control time). Every mutating call checks the caller's role
//! ([`auth::allowed`]) and is written to the audit log with its result.
//!
//! Errors are one type, [`ApiError`], with a stable code (see `docs/api.md`).
//!
//! ```no_run
//! # async fn f(live: std::sync::Arc<dyn mcu_control::Live>) -> Result<(), Box<dyn std::error::Error>> {
//! let store = mcu_store::Store::open("sqlite://data/mcu.db").await?;
//! let state = mcu_control::ControlState::new(store, live, mcu_control::Policy::default());
//! let app: axum::Router = mcu_control::router(state);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod auth;
pub mod booking;
pub mod civil;
mod console;
pub mod counterpart;
pub mod directory;
mod error;
mod live;
pub mod model;
pub mod notice;
pub mod openapi;
pub mod phase;
pub mod readiness;
pub mod report;
mod routes;
pub mod usage;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use mcu_store::{NewAuditEntry, Store};
use serde::de::DeserializeOwned;

pub use auth::Caller;
pub use error::{ApiError, ApiResult, ErrorBody};
pub use live::{
    AlarmKind, CascadeEndpoint, CascadeLink, CascadeMcu, CascadeNeighbour, DownlinkFigures,
    EndpointQuality, FloorRequest, LinkQuality, LinkStatus, Live, LiveAlarm, LiveCascade,
    LiveCommand, LiveConference, LiveEndpoint, LiveError, LiveLevels, LiveParticipant, LiveQuality,
    NeighbourRole, ReceiverFigures, StreamFigures, View, live_conference,
};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Numbers of the login and session rules.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: i64,
    /// How long a lock lasts (ms).
    pub lock_ms: i64,
    /// How long a session lasts (ms).
    pub session_ms: i64,
    /// Mark the session cookie `Secure` (served over TLS).
    pub secure_cookie: bool,
    /// Notice, rehearsal and readiness offsets of bookings (R8, R10).
    pub booking: booking::BookingRules,
    /// Overrun and report delay of booked conferences' phases (R10).
    pub phases: phase::PhaseRules,
    /// Readiness thresholds and measuring window (R10).
    pub readiness: readiness::ReadinessRules,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_failed_logins: 5,
            lock_ms: 15 * 60 * 1000,
            session_ms: 12 * 60 * 60 * 1000,
            secure_cookie: true,
            booking: booking::BookingRules::default(),
            phases: phase::PhaseRules::default(),
            readiness: readiness::ReadinessRules::default(),
        }
    }
}

type Clock = dyn Fn() -> i64 + Send + Sync;

/// What every handler shares.
pub struct ControlState {
    /// Persistence.
    pub store: Store,
    /// The running media.
    pub live: Arc<dyn Live>,
    /// Login and session rules.
    pub policy: Policy,
    clock: Box<Clock>,
    /// Serialises the check-then-store of bookings on this node, so two
    /// requests cannot both pass the clash rule for the same endpoint.
    pub(crate) booking_lock: tokio::sync::Mutex<()>,
    /// Readiness windows being measured.
    pub(crate) readiness: std::sync::Mutex<readiness::Board>,
}

impl ControlState {
    /// State on the system's wall clock.
    pub fn new(store: Store, live: Arc<dyn Live>, policy: Policy) -> Arc<Self> {
        Self::with_clock(store, live, policy, || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        })
    }

    /// State on an injected clock (Unix ms), for tests.
    pub fn with_clock(
        store: Store,
        live: Arc<dyn Live>,
        policy: Policy,
        clock: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            live,
            policy,
            clock: Box::new(clock),
            booking_lock: tokio::sync::Mutex::new(()),
            readiness: std::sync::Mutex::new(readiness::Board::default()),
        })
    }

    /// Now, Unix ms.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Writes one audit entry; a failure to write is logged loudly (the
    /// action has happened by then and is not undone).
    pub async fn audit(
        &self,
        actor: (&str, &str),
        from: &str,
        action: &str,
        target: &str,
        details: &serde_json::Value,
        result: &str,
    ) {
        let entry = NewAuditEntry {
            at: self.now_ms(),
            actor: actor.0.to_owned(),
            role: actor.1.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            from_addr: from.to_owned(),
            result: result.to_owned(),
            details: details.to_string(),
        };
        match self.store.append_audit(&entry).await {
            Ok(id) => self.log_action(id, &entry).await,
            Err(e) => {
                tracing::error!(error = %e, action, target, "audit entry could not be written");
            }
        }
    }

    /// The logbook's automatic copy of an audited action (R12): every
    /// successful action whose target is a conference (`conference/<id>…`)
    /// becomes an `auto` entry of that conference's logbook, with the audit
    /// entry's id. Refused or failed attempts stay in the audit log only, and
    /// the logbook's own calls are entries already.
    async fn log_action(&self, audit_id: i64, a: &NewAuditEntry) {
        let Some(rest) = a.target.strip_prefix("conference/") else {
            return;
        };
        if a.result != "ok" || a.action.starts_with("logbook.") {
            return;
        }
        let (conference, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let category = match a.action.as_str() {
            "conference.create" | "conference.start" | "conference.end" => {
                mcu_store::LogbookCategory::Phase
            }
            _ => mcu_store::LogbookCategory::Action,
        };
        let what = if tail.is_empty() {
            a.action.clone()
        } else {
            format!("{}: {tail}", a.action)
        };
        let details = serde_json::json!({
            "audit_id": audit_id,
            "action": a.action,
            "target": a.target,
            "params": serde_json::from_str::<serde_json::Value>(&a.details).unwrap_or_default(),
        });
        let entry = mcu_store::NewLogbookEntry {
            at_ms: a.at,
            kind: mcu_store::LogbookKind::Auto,
            category,
            actor: a.actor.clone(),
            text: format!("{} ({what})", action_label(&a.action)),
            details: details.to_string(),
            refers_to: None,
        };
        match self.store.append_logbook(conference, &entry).await {
            Ok(_) => {}
            Err(mcu_store::StoreError::LogbookSigned(_)) => {
                tracing::warn!(conference, action = %a.action, "action after the logbook's sign-off is in the audit log only");
            }
            Err(e) => {
                tracing::error!(error = %e, conference, action = %a.action, "logbook entry could not be written");
            }
        }
    }

    /// Runs a mutating action of `caller` and audits it with its result.
    pub async fn audited<T>(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        details: serde_json::Value,
        run: impl Future<Output = ApiResult<T>>,
    ) -> ApiResult<T> {
        let result = run.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code,
        };
        self.audit(
            (&caller.user.username, caller.user.role.as_str()),
            &caller.from,
            action,
            target,
            &details,
            outcome,
        )
        .await;
        result
    }
}

/// The Vietnamese wording of an audited conference action in the logbook.
fn action_label(action: &str) -> &'static str {
    match action {
        "conference.create" => "Tạo hội nghị",
        "conference.start" => "Bắt đầu hội nghị",
        "conference.end" => "Kết thúc hội nghị",
        "conference.layout" => "Đổi bố cục hiển thị",
        "conference.pin" => "Ghim điểm cầu vào ô hình",
        "conference.call_to_chair" => "Gọi điểm cầu lên màn hình chủ tọa",
        "cascade.link_up" => "Liên kết cascade đã kết nối",
        "cascade.link_down" => "Liên kết cascade bị mất, đang kết nối lại",
        "cascade.link_refused" => "Từ chối liên kết cascade",
        "conference.scenario_step" => "Chuyển mục kịch bản",
        "conference.readiness_check" => "Yêu cầu kiểm tra sẵn sàng",
        "participant.mute" => "Tắt/bật tiếng hoặc hình của điểm cầu",
        "participant.disconnect" => "Ngắt kết nối điểm cầu",
        "floor.request" => "Đăng ký phát biểu",
        "floor.grant" => "Cho phép phát biểu",
        "floor.dismiss" => "Bỏ qua yêu cầu phát biểu",
        "preset.recall" => "Gọi vị trí camera đặt sẵn",
        "recording.start" => "Bắt đầu ghi hình hội nghị",
        "recording.stop" => "Dừng ghi hình hội nghị",
        _ => "Thao tác của điều hành viên",
    }
}

/// A JSON request body whose rejections are [`ApiError`]s with stable codes.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Body(v))
            .map_err(ApiError::from)
    }
}

/// The control API's routes (`/api/v1/…`, `/api/openapi.json`).
pub fn router(state: Arc<ControlState>) -> Router {
    routes::routes()
        .merge(console::routes())
        .route("/api/openapi.json", axum::routing::get(openapi::document))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Checks an id (endpoint, conference): 1–64 characters from
/// `a-z A-Z 0-9 . _ -`, starting with a letter or digit — the signalling rule.
pub fn check_id(field: &str, id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "{field} must be 1–64 characters from a-z A-Z 0-9 . _ -, starting with a letter or digit"
            ),
        ))
    }
}

/// Checks a display text: 1–200 characters, no control characters.
pub fn check_text(field: &str, text: &str) -> ApiResult<()> {
    let n = text.chars().count();
    if n == 0 || n > 200 || text.chars().any(char::is_control) || text.trim() != text {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be 1–200 characters without control characters or edge spaces"),
        ));
    }
    Ok(())
}
