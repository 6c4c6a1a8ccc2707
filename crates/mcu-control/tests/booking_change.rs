//! Changing a booking through the router, on the test clock: an approved
//! booking stays approved, its conference follows, and every endpoint before
//! and after the change gets a `changed` notice with the new times (a removed
//! one learns it is out); the clash and notice rules are checked again; no
//! change once the rehearsal has opened; only operators change an approved
//! booking; every attempt is audited.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{Api, BOOKED_START, HOUR, code, fixture_booking};
use mcu_control::notice::vn_minutes;
use mcu_control::phase;
use mcu_store::{BookingStatus, ConferenceState, OutboxEvent};
use serde_json::{Value, json};

const DAY: i64 = 24 * HOUR;

/// A change of the fixture booking 1 (chaired by ubnd-tinh) to `participants`
/// from `start` for 2 hours.
fn change(participants: &[&str], start: i64) -> Value {
    json!({
        "title": "Hội nghị trực tuyến về phòng chống lụt bão (dời lịch)",
        "organising_unit": "Văn phòng UBND tỉnh Tuyên Quang",
        "chair": "ubnd-tinh",
        "participants": participants,
        "start_at": start,
        "end_at": start + 2 * HOUR,
        "kind": "scheduled",
        "scenario": [
            {"title": "Khai mạc", "speaker": "ubnd-tinh", "layout": "1x1", "planned_minutes": 10},
            {"title": "Báo cáo của xã Tân Trào", "layout": "2x2", "planned_minutes": 30}
        ],
        "recording": true
    })
}

async fn approved() -> Api {
    let api = Api::new().await;
    api.keep_sessions().await;
    let (status, body) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api
}

/// The outbox's `changed` messages.
async fn changed_notices(api: &Api) -> Vec<Value> {
    let (status, v) = api
        .call("operator", "GET", "/api/v1/outbox?limit=500", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["event"] == "changed")
        .cloned()
        .collect()
}

async fn put(api: &Api, role: &str, body: Value) -> (StatusCode, Value) {
    api.call(role, "PUT", "/api/v1/bookings/1", Some(body))
        .await
}

