//! The whole crate wired the way the daemon will wire it: four MCUs
//! (central › tq › son-duong › hop-thanh), each with a RosterTree, its
//! ChildLink up and its ParentLinks down, over a virtual network. Rosters
//! reach the master, a call-up travels down and its reply comes back, a
//! floor request travels up, and a province restart is survived with the
//! selection restored.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{id, parent_config, secret, t0};
use mcu_cascade::auth::Nonce;
use mcu_cascade::ids::{ConferenceId, ConnId, EndpointId, McuId, RequestId};
use mcu_cascade::link::{ChildLink, ChildLinkConfig, LinkOutput, LinkTiming, ParentTarget};
use mcu_cascade::parent::{ParentLinks, ParentOutput};
use mcu_cascade::roster::{McuInfo, RosterTree, Routed, Selection};
use mcu_cascade::topology::Level;
use mcu_cascade::wire::{CommandError, CommandErrorCode, EndpointState, LinkState};

/// id, name, level, parent, local endpoints.
type Level4 = (
    &'static str,
    &'static str,
    Level,
    Option<&'static str>,
    &'static [&'static str],
);

const LEVELS: [Level4; 4] = [
    ("central", "Chính phủ", Level::Central, None, &["chu-toa"]),
    (
        "tq",
        "Tuyên Quang",
        Level::Province,
        Some("central"),
        &["tinh"],
    ),
    (
        "son-duong",
        "Sơn Dương",
        Level::District,
        Some("tq"),
        &["huyen"],
    ),
    (
        "hop-thanh",
        "Hợp Thành",
        Level::Commune,
        Some("son-duong"),
        &["xa", "xa-offline"],
    ),
];

fn ep(s: &str) -> EndpointId {
    EndpointId::new(s).unwrap()
}

struct Node {
    alive: bool,
    roster: RosterTree,
    up: Option<ChildLink>,
    down: ParentLinks,
    /// Commands forwarded below: child request id → the parent's request id.
    relay: BTreeMap<RequestId, RequestId>,
    up_timeout: Option<Instant>,
    down_timeout: Option<Instant>,
}

struct Tree {
    now: Instant,
    nodes: BTreeMap<McuId, Node>,
    /// (child MCU, child conn) ↔ (parent MCU, parent conn)
    conns: Vec<((McuId, ConnId), (McuId, ConnId))>,
    next_conn: u64,
    /// At the master: floor requests and command replies received.
    floor_queue: Vec<(EndpointId, bool)>,
    replies: Vec<(RequestId, Option<CommandError>)>,
}

fn fresh_node(i: usize, now: Instant) -> Node {
    let (me, name, level, parent, endpoints) = LEVELS[i];
    let mut roster = RosterTree::new(McuInfo {
        id: id(me),
        name: name.into(),
        level,
    });
    for e in endpoints {
        let state = EndpointState {
            connected: !e.ends_with("offline"),
            ..EndpointState::default()
        };
        roster.set_local(ep(e), e.to_string(), state);
    }
    let up = parent.map(|p| {
        let mut link = ChildLink::new(
            ChildLinkConfig {
                link: id(me),
                conference: ConferenceId::new("giao-ban").unwrap(),
                primary: ParentTarget {
                    id: id(p),
                    secret: secret(me),
                },
                standby: None,
                timing: LinkTiming::default(),
            },
            now,
        );
        link.set_roster(now, roster.publish());
        link
    });
    let children: Vec<_> = LEVELS
        .iter()
        .filter(|l| l.3 == Some(me))
        .map(|l| (l.0, secret(l.0)))
        .collect();
    Node {
        alive: true,
        roster,
        up,
        down: ParentLinks::new(parent_config(me, &children)),
        relay: BTreeMap::new(),
        up_timeout: None,
        down_timeout: None,
    }
}

impl Tree {
    fn new() -> Self {
        let now = t0();
        let mut tree = Self {
            now,
            nodes: (0..4)
                .map(|i| (id(LEVELS[i].0), fresh_node(i, now)))
                .collect(),
            conns: Vec::new(),
            next_conn: 1,
            floor_queue: Vec::new(),
            replies: Vec::new(),
        };
        tree.pump();
        tree
    }

    fn node(&mut self, n: &str) -> &mut Node {
        self.nodes.get_mut(&id(n)).unwrap()
    }

