//! NACK repairs a lossy uplink (issue 3): a synthetic room's first
//! transmission of every 5th video packet is lost on the way to the MCU;
//! the MCU's NACK brings the retransmission, its jitter buffer waits for
//! it, and the operators see a clean stream — loss near zero, every frame
//! there, no frame dropped while waiting for a keyframe. The same loss with
//! the retransmissions lost too (not repairable) shows as loss and missing
//! frames, so the clean figures above are the repair's doing.

mod common;

use std::time::{Duration, Instant};

use mcu_endpoint::StopMode;
use mcud::server::Running;
use serde_json::Value;

const ROOMS: [(&str, &str, bool); 2] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
];

/// The lossy room's video as the MCU receives it, from the quality view.
async fn site_video(running: &Running, op: &str) -> Value {
    common::quality(running, op, "giao-ban").await["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["endpoint"] == "son-duong"))
        .map(|e| e["video"].clone())
        .unwrap_or_default()
}

/// Received video frames the MCU dropped while waiting for a keyframe (a
/// broken frame makes it wait), from `/metrics`.
async fn frames_waiting_keyframe(running: &Running) -> f64 {
    common::metric(running, "giao-ban", "mcu_frames_waiting_keyframe_total")
        .await
        .expect("mcu_frames_waiting_keyframe_total in /metrics")
}

/// Loss (percent) of the samples over `span`, the worst and the mean, and
/// the frame rate, the lowest and the mean.
async fn watch(running: &Running, op: &str, span: Duration) -> (f64, f64, f64, f64) {
    let end = Instant::now() + span;
    let (mut worst, mut sum, mut n, mut min_fps, mut fps_sum) = (0.0f64, 0.0, 0.0, f64::MAX, 0.0);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let v = site_video(running, op).await;
        let loss = v["loss_percent"].as_f64().unwrap_or(100.0);
        worst = worst.max(loss);
        sum += loss;
        n += 1.0;
        let fps = v["fps"].as_f64().unwrap_or(0.0);
        min_fps = min_fps.min(fps);
        fps_sum += fps;
    }
    (worst, sum / n, min_fps, fps_sum / n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nack_repairs_a_lossy_uplink() {
    let (_guard, running) = common::daemon("nack", |config| {
        config.quality.sample_seconds = 0.5;
    })
    .await;
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;
    let ids = ROOMS.map(|r| r.0);
    let endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, _| {});
    let site = &endpoints[1];

    // Both rooms' video flowing at full rate first.
    let deadline = Instant::now() + Duration::from_secs(30);
    while site_video(&running, &op).await["fps"]
        .as_f64()
        .unwrap_or(0.0)
        < 20.0
    {
        assert!(Instant::now() < deadline, "the room's video never flowed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Repairable: the first transmission of every 5th video packet is lost.
    site.set_send_loss_first_every(5);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dropped_before = site.live().first_transmissions_dropped;
    let waiting_before = frames_waiting_keyframe(&running).await;
    let (worst, mean, min_fps, _) = watch(&running, &op, Duration::from_secs(5)).await;
    let dropped = site.live().first_transmissions_dropped - dropped_before;
    let waiting = frames_waiting_keyframe(&running).await - waiting_before;
    println!(
        "repairable loss: {dropped} first transmissions dropped in 5 s; loss at the MCU mean {mean:.2} % (worst sample {worst:.2} %), lowest fps {min_fps:.1}, {waiting} frames waited for a keyframe"
    );
    assert!(
        dropped >= 20,
        "the impairment ran: {dropped} packets dropped"
    );
    assert!(mean < 1.0, "NACK repairs the loss: mean {mean:.2} %");
    assert!(worst < 3.0, "NACK repairs the loss: worst {worst:.2} %");
    assert!(min_fps > 27.0, "every frame arrives: {min_fps} fps");
    assert!(
        waiting < 10.0,
        "no broken frames while repaired: {waiting} waited for a keyframe"
    );

    // The same loss, not repairable: seen as loss, and frames go missing
    // (a synthetic picture's frame is mostly one packet).
    site.set_send_loss_first_every(0);
    site.set_send_loss_every(5);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, mean, _, fps) = watch(&running, &op, Duration::from_secs(5)).await;
    println!("unrepairable loss: mean {mean:.2} %, {fps:.1} fps");
    assert!(mean > 8.0, "unrepaired loss is seen: {mean:.2} %");
    assert!(fps < 27.0, "unrepaired loss loses frames: {fps:.1} fps");

    // The daemon measured how long it held the rooms' pictures (published
    // every 10 s): a tick wait, a composite and an encode.
    let added = |name| common::metric(&running, "giao-ban", name);
    let (p50, p95) = (
        added("mcu_added_latency_p50_seconds")
            .await
            .unwrap_or(f64::NAN),
        added("mcu_added_latency_p95_seconds")
            .await
            .unwrap_or(f64::NAN),
    );
    println!("MCU-added latency: p50 {p50:.3} s, p95 {p95:.3} s");
    assert!(p50 > 0.0 && p50 <= p95 && p95 < 0.25, "{p50} / {p95}");

    for mut e in endpoints {
        e.stop(StopMode::Leave);
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
