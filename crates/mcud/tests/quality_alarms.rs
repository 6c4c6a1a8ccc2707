//! Per-endpoint quality and alarms, end to end: a conference started through
//! the control API, two synthetic endpoints (`mcu-endpoint`: real
//! signalling, WebRTC, H.264, Opus) — then what the operators see:
//!
//! - `GET …/preview.jpg` gives a 480×270 JPEG of each view's composite;
//! - `GET …/quality` shows each endpoint's RTT, loss, jitter, bitrate and
//!   frame rate as the MCU receives them, graded `good` on loopback, and
//!   `/metrics` carries the same per endpoint plus the decode / compose /
//!   encode time split;
//! - one endpoint's uplink loses every 8th RTP packet (12.5 %): a `loss`
//!   alarm is raised (on the events socket too) and the badge turns `poor`;
//!   the loss stops and the alarm clears;
//! - its camera stops sending: a `freeze` alarm, cleared when it resumes;
//! - it vanishes without `leave`: a `drop` alarm that stays.

mod common;

use std::time::{Duration, Instant};

use common::https;
use mcu_endpoint::StopMode;
use mcud::server::Running;
use serde_json::Value;

const ROOMS: [(&str, &str, bool); 2] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
];

async fn quality(running: &Running, op: &str) -> Value {
    common::quality(running, op, "giao-ban").await
}

fn endpoint<'a>(q: &'a Value, id: &str) -> Option<&'a Value> {
    q["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["endpoint"] == id)
}

fn alarm<'a>(q: &'a Value, list: &str, kind: &str) -> Option<&'a Value> {
    q[list]
        .as_array()?
        .iter()
        .find(|a| a["endpoint"] == "son-duong" && a["kind"] == kind)
}

