//! The control API served by a running daemon over TLS: the first admin from
//! the command line, an endpoint directory and dial-in tokens, a conference
//! started through the API that an endpoint joins with its issued token,
//! operator actions reaching the endpoint's session, the end of the
//! conference, and everything surviving a restart.

mod common;

use std::time::Duration;

use common::{ADMIN_PW, OPERATOR_PW, TempDir, Ws, config, https, login, next_event, tls};

use futures_util::{SinkExt, StreamExt};
use mcu_signalling::protocol::{ErrorCode, ServerMessage, parse_server_message};
use mcu_store::Role;
use mcud::admin::{NewAccount, create_user};
use mcud::server::{Running, start};
use serde_json::{Value, json};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;

async fn ws(running: &Running) -> Ws {
    let url = format!("wss://localhost:{}/ws", running.addr.port());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        None,
        false,
        Some(Connector::Rustls(tls(running))),
    )
    .await
    .unwrap();
    ws
}

async fn next(ws: &mut Ws) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame in 5 s");
        if let Some(Ok(Message::Text(t))) = frame {
            return parse_server_message(t.as_str()).unwrap();
        }
    }
}

async fn join(
    running: &Running,
    conference: &str,
    endpoint: &str,
    token: &str,
) -> (Ws, ServerMessage) {
    let mut ws = ws(running).await;
    let frame = json!({"v": 1, "type": "join", "conference_id": conference, "endpoint_id": endpoint, "token": token});
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    let first = next(&mut ws).await;
    (ws, first)
}

