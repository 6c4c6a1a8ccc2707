//! The roster tree of one MCU: its own endpoints merged with the subtrees
//! its children publish, the routing of commands to the MCU that owns an
//! endpoint, and the uplink selection.
//!
//! - [`RosterTree::set_child_roster`] takes what a child published and
//!   checks that it stays inside the child's subtree: every MCU it names
//!   hangs below the child, and no endpoint or MCU id collides with one
//!   owned elsewhere. A child cannot claim another branch's endpoints, so it
//!   cannot raise their hands either ([`RosterTree::floor_request`]).
//! - [`RosterTree::publish`] is this MCU's whole subtree, to send upward.
//! - [`RosterTree::entries`] lists every endpoint with its path from this
//!   MCU ("Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành" on the master).
//! - [`RosterTree::route`] says whether a command is for a local endpoint
//!   or must be forwarded to a child link. A `select_uplink` also switches
//!   this MCU's own selection: the MCU that owns the endpoint carries it,
//!   and every MCU on the path carries the link that brings it up. On the
//!   master, the selection is what the chair's main tile shows.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{EndpointId, McuId};
use crate::topology::{Level, PATH_SEPARATOR, Topology};
use crate::wire::{
    Command, CommandError, CommandErrorCode, EndpointState, LinkState, Roster, RosterEntry,
    RosterMcu,
};

/// Who this MCU is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McuInfo {
    /// Its id.
    pub id: McuId,
    /// Display name.
    pub name: String,
    /// Level served.
    pub level: Level,
}

/// What this MCU's uplink carries (on the master: the chair's main tile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A local endpoint, full screen.
    Local(EndpointId),
    /// The uplink of a child link, which carries `endpoint`.
    Child {
        /// The child link.
        child: McuId,
        /// The endpoint it carries.
        endpoint: EndpointId,
    },
}

impl Selection {
    /// The endpoint selected.
    pub fn endpoint(&self) -> &EndpointId {
        match self {
            Self::Local(endpoint) | Self::Child { endpoint, .. } => endpoint,
        }
    }
}

/// Where a command goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Apply it to the local conference.
    Local(Command),
    /// Send it down this child link.
    Forward {
        /// The child link.
        child: McuId,
        /// The command, unchanged.
        command: Command,
    },
}

/// One endpoint as this MCU sees the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct PathEntry {
    /// The endpoint as published.
    pub entry: RosterEntry,
    /// MCU ids from this MCU down to the owner, both included.
    pub path: Vec<McuId>,
    /// The path by names, joined by " › ".
    pub display_path: String,
    /// False when a link on the path is reconnecting.
    pub reachable: bool,
}

/// Why a roster update or floor request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RosterError {
    /// The roster's top MCU is not the child that sent it.
    #[error("roster from {child} is not rooted at {child}")]
    WrongRoot {
        /// The sender.
        child: McuId,
    },
    /// The roster names an MCU that does not hang below the child.
    #[error("roster from {child} names MCU {mcu}, which is not below {child}")]
    McuOutsideSubtree {
        /// The sender.
        child: McuId,
        /// The MCU.
        mcu: McuId,
    },
    /// The roster names an MCU that is owned elsewhere in the tree.
    #[error("roster from {child} names MCU {mcu}, which is already known here")]
    McuConflict {
        /// The sender.
        child: McuId,
        /// The MCU.
        mcu: McuId,
    },
    /// An endpoint of the roster sits on an MCU the roster does not list.
    #[error("roster from {child} puts endpoint {endpoint} on MCU {mcu}, not in its subtree")]
    EndpointOutsideSubtree {
        /// The sender.
        child: McuId,
        /// The endpoint.
        endpoint: EndpointId,
        /// The MCU it claims.
        mcu: McuId,
    },
    /// The same endpoint id appears at two places of the tree.
    #[error("endpoint {endpoint} is published by {first} and by {second}")]
    EndpointConflict {
        /// The endpoint.
        endpoint: EndpointId,
        /// Where it was first.
        first: McuId,
        /// Where it appears again.
        second: McuId,
    },
    /// A floor request names an endpoint outside the sender's subtree.
    #[error("floor request from {child} for endpoint {endpoint}, which is not in its subtree")]
    FloorRequestOutsideSubtree {
        /// The sender.
        child: McuId,
        /// The endpoint.
        endpoint: EndpointId,
    },
    /// No local endpoint of that id.
    #[error("no local endpoint {0}")]
    UnknownLocalEndpoint(EndpointId),
}

