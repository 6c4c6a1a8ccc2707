//! One synthetic endpoint: joins over signalling, offers WebRTC, sends its
//! stamped picture and tone, receives and analyses the composite and the
//! mix. Runs on its own thread ([`Endpoint::spawn`]); one loop polls the
//! WebSocket and the UDP socket, drives the [`ClientSession`] timers and
//! paces the outgoing media.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcu_mixer::codec::{
    AudioDecoder, AudioEncoder, H264Decoder, H264Encoder, H264EncoderConfig, OpusDecoder,
    OpusEncoder, OpusEncoderConfig, VideoDecoder, VideoEncoder,
};
use mcu_mixer::frame::{I420Frame, Yuv};
use mcu_mixer::synth::SineTone;
use mcu_signalling::protocol::{
    ClientMessage, ConferenceId, EndpointId, Join, JoinToken, Offer, ReceiverStats, ServerMessage,
};
use mcu_signalling::rtp::{
    DepacketizeEvent, H264Depacketizer, H264DepacketizerConfig, KeyframeRequests,
};
use mcu_signalling::webrtc::{ClientSession, ClientSessionConfig, SessionEvent};

use crate::bottleneck::Bottleneck;
use crate::picture::{self, STAMP_TIME_MODULO, StampedPicture};
use crate::report::{EndpointReport, Percentiles, TileReport, ToneReport};
use crate::signalling::{Signalling, SignallingError};
use crate::tone::ToneMeter;

/// Settings of one synthetic endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Signalling URL, `wss://host:port/ws`.
    pub url: String,
    /// TLS client settings (trust anchors: the daemon's certificate).
    pub tls: Arc<rustls::ClientConfig>,
    /// Conference to join.
    pub conference: String,
    /// Endpoint id.
    pub endpoint: String,
    /// Join token.
    pub token: String,
    /// Index stamped into the picture (its place in a `--count` run).
    pub index: u8,
    /// Picture colour (sRGB).
    pub colour: (u8, u8, u8),
    /// Tone frequency (Hz).
    pub tone_hz: f64,
    /// Frequencies to look for in the received audio (the own tone is added).
    pub listen_hz: Vec<f64>,
    /// Sent picture size.
    pub width: u32,
    /// Sent picture height.
    pub height: u32,
    /// Sent frame rate.
    pub fps: u32,
    /// Decode and analyse the received composite (off: only count access
    /// units, to spare CPU in a load run).
    pub analyse_video: bool,
    /// Grid of the composite (`n` of an `n`×`n` layout); `None` guesses it
    /// from the stamps it can read.
    pub grid: Option<u32>,
    /// Address the media socket binds to (and advertises).
    pub bind_ip: IpAddr,
    /// When the endpoint's tone plays.
    pub talk: Talk,
    /// Its incoming media crosses a link of this rate, kbit/s (a slow
    /// line: queueing, then loss); `None`: no limit. Changed while it runs
    /// with [`Endpoint::set_downlink_kbps`].
    pub downlink_kbps: Option<u32>,
    /// Film grain on the picture, so that it costs what camera video costs
    /// to encode ([`StampedPicture::with_grain`]).
    pub grain: bool,
}

/// When an endpoint "speaks" (plays its tone; silence otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Talk {
    /// All the time (the N−1 test: every tone always present).
    Always,
    /// In turns, like a meeting: endpoint `index` speaks during the
    /// `index % speakers`-th `turn` of each cycle of the wall clock, so
    /// endpoints in different processes agree on whose turn it is.
    Turns {
        /// Length of one turn.
        turn: Duration,
        /// Speakers taking turns.
        speakers: usize,
    },
}

impl EndpointConfig {
    /// A configuration with the defaults: 640×360 at 30 fps, analysing,
    /// media on loopback.
    pub fn new(
        url: &str,
        tls: Arc<rustls::ClientConfig>,
        conference: &str,
        endpoint: &str,
        token: &str,
    ) -> Self {
        Self {
            url: url.to_owned(),
            tls,
            conference: conference.to_owned(),
            endpoint: endpoint.to_owned(),
            token: token.to_owned(),
            index: 0,
            colour: picture::PALETTE[0],
            tone_hz: tone_for(0),
            listen_hz: Vec::new(),
            width: 640,
            height: 360,
            fps: 30,
            analyse_video: true,
            grid: None,
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            talk: Talk::Always,
            downlink_kbps: None,
            grain: false,
        }
    }
}