#[tokio::test]
async fn an_approved_booking_moved_stays_approved_and_every_site_is_told() {
    let api = approved().await;
    let old = fixture_booking();
    let start = BOOKED_START + DAY;
    // dong-quy out, tan-trao in; son-duong and the chair stay.
    let (status, b) = put(&api, "operator", change(&["son-duong", "tan-trao"], start)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "approved");
    assert_eq!(b["conference_id"], "booking-1");
    assert_eq!(
        (&b["start_at"], &b["rehearsal_at"], &b["ready_check_at"]),
        (
            &json!(start),
            &json!(start - 2 * HOUR),
            &json!(start - HOUR / 2)
        )
    );
    assert_eq!(
        b["participants"],
        json!(["son-duong", "tan-trao", "ubnd-tinh"])
    );

    // Its conference follows: title, participants, the first item's layout.
    let c = api.store.conference("booking-1").await.unwrap().unwrap();
    assert_eq!(c.state, ConferenceState::Created);
    assert_eq!(c.title, b["title"].as_str().unwrap());
    assert_eq!(c.participants, ["son-duong", "tan-trao", "ubnd-tinh"]);
    assert_eq!(c.layout, "1x1");

    // One `changed` message per contact and channel of each endpoint before
    // or after the change: every fixture contact has an e-mail address.
    let notices = changed_notices(&api).await;
    let mut got: Vec<(String, String)> = notices
        .iter()
        .map(|m| {
            (
                m["endpoint_id"].as_str().unwrap().to_owned(),
                m["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = ["dong-quy", "son-duong", "tan-trao", "ubnd-tinh"]
        .iter()
        .flat_map(|e| {
            [
                (e.to_string(), "email".into()),
                (e.to_string(), "webhook".into()),
            ]
        })
        .collect();
    assert_eq!(got, want);
    for m in &notices {
        assert_eq!(
            (m["booking_id"].as_i64(), m["status"].as_str()),
            (Some(1), Some("pending"))
        );
        let body = m["body"].as_str().unwrap();
        let (shown_start, shown_rehearsal) = if m["endpoint_id"] == "dong-quy" {
            assert!(body.contains("không còn trong danh sách tham dự"), "{body}");
            (old.start_at, old.rehearsal_at)
        } else {
            (start, start - 2 * HOUR)
        };
        for want in [
            format!("Bắt đầu chính thức: {}", vn_minutes(shown_start)),
            format!(
                "Mở phòng tổng duyệt (kiểm tra kỹ thuật): {}",
                vn_minutes(shown_rehearsal)
            ),
        ] {
            assert!(body.contains(&want), "{want:?} not in {body}");
        }
        assert!(
            m["subject"]
                .as_str()
                .unwrap()
                .starts_with("Thông báo thay đổi lịch")
        );
    }
    // What a webhook receives: the new booking, how the change touches the
    // endpoint, and what the booking was.
    for m in api.store.list_outbox(None, 1000).await.unwrap() {
        if m.message.event != OutboxEvent::Changed {
            continue;
        }
        let p: Value = serde_json::from_str(&m.message.payload).unwrap();
        assert_eq!(p["event"], "changed");
        assert_eq!(p["booking"]["start_at"], start);
        assert_eq!(p["change"]["previous"]["start_at"], old.start_at);
        let how = match m.message.endpoint_id.as_str() {
            "dong-quy" => "removed",
            "tan-trao" => "added",
            _ => "stays",
        };
        assert_eq!(p["change"]["endpoint"], how, "{p}");
    }
    let tan_trao = notices
        .iter()
        .find(|m| m["endpoint_id"] == "tan-trao")
        .unwrap();
    assert!(
        tan_trao["body"].as_str().unwrap().contains("được bổ sung"),
        "{tan_trao}"
    );

    // Audited with what was asked.
    let audit = api.last_audit().await;
    assert_eq!(
        (
            audit.entry.action.as_str(),
            audit.entry.target.as_str(),
            audit.entry.result.as_str(),
            audit.entry.actor.as_str()
        ),
        ("booking.change", "booking/1", "ok", "operator")
    );
    assert!(
        audit.entry.details.contains(&start.to_string()),
        "{}",
        audit.entry.details
    );

    // The clock keeps to the new times: nothing opens at the old rehearsal.
    api.clock.store(old.rehearsal_at, Ordering::Relaxed);
    assert!(phase::advance(&api.state).await.unwrap().is_empty());
    api.clock.store(start - 2 * HOUR, Ordering::Relaxed);
    let moved = phase::advance(&api.state).await.unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].to, ConferenceState::Rehearsal);
}

#[tokio::test]
async fn a_change_into_another_bookings_window_names_the_clash_and_changes_nothing() {
    let api = approved().await;
    // Booking 2: tan-trao, the day after booking 1.
    let other_start = BOOKED_START + DAY;
    let mut other = change(&["tan-trao"], other_start);
    other["title"] = json!("Giao ban xã Tân Trào");
    let (status, body) = api
        .call("operator", "POST", "/api/v1/bookings", Some(other))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other_id = body["id"].as_i64().unwrap();
    let before_notices = changed_notices(&api).await.len();

    // Booking 1 moved so that its rehearsal meets booking 2's session, with tan-trao.
    let start = other_start + HOUR;
    let (status, body) = put(&api, "operator", change(&["son-duong", "tan-trao"], start)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_conflict"),
        "{body}"
    );
    let clashes = body["error"]["details"]["clashes"].as_array().unwrap();
    assert_eq!(clashes.len(), 2, "{body}");
    let named: Vec<(&str, i64, &str)> = clashes
        .iter()
        .map(|c| {
            (
                c["endpoint"].as_str().unwrap(),
                c["booking"].as_i64().unwrap(),
                c["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("tan-trao", other_id, "Giao ban xã Tân Trào"),
            ("ubnd-tinh", other_id, "Giao ban xã Tân Trào")
        ]
    );
    assert_eq!(clashes[0]["window_start"], other_start - 2 * HOUR);
    // Nothing changed, nothing announced, the refusal audited.
    let b = api.store.booking(1).await.unwrap().unwrap();
    assert_eq!(b.details, fixture_booking());
    assert_eq!(changed_notices(&api).await.len(), before_notices);
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.result.as_str()),
        ("booking.change", "booking_conflict")
    );

    // Its own window does not clash with itself: moved by an hour within it.
    let (status, body) = put(
        &api,
        "operator",
        change(&["son-duong", "dong-quy"], BOOKED_START + HOUR),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["start_at"], BOOKED_START + HOUR);
}

#[tokio::test]
async fn inside_the_notice_period_a_start_may_stay_or_move_later_but_not_earlier() {
    let api = approved().await;
    // A day before: inside the 2-day notice of a scheduled booking.
    let now = BOOKED_START - DAY;
    api.clock.store(now, Ordering::Relaxed);
    let (status, body) = put(
        &api,
        "operator",
        change(&["son-duong", "dong-quy", "tan-trao"], BOOKED_START),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "kept start: {body}");
    let (status, body) = put(
        &api,
        "operator",
        change(&["son-duong"], BOOKED_START + 3 * HOUR),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "postponed: {body}");
    // Brought forward: the request's error, counted from the time of the change.
    let (status, body) = put(
        &api,
        "operator",
        change(&["son-duong"], BOOKED_START + 2 * HOUR),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "booking_too_late"),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"],
        json!({"rule": "scheduled", "notice_ms": 2 * DAY, "earliest_start": now + 2 * DAY})
    );
    let b = api.store.booking(1).await.unwrap().unwrap();
    assert_eq!(
        b.details.start_at,
        BOOKED_START + 3 * HOUR,
        "unchanged by the refusal"
    );
}

#[tokio::test]
async fn no_change_once_the_rehearsal_has_opened_or_the_conference_was_opened() {
    let api = approved().await;
    let old = fixture_booking();
    // The clock reached the rehearsal (the phase clock may not have run yet).
    api.clock.store(old.rehearsal_at, Ordering::Relaxed);
    let (status, body) = put(&api, "operator", change(&["son-duong"], BOOKED_START + DAY)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state"),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["rehearsal_at"], old.rehearsal_at);

    // Earlier, but an operator opened the conference ahead of time.
    api.clock.store(old.rehearsal_at - DAY, Ordering::Relaxed);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/booking-1/start",
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = put(&api, "operator", change(&["son-duong"], BOOKED_START + DAY)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state"),
        "{body}"
    );
    assert_eq!(api.store.booking(1).await.unwrap().unwrap().details, old);
    assert!(changed_notices(&api).await.is_empty());
}

#[tokio::test]
async fn a_cancelled_booking_does_not_change() {
    let api = Api::new().await;
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Đơn vị xin hoãn"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put(&api, "operator", change(&["son-duong"], BOOKED_START)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state"),
        "{body}"
    );
}

