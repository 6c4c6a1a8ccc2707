//! `mcud serve` signalling over real TLS WebSockets: joins, roster events,
//! and every refusal with its stable code — and nothing else in the
//! conference changes when a join is refused.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcu_signalling::protocol::{ErrorCode, ServerMessage, parse_server_message};
use mcud::config::Config;
use mcud::server::{Running, start};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    running: Running,
    config: Config,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn server(name: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("mcud-sig-{name}-{}", std::process::id()));
    let mut n = 0;
    let mut config = Config::embedded_default(|| {
        n += 1;
        format!("test-token-{n:02}-0123456789")
    })
    .unwrap();
    config.server.data_dir = dir.clone();
    let running = start(&config).await.expect("server starts");
    Server {
        running,
        config,
        _dir: TempDir(dir),
    }
}

impl Server {
    fn token(&self, endpoint: usize) -> String {
        self.config.conferences[0].endpoints[endpoint]
            .token
            .as_str()
            .to_owned()
    }

    fn endpoint(&self, endpoint: usize) -> String {
        self.config.conferences[0].endpoints[endpoint]
            .id
            .as_str()
            .to_owned()
    }

    async fn connect(&self) -> Ws {
        // Trust exactly the certificate the server generated.
        let pem = std::fs::read(&self.running.identity.cert_path).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pem_certs(&pem) {
            roots.add(cert).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let url = format!("wss://localhost:{}/ws", self.running.addr.port());
        let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            url,
            None,
            false,
            Some(Connector::Rustls(Arc::new(tls))),
        )
        .await
        .expect("websocket over TLS connects");
        ws
    }

    async fn join(&self, endpoint: usize) -> Ws {
        let mut ws = self.connect().await;
        send(
            &mut ws,
            &join_frame("demo", &self.endpoint(endpoint), &self.token(endpoint)),
        )
        .await;
        match next(&mut ws).await {
            ServerMessage::Joined(j) => assert_eq!(j.conference_id.as_str(), "demo"),
            other => panic!("expected joined, got {other:?}"),
        }
        ws
    }
}

fn rustls_pem_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

fn join_frame(conference: &str, endpoint: &str, token: &str) -> String {
    format!(
        r#"{{"v":1,"type":"join","conference_id":"{conference}","endpoint_id":"{endpoint}","token":"{token}"}}"#
    )
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next server message (5 s at most).
async fn next(ws: &mut Ws) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("socket open")
            .expect("readable frame");
        if let Message::Text(t) = frame {
            return parse_server_message(t.as_str()).expect("server speaks the protocol");
        }
    }
}

/// Skips roster events until the next one that is not.
async fn next_non_roster(ws: &mut Ws) -> ServerMessage {
    loop {
        match next(ws).await {
            ServerMessage::RosterChanged(_) => continue,
            other => return other,
        }
    }
}

async fn roster_len(ws: &mut Ws) -> usize {
    match next(ws).await {
        ServerMessage::RosterChanged(r) => r.roster.len(),
        other => panic!("expected roster_changed, got {other:?}"),
    }
}

fn assert_error(msg: ServerMessage, code: ErrorCode) {
    match msg {
        ServerMessage::Error(e) => {
            assert_eq!(e.code, code, "{}", e.message);
            assert_eq!(e.fatal, code.is_fatal());
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

async fn expect_close(ws: &mut Ws, code: u16) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("close within 5 s");
        match frame {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), code);
                return;
            }
            Some(Ok(Message::Close(None))) | None => panic!("closed without code {code}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before close {code}: {e}"),
        }
    }
}

