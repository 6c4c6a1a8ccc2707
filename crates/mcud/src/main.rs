//! `mcud` — the MCU daemon.
//!
//! `mcud serve` runs the HTTPS + WebSocket signalling server (see
//! `docs/signalling.md`); `mcud demo` mixes nine synthetic rooms with
//! Vietnamese names through the real media core (layout, compositor with
//! labels, N-1 audio, OpenH264 and Opus) for a few seconds of virtual time and
//! writes what one viewer receives as `demo.h264` (Annex-B, playable by
//! ffplay, mpv or VLC) and `demo.wav` (what room 2 hears: everyone but itself).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use mcud::config::{Config, random_token};
use mcud::{demo, server};

const USAGE: &str = "usage: mcud serve [--config FILE] [--log-format human|json]
       mcud demo [--layout NAME] [--seconds N] [--out DIR] [--size WxH]

  serve    HTTPS + WebSocket signalling server; without --config, runs on an
           embedded default (loopback, system-chosen port, ./data, one demo
           conference with random join tokens)
  demo     mix nine synthetic rooms and write out/demo.h264 and out/demo.wav
           --layout   layout template or custom layout name (default 3x3)
           --seconds  length of the demo in seconds (default 10)
           --out      output folder (default ./out)
           --size     output picture size (default 1280x720)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => match ServeOptions::parse(&args[1..]) {
            Ok(opts) => serve(opts),
            Err(e) => {
                eprintln!("mcud serve: {e}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("demo") => match demo::Options::parse(&args[1..]) {
            Ok(opts) => match demo::run(&opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mcud demo: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("mcud demo: {e}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct ServeOptions {
    config: Option<PathBuf>,
    json_logs: bool,
}

impl ServeOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = ServeOptions {
            config: None,
            json_logs: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--config" => {
                    o.config = Some(PathBuf::from(it.next().ok_or("--config needs a file")?))
                }
                "--log-format" => match it.next().map(String::as_str) {
                    Some("json") => o.json_logs = true,
                    Some("human") => o.json_logs = false,
                    _ => return Err("--log-format takes human or json".into()),
                },
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(o)
    }
}

fn serve(opts: ServeOptions) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if opts.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let config = match &opts.config {
        Some(path) => Config::load(path),
        None => Config::embedded_default(|| random_token().unwrap_or_default()),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration refused: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let running = match server::start(&config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        if opts.config.is_none() {
            tracing::warn!(
                "no --config: running on the embedded default (loopback only, data in {}, self-signed TLS)",
                config.server.data_dir.display()
            );
            for c in &config.conferences {
                for e in &c.endpoints {
                    tracing::info!(
                        conference = c.id.as_str(),
                        endpoint = e.id.as_str(),
                        token = e.token.as_str(),
                        "demo endpoint (random token for this run)"
                    );
                }
            }
        }
        tracing::info!(
            addr = %running.addr,
            cert = %running.identity.cert_path.display(),
            generated = running.identity.generated,
            "listening: signalling at wss://{}/ws",
            running.addr
        );
        server::shutdown_signal().await;
        tracing::info!("shutting down: closing sessions");
        match running.shutdown(Duration::from_secs(5)).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("shutdown: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
