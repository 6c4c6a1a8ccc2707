//! The conference mixer: one struct per conference that takes the media of
//! every participant and yields, tick by tick, the encoded composite of each
//! output group and each participant's N-1 audio.
//!
//! Sans-IO: the caller passes `now` with every input, calls
//! [`ConferenceMixer::handle_timeout`] when [`ConferenceMixer::poll_timeout`]
//! is due, and drains [`ConferenceMixer::poll_output`] after each call.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ParticipantId;
use crate::audio::{
    ActiveSpeakerSelector, AudioError, AudioMixer, FRAME_DURATION, FRAME_SAMPLES, MixerConfig,
    SpeakerConfig,
};
use crate::codec::{
    AudioCodecError, AudioDecoder, AudioEncoder, H264Decoder, H264Encoder, H264EncoderConfig,
    OpusDecoder, OpusEncoder, OpusEncoderConfig, VideoCodecError, VideoDecoder, VideoEncoder,
};
use crate::compositor::{Compositor, TileContent, TileInput};
use crate::frame::{FrameError, I420Frame, PixelRect};
use crate::label::{LabelRenderer, label_height_for_tile};
use crate::latency::LatencyHistogram;
use crate::layout::{Layout, LayoutLibrary, SlotInputs, assign_slots};

/// Identifies an output group of one conference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// How much bandwidth a group's viewers have; picks the encoder bitrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum BitrateClass {
    /// Constrained links (about a third of standard).
    Low,
    /// The default: 1.5 Mbit/s at 1280×720, 30 fps.
    #[default]
    Standard,
    /// Good links (about 1.7× standard).
    High,
}

impl BitrateClass {
    /// Target bitrate for a picture of `width`×`height` at 30 fps, in bit/s.
    pub fn bitrate_bps(self, width: u32, height: u32) -> u32 {
        // 1.5 Mbit/s for 921 600 pixels, proportional to the pixel count.
        let standard = (width as u64 * height as u64 * 1_500_000 / 921_600).max(64_000);
        let bps = match self {
            BitrateClass::Low => standard / 3,
            BitrateClass::Standard => standard,
            BitrateClass::High => standard * 5 / 3,
        };
        bps.clamp(32_000, 20_000_000) as u32
    }
}

/// What a viewer sees: viewers with equal specs share one output group, so
/// one composite and one encode serve them all.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ViewSpec {
    /// Layout name (a template or a custom layout of the library).
    pub layout: String,
    /// Picture width (even).
    pub width: u32,
    /// Picture height (even).
    pub height: u32,
    /// Bitrate class of the encode.
    pub bitrate: BitrateClass,
    /// Audience: views with different audiences never share a group, so
    /// the chair's view can be steered apart from everyone else's (0: all).
    pub audience: u8,
    /// A participant never shown in this view, pinned or not (a cascade
    /// uplink never carries the picture that came down the same link).
    pub hidden: Option<ParticipantId>,
    /// Draw the participants' names into their tiles (a cascade uplink
    /// leaves it to the parent, which labels the tile itself).
    pub labels: bool,
}

impl ViewSpec {
    /// A spec at the standard bitrate class for the general audience.
    pub fn new(layout: &str, width: u32, height: u32) -> Self {
        Self {
            layout: layout.to_owned(),
            width,
            height,
            bitrate: BitrateClass::Standard,
            audience: 0,
            hidden: None,
            labels: true,
        }
    }

    /// The same spec for another audience.
    pub fn for_audience(mut self, audience: u8) -> Self {
        self.audience = audience;
        self
    }

    /// The same spec with `participant` never shown and no name labels:
    /// the view a cascade trunk sends up.
    pub fn for_uplink(mut self, participant: ParticipantId) -> Self {
        self.hidden = Some(participant);
        self.labels = false;
        self
    }
}

/// Settings of a [`ConferenceMixer`].
#[derive(Clone, Debug)]
pub struct ConferenceMixerConfig {
    /// Output frame rate of every group.
    pub video_fps: u32,
    /// Shortest time between two forced IDRs of one group (new viewers, PLI,
    /// layout changes closer together than this share one IDR).
    pub keyframe_min_interval: Duration,
    /// Shortest time between two keyframe requests to one sender.
    pub keyframe_request_interval: Duration,
    /// Decoded audio frames queued per participant before the oldest is
    /// dropped (absorbs bursty arrival; each tick takes one).
    pub audio_queue_frames: usize,
    /// Audio mixer settings.
    pub audio: MixerConfig,
    /// Active-speaker settings.
    pub speaker: SpeakerConfig,
    /// Opus settings of every audio encode.
    pub opus: OpusEncoderConfig,
    /// Draw the endpoint names into the tiles.
    pub labels: bool,
    /// The caller's clock, read only to time decodes, composites and encodes
    /// for [`MixerStats`] (`None`: not timed; the mixer itself never reads a clock).
    pub stopwatch: Option<fn() -> Instant>,
    /// While a group is recorded ([`ConferenceMixer::set_recording`]), it
    /// makes an IDR at least this often, so the recording can be entered
    /// (seeked) there.
    pub recording_keyframe_interval: Duration,
}

impl Default for ConferenceMixerConfig {
    fn default() -> Self {
        Self {
            video_fps: 30,
            keyframe_min_interval: Duration::from_millis(500),
            keyframe_request_interval: Duration::from_millis(500),
            audio_queue_frames: 4,
            audio: MixerConfig::default(),
            speaker: SpeakerConfig::default(),
            opus: OpusEncoderConfig::default(),
            labels: true,
            stopwatch: None,
            recording_keyframe_interval: Duration::from_secs(5),
        }
    }
}

