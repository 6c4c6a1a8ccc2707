//! The `mcu-endpoint` command line: options, the endpoints they describe
//! (one, or `--count N` from a pattern or an `mcud` config file), and the
//! run that starts them, waits, stops them and summarises.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::endpoint::{Endpoint, EndpointConfig, StopMode, Talk, tone_for};
use crate::picture::{PALETTE, parse_colour};
use crate::report::{EndpointReport, Percentiles, RunSummary};
use crate::signalling::tls_config;

/// Usage text.
pub const USAGE: &str = "\
mcu-endpoint — synthetic endpoint(s) for the MCU: join, send a stamped picture
and a tone, measure what comes back, print JSON.

USAGE:
  mcu-endpoint --url wss://HOST:PORT/ws --ca CERT.pem --conference ID \\
               --endpoint ID --token TOKEN [options]
  mcu-endpoint --config config/load16.toml --conference ID --count 16 [options]

Endpoint:
  --url URL          signalling WebSocket (default from --config: wss://localhost:<listen port>/ws)
  --ca FILE          PEM certificate(s) to trust (default from --config: <data_dir>/tls/cert.pem)
  --conference ID    conference to join (default: the first in --config)
  --endpoint ID      endpoint id; with --count, a pattern where {i} is 1..N (e.g. load-{i:02})
  --token TOKEN      join token; with --count, a pattern with {i}
  --config FILE      an mcud config (TOML): endpoint ids and tokens come from the
                     conference's [[conference.endpoint]] list, in order
  --colour C         picture colour: #rrggbb or red, green, blue, yellow, magenta,
                     cyan, orange (default: palette colour of the endpoint's index)
  --tone-hz F        tone frequency (default 400 + 150 × index)
  --size WxH         sent picture size (default 640x360)
  --fps N            sent frame rate (default 30)
  --bind IP          address of the media sockets (default 127.0.0.1)
  --talk-turns SECS  endpoints speak (play their tone) one at a time, SECS each,
                     by the wall clock; silence otherwise (default: all the time)
  --downlink-kbps N  receive through a link of N kbit/s (queue 500 ms, then loss),
                     as a slow line would (default: no limit)
  --grain            film grain on the picture: it costs what camera video costs
                     to encode (default: flat colour)

Run:
  --count N          run N endpoints from this process (default 1)
  --first K          index of the first endpoint (default 0): its id, colour, tone
  --join-interval MS pause between endpoint starts (default 200)
  --duration SECS    how long to stay after the last endpoint started (default 10)
  --warmup SECS      restart the measurements this long after the last start (default 0)
  --analyse N        only the first N endpoints decode and analyse the composite
                     (default: all); the others only count what they receive
  --grid N           the composite is an N×N grid (default: guessed from the stamps)
  --pretty           indent the JSON
  -h, --help         this text

Output: one JSON object {\"summary\": …, \"endpoints\": [ … ]} (docs/endpoint.md).
";

/// Why the command line was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

fn err(msg: impl Into<String>) -> CliError {
    CliError(msg.into())
}

/// The parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--url`.
    pub url: Option<String>,
    /// `--ca`.
    pub ca: Option<PathBuf>,
    /// `--conference`.
    pub conference: Option<String>,
    /// `--endpoint` (pattern).
    pub endpoint: Option<String>,
    /// `--token` (pattern).
    pub token: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--colour`.
    pub colour: Option<(u8, u8, u8)>,
    /// `--tone-hz`.
    pub tone_hz: Option<f64>,
    /// `--size`.
    pub size: (u32, u32),
    /// `--fps`.
    pub fps: u32,
    /// `--bind`.
    pub bind: IpAddr,
    /// `--count`.
    pub count: usize,
    /// `--first`.
    pub first: usize,
    /// `--join-interval`.
    pub join_interval: Duration,
    /// `--duration`.
    pub duration: Duration,
    /// `--warmup`.
    pub warmup: Duration,
    /// `--analyse`.
    pub analyse: Option<usize>,
    /// `--grid`.
    pub grid: Option<u32>,
    /// `--talk-turns`.
    pub talk_turns: Option<Duration>,
    /// `--downlink-kbps`.
    pub downlink_kbps: Option<u32>,
    /// `--grain`.
    pub grain: bool,
    /// `--pretty`.
    pub pretty: bool,
    /// `--help`.
    pub help: bool,
}

fn parse_secs(v: &str, name: &str) -> Result<Duration, CliError> {
    let s: f64 = v
        .parse()
        .map_err(|_| err(format!("{name}: not a number: {v}")))?;
    if !(0.0..=86_400.0).contains(&s) {
        return Err(err(format!("{name}: out of range: {v}")));
    }
    Ok(Duration::from_secs_f64(s))
}

fn parse_num<T: std::str::FromStr>(v: &str, name: &str) -> Result<T, CliError> {
    v.parse()
        .map_err(|_| err(format!("{name}: not a valid number: {v}")))
}

impl Options {
    /// Parses the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, CliError> {
        let mut o = Options {
            url: None,
            ca: None,
            conference: None,
            endpoint: None,
            token: None,
            config: None,
            colour: None,
            tone_hz: None,
            size: (640, 360),
            fps: 30,
            bind: IpAddr::from([127, 0, 0, 1]),
            count: 1,
            first: 0,
            join_interval: Duration::from_millis(200),
            duration: Duration::from_secs(10),
            warmup: Duration::ZERO,
            analyse: None,
            grid: None,
            talk_turns: None,
            downlink_kbps: None,
            grain: false,
            pretty: false,
            help: false,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "-h" || flag == "--help" {
                o.help = true;
                continue;
            }
            if flag == "--pretty" {
                o.pretty = true;
                continue;
            }
            if flag == "--grain" {
                o.grain = true;
                continue;
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (flag.clone(), None),
            };
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| err(format!("{name} needs a value")))?,
            };
            let v = value.as_str();
            match name.as_str() {
                "--url" => o.url = Some(value),
                "--ca" => o.ca = Some(PathBuf::from(v)),
                "--conference" => o.conference = Some(value),
                "--endpoint" => o.endpoint = Some(value),
                "--token" => o.token = Some(value),
                "--config" => o.config = Some(PathBuf::from(v)),
                "--colour" | "--color" => {
                    o.colour = Some(parse_colour(v).ok_or_else(|| err(format!("--colour: {v}?")))?)
                }
                "--tone-hz" => {
                    let f: f64 = parse_num(v, "--tone-hz")?;
                    if !(50.0..=8000.0).contains(&f) {
                        return Err(err("--tone-hz: 50 ..= 8000"));
                    }
                    o.tone_hz = Some(f);
                }
                "--size" => {
                    let (w, h) = v
                        .split_once(['x', 'X'])
                        .ok_or_else(|| err("--size: WxH, e.g. 640x360"))?;
                    let (w, h): (u32, u32) = (parse_num(w, "--size")?, parse_num(h, "--size")?);
                    if !(64..=1920).contains(&w) || !(64..=1080).contains(&h) || w % 2 + h % 2 > 0 {
                        return Err(err("--size: even, 64x64 ..= 1920x1080"));
                    }
                    o.size = (w, h);
                }
                "--fps" => {
                    o.fps = parse_num(v, "--fps")?;
                    if !(1..=60).contains(&o.fps) {
                        return Err(err("--fps: 1 ..= 60"));
                    }
                }
                "--bind" => o.bind = parse_num(v, "--bind")?,
                "--count" => {
                    o.count = parse_num(v, "--count")?;
                    if !(1..=200).contains(&o.count) {
                        return Err(err("--count: 1 ..= 200"));
                    }
                }
                "--first" => o.first = parse_num(v, "--first")?,
                "--join-interval" => {
                    o.join_interval = Duration::from_millis(parse_num(v, "--join-interval")?)
                }
                "--duration" => o.duration = parse_secs(v, "--duration")?,
                "--warmup" => o.warmup = parse_secs(v, "--warmup")?,
                "--talk-turns" => {
                    let t = parse_secs(v, "--talk-turns")?;
                    if t < Duration::from_millis(100) {
                        return Err(err("--talk-turns: at least 0.1 s"));
                    }
                    o.talk_turns = Some(t);
                }
                "--downlink-kbps" => {
                    let kbps: u32 = parse_num(v, "--downlink-kbps")?;
                    if kbps < 16 {
                        return Err(err("--downlink-kbps: at least 16"));
                    }
                    o.downlink_kbps = Some(kbps);
                }
                "--analyse" | "--analyze" => o.analyse = Some(parse_num(v, "--analyse")?),
                "--grid" => {
                    let n: u32 = parse_num(v, "--grid")?;
                    if !(1..=4).contains(&n) {
                        return Err(err("--grid: 1 ..= 4"));
                    }
                    o.grid = Some(n);
                }
                other => return Err(err(format!("unknown option {other} (see --help)"))),
            }
        }
        if o.first + o.count > 255 {
            return Err(err(
                "--first + --count: at most 255 endpoints are told apart",
            ));
        }
        Ok(o)
    }
}

/// The part of an `mcud` config file the endpoint reads.
#[derive(Debug, Deserialize)]
struct McuConfigFile {
    server: Option<ServerSection>,
    #[serde(default)]
    conference: Vec<ConferenceSection>,
}

#[derive(Debug, Deserialize)]
struct ServerSection {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct ConferenceSection {
    id: String,
    #[serde(default)]
    endpoint: Vec<EndpointSection>,
}

#[derive(Debug, Deserialize)]
struct EndpointSection {
    id: String,
    token: String,
}

/// Replaces `{i}` (or `{i:0W}`, zero-padded to W digits) with `i`.
pub fn expand(pattern: &str, i: usize) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("{i") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let spec = &after[..end];
                let width = spec
                    .strip_prefix(":0")
                    .and_then(|w| w.parse::<usize>().ok())
                    .unwrap_or(0);
                out.push_str(&format!("{i:0width$}"));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Everything needed to start the endpoints.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One configuration per endpoint, in start order.
    pub endpoints: Vec<EndpointConfig>,
}

/// Turns options into endpoint configurations.
pub fn plan(o: &Options) -> Result<Plan, CliError> {
    let file: Option<McuConfigFile> = match &o.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(format!("{}: {e}", path.display())))?;
            Some(toml::from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))?)
        }
        None => None,
    };
    let server = file.as_ref().and_then(|f| f.server.as_ref());
    let url = match (&o.url, server.and_then(|s| s.listen.as_deref())) {
        (Some(u), _) => u.clone(),
        (None, Some(listen)) => {
            let port = listen
                .rsplit_once(':')
                .map(|(_, p)| p)
                .ok_or_else(|| err(format!("config: server.listen {listen:?} has no port")))?;
            format!("wss://localhost:{port}/ws")
        }
        (None, None) => return Err(err("--url is needed (or --config with server.listen)")),
    };
    let conference = match (&o.conference, &file) {
        (Some(c), _) => c.clone(),
        (None, Some(f)) => f
            .conference
            .first()
            .map(|c| c.id.clone())
            .ok_or_else(|| err("config has no [[conference]]"))?,
        (None, None) => return Err(err("--conference is needed")),
    };
    // (id, token) of each endpoint.
    let ids: Vec<(String, String)> = match (&o.endpoint, &o.token, &file) {
        (Some(e), Some(t), _) => (o.first..o.first + o.count)
            .map(|i| (expand(e, i + 1), expand(t, i + 1)))
            .collect(),
        (endpoint, _, Some(f)) => {
            let c = f
                .conference
                .iter()
                .find(|c| c.id == conference)
                .ok_or_else(|| err(format!("config has no conference {conference:?}")))?;
            let list: Vec<_> = match endpoint {
                // One named endpoint of the file.
                Some(e) if o.count == 1 => c.endpoint.iter().filter(|x| &x.id == e).collect(),
                _ => c.endpoint.iter().skip(o.first).take(o.count).collect(),
            };
            if list.len() < o.count {
                return Err(err(format!(
                    "conference {conference:?} in the config has {} matching endpoints, {} asked",
                    list.len(),
                    o.count
                )));
            }
            list.into_iter()
                .map(|x| (x.id.clone(), x.token.clone()))
                .collect()
        }
        _ => return Err(err("--endpoint and --token are needed (or --config)")),
    };
    let ca = match (&o.ca, server) {
        (Some(p), _) => Some(p.clone()),
        // The daemon's self-signed certificate, where `mcud` writes it
        // (data_dir is relative to the daemon's working directory).
        (None, Some(s)) => Some(
            s.data_dir
                .clone()
                .unwrap_or_else(|| "data".into())
                .join("tls/cert.pem"),
        ),
        (None, None) => None,
    };
    let pem = match &ca {
        Some(p) => Some(std::fs::read(p).map_err(|e| err(format!("--ca {}: {e}", p.display())))?),
        None => None,
    };
    let tls = tls_config(pem.as_deref()).map_err(|e| err(e.to_string()))?;
    let listen: Vec<f64> = (0..o.first + o.count).map(tone_for).collect();
    let endpoints = ids
        .into_iter()
        .enumerate()
        .map(|(k, (id, token))| {
            let index = o.first + k;
            let mut c = EndpointConfig::new(&url, Arc::clone(&tls), &conference, &id, &token);
            c.index = index as u8;
            c.colour = match (o.colour, o.count) {
                (Some(rgb), 1) => rgb,
                _ => PALETTE[index % PALETTE.len()],
            };
            c.tone_hz = match (o.tone_hz, o.count) {
                (Some(f), 1) => f,
                _ => tone_for(index),
            };
            c.listen_hz = listen.clone();
            c.width = o.size.0;
            c.height = o.size.1;
            c.fps = o.fps;
            c.bind_ip = o.bind;
            c.grid = o.grid;
            c.talk = match o.talk_turns {
                Some(turn) => Talk::Turns {
                    turn,
                    speakers: o.first + o.count,
                },
                None => Talk::Always,
            };
            c.analyse_video = o.analyse.is_none_or(|n| k < n);
            c.downlink_kbps = o.downlink_kbps;
            c.grain = o.grain;
            c
        })
        .collect();
    Ok(Plan { endpoints })
}

/// The whole output.
#[derive(Debug, Serialize)]
pub struct Output {
    /// Over all endpoints.
    pub summary: RunSummary,
    /// Each endpoint.
    pub endpoints: Vec<EndpointReport>,
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

#[allow(clippy::disallowed_methods)] // the run owns the clock
fn clock() -> Instant {
    Instant::now()
}

/// Starts the planned endpoints, runs them and stops them; `progress` is
/// told about each phase (stderr in the binary).
pub fn run(o: &Options, plan: Plan, mut progress: impl FnMut(&str)) -> Output {
    let mut running = Vec::new();
    for (k, c) in plan.endpoints.into_iter().enumerate() {
        if k > 0 && !o.join_interval.is_zero() {
            std::thread::sleep(o.join_interval);
        }
        let name = c.endpoint.clone();
        match Endpoint::spawn(c) {
            Ok(e) => running.push(e),
            Err(e) => progress(&format!("{name}: not started: {e}")),
        }
    }
    progress(&format!("{} endpoints started", running.len()));
    let started = clock();
    let mut measured_from = started;
    if !o.warmup.is_zero() {
        std::thread::sleep(o.warmup.min(o.duration));
        for e in &running {
            e.reset_measurements();
        }
        progress("warm-up over: measuring");
        measured_from = clock();
    }
    let cpu1 = process_cpu_seconds();
    std::thread::sleep(o.duration.saturating_sub(measured_from - started));
    let cpu2 = process_cpu_seconds();
    let wall = (clock() - measured_from).as_secs_f64();
    let reports: Vec<EndpointReport> = running
        .iter_mut()
        .map(|e| e.stop(StopMode::Leave))
        .collect();
    let mut summary = summarise(&reports);
    summary.generator_cpu_percent_of_one_core = match (cpu1, cpu2) {
        (Some(a), Some(b)) if wall > 0.0 => Some(((b - a) / wall * 1000.0).round() / 10.0),
        _ => None,
    };
    Output {
        summary,
        endpoints: reports,
    }
}

/// Pools the endpoints' figures.
pub fn summarise(reports: &[EndpointReport]) -> RunSummary {
    let firsts: Vec<f64> = reports.iter().filter_map(|r| r.first_frame_ms).collect();
    let latencies: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.latency_samples_ms.iter().copied())
        .collect();
    RunSummary {
        endpoints: reports.len(),
        failed: reports.iter().filter(|r| r.error.is_some()).count(),
        first_frame_ms: Percentiles::of(&firsts),
        latency_ms: Percentiles::of(&latencies),
        min_fps: if reports.is_empty() {
            0.0
        } else {
            reports.iter().map(|r| r.fps).fold(f64::INFINITY, f64::min)
        },
        frames_lost: reports.iter().map(|r| r.frames_lost).sum(),
        output_frames_skipped: reports.iter().map(|r| r.output_frames_skipped).sum(),
        packets_lost: reports.iter().map(|r| r.packets_lost).sum(),
        generator_cpu_percent_of_one_core: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn patterns_expand() {
        assert_eq!(expand("load-{i:02}", 3), "load-03");
        assert_eq!(expand("ep{i}-x{i}", 12), "ep12-x12");
        assert_eq!(expand("no-pattern", 1), "no-pattern");
        assert_eq!(expand("broken-{i", 1), "broken-{i");
    }

    #[test]
    fn options_parse_and_refuse_nonsense() {
        let o = Options::parse(args(
            "--url wss://localhost:1/ws --conference c --endpoint e-{i} --token t-{i} --count 4 --size 320x180 --fps 15 --duration 2.5",
        ))
        .unwrap();
        assert_eq!((o.count, o.size, o.fps), (4, (320, 180), 15));
        assert_eq!(o.duration, Duration::from_millis(2500));
        let p = plan(&o).unwrap();
        let ids: Vec<_> = p.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(ids, ["e-1", "e-2", "e-3", "e-4"]);
        assert_eq!(p.endpoints[2].token, "t-3");
        assert_eq!(p.endpoints[1].colour, PALETTE[1]);
        assert_eq!(p.endpoints[3].tone_hz, tone_for(3));
        for bad in [
            "--size 641x360",
            "--fps 0",
            "--count 0",
            "--tone-hz 9",
            "--bogus 1",
            "--url",
            "--colour #12",
            "--talk-turns 0.01",
        ] {
            assert!(Options::parse(args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_come_from_an_mcud_config() {
        let dir = std::env::temp_dir().join(format!("mcu-endpoint-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            r#"
[server]
listen = "127.0.0.1:9443"
data_dir = "somewhere"

[[conference]]
id = "tai"
title = "Tải"
layout = "3x3"

[[conference.endpoint]]
id = "a"
name = "A"
token = "aaaaaaaaaaaaaaaaaaaa"

[[conference.endpoint]]
id = "b"
name = "B"
token = "bbbbbbbbbbbbbbbbbbbb"
"#,
        )
        .unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let o = Options::parse(vec![
            "--config".into(),
            path.display().to_string(),
            "--count".into(),
            "2".into(),
            "--ca".into(),
            ca.display().to_string(),
        ])
        .unwrap();
        // A CA file without a certificate is refused, not trusted blindly.
        let e = plan(&o).unwrap_err().0;
        assert!(e.contains("no certificate"), "{e}");
        let mut o2 = o.clone();
        o2.count = 3;
        let e = plan(&o2).unwrap_err().0;
        assert!(e.contains("has 2 matching endpoints, 3 asked"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
