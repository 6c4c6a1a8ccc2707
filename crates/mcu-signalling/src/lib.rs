//! # mcu-signalling — how endpoints talk to the MCU
//!
//! Owns the WebSocket signalling protocol ([`protocol`]) and the RTP media
//! plumbing that sits between WebRTC and the media core ([`rtp`]): H.264 and
//! Opus packetizing/depacketizing, the jitter buffer and loss detection.
//! Sans-IO like the media core: no sockets, no clock reads; `now` is an input.
#![warn(missing_docs)]

pub mod protocol;
pub mod rtp;
pub mod webrtc;
