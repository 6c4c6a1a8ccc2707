//! Conference media: one thread per conference owns the [`ConferenceMixer`]
//! and the WebRTC sessions of its participants (one UDP socket each), so a
//! conference never shares state — or a panic — with another.
//!
//! The thread loop: take commands (offers, leaves) → read every socket →
//! feed sessions → depacketize video into access units for the mixer, hand
//! Opus packets to it → run due session and mixer timers → send the mixer's
//! outputs (one encoded composite per output group to each of its viewers,
//! each participant's N-1 audio) → transmit → sleep until the next deadline.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mcu_mixer::ParticipantId;
use mcu_mixer::audio::FRAME_DURATION;
use mcu_mixer::frame::Yuv;
use mcu_mixer::layout::LayoutLibrary;
use mcu_mixer::mixer::{
    BitrateClass, ConferenceMixer, ConferenceMixerConfig, GroupId, MixerError, MixerOutput,
    ViewSpec,
};
use mcu_mixer::synth::{SineTone, SyntheticVideo};
use mcu_signalling::rtp::{
    Concealment, DepacketizeEvent, H264Depacketizer, H264DepacketizerConfig, JitterBuffer,
    JitterConfig, JitterOutput, KeyframeRequests, OpusArrival, OpusDepacketizer,
};
use mcu_signalling::webrtc::{
    ClientSession, ClientSessionConfig, Negotiated, ServerSession, ServerSessionConfig, Session,
    SessionEvent,
};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::bandwidth::BitrateControl;
use crate::quality::{
    Alarm, AlarmKind, Alarms, Downlink, ParticipantMeters, ParticipantQuality, QualityConfig,
};
use crate::server::wall_clock_ms;

/// What the signalling side asks of a conference's media thread.
#[derive(Debug)]
pub enum MediaCommand {
    /// A participant's SDP offer; the reply is the answer (or why not).
    Offer {
        /// The participant.
        participant: ParticipantId,
        /// Its endpoint id (quality figures and alarms are keyed by it).
        endpoint: String,
        /// Name drawn into its tile.
        name: String,
        /// The SDP offer.
        sdp: String,
        /// It is the chair endpoint: it sees the chair view.
        chair: bool,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<String, String>>,
        /// Told why, if the participant's media fails for good (ICE consent
        /// lost, DTLS failed) and the media thread removed it; dropped
        /// without a word when it leaves normally. The signalling side then
        /// removes the endpoint from the roster: an endpoint that vanished
        /// without `leave` (host off the network, socket half-open) is
        /// otherwise never removed.
        gone: oneshot::Sender<String>,
    },
    /// An ICE candidate the participant trickled after its offer.
    RemoteCandidate {
        /// The participant.
        participant: ParticipantId,
        /// The `candidate:…` attribute.
        candidate: String,
        /// The ICE generation it belongs to, if the endpoint said.
        username_fragment: Option<String>,
    },
    /// A synthetic room inside the daemon (demos, tests): a coloured
    /// picture with a moving square and a tone it "speaks" now and then.
    AddSynthetic {
        /// Its participant id.
        participant: ParticipantId,
        /// Name drawn into its tile.
        name: String,
        /// Picture colour (RGB).
        rgb: (u8, u8, u8),
        /// Tone frequency in Hz.
        tone_hz: f64,
    },
    /// Opens this conference's cascade uplink to its parent MCU: a
    /// participant whose media is a WebRTC session this side offers. What
    /// comes down is shown (main tile of the participants' view) and heard
    /// here; what goes up is the uplink view (one endpoint full screen,
    /// never the picture that came down) and the mix of everyone but the
    /// uplink. Replaces the previous uplink. The reply is the offer.
    OpenUplink {
        /// Its participant id.
        participant: ParticipantId,
        /// Its figures are metered under this name (`cascade:<parent>`).
        endpoint: String,
        /// Name of the parent MCU (its tile's label here).
        name: String,
        /// Where the offer goes.
        reply: oneshot::Sender<Result<String, String>>,
    },
    /// The parent's answer to the uplink's offer.
    UplinkAnswer {
        /// The uplink's participant id.
        participant: ParticipantId,
        /// The answer SDP.
        sdp: String,
        /// Whether it was taken.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A participant's media session ends but its tile stays, with its
    /// last picture (a cascade link that is reconnecting).
    Detach {
        /// The participant.
        participant: ParticipantId,
    },
    /// The participant left (or its socket vanished).
    Leave {
        /// The participant.
        participant: ParticipantId,
        /// Why, when it vanished without `leave` (a drop alarm is raised).
        dropped: Option<&'static str>,
    },
    /// A small picture of a view's composite for the console (`None`:
    /// nobody sees that view yet, so there is no composite).
    Preview {
        /// The chair view (else the participants' view).
        chair_view: bool,
        /// Where the picture goes.
        reply: mpsc::Sender<Option<crate::preview::Picture>>,
    },
    /// Start recording the chair view and the full mix into this sink
    /// (`None`: stop). The reply says whether it was done.
    Record {
        /// The writer's end (`None`: stop recording).
        sink: Option<crate::recording::RecordingSink>,
        /// The outcome: `Err` when already recording (start) or not (stop).
        reply: mpsc::Sender<Result<(), String>>,
    },
    /// An operator's live-control action.
    Control {
        /// The action.
        control: Control,
        /// Where the outcome goes.
        reply: mpsc::Sender<Result<(), ControlError>>,
    },
}

/// Audience tag of the chair view's output group.
const CHAIR_AUDIENCE: u8 = 1;
/// Audience tag of the cascade uplink's output group.
const UPLINK_AUDIENCE: u8 = 2;

/// A live-control action on the conference's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Mute or unmute a participant's audio / video (`None`: unchanged).
    Mute {
        /// The participant.
        participant: ParticipantId,
        /// New audio state.
        audio: Option<bool>,
        /// New video state.
        video: Option<bool>,
    },
    /// What the cascade uplink carries full screen (`None`: the default,
    /// the chair or the active speaker).
    SelectUplink {
        /// The participant (a local endpoint or a child MCU's trunk).
        participant: Option<ParticipantId>,
    },
    /// Relabel a participant's tile (a child MCU's trunk carries an endpoint).
    Rename {
        /// The participant.
        participant: ParticipantId,
        /// The new label.
        name: String,
    },
    /// Change the layout of the chair view or the participants' view.
    SetLayout {
        /// The chair view (else the participants' view).
        chair_view: bool,
        /// Layout name.
        layout: String,
    },
    /// Pin a participant to a tile (`None` clears the tile's pin).
    Pin {
        /// The chair view (else the participants' view).
        chair_view: bool,
        /// Tile index.
        slot: usize,
        /// The participant.
        participant: Option<ParticipantId>,
    },
    /// Put a participant on the main tile of the chair view and unmute it.
    CallToChair {
        /// The participant.
        participant: ParticipantId,
    },
}

