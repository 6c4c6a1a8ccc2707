//! # mcu-cascade — MCU↔MCU links of the four-level tree
//!
//! Owns the logic of cascading MCUs (central › province › district ›
//! commune), without any I/O. This first part holds the [`topology`]: the
//! configured tree, validated at start (no loops, one root, no second
//! parent, sound standby parents), paths by name, and warnings for cascades
//! deeper than three links.
#![warn(missing_docs)]

pub mod ids;
pub mod topology;