#[derive(Debug, Clone)]
struct LocalEndpoint {
    id: EndpointId,
    name: String,
    state: EndpointState,
}

#[derive(Debug, Clone)]
struct ChildSubtree {
    roster: Roster,
    link: LinkState,
    /// What the child last said its uplink carries.
    announced: Option<EndpointId>,
    /// A restoring `select_uplink` went down since that announcement.
    restore_sent: bool,
}

impl ChildSubtree {
    fn new(link: LinkState) -> Self {
        Self {
            roster: Roster::default(),
            link,
            announced: None,
            restore_sent: false,
        }
    }
}

/// The roster tree of one MCU. See the module page.
#[derive(Debug, Clone)]
pub struct RosterTree {
    me: McuInfo,
    /// In join order: the default uplink is the first connected one.
    local: Vec<LocalEndpoint>,
    children: BTreeMap<McuId, ChildSubtree>,
    selection: Option<Selection>,
    /// The configured tree, when known: a child's roster may then name only
    /// MCUs configured below it, each under its configured parent.
    topology: Option<Topology>,
}

impl RosterTree {
    /// An empty tree for this MCU.
    pub fn new(me: McuInfo) -> Self {
        Self {
            me,
            local: Vec::new(),
            children: BTreeMap::new(),
            selection: None,
            topology: None,
        }
    }

    /// Checks children's rosters against the configured tree too, so a child
    /// cannot claim an MCU of another branch even while that branch is down.
    pub fn with_topology(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }

    /// This MCU.
    pub fn me(&self) -> &McuInfo {
        &self.me
    }

    /// Adds a local endpoint, or updates its name and state.
    pub fn set_local(&mut self, endpoint: EndpointId, name: String, state: EndpointState) {
        match self.local.iter_mut().find(|e| e.id == endpoint) {
            Some(e) => {
                e.name = name;
                e.state = state;
            }
            None => self.local.push(LocalEndpoint {
                id: endpoint,
                name,
                state,
            }),
        }
    }

    /// Updates a local endpoint's state.
    pub fn set_local_state(
        &mut self,
        endpoint: &EndpointId,
        state: EndpointState,
    ) -> Result<(), RosterError> {
        let e = self
            .local
            .iter_mut()
            .find(|e| &e.id == endpoint)
            .ok_or_else(|| RosterError::UnknownLocalEndpoint(endpoint.clone()))?;
        e.state = state;
        Ok(())
    }

    /// Removes a local endpoint (it left the conference's booking).
    pub fn remove_local(&mut self, endpoint: &EndpointId) {
        self.local.retain(|e| &e.id != endpoint);
    }

    /// The local endpoints with their state, in join order.
    pub fn local(&self) -> impl Iterator<Item = (&EndpointId, &EndpointState)> {
        self.local.iter().map(|e| (&e.id, &e.state))
    }

    /// Replaces `child`'s subtree with what it published, after checking it
    /// stays within that subtree. On error nothing changes.
    pub fn set_child_roster(&mut self, child: &McuId, roster: Roster) -> Result<(), RosterError> {
        self.check_child_roster(child, &roster)?;
        self.children
            .entry(child.clone())
            .or_insert_with(|| ChildSubtree::new(LinkState::Up))
            .roster = roster;
        Ok(())
    }

