//! The periodic usage report (R13, R19) through the router, on known data:
//! October 2026 in Vietnam time, three booked conferences (one straddling
//! the period's end, one never held), one without a booking, quality
//! samples at two record periods, readiness results with a re-test, and
//! logbook incidents written through the API.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, HOUR, code};
use http_body_util::BodyExt;
use mcu_store::*;
use serde_json::{Value, json};

/// 2026-10-01 00:00 in Hà Nội (2026-09-30 17:00 UTC).
const P0: i64 = 1_790_787_600_000;
/// 2026-11-01 00:00 in Hà Nội: the end of the period, excluded.
const P_END: i64 = 1_793_466_000_000;
const MIN: i64 = 60_000;
const DAY: i64 = 24 * HOUR;
const OCTOBER: &str = "from=2026-10-01&to=2026-10-31";

fn sample(conference: &str, endpoint: &str, at_ms: i64) -> QualitySample {
    QualitySample {
        conference_id: conference.into(),
        endpoint_id: endpoint.into(),
        at_ms,
        rtt_ms: Some(20.0),
        ..Default::default()
    }
}

/// `n` samples `every` ms apart from `start`.
fn samples(conference: &str, endpoint: &str, start: i64, every: i64, n: i64) -> Vec<QualitySample> {
    (0..n)
        .map(|i| sample(conference, endpoint, start + i * every))
        .collect()
}

fn conference(id: &str, title: &str, participants: &[&str]) -> Conference {
    Conference {
        id: id.into(),
        title: title.into(),
        chair: Some(participants[0].into()),
        layout: "2x2".into(),
        state: ConferenceState::Created,
        created_by: "operator".into(),
        created_at: P0 - 10 * DAY,
        started_at: None,
        ended_at: None,
        participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        links: Vec::new(),
    }
}

/// An approved booking of `unit` for [start, end) with its conference `id`.
async fn booked(api: &Api, id: &str, unit: &str, start: i64, end: i64, participants: &[&str]) {
    let details = BookingDetails {
        title: format!("Hội nghị {id}"),
        organising_unit: unit.into(),
        chair: participants[0].into(),
        participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        start_at: start,
        end_at: end,
        rehearsal_at: start - 2 * HOUR,
        ready_check_at: start - HOUR / 2,
        kind: BookingKind::Scheduled,
        scenario: vec![],
        recording: false,
    };
    let b = api
        .store
        .create_booking(&details, "operator", P0 - 10 * DAY)
        .await
        .unwrap();
    let decision = BookingDecision {
        by: "operator".into(),
        at: P0 - 9 * DAY,
        reason: None,
    };
    let c = conference(id, &details.title, participants);
    assert!(
        api.store
            .approve_booking(b.id, &c, &decision)
            .await
            .unwrap()
    );
}

async fn run(api: &Api, id: &str, start: i64, end: i64) {
    for (from, to, at) in [
        (ConferenceState::Created, ConferenceState::Live, start),
        (ConferenceState::Live, ConferenceState::Ended, end),
    ] {
        assert!(
            api.store
                .transition_conference(id, from, to, at)
                .await
                .unwrap()
        );
    }
}

