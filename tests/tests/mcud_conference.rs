//! The daemon end to end: `mcud::server::start` in-process (its own tokio
//! runtime, loopback only), headless Chromium browsers opening the daemon's
//! join page `https://localhost:<port>/join?conference=…&endpoint=…&token=…`
//! with fake cameras (solid red, solid blue Y4M) and the fake microphone.
//!
//! - `join_page_roster_and_bad_token` is signalling only (the pages' offers
//!   are held back in the browser, so it does not depend on media): a page
//!   that joins shows every joined endpoint's name, diacritics intact, in its
//!   roster list; its mute button turns its microphone track off and the
//!   other page's roster shows it muted; "request to speak" is acknowledged;
//!   a page with a wrong token shows `bad_token`, and the others' rosters do
//!   not change.
//! - `two_browsers_see_the_composite_and_hear_each_other`: red joins, then
//!   blue; both connect; over 2 s each decodes the composite at ≥ 25 fps and
//!   receives audio with energy (the N-1 mix carries the other's beeps)
//!   through an unmuted `<video>`, and sees red
//!   in tile 0 (top-left) and blue in tile 1 (top-right) of the 2x2 layout.
//!
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mcu_e2e::y4m::{Rgb, Y4mSpec};
use mcu_e2e::{Browser, BrowserConfig, TempDir};
use mcu_signalling::protocol::{ConferenceId, DisplayName, EndpointId, JoinToken};
use mcud::config::{ConferenceConfig, Config, EndpointConfig, ServerConfig};
use serde_json::{Value, json};

/// One test at a time: each runs browsers and a 720p media thread, and the
/// frame-rate checks must not measure several tests starving each other on a
/// 2-core machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next test still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const CONFERENCE: &str = "giao-ban-thu";
/// (endpoint id, display name, join token).
const ENDPOINTS: [(&str, &str, &str); 3] = [
    (
        "ubnd-tinh",
        "UBND tỉnh Tuyên Quang",
        "e2e-red-token-5f1c9a2b7d",
    ),
    (
        "ubnd-son-duong",
        "UBND huyện Sơn Dương",
        "e2e-blue-token-8e3d6b0a4c",
    ),
    ("xa-dong-quy", "Xã Đồng Quý", "e2e-third-token-2a7f9c1e5b"),
];
const RED: usize = 0;
const BLUE: usize = 1;
const THIRD: usize = 2;

/// The daemon, in-process, on its own runtime; shut down on drop.
struct Mcu {
    runtime: tokio::runtime::Runtime,
    running: Option<mcud::server::Running>,
    addr: SocketAddr,
    _data: TempDir,
}

