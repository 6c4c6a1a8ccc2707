//! Four MCUs in one cascade on loopback — central › Tuyên Quang › Sơn Dương
//! › Hợp Thành — each a real daemon with its conference set up through its
//! own control API. The master's chair is a synthetic endpoint over WebRTC,
//! the commune's room too; the province and the district have synthetic
//! rooms inside their daemons. The master's operator calls the commune room
//! to the chair: its colour fills the chair's main tile (the time is
//! measured), the chair hears it, it hears the chair, nobody hears
//! themselves; the master's API lists the whole tree with paths.

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, https, looks_like};
use mcu_endpoint::picture::PALETTE;
use mcu_endpoint::{Endpoint, StopMode};
use mcud::cascade_config::{CascadeConfig, LinkConfig, McuConfig};
use mcud::server::Running;
use serde_json::json;

/// (MCU id, name, level, its one room: id, name, palette colour, tone Hz).
const LEVELS: [(&str, &str, &str, &str, &str, usize, f64); 4] = [
    (
        "central",
        "Chính phủ",
        "central",
        "chu-toa",
        "Văn phòng Chính phủ",
        0,
        500.0,
    ),
    (
        "tq",
        "Tuyên Quang",
        "province",
        "tinh",
        "UBND tỉnh Tuyên Quang",
        1,
        700.0,
    ),
    (
        "son-duong",
        "Sơn Dương",
        "district",
        "huyen",
        "UBND huyện Sơn Dương",
        2,
        1100.0,
    ),
    (
        "hop-thanh",
        "Hợp Thành",
        "commune",
        "xa",
        "UBND xã Hợp Thành",
        3,
        1300.0,
    ),
];

/// The tests of this file run one at a time: each starts three or four
/// daemons, and the call-up time is only meaningful on an otherwise idle
/// machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The daemons' logs, shown when a test fails: warnings and errors only
/// unless `RUST_LOG` asks for more, so that the failed assertion is not
/// buried under the teardown's lines at the end of the output.
fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A commune room that is invited but never joins.
const ABSENT: (&str, &str) = ("xa-vang", "Nhà văn hóa thôn Vàng");

fn secret(a: &str, b: &str) -> String {
    format!("bi-mat-lien-ket-{a}-{b}-0123456789")
}

/// Where a parent is: its address and its certificate.
type ParentAt = Option<(std::net::SocketAddr, std::path::PathBuf)>;

fn at(running: &Running) -> ParentAt {
    Some((running.addr, running.identity.cert_path.clone()))
}

/// The tree as level `i` configures it: its parent's address is known.
fn cascade_config(i: usize, parent: &ParentAt) -> CascadeConfig {
    let mcu = LEVELS
        .iter()
        .enumerate()
        .map(|(j, l)| McuConfig {
            id: l.0.into(),
            name: l.1.into(),
            level: serde_json::from_value(json!(l.2)).unwrap(),
            parent: (j > 0).then(|| LEVELS[j - 1].0.into()),
            standby: None,
            url: parent
                .as_ref()
                .filter(|_| j + 1 == i)
                .map(|(addr, _)| format!("https://{addr}")),
            ca_file: parent
                .as_ref()
                .filter(|_| j + 1 == i)
                .map(|(_, cert)| cert.clone()),
        })
        .collect();
    let mut link = Vec::new();
    if i > 0 {
        link.push(LinkConfig {
            mcu: LEVELS[i - 1].0.into(),
            secret: Some(secret(LEVELS[i - 1].0, LEVELS[i].0)),
            secret_file: None,
        });
    }
    if i + 1 < LEVELS.len() {
        link.push(LinkConfig {
            mcu: LEVELS[i + 1].0.into(),
            secret: Some(secret(LEVELS[i].0, LEVELS[i + 1].0)),
            secret_file: None,
        });
    }
    CascadeConfig {
        id: LEVELS[i].0.into(),
        tree: None,
        mcu,
        link,
        failover_after_seconds: 30.0,
        open_counterparts: false,
    }
}