/// Why a control action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No layout by that name.
    #[error("unknown layout {0:?}")]
    UnknownLayout(String),
    /// The layout has no such tile.
    #[error("layout has no tile {0}")]
    NoSuchSlot(usize),
    /// The mixer refused.
    #[error("{0}")]
    Mixer(String),
}

/// The views of a conference (participants', chair's) and the operator's
/// pins on each, kept so they hold for viewers who connect later.
struct Views {
    specs: [ViewSpec; 2],
    pins: [Vec<(usize, ParticipantId)>; 2],
    /// The cascade uplink's view, while there is an uplink.
    uplink: Option<ViewSpec>,
    /// What the uplink carries (`None`: the default).
    uplink_pin: Option<ParticipantId>,
    audio_muted: std::collections::BTreeSet<ParticipantId>,
    video_muted: std::collections::BTreeSet<ParticipantId>,
}

/// An operator may act on a participant that has joined but whose media is
/// not up yet: the views keep the state and apply it when it connects.
fn unless_not_yet_connected(r: Result<(), MixerError>) -> Result<(), ControlError> {
    match r {
        Ok(()) | Err(MixerError::UnknownParticipant(_)) => Ok(()),
        Err(e) => Err(ControlError::Mixer(e.to_string())),
    }
}

impl Views {
    fn new(layout: &str) -> Self {
        let spec = ViewSpec::new(layout, 1280, 720);
        Self {
            specs: [spec.clone(), spec.for_audience(CHAIR_AUDIENCE)],
            pins: [Vec::new(), Vec::new()],
            uplink: None,
            uplink_pin: None,
            audio_muted: Default::default(),
            video_muted: Default::default(),
        }
    }

    /// Applies the operator's state to a participant whose media just connected.
    fn admitted(&self, mixer: &mut ConferenceMixer, p: ParticipantId) {
        if self.audio_muted.contains(&p) {
            let _ = mixer.set_audio_muted(p, true);
        }
        if self.video_muted.contains(&p) {
            let _ = mixer.set_video_muted(clock(), p, true);
        }
        self.apply_pins(mixer);
    }

    /// View `i` at bitrate class `class` (viewers on a constrained path
    /// get the same view from a lower-bitrate encode).
    fn spec(&self, i: usize, class: BitrateClass) -> ViewSpec {
        ViewSpec {
            bitrate: class,
            ..self.specs[i].clone()
        }
    }

    /// The groups serving view `i`, one per bitrate class in use.
    fn groups(&self, mixer: &ConferenceMixer, i: usize) -> Vec<GroupId> {
        mixer
            .groups()
            .filter(|(_, s)| **s == self.spec(i, s.bitrate))
            .map(|(g, _)| g)
            .collect()
    }

    /// The group serving view `i` at its own class (else at another).
    fn group(&self, mixer: &ConferenceMixer, i: usize) -> Option<GroupId> {
        let own = mixer
            .groups()
            .find(|(_, s)| **s == self.specs[i])
            .map(|(g, _)| g);
        own.or_else(|| self.groups(mixer, i).first().copied())
    }

    /// Re-applies the pins of every view that has viewers.
    fn apply_pins(&self, mixer: &mut ConferenceMixer) {
        for i in 0..2 {
            for g in self.groups(mixer, i) {
                for &(slot, p) in &self.pins[i] {
                    // The pinned participant may not have connected yet.
                    let _ = mixer.pin(g, slot, Some(p));
                }
            }
        }
        let uplink = self
            .uplink
            .as_ref()
            .and_then(|spec| mixer.groups().find(|(_, s)| *s == spec))
            .map(|(g, _)| g);
        if let Some(g) = uplink {
            let _ = mixer.pin(g, 0, self.uplink_pin);
        }
    }

    /// The first `main` tile of a view's layout (else its first tile).
    fn main_slot(&self, mixer: &ConferenceMixer, i: usize) -> usize {
        self.tiles(mixer, i)
            .iter()
            .position(|t| t.role == mcu_mixer::layout::TileRole::Main)
            .unwrap_or(0)
    }

    /// Forgets a participant that left: its pins, its mute state.
    fn forget(&mut self, participant: ParticipantId) {
        for pins in &mut self.pins {
            pins.retain(|&(_, p)| p != participant);
        }
        if self.uplink_pin == Some(participant) {
            self.uplink_pin = None;
        }
        if self
            .uplink
            .as_ref()
            .is_some_and(|u| u.hidden == Some(participant))
        {
            self.uplink = None;
        }
        self.video_muted.remove(&participant);
        self.audio_muted.remove(&participant);
    }

    /// Moves viewers to the bitrate class their path's feedback picked:
    /// the same view from another group's encode (which starts with a
    /// keyframe for them), with the view's pins.
    fn move_viewers(
        &self,
        mixer: &mut ConferenceMixer,
        peers: &BTreeMap<ParticipantId, Peer>,
        moves: Vec<(ParticipantId, usize, BitrateClass)>,
    ) {
        if moves.is_empty() {
            return;
        }
        for (id, view, class) in moves {
            let spec = self.spec(view, class);
            match mixer.set_view(id, spec.clone()) {
                Ok(_) => {
                    let estimate = peers
                        .get(&id)
                        .and_then(|p| p.downlink.as_ref())
                        .and_then(|(_, c)| c.estimate_bps());
                    info!(
                        participant = id.0,
                        ?class,
                        bitrate_bps = class.bitrate_bps(spec.width, spec.height),
                        estimate_bps = estimate,
                        "viewer moved to another bitrate class"
                    );
                }
                Err(e) => warn!(participant = id.0, "bitrate class not changed: {e}"),
            }
        }
        self.apply_pins(mixer);
    }

    fn tiles(&self, mixer: &ConferenceMixer, i: usize) -> Vec<mcu_mixer::layout::Tile> {
        mixer
            .layouts()
            .get(&self.specs[i].layout)
            .map(|l| l.tiles.clone())
            .unwrap_or_default()
    }

