//! The cascade tree of a running conference (`GET …/cascade`) and the
//! commands that reach endpoints of other MCUs through it: call to chair and
//! mute, for operators only, with failures further down naming the MCU.

mod common;

use axum::http::StatusCode;
use common::{Api, PASSWORD, T0, code};
use mcu_control::auth::token_hash;
use mcu_control::{
    CascadeEndpoint, CascadeLink, CascadeMcu, LinkStatus, LiveCascade, LiveCommand, LiveError,
};
use serde_json::json;

const REMOTE: &str = "ubnd-xa-hop-thanh";

fn mcu(id: &str, name: &str, level: &str) -> CascadeMcu {
    CascadeMcu {
        id: id.into(),
        name: name.into(),
        level: level.into(),
    }
}

fn link(m: CascadeMcu, state: LinkStatus, since_ms: Option<i64>) -> CascadeLink {
    CascadeLink {
        mcu: m,
        state,
        standby: false,
        since_ms,
        quality: None,
    }
}

fn endpoint(id: &str, name: &str, path: &[&str], names: &[&str]) -> CascadeEndpoint {
    CascadeEndpoint {
        endpoint: id.into(),
        name: name.into(),
        mcu: path.last().unwrap().to_string(),
        path: path.iter().map(|p| p.to_string()).collect(),
        display_path: names.join(" › "),
        reachable: true,
        connected: true,
        ..Default::default()
    }
}

/// The province MCU `tuyen-quang` under the master, with two districts
/// (Sơn Dương up, with the commune Hợp Thành below it; Hàm Yên reconnecting)
/// and the fixture's three rooms of its own; endpoints in no order.
fn tree() -> LiveCascade {
    let tq = ["tuyen-quang"];
    let tq_names = ["Chính phủ", "Tuyên Quang"];
    let mut hop_thanh = endpoint(
        REMOTE,
        "UBND xã Hợp Thành",
        &["tuyen-quang", "mcu-son-duong", "mcu-hop-thanh"],
        &["Chính phủ", "Tuyên Quang", "Sơn Dương", "Hợp Thành"],
    );
    hop_thanh.audio_muted = true;
    hop_thanh.presets = vec!["Ghế chủ tọa".into(), "Toàn cảnh".into()];
    hop_thanh.floor_requested = true;
    hop_thanh.rtt_ms = Some(42.0);
    hop_thanh.jitter_ms = Some(6.0);
    let mut ham_yen = endpoint(
        "ubnd-huyen-ham-yen",
        "UBND huyện Hàm Yên",
        &["tuyen-quang", "mcu-ham-yen"],
        &["Chính phủ", "Tuyên Quang", "Hàm Yên"],
    );
    ham_yen.reachable = false;
    ham_yen.connected = false;
    let mut tinh = endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", &tq, &tq_names);
    tinh.selected = true;
    LiveCascade {
        me: mcu("tuyen-quang", "Tuyên Quang", "province"),
        parent: Some(link(
            mcu("tw", "Chính phủ", "central"),
            LinkStatus::Up,
            Some(T0),
        )),
        children: vec![
            link(
                mcu("mcu-son-duong", "Sơn Dương", "district"),
                LinkStatus::Up,
                Some(T0 + 5),
            ),
            link(
                mcu("mcu-ham-yen", "Hàm Yên", "district"),
                LinkStatus::Reconnecting,
                Some(T0 + 9),
            ),
        ],
        endpoints: vec![
            hop_thanh,
            endpoint("dong-quy", "UBND xã Đông Quý", &tq, &tq_names),
            ham_yen,
            endpoint(
                "hdnd-son-duong",
                "HĐND huyện Sơn Dương",
                &["tuyen-quang", "mcu-son-duong"],
                &["Chính phủ", "Tuyên Quang", "Sơn Dương"],
            ),
            tinh,
            endpoint("son-duong", "UBND huyện Sơn Dương", &tq, &tq_names),
        ],
        warnings: vec!["Đường dẫn tới xã Hợp Thành dài 4 liên kết (quá 3)".into()],
    }
}

async fn api_with_tree() -> Api {
    let api = Api::new().await;
    api.live.set_cascade("giao-ban", tree());
    api
}

fn commands(api: &Api) -> Vec<(String, LiveCommand)> {
    api.live.commands.lock().unwrap().clone()
}

