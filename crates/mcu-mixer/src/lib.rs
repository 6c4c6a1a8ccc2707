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