    fn apply(&mut self, mixer: &mut ConferenceMixer, c: Control) -> Result<(), ControlError> {
        let mixer_err = |e: MixerError| ControlError::Mixer(e.to_string());
        match c {
            Control::Mute {
                participant,
                audio,
                video,
            } => {
                if let Some(muted) = audio {
                    if muted {
                        self.audio_muted.insert(participant);
                    } else {
                        self.audio_muted.remove(&participant);
                    }
                    if mixer.group_of(participant).is_some() {
                        mixer
                            .set_audio_muted(participant, muted)
                            .map_err(mixer_err)?;
                    }
                }
                if let Some(muted) = video {
                    if muted {
                        self.video_muted.insert(participant);
                    } else {
                        self.video_muted.remove(&participant);
                    }
                    if mixer.group_of(participant).is_some() {
                        let now = clock();
                        mixer
                            .set_video_muted(now, participant, muted)
                            .map_err(mixer_err)?;
                    }
                }
            }
            Control::SetLayout { chair_view, layout } => {
                let i = usize::from(chair_view);
                let Some(l) = mixer.layouts().get(&layout) else {
                    return Err(ControlError::UnknownLayout(layout));
                };
                let tiles = l.tiles.len();
                for g in self.groups(mixer, i) {
                    mixer.set_group_layout(g, &layout).map_err(mixer_err)?;
                }
                self.specs[i].layout = layout;
                self.pins[i].retain(|&(slot, _)| slot < tiles);
                self.apply_pins(mixer);
            }
            Control::Pin {
                chair_view,
                slot,
                participant,
            } => {
                let i = usize::from(chair_view);
                if slot >= self.tiles(mixer, i).len() {
                    return Err(ControlError::NoSuchSlot(slot));
                }
                self.pins[i].retain(|&(t, p)| t != slot && Some(p) != participant);
                if let Some(p) = participant {
                    self.pins[i].push((slot, p));
                }
                for g in self.groups(mixer, i) {
                    unless_not_yet_connected(mixer.pin(g, slot, participant))?;
                }
            }
            Control::SelectUplink { participant } => {
                self.uplink_pin = participant;
                self.apply_pins(mixer);
            }
            Control::Rename { participant, name } => {
                unless_not_yet_connected(mixer.set_name(participant, &name))?;
            }
            Control::CallToChair { participant } => {
                let main = self.main_slot(mixer, 1);
                self.apply(
                    mixer,
                    Control::Pin {
                        chair_view: true,
                        slot: main,
                        participant: Some(participant),
                    },
                )?;
                self.apply(
                    mixer,
                    Control::Mute {
                        participant,
                        audio: Some(false),
                        video: Some(false),
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// Handle to a conference's media thread; dropping it stops the thread.
#[derive(Debug)]
pub struct ConferenceMedia {
    commands: mpsc::Sender<MediaCommand>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: std::sync::Arc<std::sync::Mutex<MediaStats>>,
}

/// What the media thread reports for monitoring (`/metrics`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaStats {
    /// Participants with media (browsers, endpoints, synthetic rooms).
    pub participants: usize,
    /// The mixer's counters.
    pub mixer: mcu_mixer::mixer::MixerStats,
    /// Mixer ticks timed (video and audio ticks, with encodes and decodes).
    pub ticks: u64,
    /// Their total time, seconds.
    pub tick_seconds: f64,
    /// The longest one, seconds.
    pub tick_seconds_max: f64,
    /// Each participant's audio level in the last mix (participant id, dBov).
    pub levels: Vec<(u64, f32)>,
    /// The active speaker's participant id.
    pub active_speaker: Option<u64>,
    /// MCU-added latency of the composites over the last 10 s, p50 and p95
    /// (seconds; `None` without new pictures).
    pub added_latency_seconds: [Option<f64>; 2],
    /// Each connected endpoint's figures over the last sample period.
    pub quality: Vec<ParticipantQuality>,
    /// Alarms raised and not cleared, oldest first.
    pub alarms_active: Vec<Alarm>,
    /// Cleared alarms, newest first.
    pub alarms_recent: Vec<Alarm>,
    /// Alarms raised since the conference started, by kind.
    pub alarms_raised: Vec<(AlarmKind, u64)>,
}

/// Gives the calling thread the nice value `nice` (on Linux a thread has its
/// own). Refused (no `CAP_SYS_NICE` for a value below the current one), it
/// stays as it is and the daemon says so once.
fn prioritise_this_thread(nice: i32) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if nice == 0 {
        return;
    }
    if let Err(e) = set_thread_nice(nice)
        && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        warn!(
            "media threads stay at normal priority ({e}): give mcud CAP_SYS_NICE \
             (systemd: AmbientCapabilities=CAP_SYS_NICE) or set [media] thread_nice = 0"
        );
    }
}

#[cfg(target_os = "linux")]
fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: setpriority takes plain integers; `who` = 0 with PRIO_PROCESS
    // names the calling thread on Linux.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_thread_nice(_nice: i32) -> std::io::Result<()> {
    Err(std::io::Error::other("per-thread priority is Linux-only"))
}

impl ConferenceMedia {
    /// Starts the media thread of one conference; its media sockets as `net` says.
    pub fn spawn(
        name: &str,
        layout: String,
        net: MediaNet,
        quality: QualityConfig,
    ) -> std::io::Result<Self> {
        let (commands, rx) = mpsc::channel();
        let stats = std::sync::Arc::new(std::sync::Mutex::new(MediaStats::default()));
        let published = stats.clone();
        let thread = std::thread::Builder::new()
            .name(format!("media-{name}"))
            .spawn(move || {
                let span = tracing::info_span!("media", layout = %layout);
                let _enter = span.enter();
                prioritise_this_thread(net.thread_nice);
                // A panic in one conference ends that conference's media only.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(rx, layout, net, quality, &published)
                }));
                if result.is_err() {
                    tracing::error!("conference media thread panicked; its media stopped");
                }
            })?;
        Ok(Self {
            commands,
            thread: Some(thread),
            stats,
        })
    }

    /// The latest figures of the media thread.
    pub fn stats(&self) -> MediaStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends a command; false if the media thread has stopped.
    pub fn send(&self, command: MediaCommand) -> bool {
        self.commands.send(command).is_ok()
    }
}

