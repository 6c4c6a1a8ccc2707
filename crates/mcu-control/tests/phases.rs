//! A booked conference moves through its phases by the clock (R10), in
//! virtual time: the test sets the clock and runs one pass of the phase
//! clock, as the daemon does every second.

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::*;
use mcu_control::phase::{self, PhaseChange, PhaseRules};
use mcu_store::ConferenceState::{self, *};
use mcu_store::LogbookCategory;
use serde_json::json;

const CONF: &str = "booking-1";

async fn approved() -> Api {
    let api = Api::new().await;
    api.keep_sessions().await;
    let (status, body) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api
}

/// Sets the clock to `at` and runs one pass; the changes it made.
async fn tick(api: &Api, at: i64) -> Vec<PhaseChange> {
    api.clock.store(at, Ordering::Relaxed);
    phase::advance(&api.state).await.unwrap()
}

async fn state(api: &Api) -> ConferenceState {
    api.store.conference(CONF).await.unwrap().unwrap().state
}

/// The clock's logbook lines for the conference.
async fn phase_lines(api: &Api) -> Vec<String> {
    api.store
        .logbook(CONF)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .filter(|e| e.category == LogbookCategory::Phase && e.actor == "system")
        .map(|e| e.text)
        .collect()
}

fn opened(api: &Api) -> usize {
    let started = api.live.started.lock().unwrap();
    started.iter().filter(|c| c.id == CONF).count()
}

fn closed(api: &Api) -> usize {
    let ended = api.live.ended.lock().unwrap();
    ended.iter().filter(|c| *c == CONF).count()
}

#[tokio::test]
async fn a_booked_conference_moves_through_every_phase_on_the_clock() {
    let api = approved().await;
    let b = fixture_booking();
    let rules = PhaseRules::default();

    assert!(tick(&api, b.rehearsal_at - 1).await.is_empty());
    assert_eq!(state(&api).await, Created);
    assert_eq!(opened(&api), 0, "no media before the rehearsal");

    let changes = tick(&api, b.rehearsal_at).await;
    assert_eq!(
        changes,
        vec![PhaseChange {
            conference: CONF.into(),
            from: Created,
            to: Rehearsal
        }]
    );
    assert_eq!(opened(&api), 1, "the rehearsal opens the media");
    // A second pass at the same time changes nothing.
    assert!(tick(&api, b.rehearsal_at + 1).await.is_empty());

    tick(&api, b.ready_check_at).await;
    assert_eq!(state(&api).await, ReadyCheck);

    tick(&api, b.start_at).await;
    assert_eq!(state(&api).await, Live);
    let c = api.store.conference(CONF).await.unwrap().unwrap();
    assert_eq!(c.started_at, Some(b.start_at));
    assert_eq!(opened(&api), 1, "media opened once, at the rehearsal");

    // The chair may still be speaking at the booked end: not cut there.
    tick(&api, b.end_at).await;
    assert_eq!(state(&api).await, Live);
    assert_eq!(closed(&api), 0);

    let over = b.end_at + rules.overrun_ms;
    tick(&api, over).await;
    assert_eq!(state(&api).await, Ended);
    assert_eq!(closed(&api), 1, "the end closes the media");

    assert!(
        tick(&api, over + rules.report_after_ms - 1)
            .await
            .is_empty()
    );
    tick(&api, over + rules.report_after_ms).await;
    assert_eq!(state(&api).await, Reported);
    assert!(tick(&api, over + 10 * HOUR).await.is_empty());

    let lines = phase_lines(&api).await;
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines[0].contains("đang tổng duyệt"), "{}", lines[0]);
    assert!(lines[1].contains("đang kiểm tra sẵn sàng"), "{}", lines[1]);
    assert!(lines[2].contains("đang họp"), "{}", lines[2]);
    assert!(lines[3].contains("đã kết thúc"), "{}", lines[3]);
    assert!(
        lines[4].starts_with("Đã lập báo cáo chất lượng"),
        "{}",
        lines[4]
    );
    // The chain of the logbook still verifies.
    let (status, body) = api
        .call(
            "operator",
            "GET",
            &format!("/api/v1/conferences/{CONF}/logbook/verify"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["intact"], true, "{body}");
}

