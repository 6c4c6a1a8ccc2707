//! The parent side of cascade links: accept only configured children,
//! authenticate them, keep each link alive, carry commands down and
//! rosters, floor requests and replies up.
//!
//! The daemon accepts a transport and calls [`ParentLinks::handle_accepted`]
//! with its own [`ConnId`] and a fresh random [`Nonce`]; it feeds every
//! message to [`ParentLinks::handle_text`] (or `handle_message`), reports
//! closes, and calls [`ParentLinks::handle_timeout`] when the last
//! [`ParentOutput::Timeout`] is due.
//!
//! A connection that does not authenticate as a configured child is refused
//! with the same `auth_failed` code whatever went wrong (unknown link id or
//! wrong proof), and reported as [`ParentOutput::Refused`] with the real
//! reason for the log. One child has at most one link: a newer
//! authenticated connection replaces the older one.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::auth::{self, Channel, LinkSecret, Nonce, Prover};
use crate::ids::{ConferenceId, ConnId, EndpointId, McuId, RequestId};
use crate::wire::{
    Command, CommandError, CommandErrorCode, DownMessage, RefusedCode, Roster, UpMessage,
};

/// Timers of the parent side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentTiming {
    /// Longest time from accept to a valid `auth`.
    pub handshake_timeout: Duration,
    /// A `ping` goes out this long after the previous one.
    pub keepalive_interval: Duration,
    /// A link is dead when nothing was received for this long.
    pub keepalive_timeout: Duration,
    /// A command without reply after this long fails with `timeout`.
    pub command_timeout: Duration,
}

impl Default for ParentTiming {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(2),
            keepalive_timeout: Duration::from_secs(6),
            command_timeout: Duration::from_secs(5),
        }
    }
}

/// Configuration of the parent side of one MCU.
#[derive(Debug, Clone)]
pub struct ParentLinksConfig {
    /// This MCU.
    pub me: McuId,
    /// Every child allowed to link here (its children and the MCUs that name
    /// it as standby, see `Topology::accepted_children`) with its secret.
    pub children: BTreeMap<McuId, LinkSecret>,
    /// Timers.
    pub timing: ParentTiming,
}

/// Why a connection was refused (for the log; the wire says `auth_failed`
/// for the first two).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefuseReason {
    /// The `hello` names a link that is not configured here.
    UnknownLink,
    /// The proof does not match the link's secret.
    BadProof,
    /// A message out of order or unreadable.
    ProtocolViolation(String),
    /// No valid `auth` within the handshake timeout.
    HandshakeTimeout,
}

/// Why a child link went down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildDownReason {
    /// The transport closed.
    Closed,
    /// Nothing received for the keepalive timeout.
    KeepaliveTimeout,
    /// A message out of order or unreadable.
    ProtocolViolation(String),
    /// The child authenticated on a new connection; the old one is closed.
    Replaced,
    /// The daemon closed it ([`ParentLinks::close_child`]).
    ClosedHere,
}

/// What the daemon must do next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParentOutput {
    /// Send a message on a connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The message ([`DownMessage::to_json`] gives its text).
        msg: DownMessage,
    },
    /// Close a connection.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// A child authenticated: its trunk joins `conference`.
    ChildUp {
        /// The child (link id).
        child: McuId,
        /// The booking it names.
        conference: ConferenceId,
        /// Its connection.
        conn: ConnId,
    },
    /// A child's link went down: show "reconnecting", log it.
    ChildDown {
        /// The child.
        child: McuId,
        /// Why.
        reason: ChildDownReason,
    },
    /// The child's trunk offers its media; answer with [`ParentLinks::answer`].
    Offer {
        /// The child.
        child: McuId,
        /// Its SDP offer.
        sdp: String,
    },
    /// A connection was refused: log the attempt.
    Refused {
        /// The connection.
        conn: ConnId,
        /// The link id it claimed, if it got that far.
        claimed: Option<McuId>,
        /// Why.
        reason: RefuseReason,
    },
    /// A child published its subtree (feed it to `RosterTree::set_child_roster`).
    Roster {
        /// The child.
        child: McuId,
        /// Its subtree.
        roster: Roster,
    },
    /// A child announced what its uplink carries.
    Uplink {
        /// The child.
        child: McuId,
        /// The carried endpoint.
        endpoint: Option<EndpointId>,
    },
    /// A floor request from the child's subtree.
    FloorRequest {
        /// The child.
        child: McuId,
        /// The endpoint.
        endpoint: EndpointId,
        /// Raised or withdrawn.
        raised: bool,
    },
    /// The outcome of [`ParentLinks::send_command`]: the child's reply, or
    /// `link_down` / `timeout` decided here.
    Reply {
        /// The child the command went to.
        child: McuId,
        /// The id `send_command` returned.
        request_id: RequestId,
        /// `None` when done.
        error: Option<CommandError>,
    },
    /// Nothing more to do now; call [`ParentLinks::handle_timeout`] then
    /// (`None`: no timer needed until the next input).
    Timeout(Option<Instant>),
}

