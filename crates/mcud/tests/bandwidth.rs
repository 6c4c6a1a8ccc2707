//! A viewer on a slow line gets a lower-bitrate encode of the same view
//! (issue 3: the bandwidth estimate drives the output group's bitrate
//! class), and the others keep theirs.
//!
//! Three synthetic rooms in one conference, their pictures grainy like a
//! camera's. One of them then receives
//! through a link of a bit more than half the rate it was receiving
//! (`Endpoint::set_downlink_kbps`: a queue of 500 ms, then loss). The MCU's
//! send-side bandwidth estimate of that path (transport-wide congestion
//! control: the room reports when each packet arrived) falls below what it
//! sends, and the room is moved to the `low` class: its pictures flow
//! again at full frame rate without the link dropping them, while the other
//! rooms stay `standard`. When the line is fast again, the estimate grows
//! and the MCU moves the room back up after its back-off.

mod common;

use std::time::{Duration, Instant};

use mcu_endpoint::{Endpoint, StopMode};
use mcud::server::Running;
use serde_json::Value;

const ROOMS: [(&str, &str, bool); 3] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
    ("ham-yen", "UBND huyện Hàm Yên", false),
];
/// The room on the slow line.
const SLOW: usize = 1;

/// Each room's downlink figures from the quality view, by endpoint id.
async fn downlinks(running: &Running, op: &str) -> Vec<(String, Value)> {
    common::quality(running, op, "giao-ban").await["endpoints"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| {
                    (
                        e["endpoint"].as_str().unwrap_or_default().to_owned(),
                        e["downlink"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn class_of(running: &Running, op: &str, endpoint: &str) -> Option<String> {
    downlinks(running, op)
        .await
        .into_iter()
        .find(|(e, _)| e == endpoint)
        .and_then(|(_, d)| d["class"].as_str().map(str::to_owned))
}

/// Waits up to `limit` for `endpoint`'s class to be `class`; the time it took.
async fn wait_for_class(
    running: &Running,
    op: &str,
    endpoint: &str,
    class: &str,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        if class_of(running, op, endpoint).await.as_deref() == Some(class) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{endpoint} not moved to {class} within {limit:?}: {:?}",
            downlinks(running, op).await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What a room receives over `span`: kbit/s of composite video, pictures
/// per second, and packets its slow line dropped.
async fn receiving(e: &Endpoint, span: Duration) -> (f64, f64, u64) {
    let a = e.live();
    tokio::time::sleep(span).await;
    let b = e.live();
    let secs = span.as_secs_f64();
    (
        (b.video_bytes_received - a.video_bytes_received) as f64 * 8.0 / 1000.0 / secs,
        (b.frames_received - a.frames_received) as f64 / secs,
        b.downlink_dropped - a.downlink_dropped,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_on_a_slow_line_gets_the_low_bitrate_encode_and_the_others_keep_theirs() {
    let (_guard, running) = common::daemon("bandwidth", |config| {
        config.quality.sample_seconds = 0.5;
    })
    .await;
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;
    let ids = ROOMS.map(|r| r.0);
    // Grain: pictures that cost what camera video costs, so that the
    // composite's encode spends its class's bitrate (flat colours need a
    // tenth of it, and every class would fit any line).
    let endpoints =
        common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, c| c.grain = true);
    let slow = &endpoints[SLOW];

    // Everyone connected, fed back on, and at the standard class.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = downlinks(&running, &op).await;
        let estimated = d
            .iter()
            .filter(|(_, d)| d["class"] == "standard" && d["estimate_kbps"].is_number())
            .count();
        if estimated == ROOMS.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no feedback from the rooms: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (standard_kbps, fps, _) = receiving(slow, Duration::from_secs(3)).await;
    println!("standard class: {standard_kbps:.0} kbit/s at {fps:.1} fps");
    assert!(fps > 25.0, "the picture flows first: {fps:.1} fps");

    // The slow line: a bit more than half of what it receives.
    let line = (standard_kbps * 0.55).max(150.0) as u32;
    slow.set_downlink_kbps(line);
    let took = wait_for_class(&running, &op, ids[SLOW], "low", Duration::from_secs(20)).await;
    let d = downlinks(&running, &op).await;
    println!("on a {line} kbit/s line: moved to low after {took:?}; {d:?}");
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| *i != SLOW) {
        assert_eq!(
            class_of(&running, &op, id).await.as_deref(),
            Some("standard"),
            "room {i} ({id}) keeps the standard encode: {d:?}"
        );
    }
    // The estimate of its path fell behind the others' (whichever signal,
    // delay or loss, moved it first).
    let estimate = |id: &str| {
        d.iter()
            .find(|(e, _)| e == id)
            .and_then(|(_, d)| d["estimate_kbps"].as_f64())
            .unwrap_or(f64::MAX)
    };
    for (_, id) in ids.iter().enumerate().filter(|(i, _)| *i != SLOW) {
        assert!(
            estimate(ids[SLOW]) < 0.5 * estimate(id),
            "the estimate saw the slow line: {d:?}"
        );
    }

    // On the low encode the line carries every picture.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (low_kbps, fps, dropped) = receiving(slow, Duration::from_secs(4)).await;
    println!(
        "low class on the slow line: {low_kbps:.0} kbit/s at {fps:.1} fps, {dropped} packets dropped by the line in 4 s"
    );
    assert!(
        low_kbps < f64::from(line),
        "the low encode fits the line: {low_kbps:.0} of {line} kbit/s"
    );
    assert!(fps > 25.0, "pictures flow on the slow line: {fps:.1} fps");
    assert!(
        dropped < 20,
        "the line no longer overflows: {dropped} dropped"
    );

    // The line is fast again: after its back-off the room is tried one
    // class up, and stays there.
    slow.set_downlink_kbps(0);
    let took = wait_for_class(
        &running,
        &op,
        ids[SLOW],
        "standard",
        Duration::from_secs(90),
    )
    .await;
    println!("fast line again: back to standard after {took:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (kbps, fps, _) = receiving(slow, Duration::from_secs(3)).await;
    println!("standard again: {kbps:.0} kbit/s at {fps:.1} fps");
    assert_eq!(
        class_of(&running, &op, ids[SLOW]).await.as_deref(),
        Some("standard")
    );
    assert!(fps > 25.0, "{fps:.1} fps");

    for mut e in endpoints {
        e.stop(StopMode::Leave);
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
