//! Bookings (R2, R8): a unit requests a conference, the rules check notice
//! and clashes ([`crate::booking`]), an operator approves — which creates the
//! conference — or rejects with a reason.
//!
//! Who may do what: operators request (on behalf of a unit that wrote or, for
//! an emergency, phoned in), approve and reject; a site operator requests,
//! changes and cancels bookings chaired by one of their own endpoints (the
//! organising unit's room). Everyone who sees conferences sees bookings; a
//! site operator only those with one of their endpoints.
//!
//! A booking changes until its rehearsal opens. A requested booking is
//! changed by whoever may request it. An approved one only by an operator —
//! the role that arranges the schedule (TQ Art. 11.5) and approved it — and
//! it stays approved: the operator's change is the schedule, asking the same
//! role to approve it again would add a click, not a check. A site operator
//! asks the operator, or cancels and requests again.
//!
//! An approval, a change of an approved booking and the cancellation of an
//! approved booking put their notices to the endpoints' contacts in the
//! outbox ([`crate::notice`]) in the same transaction as the booking's
//! change.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use mcu_store::{
    Booking, BookingDecision, BookingStatus, Conference, ConferenceState, OutboxEvent, Role,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::booking::{self, BookingError, HeldBooking};
use crate::model::{BookingRequestBody, BookingRulesView, BookingView, ReasonBody};
use crate::notice;
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_text, phase};

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        let message = e.to_string();
        match e {
            BookingError::Invalid { field, message } => ApiError::invalid(&field, message),
            BookingError::UnknownEndpoint(endpoint) => {
                ApiError::not_found(format!("endpoint {endpoint}"))
            }
            BookingError::TooLate {
                kind,
                notice_ms,
                earliest_start,
            } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "booking_too_late",
                message,
            )
            .with_details(json!({
                "rule": kind.as_str(),
                "notice_ms": notice_ms,
                "earliest_start": earliest_start,
            })),
            BookingError::RehearsalOpened { rehearsal_at } => {
                state_error(message).with_details(json!({ "rehearsal_at": rehearsal_at }))
            }
            BookingError::Conflict(clashes) => {
                let clashes: Vec<_> = clashes
                    .into_iter()
                    .map(|c| {
                        json!({
                            "endpoint": c.endpoint,
                            "booking": c.booking,
                            "title": c.title,
                            "window_start": c.window_start,
                            "window_end": c.window_end,
                        })
                    })
                    .collect();
                ApiError::conflict("booking_conflict", message)
                    .with_details(json!({ "clashes": clashes }))
            }
        }
    }
}

fn state_error(message: impl Into<String>) -> ApiError {
    ApiError::conflict("booking_state", message)
}

async fn load(s: &ControlState, id: i64) -> ApiResult<Booking> {
    s.store
        .booking(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("booking {id}")))
}

fn visible_to(caller: &Caller, b: &Booking) -> bool {
    caller.user.role != Role::SiteOperator || b.details.participants.iter().any(|e| caller.owns(e))
}

/// Checks a request — or, with `booked`, a change of that booking — against
/// the rules and the other bookings of its window.
async fn checked(
    s: &ControlState,
    req: BookingRequestBody,
    booked: Option<&Booking>,
) -> ApiResult<mcu_store::BookingDetails> {
    let rules = &s.policy.booking;
    let endpoints: BTreeMap<String, bool> = s
        .store
        .list_endpoints()
        .await?
        .into_iter()
        .map(|e| (e.id, e.chair_capable))
        .collect();
    // Only bookings whose window can meet the requested one; a bad start/end
    // pair is refused by the rules before clashes are looked at.
    let from = req.start_at.saturating_sub(rules.rehearsal_before_ms);
    let others: Vec<HeldBooking> = s
        .store
        .list_bookings(Some(from), Some(req.end_at.max(from)))
        .await?
        .iter()
        .filter(|b| Some(b.id) != booked.map(|b| b.id))
        .map(HeldBooking::from)
        .collect();
    let layouts = s.live.layouts();
    let now = s.now_ms();
    Ok(match booked {
        None => booking::check(rules, now, req.into(), &endpoints, &layouts, &others)?,
        Some(b) => booking::check_change(
            rules,
            now,
            &b.details,
            req.into(),
            &endpoints,
            &layouts,
            &others,
        )?,
    })
}