/// The child's link is not up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cascade link of {0} is not up")]
pub struct ChildNotUp(pub McuId);

#[derive(Debug, Clone)]
enum Pending {
    AwaitHello {
        parent_nonce: Nonce,
        deadline: Instant,
    },
    AwaitAuth {
        parent_nonce: Nonce,
        deadline: Instant,
        link: McuId,
        conference: ConferenceId,
        child_nonce: Nonce,
    },
}

impl Pending {
    fn deadline(&self) -> Instant {
        match self {
            Self::AwaitHello { deadline, .. } | Self::AwaitAuth { deadline, .. } => *deadline,
        }
    }
}

#[derive(Debug, Clone)]
struct ChildConn {
    conn: ConnId,
    last_rx: Instant,
    next_ping: Instant,
    ping_seq: u64,
}

#[derive(Debug, Clone)]
struct Outstanding {
    child: McuId,
    endpoint: EndpointId,
    deadline: Instant,
}

/// The parent side of all cascade links into one MCU. See the module page.
#[derive(Debug)]
pub struct ParentLinks {
    cfg: ParentLinksConfig,
    pending: BTreeMap<ConnId, Pending>,
    children: BTreeMap<McuId, ChildConn>,
    requests: BTreeMap<RequestId, Outstanding>,
    next_request: u64,
    out: VecDeque<ParentOutput>,
}

impl ParentLinks {
    /// No links yet.
    pub fn new(cfg: ParentLinksConfig) -> Self {
        Self {
            cfg,
            pending: BTreeMap::new(),
            children: BTreeMap::new(),
            requests: BTreeMap::new(),
            next_request: 1,
            out: VecDeque::new(),
        }
    }

    /// True while `child`'s link is up.
    pub fn is_up(&self, child: &McuId) -> bool {
        self.children.contains_key(child)
    }

    /// The children whose links are up.
    pub fn up_children(&self) -> impl Iterator<Item = &McuId> {
        self.children.keys()
    }

