//! Active-speaker selection with a hold time, and the recent-speakers list.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{SILENCE_DBOV, Vad, VadConfig};
use crate::ParticipantId;

/// Settings of the [`ActiveSpeakerSelector`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpeakerConfig {
    /// Voice activity detection applied to every participant's levels.
    pub vad: VadConfig,
    /// A participant must have been talking (per the VAD) at least this long
    /// before it can become the active speaker. Default 1 s: a cough or a
    /// "yes" never takes the floor.
    pub switch_after: Duration,
    /// Minimum time between two changes of the active speaker. Default 2 s.
    pub min_hold: Duration,
    /// Longest recent-speakers list kept. Default 16.
    pub recent_capacity: usize,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            vad: VadConfig::default(),
            switch_after: Duration::from_secs(1),
            min_hold: Duration::from_secs(2),
            recent_capacity: 16,
        }
    }
}

#[derive(Clone, Debug)]
struct Talker {
    vad: Vad,
    /// When the VAD last switched to talking (None while not talking).
    talking_since: Option<Instant>,
    /// Smoothed level (dBov) of the voiced frames while talking, to compare talkers.
    loudness: f32,
    /// Tick generation in which a level was last given for it.
    seen: u64,
}

/// Picks the active speaker from per-tick levels (sans-IO: `now` is an input).
///
/// Rule: the active speaker changes to the loudest participant that has been
/// talking for at least [`SpeakerConfig::switch_after`], if the current
/// speaker is silent or quieter than it, and never sooner than
/// [`SpeakerConfig::min_hold`] after the previous change (the very first
/// speaker, or the one after the active speaker left, needs no hold).
#[derive(Clone, Debug)]
pub struct ActiveSpeakerSelector {
    config: SpeakerConfig,
    talkers: BTreeMap<ParticipantId, Talker>,
    active: Option<ParticipantId>,
    last_switch: Option<Instant>,
    /// Most recent talker first.
    recent: Vec<ParticipantId>,
    generation: u64,
    /// Scratch: this tick's talkers (reused, no per-tick allocation).
    scratch: Vec<(f32, ParticipantId)>,
}

/// Weight of the newest frame in [`Talker::loudness`] (time constant ~200 ms).
const LOUDNESS_ALPHA: f32 = 0.1;

impl ActiveSpeakerSelector {
    /// A selector with no participant and no active speaker.
    pub fn new(config: SpeakerConfig) -> Self {
        Self {
            config,
            talkers: BTreeMap::new(),
            active: None,
            last_switch: None,
            recent: Vec::new(),
            generation: 0,
            scratch: Vec::new(),
        }
    }

    /// Feeds one 20 ms tick of levels (dBov, e.g. from
    /// [`AudioMixer::levels`](super::AudioMixer::levels)). Participants seen
    /// for the first time are added; known participants missing from `levels`
    /// count as silent. Returns the new active speaker if it changed.
    pub fn on_tick(
        &mut self,
        now: Instant,
        levels: impl IntoIterator<Item = (ParticipantId, f32)>,
    ) -> Option<ParticipantId> {
        self.generation += 1;
        let generation = self.generation;
        let vad_config = self.config.vad;
        for (id, level) in levels {
            let t = self.talkers.entry(id).or_insert_with(|| Talker {
                vad: Vad::new(vad_config),
                talking_since: None,
                loudness: SILENCE_DBOV,
                seen: 0,
            });
            t.seen = generation;
            update(t, now, level, vad_config.release_dbov);
        }
        self.scratch.clear();
        for (&id, t) in &mut self.talkers {
            if t.seen != generation {
                update(t, now, SILENCE_DBOV, vad_config.release_dbov);
            }
            if t.talking_since.is_some() {
                self.scratch.push((t.loudness, id));
            }
        }
        // Recent speakers: this tick's talkers move to the front, loudest first.
        self.scratch
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        for &(_, id) in &self.scratch {
            if let Some(pos) = self.recent.iter().position(|&r| r == id) {
                self.recent.remove(pos);
            }
            self.recent.insert(0, id);
        }
        self.recent.truncate(self.config.recent_capacity);
        self.select(now)
    }

    fn select(&mut self, now: Instant) -> Option<ParticipantId> {
        if let Some(last) = self.last_switch
            && self.active.is_some()
            && now.saturating_duration_since(last) < self.config.min_hold
        {
            return None;
        }
        let current = self.active.and_then(|id| self.talkers.get(&id));
        let current_loudness = match current {
            Some(t) if t.talking_since.is_some() => Some(t.loudness),
            _ => None,
        };
        let switch_after = self.config.switch_after;
        let best = self
            .talkers
            .iter()
            .filter(|&(&id, _)| Some(id) != self.active)
            .filter(|(_, t)| {
                t.talking_since
                    .is_some_and(|since| now.saturating_duration_since(since) >= switch_after)
            })
            .filter(|(_, t)| current_loudness.is_none_or(|cur| t.loudness > cur))
            // Ties: the lowest id, deterministically (max_by keeps the last max).
            .rev()
            .max_by(|a, b| a.1.loudness.total_cmp(&b.1.loudness))
            .map(|(&id, _)| id)?;
        self.active = Some(best);
        self.last_switch = Some(now);
        Some(best)
    }

    /// The active speaker, if any.
    pub fn active(&self) -> Option<ParticipantId> {
        self.active
    }

    /// Participants who talked recently, most recent first, without the
    /// active speaker (for layout filling: active speaker > recent speakers >
    /// join order).
    pub fn recent_speakers(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.recent
            .iter()
            .copied()
            .filter(move |&id| Some(id) != self.active)
    }

    /// Whether the VAD currently rates `id` as talking.
    pub fn is_talking(&self, id: ParticipantId) -> bool {
        self.talkers.get(&id).is_some_and(|t| t.vad.is_talking())
    }

    /// Forgets a participant that left; if it was the active speaker there is
    /// none until the next sustained talker.
    pub fn remove(&mut self, id: ParticipantId) {
        self.talkers.remove(&id);
        self.recent.retain(|&r| r != id);
        if self.active == Some(id) {
            self.active = None;
        }
    }
}

fn update(t: &mut Talker, now: Instant, level: f32, release_dbov: f32) {
    let was = t.vad.is_talking();
    let talking = t.vad.update(level);
    match (was, talking) {
        (false, true) => {
            t.talking_since = Some(now);
            t.loudness = level;
        }
        // Pauses (below the release threshold) inside the hangover keep the
        // loudness: a talker who breathes does not lose the floor to a
        // quieter one.
        (true, true) if level >= release_dbov => {
            t.loudness += LOUDNESS_ALPHA * (level - t.loudness);
        }
        (true, true) => {}
        (_, false) => {
            t.talking_since = None;
            t.loudness = SILENCE_DBOV;
        }
    }
}
