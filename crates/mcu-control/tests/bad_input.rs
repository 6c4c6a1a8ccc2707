//! Bad input gets a stable error code and changes nothing.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, code};
use serde_json::json;

async fn state(api: &Api) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}",
        api.store.logbook("giao-ban").await.unwrap(),
        api.store.list_users().await.unwrap(),
        api.store.list_endpoints().await.unwrap(),
        api.store.list_conferences().await.unwrap(),
        api.live.commands.lock().unwrap(),
    )
}

#[tokio::test]
async fn each_bad_request_has_its_code_and_changes_nothing() {
    let cases = [
        (
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/layout",
            json!({"view": "chair", "layout": "5x5"}),
            StatusCode::BAD_REQUEST,
            "invalid_layout",
        ),
        (
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/layout",
            json!({"view": "chair", "layout": 7}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "operator",
            "PUT",
            "/api/v1/conferences/giao-ban/layout",
            json!({"view": "everyone", "layout": "2x2"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "operator",
            "PUT",
            "/api/v1/conferences/khong-co/layout",
            json!({"view": "chair", "layout": "2x2"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/participants/khong-co/mute",
            json!({"audio": true}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            json!({"endpoint": "tan-trao"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/hop-moi/call-to-chair",
            json!({"endpoint": "dong-quy"}),
            StatusCode::CONFLICT,
            "conference_not_running",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/end",
            json!(null),
            StatusCode::OK,
            "",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences",
            json!({"id": "x", "title": "Họp", "chair": "son-duong", "layout": "2x2", "participants": ["son-duong"]}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences",
            json!({"id": "x y", "title": "Họp", "layout": "2x2", "participants": ["son-duong"]}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences",
            json!({"id": "x", "title": "Họp", "layout": "2x2", "participants": ["khong-co"]}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences",
            json!({"id": "giao-ban", "title": "Họp", "layout": "2x2", "participants": ["son-duong"]}),
            StatusCode::CONFLICT,
            "already_exists",
        ),
        (
            "admin",
            "POST",
            "/api/v1/endpoints",
            json!({"id": "a", "name": "", "level": "district", "owner_mcu": "m"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "admin",
            "POST",
            "/api/v1/endpoints",
            json!({"id": "a", "name": "A", "level": "village", "owner_mcu": "m"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "admin",
            "POST",
            "/api/v1/endpoints",
            json!({"id": "a", "name": "A", "level": "district", "owner_mcu": "m", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "admin",
            "PUT",
            "/api/v1/endpoints/son-duong",
            json!({"id": "dong-quy", "name": "A", "level": "district", "owner_mcu": "m"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "admin",
            "PUT",
            "/api/v1/endpoints/son-duong/contacts",
            json!([{"name": "A", "email": "khong-phai-email"}]),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "admin",
            "DELETE",
            "/api/v1/endpoints/son-duong",
            json!(null),
            StatusCode::CONFLICT,
            "endpoint_in_use",
        ),
        (
            "admin",
            "POST",
            "/api/v1/users",
            json!({"username": "moi", "display_name": "Mới", "role": "operator", "password": "ngắn"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "admin",
            "POST",
            "/api/v1/users",
            json!({"username": "moi", "display_name": "Mới", "role": "site_operator", "password": "đủ-mười-hai-ký-tự"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "admin",
            "POST",
            "/api/v1/users",
            json!({"username": "operator", "display_name": "Trùng", "role": "auditor", "password": "đủ-mười-hai-ký-tự"}),
            StatusCode::CONFLICT,
            "already_exists",
        ),
        (
            "admin",
            "PATCH",
            "/api/v1/users/999999",
            json!({"display_name": "Ai"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "admin",
            "DELETE",
            "/api/v1/users/1",
            json!(null),
            StatusCode::CONFLICT,
            "self_lockout",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/khong-co/logbook",
            json!({"category": "note", "text": "Ghi chú"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            json!({"category": "note", "text": "ă".repeat(4001)}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            json!({"category": "note", "text": "   "}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            json!({"category": "incident", "text": "Đính chính", "refers_to": 7}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            json!({"category": "alarm", "text": "Giả làm cảnh báo tự động"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/logbook/sign-off",
            json!({"signer_name": "Nguyễn Văn An", "signer_title": "Trực ban"}),
            StatusCode::CONFLICT,
            "conference_running",
        ),
        (
            "operator",
            "GET",
            "/api/v1/conferences/khong-co/logbook/verify",
            json!(null),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (role, method, path, body, status, expected) in cases {
        let api = Api::new().await;
        let before = state(&api).await;
        let body = (!body.is_null()).then_some(body);
        let (got, answer) = api.call(role, method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        if status.is_success() {
            continue;
        }
        assert_eq!(code(&answer), expected, "{method} {path}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(
            state(&api).await,
            before,
            "{method} {path} changed something"
        );
    }
}

#[tokio::test]
async fn malformed_oversize_and_untyped_bodies_are_refused() {
    let api = Api::new().await;
    let token = api.token("admin").unwrap().to_owned();
    let post = |body: Vec<u8>, content_type: Option<&str>| {
        let mut r =
            Request::post("/api/v1/endpoints").header("authorization", format!("Bearer {token}"));
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        r.body(Body::from(body)).unwrap()
    };
    let before = state(&api).await;
    for (req, status, expected) in [
        (
            post(b"{\"id\": ".to_vec(), Some("application/json")),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post(b"{}".to_vec(), None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post(vec![b' '; 100 * 1024], Some("application/json")),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            post(vec![0xff, 0xfe, 0x00], Some("application/json")),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ] {
        let res = api.send(req).await;
        let got = res.status();
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((got, code(&body)), (status, expected), "{body}");
    }
    assert_eq!(state(&api).await, before);
}
