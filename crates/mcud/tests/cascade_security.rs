//! Cascade links are never an open door. A master daemon on loopback with
//! two configured children: Tuyên Quang (with Sơn Dương below it) and Hải
//! Phòng. A province dialling with a wrong secret is refused, and the
//! attempt is in the master's audit log with the claimed link and the peer
//! address. A child with the right secret (here a hand-driven client, so it
//! can misbehave) cannot publish another branch's MCU or room as its own —
//! not even while that branch is down — and a child sending a command up
//! loses its link, which is audited too.

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, cascade_mcu as mcu, https};
use futures_util::{SinkExt, StreamExt};
use mcu_cascade::auth::{LinkSecret, Nonce};
use mcu_cascade::ids::{ConnId, EndpointId, McuId};
use mcu_cascade::link::{ChildLink, ChildLinkConfig, LinkOutput, LinkTiming, ParentTarget};
use mcu_cascade::topology::Level;
use mcu_cascade::wire::{EndpointState, LinkState, Roster, RosterEntry, RosterMcu, UpMessage};
use mcud::cascade_config::{CascadeConfig, LinkConfig, McuConfig};
use mcud::server::Running;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const TQ_SECRET: &str = "bi-mat-central-tuyen-quang-0123456789";
const HP_SECRET: &str = "bi-mat-central-hai-phong-0123456789";

/// The tree every daemon here is configured with (`master`: where central is).
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
        mcu(
            "son-duong",
            "Sơn Dương",
            "district",
            Some("tuyen-quang"),
            None,
        ),
        mcu("hai-phong", "Hải Phòng", "province", Some("central"), None),
    ]
}

fn link(mcu: &str, secret: &str) -> LinkConfig {
    LinkConfig {
        mcu: mcu.into(),
        secret: Some(secret.into()),
        secret_file: None,
    }
}

struct Daemon {
    running: Running,
    operator: String,
    _dir: TempDir,
}

async fn daemon(test: &str, cascade: CascadeConfig, rooms: &[(&str, &str, bool)]) -> Daemon {
    daemon_linked(test, cascade, rooms, None).await
}

/// [`daemon`] whose conference names the links `links` (`None`: every
/// neighbour of the MCU).
async fn daemon_linked(
    test: &str,
    cascade: CascadeConfig,
    rooms: &[(&str, &str, bool)],
    links: Option<&[&str]>,
) -> Daemon {
    let dir =
        std::env::temp_dir().join(format!("mcud-{test}-{}-{}", cascade.id, std::process::id()));
    let guard = TempDir(dir.clone());
    let mut config = common::config(&dir);
    config.cascade = Some(cascade);
    common::create_admin_and_operator(&config).await;
    let running = mcud::server::start(&config).await.unwrap();
    let (operator, _) =
        common::start_conference_linked(&running, "giao-ban", "1+7", rooms, links).await;
    Daemon {
        running,
        operator,
        _dir: guard,
    }
}

async fn master(test: &str) -> Daemon {
    let cascade = CascadeConfig {
        id: "central".into(),
        tree: None,
        mcu: tree(None),
        link: vec![link("tuyen-quang", TQ_SECRET), link("hai-phong", HP_SECRET)],
        failover_after_seconds: 30.0,
        open_counterparts: false,
    };
    daemon(test, cascade, &[("chu-toa", "Văn phòng Chính phủ", true)]).await
}

