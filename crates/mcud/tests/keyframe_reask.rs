//! A room whose keyframe is lost is asked again (issue 3, one broken
//! participant never stalls): a synthetic room's uplink loses every second
//! video packet, retransmissions too, so every keyframe it sends arrives
//! broken. The MCU keeps asking for one (PLI about twice a second) instead
//! of once, and as soon as the uplink is clean again the next keyframe
//! restores the room's picture — before, the MCU asked once and then
//! dropped the room's frames for good, waiting for a keyframe nobody sent.

mod common;

use std::time::{Duration, Instant};

use mcu_endpoint::StopMode;
use mcud::server::Running;

const ROOMS: [(&str, &str, bool); 2] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
];

/// Video frames the MCU decoded per second over `span` (both rooms).
async fn decoded_fps(running: &Running, span: Duration) -> f64 {
    let decoded = || async {
        common::metric(running, "hop-kiem-tra", "mcu_frames_decoded_total")
            .await
            .expect("mcu_frames_decoded_total in /metrics")
    };
    let (t0, before) = (Instant::now(), decoded().await);
    tokio::time::sleep(span).await;
    (decoded().await - before) / t0.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_keyframe_is_asked_for_again_until_one_arrives() {
    let (_guard, running) = common::daemon("keyframe-reask", |_| {}).await;
    let (op, tokens) = common::start_conference(&running, "hop-kiem-tra", "2x2", &ROOMS).await;
    let ids = ROOMS.map(|r| r.0);
    let endpoints = common::spawn_endpoints(&running, "hop-kiem-tra", &ids, &tokens, |_, _| {});
    let site = &endpoints[1];

    // The room's video flowing first.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let q = common::quality(&running, &op, "hop-kiem-tra").await;
        let fps = q["endpoints"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["endpoint"] == "son-duong"))
            .and_then(|e| e["video"]["fps"].as_f64())
            .unwrap_or(0.0);
        if fps >= 15.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the room's video never flowed: {q}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let clean = decoded_fps(&running, Duration::from_secs(2)).await;

    // Every second packet lost: no keyframe gets through whole, and the
    // room's frames stop decoding.
    site.set_send_loss_every(2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asked_before = site.live().keyframes_requested;
    let lossy = decoded_fps(&running, Duration::from_secs(4)).await;
    let asked = site.live().keyframes_requested - asked_before;
    assert!(
        lossy < clean - 10.0,
        "the room's picture was not broken: {clean:.1} then {lossy:.1} frames/s decoded"
    );
    assert!(
        asked >= 4,
        "the MCU asked for a keyframe {asked} times in 4 s of broken picture"
    );

    // The uplink heals: the next keyframe asked for restores the picture.
    site.set_send_loss_every(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fps = decoded_fps(&running, Duration::from_secs(1)).await;
        if fps > lossy + 10.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "10 s after the loss stopped the MCU decodes {fps:.1} frames/s \
             ({clean:.1} before the loss, {lossy:.1} during it)"
        );
    }

    for mut e in endpoints {
        e.stop(StopMode::Leave);
    }
}
