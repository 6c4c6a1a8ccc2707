//! The server-side WebRTC session ([`mcu_signalling::webrtc::ServerSession`],
//! over the sans-IO `rtc` crate) against real headless Chromium, all on
//! 127.0.0.1.
//!
//! The page offers camera (a red fake Y4M) and microphone, sendrecv; Rust
//! answers from a session whose UDP socket runs on its own thread. Checked:
//! ICE + DTLS-SRTP connect; Chromium's H.264 reaches Rust, is depacketized,
//! decoded with OpenH264 and its centre is red; Rust's H.264 (a blue 320×240
//! picture encoded at 30 fps) reaches the page, whose `<video>` centre is blue
//! and whose inbound-rtp `framesDecoded` reaches 25 within a few seconds.
//!
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mcu_e2e::y4m::{Rgb, Y4mSpec};
use mcu_e2e::{Browser, BrowserConfig, StaticServer, TempDir};
use mcu_mixer::codec::{
    AUDIO_FRAME_SAMPLES, AudioEncoder, H264Decoder, H264Encoder, H264EncoderConfig, OpusEncoder,
    OpusEncoderConfig, VideoDecoder, VideoEncoder,
};
use mcu_mixer::frame::{I420Frame, PixelRect, Yuv};
use mcu_signalling::rtp::{DepacketizeEvent, H264Depacketizer};
use mcu_signalling::webrtc::{ServerSession, ServerSessionConfig, SessionEvent};
use serde_json::{Value, json};

const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mcu-e2e webrtc session</title></head>
<body style="margin:0;background:#333">
<video id="remote" autoplay playsinline style="width:320px;height:240px"></video>
<canvas id="sample" width="320" height="240"></canvas>
<script>
"use strict";
window.__log = [];
function log(...parts) {
  const line = parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ");
  window.__log.push(line);
  console.log("[webrtc] " + line);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, timeoutMs) {
  const start = performance.now();
  while (!(await cond())) {
    if (performance.now() - start > timeoutMs) {
      throw new Error("timed out after " + timeoutMs + " ms waiting for " + what + "; log: " + JSON.stringify(window.__log));
    }
    await sleep(20);
  }
}
async function stats(pc) {
  const out = { inVideo: null, outVideo: null, inAudio: null, pair: null, codecs: {} };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.inVideo = s;
    if (s.type === "inbound-rtp" && s.kind === "audio") out.inAudio = s;
    if (s.type === "outbound-rtp" && s.kind === "video") out.outVideo = s;
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") out.pair = s;
    if (s.type === "codec") out.codecs[s.id] = s.mimeType + " " + (s.sdpFmtpLine || "");
  });
  return out;
}
function centreColour(video, canvas) {
  const w = video.videoWidth, h = video.videoHeight;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  const x0 = Math.floor(w / 4), y0 = Math.floor(h / 4);
  const data = ctx.getImageData(x0, y0, Math.floor(w / 2), Math.floor(h / 2)).data;
  let r = 0, g = 0, b = 0;
  const n = data.length / 4;
  for (let i = 0; i < data.length; i += 4) { r += data[i]; g += data[i + 1]; b += data[i + 2]; }
  return { r: r / n, g: g / n, b: b / n, width: w, height: h };
}
window.makeOffer = async function () {
  const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  log("local tracks:", local.getTracks().map((t) => t.kind + "=" + t.label));
  const caps = RTCRtpSender.getCapabilities("video").codecs.map((c) => c.mimeType + " " + (c.sdpFmtpLine || ""));
  log("video send capabilities:", caps);
  const pc = new RTCPeerConnection();
  window.__pc = pc;
  const remote = new MediaStream();
  window.__remote = remote;
  pc.ontrack = (e) => { log("track:", e.track.kind); remote.addTrack(e.track); };
  pc.oniceconnectionstatechange = () => log("ice:", pc.iceConnectionState);
  pc.onconnectionstatechange = () => log("connection:", pc.connectionState);
  for (const t of local.getTracks()) pc.addTransceiver(t, { direction: "sendrecv", streams: [local] });
  await pc.setLocalDescription(await pc.createOffer());
  await waitFor("ICE gathering", () => pc.iceGatheringState === "complete", 5000);
  return pc.localDescription.sdp;
};
window.finish = async function (answer, opts) {
  const pc = window.__pc;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const video = document.getElementById("remote");
  video.srcObject = window.__remote;
  video.play().catch((e) => log("video.play():", String(e)));
  const t0 = performance.now();
  await waitFor("the connection", () => pc.connectionState === "connected", opts.connectMs);
  const connectedMs = performance.now() - t0;
  let firstFrameMs = null;
  await waitFor("a first decoded remote frame", async () => {
    const s = await stats(pc);
    const ok = video.readyState >= 2 && video.videoWidth > 0 && s.inVideo && s.inVideo.framesDecoded >= 1;
    if (ok) firstFrameMs = performance.now() - t0;
    return ok;
  }, opts.firstFrameMs);
  let s = null;
  await waitFor("25 decoded frames", async () => {
    s = await stats(pc);
    return s.inVideo.framesDecoded >= 25;
  }, opts.framesMs);
  const framesMs = performance.now() - t0;
  await sleep(200);
  s = await stats(pc);
  return {
    connectedMs, firstFrameMs, framesMs,
    colour: centreColour(video, document.getElementById("sample")),
    framesDecoded: s.inVideo.framesDecoded,
    framesReceived: s.inVideo.framesReceived ?? null,
    keyFramesDecoded: s.inVideo.keyFramesDecoded ?? null,
    inVideoCodec: s.inVideo.codecId ? s.codecs[s.inVideo.codecId] : null,
    outVideoCodec: s.outVideo && s.outVideo.codecId ? s.codecs[s.outVideo.codecId] : null,
    outFramesEncoded: s.outVideo ? s.outVideo.framesEncoded ?? null : null,
    pliCount: s.inVideo.pliCount ?? null,
    inAudioPackets: s.inAudio ? s.inAudio.packetsReceived : null,
    inAudioEnergy: s.inAudio ? s.inAudio.totalAudioEnergy ?? null : null,
    inAudioCodec: s.inAudio && s.inAudio.codecId ? s.codecs[s.inAudio.codecId] : null,
    pair: s.pair ? { rtt: s.pair.currentRoundTripTime ?? null, bytesReceived: s.pair.bytesReceived } : null,
    log: window.__log,
  };
};
</script>
</body>
</html>
"#;