    /// Records the state of `child`'s link (its subtree stays listed while
    /// it reconnects, marked unreachable).
    pub fn set_child_link(&mut self, child: &McuId, link: LinkState) {
        let sub = self
            .children
            .entry(child.clone())
            .or_insert_with(|| ChildSubtree::new(link));
        if sub.link != link {
            // A new link: the child announces its uplink again.
            sub.announced = None;
            sub.restore_sent = false;
        }
        sub.link = link;
    }

    /// Forgets `child` and its subtree.
    pub fn remove_child(&mut self, child: &McuId) {
        self.children.remove(child);
    }

    /// A floor request that came up `child`'s link: accepted only for an
    /// endpoint of that child's subtree, and recorded at once (the child's
    /// next roster confirms it).
    pub fn floor_request(
        &mut self,
        child: &McuId,
        endpoint: &EndpointId,
        raised: bool,
    ) -> Result<(), RosterError> {
        let entry = self
            .children
            .get_mut(child)
            .and_then(|c| {
                c.roster
                    .endpoints
                    .iter_mut()
                    .find(|e| &e.endpoint == endpoint)
            })
            .ok_or_else(|| RosterError::FloorRequestOutsideSubtree {
                child: child.clone(),
                endpoint: endpoint.clone(),
            })?;
        entry.state.floor_requested = raised;
        Ok(())
    }

    /// Where an endpoint is: `None` for this MCU, `Some(child)` below that
    /// child link.
    pub fn owner(&self, endpoint: &EndpointId) -> Result<Option<&McuId>, CommandError> {
        if self.local.iter().any(|e| &e.id == endpoint) {
            return Ok(None);
        }
        self.children
            .iter()
            .find(|(_, c)| c.roster.endpoints.iter().any(|e| &e.endpoint == endpoint))
            .map(|(child, _)| Some(child))
            .ok_or_else(|| self.error(CommandErrorCode::UnknownEndpoint, endpoint))
    }

    /// Routes a command (from the parent link, or from this MCU's operator)
    /// to the local conference or to the child link owning the endpoint. A
    /// `select_uplink` switches this MCU's selection too.
    ///
    /// Errors, filled in with this MCU's id: `unknown_endpoint` (nowhere in
    /// the subtree), `endpoint_not_connected` (a local endpoint that is not
    /// connected now), `link_down` (its child link is reconnecting). A
    /// forwarded `select_uplink` switches the selection at once (the call-up
    /// is fast); if the reply from below is an error, put the previous
    /// selection back with [`set_selection`](Self::set_selection).
    pub fn route(&mut self, command: Command) -> Result<Routed, CommandError> {
        let endpoint = command.endpoint().clone();
        match self.owner(&endpoint)?.cloned() {
            None => {
                let connected = self
                    .local
                    .iter()
                    .any(|e| e.id == endpoint && e.state.connected);
                if !connected {
                    return Err(self.error(CommandErrorCode::EndpointNotConnected, &endpoint));
                }
                if matches!(command, Command::SelectUplink { .. }) {
                    self.selection = Some(Selection::Local(endpoint));
                }
                Ok(Routed::Local(command))
            }
            Some(child) => {
                if self.children.get(&child).map(|c| c.link) != Some(LinkState::Up) {
                    return Err(self.error(CommandErrorCode::LinkDown, &endpoint));
                }
                if matches!(command, Command::SelectUplink { .. }) {
                    self.selection = Some(Selection::Child {
                        child: child.clone(),
                        endpoint,
                    });
                }
                Ok(Routed::Forward { child, command })
            }
        }
    }

    /// Sets the selection directly: to restore the previous one when a
    /// forwarded `select_uplink` fails below (the reply carries the error),
    /// or to clear it.
    pub fn set_selection(&mut self, selection: Option<Selection>) {
        self.selection = selection;
    }

    /// "Call endpoint X to the chair" / "carry X up": [`route`](Self::route)
    /// of a `select_uplink`.
    pub fn select(&mut self, endpoint: EndpointId) -> Result<Routed, CommandError> {
        self.route(Command::SelectUplink { endpoint })
    }