/// The rules a request is checked against, the layouts an agenda item may
/// use, and the server's clock: the console shows the earliest allowed start
/// from these rather than from numbers of its own.
#[utoipa::path(get, path = "/api/v1/booking-rules", tag = "bookings",
    responses((status = 200, body = BookingRulesView), (status = 401, body = ErrorBody)))]
pub(crate) async fn rules(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Json<BookingRulesView>> {
    caller.require(Permission::ReadConferences)?;
    let r = &s.policy.booking;
    Ok(Json(BookingRulesView {
        now: s.now_ms(),
        scheduled_notice_ms: r.scheduled_notice_ms,
        emergency_notice_ms: r.emergency_notice_ms,
        rehearsal_before_ms: r.rehearsal_before_ms,
        ready_check_before_ms: r.ready_check_before_ms,
        max_duration_ms: r.max_duration_ms,
        max_participants: r.max_participants,
        max_agenda_items: r.max_agenda_items,
        layouts: s.live.layouts(),
    }))
}

/// Calendar range: bookings whose window (rehearsal to end) meets `[from, to)`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingRange {
    /// From, Unix ms (inclusive).
    pub from: Option<i64>,
    /// To, Unix ms (exclusive).
    pub to: Option<i64>,
}

/// Bookings by start time, optionally in a calendar range (a day or a week).
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings", params(BookingRange),
    responses((status = 200, body = [BookingView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(range): Query<BookingRange>,
) -> ApiResult<Json<Vec<BookingView>>> {
    caller.require(Permission::ReadConferences)?;
    if let (Some(from), Some(to)) = (range.from, range.to)
        && to <= from
    {
        return Err(ApiError::invalid("to", "`to` must be after `from`"));
    }
    let all = s.store.list_bookings(range.from, range.to).await?;
    Ok(Json(
        all.into_iter()
            .filter(|b| visible_to(&caller, b))
            .map(Into::into)
            .collect(),
    ))
}

/// One booking.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<BookingView>> {
    caller.require(Permission::ReadConferences)?;
    let b = load(&s, id).await?;
    if !visible_to(&caller, &b) {
        return Err(ApiError::forbidden(Permission::ReadConferences.describe()));
    }
    Ok(Json(b.into()))
}

/// Request a conference (operators; site operators when the chair is their endpoint).
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings", request_body = BookingRequestBody,
    responses((status = 201, body = BookingView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "an endpoint is not in the directory", body = ErrorBody),
              (status = 409, description = "`booking_conflict`", body = ErrorBody),
              (status = 422, description = "`booking_too_late`", body = ErrorBody)))]
pub(crate) async fn create(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Body(req): Body<BookingRequestBody>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    let details = json!({ "title": req.title, "kind": req.kind, "chair": req.chair,
        "participants": req.participants, "start_at": req.start_at, "end_at": req.end_at });
    let result = async {
        caller.require_for(Permission::RequestBookings, &req.chair)?;
        let _serial = s.booking_lock.lock().await;
        let d = checked(&s, req, None).await?;
        let b = s
            .store
            .create_booking(&d, &caller.user.username, s.now_ms())
            .await?;
        Ok::<_, ApiError>(b)
    }
    .await;
    // The target names the new booking, known only once it is stored.
    let (target, outcome) = match &result {
        Ok(b) => (format!("booking/{}", b.id), "ok"),
        Err(e) => ("booking".to_owned(), e.code),
    };
    s.audit(
        (&caller.user.username, caller.user.role.as_str()),
        &caller.from,
        "booking.request",
        &target,
        &details,
        outcome,
    )
    .await;
    Ok((StatusCode::CREATED, Json(result?.into())))
}

