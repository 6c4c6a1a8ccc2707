//! Importing a directory CSV: the Tuyên Quang sample, re-import, a bad file
//! changing nothing, and only admins.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, code};
use http_body_util::BodyExt;

const SAMPLE: &str = include_str!("../../../config/examples/tuyen-quang.csv");

async fn import(api: &Api, role: &str, csv: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::post("/api/v1/endpoints/import")
        .header(
            "authorization",
            format!("Bearer {}", api.token(role).unwrap()),
        )
        .header("content-type", "text/csv; charset=utf-8")
        .body(Body::from(csv.to_owned()))
        .unwrap();
    let res = api.send(req).await;
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn the_sample_directory_imports_and_reimports() {
    let api = Api::new().await;
    let before = api.store.list_endpoints().await.unwrap().len();
    let (status, report) = import(&api, "admin", SAMPLE).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(27), Some(0))
    );
    let all = api.store.list_endpoints().await.unwrap();
    assert_eq!(all.len(), before + 27);
    let sld = all
        .iter()
        .find(|e| e.id == "tq-so-lao-dong-thuong-binh-va-xa-hoi")
        .unwrap();
    assert_eq!(sld.name, "Sở Lao động, Thương binh và Xã hội");
    let (status, report) = import(&api, "admin", SAMPLE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(27))
    );
    assert_eq!(api.last_audit().await.entry.action, "endpoint.import");
}

#[tokio::test]
async fn a_bad_file_changes_nothing_and_names_every_bad_row() {
    let api = Api::new().await;
    let before = format!("{:?}", api.store.list_endpoints().await.unwrap());
    let csv = format!(
        "{SAMPLE}tq-moi,Điểm cầu mới,,village,false,tuyen-quang,,,,\r\nson-duong,,,district,false,tuyen-quang,,,,\r\n"
    );
    let (status, body) = import(&api, "admin", &csv).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_csv"),
        "{body}"
    );
    let rows = body["error"]["details"]["rows"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [29, 30]
    );
    assert_eq!(
        format!("{:?}", api.store.list_endpoints().await.unwrap()),
        before
    );
}

#[tokio::test]
async fn only_admins_import() {
    let api = Api::new().await;
    for role in ["operator", "site_operator", "auditor"] {
        let (status, body) = import(&api, role, SAMPLE).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{role}"
        );
    }
    assert!(
        api.store
            .endpoint("tq-van-phong-ubnd-tinh")
            .await
            .unwrap()
            .is_none()
    );
}
