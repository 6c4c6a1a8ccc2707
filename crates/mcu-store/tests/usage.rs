//! The usage report's reads (module `usage`) on known data, against both
//! back-ends: a SQLite file and a PostgreSQL server started on loopback.

mod common;

use common::{Postgres, Scratch};
use mcu_store::*;

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// The period read: [T0, T0 + 10 h).
const FROM: i64 = T0;
const TO: i64 = T0 + 10 * HOUR;

fn endpoint(id: &str, name: &str) -> Endpoint {
    Endpoint {
        id: id.into(),
        name: name.into(),
        unit: format!("Văn phòng {name}"),
        level: Level::District,
        chair_capable: true,
        owner_mcu: "tuyen-quang".into(),
        contacts: vec![],
    }
}

fn conference(id: &str, participants: &[&str]) -> Conference {
    Conference {
        id: id.into(),
        title: format!("Hội nghị {id}"),
        chair: Some(participants[0].into()),
        layout: "2x2".into(),
        state: ConferenceState::Created,
        created_by: "dieuhanh".into(),
        created_at: T0 - 24 * HOUR,
        started_at: None,
        ended_at: None,
        participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        links: Vec::new(),
    }
}

fn sample(conference: &str, endpoint: &str, at_ms: i64) -> QualitySample {
    QualitySample {
        conference_id: conference.into(),
        endpoint_id: endpoint.into(),
        at_ms,
        ..Default::default()
    }
}

fn booking(unit: &str, chair: &str, start_at: i64, end_at: i64) -> BookingDetails {
    BookingDetails {
        title: "Họp trực tuyến".into(),
        organising_unit: unit.into(),
        chair: chair.into(),
        participants: vec![chair.into()],
        start_at,
        end_at,
        rehearsal_at: start_at - HOUR,
        ready_check_at: start_at - HOUR / 2,
        kind: BookingKind::Scheduled,
        scenario: vec![],
        recording: false,
    }
}

fn entry(at_ms: i64, kind: LogbookKind, category: LogbookCategory) -> NewLogbookEntry {
    NewLogbookEntry {
        at_ms,
        kind,
        category,
        actor: "dieuhanh".into(),
        text: "Mất tín hiệu hình từ xã Đông Quý".into(),
        details: "{}".into(),
        refers_to: (kind == LogbookKind::Correction).then_some(1),
    }
}

