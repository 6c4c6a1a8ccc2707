//! Self-test of the browser harness, before the MCU is in the picture.
//!
//! Headless Chromium with a fake camera reading a generated `.y4m` file sends
//! its camera and fake microphone from one `RTCPeerConnection` to another
//! inside the same page (loopback, no server), plays the received stream in a
//! `<video>`, and reports the average colour of the picture's centre (drawn
//! into a `<canvas>`) and the inbound-rtp stats. A red file must give a red
//! picture and a blue file a blue one, so the colour really comes from the
//! file; frames must flow at close to the file's 30 fps and the audio must
//! carry energy (the fake microphone beeps).
//!
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

use std::time::{Duration, Instant};

use mcu_e2e::y4m::{Rgb, Y4mSpec};
use mcu_e2e::{Browser, BrowserConfig, StaticServer, TempDir};
use serde_json::{Value, json};

/// The test page: `window.selfTest(opts)` does the whole loopback call and
/// resolves with the measurements.
const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mcu-e2e browser self-test</title></head>
<body style="margin:0;background:#333">
<video id="remote" autoplay playsinline style="width:320px;height:240px"></video>
<canvas id="sample" width="320" height="240"></canvas>
<script>
"use strict";
window.__log = [];
function log(...parts) {
  const line = parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ");
  window.__log.push(line);
  console.log("[selftest] " + line);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, timeoutMs) {
  const start = performance.now();
  while (!(await cond())) {
    if (performance.now() - start > timeoutMs) {
      throw new Error("timed out after " + timeoutMs + " ms waiting for " + what);
    }
    await sleep(50);
  }
}
async function inbound(pc) {
  const out = { video: null, audio: null, pair: null };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.video = s;
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audio = s;
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") out.pair = s;
  });
  return out;
}
function centreColour(video, canvas) {
  const w = video.videoWidth, h = video.videoHeight;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  // The middle half in each direction (the moving square stays at the top).
  const x0 = Math.floor(w / 4), y0 = Math.floor(h / 4);
  const data = ctx.getImageData(x0, y0, Math.floor(w / 2), Math.floor(h / 2)).data;
  let r = 0, g = 0, b = 0;
  const n = data.length / 4;
  for (let i = 0; i < data.length; i += 4) { r += data[i]; g += data[i + 1]; b += data[i + 2]; }
  return { r: r / n, g: g / n, b: b / n, width: w, height: h };
}
window.selfTest = async function (opts) {
  const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  log("local tracks:", local.getTracks().map((t) => t.kind + "=" + t.label));
  const pc1 = new RTCPeerConnection();
  const pc2 = new RTCPeerConnection();
  window.__pcs = [pc1, pc2];
  pc1.onicecandidate = (e) => { if (e.candidate) pc2.addIceCandidate(e.candidate).catch((x) => log("pc2 addIceCandidate", String(x))); };
  pc2.onicecandidate = (e) => { if (e.candidate) pc1.addIceCandidate(e.candidate).catch((x) => log("pc1 addIceCandidate", String(x))); };
  pc1.oniceconnectionstatechange = () => log("pc1 ice:", pc1.iceConnectionState);
  pc2.oniceconnectionstatechange = () => log("pc2 ice:", pc2.iceConnectionState);
  const video = document.getElementById("remote");
  video.muted = false;
  const remote = new MediaStream();
  pc2.ontrack = (e) => { log("pc2 track:", e.track.kind); remote.addTrack(e.track); };
  for (const t of local.getTracks()) pc1.addTrack(t, local);

  const offer = await pc1.createOffer();
  await pc1.setLocalDescription(offer);
  await pc2.setRemoteDescription(offer);
  const answer = await pc2.createAnswer();
  await pc2.setLocalDescription(answer);
  await pc1.setRemoteDescription(answer);
  video.srcObject = remote;
  video.play().catch((e) => log("video.play():", String(e)));

  await waitFor("the ICE connection", () => ["connected", "completed"].includes(pc2.iceConnectionState), opts.connectMs);
  await waitFor("decoded remote video", async () => {
    const s = await inbound(pc2);
    return video.readyState >= 2 && video.videoWidth > 0 && s.video && s.video.framesDecoded >= 5;
  }, opts.firstFrameMs);

  const s0 = await inbound(pc2);
  const t0 = performance.now();
  await sleep(opts.windowMs);
  const s1 = await inbound(pc2);
  const t1 = performance.now();
  const colour = centreColour(video, document.getElementById("sample"));
  const result = {
    colour,
    windowMs: t1 - t0,
    framesDecoded0: s0.video.framesDecoded,
    framesDecoded1: s1.video.framesDecoded,
    framesPerSecond: s1.video.framesPerSecond ?? null,
    frameWidth: s1.video.frameWidth ?? null,
    frameHeight: s1.video.frameHeight ?? null,
    videoCodec: s1.video.codecId ? (await pc2.getStats()).get(s1.video.codecId)?.mimeType ?? null : null,
    audioEnergy: s1.audio ? s1.audio.totalAudioEnergy ?? null : null,
    audioLevel: s1.audio ? s1.audio.audioLevel ?? null : null,
    audioSamples: s1.audio ? s1.audio.totalSamplesReceived ?? null : null,
    audioPackets: s1.audio ? s1.audio.packetsReceived ?? null : null,
    candidatePair: s1.pair ? { rtt: s1.pair.currentRoundTripTime ?? null, bytes: s1.pair.bytesReceived } : null,
    log: window.__log,
  };
  // The call stays up so that a screenshot shows the live picture; the
  // browser teardown ends it.
  return result;
};
</script>
</body>
</html>
"#;