#[tokio::test]
async fn the_tree_comes_with_its_links_and_its_endpoints_in_path_order() {
    let api = api_with_tree().await;
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/cascade",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["me"],
        json!({"id": "tuyen-quang", "name": "Tuyên Quang", "level": "province"})
    );
    assert_eq!(
        body["parent"],
        json!({"mcu": {"id": "tw", "name": "Chính phủ", "level": "central"},
               "state": "up", "standby": false, "since_ms": T0, "quality": null})
    );
    let children: Vec<(&str, &str)> = body["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["mcu"]["id"].as_str().unwrap(),
                l["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        children,
        [("mcu-son-duong", "up"), ("mcu-ham-yen", "reconnecting")]
    );
    // By path (this MCU's rooms first, then each child's subtree before the
    // MCUs below it), then by name.
    let order: Vec<&str> = body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "son-duong",
            "ubnd-tinh",
            "dong-quy",
            "ubnd-huyen-ham-yen",
            "hdnd-son-duong",
            REMOTE
        ]
    );
    assert_eq!(
        body["endpoints"][5],
        json!({"endpoint": REMOTE, "name": "UBND xã Hợp Thành", "mcu": "mcu-hop-thanh",
               "path": ["tuyen-quang", "mcu-son-duong", "mcu-hop-thanh"],
               "display_path": "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành",
               "reachable": true, "connected": true, "audio_muted": true, "video_muted": false,
               "floor_requested": true, "rtt_ms": 42.0, "loss_percent": null, "jitter_ms": 6.0,
               "selected": false, "presets": ["Ghế chủ tọa", "Toàn cảnh"]})
    );
    assert_eq!(body["endpoints"][3]["reachable"], false);
    assert_eq!(body["endpoints"][1]["selected"], true);
    assert_eq!(
        body["warnings"],
        json!(["Đường dẫn tới xã Hợp Thành dài 4 liên kết (quá 3)"])
    );
}

