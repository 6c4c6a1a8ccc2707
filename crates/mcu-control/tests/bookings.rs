//! Bookings through the router, on the test clock: request → approve → the
//! conference exists and starts; reject with a reason; the notice, clash and
//! state errors with their bodies; a site operator books for their own chair.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{Api, BOOKED_START, HOUR, code};
use mcu_store::{Contact, Endpoint, Level};
use serde_json::{Value, json};

const DAY: i64 = 24 * HOUR;

fn request(kind: &str, chair: &str, participants: &[&str], start: i64) -> Value {
    json!({
        "title": "Hội nghị trực tuyến triển khai nhiệm vụ quý IV",
        "organising_unit": "Văn phòng UBND tỉnh",
        "chair": chair,
        "participants": participants,
        "start_at": start,
        "end_at": start + 2 * HOUR,
        "kind": kind,
        "scenario": [
            {"title": "Khai mạc", "speaker": chair, "layout": "1x1", "planned_minutes": 10},
            {"title": "Thảo luận", "layout": "2x2", "planned_minutes": 60}
        ],
        "recording": true
    })
}

fn now(api: &Api) -> i64 {
    api.clock.load(Ordering::Relaxed)
}

async fn add_chair_site(api: &Api, id: &str) {
    api.store
        .create_endpoint(
            &Endpoint {
                id: id.into(),
                name: "UBND huyện Hàm Yên".into(),
                unit: "UBND huyện Hàm Yên".into(),
                level: Level::District,
                chair_capable: true,
                owner_mcu: "tuyen-quang".into(),
                contacts: vec![Contact::default()],
            },
            common::T0,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn request_then_approve_creates_a_conference_an_operator_can_start() {
    let api = Api::new().await;
    let start = now(&api) + 5 * DAY;
    let (status, b) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request("scheduled", "ubnd-tinh", &["tan-trao"], start)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "requested");
    assert_eq!(b["participants"], json!(["tan-trao", "ubnd-tinh"]));
    assert_eq!(b["rehearsal_at"], start - 2 * HOUR);
    assert_eq!(b["ready_check_at"], start - HOUR / 2);
    assert_eq!(b["scenario"][1]["title"], "Thảo luận");
    let id = b["id"].as_i64().unwrap();
    let audit = api.last_audit().await;
    assert_eq!(
        (
            audit.entry.action.as_str(),
            audit.entry.target.clone(),
            audit.entry.result.as_str()
        ),
        ("booking.request", format!("booking/{id}"), "ok")
    );

    // (The fixture's sessions last an hour from T0.)
    api.clock.fetch_add(60_000, Ordering::Relaxed);
    let (status, approved) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/bookings/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "operator");
    assert_eq!(approved["decided_at"], now(&api));
    let conference = approved["conference_id"].as_str().unwrap().to_owned();
    assert_eq!(conference, format!("booking-{id}"));
    assert_eq!(api.last_audit().await.entry.action, "booking.approve");

    let (status, c) = api
        .call(
            "operator",
            "GET",
            &format!("/api/v1/conferences/{conference}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["state"], "created");
    assert_eq!(c["chair"], "ubnd-tinh");
    assert_eq!(c["layout"], "1x1", "the first agenda item's layout");
    assert_eq!(c["title"], "Hội nghị trực tuyến triển khai nhiệm vụ quý IV");
    let members: Vec<&str> = c["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["tan-trao", "ubnd-tinh"]);

    // The existing conference API starts it.
    let (status, live) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/{conference}/start"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["state"], "live");
    // The booking asked for a recording: the media side is told to record (R17).
    let started = api.live.started.lock().unwrap().last().cloned().unwrap();
    assert_eq!(started.id, conference);
    assert!(
        started.recording,
        "the booking's recording flag reaches the media"
    );

    // Approved once: not again.
    let (status, again) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/bookings/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&again)),
        (StatusCode::CONFLICT, "booking_state")
    );
    // Started: it cannot be cancelled, only ended.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(json!({"reason": "Hoãn"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state")
    );
}

