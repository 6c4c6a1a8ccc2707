//! Every route × every role: anonymous → 401, wrong role → 403 (audited,
//! nothing changed), right role → success; site operators only touch their
//! own endpoints.

mod common;

use axum::http::StatusCode;
use common::{Api, BOOKED_START, HOUR, code};
use serde_json::{Value, json};

const ROLES: [&str; 4] = ["admin", "operator", "site_operator", "auditor"];
const ALL: &[&str] = &ROLES;
/// The logbook (R12): admins and operators write and sign; auditors read.
const LOGBOOK_WRITERS: &[&str] = &["admin", "operator"];
const LOGBOOK_READERS: &[&str] = &["admin", "operator", "auditor"];

struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [&'static str],
    success: StatusCode,
}

/// A booking request chaired by ubnd-tinh, 2 hours from `start`.
fn booking(start: i64) -> Value {
    json!({"title": "Họp khẩn", "organising_unit": "Văn phòng UBND tỉnh", "chair": "ubnd-tinh",
           "participants": ["dong-quy"], "start_at": start, "end_at": start + 2 * HOUR,
           "kind": "scheduled", "scenario": [{"title": "Khai mạc", "layout": "2x2", "planned_minutes": 10}]})
}

fn cases() -> Vec<Case> {
    let c = |method, path, body, allowed, success| Case {
        method,
        path,
        body,
        allowed,
        success,
    };
    let endpoint = json!({"id": "ham-yen", "name": "UBND huyện Hàm Yên", "level": "district", "owner_mcu": "tuyen-quang"});
    let son_duong = json!({"id": "son-duong", "name": "UBND huyện Sơn Dương", "level": "district", "owner_mcu": "tuyen-quang"});
    vec![
        c("GET", "/api/v1/auth/me", None, ALL, StatusCode::OK),
        c(
            "POST",
            "/api/v1/auth/logout",
            None,
            ALL,
            StatusCode::NO_CONTENT,
        ),
        c("GET", "/api/v1/users", None, &["admin"], StatusCode::OK),
        c(
            "POST",
            "/api/v1/users",
            Some(
                json!({"username": "moi", "display_name": "Lê Văn Mới", "role": "auditor", "password": "mật-khẩu-đủ-dài"}),
            ),
            &["admin"],
            StatusCode::CREATED,
        ),
        c(
            "PATCH",
            "/api/v1/users/{victim}",
            Some(json!({"display_name": "Đỗ Thị Hoa"})),
            &["admin"],
            StatusCode::OK,
        ),
        c(
            "DELETE",
            "/api/v1/users/{victim}",
            None,
            &["admin"],
            StatusCode::NO_CONTENT,
        ),
        c("GET", "/api/v1/endpoints", None, ALL, StatusCode::OK),
        c(
            "POST",
            "/api/v1/endpoints",
            Some(endpoint),
            &["admin"],
            StatusCode::CREATED,
        ),
        c(
            "GET",
            "/api/v1/endpoints/son-duong",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "PUT",
            "/api/v1/endpoints/son-duong",
            Some(son_duong),
            &["admin"],
            StatusCode::OK,
        ),
        c(
            "DELETE",
            "/api/v1/endpoints/tan-trao",
            None,
            &["admin"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "PUT",
            "/api/v1/endpoints/son-duong/contacts",
            Some(json!([{"name": "Phạm Thu Hà", "phone": "0912 000 000"}])),
            &["admin", "site_operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/endpoints/son-duong/token",
            None,
            &["admin"],
            StatusCode::OK,
        ),
        c("GET", "/api/v1/contacts.csv", None, ALL, StatusCode::OK),
        c("GET", "/api/v1/conferences", None, ALL, StatusCode::OK),
        c(
            "POST",
            "/api/v1/conferences",
            Some(
                json!({"id": "khan", "title": "Họp khẩn", "chair": "ubnd-tinh", "layout": "1+7", "participants": ["ubnd-tinh", "dong-quy"]}),
            ),
            &["operator"],
            StatusCode::CREATED,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/cascade/neighbours",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "PUT",
            "/api/v1/conferences/hop-moi/links",
            Some(json!({"links": []})),
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/conferences/hop-moi/start",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/end",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/mute",
            Some(json!({"audio": true})),
            &["operator", "site_operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/disconnect",
            None,
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "PUT",
            "/api/v1/conferences/giao-ban/layout",
            Some(json!({"view": "chair", "layout": "1+7"})),
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/pin",
            Some(json!({"view": "chair", "slot": 0, "endpoint": "dong-quy"})),
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/call-to-chair",
            Some(json!({"endpoint": "dong-quy"})),
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "GET",
            "/api/v1/endpoints/son-duong/presets",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "PUT",
            "/api/v1/endpoints/son-duong/presets/Toàn cảnh",
            Some(json!({"pan": 500, "tilt": 500, "zoom": 100})),
            &["admin", "operator", "site_operator"],
            StatusCode::OK,
        ),
        c(
            "DELETE",
            "/api/v1/endpoints/son-duong/presets/Ghế chủ tọa",
            None,
            &["admin", "operator", "site_operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/presets/Ghế chủ tọa/recall",
            None,
            &["operator", "site_operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/floor",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/quality",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/preview.jpg",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/floor-request",
            None,
            &["operator", "site_operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/floor/dong-quy/grant",
            None,
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/floor/dong-quy/dismiss",
            None,
            &["operator"],
            StatusCode::NO_CONTENT,
        ),
        c("GET", "/api/v1/bookings", None, ALL, StatusCode::OK),
        c("GET", "/api/v1/booking-rules", None, ALL, StatusCode::OK),
        c(
            "GET",
            "/api/v1/bookings?from=1790000000000&to=1790604800000",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/bookings",
            Some(booking(BOOKED_START + 48 * HOUR)),
            &["operator"],
            StatusCode::CREATED,
        ),
        c("GET", "/api/v1/bookings/1", None, ALL, StatusCode::OK),
        c(
            "PUT",
            "/api/v1/bookings/1",
            Some(booking(BOOKED_START + 24 * HOUR)),
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/bookings/1/approve",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/bookings/1/reject",
            Some(json!({"reason": "Trùng lịch họp của Tỉnh ủy"})),
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/bookings/1/cancel",
            Some(json!({"reason": "Hoãn họp"})),
            &["operator"],
            StatusCode::OK,
        ),
        c("GET", "/api/v1/outbox", None, &["operator"], StatusCode::OK),
        c(
            "GET",
            "/api/v1/outbox?status=failing",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/outbox/1/retry",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        // Recordings (R17): admins and operators list them; operators see
        // whether a conference records.
        c(
            "GET",
            "/api/v1/recordings",
            None,
            &["admin", "operator"],
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/recording",
            None,
            &["operator"],
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/audit",
            None,
            &["admin", "auditor"],
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/logbook",
            None,
            LOGBOOK_READERS,
            StatusCode::OK,
        ),
        c(
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            Some(
                json!({"category": "incident", "text": "Mất tiếng điểm cầu Sơn Dương", "remedy": "Khởi động lại bộ mã hóa"}),
            ),
            LOGBOOK_WRITERS,
            StatusCode::CREATED,
        ),
        c(
            "POST",
            "/api/v1/conferences/hop-moi/logbook/sign-off",
            Some(json!({"signer_name": "Nguyễn Văn An", "signer_title": "Trực ban kỹ thuật"})),
            LOGBOOK_WRITERS,
            StatusCode::CREATED,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/logbook/verify",
            None,
            LOGBOOK_READERS,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/logbook.csv",
            None,
            LOGBOOK_READERS,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/logbook.html",
            None,
            LOGBOOK_READERS,
            StatusCode::OK,
        ),
        // The quality report (R13): a conference read; the site operator's
        // room is in giao-ban (hop-moi is refused, below).
        c(
            "GET",
            "/api/v1/conferences/giao-ban/report",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/report.csv",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/conferences/giao-ban/report.html",
            None,
            ALL,
            StatusCode::OK,
        ),
        // The usage report (R13, R19): every role; a site operator's holds
        // only their own endpoints (tests/usage_report.rs).
        c(
            "GET",
            "/api/v1/reports/usage?from=2026-01-01&to=2026-12-31",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/reports/usage.csv?from=2026-01-01&to=2026-12-31",
            None,
            ALL,
            StatusCode::OK,
        ),
        c(
            "GET",
            "/api/v1/reports/usage.html?from=2026-01-01&to=2026-12-31",
            None,
            ALL,
            StatusCode::OK,
        ),
    ]
}

async fn snapshot(api: &Api) -> String {
    let users = api.store.list_users().await.unwrap();
    let endpoints = api.store.list_endpoints().await.unwrap();
    let conferences = api.store.list_conferences().await.unwrap();
    let presets = api.store.presets("son-duong").await.unwrap();
    let bookings = api.store.list_bookings(None, None).await.unwrap();
    let logbooks = (
        api.store.logbook("giao-ban").await.unwrap(),
        api.store.logbook("hop-moi").await.unwrap(),
    );
    let outbox = api.store.list_outbox(None, 1000).await.unwrap();
    let live = &api.live;
    format!(
        "{users:?}{endpoints:?}{conferences:?}{presets:?}{bookings:?}{logbooks:?}{outbox:?}{:?}{:?}{:?}",
        live.commands.lock().unwrap(),
        live.started.lock().unwrap(),
        live.floor.lock().unwrap(),
    )
}

#[tokio::test]
async fn every_route_for_every_role() {
    for case in cases() {
        for role in ["anonymous"].iter().chain(ROLES.iter()) {
            let api = Api::new().await;
            let path = case.path.replace("{victim}", &api.victim.to_string());
            let before = snapshot(&api).await;
            let audit_before = api.store.list_audit(1000, None).await.unwrap().len();
            let (status, body) = api.call(role, case.method, &path, case.body.clone()).await;
            let what = format!("{} {} as {role}: {body}", case.method, path);
            if *role == "anonymous" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
                assert_eq!(code(&body), "unauthenticated", "{what}");
                assert_eq!(snapshot(&api).await, before, "{what} changed something");
            } else if case.allowed.contains(role) {
                assert_eq!(status, case.success, "{what}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(code(&body), "forbidden", "{what}");
                assert_eq!(snapshot(&api).await, before, "{what} changed something");
                if case.method != "GET" {
                    let audit = api.store.list_audit(1000, None).await.unwrap();
                    assert_eq!(audit.len(), audit_before + 1, "{what} not audited");
                    assert_eq!(audit[0].entry.result, "forbidden", "{what}");
                    assert_eq!(audit[0].entry.role, *role, "{what}");
                }
            }
            if case.method != "GET" && case.allowed.contains(role) {
                let last = api.last_audit().await;
                assert_eq!(last.entry.result, "ok", "{what}: audit {last:?}");
                assert_eq!(last.entry.actor, role.replace('_', "-"), "{what}");
            }
        }
    }
}

#[tokio::test]
async fn a_site_operator_cannot_touch_another_site() {
    let api = Api::new().await;
    let cases = [
        (
            "POST",
            "/api/v1/conferences/giao-ban/participants/dong-quy/mute",
            Some(json!({"audio": true})),
        ),
        (
            "PUT",
            "/api/v1/endpoints/dong-quy/contacts",
            Some(json!([{"name": "Kẻ Lạ"}])),
        ),
        (
            "PUT",
            "/api/v1/endpoints/dong-quy/presets/Lạ",
            Some(json!({"pan": 1, "tilt": 1, "zoom": 100})),
        ),
        (
            "POST",
            "/api/v1/conferences/giao-ban/participants/dong-quy/floor-request",
            None,
        ),
        ("GET", "/api/v1/conferences/hop-moi/floor", None),
        ("GET", "/api/v1/conferences/hop-moi", None),
        ("GET", "/api/v1/conferences/hop-moi/report", None),
        ("GET", "/api/v1/conferences/hop-moi/report.csv", None),
        ("GET", "/api/v1/conferences/hop-moi/report.html", None),
        // No logbook for site operators, not even of a conference with their room.
        ("GET", "/api/v1/conferences/giao-ban/logbook", None),
        (
            "POST",
            "/api/v1/conferences/giao-ban/logbook",
            Some(json!({"category": "note", "text": "Ghi chú"})),
        ),
    ];
    for (method, path, body) in cases {
        let before = snapshot(&api).await;
        let (status, body) = api.call("site_operator", method, path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(snapshot(&api).await, before);
    }
    // The conference list shows only conferences with the site's endpoint.
    let (_, list) = api
        .call("site_operator", "GET", "/api/v1/conferences", None)
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["giao-ban"]);
    let (_, all) = api
        .call("operator", "GET", "/api/v1/conferences", None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let api = Api::new().await;
    let (status, doc) = api
        .call("anonymous", "GET", "/api/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for case in cases() {
        let template = template_of(case.path.split('?').next().unwrap_or_default());
        let op = &doc["paths"][&template][case.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {template} missing from the OpenAPI document",
            case.method
        );
    }
}

/// `/api/v1/conferences/giao-ban/participants/son-duong/mute` →
/// `/api/v1/conferences/{id}/participants/{endpoint}/mute`.
fn template_of(path: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in path.split('/') {
        out.push(match previous {
            "users" | "endpoints" | "conferences" | "bookings" | "outbox" => "{id}",
            "participants" => "{endpoint}",
            "presets" => "{name}",
            "floor" => "{endpoint}",
            _ => segment,
        });
        previous = segment;
    }
    out.join("/")
}