/// Nanoseconds since `start` by `stopwatch` (0 when not timed).
fn lap(stopwatch: Option<fn() -> Instant>, start: Option<Instant>) -> u64 {
    match (stopwatch, start) {
        (Some(clock), Some(t)) => clock().saturating_duration_since(t).as_nanos() as u64,
        _ => 0,
    }
}

/// Something the mixer wants the caller to do.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MixerOutput {
    /// One encoded composite of a group: send it to every viewer of the group
    /// ([`ConferenceMixer::viewers`]).
    Video {
        /// The group.
        group: GroupId,
        /// An IDR with parameter sets: a decoder can start here.
        keyframe: bool,
        /// One Annex-B access unit, shared by all viewers.
        data: Arc<[u8]>,
        /// Capture time of the composite (the tick's `now`).
        at: Instant,
    },
    /// One 20 ms Opus packet for some participants.
    Audio {
        /// Who receives this packet: several listeners when they share the
        /// encode of the full mix, otherwise one.
        to: Vec<ParticipantId>,
        /// The Opus packet.
        data: Arc<[u8]>,
        /// The tick's time.
        at: Instant,
    },
    /// Ask this sender for a keyframe (PLI/FIR): its stream became visible,
    /// was corrupt, or started without one.
    RequestKeyframe {
        /// The sender.
        from: ParticipantId,
    },
    /// The active speaker changed.
    ActiveSpeaker {
        /// The new active speaker (`None` when it left).
        participant: Option<ParticipantId>,
    },
    /// One 20 ms Opus packet of everyone's sound (the full mix), made
    /// every audio tick while a recording is on
    /// ([`ConferenceMixer::set_recording`]).
    RecordedAudio {
        /// The Opus packet.
        data: Arc<[u8]>,
        /// The tick's time.
        at: Instant,
    },
    /// A group's tiles now show other participants (or another layout).
    LayoutChanged {
        /// The group.
        group: GroupId,
        /// Layout name.
        layout: String,
        /// Per tile, who is shown there.
        slots: Vec<Option<ParticipantId>>,
    },
}

