//! The recorder end to end (R12, R13): a conference started through the
//! control API, two synthetic endpoints (`mcu-endpoint`), the recorder every
//! half second — then what is kept after the session:
//!
//! - quality samples of both endpoints;
//! - the logbook's automatic entries for the lossy one: it joined, a loss
//!   alarm was raised and cleared, it left;
//! - `GET …/report`: its loss average is above zero and its estimated MOS
//!   below the clean endpoint's.

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

async fn get(running: &Running, op: &str, path: &str) -> Value {
    let r = https(running, "GET", path, Some(op), None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

/// Polls `path` until `ok` holds (or fails after `within`).
async fn until(
    running: &Running,
    op: &str,
    path: &str,
    what: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = get(running, op, path).await;
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; last {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The recorder's entries about son-duong of `category` (and alarm `event`).
fn entries<'a>(logbook: &'a Value, category: &str, event: Option<&str>) -> Vec<&'a Value> {
    logbook
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["actor"] == "system"
                && e["kind"] == "auto"
                && e["category"] == category
                && e["details"]["endpoint"] == "son-duong"
                && event
                    .is_none_or(|ev| e["details"]["event"] == ev && e["details"]["alarm"] == "loss")
        })
        .collect()
}

const LOGBOOK: &str = "/api/v1/conferences/giao-ban/logbook?limit=1000";
const QUALITY: &str = "/api/v1/conferences/giao-ban/quality";
const REPORT: &str = "/api/v1/conferences/giao-ban/report";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_logbook_entries_and_the_report_follow_the_session() {
    let (_guard, running) = common::daemon("record", |config| {
        config.quality.sample_seconds = 0.5;
        config.quality.record_seconds = 0.5;
    })
    .await;
    let (op, tokens) = common::start_conference(&running, "giao-ban", "2x2", &ROOMS).await;

    let ids = ROOMS.map(|r| r.0);
    let mut endpoints = common::spawn_endpoints(&running, "giao-ban", &ids, &tokens, |_, _| {});

    // Both joined (the logbook says so) and measured for a while.
    until(
        &running,
        &op,
        LOGBOOK,
        "a join entry",
        Duration::from_secs(30),
        |l| !entries(l, "join", None).is_empty(),
    )
    .await;
    until(
        &running,
        &op,
        REPORT,
        "clean samples",
        Duration::from_secs(30),
        |r| {
            r["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["samples"].as_u64().unwrap_or(0) >= 4 && e["rtt_ms"].is_object())
        },
    )
    .await;

    // A lossy uplink for a few seconds: every 8th RTP packet dropped.
    let site = &endpoints[1];
    site.set_send_loss_every(8);
    until(
        &running,
        &op,
        QUALITY,
        "a loss alarm",
        Duration::from_secs(10),
        |q| {
            q["active_alarms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["endpoint"] == "son-duong" && a["kind"] == "loss")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    site.set_send_loss_every(0);
    until(
        &running,
        &op,
        LOGBOOK,
        "the loss alarm cleared in the logbook",
        Duration::from_secs(15),
        |l| !entries(l, "alarm", Some("cleared")).is_empty(),
    )
    .await;

    // It leaves.
    let mut site = endpoints.pop().unwrap();
    tokio::task::block_in_place(|| site.stop(StopMode::Leave));
    let logbook = until(
        &running,
        &op,
        LOGBOOK,
        "a leave entry",
        Duration::from_secs(10),
        |l| !entries(l, "leave", None).is_empty(),
    )
    .await;
    let raised = entries(&logbook, "alarm", Some("raised"));
    assert!(!raised.is_empty(), "{logbook:#}");
    let text = raised[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Cảnh báo mất gói tin: điểm cầu UBND huyện Sơn Dương mất "),
        "{text}"
    );
    assert_eq!(raised[0]["details"]["threshold"], 5.0);
    assert!(raised[0]["details"]["value"].as_f64().unwrap() > 5.0);
    let cleared = entries(&logbook, "alarm", Some("cleared"));
    assert!(
        cleared[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Hết cảnh báo mất gói tin")
    );
    let join = entries(&logbook, "join", None);
    assert_eq!(join.len(), 1);
    assert_eq!(
        join[0]["text"],
        "Điểm cầu UBND huyện Sơn Dương vào hội nghị"
    );
    assert_eq!(
        entries(&logbook, "leave", None)[0]["text"],
        "Điểm cầu UBND huyện Sơn Dương rời hội nghị"
    );
    // In order: joined, alarm raised, cleared, left.
    let seq = |e: &Value| e["seq"].as_i64().unwrap();
    assert!(seq(join[0]) < seq(raised[0]));
    assert!(seq(raised[0]) < seq(cleared[0]));
    assert!(seq(cleared[0]) < seq(entries(&logbook, "leave", None)[0]));
    // The chain holds with the recorder writing into it.
    let v = get(&running, &op, "/api/v1/conferences/giao-ban/logbook/verify").await;
    assert_eq!(v["intact"], true, "{v:#}");

    // The report: samples of both, loss and a lower MOS for the lossy one.
    let r = get(&running, &op, REPORT).await;
    let endpoint = |id: &str| {
        r["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == id)
            .unwrap()
            .clone()
    };
    let (lossy, clean) = (endpoint("son-duong"), endpoint("ubnd-tinh"));
    assert!(lossy["samples"].as_u64().unwrap() >= 8, "{lossy:#}");
    assert!(lossy["connected_ms"].as_i64().unwrap() > 0, "{lossy:#}");
    assert!(
        lossy["loss_percent"]["mean"].as_f64().unwrap() > 0.0,
        "{lossy:#}"
    );
    assert!(
        lossy["loss_percent"]["p95"].as_f64().unwrap() > 5.0,
        "{lossy:#}"
    );
    let (lossy_mos, clean_mos) = (
        lossy["mos"].as_f64().unwrap(),
        clean["mos"].as_f64().unwrap(),
    );
    assert!(lossy_mos < clean_mos, "{lossy:#}\n{clean:#}");
    assert!(clean_mos > 4.0, "{clean:#}");
    assert_eq!(r["summary"]["worst_endpoint"], "son-duong");

    for mut e in endpoints {
        tokio::task::block_in_place(|| e.stop(StopMode::Leave));
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
