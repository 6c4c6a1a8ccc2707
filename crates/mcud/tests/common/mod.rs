//! What the daemon's integration tests share: a temp data dir, a config with
//! no conference, TLS trusting the daemon's own certificate, one HTTPS
//! request (to an in-process daemon, or by address to an `mcud` process), a
//! login; [`process`]: `mcud` as a child process, to kill and restart.
#![allow(dead_code)]

pub mod process;

use std::sync::Arc;
use std::time::Duration;

use mcud::config::Config;
use mcud::server::Running;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::embedded_default(|| "unused-config-token-0123456789".into()).unwrap();
    config.server.data_dir = dir.to_owned();
    config.conferences.clear();
    config
}

pub fn tls(running: &Running) -> Arc<rustls::ClientConfig> {
    tls_trusting(&std::fs::read(&running.identity.cert_path).unwrap())
}

/// A client that trusts only the certificate(s) in `pem`.
pub fn tls_trusting(pem: &[u8]) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

pub struct Response {
    pub status: u16,
    pub headers: String,
    /// The body as JSON (`Null` when it is not).
    pub body: Value,
    /// The body as text.
    pub text: String,
    /// The body as bytes (pictures).
    pub bytes: Vec<u8>,
}

/// One HTTPS request (HTTP/1.1, `Connection: close`).
pub async fn https(
    running: &Running,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    try_https(running.addr, tls(running), method, path, token, body)
        .await
        .unwrap()
}

/// One HTTPS request to `addr`; an error when the connection fails (a
/// daemon that is not up, or was killed mid-request).
pub async fn try_https(
    addr: std::net::SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> std::io::Result<Response> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        headers: head.to_owned(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
        bytes: raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| raw[i + 4..].to_vec())
            .unwrap_or_default(),
    })
}