/// Wall clock for the test loop (the session itself never reads one).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// What the session thread saw.
#[derive(Debug, Default)]
struct ServerReport {
    connected_after: Option<Duration>,
    video_packets: u64,
    audio_packets: u64,
    access_units: u64,
    keyframes_in: u64,
    decoded: u64,
    decode_errors: u64,
    /// Centre colour (RGB) of the last picture decoded from Chromium.
    last_rgb: Option<(u8, u8, u8)>,
    decoded_size: Option<(u32, u32)>,
    frames_sent: u64,
    audio_sent: u64,
    keyframe_requests_in: u64,
    plis_sent: u64,
    dropped_unvalidated: u64,
    remote: Option<SocketAddr>,
    errors: Vec<String>,
    events: Vec<String>,
}

/// Runs the session on `socket` until `stop`: answers the one offer from
/// `offers`, decodes what Chromium sends and sends back blue at 30 fps once
/// connected.
fn run_session(
    socket: UdpSocket,
    offers: mpsc::Receiver<String>,
    answers: mpsc::Sender<Result<String, String>>,
    stop: Arc<AtomicBool>,
    decoded_count: Arc<AtomicU64>,
) -> ServerReport {
    let local = socket.local_addr().expect("local addr");
    let started = now();
    // Any varying value will do for a test.
    let seed = (u64::from(std::process::id()) << 16) ^ u64::from(local.port());
    let mut session = ServerSession::new(started, ServerSessionConfig::new(local, seed))
        .expect("ServerSession::new");
    let mut report = ServerReport::default();

    let mut depacketizer = H264Depacketizer::default();
    let mut decoder = H264Decoder::new().expect("H264Decoder");
    let mut encoder = H264Encoder::new(H264EncoderConfig {
        bitrate_bps: 500_000,
        max_fps: 30.0,
        keyframe_interval: 60,
    })
    .expect("H264Encoder");
    let blue = I420Frame::solid(320, 240, Yuv::from_rgb(0, 0, 255)).expect("blue frame");
    let mut encoded = Vec::new();
    let frame_interval = Duration::from_micros(33_333);
    // A 400 Hz tone: exactly 8 periods per 20 ms Opus packet, so one frame
    // of samples repeats seamlessly.
    let mut opus = OpusEncoder::new(OpusEncoderConfig::default()).expect("OpusEncoder");
    let tone: Vec<i16> = (0..AUDIO_FRAME_SAMPLES)
        .map(|i| ((i as f64 * 400.0 * std::f64::consts::TAU / 48_000.0).sin() * 8000.0) as i16)
        .collect();
    let mut opus_packet = Vec::new();
    let mut audio_frame = 0usize;
    let mut next_audio: Option<Instant> = None;
    let mut next_frame: Option<Instant> = None;
    let mut connected_at: Option<Instant> = None;
    let mut last_pli: Option<Instant> = None;

    socket.set_nonblocking(false).expect("blocking socket");
    let mut buf = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Ok(offer) = offers.try_recv() {
            let answer = session
                .accept_offer(now(), &offer)
                .map_err(|e| e.to_string());
            let _ = answers.send(answer);
        }

        // Timers.
        let t = now();
        if session.poll_timeout().is_some_and(|d| d <= t)
            && let Err(e) = session.handle_timeout(t)
        {
            report.errors.push(format!("handle_timeout: {e}"));
        }

        // Outgoing video at 30 fps once connected.
        if let Some(at) = next_frame
            && t >= at
        {
            let ts_ms = t.duration_since(started).as_millis() as u64;
            match encoder.encode(&blue, ts_ms, &mut encoded) {
                Ok(info) if info.bytes > 0 => {
                    let ts90k = (t.duration_since(started).as_micros() * 9 / 100) as u32;
                    match session.send_video_access_unit(t, &encoded, ts90k) {
                        Ok(true) => report.frames_sent += 1,
                        Ok(false) => {}
                        Err(e) => report.errors.push(format!("send_video_access_unit: {e}")),
                    }
                }
                Ok(_) => {}
                Err(e) => report.errors.push(format!("encode: {e}")),
            }
            next_frame = Some(at + frame_interval);
        }
        if let Some(at) = next_audio
            && t >= at
        {
            match opus.encode(&tone, &mut opus_packet) {
                Ok(n) => {
                    let ts48k = (audio_frame * AUDIO_FRAME_SAMPLES) as u32;
                    match session.send_audio(t, &opus_packet[..n], ts48k) {
                        Ok(true) => report.audio_sent += 1,
                        Ok(false) => {}
                        Err(e) => report.errors.push(format!("send_audio: {e}")),
                    }
                }
                Err(e) => report.errors.push(format!("opus encode: {e}")),
            }
            audio_frame += 1;
            next_audio = Some(at + Duration::from_millis(20));
        }

        // Events and received media.
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::Connected => {
                    let at = now();
                    report.connected_after = Some(at.duration_since(started));
                    report.remote = session.remote_addr();
                    report.events.push("connected".into());
                    connected_at = Some(at);
                    next_frame.get_or_insert(at);
                    next_audio.get_or_insert(at);
                }
                SessionEvent::VideoRtp(p) => {
                    report.video_packets += 1;
                    if let Err(e) = depacketizer.push(p.sequence, p.timestamp, p.marker, &p.payload)
                    {
                        report.errors.push(format!("depacketize: {e}"));
                    }
                    while let Some(d) = depacketizer.poll_event() {
                        match d {
                            DepacketizeEvent::AccessUnit(au) => {
                                report.access_units += 1;
                                report.keyframes_in += u64::from(au.keyframe);
                                match decoder.decode(&au.data) {
                                    Ok(Some(frame)) => {
                                        report.decoded += 1;
                                        let (w, h) = (frame.width(), frame.height());
                                        let centre = PixelRect {
                                            x: w / 4,
                                            y: h / 4,
                                            w: w / 2,
                                            h: h / 2,
                                        };
                                        report.last_rgb = Some(frame.mean_colour(centre).to_rgb());
                                        report.decoded_size = Some((w, h));
                                        decoder.recycle(frame);
                                    }
                                    Ok(None) => {}
                                    Err(_) => report.decode_errors += 1,
                                }
                                depacketizer.recycle(au.data);
                            }
                            DepacketizeEvent::NeedKeyframe => {
                                let t = now();
                                if last_pli.is_none_or(|l| {
                                    t.duration_since(l) > Duration::from_millis(300)
                                }) && session.request_keyframe(t).unwrap_or(false)
                                {
                                    report.plis_sent += 1;
                                    last_pli = Some(t);
                                }
                            }
                            DepacketizeEvent::Discarded { .. } => {}
                        }
                    }
                }
                SessionEvent::AudioRtp(_) => report.audio_packets += 1,
                SessionEvent::KeyframeRequested => {
                    report.keyframe_requests_in += 1;
                    encoder.force_keyframe();
                }
                other => report.events.push(format!("{other:?}")),
            }
        }

        // Ask for a keyframe once early (so the decode does not depend on
        // Chromium's first IDR surviving), then every 500 ms while the
        // depacketizer waits for one.
        let t = now();
        if report.video_packets > 0
            && connected_at.is_some()
            && (report.plis_sent == 0
                || (depacketizer.awaiting_keyframe()
                    && last_pli.is_none_or(|l| t.duration_since(l) > Duration::from_millis(500))))
            && session.request_keyframe(t).unwrap_or(false)
        {
            report.plis_sent += 1;
            last_pli = Some(t);
        }
        decoded_count.store(report.decoded, Ordering::Relaxed);

        while let Some((dest, bytes)) = session.poll_transmit() {
            if let Err(e) = socket.send_to(&bytes, dest) {
                // Chromium's non-loopback candidates are unreachable from a
                // 127.0.0.1 socket: ICE just does not select them.
                if dest.ip().is_loopback() {
                    report.errors.push(format!("send_to {dest}: {e}"));
                }
            }
        }

        // Wait for a datagram, at most until the next timer or frame.
        let t = now();
        let mut deadline = t + Duration::from_millis(20);
        if let Some(d) = session.poll_timeout() {
            deadline = deadline.min(d);
        }
        for f in [next_frame, next_audio].into_iter().flatten() {
            deadline = deadline.min(f);
        }
        let wait = deadline
            .saturating_duration_since(t)
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait)).expect("read timeout");
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Err(e) = session.handle_receive(now(), from, &buf[..n]) {
                    report.errors.push(format!("handle_receive: {e}"));
                }
                // Drain what else is queued without waiting.
                socket.set_nonblocking(true).expect("nonblocking");
                while let Ok((n, from)) = socket.recv_from(&mut buf) {
                    if let Err(e) = session.handle_receive(now(), from, &buf[..n]) {
                        report.errors.push(format!("handle_receive: {e}"));
                    }
                }
                socket.set_nonblocking(false).expect("blocking");
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => report.errors.push(format!("recv_from: {e}")),
        }
    }
    report.dropped_unvalidated = session.dropped_unvalidated();
    let _ = session.close();
    while let Some((dest, bytes)) = session.poll_transmit() {
        let _ = socket.send_to(&bytes, dest);
    }
    report
}