/// What one browser run measured.
#[derive(Debug)]
struct Measured {
    rgb: [f64; 3],
    frames_in_window: f64,
    window_s: f64,
    fps: Option<f64>,
    audio_energy: f64,
    raw: Value,
}

/// Launches a browser whose fake camera plays `spec`, runs the page's
/// self-test and returns the figures. Every failure message carries the
/// browser console.
fn run_browser(dir: &TempDir, server: &StaticServer, name: &str, spec: &Y4mSpec) -> Measured {
    let started = Instant::now();
    let camera = dir.path().join(format!("{name}.y4m"));
    spec.write_file(&camera)
        .unwrap_or_else(|e| panic!("writing {}: {e}", camera.display()));

    let browser = Browser::launch(BrowserConfig::new().with_fake_video(&camera))
        .unwrap_or_else(|e| panic!("launching headless Chromium ({name}): {e}"));
    let launched = started.elapsed();
    browser
        .navigate(&server.url("/"))
        .unwrap_or_else(|e| panic!("{name}: navigate: {e}\n{}", browser.console_dump()));
    let opts = json!({ "connectMs": 15000, "firstFrameMs": 15000, "windowMs": 2000 });
    let raw = browser
        .await_promise(
            "return await window.selfTest(arguments[0]);",
            &[opts],
            Some(Duration::from_secs(45)),
        )
        .unwrap_or_else(|e| {
            panic!(
                "{name}: the in-page WebRTC self-test failed: {e}\n--- browser console ---\n{}",
                browser.console_dump()
            )
        });

    // A screenshot proves that command works and leaves something to look at.
    let png = browser
        .screenshot_png()
        .unwrap_or_else(|e| panic!("{name}: screenshot: {e}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name}: screenshot is not a PNG"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser_harness_{name}.png"));
    let _ = std::fs::write(&shot, &png);

    let console = browser.console_dump();
    let f = |k: &str| raw[k].as_f64();
    let colour = &raw["colour"];
    let rgb = [
        colour["r"].as_f64().unwrap_or(-1.0),
        colour["g"].as_f64().unwrap_or(-1.0),
        colour["b"].as_f64().unwrap_or(-1.0),
    ];
    let measured = Measured {
        rgb,
        frames_in_window: f("framesDecoded1").unwrap_or(0.0) - f("framesDecoded0").unwrap_or(0.0),
        window_s: f("windowMs").unwrap_or(0.0) / 1000.0,
        fps: f("framesPerSecond"),
        audio_energy: f("audioEnergy").unwrap_or(0.0),
        raw,
    };
    eprintln!(
        "{name}: launch {launched:.2?}, total {:.2?}; rgb {:.0?}, {} frames in {:.2} s (fps stat {:?}), audio energy {:.4}; screenshot {}\n  raw: {}\n  console:\n{console}",
        started.elapsed(),
        measured.rgb,
        measured.frames_in_window,
        measured.window_s,
        measured.fps,
        measured.audio_energy,
        shot.display(),
        measured.raw,
    );
    drop(browser);
    measured
}

/// The `dominant` channel must be at least `min` and exceed both others by
/// `margin`, and every channel must be within `tolerance` of `expected`
/// (VP8 and the YUV round trips blur the exact values a little).
fn assert_colour(name: &str, m: &Measured, expected: Rgb, dominant: usize, tolerance: f64) {
    let (min, margin) = (150.0, 100.0);
    let channel = ["red", "green", "blue"][dominant];
    let d = m.rgb[dominant];
    let max_other = (0..3)
        .filter(|&i| i != dominant)
        .map(|i| m.rgb[i])
        .fold(f64::MIN, f64::max);
    assert!(
        d >= min && d - max_other >= margin,
        "{name}: expected a {channel} picture (that channel >= {min} and >= {margin} above the others), \
         got rgb {:.1?}\n  raw: {}",
        m.rgb,
        m.raw
    );
    let want = [expected.r, expected.g, expected.b].map(f64::from);
    let off = (0..3)
        .map(|i| (m.rgb[i] - want[i]).abs())
        .fold(0.0, f64::max);
    assert!(
        off <= tolerance,
        "{name}: centre colour {:.1?} is {off:.1} away from {want:?} (tolerance {tolerance})\n  raw: {}",
        m.rgb,
        m.raw
    );
}

fn assert_flowing(name: &str, m: &Measured) {
    let rate = m.frames_in_window / m.window_s.max(0.001);
    assert!(
        rate >= 25.0 || m.frames_in_window >= 50.0,
        "{name}: expected >= 25 decoded frames/s, got {} frames in {:.2} s ({rate:.1}/s; fps stat {:?})\n  raw: {}",
        m.frames_in_window,
        m.window_s,
        m.fps,
        m.raw
    );
    assert!(
        m.audio_energy > 0.0,
        "{name}: expected inbound audio with energy > 0 (fake microphone beep), got {}\n  raw: {}",
        m.audio_energy,
        m.raw
    );
}

#[test]
fn fake_camera_colour_reaches_canvas_over_loopback_webrtc() {
    let started = Instant::now();
    let dir = TempDir::new("mcu-e2e-harness").expect("temp dir");
    let server = StaticServer::with_html(PAGE).expect("static server on 127.0.0.1");

    // Red, with a white square moving along the top edge (outside the
    // sampled centre): a live, changing picture.
    let red = run_browser(
        &dir,
        &server,
        "red",
        &Y4mSpec::solid(Rgb::RED).with_moving_square(32),
    );
    assert_colour("red", &red, Rgb::RED, 0, 40.0);
    assert_flowing("red", &red);

    // Blue, in a second browser: the colour comes from the file.
    let blue = run_browser(&dir, &server, "blue", &Y4mSpec::solid(Rgb::BLUE));
    assert_colour("blue", &blue, Rgb::BLUE, 2, 40.0);
    assert_flowing("blue", &blue);

    eprintln!("browser harness self-test took {:.2?}", started.elapsed());
}

#[test]
fn launch_failure_names_setup_script() {
    let mut config = BrowserConfig::new();
    config.chromium = "/nonexistent/chromium".into();
    let err = Browser::launch(config).expect_err("a missing chromium must fail");
    assert!(err.to_string().contains("scripts/setup.sh"), "{err}");
}

#[test]
fn teardown_leaves_no_processes() {
    let browser = Browser::launch(BrowserConfig::new())
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let driver_pid = browser.driver_pid();
    let work_dir = browser.work_dir().to_owned();
    assert!(browser.profile_dir().starts_with(&work_dir));
    let answer = browser.execute("return 6 * 7", &[]).expect("execute");
    assert_eq!(answer, json!(42));
    let async_answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(arguments[0] + 1), 10);",
            &[json!(1)],
            Some(Duration::from_secs(5)),
        )
        .expect("execute_async");
    assert_eq!(async_answer, json!(2));
    let rejected = browser.await_promise("throw new Error('boom');", &[], None);
    assert!(
        matches!(&rejected, Err(mcu_e2e::BrowserError::Script { message }) if message.contains("boom")),
        "{rejected:?}"
    );
    let timeout = browser.execute_async(
        "/* never calls back */",
        &[],
        Some(Duration::from_millis(300)),
    );
    assert!(
        matches!(&timeout, Err(mcu_e2e::BrowserError::WebDriver { error, .. }) if error.contains("timeout")),
        "{timeout:?}"
    );
    // Chromium and all its helpers, crash reporter included, name the work
    // dir on their command line (the profile, or XDG_CONFIG_HOME inside it).
    let chromium_pids = live_pids_mentioning(&work_dir.to_string_lossy());
    assert!(
        chromium_pids.len() >= 2,
        "expected Chromium processes mentioning {}, found {chromium_pids:?}",
        work_dir.display()
    );
    drop(browser);

    assert!(
        !is_alive(driver_pid),
        "chromedriver {driver_pid} still running after drop"
    );
    let left = live_pids_mentioning(&work_dir.to_string_lossy());
    assert!(
        left.is_empty(),
        "Chromium processes left after drop: {left:?}"
    );
    assert!(
        !work_dir.exists(),
        "work dir {} left after drop",
        work_dir.display()
    );
}

/// Whether `pid` is a live (non-zombie) process.
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Live processes whose command line contains `needle`.
fn live_pids_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id() && is_alive(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}
