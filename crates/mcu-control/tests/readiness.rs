//! Readiness (R10) in virtual time: the readiness check of a booked
//! conference measures each participant over a window from the figures the
//! media side gives (a fake here: the real daemon's numbers are tested in
//! `crates/mcud/tests/readiness.rs`), stores pass / fail with reasons and
//! numbers, writes each result in the logbook, and the summary ("1 / 3")
//! is served as JSON, CSV and a printable page. Failing endpoints re-test.
//! With a cascade, the conference's MCU links are part of readiness (R7).

mod common;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::*;
use mcu_control::phase;
use mcu_control::readiness;
use mcu_control::{EndpointQuality, LiveQuality, ReceiverFigures, StreamFigures};
use mcu_store::LogbookCategory;
use serde_json::json;

const CONF: &str = "booking-1";
const WINDOW: i64 = 10_000;

fn good(endpoint: &str, at_ms: i64) -> EndpointQuality {
    let stream = |fps| StreamFigures {
        loss_percent: 0.2,
        jitter_ms: 5.0,
        kbps: 900.0,
        fps,
    };
    EndpointQuality {
        endpoint: endpoint.into(),
        rtt_ms: Some(24.0),
        video: stream(30.0),
        audio: stream(50.0),
        audio_level_dbov: Some(-22.0),
        video_size: Some((1280, 720)),
        receiver: Some(ReceiverFigures {
            decoded_fps: 29.0,
            width: 1280,
            height: 720,
            at_ms,
        }),
        downlink: None,
    }
}

/// Lossy (6 %) with a silent microphone.
fn lossy_and_mute(endpoint: &str, at_ms: i64) -> EndpointQuality {
    let mut q = good(endpoint, at_ms);
    q.video.loss_percent = 6.0;
    q.audio_level_dbov = Some(-127.0);
    q
}

/// What the fake media side reports, per endpoint, at `at`.
type Figures = fn(&str, i64) -> EndpointQuality;

fn set_media(api: &Api, connected: &[(&str, Figures)], at: i64) {
    *api.live.connected.lock().unwrap() = connected.iter().map(|(e, _)| e.to_string()).collect();
    *api.live.quality.lock().unwrap() = LiveQuality {
        endpoints: connected.iter().map(|(e, f)| f(e, at)).collect(),
        ..Default::default()
    };
}

/// Runs the readiness pass once a second from `from` to `to` (inclusive),
/// with the media as `connected` says; the results it gave.
async fn measure(
    api: &Api,
    connected: &[(&str, Figures)],
    from: i64,
    to: i64,
) -> Vec<mcu_store::ReadinessResult> {
    let mut out = Vec::new();
    let mut at = from;
    while at <= to {
        api.clock.store(at, Ordering::Relaxed);
        set_media(api, connected, at);
        out.extend(readiness::advance(&api.state).await.unwrap());
        at += 1000;
    }
    out
}

