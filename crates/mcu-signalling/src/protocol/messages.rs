//! The messages, as serde types.
//!
//! Every enum is internally tagged by `"type"` (snake_case variant names);
//! the `"v"` field is added and checked by [`super::parse`], not stored here.
//!
//! All payloads use `deny_unknown_fields`, in both directions: a client that
//! misspells a field (`sdpMid` for `sdp_mid`) gets `malformed_message` instead
//! of having the field silently dropped, and the test endpoints that parse
//! server messages with [`super::parse_server_message`] catch a server that
//! sends a field the spec does not have. Browser clients are told to ignore
//! unknown fields (see `docs/signalling.md`, "Compatibility"), so the server
//! may add optional fields within version 1 — this crate's parser is changed
//! in the same commit.

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use super::error::truncate_message;
use super::ids::{ConferenceId, DisplayName, EndpointId, JoinToken};

/// A message from an endpoint to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Join a conference; the first message of every session.
    Join(Join),
    /// The endpoint's SDP offer (also later, to renegotiate or restart ICE).
    Offer(Offer),
    /// One trickled ICE candidate of the endpoint.
    Candidate(IceCandidate),
    /// The endpoint has gathered all its candidates.
    EndOfCandidates(EndOfCandidates),
    /// The endpoint leaves; the server closes the socket with 1000.
    Leave {},
    /// "Request to speak": ask the chair for the floor.
    RequestFloor {},
    /// Withdraw a floor request.
    CancelFloorRequest {},
    /// The room mutes or unmutes its own microphone or camera.
    SetMute(SetMute),
    /// What the endpoint decodes of the composite it receives (about once a
    /// second): the MCU's readiness check needs it.
    ReceiverStats(ReceiverStats),
}

/// A message from the server to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The join succeeded.
    Joined(Joined),
    /// The server's SDP answer to the last offer.
    Answer(Answer),
    /// One trickled ICE candidate of the server.
    Candidate(IceCandidate),
    /// The server has sent all its candidates.
    EndOfCandidates(EndOfCandidates),
    /// Someone joined or left, or an entry changed; carries the whole roster.
    RosterChanged(RosterChanged),
    /// The picture this endpoint receives has a new layout or new tile contents.
    LayoutChanged(LayoutChanged),
    /// The active speaker changed.
    ActiveSpeakerChanged(ActiveSpeakerChanged),
    /// An operator muted or unmuted this endpoint's microphone or camera.
    OperatorMuteChanged(OperatorMuteChanged),
    /// The server took note of `request_floor` / `cancel_floor_request`.
    FloorRequestAcknowledged(FloorRequestAcknowledged),
    /// An operator granted or dismissed this endpoint's floor request.
    FloorRequestAnswered(FloorRequestAnswered),
    /// An operator recalled a camera preset of this endpoint.
    CameraPreset(CameraPreset),
    /// Something went wrong; see [`ErrorEvent::fatal`].
    Error(ErrorEvent),
}

impl ClientMessage {
    /// Every `"type"` of a client message.
    pub const TYPES: [&'static str; 9] = [
        "join",
        "offer",
        "candidate",
        "end_of_candidates",
        "leave",
        "request_floor",
        "cancel_floor_request",
        "set_mute",
        "receiver_stats",
    ];

    /// The `"type"` of this message.
    pub fn message_type(&self) -> &'static str {
        match self {
            ClientMessage::Join(_) => "join",
            ClientMessage::Offer(_) => "offer",
            ClientMessage::Candidate(_) => "candidate",
            ClientMessage::EndOfCandidates(_) => "end_of_candidates",
            ClientMessage::Leave {} => "leave",
            ClientMessage::RequestFloor {} => "request_floor",
            ClientMessage::CancelFloorRequest {} => "cancel_floor_request",
            ClientMessage::SetMute(_) => "set_mute",
            ClientMessage::ReceiverStats(_) => "receiver_stats",
        }
    }

    /// Whether the server accepts this message before the session has
    /// joined (`join`, and `leave` to give up); any other message before a
    /// successful join is answered with `not_joined`.
    pub fn allowed_before_join(&self) -> bool {
        matches!(self, ClientMessage::Join(_) | ClientMessage::Leave {})
    }

    /// The JSON text of this message, with `"v"` first, for one text frame.
    pub fn to_json(&self) -> String {
        super::parse::to_json(self)
    }
}

