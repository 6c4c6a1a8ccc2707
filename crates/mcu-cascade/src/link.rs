//! The child side of a cascade link: dial the parent, authenticate, keep the
//! link alive, redial with backoff, fall back to the standby parent and come
//! back to the primary.
//!
//! ```text
//!            ┌──────────── backoff (250 ms, 500 ms, 1 s, 2 s, 2 s …) ◄──────┐
//!            ▼                                                             │
//!  Dial ─► connected ─► hello ─► challenge ─► auth ─► welcome ─► Up ── drop ┘
//! ```
//!
//! - The first retry comes [`LinkTiming::first_retry`] after a drop (≤ 1 s),
//!   then the wait doubles up to [`LinkTiming::max_backoff`].
//! - When the primary parent has been unreachable for
//!   [`LinkTiming::failover_after`] and a standby is configured, the next
//!   dial goes to the standby. While on the standby, the primary is probed
//!   every [`LinkTiming::probe_interval`] on a second connection; when a
//!   probe authenticates, the link moves back to the primary and the standby
//!   connection is closed.
//! - After every `welcome` the link sends the last roster and the uplink
//!   selection again, so the parent restores what the viewer saw.
//!
//! The daemon opens the transport for each [`LinkOutput::Dial`] and reports
//! back with [`ChildLink::handle_connected`] (passing a fresh random
//! [`Nonce`]) or [`ChildLink::handle_dial_failed`]; it feeds every message
//! received on that connection to [`ChildLink::handle_message`] and calls
//! [`ChildLink::handle_timeout`] when the last [`LinkOutput::Timeout`] is due.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::auth::{self, Channel, LinkSecret, Nonce, Prover};
use crate::ids::{ConferenceId, ConnId, EndpointId, McuId, RequestId};
use crate::wire::{Command, CommandError, DownMessage, RefusedCode, Roster, UpMessage};

/// Timers of a child link. The defaults meet the issue's figures: first
/// retry within 1 s, and a parent that restarts is relinked within 3 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTiming {
    /// Wait before the first redial after a drop.
    pub first_retry: Duration,
    /// Longest wait between redials.
    pub max_backoff: Duration,
    /// Longest time from dial to `welcome`.
    pub handshake_timeout: Duration,
    /// A `ping` goes out this long after the previous one.
    pub keepalive_interval: Duration,
    /// The link is dead when nothing was received for this long.
    pub keepalive_timeout: Duration,
    /// Primary unreachable this long ⇒ link to the standby.
    pub failover_after: Duration,
    /// While on the standby, probe the primary this often.
    pub probe_interval: Duration,
}

impl Default for LinkTiming {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(2),
            keepalive_timeout: Duration::from_secs(6),
            failover_after: Duration::from_secs(30),
            probe_interval: Duration::from_secs(10),
        }
    }
}

/// A parent the child may link to.
#[derive(Debug, Clone)]
pub struct ParentTarget {
    /// The parent's MCU id (the daemon maps it to a URL).
    pub id: McuId,
    /// The secret this link shares with that parent.
    pub secret: LinkSecret,
}

/// Which of the configured parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentRole {
    /// The configured parent.
    Primary,
    /// The standby parent (R18).
    Standby,
}

/// Configuration of one child link.
#[derive(Debug, Clone)]
pub struct ChildLinkConfig {
    /// This MCU's id, which is the link id.
    pub link: McuId,
    /// The booking whose conferences the trunk joins.
    pub conference: ConferenceId,
    /// The parent.
    pub primary: ParentTarget,
    /// The standby parent, if any.
    pub standby: Option<ParentTarget>,
    /// Timers.
    pub timing: LinkTiming,
}

