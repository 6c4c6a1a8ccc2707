//! `mcud cascade-demo`: the four example MCUs of `config/cascade/` —
//! Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành — started in one process
//! on loopback, each with synthetic rooms in one conference, so a newcomer
//! sees a four-level cascade with one command. Paths in the example files are
//! relative to the working directory (the repository root).
//!
//! It starts afresh every time: it deletes the example MCUs' data
//! directories (`data/cascade/<id>`: stores, certificates), writes a new
//! random secret for every link, and creates on each MCU an administrator `quantri` and an
//! operator `dieuhanh` with one random password for this run. Then, from the master down (a child checks
//! its parent's certificate, which the parent generates on its first start),
//! it imports each MCU's rooms into its directory, starts it, and sets the
//! conference up through its control API as an operator would: dial-in
//! tokens for the rooms; on the master the conference `giao-ban-demo`
//! created, naming the province's link, and started. Below the master the
//! bookings travel down (`open_counterparts` in the example configs): each
//! MCU opens its counterpart of its parent's conference by itself, with its
//! rooms, and follows it live; the demo only names each counterpart's link
//! further down, as the local operator would. Every room but the master's
//! chair is a synthetic room; the chair's join URL is printed.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{Config, random_token};
use crate::server::{self, Running};
use mcu_signalling::protocol::{ConferenceId, EndpointId};

/// The example MCUs, from the master down.
pub const MCUS: [&str; 4] = ["central", "tuyen-quang", "son-duong", "hop-thanh"];

/// The demo's administrator and operator on every MCU (one password).
pub const ADMIN: &str = "quantri";
/// See [`ADMIN`].
pub const OPERATOR: &str = "dieuhanh";

/// The conference every level opens.
pub const CONFERENCE: &str = "giao-ban-demo";

