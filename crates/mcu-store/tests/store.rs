//! The one storage suite, run against both back-ends: a SQLite file and a
//! PostgreSQL server started on loopback for this test run.

mod common;

use common::{Postgres, Scratch};
use mcu_store::*;

const T0: i64 = 1_790_000_000_000;

fn user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: format!("Nguyễn Văn {name}"),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        endpoints: vec![],
    }
}

fn endpoint(id: &str, name: &str, level: Level) -> Endpoint {
    Endpoint {
        id: id.into(),
        name: name.into(),
        unit: format!("Văn phòng {name}"),
        level,
        chair_capable: level == Level::Province,
        owner_mcu: "tuyen-quang".into(),
        contacts: vec![Contact {
            name: "Trần Thị Hương".into(),
            title: "Chuyên viên CNTT".into(),
            unit: name.into(),
            phone: "0207 3822 111".into(),
            email: "huong@tuyenquang.gov.vn".into(),
        }],
    }
}

async fn check_users(store: &Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let admin = store
        .create_user(&user("admin", Role::Admin), T0)
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(admin.display_name, "Nguyễn Văn admin");
    assert!(matches!(
        store.create_user(&user("admin", Role::Operator), T0).await,
        Err(StoreError::Duplicate(_))
    ));
    store
        .create_endpoint(
            &endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
            T0,
        )
        .await
        .unwrap();
    let mut site = user("site", Role::SiteOperator);
    site.endpoints = vec!["son-duong".into()];
    let site = store.create_user(&site, T0).await.unwrap();
    assert_eq!(site.endpoints, vec!["son-duong".to_string()]);
    let mut bad = user("ghost", Role::SiteOperator);
    bad.endpoints = vec!["no-such-room".into()];
    assert!(matches!(
        store.create_user(&bad, T0).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store.user_by_username("ghost").await.unwrap().is_none(),
        "rolled back"
    );

    let by_name = store.user_by_username("site").await.unwrap().unwrap();
    assert_eq!(by_name, site);
    assert_eq!(store.list_users().await.unwrap().len(), 2);

    let changed = store
        .update_user(
            site.id,
            &UserChange {
                role: Some(Role::Operator),
                endpoints: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Operator);
    assert!(changed.endpoints.is_empty());
    assert!(matches!(
        store.update_user(9999, &UserChange::default()).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_user(site.id).await.unwrap();
    assert!(matches!(
        store.delete_user(site.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn check_lockout(store: &Store) {
    let u = store
        .create_user(&user("op", Role::Operator), T0)
        .await
        .unwrap();
    for _ in 0..4 {
        assert_eq!(
            store
                .record_login_failure(u.id, T0, 5, 900_000)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(store.user(u.id).await.unwrap().unwrap().failed_logins, 4);
    let until = store
        .record_login_failure(u.id, T0, 5, 900_000)
        .await
        .unwrap();
    assert_eq!(until, Some(T0 + 900_000));
    let locked = store.user(u.id).await.unwrap().unwrap();
    assert_eq!(locked.locked_until, Some(T0 + 900_000));
    store.record_login_success(u.id).await.unwrap();
    let cleared = store.user(u.id).await.unwrap().unwrap();
    assert_eq!((cleared.failed_logins, cleared.locked_until), (0, None));
}

async fn check_sessions(store: &Store) {
    let u = store
        .create_user(&user("op", Role::Operator), T0)
        .await
        .unwrap();
    let session = Session {
        token_hash: "ab".repeat(32),
        user_id: u.id,
        created_at: T0,
        expires_at: T0 + 1000,
        from_addr: "127.0.0.1".into(),
    };
    store.create_session(&session).await.unwrap();
    let found = store
        .session_user(&session.token_hash, T0 + 999)
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.username), Some("op".into()));
    assert!(
        store
            .session_user(&session.token_hash, T0 + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.session_user("cd", T0).await.unwrap().is_none());

    // Disabling the account ends its sessions.
    store
        .update_user(
            u.id,
            &UserChange {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .session_user(&session.token_hash, T0)
            .await
            .unwrap()
            .is_none()
    );
    store
        .update_user(
            u.id,
            &UserChange {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .session_user(&session.token_hash, T0)
            .await
            .unwrap()
            .is_none()
    );

    store.create_session(&session).await.unwrap();
    store.delete_session(&session.token_hash).await.unwrap();
    assert!(
        store
            .session_user(&session.token_hash, T0)
            .await
            .unwrap()
            .is_none()
    );
    store.create_session(&session).await.unwrap();
    assert_eq!(store.purge_sessions(T0 + 1000).await.unwrap(), 1);
}

async fn check_endpoints(store: &Store) {
    let mut tinh = endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province);
    let son_duong = endpoint("son-duong", "UBND huyện Sơn Dương", Level::District);
    let mut xa = endpoint("dong-quy", "UBND xã Đông Quý", Level::Commune);
    xa.contacts.push(Contact {
        name: "Lê Văn Đức".into(),
        ..Default::default()
    });
    for e in [&xa, &son_duong, &tinh] {
        store.create_endpoint(e, T0).await.unwrap();
    }
    assert!(matches!(
        store.create_endpoint(&xa, T0).await,
        Err(StoreError::Duplicate(_))
    ));
    let all = store.list_endpoints().await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["ubnd-tinh", "son-duong", "dong-quy"],
        "ordered by level, central first"
    );
    assert_eq!(store.endpoint("dong-quy").await.unwrap().unwrap(), xa);

    tinh.name = "Ủy ban nhân dân tỉnh Tuyên Quang".into();
    tinh.contacts.clear();
    store.update_endpoint(&tinh, T0 + 1).await.unwrap();
    assert_eq!(store.endpoint("ubnd-tinh").await.unwrap().unwrap(), tinh);
    let mut missing = tinh.clone();
    missing.id = "nowhere".into();
    assert!(matches!(
        store.update_endpoint(&missing, T0).await,
        Err(StoreError::NotFound(_))
    ));

    let new_contacts = vec![Contact {
        name: "Phạm Thu Hà".into(),
        title: "Kỹ thuật viên".into(),
        unit: "Trung tâm CNTT".into(),
        phone: "0912 000 000".into(),
        email: "ha@sonduong.gov.vn".into(),
    }];
    store
        .set_contacts("son-duong", &new_contacts, T0)
        .await
        .unwrap();
    assert_eq!(
        store.endpoint("son-duong").await.unwrap().unwrap().contacts,
        new_contacts
    );
    assert!(matches!(
        store.set_contacts("nowhere", &new_contacts, T0).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(store.endpoint_token_hash("son-duong").await.unwrap(), None);
    store
        .set_endpoint_token_hash("son-duong", Some("f00d"), T0)
        .await
        .unwrap();
    assert_eq!(
        store
            .endpoint_token_hash("son-duong")
            .await
            .unwrap()
            .as_deref(),
        Some("f00d")
    );
    store
        .set_endpoint_token_hash("son-duong", None, T0)
        .await
        .unwrap();
    assert_eq!(store.endpoint_token_hash("son-duong").await.unwrap(), None);

    store.delete_endpoint("dong-quy").await.unwrap();
    assert!(store.endpoint("dong-quy").await.unwrap().is_none());
    assert!(matches!(
        store.delete_endpoint("dong-quy").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn check_conferences(store: &Store) {
    for e in [
        endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province),
        endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
    ] {
        store.create_endpoint(&e, T0).await.unwrap();
    }
    let conf = Conference {
        id: "giao-ban".into(),
        title: "Giao ban trực tuyến tháng 11".into(),
        chair: Some("ubnd-tinh".into()),
        layout: "2x2".into(),
        state: ConferenceState::Created,
        created_by: "op".into(),
        created_at: T0,
        started_at: None,
        ended_at: None,
        participants: vec!["son-duong".into(), "ubnd-tinh".into()],
        links: Vec::new(),
    };
    store.create_conference(&conf).await.unwrap();
    assert_eq!(store.conference("giao-ban").await.unwrap().unwrap(), conf);
    assert!(matches!(
        store.create_conference(&conf).await,
        Err(StoreError::Duplicate(_))
    ));
    let mut bad = conf.clone();
    bad.id = "bad".into();
    bad.participants.push("nowhere".into());
    assert!(matches!(
        store.create_conference(&bad).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store.conference("bad").await.unwrap().is_none(),
        "rolled back"
    );

    // An endpoint a conference lists cannot be deleted.
    assert!(store.delete_endpoint("son-duong").await.is_err());

    // Cascade links: named, replaced, read back in MCU order.
    let up = ConferenceLink {
        mcu: "central".into(),
        remote_conference: Some("booking-40".into()),
    };
    let down = ConferenceLink {
        mcu: "son-duong-mcu".into(),
        remote_conference: None,
    };
    assert!(
        store
            .set_conference_links("giao-ban", &[down.clone(), up.clone()])
            .await
            .unwrap()
    );
    let links = store.conference("giao-ban").await.unwrap().unwrap().links;
    assert_eq!(links, vec![up.clone(), down.clone()]);
    assert!(matches!(
        store
            .set_conference_links("giao-ban", &[up.clone(), up.clone()])
            .await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store.conference("giao-ban").await.unwrap().unwrap().links,
        vec![up.clone(), down],
        "a refused change changes nothing"
    );
    assert!(!store.set_conference_links("khong-co", &[]).await.unwrap());
    store
        .set_conference_links("giao-ban", std::slice::from_ref(&up))
        .await
        .unwrap();
    let mut linked = conf.clone();
    linked.id = "giao-ban-2".into();
    linked.links = vec![up.clone()];
    store.create_conference(&linked).await.unwrap();
    assert_eq!(
        store.conference("giao-ban-2").await.unwrap().unwrap(),
        linked
    );

    use ConferenceState::*;
    assert!(
        store
            .transition_conference("giao-ban", Created, Live, T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition_conference("giao-ban", Created, Live, T0 + 6)
            .await
            .unwrap()
    );
    store
        .set_conference_layout("giao-ban", "1+7")
        .await
        .unwrap();
    assert!(
        store
            .transition_conference("giao-ban", Live, Ended, T0 + 9)
            .await
            .unwrap()
    );
    let ended = store.conference("giao-ban").await.unwrap().unwrap();
    assert_eq!(
        (
            ended.state,
            ended.started_at,
            ended.ended_at,
            ended.layout.as_str()
        ),
        (Ended, Some(T0 + 5), Some(T0 + 9), "1+7")
    );
    assert_eq!(store.list_conferences().await.unwrap().len(), 2);
}

async fn check_audit(store: &Store) {
    for i in 0..5 {
        store
            .append_audit(&NewAuditEntry {
                at: T0 + i,
                actor: "op".into(),
                role: "operator".into(),
                action: "participant.mute".into(),
                target: format!("conference/giao-ban/participant/{i}"),
                from_addr: "127.0.0.1".into(),
                result: "ok".into(),
                details: "{\"audio\":true}".into(),
            })
            .await
            .unwrap();
    }
    let page = store.list_audit(3, None).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.entry.at - T0).collect::<Vec<_>>(),
        [4, 3, 2]
    );
    let next = store.list_audit(3, Some(page[2].id)).await.unwrap();
    assert_eq!(
        next.iter().map(|e| e.entry.at - T0).collect::<Vec<_>>(),
        [1, 0]
    );
}

async fn check_presets(store: &Store) {
    store
        .create_endpoint(
            &endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
            T0,
        )
        .await
        .unwrap();
    let chair = CameraPreset {
        name: "Ghế chủ tọa".into(),
        pan: 500,
        tilt: 400,
        zoom: 250,
    };
    let wide = CameraPreset {
        name: "Toàn cảnh".into(),
        pan: 500,
        tilt: 500,
        zoom: 100,
    };
    store.put_preset("son-duong", &wide, T0).await.unwrap();
    store.put_preset("son-duong", &chair, T0).await.unwrap();
    assert_eq!(
        store.presets("son-duong").await.unwrap(),
        [chair.clone(), wide.clone()]
    );
    let moved = CameraPreset {
        pan: 300,
        ..chair.clone()
    };
    store.put_preset("son-duong", &moved, T0 + 1).await.unwrap();
    assert_eq!(
        store.preset("son-duong", "Ghế chủ tọa").await.unwrap(),
        Some(moved)
    );
    assert!(matches!(
        store.put_preset("nowhere", &wide, T0).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_preset("son-duong", "Toàn cảnh").await.unwrap();
    assert!(matches!(
        store.delete_preset("son-duong", "Toàn cảnh").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.presets("son-duong").await.unwrap().len(), 1);
}

async fn check_bookings(store: &Store) {
    for e in [
        endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province),
        endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
        endpoint("dong-quy", "UBND xã Đông Quý", Level::Commune),
    ] {
        store.create_endpoint(&e, T0).await.unwrap();
    }
    const H: i64 = 3_600_000;
    let start = T0 + 72 * H;
    let details = BookingDetails {
        title: "Họp khẩn phòng chống lũ".into(),
        organising_unit: "Văn phòng UBND tỉnh".into(),
        chair: "ubnd-tinh".into(),
        participants: vec!["son-duong".into(), "ubnd-tinh".into()],
        start_at: start,
        end_at: start + 2 * H,
        rehearsal_at: start - 2 * H,
        ready_check_at: start - H / 2,
        kind: BookingKind::Scheduled,
        scenario: vec![
            AgendaItem {
                title: "Khai mạc".into(),
                speaker: Some("ubnd-tinh".into()),
                layout: "1x1".into(),
                planned_minutes: 10,
            },
            AgendaItem {
                title: "Báo cáo của huyện Sơn Dương".into(),
                speaker: Some("son-duong".into()),
                layout: "1+7".into(),
                planned_minutes: 20,
            },
            AgendaItem {
                title: "Thảo luận".into(),
                speaker: None,
                layout: "2x2".into(),
                planned_minutes: 30,
            },
        ],
        recording: true,
    };
    let b = store.create_booking(&details, "op", T0).await.unwrap();
    assert_eq!(b.details, details, "scenario order and every field kept");
    assert_eq!(
        (b.status, b.requested_by.as_str(), b.requested_at),
        (BookingStatus::Requested, "op", T0)
    );
    assert_eq!(store.booking(b.id).await.unwrap().unwrap(), b);
    assert!(store.booking(b.id + 100).await.unwrap().is_none());

    let mut bad = details.clone();
    bad.participants.push("nowhere".into());
    assert!(matches!(
        store.create_booking(&bad, "op", T0).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.list_bookings(None, None).await.unwrap().len(),
        1,
        "rolled back"
    );

    // The window filter: [rehearsal_at, end_at) against [from, to).
    let ids = |v: Vec<Booking>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let in_range = |from, to| async move { ids(store.list_bookings(from, to).await.unwrap()) };
    assert_eq!(
        in_range(Some(start - 2 * H), Some(start - 2 * H + 1)).await,
        [b.id]
    );
    assert!(
        in_range(Some(start - 3 * H), Some(start - 2 * H))
            .await
            .is_empty()
    );
    assert!(in_range(Some(start + 2 * H), None).await.is_empty());
    assert_eq!(in_range(None, Some(start)).await, [b.id]);

    // A change replaces participants and scenario.
    let mut changed = details.clone();
    changed.participants = vec!["dong-quy".into(), "ubnd-tinh".into()];
    changed.scenario.truncate(1);
    changed.recording = false;
    assert!(store.change_booking(b.id, &changed, T0 + 1).await.unwrap());
    let after = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(
        (after.details.clone(), after.updated_at),
        (changed.clone(), T0 + 1)
    );

    // Approval creates the conference in the same transaction.
    let conference = Conference {
        id: format!("booking-{}", b.id),
        title: changed.title.clone(),
        chair: Some("ubnd-tinh".into()),
        layout: "1x1".into(),
        state: ConferenceState::Created,
        created_by: "op".into(),
        created_at: T0 + 2,
        started_at: None,
        ended_at: None,
        participants: changed.participants.clone(),
        links: Vec::new(),
    };
    let yes = BookingDecision {
        by: "op".into(),
        at: T0 + 2,
        reason: None,
    };
    assert!(
        store
            .approve_booking(b.id, &conference, &yes)
            .await
            .unwrap()
    );
    let approved = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(approved.status, BookingStatus::Approved);
    assert_eq!(
        approved.conference_id.as_deref(),
        Some(conference.id.as_str())
    );
    assert_eq!(
        (approved.decided_by.as_deref(), approved.decided_at),
        (Some("op"), Some(T0 + 2))
    );
    assert_eq!(
        store.conference(&conference.id).await.unwrap().unwrap(),
        conference
    );
    // Not twice, and no change once approved.
    assert!(
        !store
            .approve_booking(b.id, &conference, &yes)
            .await
            .unwrap()
    );
    assert!(!store.change_booking(b.id, &details, T0 + 3).await.unwrap());

    // A second booking is rejected with a reason; then it cannot be cancelled.
    let other = store.create_booking(&details, "site", T0).await.unwrap();
    let no = BookingDecision {
        by: "op".into(),
        at: T0 + 4,
        reason: Some("Trùng lịch họp của Tỉnh ủy".into()),
    };
    use BookingStatus::*;
    assert!(
        store
            .decide_booking(other.id, Requested, Rejected, &no)
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_booking(other.id, Requested, Cancelled, &no)
            .await
            .unwrap()
    );
    let rejected = store.booking(other.id).await.unwrap().unwrap();
    assert_eq!(
        (
            rejected.status,
            rejected.reason.as_deref(),
            rejected.conference_id
        ),
        (Rejected, Some("Trùng lịch họp của Tỉnh ủy"), None)
    );
    assert!(
        store
            .decide_booking(b.id, Approved, Cancelled, &no)
            .await
            .unwrap()
    );
    assert_eq!(
        store.booking(b.id).await.unwrap().unwrap().status,
        Cancelled
    );
    assert!(!Cancelled.holds_endpoints() && !Rejected.holds_endpoints());
    assert!(Requested.holds_endpoints() && Approved.holds_endpoints());
    // An endpoint a booking lists cannot be deleted.
    assert!(matches!(
        store.delete_endpoint("son-duong").await,
        Err(StoreError::Duplicate(_))
    ));
}

fn note(at: i64, text: &str) -> NewLogbookEntry {
    NewLogbookEntry {
        at_ms: at,
        kind: LogbookKind::Operator,
        category: LogbookCategory::Incident,
        actor: "dieuhanh".into(),
        text: text.into(),
        details: "{}".into(),
        refers_to: None,
    }
}

/// A conference `id` whose logbook holds `n` entries.
async fn logbook_of(store: &Store, id: &str, n: i64) {
    let conf = Conference {
        id: id.into(),
        title: "Hội nghị trực tuyến phòng chống lụt bão".into(),
        chair: None,
        layout: "2x2".into(),
        state: ConferenceState::Created,
        created_by: "op".into(),
        created_at: T0,
        started_at: None,
        ended_at: None,
        participants: vec!["son-duong".into()],
        links: Vec::new(),
    };
    store.create_conference(&conf).await.unwrap();
    for i in 1..=n {
        let e = store
            .append_logbook(
                id,
                &note(T0 + i, &format!("Sự cố số {i}: mất tiếng, đã khắc phục")),
            )
            .await
            .unwrap();
        assert_eq!(e.seq, i);
    }
}

fn broken(v: LogbookVerification) -> (i64, ChainBreak) {
    match v {
        LogbookVerification::Broken { seq, reason } => (seq, reason),
        intact => panic!("tampering not caught: {intact:?}"),
    }
}

/// Append, correction, sign-off, concurrency, and tampering behind the
/// store's back (raw SQL on a second connection to `url`).
async fn check_logbook(url: &str) {
    let store = Store::open(url).await.unwrap();
    store
        .create_endpoint(
            &endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
            T0,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.append_logbook("khong-co", &note(T0, "x")).await,
        Err(StoreError::NotFound(_))
    ));

    logbook_of(&store, "giao-ban", 3).await;
    let all = store.logbook("giao-ban").await.unwrap();
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    assert_eq!(all[1].prev_hash, all[0].hash);
    assert_eq!(all[2].entry.text, "Sự cố số 3: mất tiếng, đã khắc phục");
    let page = store.list_logbook("giao-ban", Some(1), 1).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);

    // A correction refers to an existing earlier entry.
    let mut fix = note(T0 + 10, "Sửa: sự cố số 2 là mất hình, không phải mất tiếng");
    fix.kind = LogbookKind::Correction;
    fix.refers_to = Some(9);
    assert!(matches!(
        store.append_logbook("giao-ban", &fix).await,
        Err(StoreError::NoSuchEntry(_, 9))
    ));
    fix.refers_to = Some(2);
    let fixed = store.append_logbook("giao-ban", &fix).await.unwrap();
    assert_eq!((fixed.seq, fixed.entry.refers_to), (4, Some(2)));
    assert_eq!(
        store.logbook("giao-ban").await.unwrap()[1].entry.text,
        "Sự cố số 2: mất tiếng, đã khắc phục",
        "the corrected entry stays as it was"
    );

    // Two appenders at once: every entry lands, the chain holds.
    let (a, b) = tokio::join!(
        async {
            for i in 0..15 {
                store
                    .append_logbook("giao-ban", &note(T0 + 100 + i, "A"))
                    .await
                    .unwrap();
            }
        },
        async {
            for i in 0..15 {
                store
                    .append_logbook("giao-ban", &note(T0 + 100 + i, "B"))
                    .await
                    .unwrap();
            }
        }
    );
    let ((), ()) = (a, b);

    // The sign-off closes the logbook.
    let mut sign = note(T0 + 200, "Ký xác nhận: Trực ban Nguyễn Văn An");
    sign.kind = LogbookKind::SignOff;
    sign.category = LogbookCategory::SignOff;
    let signed = store.append_logbook("giao-ban", &sign).await.unwrap();
    assert_eq!(signed.seq, 35);
    let mut auto = note(T0 + 201, "participant.mute");
    auto.kind = LogbookKind::Auto;
    assert!(matches!(
        store.append_logbook("giao-ban", &auto).await,
        Err(StoreError::LogbookSigned(_))
    ));
    assert_eq!(
        store.verify_logbook("giao-ban").await.unwrap(),
        LogbookVerification::Intact {
            entries: 35,
            last_hash: signed.hash.clone()
        }
    );
    assert_eq!(
        store.verify_logbook("khong-co").await.unwrap(),
        LogbookVerification::Intact {
            entries: 0,
            last_hash: GENESIS_HASH.into()
        }
    );

    // Tampering behind the store's back, each on its own logbook of 5.
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    let sql = |q: &'static str| sqlx::query(q);

    logbook_of(&store, "sua", 5).await;
    sql("UPDATE logbook_entries SET text = 'Không có sự cố' WHERE conference_id = 'sua' AND seq = 3")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(
        broken(store.verify_logbook("sua").await.unwrap()),
        (3, ChainBreak::HashMismatch)
    );

    // Changed with its own hash recomputed: the next link breaks.
    logbook_of(&store, "sua-ca-hash", 5).await;
    let mut third = store.logbook("sua-ca-hash").await.unwrap().remove(2);
    third.entry.text = "Không có sự cố".into();
    let forged = entry_hash("sua-ca-hash", 3, &third.entry, &third.prev_hash);
    sqlx::query(
        "UPDATE logbook_entries SET text = $1, hash = $2 WHERE conference_id = 'sua-ca-hash' AND seq = 3",
    )
    .bind(&third.entry.text)
    .bind(&forged)
    .execute(&raw)
    .await
    .unwrap();
    assert_eq!(
        broken(store.verify_logbook("sua-ca-hash").await.unwrap()),
        (4, ChainBreak::PrevHashMismatch)
    );

    logbook_of(&store, "xoa", 5).await;
    sql("DELETE FROM logbook_entries WHERE conference_id = 'xoa' AND seq = 3")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(
        broken(store.verify_logbook("xoa").await.unwrap()),
        (3, ChainBreak::Missing { found: 4 })
    );

    logbook_of(&store, "dao", 5).await;
    for q in [
        "UPDATE logbook_entries SET seq = -2 WHERE conference_id = 'dao' AND seq = 2",
        "UPDATE logbook_entries SET seq = 2 WHERE conference_id = 'dao' AND seq = 3",
        "UPDATE logbook_entries SET seq = 3 WHERE conference_id = 'dao' AND seq = -2",
    ] {
        sql(q).execute(&raw).await.unwrap();
    }
    assert_eq!(
        broken(store.verify_logbook("dao").await.unwrap()),
        (2, ChainBreak::HashMismatch)
    );
    // The untouched logbook still verifies.
    assert!(matches!(
        store.verify_logbook("giao-ban").await.unwrap(),
        LogbookVerification::Intact { entries: 35, .. }
    ));
    raw.close().await;
}

/// Quality samples keep their floating-point figures (and a missing RTT)
/// on both back-ends, and come back by endpoint then time.
async fn check_quality_samples(store: &Store) {
    store
        .create_endpoint(
            &endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
            T0,
        )
        .await
        .unwrap();
    logbook_of(store, "giao-ban", 0).await;
    let sample = |endpoint: &str, at_ms: i64, rtt_ms: Option<f64>, loss: f64| QualitySample {
        conference_id: "giao-ban".into(),
        endpoint_id: endpoint.into(),
        at_ms,
        rtt_ms,
        video: SampleFigures {
            loss_percent: loss,
            jitter_ms: 12.25,
            kbps: 1234.5,
            fps: 29.97,
        },
        audio: SampleFigures {
            loss_percent: 0.1,
            jitter_ms: 3.0,
            kbps: 32.0,
            fps: 50.0,
        },
    };
    let written = vec![
        sample("son-duong", T0 + 5_000, Some(41.5), 5.0),
        sample("son-duong", T0, None, 0.0),
        sample("ham-yen", T0, Some(0.125), 100.0),
    ];
    store.add_quality_samples(&written).await.unwrap();
    store.add_quality_samples(&[]).await.unwrap();
    let read = store.quality_samples("giao-ban").await.unwrap();
    assert_eq!(
        read,
        vec![written[2].clone(), written[1].clone(), written[0].clone()]
    );
    assert!(store.quality_samples("khong-co").await.unwrap().is_empty());
    // All or none: an unknown conference refuses the whole pass.
    let mut stray = sample("son-duong", T0 + 10_000, None, 0.0);
    stray.conference_id = "khong-co".into();
    assert!(matches!(
        store
            .add_quality_samples(&[sample("son-duong", T0 + 10_000, None, 0.0), stray])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.quality_samples("giao-ban").await.unwrap().len(), 3);
}

/// Readiness results keep their optional figures and one-line reasons on
/// both back-ends, come back by endpoint then time, and need their conference.
async fn check_readiness(store: &Store) {
    store
        .create_endpoint(
            &endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
            T0,
        )
        .await
        .unwrap();
    logbook_of(store, "giao-ban", 0).await;
    let result = |endpoint: &str, at: i64, reasons: &[&str]| ReadinessResult {
        conference_id: "giao-ban".into(),
        endpoint_id: endpoint.into(),
        measured_at: at,
        window_ms: 10_000,
        passed: reasons.is_empty(),
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        figures: ReadinessFigures {
            audio_level_dbov: Some(-20.5),
            video_fps: Some(29.75),
            video_size: Some((1280, 720)),
            rtt_ms: None,
            loss_percent: Some(0.0),
            jitter_ms: Some(3.25),
            decoded_fps: None,
        },
    };
    let failed = result("son-duong", T0, &["loss\tmất gói 6,0 %", "audio\tâm thanh"]);
    store
        .add_readiness_result(&result("ham-yen", T0 + 5, &[]))
        .await
        .unwrap();
    store
        .add_readiness_result(&result("son-duong", T0 + 9, &[]))
        .await
        .unwrap();
    store.add_readiness_result(&failed).await.unwrap();
    // A line break in a reason cannot split it in two.
    store
        .add_readiness_result(&result("yen-son", T0, &["a\nb", ""]))
        .await
        .unwrap();
    let read = store.readiness_results("giao-ban").await.unwrap();
    let order: Vec<_> = read
        .iter()
        .map(|r| (r.endpoint_id.as_str(), r.measured_at, r.passed))
        .collect();
    assert_eq!(
        order,
        [
            ("ham-yen", T0 + 5, true),
            ("son-duong", T0, false),
            ("son-duong", T0 + 9, true),
            ("yen-son", T0, false)
        ]
    );
    assert_eq!(read[1], failed);
    assert_eq!(read[3].reasons, ["a b"]);
    let mut stray = result("ham-yen", T0, &[]);
    stray.conference_id = "khong-co".into();
    assert!(matches!(
        store.add_readiness_result(&stray).await,
        Err(StoreError::NotFound(_))
    ));
}

fn notice(booking_id: i64, endpoint: &str, channel: OutboxChannel, at: i64) -> NewOutboxMessage {
    NewOutboxMessage {
        booking_id,
        endpoint_id: endpoint.into(),
        event: OutboxEvent::Approved,
        channel,
        recipient_name: "Trần Thị Hương".into(),
        recipient_email: "huong@tuyenquang.gov.vn".into(),
        recipient_phone: "0207 3822 111".into(),
        subject: "Thông báo lịch hội nghị truyền hình".into(),
        body: "Tổng duyệt: 20/11/2026 14:00\nChính thức: 20/11/2026 16:00".into(),
        payload: r#"{"event":"approved"}"#.into(),
        created_at: at,
    }
}

async fn check_outbox(store: &Store) {
    for e in [
        endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province),
        endpoint("son-duong", "UBND huyện Sơn Dương", Level::District),
    ] {
        store.create_endpoint(&e, T0).await.unwrap();
    }
    const H: i64 = 3_600_000;
    let start = T0 + 72 * H;
    let details = BookingDetails {
        title: "Giao ban trực tuyến".into(),
        organising_unit: "Văn phòng UBND tỉnh".into(),
        chair: "ubnd-tinh".into(),
        participants: vec!["son-duong".into(), "ubnd-tinh".into()],
        start_at: start,
        end_at: start + 2 * H,
        rehearsal_at: start - 2 * H,
        ready_check_at: start - H / 2,
        kind: BookingKind::Scheduled,
        scenario: vec![],
        recording: false,
    };
    let b = store.create_booking(&details, "op", T0).await.unwrap();
    let conference = |id: &str| Conference {
        id: id.into(),
        title: details.title.clone(),
        chair: Some("ubnd-tinh".into()),
        layout: "1+7".into(),
        state: ConferenceState::Created,
        created_by: "op".into(),
        created_at: T0,
        started_at: None,
        ended_at: None,
        participants: details.participants.clone(),
        links: Vec::new(),
    };
    let decision = BookingDecision {
        by: "op".into(),
        at: T0,
        reason: None,
    };

    // A notice for a booking that does not exist undoes the approval with it.
    let stray = [notice(b.id + 100, "son-duong", OutboxChannel::Webhook, T0)];
    assert!(matches!(
        store
            .approve_booking_notifying(b.id, &conference("booking-x"), &decision, &stray)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.booking(b.id).await.unwrap().unwrap().status,
        BookingStatus::Requested,
        "the approval rolled back with its notices"
    );
    assert!(store.conference("booking-x").await.unwrap().is_none());

    // Approved with its notices, in one transaction.
    let notices = [
        notice(b.id, "son-duong", OutboxChannel::Webhook, T0),
        notice(b.id, "son-duong", OutboxChannel::Email, T0),
        notice(b.id, "ubnd-tinh", OutboxChannel::Webhook, T0),
    ];
    assert!(
        store
            .approve_booking_notifying(b.id, &conference("booking-1"), &decision, &notices)
            .await
            .unwrap()
    );
    let all = store.booking_outbox(b.id).await.unwrap();
    assert_eq!(all.len(), 3);
    for (m, want) in all.iter().zip(&notices) {
        assert_eq!(&m.message, want, "every field kept, diacritics included");
        assert_eq!(
            (m.status, m.attempts, m.next_attempt_at, m.locked_until),
            (OutboxStatus::Pending, 0, T0, None)
        );
    }
    let (w1, e1, w2) = (all[0].id, all[1].id, all[2].id);
    assert_eq!(store.count_outbox(OutboxStatus::Pending).await.unwrap(), 3);

    // A claim takes due messages of the asked channels, with a lease.
    let lease = 30_000;
    let got = store
        .claim_outbox(T0 + 1, lease, &[OutboxChannel::Webhook], 10)
        .await
        .unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), [w1, w2]);
    assert!(got.iter().all(|m| m.locked_until == Some(T0 + 1 + lease)));
    // Within the lease nobody else gets them (a second worker, a restart).
    assert!(
        store
            .claim_outbox(T0 + 2, lease, &[OutboxChannel::Webhook], 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The limit holds.
    let one = store
        .claim_outbox(T0 + 2, lease, &[OutboxChannel::Email], 1)
        .await
        .unwrap();
    assert_eq!(one.iter().map(|m| m.id).collect::<Vec<_>>(), [e1]);
    // A lease that ran out (the worker died) lets the message be claimed again.
    let again = store
        .claim_outbox(T0 + 1 + lease, lease, &[OutboxChannel::Webhook], 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);

    // Failed: the error, one more attempt, due at the backoff time, lease dropped.
    let now = T0 + 1 + lease;
    assert!(
        store
            .outbox_failed(w1, now, "connection refused", now + 2_000)
            .await
            .unwrap()
    );
    let m = store.outbox_message(w1).await.unwrap().unwrap();
    assert_eq!(
        (m.status, m.attempts, m.next_attempt_at, m.locked_until),
        (OutboxStatus::Failing, 1, now + 2_000, None)
    );
    assert_eq!(m.last_error.as_deref(), Some("connection refused"));
    assert_eq!(m.last_attempt_at, Some(now));
    // Not due before its next attempt time.
    assert!(
        store
            .claim_outbox(now + 1_999, lease, &[OutboxChannel::Webhook], 10)
            .await
            .unwrap()
            .is_empty(),
        "w2 is still leased, w1 is not due"
    );
    // Retry now makes it due at once.
    assert!(store.retry_outbox_now(w1, now + 10).await.unwrap());
    let due = store
        .claim_outbox(now + 10, lease, &[OutboxChannel::Webhook], 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|m| m.id).collect::<Vec<_>>(), [w1]);
    assert!(
        store
            .outbox_failed(w1, now + 20, "HTTP 503", now + 4_000)
            .await
            .unwrap()
    );
    assert_eq!(store.outbox_message(w1).await.unwrap().unwrap().attempts, 2);

    // Delivered: final; never claimed, failed or retried again.
    assert!(store.outbox_delivered(w2, now + 30).await.unwrap());
    let d = store.outbox_message(w2).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.delivered_at, d.locked_until, d.attempts),
        (OutboxStatus::Delivered, Some(now + 30), None, 1)
    );
    assert!(!store.outbox_delivered(w2, now + 31).await.unwrap());
    assert!(
        !store
            .outbox_failed(w2, now + 31, "late", now)
            .await
            .unwrap()
    );
    assert!(!store.retry_outbox_now(w2, now + 31).await.unwrap());
    assert!(!store.retry_outbox_now(9_999, now).await.unwrap());
    assert!(
        store
            .claim_outbox(i64::MAX / 2, lease, &[OutboxChannel::Webhook], 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != w2)
    );

    // The console's lists, newest first, by status.
    let ids = |v: Vec<OutboxMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_outbox(None, 100).await.unwrap()),
        [w2, e1, w1]
    );
    assert_eq!(ids(store.list_outbox(None, 1).await.unwrap()), [w2]);
    assert_eq!(
        ids(store
            .list_outbox(Some(OutboxStatus::Failing), 100)
            .await
            .unwrap()),
        [w1]
    );
    assert_eq!(
        ids(store
            .list_outbox(Some(OutboxStatus::Pending), 100)
            .await
            .unwrap()),
        [e1]
    );
    assert_eq!(
        ids(store
            .list_outbox(Some(OutboxStatus::Delivered), 100)
            .await
            .unwrap()),
        [w2]
    );
    assert_eq!(store.count_outbox(OutboxStatus::Failing).await.unwrap(), 1);

    // A cancellation writes its notices with the status change; a refused
    // one (wrong status) writes none.
    let cancel = BookingDecision {
        by: "op".into(),
        at: T0 + 5,
        reason: Some("Hoãn do bão".into()),
    };
    let mut bye = notice(b.id, "son-duong", OutboxChannel::Webhook, T0 + 5);
    bye.event = OutboxEvent::Cancelled;
    assert!(
        !store
            .decide_booking_notifying(
                b.id,
                BookingStatus::Requested,
                BookingStatus::Cancelled,
                &cancel,
                std::slice::from_ref(&bye)
            )
            .await
            .unwrap()
    );
    assert_eq!(store.booking_outbox(b.id).await.unwrap().len(), 3);
    assert!(
        store
            .decide_booking_notifying(
                b.id,
                BookingStatus::Approved,
                BookingStatus::Cancelled,
                &cancel,
                std::slice::from_ref(&bye)
            )
            .await
            .unwrap()
    );
    let all = store.booking_outbox(b.id).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].message.event, OutboxEvent::Cancelled);
    assert_eq!(
        store.booking(b.id).await.unwrap().unwrap().status,
        BookingStatus::Cancelled
    );
    // enqueue_outbox on its own: all or none.
    assert!(matches!(
        store
            .enqueue_outbox(&[
                notice(b.id, "son-duong", OutboxChannel::Webhook, T0 + 6),
                notice(b.id + 100, "son-duong", OutboxChannel::Webhook, T0 + 6),
            ])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.booking_outbox(b.id).await.unwrap().len(), 4);
    let id = store
        .enqueue_outbox(&[notice(b.id, "son-duong", OutboxChannel::Webhook, T0 + 6)])
        .await
        .unwrap();
    assert_eq!(id.len(), 1);
    assert!(id[0] > all[3].id);
}

/// Runs every check, each on a fresh database from `fresh`.
/// Recordings (R17): added at start, finished at stop, listed newest first
/// (per conference or all), swept by start time, marked deleted.
async fn check_recordings(store: &Store) {
    store
        .create_endpoint(
            &endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province),
            T0,
        )
        .await
        .unwrap();
    for id in ["giao-ban", "hop-khan"] {
        let conf = Conference {
            id: id.into(),
            title: "Giao ban".into(),
            chair: Some("ubnd-tinh".into()),
            layout: "2x2".into(),
            state: ConferenceState::Created,
            created_by: "op".into(),
            created_at: T0,
            started_at: None,
            ended_at: None,
            participants: vec!["ubnd-tinh".into()],
            links: Vec::new(),
        };
        store.create_conference(&conf).await.unwrap();
    }
    let a = store
        .add_recording("giao-ban", "giao-ban-a.mp4", T0)
        .await
        .unwrap();
    let b = store
        .add_recording("giao-ban", "giao-ban-b.mp4", T0 + 10)
        .await
        .unwrap();
    let c = store
        .add_recording("hop-khan", "hop-khan-c.mp4", T0 + 20)
        .await
        .unwrap();
    assert!(matches!(
        store.add_recording("khong-co", "x.mp4", T0).await,
        Err(StoreError::NotFound(_))
    ));
    store.finish_recording(a, T0 + 5, 1234, 5000).await.unwrap();
    assert!(matches!(
        store.finish_recording(999, T0, 1, 1).await,
        Err(StoreError::NotFound(_))
    ));
    let r = store.recording(a).await.unwrap().unwrap();
    assert_eq!(
        r,
        Recording {
            id: a,
            conference_id: "giao-ban".into(),
            file_name: "giao-ban-a.mp4".into(),
            started_at: T0,
            ended_at: Some(T0 + 5),
            bytes: Some(1234),
            duration_ms: Some(5000),
            deleted_at: None,
        }
    );
    let ids = |v: Vec<Recording>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.recordings(None).await.unwrap()), [c, b, a]);
    assert_eq!(
        ids(store.recordings(Some("giao-ban")).await.unwrap()),
        [b, a]
    );
    assert_eq!(
        ids(store.recordings_started_before(T0 + 11).await.unwrap()),
        [a, b]
    );
    store.mark_recording_deleted(a, T0 + 100).await.unwrap();
    assert_eq!(
        ids(store.recordings_started_before(T0 + 11).await.unwrap()),
        [b]
    );
    assert_eq!(
        store.recording(a).await.unwrap().unwrap().deleted_at,
        Some(T0 + 100)
    );
    assert!(store.recording(999).await.unwrap().is_none());
}

macro_rules! suite {
    ($fresh:expr) => {{
        check_users(&$fresh.await).await;
        check_lockout(&$fresh.await).await;
        check_sessions(&$fresh.await).await;
        check_endpoints(&$fresh.await).await;
        check_conferences(&$fresh.await).await;
        check_audit(&$fresh.await).await;
        check_presets(&$fresh.await).await;
        check_bookings(&$fresh.await).await;
        check_quality_samples(&$fresh.await).await;
        check_readiness(&$fresh.await).await;
        check_outbox(&$fresh.await).await;
        check_recordings(&$fresh.await).await;
    }};
}

#[tokio::test]
async fn sqlite_backend_passes_the_suite() {
    let dir = Scratch::new("sqlite");
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        let url = format!(
            "sqlite://{}",
            dir.0.join(format!("t{}.db", n.get())).display()
        );
        async move {
            let store = Store::open(&url).await.unwrap();
            assert_eq!(store.backend(), Backend::Sqlite);
            store
        }
    };
    suite!(fresh());
    check_logbook(&format!("sqlite://{}", dir.0.join("logbook.db").display())).await;

    // Reopening runs no migration twice and keeps the data.
    let url = format!("sqlite://{}", dir.0.join("t1.db").display());
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.count_users().await.unwrap(), 1);
    let journal: String = sqlx_journal_mode(&dir.0.join("t1.db"));
    assert_eq!(journal, "wal");
}

/// Reads the journal mode from the file header (bytes 18/19 are 2 in WAL mode).
fn sqlx_journal_mode(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if bytes.len() > 19 && bytes[18] == 2 && bytes[19] == 2 {
        "wal".into()
    } else {
        "rollback".into()
    }
}

#[tokio::test]
async fn postgres_backend_passes_the_suite() {
    let pg = Postgres::start();
    let admin = Store::open(&pg.url).await.unwrap();
    assert_eq!(admin.backend(), Backend::Postgres);
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        let db = format!("t{}", n.get());
        let base = pg.url.clone();
        async move {
            let url = format!("{}{db}", base.trim_end_matches("postgres"));
            create_database(&base, &db).await;
            Store::open(&url).await.unwrap()
        }
    };
    suite!(fresh());
    create_database(&pg.url, "logbook").await;
    check_logbook(&format!("{}logbook", pg.url.trim_end_matches("postgres"))).await;
    let again = Store::open(&format!("{}t1", pg.url.trim_end_matches("postgres")))
        .await
        .unwrap();
    assert_eq!(again.count_users().await.unwrap(), 1);
}

async fn create_database(url: &str, name: &str) {
    // A throw-away connection to the maintenance database.
    let out = std::process::Command::new(common::pg_bin("psql"))
        .args([url, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn unsupported_urls_are_refused_without_their_password() {
    let err = Store::open("mysql://root:hunter2@db/x").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unsupported database URL"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