/// The sequence number of an RTP (not RTCP, STUN or DTLS) datagram:
/// version 2 and a payload type outside RTCP's 72–76 (RFC 5761); SRTP
/// leaves the header in the clear.
fn rtp_sequence(bytes: &[u8]) -> Option<u16> {
    (bytes.len() >= 12 && bytes[0] >> 6 == 2 && !(72..=76).contains(&(bytes[1] & 0x7f)))
        .then(|| u16::from_be_bytes([bytes[2], bytes[3]]))
}

/// The most queueing delay of a constrained downlink before it drops.
const DOWNLINK_QUEUE: Duration = Duration::from_millis(500);

/// The tone of the `i`-th endpoint of a run: 400 Hz, 550 Hz, 700 Hz, …
pub fn tone_for(i: usize) -> f64 {
    400.0 + 150.0 * i as f64
}

/// How an endpoint stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Sends `leave`, closes its peer connection, closes the socket.
    Leave,
    /// Drops everything at once without a word: the TCP connection closes
    /// (the daemon sees the socket end), no more UDP — like a killed process.
    Kill,
    /// Goes silent: no more UDP, the WebSocket is neither read nor closed
    /// (kept open by the handle) — like a host that lost its network. Only
    /// the ICE consent checks can notice.
    Freeze,
}

const RUNNING: u8 = 0;

/// What the loop publishes while it runs (for tests and progress).
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Joined and got an answer.
    pub joined: bool,
    /// The participant id the MCU gave this session.
    pub participant_id: Option<u64>,
    /// ICE + DTLS up.
    pub connected: bool,
    /// The latest roster (endpoint ids).
    pub roster: Vec<String>,
    /// Composite pictures decoded since the start (not reset by
    /// [`Endpoint::reset_measurements`]).
    pub frames_decoded: u64,
    /// Composite access units received since the start.
    pub frames_received: u64,
    /// Tiles of the latest analysed composite.
    pub tiles: Vec<TileReport>,
    /// Video packets whose first transmission was dropped
    /// ([`Endpoint::set_send_loss_first_every`]).
    pub first_transmissions_dropped: u64,
    /// Keyframe requests (PLI) received from the MCU since the start.
    pub keyframes_requested: u64,
    /// Bytes of composite access units received since the start.
    pub video_bytes_received: u64,
    /// Incoming packets the constrained downlink dropped
    /// ([`Endpoint::set_downlink_kbps`]).
    pub downlink_dropped: u64,
    /// Camera presets the MCU asked this room to recall (`camera_preset`),
    /// by name, oldest first: a room system would move its camera.
    pub camera_presets: Vec<String>,
    /// The loop ended with this error.
    pub error: Option<String>,
    /// The loop has ended.
    pub finished: bool,
}

struct Shared {
    stop: AtomicU8,
    reset: std::sync::atomic::AtomicBool,
    /// Impairments a test injects: send no video (a frozen camera) …
    video_paused: std::sync::atomic::AtomicBool,
    /// … drop the RTP packets whose sequence number is a multiple of n (0: none) …
    drop_every: std::sync::atomic::AtomicU32,
    /// … drop only the first transmission of such video packets (0: none) …
    drop_first_every: std::sync::atomic::AtomicU32,
    /// … send silence in place of the tone (a muted or dead microphone) …
    mic_silent: std::sync::atomic::AtomicBool,
    /// … and receive through a link of this many kbit/s (0: no limit).
    downlink_kbps: std::sync::atomic::AtomicU32,
    live: Mutex<LiveState>,
}