/// The next event of `kind` on a console event socket (others are skipped).
#[tokio::test]
async fn a_conference_run_through_the_control_api() {
    let dir = std::env::temp_dir().join(format!("mcud-control-{}", std::process::id()));
    let _guard = TempDir(dir.clone());
    let config = config(&dir);
    common::create_admin_and_operator(&config).await;
    let weak = NewAccount {
        username: "yeu".into(),
        role: Role::Admin,
        display_name: "yếu".into(),
        endpoints: vec![],
    };
    assert!(
        create_user(&config, &weak, "ngắn").await.is_err(),
        "the password policy holds on the command line"
    );

    let running = start(&config).await.unwrap();
    assert_eq!(
        https(&running, "GET", "/api/v1/endpoints", None, None)
            .await
            .status,
        401
    );
    let admin = login(&running, "quantri", ADMIN_PW).await;
    for (id, name, level, chair) in [
        ("ubnd-tinh", "UBND tỉnh Tuyên Quang", "province", true),
        ("son-duong", "UBND huyện Sơn Dương", "district", false),
    ] {
        let body = json!({"id": id, "name": name, "level": level, "chair_capable": chair, "owner_mcu": "tuyen-quang"});
        let r = https(
            &running,
            "POST",
            "/api/v1/endpoints",
            Some(&admin),
            Some(body),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = https(
        &running,
        "POST",
        "/api/v1/endpoints/son-duong/token",
        Some(&admin),
        None,
    )
    .await;
    let son_duong_token = r.body["token"].as_str().unwrap().to_owned();

    let op = login(&running, "dieuhanh", OPERATOR_PW).await;
    let body = json!({"id": "giao-ban", "title": "Giao ban trực tuyến", "chair": "ubnd-tinh", "layout": "2x2", "participants": ["ubnd-tinh", "son-duong"]});
    assert_eq!(
        https(
            &running,
            "POST",
            "/api/v1/conferences",
            Some(&op),
            Some(body)
        )
        .await
        .status,
        201
    );

    // Not started: nobody can join.
    let (_, refused) = join(&running, "giao-ban", "son-duong", &son_duong_token).await;
    assert!(
        matches!(refused, ServerMessage::Error(ref e) if e.code == ErrorCode::UnknownConference),
        "{refused:?}"
    );

    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/start",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["state"].as_str()),
        (200, Some("live")),
        "{}",
        r.body
    );

    let (_, wrong) = join(
        &running,
        "giao-ban",
        "son-duong",
        "not-the-issued-token-0000",
    )
    .await;
    assert!(
        matches!(wrong, ServerMessage::Error(ref e) if e.code == ErrorCode::BadToken),
        "{wrong:?}"
    );
    let (_, no_token) = join(
        &running,
        "giao-ban",
        "ubnd-tinh",
        "ubnd-tinh-has-no-token-yet",
    )
    .await;
    assert!(
        matches!(no_token, ServerMessage::Error(ref e) if e.code == ErrorCode::BadToken),
        "{no_token:?}"
    );
    let (mut session, joined) = join(&running, "giao-ban", "son-duong", &son_duong_token).await;
    match joined {
        ServerMessage::Joined(j) => assert_eq!(j.conference_title, "Giao ban trực tuyến"),
        other => panic!("expected joined, got {other:?}"),
    }

    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/giao-ban",
        Some(&op),
        None,
    )
    .await;
    let son_duong = r.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["endpoint"] == "son-duong")
        .unwrap()
        .clone();
    assert_eq!(
        (son_duong["connected"].as_bool(), son_duong["name"].as_str()),
        (Some(true), Some("UBND huyện Sơn Dương"))
    );

    // The console's event socket: refused without a session, then the
    // conference with its roster and the floor queue, pushed.
    let events_url = format!(
        "wss://localhost:{}/api/v1/conferences/giao-ban/events",
        running.addr.port()
    );
    let refused = tokio_tungstenite::connect_async_tls_with_config(
        events_url.as_str(),
        None,
        false,
        Some(Connector::Rustls(tls(&running))),
    )
    .await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
        "{refused:?}"
    );
    let mut events = common::events(&running, "giao-ban", &op).await;
    let conference = next_event(&mut events, "conference").await;
    let row = |c: &Value| {
        c["conference"]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["endpoint"] == "son-duong")
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&conference)["connected"], true, "{conference}");
    assert_eq!(next_event(&mut events, "floor").await["queue"], json!([]));
    assert!(next_event(&mut events, "levels").await["levels"].is_object());

    // The operator mutes the room: its session hears of it through the roster.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/participants/son-duong/mute",
        Some(&op),
        Some(json!({"audio": true})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let muted = loop {
        if let ServerMessage::RosterChanged(r) = next(&mut session).await
            && let Some(me) = r
                .roster
                .iter()
                .find(|e| e.endpoint_id.as_str() == "son-duong")
            && me.audio_muted
        {
            break true;
        }
    };
    assert!(muted);
    // …and the console's event socket pushes the change.
    loop {
        let c = next_event(&mut events, "conference").await;
        if row(&c)["audio_muted"] == true {
            break;
        }
    }
    // Calling it to the chair unmutes it.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&op),
        Some(json!({"endpoint": "son-duong"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/giao-ban",
        Some(&op),
        None,
    )
    .await;
    assert!(
        r.body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["endpoint"] == "son-duong" && p["audio_muted"] == false)
    );
    // An endpoint that is not connected gets a clear error.
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/call-to-chair",
        Some(&op),
        Some(json!({"endpoint": "ubnd-tinh"})),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (409, Some("endpoint_not_connected"))
    );
    let r = https(
        &running,
        "PUT",
        "/api/v1/conferences/giao-ban/layout",
        Some(&op),
        Some(json!({"view": "participants", "layout": "1+7"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/pin",
        Some(&op),
        Some(json!({"view": "chair", "slot": 99, "endpoint": "son-duong"})),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("invalid_slot"))
    );

    // The room asks for the floor over signalling; the operator sees the
    // queue and grants it; the room hears the answer.
    session
        .send(Message::Text(
            json!({"v": 1, "type": "request_floor"}).to_string().into(),
        ))
        .await
        .unwrap();
    loop {
        if let ServerMessage::FloorRequestAcknowledged(a) = next(&mut session).await {
            assert!(a.pending);
            break;
        }
    }
    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/giao-ban/floor",
        Some(&op),
        None,
    )
    .await;
    let queue = r.body.as_array().unwrap();
    assert_eq!(queue.len(), 1, "{}", r.body);
    assert_eq!(queue[0]["name"], "UBND huyện Sơn Dương");
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/floor/son-duong/grant",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    loop {
        if let ServerMessage::FloorRequestAnswered(a) = next(&mut session).await {
            assert!(a.granted);
            break;
        }
    }
    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/floor/son-duong/dismiss",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (409, Some("no_floor_request"))
    );

    // A camera preset saved for the room and recalled reaches its session.
    let preset = json!({"pan": 250, "tilt": 600, "zoom": 200});
    let path = "/api/v1/endpoints/son-duong/presets/Gh%E1%BA%BF%20ch%E1%BB%A7%20t%E1%BB%8Da";
    assert_eq!(
        https(&running, "PUT", path, Some(&op), Some(preset))
            .await
            .status,
        200
    );
    let recall = "/api/v1/conferences/giao-ban/participants/son-duong/presets/Gh%E1%BA%BF%20ch%E1%BB%A7%20t%E1%BB%8Da/recall";
    let r = https(&running, "POST", recall, Some(&op), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    loop {
        if let ServerMessage::CameraPreset(p) = next(&mut session).await {
            assert_eq!(
                (p.name.as_str(), p.pan, p.tilt, p.zoom),
                ("Ghế chủ tọa", 250, 600, 200)
            );
            break;
        }
    }

    // A restart keeps accounts, sessions and the live conference.
    running.shutdown(Duration::from_secs(2)).await.unwrap();
    let running = start(&config).await.unwrap();
    let r = https(
        &running,
        "GET",
        "/api/v1/conferences/giao-ban",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["state"].as_str()),
        (200, Some("live")),
        "{}",
        r.body
    );
    let (mut session, joined) = join(&running, "giao-ban", "son-duong", &son_duong_token).await;
    assert!(
        matches!(joined, ServerMessage::Joined(_)),
        "rejoin after restart: {joined:?}"
    );

    let r = https(
        &running,
        "POST",
        "/api/v1/conferences/giao-ban/end",
        Some(&op),
        None,
    )
    .await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("ended")));
    let ended = loop {
        if let ServerMessage::Error(e) = next(&mut session).await {
            break e;
        }
    };
    assert_eq!(ended.code, ErrorCode::UnknownConference);

    let audit = https(
        &running,
        "GET",
        "/api/v1/audit?limit=100",
        Some(&admin),
        None,
    )
    .await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for expected in [
        "user.create",
        "auth.login",
        "endpoint.create",
        "endpoint.token",
        "conference.create",
        "conference.start",
        "participant.mute",
        "conference.call_to_chair",
        "conference.layout",
        "conference.pin",
        "floor.grant",
        "floor.dismiss",
        "preset.save",
        "preset.recall",
        "conference.end",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} not audited: {actions:?}"
        );
    }
    running.shutdown(Duration::from_secs(2)).await.unwrap();
}