#[tokio::test]
async fn only_an_operator_changes_an_approved_booking() {
    let api = Api::new().await;
    api.keep_sessions().await;
    // The site operator looks after the chair's room too.
    let site = api
        .store
        .user_by_username("site-operator")
        .await
        .unwrap()
        .unwrap();
    api.store
        .update_user(
            site.id,
            &mcu_store::UserChange {
                endpoints: Some(vec!["son-duong".into(), "ubnd-tinh".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // While requested, the chair's site operator may change it.
    let (status, body) = put(&api, "site_operator", change(&["son-duong"], BOOKED_START)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        changed_notices(&api).await.is_empty(),
        "a requested booking was never announced, nor is its change"
    );
    let (status, _) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let approved = api.store.booking(1).await.unwrap().unwrap();

    // Approved: the schedule is the operator's; the others are refused and audited.
    for role in ["site_operator", "admin", "auditor"] {
        let (status, body) = put(&api, role, change(&["dong-quy"], BOOKED_START + HOUR)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{role}"
        );
        let audit = api.last_audit().await;
        assert_eq!(
            (
                audit.entry.action.as_str(),
                audit.entry.target.as_str(),
                audit.entry.result.as_str(),
                audit.entry.actor.as_str()
            ),
            (
                "booking.change",
                "booking/1",
                "forbidden",
                role.replace('_', "-").as_str()
            ),
        );
    }
    let (status, body) = put(&api, "anonymous", change(&["dong-quy"], BOOKED_START)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(api.store.booking(1).await.unwrap().unwrap(), approved);
    assert!(changed_notices(&api).await.is_empty());

    let (status, body) = put(&api, "operator", change(&["dong-quy"], BOOKED_START + HOUR)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
}

#[tokio::test]
async fn the_store_changes_booking_conference_and_notices_together_or_not_at_all() {
    let api = approved().await;
    let before = api.store.booking(1).await.unwrap().unwrap();
    let conference = api.store.conference("booking-1").await.unwrap().unwrap();
    let mut d = before.details.clone();
    d.title = "Đổi tên".into();
    d.participants = vec!["tan-trao".into(), "ubnd-tinh".into()];
    let mut after = before.clone();
    after.details = d.clone();
    let notices = mcu_control::notice::change_notices(
        &before,
        &after,
        &api.store.list_endpoints().await.unwrap(),
        common::T0 + 5,
    );
    assert!(!notices.is_empty());
    let planned = mcu_store::Conference {
        title: d.title.clone(),
        participants: d.participants.clone(),
        ..conference.clone()
    };
    // The conference opened meanwhile: nothing is written.
    api.store
        .transition_conference(
            "booking-1",
            ConferenceState::Created,
            ConferenceState::Rehearsal,
            common::T0 + 4,
        )
        .await
        .unwrap();
    let outbox_before = api.store.list_outbox(None, 1000).await.unwrap().len();
    assert!(
        !api.store
            .change_booking_notifying(
                1,
                BookingStatus::Approved,
                &d,
                common::T0 + 5,
                Some(&planned),
                &notices
            )
            .await
            .unwrap()
    );
    assert_eq!(api.store.booking(1).await.unwrap().unwrap(), before);
    let c = api.store.conference("booking-1").await.unwrap().unwrap();
    assert_eq!(
        (c.title, c.participants),
        (conference.title, conference.participants)
    );
    assert_eq!(
        api.store.list_outbox(None, 1000).await.unwrap().len(),
        outbox_before
    );
    // A wrong expected status writes nothing either.
    assert!(
        !api.store
            .change_booking_notifying(
                1,
                BookingStatus::Requested,
                &d,
                common::T0 + 5,
                None,
                &notices
            )
            .await
            .unwrap()
    );
    assert_eq!(api.store.booking(1).await.unwrap().unwrap(), before);
    assert!(notices.iter().all(|m| m.event == OutboxEvent::Changed));
}
