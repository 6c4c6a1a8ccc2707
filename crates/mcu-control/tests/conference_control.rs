//! A conference's life through the API: create, issue tokens, start (the
//! media side gets who may join), steer it live, end it; and the contacts CSV.

mod common;

use axum::http::StatusCode;
use common::Api;
use mcu_control::{LiveCommand, View};
use serde_json::json;

#[tokio::test]
async fn create_start_steer_and_end() {
    let api = Api::new().await;
    let (status, token) = api
        .call("admin", "POST", "/api/v1/endpoints/tan-trao/token", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = token["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);

    let (status, created) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences",
            Some(json!({
                "id": "hop-khan", "title": "Họp khẩn phòng chống bão", "chair": "ubnd-tinh",
                "layout": "2x2", "participants": ["ubnd-tinh", "tan-trao", "tan-trao"]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "created");
    assert_eq!(created["title"], "Họp khẩn phòng chống bão");
    let names: Vec<&str> = created["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["UBND xã Tân Trào", "UBND tỉnh Tuyên Quang"],
        "deduplicated, named"
    );

    let (status, started) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/hop-khan/start",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["state"], "live");
    {
        let live = api.live.started.lock().unwrap();
        let conf = live.last().unwrap();
        assert_eq!(conf.id, "hop-khan");
        assert_eq!(conf.chair.as_deref(), Some("ubnd-tinh"));
        let tan_trao = conf.endpoints.iter().find(|e| e.id == "tan-trao").unwrap();
        assert_eq!(
            tan_trao.token_hash.as_deref(),
            Some(mcu_control::auth::token_hash(&token).as_str())
        );
        assert_eq!(tan_trao.name, "UBND xã Tân Trào");
    }
    let (status, again) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/hop-khan/start",
            None,
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conference_state"))
    );

    api.live.connected.lock().unwrap().push("tan-trao".into());
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/hop-khan/call-to-chair",
            Some(json!({"endpoint": "tan-trao"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/hop-khan/layout",
            Some(json!({"view": "chair", "layout": "1+7"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(
            "operator",
            "PUT",
            "/api/v1/conferences/hop-khan/layout",
            Some(json!({"view": "participants", "layout": "3x3"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        *api.live.commands.lock().unwrap(),
        [
            (
                "hop-khan".to_string(),
                LiveCommand::CallToChair {
                    endpoint: "tan-trao".into()
                }
            ),
            (
                "hop-khan".to_string(),
                LiveCommand::SetLayout {
                    view: View::Chair,
                    layout: "1+7".into()
                }
            ),
            (
                "hop-khan".to_string(),
                LiveCommand::SetLayout {
                    view: View::Participants,
                    layout: "3x3".into()
                }
            ),
        ]
    );
    let (_, now) = api
        .call("operator", "GET", "/api/v1/conferences/hop-khan", None)
        .await;
    assert_eq!(
        now["layout"], "1+7",
        "the chair view's layout is remembered"
    );
    assert_eq!(now["participants"][0]["connected"], true);

    let (status, ended) = api
        .call("operator", "POST", "/api/v1/conferences/hop-khan/end", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["state"], "ended");
    assert_eq!(*api.live.ended.lock().unwrap(), ["hop-khan"]);
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/hop-khan/call-to-chair",
            Some(json!({"endpoint": "tan-trao"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let audit = api.store.list_audit(100, None).await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .rev()
        .map(|a| a.entry.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "endpoint.token",
            "conference.create",
            "conference.start",
            "conference.start",
            "conference.call_to_chair",
            "conference.layout",
            "conference.layout",
            "conference.end",
            "conference.call_to_chair",
        ]
    );
    assert!(
        !audit.iter().any(|a| a.entry.details.contains(&token)),
        "tokens never reach the audit log"
    );
}

#[tokio::test]
async fn calling_an_unconnected_endpoint_says_so() {
    let api = Api::new().await;
    api.live
        .connected
        .lock()
        .unwrap()
        .retain(|e| e != "dong-quy");
    let (status, body) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            Some(json!({"endpoint": "dong-quy"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("endpoint_not_connected"))
    );
}

#[tokio::test]
async fn the_quality_view_names_grades_and_lists_alarms() {
    use mcu_control::{AlarmKind, EndpointQuality, LiveAlarm, LiveQuality, StreamFigures};
    let api = Api::new().await;
    let figures = |loss_percent| StreamFigures {
        loss_percent,
        jitter_ms: 4.0,
        kbps: 800.0,
        fps: 30.0,
    };
    let alarm = |cleared_at| LiveAlarm {
        endpoint: "son-duong".into(),
        kind: AlarmKind::Loss,
        raised_at: 1_000,
        cleared_at,
        value: 7.5,
        threshold: 5.0,
        detail: String::new(),
    };
    *api.live.quality.lock().unwrap() = LiveQuality {
        endpoints: vec![
            EndpointQuality {
                endpoint: "son-duong".into(),
                rtt_ms: Some(20.0),
                video: figures(7.5),
                audio: figures(0.0),
                ..Default::default()
            },
            EndpointQuality {
                endpoint: "ubnd-tinh".into(),
                rtt_ms: None,
                video: figures(0.0),
                audio: figures(0.0),
                ..Default::default()
            },
        ],
        active_alarms: vec![alarm(None)],
        recent_alarms: vec![alarm(Some(2_000))],
    };
    let (status, q) = api
        .call(
            "auditor",
            "GET",
            "/api/v1/conferences/giao-ban/quality",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let e = &q["endpoints"];
    assert_eq!(
        (e[0]["name"].as_str(), e[0]["grade"].as_str()),
        (Some("UBND huyện Sơn Dương"), Some("poor"))
    );
    assert_eq!(e[0]["video"]["loss_percent"], 7.5);
    assert_eq!(e[0]["rtt_ms"], 20.0);
    assert_eq!(e[1]["grade"], "good");
    assert!(e[1]["rtt_ms"].is_null());
    assert_eq!(q["active_alarms"][0]["kind"], "loss");
    assert_eq!(q["active_alarms"][0]["name"], "UBND huyện Sơn Dương");
    assert!(q["active_alarms"][0]["cleared_at"].is_null());
    assert_eq!(q["recent_alarms"][0]["cleared_at"], 2_000);

    let (status, body) = api
        .call(
            "auditor",
            "GET",
            "/api/v1/conferences/khong-co/quality",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn the_preview_is_a_jpeg_of_a_view_that_has_viewers() {
    let api = Api::new().await;
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/preview.jpg",
            None,
        )
        .await;
    // The stand-in media side answers the chair view only.
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/preview.jpg?view=participants",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_picture"))
    );
    let (status, body) = api
        .call(
            "operator",
            "GET",
            "/api/v1/conferences/giao-ban/preview.jpg?view=ca-hai",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
}

#[tokio::test]
async fn the_contacts_list_exports_as_csv_with_diacritics() {
    let api = Api::new().await;
    let (status, csv) = api
        .call("site_operator", "GET", "/api/v1/contacts.csv", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    assert!(
        csv.starts_with('\u{feff}'),
        "BOM so spreadsheets read UTF-8"
    );
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5, "header + 4 endpoints with one contact each");
    assert!(
        lines[1].starts_with("\"ubnd-tinh\",\"UBND tỉnh Tuyên Quang\",\"province\""),
        "{}",
        lines[1]
    );
    assert!(csv.contains("\"Trần Thị Hương\""));
    assert!(
        csv.contains("\"'+84 207 3822 111\""),
        "a leading + is defused"
    );
}