/// Readiness results go in by SQL: the readiness check does not write them yet.
async fn readiness(api: &Api, rows: &[(&str, &str, i64, bool)]) {
    let pool = sqlx::AnyPool::connect(&api.db_url).await.unwrap();
    for (conference, endpoint, at, passed) in rows {
        sqlx::query(
            "INSERT INTO readiness_results (conference_id, endpoint_id, measured_at, window_ms, \
             passed, reasons) VALUES ($1, $2, $3, 10000, $4, $5)",
        )
        .bind(*conference)
        .bind(*endpoint)
        .bind(*at)
        .bind(i64::from(*passed))
        .bind(if *passed { "" } else { "không có tiếng" })
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

/// The fixture plus October's data (see the module comment).
async fn october() -> Api {
    let api = Api::new().await;
    api.keep_sessions().await;
    // Units: ubnd-tinh alone; son-duong, dong-quy and tan-trao under the district.
    for (id, unit) in [
        ("ubnd-tinh", "UBND tỉnh Tuyên Quang"),
        ("son-duong", "UBND huyện Sơn Dương"),
        ("dong-quy", "UBND huyện Sơn Dương"),
        ("tan-trao", "UBND huyện Sơn Dương"),
    ] {
        let mut e = api.store.endpoint(id).await.unwrap().unwrap();
        e.unit = unit.into();
        api.store.update_endpoint(&e, P0 - 30 * DAY).await.unwrap();
    }
    // The fixture's live conference ended in September, with a sample then.
    api.store
        .transition_conference(
            "giao-ban",
            ConferenceState::Live,
            ConferenceState::Ended,
            P0 - 5 * DAY,
        )
        .await
        .unwrap();
    api.store
        .add_quality_samples(&[sample("giao-ban", "son-duong", P0 - 5 * DAY - MIN)])
        .await
        .unwrap();

    // 1 Oct, booked 08:00–10:00 by the Sở Tư pháp, held 08:00–09:30.
    booked(
        &api,
        "tu-phap-1-10",
        "Sở Tư pháp tỉnh Tuyên Quang",
        P0 + 8 * HOUR,
        P0 + 10 * HOUR,
        &["ubnd-tinh", "son-duong", "dong-quy"],
    )
    .await;
    run(
        &api,
        "tu-phap-1-10",
        P0 + 8 * HOUR,
        P0 + 9 * HOUR + 30 * MIN,
    )
    .await;
    // 20 Oct, the same unit written otherwise, approved but never held.
    booked(
        &api,
        "tu-phap-20-10",
        "  sở tư pháp  tỉnh Tuyên Quang",
        P0 + 19 * DAY + 8 * HOUR,
        P0 + 19 * DAY + 9 * HOUR,
        &["ubnd-tinh"],
    )
    .await;
    // 31 Oct 23:00 – 1 Nov 01:00: half of it in October.
    booked(
        &api,
        "giao-thua",
        "Trung tâm CNTT & Truyền thông",
        P_END - HOUR,
        P_END + HOUR,
        &["son-duong"],
    )
    .await;
    run(&api, "giao-thua", P_END - HOUR, P_END + HOUR).await;
    // A requested booking is not usage.
    let mut requested = common::fixture_booking();
    requested.organising_unit = "Sở Y tế".into();
    requested.start_at = P0 + 5 * DAY;
    requested.end_at = P0 + 5 * DAY + HOUR;
    api.store
        .create_booking(&requested, "operator", P0)
        .await
        .unwrap();
    // 11 Oct: an urgent meeting without a booking, 30 minutes.
    api.store
        .create_conference(&conference(
            "hop-khan",
            "Họp khẩn phòng chống bão",
            &["tan-trao"],
        ))
        .await
        .unwrap();
    run(&api, "hop-khan", P0 + 10 * DAY, P0 + 10 * DAY + 30 * MIN).await;

    // Connected: ubnd-tinh 1 h and son-duong 30 min at 5 s; tan-trao 30 min
    // at 5 s; son-duong 2 h at 10 s across the period's end; dong-quy never.
    let mut all = Vec::new();
    all.extend(samples(
        "tu-phap-1-10",
        "ubnd-tinh",
        P0 + 8 * HOUR,
        5_000,
        720,
    ));
    all.extend(samples(
        "tu-phap-1-10",
        "son-duong",
        P0 + 8 * HOUR,
        5_000,
        360,
    ));
    all.extend(samples("hop-khan", "tan-trao", P0 + 10 * DAY, 5_000, 360));
    all.extend(samples("giao-thua", "son-duong", P_END - HOUR, 10_000, 720));
    api.store.add_quality_samples(&all).await.unwrap();

    readiness(
        &api,
        &[
            ("tu-phap-1-10", "ubnd-tinh", P0 + 7 * HOUR + 30 * MIN, true),
            // Failed, then passed the re-test: not a failure.
            ("tu-phap-1-10", "son-duong", P0 + 7 * HOUR + 30 * MIN, false),
            ("tu-phap-1-10", "son-duong", P0 + 7 * HOUR + 45 * MIN, true),
            // Failed and never re-tested.
            ("tu-phap-1-10", "dong-quy", P0 + 7 * HOUR + 30 * MIN, false),
            ("giao-thua", "son-duong", P_END - 2 * HOUR, false),
            // September: outside.
            ("giao-ban", "dong-quy", P0 - 5 * DAY - HOUR, false),
        ],
    )
    .await;

    // The operator writes an incident, a note and a correction during the
    // 1 Oct session, and an incident after midnight in the straddling one.
    let write = |conf: &'static str, at: i64, body: Value| {
        let api = &api;
        async move {
            api.clock.store(at, std::sync::atomic::Ordering::Relaxed);
            let path = format!("/api/v1/conferences/{conf}/logbook");
            let (status, entry) = api.call("operator", "POST", &path, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{entry}");
            entry["seq"].as_i64().unwrap()
        }
    };
    let incident = write(
        "tu-phap-1-10",
        P0 + 8 * HOUR + 30 * MIN,
        json!({"category": "incident", "text": "Mất tín hiệu hình xã Đông Quý", "remedy": "Khởi động lại thiết bị"}),
    )
    .await;
    write(
        "tu-phap-1-10",
        P0 + 8 * HOUR + 40 * MIN,
        json!({"category": "note", "text": "Đông Quý theo dõi qua điện thoại"}),
    )
    .await;
    write(
        "tu-phap-1-10",
        P0 + 8 * HOUR + 50 * MIN,
        json!({"category": "incident", "text": "Mất tín hiệu hình và tiếng xã Đông Quý", "refers_to": incident}),
    )
    .await;
    write(
        "giao-thua",
        P_END + 30 * MIN,
        json!({"category": "incident", "text": "Chập chờn đường truyền"}),
    )
    .await;
    // The report is read on 15 November.
    api.clock
        .store(P_END + 14 * DAY, std::sync::atomic::Ordering::Relaxed);
    api
}

async fn get_text(api: &Api, role: &str, path: &str) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(t) = api.token(role) {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = api.send(req.body(Body::empty()).unwrap()).await;
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

fn row<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row with {key} = {value} in {rows}"))
}

fn figures(r: &Value, keys: &[&str]) -> Vec<i64> {
    keys.iter()
        .map(|k| r[*k].as_i64().unwrap_or_else(|| panic!("{k} in {r}")))
        .collect()
}

const ENDPOINT_KEYS: &[&str] = &[
    "sessions",
    "connected_ms",
    "readiness_checks",
    "readiness_failures",
    "incidents",
];
const UNIT_KEYS: &[&str] = &[
    "endpoints",
    "endpoints_used",
    "sessions",
    "connected_ms",
    "readiness_checks",
    "readiness_failures",
    "incidents",
];
const ORG_KEYS: &[&str] = &[
    "bookings",
    "booked_ms",
    "conferences",
    "actual_ms",
    "endpoint_ms",
    "endpoints",
    "incidents",
];

#[tokio::test]
async fn the_report_counts_each_endpoint_unit_and_organisation() {
    let api = october().await;
    let (status, r) = api
        .call(
            "auditor",
            "GET",
            &format!("/api/v1/reports/usage?{OCTOBER}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("2026-10-01"), Some("2026-10-31"))
    );
    assert_eq!(
        (r["from_ms"].as_i64(), r["to_ms"].as_i64()),
        (Some(P0), Some(P_END))
    );
    assert_eq!(r["scope"], "all");
    assert_eq!(r["compiled_at"], P_END + 14 * DAY);

    // Endpoints: by unit, then name.
    let ids: Vec<&str> = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["son-duong", "tan-trao", "dong-quy", "ubnd-tinh"]);
    let e = &r["endpoints"];
    // 720 × 5 s; readiness passed; the one incident of its conference.
    assert_eq!(
        figures(row(e, "endpoint", "ubnd-tinh"), ENDPOINT_KEYS),
        [1, HOUR, 1, 0, 1]
    );
    // 360 × 5 s on 1 Oct + 360 × 10 s before midnight on 31 Oct; the re-test
    // cleared 1 Oct's failure, 31 Oct's stands; the incident after midnight
    // is November's.
    assert_eq!(
        figures(row(e, "endpoint", "son-duong"), ENDPOINT_KEYS),
        [2, 30 * MIN + HOUR, 2, 1, 1]
    );
    // Listed, never connected, failed its check, was in the incident's meeting.
    assert_eq!(
        figures(row(e, "endpoint", "dong-quy"), ENDPOINT_KEYS),
        [0, 0, 1, 1, 1]
    );
    assert_eq!(
        figures(row(e, "endpoint", "tan-trao"), ENDPOINT_KEYS),
        [1, 30 * MIN, 0, 0, 0]
    );
    let son_duong = row(e, "endpoint", "son-duong");
    assert_eq!(son_duong["name"], "UBND huyện Sơn Dương");
    assert_eq!(son_duong["unit"], "UBND huyện Sơn Dương");
    assert_eq!(son_duong["level"], "district");

    // Units: the district's three rooms share one session and one incident on 1 Oct.
    let u = &r["units"];
    assert_eq!(u.as_array().unwrap().len(), 2);
    assert_eq!(
        figures(row(u, "unit", "UBND huyện Sơn Dương"), UNIT_KEYS),
        [3, 2, 3, 2 * HOUR, 3, 2, 1]
    );
    assert_eq!(
        figures(row(u, "unit", "UBND tỉnh Tuyên Quang"), UNIT_KEYS),
        [1, 1, 1, HOUR, 1, 0, 1]
    );
    assert_eq!(
        figures(&r["totals"], UNIT_KEYS),
        [4, 3, 3, 3 * HOUR, 4, 2, 1]
    );

    // Organisations: two spellings of the Sở Tư pháp are one; the straddling
    // conference counts its October hour; the urgent meeting has no booking;
    // the requested booking of the Sở Y tế is not there.
    let o = r["organisations"].as_array().unwrap();
    let names: Vec<Value> = o.iter().map(|x| x["organisation"].clone()).collect();
    assert_eq!(
        names,
        [
            json!("Sở Tư pháp tỉnh Tuyên Quang"),
            json!("Trung tâm CNTT & Truyền thông"),
            Value::Null
        ]
    );
    assert_eq!(
        figures(&o[0], ORG_KEYS),
        [2, 3 * HOUR, 1, HOUR + 30 * MIN, HOUR + 30 * MIN, 2, 1]
    );
    assert_eq!(figures(&o[1], ORG_KEYS), [1, HOUR, 1, HOUR, HOUR, 1, 0]);
    assert_eq!(
        figures(&o[2], ORG_KEYS),
        [0, 0, 1, 30 * MIN, 30 * MIN, 1, 0]
    );
    let t = &r["organisation_totals"];
    assert_eq!(
        figures(
            t,
            &[
                "bookings",
                "booked_ms",
                "conferences",
                "actual_ms",
                "endpoint_ms",
                "incidents"
            ]
        ),
        [3, 4 * HOUR, 3, 3 * HOUR, 3 * HOUR, 1]
    );

    // November holds the other half of the straddling conference and its incident.
    let (status, nov) = api
        .call(
            "admin",
            "GET",
            "/api/v1/reports/usage?from=2026-11-01&to=2026-11-30",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{nov}");
    assert_eq!(
        figures(
            row(&nov["endpoints"], "endpoint", "son-duong"),
            ENDPOINT_KEYS
        ),
        [1, HOUR, 0, 0, 1]
    );
    assert_eq!(
        figures(&nov["organisations"][0], ORG_KEYS),
        [1, HOUR, 1, HOUR, HOUR, 1, 1]
    );
    // A single day: 1 Oct alone.
    let (_, day) = api
        .call(
            "operator",
            "GET",
            "/api/v1/reports/usage?from=2026-10-01&to=2026-10-01",
            None,
        )
        .await;
    assert_eq!(day["totals"]["sessions"], 1);
    assert_eq!(day["totals"]["connected_ms"], HOUR + 30 * MIN);
}

/// CSV cells of a line (quoted, `""` inside).
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[tokio::test]
async fn csv_and_html_carry_the_vietnamese_names_and_are_audited() {
    let api = october().await;
    let (status, ctype, csv) = get_text(
        &api,
        "auditor",
        &format!("/api/v1/reports/usage.csv?{OCTOBER}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(ctype, "text/csv; charset=utf-8");
    assert!(csv.starts_with('\u{feff}'), "BOM for spreadsheet programs");
    let lines: Vec<Vec<String>> = csv
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(cells)
        .collect();
    let header = &lines[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let find = |kind: &str, key: &str| {
        lines
            .iter()
            .find(|l| l[0] == kind && (l[col("id")] == key || l[col("name")] == key))
            .unwrap_or_else(|| panic!("no {kind} {key} in {csv}"))
    };
    let sd = find("endpoint", "son-duong");
    assert_eq!(sd[col("name")], "UBND huyện Sơn Dương");
    assert_eq!(sd[col("connected_h")], "1.50");
    assert_eq!(sd[col("readiness_failures")], "1");
    let unit = find("unit", "UBND huyện Sơn Dương");
    assert_eq!(
        (
            unit[col("sessions")].as_str(),
            unit[col("connected_h")].as_str()
        ),
        ("3", "2.00")
    );
    let org = find("organisation", "Sở Tư pháp tỉnh Tuyên Quang");
    assert_eq!(
        [
            &org[col("bookings")],
            &org[col("booked_h")],
            &org[col("conferences")],
            &org[col("actual_h")]
        ],
        ["2", "3.00", "1", "1.50"]
    );
    let total = lines.iter().find(|l| l[0] == "total").unwrap();
    assert_eq!(total[col("connected_h")], "3.00");
    assert!(lines.iter().all(|l| l.len() == header.len()), "{csv}");

    let audit = api.last_audit().await;
    assert_eq!(
        (
            audit.entry.action.as_str(),
            audit.entry.target.as_str(),
            audit.entry.result.as_str()
        ),
        ("usage_report.export", "reports/usage", "ok")
    );
    assert_eq!(audit.entry.actor, "auditor");
    let details: Value = serde_json::from_str(&audit.entry.details).unwrap();
    assert_eq!(
        details,
        json!({"from": "2026-10-01", "to": "2026-10-31", "format": "csv"})
    );

    let (status, ctype, html) = get_text(
        &api,
        "operator",
        &format!("/api/v1/reports/usage.html?{OCTOBER}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/html; charset=utf-8");
    for text in [
        "<html lang=\"vi\">",
        "<meta charset=\"utf-8\">",
        "Báo cáo tình hình sử dụng hệ thống hội nghị truyền hình",
        "từ ngày 01/10/2026 đến hết ngày 31/10/2026",
        "Toàn hệ thống",
        "UBND huyện Sơn Dương",
        "UBND xã Đông Quý",
        "Sở Tư pháp tỉnh Tuyên Quang",
        "Trung tâm CNTT &amp; Truyền thông",
        "(Hội nghị không qua đặt lịch)",
        "<td class=\"n\">1,50</td>",
        "Tổng cộng",
        "Lập báo cáo lúc:</b> 15/11/2026",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("Sở Y tế"),
        "a requested booking is not usage"
    );
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.actor.as_str()),
        ("usage_report.export", "operator")
    );
    assert!(audit.entry.details.contains("\"html\""));
}

#[tokio::test]
async fn a_site_operator_sees_only_their_own_endpoints() {
    let api = october().await;
    for role in ["admin", "operator", "auditor", "site_operator"] {
        let (status, r) = api
            .call(
                role,
                "GET",
                &format!("/api/v1/reports/usage?{OCTOBER}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{role}: {r}");
    }
    let (_, r) = api
        .call(
            "site_operator",
            "GET",
            &format!("/api/v1/reports/usage?{OCTOBER}"),
            None,
        )
        .await;
    assert_eq!(r["scope"], "own_endpoints");
    let e = r["endpoints"].as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(
        figures(&e[0], ENDPOINT_KEYS),
        [2, 30 * MIN + HOUR, 2, 1, 1],
        "son-duong, as in the full report"
    );
    // The unit over their one endpoint only: dong-quy and tan-trao stay out.
    let u = r["units"].as_array().unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(
        figures(&u[0], UNIT_KEYS),
        [1, 1, 2, 30 * MIN + HOUR, 2, 1, 1]
    );
    assert_eq!(r["organisations"], json!([]));
    assert_eq!(r["organisation_totals"], Value::Null);

    let (status, _, csv) = get_text(
        &api,
        "site_operator",
        &format!("/api/v1/reports/usage.csv?{OCTOBER}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("son-duong"));
    for other in [
        "ubnd-tinh",
        "dong-quy",
        "tan-trao",
        "Sở Tư pháp",
        "organisation\"",
    ] {
        assert!(!csv.contains(other), "a site operator's CSV shows {other}");
    }
    let (status, _, html) = get_text(
        &api,
        "site_operator",
        &format!("/api/v1/reports/usage.html?{OCTOBER}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Các điểm cầu do tài khoản site-operator phụ trách"));
    assert!(!html.contains("UBND xã Đông Quý") && !html.contains("Theo đơn vị tổ chức"));

    for path in [
        "/api/v1/reports/usage",
        "/api/v1/reports/usage.csv",
        "/api/v1/reports/usage.html",
    ] {
        let (status, body) = api
            .call("anonymous", "GET", &format!("{path}?{OCTOBER}"), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(code(&body), "unauthenticated");
    }
}

#[tokio::test]
async fn bad_periods_are_refused_with_a_stable_code() {
    let api = Api::new().await;
    for (query, field, reason) in [
        ("", "from", "missing"),
        ("from=2026-01-01", "to", "missing"),
        ("to=2026-12-31", "from", "missing"),
        ("from=2026-02-30&to=2026-12-31", "from", "format"),
        ("from=01/01/2026&to=2026-12-31", "from", "format"),
        ("from=2026-01-01&to=2026-12-32", "to", "format"),
        ("from=2026-01-01&to=năm-nay", "to", "format"),
        ("from=2026-12-31&to=2026-01-01", "to", "before_from"),
    ] {
        for ext in ["", ".csv", ".html"] {
            let (status, body) = api
                .call(
                    "operator",
                    "GET",
                    &format!("/api/v1/reports/usage{ext}?{query}"),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{ext}?{query}: {body}");
            assert_eq!(code(&body), "invalid_period", "{query}");
            assert_eq!(body["error"]["details"]["field"], field, "{query}");
            assert_eq!(body["error"]["details"]["reason"], reason, "{query}");
        }
    }
    // A refused export is audited with its error.
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.result.as_str()),
        ("usage_report.export", "invalid_period")
    );
    // A period with nothing in it is an empty report, not an error.
    let (status, r) = api
        .call(
            "operator",
            "GET",
            "/api/v1/reports/usage?from=2020-01-01&to=2020-12-31",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["totals"]["sessions"], 0);
    assert_eq!(
        r["endpoints"].as_array().unwrap().len(),
        4,
        "every room is listed"
    );
    assert_eq!(r["organisations"], json!([]));
}