    /// The current selection, if any was made.
    pub fn selection(&self) -> Option<&Selection> {
        self.selection.as_ref()
    }

    /// What the uplink carries: the selection, or by default the first
    /// connected local endpoint in join order (one endpoint full screen, as
    /// the Government procedure asks).
    pub fn uplink_endpoint(&self) -> Option<&EndpointId> {
        match &self.selection {
            Some(selection) => Some(selection.endpoint()),
            None => self.local.iter().find(|e| e.state.connected).map(|e| &e.id),
        }
    }

    /// A child announced what its uplink carries (after every re-link and
    /// every change). Returns the command that restores this MCU's
    /// selection through that child, if the child lost it; see
    /// [`restore`](Self::restore).
    pub fn handle_child_uplink(
        &mut self,
        child: &McuId,
        announced: Option<EndpointId>,
    ) -> Option<Command> {
        if let Some(sub) = self.children.get_mut(child) {
            sub.announced = announced;
            sub.restore_sent = false;
        }
        self.restore(child)
    }

    /// The `select_uplink` to send down `child` so that it carries this
    /// MCU's selection again: when the selection goes through `child`, the
    /// child announced something else (it restarted and lost it), and the
    /// endpoint is back in the child's roster. Call it after every
    /// `uplink` and every roster from that child: a restarted province
    /// announces its uplink before its own children have relinked, so the
    /// endpoint may only reappear with a later roster. Returns a command at
    /// most once until the child announces again.
    pub fn restore(&mut self, child: &McuId) -> Option<Command> {
        let Some(Selection::Child { child: c, endpoint }) = &self.selection else {
            return None;
        };
        let sub = self.children.get_mut(child)?;
        let listed = sub.roster.endpoints.iter().any(|e| &e.endpoint == endpoint);
        if c != child
            || sub.link != LinkState::Up
            || sub.announced.as_ref() == Some(endpoint)
            || sub.restore_sent
            || !listed
        {
            return None;
        }
        sub.restore_sent = true;
        Some(Command::SelectUplink {
            endpoint: endpoint.clone(),
        })
    }

    /// This MCU's whole subtree, to publish to its parent.
    pub fn publish(&self) -> Roster {
        let mut roster = Roster {
            mcus: vec![RosterMcu {
                id: self.me.id.clone(),
                name: self.me.name.clone(),
                level: self.me.level,
                parent: None,
                link: LinkState::Up,
            }],
            endpoints: self
                .local
                .iter()
                .map(|e| RosterEntry {
                    endpoint: e.id.clone(),
                    name: e.name.clone(),
                    mcu: self.me.id.clone(),
                    state: e.state.clone(),
                })
                .collect(),
        };
        for (child, sub) in &self.children {
            for m in &sub.roster.mcus {
                let mut m = m.clone();
                if &m.id == child {
                    m.parent = Some(self.me.id.clone());
                    m.link = sub.link;
                }
                roster.mcus.push(m);
            }
            if sub.roster.mcus.is_empty() {
                // Linked (or reconnecting) but nothing published yet.
                roster.mcus.push(RosterMcu {
                    id: child.clone(),
                    name: child.to_string(),
                    level: self.me.level,
                    parent: Some(self.me.id.clone()),
                    link: sub.link,
                });
            }
            roster
                .endpoints
                .extend(sub.roster.endpoints.iter().cloned());
        }
        roster
    }

    /// Every endpoint of the subtree with its path from this MCU.
    pub fn entries(&self) -> Vec<PathEntry> {
        let roster = self.publish();
        let mcus: BTreeMap<&McuId, &RosterMcu> = roster.mcus.iter().map(|m| (&m.id, m)).collect();
        roster
            .endpoints
            .iter()
            .map(|entry| {
                let mut chain: Vec<&RosterMcu> = Vec::new();
                let mut at = mcus.get(&entry.mcu).copied();
                while let Some(m) = at {
                    if chain.len() > mcus.len() {
                        break; // a loop cannot pass set_child_roster; stay finite anyway
                    }
                    chain.push(m);
                    at = m.parent.as_ref().and_then(|p| mcus.get(p).copied());
                }
                chain.reverse();
                PathEntry {
                    entry: entry.clone(),
                    path: chain.iter().map(|m| m.id.clone()).collect(),
                    display_path: chain
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(PATH_SEPARATOR),
                    reachable: chain.iter().all(|m| m.link == LinkState::Up),
                }
            })
            .collect()
    }

