//! Who is in which conference: join checks (conference, endpoint, token),
//! participant ids, the roster. Plain data, no I/O: the WebSocket sessions in
//! `server.rs` call it under a lock and broadcast what it returns.

use std::collections::BTreeMap;

use mcu_control::ReceiverFigures;
use mcu_signalling::protocol::{
    ConferenceId, DisplayName, EndpointId, ErrorCode, JoinToken, Media, ReceiverStats, RosterEntry,
};

use crate::config::{ConferenceConfig, Config};

/// One conference's allowed endpoints and current members.
#[derive(Debug)]
pub struct Room {
    /// Title shown to participants.
    pub title: DisplayName,
    /// Layout of the participants' view.
    pub layout: String,
    chair: Option<EndpointId>,
    allowed: BTreeMap<EndpointId, (DisplayName, Credential)>,
    members: BTreeMap<EndpointId, Member>,
    /// Pending floor requests in the order they came, with their time (Unix ms).
    floor: Vec<(EndpointId, i64)>,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    participant_id: u64,
    audio_muted: bool,
    video_muted: bool,
    /// Its last `receiver_stats`: when (Unix ms), pictures decoded so far.
    last_report: Option<(i64, u64)>,
    /// What it decodes of the composite, from its last two reports.
    receiver: Option<ReceiverFigures>,
}

/// How an invited endpoint proves itself.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A join token from the config file.
    Token(JoinToken),
    /// The SHA-256 (hex) of a dial-in token issued through the control API.
    Sha256(String),
    /// No token issued yet: the endpoint cannot join.
    None,
}

impl Credential {
    fn accepts(&self, token: &JoinToken) -> bool {
        match self {
            Credential::Token(t) => same_secret(t.as_str(), token.as_str()),
            Credential::Sha256(h) => same_secret(h, &mcu_control::auth::token_hash(token.as_str())),
            Credential::None => false,
        }
    }
}

/// Why a join was refused (each maps to a stable protocol error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// No conference with that id.
    #[error("unknown conference")]
    UnknownConference,
    /// The endpoint is not invited or its token is wrong (not told apart, so
    /// the error does not reveal which endpoint ids exist).
    #[error("endpoint id or join token not accepted")]
    BadToken,
    /// That endpoint is already in the conference.
    #[error("this endpoint is already in the conference")]
    AlreadyJoined,
}

impl JoinError {
    /// The protocol error code.
    pub fn code(self) -> ErrorCode {
        match self {
            JoinError::UnknownConference => ErrorCode::UnknownConference,
            JoinError::BadToken => ErrorCode::BadToken,
            JoinError::AlreadyJoined => ErrorCode::AlreadyJoined,
        }
    }
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

impl Room {
    fn from_config(c: &ConferenceConfig) -> Self {
        Self {
            title: c.title.clone(),
            layout: c.layout.clone(),
            chair: c.chair.clone(),
            allowed: c
                .endpoints
                .iter()
                .map(|e| {
                    (
                        e.id.clone(),
                        (e.name.clone(), Credential::Token(e.token.clone())),
                    )
                })
                .collect(),
            members: BTreeMap::new(),
            floor: Vec::new(),
        }
    }

    /// A room opened through the control API.
    pub fn new(
        title: DisplayName,
        layout: String,
        chair: Option<EndpointId>,
        allowed: impl IntoIterator<Item = (EndpointId, DisplayName, Credential)>,
    ) -> Self {
        Self {
            title,
            layout,
            chair,
            allowed: allowed.into_iter().map(|(id, n, c)| (id, (n, c))).collect(),
            members: BTreeMap::new(),
            floor: Vec::new(),
        }
    }

    /// Pending floor requests, oldest first, with their time (Unix ms).
    pub fn floor_queue(&self) -> &[(EndpointId, i64)] {
        &self.floor
    }

    /// Queues a member's floor request (once); false if it is not a member.
    pub fn request_floor(&mut self, endpoint: &EndpointId, at_ms: i64) -> bool {
        if !self.members.contains_key(endpoint) {
            return false;
        }
        if !self.floor.iter().any(|(e, _)| e == endpoint) {
            self.floor.push((endpoint.clone(), at_ms));
        }
        true
    }

    /// Takes a request out of the queue; false if it was not pending.
    pub fn cancel_floor(&mut self, endpoint: &EndpointId) -> bool {
        let before = self.floor.len();
        self.floor.retain(|(e, _)| e != endpoint);
        self.floor.len() != before
    }