async fn in_ready_check() -> (Api, i64) {
    let api = Api::new().await;
    api.keep_sessions().await;
    let (status, body) = api
        .call("operator", "POST", "/api/v1/bookings/1/approve", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = fixture_booking().ready_check_at;
    for t in [fixture_booking().rehearsal_at, at] {
        api.clock.store(t, Ordering::Relaxed);
        phase::advance(&api.state).await.unwrap();
    }
    (api, at)
}

async fn summary(api: &Api) -> serde_json::Value {
    let (status, body) = api
        .call(
            "auditor",
            "GET",
            &format!("/api/v1/conferences/{CONF}/readiness"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn row<'a>(s: &'a serde_json::Value, endpoint: &str) -> &'a serde_json::Value {
    s["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("{endpoint} not in {s}"))
}

fn codes(r: &serde_json::Value) -> Vec<&str> {
    r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_readiness_check_measures_each_endpoint_and_the_summary_says_who_is_ready() {
    let (api, t0) = in_ready_check().await;
    let media: [(&str, Figures); 2] = [("ubnd-tinh", good), ("son-duong", lossy_and_mute)];

    // Until the window ends, everyone is being measured.
    assert!(
        measure(&api, &media, t0, t0 + WINDOW - 1000)
            .await
            .is_empty()
    );
    let s = summary(&api).await;
    assert_eq!(
        (s["total"].as_u64(), s["measuring"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(row(&s, "son-duong")["status"], "measuring");

    let done = measure(&api, &media, t0 + WINDOW, t0 + WINDOW).await;
    assert_eq!(done.len(), 3);
    let s = summary(&api).await;
    assert_eq!(
        (
            s["ready"].as_u64(),
            s["not_ready"].as_u64(),
            s["all_ready"].as_bool()
        ),
        (Some(1), Some(2), Some(false))
    );
    let chair = row(&s, "ubnd-tinh");
    assert_eq!(chair["status"], "ready");
    assert_eq!(chair["figures"]["video_width"], 1280);
    assert_eq!(chair["figures"]["rtt_ms"], 24.0);
    assert_eq!(chair["figures"]["decoded_fps"], 29.0);
    let lossy = row(&s, "son-duong");
    assert_eq!(lossy["status"], "not_ready");
    assert_eq!(codes(lossy), ["audio_level", "loss"]);
    assert_eq!(lossy["figures"]["loss_percent"], 6.0);
    assert_eq!(lossy["figures"]["audio_level_dbov"], -127.0);
    assert!(
        lossy["reasons"][1]["message"]
            .as_str()
            .unwrap()
            .contains("6,0 % > 2,0 %"),
        "{lossy}"
    );
    assert_eq!(codes(row(&s, "dong-quy")), ["not_connected"]);
    // The failing ones first.
    assert_eq!(s["endpoints"][2]["endpoint"], "ubnd-tinh");

    // Each result is a logbook line, and the chain still verifies.
    let lines: Vec<String> = api
        .store
        .logbook(CONF)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .filter(|e| e.category == LogbookCategory::Readiness)
        .map(|e| e.text)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Kiểm tra sẵn sàng UBND huyện Sơn Dương: chưa đạt — Âm thanh")),
        "{lines:#?}"
    );
    assert!(matches!(
        api.store.verify_logbook(CONF).await.unwrap(),
        mcu_store::LogbookVerification::Intact { .. }
    ));

    // No window is open: another pass measures nobody again…
    assert!(
        measure(&api, &media, t0 + WINDOW + 1000, t0 + 3 * WINDOW)
            .await
            .is_empty()
    );
    // …until the endpoint that was not connected connects: it is measured
    // at once, and passes.
    let all: [(&str, Figures); 3] = [
        ("ubnd-tinh", good),
        ("son-duong", lossy_and_mute),
        ("dong-quy", good),
    ];
    let t1 = t0 + 4 * WINDOW;
    let done = measure(&api, &all, t1, t1 + WINDOW).await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].endpoint_id.as_str(), done[0].passed),
        ("dong-quy", true)
    );
    assert_eq!(summary(&api).await["ready"], 2);

    // The site operator of Sơn Dương fixes the room and re-tests it.
    let fixed: [(&str, Figures); 3] =
        [("ubnd-tinh", good), ("son-duong", good), ("dong-quy", good)];
    let t2 = t1 + 2 * WINDOW;
    api.clock.store(t2, Ordering::Relaxed);
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            &format!("/api/v1/conferences/{CONF}/readiness"),
            Some(json!({ "endpoints": ["son-duong"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(row(&body, "son-duong")["status"], "measuring");
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.result.as_str()),
        ("conference.readiness_check", "ok")
    );
    // The operator action is in the conference's logbook too (R12).
    let asked = api
        .store
        .logbook(CONF)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .rfind(|e| e.category == LogbookCategory::Action)
        .unwrap();
    assert!(
        asked.text.starts_with("Yêu cầu kiểm tra sẵn sàng") && asked.actor == "site-operator",
        "{asked:?}"
    );
    let done = measure(&api, &fixed, t2 + 1000, t2 + WINDOW).await;
    assert_eq!(done.len(), 1);
    let s = summary(&api).await;
    assert_eq!(
        (s["ready"].as_u64(), s["all_ready"].as_bool()),
        (Some(3), Some(true))
    );
    assert_eq!(row(&s, "son-duong")["attempts"], 2);

    // The clock opens the session and its logbook line says how ready it was.
    api.clock
        .store(fixture_booking().start_at, Ordering::Relaxed);
    phase::advance(&api.state).await.unwrap();
    let opened = api
        .store
        .logbook(CONF)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .rfind(|e| e.category == LogbookCategory::Phase)
        .unwrap();
    assert!(
        opened.text.ends_with("; sẵn sàng 3/3 điểm cầu"),
        "{}",
        opened.text
    );
}

#[tokio::test]
async fn the_summary_form_exports_as_csv_and_a_printable_page() {
    let (api, t0) = in_ready_check().await;
    let media: [(&str, Figures); 2] = [("ubnd-tinh", good), ("son-duong", lossy_and_mute)];
    measure(&api, &media, t0, t0 + WINDOW).await;

    let req = |path: &str| {
        axum::http::Request::get(path)
            .header(
                "authorization",
                format!("Bearer {}", api.token("operator").unwrap()),
            )
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let text = |res: axum::response::Response| async move {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let res = api
        .send(req(&format!("/api/v1/conferences/{CONF}/readiness.csv")))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("tong-hop-san-sang-booking-1.csv")
    );
    let csv = text(res).await;
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    let son_duong = lines
        .iter()
        .find(|l| l.starts_with("\"son-duong\",\"UBND huyện Sơn Dương\","))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(son_duong.contains(",\"not_ready\","), "{csv}");
    assert!(son_duong.contains(",\"-127.0\","), "{csv}");
    assert!(son_duong.contains("Mất gói cao: 6,0 % > 2,0 %"), "{csv}");
    assert!(
        lines[3].starts_with("\"ubnd-tinh\",") && lines[3].contains(",\"ready\","),
        "{csv}"
    );
    assert!(lines[4].contains("1 / 3 ready"), "{csv}");

    let res = api
        .send(req(&format!("/api/v1/conferences/{CONF}/readiness.html")))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let html = text(res).await;
    assert!(html.contains("1 / 3 điểm cầu sẵn sàng"), "{html}");
    assert!(html.contains("UBND huyện Sơn Dương"));
    assert!(html.contains("Chưa sẵn sàng") && html.contains("Điểm cầu chưa kết nối"));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn re_tests_need_the_right_role_a_participant_and_running_media() {
    let (api, _) = in_ready_check().await;
    let path = format!("/api/v1/conferences/{CONF}/readiness");
    let post = |who: &'static str, body: serde_json::Value| {
        let (api, path) = (&api, path.clone());
        async move { api.call(who, "POST", &path, Some(body)).await }
    };
    // Everyone at once is the operators' call.
    let (status, _) = post("site_operator", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.result.as_str()),
        ("conference.readiness_check", "forbidden")
    );
    // A site operator re-tests their own room only.
    let (status, _) = post("site_operator", json!({ "endpoints": ["dong-quy"] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post("auditor", json!({ "endpoints": ["son-duong"] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Only participants.
    let (status, body) = post("operator", json!({ "endpoints": ["tan-trao"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tan-trao")
    );
    // Unknown fields are refused, not ignored.
    let (status, _) = post("operator", json!({ "endpoint": "son-duong" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Media must run: a conference not started has nothing to measure.
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/hop-moi/readiness",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "conference_not_running");
    // A site operator reads only the conferences of their endpoints.
    let (status, _) = api
        .call(
            "site_operator",
            "GET",
            "/api/v1/conferences/hop-moi/readiness",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_live_conference_is_measured_only_when_an_operator_asks() {
    let api = Api::new().await;
    api.keep_sessions().await;
    let t0 = api.clock.load(Ordering::Relaxed);
    let media: [(&str, Figures); 3] =
        [("ubnd-tinh", good), ("son-duong", good), ("dong-quy", good)];
    // giao-ban is live and was never checked: the clock leaves it alone.
    assert!(measure(&api, &media, t0, t0 + 2 * WINDOW).await.is_empty());
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/readiness",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["measuring"], 3);
    let t1 = t0 + 2 * WINDOW;
    let done = measure(&api, &media, t1 + 1000, t1 + WINDOW).await;
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|r| r.passed), "{done:#?}");
}

fn cascade_link(id: &str, name: &str, state: mcu_control::LinkStatus) -> mcu_control::CascadeLink {
    mcu_control::CascadeLink {
        mcu: mcu_control::CascadeMcu {
            id: id.into(),
            name: name.into(),
            level: "district".into(),
        },
        state,
        standby: false,
        since_ms: Some(1_795_650_000_000),
        quality: None,
    }
}

#[tokio::test]
async fn cascade_links_are_part_of_readiness() {
    use mcu_control::LinkStatus::{Reconnecting, Up};
    let (api, t0) = in_ready_check().await;
    let media: [(&str, Figures); 3] =
        [("ubnd-tinh", good), ("son-duong", good), ("dong-quy", good)];
    assert_eq!(measure(&api, &media, t0, t0 + WINDOW).await.len(), 3);
    let s = summary(&api).await;
    assert_eq!(s["all_ready"], true, "{s}");
    assert_eq!(s["links"], json!([]), "no cascade, no link rows");

    // The province MCU: linked up to the master, one district redialling.
    let tree = |district| mcu_control::LiveCascade {
        parent: Some(cascade_link("tw", "Chính phủ", Up)),
        children: vec![cascade_link("mcu-ham-yen", "Hàm Yên", district)],
        ..Default::default()
    };
    api.live.set_cascade(CONF, tree(Reconnecting));
    let s = summary(&api).await;
    assert_eq!(s["ready"], 3);
    assert_eq!(s["all_ready"], false, "a link down holds the opening: {s}");
    let links = s["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    // The one down first.
    assert_eq!(
        (
            &links[0]["role"],
            &links[0]["link"]["mcu"]["id"],
            &links[0]["link"]["state"],
            &links[0]["ready"]
        ),
        (
            &json!("child"),
            &json!("mcu-ham-yen"),
            &json!("reconnecting"),
            &json!(false)
        )
    );
    assert_eq!(
        (
            &links[1]["role"],
            &links[1]["link"]["mcu"]["name"],
            &links[1]["ready"]
        ),
        (&json!("parent"), &json!("Chính phủ"), &json!(true))
    );
    let (status, page) = api
        .call(
            "auditor",
            "GET",
            &format!("/api/v1/conferences/{CONF}/readiness.html"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(page.contains("Liên kết MCU"), "{page}");
    assert!(
        page.contains("Hàm Yên</td><td class=\"not_ready\">Đang kết nối lại"),
        "{page}"
    );
    assert!(
        page.contains("Chính phủ</td><td class=\"ready\">Đã kết nối"),
        "{page}"
    );

    api.live.set_cascade(CONF, tree(Up));
    assert_eq!(summary(&api).await["all_ready"], true);
}

#[tokio::test]
async fn a_link_that_came_up_later_than_two_hours_before_the_start_is_flagged_late() {
    use mcu_control::LinkStatus::{Reconnecting, Up};
    let (api, _) = in_ready_check().await;
    let deadline = BOOKED_START - 2 * HOUR;
    let since = |state, at| mcu_control::CascadeLink {
        since_ms: Some(at),
        ..cascade_link("x", "x", state)
    };
    let named = |id: &str, name: &str, link: mcu_control::CascadeLink| mcu_control::CascadeLink {
        mcu: mcu_control::CascadeMcu {
            id: id.into(),
            name: name.into(),
            level: "district".into(),
        },
        ..link
    };
    api.live.set_cascade(
        CONF,
        mcu_control::LiveCascade {
            // Up since three hours before the start: on time.
            parent: Some(named("tw", "Chính phủ", since(Up, BOOKED_START - 3 * HOUR))),
            children: vec![
                // Up since one hour before: late.
                named("mcu-son-duong", "Sơn Dương", since(Up, BOOKED_START - HOUR)),
                // Still reconnecting past the deadline: late.
                named(
                    "mcu-ham-yen",
                    "Hàm Yên",
                    since(Reconnecting, deadline - 60_000),
                ),
            ],
            ..Default::default()
        },
    );
    let s = summary(&api).await;
    let links = s["links"].as_array().unwrap();
    let by = |id: &str| {
        links
            .iter()
            .find(|l| l["link"]["mcu"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {s}"))
            .clone()
    };
    assert_eq!(by("tw")["on_time"], true, "{s}");
    assert_eq!(by("tw")["deadline_ms"], deadline);
    assert_eq!(by("mcu-son-duong")["on_time"], false, "{s}");
    assert_eq!(by("mcu-son-duong")["ready"], true, "late but up");
    assert_eq!(by("mcu-ham-yen")["on_time"], false, "{s}");

    let (status, page) = api
        .call(
            "auditor",
            "GET",
            &format!("/api/v1/conferences/{CONF}/readiness.html"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    // 06:00 Vietnam time on the booked day is the deadline of an 08:00 start.
    assert!(page.contains("Đúng hạn (trước "), "{page}");
    assert!(page.contains("<b>Muộn</b> (hạn "), "{page}");

    // A conference without a booking has no deadline.
    api.live.set_cascade(
        "giao-ban",
        mcu_control::LiveCascade {
            parent: Some(since(Up, BOOKED_START - HOUR)),
            ..Default::default()
        },
    );
    let (status, body) = api
        .call(
            "auditor",
            "GET",
            "/api/v1/conferences/giao-ban/readiness",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["links"][0]["on_time"], serde_json::Value::Null);
    assert_eq!(body["links"][0]["deadline_ms"], serde_json::Value::Null);
}