#[tokio::test]
async fn whoever_sees_the_conference_reads_its_tree() {
    let api = api_with_tree().await;
    api.live.set_cascade("hop-moi", tree());
    let path = "/api/v1/conferences/giao-ban/cascade";
    let (status, body) = api.call("anonymous", "GET", path, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    for role in ["admin", "operator", "site_operator", "auditor"] {
        let (status, body) = api.call(role, "GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "{role}: {body}");
        assert_eq!(body["endpoints"].as_array().unwrap().len(), 6, "{role}");
    }
    // hop-moi has no room of the site operator's.
    let (status, body) = api
        .call(
            "site_operator",
            "GET",
            "/api/v1/conferences/hop-moi/cascade",
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    // hop-moi is not running.
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/hop-moi/cascade",
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conference_not_running")
    );
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/khong-co/cascade",
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn a_conference_without_a_cascade_is_a_404_of_its_own() {
    let api = Api::new().await;
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/cascade",
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "no_cascade"));
}

#[tokio::test]
async fn an_operator_calls_a_remote_endpoint_to_the_chair_and_mutes_it() {
    let api = api_with_tree().await;
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            Some(json!({"endpoint": REMOTE})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        commands(&api),
        [(
            "giao-ban".to_owned(),
            LiveCommand::CallToChair {
                endpoint: REMOTE.into()
            }
        )]
    );
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (
            audit.action.as_str(),
            audit.target.as_str(),
            audit.result.as_str(),
            audit.actor.as_str()
        ),
        (
            "conference.call_to_chair",
            "conference/giao-ban/participant/ubnd-xa-hop-thanh",
            "ok",
            "operator"
        )
    );

    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/giao-ban/participants/{REMOTE}/mute"),
            Some(json!({"audio": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        commands(&api)[1].1,
        LiveCommand::Mute {
            endpoint: REMOTE.into(),
            audio: Some(false),
            video: None
        }
    );
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (audit.action.as_str(), audit.result.as_str()),
        ("participant.mute", "ok")
    );
}

#[tokio::test]
async fn a_site_operator_commands_no_remote_endpoint() {
    let api = api_with_tree().await;
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            Some(json!({"endpoint": REMOTE})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (audit.action.as_str(), audit.result.as_str()),
        ("conference.call_to_chair", "forbidden")
    );

    // Not even the site operator of that very room: its MCU's operators
    // steer it. The room is in this MCU's directory, assigned to them.
    let mut room = api.store.endpoint("son-duong").await.unwrap().unwrap();
    room.id = REMOTE.into();
    room.name = "UBND xã Hợp Thành".into();
    room.owner_mcu = "mcu-hop-thanh".into();
    api.store.create_endpoint(&room, T0).await.unwrap();
    let hash = mcu_control::auth::hash_password(PASSWORD).unwrap();
    let user = api
        .store
        .create_user(
            &mcu_store::NewUser {
                username: "hop-thanh".into(),
                display_name: "Lê Văn Hợp".into(),
                role: mcu_store::Role::SiteOperator,
                password_hash: hash,
                endpoints: vec![REMOTE.into()],
            },
            T0,
        )
        .await
        .unwrap();
    let token = "token-of-hop-thanh-0123456789";
    api.store
        .create_session(&mcu_store::Session {
            token_hash: token_hash(token),
            user_id: user.id,
            created_at: T0,
            expires_at: T0 + 3_600_000,
            from_addr: "127.0.0.1".into(),
        })
        .await
        .unwrap();
    let req = axum::http::Request::post(format!(
        "/api/v1/conferences/giao-ban/participants/{REMOTE}/mute"
    ))
    .header("authorization", format!("Bearer {token}"))
    .header("content-type", "application/json")
    .body(axum::body::Body::from(json!({"audio": true}).to_string()))
    .unwrap();
    let res = api.send(req).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (
            audit.action.as_str(),
            audit.actor.as_str(),
            audit.result.as_str()
        ),
        ("participant.mute", "hop-thanh", "forbidden")
    );
    assert!(commands(&api).is_empty(), "{:?}", commands(&api));

    // Their own room on this MCU stays theirs.
    let (status, body) = api
        .call(
            "site_operator",
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/mute",
            Some(json!({"audio": true})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn a_camera_preset_of_a_remote_endpoint_is_recalled_by_name_down_the_tree() {
    let api = api_with_tree().await;
    let recall = |name: &str| {
        format!("/api/v1/conferences/giao-ban/participants/{REMOTE}/presets/{name}/recall")
    };
    let (status, body) = api
        .call("operator", "POST", &recall("Toàn cảnh"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        commands(&api),
        [(
            "giao-ban".to_owned(),
            LiveCommand::RecallPresetBelow {
                endpoint: REMOTE.into(),
                name: "Toàn cảnh".into()
            }
        )]
    );
    let audit = api.last_audit().await.entry;
    assert_eq!(
        (
            audit.action.as_str(),
            audit.target.as_str(),
            audit.result.as_str()
        ),
        (
            "preset.recall",
            "conference/giao-ban/participant/ubnd-xa-hop-thanh",
            "ok"
        )
    );

    // The owning MCU has no preset of that name: a 404 naming it.
    *api.live.remote_error.lock().unwrap() = Some(LiveError::Remote {
        code: "unknown_preset".into(),
        endpoint: REMOTE.into(),
        at: "mcu-hop-thanh".into(),
    });
    let (status, body) = api.call("operator", "POST", &recall("Cửa sổ"), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "unknown_preset")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Hợp Thành (mcu-hop-thanh)"),
        "{body}"
    );
    assert_eq!(api.last_audit().await.entry.result, "unknown_preset");

    // A site operator steers no room of another MCU; an id outside the tree is nobody.
    *api.live.remote_error.lock().unwrap() = None;
    let (status, _) = api
        .call("site_operator", "POST", &recall("Toàn cảnh"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/participants/ubnd-xa-khong-co/presets/Toàn cảnh/recall",
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(commands(&api).len(), 1);
}

#[tokio::test]
async fn an_endpoint_outside_the_tree_or_another_command_is_still_not_found() {
    let api = api_with_tree().await;
    let cases = [
        (
            "/api/v1/conferences/giao-ban/call-to-chair".to_owned(),
            json!({"endpoint": "ubnd-xa-khong-co"}),
        ),
        (
            "/api/v1/conferences/giao-ban/participants/ubnd-xa-khong-co/mute".to_owned(),
            json!({"audio": true}),
        ),
        // Only call to chair, mute and floor answers travel down the tree.
        (
            format!("/api/v1/conferences/giao-ban/participants/{REMOTE}/disconnect"),
            json!({}),
        ),
        (
            "/api/v1/conferences/giao-ban/pin".to_owned(),
            json!({"view": "chair", "slot": 0, "endpoint": REMOTE}),
        ),
        (
            "/api/v1/conferences/giao-ban/floor/ubnd-xa-khong-co/grant".to_owned(),
            json!({}),
        ),
    ];
    for (path, body) in cases {
        let (status, answer) = api.call("operator", "POST", &path, Some(body)).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    // Without a tree, a remote id is nobody.
    let api = Api::new().await;
    let (status, answer) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            Some(json!({"endpoint": REMOTE})),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert!(commands(&api).is_empty());
}

#[tokio::test]
async fn a_failure_down_the_tree_is_a_409_naming_the_mcu() {
    let api = api_with_tree().await;
    let cases = [
        (
            "link_down",
            "mcu-son-duong",
            "link_down",
            "Sơn Dương (mcu-son-duong)",
        ),
        (
            "endpoint_not_connected",
            "mcu-hop-thanh",
            "endpoint_not_connected",
            "Hợp Thành (mcu-hop-thanh)",
        ),
        (
            "timeout",
            "tuyen-quang",
            "timeout",
            "Tuyên Quang (tuyen-quang)",
        ),
        (
            "unknown_endpoint",
            "mcu-son-duong",
            "unknown_endpoint",
            "Sơn Dương (mcu-son-duong)",
        ),
        // A code this side does not know yet keeps a stable one of its own.
        ("overloaded", "mcu-xa-la", "remote_error", "mcu-xa-la"),
    ];
    for (remote_code, at, want, mcu) in cases {
        *api.live.remote_error.lock().unwrap() = Some(LiveError::Remote {
            code: remote_code.into(),
            endpoint: REMOTE.into(),
            at: at.into(),
        });
        let (status, body) = api
            .call(
                "operator",
                "POST",
                "/api/v1/conferences/giao-ban/call-to-chair",
                Some(json!({"endpoint": REMOTE})),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, want),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("MCU {mcu}")), "{message}");
        assert!(message.contains(REMOTE), "{message}");
        assert_eq!(
            body["error"]["details"],
            json!({"endpoint": REMOTE, "at": at, "mcu": mcu, "remote_code": remote_code})
        );
        let audit = api.last_audit().await.entry;
        assert_eq!(
            (audit.action.as_str(), audit.result.as_str()),
            ("conference.call_to_chair", want)
        );
    }
    // Vietnamese first.
    *api.live.remote_error.lock().unwrap() = Some(LiveError::Remote {
        code: "link_down".into(),
        endpoint: REMOTE.into(),
        at: "mcu-son-duong".into(),
    });
    let (_, body) = api
        .call(
            "operator",
            "POST",
            &format!("/api/v1/conferences/giao-ban/participants/{REMOTE}/mute"),
            Some(json!({"video": true})),
        )
        .await;
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with(
            "Liên kết tới điểm cầu ubnd-xa-hop-thanh đang kết nối lại tại MCU Sơn Dương"
        ),
        "{body}"
    );
    assert!(commands(&api).is_empty());
}

#[tokio::test]
async fn a_hand_raised_below_is_in_the_queue_with_its_path_and_answered_through_the_tree() {
    let api = api_with_tree().await;
    api.live
        .floor
        .lock()
        .unwrap()
        .push(mcu_control::FloorRequest {
            endpoint: REMOTE.into(),
            requested_at: T0 + 7,
        });
    let (status, queue) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/floor",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    // The fixture's own room first (it asked earlier), without a path.
    assert_eq!(
        queue,
        json!([{"endpoint": "dong-quy", "name": "UBND xã Đông Quý", "requested_at": T0},
               {"endpoint": REMOTE, "name": "UBND xã Hợp Thành", "requested_at": T0 + 7,
                "path": "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành"}])
    );
    // A site operator answers no hand of another MCU.
    let path = format!("/api/v1/conferences/giao-ban/floor/{REMOTE}/grant");
    let (status, _) = api.call("site_operator", "POST", &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = api.call("operator", "POST", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(
        commands(&api),
        [(
            "giao-ban".to_owned(),
            LiveCommand::AnswerFloor {
                endpoint: REMOTE.into(),
                grant: true
            }
        )]
    );
}