/// Change a booking before its rehearsal opens: the whole request, checked
/// again by the rules (a start brought forward needs the notice; the booking
/// does not clash with itself). A requested booking: operators, site
/// operators for their chair. An approved one: operators only; it stays
/// approved, its conference follows, and every endpoint before and after the
/// change is notified (`changed`).
#[utoipa::path(put, path = "/api/v1/bookings/{id}", tag = "bookings", request_body = BookingRequestBody,
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`booking_conflict`, `booking_state` (not requested or approved, rehearsal opened)", body = ErrorBody),
              (status = 422, description = "`booking_too_late`", body = ErrorBody)))]
pub(crate) async fn change(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(req): Body<BookingRequestBody>,
) -> ApiResult<Json<BookingView>> {
    let details = json!({ "title": req.title, "kind": req.kind, "chair": req.chair,
        "participants": req.participants, "start_at": req.start_at, "end_at": req.end_at });
    s.audited(
        &caller,
        "booking.change",
        &format!("booking/{id}"),
        details,
        async {
            caller.require(Permission::RequestBookings)?;
            let _serial = s.booking_lock.lock().await;
            let old = load(&s, id).await?;
            caller.require_for(Permission::RequestBookings, &old.details.chair)?;
            caller.require_for(Permission::RequestBookings, &req.chair)?;
            let conference = match old.status {
                BookingStatus::Requested => None,
                BookingStatus::Approved => {
                    // Changing the approved schedule is arranging it.
                    caller.require(Permission::DecideBookings)?;
                    let c = match &old.conference_id {
                        Some(c) => Some(crate::routes::conferences::load(&s, c).await?),
                        None => None,
                    };
                    if let Some(c) = &c
                        && c.state != ConferenceState::Created
                    {
                        return Err(state_error(format!(
                            "conference {} is {} already: the booking can no longer change",
                            c.id, c.state
                        )));
                    }
                    c
                }
                other => {
                    return Err(state_error(format!(
                        "only a requested or approved booking can change; this one is {other}"
                    )));
                }
            };
            let d = checked(&s, req, Some(&old)).await?;
            let now = s.now_ms();
            let mut after = old.clone();
            after.details = d.clone();
            let conference = conference.map(|c| Conference {
                title: d.title.clone(),
                chair: Some(d.chair.clone()),
                layout: booking::opening_layout(&d).to_owned(),
                participants: d.participants.clone(),
                ..c
            });
            // Only an approved booking was announced: only its change is.
            let notices = if old.status == BookingStatus::Approved {
                notice::change_notices(&old, &after, &s.store.list_endpoints().await?, now)
            } else {
                Vec::new()
            };
            if !s
                .store
                .change_booking_notifying(id, old.status, &d, now, conference.as_ref(), &notices)
                .await?
            {
                return Err(state_error("the booking changed state meanwhile"));
            }
            Ok(Json(load(&s, id).await?.into()))
        },
    )
    .await
}