/// Polls the quality view until `ok` holds (or fails after `within`).
async fn until(
    running: &Running,
    op: &str,
    what: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let q = quality(running, op).await;
        if ok(&q) {
            return q;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; last {q:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_is_measured_and_loss_freeze_and_drop_raise_alarms() {
    let (_guard, running) = common::daemon("quality", |config| {
        config.quality.sample_seconds = 0.5;
        config.quality.freeze_alarm_seconds = 1.0;
        // Media from a configured port range (what a firewall would open).
        config.media.port_min = Some(42_000);
        config.media.port_max = Some(42_099);
    })
    .await;
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;

    let ids = ROOMS.map(|r| r.0);
    let mut endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, _| {});
    let site = &endpoints[1];

    // Both connected and measured: ~30 fps video, 50 packets/s audio, an RTT.
    let q = until(
        &running,
        &op,
        "both endpoints measured",
        Duration::from_secs(30),
        |q| {
            ROOMS.iter().all(|(id, ..)| {
                endpoint(q, id).is_some_and(|e| {
                    e["video"]["fps"].as_f64().unwrap_or(0.0) > 20.0
                        && e["audio"]["fps"].as_f64().unwrap_or(0.0) > 40.0
                        && e["rtt_ms"].is_number()
                })
            })
        },
    )
    .await;
    let e = endpoint(&q, "son-duong").unwrap();
    assert_eq!(e["name"], "UBND huyện Sơn Dương");
    assert_eq!(e["grade"], "good", "{e:#}");
    assert!(e["rtt_ms"].as_f64().unwrap() < 100.0, "{e:#}");
    assert!(e["video"]["loss_percent"].as_f64().unwrap() < 1.0, "{e:#}");
    assert!(e["video"]["kbps"].as_f64().unwrap() > 50.0, "{e:#}");
    assert!(e["audio"]["kbps"].as_f64().unwrap() > 5.0, "{e:#}");
    assert!(e["video"]["jitter_ms"].as_f64().unwrap() < 30.0, "{e:#}");
    assert_eq!(q["active_alarms"], serde_json::json!([]), "{q:#}");

    // The same figures for monitoring (loopback reads /metrics freely).
    let metrics = https(&running, "GET", "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    let body = metrics.text;
    for needle in [
        "mcu_participant_fps{conference=\"giao-ban\",endpoint=\"son-duong\",media=\"video\"}",
        "mcu_participant_rtt_seconds{conference=\"giao-ban\",endpoint=\"son-duong\"}",
        "mcu_participant_loss_ratio{conference=\"giao-ban\",endpoint=\"ubnd-tinh\",media=\"audio\"}",
    ] {
        assert!(body.contains(needle), "{needle} missing from\n{body}");
    }
    let seconds = |name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{{conference=\"giao-ban\"}} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(seconds("mcu_video_decode_seconds_total") > 0.0);
    assert!(seconds("mcu_video_compose_seconds_total") > 0.0);
    assert!(seconds("mcu_video_encode_seconds_total") > 0.0);
    assert!(seconds("mcu_audio_tick_seconds_total") > 0.0);

    // The composite preview of each view, as the console shows it.
    for view in ["chair", "participants"] {
        let path = format!("/api/v1/conferences/giao-ban/preview.jpg?view={view}");
        let r = https(&running, "GET", &path, Some(&op), None).await;
        assert_eq!(r.status, 200, "{view}: {}", r.text);
        assert!(
            r.headers.contains("content-type: image/jpeg"),
            "{}",
            r.headers
        );
        assert_eq!(
            mcud::preview::jpeg_size(&r.bytes),
            Some((480, 270)),
            "{view}"
        );
    }

    // A lossy uplink: one RTP packet of the site in 8 is dropped.
    let mut events = common::events(&running, "giao-ban", &op).await;
    site.set_send_loss_every(8);
    let q = until(
        &running,
        &op,
        "a loss alarm at about 12.5 %",
        Duration::from_secs(10),
        // The first lossy sample may straddle the switch (less loss); a
        // raised alarm's figure follows the next samples.
        |q| {
            alarm(q, "active_alarms", "loss")
                .and_then(|a| a["value"].as_f64())
                .is_some_and(|v| (8.0..=20.0).contains(&v))
        },
    )
    .await;
    let a = alarm(&q, "active_alarms", "loss").unwrap();
    assert_eq!(a["name"], "UBND huyện Sơn Dương");
    assert_eq!(a["threshold"], 5.0);
    let value = a["value"].as_f64().unwrap();
    assert!((8.0..=20.0).contains(&value), "about 12.5 %: {a:#}");
    assert_eq!(endpoint(&q, "son-duong").unwrap()["grade"], "poor");
    assert!(
        endpoint(&q, "ubnd-tinh").unwrap()["video"]["loss_percent"]
            .as_f64()
            .unwrap()
            < 1.0,
        "the other room is unaffected"
    );
    // The console hears of it on the events socket.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ev = common::next_event(&mut events, "alarms").await;
        if ev["active"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "loss" && a["endpoint"] == "son-duong")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no loss alarm on the events socket"
        );
    }
    site.set_send_loss_every(0);
    until(
        &running,
        &op,
        "the loss alarm cleared",
        Duration::from_secs(10),
        |q| {
            alarm(q, "active_alarms", "loss").is_none()
                && alarm(q, "recent_alarms", "loss").is_some_and(|a| a["cleared_at"].is_number())
        },
    )
    .await;

    // A frozen camera: no picture for more than a second.
    site.set_video_paused(true);
    let q = until(
        &running,
        &op,
        "a freeze alarm",
        Duration::from_secs(10),
        |q| alarm(q, "active_alarms", "freeze").is_some(),
    )
    .await;
    assert!(
        alarm(&q, "active_alarms", "freeze").unwrap()["value"]
            .as_f64()
            .unwrap()
            > 1.0
    );
    site.set_video_paused(false);
    until(
        &running,
        &op,
        "the freeze alarm cleared",
        Duration::from_secs(10),
        |q| alarm(q, "active_alarms", "freeze").is_none(),
    )
    .await;

    // The site vanishes without a word: a drop alarm, and it stays.
    let mut site = endpoints.pop().unwrap();
    tokio::task::block_in_place(|| site.stop(StopMode::Kill));
    let q = until(
        &running,
        &op,
        "a drop alarm",
        Duration::from_secs(10),
        |q| alarm(q, "active_alarms", "drop").is_some(),
    )
    .await;
    assert!(endpoint(&q, "son-duong").is_none(), "no figures once gone");
    assert!(
        alarm(&q, "active_alarms", "drop").unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("signalling")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(alarm(&quality(&running, &op).await, "active_alarms", "drop").is_some());

    for mut e in endpoints {
        tokio::task::block_in_place(|| e.stop(StopMode::Leave));
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
