//! The conference logbook through the API (R12): operator entries and
//! corrections, automatic entries for audited actions, the sign-off that
//! closes it, verification that catches a row changed behind the store's
//! back, and the CSV and HTML exports.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Api, code};
use http_body_util::BodyExt;
use serde_json::{Value, json};

const LOGBOOK: &str = "/api/v1/conferences/giao-ban/logbook";

async fn text(api: &Api, role: &str, path: &str) -> (StatusCode, String, String) {
    let req = Request::get(path)
        .header(
            "authorization",
            format!("Bearer {}", api.token(role).unwrap()),
        )
        .body(Body::empty())
        .unwrap();
    let res = api.send(req).await;
    let status = res.status();
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

fn seqs(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_logbook_from_first_entry_to_sign_off() {
    let api = Api::new().await;
    let (status, first) = api
        .call(
            "operator",
            "POST",
            LOGBOOK,
            Some(
                json!({"category": "incident", "text": "Điểm cầu Sơn Dương mất tiếng lúc 08:12",
                        "remedy": "Khởi động lại bộ mã hóa âm thanh"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (
            first["seq"].as_i64(),
            first["kind"].as_str(),
            first["actor"].as_str()
        ),
        (Some(1), Some("operator"), Some("operator"))
    );
    assert_eq!(first["prev_hash"], "0".repeat(64));
    assert_eq!(
        first["details"]["remedy"],
        "Khởi động lại bộ mã hóa âm thanh"
    );
    let audit = api.last_audit().await;
    assert_eq!(
        (audit.entry.action.as_str(), audit.entry.result.as_str()),
        ("logbook.append", "ok")
    );

    // An operator action on the conference lands in its logbook by itself.
    let (status, _) = api
        .call(
            "operator",
            "POST",
            "/api/v1/conferences/giao-ban/participants/son-duong/mute",
            Some(json!({"audio": true})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mute_audit = api.last_audit().await;
    // A refused action does not.
    let (status, _) = api
        .call("auditor", "POST", "/api/v1/conferences/giao-ban/end", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An edit is a new entry that refers to the old one.
    let (status, fix) = api
        .call(
            "admin",
            "POST",
            LOGBOOK,
            Some(json!({"category": "incident", "text": "Đính chính: mất tiếng lúc 08:21, không phải 08:12", "refers_to": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fix}");
    assert_eq!(
        (fix["seq"].as_i64(), fix["kind"].as_str()),
        (Some(3), Some("correction"))
    );

    let (_, list) = api.call("auditor", "GET", LOGBOOK, None).await;
    assert_eq!(seqs(&list), [1, 2, 3]);
    let auto = &list[1];
    assert_eq!(
        (
            auto["kind"].as_str(),
            auto["category"].as_str(),
            auto["actor"].as_str()
        ),
        (Some("auto"), Some("action"), Some("operator"))
    );
    assert_eq!(auto["details"]["audit_id"].as_i64(), Some(mute_audit.id));
    assert_eq!(auto["details"]["params"]["audio"], true);
    assert!(
        auto["text"]
            .as_str()
            .unwrap()
            .contains("participant.mute: participant/son-duong")
    );
    assert_eq!(
        list[0]["text"], "Điểm cầu Sơn Dương mất tiếng lúc 08:12",
        "unchanged"
    );
    let (_, page) = api
        .call(
            "auditor",
            "GET",
            &format!("{LOGBOOK}?after=1&limit=1"),
            None,
        )
        .await;
    assert_eq!(seqs(&page), [2]);

    // Sign-off: not while live; after the end, once; then the logbook is closed.
    let sign = json!({"signer_name": "Nguyễn Văn An", "signer_title": "Trực ban kỹ thuật",
                      "remark": "Hội nghị kết thúc an toàn"});
    let (status, body) = api
        .call(
            "operator",
            "POST",
            &format!("{LOGBOOK}/sign-off"),
            Some(sign.clone()),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conference_running")
    );
    let (status, _) = api
        .call("operator", "POST", "/api/v1/conferences/giao-ban/end", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, signed) = api
        .call(
            "operator",
            "POST",
            &format!("{LOGBOOK}/sign-off"),
            Some(sign.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(
        (signed["seq"].as_i64(), signed["kind"].as_str()),
        (Some(5), Some("sign_off"))
    );
    assert_eq!(api.last_audit().await.entry.action, "logbook.sign_off");
    for (path, body) in [
        (format!("{LOGBOOK}/sign-off"), sign),
        (
            LOGBOOK.to_owned(),
            json!({"category": "note", "text": "Ghi thêm"}),
        ),
    ] {
        let (status, body) = api.call("operator", "POST", &path, Some(body)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "logbook_signed")
        );
        assert_eq!(api.last_audit().await.entry.result, "logbook_signed");
    }

    let (_, v) = api
        .call("auditor", "GET", &format!("{LOGBOOK}/verify"), None)
        .await;
    assert_eq!(
        v,
        json!({"intact": true, "entries": 5, "last_hash": signed["hash"]})
    );

    // CSV: BOM, every entry, formulas defused.
    let (status, ct, csv) = text(&api, "auditor", &format!("{LOGBOOK}.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(
        csv.starts_with("\u{feff}seq,at_ms,time_utc7,kind,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.contains("\"Điểm cầu Sơn Dương mất tiếng lúc 08:12\""));
    assert!(csv.contains(signed["hash"].as_str().unwrap()));

    // HTML: Vietnamese, the sign-off, the verification and the final hash.
    let (status, ct, html) = text(&api, "admin", &format!("{LOGBOOK}.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    for needle in [
        "Sổ ghi biên bản hội nghị truyền hình",
        "Biện pháp khắc phục:</i> Khởi động lại bộ mã hóa âm thanh",
        "Trực ban kỹ thuật",
        "Chuỗi mã băm toàn vẹn: 5 mục",
        signed["hash"].as_str().unwrap(),
    ] {
        assert!(html.contains(needle), "{needle} not in {html}");
    }
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn exports_escape_and_defuse_what_operators_write() {
    let api = Api::new().await;
    for t in [
        "<script>alert('x')</script> & \"trích\"",
        "=HYPERLINK(\"http://x\")",
    ] {
        let (status, _) = api
            .call(
                "operator",
                "POST",
                LOGBOOK,
                Some(json!({"category": "note", "text": t})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, _, html) = text(&api, "operator", &format!("{LOGBOOK}.html")).await;
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;trích&quot;")
    );
    let (_, _, csv) = text(&api, "operator", &format!("{LOGBOOK}.csv")).await;
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
}

#[tokio::test]
async fn verification_names_the_row_changed_behind_the_store() {
    let api = Api::new().await;
    for i in 1..=4 {
        let (status, _) = api
            .call(
                "operator",
                "POST",
                LOGBOOK,
                Some(json!({"category": "note", "text": format!("Ghi chú {i}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let raw = sqlx::AnyPool::connect(&api.db_url).await.unwrap();
    sqlx::query(
        "UPDATE logbook_entries SET actor = 'ke-gian' WHERE conference_id = 'giao-ban' AND seq = 2",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
    let (_, v) = api
        .call("auditor", "GET", &format!("{LOGBOOK}/verify"), None)
        .await;
    assert_eq!(
        v,
        json!({"intact": false, "broken_seq": 2, "reason": "hash_mismatch"})
    );
    let (_, _, html) = text(&api, "auditor", &format!("{LOGBOOK}.html")).await;
    assert!(
        html.contains("CHUỖI MÃ BĂM BỊ PHÁ VỠ tại mục số 2"),
        "{html}"
    );
}