#[test]
fn chromium_call_with_rtc_server_session() {
    let started = now();
    let dir = TempDir::new("mcu-e2e-webrtc").expect("temp dir");
    let camera = dir.path().join("red.y4m");
    Y4mSpec::solid(Rgb::RED)
        .with_moving_square(32)
        .write_file(&camera)
        .expect("writing the y4m");
    let server = StaticServer::with_html(PAGE).expect("static server on 127.0.0.1");

    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP 127.0.0.1:0");
    let server_addr = socket.local_addr().expect("local addr");
    let (offer_tx, offer_rx) = mpsc::channel();
    let (answer_tx, answer_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let decoded = Arc::new(AtomicU64::new(0));
    let session_thread = {
        let (stop, decoded) = (stop.clone(), decoded.clone());
        thread::spawn(move || run_session(socket, offer_rx, answer_tx, stop, decoded))
    };

    let browser = Browser::launch(BrowserConfig::new().with_fake_video(&camera))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    browser
        .navigate(&server.url("/"))
        .unwrap_or_else(|e| panic!("navigate: {e}\n{}", browser.console_dump()));
    let offer = browser
        .await_promise(
            "return await window.makeOffer();",
            &[],
            Some(Duration::from_secs(20)),
        )
        .unwrap_or_else(|e| panic!("makeOffer: {e}\n{}", browser.console_dump()));
    let offer = offer.as_str().expect("offer SDP string").to_owned();
    offer_tx.send(offer.clone()).expect("session thread alive");
    let answer = answer_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("an answer from the session thread");
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            let report = session_thread.join();
            panic!("accept_offer failed: {e}\n--- offer ---\n{offer}\n--- report ---\n{report:?}");
        }
    };
    let signalled = started.elapsed();

    let opts = json!({ "connectMs": 10000, "firstFrameMs": 10000, "framesMs": 10000 });
    let result = browser.await_promise(
        "return await window.finish(arguments[0], arguments[1]);",
        &[Value::String(answer.clone()), opts],
        Some(Duration::from_secs(40)),
    );
    // A datagram from an address ICE never validated must be dropped.
    let spoofer = UdpSocket::bind("127.0.0.1:0").expect("bind spoofer");
    let mut fake_rtp = vec![0x80, 108, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
    fake_rtp.extend_from_slice(&[0x65; 100]);
    for _ in 0..3 {
        spoofer.send_to(&fake_rtp, server_addr).expect("spoof send");
    }
    // Let the server decode at least 30 of Chromium's pictures (5 s at most).
    let wait_from = now();
    while decoded.load(Ordering::Relaxed) < 30 && wait_from.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(20));
    }
    let console = browser.console_dump();
    let png = browser.screenshot_png().ok();
    drop(browser);
    stop.store(true, Ordering::Relaxed);
    let report = session_thread.join().expect("session thread");
    if let Some(png) = png {
        let shot =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("webrtc_session_page.png");
        let _ = std::fs::write(shot, png);
    }

    let page = result.unwrap_or_else(|e| {
        panic!(
            "the page did not get Rust's video: {e}\n--- server report ---\n{report:#?}\n--- answer ---\n{answer}\n--- offer ---\n{offer}\n--- console ---\n{console}"
        )
    });
    eprintln!(
        "signalled after {signalled:.2?}, total {:.2?}\n--- server report ---\n{report:#?}\n--- page ---\n{page:#}",
        started.elapsed()
    );

    // (a) ICE + DTLS-SRTP up, from the address ICE validated.
    assert!(
        report.connected_after.is_some(),
        "the session never reported Connected: {report:#?}"
    );
    assert!(
        report.remote.is_some_and(|r| r.ip().is_loopback()),
        "validated remote should be on 127.0.0.1: {:?}",
        report.remote
    );
    assert!(
        answer.contains("a=fingerprint:"),
        "answer without DTLS fingerprint"
    );
    assert!(
        answer.contains("UDP/TLS/RTP/SAVPF"),
        "answer is not DTLS-SRTP"
    );
    assert!(
        report.dropped_unvalidated >= 3,
        "the spoofed datagrams were not dropped: {report:#?}"
    );
    assert!(
        report.errors.is_empty(),
        "session errors: {:#?}",
        report.errors
    );

    // (b) Chromium's H.264 decoded in Rust, red at the centre.
    assert!(
        report.audio_packets > 0,
        "no Opus from Chromium: {report:#?}"
    );
    assert!(
        report.decoded >= 30,
        "expected >= 30 pictures decoded from Chromium's H.264: {report:#?}"
    );
    let (r, g, b) = report.last_rgb.expect("a decoded picture");
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    assert!(
        r >= 150 && r - g.max(b) >= 100,
        "Chromium's picture should be red at the centre, got rgb ({r}, {g}, {b})"
    );

    // (c) Rust's H.264 decoded by Chromium, blue at the centre, >= 25 frames
    // in a couple of seconds.
    let colour = &page["colour"];
    let (pr, pg, pb) = (
        colour["r"].as_f64().unwrap_or(-1.0),
        colour["g"].as_f64().unwrap_or(-1.0),
        colour["b"].as_f64().unwrap_or(-1.0),
    );
    assert!(
        pb >= 150.0 && pb - pr.max(pg) >= 100.0,
        "the page should show blue at the centre, got rgb ({pr:.0}, {pg:.0}, {pb:.0}): {page:#}"
    );
    let in_codec = page["inVideoCodec"].as_str().unwrap_or("");
    assert!(
        in_codec.starts_with("video/H264"),
        "page decoded {in_codec:?}, expected H.264"
    );
    assert!(page["framesDecoded"].as_f64().unwrap_or(0.0) >= 25.0);
    // Rust's Opus reached the page too.
    assert!(
        page["inAudioPackets"].as_f64().unwrap_or(0.0) >= 10.0,
        "the page received too little of Rust's Opus: {page:#}"
    );
    assert!(
        page["inAudioCodec"]
            .as_str()
            .unwrap_or("")
            .starts_with("audio/opus"),
        "page audio codec: {}",
        page["inAudioCodec"]
    );
    assert!(
        page["inAudioEnergy"].as_f64().unwrap_or(0.0) > 0.0,
        "the page's audio from Rust carries no energy: {page:#}"
    );
    let first = page["firstFrameMs"].as_f64().unwrap_or(f64::MAX);
    let frames = page["framesMs"].as_f64().unwrap_or(f64::MAX);
    assert!(
        frames - first <= 2500.0,
        "25 frames took {:.0} ms after the first one (expected ~830 ms at 30 fps)",
        frames - first
    );
}