impl Drop for ConferenceMedia {
    fn drop(&mut self) {
        // Closing the channel ends the loop.
        let (dead, _) = mpsc::channel();
        self.commands = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A synthetic room: picture and tone generated in the media thread.
struct Synthetic {
    id: ParticipantId,
    video: SyntheticVideo,
    tone: SineTone,
    /// Index among synthetic rooms: they take turns to talk, 3 s each.
    turn: usize,
}

struct Peer {
    endpoint: String,
    socket: UdpSocket,
    session: Session<Negotiated>,
    /// Puts reordered video packets back in order (no delay while in order).
    video_jitter: JitterBuffer<Vec<u8>>,
    video_in: H264Depacketizer,
    /// Its keyframe requests (PLI) while its picture is broken.
    keyframe_requests: KeyframeRequests,
    /// Puts reordered audio packets back in order; a packet that does not
    /// come within its wait is concealed by the decoder.
    audio_jitter: JitterBuffer<Vec<u8>>,
    audio_in: OpusDepacketizer,
    meters: ParticipantMeters,
    gone: Option<oneshot::Sender<String>>,
    /// Which of the conference's views it sees (0: participants', 1:
    /// chair's) and its bitrate class there, from its path's feedback
    /// (`None`: a cascade uplink, whose view is its own).
    downlink: Option<(usize, BitrateControl)>,
}

/// The audio jitter buffer: a missing packet is waited for one frame at
/// first, at most three (the wait grows only when packets come late).
const AUDIO_JITTER: JitterConfig = JitterConfig {
    delay: Duration::from_millis(20),
    max_delay: Duration::from_millis(60),
    max_packets: 32,
};

/// After a step down, the wait before a viewer's bitrate class is tried
/// one step up again (doubling while such probes fail).
const BITRATE_BACKOFF: Duration = Duration::from_secs(10);

impl Peer {
    fn new(
        endpoint: String,
        socket: UdpSocket,
        session: Session<Negotiated>,
        gone: Option<oneshot::Sender<String>>,
    ) -> Result<Self, String> {
        Ok(Self {
            downlink: None,
            endpoint,
            socket,
            session,
            video_jitter: JitterBuffer::new(JitterConfig::default())
                .map_err(|e| format!("jitter buffer: {e}"))?,
            video_in: H264Depacketizer::new(H264DepacketizerConfig::default()),
            keyframe_requests: KeyframeRequests::default(),
            audio_jitter: JitterBuffer::new(AUDIO_JITTER)
                .map_err(|e| format!("audio jitter buffer: {e}"))?,
            audio_in: OpusDepacketizer::default(),
            meters: ParticipantMeters::default(),
            gone,
        })
    }

    /// Feeds the audio packets the jitter buffer releases, in order, to the
    /// mixer's decoder; a packet declared lost (or a gap) is concealed
    /// frame by frame, a long one resyncs the decoder instead.
    fn release_audio(&mut self, now: Instant, id: ParticipantId, mixer: &mut ConferenceMixer) {
        while let Some(out) = self.audio_jitter.pop(now) {
            let (concealed, payload) = match &out {
                JitterOutput::Packet(pkt) => match self.audio_in.push(pkt.sequence, &pkt.payload) {
                    OpusArrival::Packet { concealed, payload } => (concealed, Some(payload)),
                    OpusArrival::Resync { payload, .. } => (0, Some(payload)),
                    OpusArrival::Drop => continue,
                },
                &JitterOutput::Lost {
                    first_sequence,
                    count,
                } => match self.audio_in.lost(first_sequence, count) {
                    Concealment::Frames(n) => (n, None),
                    Concealment::Resync => continue,
                },
            };
            for _ in 0..concealed {
                let _ = mixer.handle_audio(id, None);
            }
            if let Some(payload) = payload {
                let _ = mixer.handle_audio(id, payload);
            }
        }
    }

    /// Feeds the video packets the jitter buffer releases to the
    /// depacketizer, and its access units to the mixer (a declared loss
    /// shows as a sequence gap to the depacketizer, which then waits for,
    /// and asks for, a keyframe).
    fn release_video(&mut self, now: Instant, id: ParticipantId, mixer: &mut ConferenceMixer) {
        while let Some(out) = self.video_jitter.pop(now) {
            let JitterOutput::Packet(pkt) = out else {
                continue;
            };
            if self
                .video_in
                .push(pkt.sequence, pkt.timestamp, pkt.marker, &pkt.payload)
                .is_err()
            {
                continue;
            }
            while let Some(ev) = self.video_in.poll_event() {
                match ev {
                    DepacketizeEvent::AccessUnit(au) => {
                        let _ = mixer.handle_video(now, id, &au.data);
                        self.video_in.recycle(au.data);
                    }
                    DepacketizeEvent::NeedKeyframe => {
                        self.keyframe_requests.sent(now);
                        let _ = self.session.request_keyframe(now);
                    }
                    _ => {}
                }
            }
            // Keep asking while the picture is broken (the depacketizer asks once).
            if self
                .keyframe_requests
                .repeat_due(now, self.video_in.awaiting_keyframe())
            {
                let _ = self.session.request_keyframe(now);
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // the daemon owns the clock
fn clock() -> Instant {
    Instant::now()
}

fn random_seed() -> u64 {
    crate::config::random_token()
        .ok()
        .and_then(|t| u64::from_str_radix(&t[..16], 16).ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
}

fn run(
    rx: mpsc::Receiver<MediaCommand>,
    layout: String,
    net: MediaNet,
    quality: QualityConfig,
    published: &std::sync::Mutex<MediaStats>,
) {
    let epoch = clock();
    let mut layouts = LayoutLibrary::with_templates();
    let custom = std::path::Path::new("config/layouts");
    if custom.is_dir()
        && let Err(e) = layouts.load_dir(custom)
    {
        warn!("custom layouts not loaded: {e}");
    }
    let mixer_config = ConferenceMixerConfig {
        stopwatch: Some(clock),
        ..ConferenceMixerConfig::default()
    };
    let mut mixer = match ConferenceMixer::new(epoch, mixer_config, layouts) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("conference mixer: {e}");
            return;
        }
    };
    let mut views = Views::new(&layout);
    let mut peers: BTreeMap<ParticipantId, Peer> = BTreeMap::new();
    let mut synthetic: Vec<Synthetic> = Vec::new();
    let (mut next_synth_video, mut next_synth_audio) = (epoch, epoch);
    let mut buf = vec![0u8; 2048];
    let mut health = LoopHealth::new(epoch);
    let mut alarms = Alarms::default();
    let mut next_sample = epoch + quality.period();
    let mut recording: Option<crate::recording::RecordingSink> = None;
    let mut pending_uplink: Option<PendingUplink> = None;
    loop {
        // 1. Commands.
        loop {
            match rx.try_recv() {
                Ok(MediaCommand::Offer {
                    participant,
                    endpoint,
                    name,
                    sdp,
                    chair,
                    reply,
                    gone,
                }) => {
                    let view = usize::from(chair);
                    alarms.rejoined(wall_clock_ms(), &endpoint);
                    let answer = admit(
                        &mut mixer,
                        &mut peers,
                        Admission {
                            id: participant,
                            endpoint,
                            name: &name,
                            sdp: &sdp,
                            view: (view, &views.specs[view]),
                            net: &net,
                            gone,
                        },
                    );
                    views.admitted(&mut mixer, participant);
                    let _ = reply.send(answer);
                }
                Ok(MediaCommand::Preview { chair_view, reply }) => {
                    let picture = views
                        .group(&mixer, usize::from(chair_view))
                        .and_then(|g| mixer.composite(g))
                        .map(|f| {
                            crate::preview::sample(f, crate::preview::WIDTH, crate::preview::HEIGHT)
                        });
                    let _ = reply.send(picture);
                }
                Ok(MediaCommand::Record { sink, reply }) => {
                    let _ = reply.send(record(&mut mixer, &views, &mut recording, sink));
                }
                Ok(MediaCommand::Control { control, reply }) => {
                    let _ = reply.send(views.apply(&mut mixer, control));
                }
                Ok(MediaCommand::AddSynthetic {
                    participant,
                    name,
                    rgb,
                    tone_hz,
                }) => {
                    let (r, g, b) = rgb;
                    match SyntheticVideo::new(640, 360, Yuv::from_rgb(r, g, b)) {
                        Ok(video)
                            if mixer
                                .add_participant(participant, &name, views.specs[0].clone())
                                .is_ok() =>
                        {
                            synthetic.push(Synthetic {
                                id: participant,
                                video,
                                tone: SineTone::new(tone_hz, 6000),
                                turn: synthetic.len(),
                            });
                        }
                        _ => warn!("synthetic room {name:?} not added"),
                    }
                }
                Ok(MediaCommand::OpenUplink {
                    participant,
                    endpoint,
                    name,
                    reply,
                }) => {
                    // One uplink at a time: a new one replaces the old.
                    if let Some(old) = views.uplink.as_ref().and_then(|u| u.hidden) {
                        views.forget(old);
                        if let Some(mut p) = peers.remove(&old) {
                            let _ = p.session.close();
                            flush(&mut p);
                        }
                        let _ = mixer.remove_participant(old);
                    }
                    pending_uplink = None;
                    let offer = PendingUplink::offer(&net, participant, endpoint, name).map(
                        |(u, offer)| {
                            pending_uplink = Some(u);
                            offer
                        },
                    );
                    let _ = reply.send(offer);
                }
                Ok(MediaCommand::UplinkAnswer {
                    participant,
                    sdp,
                    reply,
                }) => {
                    let result = match pending_uplink.take() {
                        Some(u) if u.id == participant => {
                            u.accept(&sdp, &mut mixer, &mut peers, &mut views)
                        }
                        other => {
                            pending_uplink = other;
                            Err("no uplink offer is outstanding".into())
                        }
                    };
                    let _ = reply.send(result);
                }
                Ok(MediaCommand::RemoteCandidate {
                    participant,
                    candidate,
                    username_fragment,
                }) => {
                    if let Some(p) = peers.get_mut(&participant)
                        && let Err(e) = p
                            .session
                            .add_remote_candidate(&candidate, username_fragment.as_deref())
                    {
                        // An mDNS name, another address family, garbage: ICE
                        // goes on with the candidates it has.
                        warn!(
                            endpoint = p.endpoint.as_str(),
                            "trickled candidate not used: {e}"
                        );
                    }
                }
                Ok(MediaCommand::Detach { participant }) => {
                    if let Some(mut p) = peers.remove(&participant) {
                        let _ = p.session.close();
                        flush(&mut p);
                    }
                }
                Ok(MediaCommand::Leave {
                    participant,
                    dropped,
                }) => {
                    synthetic.retain(|s| s.id != participant);
                    views.forget(participant);
                    if pending_uplink.as_ref().is_some_and(|u| u.id == participant) {
                        pending_uplink = None;
                    }
                    if let Some(mut p) = peers.remove(&participant) {
                        match dropped {
                            Some(why) => alarms.dropped(wall_clock_ms(), &p.endpoint, why),
                            None => alarms.left(wall_clock_ms(), &p.endpoint),
                        }
                        let _ = p.session.close();
                        flush(&mut p);
                    }
                    let _ = mixer.remove_participant(participant);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        let now = clock();
        // 2. Network in, session events.
        let mut failed = Vec::new();
        let mut moves = Vec::new();
        for (&id, p) in &mut peers {
            while let Ok((n, from)) = p.socket.recv_from(&mut buf) {
                let _ = p.session.handle_receive(now, from, &buf[..n]);
            }
            if p.session.poll_timeout().is_some_and(|t| t <= now) {
                let _ = p.session.handle_timeout(now);
            }
            while let Some(event) = p.session.poll_event() {
                match &event {
                    SessionEvent::VideoRtp(pkt) => {
                        p.meters.video.record(
                            now,
                            pkt.sequence,
                            pkt.timestamp,
                            pkt.marker,
                            pkt.payload.len(),
                        );
                        p.meters.video_payload(&pkt.payload);
                    }
                    SessionEvent::AudioRtp(pkt) => p.meters.audio.record(
                        now,
                        pkt.sequence,
                        pkt.timestamp,
                        pkt.marker,
                        pkt.payload.len(),
                    ),
                    _ => {}
                }
                match event {
                    SessionEvent::VideoRtp(_) if views.video_muted.contains(&id) => {}
                    SessionEvent::VideoRtp(pkt) => {
                        p.video_jitter.push(
                            now,
                            pkt.sequence,
                            pkt.timestamp,
                            pkt.marker,
                            pkt.payload,
                        );
                        p.release_video(now, id, &mut mixer);
                    }
                    SessionEvent::AudioRtp(pkt) => {
                        p.audio_jitter.push(
                            now,
                            pkt.sequence,
                            pkt.timestamp,
                            pkt.marker,
                            pkt.payload,
                        );
                        p.release_audio(now, id, &mut mixer);
                    }
                    SessionEvent::KeyframeRequested => {
                        let _ = mixer.request_keyframe_for(id);
                    }
                    SessionEvent::BandwidthEstimate { bits_per_second } => {
                        if let Some((view, control)) = &mut p.downlink
                            && let Some(class) = control.on_estimate(now, bits_per_second)
                        {
                            moves.push((id, *view, class));
                        }
                    }
                    SessionEvent::VideoLossReport { fraction_lost } => {
                        if let Some((view, control)) = &mut p.downlink
                            && let Some(class) =
                                control.on_loss(now, f32::from(fraction_lost) / 256.0)
                        {
                            moves.push((id, *view, class));
                        }
                    }
                    SessionEvent::Connected => {
                        info!(participant = id.0, "media connected");
                        let _ = mixer.request_keyframe_for(id);
                    }
                    SessionEvent::Failed => {
                        warn!(
                            participant = id.0,
                            "media failed (ICE/DTLS or consent timeout)"
                        );
                        failed.push(id);
                    }
                    _ => {}
                }
            }
        }
        views.move_viewers(&mut mixer, &peers, moves);
        // Media held back for a missing packet is released when its wait ends.
        for (&id, p) in &mut peers {
            if p.video_jitter.poll_timeout().is_some_and(|t| t <= now) {
                p.release_video(now, id, &mut mixer);
            }
            if p.audio_jitter.poll_timeout().is_some_and(|t| t <= now) {
                p.release_audio(now, id, &mut mixer);
            }
        }
        for id in failed {
            const WHY: &str = "media failed (ICE consent or DTLS)";
            if let Some(p) = peers.remove(&id) {
                alarms.dropped(wall_clock_ms(), &p.endpoint, WHY);
                if let Some(gone) = p.gone {
                    let _ = gone.send(WHY.into());
                }
            }
            views.forget(id);
            let _ = mixer.remove_participant(id);
            info!(participant = id.0, "participant removed: its media failed");
        }
        // Synthetic rooms: 30 fps pictures; 20 ms of tone while it is their turn.
        if !synthetic.is_empty() {
            if next_synth_video <= now {
                next_synth_video += Duration::from_nanos(33_333_333);
                for s in &mut synthetic {
                    let _ = mixer.handle_video_frame(s.id, s.video.next_frame().clone());
                }
            }
            while next_synth_audio <= now {
                let turn = ((next_synth_audio - epoch).as_secs() / 3) as usize % synthetic.len();
                next_synth_audio += FRAME_DURATION;
                for s in &mut synthetic {
                    let frame = s.tone.next_frame();
                    if s.turn == turn {
                        let _ = mixer.handle_audio_pcm(s.id, frame);
                    }
                }
            }
        }
        // Quality: one sample of every participant per period, held against
        // the alarm thresholds.
        if next_sample <= now {
            next_sample = now + quality.period();
            let at_ms = wall_clock_ms();
            let mut figures = Vec::with_capacity(peers.len());
            let mut moves = Vec::new();
            for (&id, p) in peers.iter_mut().filter(|(_, p)| p.session.is_connected()) {
                let rtt = p.session.round_trip_time(now);
                let mut q = p.meters.sample(now, &p.endpoint, rtt);
                if let Some((view, control)) = &mut p.downlink {
                    if let Some(class) = control.poll(now) {
                        moves.push((id, *view, class));
                    }
                    q.downlink = Some(Downlink {
                        class: control.class(),
                        estimate_bps: control.estimate_bps(),
                        loss: control.last_loss(),
                    });
                }
                alarms.observe(at_ms, &q, &quality);
                figures.push(q);
            }
            views.move_viewers(&mut mixer, &peers, moves);
            if let Ok(mut s) = published.lock() {
                s.quality = figures;
                s.alarms_active = alarms.active();
                s.alarms_recent = alarms.recent();
                s.alarms_raised = alarms.raised_counts();
            }
        }
        // 3. Mixer ticks and outputs.
        if mixer.poll_timeout() <= now {
            health.max_late = health.max_late.max(now - mixer.poll_timeout());
            let started = clock();
            mixer.handle_timeout(now);
            let took = (clock() - started).as_secs_f64();
            if let Ok(mut s) = published.lock() {
                s.participants = peers.len() + synthetic.len();
                s.mixer = mixer.stats();
                s.ticks += 1;
                s.tick_seconds += took;
                s.tick_seconds_max = s.tick_seconds_max.max(took);
                s.levels.clear();
                for (p, level) in mixer.audio_levels() {
                    s.levels.push((p.0, level));
                    // The readiness check wants each one's loudest level.
                    if let Some(peer) = peers.get_mut(&p) {
                        peer.meters.audio_level(level);
                    }
                }
                s.active_speaker = mixer.active_speaker().map(|p| p.0);
            }
        }
        while let Some(out) = mixer.poll_output() {
            match out {
                MixerOutput::Video {
                    group,
                    data,
                    at,
                    keyframe,
                } => {
                    health.keyframes += keyframe as u64;
                    if mixer.recorded_group() == Some(group)
                        && let Some(sink) = &mut recording
                    {
                        use crate::recording::Offer;
                        match sink.video(at, data.clone(), keyframe) {
                            Offer::NeedKeyframe => mixer.request_recording_keyframe(),
                            Offer::Gone => stop_recording(&mut mixer, &mut recording),
                            Offer::Queued | Offer::Dropped => {}
                        }
                    }
                    let ts = ((at - epoch).as_micros() * 9 / 100) as u32;
                    let viewers: Vec<_> = mixer.viewers(group).collect();
                    // The departure time the congestion control records:
                    // after the encode, not when this loop iteration began.
                    let now = clock();
                    for v in viewers {
                        if let Some(p) = peers.get_mut(&v)
                            && p.session.is_connected()
                        {
                            let _ = p.session.send_video_access_unit(now, &data, ts);
                            if let Some((_, control)) = &mut p.downlink {
                                control.on_sent(now, data.len());
                            }
                        }
                    }
                }
                MixerOutput::Audio { to, data, at } => {
                    let ts = ((at - epoch).as_micros() * 48 / 1000) as u32;
                    for v in to {
                        if let Some(p) = peers.get_mut(&v)
                            && p.session.is_connected()
                        {
                            let _ = p.session.send_audio(now, &data, ts);
                            if let Some((_, control)) = &mut p.downlink {
                                control.on_sent(now, data.len());
                            }
                        }
                    }
                }
                MixerOutput::RecordedAudio { data, at } => {
                    if let Some(sink) = &mut recording
                        && sink.audio(at, data) == crate::recording::Offer::Gone
                    {
                        stop_recording(&mut mixer, &mut recording);
                    }
                }
                MixerOutput::RequestKeyframe { from } => {
                    if let Some(p) = peers.get_mut(&from) {
                        let _ = p.session.request_keyframe(now);
                    }
                }
                _ => {}
            }
        }
        // 4. Network out.
        for p in peers.values_mut() {
            flush(p);
        }
        let end = clock();
        health.max_busy = health.max_busy.max(end - now);
        if let Some(added) = health.report(end, &mut mixer, peers.len())
            && let Ok(mut s) = published.lock()
        {
            s.added_latency_seconds = added.map(|q| q.map(|d| d.as_secs_f64()));
        }
        // 5. Sleep until the next deadline (at most 5 ms: sockets are polled).
        let mut next = mixer.poll_timeout().min(next_sample);
        if !synthetic.is_empty() {
            next = next.min(next_synth_video).min(next_synth_audio);
        }
        for p in peers.values_mut() {
            for t in [
                p.session.poll_timeout(),
                p.video_jitter.poll_timeout(),
                p.audio_jitter.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            {
                next = next.min(t);
            }
        }
        let wait = next
            .saturating_duration_since(clock())
            .min(Duration::from_millis(if peers.is_empty() { 20 } else { 2 }));
        std::thread::sleep(wait);
    }
}

/// Starts (`sink` given) or stops the recording of the chair view.
fn record(
    mixer: &mut ConferenceMixer,
    views: &Views,
    recording: &mut Option<crate::recording::RecordingSink>,
    sink: Option<crate::recording::RecordingSink>,
) -> Result<(), String> {
    let Some(mut sink) = sink else {
        if recording.is_none() {
            return Err("not recording".into());
        }
        stop_recording(mixer, recording);
        return Ok(());
    };
    if recording.is_some() {
        return Err("already recording".into());
    }
    let view = views.specs[1].clone(); // the chair view
    let (width, height) = (
        u16::try_from(view.width).map_err(|_| "picture too wide")?,
        u16::try_from(view.height).map_err(|_| "picture too tall")?,
    );
    // 312 samples is libopus's lookahead at 48 kHz; asked of the encoder when it answers.
    let pre_skip = mixer
        .full_mix_lookahead()
        .ok()
        .and_then(|n| u16::try_from(n).ok())
        .unwrap_or(312);
    mixer
        .set_recording(Some(view))
        .map_err(|e| format!("mixer: {e}"))?;
    if sink.begin(width, height, pre_skip, clock()) == crate::recording::Offer::Gone {
        let _ = mixer.set_recording(None);
        return Err("the recording writer stopped".into());
    }
    info!(file = sink.file_name(), "recording the chair view");
    *recording = Some(sink);
    Ok(())
}

/// Ends the recording: the writer finishes the file when the sink is dropped.
fn stop_recording(
    mixer: &mut ConferenceMixer,
    recording: &mut Option<crate::recording::RecordingSink>,
) {
    if let Some(sink) = recording.take() {
        info!(
            file = sink.file_name(),
            dropped = sink.dropped(),
            "recording of the chair view stopped"
        );
    }
    let _ = mixer.set_recording(None);
}

/// How the media loop keeps up, logged every [`LoopHealth::PERIOD`] while
/// the conference has participants: the mixer's counters (ticks skipped
/// because the loop was late) next to the loop's longest iteration and its
/// latest wake-up, so a skipped tick can be told apart as "our own work was
/// long" or "the thread was not scheduled" (a shared, busy machine).
struct LoopHealth {
    since: Instant,
    max_busy: Duration,
    max_late: Duration,
    keyframes: u64,
}

impl LoopHealth {
    const PERIOD: Duration = Duration::from_secs(10);

    fn new(now: Instant) -> Self {
        Self {
            since: now,
            max_busy: Duration::ZERO,
            max_late: Duration::ZERO,
            keyframes: 0,
        }
    }

    /// Logs the window's figures once it is over and starts the next;
    /// returns the MCU-added latency of the window's composites, p50 and
    /// p95 (see [`ConferenceMixer::added_latency`]).
    fn report(
        &mut self,
        now: Instant,
        mixer: &mut ConferenceMixer,
        participants: usize,
    ) -> Option<[Option<Duration>; 2]> {
        if now - self.since < Self::PERIOD {
            return None;
        }
        let added = mixer.added_latency();
        let quantiles = [added.quantile(0.5), added.quantile(0.95)];
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
        if participants > 0 {
            let s = mixer.stats();
            info!(
                added_latency_p50_ms = ms(quantiles[0]),
                added_latency_p95_ms = ms(quantiles[1]),
                added_latency_max_ms = ms(added.quantile(1.0)),
                added_latency_samples = added.count(),
                participants,
                video_ticks = s.video_ticks,
                video_ticks_skipped = s.video_ticks_skipped,
                audio_ticks_skipped = s.audio_ticks_skipped,
                audio_frames_dropped = s.audio_frames_dropped,
                audio_frames_concealed = s.audio_frames_concealed,
                frames_decoded = s.frames_decoded,
                frames_waiting_keyframe = s.frames_waiting_keyframe,
                decode_errors = s.decode_errors,
                keyframes_sent = self.keyframes,
                max_loop_ms = self.max_busy.as_secs_f64() * 1000.0,
                max_late_ms = self.max_late.as_secs_f64() * 1000.0,
                "media loop health (last {} s; counters since start)",
                Self::PERIOD.as_secs()
            );
        }
        mixer.reset_added_latency();
        *self = Self::new(now);
        Some(quantiles)
    }
}

fn flush(p: &mut Peer) {
    while let Some((dest, bytes)) = p.session.poll_transmit() {
        let _ = p.socket.send_to(&bytes, dest);
    }
}

/// A participant's offer, to be admitted.
struct Admission<'a> {
    id: ParticipantId,
    endpoint: String,
    name: &'a str,
    sdp: &'a str,
    /// Which view (0: participants', 1: chair's) and its spec.
    view: (usize, &'a ViewSpec),
    net: &'a MediaNet,
    gone: oneshot::Sender<String>,
}

/// Where a conference's media sockets bind and what they advertise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaNet {
    /// Address the sockets bind to (advertised as the host candidate).
    pub bind_ip: IpAddr,
    /// UDP ports to take them from (`None`: any the system picks).
    pub ports: Option<std::ops::RangeInclusive<u16>>,
    /// Public address behind a 1:1 NAT, advertised with the same port.
    pub public_ip: Option<IpAddr>,
    /// Nice value the media thread asks for (`[media] thread_nice`).
    pub thread_nice: i32,
}

impl MediaNet {
    /// A non-blocking media socket for one session, and its address.
    fn bind_media(&self) -> Result<(UdpSocket, SocketAddr), String> {
        let io = |e: std::io::Error| format!("media socket: {e}");
        let socket = self.bind().map_err(io)?;
        socket.set_nonblocking(true).map_err(io)?;
        let host = socket.local_addr().map_err(io)?;
        Ok((socket, host))
    }

    /// Binds one media socket: the first free port of the range, starting
    /// at a random one so conferences do not all probe from the bottom.
    pub fn bind(&self) -> std::io::Result<UdpSocket> {
        let Some(ports) = &self.ports else {
            return UdpSocket::bind(SocketAddr::new(self.bind_ip, 0));
        };
        let (lo, hi) = (u32::from(*ports.start()), u32::from(*ports.end()));
        let span = hi - lo + 1;
        let start = (random_seed() % u64::from(span)) as u32;
        for i in 0..span {
            let port = (lo + (start + i) % span) as u16;
            match UdpSocket::bind(SocketAddr::new(self.bind_ip, port)) {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("every UDP port of {lo}-{hi} is in use"),
        ))
    }
}

fn admit(
    mixer: &mut ConferenceMixer,
    peers: &mut BTreeMap<ParticipantId, Peer>,
    Admission {
        id,
        endpoint,
        name,
        sdp,
        view,
        net,
        gone,
    }: Admission<'_>,
) -> Result<String, String> {
    if peers.contains_key(&id) {
        return Err("renegotiation is not supported yet".into());
    }
    let (socket, host) = net.bind_media()?;
    let now = clock();
    let config = ServerSessionConfig::new(host, random_seed()).with_public_ip(net.public_ip);
    let mut session = ServerSession::new(now, config).map_err(|e| format!("webrtc: {e}"))?;
    let answer = session
        .accept_offer(now, sdp)
        .map_err(|e| format!("offer refused: {e}"))?;
    let (index, spec) = view;
    mixer
        .add_participant(id, name, spec.clone())
        .map_err(|e| format!("mixer: {e}"))?;
    info!(participant = id.0, %host, "media session created");
    let mut peer = Peer::new(endpoint, socket, session.into_negotiated(), Some(gone))?;
    let control = BitrateControl::new(spec.bitrate, spec.width, spec.height, BITRATE_BACKOFF);
    peer.downlink = Some((index, control));
    peers.insert(id, peer);
    Ok(answer)
}

/// The cascade uplink between its offer and the parent's answer.
struct PendingUplink {
    id: ParticipantId,
    endpoint: String,
    name: String,
    socket: UdpSocket,
    session: ClientSession,
}

impl PendingUplink {
    /// A media socket and a session offering to the parent.
    fn offer(
        net: &MediaNet,
        id: ParticipantId,
        endpoint: String,
        name: String,
    ) -> Result<(Self, String), String> {
        let (socket, host) = net.bind_media()?;
        let now = clock();
        let config = ClientSessionConfig::new(host, random_seed()).with_public_ip(net.public_ip);
        let mut session = ClientSession::new(now, config).map_err(|e| format!("webrtc: {e}"))?;
        let offer = session
            .create_offer(now)
            .map_err(|e| format!("webrtc offer: {e}"))?;
        info!(participant = id.0, %host, "cascade uplink offered");
        Ok((
            Self {
                id,
                endpoint,
                name,
                socket,
                session,
            },
            offer,
        ))
    }

    /// Takes the parent's answer: the uplink joins the mixer, with what
    /// came down on the main tile of the participants' view.
    fn accept(
        mut self,
        sdp: &str,
        mixer: &mut ConferenceMixer,
        peers: &mut BTreeMap<ParticipantId, Peer>,
        views: &mut Views,
    ) -> Result<(), String> {
        self.session
            .accept_answer(clock(), sdp)
            .map_err(|e| format!("answer refused: {e}"))?;
        let spec = ViewSpec::new("1x1", 1280, 720)
            .for_audience(UPLINK_AUDIENCE)
            .for_uplink(self.id);
        mixer
            .add_participant(self.id, &self.name, spec.clone())
            .map_err(|e| format!("mixer: {e}"))?;
        views.uplink = Some(spec);
        let main = views.main_slot(mixer, 0);
        views.pins[0].retain(|&(slot, p)| slot != main && p != self.id);
        views.pins[0].push((main, self.id));
        peers.insert(
            self.id,
            Peer::new(
                self.endpoint,
                self.socket,
                self.session.into_negotiated(),
                None,
            )?,
        );
        views.admitted(mixer, self.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_media_thread_changes_its_own_priority_only() {
        let nice = || {
            // SAFETY: plain integers; 0 = the calling thread.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        };
        let before = nice();
        // A higher nice value (lower priority) needs no privilege.
        let inside = std::thread::spawn(move || {
            prioritise_this_thread(before + 3);
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(inside, before + 3);
        assert_eq!(nice(), before, "the spawning thread is untouched");
    }

    #[test]
    fn media_sockets_take_free_ports_of_the_range_and_say_when_none_is_left() {
        // Three consecutive ports the system just handed out and freed.
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let lo = probe.local_addr().unwrap().port().min(65_000);
        drop(probe);
        let net = MediaNet {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            ports: Some(lo..=lo + 2),
            public_ip: None,
            thread_nice: 0,
        };
        let mut held = Vec::new();
        for _ in 0..3 {
            let s = net.bind().expect("a free port of the range");
            let port = s.local_addr().unwrap().port();
            assert!(
                (lo..=lo + 2).contains(&port),
                "{port} outside {lo}-{}",
                lo + 2
            );
            held.push(s);
        }
        let mut ports: Vec<u16> = held
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect();
        ports.sort_unstable();
        assert_eq!(ports, [lo, lo + 1, lo + 2], "each port once");
        let err = net.bind().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains("is in use"), "{err}");
        // Without a range the system picks.
        let any = MediaNet { ports: None, ..net };
        assert!(any.bind().is_ok());
    }
}