    fn republish(&mut self, n: &McuId) {
        let now = self.now;
        let node = self.nodes.get_mut(n).unwrap();
        let roster = node.roster.publish();
        if let Some(up) = node.up.as_mut() {
            up.set_roster(now, roster);
        }
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            let ids: Vec<McuId> = self.nodes.keys().cloned().collect();
            for n in &ids {
                if !self.nodes[n].alive {
                    continue;
                }
                while let Some(out) = self.poll_up(n) {
                    moved = true;
                    self.on_up(n, out);
                }
                while let Some(out) = self.poll_down(n) {
                    moved = true;
                    self.on_down(n, out);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn poll_up(&mut self, n: &McuId) -> Option<LinkOutput> {
        let node = self.nodes.get_mut(n).unwrap();
        match node.up.as_mut()?.poll_output() {
            LinkOutput::Timeout(t) => {
                node.up_timeout = Some(t);
                None
            }
            out => Some(out),
        }
    }

    fn poll_down(&mut self, n: &McuId) -> Option<ParentOutput> {
        let node = self.nodes.get_mut(n).unwrap();
        match node.down.poll_output() {
            ParentOutput::Timeout(t) => {
                node.down_timeout = t;
                None
            }
            out => Some(out),
        }
    }

    fn peer_of_child(&self, n: &McuId, conn: ConnId) -> Option<(McuId, ConnId)> {
        self.conns
            .iter()
            .find(|(c, _)| c.0 == *n && c.1 == conn)
            .map(|(_, p)| p.clone())
    }

    fn peer_of_parent(&self, n: &McuId, conn: ConnId) -> Option<(McuId, ConnId)> {
        self.conns
            .iter()
            .find(|(_, p)| p.0 == *n && p.1 == conn)
            .map(|(c, _)| c.clone())
    }

    /// The daemon's handling of a child-link output at MCU `n`.
    fn on_up(&mut self, n: &McuId, out: LinkOutput) {
        let now = self.now;
        match out {
            LinkOutput::Dial { conn, parent } => {
                let pconn = ConnId(self.next_conn);
                self.next_conn += 1;
                if self.nodes[&parent].alive {
                    self.conns
                        .push(((n.clone(), conn), (parent.clone(), pconn)));
                    self.nodes.get_mut(&parent).unwrap().down.handle_accepted(
                        now,
                        pconn,
                        Nonce([pconn.0 as u8; 32]),
                    );
                    let up = self.nodes.get_mut(n).unwrap().up.as_mut().unwrap();
                    up.handle_connected(now, conn, Nonce([conn.0 as u8 + 128; 32]));
                } else {
                    let up = self.nodes.get_mut(n).unwrap().up.as_mut().unwrap();
                    up.handle_dial_failed(now, conn);
                }
            }
            LinkOutput::Send { conn, msg } => {
                if let Some((p, pconn)) = self.peer_of_child(n, conn) {
                    let node = self.nodes.get_mut(&p).unwrap();
                    if node.alive {
                        node.down.handle_text(now, pconn, &msg.to_json());
                    }
                }
            }
            LinkOutput::Close { conn } => {
                if let Some((p, pconn)) = self.peer_of_child(n, conn) {
                    self.conns.retain(|(c, _)| !(c.0 == *n && c.1 == conn));
                    self.nodes
                        .get_mut(&p)
                        .unwrap()
                        .down
                        .handle_closed(now, pconn);
                }
            }
            LinkOutput::Command {
                request_id,
                command,
            } => {
                let node = self.nodes.get_mut(n).unwrap();
                let result = node.roster.route(command);
                let uplink = node.roster.uplink_endpoint().cloned();
                let up = node.up.as_mut().unwrap();
                up.set_uplink(now, uplink);
                match result {
                    Ok(Routed::Local(_)) => up.reply(now, request_id, None).unwrap(),
                    Ok(Routed::Forward { child, command }) => {
                        match node.down.send_command(now, &child, command) {
                            Ok(below) => {
                                node.relay.insert(below, request_id);
                            }
                            Err(_) => {
                                let error = CommandError {
                                    code: CommandErrorCode::LinkDown,
                                    endpoint: ep("xa"),
                                    at: n.clone(),
                                };
                                up.reply(now, request_id, Some(error)).unwrap();
                            }
                        }
                    }
                    Err(e) => up.reply(now, request_id, Some(e)).unwrap(),
                }
            }
            _ => {} // Up / Down / AttemptFailed: the daemon logs them
        }
    }

    /// The daemon's handling of a parent-side output at MCU `n`.
    fn on_down(&mut self, n: &McuId, out: ParentOutput) {
        let now = self.now;
        match out {
            ParentOutput::Send { conn, msg } => {
                if let Some((c, cconn)) = self.peer_of_parent(n, conn)
                    && self.nodes[&c].alive
                {
                    let up = self.nodes.get_mut(&c).unwrap().up.as_mut().unwrap();
                    up.handle_text(now, cconn, &msg.to_json());
                }
            }
            ParentOutput::Close { conn } => {
                if let Some((c, cconn)) = self.peer_of_parent(n, conn) {
                    self.conns.retain(|(_, p)| !(p.0 == *n && p.1 == conn));
                    if self.nodes[&c].alive {
                        let up = self.nodes.get_mut(&c).unwrap().up.as_mut().unwrap();
                        up.handle_closed(now, cconn);
                    }
                }
            }
            ParentOutput::ChildUp { child, .. } => {
                self.node(n.as_str())
                    .roster
                    .set_child_link(&child, LinkState::Up);
                self.republish(n);
            }
            ParentOutput::ChildDown { child, .. } => {
                let node = self.nodes.get_mut(n).unwrap();
                node.roster.set_child_link(&child, LinkState::Reconnecting);
                self.republish(n);
            }
            ParentOutput::Roster { child, roster } => {
                let node = self.nodes.get_mut(n).unwrap();
                node.roster.set_child_roster(&child, roster).unwrap();
                if let Some(cmd) = node.roster.restore(&child) {
                    node.down.send_command(now, &child, cmd).unwrap();
                }
                self.republish(n);
            }
            ParentOutput::Uplink { child, endpoint } => {
                let node = self.nodes.get_mut(n).unwrap();
                if let Some(cmd) = node.roster.handle_child_uplink(&child, endpoint) {
                    node.down.send_command(now, &child, cmd).unwrap();
                }
            }
            ParentOutput::FloorRequest {
                child,
                endpoint,
                raised,
            } => {
                let node = self.nodes.get_mut(n).unwrap();
                node.roster
                    .floor_request(&child, &endpoint, raised)
                    .unwrap();
                match node.up.as_mut() {
                    Some(up) => up.floor_request(now, endpoint, raised).unwrap(),
                    None => self.floor_queue.push((endpoint, raised)),
                }
            }
            ParentOutput::Reply {
                request_id, error, ..
            } => {
                let node = self.nodes.get_mut(n).unwrap();
                match node.relay.remove(&request_id) {
                    Some(above) => {
                        let up = node.up.as_mut().unwrap();
                        let _ = up.reply(now, above, error);
                    }
                    None if node.up.is_none() => self.replies.push((request_id, error)),
                    None => {} // a restore command sent on this MCU's own initiative
                }
            }
            _ => {}
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = self
                .nodes
                .values()
                .filter(|n| n.alive)
                .flat_map(|n| [n.up_timeout, n.down_timeout])
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => self.now = self.now.max(t),
                _ => {
                    self.now = end;
                    return;
                }
            }
            let now = self.now;
            for node in self.nodes.values_mut().filter(|n| n.alive) {
                if node.up_timeout.is_some_and(|t| t <= now) {
                    node.up.as_mut().unwrap().handle_timeout(now);
                }
                if node.down_timeout.is_some_and(|t| t <= now) {
                    node.down.handle_timeout(now);
                }
            }
        }
    }

    /// The MCU's process dies: its peers see their connections close.
    fn kill(&mut self, n: &str) {
        let now = self.now;
        let dead = id(n);
        self.node(n).alive = false;
        let broken: Vec<_> = self
            .conns
            .iter()
            .filter(|(c, p)| c.0 == dead || p.0 == dead)
            .cloned()
            .collect();
        self.conns.retain(|(c, p)| c.0 != dead && p.0 != dead);
        for (c, p) in broken {
            if c.0 == dead {
                self.nodes
                    .get_mut(&p.0)
                    .unwrap()
                    .down
                    .handle_closed(now, p.1);
            } else {
                let up = self.nodes.get_mut(&c.0).unwrap().up.as_mut().unwrap();
                up.handle_closed(now, c.1);
            }
        }
        self.pump();
    }

    /// The MCU's process starts again with a fresh state.
    fn restart(&mut self, n: &str) {
        let i = LEVELS.iter().position(|l| l.0 == n).unwrap();
        let node = fresh_node(i, self.now);
        self.nodes.insert(id(n), node);
        self.pump();
    }

    /// Master's operator: "call endpoint X to the chair".
    fn call_to_chair(&mut self, x: &str) -> Result<(), CommandError> {
        let now = self.now;
        let master = self.node("central");
        match master.roster.select(ep(x))? {
            Routed::Local(_) => {}
            Routed::Forward { child, command } => {
                master.down.send_command(now, &child, command).unwrap();
            }
        }
        Ok(())
    }
}

#[test]
fn the_master_lists_every_endpoint_of_the_four_levels_with_paths() {
    let mut tree = Tree::new();
    tree.run_for(Duration::from_millis(100));
    let mut rows: Vec<(String, String, bool)> = tree
        .node("central")
        .roster
        .entries()
        .into_iter()
        .map(|e| {
            (
                e.entry.endpoint.to_string(),
                e.display_path,
                e.entry.state.connected,
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("chu-toa".into(), "Chính phủ".into(), true),
            (
                "huyen".into(),
                "Chính phủ › Tuyên Quang › Sơn Dương".into(),
                true
            ),
            ("tinh".into(), "Chính phủ › Tuyên Quang".into(), true),
            (
                "xa".into(),
                "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".into(),
                true
            ),
            (
                "xa-offline".into(),
                "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".into(),
                false
            ),
        ]
    );
}

#[test]
fn a_call_up_travels_down_switches_every_uplink_and_is_answered() {
    let mut tree = Tree::new();
    tree.run_for(Duration::from_millis(100));
    tree.call_to_chair("xa").unwrap();
    tree.run_for(Duration::from_millis(100));
    assert_eq!(tree.replies, [(RequestId(1), None)]);
    for (n, next) in [
        ("central", "tq"),
        ("tq", "son-duong"),
        ("son-duong", "hop-thanh"),
    ] {
        assert_eq!(
            tree.node(n).roster.selection(),
            Some(&Selection::Child {
                child: id(next),
                endpoint: ep("xa")
            }),
            "{n}"
        );
    }
    assert_eq!(
        tree.node("hop-thanh").roster.selection(),
        Some(&Selection::Local(ep("xa")))
    );
    for n in ["tq", "son-duong", "hop-thanh"] {
        assert_eq!(
            tree.node(n).up.as_ref().unwrap().uplink(),
            Some(&ep("xa")),
            "{n}"
        );
    }
}

#[test]
fn a_call_up_of_a_disconnected_commune_endpoint_fails_with_the_owners_error() {
    let mut tree = Tree::new();
    tree.run_for(Duration::from_millis(100));
    tree.call_to_chair("xa-offline").unwrap();
    tree.run_for(Duration::from_millis(100));
    assert_eq!(
        tree.replies,
        [(
            RequestId(1),
            Some(CommandError {
                code: CommandErrorCode::EndpointNotConnected,
                endpoint: ep("xa-offline"),
                at: id("hop-thanh"),
            })
        )]
    );
    assert!(tree.call_to_chair("nowhere").is_err());
}

#[test]
fn a_floor_request_from_the_commune_reaches_the_masters_queue() {
    let mut tree = Tree::new();
    tree.run_for(Duration::from_millis(100));
    let now = tree.now;
    let commune = tree.node("hop-thanh");
    commune
        .up
        .as_mut()
        .unwrap()
        .floor_request(now, ep("xa"), true)
        .unwrap();
    tree.run_for(Duration::from_millis(100));
    assert_eq!(tree.floor_queue, [(ep("xa"), true)]);
}

#[test]
fn a_province_restart_is_survived_and_the_selection_restored() {
    let mut tree = Tree::new();
    tree.run_for(Duration::from_millis(100));
    tree.call_to_chair("xa").unwrap();
    tree.run_for(Duration::from_secs(1));

    tree.kill("tq");
    tree.run_for(Duration::from_secs(5));
    // The master keeps its own endpoints; the province's subtree is
    // listed as unreachable (the "reconnecting" tile).
    let entries = tree.node("central").roster.entries();
    let reachable: Vec<_> = entries
        .iter()
        .filter(|e| e.reachable)
        .map(|e| e.entry.endpoint.to_string())
        .collect();
    assert_eq!(reachable, ["chu-toa"]);
    assert_eq!(
        entries.len(),
        5,
        "the subtree stays listed while reconnecting"
    );

    tree.restart("tq");
    tree.run_for(Duration::from_secs(3));
    // Relinked within 3 s, both ways, with the whole tree visible again.
    assert!(tree.node("tq").up.as_ref().unwrap().up().is_some());
    assert!(tree.node("central").down.is_up(&id("tq")));
    assert!(tree.node("tq").down.is_up(&id("son-duong")));
    let entries = tree.node("central").roster.entries();
    assert_eq!(entries.len(), 5);
    assert!(entries.iter().all(|e| e.reachable));
    // The restarted province lost its selection; the master told it again.
    assert_eq!(
        tree.node("tq").roster.selection(),
        Some(&Selection::Child {
            child: id("son-duong"),
            endpoint: ep("xa")
        })
    );
    assert_eq!(
        tree.node("tq").up.as_ref().unwrap().uplink(),
        Some(&ep("xa"))
    );
}
