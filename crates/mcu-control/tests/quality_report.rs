//! The quality report (R13) through the router: samples written into the
//! store as the daemon's recorder would, alarm entries in the logbook, then
//! `GET …/report` (JSON), `…/report.csv` and `…/report.html`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, T0};
use http_body_util::BodyExt;
use mcu_control::AlarmKind;
use mcu_control::report::{AlarmEvent, LoggedAlarm};
use mcu_store::*;

fn sample(endpoint: &str, at_ms: i64, loss: f64, jitter: f64, rtt: f64) -> QualitySample {
    let figures = SampleFigures {
        loss_percent: loss,
        jitter_ms: jitter,
        kbps: 1500.0,
        fps: 30.0,
    };
    QualitySample {
        conference_id: "giao-ban".into(),
        endpoint_id: endpoint.into(),
        at_ms,
        rtt_ms: Some(rtt),
        video: figures,
        audio: SampleFigures {
            loss_percent: 0.0,
            jitter_ms: 1.0,
            kbps: 32.0,
            fps: 50.0,
        },
    }
}

fn alarm(kind: AlarmKind, event: AlarmEvent, raised: i64, cleared: Option<i64>) -> NewLogbookEntry {
    let category = match (kind, event) {
        (AlarmKind::Drop, AlarmEvent::Raised) => LogbookCategory::Drop,
        (AlarmKind::Drop, AlarmEvent::Cleared) => LogbookCategory::Reconnect,
        _ => LogbookCategory::Alarm,
    };
    let details = LoggedAlarm {
        endpoint: "son-duong".into(),
        alarm: kind,
        event,
        raised_at: raised,
        cleared_at: cleared,
        value: 3.0,
        threshold: 2.0,
        detail: String::new(),
    };
    NewLogbookEntry {
        at_ms: cleared.unwrap_or(raised),
        kind: LogbookKind::Auto,
        category,
        actor: "system".into(),
        text: "Cảnh báo".into(),
        details: serde_json::to_string(&details).unwrap(),
        refers_to: None,
    }
}