    /// Whether `endpoint` is the chair.
    pub fn is_chair(&self, endpoint: &EndpointId) -> bool {
        self.chair.as_ref() == Some(endpoint)
    }

    /// The endpoint of a connected member's participant id.
    pub fn endpoint_of(&self, participant: u64) -> Option<&EndpointId> {
        self.members
            .iter()
            .find(|(_, m)| m.participant_id == participant)
            .map(|(e, _)| e)
    }

    /// The participant id of a connected member.
    pub fn participant_of(&self, endpoint: &EndpointId) -> Option<u64> {
        self.members.get(endpoint).map(|m| m.participant_id)
    }

    /// The display name of an invited endpoint.
    pub fn name_of(&self, endpoint: &EndpointId) -> Option<&DisplayName> {
        self.allowed.get(endpoint).map(|(n, _)| n)
    }

    /// The roster, in endpoint-id order.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.members
            .iter()
            .filter_map(|(id, m)| {
                let (name, _) = self.allowed.get(id)?;
                Some(RosterEntry {
                    participant_id: m.participant_id,
                    endpoint_id: id.clone(),
                    display_name: name.clone(),
                    chair: self.chair.as_ref() == Some(id),
                    audio_muted: m.audio_muted,
                    video_muted: m.video_muted,
                })
            })
            .collect()
    }

    /// Every invited endpoint with its live state, for the cascade roster
    /// (an invited endpoint that has not joined is listed, not connected).
    pub fn cascade_roster(&self) -> Vec<CascadeRosterEntry> {
        self.allowed
            .iter()
            .map(|(id, (name, _))| {
                let member = self.members.get(id);
                CascadeRosterEntry {
                    endpoint: id.clone(),
                    name: name.as_str().to_owned(),
                    connected: member.is_some(),
                    audio_muted: member.is_some_and(|m| m.audio_muted),
                    video_muted: member.is_some_and(|m| m.video_muted),
                    floor_requested: self.floor.iter().any(|(e, _)| e == id),
                }
            })
            .collect()
    }

    /// Takes a member's report of what it decodes (`receiver_stats`) at
    /// `at_ms`; the frame rate comes from this report and the one before
    /// (a counter that went back, a new decoder, counts from zero again).
    /// False if it is not a member.
    pub fn receiver_report(
        &mut self,
        endpoint: &EndpointId,
        at_ms: i64,
        stats: &ReceiverStats,
    ) -> bool {
        let Some(m) = self.members.get_mut(endpoint) else {
            return false;
        };
        if let Some((then, frames)) = m.last_report
            && at_ms > then
        {
            let decoded = stats.frames_decoded.saturating_sub(frames);
            m.receiver = Some(ReceiverFigures {
                decoded_fps: decoded as f64 * 1000.0 / (at_ms - then) as f64,
                width: stats.frame_width,
                height: stats.frame_height,
                at_ms,
            });
        }
        m.last_report = Some((at_ms, stats.frames_decoded));
        true
    }

    /// What a member last reported it decodes of the composite.
    pub fn receiver(&self, endpoint: &EndpointId) -> Option<ReceiverFigures> {
        self.members.get(endpoint).and_then(|m| m.receiver)
    }

    /// Sets the room-side mute of a member; false if it is not a member.
    pub fn set_mute(&mut self, endpoint: &EndpointId, media: Media, muted: bool) -> bool {
        match self.members.get_mut(endpoint) {
            Some(m) => {
                match media {
                    Media::Audio => m.audio_muted = muted,
                    Media::Video => m.video_muted = muted,
                }
                true
            }
            None => false,
        }
    }
}

/// One invited endpoint as the cascade roster lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CascadeRosterEntry {
    /// Endpoint id.
    pub endpoint: EndpointId,
    /// Display name.
    pub name: String,
    /// Joined now.
    pub connected: bool,
    /// Audio muted.
    pub audio_muted: bool,
    /// Video muted.
    pub video_muted: bool,
    /// Waiting for the floor.
    pub floor_requested: bool,
}

/// Every conference of the daemon.
#[derive(Debug)]
pub struct Registry {
    rooms: BTreeMap<ConferenceId, Room>,
    next_participant: u64,
}

impl Registry {
    /// The conferences of a configuration, all empty.
    pub fn from_config(config: &Config) -> Self {
        Self {
            rooms: config
                .conferences
                .iter()
                .map(|c| (c.id.clone(), Room::from_config(c)))
                .collect(),
            next_participant: 1,
        }
    }

