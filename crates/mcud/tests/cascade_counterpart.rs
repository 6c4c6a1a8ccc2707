//! Bookings travel down the cascade (R7, R8): a province MCU configured to
//! open counterparts learns of the master's conference that names its link
//! and opens its own counterpart — the same id and title, its free rooms,
//! its link up named — then follows the master's phases: the master opens
//! the conference and the province's counterpart opens with it and links
//! up; the master ends it and the counterpart ends. A conference that does
//! not name the province never reaches it, a room busy in another local
//! conference stays out of the counterpart, and a subscription with a
//! wrong proof is refused and audited.

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, cascade_mcu as mcu, https};
use futures_util::{SinkExt, StreamExt};
use mcu_cascade::auth::{Nonce, Proof};
use mcu_cascade::ids::McuId;
use mcu_cascade::wire::{DownMessage, UpMessage, parse_down};
use mcud::cascade_config::{CascadeConfig, LinkConfig, McuConfig};
use mcud::server::Running;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TQ_SECRET: &str = "bi-mat-central-tuyen-quang-0123456789";
const TITLE: &str = "Hội nghị trực tuyến Chính phủ với địa phương";

fn tree(master: Option<&Running>) -> Vec<McuConfig> {
    vec![
        mcu("central", "Chính phủ", "central", None, master),
        mcu(
            "tuyen-quang",
            "Tuyên Quang",
            "province",
            Some("central"),
            None,
        ),
    ]
}

fn cascade(id: &str, master: Option<&Running>, open_counterparts: bool) -> CascadeConfig {
    let other = if id == "central" {
        "tuyen-quang"
    } else {
        "central"
    };
    CascadeConfig {
        id: id.into(),
        tree: None,
        mcu: tree(master),
        link: vec![LinkConfig {
            mcu: other.into(),
            secret: Some(TQ_SECRET.into()),
            secret_file: None,
        }],
        failover_after_seconds: 30.0,
        open_counterparts,
    }
}

async fn daemon(test: &str, cascade: CascadeConfig) -> (Running, TempDir) {
    let dir =
        std::env::temp_dir().join(format!("mcud-{test}-{}-{}", cascade.id, std::process::id()));
    let guard = TempDir(dir.clone());
    let mut config = common::config(&dir);
    config.cascade = Some(cascade);
    common::create_admin_and_operator(&config).await;
    (mcud::server::start(&config).await.unwrap(), guard)
}

async fn call(running: &Running, op: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let r = https(running, method, path, Some(op), body).await;
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    r.body
}

/// Creates a conference on `running` as the operator `op`.
async fn create(running: &Running, op: &str, body: Value) {
    call(running, op, "POST", "/api/v1/conferences", Some(body)).await;
}

/// `POST /api/v1/conferences/{id}/{action}` (`start`, `end`).
async fn act(running: &Running, op: &str, id: &str, action: &str) {
    let path = format!("/api/v1/conferences/{id}/{action}");
    call(running, op, "POST", &path, None).await;
}

/// The conference `id` on `running`, if it exists.
async fn conference(running: &Running, op: &str, id: &str) -> Option<Value> {
    let r = https(
        running,
        "GET",
        &format!("/api/v1/conferences/{id}"),
        Some(op),
        None,
    )
    .await;
    (r.status == 200).then_some(r.body)
}

