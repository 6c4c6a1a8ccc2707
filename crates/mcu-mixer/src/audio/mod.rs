//! Conference audio: the N-1 mixer, per-participant levels, voice activity and
//! the active-speaker selector.
//!
//! Everything here is sans-IO. Audio is 48 kHz mono i16 PCM in 20 ms frames
//! ([`FRAME_SAMPLES`] samples). Once per tick the caller hands each
//! participant's decoded frame to the [`AudioMixer`] and mixes, either in one
//! call that reads the frames where they are ([`AudioMixer::mix_frames`], what
//! the conference mixer does) or by pushing copies ([`AudioMixer::push`]) and
//! calling [`AudioMixer::mix`]. Both hand each participant that contributed
//! its own N-1 output through a sink closure, one at a time in one reused
//! buffer (encode it there); everyone else hears [`AudioMixer::full_mix`]
//! ([`AudioMixer::is_mixed`] is false for them), so one encode of it serves
//! them all. The levels it measured feed the [`ActiveSpeakerSelector`],
//! which is driven by a caller-supplied `now`.
//!
//! ```
//! use mcu_mixer::audio::{AudioMixer, FRAME_SAMPLES};
//! use mcu_mixer::ParticipantId;
//!
//! let (a, b) = (ParticipantId(1), ParticipantId(2));
//! let mut mixer = AudioMixer::new();
//! mixer.add(a).unwrap();
//! mixer.add(b).unwrap();
//! mixer.push(a, &[1000; FRAME_SAMPLES]).unwrap(); // b sent nothing this tick
//! let mut own = Vec::new();
//! mixer.mix(|id, samples| own.push((id, samples.iter().all(|&v| v == 0))));
//! assert_eq!(own, [(a, true)]); // a hears b: silence
//! assert!(!mixer.is_mixed(b).unwrap()); // b hears the full mix
//! assert_eq!(mixer.full_mix()[0], 1000);
//! ```

use std::time::Duration;

mod kernels;
mod level;
mod mix;
mod speaker;

pub use level::{Vad, VadConfig, dbov_from_energy};
pub use mix::{AudioMixer, MixerConfig};
pub use speaker::{ActiveSpeakerSelector, SpeakerConfig};

/// Sample rate of all mixer audio, in Hz.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms mono frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;
/// Duration of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// The level reported for silence, in dBov (RFC 6464's floor).
pub const SILENCE_DBOV: f32 = -127.0;
/// Samples whose mixed magnitude is at most this pass the soft clipper
/// unchanged (about -2.5 dBFS); above it a smooth quadratic knee bends the
/// signal towards ±32767, reached with zero slope at 40 960 and held beyond.
pub const SOFT_CLIP_KNEE: i16 = kernels::KNEE as i16;
/// Most participants one mixer accepts (keeps the i32 accumulator far from
/// overflow: 4096 × 2¹⁵ = 2²⁷).
pub const MAX_PARTICIPANTS: usize = 4096;

/// The mixer's soft clipper applied to one mixed sample (exposed so callers
/// and tests can inspect the curve): identity for `|x| <=` [`SOFT_CLIP_KNEE`],
/// monotonic, odd-symmetric and bounded to ±32767.
pub fn soft_clip(x: i32) -> i16 {
    kernels::soft_clip(x)
}

/// What went wrong with an audio mixer call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The participant is not in this mixer.
    #[error("participant {0:?} is not in the audio mixer")]
    UnknownParticipant(crate::ParticipantId),
    /// The participant was already added.
    #[error("participant {0:?} is already in the audio mixer")]
    DuplicateParticipant(crate::ParticipantId),
    /// [`MAX_PARTICIPANTS`] reached.
    #[error("the audio mixer is full ({MAX_PARTICIPANTS} participants)")]
    TooManyParticipants,
    /// A pushed frame did not hold exactly [`FRAME_SAMPLES`] samples.
    #[error("audio frame has {got} samples, expected {FRAME_SAMPLES}")]
    WrongFrameLength {
        /// Length of the rejected frame.
        got: usize,
    },
    /// A gain was negative, NaN or above [`MixerConfig::MAX_GAIN`].
    #[error("gain {0} is outside 0.0..=8.0")]
    InvalidGain(f32),
}
