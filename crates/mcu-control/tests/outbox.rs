//! Booking notifications (R9) through the router: an approval puts one
//! notice per contact and channel of every participating endpoint in the
//! outbox, in Vietnamese with Vietnam times; a cancellation of an approved
//! booking announces it; a rejection or a change of a requested booking does
//! not; the outbox lists by status and a retry makes a message due now.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{Api, T0, code};
use mcu_control::notice::vn_minutes;
use serde_json::{Value, json};

fn messages(v: &Value) -> Vec<Value> {
    v["messages"].as_array().unwrap().clone()
}

async fn outbox(api: &Api, query: &str) -> Value {
    let (status, v) = api
        .call("operator", "GET", &format!("/api/v1/outbox{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn approval_notifies_each_contact_of_each_participant() {
    let api = Api::new().await;
    // The fixture's message 1 is there before anything happens.
    let before = outbox(&api, "").await;
    assert_eq!(
        (before["pending"].as_i64(), messages(&before).len()),
        (Some(1), 1)
    );

    let (status, b) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let all = messages(&outbox(&api, "?status=pending").await);
    let new: Vec<&Value> = all.iter().filter(|m| m["id"].as_i64() != Some(1)).collect();
    // ubnd-tinh, son-duong, dong-quy: one contact each, with an e-mail address.
    let mut got: Vec<(String, String)> = new
        .iter()
        .map(|m| {
            (
                m["endpoint_id"].as_str().unwrap().to_owned(),
                m["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = ["dong-quy", "son-duong", "ubnd-tinh"]
        .iter()
        .flat_map(|e| {
            [
                (e.to_string(), "email".into()),
                (e.to_string(), "webhook".into()),
            ]
        })
        .collect();
    assert_eq!(got, want);
    let d = common::fixture_booking();
    for m in &new {
        assert_eq!(m["event"], "approved");
        assert_eq!(m["booking_id"], 1);
        assert_eq!(m["status"], "pending");
        assert_eq!(m["attempts"], 0);
        assert_eq!(m["recipient_name"], "Trần Thị Hương");
        assert_eq!(m["recipient_email"], "huong@tuyenquang.gov.vn");
        let body = m["body"].as_str().unwrap();
        for want in [
            format!("Đơn vị tổ chức: {}", d.organising_unit),
            "Điểm cầu chủ trì: UBND tỉnh Tuyên Quang".to_owned(),
            format!(
                "Mở phòng tổng duyệt (kiểm tra kỹ thuật): {}",
                vn_minutes(d.rehearsal_at)
            ),
            format!("Bắt đầu chính thức: {}", vn_minutes(d.start_at)),
            format!("Kết thúc: {}", vn_minutes(d.end_at)),
        ] {
            assert!(body.contains(&want), "{want:?} not in {body}");
        }
        assert!(m["subject"].as_str().unwrap().contains(&d.title));
    }
    // The rejection of another booking, and the approval refused, add nothing.
    let (status, _) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(messages(&outbox(&api, "").await).len(), 7);
}

#[tokio::test]
async fn cancelling_an_approved_booking_is_announced_but_a_rejection_is_not() {
    let api = Api::new().await;
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/reject",
            Some(json!({"reason": "Trùng lịch"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        messages(&outbox(&api, "").await).len(),
        1,
        "a rejection is not announced"
    );

    // A second booking, approved then cancelled.
    let mut d = common::fixture_booking();
    d.start_at += 24 * common::HOUR;
    d.end_at += 24 * common::HOUR;
    d.rehearsal_at += 24 * common::HOUR;
    d.ready_check_at += 24 * common::HOUR;
    let b = api.store.create_booking(&d, "operator", T0).await.unwrap();
    let path = format!("/api/v1/bookings/{}", b.id);
    let (status, _) = api
        .call("operator", "POST", &format!("{path}/approve"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("{path}/cancel"),
            Some(json!({"reason": "Hoãn do bão số 3"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let all = messages(&outbox(&api, "").await);
    let cancelled: Vec<&Value> = all.iter().filter(|m| m["event"] == "cancelled").collect();
    assert_eq!(cancelled.len(), 6, "{all:?}");
    for m in cancelled {
        assert_eq!(m["booking_id"], b.id);
        assert!(m["subject"].as_str().unwrap().starts_with("Thông báo hủy"));
        assert!(
            m["body"]
                .as_str()
                .unwrap()
                .contains("Lý do: Hoãn do bão số 3."),
            "{m}"
        );
    }
    assert_eq!(all.len(), 1 + 6 + 6);
}

#[tokio::test]
async fn the_outbox_lists_by_status_and_a_retry_makes_a_message_due_now() {
    let api = Api::new().await;
    // The delivery worker's view: message 1 failed once.
    assert!(
        api.store
            .outbox_failed(1, T0, "connection refused (127.0.0.1:9)", T0 + 600_000)
            .await
            .unwrap()
    );
    let v = outbox(&api, "?status=failing").await;
    assert_eq!(
        (v["failing"].as_i64(), v["pending"].as_i64()),
        (Some(1), Some(0))
    );
    let m = &messages(&v)[0];
    assert_eq!(
        (
            m["id"].as_i64(),
            m["attempts"].as_i64(),
            m["status"].as_str()
        ),
        (Some(1), Some(1), Some("failing"))
    );
    assert_eq!(m["last_error"], "connection refused (127.0.0.1:9)");
    assert_eq!(m["next_attempt_at"], T0 + 600_000);
    assert!(messages(&outbox(&api, "?status=delivered").await).is_empty());

    api.clock.fetch_add(1_000, Ordering::Relaxed);
    let (status, m) = api
        .call("operator", "POST", "/api/v1/outbox/1/retry", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["next_attempt_at"], api.clock.load(Ordering::Relaxed));
    let audit = api.last_audit().await;
    assert_eq!(
        (
            audit.entry.action.as_str(),
            audit.entry.target.as_str(),
            audit.entry.result.as_str()
        ),
        ("outbox.retry", "outbox/1", "ok")
    );

    let (status, body) = api
        .call("operator", "POST", "/api/v1/outbox/99/retry", None)
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    assert!(api.store.outbox_delivered(1, T0 + 2_000).await.unwrap());
    let (status, body) = api
        .call("operator", "POST", "/api/v1/outbox/1/retry", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "outbox_delivered")
    );
    assert_eq!(api.last_audit().await.entry.result, "outbox_delivered");
    let v = outbox(&api, "?status=delivered&limit=5").await;
    assert_eq!((v["delivered"].as_i64(), messages(&v).len()), (Some(1), 1));
    let (status, body) = api
        .call("operator", "GET", "/api/v1/outbox?limit=0", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_field")
    );
}