    fn error(&self, code: CommandErrorCode, endpoint: &EndpointId) -> CommandError {
        CommandError {
            code,
            endpoint: endpoint.clone(),
            at: self.me.id.clone(),
        }
    }

    fn check_child_roster(&self, child: &McuId, roster: &Roster) -> Result<(), RosterError> {
        let parents: BTreeMap<&McuId, Option<&McuId>> = roster
            .mcus
            .iter()
            .map(|m| (&m.id, m.parent.as_ref()))
            .collect();
        let roots: Vec<&McuId> = roster
            .mcus
            .iter()
            .filter(|m| m.parent.is_none())
            .map(|m| &m.id)
            .collect();
        if roots != [child] {
            return Err(RosterError::WrongRoot {
                child: child.clone(),
            });
        }
        // Ids owned elsewhere: this MCU, other children's MCUs and endpoints.
        let mut other_mcus: BTreeSet<&McuId> = BTreeSet::from([&self.me.id]);
        let mut other_endpoints: BTreeMap<&EndpointId, &McuId> =
            self.local.iter().map(|e| (&e.id, &self.me.id)).collect();
        for (c, sub) in &self.children {
            if c != child {
                other_mcus.insert(c);
                other_mcus.extend(sub.roster.mcus.iter().map(|m| &m.id));
                other_endpoints.extend(sub.roster.endpoints.iter().map(|e| (&e.endpoint, &e.mcu)));
            }
        }
        let mut seen_mcus = BTreeSet::new();
        for m in &roster.mcus {
            if other_mcus.contains(&m.id) || !seen_mcus.insert(&m.id) {
                return Err(RosterError::McuConflict {
                    child: child.clone(),
                    mcu: m.id.clone(),
                });
            }
            if let Some(topology) = &self.topology {
                let configured = m.id == *child
                    || (topology.is_descendant(&m.id, child)
                        && topology.node(&m.id).and_then(|n| n.parent.as_ref())
                            == m.parent.as_ref());
                if !configured {
                    return Err(RosterError::McuOutsideSubtree {
                        child: child.clone(),
                        mcu: m.id.clone(),
                    });
                }
            }
            // Walk up: the chain must end at the child within len steps.
            let mut at = &m.id;
            let mut steps = 0;
            while at != child {
                steps += 1;
                match parents.get(at).copied().flatten() {
                    Some(p) if steps <= roster.mcus.len() => at = p,
                    _ => {
                        return Err(RosterError::McuOutsideSubtree {
                            child: child.clone(),
                            mcu: m.id.clone(),
                        });
                    }
                }
            }
        }
        let mut seen_endpoints: BTreeMap<&EndpointId, &McuId> = BTreeMap::new();
        for e in &roster.endpoints {
            if !parents.contains_key(&e.mcu) {
                return Err(RosterError::EndpointOutsideSubtree {
                    child: child.clone(),
                    endpoint: e.endpoint.clone(),
                    mcu: e.mcu.clone(),
                });
            }
            if let Some(first) = other_endpoints
                .get(&e.endpoint)
                .or_else(|| seen_endpoints.get(&e.endpoint))
            {
                return Err(RosterError::EndpointConflict {
                    endpoint: e.endpoint.clone(),
                    first: (*first).clone(),
                    second: e.mcu.clone(),
                });
            }
            seen_endpoints.insert(&e.endpoint, &e.mcu);
        }
        Ok(())
    }
}
