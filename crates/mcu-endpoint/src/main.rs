//! `mcu-endpoint`: one synthetic endpoint, or `--count N` of them (a load
//! generator). See `mcu-endpoint --help` and `docs/endpoint.md`.

use std::process::ExitCode;

use mcu_endpoint::cli::{Options, USAGE, plan, run};

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mcu-endpoint: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let plan = match plan(&options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcu-endpoint: {e}");
            return ExitCode::from(2);
        }
    };
    let output = run(&options, plan, |msg| eprintln!("mcu-endpoint: {msg}"));
    let json = if options.pretty {
        serde_json::to_string_pretty(&output)
    } else {
        serde_json::to_string(&output)
    };
    match json {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("mcu-endpoint: writing the report: {e}");
            return ExitCode::FAILURE;
        }
    }
    if output.summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
