//! The N-1 mixer: one sum per tick, each participant gets `total − own`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::kernels::{GAIN_SHIFT, GAIN_UNITY, Kernels, PLAN_PEAK_MAX, Total};
use super::{AudioError, FRAME_SAMPLES, MAX_PARTICIPANTS, SILENCE_DBOV, dbov_from_energy};
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

/// What one participant should hear after [`AudioMixer::mix`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixOutput<'a> {
    /// The participant contributed nothing this tick (muted, silent, absent,
    /// or not among the loudest): it hears exactly [`AudioMixer::full_mix`],
    /// so one encode of the full mix can serve every `Shared` participant.
    Shared,
    /// The participant's own mix (`total − own`, soft-clipped).
    Own(&'a [i16]),
}

/// Per-participant state; its two sample buffers live in the mixer's flat
/// `frames` vector at frames `2 * slot` and `2 * slot + 1`: one holds the
/// output of the last mix (`out_buf`), the other receives pushes, and
/// [`AudioMixer::mix`] turns the pushed frame into the new output in place.
#[derive(Clone, Debug)]
struct Slot {
    id: ParticipantId,
    gain_q12: i32,
    muted: bool,
    /// A frame was pushed since the last `mix()`.
    pushed: bool,
    /// Energy of the pushed (gain-applied) frame.
    energy: u64,
    /// Peak `|sample|` of the pushed (gain-applied) frame.
    peak: u16,
    /// Peak-hold loudness used to rank talkers for `max_mixed`.
    rank: f64,
    /// Results of the last `mix()`.
    level_dbov: f32,
    mixed: bool,
    /// Which of the slot's two buffers holds the last output (0 or 1).
    out_buf: u8,
}

impl Slot {
    /// Index in `AudioMixer::frames` of the buffer pushes go to.
    fn push_frame(&self, slot: usize) -> usize {
        2 * slot + usize::from(self.out_buf ^ 1)
    }

    /// Index in `AudioMixer::frames` of the last output.
    fn out_frame(&self, slot: usize) -> usize {
        2 * slot + usize::from(self.out_buf)
    }
}

/// The N-1 audio mixer of one conference (sans-IO; see the [module docs](super)).
///
/// Each tick: [`push`](Self::push) the frames that arrived (a participant that
/// pushed nothing contributes silence), [`mix`](Self::mix) once, then read
/// [`output`](Self::output), [`full_mix`](Self::full_mix) and
/// [`level`](Self::level) until the next `mix`. The work per tick is O(N): every
/// contribution is summed once into an i32 accumulator and each mixed
/// participant gets the accumulator minus its own contribution, through the
/// [`soft_clip`](super::soft_clip) curve. Steady state allocates nothing.
#[derive(Debug)]
pub struct AudioMixer {
    config: MixerConfig,
    kernels: Kernels,
    slots: Vec<Slot>,
    index: HashMap<ParticipantId, usize, BuildHasherDefault<IdHasher>>,
    /// Two frames per slot (see [`Slot`]): the gain-applied pushed frame and
    /// the N-1 output of the last mix (valid where `Slot::mixed`). Frame `f`
    /// is `frames[base + f * FRAME_SAMPLES..][..FRAME_SAMPLES]`; `base` makes
    /// frames start on 64-byte cache lines, so the 32-byte SIMD accesses never
    /// straddle two lines.
    frames: Vec<i16>,
    base: usize,
    /// This tick's sum and what the N-1 outputs derive from it.
    total: Box<Total>,
    full: Vec<i16>,
    /// Slots mixed this tick (scratch, reused).
    mixed_idx: Vec<u32>,
    /// Their pushed frames' indices in `frames` (scratch, reused).
    mixed_frames: Vec<u32>,
    /// And those frames' peaks (scratch, reused).
    mixed_peaks: Vec<u16>,
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

/// Peak-hold decay per frame for the loudness ranking: 0.905^7 ≈ 0.5 (~140 ms).
const RANK_DECAY: f64 = 0.905;

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
            frames: Vec::new(),
            base: 0,
            total: Box::default(),
            full: vec![0; FRAME_SAMPLES],
            mixed_idx: Vec::new(),
            mixed_frames: Vec::new(),
            mixed_peaks: Vec::new(),
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
    /// [`mix`](Self::mix) and hears [`MixOutput::Shared`] until then.
    pub fn add(&mut self, id: ParticipantId) -> Result<(), AudioError> {
        if self.index.contains_key(&id) {
            return Err(AudioError::DuplicateParticipant(id));
        }
        if self.slots.len() >= MAX_PARTICIPANTS {
            return Err(AudioError::TooManyParticipants);
        }
        self.index.insert(id, self.slots.len());
        self.slots.push(Slot {
            id,
            gain_q12: GAIN_UNITY,
            muted: false,
            pushed: false,
            energy: 0,
            peak: 0,
            rank: 0.0,
            level_dbov: SILENCE_DBOV,
            mixed: false,
            out_buf: 0,
        });
        self.resize_frames();
        Ok(())
    }