impl ServerMessage {
    /// Every `"type"` of a server message.
    pub const TYPES: [&'static str; 12] = [
        "joined",
        "answer",
        "candidate",
        "end_of_candidates",
        "roster_changed",
        "layout_changed",
        "active_speaker_changed",
        "operator_mute_changed",
        "floor_request_acknowledged",
        "floor_request_answered",
        "camera_preset",
        "error",
    ];

    /// The `"type"` of this message.
    pub fn message_type(&self) -> &'static str {
        match self {
            ServerMessage::Joined(_) => "joined",
            ServerMessage::Answer(_) => "answer",
            ServerMessage::Candidate(_) => "candidate",
            ServerMessage::EndOfCandidates(_) => "end_of_candidates",
            ServerMessage::RosterChanged(_) => "roster_changed",
            ServerMessage::LayoutChanged(_) => "layout_changed",
            ServerMessage::ActiveSpeakerChanged(_) => "active_speaker_changed",
            ServerMessage::OperatorMuteChanged(_) => "operator_mute_changed",
            ServerMessage::FloorRequestAcknowledged(_) => "floor_request_acknowledged",
            ServerMessage::FloorRequestAnswered(_) => "floor_request_answered",
            ServerMessage::CameraPreset(_) => "camera_preset",
            ServerMessage::Error(_) => "error",
        }
    }

    /// The JSON text of this message, with `"v"` first, for one text frame.
    pub fn to_json(&self) -> String {
        super::parse::to_json(self)
    }
}

/// `join`: which conference, who, and the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The conference to join.
    pub conference_id: ConferenceId,
    /// The endpoint joining (as registered on the MCU).
    pub endpoint_id: EndpointId,
    /// The join token the endpoint was given for this conference.
    pub token: JoinToken,
}

/// `offer`: an SDP offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The session description, at most [`MAX_SDP_BYTES`](super::MAX_SDP_BYTES).
    pub sdp: String,
}

/// `answer`: an SDP answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The session description, at most [`MAX_SDP_BYTES`](super::MAX_SDP_BYTES).
    pub sdp: String,
}

/// `candidate`: one ICE candidate, shaped like the browser's
/// `RTCIceCandidateInit` (with snake_case names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceCandidate {
    /// The candidate attribute without `a=`, e.g. `candidate:1 1 udp …`;
    /// one line (no CR or LF), at most
    /// [`MAX_CANDIDATE_BYTES`](super::MAX_CANDIDATE_BYTES).
    pub candidate: String,
    /// The media stream identification tag it belongs to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The index of the m-line it belongs to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment (tells ICE generations apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// `end_of_candidates`: no more candidates will come (for this ICE generation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndOfCandidates {
    /// The ICE username fragment of the generation that ended, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// Which medium a mute is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// The microphone / the endpoint's sound.
    Audio,
    /// The camera / the endpoint's picture.
    Video,
}

/// `set_mute`: the room mutes or unmutes its own microphone or camera.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMute {
    /// Microphone or camera.
    pub media: Media,
    /// `true` to mute, `false` to unmute.
    pub muted: bool,
}

/// `receiver_stats`: what the endpoint decoded of the video it receives, so
/// far (the MCU derives a frame rate from two reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverStats {
    /// Pictures decoded since the session started.
    pub frames_decoded: u64,
    /// Width of the last picture decoded (0: none yet).
    pub frame_width: u32,
    /// Its height.
    pub frame_height: u32,
}