struct Level {
    running: Running,
    operator: String,
    tokens: Vec<String>,
    _dir: TempDir,
}

/// Level `i`'s daemon on `dir`: a fresh one (`listen` unset) or a restart
/// on the same address.
async fn start_daemon(
    i: usize,
    parent: &ParentAt,
    dir: &std::path::Path,
    listen: Option<std::net::SocketAddr>,
) -> Running {
    let mut config = common::config(dir);
    config.cascade = Some(cascade_config(i, parent));
    if let Some(addr) = listen {
        config.server.listen = addr;
    } else {
        common::create_admin_and_operator(&config).await;
    }
    mcud::server::start(&config).await.unwrap()
}

async fn start_level(i: usize, parent: &ParentAt, test: &str) -> Level {
    let (id, _, _, room, room_name, _, _) = LEVELS[i];
    let dir = std::env::temp_dir().join(format!("mcud-{test}-{id}-{}", std::process::id()));
    let guard = TempDir(dir.clone());
    let running = start_daemon(i, parent, &dir, None).await;
    let mut rooms = vec![(room, room_name, true)];
    if i == 3 {
        rooms.push((ABSENT.0, ABSENT.1, false));
    }
    let (operator, tokens) = common::start_conference(&running, "giao-ban", "1+7", &rooms).await;
    Level {
        running,
        operator,
        tokens,
        _dir: guard,
    }
}

/// Level `i`'s room as a synthetic room inside its daemon.
fn synthetic(running: &Running, i: usize) {
    let (_, _, _, room, _, colour, tone) = LEVELS[i];
    let conference = mcu_signalling::protocol::ConferenceId::new("giao-ban").unwrap();
    let room = mcu_signalling::protocol::EndpointId::new(room).unwrap();
    running
        .add_synthetic(&conference, &room, PALETTE[colour], tone)
        .unwrap();
}

fn endpoint(level: &Level, i: usize, analyse: bool) -> Endpoint {
    endpoint_as(level, LEVELS[i].3, i, analyse)
}

/// A synthetic endpoint joining as `room` with level `i`'s colour and tone.
fn endpoint_as(level: &Level, room: &str, i: usize, analyse: bool) -> Endpoint {
    let (_, _, _, _, _, colour, tone) = LEVELS[i];
    let mut endpoints = common::spawn_endpoints(
        &level.running,
        "giao-ban",
        &[room],
        &level.tokens,
        |_, c| {
            c.index = i as u8;
            c.colour = PALETTE[colour];
            c.tone_hz = tone;
            c.listen_hz = LEVELS.iter().map(|l| l.6).collect();
            c.grid = Some(2);
            c.analyse_video = analyse;
        },
    );
    endpoints.remove(0)
}

async fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commune_endpoint_is_called_to_the_masters_chair_through_four_levels() {
    let _serial = ONE_AT_A_TIME.lock().await;
    logs();
    let central = start_level(0, &None, "cascade").await;
    let province = start_level(1, &at(&central.running), "cascade").await;
    let district = start_level(2, &at(&province.running), "cascade").await;
    let commune = start_level(3, &at(&district.running), "cascade").await;
    // The province's and the district's rooms are synthetic, inside their daemons.
    synthetic(&province.running, 1);
    synthetic(&district.running, 2);
    let chair = endpoint(&central, 0, true);
    let xa = endpoint(&commune, 3, false);

    // The whole tree reaches the master's roster, with paths.
    let mut tree = json!(null);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = https(
            &central.running,
            "GET",
            "/api/v1/conferences/giao-ban/cascade",
            Some(&central.operator),
            None,
        )
        .await;
        if r.status == 200 {
            tree = r.body.clone();
            let endpoints = tree["endpoints"].as_array().cloned().unwrap_or_default();
            let connected = |id: &str| {
                endpoints
                    .iter()
                    .any(|e| e["endpoint"] == id && e["connected"] == true)
            };
            if ["chu-toa", "tinh", "huyen", "xa"]
                .iter()
                .all(|id| connected(id))
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "tree not complete in 20 s: {tree}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path_of = |id: &str| {
        tree["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == id)
            .map(|e| e["display_path"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        path_of("xa"),
        "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành"
    );
    assert_eq!(path_of("huyen"), "Chính phủ › Tuyên Quang › Sơn Dương");
    assert_eq!(path_of("chu-toa"), "Chính phủ");
    let absent = tree["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == ABSENT.0)
        .cloned()
        .unwrap_or_default();
    assert_eq!(absent["connected"], false, "{tree}");
    assert!(
        tree["children"][0]["state"] == "up",
        "the province link is up: {tree}"
    );

    // The chair sees a picture; its main tile is not the commune yet.
    let xa_colour = PALETTE[LEVELS[3].5];
    wait_for("the chair's first picture", Duration::from_secs(20), || {
        !chair.live().tiles.is_empty()
    })
    .await;
    assert!(
        !chair
            .live()
            .tiles
            .first()
            .is_some_and(|t| looks_like(&t.colour, xa_colour)),
        "the commune is on the main tile before the call"
    );
    wait_for("the commune room's media", Duration::from_secs(20), || {
        xa.live().connected
    })
    .await;

    // The call-up, timed from the API call to the chair's first frame showing it.
    let called = Instant::now();
    let r = https(
        &central.running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&central.operator),
        Some(json!({"endpoint": "xa"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for(
        "the commune on the chair's main tile",
        Duration::from_secs(5),
        || {
            chair
                .live()
                .tiles
                .first()
                .is_some_and(|t| looks_like(&t.colour, xa_colour))
        },
    )
    .await;
    let call_up = called.elapsed();
    println!(
        "cascade call-up, central › province › district › commune: {:.0} ms from the API call to the chair's first frame",
        call_up.as_secs_f64() * 1000.0
    );
    // The target is 1 s (the rule allows 30 s); a loaded 2-core machine gets slack.
    assert!(call_up < Duration::from_secs(3), "{call_up:?}");

    // A room that is not connected: a clear error from the MCU that owns it.
    let r = https(
        &central.running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&central.operator),
        Some(json!({"endpoint": ABSENT.0})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let text = r.body.to_string();
    assert!(
        text.contains("endpoint_not_connected") && text.contains("hop-thanh"),
        "{text}"
    );
    // The selection stays with the commune room.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        chair
            .live()
            .tiles
            .first()
            .is_some_and(|t| looks_like(&t.colour, xa_colour))
    );

    // A hand raised in the commune reaches the master's floor queue, with
    // its path; granted there, it leaves the commune's own queue.
    let raised = Instant::now();
    let r = https(
        &commune.running,
        "POST",
        "/api/v1/conferences/giao-ban/participants/xa/floor-request",
        Some(&commune.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(5);
    let queue = loop {
        let queue = floor_of(&central).await;
        if queue.as_array().is_some_and(|q| !q.is_empty()) {
            break queue;
        }
        assert!(
            Instant::now() < deadline,
            "the master's floor queue stays empty"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "cascade floor request, commune › master: {:.0} ms",
        raised.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(queue[0]["endpoint"], "xa", "{queue}");
    assert_eq!(queue[0]["name"], LEVELS[3].4, "{queue}");
    assert_eq!(
        queue[0]["path"], "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành",
        "{queue}"
    );
    assert_eq!(floor_of(&commune).await.as_array().map(Vec::len), Some(1));
    let r = https(
        &central.running,
        "POST",
        "/api/v1/conferences/giao-ban/floor/xa/grant",
        Some(&central.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(floor_of(&commune).await, json!([]), "the owner answered it");
    let deadline = Instant::now() + Duration::from_secs(5);
    while floor_of(&central).await != json!([]) {
        assert!(
            Instant::now() < deadline,
            "the granted hand stays in the master's queue"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = https(
        &central.running,
        "POST",
        "/api/v1/conferences/giao-ban/floor/xa/grant",
        Some(&central.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.to_string().contains("no_floor_request"),
        "{}",
        r.body
    );
    assert!(
        main_tile(&chair, xa_colour),
        "the granted room is on the chair's main tile"
    );

    // A camera preset stored at the commune's MCU travels up with the
    // roster; recalled by name from the master, it reaches the room.
    let seat = "Gh%E1%BA%BF%20ch%E1%BB%A7%20t%E1%BB%8Da"; // "Ghế chủ tọa"
    let r = https(
        &commune.running,
        "PUT",
        &format!("/api/v1/endpoints/xa/presets/{seat}"),
        Some(&commune.operator),
        Some(json!({"pan": 300, "tilt": 550, "zoom": 180})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tree = tree_of(&central).await;
        let presets = tree["endpoints"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["endpoint"] == "xa"))
            .map(|e| e["presets"].clone());
        if presets == Some(json!(["Ghế chủ tọa"])) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the preset's name does not reach the master: {tree}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recall =
        |name: &str| format!("/api/v1/conferences/giao-ban/participants/xa/presets/{name}/recall");
    let r = https(
        &central.running,
        "POST",
        &recall(seat),
        Some(&central.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for(
        "the preset at the commune room",
        Duration::from_secs(5),
        || xa.live().camera_presets == ["Ghế chủ tọa"],
    )
    .await;
    let r = https(
        &central.running,
        "POST",
        &recall("Toan-canh"),
        Some(&central.operator),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "unknown_preset", "{}", r.body);
    assert_eq!(r.body["error"]["details"]["at"], "hop-thanh", "{}", r.body);

    // Sound across four levels, measured afresh after the call-up.
    chair.reset_measurements();
    xa.reset_measurements();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut chair = chair;
    let mut xa = xa;
    let heard = |r: &mcu_endpoint::report::EndpointReport, hz: f64| {
        r.tones
            .iter()
            .find(|t| t.hz == hz)
            .is_some_and(|t| t.present)
    };
    let chair_report = chair.stop(StopMode::Leave);
    let xa_report = xa.stop(StopMode::Leave);
    let (chair_hz, xa_hz) = (LEVELS[0].6, LEVELS[3].6);
    assert!(
        heard(&chair_report, xa_hz),
        "the chair hears the commune: {:?}",
        chair_report.tones
    );
    assert!(
        heard(&xa_report, chair_hz),
        "the commune hears the chair: {:?}",
        xa_report.tones
    );
    assert!(
        !heard(&chair_report, chair_hz),
        "no echo at the chair: {:?}",
        chair_report.tones
    );
    assert!(
        !heard(&xa_report, xa_hz),
        "no echo at the commune: {:?}",
        xa_report.tones
    );

    // What each link carries, as measured by the receiving MCU (kbit/s of
    // trunk media over the last quality sample): up = the child's uplink at
    // its parent, down = the parent's picture and mix at the child.
    let levels = [&central, &province, &district, &commune];
    for (i, pair) in levels.windows(2).enumerate() {
        let (parent, child) = (tree_of(pair[0]).await, tree_of(pair[1]).await);
        let up = &parent["children"][0];
        let down = &child["parent"];
        assert_eq!(up["state"], "up", "{parent}");
        let kbps = |v: &serde_json::Value| v["quality"]["rx_kbps"].as_f64().unwrap_or(0.0);
        println!(
            "cascade link {} › {}: up {:.0} kbit/s, down {:.0} kbit/s",
            LEVELS[i].1,
            LEVELS[i + 1].1,
            kbps(up),
            kbps(down)
        );
        assert!(kbps(up) > 100.0 && kbps(down) > 100.0, "{up} {down}");
    }

    for level in [commune, district, province, central] {
        level
            .running
            .shutdown(Duration::from_secs(2))
            .await
            .unwrap();
    }
}

/// A daemon's floor queue for the conference.
async fn floor_of(level: &Level) -> serde_json::Value {
    let path = "/api/v1/conferences/giao-ban/floor";
    let r = https(&level.running, "GET", path, Some(&level.operator), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The cascade tree a daemon's API shows; a refused or failed request is
/// a value too (the pollers below retry until their deadline, then show it).
async fn tree_of(level: &Level) -> serde_json::Value {
    let r = common::try_https(
        level.running.addr,
        common::tls(&level.running),
        "GET",
        "/api/v1/conferences/giao-ban/cascade",
        Some(&level.operator),
        None,
    )
    .await;
    match r {
        Ok(r) if r.status == 200 => r.body,
        Ok(r) => json!({ "status": r.status, "body": r.body }),
        Err(e) => json!({ "request_failed": e.to_string() }),
    }
}

/// Polls a daemon's tree until `ok` holds (what was last seen on failure).
async fn wait_tree(
    level: &Level,
    what: &str,
    limit: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let tree = tree_of(level).await;
        if ok(&tree) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}: {tree}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn connected(tree: &serde_json::Value, id: &str) -> bool {
    tree["endpoints"].as_array().is_some_and(|e| {
        e.iter()
            .any(|e| e["endpoint"] == id && e["connected"] == true && e["reachable"] == true)
    })
}

fn main_tile(chair: &Endpoint, colour: (u8, u8, u8)) -> bool {
    chair
        .live()
        .tiles
        .first()
        .is_some_and(|t| looks_like(&t.colour, colour))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_survive_a_province_restart_and_a_master_restart() {
    let _serial = ONE_AT_A_TIME.lock().await;
    logs();
    let central = start_level(0, &None, "faults").await;
    let province = start_level(1, &at(&central.running), "faults").await;
    let district = start_level(2, &at(&province.running), "faults").await;
    synthetic(&province.running, 1);
    synthetic(&district.running, 2);
    let chair = endpoint(&central, 0, true);
    wait_tree(
        &central,
        "the whole tree at the master",
        Duration::from_secs(20),
        |t| connected(t, "tinh") && connected(t, "huyen"),
    )
    .await;
    let huyen = PALETTE[LEVELS[2].5];
    let call = |endpoint: &'static str| {
        let running = &central.running;
        let op = central.operator.clone();
        async move {
            https(
                running,
                "POST",
                "/api/v1/conferences/giao-ban/call-to-chair",
                Some(&op),
                Some(json!({ "endpoint": endpoint })),
            )
            .await
        }
    };
    let r = call("huyen").await;
    assert_eq!(r.status, 204, "{} {}", r.body, tree_of(&central).await);
    wait_for("the district on the chair", Duration::from_secs(5), || {
        main_tile(&chair, huyen)
    })
    .await;

    // The province goes away: the master's conference runs on for its own
    // room, its link to the province shows "reconnecting".
    let province_dir = province._dir.0.clone();
    let province_addr = province.running.addr;
    let Level {
        running,
        operator: province_op,
        tokens: _,
        _dir: province_guard,
    } = province;
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    wait_tree(
        &central,
        "the province link reconnecting",
        Duration::from_secs(10),
        |t| t["children"][0]["state"] == "reconnecting" && !connected(t, "huyen"),
    )
    .await;
    // Half a second of pictures (a hiccup of the master's loop while it
    // drops the province's session is not a freeze; the freeze alarm waits 2 s).
    let before = chair.live().frames_decoded;
    wait_for(
        "the chair still gets pictures",
        Duration::from_secs(3),
        || chair.live().frames_decoded >= before + 15,
    )
    .await;
    let logbook = https(
        &central.running,
        "GET",
        "/api/v1/conferences/giao-ban/logbook",
        Some(&central.operator),
        None,
    )
    .await;
    assert!(
        logbook.text.contains("cascade.link_down")
            || logbook.text.contains("Liên kết cascade bị mất"),
        "{}",
        logbook.text
    );

    // It comes back on the same address: the link is up within 3 s, the
    // district relinks below it, and the master's selection is restored.
    let restarted = Instant::now();
    let running = start_daemon(1, &at(&central.running), &province_dir, Some(province_addr)).await;
    synthetic(&running, 1);
    let province = Level {
        running,
        operator: province_op,
        tokens: vec![],
        _dir: province_guard,
    };
    wait_tree(
        &central,
        "the province link back",
        Duration::from_secs(3),
        |t| t["children"][0]["state"] == "up",
    )
    .await;
    println!(
        "province restart: link back at the master {:.0} ms after the restart began",
        restarted.elapsed().as_secs_f64() * 1000.0
    );
    wait_tree(
        &central,
        "the district behind the province again",
        Duration::from_secs(10),
        |t| connected(t, "huyen") && connected(t, "tinh"),
    )
    .await;
    wait_for(
        "the selection restored on the chair",
        Duration::from_secs(10),
        || main_tile(&chair, huyen),
    )
    .await;
    // And the call-up works again.
    let r = call("tinh").await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for("the province on the chair", Duration::from_secs(5), || {
        main_tile(&chair, PALETTE[LEVELS[1].5])
    })
    .await;

    // The master goes away: the province keeps its conference (the district
    // still linked to it) and relinks when the master is back.
    let central_dir = central._dir.0.clone();
    let central_addr = central.running.addr;
    let Level {
        running,
        operator: central_op,
        tokens: _,
        _dir: central_guard,
    } = central;
    drop(chair);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    wait_tree(
        &province,
        "the province's parent link reconnecting",
        Duration::from_secs(10),
        |t| t["parent"]["state"] == "reconnecting" && connected(t, "huyen") && connected(t, "tinh"),
    )
    .await;
    let running = start_daemon(0, &None, &central_dir, Some(central_addr)).await;
    let central = Level {
        running,
        operator: central_op,
        tokens: vec![],
        _dir: central_guard,
    };
    wait_tree(
        &province,
        "the province relinked to the master",
        Duration::from_secs(5),
        |t| t["parent"]["state"] == "up",
    )
    .await;
    wait_tree(
        &central,
        "the whole tree at the restarted master",
        Duration::from_secs(10),
        |t| connected(t, "tinh") && connected(t, "huyen"),
    )
    .await;
    for level in [district, province, central] {
        level
            .running
            .shutdown(Duration::from_secs(2))
            .await
            .unwrap();
    }
}

/// `(id, name, level, parent, standby)` of a tree for [`tree_config`].
type Node = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

/// `me`'s cascade section in the tree `nodes`, knowing where the MCUs it
/// dials are; every link it takes part in has a secret.
fn tree_config(me: &str, nodes: &[Node], dials: &[(&str, ParentAt)]) -> CascadeConfig {
    let mcu = nodes
        .iter()
        .map(|&(id, name, level, parent, standby)| {
            let at = dials
                .iter()
                .find(|(d, _)| *d == id)
                .and_then(|(_, at)| at.clone());
            McuConfig {
                id: id.into(),
                name: name.into(),
                level: serde_json::from_value(json!(level)).unwrap(),
                parent: parent.map(Into::into),
                standby: standby.map(Into::into),
                url: at.as_ref().map(|(addr, _)| format!("https://{addr}")),
                ca_file: at.map(|(_, cert)| cert),
            }
        })
        .collect();
    let pair = |a: &str, b: &str| {
        let (x, y) = if a < b { (a, b) } else { (b, a) };
        LinkConfig {
            mcu: if a == me { b } else { a }.into(),
            secret: Some(secret(x, y)),
            secret_file: None,
        }
    };
    let mut link = Vec::new();
    for &(id, _, _, parent, standby) in nodes {
        for other in [parent, standby].into_iter().flatten() {
            if id == me || other == me {
                link.push(pair(id, other));
            }
        }
    }
    CascadeConfig {
        id: me.into(),
        tree: None,
        mcu,
        link,
        failover_after_seconds: 1.0,
        open_counterparts: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_province_links_to_its_standby_when_the_master_is_gone_and_back_when_it_returns() {
    let _serial = ONE_AT_A_TIME.lock().await;
    logs();
    const TREE: [Node; 3] = [
        ("central", "Chính phủ", "central", None, None),
        ("ha-giang", "Hà Giang", "province", Some("central"), None),
        (
            "tq",
            "Tuyên Quang",
            "province",
            Some("central"),
            Some("ha-giang"),
        ),
    ];
    let start = |me: &'static str,
                 dials: Vec<(&'static str, ParentAt)>,
                 room: (&'static str, &'static str)| async move {
        let dir = std::env::temp_dir().join(format!("mcud-standby-{me}-{}", std::process::id()));
        let guard = TempDir(dir.clone());
        let mut config = common::config(&dir);
        config.cascade = Some(tree_config(me, &TREE, &dials));
        common::create_admin_and_operator(&config).await;
        let running = mcud::server::start(&config).await.unwrap();
        let (operator, tokens) =
            common::start_conference(&running, "giao-ban", "1+7", &[(room.0, room.1, true)]).await;
        Level {
            running,
            operator,
            tokens,
            _dir: guard,
        }
    };
    let central = start("central", vec![], ("chu-toa", "Văn phòng Chính phủ")).await;
    let ha_giang = start(
        "ha-giang",
        vec![("central", at(&central.running))],
        ("hg-chu-toa", "UBND tỉnh Hà Giang"),
    )
    .await;
    let tq = start(
        "tq",
        vec![
            ("central", at(&central.running)),
            ("ha-giang", at(&ha_giang.running)),
        ],
        ("tinh", "UBND tỉnh Tuyên Quang"),
    )
    .await;
    synthetic(&tq.running, 1);
    let chair = endpoint_as(&ha_giang, "hg-chu-toa", 0, true);
    wait_tree(
        &tq,
        "the province linked to its parent",
        Duration::from_secs(20),
        |t| t["parent"]["state"] == "up" && t["parent"]["mcu"]["id"] == "central",
    )
    .await;

    // The master goes: within the failover time (1 s) and a dial, the
    // province is on its standby, and its room is reachable from there.
    let central_addr = central.running.addr;
    let gone = Instant::now();
    central
        .running
        .shutdown(Duration::from_secs(1))
        .await
        .unwrap();
    wait_tree(
        &tq,
        "the province on its standby",
        Duration::from_secs(8),
        |t| {
            t["parent"]["state"] == "up"
                && t["parent"]["mcu"]["id"] == "ha-giang"
                && t["parent"]["standby"] == true
        },
    )
    .await;
    println!(
        "standby: the province linked to Hà Giang {:.0} ms after the master went",
        gone.elapsed().as_secs_f64() * 1000.0
    );
    wait_tree(
        &ha_giang,
        "the province's room at the standby",
        Duration::from_secs(10),
        |t| connected(t, "tinh"),
    )
    .await;
    let r = https(
        &ha_giang.running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&ha_giang.operator),
        Some(json!({"endpoint": "tinh"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for(
        "Tuyên Quang's room on Hà Giang's chair",
        Duration::from_secs(5),
        || main_tile(&chair, PALETTE[LEVELS[1].5]),
    )
    .await;
    drop(chair);

    // The master comes back on its address: the province's probe finds it
    // and the link moves back from the standby (R18).
    let back = Instant::now();
    let mut config = common::config(&central._dir.0);
    config.cascade = Some(tree_config("central", &TREE, &[]));
    config.server.listen = central_addr;
    let central = mcud::server::start(&config).await.unwrap();
    wait_tree(
        &tq,
        "the province back on its parent",
        Duration::from_secs(20),
        |t| {
            t["parent"]["state"] == "up"
                && t["parent"]["mcu"]["id"] == "central"
                && t["parent"]["standby"] == false
        },
    )
    .await;
    println!(
        "standby: the province was back on the master {:.0} ms after the master restarted (probe every 10 s)",
        back.elapsed().as_secs_f64() * 1000.0
    );
    central.shutdown(Duration::from_secs(2)).await.unwrap();
    for level in [tq, ha_giang] {
        level
            .running
            .shutdown(Duration::from_secs(2))
            .await
            .unwrap();
    }
}
