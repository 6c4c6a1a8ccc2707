//! The configured cascade tree: which MCU links up to which, validated once
//! at start.
//!
//! Every MCU names its parent (none for the master) and may name a standby
//! parent for fallback (R18). [`Topology::new`] refuses a tree with a loop,
//! no root or two roots, a node listed twice with two parents, or a parent
//! or standby that is not configured. A standby is *not* a parent for the
//! loop check, but it must exist and must not be the node itself or one of
//! its descendants (linking there would hang the subtree under itself).
//!
//! [`Topology::warnings`] reports what the Government procedure asks to avoid
//! but does not forbid: an endpoint more than [`MAX_ENDPOINT_HOPS`] cascade
//! links away from the master.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::McuId;

/// Most cascade links between the master and an endpoint before
/// [`Topology::warnings`] warns (1594 step 3: avoid passing many levels).
/// Four levels (central › province › district › commune) are three links.
pub const MAX_ENDPOINT_HOPS: usize = 3;

/// Separator of a displayed path.
pub const PATH_SEPARATOR: &str = " › ";

/// The administrative level an MCU serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Government (the master MCU).
    Central,
    /// Province or centrally-run city.
    Province,
    /// District, town, provincial city.
    District,
    /// Commune, ward.
    Commune,
}

/// One MCU as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McuNode {
    /// Its id; also the id of the link it dials up.
    pub id: McuId,
    /// Display name (Vietnamese, e.g. "UBND tỉnh Tuyên Quang").
    pub name: String,
    /// The level it serves.
    pub level: Level,
    /// The MCU it links up to; `None` for the master.
    #[serde(default)]
    pub parent: Option<McuId>,
    /// The MCU it links to when its parent is unreachable (R18).
    #[serde(default)]
    pub standby: Option<McuId>,
}

/// Why a configured tree is refused. Every variant names the nodes at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// No MCU is configured.
    #[error("the cascade tree is empty")]
    Empty,
    /// The same MCU is listed twice with the same parent.
    #[error("MCU {0} is configured twice")]
    DuplicateNode(McuId),
    /// The same MCU is listed twice with different parents.
    #[error("MCU {node} has a second parent: {first} and {second}")]
    SecondParent {
        /// The MCU listed twice.
        node: McuId,
        /// Its first parent (`None`: listed as a root).
        first: ParentName,
        /// Its second parent.
        second: ParentName,
    },
    /// A parent is not configured.
    #[error("MCU {node} names parent {parent}, which is not configured")]
    UnknownParent {
        /// The child.
        node: McuId,
        /// The missing parent.
        parent: McuId,
    },
    /// The parent links form a loop.
    #[error("the parent links form a loop: {}", loop_text(.nodes))]
    Loop {
        /// The nodes of the loop in parent order; the first is repeated
        /// implicitly at the end.
        nodes: Vec<McuId>,
    },
    /// More than one MCU has no parent.
    #[error("more than one MCU has no parent: {}", join(.roots))]
    MultipleRoots {
        /// All the MCUs without parent.
        roots: Vec<McuId>,
    },
    /// A standby is not configured.
    #[error("MCU {node} names standby parent {standby}, which is not configured")]
    UnknownStandby {
        /// The MCU.
        node: McuId,
        /// The missing standby.
        standby: McuId,
    },
    /// A standby names the node itself.
    #[error("MCU {node} names itself as standby parent")]
    StandbyIsSelf {
        /// The MCU.
        node: McuId,
    },
    /// A standby is the parent itself: no fallback at all.
    #[error("MCU {node} names its parent {parent} also as standby parent")]
    StandbyIsParent {
        /// The MCU.
        node: McuId,
        /// Its parent.
        parent: McuId,
    },
    /// A standby lies below the node: linking there would make a loop.
    #[error("MCU {node} names standby parent {standby}, which is below it in the tree")]
    StandbyIsDescendant {
        /// The MCU.
        node: McuId,
        /// The standby, a descendant of `node`.
        standby: McuId,
    },
    /// The master names a standby, but it links to nobody.
    #[error("MCU {node} has no parent but names standby parent {standby}")]
    StandbyOnRoot {
        /// The master.
        node: McuId,
        /// The standby it names.
        standby: McuId,
    },
}

/// A parent as written in an error: an MCU id or "none".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentName(pub Option<McuId>);

impl fmt::Display for ParentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "{id}"),
            None => f.write_str("none"),
        }
    }
}

fn join(ids: &[McuId]) -> String {
    ids.iter().map(McuId::as_str).collect::<Vec<_>>().join(", ")
}

