//! Readiness measured by the real daemon (R10): an operator's ad-hoc test
//! session with four rooms, one of which never dials in. Three synthetic
//! endpoints (real signalling, WebRTC, H.264, Opus) join; one sends through
//! a lossy uplink (every 10th packet lost, retransmissions too), one has its
//! microphone muted (it sends silence). The operator starts a readiness
//! check: the good room passes with the figures the MCU measured (its
//! picture size read from its stream, the composite it reports decoding),
//! the lossy one fails on loss, the muted one on its audio level, the absent
//! one as not connected — "1 / 4". The two rooms fix their problem and are
//! re-tested individually: "3 / 4".

mod common;

use std::time::{Duration, Instant};

use common::https;
use mcu_endpoint::StopMode;
use mcud::config::ReadinessConfig;
use mcud::server::Running;
use serde_json::{Value, json};

const ROOMS: [(&str, &str, bool); 4] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true),
    ("son-duong", "UBND huyện Sơn Dương", false),
    ("dong-quy", "UBND xã Đông Quý", false),
    ("tan-trao", "UBND xã Tân Trào", false),
];

async fn readiness(running: &Running, op: &str) -> Value {
    let r = https(
        running,
        "GET",
        "/api/v1/conferences/kiem-tra/readiness",
        Some(op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Waits until nobody is being measured; the summary then.
async fn measured(running: &Running, op: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let s = readiness(running, op).await;
        if s["measuring"] == 0 {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "still measuring after 20 s: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn row<'a>(s: &'a Value, endpoint: &str) -> &'a Value {
    s["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == endpoint)
        .unwrap()
}

fn codes(r: &Value) -> Vec<&str> {
    r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readiness_check_fails_the_lossy_and_the_muted_room_and_passes_them_after_a_re_test() {
    let (_guard, running) = common::daemon("readiness", |config| {
        config.readiness = ReadinessConfig {
            window_seconds: 4.0,
            ..ReadinessConfig::default()
        };
    })
    .await;
    let (op, tokens) = common::start_conference(&running, "kiem-tra", "2x2", &ROOMS).await;

    let ids = ROOMS.map(|r| r.0);
    let mut endpoints =
        common::spawn_endpoints(&running, "kiem-tra", &ids[..3], &tokens, |_, c| {
            c.grid = Some(2);
            // Every room decodes what it receives: the check wants to see it.
            c.analyse_video = true;
        });
    endpoints[1].set_send_loss_every(10);
    endpoints[2].set_mic_silent(true);
    // As an operator would: test once every room is up both ways — each
    // decodes the composite, and the MCU receives each room's picture.
    // Measured earlier, a room whose uplink has not started yet (its
    // threads late on a busy machine) fails for that too.
    let deadline = Instant::now() + Duration::from_secs(20);
    let uplinks_up = || async {
        let q = common::quality(&running, &op, "kiem-tra").await;
        let rooms = q["endpoints"].as_array().cloned().unwrap_or_default();
        ids[..3].iter().all(|id| {
            rooms
                .iter()
                .any(|r| r["endpoint"] == *id && r["video"]["fps"].as_f64() > Some(0.0))
        })
    };
    while !endpoints
        .iter()
        .all(|e| e.live().connected && e.live().frames_decoded > 0)
        || !uplinks_up().await
    {
        let errors: Vec<_> = endpoints.iter().filter_map(|e| e.live().error).collect();
        assert!(errors.is_empty(), "{errors:?}");
        if Instant::now() >= deadline {
            let q = common::quality(&running, &op, "kiem-tra").await;
            panic!("rooms did not connect, decode and send their picture in 20 s: {q}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let path = "/api/v1/conferences/kiem-tra/readiness";
    let r = https(&running, "POST", path, Some(&op), Some(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["measuring"], 4, "{}", r.body);
    let s = measured(&running, &op).await;
    assert_eq!(
        (s["ready"].as_u64(), s["total"].as_u64()),
        (Some(1), Some(4)),
        "{s}"
    );

    let good = row(&s, "ubnd-tinh");
    assert_eq!(good["status"], "ready", "{good}");
    let f = &good["figures"];
    assert_eq!(
        (f["video_width"].as_u64(), f["video_height"].as_u64()),
        (Some(640), Some(360)),
        "{good}"
    );
    assert!(f["video_fps"].as_f64().unwrap() >= 15.0, "{good}");
    assert!(f["audio_level_dbov"].as_f64().unwrap() > -30.0, "{good}");
    assert!(f["decoded_fps"].as_f64().unwrap() >= 10.0, "{good}");
    assert!(f["rtt_ms"].as_f64().is_none_or(|v| v < 100.0), "{good}");
    assert!(f["loss_percent"].as_f64().unwrap() < 1.0, "{good}");

    let lossy = row(&s, "son-duong");
    assert_eq!(codes(lossy), ["loss"], "{lossy}");
    let loss = lossy["figures"]["loss_percent"].as_f64().unwrap();
    assert!((5.0..=15.0).contains(&loss), "about 10 % lost: {lossy}");
    let muted = row(&s, "dong-quy");
    assert_eq!(codes(muted), ["audio_level"], "{muted}");
    assert!(
        muted["figures"]["audio_level_dbov"].as_f64().unwrap() < -50.0,
        "{muted}"
    );
    assert_eq!(codes(row(&s, "tan-trao")), ["not_connected"]);

    // Fixed, and re-tested one by one.
    endpoints[1].set_send_loss_every(0);
    endpoints[2].set_mic_silent(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let body = json!({ "endpoints": ["son-duong", "dong-quy"] });
    let r = https(&running, "POST", path, Some(&op), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["measuring"], 2, "{}", r.body);
    let s = measured(&running, &op).await;
    assert_eq!(s["ready"], 3, "{s}");
    assert_eq!(row(&s, "son-duong")["attempts"], 2);
    assert_eq!(row(&s, "tan-trao")["status"], "not_ready");

    // Every result is in the conference's logbook.
    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/kiem-tra/logbook",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lines = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["category"] == "readiness")
        .count();
    assert_eq!(lines, 6, "{}", r.body);

    for e in &mut endpoints {
        e.stop(StopMode::Leave);
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