/// Why a link went down or an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The transport could not be opened.
    DialFailed,
    /// The transport closed.
    Closed,
    /// Nothing received for [`LinkTiming::keepalive_timeout`].
    KeepaliveTimeout,
    /// No `welcome` within [`LinkTiming::handshake_timeout`].
    HandshakeTimeout,
    /// The parent refused the link (wrong secret, unknown link id …).
    Refused(RefusedCode),
    /// The parent's `welcome` proof is wrong: it does not hold the secret.
    BadParentProof,
    /// A message out of order or unreadable.
    ProtocolViolation(String),
    /// The primary is back; the standby link was closed on purpose.
    SwitchedToPrimary,
}

/// What the daemon must do next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LinkOutput {
    /// Open a transport to `parent` and report it as `conn`.
    Dial {
        /// The connection's id in later inputs and outputs.
        conn: ConnId,
        /// The parent to dial.
        parent: McuId,
    },
    /// Send a message on a connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The message ([`UpMessage::to_json`] gives its text).
        msg: UpMessage,
    },
    /// Close a connection (no more inputs are expected for it).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// The link is up (authenticated both ways).
    Up {
        /// The parent.
        parent: McuId,
        /// Primary or standby.
        role: ParentRole,
    },
    /// The link that was up is down; a redial is scheduled.
    Down {
        /// The parent it was linked to.
        parent: McuId,
        /// Why.
        reason: DownReason,
    },
    /// A dial or handshake failed before the link came up (for the log).
    AttemptFailed {
        /// The parent dialled.
        parent: McuId,
        /// Why.
        reason: DownReason,
    },
    /// The parent asks for a command on an endpoint of this subtree; answer
    /// it with [`ChildLink::reply`].
    Command {
        /// Echo it in the reply.
        request_id: RequestId,
        /// What to do.
        command: Command,
    },
    /// The parent's answer to the trunk's [`ChildLink::offer`] (`Err`: why
    /// it could not take it).
    Answer {
        /// The SDP answer.
        answer: Result<String, String>,
    },
    /// Nothing more to do now; call [`ChildLink::handle_timeout`] at this
    /// instant (or earlier, on another input).
    Timeout(Instant),
}

/// The link is not up: the message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cascade link is not up")]
pub struct NotUp;

#[derive(Debug, Clone)]
enum Phase {
    Dialing,
    AwaitChallenge {
        child_nonce: Nonce,
    },
    AwaitWelcome {
        child_nonce: Nonce,
        parent_nonce: Nonce,
    },
}

#[derive(Debug, Clone)]
struct Attempt {
    conn: ConnId,
    role: ParentRole,
    deadline: Instant,
    phase: Phase,
}

#[derive(Debug, Clone)]
struct Active {
    conn: ConnId,
    role: ParentRole,
    last_rx: Instant,
    next_ping: Instant,
    ping_seq: u64,
}

#[derive(Debug, Clone)]
enum Main {
    Backoff { until: Instant },
    Connecting(Attempt),
    Up(Active),
}

/// The child side of one cascade link. See the module page.
#[derive(Debug)]
pub struct ChildLink {
    cfg: ChildLinkConfig,
    main: Main,
    probe: Option<Attempt>,
    next_probe: Option<Instant>,
    /// When the primary became unreachable (`None` while linked to it).
    primary_lost_since: Option<Instant>,
    backoff: Duration,
    next_conn: u64,
    roster: Option<Roster>,
    uplink: Option<EndpointId>,
    out: VecDeque<LinkOutput>,
}

/// What became of a handshake after one message.
enum Step {
    Continue,
    Welcomed,
}

impl ChildLink {
    /// A link that dials its primary parent at once.
    pub fn new(cfg: ChildLinkConfig, now: Instant) -> Self {
        let backoff = cfg.timing.first_retry;
        let mut link = Self {
            cfg,
            main: Main::Backoff { until: now },
            probe: None,
            next_probe: None,
            primary_lost_since: Some(now),
            backoff,
            next_conn: 1,
            roster: None,
            uplink: None,
            out: VecDeque::new(),
        };
        link.start_main(now);
        link
    }

