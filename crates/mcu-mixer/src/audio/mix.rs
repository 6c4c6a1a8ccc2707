//! The N-1 mixer: one sum per tick, each participant gets `total − own`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::take;

use super::kernels::{
    Frame, FrameStats, GAIN_SHIFT, GAIN_UNITY, Kernels, PLAN_PEAK_MAX, SumHints, Total,
};
use super::level::dbov_from_energies;
use super::{AudioError, FRAME_SAMPLES, MAX_PARTICIPANTS, SILENCE_DBOV};
use crate::ParticipantId;

/// Settings of an [`AudioMixer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MixerConfig {
    /// Mix only this many of the loudest participants (`None`: mix everyone
    /// who sends non-silent audio). Default `Some(4)`: with dozens of rooms
    /// connected, the background noise of the silent ones would otherwise
    /// add up to a loud hiss, and a conversation rarely has more than 3–4
    /// people talking over each other. Loudness for this ranking is the frame
    /// energy with a peak hold decaying by half every ~140 ms, so the set does
    /// not flap from one frame to the next.
    pub max_mixed: Option<usize>,
}

impl MixerConfig {
    /// Highest input gain [`AudioMixer::set_gain`] accepts.
    pub const MAX_GAIN: f32 = 8.0;
    /// Default for [`max_mixed`](Self::max_mixed).
    pub const DEFAULT_MAX_MIXED: usize = 4;
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            max_mixed: Some(Self::DEFAULT_MAX_MIXED),
        }
    }
}

/// What a participant handed in since the last mix.
#[derive(Clone, Copy, Debug)]
enum Pushed {
    /// Nothing: it contributes silence.
    No,
    /// A copy, gain applied, in its slot of [`AudioMixer::inputs`].
    Copied,
    /// A frame borrowed by the running [`AudioMixer::mix_frames`] call.
    Borrowed(FramePtr),
}

/// Per-participant state; its input frame is at the same index in
/// [`AudioMixer::inputs`].
#[derive(Clone, Debug)]
struct Slot {
    id: ParticipantId,
    gain_q12: i32,
    muted: bool,
    pushed: Pushed,
    /// Peak-hold loudness used to rank talkers for `max_mixed`.
    rank: f64,
    /// Results of the last `mix()`.
    level_dbov: f32,
    mixed: bool,
}

/// A frame borrowed for one [`AudioMixer::mix_frames`] call, or one of the
/// mixer's own input frames while it mixes.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
struct FramePtr(*const Frame);

// SAFETY: a `FramePtr` is only dereferenced inside the mixer call that stored
// it, while the frame it points to is borrowed by that call; between calls it
// is inert data.
unsafe impl Send for FramePtr {}
// SAFETY: as above; nothing is ever written through it.
unsafe impl Sync for FramePtr {}

/// One frame on cache-line boundaries (the 32-byte SIMD stores never
/// straddle two lines).
#[derive(Debug)]
#[repr(C, align(64))]
struct AlignedFrame(Frame);

/// One frame per slot in one allocation, each frame starting on a 64-byte
/// cache line (the 32-byte SIMD accesses never straddle two lines).
#[derive(Debug, Default)]
struct FrameBuf {
    samples: Vec<i16>,
    /// Offset of frame 0 in `samples`.
    base: usize,
}

impl FrameBuf {
    /// Slack for the alignment shift: 64 bytes of i16.
    const SLACK: usize = 32;

    fn range(&self, f: usize) -> std::ops::Range<usize> {
        let start = self.base + f * FRAME_SAMPLES;
        start..start + FRAME_SAMPLES
    }

    fn frame(&self, f: usize) -> &Frame {
        let r = self.range(f);
        (&self.samples[r]).try_into().expect("a range of one frame")
    }

    fn frame_mut(&mut self, f: usize) -> &mut Frame {
        let r = self.range(f);
        (&mut self.samples[r])
            .try_into()
            .expect("a range of one frame")
    }

    /// Holds `frames` frames; keeps the contents of those that were there
    /// (re-aligned if the allocation moved).
    fn resize(&mut self, frames: usize) {
        let len = frames * FRAME_SAMPLES;
        let old = self.base..self.base + len.min(self.samples.len().saturating_sub(self.base));
        self.samples.resize(len + Self::SLACK, 0);
        let base = self.samples.as_ptr().align_offset(64).min(Self::SLACK);
        if base != self.base {
            self.samples.copy_within(old, base);
            self.base = base;
        }
    }

    /// Copies frames `from` (a range of frame indices) to start at frame `to`.
    fn copy_frames(&mut self, from: std::ops::Range<usize>, to: usize) {
        if from.is_empty() {
            return;
        }
        let samples = self.range(from.start).start..self.range(from.end - 1).end;
        let to = self.range(to).start;
        self.samples.copy_within(samples, to);
    }
}