/// `joined`: the answer to a successful `join`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joined {
    /// The number the server gave this session (unique in the conference
    /// while joined; at most [`MAX_PARTICIPANT_ID`](super::MAX_PARTICIPANT_ID)).
    pub participant_id: u64,
    /// The conference joined.
    pub conference_id: ConferenceId,
    /// The conference title, e.g. `Hội nghị giao ban tháng 6`, at most
    /// [`MAX_NAME_BYTES`](super::MAX_NAME_BYTES).
    pub conference_title: String,
    /// Everyone in the conference, this endpoint included.
    pub roster: Vec<RosterEntry>,
}

/// One endpoint of the roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    /// Its session number (see [`Joined::participant_id`]).
    pub participant_id: u64,
    /// Its endpoint id.
    pub endpoint_id: EndpointId,
    /// Its name, byte-exact as registered (e.g. `UBND huyện Sơn Dương`).
    pub display_name: DisplayName,
    /// Whether it is the conference's chair.
    pub chair: bool,
    /// Whether its sound is muted (by the room or by an operator).
    pub audio_muted: bool,
    /// Whether its picture is muted (by the room or by an operator).
    pub video_muted: bool,
}

/// `roster_changed`: the whole roster, replacing the previous one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterChanged {
    /// Everyone in the conference, this endpoint included.
    pub roster: Vec<RosterEntry>,
}

/// Which endpoint one tile of the layout shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileAssignment {
    /// The tile's index in the layout template (0-based).
    pub tile: u16,
    /// The endpoint shown there; `null` for an empty tile.
    pub endpoint_id: Option<EndpointId>,
}

/// `layout_changed`: the layout of the picture this endpoint receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutChanged {
    /// The layout name, e.g. `2x2`, `1+5`, `speaker+pip`.
    pub layout: String,
    /// Every tile of the layout, in tile order.
    pub tiles: Vec<TileAssignment>,
}

/// `active_speaker_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveSpeakerChanged {
    /// The endpoint now speaking; `null` when nobody is.
    pub endpoint_id: Option<EndpointId>,
}

/// `operator_mute_changed`: an operator muted or unmuted this endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorMuteChanged {
    /// Microphone or camera.
    pub media: Media,
    /// `true`: muted by the operator (the room cannot unmute it);
    /// `false`: the operator released it.
    pub muted: bool,
}

/// `floor_request_acknowledged`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorRequestAcknowledged {
    /// Whether this endpoint's floor request is now pending (`true` after
    /// `request_floor`, `false` after `cancel_floor_request`).
    pub pending: bool,
}

/// `floor_request_answered`: the operator's answer to a floor request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorRequestAnswered {
    /// `true`: the floor is given (the microphone is unmuted and the room is
    /// on the chair's main tile); `false`: the request was dismissed.
    pub granted: bool,
}

/// `camera_preset`: point the camera at a stored position. A room system
/// maps it to its camera control; a browser applies it as a digital
/// pan/zoom of its local camera.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraPreset {
    /// Preset name, e.g. "Ghế chủ tọa".
    pub name: String,
    /// Horizontal centre of the view, thousandths of the picture width (0–1000).
    pub pan: u16,
    /// Vertical centre of the view, thousandths of the picture height (0–1000).
    pub tilt: u16,
    /// Magnification in hundredths: 100 is the whole picture, 400 is 4×.
    pub zoom: u16,
}

/// `error`: a stable code, a human message, and whether the session ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEvent {
    /// The stable code; clients branch on it.
    pub code: ErrorCode,
    /// For people and logs (English); may change between releases.
    pub message: String,
    /// If `true` the server closes the socket right after this event, with
    /// the close code of [`ErrorCode::close_code`].
    pub fatal: bool,
}

impl ErrorEvent {
    /// An event for `code`, fatal as the code says, the message cut to
    /// [`MAX_ERROR_MESSAGE_BYTES`](super::MAX_ERROR_MESSAGE_BYTES).
    pub fn new(code: ErrorCode, message: impl AsRef<str>) -> Self {
        Self {
            code,
            message: truncate_message(message.as_ref()).to_owned(),
            fatal: code.is_fatal(),
        }
    }
}

impl From<ErrorEvent> for ServerMessage {
    fn from(event: ErrorEvent) -> Self {
        ServerMessage::Error(event)
    }
}
