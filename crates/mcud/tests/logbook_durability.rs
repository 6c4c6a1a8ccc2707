//! Durability of acknowledged writes (R8, R9, R12): the real `mcud` binary on
//! a SQLite data dir, two clients appending logbook entries and two clients
//! requesting bookings (each approving every other one) through the API as
//! fast as it answers, `kill -9` in the middle of the streams, a restart on
//! the same data dir — and every entry the daemon acknowledged is there,
//! unchanged, the hash chain verifies, and every booking it acknowledged is
//! there with its participants and agenda (an acknowledged approval with its
//! conference and its notices).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::process::{Daemon, DataDir};
use common::{ADMIN_PW, OPERATOR_PW, try_https};
use serde_json::{Value, json};

const CONFERENCE: &str = "giao-ban-truc-tuyen";
const LOGBOOK: &str = "/api/v1/conferences/giao-ban-truc-tuyen/logbook";
const HOUR: i64 = 3_600_000;

/// Acknowledged writes needed before the kill.
const ENTRIES_BEFORE_KILL: usize = 100;
const BOOKINGS_BEFORE_KILL: usize = 30;

/// A client's view of the daemon: where it is, how to trust it, who it is.
#[derive(Clone)]
struct Client {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    token: String,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
}

impl Client {
    fn new(d: &Daemon, token: &str, stop: &Arc<AtomicBool>, count: &Arc<AtomicUsize>) -> Self {
        Self {
            addr: d.addr,
            tls: d.tls.clone(),
            token: token.to_owned(),
            stop: stop.clone(),
            count: count.clone(),
        }
    }

    /// The whole answer, if one came: none when the daemon died before
    /// answering or while it answered (no status, or a success cut short of
    /// its JSON body).
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Option<common::Response> {
        try_https(
            self.addr,
            self.tls.clone(),
            method,
            path,
            Some(&self.token),
            body,
        )
        .await
        .ok()
        .filter(|r| r.status != 0 && !((200..300).contains(&r.status) && r.body.is_null()))
    }

    /// Whether to go on after a write that was not acknowledged.
    async fn unacknowledged(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        true
    }
}

/// An entry the daemon acknowledged: seq, text, hash.
type Acked = (i64, String, String);

/// Appends entries until `stop`, keeping each one answered 201.
async fn appender(c: Client, name: &'static str) -> Vec<Acked> {
    let mut acked = Vec::new();
    let mut i = 0;
    while !c.stop.load(Ordering::Relaxed) {
        i += 1;
        let text = format!("Máy {name}, mục {i}: kiểm tra đường truyền điểm cầu Sơn Dương");
        let body = json!({"category": "note", "text": text});
        match c.send("POST", LOGBOOK, Some(body)).await {
            Some(r) if r.status == 201 => {
                assert_eq!(r.body["text"], text.as_str(), "{}", r.body);
                acked.push((
                    r.body["seq"].as_i64().unwrap(),
                    text,
                    r.body["hash"].as_str().unwrap().to_owned(),
                ));
                c.count.fetch_add(1, Ordering::Relaxed);
            }
            // Not acknowledged: the daemon died before or while answering.
            _ => {
                if !c.unacknowledged().await {
                    break;
                }
            }
        }
    }
    acked
}

/// A booking the daemon acknowledged: what was asked, its id, and whether
/// its approval was acknowledged too.
struct AckedBooking {
    id: i64,
    request: Value,
    approved: bool,
}

/// Booking `n`'s request: 2 hours from `base + n × 5 h`, so that no two
/// windows (rehearsal from 2 hours before) meet, with a two-item agenda.
fn booking_request(base: i64, n: i64) -> Value {
    let start = base + n * 5 * HOUR;
    json!({
        "title": format!("Hội nghị trực tuyến số {n}: phòng chống thiên tai"),
        "organising_unit": "Văn phòng UBND tỉnh Tuyên Quang",
        "chair": "ubnd-tinh",
        "participants": ["son-duong"],
        "start_at": start,
        "end_at": start + 2 * HOUR,
        "kind": "scheduled",
        "scenario": [
            {"title": format!("Khai mạc hội nghị số {n}"), "speaker": "ubnd-tinh", "layout": "1x1", "planned_minutes": 10},
            {"title": "Báo cáo của huyện Sơn Dương", "speaker": "son-duong", "layout": "2x2", "planned_minutes": 20 + n % 7}
        ],
        "recording": n % 3 == 0
    })
}