/// A demo room: id, name, level, colour, tone.
type Room = (&'static str, &'static str, &'static str, (u8, u8, u8), f64);

/// Each MCU's rooms. The first room of the master chairs and is left free
/// for a browser.
const ROOMS: [&[Room]; 4] = [
    &[
        ("chu-toa", "Văn phòng Chính phủ", "central", (0, 0, 0), 0.0),
        (
            "bo-tttt",
            "Bộ Thông tin và Truyền thông",
            "central",
            (150, 60, 180),
            880.0,
        ),
    ],
    &[(
        "ubnd-tinh-tuyen-quang",
        "UBND tỉnh Tuyên Quang",
        "province",
        (200, 40, 40),
        700.0,
    )],
    &[(
        "ubnd-huyen-son-duong",
        "UBND huyện Sơn Dương",
        "district",
        (40, 160, 60),
        1100.0,
    )],
    &[(
        "ubnd-xa-hop-thanh",
        "UBND xã Hợp Thành",
        "commune",
        (210, 170, 30),
        1300.0,
    )],
];

/// One MCU of the demo, running.
pub struct DemoMcu {
    /// Its id in the tree.
    pub id: &'static str,
    /// The daemon.
    pub running: Running,
}

/// The demo, running.
pub struct Demo {
    /// From the master down.
    pub mcus: Vec<DemoMcu>,
    /// The password of `quantri` on every MCU, for this run.
    pub password: String,
    /// The chair's dial-in token at the master.
    pub chair_token: String,
}

/// Starts the demo from the example configs in `dir` (see the module page).
pub async fn start(dir: &Path) -> Result<Demo, String> {
    let mut configs = Vec::new();
    for id in MCUS {
        let path = dir.join(format!("{id}.toml"));
        configs.push(Config::load(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    for config in &configs {
        let data = &config.server.data_dir;
        if data.exists() {
            std::fs::remove_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
        }
    }
    for link in configs
        .iter()
        .flat_map(|c| &c.cascade)
        .flat_map(|c| &c.link)
    {
        if let Some(file) = &link.secret_file {
            write_secret(file)?;
        }
    }
    let password = format!("Demo-{}", random_token().map_err(|e| e.to_string())?);
    let mut demo = Demo {
        mcus: Vec::new(),
        password,
        chair_token: String::new(),
    };
    for (i, (id, config)) in MCUS.into_iter().zip(&configs).enumerate() {
        match start_one(config, i, &demo.password).await {
            Ok((running, chair_token)) => {
                if i == 0 {
                    demo.chair_token = chair_token;
                }
                demo.mcus.push(DemoMcu { id, running });
            }
            Err(e) => {
                demo.stop().await;
                return Err(format!("{id}: {e}"));
            }
        }
    }
    Ok(demo)
}

/// Starts MCU `i` with its accounts, then [`set_up`]; returns the daemon
/// and the first room's dial-in token.
async fn start_one(config: &Config, i: usize, password: &str) -> Result<(Running, String), String> {
    // Least privilege holds in the demo too: the administrator keeps the
    // directory, the operator runs the conference.
    for (username, role, display_name) in [
        (ADMIN, mcu_store::Role::Admin, "Quản trị (demo)"),
        (OPERATOR, mcu_store::Role::Operator, "Điều hành (demo)"),
    ] {
        let account = crate::admin::NewAccount {
            username: username.into(),
            role,
            display_name: display_name.into(),
            endpoints: vec![],
        };
        crate::admin::create_user(config, &account, password).await?;
    }
    let mut csv = String::from("id,name,unit,level,chair_capable,owner_mcu\n");
    // Each level's first room can chair its own part of the conference.
    for (j, (room, name, level, _, _)) in ROOMS[i].iter().enumerate() {
        csv.push_str(&format!(
            "{room},{name},{name},{level},{},{}\n",
            j == 0,
            MCUS[i]
        ));
    }
    crate::admin::import_endpoints(config, &csv).await?;
    let running = server::start(config).await.map_err(|e| e.to_string())?;
    match set_up(&running, i, password).await {
        Ok(chair_token) => Ok((running, chair_token)),
        Err(e) => {
            let _ = running.shutdown(std::time::Duration::from_secs(2)).await;
            Err(e)
        }
    }
}

/// Sets MCU `i`'s conference up through its API and adds its synthetic
/// rooms; returns the first room's dial-in token.
async fn set_up(running: &Running, i: usize, password: &str) -> Result<String, String> {
    let api = Api::new(running)?;
    let session = api.login(ADMIN, password).await?;
    let mut tokens = Vec::new();
    for (room, _, _, _, _) in ROOMS[i] {
        let path = format!("/api/v1/endpoints/{room}/token");
        let t = api.call("POST", &path, Some(&session), None).await?;
        tokens.push(t["token"].as_str().ok_or("no token issued")?.to_owned());
    }
    let session = api.login(OPERATOR, password).await?;
    // The conference takes part through every link of this MCU: the one up
    // and the ones down, as the operator would tick them in the console.
    let neighbours = api
        .call("GET", "/api/v1/cascade/neighbours", Some(&session), None)
        .await?;
    let links: Vec<serde_json::Value> = neighbours
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| json!({"mcu": n["mcu"]["id"]}))
        .collect();
    if i == 0 {
        let rooms: Vec<&str> = ROOMS[i].iter().map(|r| r.0).collect();
        let body = json!({"id": CONFERENCE, "title": "Giao ban trực tuyến Chính phủ với các địa phương",
            "chair": rooms[0], "layout": "1+7", "participants": rooms, "links": links});
        api.call("POST", "/api/v1/conferences", Some(&session), Some(body))
            .await?;
        let path = format!("/api/v1/conferences/{CONFERENCE}/start");
        api.call("POST", &path, Some(&session), None).await?;
    } else {
        // The counterpart opens by itself from the parent's booking and
        // goes live with it; the operator here names the links below.
        let path = format!("/api/v1/conferences/{CONFERENCE}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let c = api.call("GET", &path, Some(&session), None).await;
            if c.as_ref().is_ok_and(|c| c["state"] == "live") {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "the counterpart of {CONFERENCE} did not open: {c:?}"
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let path = format!("/api/v1/conferences/{CONFERENCE}/links");
        api.call(
            "PUT",
            &path,
            Some(&session),
            Some(json!({ "links": links })),
        )
        .await?;
    }
    let conference = ConferenceId::new(CONFERENCE).map_err(|e| e.to_string())?;
    for (j, (room, _, _, rgb, tone)) in ROOMS[i].iter().enumerate() {
        if i == 0 && j == 0 {
            continue; // the chair's seat, for a browser
        }
        let endpoint = EndpointId::new(*room).map_err(|e| e.to_string())?;
        running
            .add_synthetic(&conference, &endpoint, *rgb, *tone)
            .map_err(|e| format!("synthetic room {room}: {e}"))?;
    }
    Ok(tokens.swap_remove(0))
}

impl Demo {
    /// Stops the MCUs from the bottom up.
    pub async fn stop(self) {
        for mcu in self.mcus.into_iter().rev() {
            if let Err(e) = mcu
                .running
                .shutdown(std::time::Duration::from_secs(5))
                .await
            {
                tracing::warn!(mcu = mcu.id, "shutdown: {e}");
            }
        }
    }

    /// What to open, for a person at the master.
    pub fn instructions(&self) -> String {
        let Some(master) = self.mcus.first() else {
            return String::new();
        };
        let port = master.running.addr.port();
        let mut out = String::from("\nBốn MCU đang chạy / four MCUs are running:\n");
        for m in &self.mcus {
            out.push_str(&format!(
                "  {:<12} https://localhost:{}/console/\n",
                m.id,
                m.running.addr.port()
            ));
        }
        out.push_str(&format!(
            "Tài khoản / accounts: {OPERATOR} (điều hành / operator), {ADMIN} (quản trị / admin);\n  \
             mật khẩu / password: {} (this run only)\n\n\
             Ghế chủ tọa (Chromium) / the chair's seat (self-signed certificate: accept it):\n  \
             https://localhost:{port}/join?conference={CONFERENCE}&endpoint=chu-toa&token={}\n\n\
             Gọi điểm cầu xã lên chủ tọa / call the commune room to the chair: the master's console,\n  \
             conference {CONFERENCE}, panel \"Sơ đồ liên kết\", UBND xã Hợp Thành, \"Gọi lên chủ tọa\".\n\
             Ctrl-C to stop.\n",
            self.password, self.chair_token
        ));
        out
    }
}

/// Writes a random 32-byte secret (hex) to `path`, readable by its owner only.
fn write_secret(path: &Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let secret = format!(
        "{}{}\n",
        random_token().map_err(|e| e.to_string())?,
        random_token().map_err(|e| e.to_string())?
    );
    crate::tls::write_private(path, secret.as_bytes()).map_err(|e| e.to_string())
}

/// The control API of one demo MCU, over HTTPS as a browser would use it.
struct Api {
    addr: std::net::SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

impl Api {
    fn new(running: &Running) -> Result<Self, String> {
        let pem = std::fs::read(&running.identity.cert_path).map_err(|e| e.to_string())?;
        Ok(Self {
            addr: running.addr,
            tls: crate::cascade::client_tls(Some(&pem))?,
        })
    }

    /// A session token for `username`.
    async fn login(&self, username: &str, password: &str) -> Result<String, String> {
        let body = json!({"username": username, "password": password});
        let r = self
            .call("POST", "/api/v1/auth/login", None, Some(body))
            .await?;
        r["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("login {username}: no token"))
    }

    /// One request; the JSON body of a 2xx answer, else an error with it.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let fail = |e: std::io::Error| format!("{method} {path}: {e}");
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(fail)?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(fail)?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.map_err(fail)?;
        let mut raw = Vec::new();
        // The server closes after the answer; a TLS close without notify is fine here.
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if !(200..300).contains(&status) {
            return Err(format!("{method} {path}: HTTP {status} {body}"));
        }
        Ok(serde_json::from_str(body).unwrap_or(Value::Null))
    }
}
