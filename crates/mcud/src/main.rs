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
       mcud admin create-user --username NAME --role ROLE [--display-name TEXT]
                              [--endpoint ID]... [--config FILE]   (password on stdin)
       mcud admin import-endpoints FILE.csv [--config FILE]
       mcud cascade-demo
       mcud demo
       mcud demo --offline [--layout NAME] [--seconds N] [--out DIR] [--size WxH]

  serve    HTTPS + WebSocket signalling server; without --config, runs on an
           embedded default (loopback, system-chosen port, ./data, one demo
           conference with random join tokens)
  admin create-user
           create an account (there is none by default: create the first
           admin this way); ROLE is admin, operator, site_operator or auditor;
           the password (at least 12 characters) is read from standard input
  admin import-endpoints
           add or replace endpoints from a directory CSV (all rows or none),
           e.g. config/examples/tuyen-quang.csv
  cascade-demo
           the four example MCUs of config/cascade/ (Chính phủ › Tuyên Quang ›
           Sơn Dương › Hợp Thành) linked on loopback, with synthetic rooms;
           prints the chair's join URL (run it from the repository root;
           it starts afresh, deleting data/cascade/)
  demo     live: the embedded default with synthetic rooms in the demo
           conference; prints the join URL of the free seat for a browser
  demo --offline
           mix nine synthetic rooms and write out/demo.h264 and out/demo.wav
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
        Some("demo") if !args.iter().any(|a| a == "--offline") => {
            if args.len() > 1 {
                eprintln!("mcud demo: the live demo takes no options (see --offline)\n\n{USAGE}");
                return ExitCode::from(2);
            }
            serve(ServeOptions {
                config: None,
                json_logs: false,
                demo: true,
            })
        }
        Some("demo") => match demo::Options::parse(
            &args[1..]
                .iter()
                .filter(|a| *a != "--offline")
                .cloned()
                .collect::<Vec<_>>(),
        ) {
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
        Some("cascade-demo") if args.len() == 1 => cascade_demo(),
        Some("admin") if args.get(1).map(String::as_str) == Some("create-user") => {
            admin_create_user(&args[2..])
        }
        Some("admin") if args.get(1).map(String::as_str) == Some("import-endpoints") => {
            admin_import_endpoints(&args[2..])
        }
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

fn admin_config(args: &[String]) -> Result<Config, String> {
    match args.windows(2).find(|w| w[0] == "--config") {
        Some(w) => Config::load(std::path::Path::new(&w[1])),
        None => Config::embedded_default(|| random_token().unwrap_or_default()),
    }
    .map_err(|e| format!("configuration refused: {e}"))
}

fn admin_import_endpoints(args: &[String]) -> ExitCode {
    let Some(file) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("mcud admin import-endpoints: which CSV file?\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let done = std::fs::read_to_string(file)
        .map_err(|e| format!("{file}: {e}"))
        .and_then(|csv| Ok((csv, admin_config(args)?)))
        .and_then(|(csv, config)| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(mcud::admin::import_endpoints(&config, &csv))
        });
    match done {
        Ok(r) => {
            println!(
                "Đã nhập / imported: {} mới / new, {} cập nhật / updated",
                r.created, r.updated
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcud admin import-endpoints: nothing imported:\n{e}");
            ExitCode::FAILURE
        }
    }
}

fn admin_create_user(args: &[String]) -> ExitCode {
    let account = match mcud::admin::NewAccount::parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mcud admin create-user: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config_path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| PathBuf::from(&w[1]));
    let config = match &config_path {
        Some(path) => Config::load(path),
        None => Config::embedded_default(|| random_token().unwrap_or_default()),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcud admin create-user: configuration refused: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprint!("Mật khẩu / Password for {}: ", account.username);
    let mut password = String::new();
    if std::io::stdin().read_line(&mut password).is_err() {
        eprintln!("\nmcud admin create-user: no password on standard input");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']);
    let done = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(mcud::admin::create_user(&config, &account, password)));
    match done {
        Ok(()) => {
            eprintln!();
            println!(
                "Đã tạo tài khoản / account created: {} ({})",
                account.username, account.role
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nmcud admin create-user: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The live demo: every invited endpoint but one joins as a synthetic room;
/// the free seat's join URL is printed for a browser.
fn start_demo_rooms(running: &server::Running, config: &Config) {
    const ROOMS: [((u8, u8, u8), f64); 4] = [
        ((200, 40, 40), 440.0),
        ((40, 70, 200), 880.0),
        ((40, 160, 60), 660.0),
        ((210, 170, 30), 1320.0),
    ];
    let Some(conference) = config.conferences.first() else {
        return;
    };
    let (seat, others) = match conference.endpoints.split_first() {
        Some((first, rest)) if !rest.is_empty() => {
            (&rest[0], std::iter::once(first).chain(&rest[1..]))
        }
        _ => return,
    };
    for (endpoint, (rgb, tone)) in others.zip(ROOMS.iter().cycle()) {
        if let Err(e) = running.add_synthetic(&conference.id, &endpoint.id, *rgb, *tone) {
            tracing::warn!("synthetic room {}: {e}", endpoint.id.as_str());
        }
    }
    println!();
    println!(
        "Mở trang này trong Chromium / Open this page in Chromium (self-signed certificate: accept it):"
    );
    println!(
        "  https://localhost:{}/join?conference={}&endpoint={}&token={}",
        running.addr.port(),
        conference.id.as_str(),
        seat.id.as_str(),
        seat.token.as_str()
    );
    println!();
    println!("Bảng điều khiển / Operator console:");
    println!("  https://localhost:{}/console/", running.addr.port());
    println!(
        "  Tài khoản quản trị đầu tiên / first admin account (password on stdin; stop the demo first\n  or run it from another terminal in this folder):"
    );
    println!("  cargo run --release -p mcud -- admin create-user --username quantri --role admin");
    println!("Ctrl-C to stop.");
    println!();
}

struct ServeOptions {
    config: Option<PathBuf>,
    json_logs: bool,
    /// Live demo: synthetic rooms join, the join URL of a free seat is printed.
    demo: bool,
}

impl ServeOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = ServeOptions {
            config: None,
            json_logs: false,
            demo: false,
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

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

/// The four example MCUs of config/cascade/ in this process.
fn cascade_demo() -> ExitCode {
    init_logs(false);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let demo = match mcud::cascade_demo::start(std::path::Path::new("config/cascade")).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("mcud cascade-demo: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", demo.instructions());
        server::shutdown_signal().await;
        tracing::info!("shutting down the four MCUs");
        demo.stop().await;
        ExitCode::SUCCESS
    })
}

fn serve(opts: ServeOptions) -> ExitCode {
    init_logs(opts.json_logs);
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
        if opts.demo {
            start_demo_rooms(&running, &config);
        }
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