/// The N-1 audio mixer of one conference (sans-IO; see the [module docs](super)).
///
/// Each tick: hand in the frames that arrived, either borrowed through
/// [`mix_frames`](Self::mix_frames), which also mixes, or copied with
/// [`push`](Self::push) before [`mix`](Self::mix) (a participant that handed
/// in nothing contributes silence). Both hand each mixed participant's own
/// output to a caller-supplied sink as soon as it is computed (they are
/// computed four at a time); everyone else hears
/// [`full_mix`](Self::full_mix) ([`is_mixed`](Self::is_mixed) tells which),
/// readable with [`level`](Self::level) until the next mix. The work
/// per tick is O(N): every contribution is summed once into an i32
/// accumulator (measuring its level in the same read) and each mixed
/// participant gets the accumulator minus its own contribution, through the
/// [`soft_clip`](super::soft_clip) curve, in four scratch frames reused for
/// all of them (they stay in L1; a buffer per participant, 192 KB of stores
/// at N = 100, cost a tenth of the tick in cache traffic). Steady state
/// allocates nothing.
#[derive(Debug)]
pub struct AudioMixer {
    config: MixerConfig,
    kernels: Kernels,
    /// Sorted by id, so callers that hand frames in id order (the conference
    /// mixer walks a `BTreeMap`) find each slot right after the previous one.
    slots: Vec<Slot>,
    index: HashMap<ParticipantId, usize, BuildHasherDefault<IdHasher>>,
    /// The slot after the last one looked up: tried before `index`.
    hint: usize,
    /// Per slot: the frame of [`push`](Self::push) (or a borrowed frame with
    /// its gain applied), valid where [`Pushed::Copied`].
    inputs: FrameBuf,
    /// The N-1 outputs being handed to the sink: one batch of participants'
    /// at a time, reused for all of them.
    out: Box<[AlignedFrame; BATCH]>,
    /// This tick's sum and what the N-1 outputs derive from it.
    total: Box<Total>,
    /// What the last sum learned about the frames' loudness.
    sum_hints: SumHints,
    full: Vec<i16>,
    /// Scratch of one mix, reused: the contributing frames, their slots and
    /// what was measured on them.
    srcs: Vec<FramePtr>,
    src_slots: Vec<u32>,
    stats: Vec<FrameStats>,
    energies: Vec<u64>,
    levels: Vec<f32>,
    /// Scratch: indices in `srcs` of the mixed frames (with `max_mixed`,
    /// their frames are in `mixed_srcs`).
    mixed: Vec<u32>,
    mixed_srcs: Vec<FramePtr>,
}

impl Default for AudioMixer {
    fn default() -> Self {
        Self::new()
    }
}

/// Hasher of [`ParticipantId`]s for the slot index: one 64×64→128-bit
/// multiply folded to 64 bits (ids are not attacker-chosen hash-flooding
/// input: the conference assigns them; SipHash cost more than the rest of a
/// `push` of silence).
#[derive(Clone, Copy, Debug, Default)]
struct IdHasher(u64);

impl IdHasher {
    /// An odd 64-bit constant (2⁶⁴/φ) with well-spread bits.
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    #[inline]
    fn mix(&mut self, v: u64) {
        let p = u128::from(self.0 ^ v) * u128::from(Self::K);
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }
}

/// Mixed participants whose N-1 outputs are computed together (the SIMD
/// kernel reads the total once per chunk for all of them; more than four
/// gained nothing measurable), then handed to the sink one by one.
const BATCH: usize = 4;

/// Peak-hold decay per frame for the loudness ranking: 0.905^7 ≈ 0.5 (~140 ms).
const RANK_DECAY: f64 = 0.905;

/// Forgets the frames a `mix_frames` call borrowed, even if the caller's
/// iterator panicked half-way: no pointer outlives the call.
struct ForgetBorrowed<'a>(&'a mut AudioMixer);

impl Drop for ForgetBorrowed<'_> {
    fn drop(&mut self) {
        for s in &mut self.0.slots {
            if let Pushed::Borrowed(_) = s.pushed {
                s.pushed = Pushed::No;
            }
        }
    }
}

impl AudioMixer {
    /// An empty mixer with the default [`MixerConfig`].
    pub fn new() -> Self {
        Self::with_config(MixerConfig::default())
    }

    /// An empty mixer.
    pub fn with_config(config: MixerConfig) -> Self {
        Self {
            config,
            kernels: Kernels::detect(),
            slots: Vec::new(),
            index: HashMap::default(),
            hint: 0,
            inputs: FrameBuf::default(),
            out: Box::new(std::array::from_fn(|_| AlignedFrame([0; FRAME_SAMPLES]))),
            total: Box::default(),
            sum_hints: SumHints::default(),
            full: vec![0; FRAME_SAMPLES],
            srcs: Vec::new(),
            src_slots: Vec::new(),
            stats: Vec::new(),
            energies: Vec::new(),
            levels: Vec::new(),
            mixed: Vec::new(),
            mixed_srcs: Vec::new(),
        }
    }

