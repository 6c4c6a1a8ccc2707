//! # mcud — the MCU daemon
//!
//! Wires the sans-IO crates to the world: configuration ([`config`]), the
//! TLS identity ([`tls`]), the HTTPS + WebSocket listener with the signalling
//! sessions ([`server`]), the conference registry ([`room`]), the quality and
//! logbook recorder ([`recorder`]), the delivery of booking notifications
//! ([`notify`], [`smtp`]), the cascade links ([`cascade`], configured by
//! [`cascade_config`]), and the demos: offline media ([`demo`]) and four
//! cascaded MCUs ([`cascade_demo`]). The binary `mcud` has the subcommands
//! `serve`, `demo`, `cascade-demo` and `admin`.
#![warn(missing_docs)]

pub mod admin;
pub mod bandwidth;
pub mod cascade;
pub mod cascade_bookings;
pub mod cascade_config;
pub mod cascade_demo;
pub mod config;
pub mod demo;
pub mod live;
pub mod media;
pub mod metrics;
pub mod mp4;
pub mod notify;
pub mod preview;
pub mod quality;
pub mod recorder;
pub mod recording;
pub mod room;
pub mod server;
pub mod smtp;
pub mod tls;