pub async fn login(running: &Running, user: &str, password: &str) -> String {
    let r = https(
        running,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await;
    assert_eq!(r.status, 200, "login {user}: {}", r.body);
    assert!(
        r.headers.contains("HttpOnly") && r.headers.contains("Secure"),
        "{}",
        r.headers
    );
    r.body["token"].as_str().unwrap().to_owned()
}

/// Password of the admin `quantri` made by [`create_admin_and_operator`].
pub const ADMIN_PW: &str = "quản-trị-viên-mạnh";
/// Password of the operator `dieuhanh`.
pub const OPERATOR_PW: &str = "điều-hành-viên-mạnh";

/// The accounts every daemon test starts from, made as `mcud admin create-user` does.
pub async fn create_admin_and_operator(config: &Config) {
    use mcu_store::Role;
    for (user, role, pw) in [
        ("quantri", Role::Admin, ADMIN_PW),
        ("dieuhanh", Role::Operator, OPERATOR_PW),
    ] {
        let account = mcud::admin::NewAccount {
            username: user.into(),
            role,
            display_name: user.into(),
            endpoints: vec![],
        };
        mcud::admin::create_user(config, &account, pw)
            .await
            .unwrap();
    }
}

/// A conference set up and started through the API: the admin enters each
/// room `(id, name, chair-capable)` in the directory and issues its dial-in
/// token, the operator creates the conference (the first room chairs), with
/// every cascade link of this MCU taking part, and starts it. Returns the
/// operator's session and the rooms' tokens.
pub async fn start_conference(
    running: &Running,
    conference: &str,
    layout: &str,
    rooms: &[(&str, &str, bool)],
) -> (String, Vec<String>) {
    start_conference_linked(running, conference, layout, rooms, None).await
}

/// [`start_conference`] naming the cascade links `links` (`None`: all of
/// this MCU's neighbours).
pub async fn start_conference_linked(
    running: &Running,
    conference: &str,
    layout: &str,
    rooms: &[(&str, &str, bool)],
    links: Option<&[&str]>,
) -> (String, Vec<String>) {
    let (op, tokens) = create_rooms(running, rooms).await;
    let participants: Vec<&str> = rooms.iter().map(|r| r.0).collect();
    let links: Vec<Value> = match links {
        Some(l) => l.iter().map(|m| json!({"mcu": m})).collect(),
        None => {
            let r = https(
                running,
                "GET",
                "/api/v1/cascade/neighbours",
                Some(&op),
                None,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
                .as_array()
                .unwrap()
                .iter()
                .map(|n| json!({"mcu": n["mcu"]["id"]}))
                .collect()
        }
    };
    let body = json!({"id": conference, "title": "Giao ban trực tuyến", "chair": rooms[0].0,
        "layout": layout, "participants": participants, "links": links});
    let r = https(
        running,
        "POST",
        "/api/v1/conferences",
        Some(&op),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let path = format!("/api/v1/conferences/{conference}/start");
    let r = https(running, "POST", &path, Some(&op), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (op, tokens)
}

/// Creates the rooms `(id, name, chair-capable)` in the directory with a
/// dial-in token each: the operator's session token and the rooms' tokens.
pub async fn create_rooms(
    running: &Running,
    rooms: &[(&str, &str, bool)],
) -> (String, Vec<String>) {
    let admin = login(running, "quantri", ADMIN_PW).await;
    let mut tokens = Vec::new();
    for (id, name, chair) in rooms {
        let level = if *chair { "province" } else { "district" };
        let body = json!({"id": id, "name": name, "level": level, "chair_capable": chair, "owner_mcu": "tuyen-quang"});
        let r = https(
            running,
            "POST",
            "/api/v1/endpoints",
            Some(&admin),
            Some(body),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let path = format!("/api/v1/endpoints/{id}/token");
        let r = https(running, "POST", &path, Some(&admin), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        tokens.push(r.body["token"].as_str().unwrap().to_owned());
    }
    let op = login(running, "dieuhanh", OPERATOR_PW).await;
    (op, tokens)
}

/// A WebSocket to the daemon over TLS.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The console's events socket of a conference, opened with a bearer token.
pub async fn events(running: &Running, conference: &str, token: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!(
        "wss://localhost:{}/api/v1/conferences/{conference}/events",
        running.addr.port()
    );
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(tls(running))),
    )
    .await
    .unwrap();
    ws
}

/// The next event of `kind` on an events socket (5 s at most).
pub async fn next_event(ws: &mut Ws, kind: &str) -> Value {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event in 5 s");
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = frame {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

/// A daemon of its own for one test: data under a fresh temp dir
/// `mcud-<name>-<pid>` (removed when the guard drops), the test's settings
/// applied by `configure`, an admin and an operator created; started.
pub async fn daemon(name: &str, configure: impl FnOnce(&mut Config)) -> (TempDir, Running) {
    let dir = std::env::temp_dir().join(format!("mcud-{name}-{}", std::process::id()));
    let guard = TempDir(dir.clone());
    let mut config = config(&dir);
    configure(&mut config);
    create_admin_and_operator(&config).await;
    let running = mcud::server::start(&config).await.unwrap();
    (guard, running)
}

/// A running conference's quality view (`GET …/quality`), as the operator `op` sees it.
pub async fn quality(running: &Running, op: &str, conference: &str) -> Value {
    let path = format!("/api/v1/conferences/{conference}/quality");
    let r = https(running, "GET", &path, Some(op), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// One of a conference's figures on `/metrics` (`None`: absent).
pub async fn metric(running: &Running, conference: &str, name: &str) -> Option<f64> {
    let metrics = https(running, "GET", "/metrics", None, None).await;
    let prefix = format!("{name}{{conference=\"{conference}\"}} ");
    metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
}

/// Synthetic endpoints (`mcu-endpoint`) joining `conference`, one per room
/// with its token: the i-th gets index i and the i-th palette colour, and
/// does not analyse its picture unless `tweak` says otherwise.
pub fn spawn_endpoints(
    running: &Running,
    conference: &str,
    rooms: &[&str],
    tokens: &[String],
    tweak: impl Fn(usize, &mut mcu_endpoint::EndpointConfig),
) -> Vec<mcu_endpoint::Endpoint> {
    let pem = std::fs::read(&running.identity.cert_path).unwrap();
    let url = format!("wss://localhost:{}/ws", running.addr.port());
    rooms
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let tls = mcu_endpoint::signalling::tls_config(Some(&pem)).unwrap();
            let mut c = mcu_endpoint::EndpointConfig::new(&url, tls, conference, id, &tokens[i]);
            c.index = i as u8;
            c.colour = mcu_endpoint::picture::PALETTE[i % mcu_endpoint::picture::PALETTE.len()];
            c.analyse_video = false;
            tweak(i, &mut c);
            tokio::task::block_in_place(|| mcu_endpoint::Endpoint::spawn(c)).unwrap()
        })
        .collect()
}

/// Whether a `#rrggbb` tile colour is (about) a palette colour.
pub fn looks_like(hex: &str, (r, g, b): (u8, u8, u8)) -> bool {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16).ok();
    match (channel(1), channel(3), channel(5)) {
        (Some(hr), Some(hg), Some(hb)) => {
            let near = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs() <= 40;
            near(hr, r) && near(hg, g) && near(hb, b)
        }
        _ => false,
    }
}

/// One MCU of a cascade tree; `url`: the running daemon others dial for it
/// (its address and certificate).
pub fn cascade_mcu(
    id: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    url: Option<&Running>,
) -> mcud::cascade_config::McuConfig {
    mcud::cascade_config::McuConfig {
        id: id.into(),
        name: name.into(),
        level: serde_json::from_value(json!(level)).unwrap(),
        parent: parent.map(Into::into),
        standby: None,
        url: url.map(|r| format!("https://{}", r.addr)),
        ca_file: url.map(|r| r.identity.cert_path.clone()),
    }
}
