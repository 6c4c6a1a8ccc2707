//! `mcud` — the MCU daemon.
//!
//! Today it has one subcommand, `demo`: nine synthetic rooms with Vietnamese
//! names are mixed by the real media core (layout, compositor with labels,
//! N-1 audio, OpenH264 and Opus) for a few seconds of virtual time, and what
//! one viewer receives is written as `demo.h264` (Annex-B, playable by ffplay,
//! mpv or VLC) and `demo.wav` (what room 1 hears: everyone but itself).

use std::path::PathBuf;
use std::process::ExitCode;

mod demo;

const USAGE: &str = "usage: mcud demo [--layout NAME] [--seconds N] [--out DIR] [--size WxH]

  demo     mix nine synthetic rooms and write out/demo.h264 and out/demo.wav
           --layout   layout template or custom layout name (default 3x3)
           --seconds  length of the demo in seconds (default 10)
           --out      output folder (default ./out)
           --size     output picture size (default 1280x720)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
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

/// Where the shipped configuration lives, relative to the working directory.
fn config_dir() -> PathBuf {
    PathBuf::from("config")
}
