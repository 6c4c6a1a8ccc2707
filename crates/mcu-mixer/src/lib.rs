//! # mcu-mixer — the media core
//!
//! (crate page written at the end of the media-core issue)
#![warn(missing_docs)]

pub mod audio;
pub mod codec;
pub mod compositor;
pub mod frame;
pub mod label;
pub mod layout;
pub mod scale;

/// A participant of one conference, as the mixer knows it (stable while it is joined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);