impl Mcu {
    fn start() -> Mcu {
        let data = TempDir::new("mcud-conference").expect("temp dir");
        let endpoints = ENDPOINTS
            .iter()
            .map(|(id, name, token)| EndpointConfig {
                id: EndpointId::new(*id).expect("endpoint id"),
                name: DisplayName::new(*name).expect("display name"),
                token: JoinToken::new(*token).expect("token"),
            })
            .collect();
        let config = Config {
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                data_dir: data.path().to_owned(),
                ..ServerConfig::default()
            },
            tls: None,
            conferences: vec![ConferenceConfig {
                id: ConferenceId::new(CONFERENCE).expect("conference id"),
                title: DisplayName::new("Hội nghị kiểm thử đầu cuối").expect("title"),
                layout: "2x2".into(),
                chair: Some(EndpointId::new(ENDPOINTS[RED].0).expect("chair")),
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
        Mcu::start_config(config, data)
    }

    fn start_config(mut config: Config, data: TempDir) -> Mcu {
        config.server.data_dir = data.path().to_owned();
        config.validate().expect("valid config");
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let running = runtime
            .block_on(mcud::server::start(&config))
            .unwrap_or_else(|e| panic!("mcud::server::start: {e}"));
        assert!(running.addr.ip().is_loopback());
        assert!(running.identity.cert_path.exists());
        let addr = running.addr;
        Mcu {
            runtime,
            running: Some(running),
            addr,
            _data: data,
        }
    }

    fn join_url(&self, endpoint: &str, token: &str) -> String {
        self.join_url_in(CONFERENCE, endpoint, token)
    }

    fn join_url_in(&self, conference: &str, endpoint: &str, token: &str) -> String {
        format!(
            "https://localhost:{}/join?conference={conference}&endpoint={endpoint}&token={token}",
            self.addr.port()
        )
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

fn camera(dir: &Path, name: &str, colour: Rgb) -> std::path::PathBuf {
    let path = dir.join(name);
    Y4mSpec::solid(colour)
        .with_size(640, 360)
        .with_moving_square(32)
        .write_file(&path)
        .expect("writing the y4m");
    path
}

fn launch(camera: &Path) -> Browser {
    Browser::launch(
        BrowserConfig::new()
            .with_fake_video(camera)
            .with_arg("--ignore-certificate-errors"),
    )
    .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"))
}

/// Makes the page's WebSocket drop its `offer` frames (installed before any
/// page script runs, through chromedriver's CDP bridge): the page then stays
/// `joined` whatever the media side does.
fn hold_offers(browser: &Browser) {
    let source = r#"(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try { if (JSON.parse(data).type === "offer") { console.log("[test] offer held back"); return; } } catch (_) {}
    return send.call(this, data);
  };
})();"#;
    let body = json!({
        "cmd": "Page.addScriptToEvaluateOnNewDocument",
        "params": { "source": source },
    })
    .to_string();
    let path = format!("/session/{}/goog/cdp/execute", browser.session_id());
    let resp = mcu_e2e::http::request(
        browser.driver_addr(),
        "POST",
        &path,
        Some(("application/json; charset=utf-8", body.as_bytes())),
        Duration::from_secs(10),
    )
    .expect("CDP bridge request");
    assert_eq!(resp.status, 200, "CDP bridge: {}", resp.text());
}

/// Waits until `window.mcu.state` is one of `want`; fails early on another
/// final state (with the page's last error).
fn wait_state(browser: &Browser, want: &[&str], timeout: Duration) -> String {
    let script = r#"
const [want, timeoutMs] = arguments;
const t0 = performance.now();
for (;;) {
  const m = window.mcu;
  if (m && want.includes(m.state)) return m.state;
  if (m && (m.state === "error" || m.state === "closed")) {
    throw new Error("page state " + m.state + ", lastError " + JSON.stringify(m.lastError));
  }
  if (performance.now() - t0 > timeoutMs) {
    throw new Error("timed out; state " + (m && m.state) + ", lastError " + JSON.stringify(m && m.lastError));
  }
  await new Promise((r) => setTimeout(r, 50));
}"#;
    let ms = timeout.as_millis() as u64;
    let state = browser
        .await_promise(script, &[json!(want), json!(ms)], Some(timeout * 2))
        .unwrap_or_else(|e| {
            panic!(
                "waiting for state {want:?}: {e}\n--- console ---\n{}",
                browser.console_dump()
            )
        });
    state.as_str().unwrap_or_default().to_owned()
}

/// What the page shows: state, last error, roster ids, roster names in the DOM.
fn snapshot(browser: &Browser) -> Value {
    browser
        .execute(
            r##"const m = window.mcu;
return {
  state: m.state,
  lastError: m.lastError,
  roster: m.roster.map((p) => p.endpoint_id).sort(),
  names: Array.from(document.querySelectorAll("#roster li .name")).map((e) => e.textContent),
  errorText: document.getElementById("error").textContent,
  charset: document.characterSet,
};"##,
            &[],
        )
        .expect("page snapshot")
}

fn names(snap: &Value) -> Vec<String> {
    snap["names"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn join_page_roster_and_bad_token() {
    let _one = exclusive();
    let mcu = Mcu::start();
    let dir = TempDir::new("mcud-conference-cams").expect("temp dir");
    let red_cam = camera(dir.path(), "red.y4m", Rgb::RED);
    let blue_cam = camera(dir.path(), "blue.y4m", Rgb::BLUE);

    let a = launch(&red_cam);
    hold_offers(&a);
    a.navigate(&mcu.join_url(ENDPOINTS[RED].0, ENDPOINTS[RED].2))
        .expect("navigate a");
    wait_state(&a, &["joined"], Duration::from_secs(15));

    let b = launch(&blue_cam);
    hold_offers(&b);
    b.navigate(&mcu.join_url(ENDPOINTS[BLUE].0, ENDPOINTS[BLUE].2))
        .expect("navigate b");
    wait_state(&b, &["joined"], Duration::from_secs(15));

    // B's roster list shows both names, byte-exact (diacritics intact).
    let want_names = [ENDPOINTS[RED].1, ENDPOINTS[BLUE].1];
    let snap_b = snapshot(&b);
    assert_eq!(snap_b["charset"], "UTF-8", "{snap_b:#}");
    let shown = names(&snap_b);
    for n in want_names {
        assert!(
            shown.iter().any(|s| s == n),
            "B's roster should list {n:?}: {snap_b:#}"
        );
    }
    // A learns of B through roster_changed.
    let both = json!([ENDPOINTS[BLUE].0, ENDPOINTS[RED].0]);
    let mut snap_a = snapshot(&a);
    for _ in 0..50 {
        if snap_a["roster"] == both {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        snap_a = snapshot(&a);
    }
    assert_eq!(snap_a["roster"], both, "{snap_a:#}");
    assert_eq!(names(&snap_a).len(), 2, "{snap_a:#}");
    for n in want_names {
        assert!(names(&snap_a).iter().any(|s| s == n), "{snap_a:#}");
    }

    // B mutes its microphone: its track goes off and A's roster says so;
    // B asks for the floor: the server's acknowledgement reaches the page.
    let controls = r##"
const [self] = arguments;
document.getElementById("mute-audio").click();
document.getElementById("floor").click();
const t0 = performance.now();
while (!window.mcu.floorPending || !window.mcu.roster.some((p) => p.endpoint_id === self && p.audio_muted)) {
  if (performance.now() - t0 > 5000) throw new Error("no floor ack / mute: " + JSON.stringify(window.mcu.roster));
  await new Promise((r) => setTimeout(r, 20));
}
return {
  floorButton: document.getElementById("floor").textContent,
  muteButton: document.getElementById("mute-audio").textContent,
  micEnabled: window.mcu.pc.getSenders().filter((s) => s.track && s.track.kind === "audio").map((s) => s.track.enabled),
};"##;
    let b_controls = b
        .await_promise(
            controls,
            &[json!(ENDPOINTS[BLUE].0)],
            Some(Duration::from_secs(10)),
        )
        .unwrap_or_else(|e| panic!("B's controls: {e}\n{}", b.console_dump()));
    assert!(
        b_controls["floorButton"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Hủy xin phát biểu"),
        "{b_controls:#}"
    );
    assert!(
        b_controls["muteButton"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Bật micrô"),
        "{b_controls:#}"
    );
    assert_eq!(b_controls["micEnabled"], json!([false]), "{b_controls:#}");
    let a_sees_mute = a
        .await_promise(
            r#"const t0 = performance.now();
for (;;) {
  const p = window.mcu.roster.find((p) => p.endpoint_id === arguments[0]);
  if (p && p.audio_muted) return true;
  if (performance.now() - t0 > 5000) return false;
  await new Promise((r) => setTimeout(r, 20));
}"#,
            &[json!(ENDPOINTS[BLUE].0)],
            Some(Duration::from_secs(10)),
        )
        .expect("A's roster");
    assert_eq!(a_sees_mute, true, "A should see B's microphone muted");

    // A third page with a wrong token: bad_token shown, nobody's roster moves.
    let c = launch(&red_cam);
    c.navigate(&mcu.join_url(ENDPOINTS[THIRD].0, "e2e-wrong-token-0000000000"))
        .expect("navigate c");
    wait_state(&c, &["error"], Duration::from_secs(15));
    let snap_c = snapshot(&c);
    assert_eq!(snap_c["lastError"]["code"], "bad_token", "{snap_c:#}");
    assert!(
        snap_c["errorText"]
            .as_str()
            .unwrap_or_default()
            .contains("bad_token"),
        "the page should show the error code: {snap_c:#}"
    );
    std::thread::sleep(Duration::from_millis(500));
    for (who, page) in [("A", &a), ("B", &b)] {
        let snap = snapshot(page);
        assert_eq!(snap["state"], "joined", "{who}: {snap:#}");
        assert_eq!(snap["roster"], both, "{who}'s roster changed: {snap:#}");
        assert_eq!(names(&snap).len(), 2, "{who}: {snap:#}");
    }
}

/// Over ~2 s: the inbound video frame rate, the audio, and the colours of the
/// composite's tiles.
const PROBE: &str = r#"
const pc = window.mcu.pc, video = document.getElementById("remote");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function stats() {
  const out = { video: null, audio: null, mic: null, audioOut: null, codecs: {} };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.video = s;
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audio = s;
    if (s.type === "media-source" && s.kind === "audio") out.mic = s;
    if (s.type === "outbound-rtp" && s.kind === "audio") out.audioOut = s;
    if (s.type === "codec") out.codecs[s.id] = s.mimeType;
  });
  return out;
}
const t0 = performance.now();
for (;;) {
  const s = await stats();
  if (video.readyState >= 2 && video.videoWidth > 0 && !video.paused && s.video && s.video.framesDecoded > 0) break;
  if (performance.now() - t0 > 15000) {
    throw new Error("the remote video never played: readyState " + video.readyState + ", " + video.videoWidth + "x" +
      video.videoHeight + ", paused " + video.paused + ", inbound video " + JSON.stringify(s.video));
  }
  await sleep(50);
}
const firstFrameMs = performance.now() - t0;
await sleep(500); // past the first keyframe and the decoder's start
const s0 = await stats(), a = performance.now();
await sleep(2000);
const s1 = await stats(), b = performance.now();
const w = video.videoWidth, h = video.videoHeight;
const canvas = document.createElement("canvas");
canvas.width = w;
canvas.height = h;
const ctx = canvas.getContext("2d", { willReadFrequently: true });
ctx.drawImage(video, 0, 0, w, h);
function mean(fx, fy) {
  const bw = Math.max(2, Math.floor(w / 16)), bh = Math.max(2, Math.floor(h / 16));
  const d = ctx.getImageData(Math.floor(fx * w - bw / 2), Math.floor(fy * h - bh / 2), bw, bh).data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  const n = d.length / 4;
  return { r: Math.round(r / n), g: Math.round(g / n), b: Math.round(b / n) };
}
return {
  firstFrameMs,
  fps: (s1.video.framesDecoded - s0.video.framesDecoded) / ((b - a) / 1000),
  framesDecoded: s1.video.framesDecoded,
  videoCodec: s1.codecs[s1.video.codecId] || null,
  width: w, height: h,
  audioPackets: s1.audio ? s1.audio.packetsReceived : null,
  audioEnergy: s1.audio ? (s1.audio.totalAudioEnergy ?? null) : null,
  audioEnergyWindow: s1.audio && s0.audio ? (s1.audio.totalAudioEnergy ?? 0) - (s0.audio.totalAudioEnergy ?? 0) : null,
  videoMuted: video.muted,
  audioCodec: s1.audio ? (s1.codecs[s1.audio.codecId] || null) : null,
  // The other side of the mix: this page's own microphone and what it sent.
  micEnergy: s1.mic ? (s1.mic.totalAudioEnergy ?? null) : null,
  audioPacketsSent: s1.audioOut ? s1.audioOut.packetsSent : null,
  tiles: [mean(0.25, 0.25), mean(0.75, 0.25), mean(0.25, 0.75), mean(0.75, 0.75)],
};"#;

fn channel(tile: &Value, c: &str) -> i64 {
    tile[c].as_i64().unwrap_or(-1)
}

fn is_red(tile: &Value) -> bool {
    let (r, g, b) = (channel(tile, "r"), channel(tile, "g"), channel(tile, "b"));
    r >= 150 && r - g.max(b) >= 80
}

fn is_blue(tile: &Value) -> bool {
    let (r, g, b) = (channel(tile, "r"), channel(tile, "g"), channel(tile, "b"));
    b >= 150 && b - r.max(g) >= 80
}

#[test]
fn two_browsers_see_the_composite_and_hear_each_other() {
    let _one = exclusive();
    let mcu = Mcu::start();
    let dir = TempDir::new("mcud-conference-cams").expect("temp dir");
    let red_cam = camera(dir.path(), "red.y4m", Rgb::RED);
    let blue_cam = camera(dir.path(), "blue.y4m", Rgb::BLUE);

    // Join order decides the tiles: red first (and joined), then blue.
    let red = launch(&red_cam);
    red.navigate(&mcu.join_url(ENDPOINTS[RED].0, ENDPOINTS[RED].2))
        .expect("navigate red");
    wait_state(&red, &["joined", "connected"], Duration::from_secs(15));
    let blue = launch(&blue_cam);
    blue.navigate(&mcu.join_url(ENDPOINTS[BLUE].0, ENDPOINTS[BLUE].2))
        .expect("navigate blue");

    for (who, page) in [("red", &red), ("blue", &blue)] {
        let state = wait_state(page, &["connected"], Duration::from_secs(20));
        assert_eq!(state, "connected", "{who}");
    }

    let mut failures = Vec::new();
    for (who, page) in [("red", &red), ("blue", &blue)] {
        let probe = page
            .await_promise(PROBE, &[], Some(Duration::from_secs(40)))
            .unwrap_or_else(|e| {
                panic!(
                    "{who}: probing the remote media: {e}\n--- console ---\n{}",
                    page.console_dump()
                )
            });
        eprintln!("{who}: {probe:#}");
        if let Ok(png) = page.screenshot_png() {
            let shot =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mcud_conference_{who}.png"));
            let _ = std::fs::write(shot, png);
        }
        let fps = probe["fps"].as_f64().unwrap_or(0.0);
        if fps < 25.0 {
            failures.push(format!("{who}: decoded {fps:.1} frames/s, want >= 25"));
        }
        if probe["videoMuted"] != false {
            failures.push(format!("{who}: the remote <video> is muted"));
        }
        let energy = probe["audioEnergyWindow"].as_f64().unwrap_or(0.0);
        if energy <= 0.0 {
            failures.push(format!(
                "{who}: inbound audio without energy over the 2 s ({energy}), packets {} (own mic energy {}, packets sent {})",
                probe["audioPackets"], probe["micEnergy"], probe["audioPacketsSent"]
            ));
        }
        let tiles = &probe["tiles"];
        if !is_red(&tiles[0]) {
            failures.push(format!("{who}: tile 0 should be red, got {}", tiles[0]));
        }
        if !is_blue(&tiles[1]) {
            failures.push(format!("{who}: tile 1 should be blue, got {}", tiles[1]));
        }
        for t in [2, 3] {
            if is_red(&tiles[t]) || is_blue(&tiles[t]) {
                failures.push(format!("{who}: tile {t} should be empty, got {}", tiles[t]));
            }
        }
    }
    // The late joiner (blue) gets a picture soon after joining: the mixer
    // forces an IDR for a new viewer (the encoders make no periodic IDRs, so
    // without it the picture would never come). Measured here ~0.75 s (target
    // 1 s, docs/performance.md); the bound is looser so a loaded CI machine
    // running three browser tests at once does not turn timing into failure.
    let timing = blue
        .execute("return window.mcu.timing;", &[])
        .expect("timing");
    eprintln!("blue timing (ms since page start): {timing}");
    let (joined, first) = (timing["joined"].as_f64(), timing["firstFrame"].as_f64());
    match (joined, first) {
        (Some(j), Some(f)) if f - j <= 1000.0 => {}
        _ => failures.push(format!(
            "blue: join to first picture should be <= 1 s, got {timing}"
        )),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn synthetic_rooms_of_the_live_demo_show_up_in_a_browser() {
    let _one = exclusive();
    let mcu = Mcu::start();
    let running = mcu.running.as_ref().expect("running");
    let conference = ConferenceId::new(CONFERENCE).expect("conference id");
    // Red and blue rooms generated inside the daemon, as `mcud demo` does.
    for (i, rgb) in [(RED, (255, 0, 0)), (BLUE, (0, 0, 255))] {
        let endpoint = EndpointId::new(ENDPOINTS[i].0).expect("endpoint id");
        running
            .add_synthetic(&conference, &endpoint, rgb, 440.0 * (i + 1) as f64)
            .expect("synthetic room joins");
    }
    let dir = TempDir::new("mcud-synthetic-cams").expect("temp dir");
    let green_cam = camera(dir.path(), "green.y4m", Rgb::GREEN);
    let page = launch(&green_cam);
    page.navigate(&mcu.join_url(ENDPOINTS[THIRD].0, ENDPOINTS[THIRD].2))
        .expect("navigate");
    let state = wait_state(&page, &["connected"], Duration::from_secs(20));
    assert_eq!(state, "connected");
    let snap = snapshot(&page);
    let roster = names(&snap);
    for (id, name, _) in &ENDPOINTS {
        assert!(
            roster.iter().any(|n| n == name),
            "{id}: {name} missing from {roster:?}"
        );
    }
    let probe = page
        .await_promise(PROBE, &[], Some(Duration::from_secs(40)))
        .unwrap_or_else(|e| panic!("probing: {e}\n--- console ---\n{}", page.console_dump()));
    let tiles = &probe["tiles"];
    assert!(is_red(&tiles[0]), "tile 0 (synthetic red) got {}", tiles[0]);
    assert!(
        is_blue(&tiles[1]),
        "tile 1 (synthetic blue) got {}",
        tiles[1]
    );
    assert!(probe["fps"].as_f64().unwrap_or(0.0) >= 25.0, "{probe}");
    // The synthetic rooms take turns to speak: the page hears them.
    assert!(
        probe["audioEnergyWindow"].as_f64().unwrap_or(0.0) > 0.0,
        "{probe}"
    );
}

#[test]
fn two_conferences_at_once_see_only_their_own_participants() {
    let _one = exclusive();
    let data = TempDir::new("mcud-two-conferences").expect("temp dir");
    let conference = |id: &str, ep: (&str, &str, &str)| ConferenceConfig {
        id: ConferenceId::new(id).expect("conference id"),
        title: DisplayName::new(format!("Hội nghị {id}")).expect("title"),
        layout: "2x2".into(),
        chair: None,
        endpoints: vec![EndpointConfig {
            id: EndpointId::new(ep.0).expect("endpoint id"),
            name: DisplayName::new(ep.1).expect("name"),
            token: JoinToken::new(ep.2).expect("token"),
        }],
        links: Vec::new(),
    };
    let a = (
        "ubnd-ham-yen",
        "UBND huyện Hàm Yên",
        "token-ham-yen-0123456789",
    );
    let b = (
        "ubnd-na-hang",
        "UBND huyện Na Hang",
        "token-na-hang-0123456789",
    );
    let config = Config {
        server: ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data.path().to_owned(),
            ..ServerConfig::default()
        },
        tls: None,
        conferences: vec![conference("hoi-nghi-a", a), conference("hoi-nghi-b", b)],
        quality: Default::default(),
        media: Default::default(),
        booking: Default::default(),
        notify: Default::default(),
        recording: Default::default(),
        readiness: Default::default(),
        cascade: None,
    };
    let mcu = Mcu::start_config(config, data);
    let dir = TempDir::new("mcud-two-conferences-cams").expect("temp dir");
    let red = launch(&camera(dir.path(), "red.y4m", Rgb::RED));
    let blue = launch(&camera(dir.path(), "blue.y4m", Rgb::BLUE));
    red.navigate(&mcu.join_url_in("hoi-nghi-a", a.0, a.2))
        .expect("navigate red");
    blue.navigate(&mcu.join_url_in("hoi-nghi-b", b.0, b.2))
        .expect("navigate blue");
    for (who, page, own_name, other_name, own_red) in [
        ("red", &red, a.1, b.1, true),
        ("blue", &blue, b.1, a.1, false),
    ] {
        let state = wait_state(page, &["connected"], Duration::from_secs(20));
        assert_eq!(state, "connected", "{who}");
        let probe = page
            .await_promise(PROBE, &[], Some(Duration::from_secs(40)))
            .unwrap_or_else(|e| panic!("{who}: {e}\n{}", page.console_dump()));
        let tiles = &probe["tiles"];
        let own_colour = if own_red {
            is_red(&tiles[0])
        } else {
            is_blue(&tiles[0])
        };
        assert!(
            own_colour,
            "{who}: tile 0 shows its own room, got {}",
            tiles[0]
        );
        for t in 1..4 {
            assert!(
                !is_red(&tiles[t]) && !is_blue(&tiles[t]),
                "{who}: tile {t} must not show the other conference, got {}",
                tiles[t]
            );
        }
        let roster = names(&snapshot(page));
        assert_eq!(
            roster,
            vec![own_name.to_string()],
            "{who}: roster has only its own room, not {other_name}"
        );
    }
}