fn loop_text(ids: &[McuId]) -> String {
    let mut s = ids
        .iter()
        .map(McuId::as_str)
        .collect::<Vec<_>>()
        .join(" → ");
    if let Some(first) = ids.first() {
        s.push_str(" → ");
        s.push_str(first.as_str());
    }
    s
}

/// What the tree allows but the procedure advises against.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyWarning {
    /// Endpoints of `mcu` are `hops` cascade links from the master.
    LongPath {
        /// The MCU whose endpoints are far.
        mcu: McuId,
        /// Cascade links between the master and that MCU.
        hops: usize,
        /// The displayed path.
        path: String,
    },
    /// Linked through its standby, endpoints of `mcu` or of an MCU below it
    /// would be `hops` links from the master.
    LongStandbyPath {
        /// The MCU.
        mcu: McuId,
        /// Its standby parent.
        standby: McuId,
        /// Cascade links between the master and the deepest MCU of the
        /// subtree of `mcu`, through the standby.
        hops: usize,
    },
    /// A child serves the same or a higher level than its parent.
    LevelOrder {
        /// The child.
        mcu: McuId,
        /// Its level.
        level: Level,
        /// Its parent.
        parent: McuId,
        /// The parent's level.
        parent_level: Level,
    },
}

impl fmt::Display for TopologyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LongPath { mcu, hops, path } => write!(
                f,
                "endpoints of MCU {mcu} are {hops} cascade links from the master \
                 (more than {MAX_ENDPOINT_HOPS}): {path}"
            ),
            Self::LongStandbyPath { mcu, standby, hops } => write!(
                f,
                "through standby parent {standby}, endpoints of MCU {mcu} would be {hops} \
                 cascade links from the master (more than {MAX_ENDPOINT_HOPS})"
            ),
            Self::LevelOrder {
                mcu,
                level,
                parent,
                parent_level,
            } => write!(
                f,
                "MCU {mcu} ({level:?}) is not below its parent {parent} ({parent_level:?})"
            ),
        }
    }
}

/// A validated cascade tree.
#[derive(Debug, Clone)]
pub struct Topology {
    nodes: BTreeMap<McuId, McuNode>,
    root: McuId,
}