/// Requests bookings `lane`, `lane + lanes`, … until `stop`, approving every
/// other acknowledged one.
async fn booker(c: Client, base: i64, lane: i64, lanes: i64) -> Vec<AckedBooking> {
    let mut acked = Vec::new();
    let mut n = lane;
    while !c.stop.load(Ordering::Relaxed) {
        let request = booking_request(base, n);
        n += lanes;
        let id = match c
            .send("POST", "/api/v1/bookings", Some(request.clone()))
            .await
        {
            Some(r) if r.status == 201 => {
                assert_eq!(r.body["title"], request["title"], "{}", r.body);
                r.body["id"].as_i64().unwrap()
            }
            Some(r) if r.status != 503 && r.status < 500 => {
                panic!("booking refused: {} {}", r.status, r.body)
            }
            _ => {
                if !c.unacknowledged().await {
                    break;
                }
                continue;
            }
        };
        c.count.fetch_add(1, Ordering::Relaxed);
        let mut booking = AckedBooking {
            id,
            request,
            approved: false,
        };
        if acked.len() % 2 == 0 {
            let path = format!("/api/v1/bookings/{id}/approve");
            booking.approved =
                matches!(c.send("POST", &path, None).await, Some(r) if r.status == 200);
        }
        acked.push(booking);
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_logbook_entries_and_bookings_survive_kill_9() {
    let data = DataDir::new("durability").await;
    let daemon = data.start().await;
    let admin = daemon.login("quantri", ADMIN_PW).await;
    let operator = daemon.login("dieuhanh", OPERATOR_PW).await;
    for endpoint in [
        json!({"id": "son-duong", "name": "UBND huyện Sơn Dương", "level": "district", "owner_mcu": "tuyen-quang"}),
        json!({"id": "ubnd-tinh", "name": "UBND tỉnh Tuyên Quang", "level": "province", "chair_capable": true, "owner_mcu": "tuyen-quang"}),
    ] {
        let r = daemon
            .call("POST", "/api/v1/endpoints", Some(&admin), Some(endpoint))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let conference = json!({"id": CONFERENCE, "title": "Giao ban trực tuyến", "layout": "2x2", "participants": ["son-duong"]});
    let r = daemon
        .call(
            "POST",
            "/api/v1/conferences",
            Some(&operator),
            Some(conference),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Bookings from three days on, on the daemon's clock: past the notice.
    let rules = daemon
        .call("GET", "/api/v1/booking-rules", Some(&operator), None)
        .await;
    let base = (rules.body["now"].as_i64().unwrap() / HOUR + 72) * HOUR;

    // Two clients append, two request bookings; kill -9 once enough of both
    // are acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let entries = Arc::new(AtomicUsize::new(0));
    let bookings = Arc::new(AtomicUsize::new(0));
    let appenders: Vec<_> = [("A", &admin), ("B", &operator)]
        .into_iter()
        .map(|(name, token)| {
            tokio::spawn(appender(Client::new(&daemon, token, &stop, &entries), name))
        })
        .collect();
    let mut bookers = Vec::new();
    for lane in 0..2 {
        // Each booking client its own session.
        let token = daemon.login("dieuhanh", OPERATOR_PW).await;
        let c = Client::new(&daemon, &token, &stop, &bookings);
        bookers.push(tokio::spawn(booker(c, base, lane, 2)));
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    while entries.load(Ordering::Relaxed) < ENTRIES_BEFORE_KILL
        || bookings.load(Ordering::Relaxed) < BOOKINGS_BEFORE_KILL
    {
        assert!(
            Instant::now() < deadline,
            "writes too slow: {} entries, {} bookings",
            entries.load(Ordering::Relaxed),
            bookings.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut daemon = daemon;
    daemon.kill_9();
    stop.store(true, Ordering::Relaxed);
    let mut acked: Vec<Acked> = Vec::new();
    for c in appenders {
        acked.extend(c.await.unwrap());
    }
    let mut acked_bookings: Vec<AckedBooking> = Vec::new();
    for c in bookers {
        acked_bookings.extend(c.await.unwrap());
    }
    drop(daemon);
    assert!(
        acked.len() >= ENTRIES_BEFORE_KILL,
        "{} acknowledged",
        acked.len()
    );
    assert!(acked_bookings.len() >= BOOKINGS_BEFORE_KILL);
    let approvals = acked_bookings.iter().filter(|b| b.approved).count();
    assert!(approvals > 0, "no approval acknowledged");

    // Restart on the same data dir: every acknowledged entry is there, as it was.
    let daemon = data.start().await;
    let admin = daemon.login("quantri", ADMIN_PW).await;
    let operator = daemon.login("dieuhanh", OPERATOR_PW).await;
    let r = daemon
        .call("GET", &format!("{LOGBOOK}?limit=1000"), Some(&admin), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = r.body.as_array().unwrap().clone();
    eprintln!(
        "{} entries, {} bookings ({approvals} approvals) acknowledged before kill -9; {} entries stored after the restart",
        acked.len(),
        acked_bookings.len(),
        stored.len()
    );
    assert!(
        stored.len() > acked.len(),
        "the phase entry and every acknowledged one"
    );
    for (seq, text, hash) in &acked {
        let e = stored
            .iter()
            .find(|e| e["seq"].as_i64() == Some(*seq))
            .unwrap_or_else(|| panic!("acknowledged entry {seq} lost"));
        assert_eq!(e["text"], text.as_str(), "entry {seq}");
        assert_eq!(e["hash"], hash.as_str(), "entry {seq}");
    }
    let v = daemon
        .call("GET", &format!("{LOGBOOK}/verify"), Some(&admin), None)
        .await;
    assert_eq!(v.body["intact"], true, "{}", v.body);
    assert_eq!(v.body["entries"].as_u64(), Some(stored.len() as u64));

    // Every acknowledged booking, with its participants and agenda; an
    // acknowledged approval with its conference and one notice per endpoint.
    let outbox = daemon
        .call("GET", "/api/v1/outbox?limit=500", Some(&operator), None)
        .await;
    assert_eq!(outbox.status, 200, "{}", outbox.body);
    let messages = outbox.body["messages"].as_array().unwrap();
    assert!(messages.len() < 500, "the whole outbox in one page");
    for b in &acked_bookings {
        let r = daemon
            .call(
                "GET",
                &format!("/api/v1/bookings/{}", b.id),
                Some(&operator),
                None,
            )
            .await;
        assert_eq!(
            r.status, 200,
            "acknowledged booking {} lost: {}",
            b.id, r.body
        );
        let got = &r.body;
        for field in [
            "title",
            "organising_unit",
            "chair",
            "start_at",
            "end_at",
            "kind",
            "recording",
        ] {
            assert_eq!(got[field], b.request[field], "booking {} {field}", b.id);
        }
        assert_eq!(
            got["participants"],
            json!(["son-duong", "ubnd-tinh"]),
            "booking {}",
            b.id
        );
        let sent = b.request["scenario"].as_array().unwrap();
        let kept = got["scenario"].as_array().unwrap();
        assert_eq!(kept.len(), sent.len(), "booking {} agenda", b.id);
        for (k, s) in kept.iter().zip(sent) {
            for field in ["title", "speaker", "layout", "planned_minutes"] {
                assert_eq!(k[field], s[field], "booking {} agenda {field}", b.id);
            }
        }
        if b.approved {
            let conference = format!("booking-{}", b.id);
            assert_eq!(
                (got["status"].as_str(), got["conference_id"].as_str()),
                (Some("approved"), Some(conference.as_str())),
                "booking {}",
                b.id
            );
            let c = daemon
                .call(
                    "GET",
                    &format!("/api/v1/conferences/{conference}"),
                    Some(&operator),
                    None,
                )
                .await;
            assert_eq!(c.status, 200, "{}", c.body);
            let mut notified: Vec<&str> = messages
                .iter()
                .filter(|m| m["booking_id"].as_i64() == Some(b.id) && m["event"] == "approved")
                .map(|m| m["endpoint_id"].as_str().unwrap())
                .collect();
            notified.sort();
            assert_eq!(
                notified,
                ["son-duong", "ubnd-tinh"],
                "booking {} notices",
                b.id
            );
        } else {
            assert_ne!(got["status"], "cancelled");
        }
    }

    // The chain goes on after the restart.
    let r = daemon
        .call(
            "POST",
            LOGBOOK,
            Some(&admin),
            Some(json!({"category": "incident", "text": "Dịch vụ khởi động lại sau sự cố", "remedy": "Kiểm tra sổ: đủ, toàn vẹn"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["seq"].as_u64(), Some(stored.len() as u64 + 1));
    assert_eq!(r.body["prev_hash"], stored.last().unwrap()["hash"]);
}
