//! A booked conference run by the real daemon, end to end, on shortened rule
//! times (`[booking]` in seconds instead of hours): an emergency booking with
//! a three-item scenario is requested and approved through the control API;
//! the daemon's clock opens the rehearsal by itself and synthetic endpoints
//! (real signalling, WebRTC, H.264) join during it; the clock makes it live at
//! the booked start; the operator steps through the scenario and each step
//! puts that item's speaker on the chair endpoint's main tile (checked on the
//! chair's received picture); the operator ends it and the clock reports it.

mod common;

use std::time::{Duration, Instant};

use common::{https, looks_like};
use mcu_endpoint::{Endpoint, StopMode, picture::PALETTE};
use mcud::config::BookingConfig;
use mcud::server::Running;
use serde_json::{Value, json};

/// (endpoint id, name, chair-capable, palette index).
const ROOMS: [(&str, &str, bool, usize); 3] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true, 0),
    ("son-duong", "UBND huyện Sơn Dương", false, 1),
    ("dong-quy", "UBND xã Đông Quý", false, 2),
];

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn conference(running: &Running, op: &str, id: &str) -> Value {
    let r = https(
        running,
        "GET",
        &format!("/api/v1/conferences/{id}"),
        Some(op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Waits until the conference is in `state`; how long it took.
async fn wait_state(
    running: &Running,
    op: &str,
    id: &str,
    state: &str,
    limit: Duration,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let c = conference(running, op, id).await;
        if c["state"] == state {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "not {state} after {limit:?}: {}",
            c["state"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the chair's picture shows `colour` on its main tile.
async fn wait_main_tile(chair: &Endpoint, colour: (u8, u8, u8), what: &str) -> Duration {
    let t0 = Instant::now();
    loop {
        let top_left = chair.live().tiles.first().map(|t| t.colour.clone());
        if top_left.as_deref().is_some_and(|c| looks_like(c, colour)) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{what}: the chair's main tile never showed {colour:?}; it shows {top_left:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_conference_opens_for_rehearsal_goes_live_and_runs_its_scenario() {
    let (_guard, running) = common::daemon("booked", |config| {
        config.booking = BookingConfig {
            emergency_notice_hours: 0.0,
            rehearsal_before_minutes: 4.0 / 60.0,
            ready_check_before_minutes: 2.0 / 60.0,
            report_after_seconds: 1.0,
            ..BookingConfig::default()
        };
        // A quality sample every second, so the short session has some to report.
        config.quality.record_seconds = 1.0;
    })
    .await;
    let rooms = ROOMS.map(|(id, name, chair, _)| (id, name, chair));
    let (op, tokens) = common::create_rooms(&running, &rooms).await;

    // Booked to start in 6 s: the rehearsal opens 4 s before, the readiness check 2 s before.
    let start = wall_ms() + 6_000;
    let body = json!({
        "title": "Họp khẩn phòng chống lụt bão", "organising_unit": "Văn phòng UBND tỉnh",
        "chair": "ubnd-tinh", "participants": ["son-duong", "dong-quy"],
        "start_at": start, "end_at": start + 10 * 60_000, "kind": "emergency", "recording": false,
        "scenario": [
            {"title": "Báo cáo của huyện Sơn Dương", "speaker": "son-duong", "layout": "1+7", "planned_minutes": 10},
            {"title": "Báo cáo của xã Đông Quý", "speaker": "dong-quy", "layout": "1+7", "planned_minutes": 10},
            {"title": "Kết luận", "speaker": "son-duong", "layout": "1+7", "planned_minutes": 5}
        ]
    });
    let r = https(&running, "POST", "/api/v1/bookings", Some(&op), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let booking = r.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/bookings/{booking}/approve");
    let r = https(&running, "POST", &path, Some(&op), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let conf = r.body["conference_id"].as_str().unwrap().to_owned();
    assert_eq!(conference(&running, &op, &conf).await["state"], "created");

    // The clock opens the rehearsal (≈ 2 s from now) and the rooms join in it.
    wait_state(&running, &op, &conf, "rehearsal", Duration::from_secs(6)).await;
    let ids = ROOMS.map(|r| r.0);
    let endpoints = common::spawn_endpoints(&running, &conf, &ids, &tokens, |i, c| {
        c.colour = PALETTE[ROOMS[i].3];
        c.grid = Some(2);
        c.analyse_video = i == 0;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !endpoints.iter().all(|e| e.live().connected) || endpoints[0].live().tiles.is_empty() {
        let errors: Vec<_> = endpoints.iter().filter_map(|e| e.live().error).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(
            Instant::now() < deadline,
            "rooms did not join the rehearsal in 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Live at the booked start, by the clock, with the rooms still connected.
    wait_state(&running, &op, &conf, "live", Duration::from_secs(15)).await;
    let c = conference(&running, &op, &conf).await;
    assert!(c["started_at"].as_i64().unwrap() >= start, "{c}");
    assert!(endpoints.iter().all(|e| e.live().connected));

    // The scenario: each step puts its speaker on the chair's main tile.
    let step = |to: Value| {
        let running = &running;
        let op = &op;
        let conf = &conf;
        async move {
            let path = format!("/api/v1/conferences/{conf}/scenario/step");
            let r = https(running, "POST", &path, Some(op), Some(to)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["warnings"], json!([]), "{}", r.body);
            r.body
        }
    };
    let v = step(json!({"to": "next"})).await;
    assert_eq!(v["current"], 0);
    let took = wait_main_tile(&endpoints[0], PALETTE[1], "item 1 (Sơn Dương)").await;
    println!("scenario step → chair's main tile: {} ms", took.as_millis());
    let v = step(json!({"to": "next"})).await;
    assert_eq!(v["current"], 1);
    wait_main_tile(&endpoints[0], PALETTE[2], "item 2 (Đông Quý)").await;
    let v = step(json!({"to": "previous"})).await;
    assert_eq!(v["current"], 0);
    wait_main_tile(&endpoints[0], PALETTE[1], "back to item 1").await;

    // The operator ends it; the clock reports it.
    let r = https(
        &running,
        "POST",
        &format!("/api/v1/conferences/{conf}/end"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    wait_state(&running, &op, &conf, "reported", Duration::from_secs(10)).await;
    let r = https(
        &running,
        "GET",
        &format!("/api/v1/conferences/{conf}/logbook"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let texts: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    for wanted in [
        "Chuyển giai đoạn theo lịch: chưa bắt đầu → đang tổng duyệt",
        "Chuyển giai đoạn theo lịch: đang tổng duyệt → đang kiểm tra sẵn sàng",
        "Chuyển giai đoạn theo lịch: đang kiểm tra sẵn sàng → đang họp",
        "Đã lập báo cáo chất lượng: 3 điểm cầu",
    ] {
        assert!(
            texts.iter().any(|t| t.starts_with(wanted)),
            "no «{wanted}» in {texts:#?}"
        );
    }
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.starts_with("Chuyển mục kịch bản"))
            .count(),
        3
    );

    for mut e in endpoints {
        tokio::task::block_in_place(|| e.stop(StopMode::Leave));
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
