//! A virtual network for link tests: one child link, any number of parent
//! MCUs, messages carried as JSON text (so the wire format is exercised
//! too), time advanced only by `run_until`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mcu_cascade::auth::{LinkSecret, Nonce};
use mcu_cascade::ids::{ConferenceId, ConnId, McuId};
use mcu_cascade::link::{ChildLink, ChildLinkConfig, LinkOutput, LinkTiming, ParentTarget};
use mcu_cascade::parent::{ParentLinks, ParentLinksConfig, ParentOutput, ParentTiming};

pub fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

pub fn secret(s: &str) -> LinkSecret {
    LinkSecret::new(format!("{s}-0123456789abcdef").into_bytes()).unwrap()
}

/// The start of virtual time.
pub fn t0() -> Instant {
    // The one clock read of the tests: an arbitrary origin.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

pub struct ParentSim {
    pub links: ParentLinks,
    pub config: ParentLinksConfig,
    /// Reachable: accepts dials and carries messages.
    pub reachable: bool,
    /// Partitioned: connections stay open but every message is lost.
    pub silent: bool,
    timeout: Option<Instant>,
}

pub struct Net {
    pub start: Instant,
    pub now: Instant,
    pub child: ChildLink,
    pub parents: BTreeMap<McuId, ParentSim>,
    /// child conn → (parent, parent conn)
    conns: BTreeMap<ConnId, (McuId, ConnId)>,
    next_parent_conn: u64,
    nonce: u8,
    child_timeout: Instant,
    /// Child outputs other than Send/Dial/Close/Timeout, with their time.
    pub child_events: Vec<(Instant, LinkOutput)>,
    /// Every Dial of the child: (time, parent).
    pub dials: Vec<(Instant, McuId)>,
    /// Parent outputs other than Send/Close/Timeout.
    pub parent_events: Vec<(Instant, McuId, ParentOutput)>,
    /// Messages the child sent, as JSON, with their time.
    pub sent_up: Vec<(Instant, McuId, String)>,
}

pub const CHILD: &str = "tuyen-quang";
pub const PRIMARY: &str = "central";
pub const STANDBY: &str = "hai-phong";

pub fn child_config(timing: LinkTiming, with_standby: bool) -> ChildLinkConfig {
    ChildLinkConfig {
        link: id(CHILD),
        conference: ConferenceId::new("giao-ban-2025-06").unwrap(),
        primary: ParentTarget {
            id: id(PRIMARY),
            secret: secret("primary"),
        },
        standby: with_standby.then(|| ParentTarget {
            id: id(STANDBY),
            secret: secret("standby"),
        }),
        timing,
    }
}

pub fn parent_config(me: &str, children: &[(&str, LinkSecret)]) -> ParentLinksConfig {
    ParentLinksConfig {
        me: id(me),
        children: children.iter().map(|(c, s)| (id(c), s.clone())).collect(),
        timing: ParentTiming::default(),
    }
}

impl Net {
    /// The child `tuyen-quang` under `central` (and `hai-phong` as standby
    /// if asked), all configured with the right secrets.
    pub fn new(timing: LinkTiming, with_standby: bool) -> Self {
        let mut parents = vec![parent_config(PRIMARY, &[(CHILD, secret("primary"))])];
        if with_standby {
            parents.push(parent_config(STANDBY, &[(CHILD, secret("standby"))]));
        }
        Self::with(child_config(timing, with_standby), parents)
    }

    pub fn with(child: ChildLinkConfig, parents: Vec<ParentLinksConfig>) -> Self {
        Self::with_down(child, parents, &[])
    }

    /// Like [`Net::with`], with the parents named in `down` unreachable
    /// from the start.
    pub fn with_down(
        child: ChildLinkConfig,
        parents: Vec<ParentLinksConfig>,
        down: &[&str],
    ) -> Self {
        let start = t0();
        let mut net = Self {
            start,
            now: start,
            child: ChildLink::new(child, start),
            parents: parents
                .into_iter()
                .map(|cfg| {
                    (
                        cfg.me.clone(),
                        ParentSim {
                            links: ParentLinks::new(cfg.clone()),
                            reachable: !down.contains(&cfg.me.as_str()),
                            config: cfg,
                            silent: false,
                            timeout: None,
                        },
                    )
                })
                .collect(),
            conns: BTreeMap::new(),
            next_parent_conn: 1000,
            nonce: 0,
            child_timeout: start,
            child_events: Vec::new(),
            dials: Vec::new(),
            parent_events: Vec::new(),
            sent_up: Vec::new(),
        };
        net.pump();
        net
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn fresh_nonce(&mut self) -> Nonce {
        self.nonce = self.nonce.wrapping_add(1);
        Nonce([self.nonce; 32])
    }

    /// Delivers every pending output until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            loop {
                match self.child.poll_output() {
                    LinkOutput::Timeout(t) => {
                        self.child_timeout = t;
                        break;
                    }
                    out => {
                        moved = true;
                        self.on_child_output(out);
                    }
                }
            }
            let ids: Vec<McuId> = self.parents.keys().cloned().collect();
            for p in ids {
                loop {
                    let out = self.parents.get_mut(&p).unwrap().links.poll_output();
                    match out {
                        ParentOutput::Timeout(t) => {
                            self.parents.get_mut(&p).unwrap().timeout = t;
                            break;
                        }
                        out => {
                            moved = true;
                            self.on_parent_output(&p, out);
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn on_child_output(&mut self, out: LinkOutput) {
        let now = self.now;
        match out {
            LinkOutput::Dial { conn, parent } => {
                self.dials.push((now, parent.clone()));
                let reachable = self.parents.get(&parent).is_some_and(|p| p.reachable);
                if reachable {
                    let pconn = ConnId(self.next_parent_conn);
                    self.next_parent_conn += 1;
                    self.conns.insert(conn, (parent.clone(), pconn));
                    let n1 = self.fresh_nonce();
                    let n2 = self.fresh_nonce();
                    self.parents
                        .get_mut(&parent)
                        .unwrap()
                        .links
                        .handle_accepted(now, pconn, n1);
                    self.child.handle_connected(now, conn, n2);
                } else {
                    self.child.handle_dial_failed(now, conn);
                }
            }
            LinkOutput::Send { conn, msg } => {
                let Some((parent, pconn)) = self.conns.get(&conn).cloned() else {
                    return;
                };
                let text = msg.to_json();
                self.sent_up.push((now, parent.clone(), text.clone()));
                let p = self.parents.get_mut(&parent).unwrap();
                if p.reachable && !p.silent {
                    p.links.handle_text(now, pconn, &text);
                }
            }
            LinkOutput::Close { conn } => {
                if let Some((parent, pconn)) = self.conns.remove(&conn) {
                    let p = self.parents.get_mut(&parent).unwrap();
                    if p.reachable && !p.silent {
                        p.links.handle_closed(now, pconn);
                    }
                }
            }
            LinkOutput::Timeout(_) => unreachable!(),
            other => self.child_events.push((now, other)),
        }
    }

    fn on_parent_output(&mut self, parent: &McuId, out: ParentOutput) {
        let now = self.now;
        let child_conn = |conns: &BTreeMap<ConnId, (McuId, ConnId)>, pconn: ConnId| {
            conns
                .iter()
                .find(|(_, (p, pc))| p == parent && *pc == pconn)
                .map(|(c, _)| *c)
        };
        match out {
            ParentOutput::Send { conn, msg } => {
                if self.parents[parent].silent {
                    return;
                }
                if let Some(c) = child_conn(&self.conns, conn) {
                    self.child.handle_text(now, c, &msg.to_json());
                }
            }
            ParentOutput::Close { conn } => {
                if let Some(c) = child_conn(&self.conns, conn) {
                    self.conns.remove(&c);
                    if !self.parents[parent].silent {
                        self.child.handle_closed(now, c);
                    }
                }
            }
            ParentOutput::Timeout(_) => unreachable!(),
            other => self.parent_events.push((now, parent.clone(), other)),
        }
    }

    /// Advances virtual time to `end`, firing every timer on the way.
    pub fn run_until(&mut self, end: Instant) {
        loop {
            self.pump();
            let next = self
                .parents
                .values()
                .filter_map(|p| p.timeout)
                .chain([self.child_timeout])
                .min()
                .unwrap();
            if next > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            if self.child_timeout <= now {
                self.child.handle_timeout(now);
            }
            for p in self.parents.values_mut() {
                if p.timeout.is_some_and(|t| t <= now) {
                    p.links.handle_timeout(now);
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// The parent process dies: its connections break (the child sees them
    /// close), and it forgets everything.
    pub fn kill(&mut self, parent: &str) {
        let parent = id(parent);
        let p = self.parents.get_mut(&parent).unwrap();
        p.reachable = false;
        let broken: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, (q, _))| *q == parent)
            .map(|(c, _)| *c)
            .collect();
        for c in broken {
            self.conns.remove(&c);
            self.child.handle_closed(self.now, c);
        }
        self.pump();
    }

    /// The parent process starts again, with empty state.
    pub fn revive(&mut self, parent: &str) {
        let p = self.parents.get_mut(&id(parent)).unwrap();
        p.links = ParentLinks::new(p.config.clone());
        p.reachable = true;
        p.timeout = None;
        self.pump();
    }

    /// Every child event of a kind, with its time since the start.
    pub fn ups(&self) -> Vec<(Duration, McuId)> {
        self.child_events
            .iter()
            .filter_map(|(t, e)| match e {
                LinkOutput::Up { parent, .. } => Some((*t - self.start, parent.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn downs(&self) -> Vec<(Duration, McuId)> {
        self.child_events
            .iter()
            .filter_map(|(t, e)| match e {
                LinkOutput::Down { parent, .. } => Some((*t - self.start, parent.clone())),
                _ => None,
            })
            .collect()
    }

    /// Times of the child's dials to `parent`, since the start.
    pub fn dial_times(&self, parent: &str) -> Vec<Duration> {
        self.dials
            .iter()
            .filter(|(_, p)| p.as_str() == parent)
            .map(|(t, _)| *t - self.start)
            .collect()
    }

    /// Whether `parent` sees the child's link up.
    pub fn parent_sees_child(&self, parent: &str) -> bool {
        self.parents[&id(parent)].links.is_up(&id(CHILD))
    }
}

/// Runs the handshake of `child` into `parent` by hand (no Net), with the
/// parent naming the connection `pconn`. Returns the child's conn.
pub fn link_by_hand(
    parent: &mut ParentLinks,
    child: &mut ChildLink,
    now: Instant,
    pconn: ConnId,
) -> ConnId {
    let LinkOutput::Dial { conn, .. } = child.poll_output() else {
        panic!("the child should dial first")
    };
    parent.handle_accepted(now, pconn, Nonce([pconn.0 as u8; 32]));
    child.handle_connected(now, conn, Nonce([conn.0 as u8 + 100; 32]));
    for _ in 0..4 {
        loop {
            match child.poll_output() {
                LinkOutput::Send { msg, .. } => parent.handle_text(now, pconn, &msg.to_json()),
                LinkOutput::Timeout(_) => break,
                _ => {}
            }
        }
        loop {
            match parent.poll_output() {
                ParentOutput::Send { conn: c, msg } if c == pconn => {
                    child.handle_text(now, conn, &msg.to_json())
                }
                ParentOutput::Timeout(_) => break,
                _ => {}
            }
        }
    }
    assert!(child.up().is_some(), "the hand-made link should be up");
    conn
}
