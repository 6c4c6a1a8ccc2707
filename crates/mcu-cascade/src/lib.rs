//! # mcu-cascade — MCU↔MCU links of the four-level tree
//!
//! Owns the logic of cascading MCUs (central › province › district ›
//! commune), without any I/O:
//!
//! - [`topology`]: the configured tree, validated at start (no loops, one
//!   root, no second parent, sound standby parents), paths by name, and
//!   warnings for cascades deeper than three links.
//! - [`wire`]: the versioned link protocol (JSON), specified in
//!   `docs/cascade.md`; [`auth`]: the per-link secret and the HMAC proofs of
//!   the handshake.
//! - [`link::ChildLink`]: the child side of one link — dial, authenticate,
//!   keepalive, redial with backoff, standby parent and return to the
//!   primary, re-announce roster and uplink selection after every re-link.
//! - [`parent::ParentLinks`]: the parent side — accept only configured
//!   children, carry commands down and rosters, floor requests and replies
//!   up.
//! - [`roster::RosterTree`]: own endpoints merged with children's subtrees,
//!   command routing to the MCU that owns an endpoint, uplink selection.
//! - [`trunk`]: what each trunk carries (N-1 audio over links and endpoints,
//!   chair view down, selection up), as pure functions.
//!
//! ## Run loop
//!
//! The daemon owns sockets, timers, randomness and the clock. For a slave it
//! runs one [`ChildLink`](link::ChildLink) per conference trunk; every MCU
//! with children runs one [`ParentLinks`](parent::ParentLinks).
//!
//! 1. Call the matching `handle_*` with `now` for every input: a transport
//!    opened, failed or closed, a text message, a timer.
//! 2. Drain `poll_output()` until it returns `Timeout(..)`, acting on each
//!    output (dial, send, close, link up/down, command, roster …).
//! 3. Sleep until that timeout or the next input.
//!
//! Commands and rosters go through the [`RosterTree`](roster::RosterTree):
//! a `Command` output of the child link is routed with
//! [`RosterTree::route`](roster::RosterTree::route) (applied locally or
//! forwarded with [`ParentLinks::send_command`](parent::ParentLinks::send_command)),
//! and every roster change is republished with
//! [`ChildLink::set_roster`](link::ChildLink::set_roster).
//!
//! ## Time, randomness and errors
//!
//! `now: Instant` is always an input (tests run in virtual time); nonces
//! are inputs too, drawn by the daemon from a secure random source. Bad
//! input from the network is an error value or a refused link, never a
//! panic; each operation has its own small error enum.
//!
//! ## Example: a province links up to the master
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Instant;
//! use mcu_cascade::auth::{LinkSecret, Nonce};
//! use mcu_cascade::ids::{ConferenceId, ConnId, McuId};
//! use mcu_cascade::link::{ChildLink, ChildLinkConfig, LinkOutput, ParentTarget};
//! use mcu_cascade::parent::{ParentLinks, ParentLinksConfig, ParentOutput};
//!
//! let central = McuId::new("central")?;
//! let province = McuId::new("tuyen-quang")?;
//! let secret = LinkSecret::new(*b"a shared secret of the link")?;
//! let now = Instant::now();
//!
//! let mut child = ChildLink::new(
//!     ChildLinkConfig {
//!         link: province.clone(),
//!         conference: ConferenceId::new("giao-ban-2025-06")?,
//!         primary: ParentTarget { id: central.clone(), secret: secret.clone() },
//!         standby: None,
//!         timing: Default::default(),
//!     },
//!     now,
//! );
//! let mut parent = ParentLinks::new(ParentLinksConfig {
//!     me: central.clone(),
//!     children: BTreeMap::from([(province.clone(), secret)]),
//!     timing: Default::default(),
//! });
//!
//! // The daemon would dial; here both ends sit in one process.
//! let LinkOutput::Dial { conn: child_conn, .. } = child.poll_output() else { panic!() };
//! let parent_conn = ConnId(100);
//! parent.handle_accepted(now, parent_conn, Nonce([1; 32]));
//! child.handle_connected(now, child_conn, Nonce([2; 32]));
//! let mut up = false;
//! for _ in 0..4 {
//!     while let LinkOutput::Send { msg, .. } = child.poll_output() {
//!         parent.handle_text(now, parent_conn, &msg.to_json());
//!     }
//!     loop {
//!         match parent.poll_output() {
//!             ParentOutput::Send { msg, .. } => child.handle_text(now, child_conn, &msg.to_json()),
//!             ParentOutput::ChildUp { child, .. } => up = child == province,
//!             ParentOutput::Timeout(_) => break,
//!             _ => {}
//!         }
//!     }
//! }
//! assert!(up);
//! assert_eq!(child.up().map(|(p, _)| p), Some(&central));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod auth;
pub mod ids;
pub mod link;
pub mod parent;
pub mod roster;
pub mod topology;
pub mod trunk;
pub mod wire;