/// Why a mixer operation was refused. Nothing changes when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MixerError {
    /// No participant with that id is in the conference.
    #[error("participant {0:?} is not in the conference")]
    UnknownParticipant(ParticipantId),
    /// The participant id is already in use.
    #[error("participant {0:?} is already in the conference")]
    DuplicateParticipant(ParticipantId),
    /// No layout of that name.
    #[error("unknown layout {0:?}")]
    UnknownLayout(String),
    /// No such group.
    #[error("unknown output group {0:?}")]
    UnknownGroup(GroupId),
    /// The tile index is beyond the group's layout.
    #[error("tile {tile} is outside layout {layout:?}")]
    NoSuchTile {
        /// Tile index asked for.
        tile: usize,
        /// Layout name.
        layout: String,
    },
    /// A picture size the mixer cannot produce.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A video codec could not be created or failed.
    #[error(transparent)]
    Video(#[from] VideoCodecError),
    /// An audio codec could not be created or failed.
    #[error(transparent)]
    AudioCodec(#[from] AudioCodecError),
    /// The audio mixer refused the input (e.g. a frame of the wrong length).
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// Counters of one conference, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MixerStats {
    /// Video ticks run.
    pub video_ticks: u64,
    /// Video ticks skipped because the caller was late by two ticks or more.
    pub video_ticks_skipped: u64,
    /// Audio ticks run.
    pub audio_ticks: u64,
    /// Audio ticks skipped because the caller was late by more than 5 ticks.
    pub audio_ticks_skipped: u64,
    /// Access units decoded.
    pub frames_decoded: u64,
    /// Access units not decoded because their sender was in no tile.
    pub frames_not_visible: u64,
    /// Access units dropped while waiting for a keyframe.
    pub frames_waiting_keyframe: u64,
    /// Access units the decoder rejected.
    pub decode_errors: u64,
    /// Audio frames dropped because a participant's queue was full.
    pub audio_frames_dropped: u64,
    /// Audio packets the decoder rejected.
    pub audio_decode_errors: u64,
    /// Lost audio frames the decoder concealed (`handle_audio(id, None)`).
    pub audio_frames_concealed: u64,
    /// Time spent decoding video, ns (timed with [`ConferenceMixerConfig::stopwatch`]).
    pub video_decode_ns: u64,
    /// Time spent compositing, ns.
    pub video_compose_ns: u64,
    /// Time spent encoding video, ns.
    pub video_encode_ns: u64,
    /// Time spent on audio ticks (mix and encode), ns.
    pub audio_tick_ns: u64,
}

struct Participant {
    name: String,
    group: GroupId,
    video: Option<H264Decoder>,
    last_frame: Option<I420Frame>,
    /// When `last_frame`'s access unit was handed in (`None` for pictures
    /// handed in decoded): what the added latency is measured from.
    frame_arrived: Option<Instant>,
    generation: u64,
    /// The decoder has no usable reference: drop everything up to an IDR.
    needs_keyframe: bool,
    /// Video muted by the operator or the room: its tile shows the placeholder.
    video_muted: bool,
    last_keyframe_request: Option<Instant>,
    audio_decoder: Option<OpusDecoder>,
    audio_queue: AudioQueue,
    audio_encoder: Option<OpusEncoder>,
}

struct OutputGroup {
    spec: ViewSpec,
    layout: Layout,
    rects: Vec<PixelRect>,
    compositor: Compositor,
    encoder: H264Encoder,
    viewers: BTreeSet<ParticipantId>,
    pins: Vec<(usize, ParticipantId)>,
    slots: Vec<Option<ParticipantId>>,
    idr_pending: bool,
    last_idr: Option<Instant>,
    out: Vec<u8>,
    /// Per source, the arrival of the frame this group last composited.
    shown_arrivals: BTreeMap<ParticipantId, Instant>,
}

/// The media mixer of one conference (see the [crate docs](crate) for the run loop).
pub struct ConferenceMixer {
    config: ConferenceMixerConfig,
    layouts: LayoutLibrary,
    epoch: Instant,
    participants: BTreeMap<ParticipantId, Participant>,
    join_order: Vec<ParticipantId>,
    chair: Option<ParticipantId>,
    groups: BTreeMap<GroupId, OutputGroup>,
    /// The group a recording holds open (it lives on without viewers).
    recorded: Option<GroupId>,
    next_group: u32,
    audio: AudioMixer,
    speaker: ActiveSpeakerSelector,
    shared_audio_encoder: OpusEncoder,
    labels: LabelRenderer,
    outputs: VecDeque<MixerOutput>,
    video_frame_no: u64,
    next_video: Instant,
    next_audio: Instant,
    visible: BTreeSet<ParticipantId>,
    /// From a frame's arrival to the first encoded composite showing it
    /// (measured with [`ConferenceMixerConfig::stopwatch`]).
    added_latency: LatencyHistogram,
    /// Arrivals of the frames new in the composite being made.
    fresh_arrivals: Vec<Instant>,
    audio_out: Vec<u8>,
    pcm_scratch: Vec<i16>,
    stats: MixerStats,
}

impl std::fmt::Debug for ConferenceMixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConferenceMixer")
            .field("participants", &self.participants.len())
            .field("groups", &self.groups.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// True when an Annex-B access unit holds an IDR slice (NAL type 5).
pub fn annexb_has_idr(au: &[u8]) -> bool {
    let mut i = 0;
    while i + 3 < au.len() {
        if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
            if au[i + 3] & 0x1f == 5 {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

impl ConferenceMixer {
    /// A mixer with no participant; its clock starts at `now`.
    pub fn new(
        now: Instant,
        config: ConferenceMixerConfig,
        layouts: LayoutLibrary,
    ) -> Result<Self, MixerError> {
        Ok(Self {
            shared_audio_encoder: OpusEncoder::new(config.opus)?,
            audio: AudioMixer::with_config(config.audio),
            speaker: ActiveSpeakerSelector::new(config.speaker),
            config,
            layouts,
            epoch: now,
            participants: BTreeMap::new(),
            join_order: Vec::new(),
            chair: None,
            groups: BTreeMap::new(),
            recorded: None,
            next_group: 1,
            labels: LabelRenderer::new(),
            outputs: VecDeque::new(),
            added_latency: LatencyHistogram::default(),
            fresh_arrivals: Vec::new(),
            video_frame_no: 0,
            next_video: now,
            next_audio: now,
            visible: BTreeSet::new(),
            audio_out: Vec::with_capacity(1500),
            pcm_scratch: vec![0; FRAME_SAMPLES],
            stats: MixerStats::default(),
        })
    }

    /// The layouts this mixer knows.
    pub fn layouts(&self) -> &LayoutLibrary {
        &self.layouts
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> MixerStats {
        self.stats
    }

    /// Adds a participant that will see `view` and be shown as `name`.
    /// Its viewers' group gets a keyframe for it (rate-limited).
    pub fn add_participant(
        &mut self,
        id: ParticipantId,
        name: &str,
        view: ViewSpec,
    ) -> Result<GroupId, MixerError> {
        if self.participants.contains_key(&id) {
            return Err(MixerError::DuplicateParticipant(id));
        }
        let group = self.group_for(&view)?;
        self.audio.add(id)?;
        self.participants.insert(
            id,
            Participant {
                name: name.to_owned(),
                group,
                video: None,
                last_frame: None,
                frame_arrived: None,
                video_muted: false,
                generation: 0,
                needs_keyframe: true,
                last_keyframe_request: None,
                audio_decoder: None,
                audio_queue: AudioQueue::new(self.config.audio_queue_frames),
                audio_encoder: None,
            },
        );
        self.join_order.push(id);
        let g = self
            .groups
            .get_mut(&group)
            .expect("group_for returned an existing group");
        g.viewers.insert(id);
        g.idr_pending = true;
        Ok(group)
    }

    /// Removes a participant: its tile is freed at the next video tick, its
    /// group is dropped when it was the last viewer.
    pub fn remove_participant(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        let p = self
            .participants
            .remove(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        self.join_order.retain(|&j| j != id);
        self.audio.remove(id)?;
        let was_active = self.speaker.active() == Some(id);
        self.speaker.remove(id);
        if was_active {
            self.outputs.push_back(MixerOutput::ActiveSpeaker {
                participant: self.speaker.active(),
            });
        }
        if self.chair == Some(id) {
            self.chair = None;
        }
        self.visible.remove(&id);
        for g in self.groups.values_mut() {
            g.pins.retain(|&(_, p)| p != id);
            g.shown_arrivals.remove(&id);
        }
        self.leave_group(p.group, id);
        Ok(())
    }

    fn leave_group(&mut self, group: GroupId, id: ParticipantId) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.viewers.remove(&id);
            if g.viewers.is_empty() && self.recorded != Some(group) {
                self.groups.remove(&group);
            }
        }
    }

    /// The group showing `view`, created when no group shows it yet.
    fn group_for(&mut self, view: &ViewSpec) -> Result<GroupId, MixerError> {
        if let Some((&id, _)) = self.groups.iter().find(|(_, g)| &g.spec == view) {
            return Ok(id);
        }
        let layout = self
            .layouts
            .get(&view.layout)
            .cloned()
            .ok_or_else(|| MixerError::UnknownLayout(view.layout.clone()))?;
        let compositor = Compositor::new(view.width, view.height)?;
        let encoder = H264Encoder::new(H264EncoderConfig {
            bitrate_bps: view.bitrate.bitrate_bps(view.width, view.height),
            max_fps: self.config.video_fps as f32,
            keyframe_interval: 0,
        })?;
        let id = GroupId(self.next_group);
        self.next_group += 1;
        self.groups.insert(
            id,
            OutputGroup {
                rects: layout.pixel_rects(view.width, view.height),
                slots: vec![None; layout.tiles.len()],
                spec: view.clone(),
                layout,
                compositor,
                encoder,
                viewers: BTreeSet::new(),
                pins: Vec::new(),
                idr_pending: true,
                last_idr: None,
                out: Vec::with_capacity(256 * 1024),
                shown_arrivals: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// Moves a participant to another view (layout, size or bitrate class).
    pub fn set_view(&mut self, id: ParticipantId, view: ViewSpec) -> Result<GroupId, MixerError> {
        let old = self
            .participants
            .get(&id)
            .ok_or(MixerError::UnknownParticipant(id))?
            .group;
        let new = self.group_for(&view)?;
        if new != old {
            self.leave_group(old, id);
            let g = self
                .groups
                .get_mut(&new)
                .expect("group_for returned an existing group");
            g.viewers.insert(id);
            g.idr_pending = true;
            self.participants.get_mut(&id).expect("checked above").group = new;
        }
        Ok(new)
    }

    /// Changes the layout of every viewer of a group (the chair's "change
    /// layout" action). Returns the group now serving them.
    pub fn set_group_layout(
        &mut self,
        group: GroupId,
        layout: &str,
    ) -> Result<GroupId, MixerError> {
        let g = self
            .groups
            .get(&group)
            .ok_or(MixerError::UnknownGroup(group))?;
        let mut spec = g.spec.clone();
        spec.layout = layout.to_owned();
        let viewers: Vec<_> = g.viewers.iter().copied().collect();
        let new = self.group_for(&spec)?;
        for v in viewers {
            self.set_view(v, spec.clone())?;
        }
        if self.recorded == Some(group) && new != group {
            // The recording follows the view to its new layout.
            self.recorded = Some(new);
            if let Some(g) = self.groups.get_mut(&new) {
                g.idr_pending = true;
            }
            if self
                .groups
                .get(&group)
                .is_some_and(|g| g.viewers.is_empty())
            {
                self.groups.remove(&group);
            }
        }
        Ok(new)
    }

    /// Starts recording `view` (`None`: stops). The group showing it is
    /// created if nobody watches it yet and held open while the recording
    /// lasts, so its encoded composite ([`MixerOutput::Video`] of
    /// [`recorded_group`](Self::recorded_group)) flows with or without
    /// viewers; it makes an IDR now and at least every
    /// `recording_keyframe_interval`. Every audio tick then also yields the
    /// full mix as [`MixerOutput::RecordedAudio`].
    pub fn set_recording(&mut self, view: Option<ViewSpec>) -> Result<Option<GroupId>, MixerError> {
        let new = match view {
            Some(v) => {
                let id = self.group_for(&v)?;
                if let Some(g) = self.groups.get_mut(&id) {
                    g.idr_pending = true;
                }
                Some(id)
            }
            None => None,
        };
        if let Some(old) = self.recorded
            && Some(old) != new
            && self.groups.get(&old).is_some_and(|g| g.viewers.is_empty())
        {
            self.groups.remove(&old);
        }
        self.recorded = new;
        Ok(new)
    }

    /// The group being recorded, if a recording is on.
    pub fn recorded_group(&self) -> Option<GroupId> {
        self.recorded
    }

    /// Asks the recorded group for an IDR (the recording lost a sample).
    pub fn request_recording_keyframe(&mut self) {
        if let Some(g) = self.recorded.and_then(|g| self.groups.get_mut(&g)) {
            g.idr_pending = true;
        }
    }

    /// The codec delay of the full-mix encoder, in 48 kHz samples (the
    /// pre-skip a recording's Opus track declares).
    pub fn full_mix_lookahead(&mut self) -> Result<usize, MixerError> {
        Ok(self.shared_audio_encoder.lookahead()?)
    }

    /// Pins a participant to a tile of a group (operator action); `None`
    /// clears the pin of that tile.
    pub fn pin(
        &mut self,
        group: GroupId,
        tile: usize,
        who: Option<ParticipantId>,
    ) -> Result<(), MixerError> {
        if let Some(p) = who
            && !self.participants.contains_key(&p)
        {
            return Err(MixerError::UnknownParticipant(p));
        }
        let g = self
            .groups
            .get_mut(&group)
            .ok_or(MixerError::UnknownGroup(group))?;
        if tile >= g.layout.tiles.len() {
            return Err(MixerError::NoSuchTile {
                tile,
                layout: g.layout.name.clone(),
            });
        }
        g.pins.retain(|&(t, p)| t != tile && Some(p) != who);
        if let Some(p) = who {
            g.pins.push((tile, p));
        }
        Ok(())
    }

    /// Renames a participant: its tile label from the next tick (a cascade
    /// trunk's tile is labelled with the endpoint it carries).
    pub fn set_name(&mut self, id: ParticipantId, name: &str) -> Result<(), MixerError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        if p.name != name {
            p.name = name.to_owned();
            // The label is part of the tile's picture: redraw it.
            p.generation += 1;
        }
        Ok(())
    }

    /// Sets (or clears) the chair endpoint.
    pub fn set_chair(&mut self, chair: Option<ParticipantId>) -> Result<(), MixerError> {
        if let Some(p) = chair
            && !self.participants.contains_key(&p)
        {
            return Err(MixerError::UnknownParticipant(p));
        }
        self.chair = chair;
        Ok(())
    }

    /// Mutes or unmutes a participant's audio towards the others.
    pub fn set_audio_muted(&mut self, id: ParticipantId, muted: bool) -> Result<(), MixerError> {
        Ok(self.audio.set_muted(id, muted)?)
    }

    /// Sets a participant's input gain (1.0 = unchanged).
    pub fn set_audio_gain(&mut self, id: ParticipantId, gain: f32) -> Result<(), MixerError> {
        Ok(self.audio.set_gain(id, gain)?)
    }

    /// A viewer asked for a keyframe (PLI/FIR): its group's encoder makes an
    /// IDR, no sooner than `keyframe_min_interval` after the last one.
    pub fn request_keyframe_for(&mut self, viewer: ParticipantId) -> Result<(), MixerError> {
        let group = self
            .participants
            .get(&viewer)
            .ok_or(MixerError::UnknownParticipant(viewer))?
            .group;
        if let Some(g) = self.groups.get_mut(&group) {
            g.idr_pending = true;
        }
        Ok(())
    }

    /// The viewers of a group.
    pub fn viewers(&self, group: GroupId) -> impl Iterator<Item = ParticipantId> + '_ {
        self.groups
            .get(&group)
            .into_iter()
            .flat_map(|g| g.viewers.iter().copied())
    }

    /// The group a participant views.
    pub fn group_of(&self, id: ParticipantId) -> Option<GroupId> {
        self.participants.get(&id).map(|p| p.group)
    }

    /// Groups and their specs.
    pub fn groups(&self) -> impl Iterator<Item = (GroupId, &ViewSpec)> + '_ {
        self.groups.iter().map(|(&id, g)| (id, &g.spec))
    }

    /// Who each tile of a group showed at the last video tick.
    pub fn slots(&self, group: GroupId) -> Option<&[Option<ParticipantId>]> {
        self.groups.get(&group).map(|g| g.slots.as_slice())
    }

    /// The last composite of a group (before encoding).
    pub fn composite(&self, group: GroupId) -> Option<&I420Frame> {
        self.groups.get(&group).map(|g| g.compositor.canvas())
    }

    /// Every participant's audio level in the last mix, dBov.
    pub fn audio_levels(&self) -> impl Iterator<Item = (ParticipantId, f32)> + '_ {
        self.audio.levels()
    }

    /// The current active speaker.
    pub fn active_speaker(&self) -> Option<ParticipantId> {
        self.speaker.active()
    }

    /// One H.264 access unit from a participant. It is decoded only when the
    /// participant is shown in some tile; otherwise it is dropped and the
    /// next time it becomes visible a keyframe is requested.
    pub fn handle_video(
        &mut self,
        now: Instant,
        id: ParticipantId,
        access_unit: &[u8],
    ) -> Result<(), MixerError> {
        let request_interval = self.config.keyframe_request_interval;
        let visible = self.visible.contains(&id);
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        if p.video_muted {
            // Nothing of it is shown; after the unmute it starts at an IDR.
            p.needs_keyframe = true;
            return Ok(());
        }
        if !visible {
            p.needs_keyframe = true;
            self.stats.frames_not_visible += 1;
            return Ok(());
        }
        if p.needs_keyframe && !annexb_has_idr(access_unit) {
            self.stats.frames_waiting_keyframe += 1;
            request_keyframe(&mut self.outputs, id, p, now, request_interval);
            return Ok(());
        }
        let decoder = match &mut p.video {
            Some(d) => d,
            None => p.video.insert(H264Decoder::new()?),
        };
        let stopwatch = self.config.stopwatch;
        let started = stopwatch.map(|clock| clock());
        let decoded = decoder.decode(access_unit);
        self.stats.video_decode_ns += lap(stopwatch, started);
        match decoded {
            Ok(Some(frame)) => {
                if let Some(old) = p.last_frame.replace(frame) {
                    decoder.recycle(old);
                }
                p.generation += 1;
                p.frame_arrived = Some(now);
                p.needs_keyframe = false;
                self.stats.frames_decoded += 1;
            }
            Ok(None) => {}
            Err(_) => {
                // A corrupt stream: wait for (and ask for) a fresh IDR.
                self.stats.decode_errors += 1;
                p.needs_keyframe = true;
                request_keyframe(&mut self.outputs, id, p, now, request_interval);
            }
        }
        Ok(())
    }

    /// An already decoded picture from a participant (local or synthetic sources).
    pub fn handle_video_frame(
        &mut self,
        id: ParticipantId,
        frame: I420Frame,
    ) -> Result<(), MixerError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        if !p.video_muted {
            p.last_frame = Some(frame);
            p.generation += 1;
        }
        Ok(())
    }

    /// Mutes or unmutes a participant's video: while muted its tile shows
    /// the placeholder with its name (not a frozen picture) and its video is
    /// not decoded; the unmute asks it for a keyframe.
    pub fn set_video_muted(
        &mut self,
        now: Instant,
        id: ParticipantId,
        muted: bool,
    ) -> Result<(), MixerError> {
        let request_interval = self.config.keyframe_request_interval;
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        if p.video_muted == muted {
            return Ok(());
        }
        p.video_muted = muted;
        p.generation += 1;
        if muted {
            if let (Some(old), Some(decoder)) = (p.last_frame.take(), p.video.as_mut()) {
                decoder.recycle(old);
            }
        } else {
            p.needs_keyframe = true;
            p.last_keyframe_request = None;
            request_keyframe(&mut self.outputs, id, p, now, request_interval);
        }
        Ok(())
    }

    /// One Opus packet from a participant; `None` = a packet was lost
    /// (concealed). Decoded at once and queued for the next audio tick.
    pub fn handle_audio(
        &mut self,
        id: ParticipantId,
        packet: Option<&[u8]>,
    ) -> Result<(), MixerError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        let decoder = match &mut p.audio_decoder {
            Some(d) => d,
            None => p.audio_decoder.insert(OpusDecoder::new()?),
        };
        // Decode aside first: a bad packet must not push out a good frame.
        match decoder.decode(packet, &mut self.pcm_scratch) {
            Ok(()) => {
                let (slot, dropped) = p.audio_queue.push_slot();
                slot.copy_from_slice(&self.pcm_scratch);
                self.stats.audio_frames_dropped += dropped as u64;
                self.stats.audio_frames_concealed += u64::from(packet.is_none());
                Ok(())
            }
            Err(e) => {
                self.stats.audio_decode_errors += 1;
                Err(e.into())
            }
        }
    }

    /// 20 ms of already decoded audio from a participant.
    pub fn handle_audio_pcm(&mut self, id: ParticipantId, pcm: &[i16]) -> Result<(), MixerError> {
        if pcm.len() != FRAME_SAMPLES {
            return Err(AudioCodecError::FrameSize {
                expected: FRAME_SAMPLES,
                got: pcm.len(),
            }
            .into());
        }
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(MixerError::UnknownParticipant(id))?;
        let (slot, dropped) = p.audio_queue.push_slot();
        slot.copy_from_slice(pcm);
        self.stats.audio_frames_dropped += dropped as u64;
        Ok(())
    }

    /// How long the MCU held source pictures: from an access unit's arrival
    /// ([`handle_video`](Self::handle_video)'s `now`) to the end of the
    /// encode of the first composite showing its picture, once per group
    /// (only with a [`ConferenceMixerConfig::stopwatch`]). Wait for the
    /// tick, composite and encode: what the MCU adds between the network in
    /// and the network out, but for depacketizing and packetizing.
    pub fn added_latency(&self) -> &LatencyHistogram {
        &self.added_latency
    }

    /// Starts [`added_latency`](Self::added_latency) afresh.
    pub fn reset_added_latency(&mut self) {
        self.added_latency.clear();
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Instant {
        self.next_video.min(self.next_audio)
    }

    /// Runs the ticks that are due at `now`.
    ///
    /// Audio runs every 20 ms and catches up at most 5 ticks (a longer stall
    /// skips ahead rather than bursting). Video runs at `video_fps`, one frame
    /// per call, each stamped with its own deadline so the output's
    /// timestamps stay regular: a caller that wakes less than two frames
    /// late gets the late frame now and the next one on the following call
    /// (its deadline has passed too), so a scheduling hiccup costs no frame;
    /// frames due longer ago than that are skipped, not bunched.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut audio_due: u64 = 0;
        while self.next_audio <= now {
            audio_due += 1;
            self.next_audio += FRAME_DURATION;
        }
        let skipped = audio_due.saturating_sub(5);
        self.stats.audio_ticks_skipped += skipped;
        for i in skipped..audio_due {
            let at = self.next_audio - FRAME_DURATION * (audio_due - i) as u32;
            self.audio_tick(at);
        }
        if self.next_video <= now {
            let fps = u128::from(self.config.video_fps.max(1));
            let epoch = self.epoch;
            let deadline = |frame: u64| {
                // Frame n is due at ceil(n / fps) seconds: exact, no drift.
                let ns = (u128::from(frame) * 1_000_000_000).div_ceil(fps);
                epoch + Duration::from_nanos(ns as u64)
            };
            // The newest frame whose deadline has passed; at most it and the
            // one before it are still worth sending.
            let elapsed = (now - self.epoch).as_nanos();
            let newest = (elapsed * fps / 1_000_000_000) as u64;
            let first_kept = newest.saturating_sub(1).max(self.video_frame_no);
            self.stats.video_ticks_skipped += first_kept - self.video_frame_no;
            self.video_frame_no = first_kept;
            self.video_tick(deadline(self.video_frame_no));
            self.video_frame_no += 1;
            self.next_video = deadline(self.video_frame_no);
        }
    }

    /// The next output, if any. Drain after every input.
    pub fn poll_output(&mut self) -> Option<MixerOutput> {
        self.outputs.pop_front()
    }

    /// One audio tick: mix, levels, active speaker, encode (one shared encode
    /// of the full mix for every participant who contributed nothing).
    pub fn audio_tick(&mut self, now: Instant) {
        let started = self.config.stopwatch.map(|clock| clock());
        self.audio_tick_untimed(now);
        self.stats.audio_tick_ns += lap(self.config.stopwatch, started);
    }

    fn audio_tick_untimed(&mut self, now: Instant) {
        self.stats.audio_ticks += 1;
        // The mixer reads each popped frame in its queue slot (no copy) and
        // hands over each own mix as soon as it is computed, to be encoded
        // with the participant's encoder: split each participant's borrows
        // between the two. Queue slots are exactly one frame long and every
        // `id` is known.
        let mut frames = Vec::with_capacity(self.participants.len());
        let mut encoders = Vec::with_capacity(self.participants.len());
        for (&id, p) in &mut self.participants {
            let Participant {
                audio_queue,
                audio_encoder,
                ..
            } = p;
            if let Some(frame) = audio_queue.pop() {
                frames.push((id, frame));
            }
            encoders.push((id, audio_encoder));
        }
        // The speaker change is only known after the mix; it goes before
        // the tick's audio, as it always has.
        let first_output = self.outputs.len();
        let (opus, audio_out, outputs) = (self.config.opus, &mut self.audio_out, &mut self.outputs);
        let _ = self.audio.mix_frames(frames, |id, samples| {
            // `encoders` is in id order (that of `participants`).
            let Ok(k) = encoders.binary_search_by_key(&id, |e| e.0) else {
                return;
            };
            let slot = &mut *encoders[k].1;
            let enc = match slot {
                Some(e) => e,
                None => match OpusEncoder::new(opus) {
                    Ok(e) => slot.insert(e),
                    Err(_) => return,
                },
            };
            if enc.encode(samples, audio_out).is_ok() {
                outputs.push_back(MixerOutput::Audio {
                    to: vec![id],
                    data: Arc::from(&audio_out[..]),
                    at: now,
                });
            }
        });
        if let Some(change) = self.speaker.on_tick(now, self.audio.levels()) {
            self.outputs.insert(
                first_output,
                MixerOutput::ActiveSpeaker {
                    participant: Some(change),
                },
            );
        }
        // Everyone without an own mix hears the full mix.
        let shared: Vec<ParticipantId> = self
            .participants
            .keys()
            .copied()
            .filter(|&id| self.audio.is_mixed(id) == Ok(false))
            .collect();
        // One encode of the full mix serves the shared listeners and the recording.
        let recording = self.recorded.is_some();
        if (!shared.is_empty() || recording)
            && self
                .shared_audio_encoder
                .encode(self.audio.full_mix(), &mut self.audio_out)
                .is_ok()
        {
            let data: Arc<[u8]> = Arc::from(&self.audio_out[..]);
            if recording {
                self.outputs.push_back(MixerOutput::RecordedAudio {
                    data: data.clone(),
                    at: now,
                });
            }
            if !shared.is_empty() {
                self.outputs.push_back(MixerOutput::Audio {
                    to: shared,
                    data,
                    at: now,
                });
            }
        }
    }

    /// One video tick: fill every group's slots, composite, encode.
    pub fn video_tick(&mut self, now: Instant) {
        self.stats.video_ticks += 1;
        let recent: Vec<ParticipantId> = self.speaker.recent_speakers().collect();
        let active = self.speaker.active();
        let mut visible = BTreeSet::new();
        let timestamp_ms = (now - self.epoch).as_millis() as u64;
        let stopwatch = self.config.stopwatch;
        let mut shown = Vec::new();
        for (&gid, g) in &mut self.groups {
            let join_order = match g.spec.hidden {
                Some(hidden) => {
                    shown.clear();
                    shown.extend(self.join_order.iter().filter(|&&p| p != hidden));
                    &shown
                }
                None => &self.join_order,
            };
            let slots = assign_slots(
                &g.layout,
                &SlotInputs {
                    pinned: &g.pins,
                    chair: self.chair,
                    active_speaker: active,
                    recent_speakers: &recent,
                    join_order,
                    previous: &g.slots,
                },
            );
            if slots != g.slots {
                g.slots = slots;
                self.outputs.push_back(MixerOutput::LayoutChanged {
                    group: gid,
                    layout: g.layout.name.clone(),
                    slots: g.slots.clone(),
                });
            }
            let mut tiles = Vec::with_capacity(g.slots.len());
            self.fresh_arrivals.clear();
            for (i, slot) in g.slots.iter().enumerate() {
                let rect = g.rects[i];
                let tile = &g.layout.tiles[i];
                let (content, label) =
                    match slot.and_then(|id| self.participants.get(&id).map(|p| (id, p))) {
                        Some((id, p)) => {
                            visible.insert(id);
                            if let Some(at) = p.frame_arrived
                                && g.shown_arrivals.insert(id, at) != Some(at)
                            {
                                self.fresh_arrivals.push(at);
                            }
                            let label = (self.config.labels && g.spec.labels).then(|| {
                                self.labels.render(
                                    &p.name,
                                    label_height_for_tile(rect.h),
                                    rect.w.saturating_sub(rect.w / 8),
                                )
                            });
                            let content = match &p.last_frame {
                                Some(frame) => TileContent::Picture {
                                    source: id,
                                    generation: p.generation,
                                    frame,
                                },
                                None => TileContent::Placeholder { source: id },
                            };
                            (content, label)
                        }
                        None => (TileContent::Empty, None),
                    };
                tiles.push(TileInput {
                    rect,
                    z: tile.z,
                    fit: g.layout.fit,
                    content,
                    label,
                    highlight: *slot == active && active.is_some() && g.slots.len() > 1,
                });
            }
            let started = stopwatch.map(|clock| clock());
            g.compositor.compose(&tiles);
            drop(tiles);
            self.stats.video_compose_ns += lap(stopwatch, started);
            let idr_allowed = g.last_idr.is_none_or(|t| {
                now.saturating_duration_since(t) >= self.config.keyframe_min_interval
            });
            if self.recorded == Some(gid)
                && g.last_idr.is_some_and(|t| {
                    now.saturating_duration_since(t) >= self.config.recording_keyframe_interval
                })
            {
                g.idr_pending = true;
            }
            if g.idr_pending && idr_allowed {
                g.encoder.force_keyframe();
            }
            let started = stopwatch.map(|clock| clock());
            let encoded = g
                .encoder
                .encode(g.compositor.canvas(), timestamp_ms, &mut g.out);
            self.stats.video_encode_ns += lap(stopwatch, started);
            match encoded {
                Ok(enc) if enc.bytes > 0 => {
                    if enc.keyframe {
                        g.idr_pending = false;
                        g.last_idr = Some(now);
                    }
                    if let Some(clock) = stopwatch {
                        let done = clock();
                        for &at in &self.fresh_arrivals {
                            self.added_latency
                                .record(done.saturating_duration_since(at));
                        }
                    }
                    self.outputs.push_back(MixerOutput::Video {
                        group: gid,
                        keyframe: enc.keyframe,
                        data: Arc::from(&g.out[..enc.bytes]),
                        at: now,
                    });
                }
                Ok(_) | Err(_) => {}
            }
        }
        // Senders that just became visible start from a keyframe.
        let request_interval = self.config.keyframe_request_interval;
        for id in visible.difference(&self.visible) {
            if let Some(p) = self.participants.get_mut(id)
                && p.needs_keyframe
            {
                request_keyframe(&mut self.outputs, *id, p, now, request_interval);
            }
        }
        self.visible = visible;
    }
}

fn request_keyframe(
    outputs: &mut VecDeque<MixerOutput>,
    id: ParticipantId,
    p: &mut Participant,
    now: Instant,
    interval: Duration,
) {
    let due = p
        .last_keyframe_request
        .is_none_or(|t| now.saturating_duration_since(t) >= interval);
    if due {
        p.last_keyframe_request = Some(now);
        outputs.push_back(MixerOutput::RequestKeyframe { from: id });
    }
}

/// A bounded ring of decoded 20 ms frames: absorbs bursty arrival without
/// allocating; when full, the oldest frame is dropped.
struct AudioQueue {
    samples: Vec<i16>,
    head: usize,
    len: usize,
}

impl AudioQueue {
    fn new(frames: usize) -> Self {
        Self {
            samples: vec![0; frames.max(1) * FRAME_SAMPLES],
            head: 0,
            len: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.samples.len() / FRAME_SAMPLES
    }

    fn frame_mut(&mut self, index: usize) -> &mut [i16] {
        let start = index % self.capacity() * FRAME_SAMPLES;
        &mut self.samples[start..start + FRAME_SAMPLES]
    }

    /// A slot for the newest frame, and whether the oldest had to be dropped.
    fn push_slot(&mut self) -> (&mut [i16], bool) {
        let dropped = self.len == self.capacity();
        if dropped {
            self.head = (self.head + 1) % self.capacity();
        } else {
            self.len += 1;
        }
        let index = self.head + self.len - 1;
        (self.frame_mut(index), dropped)
    }

    /// The oldest frame, removed from the queue (valid until the next push).
    fn pop(&mut self) -> Option<&[i16]> {
        if self.len == 0 {
            return None;
        }
        let index = self.head;
        self.head = (self.head + 1) % self.capacity();
        self.len -= 1;
        Some(self.frame_mut(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_queue_keeps_order_and_drops_the_oldest_when_full() {
        let mut q = AudioQueue::new(2);
        for v in 1..=3i16 {
            let (slot, dropped) = q.push_slot();
            slot.fill(v);
            assert_eq!(dropped, v == 3);
        }
        assert_eq!(q.pop().map(|f| f[0]), Some(2));
        q.push_slot().0.fill(4);
        assert_eq!(q.pop().map(|f| f[0]), Some(3));
        assert_eq!(q.pop().map(|f| f[0]), Some(4));
        assert!(q.pop().is_none());
    }

    #[test]
    fn annexb_idr_detection() {
        assert!(annexb_has_idr(&[0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 9]));
        assert!(!annexb_has_idr(&[0, 0, 0, 1, 0x41, 1, 2, 3]));
        assert!(!annexb_has_idr(&[0, 0, 1]));
        assert!(!annexb_has_idr(&[]));
    }
}
