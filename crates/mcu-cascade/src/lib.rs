//! # mcu-cascade — MCU↔MCU links of the four-level tree
//!
//! Owns the logic of cascading MCUs (central › province › district ›
//! commune), without any I/O. This first part holds the [`topology`]: the
//! configured tree, validated at start (no loops, one root, no second
//! parent, sound standby parents), paths by name, and warnings for cascades
//! deeper than three links. The [`wire`] module holds the versioned link
//! protocol (JSON), specified in `docs/cascade.md`; [`auth`] the per-link
//! secret and the HMAC proofs of the handshake.
#![warn(missing_docs)]

pub mod auth;
pub mod ids;
pub mod topology;
pub mod wire;