    /// The parent the link is up to, if it is.
    pub fn up(&self) -> Option<(&McuId, ParentRole)> {
        match &self.main {
            Main::Up(a) => Some((&self.target(a.role).id, a.role)),
            _ => None,
        }
    }

    /// The uplink selection the link announces after every `welcome`.
    pub fn uplink(&self) -> Option<&EndpointId> {
        self.uplink.as_ref()
    }

    /// The next output; [`LinkOutput::Timeout`] when nothing else is due.
    pub fn poll_output(&mut self) -> LinkOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| LinkOutput::Timeout(self.next_deadline()))
    }

    /// The transport of a [`LinkOutput::Dial`] is open; `nonce` is a fresh
    /// random challenge for the parent.
    pub fn handle_connected(&mut self, _now: Instant, conn: ConnId, nonce: Nonce) {
        let hello = UpMessage::Hello {
            link: self.cfg.link.clone(),
            conference: self.cfg.conference.clone(),
            nonce,
        };
        let dialing = self
            .attempts_mut()
            .find(|a| a.conn == conn && matches!(a.phase, Phase::Dialing));
        if let Some(attempt) = dialing {
            attempt.phase = Phase::AwaitChallenge { child_nonce: nonce };
            self.out.push_back(LinkOutput::Send { conn, msg: hello });
        }
    }

    /// The transport of a [`LinkOutput::Dial`] could not be opened.
    pub fn handle_dial_failed(&mut self, now: Instant, conn: ConnId) {
        self.fail_conn(now, conn, DownReason::DialFailed, false);
    }

    /// A connection closed (from the other side or the network).
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        self.fail_conn(now, conn, DownReason::Closed, false);
    }

    /// A text message arrived on a connection. An unreadable one closes it.
    pub fn handle_text(&mut self, now: Instant, conn: ConnId, text: &str) {
        match crate::wire::parse_down(text) {
            Ok(msg) => self.handle_message(now, conn, msg),
            Err(e) => self.fail_conn(
                now,
                conn,
                DownReason::ProtocolViolation(e.to_string()),
                true,
            ),
        }
    }

    /// A message arrived on a connection.
    pub fn handle_message(&mut self, now: Instant, conn: ConnId, msg: DownMessage) {
        if let Main::Up(active) = &mut self.main
            && active.conn == conn
        {
            active.last_rx = now;
            match msg {
                DownMessage::Ping { seq } => self.out.push_back(LinkOutput::Send {
                    conn,
                    msg: UpMessage::Pong { seq },
                }),
                DownMessage::Pong { .. } => {}
                DownMessage::Command {
                    request_id,
                    command,
                } => self.out.push_back(LinkOutput::Command {
                    request_id,
                    command,
                }),
                DownMessage::Answer { sdp, error } => self.out.push_back(LinkOutput::Answer {
                    answer: sdp.ok_or_else(|| error.unwrap_or_else(|| "no reason given".into())),
                }),
                other => {
                    let why = format!("{} after welcome", kind(&other));
                    self.fail_conn(now, conn, DownReason::ProtocolViolation(why), true);
                }
            }
            return;
        }
        let is_main = matches!(&self.main, Main::Connecting(a) if a.conn == conn);
        let is_probe = self.probe.as_ref().is_some_and(|a| a.conn == conn);
        if !is_main && !is_probe {
            return; // a stale connection: already closed on our side
        }
        match self.step_handshake(conn, msg) {
            Ok(Step::Continue) => {}
            Ok(Step::Welcomed) => {
                if is_probe {
                    self.probe_welcomed(now);
                } else {
                    self.main_welcomed(now);
                }
            }
            Err(reason) => self.fail_conn(now, conn, reason, true),
        }
    }

    /// Timers: handshake deadlines, keepalive, backoff, probes, failover.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Main::Connecting(a) = &self.main
            && now >= a.deadline
        {
            let conn = a.conn;
            self.fail_conn(now, conn, DownReason::HandshakeTimeout, true);
        }
        if let Some(a) = &self.probe
            && now >= a.deadline
        {
            let conn = a.conn;
            self.fail_conn(now, conn, DownReason::HandshakeTimeout, true);
        }
        if let Main::Up(active) = &mut self.main {
            if now >= active.last_rx + self.cfg.timing.keepalive_timeout {
                let conn = active.conn;
                self.fail_conn(now, conn, DownReason::KeepaliveTimeout, true);
            } else if now >= active.next_ping {
                active.ping_seq += 1;
                active.next_ping = now + self.cfg.timing.keepalive_interval;
                let msg = UpMessage::Ping {
                    seq: active.ping_seq,
                };
                let conn = active.conn;
                self.out.push_back(LinkOutput::Send { conn, msg });
            }
        }
        if let Main::Backoff { until } = self.main
            && now >= until
        {
            self.start_main(now);
        }
        if self.probing_wanted()
            && self.probe.is_none()
            && self.next_probe.is_some_and(|t| now >= t)
        {
            self.next_probe = Some(now + self.cfg.timing.probe_interval);
            let conn = self.alloc_conn();
            self.probe = Some(Attempt {
                conn,
                role: ParentRole::Primary,
                deadline: now + self.cfg.timing.handshake_timeout,
                phase: Phase::Dialing,
            });
            let parent = self.cfg.primary.id.clone();
            self.out.push_back(LinkOutput::Dial { conn, parent });
        }
    }

    /// The subtree to publish; sent now if the link is up, and after every
    /// `welcome`.
    pub fn set_roster(&mut self, _now: Instant, roster: Roster) {
        if let Some(conn) = self.up_conn() {
            self.out.push_back(LinkOutput::Send {
                conn,
                msg: UpMessage::Roster(roster.clone()),
            });
        }
        self.roster = Some(roster);
    }

    /// The endpoint the uplink carries; announced now if the link is up, and
    /// after every `welcome`.
    pub fn set_uplink(&mut self, _now: Instant, endpoint: Option<EndpointId>) {
        if self.uplink == endpoint {
            return;
        }
        self.uplink = endpoint.clone();
        if let Some(conn) = self.up_conn() {
            self.out.push_back(LinkOutput::Send {
                conn,
                msg: UpMessage::Uplink { endpoint },
            });
        }
    }

    /// Offers the trunk's media (a fresh WebRTC session after every `Up`);
    /// the parent's answer comes back as [`LinkOutput::Answer`].
    pub fn offer(&mut self, _now: Instant, sdp: String) -> Result<(), NotUp> {
        let conn = self.up_conn().ok_or(NotUp)?;
        self.out.push_back(LinkOutput::Send {
            conn,
            msg: UpMessage::Offer { sdp },
        });
        Ok(())
    }

    /// Sends a floor request (or its withdrawal) up.
    pub fn floor_request(
        &mut self,
        _now: Instant,
        endpoint: EndpointId,
        raised: bool,
    ) -> Result<(), NotUp> {
        let conn = self.up_conn().ok_or(NotUp)?;
        self.out.push_back(LinkOutput::Send {
            conn,
            msg: UpMessage::FloorRequest { endpoint, raised },
        });
        Ok(())
    }

    /// Answers a [`LinkOutput::Command`].
    pub fn reply(
        &mut self,
        _now: Instant,
        request_id: RequestId,
        error: Option<CommandError>,
    ) -> Result<(), NotUp> {
        let conn = self.up_conn().ok_or(NotUp)?;
        self.out.push_back(LinkOutput::Send {
            conn,
            msg: UpMessage::Reply { request_id, error },
        });
        Ok(())
    }

    fn target(&self, role: ParentRole) -> &ParentTarget {
        match (role, &self.cfg.standby) {
            (ParentRole::Standby, Some(standby)) => standby,
            _ => &self.cfg.primary,
        }
    }

    fn up_conn(&self) -> Option<ConnId> {
        match &self.main {
            Main::Up(a) => Some(a.conn),
            _ => None,
        }
    }

    fn attempts_mut(&mut self) -> impl Iterator<Item = &mut Attempt> {
        let main = match &mut self.main {
            Main::Connecting(a) => Some(a),
            _ => None,
        };
        main.into_iter().chain(self.probe.as_mut())
    }

    fn alloc_conn(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        conn
    }

    /// Primary, unless the primary has been lost long enough and a standby
    /// exists.
    fn main_role(&self, now: Instant) -> ParentRole {
        match (self.primary_lost_since, &self.cfg.standby) {
            (Some(since), Some(_)) if now >= since + self.cfg.timing.failover_after => {
                ParentRole::Standby
            }
            _ => ParentRole::Primary,
        }
    }

    /// The main link is on (or heading for) the standby: probe the primary.
    fn probing_wanted(&self) -> bool {
        match &self.main {
            Main::Up(a) => a.role == ParentRole::Standby,
            Main::Connecting(a) => a.role == ParentRole::Standby,
            Main::Backoff { .. } => self.next_probe.is_some(),
        }
    }

    fn start_main(&mut self, now: Instant) {
        let role = self.main_role(now);
        if role == ParentRole::Standby && self.next_probe.is_none() {
            self.next_probe = Some(now + self.cfg.timing.probe_interval);
        }
        let conn = self.alloc_conn();
        self.main = Main::Connecting(Attempt {
            conn,
            role,
            deadline: now + self.cfg.timing.handshake_timeout,
            phase: Phase::Dialing,
        });
        let parent = self.target(role).id.clone();
        self.out.push_back(LinkOutput::Dial { conn, parent });
    }

    fn step_handshake(&mut self, conn: ConnId, msg: DownMessage) -> Result<Step, DownReason> {
        let link = self.cfg.link.clone();
        let conference = self.cfg.conference.clone();
        let attempt = self
            .attempts_mut()
            .find(|a| a.conn == conn)
            .ok_or(DownReason::Closed)?; // invariant: caller checked the conn
        let role = attempt.role;
        match (&attempt.phase, msg) {
            (_, DownMessage::Refused { code }) => Err(DownReason::Refused(code)),
            (Phase::AwaitChallenge { child_nonce }, DownMessage::Challenge { nonce }) => {
                let child_nonce = *child_nonce;
                attempt.phase = Phase::AwaitWelcome {
                    child_nonce,
                    parent_nonce: nonce,
                };
                let secret = self.target(role).secret.clone();
                let proof = auth::prove(
                    &secret,
                    Prover::Child,
                    &link,
                    Channel::Conference(&conference),
                    &nonce,
                    &child_nonce,
                );
                self.out.push_back(LinkOutput::Send {
                    conn,
                    msg: UpMessage::Auth { proof },
                });
                Ok(Step::Continue)
            }
            (
                Phase::AwaitWelcome {
                    child_nonce,
                    parent_nonce,
                },
                DownMessage::Welcome { proof },
            ) => {
                let (child_nonce, parent_nonce) = (*child_nonce, *parent_nonce);
                let secret = &self.target(role).secret;
                if auth::verify(
                    secret,
                    Prover::Parent,
                    &link,
                    Channel::Conference(&conference),
                    &parent_nonce,
                    &child_nonce,
                    &proof,
                ) {
                    Ok(Step::Welcomed)
                } else {
                    Err(DownReason::BadParentProof)
                }
            }
            (_, other) => Err(DownReason::ProtocolViolation(format!(
                "{} during the handshake",
                kind(&other)
            ))),
        }
    }

    fn main_welcomed(&mut self, now: Instant) {
        let Main::Connecting(attempt) = &self.main else {
            return;
        };
        let (conn, role) = (attempt.conn, attempt.role);
        self.go_up(now, conn, role);
    }

    fn probe_welcomed(&mut self, now: Instant) {
        let Some(probe) = self.probe.take() else {
            return;
        };
        match &self.main {
            Main::Up(active) => {
                let conn = active.conn;
                let parent = self.target(active.role).id.clone();
                self.out.push_back(LinkOutput::Close { conn });
                self.out.push_back(LinkOutput::Down {
                    parent,
                    reason: DownReason::SwitchedToPrimary,
                });
            }
            Main::Connecting(attempt) => {
                let conn = attempt.conn;
                self.out.push_back(LinkOutput::Close { conn });
            }
            Main::Backoff { .. } => {}
        }
        self.go_up(now, probe.conn, ParentRole::Primary);
    }

    fn go_up(&mut self, now: Instant, conn: ConnId, role: ParentRole) {
        self.main = Main::Up(Active {
            conn,
            role,
            last_rx: now,
            next_ping: now + self.cfg.timing.keepalive_interval,
            ping_seq: 0,
        });
        self.backoff = self.cfg.timing.first_retry;
        if role == ParentRole::Primary {
            self.primary_lost_since = None;
            self.next_probe = None;
            if let Some(probe) = self.probe.take() {
                self.out.push_back(LinkOutput::Close { conn: probe.conn });
            }
        }
        let parent = self.target(role).id.clone();
        self.out.push_back(LinkOutput::Up { parent, role });
        if let Some(roster) = &self.roster {
            self.out.push_back(LinkOutput::Send {
                conn,
                msg: UpMessage::Roster(roster.clone()),
            });
        }
        self.out.push_back(LinkOutput::Send {
            conn,
            msg: UpMessage::Uplink {
                endpoint: self.uplink.clone(),
            },
        });
    }

    /// `conn` failed; `close` says whether we must close it ourselves.
    fn fail_conn(&mut self, now: Instant, conn: ConnId, reason: DownReason, close: bool) {
        if self.probe.as_ref().is_some_and(|a| a.conn == conn) {
            self.probe = None;
            if close {
                self.out.push_back(LinkOutput::Close { conn });
            }
            let parent = self.cfg.primary.id.clone();
            self.out
                .push_back(LinkOutput::AttemptFailed { parent, reason });
            return;
        }
        let (role, was_up) = match &self.main {
            Main::Connecting(a) if a.conn == conn => (a.role, false),
            Main::Up(a) if a.conn == conn => (a.role, true),
            _ => return, // stale
        };
        if close {
            self.out.push_back(LinkOutput::Close { conn });
        }
        let parent = self.target(role).id.clone();
        if was_up {
            self.out.push_back(LinkOutput::Down { parent, reason });
            if role == ParentRole::Primary {
                self.primary_lost_since = Some(now);
            }
        } else {
            self.out
                .push_back(LinkOutput::AttemptFailed { parent, reason });
        }
        self.main = Main::Backoff {
            until: now + self.backoff,
        };
        self.backoff = (self.backoff * 2).min(self.cfg.timing.max_backoff);
    }

    fn next_deadline(&self) -> Instant {
        let mut next = match &self.main {
            Main::Backoff { until } => *until,
            Main::Connecting(a) => a.deadline,
            Main::Up(a) => a
                .next_ping
                .min(a.last_rx + self.cfg.timing.keepalive_timeout),
        };
        if let Some(a) = &self.probe {
            next = next.min(a.deadline);
        } else if self.probing_wanted()
            && let Some(t) = self.next_probe
        {
            next = next.min(t);
        }
        next
    }
}

pub(crate) fn kind(msg: &DownMessage) -> &'static str {
    match msg {
        DownMessage::Challenge { .. } => "challenge",
        DownMessage::Welcome { .. } => "welcome",
        DownMessage::Refused { .. } => "refused",
        DownMessage::Bookings { .. } => "bookings",
        DownMessage::Command { .. } => "command",
        DownMessage::Answer { .. } => "answer",
        DownMessage::Ping { .. } => "ping",
        DownMessage::Pong { .. } => "pong",
    }
}