    /// The next output; [`ParentOutput::Timeout`] when nothing else is due.
    pub fn poll_output(&mut self) -> ParentOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ParentOutput::Timeout(self.next_deadline()))
    }

    /// A transport was accepted; `nonce` is a fresh random challenge.
    pub fn handle_accepted(&mut self, now: Instant, conn: ConnId, nonce: Nonce) {
        self.pending.insert(
            conn,
            Pending::AwaitHello {
                parent_nonce: nonce,
                deadline: now + self.cfg.timing.handshake_timeout,
            },
        );
    }

    /// A text message arrived. An unreadable one closes the connection.
    pub fn handle_text(&mut self, now: Instant, conn: ConnId, text: &str) {
        match crate::wire::parse_up(text) {
            Ok(msg) => self.handle_message(now, conn, msg),
            Err(e) => self.violation(now, conn, e.to_string()),
        }
    }

    /// A message arrived.
    pub fn handle_message(&mut self, now: Instant, conn: ConnId, msg: UpMessage) {
        if let Some(pending) = self.pending.remove(&conn) {
            self.step_handshake(now, conn, pending, msg);
            return;
        }
        let Some(child) = self.child_of(conn) else {
            return; // stale
        };
        if let Some(c) = self.children.get_mut(&child) {
            c.last_rx = now;
        }
        match msg {
            UpMessage::Roster(roster) => self.out.push_back(ParentOutput::Roster { child, roster }),
            UpMessage::Uplink { endpoint } => {
                self.out.push_back(ParentOutput::Uplink { child, endpoint })
            }
            UpMessage::FloorRequest { endpoint, raised } => {
                self.out.push_back(ParentOutput::FloorRequest {
                    child,
                    endpoint,
                    raised,
                })
            }
            UpMessage::Reply { request_id, error } => {
                // Only the child a command went to may answer it.
                if self
                    .requests
                    .get(&request_id)
                    .is_some_and(|r| r.child == child)
                {
                    self.requests.remove(&request_id);
                    self.out.push_back(ParentOutput::Reply {
                        child,
                        request_id,
                        error,
                    });
                }
            }
            UpMessage::Offer { sdp } => self.out.push_back(ParentOutput::Offer { child, sdp }),
            UpMessage::Ping { seq } => self.out.push_back(ParentOutput::Send {
                conn,
                msg: DownMessage::Pong { seq },
            }),
            UpMessage::Pong { .. } => {}
            UpMessage::Hello { .. } | UpMessage::Auth { .. } => {
                self.violation(now, conn, "handshake message after welcome".into())
            }
            UpMessage::Subscribe { .. } => {
                self.violation(now, conn, "subscribe on a conference link".into())
            }
        }
    }

    /// A connection closed.
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        if self.pending.remove(&conn).is_some() {
            return;
        }
        if let Some(child) = self.child_of(conn) {
            self.drop_child(now, &child, ChildDownReason::Closed, false);
        }
    }

    /// Timers: handshake deadlines, keepalive, command timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<ConnId> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline())
            .map(|(c, _)| *c)
            .collect();
        for conn in expired {
            let claimed = match self.pending.remove(&conn) {
                Some(Pending::AwaitAuth { link, .. }) => Some(link),
                _ => None,
            };
            self.refuse(
                conn,
                claimed,
                RefuseReason::HandshakeTimeout,
                RefusedCode::HandshakeTimeout,
            );
        }
        let ids: Vec<McuId> = self.children.keys().cloned().collect();
        for child in ids {
            let Some(c) = self.children.get_mut(&child) else {
                continue;
            };
            if now >= c.last_rx + self.cfg.timing.keepalive_timeout {
                self.drop_child(now, &child, ChildDownReason::KeepaliveTimeout, true);
            } else if now >= c.next_ping {
                c.ping_seq += 1;
                c.next_ping = now + self.cfg.timing.keepalive_interval;
                let msg = DownMessage::Ping { seq: c.ping_seq };
                let conn = c.conn;
                self.out.push_back(ParentOutput::Send { conn, msg });
            }
        }
        let late: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| now >= r.deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.fail_request(id, CommandErrorCode::Timeout);
        }
    }

    /// Sends a command down to `child`; its outcome comes back as
    /// [`ParentOutput::Reply`] with the returned id.
    pub fn send_command(
        &mut self,
        now: Instant,
        child: &McuId,
        command: Command,
    ) -> Result<RequestId, ChildNotUp> {
        let conn = self
            .children
            .get(child)
            .ok_or_else(|| ChildNotUp(child.clone()))?
            .conn;
        let request_id = RequestId(self.next_request);
        self.next_request += 1;
        self.requests.insert(
            request_id,
            Outstanding {
                child: child.clone(),
                endpoint: command.endpoint().clone(),
                deadline: now + self.cfg.timing.command_timeout,
            },
        );
        self.out.push_back(ParentOutput::Send {
            conn,
            msg: DownMessage::Command {
                request_id,
                command,
            },
        });
        Ok(request_id)
    }

    /// Answers a child's [`ParentOutput::Offer`] (`Err`: why the trunk's
    /// media could not be set up).
    pub fn answer(
        &mut self,
        child: &McuId,
        answer: Result<String, String>,
    ) -> Result<(), ChildNotUp> {
        let conn = self
            .children
            .get(child)
            .ok_or_else(|| ChildNotUp(child.clone()))?
            .conn;
        let (sdp, error) = match answer {
            Ok(sdp) => (Some(sdp), None),
            Err(e) => (None, Some(e)),
        };
        self.out.push_back(ParentOutput::Send {
            conn,
            msg: DownMessage::Answer { sdp, error },
        });
        Ok(())
    }

    /// Closes a child's link from this side (e.g. its conference is not
    /// open here).
    pub fn close_child(&mut self, now: Instant, child: &McuId) {
        self.drop_child(now, child, ChildDownReason::ClosedHere, true);
    }

    fn child_of(&self, conn: ConnId) -> Option<McuId> {
        self.children
            .iter()
            .find(|(_, c)| c.conn == conn)
            .map(|(id, _)| id.clone())
    }

    fn step_handshake(&mut self, now: Instant, conn: ConnId, pending: Pending, msg: UpMessage) {
        match (pending, msg) {
            (
                Pending::AwaitHello {
                    parent_nonce,
                    deadline,
                },
                UpMessage::Hello {
                    link,
                    conference,
                    nonce,
                },
            ) => {
                // Challenge every caller alike, configured or not: the
                // refusal comes after `auth` and says the same either way.
                self.pending.insert(
                    conn,
                    Pending::AwaitAuth {
                        parent_nonce,
                        deadline,
                        link,
                        conference,
                        child_nonce: nonce,
                    },
                );
                self.out.push_back(ParentOutput::Send {
                    conn,
                    msg: DownMessage::Challenge {
                        nonce: parent_nonce,
                    },
                });
            }
            (
                Pending::AwaitAuth {
                    parent_nonce,
                    link,
                    conference,
                    child_nonce,
                    ..
                },
                UpMessage::Auth { proof },
            ) => {
                let Some(secret) = self.cfg.children.get(&link) else {
                    self.refuse(
                        conn,
                        Some(link),
                        RefuseReason::UnknownLink,
                        RefusedCode::AuthFailed,
                    );
                    return;
                };
                if !auth::verify(
                    secret,
                    Prover::Child,
                    &link,
                    Channel::Conference(&conference),
                    &parent_nonce,
                    &child_nonce,
                    &proof,
                ) {
                    self.refuse(
                        conn,
                        Some(link),
                        RefuseReason::BadProof,
                        RefusedCode::AuthFailed,
                    );
                    return;
                }
                let proof = auth::prove(
                    secret,
                    Prover::Parent,
                    &link,
                    Channel::Conference(&conference),
                    &parent_nonce,
                    &child_nonce,
                );
                if self.children.contains_key(&link) {
                    self.drop_child(now, &link, ChildDownReason::Replaced, true);
                }
                self.children.insert(
                    link.clone(),
                    ChildConn {
                        conn,
                        last_rx: now,
                        next_ping: now + self.cfg.timing.keepalive_interval,
                        ping_seq: 0,
                    },
                );
                self.out.push_back(ParentOutput::Send {
                    conn,
                    msg: DownMessage::Welcome { proof },
                });
                self.out.push_back(ParentOutput::ChildUp {
                    child: link,
                    conference,
                    conn,
                });
            }
            (pending, msg) => {
                let claimed = match pending {
                    Pending::AwaitAuth { link, .. } => Some(link),
                    Pending::AwaitHello { .. } => None,
                };
                self.refuse(
                    conn,
                    claimed,
                    RefuseReason::ProtocolViolation(format!(
                        "{} during the handshake",
                        up_kind(&msg)
                    )),
                    RefusedCode::ProtocolViolation,
                );
            }
        }
    }

    fn refuse(
        &mut self,
        conn: ConnId,
        claimed: Option<McuId>,
        reason: RefuseReason,
        code: RefusedCode,
    ) {
        self.out.push_back(ParentOutput::Send {
            conn,
            msg: DownMessage::Refused { code },
        });
        self.out.push_back(ParentOutput::Close { conn });
        self.out.push_back(ParentOutput::Refused {
            conn,
            claimed,
            reason,
        });
    }

    fn violation(&mut self, now: Instant, conn: ConnId, why: String) {
        if self.pending.remove(&conn).is_some() {
            self.refuse(
                conn,
                None,
                RefuseReason::ProtocolViolation(why),
                RefusedCode::ProtocolViolation,
            );
        } else if let Some(child) = self.child_of(conn) {
            self.drop_child(now, &child, ChildDownReason::ProtocolViolation(why), true);
        }
    }

    fn drop_child(&mut self, _now: Instant, child: &McuId, reason: ChildDownReason, close: bool) {
        let Some(c) = self.children.remove(child) else {
            return;
        };
        if close {
            self.out.push_back(ParentOutput::Close { conn: c.conn });
        }
        self.out.push_back(ParentOutput::ChildDown {
            child: child.clone(),
            reason,
        });
        let lost: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| &r.child == child)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            self.fail_request(id, CommandErrorCode::LinkDown);
        }
    }

    fn fail_request(&mut self, id: RequestId, code: CommandErrorCode) {
        if let Some(r) = self.requests.remove(&id) {
            self.out.push_back(ParentOutput::Reply {
                child: r.child,
                request_id: id,
                error: Some(CommandError {
                    code,
                    endpoint: r.endpoint,
                    at: self.cfg.me.clone(),
                }),
            });
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let pending = self.pending.values().map(Pending::deadline);
        let links = self.children.values().map(|c| {
            c.next_ping
                .min(c.last_rx + self.cfg.timing.keepalive_timeout)
        });
        let requests = self.requests.values().map(|r| r.deadline);
        pending.chain(links).chain(requests).min()
    }
}

fn up_kind(msg: &UpMessage) -> &'static str {
    match msg {
        UpMessage::Hello { .. } => "hello",
        UpMessage::Subscribe { .. } => "subscribe",
        UpMessage::Auth { .. } => "auth",
        UpMessage::Roster(_) => "roster",
        UpMessage::Uplink { .. } => "uplink",
        UpMessage::FloorRequest { .. } => "floor_request",
        UpMessage::Reply { .. } => "reply",
        UpMessage::Offer { .. } => "offer",
        UpMessage::Ping { .. } => "ping",
        UpMessage::Pong { .. } => "pong",
    }
}
