//! Shared by the endpoint's integration tests: a daemon started in-process
//! on loopback with a config written for the test (its own data dir in a temp
//! dir), synthetic endpoints trusting its certificate, polling with
//! deadlines, and the daemon's log lines captured for assertions.
#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mcu_endpoint::picture::PALETTE;
use mcu_endpoint::signalling::tls_config;
use mcu_endpoint::{Endpoint, EndpointConfig, LiveState, tone_for};
use mcu_signalling::protocol::{ConferenceId, DisplayName, EndpointId, JoinToken};
use mcud::config::{ConferenceConfig, Config, EndpointConfig as McuEndpoint, ServerConfig};

pub const CONFERENCE: &str = "hop-thu-dau-cuoi";

/// Endpoint ids of the tests and their join tokens (long, random-looking).
pub const ENDPOINTS: [(&str, &str); 4] = [
    ("dau-cuoi-1", "t1-9f3c2a7b5e1d4c8a6b0e"),
    ("dau-cuoi-2", "t2-4b8e1f6a2c9d7e3b5a1f"),
    ("dau-cuoi-3", "t3-7d2a5c9e1b4f8a6c3e0d"),
    ("dau-cuoi-4", "t4-1e6b3d8f5a2c9e7b4d6a"),
];

/// One test at a time: each runs a 720p media thread and several encoders
/// on a 2-core machine; frame-rate checks must not measure tests starving
/// each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The daemon's log lines (every test binary installs one subscriber).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

pub fn logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || writer.clone())
            .try_init();
        logs
    })
    .clone()
}

pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The daemon, in-process on its own runtime; shut down on drop.
pub struct Mcu {
    runtime: tokio::runtime::Runtime,
    running: Option<mcud::server::Running>,
    pub addr: SocketAddr,
    pub cert_pem: Vec<u8>,
    pub logs: Logs,
    _data: TempDir,
}

impl Mcu {
    /// A daemon with one conference of `layout` inviting [`ENDPOINTS`]; the
    /// config is written to a TOML file in the temp dir and loaded from it.
    pub fn start(layout: &str) -> Mcu {
        let logs = logs();
        let data = TempDir::new("mcu-endpoint-test");
        let endpoints = ENDPOINTS
            .iter()
            .map(|(id, token)| McuEndpoint {
                id: EndpointId::new(*id).expect("endpoint id"),
                name: DisplayName::new(format!("Điểm cầu {id}")).expect("name"),
                token: JoinToken::new(*token).expect("token"),
            })
            .collect();
        let config = Config {
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                data_dir: data.0.clone(),
                ..ServerConfig::default()
            },
            tls: None,
            conferences: vec![ConferenceConfig {
                id: ConferenceId::new(CONFERENCE).expect("conference id"),
                title: DisplayName::new("Hội nghị thử điểm cầu tổng hợp").expect("title"),
                layout: layout.into(),
                chair: None,
                endpoints,
                links: Vec::new(),
            }],
            quality: Default::default(),
            media: Default::default(),
            booking: Default::default(),
            notify: Default::default(),
            recording: Default::default(),
            readiness: Default::default(),
            cascade: None,
        };
        config.validate().expect("valid config");
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let running = runtime
            .block_on(mcud::server::start(&config))
            .unwrap_or_else(|e| panic!("mcud::server::start: {e}"));
        let addr = running.addr;
        let cert_pem = std::fs::read(&running.identity.cert_path).expect("daemon certificate");
        Mcu {
            runtime,
            running: Some(running),
            addr,
            cert_pem,
            logs,
            _data: data,
        }
    }

    pub fn url(&self) -> String {
        format!("wss://localhost:{}/ws", self.addr.port())
    }

    /// The configuration of endpoint `i` of [`ENDPOINTS`]: colour
    /// `PALETTE[i]`, tone `tone_for(i)`, listening for every test tone.
    pub fn endpoint_config(&self, i: usize) -> EndpointConfig {
        let tls = tls_config(Some(&self.cert_pem)).expect("tls config");
        let (id, token) = ENDPOINTS[i];
        let mut c = EndpointConfig::new(&self.url(), tls, CONFERENCE, id, token);
        c.index = i as u8;
        c.colour = PALETTE[i];
        c.tone_hz = tone_for(i);
        c.listen_hz = (0..ENDPOINTS.len()).map(tone_for).collect();
        c
    }

    pub fn spawn(&self, i: usize) -> Endpoint {
        Endpoint::spawn(self.endpoint_config(i)).expect("endpoint thread")
    }
}

impl Drop for Mcu {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = self
                .runtime
                .block_on(running.shutdown(Duration::from_secs(2)));
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or fails with `what`
/// and the last state seen after `timeout`.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(t) => return t,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits until an endpoint is connected and decoding the composite.
pub fn wait_decoding(e: &Endpoint, name: &str) {
    wait_for(Duration::from_secs(15), &format!("{name} decoding"), || {
        let l = e.live();
        if let Some(err) = &l.error {
            panic!("{name} failed: {err}");
        }
        if l.connected && l.frames_decoded > 0 {
            Ok(())
        } else {
            Err(format!("{l:?}"))
        }
    })
}

/// Which endpoint indices the tiles of `live` show (by their stamps).
pub fn shown(live: &LiveState) -> Vec<u8> {
    let mut v: Vec<u8> = live.tiles.iter().filter_map(|t| t.endpoint_index).collect();
    v.sort_unstable();
    v
}

/// Starts endpoints `0..n`, waits until each decodes and sees all `n`
/// (stamps in its tiles, ids in its roster).
pub fn start_all(mcu: &Mcu, n: usize) -> Vec<Endpoint> {
    let eps: Vec<_> = (0..n).map(|i| mcu.spawn(i)).collect();
    for (i, e) in eps.iter().enumerate() {
        wait_decoding(e, &format!("endpoint {i}"));
    }
    let all: Vec<u8> = (0..n as u8).collect();
    for (i, e) in eps.iter().enumerate() {
        wait_for(
            Duration::from_secs(10),
            &format!("endpoint {i} sees all {n}"),
            || {
                let l = e.live();
                if shown(&l) == all && l.roster.len() == n {
                    Ok(())
                } else {
                    Err(format!(
                        "shown {:?}, roster {:?}, tiles {:?}",
                        shown(&l),
                        l.roster,
                        l.tiles
                    ))
                }
            },
        );
    }
    eps
}

/// Waits until every endpoint in `watchers` has `gone` neither in its tiles
/// nor in its roster, and still sees `staying`.
pub fn wait_gone(watchers: &[&Endpoint], gone: usize, staying: &[u8], timeout: Duration) {
    let gone_id = ENDPOINTS[gone].0;
    for (i, e) in watchers.iter().enumerate() {
        wait_for(
            timeout,
            &format!("watcher {i} sees endpoint {gone} gone"),
            || {
                let l = e.live();
                if let Some(err) = &l.error {
                    panic!("watcher {i} failed: {err}");
                }
                let in_roster = l.roster.iter().any(|r| r == gone_id);
                let tiles = shown(&l);
                if !in_roster && tiles == staying && l.tiles.iter().any(|t| t.empty) {
                    Ok(())
                } else {
                    Err(format!(
                        "roster {:?}, shown {tiles:?}, tiles {:?}",
                        l.roster, l.tiles
                    ))
                }
            },
        );
    }
}
