//! # mcud — the MCU daemon
//!
//! Wires the sans-IO crates to the world: configuration ([`config`]), the
//! TLS identity ([`tls`]), the HTTPS + WebSocket listener with the signalling
//! sessions ([`server`]), the conference registry ([`room`]), the quality and
//! logbook recorder ([`recorder`]), the delivery of booking notifications
//! ([`notify`], [`smtp`]), and the offline
//! media demo ([`demo`]). The binary `mcud` has two subcommands: `serve` and
//! `demo`.
#![warn(missing_docs)]

pub mod admin;
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