impl Shared {
    fn live(&self) -> std::sync::MutexGuard<'_, LiveState> {
        // The state is plain data updated field by field: usable after a panic.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running endpoint.
pub struct Endpoint {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<(EndpointReport, Option<Signalling>)>>,
    /// A frozen endpoint's WebSocket, held open until the handle is dropped.
    frozen: Option<Signalling>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Starts the endpoint on its own thread: it connects and joins at once.
    pub fn spawn(config: EndpointConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            stop: AtomicU8::new(RUNNING),
            reset: Default::default(),
            video_paused: Default::default(),
            drop_every: Default::default(),
            drop_first_every: Default::default(),
            mic_silent: Default::default(),
            downlink_kbps: config.downlink_kbps.unwrap_or(0).into(),
            live: Mutex::new(LiveState::default()),
        });
        let s = shared.clone();
        let name = format!("endpoint-{}", config.endpoint);
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            let mut run = Run::new(config, s.clone());
            let (report, ws) = run.main();
            let mut live = s.live();
            live.finished = true;
            live.error = report.error.clone();
            (report, ws)
        })?;
        Ok(Self {
            shared,
            thread: Some(thread),
            frozen: None,
        })
    }

    /// A copy of what the endpoint sees now.
    pub fn live(&self) -> LiveState {
        self.shared.live().clone()
    }

    /// Stops (or resumes) sending video, as a camera that froze: audio and
    /// the connection go on.
    pub fn set_video_paused(&self, paused: bool) {
        self.shared.video_paused.store(paused, Ordering::SeqCst);
    }

    /// Drops the outgoing RTP packets whose sequence number is a multiple
    /// of `n` (`n` = 20: 5 % loss; 0: none), retransmissions included, as a
    /// lossy uplink that NACK cannot repair would.
    pub fn set_send_loss_every(&self, n: u32) {
        self.shared.drop_every.store(n, Ordering::SeqCst);
    }

    /// Drops the first transmission of the outgoing video RTP packets whose
    /// sequence number is a multiple of `n` (`n` = 10: 10 % of the video
    /// packets; 0: none) and lets their retransmission through: a lossy
    /// uplink that NACK repairs. The drops are counted
    /// ([`LiveState::first_transmissions_dropped`]).
    pub fn set_send_loss_first_every(&self, n: u32) {
        self.shared.drop_first_every.store(n, Ordering::SeqCst);
    }

    /// Receives through a link of `kbps` (0: no limit), as a slow line
    /// would carry the MCU's media: packets queue up to 500 ms, then are
    /// dropped. ICE and DTLS pass at once; RTP and RTCP cross the link.
    pub fn set_downlink_kbps(&self, kbps: u32) {
        self.shared.downlink_kbps.store(kbps, Ordering::SeqCst);
    }

    /// Sends silence (still as Opus packets) in place of the tone, as a
    /// microphone muted on the device or dead would, or the tone again.
    pub fn set_mic_silent(&self, silent: bool) {
        self.shared.mic_silent.store(silent, Ordering::SeqCst);
    }

    /// Starts the measurements (fps, latency, tones, losses) afresh; the
    /// join-to-first-frame time is kept.
    pub fn reset_measurements(&self) {
        self.shared.reset.store(true, Ordering::SeqCst);
    }

    /// Stops the endpoint the way `mode` says and returns its report.
    pub fn stop(&mut self, mode: StopMode) -> EndpointReport {
        let code = match mode {
            StopMode::Leave => 1,
            StopMode::Kill => 2,
            StopMode::Freeze => 3,
        };
        let _ =
            self.shared
                .stop
                .compare_exchange(RUNNING, code, Ordering::SeqCst, Ordering::SeqCst);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok((report, ws))) => {
                self.frozen = ws;
                report
            }
            Some(Err(_)) => EndpointReport::failed("endpoint thread panicked"),
            None => EndpointReport::failed("already stopped"),
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop(StopMode::Leave);
        }
        if let Some(ws) = self.frozen.take() {
            ws.close();
        }
    }
}

#[allow(clippy::disallowed_methods)] // the endpoint is an I/O edge: it owns the clock
fn clock() -> Instant {
    Instant::now()
}

/// Wall-clock milliseconds (the stamps' time base: one clock on one machine).
#[allow(clippy::disallowed_methods)]
fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Per-sender tracking of stamps seen in the composite.
#[derive(Debug, Default, Clone, Copy)]
struct SenderSeen {
    last_counter: Option<u16>,
}

/// Measurements, reset by [`Endpoint::reset_measurements`].
struct Stats {
    since: Instant,
    frames_received: u64,
    frames_decoded: u64,
    decode_errors: u64,
    frames_discarded: u64,
    output_frames_skipped: u64,
    packets_lost_base: u64,
    latencies_ms: Vec<f64>,
    first_decoded: Option<Instant>,
    last_decoded: Option<Instant>,
    resolution: Option<(u32, u32)>,
    tones: ToneMeter,
    audio_packets: u64,
    seen: [SenderSeen; 256],
    grid_votes: [u64; 5],
}