#[tokio::test]
async fn operators_open_early_and_end_early_and_the_clock_never_undoes_it() {
    let api = approved().await;
    let b = fixture_booking();
    tick(&api, b.rehearsal_at + HOUR).await;
    assert_eq!(state(&api).await, Rehearsal);

    // During the rehearsal the operator steers the conference already.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/{CONF}/call-to-chair"),
            Some(json!({"endpoint": "son-duong"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Opened before the start: live, without a second media start.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/{CONF}/start"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "live");
    assert_eq!(opened(&api), 1);
    assert!(tick(&api, b.ready_check_at).await.is_empty());
    assert_eq!(state(&api).await, Live);

    // Ended before the booked end: the clock does not reopen it.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/{CONF}/end"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(closed(&api), 1);
    let ended_at = api.clock.load(Ordering::Relaxed);
    let report_after = PhaseRules::default().report_after_ms;
    // Reported a report delay after the operator's end, not the booked one.
    assert!(tick(&api, ended_at + report_after - 1).await.is_empty());
    let changes = tick(&api, ended_at + report_after).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].from, changes[0].to), (Ended, Reported));
    // Its booked start and end pass: nothing reopens.
    assert!(tick(&api, b.start_at + HOUR).await.is_empty());
    assert!(tick(&api, b.end_at + HOUR).await.is_empty());
    assert_eq!(state(&api).await, Reported);
    assert_eq!(opened(&api), 1);
    let c = api.store.conference(CONF).await.unwrap().unwrap();
    assert_eq!(c.ended_at, Some(ended_at));
}

#[tokio::test]
async fn a_late_approval_jumps_straight_to_the_phase_due() {
    let api = approved().await;
    let b = fixture_booking();
    // The daemon was down from before the rehearsal until after the readiness check began.
    let changes = tick(&api, b.ready_check_at + 1).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].from, changes[0].to), (Created, ReadyCheck));
    assert_eq!(opened(&api), 1);
    assert_eq!(phase_lines(&api).await.len(), 1);
}

#[tokio::test]
async fn cancelling_during_the_rehearsal_closes_the_media() {
    let api = approved().await;
    let b = fixture_booking();
    tick(&api, b.rehearsal_at).await;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Bão số 3 đổ bộ, hoãn họp"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(state(&api).await, Ended);
    assert_eq!(closed(&api), 1);
    // A cancelled booking's conference is never reopened by the clock.
    tick(&api, b.start_at).await;
    assert_eq!(opened(&api), 1);
}

#[tokio::test]
async fn only_booked_conferences_follow_the_clock() {
    let api = Api::new().await;
    // `giao-ban` (live) and `hop-moi` (created) were not booked.
    assert!(tick(&api, BOOKED_START + 100 * HOUR).await.is_empty());
    let c = api.store.conference("hop-moi").await.unwrap().unwrap();
    assert_eq!(c.state, Created);
    let c = api.store.conference("giao-ban").await.unwrap().unwrap();
    assert_eq!(c.state, Live);
    // A requested (not approved) booking opens nothing.
    assert_eq!(api.live.started.lock().unwrap().len(), 0);
}

#[tokio::test]
async fn a_booked_recording_covers_the_official_session_not_the_rehearsal() {
    let api = approved().await;
    let raw = sqlx::AnyPool::connect(&api.db_url).await.unwrap();
    sqlx::query("UPDATE bookings SET recording = 1 WHERE id = 1")
        .execute(&raw)
        .await
        .unwrap();
    let b = fixture_booking();
    tick(&api, b.rehearsal_at).await;
    let started = api.live.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    assert!(!started[0].recording, "the rehearsal is not recorded");
    assert!(api.live.recordings.lock().unwrap().is_empty());

    tick(&api, b.start_at).await;
    assert_eq!(state(&api).await, Live);
    assert_eq!(*api.live.recordings.lock().unwrap(), vec![CONF.to_owned()]);
    // Once: later passes do not start it again.
    tick(&api, b.start_at + 1000).await;
    assert_eq!(api.live.recordings.lock().unwrap().len(), 1);
}