#[tokio::test]
async fn joins_and_leaves_are_seen_by_everyone_in_the_conference() {
    let s = server("roster").await;
    let mut a = s.join(0).await;
    assert_eq!(roster_len(&mut a).await, 1);
    let mut b = s.join(1).await;
    assert_eq!(roster_len(&mut a).await, 2);
    assert_eq!(roster_len(&mut b).await, 2);
    // b's name comes through byte-exact.
    send(
        &mut b,
        r#"{"v":1,"type":"set_mute","media":"audio","muted":true}"#,
    )
    .await;
    match next(&mut a).await {
        ServerMessage::RosterChanged(r) => {
            let e = r
                .roster
                .iter()
                .find(|e| e.endpoint_id.as_str() == "ubnd-son-duong")
                .unwrap();
            assert!(e.audio_muted);
            assert_eq!(e.display_name.as_str(), "UBND huyện Sơn Dương");
        }
        other => panic!("{other:?}"),
    }
    send(&mut b, r#"{"v":1,"type":"leave"}"#).await;
    expect_close(&mut b, 1000).await;
    assert_eq!(roster_len(&mut a).await, 1);
    // A socket that just vanishes is removed too.
    let c = s.join(2).await;
    assert_eq!(roster_len(&mut a).await, 2);
    drop(c);
    assert_eq!(roster_len(&mut a).await, 1);
    s.running.shutdown(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test]
async fn bad_input_gets_its_code_and_changes_nothing() {
    let s = server("errors").await;
    let mut a = s.join(0).await;
    assert_eq!(roster_len(&mut a).await, 1);

    // Not fatal: malformed JSON, unknown type, messages before join.
    let mut x = s.connect().await;
    send(&mut x, "{not json").await;
    assert_error(next(&mut x).await, ErrorCode::MalformedMessage);
    send(&mut x, r#"{"v":1,"type":"dance"}"#).await;
    assert_error(next(&mut x).await, ErrorCode::UnknownMessageType);
    send(&mut x, r#"{"v":1,"type":"request_floor"}"#).await;
    assert_error(next(&mut x).await, ErrorCode::NotJoined);
    x.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_error(next(&mut x).await, ErrorCode::MalformedMessage);

    // Fatal, with their close codes.
    send(&mut x, &join_frame("khong-co", &s.endpoint(1), &s.token(1))).await;
    assert_error(next(&mut x).await, ErrorCode::UnknownConference);
    expect_close(&mut x, 4002).await;

    let mut y = s.connect().await;
    send(&mut y, &join_frame("demo", &s.endpoint(1), &s.token(2))).await;
    assert_error(next(&mut y).await, ErrorCode::BadToken);
    expect_close(&mut y, 4003).await;

    let mut z = s.connect().await;
    send(&mut z, r#"{"v":7,"type":"leave"}"#).await;
    assert_error(next(&mut z).await, ErrorCode::UnsupportedVersion);
    expect_close(&mut z, 4001).await;

    let mut big = s.connect().await;
    send(
        &mut big,
        &format!(r#"{{"v":1,"type":"leave","pad":"{}"}}"#, "x".repeat(70_000)),
    )
    .await;
    assert_error(next(&mut big).await, ErrorCode::MessageTooLarge);
    expect_close(&mut big, 1009).await;

    // A second join with an endpoint id already in the conference.
    let mut dup = s.connect().await;
    send(&mut dup, &join_frame("demo", &s.endpoint(0), &s.token(0))).await;
    assert_error(next(&mut dup).await, ErrorCode::AlreadyJoined);

    // None of that touched the conference: a is still alone and was told nothing.
    send(&mut a, r#"{"v":1,"type":"request_floor"}"#).await;
    match next_non_roster(&mut a).await {
        ServerMessage::FloorRequestAcknowledged(f) => assert!(f.pending),
        other => panic!("a got {other:?}"),
    }
    let mut b = s.join(1).await;
    assert_eq!(
        roster_len(&mut b).await,
        2,
        "only a and b are in the conference"
    );
    drop(b);
    s.running.shutdown(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test]
async fn shutdown_says_goodbye_to_every_session() {
    let s = server("shutdown").await;
    let mut a = s.join(0).await;
    let _ = roster_len(&mut a).await;
    let Server { running, _dir, .. } = s;
    let shutdown = tokio::spawn(running.shutdown(Duration::from_secs(2)));
    expect_close(&mut a, 1001).await;
    shutdown.await.unwrap().unwrap();
}

/// Waits up to `within` for a STUN Binding request on `probe`.
async fn binding_request(probe: &tokio::net::UdpSocket, within: Duration) -> bool {
    let mut buf = [0u8; 1500];
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, probe.recv_from(&mut buf)).await {
        // Type 0x0001 (Binding request) and the magic cookie.
        if n >= 20 && buf[..2] == [0, 1] && buf[4..8] == [0x21, 0x12, 0xa4, 0x42] {
            return true;
        }
    }
    false
}

fn candidate_frame(probe: &tokio::net::UdpSocket) -> String {
    let port = probe.local_addr().unwrap().port();
    serde_json::json!({
        "v": 1,
        "type": "candidate",
        "candidate": format!("candidate:7 1 udp 2130706431 127.0.0.1 {port} typ host"),
        "sdp_mid": "0",
        "sdp_m_line_index": 0,
    })
    .to_string()
}

#[tokio::test]
async fn trickled_candidates_are_checked_before_and_after_the_answer() {
    use mcu_signalling::webrtc::{ClientSession, ClientSessionConfig};
    let s = server("trickle").await;
    let mut ws = s.join(0).await;
    // An offer as a browser sends it before gathering: no candidates in it.
    #[allow(clippy::disallowed_methods)] // the session's start time
    let now = std::time::Instant::now();
    let host: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut client = ClientSession::new(now, ClientSessionConfig::new(host, 7)).unwrap();
    let offer: String = client
        .create_offer(now)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of-candidates"))
        .flat_map(|l| [l, "\r\n"])
        .collect();
    let early = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let late = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // One candidate comes before the offer (kept until it is answered)…
    send(&mut ws, &candidate_frame(&early)).await;
    let offer_frame = serde_json::json!({"v": 1, "type": "offer", "sdp": offer}).to_string();
    send(&mut ws, &offer_frame).await;
    match next_non_roster(&mut ws).await {
        ServerMessage::Answer(_) => {}
        other => panic!("expected an answer, got {other:?}"),
    }
    // …one after it, then the end of the gathering.
    send(&mut ws, &candidate_frame(&late)).await;
    send(&mut ws, r#"{"v":1,"type":"end_of_candidates"}"#).await;
    let (early_checked, late_checked) = tokio::join!(
        binding_request(&early, Duration::from_secs(5)),
        binding_request(&late, Duration::from_secs(5)),
    );
    assert!(
        early_checked,
        "the MCU checks the candidate sent before the offer"
    );
    assert!(
        late_checked,
        "the MCU checks the candidate trickled after the answer"
    );
    // A candidate it cannot use (an mDNS name) is no error to the endpoint.
    let mdns = serde_json::json!({"v": 1, "type": "candidate",
        "candidate": "candidate:8 1 udp 2130706431 0d6c1e57-a5b3.local 50000 typ host"});
    send(&mut ws, &mdns.to_string()).await;
    send(&mut ws, r#"{"v":1,"type":"leave"}"#).await;
    while let Some(Ok(frame)) = ws.next().await {
        match frame {
            Message::Text(t) => {
                let msg = parse_server_message(t.as_str()).unwrap();
                assert!(!matches!(msg, ServerMessage::Error(_)), "{msg:?}");
            }
            Message::Close(f) => {
                assert_eq!(f.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
            _ => {}
        }
    }
    s.running.shutdown(Duration::from_secs(2)).await.unwrap();
}