impl Stats {
    fn new(now: Instant, freqs: Vec<f64>, packets_lost_base: u64) -> Self {
        Self {
            since: now,
            frames_received: 0,
            frames_decoded: 0,
            decode_errors: 0,
            frames_discarded: 0,
            output_frames_skipped: 0,
            packets_lost_base,
            latencies_ms: Vec::new(),
            first_decoded: None,
            last_decoded: None,
            resolution: None,
            tones: ToneMeter::new(freqs),
            audio_packets: 0,
            seen: [SenderSeen::default(); 256],
            grid_votes: [0; 5],
        }
    }
}

struct Run {
    config: EndpointConfig,
    shared: Arc<Shared>,
}

impl Run {
    fn new(config: EndpointConfig, shared: Arc<Shared>) -> Self {
        Self { config, shared }
    }

    fn main(&mut self) -> (EndpointReport, Option<Signalling>) {
        let started = clock();
        let mut report = EndpointReport::new(&self.config);
        match self.session(started, &mut report) {
            Ok(ws) => (report, ws),
            Err(e) => {
                report.error = Some(e);
                (report, None)
            }
        }
    }

    /// Joins, negotiates, runs the media loop until told to stop.
    fn session(
        &mut self,
        started: Instant,
        report: &mut EndpointReport,
    ) -> Result<Option<Signalling>, String> {
        let c = self.config.clone();
        let join_timeout = Duration::from_secs(10);
        let mut ws = Signalling::connect(&c.url, c.tls.clone(), join_timeout)
            .map_err(|e| format!("connect {}: {e}", c.url))?;
        let join = Join {
            conference_id: ConferenceId::new(&c.conference).map_err(|e| e.to_string())?,
            endpoint_id: EndpointId::new(&c.endpoint).map_err(|e| e.to_string())?,
            token: JoinToken::new(&c.token).map_err(|e| e.to_string())?,
        };
        let sig = |e: SignallingError| e.to_string();
        ws.send(&ClientMessage::Join(join)).map_err(sig)?;
        let deadline = clock() + join_timeout;
        let (participant_id, roster) = ws
            .wait_for(
                deadline,
                "joined",
                |m| match m {
                    ServerMessage::Joined(j) => Some((
                        j.participant_id,
                        j.roster
                            .iter()
                            .map(|e| e.endpoint_id.as_str().to_owned())
                            .collect::<Vec<_>>(),
                    )),
                    _ => None,
                },
                |_| {},
                clock,
            )
            .map_err(sig)?;
        {
            let mut live = self.shared.live();
            live.roster = roster;
            live.participant_id = Some(participant_id);
        }

        let socket = UdpSocket::bind(SocketAddr::new(c.bind_ip, 0))
            .map_err(|e| format!("media socket: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("media socket: {e}"))?;
        let local = socket
            .local_addr()
            .map_err(|e| format!("media socket: {e}"))?;
        let seed = wall_ms() ^ (c.index as u64) << 56 ^ local.port() as u64;
        let now = clock();
        let mut session = ClientSession::new(now, ClientSessionConfig::new(local, seed))
            .map_err(|e| format!("webrtc: {e}"))?;
        let offer = session
            .create_offer(now)
            .map_err(|e| format!("offer: {e}"))?;
        ws.send(&ClientMessage::Offer(Offer { sdp: offer }))
            .map_err(sig)?;
        let mut roster_updates = Vec::new();
        let answer = ws
            .wait_for(
                clock() + join_timeout,
                "answer",
                |m| match m {
                    ServerMessage::Answer(a) => Some(a.sdp.clone()),
                    _ => None,
                },
                |m| {
                    if let ServerMessage::RosterChanged(r) = m {
                        roster_updates = r
                            .roster
                            .iter()
                            .map(|e| e.endpoint_id.as_str().to_owned())
                            .collect();
                    }
                },
                clock,
            )
            .map_err(sig)?;
        if !roster_updates.is_empty() {
            self.shared.live().roster = roster_updates;
        }
        session
            .accept_answer(clock(), &answer)
            .map_err(|e| format!("answer: {e}"))?;
        ws.set_nonblocking().map_err(sig)?;
        {
            let mut live = self.shared.live();
            live.joined = true;
        }
        report.answer_ms = Some(ms(clock() - started));
        self.media_loop(started, ws, socket, session, report)
    }

    fn media_loop(
        &mut self,
        started: Instant,
        mut ws: Signalling,
        socket: UdpSocket,
        mut session: ClientSession,
        report: &mut EndpointReport,
    ) -> Result<Option<Signalling>, String> {
        let c = self.config.clone();
        let mut freqs = c.listen_hz.clone();
        if !freqs.iter().any(|f| (f - c.tone_hz).abs() < 1.0) {
            freqs.push(c.tone_hz);
        }
        let mut picture = StampedPicture::new(c.width, c.height, c.colour, c.index)
            .map_err(|e| format!("picture: {e}"))?;
        if c.grain {
            picture = picture.with_grain();
        }
        let mut encoder = H264Encoder::new(H264EncoderConfig {
            bitrate_bps: (c.width as u64 * c.height as u64 * 1_000_000 / 230_400)
                .clamp(100_000, 4_000_000) as u32,
            max_fps: c.fps as f32,
            keyframe_interval: 0,
        })
        .map_err(|e| format!("encoder: {e}"))?;
        let mut decoder = H264Decoder::new().map_err(|e| format!("decoder: {e}"))?;
        let mut tone = SineTone::new(c.tone_hz, 6000);
        let silence = vec![0i16; mcu_mixer::codec::AUDIO_FRAME_SAMPLES];
        let mut opus_enc =
            OpusEncoder::new(OpusEncoderConfig::default()).map_err(|e| format!("opus: {e}"))?;
        let mut opus_dec = OpusDecoder::new().map_err(|e| format!("opus: {e}"))?;
        let mut depacketizer = H264Depacketizer::new(H264DepacketizerConfig::default());
        let mut pcm = vec![0i16; mcu_mixer::codec::AUDIO_FRAME_SAMPLES];
        let mut video_out = Vec::new();
        let mut audio_out = Vec::new();
        let mut buf = vec![0u8; 2048];

        let frame_interval = Duration::from_nanos(1_000_000_000 / c.fps.max(1) as u64);
        let media_epoch = clock();
        let (mut next_video, mut next_audio) = (media_epoch, media_epoch);
        let mut last_rtp_ts: Option<u32> = None;
        let mut keyframe_requests = KeyframeRequests::default();
        let mut stats = Stats::new(clock(), freqs.clone(), 0);
        let mut connected_once = false;
        // Since the start, for the live view (the stats restart on reset).
        let (mut total_decoded, mut total_received) = (0u64, 0u64);
        // What it decodes of the composite, told to the MCU once a second.
        let mut decoded_size = (0u32, 0u32);
        let mut next_receiver_stats = media_epoch;

        // Video packets whose first transmission was dropped (repairable loss).
        let mut dropped_once = std::collections::HashSet::new();
        let mut link: Option<Bottleneck> = None;
        let mut video_bytes = 0u64;
        let end = loop {
            let now = clock();
            match self.shared.stop.load(Ordering::SeqCst) {
                RUNNING => {}
                code => break code,
            }
            if self.shared.reset.swap(false, Ordering::SeqCst) {
                let lost = depacketizer.sequence_stats().lost;
                stats = Stats::new(now, freqs.clone(), lost);
            }
            // Signalling.
            loop {
                match ws.try_recv() {
                    Ok(Some(ServerMessage::RosterChanged(r))) => {
                        self.shared.live().roster = r
                            .roster
                            .iter()
                            .map(|e| e.endpoint_id.as_str().to_owned())
                            .collect();
                    }
                    Ok(Some(ServerMessage::Error(e))) if e.fatal => {
                        return Err(format!("server error {}: {}", e.code.as_str(), e.message));
                    }
                    Ok(Some(ServerMessage::CameraPreset(p))) => {
                        self.shared.live().camera_presets.push(p.name);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(format!("signalling: {e}")),
                }
            }
            let _ = ws.flush();
            // Network in, through the constrained downlink if there is one.
            let kbps = u64::from(self.shared.downlink_kbps.load(Ordering::Relaxed));
            if link.as_ref().map_or(0, Bottleneck::rate_bps) != kbps * 1000 {
                if let Some(mut old) = link.take() {
                    for (from, bytes) in old.drain() {
                        let _ = session.handle_receive(now, from, &bytes);
                    }
                }
                link = (kbps > 0).then(|| Bottleneck::new(kbps * 1000, DOWNLINK_QUEUE));
            }
            loop {
                match socket.recv_from(&mut buf) {
                    // Arrival times feed the sender's congestion control
                    // (transport-cc feedback): stamped as read, not when this
                    // loop iteration (an encode may have run) began.
                    Ok((n, from)) => match &mut link {
                        // RTP and RTCP (first byte 128–191, RFC 7983).
                        Some(l) if (128..=191).contains(&buf[0]) => {
                            l.push(clock(), from, buf[..n].to_vec())
                        }
                        _ => {
                            let _ = session.handle_receive(clock(), from, &buf[..n]);
                        }
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
            if let Some(l) = &mut link {
                let now = clock();
                while let Some((from, bytes)) = l.pop(now) {
                    let _ = session.handle_receive(now, from, &bytes);
                }
                self.shared.live().downlink_dropped = l.dropped();
            }
            if session.poll_timeout().is_some_and(|t| t <= now) {
                let _ = session.handle_timeout(now);
            }
            while let Some(event) = session.poll_event() {
                match event {
                    SessionEvent::Connected => {
                        if !connected_once {
                            report.connected_ms = Some(ms(now - started));
                            connected_once = true;
                        }
                        self.shared.live().connected = true;
                        encoder.force_keyframe();
                        next_video = now;
                        next_audio = now;
                    }
                    SessionEvent::Disconnected => self.shared.live().connected = false,
                    SessionEvent::Failed => {
                        return Err("media failed (ICE/DTLS or consent)".into());
                    }
                    SessionEvent::KeyframeRequested => {
                        self.shared.live().keyframes_requested += 1;
                        encoder.force_keyframe();
                    }
                    SessionEvent::AudioRtp(pkt) => {
                        if pkt.payload.is_empty() {
                            continue;
                        }
                        if opus_dec.decode(Some(&pkt.payload), &mut pcm).is_ok() {
                            stats.audio_packets += 1;
                            stats.tones.push(&pcm);
                        }
                    }
                    SessionEvent::VideoRtp(pkt) => {
                        let _ = depacketizer.push(
                            pkt.sequence,
                            pkt.timestamp,
                            pkt.marker,
                            &pkt.payload,
                        );
                        while let Some(ev) = depacketizer.poll_event() {
                            match ev {
                                DepacketizeEvent::AccessUnit(au) => {
                                    stats.frames_received += 1;
                                    total_received += 1;
                                    video_bytes += au.data.len() as u64;
                                    if let Some(prev) = last_rtp_ts {
                                        // Output frames the MCU did not produce (30 fps ticks).
                                        let gap = au.timestamp.wrapping_sub(prev);
                                        if gap < 90_000 * 10 {
                                            stats.output_frames_skipped +=
                                                ((gap as u64 + 1500) / 3000).saturating_sub(1);
                                        }
                                    }
                                    last_rtp_ts = Some(au.timestamp);
                                    if report.first_frame_received_ms.is_none() {
                                        report.first_frame_received_ms = Some(ms(now - started));
                                    }
                                    if c.analyse_video {
                                        match decoder.decode(&au.data) {
                                            Ok(Some(frame)) => {
                                                total_decoded += 1;
                                                decoded_size = (frame.width(), frame.height());
                                                self.analyse(
                                                    &frame, now, started, &mut stats, report,
                                                );
                                                decoder.recycle(frame);
                                            }
                                            Ok(None) => {}
                                            Err(_) => stats.decode_errors += 1,
                                        }
                                    } else if report.first_frame_ms.is_none() && au.keyframe {
                                        report.first_frame_ms = Some(ms(now - started));
                                    }
                                    depacketizer.recycle(au.data);
                                }
                                DepacketizeEvent::Discarded { .. } => stats.frames_discarded += 1,
                                DepacketizeEvent::NeedKeyframe => {
                                    keyframe_requests.sent(now);
                                    let _ = session.request_keyframe(now);
                                }
                            }
                        }
                        // Keep asking while the picture is broken (PLI can be lost).
                        if keyframe_requests.repeat_due(now, depacketizer.awaiting_keyframe()) {
                            let _ = session.request_keyframe(now);
                        }
                    }
                    _ => {}
                }
            }
            {
                let mut live = self.shared.live();
                live.frames_decoded = total_decoded;
                live.frames_received = total_received;
                live.video_bytes_received = video_bytes;
            }
            if session.is_connected() && next_receiver_stats <= now {
                next_receiver_stats = now + Duration::from_secs(1);
                let _ = ws.send(&ClientMessage::ReceiverStats(ReceiverStats {
                    frames_decoded: total_decoded,
                    frame_width: decoded_size.0,
                    frame_height: decoded_size.1,
                }));
            }
            // Media out.
            if session.is_connected() {
                if next_video <= now {
                    let wall = wall_ms();
                    let ts90k = ((now - media_epoch).as_micros() * 9 / 100) as u32;
                    if !self.shared.video_paused.load(Ordering::Relaxed)
                        && let Ok(enc) = encoder.encode(
                            picture.next_frame(wall),
                            ms(now - media_epoch) as u64,
                            &mut video_out,
                        )
                        && enc.bytes > 0
                    {
                        let _ = session.send_video_access_unit(now, &video_out, ts90k);
                    }
                    next_video += frame_interval;
                    if next_video < now {
                        // Far behind (a stall): skip rather than burst.
                        next_video = now + frame_interval;
                    }
                }
                while next_audio <= now {
                    let ts48k = ((next_audio - media_epoch).as_micros() * 48 / 1000) as u32;
                    let speaking = match c.talk {
                        Talk::Always => true,
                        Talk::Turns { turn, speakers } => {
                            let turn_ms = turn.as_millis().max(1) as u64;
                            (wall_ms() / turn_ms) % speakers.max(1) as u64
                                == c.index as u64 % speakers.max(1) as u64
                        }
                    };
                    let silent = self.shared.mic_silent.load(Ordering::Relaxed);
                    let pcm: &[i16] = if speaking && !silent {
                        tone.next_frame()
                    } else {
                        &silence
                    };
                    if opus_enc.encode(pcm, &mut audio_out).is_ok() {
                        let _ = session.send_audio(now, &audio_out, ts48k);
                    }
                    next_audio += mcu_mixer::audio::FRAME_DURATION;
                }
            }
            let drop_every = self.shared.drop_every.load(Ordering::Relaxed);
            let drop_first_every = self.shared.drop_first_every.load(Ordering::Relaxed);
            while let Some((dest, bytes)) = session.poll_transmit() {
                // By sequence number, so that a retransmission (NACK) of a
                // dropped packet is dropped too: the loss is not repaired.
                if drop_every > 0
                    && let Some(seq) = rtp_sequence(&bytes)
                    && u32::from(seq).is_multiple_of(drop_every)
                {
                    continue;
                }
                // A repairable loss: the first time a video packet is sent
                // (the retransmission, same sequence number, goes through).
                if drop_first_every > 0
                    && let Some(seq) = rtp_sequence(&bytes)
                    && session.video_payload_type() == Some(bytes[1] & 0x7f)
                    && u32::from(seq).is_multiple_of(drop_first_every)
                    && dropped_once.insert(seq)
                {
                    if dropped_once.len() > 4096 {
                        // Sequence numbers wrap: forget the oldest drops.
                        dropped_once.clear();
                        dropped_once.insert(seq);
                    }
                    self.shared.live().first_transmissions_dropped += 1;
                    continue;
                }
                let _ = socket.send_to(&bytes, dest);
            }
            // Sleep until the next deadline (sockets are polled: at most 2 ms).
            let mut next = now + Duration::from_millis(2);
            if session.is_connected() {
                next = next.min(next_video).min(next_audio);
            }
            for t in [
                session.poll_timeout(),
                link.as_ref().and_then(Bottleneck::poll_timeout),
            ]
            .into_iter()
            .flatten()
            {
                next = next.min(t);
            }
            let wait = next.saturating_duration_since(clock());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        };
        self.finish(&stats, &depacketizer, report);
        match end {
            2 => Ok(None),     // Kill: everything dropped here, TCP closes.
            3 => Ok(Some(ws)), // Freeze: the handle keeps the WebSocket open.
            _ => {
                let _ = ws.send(&ClientMessage::Leave {});
                let _ = session.close();
                while let Some((dest, bytes)) = session.poll_transmit() {
                    let _ = socket.send_to(&bytes, dest);
                }
                let deadline = clock() + Duration::from_secs(2);
                while clock() < deadline {
                    let _ = ws.flush();
                    match ws.try_recv() {
                        Err(_) => break, // the server closed the session (1000)
                        Ok(Some(_)) => {}
                        Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                ws.close();
                Ok(None)
            }
        }
    }

    /// Reads the tiles of a decoded composite.
    fn analyse(
        &self,
        frame: &I420Frame,
        now: Instant,
        started: Instant,
        stats: &mut Stats,
        report: &mut EndpointReport,
    ) {
        stats.frames_decoded += 1;
        if report.first_frame_ms.is_none() {
            report.first_frame_ms = Some(ms(now - started));
        }
        stats.first_decoded.get_or_insert(now);
        stats.last_decoded = Some(now);
        let (w, h) = (frame.width(), frame.height());
        stats.resolution = Some((w, h));
        let grid = match self.config.grid {
            Some(n) => n.clamp(1, 4),
            None => {
                // Vote for the grid whose tiles carry the most readable stamps.
                let mut best = (0usize, 0u32);
                for n in 1..=4u32 {
                    let readable = picture::grid_tiles(n, w, h)
                        .iter()
                        .filter(|r| picture::read_stamp(frame, **r).is_some())
                        .count();
                    if readable > best.0 {
                        best = (readable, n);
                    }
                }
                if best.0 > 0 {
                    stats.grid_votes[best.1 as usize] += 1;
                }
                (1..=4u32)
                    .max_by_key(|&n| (stats.grid_votes[n as usize], n == 2))
                    .unwrap_or(2)
            }
        };
        let wall = wall_ms();
        let mut tiles = Vec::new();
        for (i, rect) in picture::grid_tiles(grid, w, h).into_iter().enumerate() {
            let colour = picture::tile_colour(frame, rect);
            let stamp = picture::read_stamp(frame, rect);
            if let Some(s) = stamp {
                let seen = &mut stats.seen[s.endpoint as usize];
                if seen.last_counter != Some(s.counter) {
                    seen.last_counter = Some(s.counter);
                    let now_ms = (wall % STAMP_TIME_MODULO as u64) as u32;
                    let age = now_ms.wrapping_sub(s.time_ms) % STAMP_TIME_MODULO;
                    // Older than 10 s is a misread or a frozen tile, not latency.
                    if age < 10_000 {
                        stats.latencies_ms.push(age as f64);
                    }
                }
            }
            tiles.push(TileReport {
                tile: i as u32,
                colour: picture::hex(colour),
                empty: colour.distance(Yuv::BLACK) <= 24 && stamp.is_none(),
                endpoint_index: stamp.map(|s| s.endpoint),
            });
        }
        self.shared.live().tiles = tiles;
    }

    fn finish(&self, stats: &Stats, depacketizer: &H264Depacketizer, report: &mut EndpointReport) {
        let elapsed = match (stats.first_decoded, stats.last_decoded) {
            (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
            _ => 0.0,
        };
        report.measured_seconds = ms(clock() - stats.since) / 1000.0;
        report.frames_received = stats.frames_received;
        report.frames_decoded = stats.frames_decoded;
        report.fps = if elapsed > 0.0 {
            (stats.frames_decoded.saturating_sub(1)) as f64 / elapsed
        } else {
            0.0
        };
        if !self.config.analyse_video && report.measured_seconds > 0.0 {
            report.fps = stats.frames_received as f64 / report.measured_seconds;
        }
        report.resolution = stats.resolution.map(|(w, h)| format!("{w}x{h}"));
        report.decode_errors = stats.decode_errors;
        report.frames_discarded = stats.frames_discarded;
        report.output_frames_skipped = stats.output_frames_skipped;
        report.packets_lost = depacketizer
            .sequence_stats()
            .lost
            .saturating_sub(stats.packets_lost_base);
        report.frames_lost = stats.frames_discarded + stats.output_frames_skipped;
        report.latency_ms = Percentiles::of(&stats.latencies_ms);
        report.latency_samples_ms = stats.latencies_ms.clone();
        report.tiles = self.shared.live().tiles.clone();
        report.audio_packets = stats.audio_packets;
        report.audio_seconds = stats.tones.seconds();
        report.audio_rms_dbfs = round1(stats.tones.rms_dbfs());
        report.tones = stats
            .tones
            .levels()
            .into_iter()
            .map(|(hz, dbfs)| ToneReport {
                hz,
                dbfs: round1(dbfs),
                present: dbfs > crate::report::TONE_PRESENT_DBFS,
                own: (hz - self.config.tone_hz).abs() < 1.0,
            })
            .collect();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
