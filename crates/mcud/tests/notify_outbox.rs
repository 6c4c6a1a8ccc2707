//! Outbox: webhook target down → retried; up again → delivered once. The real
//! daemon with `[notify] webhook_url` on a loopback port where nothing
//! listens and short retry times; a booking approved through the API puts a
//! notice per contact in the outbox; the API shows them failing with
//! attempts and an error; a webhook receiver then comes up on that port, and
//! every message arrives exactly once (by its Idempotency-Key) and is
//! delivered; nothing arrives after that.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ADMIN_PW, OPERATOR_PW, TempDir, config, create_admin_and_operator, https, login};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOUR: i64 = 3_600_000;

/// Received requests: Idempotency-Key → how many times, and the bodies.
type Seen = Arc<Mutex<(BTreeMap<i64, u32>, Vec<Value>)>>;

/// A minimal webhook receiver: reads one request per connection, records
/// its Idempotency-Key and JSON body, answers 200.
async fn receiver(listener: tokio::net::TcpListener, seen: Seen) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let Ok(n) = s.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break (head.to_owned(), body.to_owned());
                    }
                }
            };
            let key: i64 = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("idempotency-key:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("an Idempotency-Key header");
            assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
            let body: Value = serde_json::from_str(&body).unwrap();
            {
                let mut seen = seen.lock().unwrap();
                *seen.0.entry(key).or_default() += 1;
                seen.1.push(body);
            }
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
        });
    }
}

async fn outbox(running: &mcud::server::Running, token: &str) -> Value {
    let r = https(running, "GET", "/api/v1/outbox", Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_down_is_retried_and_up_again_delivers_each_message_once() {
    let dir = TempDir(std::env::temp_dir().join(format!("mcud-notify-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    // A loopback port where nothing listens (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(&dir.0);
    cfg.notify.webhook_url = Some(format!("http://127.0.0.1:{port}/hook"));
    cfg.notify.retry_first_seconds = 0.1;
    cfg.notify.retry_max_seconds = 0.4;
    cfg.validate().unwrap();
    create_admin_and_operator(&cfg).await;
    let running = mcud::server::start(&cfg).await.unwrap();

    // The directory: a chair and two sites, with contacts (one without e-mail).
    let admin = login(&running, "quantri", ADMIN_PW).await;
    for (id, name, chair, contacts) in [
        (
            "ubnd-tinh",
            "UBND tỉnh Tuyên Quang",
            true,
            vec![("Lê Văn An", "an@tuyenquang.gov.vn")],
        ),
        (
            "son-duong",
            "UBND huyện Sơn Dương",
            false,
            vec![
                ("Trần Thị Hương", "huong@sonduong.gov.vn"),
                ("Phạm Văn Bình", ""),
            ],
        ),
        (
            "dong-quy",
            "UBND xã Đông Quý",
            false,
            vec![("Hoàng Thị Cúc", "")],
        ),
    ] {
        let contacts: Vec<Value> = contacts
            .iter()
            .map(|(n, e)| json!({"name": n, "title": "Cán bộ kỹ thuật", "unit": name, "phone": "0207 3822 111", "email": e}))
            .collect();
        let level = if chair { "province" } else { "district" };
        let body = json!({"id": id, "name": name, "level": level, "chair_capable": chair,
            "owner_mcu": "tuyen-quang", "contacts": contacts});
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

    // Request and approve a booking three days ahead.
    let op = login(&running, "dieuhanh", OPERATOR_PW).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = now + 72 * HOUR;
    let req = json!({"title": "Hội nghị trực tuyến phòng chống lụt bão", "organising_unit": "Văn phòng UBND tỉnh",
        "chair": "ubnd-tinh", "participants": ["son-duong", "dong-quy"], "start_at": start,
        "end_at": start + 2 * HOUR, "kind": "scheduled"});
    let r = https(&running, "POST", "/api/v1/bookings", Some(&op), Some(req)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let r = https(
        &running,
        "POST",
        &format!("/api/v1/bookings/{id}/approve"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Webhook messages: one per contact (4); the e-mail ones (2) wait, no SMTP.
    let deadline = Instant::now() + Duration::from_secs(20);
    let webhook_ids: Vec<i64> = loop {
        let o = outbox(&running, &op).await;
        let msgs = o["messages"].as_array().unwrap().clone();
        assert_eq!(msgs.len(), 6, "{o}");
        let hooks: Vec<&Value> = msgs.iter().filter(|m| m["channel"] == "webhook").collect();
        assert_eq!(hooks.len(), 4);
        let retried = hooks.iter().all(|m| {
            m["status"] == "failing"
                && m["attempts"].as_i64().unwrap() > 1
                && m["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("connection refused")
        });
        if retried {
            for m in msgs.iter().filter(|m| m["channel"] == "email") {
                assert_eq!(
                    (m["status"].as_str(), m["attempts"].as_i64()),
                    (Some("pending"), Some(0))
                );
            }
            assert_eq!(o["failing"], 4);
            break hooks.iter().map(|m| m["id"].as_i64().unwrap()).collect();
        }
        assert!(Instant::now() < deadline, "not retried: {o}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // The target comes up on that port.
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(receiver(listener, seen.clone()));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = outbox(&running, &op).await;
        let delivered: Vec<i64> = o["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == "delivered")
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        if delivered.len() == 4 {
            let mut d = delivered.clone();
            d.sort();
            let mut w = webhook_ids.clone();
            w.sort();
            assert_eq!(d, w);
            assert_eq!(
                (o["failing"].as_i64(), o["pending"].as_i64()),
                (Some(0), Some(2))
            );
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {o}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more after a while: each message arrived exactly once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (counts, bodies) = seen.lock().unwrap().clone();
    let mut want = webhook_ids.clone();
    want.sort();
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), want);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    // What a receiver gets: the id, the booking's times, the text in Vietnamese.
    for b in &bodies {
        assert_eq!(b["event"], "approved");
        assert_eq!(b["booking"]["start_at"], start);
        assert_eq!(b["booking"]["rehearsal_at"], start - 2 * HOUR);
        assert!(b["text"].as_str().unwrap().contains("Bắt đầu chính thức: "));
        assert!(counts.contains_key(&b["id"].as_i64().unwrap()));
    }
    let mut names: Vec<&str> = bodies
        .iter()
        .map(|b| b["recipient"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Hoàng Thị Cúc",
            "Lê Văn An",
            "Phạm Văn Bình",
            "Trần Thị Hương"
        ]
    );
    server.abort();
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}
