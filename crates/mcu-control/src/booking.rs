//! The booking rules of the regulations (R2, R8, R10), sans-IO: no store, no
//! clock. The handler gives [`check`] the time of the request, the directory's
//! endpoints, the known layouts and the bookings that hold endpoints; it gets
//! back the booking to store, or the rule that refuses it.
//!
//! - **Notice** (R8; HP Art. 9.2–9.3, TQ Art. 8.1–8.2, BĐ Art. 6.3, 6.5): a
//!   `scheduled` booking starts at least 2 days after it is requested, an
//!   `emergency` one at least 2 hours after.
//! - **Rehearsal and readiness** (R10; 1594 steps 4–5): the rehearsal opens at
//!   start − 2 h, the readiness check at start − 30 min.
//! - **Clash** (R2; HP Art. 2.2, TQ Art. 8.3, BĐ Art. 12.1): an endpoint is in
//!   at most one booking at a time, where a booking holds its endpoints over
//!   its *window* `[rehearsal opening, official end)`. Bookings with disjoint
//!   endpoints may overlap in time.
//! - **Change** ([`check_change`]): a booking changes only until its
//!   rehearsal opens. The change is checked like a request, except for the
//!   notice: the notice protects the sites' time to prepare, so it applies
//!   only to a start moved *earlier* than the booked one. A start kept or
//!   postponed is accepted even inside the notice period (the sites lose no
//!   preparation time); a start brought forward must leave the full notice
//!   of the booking's kind, as a new request would.
//!
//! Every number is a field of [`BookingRules`], whose default is the
//! regulations' value.

use std::collections::BTreeMap;

use mcu_store::{AgendaItem, Booking, BookingDetails, BookingKind, BookingStatus};

const MINUTE_MS: i64 = 60 * 1000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// The numbers of the booking rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingRules {
    /// Least notice for a scheduled booking (ms): 2 days.
    pub scheduled_notice_ms: i64,
    /// Least notice for an emergency booking (ms): 2 hours.
    pub emergency_notice_ms: i64,
    /// The rehearsal opens this long before the start (ms): 2 hours.
    pub rehearsal_before_ms: i64,
    /// The readiness check begins this long before the start (ms): 30 minutes.
    pub ready_check_before_ms: i64,
    /// Cascade links are up at least this long before the start (ms): 2
    /// hours (R7, 1594 step 5); the readiness summary flags a late link.
    pub link_before_ms: i64,
    /// Longest official session (ms): 24 hours.
    pub max_duration_ms: i64,
    /// Most participants of one booking.
    pub max_participants: usize,
    /// Most agenda items of one scenario.
    pub max_agenda_items: usize,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            scheduled_notice_ms: 48 * HOUR_MS,
            emergency_notice_ms: 2 * HOUR_MS,
            rehearsal_before_ms: 2 * HOUR_MS,
            ready_check_before_ms: 30 * MINUTE_MS,
            link_before_ms: 2 * HOUR_MS,
            max_duration_ms: 24 * HOUR_MS,
            max_participants: 500,
            max_agenda_items: 100,
        }
    }
}

impl BookingRules {
    /// The least notice a booking of `kind` needs (ms).
    pub fn notice_ms(&self, kind: BookingKind) -> i64 {
        match kind {
            BookingKind::Scheduled => self.scheduled_notice_ms,
            BookingKind::Emergency => self.emergency_notice_ms,
        }
    }
}

/// What a unit asks for, before the rules have looked at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingRequest {
    /// Title with diacritics.
    pub title: String,
    /// The unit that organises the conference.
    pub organising_unit: String,
    /// The chair endpoint.
    pub chair: String,
    /// Participating endpoints (the chair is added if missing).
    pub participants: Vec<String>,
    /// Official start (Unix ms).
    pub start_at: i64,
    /// Official end (Unix ms).
    pub end_at: i64,
    /// Scheduled or emergency.
    pub kind: BookingKind,
    /// Ordered agenda items.
    pub scenario: Vec<AgendaItem>,
    /// Record the conference.
    pub recording: bool,
}

/// Another booking, as the clash rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBooking {
    /// Its id.
    pub id: i64,
    /// Only requested and approved bookings hold their endpoints.
    pub status: BookingStatus,
    /// Its title, for the error.
    pub title: String,
    /// Rehearsal opening (Unix ms).
    pub window_start: i64,
    /// Official end (Unix ms).
    pub window_end: i64,
    /// Its endpoints.
    pub participants: Vec<String>,
}