    /// Removes a participant.
    pub fn remove(&mut self, id: ParticipantId) -> Result<(), AudioError> {
        let slot = self
            .index
            .remove(&id)
            .ok_or(AudioError::UnknownParticipant(id))?;
        let last = self.slots.len() - 1;
        self.slots.swap_remove(slot);
        if slot != last {
            let moved = self.slots[slot].id;
            self.index.insert(moved, slot);
            let from = self.frame_range(2 * last).start..self.frame_range(2 * last + 1).end;
            let to = self.frame_range(2 * slot).start;
            self.frames.copy_within(from, to);
        }
        self.resize_frames();
        // The last mix's slot indices are stale now.
        self.mixed_idx.clear();
        Ok(())
    }

    /// Samples of frame `f` in `frames`.
    fn frame_range(&self, f: usize) -> std::ops::Range<usize> {
        let start = self.base + f * FRAME_SAMPLES;
        start..start + FRAME_SAMPLES
    }

    /// Sizes `frames` for two frames per slot plus alignment slack, and
    /// re-aligns the contents if the allocation moved.
    fn resize_frames(&mut self) {
        /// Slack for the alignment shift: 64 bytes of i16.
        const SLACK: usize = 32;
        let len = self.slots.len() * 2 * FRAME_SAMPLES;
        self.frames.resize(len + SLACK, 0);
        let base = self.frames.as_ptr().align_offset(64).min(SLACK);
        if base != self.base {
            let old = self.base..self.base + len;
            self.frames.copy_within(old, base);
            self.base = base;
        }
    }