#[tokio::test]
async fn notice_is_checked_against_the_clock_for_both_kinds() {
    let api = Api::new().await;
    for (kind, notice) in [("scheduled", 2 * DAY), ("emergency", 2 * HOUR)] {
        // Both windows end before booking 1's rehearsal: only the notice rule speaks.
        let t = now(&api);
        let (status, body) = api
            .call(
                "operator",
                "POST",
                "/api/v1/bookings",
                Some(request(kind, "ubnd-tinh", &["tan-trao"], t + notice - 1)),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {body}");
        assert_eq!(code(&body), "booking_too_late");
        let details = &body["error"]["details"];
        assert_eq!(details["rule"], kind);
        assert_eq!(details["notice_ms"], notice);
        assert_eq!(details["earliest_start"], t + notice);
        assert_eq!(api.last_audit().await.entry.result, "booking_too_late");

        // Just inside: exactly the notice.
        let (status, body) = api
            .call(
                "operator",
                "POST",
                "/api/v1/bookings",
                Some(request(kind, "ubnd-tinh", &["tan-trao"], t + notice)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {body}");
        assert_eq!(body["kind"], kind);
        // Free the endpoints for the next kind.
        let id = body["id"].as_i64().unwrap();
        let (status, _) = api
            .call(
                "operator",
                "POST",
                &format!("/api/v1/bookings/{id}/cancel"),
                Some(json!({"reason": "Thử nghiệm"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_clash_names_each_endpoint_and_booking_and_disjoint_sites_may_overlap() {
    let api = Api::new().await;
    // Starts 1 h after booking 1 ends: its rehearsal (start − 2 h) overlaps
    // booking 1's official session.
    let start = BOOKED_START + 3 * HOUR;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request(
                "scheduled",
                "ubnd-tinh",
                &["son-duong", "tan-trao"],
                start,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "booking_conflict");
    let clashes = body["error"]["details"]["clashes"].as_array().unwrap();
    let named: Vec<(&str, i64)> = clashes
        .iter()
        .map(|c| {
            (
                c["endpoint"].as_str().unwrap(),
                c["booking"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(named, [("son-duong", 1), ("ubnd-tinh", 1)]);
    assert_eq!(clashes[0]["window_start"], BOOKED_START - 2 * HOUR);
    assert_eq!(clashes[0]["window_end"], BOOKED_START + 2 * HOUR);
    assert_eq!(
        clashes[0]["title"],
        "Hội nghị trực tuyến về phòng chống lụt bão"
    );

    // Once its rehearsal opens after booking 1 ends, it fits.
    let later = BOOKED_START + 4 * HOUR;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request("scheduled", "ubnd-tinh", &["son-duong"], later)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Other endpoints at the very same time: allowed (R2).
    add_chair_site(&api, "ham-yen").await;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request("scheduled", "ham-yen", &["tan-trao"], BOOKED_START)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_rejected_booking_keeps_its_reason_and_frees_its_endpoints() {
    let api = Api::new().await;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/reject",
            Some(json!({"reason": ""})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_field")
    );
    assert_eq!(body["error"]["details"]["field"], "reason");
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/reject",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );

    let reason = "Trùng lịch họp của Tỉnh ủy";
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/reject",
            Some(json!({ "reason": reason })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["status"], &body["reason"], &body["decided_by"]),
        (&json!("rejected"), &json!(reason), &json!("operator"))
    );
    assert!(body["conference_id"].is_null());
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.target.as_str()),
        ("booking.reject", "booking/1")
    );
    assert!(audit.entry.details.contains(reason));

    for path in ["/api/v1/bookings/1/approve", "/api/v1/bookings/1/reject"] {
        let body = path
            .ends_with("reject")
            .then(|| json!({"reason": "lần nữa"}));
        let (status, err) = api.call("operator", "POST", path, body).await;
        assert_eq!(
            (status, code(&err)),
            (StatusCode::CONFLICT, "booking_state"),
            "{path}"
        );
    }
    // The same slot and endpoints are free again.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request(
                "scheduled",
                "ubnd-tinh",
                &["son-duong"],
                BOOKED_START,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn cancelling_an_approved_booking_ends_its_unopened_conference() {
    let api = Api::new().await;
    let (status, _) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Bão số 3 đổ bộ, hoãn họp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled");
    let c = api.store.conference("booking-1").await.unwrap().unwrap();
    assert_eq!(c.state, mcu_store::ConferenceState::Ended);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "lần nữa"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state")
    );
}

#[tokio::test]
async fn a_change_is_checked_again_and_only_while_requested_or_approved() {
    let api = Api::new().await;
    let t = now(&api);
    // Too late for a scheduled booking.
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/bookings/1",
            Some(request("scheduled", "ubnd-tinh", &["son-duong"], t + DAY)),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "booking_too_late")
    );
    // The booking does not clash with itself.
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/bookings/1",
            Some(request(
                "scheduled",
                "ubnd-tinh",
                &["son-duong"],
                BOOKED_START + HOUR,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["start_at"], BOOKED_START + HOUR);
    assert_eq!(body["participants"], json!(["son-duong", "ubnd-tinh"]));
    assert_eq!(body["scenario"].as_array().unwrap().len(), 2);
    // A bad layout names its field.
    let mut bad = request("scheduled", "ubnd-tinh", &["son-duong"], BOOKED_START);
    bad["scenario"][1]["layout"] = json!("9x9");
    let (status, body) = api
        .call("operator", "PUT", "/api/v1/bookings/1", Some(bad))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_field")
    );
    assert_eq!(body["error"]["details"]["field"], "scenario[1].layout");

    // Approved, it still changes (tests/booking_change.rs); cancelled, no more.
    api.call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    let change = request("scheduled", "ubnd-tinh", &["son-duong"], BOOKED_START);
    let (status, body) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/bookings/1",
            Some(change.clone()),
        )
        .await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("approved")),
        "{body}"
    );
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Hoãn họp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call("operator", "PUT", "/api/v1/bookings/1", Some(change))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "booking_state")
    );
    let (status, body) = api
        .call("operator", "GET", "/api/v1/bookings/9", None)
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn the_calendar_lists_bookings_whose_window_meets_the_range() {
    let api = Api::new().await;
    let ids = |body: &Value| -> Vec<i64> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect()
    };
    let day = |from: i64, to: i64| format!("/api/v1/bookings?from={from}&to={to}");
    // The rehearsal (from 06:00) counts: a range ending at 07:00 shows it.
    let (_, body) = api
        .call(
            "auditor",
            "GET",
            &day(BOOKED_START - 10 * HOUR, BOOKED_START - HOUR),
            None,
        )
        .await;
    assert_eq!(ids(&body), [1]);
    let (_, body) = api
        .call(
            "auditor",
            "GET",
            &day(BOOKED_START + 2 * HOUR, BOOKED_START + DAY),
            None,
        )
        .await;
    assert!(ids(&body).is_empty());
    let (status, body) = api
        .call("auditor", "GET", &day(BOOKED_START, BOOKED_START), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_field")
    );
}

#[tokio::test]
async fn the_rules_view_gives_the_server_clock_and_the_notice_the_check_applies() {
    let api = Api::new().await;
    let (status, rules) = api
        .call("site_operator", "GET", "/api/v1/booking-rules", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(rules["now"], now(&api));
    assert_eq!(rules["scheduled_notice_ms"], 2 * DAY);
    assert_eq!(rules["emergency_notice_ms"], 2 * HOUR);
    assert_eq!(rules["rehearsal_before_ms"], 2 * HOUR);
    assert_eq!(rules["ready_check_before_ms"], HOUR / 2);
    assert_eq!(rules["layouts"], json!(["1x1", "2x2", "3x3", "1+7"]));
    // The clock moves on; the earliest start a form computes from the view is
    // exactly the one the check accepts, a millisecond earlier is refused.
    api.clock.fetch_add(HOUR / 2 + 123, Ordering::Relaxed);
    let (status, rules) = api
        .call("operator", "GET", "/api/v1/booking-rules", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let earliest = rules["now"].as_i64().unwrap() + rules["emergency_notice_ms"].as_i64().unwrap();
    assert_eq!(earliest, now(&api) + 2 * HOUR);
    let body = request("emergency", "ubnd-tinh", &["dong-quy"], earliest - 1);
    let (status, err) = api
        .call("operator", "POST", "/api/v1/bookings", Some(body))
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "booking_too_late")
    );
    assert_eq!(err["error"]["details"]["earliest_start"], earliest);
    let body = request("emergency", "ubnd-tinh", &["dong-quy"], earliest);
    let (status, b) = api
        .call("operator", "POST", "/api/v1/bookings", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn a_site_operator_books_for_their_own_chair_only() {
    let api = Api::new().await;
    add_chair_site(&api, "ham-yen").await;
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
                endpoints: Some(vec!["son-duong".into(), "ham-yen".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let start = BOOKED_START + 5 * DAY;
    // Chaired by someone else's room: refused.
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            "/api/v1/bookings",
            Some(request("scheduled", "ubnd-tinh", &["son-duong"], start)),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    // Their own chair: accepted, and they may cancel it but not approve it.
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            "/api/v1/bookings",
            Some(request("scheduled", "ham-yen", &["tan-trao"], start)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["requested_by"], "site-operator");
    let id = body["id"].as_i64().unwrap();
    let (status, _) = api
        .call(
            "site_operator",
            "POST",
            &format!("/api/v1/bookings/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Booking 1 is chaired by ubnd-tinh: not theirs to cancel, though they see it.
    let (status, _) = api
        .call(
            "site_operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Không phải của tôi"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(json!({"reason": "Đơn vị xin hoãn"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A booking without any of their endpoints is invisible to them.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings",
            Some(request(
                "scheduled",
                "ubnd-tinh",
                &["tan-trao"],
                start + DAY,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other = body["id"].as_i64().unwrap();
    let (status, _) = api
        .call(
            "site_operator",
            "GET",
            &format!("/api/v1/bookings/{other}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = api
        .call("site_operator", "GET", "/api/v1/bookings", None)
        .await;
    let seen: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, [1, id]);
}
