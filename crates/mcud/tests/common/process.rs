//! The real `mcud` binary as a child process on a SQLite data dir, for the
//! tests that kill it (`kill -9`) and start it again on the same dir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Response, TempDir, tls_trusting, try_https};

/// A data dir with a config listening on a free local port, and the
/// accounts `quantri` (admin) and `dieuhanh` (operator) made as
/// `mcud admin create-user` does. The dir goes when the [`TempDir`] drops.
pub struct DataDir {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub addr: SocketAddr,
    _guard: TempDir,
}

impl DataDir {
    pub async fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mcud-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let guard = TempDir(dir.clone());
        let addr: SocketAddr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let config = dir.join("mcud.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"{addr}\"\ndata_dir = \"{}\"\n",
                dir.display()
            ),
        )
        .unwrap();
        super::create_admin_and_operator(&mcud::config::Config::load(&config).unwrap()).await;
        Self {
            dir,
            config,
            addr,
            _guard: guard,
        }
    }

    /// Starts `mcud serve` on this dir and waits until it answers over TLS.
    pub async fn start(&self) -> Daemon {
        Daemon::start(&self.dir, &self.config, self.addr).await
    }
}

/// A running `mcud serve`; killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub tls: Arc<rustls::ClientConfig>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `mcud serve --config <config>` (output appended to
    /// `<dir>/mcud.log`) and waits until it answers over TLS on `addr`.
    pub async fn start(dir: &Path, config: &Path, addr: SocketAddr) -> Daemon {
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

    /// SIGKILL: no shutdown, no flush; waits for the process to be gone.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// One request that must get an answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        try_https(self.addr, self.tls.clone(), method, path, token, body)
            .await
            .unwrap()
    }

    /// A session token of `user`.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let r = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": password})),
            )
            .await;
        assert_eq!(r.status, 200, "login {user}: {}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }
}
