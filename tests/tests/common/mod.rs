//! The daemon the console and control-API browser tests share: in-process,
//! on its own runtime, no configured conference, first accounts made as
//! `mcud admin create-user` does; shut down on drop.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use mcu_e2e::TempDir;
use mcud::admin::{NewAccount, create_user};
use mcud::config::Config;

/// A running daemon.
pub struct Mcu {
    runtime: tokio::runtime::Runtime,
    running: Option<mcud::server::Running>,
    pub addr: SocketAddr,
    _data: TempDir,
}

impl Mcu {
    /// Starts a daemon with these accounts: (username, password, role).
    pub fn start(tag: &str, accounts: &[(&str, &str, &str)]) -> Mcu {
        let data = TempDir::new(tag).expect("temp dir");
        let mut config =
            Config::embedded_default(|| "unused-config-token-0123456789".into()).expect("config");
        config.conferences.clear();
        config.server.data_dir = data.path().to_owned();
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        for (username, password, role) in accounts {
            let account = NewAccount {
                username: (*username).into(),
                role: role.parse().expect("role"),
                display_name: format!("Cán bộ {username}"),
                endpoints: vec![],
            };
            runtime
                .block_on(create_user(&config, &account, password))
                .unwrap_or_else(|e| panic!("create_user {username}: {e}"));
        }
        let running = runtime
            .block_on(mcud::server::start(&config))
            .unwrap_or_else(|e| panic!("mcud::server::start: {e}"));
        let addr = running.addr;
        Mcu {
            runtime,
            running: Some(running),
            addr,
            _data: data,
        }
    }

    /// An address on the daemon.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
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