impl From<&Booking> for HeldBooking {
    fn from(b: &Booking) -> Self {
        Self {
            id: b.id,
            status: b.status,
            title: b.details.title.clone(),
            window_start: b.details.rehearsal_at,
            window_end: b.details.end_at,
            participants: b.details.participants.clone(),
        }
    }
}

/// One endpoint held by another booking during the requested window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clash {
    /// The endpoint in both.
    pub endpoint: String,
    /// The other booking.
    pub booking: i64,
    /// Its title.
    pub title: String,
    /// Its window start: rehearsal opening (Unix ms).
    pub window_start: i64,
    /// Its window end: official end (Unix ms).
    pub window_end: i64,
}

/// Why a booking is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookingError {
    /// A field breaks a rule.
    #[error("{message}")]
    Invalid {
        /// The field, e.g. `scenario[1].speaker`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An endpoint is not in the directory.
    #[error("endpoint {0} is not in the directory")]
    UnknownEndpoint(String),
    /// Not enough notice.
    #[error("a {kind} booking must be made at least {} minutes before its start; the earliest start allowed now is {earliest_start} (Unix ms)", notice_ms / MINUTE_MS)]
    TooLate {
        /// The rule that applies.
        kind: BookingKind,
        /// The notice it needs (ms).
        notice_ms: i64,
        /// The earliest start a booking of this kind may have now (Unix ms).
        earliest_start: i64,
    },
    /// Endpoints are held by other bookings during the window.
    #[error("{} endpoint(s) already booked during this window", .0.len())]
    Conflict(Vec<Clash>),
    /// A change after the booking's rehearsal has opened.
    #[error("the rehearsal opened at {rehearsal_at} (Unix ms): the booking can no longer change")]
    RehearsalOpened {
        /// When the booked rehearsal opened (Unix ms).
        rehearsal_at: i64,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> BookingError {
    BookingError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn check_text(field: &str, text: &str) -> Result<(), BookingError> {
    let n = text.chars().count();
    if n == 0 || n > 200 || text.chars().any(char::is_control) || text.trim() != text {
        return Err(invalid(
            field,
            format!("{field} must be 1–200 characters without control characters or edge spaces"),
        ));
    }
    Ok(())
}

/// Whether two half-open intervals `[a0, a1)` and `[b0, b1)` overlap.
pub fn overlaps(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Checks a request made at `now_ms` against the rules.
///
/// `endpoints` maps each directory endpoint to whether it may host the chair;
/// `layouts` are the layout names known to the mixer; `held` are the other
/// bookings (without the one being changed) — rejected and cancelled ones hold
/// nothing and are skipped. Checks run in this order: fields, notice, clashes. On success the
/// booking to store, with its rehearsal and readiness times fixed.
pub fn check(
    rules: &BookingRules,
    now_ms: i64,
    req: BookingRequest,
    endpoints: &BTreeMap<String, bool>,
    layouts: &[String],
    held: &[HeldBooking],
) -> Result<BookingDetails, BookingError> {
    check_with(rules, now_ms, req, endpoints, layouts, held, None)
}

/// Checks a change, made at `now_ms`, of the booking `booked` into `req`.
///
/// Refused once `booked`'s rehearsal has opened. Otherwise as [`check`]
/// (with `held` not holding the booking itself), except that the notice rule
/// applies only when the start moves earlier than `booked.start_at`; the
/// error is then the same [`BookingError::TooLate`] as for a request. The
/// rehearsal and readiness times are computed again from `rules`, and the
/// changed rehearsal must not be before `now_ms` (at `now_ms` it opens at
/// once, as for an emergency request made exactly 2 hours ahead).
pub fn check_change(
    rules: &BookingRules,
    now_ms: i64,
    booked: &BookingDetails,
    req: BookingRequest,
    endpoints: &BTreeMap<String, bool>,
    layouts: &[String],
    held: &[HeldBooking],
) -> Result<BookingDetails, BookingError> {
    if now_ms >= booked.rehearsal_at {
        return Err(BookingError::RehearsalOpened {
            rehearsal_at: booked.rehearsal_at,
        });
    }
    let d = check_with(
        rules,
        now_ms,
        req,
        endpoints,
        layouts,
        held,
        Some(booked.start_at),
    )?;
    if d.rehearsal_at < now_ms {
        // Only with offsets configured longer than the notice: the clock
        // would open the rehearsal at once, unannounced.
        return Err(invalid(
            "start_at",
            "the changed booking's rehearsal would already have opened",
        ));
    }
    Ok(d)
}

/// [`check`], where `booked_start` is the start of the booking being changed:
/// a start at or after it needs no notice.
fn check_with(
    rules: &BookingRules,
    now_ms: i64,
    req: BookingRequest,
    endpoints: &BTreeMap<String, bool>,
    layouts: &[String],
    held: &[HeldBooking],
    booked_start: Option<i64>,
) -> Result<BookingDetails, BookingError> {
    check_text("title", &req.title)?;
    check_text("organising_unit", &req.organising_unit)?;
    if req.end_at <= req.start_at {
        return Err(invalid("end_at", "the end must be after the start"));
    }
    if req.end_at.saturating_sub(req.start_at) > rules.max_duration_ms {
        return Err(invalid(
            "end_at",
            format!(
                "a session lasts at most {} minutes",
                rules.max_duration_ms / MINUTE_MS
            ),
        ));
    }
    let mut participants = req.participants;
    participants.push(req.chair.clone());
    participants.sort();
    participants.dedup();
    if participants.len() > rules.max_participants {
        return Err(invalid(
            "participants",
            format!(
                "a booking lists at most {} endpoints",
                rules.max_participants
            ),
        ));
    }
    for e in &participants {
        if !endpoints.contains_key(e) {
            return Err(BookingError::UnknownEndpoint(e.clone()));
        }
    }
    if endpoints.get(&req.chair) != Some(&true) {
        return Err(invalid(
            "chair",
            format!("{} cannot host the chair", req.chair),
        ));
    }
    if req.scenario.len() > rules.max_agenda_items {
        return Err(invalid(
            "scenario",
            format!(
                "a scenario has at most {} agenda items",
                rules.max_agenda_items
            ),
        ));
    }
    for (i, item) in req.scenario.iter().enumerate() {
        check_text(&format!("scenario[{i}].title"), &item.title)?;
        if let Some(speaker) = &item.speaker
            && participants.binary_search(speaker).is_err()
        {
            return Err(invalid(
                format!("scenario[{i}].speaker"),
                format!("the speaking endpoint {speaker} is not a participant"),
            ));
        }
        if !layouts.contains(&item.layout) {
            return Err(invalid(
                format!("scenario[{i}].layout"),
                format!("unknown layout {:?}", item.layout),
            ));
        }
        if !(1..=24 * 60).contains(&item.planned_minutes) {
            return Err(invalid(
                format!("scenario[{i}].planned_minutes"),
                "an agenda item is planned for 1–1440 minutes",
            ));
        }
    }

    let notice_ms = rules.notice_ms(req.kind);
    let earliest_start = now_ms.saturating_add(notice_ms);
    let kept_or_postponed = booked_start.is_some_and(|booked| req.start_at >= booked);
    if req.start_at < earliest_start && !kept_or_postponed {
        return Err(BookingError::TooLate {
            kind: req.kind,
            notice_ms,
            earliest_start,
        });
    }

    let rehearsal_at = req.start_at - rules.rehearsal_before_ms;
    let window = (rehearsal_at, req.end_at);
    let mut clashes: Vec<Clash> = held
        .iter()
        .filter(|h| h.status.holds_endpoints())
        .filter(|h| overlaps(window, (h.window_start, h.window_end)))
        .flat_map(|h| {
            h.participants
                .iter()
                .filter(|e| participants.binary_search(e).is_ok())
                .map(|e| Clash {
                    endpoint: e.clone(),
                    booking: h.id,
                    title: h.title.clone(),
                    window_start: h.window_start,
                    window_end: h.window_end,
                })
        })
        .collect();
    if !clashes.is_empty() {
        clashes.sort_by(|a, b| (&a.endpoint, a.booking).cmp(&(&b.endpoint, b.booking)));
        clashes.dedup();
        return Err(BookingError::Conflict(clashes));
    }

    Ok(BookingDetails {
        title: req.title,
        organising_unit: req.organising_unit,
        chair: req.chair,
        participants,
        start_at: req.start_at,
        end_at: req.end_at,
        rehearsal_at,
        ready_check_at: req.start_at - rules.ready_check_before_ms,
        kind: req.kind,
        scenario: req.scenario,
        recording: req.recording,
    })
}

/// The layout a booked conference opens with: its first agenda item's, else `2x2`.
pub fn opening_layout(d: &BookingDetails) -> &str {
    d.scenario.first().map_or("2x2", |i| i.layout.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 24 * HOUR_MS;

    fn directory() -> BTreeMap<String, bool> {
        [
            ("ubnd-tinh", true),
            ("son-duong", false),
            ("dong-quy", false),
            ("tan-trao", false),
            ("ham-yen", true),
        ]
        .into_iter()
        .map(|(e, c)| (e.to_owned(), c))
        .collect()
    }

    fn layouts() -> Vec<String> {
        ["1x1", "2x2", "1+7"].map(String::from).to_vec()
    }

    fn request(kind: BookingKind, start_at: i64) -> BookingRequest {
        BookingRequest {
            title: "Giao ban trực tuyến".into(),
            organising_unit: "Văn phòng UBND tỉnh".into(),
            chair: "ubnd-tinh".into(),
            participants: vec!["son-duong".into(), "dong-quy".into()],
            start_at,
            end_at: start_at + 2 * HOUR_MS,
            kind,
            scenario: vec![AgendaItem {
                title: "Khai mạc".into(),
                speaker: Some("ubnd-tinh".into()),
                layout: "1x1".into(),
                planned_minutes: 10,
            }],
            recording: false,
        }
    }

    fn run(req: BookingRequest, held: &[HeldBooking]) -> Result<BookingDetails, BookingError> {
        check(
            &BookingRules::default(),
            NOW,
            req,
            &directory(),
            &layouts(),
            held,
        )
    }

    fn held(id: i64, start_at: i64, end_at: i64, endpoints: &[&str]) -> HeldBooking {
        HeldBooking {
            id,
            status: BookingStatus::Requested,
            title: format!("Hội nghị {id}"),
            window_start: start_at - 2 * HOUR_MS,
            window_end: end_at,
            participants: endpoints.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn scheduled_notice_is_two_days() {
        let ok = run(request(BookingKind::Scheduled, NOW + 2 * DAY), &[]).unwrap();
        assert_eq!(ok.rehearsal_at, NOW + 2 * DAY - 2 * HOUR_MS);
        assert_eq!(ok.ready_check_at, NOW + 2 * DAY - 30 * MINUTE_MS);
        assert_eq!(ok.participants, ["dong-quy", "son-duong", "ubnd-tinh"]);
        assert_eq!(
            run(request(BookingKind::Scheduled, NOW + 2 * DAY - 1), &[]),
            Err(BookingError::TooLate {
                kind: BookingKind::Scheduled,
                notice_ms: 2 * DAY,
                earliest_start: NOW + 2 * DAY,
            })
        );
    }

    #[test]
    fn emergency_notice_is_two_hours() {
        assert!(run(request(BookingKind::Emergency, NOW + 2 * HOUR_MS), &[]).is_ok());
        let late = run(request(BookingKind::Emergency, NOW + 2 * HOUR_MS - 1), &[]);
        assert!(matches!(
            late,
            Err(BookingError::TooLate { kind: BookingKind::Emergency, earliest_start, .. })
                if earliest_start == NOW + 2 * HOUR_MS
        ));
        // What is too late for an emergency is too late for a scheduled booking.
        assert!(matches!(
            run(request(BookingKind::Scheduled, NOW + 3 * HOUR_MS), &[]),
            Err(BookingError::TooLate { .. })
        ));
    }

    #[test]
    fn notice_and_offsets_come_from_the_rules() {
        let rules = BookingRules {
            scheduled_notice_ms: DAY,
            rehearsal_before_ms: DAY,
            ready_check_before_ms: HOUR_MS,
            ..BookingRules::default()
        };
        let d = check(
            &rules,
            NOW,
            request(BookingKind::Scheduled, NOW + DAY),
            &directory(),
            &layouts(),
            &[],
        )
        .unwrap();
        assert_eq!(
            (d.rehearsal_at, d.ready_check_at),
            (NOW, NOW + DAY - HOUR_MS)
        );
    }

    #[test]
    fn a_rehearsal_overlapping_another_session_clashes() {
        let start = NOW + 3 * DAY;
        // The other booking's official session ends at `start`; ours rehearses
        // from start − 2 h: the windows overlap by 2 hours.
        let other = held(7, start - 3 * HOUR_MS, start, &["son-duong", "tan-trao"]);
        let err = run(
            request(BookingKind::Scheduled, start),
            std::slice::from_ref(&other),
        )
        .unwrap_err();
        assert_eq!(
            err,
            BookingError::Conflict(vec![Clash {
                endpoint: "son-duong".into(),
                booking: 7,
                title: "Hội nghị 7".into(),
                window_start: other.window_start,
                window_end: other.window_end,
            }])
        );
        // Ending exactly when our rehearsal opens does not clash (half-open windows).
        let before = held(8, start - 5 * HOUR_MS, start - 2 * HOUR_MS, &["son-duong"]);
        assert!(run(request(BookingKind::Scheduled, start), &[before]).is_ok());
        // Its rehearsal overlapping our official time clashes too.
        let after = held(9, start + 3 * HOUR_MS, start + 4 * HOUR_MS, &["dong-quy"]);
        assert!(matches!(
            run(request(BookingKind::Scheduled, start), &[after]),
            Err(BookingError::Conflict(c)) if c.len() == 1 && c[0].endpoint == "dong-quy"
        ));
    }

    #[test]
    fn every_clashing_endpoint_and_booking_is_named() {
        let start = NOW + 3 * DAY;
        let a = held(1, start, start + HOUR_MS, &["ubnd-tinh", "son-duong"]);
        let b = held(2, start + HOUR_MS, start + 2 * HOUR_MS, &["dong-quy"]);
        let Err(BookingError::Conflict(clashes)) =
            run(request(BookingKind::Scheduled, start), &[b, a])
        else {
            panic!("expected a conflict");
        };
        let named: Vec<(&str, i64)> = clashes
            .iter()
            .map(|c| (c.endpoint.as_str(), c.booking))
            .collect();
        assert_eq!(named, [("dong-quy", 2), ("son-duong", 1), ("ubnd-tinh", 1)]);
    }

    #[test]
    fn rejected_and_cancelled_bookings_hold_nothing() {
        let start = NOW + 3 * DAY;
        let mut other = held(4, start, start + 2 * HOUR_MS, &["son-duong"]);
        for status in [BookingStatus::Rejected, BookingStatus::Cancelled] {
            other.status = status;
            assert!(
                run(request(BookingKind::Scheduled, start), &[other.clone()]).is_ok(),
                "{status}"
            );
        }
        for status in [BookingStatus::Requested, BookingStatus::Approved] {
            other.status = status;
            assert!(
                matches!(
                    run(request(BookingKind::Scheduled, start), &[other.clone()]),
                    Err(BookingError::Conflict(_))
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn disjoint_endpoints_may_overlap_in_time() {
        let start = NOW + 3 * DAY;
        let other = held(3, start, start + 2 * HOUR_MS, &["ham-yen", "tan-trao"]);
        assert!(run(request(BookingKind::Scheduled, start), &[other]).is_ok());
    }

    #[test]
    fn fields_are_checked() {
        let start = NOW + 3 * DAY;
        let field = |req: BookingRequest| match run(req, &[]) {
            Err(BookingError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        let mut r = request(BookingKind::Scheduled, start);
        r.end_at = r.start_at;
        assert_eq!(field(r), "end_at");
        let mut r = request(BookingKind::Scheduled, start);
        r.chair = "son-duong".into();
        assert_eq!(field(r), "chair");
        let mut r = request(BookingKind::Scheduled, start);
        r.scenario[0].speaker = Some("tan-trao".into());
        assert_eq!(field(r), "scenario[0].speaker");
        let mut r = request(BookingKind::Scheduled, start);
        r.scenario[0].layout = "9x9".into();
        assert_eq!(field(r), "scenario[0].layout");
        let mut r = request(BookingKind::Scheduled, start);
        r.scenario[0].planned_minutes = 0;
        assert_eq!(field(r), "scenario[0].planned_minutes");
        let mut r = request(BookingKind::Scheduled, start);
        r.title = " ".into();
        assert_eq!(field(r), "title");
        let mut r = request(BookingKind::Scheduled, start);
        r.participants.push("nowhere".into());
        assert_eq!(
            run(r, &[]),
            Err(BookingError::UnknownEndpoint("nowhere".into()))
        );
        // Extreme times are refused, never overflow.
        let mut r = request(BookingKind::Scheduled, i64::MIN);
        r.end_at = i64::MAX;
        assert_eq!(field(r), "end_at");
        let r = request(BookingKind::Emergency, i64::MAX - 2 * HOUR_MS);
        assert!(run(r, &[]).is_ok());
        // Fields are checked before the notice: a bad and late request names the field.
        let mut r = request(BookingKind::Scheduled, NOW);
        r.end_at = NOW - 1;
        assert_eq!(field(r), "end_at");
    }

    #[test]
    fn a_change_needs_notice_only_to_bring_the_start_forward() {
        let start = NOW + 3 * DAY;
        let booked = run(request(BookingKind::Scheduled, start), &[]).unwrap();
        // A day and an hour later the session is inside the 2-day notice.
        let later = NOW + DAY + HOUR_MS;
        let change = |rules: &BookingRules, at: i64, req: BookingRequest| {
            check_change(rules, at, &booked, req, &directory(), &layouts(), &[])
        };
        let rules = BookingRules::default();
        // Kept: accepted, though a new request for it would be too late.
        let mut kept = request(BookingKind::Scheduled, start);
        kept.participants.push("tan-trao".into());
        assert!(matches!(
            check(&rules, later, kept.clone(), &directory(), &layouts(), &[]),
            Err(BookingError::TooLate { .. })
        ));
        let d = change(&rules, later, kept).unwrap();
        assert_eq!(
            d.participants,
            ["dong-quy", "son-duong", "tan-trao", "ubnd-tinh"]
        );
        // Postponed by an hour: accepted, rehearsal and readiness moved with it.
        let d = change(
            &rules,
            later,
            request(BookingKind::Scheduled, start + HOUR_MS),
        )
        .unwrap();
        assert_eq!(
            (d.rehearsal_at, d.ready_check_at),
            (start - HOUR_MS, start + HOUR_MS - 30 * MINUTE_MS)
        );
        // Brought forward by a minute: the request's error, counted from the change.
        assert_eq!(
            change(
                &rules,
                later,
                request(BookingKind::Scheduled, start - MINUTE_MS)
            ),
            Err(BookingError::TooLate {
                kind: BookingKind::Scheduled,
                notice_ms: 2 * DAY,
                earliest_start: later + 2 * DAY,
            })
        );
        // As an emergency it may come forward to 2 hours from now.
        assert!(
            change(
                &rules,
                later,
                request(BookingKind::Emergency, later + 2 * HOUR_MS)
            )
            .is_ok()
        );
        // Once the rehearsal has opened, nothing changes.
        assert_eq!(
            change(
                &rules,
                start - 2 * HOUR_MS,
                request(BookingKind::Scheduled, start)
            ),
            Err(BookingError::RehearsalOpened {
                rehearsal_at: start - 2 * HOUR_MS
            })
        );
        assert!(
            change(
                &rules,
                start - 2 * HOUR_MS - 1,
                request(BookingKind::Scheduled, start)
            )
            .is_ok()
        );
        // Times come from the rules in force; a rehearsal already past is refused.
        let longer = BookingRules {
            rehearsal_before_ms: 3 * HOUR_MS,
            ..BookingRules::default()
        };
        let d = change(&longer, later, request(BookingKind::Scheduled, start)).unwrap();
        assert_eq!(d.rehearsal_at, start - 3 * HOUR_MS);
        let longest = BookingRules {
            rehearsal_before_ms: 2 * DAY,
            ..BookingRules::default()
        };
        assert!(matches!(
            change(&longest, later, request(BookingKind::Scheduled, start)),
            Err(BookingError::Invalid { field, .. }) if field == "start_at"
        ));
    }

    #[test]
    fn a_change_is_checked_for_clashes_without_the_booking_itself() {
        let start = NOW + 3 * DAY;
        let booked = run(request(BookingKind::Scheduled, start), &[]).unwrap();
        let other = held(5, start + 3 * HOUR_MS, start + 5 * HOUR_MS, &["tan-trao"]);
        let mut req = request(BookingKind::Scheduled, start + HOUR_MS);
        req.participants.push("tan-trao".into());
        let err = check_change(
            &BookingRules::default(),
            NOW,
            &booked,
            req,
            &directory(),
            &layouts(),
            std::slice::from_ref(&other),
        )
        .unwrap_err();
        assert!(
            matches!(&err, BookingError::Conflict(c) if c.len() == 1 && c[0].endpoint == "tan-trao" && c[0].booking == 5),
            "{err:?}"
        );
    }

    #[test]
    fn the_chair_is_a_participant_and_the_first_item_sets_the_layout() {
        let mut r = request(BookingKind::Scheduled, NOW + 3 * DAY);
        r.participants = vec!["son-duong".into()];
        let d = run(r, &[]).unwrap();
        assert!(d.participants.contains(&"ubnd-tinh".to_string()));
        assert_eq!(opening_layout(&d), "1x1");
        let mut r = request(BookingKind::Scheduled, NOW + 3 * DAY);
        r.scenario.clear();
        assert_eq!(opening_layout(&run(r, &[]).unwrap()), "2x2");
    }
}