    /// A participant id for a participant that is no endpoint of the
    /// roster (a cascade link's trunk).
    pub fn new_participant_id(&mut self) -> u64 {
        let id = self.next_participant;
        self.next_participant += 1;
        id
    }

    /// The room of a conference.
    pub fn room(&self, id: &ConferenceId) -> Option<&Room> {
        self.rooms.get(id)
    }

    /// Admits an endpoint; returns its participant id. Nothing changes on error.
    pub fn join(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
        token: &JoinToken,
    ) -> Result<u64, JoinError> {
        let room = self
            .rooms
            .get_mut(conference)
            .ok_or(JoinError::UnknownConference)?;
        let accepted = room
            .allowed
            .get(endpoint)
            .is_some_and(|(_, c)| c.accepts(token));
        if !accepted {
            return Err(JoinError::BadToken);
        }
        self.admit(conference, endpoint)
    }

    /// Adds an invited endpoint as a member, after its credential was checked.
    fn admit(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
    ) -> Result<u64, JoinError> {
        let room = self
            .rooms
            .get_mut(conference)
            .ok_or(JoinError::UnknownConference)?;
        if room.members.contains_key(endpoint) {
            return Err(JoinError::AlreadyJoined);
        }
        let participant_id = self.next_participant;
        self.next_participant += 1;
        room.members.insert(
            endpoint.clone(),
            Member {
                participant_id,
                audio_muted: false,
                video_muted: false,
                last_report: None,
                receiver: None,
            },
        );
        Ok(participant_id)
    }

    /// Admits an invited endpoint on the daemon's own behalf (a synthetic
    /// room of the demo), without its token.
    pub fn join_local(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
    ) -> Result<u64, JoinError> {
        let invited = self
            .rooms
            .get(conference)
            .ok_or(JoinError::UnknownConference)?
            .allowed
            .contains_key(endpoint);
        if !invited {
            return Err(JoinError::BadToken);
        }
        self.admit(conference, endpoint)
    }

    /// Opens a room (a conference started through the control API); false
    /// if one with that id is open already.
    pub fn add_room(&mut self, id: ConferenceId, room: Room) -> bool {
        if self.rooms.contains_key(&id) {
            return false;
        }
        self.rooms.insert(id, room);
        true
    }

    /// Closes a room; returns it with its members.
    pub fn remove_room(&mut self, id: &ConferenceId) -> Option<Room> {
        self.rooms.remove(id)
    }

    /// Removes a member whatever its session (an operator's disconnect);
    /// returns its participant id.
    pub fn remove_member(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
    ) -> Option<u64> {
        let room = self.rooms.get_mut(conference)?;
        room.cancel_floor(endpoint);
        room.members.remove(endpoint).map(|m| m.participant_id)
    }

    /// A conference's room, to change.
    pub fn room_mut(&mut self, id: &ConferenceId) -> Option<&mut Room> {
        self.rooms.get_mut(id)
    }

    /// Removes a member (if that participant is still the member); true if removed.
    pub fn leave(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
        participant_id: u64,
    ) -> bool {
        let Some(room) = self.rooms.get_mut(conference) else {
            return false;
        };
        if room
            .members
            .get(endpoint)
            .is_some_and(|m| m.participant_id == participant_id)
        {
            room.members.remove(endpoint);
            room.cancel_floor(endpoint);
            return true;
        }
        false
    }