    fn slot(&self, id: ParticipantId) -> Result<usize, AudioError> {
        self.index
            .get(&id)
            .copied()
            .ok_or(AudioError::UnknownParticipant(id))
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

    /// Hands in a participant's decoded frame for this tick (a second push
    /// before [`mix`](Self::mix) replaces the first). Never blocks.
    pub fn push(&mut self, id: ParticipantId, frame: &[i16]) -> Result<(), AudioError> {
        if frame.len() != FRAME_SAMPLES {
            return Err(AudioError::WrongFrameLength { got: frame.len() });
        }
        let slot = self.slot(id)?;
        let s = &mut self.slots[slot];
        s.pushed = true;
        if s.muted {
            s.energy = 0;
            s.peak = 0;
            return Ok(());
        }
        let f = s.push_frame(slot);
        let start = self.base + f * FRAME_SAMPLES;
        let dst = &mut self.frames[start..start + FRAME_SAMPLES];
        let stats = self.kernels.gain_energy(frame, s.gain_q12, dst);
        s.energy = stats.energy;
        s.peak = stats.peak;
        Ok(())
    }

    /// Mixes this tick: measures levels, sums every contribution once, and
    /// computes each contributor's N-1 output and the full mix. Participants
    /// that pushed nothing since the last `mix` contribute silence.
    pub fn mix(&mut self) {
        self.mixed_idx.clear();
        for (i, s) in self.slots.iter_mut().enumerate() {
            let energy = if s.pushed && !s.muted { s.energy } else { 0 };
            s.pushed = false;
            s.level_dbov = dbov_from_energy(energy);
            s.rank = (energy as f64).max(s.rank * RANK_DECAY);
            s.mixed = energy > 0;
            if s.mixed {
                // i < MAX_PARTICIPANTS, fits u32.
                self.mixed_idx.push(i as u32);
            }
        }
        if let Some(k) = self.config.max_mixed
            && self.mixed_idx.len() > k
        {
            let slots = &self.slots;
            if k > 0 {
                self.mixed_idx.select_nth_unstable_by(k - 1, |&a, &b| {
                    slots[b as usize].rank.total_cmp(&slots[a as usize].rank)
                });
            }
            for &i in &self.mixed_idx[k..] {
                self.slots[i as usize].mixed = false;
            }
            self.mixed_idx.truncate(k);
        }
        self.mixed_frames.clear();
        self.mixed_peaks.clear();
        for &i in &self.mixed_idx {
            let s = &mut self.slots[i as usize];
            // < 2 * MAX_PARTICIPANTS, fits u32.
            self.mixed_frames.push(s.push_frame(i as usize) as u32);
            self.mixed_peaks.push(s.peak);
            // The pushed buffer holds the output after the mix below; pushes
            // go to the other.
            s.out_buf ^= 1;
        }
        // The N-1 chunk plan covers every mixed frame quiet enough for it.
        let plan_peak = self
            .mixed_peaks
            .iter()
            .copied()
            .filter(|&p| p <= PLAN_PEAK_MAX)
            .max()
            .unwrap_or(0);
        self.kernels.mix(
            &mut self.frames[self.base..],
            &self.mixed_frames,
            &self.mixed_peaks,
            &mut self.total,
            plan_peak,
            &mut self.full,
        );
    }

    /// What `id` hears after the last [`mix`](Self::mix).
    pub fn output(&self, id: ParticipantId) -> Result<MixOutput<'_>, AudioError> {
        let slot = self.slot(id)?;
        Ok(if self.slots[slot].mixed {
            MixOutput::Own(&self.frames[self.frame_range(self.slots[slot].out_frame(slot))])
        } else {
            MixOutput::Shared
        })
    }

    /// What `id` hears after the last mix, as samples (resolves
    /// [`MixOutput::Shared`] to [`full_mix`](Self::full_mix)).
    pub fn output_samples(&self, id: ParticipantId) -> Result<&[i16], AudioError> {
        Ok(match self.output(id)? {
            MixOutput::Shared => &self.full,
            MixOutput::Own(s) => s,
        })
    }

    /// The soft-clipped sum of every contribution of the last mix: what every
    /// [`MixOutput::Shared`] participant hears.
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
            for m in &mut mixers {
                for p in 0..12u64 {
                    if p == 6 && tick % 2 == 0 {
                        continue; // lost packet
                    }
                    let f = tone(200.0 + 130.0 * p as f64, 4000.0 + 2500.0 * p as f64, tick);
                    m.push(ParticipantId(p), &f).unwrap();
                }
                m.mix();
            }
            assert_eq!(mixers[0].full_mix(), mixers[1].full_mix());
            for p in 0..12 {
                let id = ParticipantId(p);
                assert_eq!(mixers[0].output(id).unwrap(), mixers[1].output(id).unwrap());
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
        for p in 0..5u64 {
            m.push(ParticipantId(p), &tone(300.0, 1000.0 * (p + 1) as f64, 0))
                .unwrap();
        }
        m.mix();
        let mixed: Vec<u64> = (0..5)
            .filter(|&p| m.is_mixed(ParticipantId(p)).unwrap())
            .collect();
        assert_eq!(mixed, vec![3, 4]);
        assert_eq!(m.output(ParticipantId(0)).unwrap(), MixOutput::Shared);
        let expect: Vec<i16> = tone(300.0, 4000.0, 0)
            .iter()
            .zip(tone(300.0, 5000.0, 0))
            .map(|(&a, b)| soft_clip_ref(i32::from(a) + i32::from(b)))
            .collect();
        assert_eq!(m.full_mix(), &expect[..]);
    }

    fn soft_clip_ref(x: i32) -> i16 {
        super::super::soft_clip(x)
    }

