//! # mcu-mixer — the media core of the MCU
//!
//! Owns everything between decoded-or-encoded media in and encoded media out
//! for one conference: [`frame`]s and pools, [`layout`]s and slot filling,
//! the SIMD [`scale`]r and the [`compositor`] (with name [`label`]s and the
//! speaker highlight), the N-1 [`audio`] mixer with levels, voice activity and
//! active-speaker selection, the [`codec`]s (OpenH264, libopus), and the
//! [`mixer::ConferenceMixer`] that ties them together with output groups.
//! [`synth`] has synthetic sources for demos and tests.
//!
//! ## Run loop
//!
//! The crate is sans-IO: it opens no socket, starts no thread, and never reads
//! the clock. The daemon runs one conference per thread like this:
//!
//! 1. For every input, call the matching `handle_*` with the current `now`:
//!    [`ConferenceMixer::handle_video`](mixer::ConferenceMixer::handle_video)
//!    (an H.264 access unit; decoded only if the sender is shown in some tile),
//!    [`handle_audio`](mixer::ConferenceMixer::handle_audio) (an Opus packet),
//!    and the operator commands (`pin`, `set_group_layout`, `set_chair`, mutes,
//!    keyframe requests).
//! 2. When [`poll_timeout`](mixer::ConferenceMixer::poll_timeout) is due, call
//!    [`handle_timeout`](mixer::ConferenceMixer::handle_timeout): it runs the
//!    audio tick (every 20 ms: mix, levels, active speaker, Opus encodes) and
//!    the video tick (30 fps: fill slots, composite, one H.264 encode per
//!    output group).
//! 3. After every call, drain [`poll_output`](mixer::ConferenceMixer::poll_output)
//!    until `None` and act on each [`MixerOutput`](mixer::MixerOutput).
//!
//! ## Time and errors
//!
//! `now: Instant` is always an input (tests drive virtual time). Bad input is
//! an error value, never a panic: each operation has its own small error enum.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use mcu_mixer::ParticipantId;
//! use mcu_mixer::frame::{I420Frame, Yuv};
//! use mcu_mixer::layout::LayoutLibrary;
//! use mcu_mixer::mixer::{ConferenceMixer, ConferenceMixerConfig, MixerOutput, ViewSpec};
//!
//! let t0 = Instant::now(); // the daemon's clock; tests use virtual time
//! let mut mixer =
//!     ConferenceMixer::new(t0, ConferenceMixerConfig::default(), LayoutLibrary::with_templates())?;
//! let view = ViewSpec::new("2x2", 640, 360);
//! let room = ParticipantId(1);
//! mixer.add_participant(room, "UBND huyện Sơn Dương", view)?;
//! mixer.handle_video_frame(room, I420Frame::solid(320, 180, Yuv::from_rgb(0, 160, 60))?)?;
//!
//! let mut now = t0;
//! let mut pictures = 0;
//! while now < t0 + Duration::from_millis(100) {
//!     mixer.handle_timeout(now);
//!     while let Some(out) = mixer.poll_output() {
//!         if let MixerOutput::Video { data, .. } = out {
//!             assert!(!data.is_empty()); // one H.264 access unit for the group
//!             pictures += 1;
//!         }
//!     }
//!     now = mixer.poll_timeout();
//! }
//! assert_eq!(pictures, 3); // 30 fps
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod audio;
pub mod codec;
pub mod compositor;
pub mod frame;
pub mod label;
pub mod latency;
pub mod layout;
pub mod mixer;
pub mod scale;
pub mod synth;

/// A participant of one conference, as the mixer knows it (stable while it is joined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);