    /// Room-side mute of a member.
    pub fn set_mute(
        &mut self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
        media: Media,
        muted: bool,
    ) -> bool {
        self.rooms
            .get_mut(conference)
            .is_some_and(|r| r.set_mute(endpoint, media, muted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (Registry, Config) {
        let mut n = 0;
        let config = Config::embedded_default(|| {
            n += 1;
            format!("token-number-{n:04}-abcdef")
        })
        .unwrap();
        (Registry::from_config(&config), config)
    }

    fn ids(c: &Config, e: usize) -> (ConferenceId, EndpointId, JoinToken) {
        let conf = &c.conferences[0];
        let ep = &conf.endpoints[e];
        (conf.id.clone(), ep.id.clone(), ep.token.clone())
    }

    #[test]
    fn join_checks_conference_endpoint_and_token() {
        let (mut r, c) = registry();
        let (conf, ep, token) = ids(&c, 1);
        let wrong = JoinToken::new("token-number-0001-abcdef").unwrap();
        assert_eq!(r.join(&conf, &ep, &wrong), Err(JoinError::BadToken));
        let stranger = EndpointId::new("xa-la").unwrap();
        assert_eq!(r.join(&conf, &stranger, &token), Err(JoinError::BadToken));
        let nowhere = ConferenceId::new("khong-co").unwrap();
        assert_eq!(
            r.join(&nowhere, &ep, &token),
            Err(JoinError::UnknownConference)
        );
        assert!(
            r.room(&conf).unwrap().roster().is_empty(),
            "refusals change nothing"
        );
        let pid = r.join(&conf, &ep, &token).unwrap();
        assert_eq!(r.join(&conf, &ep, &token), Err(JoinError::AlreadyJoined));
        let roster = r.room(&conf).unwrap().roster();
        assert_eq!(roster.len(), 1);
        assert_eq!(roster[0].participant_id, pid);
        assert_eq!(roster[0].display_name.as_str(), "UBND huyện Sơn Dương");
    }

    #[test]
    fn roster_marks_the_chair_and_mutes_and_leave_frees_the_endpoint() {
        let (mut r, c) = registry();
        let (conf, chair, t0) = ids(&c, 0);
        let (_, other, t1) = ids(&c, 2);
        let p0 = r.join(&conf, &chair, &t0).unwrap();
        let p1 = r.join(&conf, &other, &t1).unwrap();
        assert_ne!(p0, p1);
        assert!(r.set_mute(&conf, &other, Media::Audio, true));
        let roster = r.room(&conf).unwrap().roster();
        assert!(roster.iter().any(|e| e.chair && e.endpoint_id == chair));
        assert!(
            roster
                .iter()
                .any(|e| e.audio_muted && e.endpoint_id == other)
        );
        // A stale session cannot remove the endpoint's newer session.
        assert!(!r.leave(&conf, &other, p0));
        assert!(r.leave(&conf, &other, p1));
        assert!(
            r.join(&conf, &other, &t1).is_ok(),
            "can rejoin after leaving"
        );
    }

    #[test]
    fn floor_requests_queue_in_order_once_and_leave_with_the_member() {
        let (mut r, c) = registry();
        let (conf, a, ta) = ids(&c, 1);
        let (_, b, tb) = ids(&c, 2);
        let pa = r.join(&conf, &a, &ta).unwrap();
        r.join(&conf, &b, &tb).unwrap();
        let room = r.room_mut(&conf).unwrap();
        assert!(room.request_floor(&b, 10));
        assert!(room.request_floor(&a, 20));
        assert!(
            room.request_floor(&b, 30),
            "a second request keeps the first place"
        );
        let order: Vec<_> = room
            .floor_queue()
            .iter()
            .map(|(e, t)| (e.clone(), *t))
            .collect();
        assert_eq!(order, [(b.clone(), 10), (a.clone(), 20)]);
        assert!(
            !room.request_floor(&EndpointId::new("xa-la").unwrap(), 40),
            "members only"
        );
        assert!(r.leave(&conf, &a, pa));
        assert_eq!(r.room(&conf).unwrap().floor_queue().len(), 1);
        assert!(r.room_mut(&conf).unwrap().cancel_floor(&b));
        assert!(!r.room_mut(&conf).unwrap().cancel_floor(&b));
    }

    #[test]
    fn receiver_reports_give_a_decoded_frame_rate_from_two_of_them() {
        let (mut reg, c) = registry();
        let (conf, e, token) = ids(&c, 0);
        reg.join(&conf, &e, &token).unwrap();
        let stats = |frames_decoded| ReceiverStats {
            frames_decoded,
            frame_width: 1280,
            frame_height: 720,
        };
        let room = reg.room_mut(&conf).unwrap();
        assert!(room.receiver_report(&e, 1_000, &stats(100)));
        assert_eq!(room.receiver(&e), None, "one report gives no rate");
        assert!(room.receiver_report(&e, 3_000, &stats(150)));
        let r = room.receiver(&e).unwrap();
        assert_eq!(
            (r.decoded_fps, r.width, r.height, r.at_ms),
            (25.0, 1280, 720, 3_000)
        );
        // A counter that starts again counts as nothing decoded, not a huge rate.
        assert!(room.receiver_report(&e, 4_000, &stats(10)));
        assert_eq!(room.receiver(&e).unwrap().decoded_fps, 0.0);
        let stranger = EndpointId::new("khong-moi").unwrap();
        assert!(!room.receiver_report(&stranger, 5_000, &stats(1)));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