/// Polls until `check` holds for the conference `id` (10 s at most);
/// returns it and how long it took.
async fn wait_for(
    running: &Running,
    op: &str,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let c = conference(running, op, id).await;
        if let Some(c) = c.as_ref().filter(|c| check(c)) {
            return (c.clone(), started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: conference {id} is {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_province_opens_and_follows_its_counterpart_of_the_masters_conference() {
    let (central, _c) = daemon("counterpart", cascade("central", None, false)).await;
    let (tq, _t) = daemon("counterpart", cascade("tuyen-quang", Some(&central), true)).await;
    let (central_op, _) =
        common::create_rooms(&central, &[("chu-toa", "Văn phòng Chính phủ", true)]).await;
    let (tq_op, _) = common::create_rooms(
        &tq,
        &[
            ("tinh-tq", "UBND tỉnh Tuyên Quang", true),
            ("son-duong", "UBND huyện Sơn Dương", false),
        ],
    )
    .await;
    // Sơn Dương is booked in a local meeting: it stays out of the counterpart.
    create(
        &tq,
        &tq_op,
        json!({"id": "hop-huyen",
        "title": "Họp huyện", "layout": "2x2", "participants": ["son-duong"]}),
    )
    .await;
    // A master conference that does not name the province.
    create(
        &central,
        &central_op,
        json!({"id": "noi-bo",
        "title": "Họp nội bộ", "layout": "2x2", "participants": ["chu-toa"]}),
    )
    .await;
    create(
        &central,
        &central_op,
        json!({"id": "hop-chinh-phu",
        "title": TITLE, "chair": "chu-toa", "layout": "1+7", "participants": ["chu-toa"],
        "links": [{"mcu": "tuyen-quang"}]}),
    )
    .await;

    let (c, opened) = wait_for(&tq, &tq_op, "hop-chinh-phu", "counterpart opened", |_| true).await;
    println!(
        "counterpart opened {} ms after the master's conference was created",
        opened.as_millis()
    );
    assert_eq!(c["title"], TITLE, "{c}");
    assert_eq!(c["state"], "created", "{c}");
    assert_eq!(c["created_by"], "cascade:central", "{c}");
    assert_eq!(c["participants"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(c["participants"][0]["endpoint"], "tinh-tq", "{c}");
    assert!(
        c["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["mcu"] == "central"),
        "{c}"
    );

    // The master opens its conference: the counterpart opens and links up.
    let started = Instant::now();
    act(&central, &central_op, "hop-chinh-phu", "start").await;
    wait_for(&tq, &tq_op, "hop-chinh-phu", "counterpart live", |c| {
        c["state"] == "live"
    })
    .await;
    loop {
        let view = call(
            &central,
            &central_op,
            "GET",
            "/api/v1/conferences/hop-chinh-phu/cascade",
            None,
        )
        .await;
        let up = view["children"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["mcu"]["id"] == "tuyen-quang" && c["state"] == "up");
        if up {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the link never came up: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "link up {} ms after the master opened its conference",
        started.elapsed().as_millis()
    );

    // Opened by the master's MCU, in the province's audit log and logbook.
    let admin = common::login(&tq, "quantri", common::ADMIN_PW).await;
    let audit = call(&tq, &admin, "GET", "/api/v1/audit?limit=1000", None).await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "conference.create"
                && e["actor"] == "cascade:central"
                && e["target"] == "conference/hop-chinh-phu"),
        "{audit}"
    );

    // The master ends its conference: so does the counterpart.
    act(&central, &central_op, "hop-chinh-phu", "end").await;
    wait_for(&tq, &tq_op, "hop-chinh-phu", "counterpart ended", |c| {
        c["state"] == "ended" || c["state"] == "reported"
    })
    .await;
    // A counterpart the province's operator ends early stays ended while the
    // master's conference runs on, even as the master's list changes.
    let body = |id: &str| {
        json!({"id": id, "title": "Họp tiếp", "layout": "2x2",
            "participants": ["chu-toa"], "links": [{"mcu": "tuyen-quang"}]})
    };
    create(&central, &central_op, body("hop-2")).await;
    act(&central, &central_op, "hop-2", "start").await;
    wait_for(&tq, &tq_op, "hop-2", "second counterpart live", |c| {
        c["state"] == "live"
    })
    .await;
    act(&tq, &tq_op, "hop-2", "end").await;
    create(&central, &central_op, body("hop-3")).await;
    wait_for(&tq, &tq_op, "hop-3", "third counterpart", |_| true).await;
    let ended = conference(&tq, &tq_op, "hop-2").await.unwrap();
    assert_eq!(ended["state"], "ended", "{ended}");

    // The province's own meeting was not touched; the master's other one
    // never came down.
    let own = conference(&tq, &tq_op, "hop-huyen").await.unwrap();
    assert_eq!(own["state"], "created", "{own}");
    assert!(conference(&tq, &tq_op, "noi-bo").await.is_none());

    tq.shutdown(Duration::from_secs(2)).await.unwrap();
    central.shutdown(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_with_a_wrong_proof_is_refused_and_audited() {
    let (central, _c) = daemon("subscription-refused", cascade("central", None, false)).await;
    let url = format!("wss://127.0.0.1:{}/cascade", central.addr.port());
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(common::tls(&central))),
    )
    .await
    .unwrap();
    let send = |m: UpMessage| Message::Text(m.to_json().into());
    ws.send(send(UpMessage::Subscribe {
        link: McuId::new("tuyen-quang").unwrap(),
        nonce: Nonce([3; 32]),
    }))
    .await
    .unwrap();
    let challenge = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => break parse_down(&t).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    };
    assert!(matches!(challenge, DownMessage::Challenge { .. }));
    ws.send(send(UpMessage::Auth {
        proof: Proof([0; 32]),
    }))
    .await
    .unwrap();
    let refused = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => break parse_down(&t).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("connection ended without a refusal: {other:?}"),
        }
    };
    assert_eq!(
        serde_json::to_value(&refused).unwrap(),
        json!({"type": "refused", "code": "auth_failed"})
    );
    let admin = common::login(&central, "quantri", common::ADMIN_PW).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let audit = call(&central, &admin, "GET", "/api/v1/audit?limit=1000", None).await;
        let entry = audit
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "cascade.subscription_refused")
            .cloned();
        if let Some(e) = entry {
            assert_eq!(e["actor"], "cascade:tuyen-quang", "{e}");
            assert_eq!(e["result"], "refused", "{e}");
            assert!(e["details"].to_string().contains("wrong proof"), "{e}");
            break;
        }
        assert!(Instant::now() < deadline, "no audit entry: {audit}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    central.shutdown(Duration::from_secs(2)).await.unwrap();
}