impl Topology {
    /// Validates the configured nodes; see the module page for the rules.
    /// Errors are checked in a fixed order (duplicates, unknown parents,
    /// loops, roots, standbys), so one config always gives the same error.
    pub fn new(nodes: impl IntoIterator<Item = McuNode>) -> Result<Self, TopologyError> {
        let mut map: BTreeMap<McuId, McuNode> = BTreeMap::new();
        for node in nodes {
            if let Some(prev) = map.get(&node.id) {
                if prev.parent == node.parent {
                    return Err(TopologyError::DuplicateNode(node.id));
                }
                return Err(TopologyError::SecondParent {
                    node: node.id.clone(),
                    first: ParentName(prev.parent.clone()),
                    second: ParentName(node.parent.clone()),
                });
            }
            map.insert(node.id.clone(), node);
        }
        if map.is_empty() {
            return Err(TopologyError::Empty);
        }
        for node in map.values() {
            if let Some(parent) = &node.parent
                && !map.contains_key(parent)
            {
                return Err(TopologyError::UnknownParent {
                    node: node.id.clone(),
                    parent: parent.clone(),
                });
            }
        }
        // Loops: walk up from every node; a node seen twice on one walk
        // closes a loop. Nodes already known to reach a root are skipped.
        let mut reaches_root: BTreeSet<&McuId> = BTreeSet::new();
        for start in map.keys() {
            let mut walk: Vec<&McuId> = Vec::new();
            let mut at = start;
            loop {
                if reaches_root.contains(at) {
                    break;
                }
                if let Some(pos) = walk.iter().position(|id| *id == at) {
                    // Report the loop in child → parent order from its
                    // smallest id, so the message is stable.
                    let mut nodes: Vec<McuId> =
                        walk[pos..].iter().map(|id| (*id).clone()).collect();
                    let min = nodes
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, id)| *id)
                        .map_or(0, |(i, _)| i);
                    nodes.rotate_left(min);
                    return Err(TopologyError::Loop { nodes });
                }
                walk.push(at);
                match &map[at].parent {
                    Some(parent) => at = parent,
                    None => break,
                }
            }
            reaches_root.extend(walk);
        }
        let roots: Vec<McuId> = map
            .values()
            .filter(|n| n.parent.is_none())
            .map(|n| n.id.clone())
            .collect();
        // Without a loop a finite tree has at least one root.
        if roots.len() > 1 {
            return Err(TopologyError::MultipleRoots { roots });
        }
        let root = roots[0].clone(); // invariant: loop-free and non-empty ⇒ a root exists
        let topology = Self { nodes: map, root };
        for node in topology.nodes.values() {
            let Some(standby) = &node.standby else {
                continue;
            };
            if !topology.nodes.contains_key(standby) {
                return Err(TopologyError::UnknownStandby {
                    node: node.id.clone(),
                    standby: standby.clone(),
                });
            }
            if *standby == node.id {
                return Err(TopologyError::StandbyIsSelf {
                    node: node.id.clone(),
                });
            }
            match &node.parent {
                None => {
                    return Err(TopologyError::StandbyOnRoot {
                        node: node.id.clone(),
                        standby: standby.clone(),
                    });
                }
                Some(parent) if parent == standby => {
                    return Err(TopologyError::StandbyIsParent {
                        node: node.id.clone(),
                        parent: parent.clone(),
                    });
                }
                Some(_) => {}
            }
            if topology.is_descendant(standby, &node.id) {
                return Err(TopologyError::StandbyIsDescendant {
                    node: node.id.clone(),
                    standby: standby.clone(),
                });
            }
        }
        Ok(topology)
    }

    /// The master.
    pub fn root(&self) -> &McuId {
        &self.root
    }

    /// One configured MCU.
    pub fn node(&self, id: &McuId) -> Option<&McuNode> {
        self.nodes.get(id)
    }

    /// All MCUs, by id.
    pub fn nodes(&self) -> impl Iterator<Item = &McuNode> {
        self.nodes.values()
    }

    /// The MCUs whose parent is `id`.
    pub fn children(&self, id: &McuId) -> Vec<&McuId> {
        self.nodes
            .values()
            .filter(|n| n.parent.as_ref() == Some(id))
            .map(|n| &n.id)
            .collect()
    }

    /// The MCUs a parent must accept links from: its children and the MCUs
    /// that name it as standby. Anyone else is refused.
    pub fn accepted_children(&self, id: &McuId) -> Vec<&McuId> {
        self.nodes
            .values()
            .filter(|n| n.parent.as_ref() == Some(id) || n.standby.as_ref() == Some(id))
            .map(|n| &n.id)
            .collect()
    }

    /// True when `node` lies strictly below `ancestor`.
    pub fn is_descendant(&self, node: &McuId, ancestor: &McuId) -> bool {
        let mut at = self.nodes.get(node).and_then(|n| n.parent.as_ref());
        while let Some(id) = at {
            if id == ancestor {
                return true;
            }
            at = self.nodes.get(id).and_then(|n| n.parent.as_ref());
        }
        false
    }

    /// The MCUs from the master down to `id`, both included.
    pub fn path(&self, id: &McuId) -> Option<Vec<&McuNode>> {
        let mut path = vec![self.nodes.get(id)?];
        while let Some(parent) = &path[path.len() - 1].parent {
            path.push(&self.nodes[parent]); // invariant: parents validated in new()
        }
        path.reverse();
        Some(path)
    }

    /// Cascade links between the master and `id` (0 for the master).
    pub fn hops(&self, id: &McuId) -> Option<usize> {
        self.path(id).map(|p| p.len() - 1)
    }

    /// The path as people read it: names from the master down, joined by
    /// " › " ("Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành").
    pub fn display_path(&self, id: &McuId) -> Option<String> {
        Some(
            self.path(id)?
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(PATH_SEPARATOR),
        )
    }

    /// What the tree allows but the procedure advises against, by MCU id.
    pub fn warnings(&self) -> Vec<TopologyWarning> {
        let mut out = Vec::new();
        for node in self.nodes.values() {
            let hops = self.hops(&node.id).unwrap_or(0);
            if hops > MAX_ENDPOINT_HOPS {
                out.push(TopologyWarning::LongPath {
                    mcu: node.id.clone(),
                    hops,
                    path: self.display_path(&node.id).unwrap_or_default(),
                });
            }
            if let Some(standby) = &node.standby {
                // The whole subtree moves with the node: measure its deepest MCU.
                let below = self
                    .nodes
                    .keys()
                    .filter(|d| self.is_descendant(d, &node.id))
                    .map(|d| self.hops(d).unwrap_or(0) - hops)
                    .max()
                    .unwrap_or(0);
                let via = self.hops(standby).unwrap_or(0) + 1 + below;
                if via > MAX_ENDPOINT_HOPS {
                    out.push(TopologyWarning::LongStandbyPath {
                        mcu: node.id.clone(),
                        standby: standby.clone(),
                        hops: via,
                    });
                }
            }
            if let Some(parent) = &node.parent {
                let parent_level = self.nodes[parent].level; // invariant: validated
                if node.level <= parent_level {
                    out.push(TopologyWarning::LevelOrder {
                        mcu: node.id.clone(),
                        level: node.level,
                        parent: parent.clone(),
                        parent_level,
                    });
                }
            }
        }
        out
    }
}