    #[test]
    fn output_survives_pushes_until_the_next_mix() {
        let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
        for p in 0..3 {
            m.add(ParticipantId(p)).unwrap();
        }
        for p in 0..3u64 {
            m.push(ParticipantId(p), &[100 * (p as i16 + 1); FRAME_SAMPLES])
                .unwrap();
        }
        m.mix();
        let first: Vec<Vec<i16>> = (0..3)
            .map(|p| m.output_samples(ParticipantId(p)).unwrap().to_vec())
            .collect();
        assert_eq!(first[0], vec![500; FRAME_SAMPLES]);
        // Next tick's pushes (one of them twice) do not disturb the outputs.
        for p in 0..3u64 {
            m.push(ParticipantId(p), &[-7; FRAME_SAMPLES]).unwrap();
        }
        m.push(ParticipantId(2), &[1000; FRAME_SAMPLES]).unwrap();
        for p in 0..3u64 {
            assert_eq!(
                m.output_samples(ParticipantId(p)).unwrap(),
                &first[p as usize][..]
            );
        }
        // Growing the mixer (reallocating its buffers) keeps them too.
        for p in 3..40 {
            m.add(ParticipantId(p)).unwrap();
        }
        for p in 0..3u64 {
            assert_eq!(
                m.output_samples(ParticipantId(p)).unwrap(),
                &first[p as usize][..]
            );
        }
        m.mix();
        assert_eq!(
            m.output_samples(ParticipantId(0)).unwrap(),
            &[993; FRAME_SAMPLES][..]
        );
        assert_eq!(
            m.output_samples(ParticipantId(2)).unwrap(),
            &[-14; FRAME_SAMPLES][..]
        );
        assert_eq!(m.full_mix(), &[986; FRAME_SAMPLES][..]);
        // A tick without pushes: nobody contributes.
        m.mix();
        assert_eq!(m.output(ParticipantId(0)).unwrap(), MixOutput::Shared);
        assert_eq!(m.full_mix(), &[0; FRAME_SAMPLES][..]);
    }

    #[test]
    fn simd_and_portable_agree_through_adds_and_removes() {
        let mut simd = AudioMixer::with_config(MixerConfig { max_mixed: None });
        let mut portable = AudioMixer::with_config(MixerConfig { max_mixed: None });
        portable.force_kernels(Kernels::Portable);
        let mut live: Vec<u64> = Vec::new();
        for tick in 0..30usize {
            for m in [&mut simd, &mut portable] {
                if tick % 3 == 0 {
                    for p in 0..7 {
                        m.add(ParticipantId(tick as u64 * 10 + p)).unwrap();
                    }
                }
                if tick % 4 == 1 {
                    m.remove(ParticipantId((tick as u64 / 3) * 30 + 2)).unwrap();
                }
            }
            if tick % 3 == 0 {
                live.extend((0..7).map(|p| tick as u64 * 10 + p));
            }
            if tick % 4 == 1 {
                let gone = (tick as u64 / 3) * 30 + 2;
                live.retain(|&p| p != gone);
            }
            for m in [&mut simd, &mut portable] {
                for &p in &live {
                    let amp = 1500.0 + 700.0 * (p % 13) as f64;
                    m.push(
                        ParticipantId(p),
                        &tone(150.0 + 37.0 * (p % 17) as f64, amp, tick),
                    )
                    .unwrap();
                }
                m.mix();
            }
            assert_eq!(simd.full_mix(), portable.full_mix(), "tick {tick}");
            for &p in &live {
                let id = ParticipantId(p);
                assert_eq!(
                    simd.output(id).unwrap(),
                    portable.output(id).unwrap(),
                    "{p}"
                );
                assert_eq!(simd.level(id).unwrap(), portable.level(id).unwrap());
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
        m.mix();
        assert_eq!(
            m.output_samples(ParticipantId(1)).unwrap(),
            &[-30; FRAME_SAMPLES][..]
        );
        assert_eq!(
            m.output_samples(ParticipantId(2)).unwrap(),
            &[100; FRAME_SAMPLES][..]
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
