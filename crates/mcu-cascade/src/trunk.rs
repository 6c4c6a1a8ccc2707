//! What each cascade trunk carries, as pure functions the daemon feeds to
//! the mixer.
//!
//! On every MCU a cascade link is one participant of the local conference:
//! the parent link, and one per child link. Audio is then plain N-1 over
//! those participants: whoever receives gets everything except what it sent
//! itself. Because the tree has no loops, this gives every endpoint of every
//! level every other endpoint's sound and never its own:
//!
//! - **down** a child link: local endpoints + other children + the parent
//!   link (what came from above), minus what came up from that child;
//! - **up** the parent link: local endpoints + every child link, minus what
//!   came down from the parent.
//!
//! Video is not mixed across the trunk: down goes the master's chair-view
//! composite (a slave forwards what it received from above); up goes the
//! selection, by default one endpoint full screen (1594 §II.1 step 5).

use std::collections::BTreeSet;

use crate::ids::{EndpointId, McuId};
use crate::roster::Selection;

/// One participant of an MCU's conference, as a mix source or sink.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// A local endpoint.
    Endpoint(EndpointId),
    /// A cascade link: to the parent or to a child, named by the MCU at its
    /// other end.
    Link(McuId),
}

/// A participant and whether its audio goes into mixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Who.
    pub member: Member,
    /// Muted sources are mixed for nobody.
    pub audio_muted: bool,
}

impl Participant {
    /// An unmuted participant.
    pub fn new(member: Member) -> Self {
        Self {
            member,
            audio_muted: false,
        }
    }
}

/// A trunk's direction, seen from this MCU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direction {
    /// Towards this child MCU.
    Down(McuId),
    /// Towards this parent MCU.
    Up(McuId),
}

impl Direction {
    fn link(&self) -> &McuId {
        match self {
            Self::Down(id) | Self::Up(id) => id,
        }
    }
}

/// The sources mixed into what `sink` receives: every unmuted participant
/// except `sink` itself (N-1). The same rule for endpoints and links.
pub fn audio_mix(participants: &[Participant], sink: &Member) -> BTreeSet<Member> {
    participants
        .iter()
        .filter(|p| !p.audio_muted && &p.member != sink)
        .map(|p| p.member.clone())
        .collect()
}

/// The sources mixed into the trunk towards `direction`: [`audio_mix`] for
/// that link, so what came from the link never goes back over it.
pub fn trunk_audio(participants: &[Participant], direction: &Direction) -> BTreeSet<Member> {
    audio_mix(participants, &Member::Link(direction.link().clone()))
}

/// The picture sent over a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoFeed {
    /// This MCU's chair-view composite (the master, downwards).
    ChairView,
    /// Forward the picture received on this link unchanged (a slave
    /// forwards the master's chair view down; an MCU on a call-up path
    /// forwards its child's uplink up).
    FromLink(McuId),
    /// This local endpoint, full screen.
    FullScreen(EndpointId),
    /// Nothing to show yet (no endpoint connected): a placeholder tile.
    Placeholder,
}

/// The picture for the trunk towards `direction`.
///
/// `parent` is this MCU's current parent (`None` on the master),
/// `selection` its uplink selection, and `default_endpoint` the endpoint to
/// show when nothing was selected (see `RosterTree::uplink_endpoint`).
pub fn trunk_video(
    parent: Option<&McuId>,
    selection: Option<&Selection>,
    default_endpoint: Option<&EndpointId>,
    direction: &Direction,
) -> VideoFeed {
    match direction {
        Direction::Down(_) => match parent {
            None => VideoFeed::ChairView,
            Some(p) => VideoFeed::FromLink(p.clone()),
        },
        Direction::Up(_) => match (selection, default_endpoint) {
            (Some(Selection::Local(e)), _) => VideoFeed::FullScreen(e.clone()),
            (Some(Selection::Child { child, .. }), _) => VideoFeed::FromLink(child.clone()),
            (None, Some(e)) => VideoFeed::FullScreen(e.clone()),
            (None, None) => VideoFeed::Placeholder,
        },
    }
}