    /// Forces the portable (non-SIMD) kernels; for tests comparing the paths.
    #[cfg(test)]
    pub(crate) fn force_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels;
    }

    /// The configuration in use.
    pub fn config(&self) -> MixerConfig {
        self.config
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no participant.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Adds a participant (unmuted, unity gain). It is mixed from the next
    /// [`mix`](Self::mix) and hears the full mix until then.
    pub fn add(&mut self, id: ParticipantId) -> Result<(), AudioError> {
        if self.index.contains_key(&id) {
            return Err(AudioError::DuplicateParticipant(id));
        }
        if self.slots.len() >= MAX_PARTICIPANTS {
            return Err(AudioError::TooManyParticipants);
        }
        // Keep the slots sorted: shift the later ones (and their pushed
        // frames) up by one. O(N), but joins are rare and ticks are not.
        let at = self.slots.partition_point(|s| s.id < id);
        let n = self.slots.len();
        self.slots.insert(
            at,
            Slot {
                id,
                gain_q12: GAIN_UNITY,
                muted: false,
                pushed: Pushed::No,
                rank: 0.0,
                level_dbov: SILENCE_DBOV,
                mixed: false,
            },
        );
        self.inputs.resize(n + 1);
        self.inputs.copy_frames(at..n, at + 1);
        self.reindex(at);
        Ok(())
    }

    /// Removes a participant.
    pub fn remove(&mut self, id: ParticipantId) -> Result<(), AudioError> {
        let slot = self
            .index
            .remove(&id)
            .ok_or(AudioError::UnknownParticipant(id))?;
        let n = self.slots.len();
        self.slots.remove(slot);
        self.inputs.copy_frames(slot + 1..n, slot);
        self.inputs.resize(n - 1);
        self.reindex(slot);
        Ok(())
    }

    /// Points `index` at the slots from `from` on (after they moved).
    fn reindex(&mut self, from: usize) {
        for (i, s) in self.slots.iter().enumerate().skip(from) {
            self.index.insert(s.id, i);
        }
    }

    fn slot(&self, id: ParticipantId) -> Result<usize, AudioError> {
        self.index
            .get(&id)
            .copied()
            .ok_or(AudioError::UnknownParticipant(id))
    }

    /// [`slot`](Self::slot), trying the slot after the previous lookup's
    /// first: with frames handed in id order, that is where the next one is,
    /// and one compare is cheaper than hashing.
    #[inline]
    fn slot_hinted(&mut self, id: ParticipantId) -> Result<usize, AudioError> {
        let slot = match self.slots.get(self.hint) {
            Some(s) if s.id == id => self.hint,
            _ => self.slot(id)?,
        };
        self.hint = slot + 1;
        Ok(slot)
    }

    /// Sets a participant's input gain (linear, `0.0..=MAX_GAIN`; 0.5 halves
    /// its amplitude in everyone else's mix). Applied from the next push.
    pub fn set_gain(&mut self, id: ParticipantId, gain: f32) -> Result<(), AudioError> {
        if !(0.0..=MixerConfig::MAX_GAIN).contains(&gain) {
            return Err(AudioError::InvalidGain(gain));
        }
        let slot = self.slot(id)?;
        self.slots[slot].gain_q12 = (gain * (1 << GAIN_SHIFT) as f32).round() as i32;
        Ok(())
    }

    /// Mutes or unmutes a participant. A muted participant contributes
    /// nothing (its level reads as silence) but still hears the others.
    pub fn set_muted(&mut self, id: ParticipantId, muted: bool) -> Result<(), AudioError> {
        let slot = self.slot(id)?;
        self.slots[slot].muted = muted;
        Ok(())
    }

    /// Whether the participant is muted.
    pub fn is_muted(&self, id: ParticipantId) -> Result<bool, AudioError> {
        Ok(self.slots[self.slot(id)?].muted)
    }

    /// Hands in a copy of a participant's decoded frame for the next
    /// [`mix`](Self::mix) (a second push before it replaces the first).
    /// Never blocks. [`mix_frames`](Self::mix_frames) reads the frames where
    /// they are instead.
    pub fn push(&mut self, id: ParticipantId, frame: &[i16]) -> Result<(), AudioError> {
        let frame: &Frame = frame
            .try_into()
            .map_err(|_| AudioError::WrongFrameLength { got: frame.len() })?;
        let slot = self.slot_hinted(id)?;
        let s = &mut self.slots[slot];
        if s.muted {
            s.pushed = Pushed::No;
            return Ok(());
        }
        s.pushed = Pushed::Copied;
        self.kernels
            .copy_gain(frame, s.gain_q12, self.inputs.frame_mut(slot));
        Ok(())
    }

    /// Mixes this tick with the frames `frames` yields (a participant's
    /// decoded frame each, read in place: nothing is copied unless the
    /// participant's gain is not unity) and whatever was [`push`](Self::push)ed
    /// since the last mix; a later frame of the same participant replaces an
    /// earlier one. Same result as pushing each frame, then [`mix`](Self::mix)
    /// with the same `sink`. Frames handed in id order are found fastest.
    ///
    /// A frame of the wrong length or of an unknown participant is skipped;
    /// the tick is mixed without it and the first such error returned.
    pub fn mix_frames<'f, I, S>(&mut self, frames: I, sink: S) -> Result<(), AudioError>
    where
        I: IntoIterator<Item = (ParticipantId, &'f [i16])>,
        S: FnMut(ParticipantId, &[i16]),
    {
        let mut first_err = None;
        let guard = ForgetBorrowed(self);
        guard.0.hint = 0;
        for (id, frame) in frames {
            if let Err(e) = guard.0.borrow_frame(id, frame) {
                first_err.get_or_insert(e);
            }
        }
        // Every borrowed frame lives at least as long as this call ('f).
        guard.0.mix(sink);
        // `mix` cleared every slot's `Pushed` first thing, before the sink
        // could panic: nothing is left for the guard's walk over the slots.
        std::mem::forget(guard);
        first_err.map_or(Ok(()), Err)
    }

    /// Records `frame` as `id`'s contribution to the mix `mix_frames` runs
    /// before returning.
    #[inline]
    fn borrow_frame(&mut self, id: ParticipantId, frame: &[i16]) -> Result<(), AudioError> {
        let frame: &Frame = frame
            .try_into()
            .map_err(|_| AudioError::WrongFrameLength { got: frame.len() })?;
        let slot = self.slot_hinted(id)?;
        let s = &mut self.slots[slot];
        if s.muted {
            s.pushed = Pushed::No;
        } else if s.gain_q12 == GAIN_UNITY {
            s.pushed = Pushed::Borrowed(FramePtr(frame));
        } else {
            s.pushed = Pushed::Copied;
            self.kernels
                .copy_gain(frame, s.gain_q12, self.inputs.frame_mut(slot));
        }
        Ok(())
    }

    /// Mixes this tick: measures levels, sums every contribution once,
    /// computes the full mix, then each mixed participant's N-1 output
    /// (`total − own`, soft-clipped), handing it to `sink` with the
    /// participant's id, in increasing id order. The samples are only valid
    /// during the call (one buffer serves everyone): encode or copy them
    /// there. Participants the sink does not hear from hear
    /// [`full_mix`](Self::full_mix) (they contributed nothing this tick:
    /// muted, silent, absent, or not among the loudest), so one encode of it
    /// can serve them all. Participants that pushed nothing since the last
    /// `mix` contribute silence.
    ///
    /// If `sink` panics, the mix is left half-delivered but the mixer stays
    /// usable.
    pub fn mix<S>(&mut self, mut sink: S)
    where
        S: FnMut(ParticipantId, &[i16]),
    {
        self.hint = 0;
        // Only `max_mixed` ranks talkers (the config never changes).
        let ranked = self.config.max_mixed.is_some();
        // Filled as locals: pushes to `self`'s vectors while writing slots
        // reloaded and stored their lengths every time.
        let (mut srcs, mut src_slots) = (take(&mut self.srcs), take(&mut self.src_slots));
        srcs.clear();
        src_slots.clear();
        for (i, s) in self.slots.iter_mut().enumerate() {
            let src = match s.pushed {
                _ if s.muted => None,
                Pushed::No => None,
                Pushed::Copied => Some(FramePtr(self.inputs.frame(i))),
                Pushed::Borrowed(frame) => Some(frame),
            };
            s.pushed = Pushed::No;
            if let Some(src) = src {
                srcs.push(src);
                // i < MAX_PARTICIPANTS, fits u32.
                src_slots.push(i as u32);
            } else {
                s.level_dbov = SILENCE_DBOV;
                if ranked {
                    s.rank *= RANK_DECAY;
                }
                s.mixed = false;
            }
        }
        (self.srcs, self.src_slots) = (srcs, src_slots);
        // SAFETY: every pointer in `srcs` is to a whole frame that stays alive
        // and unwritten until this function returns: one of `inputs` (not
        // written below) or a frame borrowed by the running `mix_frames` call
        // (the only way a slot is `Pushed::Borrowed`; the flag is cleared
        // above and by `ForgetBorrowed`). `FramePtr` is a transparent
        // `*const Frame`, laid out like `&Frame`, and never null here.
        let frames: &[&Frame] =
            unsafe { std::slice::from_raw_parts(self.srcs.as_ptr().cast(), self.srcs.len()) };
        let n = frames.len();
        self.stats.resize(n, FrameStats::default());
        let stats = &mut self.stats[..n];
        if self.config.max_mixed.is_none() {
            // Everyone is mixed: measure while summing (silent frames add 0).
            self.kernels
                .sum_stats(frames, &mut self.total.acc, stats, &mut self.sum_hints);
        } else {
            self.kernels.stats(frames, stats);
        }
        self.energies.clear();
        self.energies.extend(stats.iter().map(|s| s.energy));
        self.levels.resize(n, SILENCE_DBOV);
        dbov_from_energies(&self.energies, &mut self.levels);
        let mut mixed = take(&mut self.mixed);
        mixed.clear();
        // The N-1 chunk plan covers every mixed frame quiet enough for it
        // (the loudest such frame's squared bound: one root below).
        let mut plan_max_pair = 0;
        let contributions = self.src_slots.iter().zip(stats.iter()).zip(&self.levels);
        for (k, ((&i, st), &level)) in contributions.enumerate() {
            let s = &mut self.slots[i as usize];
            s.level_dbov = level;
            if ranked {
                // Through i64 (energies are below 2⁴¹): one conversion
                // instruction, where u64 -> f64 takes a branchy sequence on x86.
                s.rank = (st.energy as i64 as f64).max(s.rank * RANK_DECAY);
            }
            s.mixed = st.energy > 0;
            if s.mixed {
                // k < MAX_PARTICIPANTS, fits u32.
                mixed.push(k as u32);
                if st.peak_at_most(PLAN_PEAK_MAX) {
                    plan_max_pair = plan_max_pair.max(st.max_pair);
                }
            }
        }
        self.mixed = mixed;
        if let Some(k) = self.config.max_mixed {
            if self.mixed.len() > k {
                let (slots, src_slots) = (&self.slots, &self.src_slots);
                let rank = |m: u32| slots[src_slots[m as usize] as usize].rank;
                if k > 0 {
                    self.mixed
                        .select_nth_unstable_by(k - 1, |&a, &b| rank(b).total_cmp(&rank(a)));
                }
                for &m in &self.mixed[k..] {
                    self.slots[self.src_slots[m as usize] as usize].mixed = false;
                }
                self.mixed.truncate(k);
                // Back to slot (id) order for the sink.
                self.mixed.sort_unstable();
                plan_max_pair = self
                    .mixed
                    .iter()
                    .map(|&m| &stats[m as usize])
                    .filter(|st| st.peak_at_most(PLAN_PEAK_MAX))
                    .map(|st| st.max_pair)
                    .max()
                    .unwrap_or(0);
            }
            self.mixed_srcs.clear();
            self.mixed_srcs
                .extend(self.mixed.iter().map(|&m| self.srcs[m as usize]));
            // SAFETY: as for `frames` (a selection of the same pointers).
            let selected: &[&Frame] = unsafe {
                std::slice::from_raw_parts(self.mixed_srcs.as_ptr().cast(), self.mixed_srcs.len())
            };
            self.kernels.sum(selected, &mut self.total.acc);
        }
        let plan_peak = FrameStats::peak_of(plan_max_pair);
        self.kernels
            .finish(&mut self.total, plan_peak, &mut self.full);
        let mut batches = self.mixed.chunks_exact(BATCH);
        for batch in &mut batches {
            let b: [usize; BATCH] = std::array::from_fn(|k| batch[k] as usize);
            let out = self.out.each_mut().map(|f| &mut f.0);
            self.kernels
                .minus_one(&self.total, b.map(|m| frames[m]), out, b.map(|m| &stats[m]));
            for (&m, out) in b.iter().zip(self.out.iter()) {
                sink(self.slots[self.src_slots[m] as usize].id, &out.0);
            }
        }
        for &m in batches.remainder() {
            let m = m as usize;
            let out = &mut self.out[0].0;
            self.kernels
                .minus_one(&self.total, [frames[m]], [&mut *out], [&stats[m]]);
            sink(self.slots[self.src_slots[m] as usize].id, out);
        }
    }

    /// The soft-clipped sum of every contribution of the last mix: what every
    /// participant hears that was not handed its own output (see
    /// [`is_mixed`](Self::is_mixed)).
    pub fn full_mix(&self) -> &[i16] {
        &self.full
    }

    /// Level (dBov, RFC 6464 convention) of what `id` contributed to the last
    /// mix, after gain: `-127.0` when muted, silent or absent.
    pub fn level(&self, id: ParticipantId) -> Result<f32, AudioError> {
        Ok(self.slots[self.slot(id)?].level_dbov)
    }

    /// Every participant's level of the last mix (input for
    /// [`ActiveSpeakerSelector::on_tick`](super::ActiveSpeakerSelector::on_tick)).
    pub fn levels(&self) -> impl Iterator<Item = (ParticipantId, f32)> + '_ {
        self.slots.iter().map(|s| (s.id, s.level_dbov))
    }

    /// Whether `id`'s contribution was in the last mix (false when muted,
    /// silent, absent or outside the `max_mixed` loudest).
    pub fn is_mixed(&self, id: ParticipantId) -> Result<bool, AudioError> {
        Ok(self.slots[self.slot(id)?].mixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, amplitude: f64, tick: usize) -> Vec<i16> {
        (0..FRAME_SAMPLES)
            .map(|i| {
                let t = (tick * FRAME_SAMPLES + i) as f64 / 48_000.0;
                (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
            })
            .collect()
    }

    /// What the sink of one mix was handed, in call order.
    type Outputs = Vec<(ParticipantId, Vec<i16>)>;

    /// `mix`, collecting the sink's calls; checks they come in increasing id
    /// order, exactly for the participants `is_mixed` reports.
    fn mix(m: &mut AudioMixer) -> Outputs {
        let mut outs = Outputs::new();
        m.mix(|id, s| outs.push((id, s.to_vec())));
        check_sink_calls(m, &outs);
        outs
    }

    /// `mix_frames`, collecting the sink's calls as [`mix`] does.
    fn mix_frames<'f>(
        m: &mut AudioMixer,
        frames: impl IntoIterator<Item = (ParticipantId, &'f [i16])>,
    ) -> (Result<(), AudioError>, Outputs) {
        let mut outs = Outputs::new();
        let got = m.mix_frames(frames, |id, s| outs.push((id, s.to_vec())));
        check_sink_calls(m, &outs);
        (got, outs)
    }

    fn check_sink_calls(m: &AudioMixer, outs: &Outputs) {
        assert!(outs.windows(2).all(|w| w[0].0 < w[1].0), "not in id order");
        let mixed: Vec<ParticipantId> = m
            .levels()
            .map(|(id, _)| id)
            .filter(|&id| m.is_mixed(id).unwrap())
            .collect();
        let called: Vec<ParticipantId> = outs.iter().map(|o| o.0).collect();
        assert_eq!(called, mixed);
        assert!(outs.iter().all(|o| o.1.len() == FRAME_SAMPLES));
    }

    /// What `id` hears: its own output if it got one, else the full mix.
    fn heard(m: &AudioMixer, outs: &Outputs, id: ParticipantId) -> Vec<i16> {
        match outs.iter().find(|o| o.0 == id) {
            Some(o) => o.1.clone(),
            None => m.full_mix().to_vec(),
        }
    }

    #[test]
    fn simd_and_portable_mixers_agree() {
        let mut mixers = vec![AudioMixer::with_config(MixerConfig { max_mixed: None })];
        let mut portable = AudioMixer::with_config(MixerConfig { max_mixed: None });
        portable.force_kernels(Kernels::Portable);
        mixers.push(portable);
        for m in &mut mixers {
            for p in 0..12 {
                m.add(ParticipantId(p)).unwrap();
            }
            m.set_gain(ParticipantId(3), 0.3).unwrap();
            m.set_gain(ParticipantId(4), 2.5).unwrap();
            m.set_muted(ParticipantId(5), true).unwrap();
        }
        for tick in 0..5 {
            let mut outs = Vec::new();
            for m in &mut mixers {
                for p in 0..12u64 {
                    if p == 6 && tick % 2 == 0 {
                        continue; // lost packet
                    }
                    let f = tone(200.0 + 130.0 * p as f64, 4000.0 + 2500.0 * p as f64, tick);
                    m.push(ParticipantId(p), &f).unwrap();
                }
                outs.push(mix(m));
            }
            assert_eq!(mixers[0].full_mix(), mixers[1].full_mix());
            assert_eq!(outs[0], outs[1]);
            assert_eq!(outs[0].len(), if tick % 2 == 0 { 10 } else { 11 });
            for p in 0..12 {
                let id = ParticipantId(p);
                assert_eq!(mixers[0].level(id).unwrap(), mixers[1].level(id).unwrap());
            }
        }
    }

    #[test]
    fn top_k_mixes_only_the_loudest() {
        let mut m = AudioMixer::with_config(MixerConfig { max_mixed: Some(2) });
        for p in 0..5 {
            m.add(ParticipantId(p)).unwrap();
        }
        // The loudest first, so the ranking's selection reorders them.
        for p in (0..5u64).rev() {
            m.push(ParticipantId(p), &tone(300.0, 1000.0 * (p + 1) as f64, 0))
                .unwrap();
        }
        let outs = mix(&mut m);
        let mixed: Vec<u64> = (0..5)
            .filter(|&p| m.is_mixed(ParticipantId(p)).unwrap())
            .collect();
        assert_eq!(mixed, vec![3, 4]);
        // 3 hears 4 and 4 hears 3, below the knee: no clipping.
        assert_eq!(outs[0], (ParticipantId(3), tone(300.0, 5000.0, 0)));
        assert_eq!(outs[1], (ParticipantId(4), tone(300.0, 4000.0, 0)));
        let expect: Vec<i16> = tone(300.0, 4000.0, 0)
            .iter()
            .zip(tone(300.0, 5000.0, 0))
            .map(|(&a, b)| soft_clip_ref(i32::from(a) + i32::from(b)))
            .collect();
        assert_eq!(m.full_mix(), &expect[..]);
        assert_eq!(heard(&m, &outs, ParticipantId(0)), expect);
    }

    fn soft_clip_ref(x: i32) -> i16 {
        super::super::soft_clip(x)
    }

    #[test]
    fn pushes_survive_adds_and_removes_until_the_mix() {
        let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
        for p in [10, 20, 30] {
            m.add(ParticipantId(p)).unwrap();
        }
        for (k, p) in [10u64, 20, 30].into_iter().enumerate() {
            m.push(ParticipantId(p), &[100 * (k as i16 + 1); FRAME_SAMPLES])
                .unwrap();
        }
        let outs = mix(&mut m);
        assert_eq!(outs[0], (ParticipantId(10), vec![500; FRAME_SAMPLES]));
        assert_eq!(m.full_mix(), &[600; FRAME_SAMPLES][..]);
        // The next tick's pushes (one of them twice) do not disturb the full
        // mix of the last one.
        for p in [10u64, 20, 30] {
            m.push(ParticipantId(p), &[-7; FRAME_SAMPLES]).unwrap();
        }
        m.push(ParticipantId(30), &[1000; FRAME_SAMPLES]).unwrap();
        assert_eq!(m.full_mix(), &[600; FRAME_SAMPLES][..]);
        // Growing the mixer (reallocating its buffers, and shifting slots for
        // ids sorted before and between the others) keeps the pushed frames
        // with their participants; so does removing one in the middle.
        for p in (0..40).filter(|p| p % 10 != 0).rev() {
            m.add(ParticipantId(p)).unwrap();
        }
        m.remove(ParticipantId(15)).unwrap();
        m.push(ParticipantId(3), &[5; FRAME_SAMPLES]).unwrap();
        m.remove(ParticipantId(2)).unwrap();
        let outs = mix(&mut m);
        let ids: Vec<u64> = outs.iter().map(|o| o.0.0).collect();
        assert_eq!(ids, vec![3, 10, 20, 30]);
        assert_eq!(outs[0].1, vec![986; FRAME_SAMPLES]);
        assert_eq!(outs[1].1, vec![998; FRAME_SAMPLES]);
        assert_eq!(outs[3].1, vec![-9; FRAME_SAMPLES]);
        assert_eq!(m.full_mix(), &[991; FRAME_SAMPLES][..]);
        assert_eq!(m.len(), 37);
        // A tick without pushes: nobody contributes.
        assert!(mix(&mut m).is_empty());
        assert!(!m.is_mixed(ParticipantId(10)).unwrap());
        assert_eq!(m.full_mix(), &[0; FRAME_SAMPLES][..]);
    }

    #[test]
    fn simd_and_portable_agree_through_adds_and_removes() {
        let mut simd = AudioMixer::with_config(MixerConfig { max_mixed: None });
        let mut portable = AudioMixer::with_config(MixerConfig { max_mixed: None });
        portable.force_kernels(Kernels::Portable);
        let mut live: Vec<u64> = Vec::new();
        for tick in 0..30usize {
            // Ids of later joins sort both before and after earlier ones.
            let joining = |p: u64| (tick as u64 * 10 + p) ^ 0x35;
            // p = 2 of the last join.
            let gone = ((tick as u64 / 3) * 30 + 2) ^ 0x35;
            for m in [&mut simd, &mut portable] {
                if tick % 3 == 0 {
                    for p in 0..7 {
                        m.add(ParticipantId(joining(p))).unwrap();
                    }
                }
                if tick % 4 == 1 {
                    m.remove(ParticipantId(gone)).unwrap();
                }
            }
            if tick % 3 == 0 {
                live.extend((0..7).map(joining));
            }
            if tick % 4 == 1 {
                live.retain(|&p| p != gone);
            }
            let mut outs = Vec::new();
            for m in [&mut simd, &mut portable] {
                for &p in &live {
                    let amp = 1500.0 + 700.0 * (p % 13) as f64;
                    m.push(
                        ParticipantId(p),
                        &tone(150.0 + 37.0 * (p % 17) as f64, amp, tick),
                    )
                    .unwrap();
                }
                outs.push(mix(m));
            }
            assert_eq!(simd.full_mix(), portable.full_mix(), "tick {tick}");
            assert_eq!(outs[0], outs[1], "tick {tick}");
            assert_eq!(outs[0].len(), live.len(), "tick {tick}");
            for &p in &live {
                let id = ParticipantId(p);
                assert_eq!(simd.level(id).unwrap(), portable.level(id).unwrap());
            }
        }
    }

    /// `mix_frames` (frames read in place) against `push` + `mix` (copies):
    /// same outputs, levels and full mix, with a gain, a mute, a frame given
    /// twice, a participant without a frame, bad frames, and `max_mixed`.
    #[test]
    fn mix_frames_matches_push_then_mix() {
        for config in [MixerConfig { max_mixed: None }, MixerConfig::default()] {
            let mut borrowed = AudioMixer::with_config(config);
            let mut copied = AudioMixer::with_config(config);
            for m in [&mut borrowed, &mut copied] {
                for p in 0..9 {
                    m.add(ParticipantId(p)).unwrap();
                }
                m.set_gain(ParticipantId(2), 1.7).unwrap();
                m.set_muted(ParticipantId(4), true).unwrap();
            }
            for tick in 0..4 {
                let frames: Vec<Vec<i16>> = (0..9)
                    .map(|p| tone(170.0 + 90.0 * p as f64, 1500.0 + 1100.0 * p as f64, tick))
                    .collect();
                let silent = vec![0; FRAME_SAMPLES];
                let given = |p: usize| if p == 7 { &silent[..] } else { &frames[p][..] };
                // 5 sends nothing; 3 twice (the second counts).
                let ids = [0usize, 1, 2, 3, 4, 6, 7, 8, 3];
                for &p in &ids[..8] {
                    copied.push(ParticipantId(p as u64), given(p)).unwrap();
                }
                copied.push(ParticipantId(3), &frames[1]).unwrap();
                let want = mix(&mut copied);
                let list = ids.iter().enumerate().map(|(k, &p)| {
                    let f = if k == 8 { &frames[1][..] } else { given(p) };
                    (ParticipantId(p as u64), f)
                });
                let (got, outs) = mix_frames(&mut borrowed, list);
                got.unwrap();
                assert_eq!(borrowed.full_mix(), copied.full_mix(), "tick {tick}");
                assert_eq!(outs, want, "tick {tick}");
                for p in 0..9 {
                    let id = ParticipantId(p);
                    assert_eq!(borrowed.level(id).unwrap(), copied.level(id).unwrap());
                    assert_eq!(borrowed.is_mixed(id).unwrap(), copied.is_mixed(id).unwrap());
                }
            }
        }
        // Bad frames are skipped, the rest mixed, the first error returned.
        let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
        for p in 0..2 {
            m.add(ParticipantId(p)).unwrap();
        }
        let (a, short) = ([300; FRAME_SAMPLES], [1; 10]);
        let (got, outs) = mix_frames(
            &mut m,
            [
                (ParticipantId(9), &a[..]),
                (ParticipantId(1), &short[..]),
                (ParticipantId(0), &a[..]),
            ],
        );
        assert_eq!(got, Err(AudioError::UnknownParticipant(ParticipantId(9))));
        assert_eq!(m.full_mix(), &a[..]);
        assert_eq!(heard(&m, &outs, ParticipantId(1)), a, "1 hears 0");
        // Nothing is kept of the borrowed frames: the next mix is silent.
        assert!(mix(&mut m).is_empty());
        assert_eq!(m.full_mix(), &[0; FRAME_SAMPLES][..]);
    }

    /// The id lookup guesses the slot after the previous one: frames handed
    /// in any order (sorted, reversed, shuffled, with repeats and unknown
    /// ids, participants added in any order) mix the same.
    #[test]
    fn mix_frames_is_the_same_in_any_order() {
        let ids: Vec<u64> = vec![40, 7, 19, 3, 100, 55, 8, 21, 64, 1];
        let frames: Vec<Vec<i16>> = (0..ids.len())
            .map(|k| tone(120.0 + 55.0 * k as f64, 900.0 + 2000.0 * k as f64, k))
            .collect();
        let mut sorted: Vec<usize> = (0..ids.len()).collect();
        sorted.sort_by_key(|&k| ids[k]);
        let mut orders = vec![sorted.clone(), sorted.iter().rev().copied().collect()];
        orders.push((0..ids.len()).collect());
        orders.push(vec![3, 9, 0, 2, 3, 5, 1, 4, 8, 6, 7, 0]);
        orders.push(
            sorted
                .iter()
                .step_by(2)
                .chain(sorted.iter().skip(1).step_by(2))
                .copied()
                .collect(),
        );
        let mut want = None;
        for order in &orders {
            let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
            for &p in &ids {
                m.add(ParticipantId(p)).unwrap();
            }
            m.set_gain(ParticipantId(19), 0.5).unwrap();
            // Twice: the second call starts with the hint where the first
            // left it.
            for _ in 0..2 {
                let list = order
                    .iter()
                    .map(|&k| (ParticipantId(ids[k]), &frames[k][..]))
                    .chain([(ParticipantId(2), &frames[0][..])]);
                let (got, outs) = mix_frames(&mut m, list);
                assert_eq!(got, Err(AudioError::UnknownParticipant(ParticipantId(2))));
                let levels: Vec<(ParticipantId, f32)> = m.levels().collect();
                let now = (outs, m.full_mix().to_vec(), levels);
                assert_eq!(now.0.len(), ids.len());
                match &want {
                    None => want = Some(now),
                    Some(w) => assert_eq!(&now, w, "order {order:?}"),
                }
            }
        }
    }

    #[test]
    fn remove_keeps_other_buffers() {
        let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
        for p in 0..3 {
            m.add(ParticipantId(p)).unwrap();
        }
        m.remove(ParticipantId(0)).unwrap();
        assert_eq!(
            m.remove(ParticipantId(0)),
            Err(AudioError::UnknownParticipant(ParticipantId(0)))
        );
        m.push(ParticipantId(1), &[100; FRAME_SAMPLES]).unwrap();
        m.push(ParticipantId(2), &[-30; FRAME_SAMPLES]).unwrap();
        let outs = mix(&mut m);
        assert_eq!(
            outs,
            vec![
                (ParticipantId(1), vec![-30; FRAME_SAMPLES]),
                (ParticipantId(2), vec![100; FRAME_SAMPLES])
            ]
        );
        assert_eq!(m.full_mix(), &[70; FRAME_SAMPLES][..]);
        assert_eq!(
            m.push(ParticipantId(1), &[0; 10]),
            Err(AudioError::WrongFrameLength { got: 10 })
        );
        assert_eq!(
            m.set_gain(ParticipantId(1), -1.0),
            Err(AudioError::InvalidGain(-1.0))
        );
    }
}
