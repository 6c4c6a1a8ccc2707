//! # mcu-endpoint — a synthetic endpoint and load generator
//!
//! Joins a conference the way a browser does — WebSocket signalling over
//! TLS (protocol v1, `docs/signalling.md`), then a WebRTC offer
//! ([`mcu_signalling::webrtc::ClientSession`]: DTLS-SRTP, bundle, rtcp-mux,
//! H.264 packetization-mode 1 constrained baseline + Opus) — and sends a
//! generated picture (one colour, a burned-in stamp with the send time and a
//! frame counter: [`picture`]) and a sine tone. It decodes the composite and
//! the N−1 audio it gets back and reports, as JSON ([`report`]): frames,
//! fps, resolution, the colour and sender of every tile, the tones present
//! (Goertzel, [`tone`]), capture-to-display latency percentiles from the
//! stamps, join-to-first-frame, losses.
//!
//! Run loop: one thread per endpoint ([`Endpoint::spawn`]) polls its
//! WebSocket and UDP socket, drives the sans-IO session's timers, paces its
//! 30 fps picture and 20 ms audio, and sleeps until the next deadline (at
//! most 2 ms). This crate is an I/O edge: it reads the clock; the pure parts
//! ([`picture`], [`tone`]) do not.
//!
//! ```no_run
//! use mcu_endpoint::{Endpoint, EndpointConfig, StopMode, signalling::tls_config};
//! let pem = std::fs::read("data/tls/cert.pem")?;
//! let tls = tls_config(Some(&pem))?;
//! let config = EndpointConfig::new("wss://localhost:8443/ws", tls, "giao-ban-tuan",
//!                                  "ubnd-tinh", "a-long-random-join-token");
//! let mut endpoint = Endpoint::spawn(config)?;
//! std::thread::sleep(std::time::Duration::from_secs(5));
//! let report = endpoint.stop(StopMode::Leave);
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod bottleneck;
pub mod cli;
pub mod endpoint;
pub mod picture;
pub mod report;
pub mod signalling;
pub mod tone;

pub use endpoint::{Endpoint, EndpointConfig, LiveState, StopMode, Talk, tone_for};
pub use report::{EndpointReport, Percentiles, RunSummary};