async fn get_text(api: &Api, path: &str) -> (StatusCode, String, String) {
    let req = Request::get(path)
        .header(
            "authorization",
            format!("Bearer {}", api.token("auditor").unwrap()),
        )
        .body(Body::empty())
        .unwrap();
    let res = api.send(req).await;
    let status = res.status();
    let ctype = res.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_report_compiles_samples_and_logbook_alarms() {
    let api = Api::new().await;
    // 12 samples 5 s apart: son-duong at 5 % loss, 10 ms jitter, 40 ms RTT;
    // ubnd-tinh clean; dong-quy never connected.
    let mut samples = Vec::new();
    for i in 0..12 {
        samples.push(sample("son-duong", T0 + i * 5_000, 5.0, 10.0, 40.0));
        samples.push(sample("ubnd-tinh", T0 + i * 5_000, 0.0, 2.0, 10.0));
    }
    api.store.add_quality_samples(&samples).await.unwrap();
    for e in [
        alarm(AlarmKind::Freeze, AlarmEvent::Raised, T0 + 10_000, None),
        alarm(
            AlarmKind::Freeze,
            AlarmEvent::Cleared,
            T0 + 10_000,
            Some(T0 + 14_000),
        ),
        alarm(AlarmKind::Drop, AlarmEvent::Raised, T0 + 30_000, None),
        alarm(
            AlarmKind::Drop,
            AlarmEvent::Cleared,
            T0 + 30_000,
            Some(T0 + 32_000),
        ),
    ] {
        api.store.append_logbook("giao-ban", &e).await.unwrap();
    }

    let (status, r) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/report",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["conference"], "giao-ban");
    assert_eq!(r["state"], "live");
    assert_eq!(r["record_period_ms"], 5_000);
    let ids: Vec<&str> = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    // The conference's participants, as the store lists them.
    assert_eq!(ids, ["dong-quy", "son-duong", "ubnd-tinh"]);
    let lossy = &r["endpoints"][1];
    assert_eq!(lossy["name"], "UBND huyện Sơn Dương");
    assert_eq!(lossy["samples"], 12);
    assert_eq!(lossy["connected_ms"], 60_000);
    assert_eq!(lossy["loss_percent"]["mean"], 5.0);
    assert_eq!(lossy["loss_percent"]["p95"], 5.0);
    assert_eq!(lossy["jitter_ms"]["mean"], 10.0);
    assert_eq!(lossy["rtt_ms"]["p95"], 40.0);
    let mos = lossy["mos"].as_f64().unwrap();
    assert!((mos - 3.1172).abs() < 1e-3, "{mos}");
    assert_eq!(lossy["band"], "poor");
    assert_eq!(lossy["drops"], 1);
    assert_eq!(lossy["freezes"], 1);
    assert_eq!(
        lossy["freeze_ms"], 6_000,
        "from 2 s before the alarm to its clearing"
    );
    assert_eq!(r["endpoints"][2]["band"], "excellent");
    assert_eq!(r["endpoints"][0]["samples"], 0);
    assert!(r["endpoints"][0]["mos"].is_null());
    assert_eq!(r["summary"]["endpoints"], 2);
    assert_eq!(r["summary"]["worst_endpoint"], "son-duong");
    assert_eq!(r["summary"]["band"], "fair");

    // CSV: BOM, header, one row per endpoint and the summary.
    let (status, ctype, csv) = get_text(&api, "/api/v1/conferences/giao-ban/report.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(
        csv.starts_with("\u{feff}endpoint_id,endpoint_name,"),
        "{csv}"
    );
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[2].starts_with("\"son-duong\",\"UBND huyện Sơn Dương\",\"12\",\"60.0\",\"1\",\"1\",\"6.0\",\"5.00\",\"5.00\",\"10.0\""),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with("\"3.12\",\"poor\""), "{}", lines[2]);

    // HTML: printable, Vietnamese, escaped.
    let (status, ctype, html) = get_text(&api, "/api/v1/conferences/giao-ban/report.html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.contains("Báo cáo đánh giá chất lượng hội nghị truyền hình"));
    assert!(html.contains("UBND huyện Sơn Dương"));
    assert!(html.contains("Kém") && html.contains("Rất tốt"));
    assert!(!html.contains("<script"));

    // The charts' series: per endpoint with samples, in time order.
    let (status, series) = api
        .call(
            "auditor",
            "GET",
            "/api/v1/conferences/giao-ban/report/series",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    let series = series.as_array().unwrap();
    assert_eq!(series.len(), 2, "dong-quy has no samples: no line");
    let son_duong = series
        .iter()
        .find(|e| e["endpoint"] == "son-duong")
        .unwrap();
    assert_eq!(son_duong["name"], "UBND huyện Sơn Dương");
    let points = son_duong["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    assert_eq!(points[0], serde_json::json!([T0, 5.0, 10.0, 40.0]));
    assert_eq!(points[11][0], T0 + 55_000);
    let (status, _) = api
        .call(
            "site_operator",
            "GET",
            "/api/v1/conferences/hop-moi/report/series",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A conference without samples has a report with no figures.
    let (status, r) = api
        .call("admin", "GET", "/api/v1/conferences/hop-moi/report", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(r["summary"]["mean_mos"].is_null());
    let (status, _) = api
        .call("admin", "GET", "/api/v1/conferences/khong-co/report", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn titles_and_names_are_escaped_in_the_printable_report() {
    let api = Api::new().await;
    let mut e = api.store.endpoint("son-duong").await.unwrap().unwrap();
    e.name = "<b>Sơn Dương</b>".into();
    api.store.update_endpoint(&e, T0).await.unwrap();
    api.store
        .add_quality_samples(&[sample("son-duong", T0, 1.0, 1.0, 1.0)])
        .await
        .unwrap();
    let (_, _, html) = get_text(&api, "/api/v1/conferences/giao-ban/report.html").await;
    assert!(html.contains("&lt;b&gt;Sơn Dương&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>Sơn Dương"));
}

#[tokio::test]
async fn a_cascade_link_has_its_own_row() {
    let api = Api::new().await;
    // The province link's trunk, sampled while the link was up.
    let samples: Vec<QualitySample> = (0..4)
        .map(|i| sample("cascade:tuyen-quang", T0 + i * 5_000, 0.5, 3.0, 20.0))
        .collect();
    api.store.add_quality_samples(&samples).await.unwrap();
    let (status, r) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/report",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let link = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == "cascade:tuyen-quang")
        .cloned()
        .unwrap_or_else(|| panic!("no link row: {r}"));
    assert_eq!(link["name"], "Liên kết MCU tuyen-quang", "{link}");
    assert_eq!(link["samples"], 4, "{link}");
    let (_, _, html) = get_text(&api, "/api/v1/conferences/giao-ban/report.html").await;
    assert!(html.contains("Liên kết MCU tuyen-quang"), "{html}");
}