async fn audit(running: &Running) -> Vec<Value> {
    let admin = common::login(running, "quantri", common::ADMIN_PW).await;
    let r = https(
        running,
        "GET",
        "/api/v1/audit?limit=1000",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

/// Polls the master's audit log until an entry matches (10 s at most).
async fn wait_for_audit(running: &Running, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(e) = audit(running).await.into_iter().find(&matches) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no audit entry for {what}: {:?}",
            audit(running).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn cascade_view(d: &Daemon) -> Value {
    let r = https(
        &d.running,
        "GET",
        "/api/v1/conferences/giao-ban/cascade",
        Some(&d.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn child_state(view: &Value, child: &str) -> String {
    view["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["mcu"]["id"] == child)
        .map(|c| c["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_province_with_a_wrong_secret_is_refused_and_the_attempt_is_audited() {
    let central = master("wrong-secret").await;
    let province = CascadeConfig {
        id: "tuyen-quang".into(),
        tree: None,
        mcu: tree(Some(&central.running)),
        link: vec![
            link("central", "not-the-secret-the-master-has-0000"),
            link("son-duong", "bi-mat-tuyen-quang-son-duong-0123"),
        ],
        failover_after_seconds: 30.0,
        open_counterparts: false,
    };
    let tq = daemon(
        "wrong-secret",
        province,
        &[("tinh", "UBND tỉnh Tuyên Quang", true)],
    )
    .await;

    let refused = wait_for_audit(&central.running, "the refused link", |e| {
        e["action"] == "cascade.link_refused"
    })
    .await;
    assert_eq!(refused["result"], "refused", "{refused}");
    assert_eq!(refused["actor"], "cascade:tuyen-quang", "{refused}");
    assert_eq!(refused["target"], "conference/giao-ban", "{refused}");
    assert!(
        refused["from_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "the peer address is logged: {refused}"
    );
    // It keeps being refused: never up, on either side.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        audit(&central.running)
            .await
            .iter()
            .all(|e| e["action"] != "cascade.link_up"),
        "a link came up with a wrong secret"
    );
    assert_ne!(
        child_state(&cascade_view(&central).await, "tuyen-quang"),
        "up"
    );
    assert_ne!(cascade_view(&tq).await["parent"]["state"], "up");
    tq.running.shutdown(Duration::from_secs(2)).await.unwrap();
    central
        .running
        .shutdown(Duration::from_secs(2))
        .await
        .unwrap();
}

/// A province configured as the master's child, dialling it.
async fn province(test: &str, central: &Running, id: &str, secret: &str, room: &str) -> Daemon {
    let cascade = CascadeConfig {
        id: id.into(),
        tree: None,
        mcu: tree(Some(central)),
        link: vec![link("central", secret)]
            .into_iter()
            .chain(
                (id == "tuyen-quang").then(|| link("son-duong", "bi-mat-tq-son-duong-0123456789")),
            )
            .collect(),
        failover_after_seconds: 30.0,
        open_counterparts: false,
    };
    daemon(test, cascade, &[(room, room, true)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_children_a_conference_names_link_in_and_renaming_its_links_relinks_it() {
    let cascade = CascadeConfig {
        id: "central".into(),
        tree: None,
        mcu: tree(None),
        link: vec![link("tuyen-quang", TQ_SECRET), link("hai-phong", HP_SECRET)],
        failover_after_seconds: 30.0,
        open_counterparts: false,
    };
    // The master's conference names Tuyên Quang only.
    let central = daemon_linked(
        "named-links",
        cascade,
        &[("chu-toa", "Văn phòng Chính phủ", true)],
        Some(&["tuyen-quang"]),
    )
    .await;
    let tq = province(
        "named-links",
        &central.running,
        "tuyen-quang",
        TQ_SECRET,
        "tinh-tq",
    )
    .await;
    let hp = province(
        "named-links",
        &central.running,
        "hai-phong",
        HP_SECRET,
        "tp-hp",
    )
    .await;

    let refused = wait_for_audit(&central.running, "Hải Phòng refused", |e| {
        e["action"] == "cascade.link_refused" && e["actor"] == "cascade:hai-phong"
    })
    .await;
    assert_eq!(refused["target"], "conference/giao-ban", "{refused}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child_state(&cascade_view(&central).await, "tuyen-quang") != "up" {
        assert!(Instant::now() < deadline, "Tuyên Quang's link is not up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = cascade_view(&central).await;
    let children: Vec<&str> = view["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["mcu"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["tuyen-quang"], "only the named link: {view}");
    assert_ne!(cascade_view(&hp).await["parent"]["state"], "up");

    // A conference of the province that names no link stays local: no link up.
    let r = https(
        &tq.running,
        "POST",
        "/api/v1/conferences",
        Some(&tq.operator),
        Some(
            json!({"id": "hop-rieng", "title": "Họp nội bộ tỉnh", "chair": "tinh-tq",
                    "layout": "2x2", "participants": ["tinh-tq"]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = https(
        &tq.running,
        "POST",
        "/api/v1/conferences/hop-rieng/start",
        Some(&tq.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = https(
        &tq.running,
        "GET",
        "/api/v1/conferences/hop-rieng/cascade",
        Some(&tq.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["parent"], json!(null), "{}", r.body);
    assert!(
        audit(&central.running)
            .await
            .iter()
            .all(|e| e["target"] != "conference/hop-rieng"),
        "the local conference never dialled the master"
    );

    // The master's operator names Hải Phòng too: it links within seconds,
    // and Tuyên Quang relinks.
    let renamed = Instant::now();
    let r = https(
        &central.running,
        "PUT",
        "/api/v1/conferences/giao-ban/links",
        Some(&central.operator),
        Some(json!({"links": [{"mcu": "tuyen-quang"}, {"mcu": "hai-phong"}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let view = cascade_view(&central).await;
        if child_state(&view, "hai-phong") == "up" && child_state(&view, "tuyen-quang") == "up" {
            break;
        }
        assert!(Instant::now() < deadline, "not both up: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "cascade links renamed: both children up {:.0} ms after the PUT",
        renamed.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(cascade_view(&hp).await["parent"]["state"], "up");

    for d in [hp, tq, central] {
        d.running.shutdown(Duration::from_secs(2)).await.unwrap();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Hải Phòng's link, driven by hand: the real handshake (the link logic of
/// mcu-cascade), then whatever the test sends.
async fn forged_child(central: &Running, secret: &str) -> Ws {
    let t = Instant::now();
    let mut link = ChildLink::new(
        ChildLinkConfig {
            link: McuId::new("hai-phong").unwrap(),
            conference: mcu_cascade::ids::ConferenceId::new("giao-ban").unwrap(),
            primary: ParentTarget {
                id: McuId::new("central").unwrap(),
                secret: LinkSecret::new(secret.as_bytes().to_vec()).unwrap(),
            },
            standby: None,
            timing: LinkTiming::default(),
        },
        t,
    );
    let mut ws: Option<Ws> = None;
    let mut dialled = ConnId(0);
    loop {
        match link.poll_output() {
            LinkOutput::Dial { conn, .. } => {
                let url = format!("wss://127.0.0.1:{}/cascade/giao-ban", central.addr.port());
                let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
                    url.as_str(),
                    None,
                    false,
                    Some(tokio_tungstenite::Connector::Rustls(common::tls(central))),
                )
                .await
                .unwrap();
                ws = Some(socket);
                dialled = conn;
                link.handle_connected(Instant::now(), conn, Nonce([7; 32]));
            }
            LinkOutput::Send { msg, .. } => {
                ws.as_mut()
                    .unwrap()
                    .send(Message::Text(msg.to_json().into()))
                    .await
                    .unwrap();
            }
            LinkOutput::Up { .. } => return ws.unwrap(),
            LinkOutput::Timeout(_) => {
                let socket = ws.as_mut().expect("dialled");
                let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
                    .await
                    .expect("the parent answers the handshake")
                    .unwrap()
                    .unwrap();
                if let Message::Text(text) = msg {
                    link.handle_text(Instant::now(), dialled, &text);
                }
            }
            other => panic!("unexpected during the handshake: {other:?}"),
        }
    }
}

fn connected() -> EndpointState {
    EndpointState {
        connected: true,
        ..EndpointState::default()
    }
}

fn roster_mcu(id: &str, name: &str, parent: Option<&str>) -> RosterMcu {
    RosterMcu {
        id: McuId::new(id).unwrap(),
        name: name.into(),
        level: Level::District,
        parent: parent.map(|p| McuId::new(p).unwrap()),
        link: LinkState::Up,
    }
}

fn room(endpoint: &str, name: &str, mcu: &str) -> RosterEntry {
    RosterEntry {
        endpoint: EndpointId::new(endpoint).unwrap(),
        name: name.into(),
        mcu: McuId::new(mcu).unwrap(),
        state: connected(),
    }
}

async fn send(ws: &mut Ws, msg: &UpMessage) {
    ws.send(Message::Text(msg.to_json().into())).await.unwrap();
}

fn listed(view: &Value, endpoint: &str) -> bool {
    view["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["endpoint"] == endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_child_cannot_claim_or_command_outside_its_subtree() {
    let central = master("subtree").await;
    let mut ws = forged_child(&central.running, HP_SECRET).await;
    wait_for_audit(&central.running, "Hải Phòng's link", |e| {
        e["action"] == "cascade.link_up" && e["actor"] == "cascade:hai-phong"
    })
    .await;

    // Its own room first: rosters from this child are read and accepted.
    let own = Roster {
        mcus: vec![roster_mcu("hai-phong", "Hải Phòng", None)],
        endpoints: vec![room(
            "ubnd-hai-phong",
            "UBND thành phố Hải Phòng",
            "hai-phong",
        )],
    };
    send(&mut ws, &UpMessage::Roster(own.clone())).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listed(&cascade_view(&central).await, "ubnd-hai-phong") {
        assert!(
            Instant::now() < deadline,
            "Hải Phòng's own room is not listed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Tuyên Quang's branch is down: Hải Phòng publishes Sơn Dương as its own.
    let mut forged = own;
    forged
        .mcus
        .push(roster_mcu("son-duong", "Sơn Dương", Some("hai-phong")));
    forged.endpoints.push(room(
        "ubnd-huyen-son-duong",
        "UBND huyện Sơn Dương",
        "son-duong",
    ));
    send(&mut ws, &UpMessage::Roster(forged)).await;
    // A ping behind it: once its pong is back, the roster has been handled.
    send(&mut ws, &UpMessage::Ping { seq: 99 }).await;
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && t.contains("\"pong\"")
                && t.contains("99")
            {
                return;
            }
        }
    })
    .await;
    assert!(pong.is_ok(), "no pong from the master");
    let view = cascade_view(&central).await;
    assert!(
        !listed(&view, "ubnd-huyen-son-duong"),
        "a forged room is listed: {view}"
    );
    assert!(
        listed(&view, "ubnd-hai-phong"),
        "a refused roster changed the tree: {view}"
    );
    let path = view["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == "ubnd-hai-phong")
        .unwrap()["display_path"]
        .clone();
    assert_eq!(path, "Chính phủ › Hải Phòng");
    // The master's operator cannot reach Sơn Dương's room through Hải Phòng.
    let r = https(
        &central.running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&central.operator),
        Some(json!({"endpoint": "ubnd-huyen-son-duong"})),
    )
    .await;
    assert!(
        r.status == 404 || r.status == 409,
        "{} {}",
        r.status,
        r.body
    );

    // Commands go down only: one sent up ends the link.
    let command = json!({"v": 1, "type": "command", "request_id": 1,
        "command": {"op": "mute", "endpoint": "chu-toa", "audio": true}});
    ws.send(Message::Text(command.to_string().into()))
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the link stays open after a command sent up"
    );
    let down = wait_for_audit(&central.running, "the dropped link", |e| {
        e["action"] == "cascade.link_down" && e["actor"] == "cascade:hai-phong"
    })
    .await;
    assert!(
        down["details"].to_string().contains("ProtocolViolation"),
        "{down}"
    );
    // The chair was not muted by it.
    let view = cascade_view(&central).await;
    let chair = view["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == "chu-toa")
        .cloned();
    assert!(chair.is_none_or(|c| c["audio_muted"] == false), "{view}");
    central
        .running
        .shutdown(Duration::from_secs(2))
        .await
        .unwrap();
}