/// Readiness rows go in by SQL: nothing in the store writes them yet.
async fn readiness(url: &str, rows: &[(&str, &str, i64, bool)]) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    for (conference, endpoint, at, passed) in rows {
        sqlx::query(
            "INSERT INTO readiness_results (conference_id, endpoint_id, measured_at, window_ms, \
             passed, reasons) VALUES ($1, $2, $3, 10000, $4, $5)",
        )
        .bind(*conference)
        .bind(*endpoint)
        .bind(*at)
        .bind(i64::from(*passed))
        .bind(if *passed { "" } else { "no audio" })
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

async fn check_usage(url: &str) {
    let store = Store::open(url).await.unwrap();
    for (id, name) in [("son-duong", "Sơn Dương"), ("dong-quy", "Đông Quý")] {
        store
            .create_endpoint(&endpoint(id, name), T0)
            .await
            .unwrap();
    }
    // c1: booked by the Sở Tư pháp, live [T0 + 1 h, T0 + 3 h).
    let b1 = store
        .create_booking(
            &booking("Sở Tư pháp", "son-duong", T0 + HOUR, T0 + 3 * HOUR),
            "dieuhanh",
            T0 - 48 * HOUR,
        )
        .await
        .unwrap();
    let decision = BookingDecision {
        by: "dieuhanh".into(),
        at: T0 - 47 * HOUR,
        reason: None,
    };
    assert!(
        store
            .approve_booking(
                b1.id,
                &conference("c1", &["son-duong", "dong-quy"]),
                &decision
            )
            .await
            .unwrap()
    );
    // A requested booking in the period and an approved one after it: neither counts.
    store
        .create_booking(
            &booking("Sở Y tế", "son-duong", T0 + 5 * HOUR, T0 + 6 * HOUR),
            "dieuhanh",
            T0 - 48 * HOUR,
        )
        .await
        .unwrap();
    let late = store
        .create_booking(
            &booking("Sở Y tế", "dong-quy", TO, TO + HOUR),
            "dieuhanh",
            T0 - 48 * HOUR,
        )
        .await
        .unwrap();
    assert!(
        store
            .approve_booking(late.id, &conference("c4", &["dong-quy"]), &decision)
            .await
            .unwrap()
    );
    // c2: no booking, live [T0 − 2 h, T0 + 30 min). c3: never started.
    store
        .create_conference(&conference("c2", &["son-duong"]))
        .await
        .unwrap();
    store
        .create_conference(&conference("c3", &["dong-quy"]))
        .await
        .unwrap();
    for (id, start, end) in [
        ("c1", T0 + HOUR, T0 + 3 * HOUR),
        ("c2", T0 - 2 * HOUR, T0 + 30 * MIN),
        ("c4", TO, TO + HOUR),
    ] {
        store
            .transition_conference(id, ConferenceState::Created, ConferenceState::Live, start)
            .await
            .unwrap();
        store
            .transition_conference(id, ConferenceState::Live, ConferenceState::Ended, end)
            .await
            .unwrap();
    }

    let mut samples = Vec::new();
    // c1: son-duong 10 samples 5 s apart; dong-quy 4 with one 10 s gap.
    for i in 0..10 {
        samples.push(sample("c1", "son-duong", T0 + HOUR + i * 5_000));
    }
    for at in [0, 5_000, 15_000, 20_000] {
        samples.push(sample("c1", "dong-quy", T0 + HOUR + at));
    }
    // c2: four samples of son-duong, two before the period.
    for i in -2..2 {
        samples.push(sample("c2", "son-duong", T0 + i * 5_000));
    }
    // c4: after the period.
    samples.push(sample("c4", "dong-quy", TO));
    samples.push(sample("c4", "dong-quy", TO + 5_000));
    store.add_quality_samples(&samples).await.unwrap();

    readiness(
        url,
        &[
            // son-duong failed in c1, then passed its re-test: not a failure.
            ("c1", "son-duong", T0 + 50 * MIN, false),
            ("c1", "son-duong", T0 + 55 * MIN, true),
            // dong-quy: two results at the same instant, the later row failed.
            ("c1", "dong-quy", T0 + 50 * MIN, true),
            ("c1", "dong-quy", T0 + 50 * MIN, false),
            // Before the period.
            ("c2", "son-duong", T0 - HOUR, false),
            // Passed in the period, but failed a re-test after it.
            ("c3", "dong-quy", T0 + HOUR, true),
            ("c3", "dong-quy", TO + HOUR, false),
        ],
    )
    .await;

    use LogbookCategory as Cat;
    use LogbookKind as Kind;
    for (conf, e) in [
        ("c1", entry(T0 + 2 * HOUR, Kind::Operator, Cat::Incident)),
        ("c1", entry(T0 + 2 * HOUR, Kind::Correction, Cat::Incident)),
        ("c1", entry(T0 + 2 * HOUR, Kind::Operator, Cat::Note)),
        ("c1", entry(T0 + 2 * HOUR, Kind::Auto, Cat::Drop)),
        ("c1", entry(T0 + 9 * HOUR, Kind::Operator, Cat::Incident)),
        ("c2", entry(T0 - HOUR, Kind::Operator, Cat::Incident)),
        ("c3", entry(T0 + 4 * HOUR, Kind::Operator, Cat::Incident)),
        ("c4", entry(TO, Kind::Operator, Cat::Incident)),
    ] {
        store.append_logbook(conf, &e).await.unwrap();
    }

    let endpoints = store.usage_endpoints().await.unwrap();
    assert_eq!(
        endpoints
            .iter()
            .map(|e| (e.id.as_str(), e.unit.as_str(), e.level.as_str()))
            .collect::<Vec<_>>(),
        [
            ("dong-quy", "Văn phòng Đông Quý", "district"),
            ("son-duong", "Văn phòng Sơn Dương", "district")
        ]
    );

    let conn = |c: &str, e: &str, samples| UsageConnection {
        conference_id: c.into(),
        endpoint_id: e.into(),
        samples,
    };
    assert_eq!(
        store.usage_connections(FROM, TO).await.unwrap(),
        [
            conn("c1", "dong-quy", 4),
            conn("c1", "son-duong", 10),
            conn("c2", "son-duong", 2)
        ]
    );

    let gap = |c: &str, gap_ms, count| SampleGap {
        conference_id: c.into(),
        gap_ms,
        count,
    };
    assert_eq!(
        store.usage_sample_gaps(FROM, TO).await.unwrap(),
        [
            gap("c1", 5_000, 11),
            gap("c1", 10_000, 1),
            // All of c2's samples count, those before the period too.
            gap("c2", 5_000, 3)
        ]
    );

    let verdict = |c: &str, e: &str, at, passed| ReadinessVerdict {
        conference_id: c.into(),
        endpoint_id: e.into(),
        measured_at: at,
        passed,
    };
    assert_eq!(
        store.usage_readiness(FROM, TO).await.unwrap(),
        [
            verdict("c1", "dong-quy", T0 + 50 * MIN, false),
            verdict("c1", "son-duong", T0 + 55 * MIN, true)
        ]
    );

    let incidents = |c: &str, n| ConferenceIncidents {
        conference_id: c.into(),
        incidents: n,
    };
    assert_eq!(
        store.usage_incidents(FROM, TO).await.unwrap(),
        [incidents("c1", 2), incidents("c3", 1)]
    );
    assert_eq!(
        store.usage_participants(FROM, TO).await.unwrap(),
        [
            ("c1".to_owned(), "dong-quy".to_owned()),
            ("c1".into(), "son-duong".into()),
            ("c3".into(), "dong-quy".into())
        ]
    );

    let conferences = store.usage_conferences(FROM, TO).await.unwrap();
    assert_eq!(
        conferences,
        [
            ConferenceUsage {
                conference_id: "c1".into(),
                started_at: Some(T0 + HOUR),
                ended_at: Some(T0 + 3 * HOUR),
                organising_unit: Some("Sở Tư pháp".into()),
            },
            ConferenceUsage {
                conference_id: "c2".into(),
                started_at: Some(T0 - 2 * HOUR),
                ended_at: Some(T0 + 30 * MIN),
                organising_unit: None,
            },
            ConferenceUsage {
                conference_id: "c3".into(),
                started_at: None,
                ended_at: None,
                organising_unit: None,
            },
        ]
    );

    assert_eq!(
        store.usage_bookings(FROM, TO).await.unwrap(),
        [BookingUsage {
            booking_id: b1.id,
            organising_unit: "Sở Tư pháp".into(),
            start_at: T0 + HOUR,
            end_at: T0 + 3 * HOUR,
            conference_id: Some("c1".into()),
        }]
    );

    // An empty period reads nothing.
    assert!(store.usage_connections(TO, TO).await.unwrap().is_empty());
    assert!(store.usage_sample_gaps(TO, TO).await.unwrap().is_empty());
    assert!(store.usage_conferences(TO, TO).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_usage_reads() {
    let dir = Scratch::new("usage");
    check_usage(&format!("sqlite://{}", dir.0.join("u.db").display())).await;
}

#[tokio::test]
async fn postgres_usage_reads() {
    let pg = Postgres::start();
    let out = std::process::Command::new(common::pg_bin("psql"))
        .args([pg.url.as_str(), "-q", "-c", "CREATE DATABASE usage"])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_usage(&format!("{}usage", pg.url.trim_end_matches("postgres"))).await;
}
