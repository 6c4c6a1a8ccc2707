//! Logbook durability (R12): the real `mcud` binary on a SQLite data dir,
//! two clients appending logbook entries through the API as fast as it
//! answers, `kill -9` in the middle of the stream, a restart on the same
//! data dir — and every entry the daemon acknowledged is there, unchanged,
//! and the hash chain verifies.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{ADMIN_PW, OPERATOR_PW, Response, TempDir, tls_trusting, try_https};
use serde_json::{Value, json};

const CONFERENCE: &str = "giao-ban-truc-tuyen";
const LOGBOOK: &str = "/api/v1/conferences/giao-ban-truc-tuyen/logbook";

struct Daemon {
    child: Child,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mcud serve` and waits until it answers over TLS.
async fn start(dir: &std::path::Path, config: &std::path::Path, addr: SocketAddr) -> Daemon {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("mcud.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mcud"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start mcud");
    // Owned at once, so a failed start still kills the process.
    let mut daemon = Daemon {
        child,
        addr,
        tls: tls_trusting(b""),
    };
    let cert = dir.join("tls").join("cert.pem");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(pem) = std::fs::read(&cert) {
            daemon.tls = tls_trusting(&pem);
            let me = try_https(
                addr,
                daemon.tls.clone(),
                "GET",
                "/api/v1/auth/me",
                None,
                None,
            )
            .await;
            if me.is_ok_and(|r| r.status == 401) {
                return daemon;
            }
        }
        assert!(
            Instant::now() < deadline,
            "mcud did not come up in 60 s; see {}",
            dir.join("mcud.log").display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(
    d: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    try_https(d.addr, d.tls.clone(), method, path, token, body)
        .await
        .unwrap()
}

async fn login(d: &Daemon, user: &str, password: &str) -> String {
    let r = call(
        d,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await;
    assert_eq!(r.status, 200, "login {user}: {}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

/// An entry the daemon acknowledged: seq, text, hash.
type Acked = (i64, String, String);

/// Appends entries until `stop`, keeping each one answered 201.
async fn appender(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    token: String,
    name: &'static str,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
) -> Vec<Acked> {
    let mut acked = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let text = format!("Máy {name}, mục {i}: kiểm tra đường truyền điểm cầu Sơn Dương");
        let body = json!({"category": "note", "text": text});
        match try_https(addr, tls.clone(), "POST", LOGBOOK, Some(&token), Some(body)).await {
            Ok(r) if r.status == 201 => {
                assert_eq!(r.body["text"], text.as_str(), "{}", r.body);
                acked.push((
                    r.body["seq"].as_i64().unwrap(),
                    text,
                    r.body["hash"].as_str().unwrap().to_owned(),
                ));
                count.fetch_add(1, Ordering::Relaxed);
            }
            // Not acknowledged: the daemon died before or while answering.
            Ok(_) | Err(_) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_logbook_entries_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("mcud-logbook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _guard = TempDir(dir.clone());
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let config_path = dir.join("mcud.toml");
    std::fs::write(
        &config_path,
        format!(
            "[server]\nlisten = \"{addr}\"\ndata_dir = \"{}\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let config = mcud::config::Config::load(&config_path).unwrap();
    common::create_admin_and_operator(&config).await;

    let daemon = start(&dir, &config_path, addr).await;
    let admin = login(&daemon, "quantri", ADMIN_PW).await;
    let operator = login(&daemon, "dieuhanh", OPERATOR_PW).await;
    let endpoint = json!({"id": "son-duong", "name": "UBND huyện Sơn Dương", "level": "district", "owner_mcu": "tuyen-quang"});
    let r = call(
        &daemon,
        "POST",
        "/api/v1/endpoints",
        Some(&admin),
        Some(endpoint),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let conference = json!({"id": CONFERENCE, "title": "Giao ban trực tuyến", "layout": "2x2", "participants": ["son-duong"]});
    let r = call(
        &daemon,
        "POST",
        "/api/v1/conferences",
        Some(&operator),
        Some(conference),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Two clients append; kill -9 once a good number are acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = [("A", admin.clone()), ("B", operator.clone())]
        .into_iter()
        .map(|(name, token)| {
            tokio::spawn(appender(
                daemon.addr,
                daemon.tls.clone(),
                token,
                name,
                stop.clone(),
                count.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::Relaxed) < 80 {
        assert!(Instant::now() < deadline, "appends too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut daemon = daemon;
    daemon.child.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    daemon.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut acked: Vec<Acked> = Vec::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    drop(daemon);
    assert!(acked.len() >= 80, "{} acknowledged", acked.len());

    // Restart on the same data dir: every acknowledged entry is there, as it was.
    let daemon = start(&dir, &config_path, addr).await;
    let admin = login(&daemon, "quantri", ADMIN_PW).await;
    let r = call(
        &daemon,
        "GET",
        &format!("{LOGBOOK}?limit=1000"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = r.body.as_array().unwrap().clone();
    eprintln!(
        "{} entries acknowledged before kill -9, {} stored after the restart",
        acked.len(),
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
    let v = call(
        &daemon,
        "GET",
        &format!("{LOGBOOK}/verify"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(v.body["intact"], true, "{}", v.body);
    assert_eq!(v.body["entries"].as_u64(), Some(stored.len() as u64));

    // The chain goes on after the restart.
    let r = call(
        &daemon,
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