/// Approve a requested booking (operators): its conference is created, in
/// state `created`, with the booking's participants, chair and opening layout.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/approve", tag = "bookings",
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`booking_state`, `already_exists`", body = ErrorBody)))]
pub(crate) async fn approve(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<BookingView>> {
    s.audited(
        &caller,
        "booking.approve",
        &format!("booking/{id}"),
        json!({}),
        async {
            caller.require(Permission::DecideBookings)?;
            let b = load(&s, id).await?;
            if b.status != BookingStatus::Requested {
                return Err(state_error(format!(
                    "only a requested booking can be approved; this one is {}",
                    b.status
                )));
            }
            let now = s.now_ms();
            if now >= b.details.end_at {
                return Err(state_error("the booked session is over"));
            }
            let conference = Conference {
                id: format!("booking-{id}"),
                title: b.details.title.clone(),
                chair: Some(b.details.chair.clone()),
                layout: booking::opening_layout(&b.details).to_owned(),
                state: ConferenceState::Created,
                created_by: caller.user.username.clone(),
                created_at: now,
                started_at: None,
                ended_at: None,
                participants: b.details.participants.clone(),
                // Named by the operator once approved (`PUT …/links`).
                links: Vec::new(),
            };
            let decision = BookingDecision {
                by: caller.user.username.clone(),
                at: now,
                reason: None,
            };
            let mut approved = b.clone();
            approved.status = BookingStatus::Approved;
            approved.conference_id = Some(conference.id.clone());
            let notices = notice::booking_notices(
                OutboxEvent::Approved,
                &approved,
                &s.store.list_endpoints().await?,
                now,
            );
            if !s
                .store
                .approve_booking_notifying(id, &conference, &decision, &notices)
                .await?
            {
                return Err(state_error("the booking changed state meanwhile"));
            }
            Ok(Json(load(&s, id).await?.into()))
        },
    )
    .await
}

/// Reject a requested booking with a reason (operators).
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reject", tag = "bookings", request_body = ReasonBody,
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`booking_state`", body = ErrorBody)))]
pub(crate) async fn reject(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(req): Body<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    s.audited(
        &caller,
        "booking.reject",
        &format!("booking/{id}"),
        json!({ "reason": req.reason }),
        async {
            caller.require(Permission::DecideBookings)?;
            check_text("reason", &req.reason)?;
            let b = load(&s, id).await?;
            let decision = BookingDecision {
                by: caller.user.username.clone(),
                at: s.now_ms(),
                reason: Some(req.reason.clone()),
            };
            if !s
                .store
                .decide_booking(
                    id,
                    BookingStatus::Requested,
                    BookingStatus::Rejected,
                    &decision,
                )
                .await?
            {
                return Err(state_error(format!(
                    "only a requested booking can be rejected; this one is {}",
                    b.status
                )));
            }
            Ok(Json(load(&s, id).await?.into()))
        },
    )
    .await
}

/// Cancel a requested or approved booking, with a reason (operators; site
/// operators for bookings chaired by their endpoint). An approved booking's
/// conference must not have started; it is ended unopened.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings", request_body = ReasonBody,
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`booking_state`", body = ErrorBody)))]
pub(crate) async fn cancel(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(req): Body<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    s.audited(
        &caller,
        "booking.cancel",
        &format!("booking/{id}"),
        json!({ "reason": req.reason }),
        async {
            caller.require(Permission::RequestBookings)?;
            check_text("reason", &req.reason)?;
            let b = load(&s, id).await?;
            caller.require_for(Permission::RequestBookings, &b.details.chair)?;
            let now = s.now_ms();
            let decision = BookingDecision {
                by: caller.user.username.clone(),
                at: now,
                reason: Some(req.reason.clone()),
            };
            match b.status {
                BookingStatus::Requested => {}
                BookingStatus::Approved => {
                    // Cancelling closes its conference, rehearsal included,
                    // until the official session has started.
                    if let Some(conference) = &b.conference_id {
                        let c = crate::routes::conferences::load(&s, conference).await?;
                        let before_start = c.state.rank() < ConferenceState::Live.rank();
                        if !before_start || !phase::enter(&s, &c, ConferenceState::Ended).await? {
                            return Err(state_error(format!(
                                "conference {conference} has started; end it instead"
                            )));
                        }
                    }
                }
                other => {
                    return Err(state_error(format!("the booking is {other} already")));
                }
            }
            // Only an approved booking was announced: only its cancellation is.
            let notices = if b.status == BookingStatus::Approved {
                let mut cancelled = b.clone();
                cancelled.status = BookingStatus::Cancelled;
                cancelled.reason = decision.reason.clone();
                notice::booking_notices(
                    OutboxEvent::Cancelled,
                    &cancelled,
                    &s.store.list_endpoints().await?,
                    now,
                )
            } else {
                Vec::new()
            };
            if !s
                .store
                .decide_booking_notifying(
                    id,
                    b.status,
                    BookingStatus::Cancelled,
                    &decision,
                    &notices,
                )
                .await?
            {
                return Err(state_error("the booking changed state meanwhile"));
            }
            Ok(Json(load(&s, id).await?.into()))
        },
    )
    .await
}
