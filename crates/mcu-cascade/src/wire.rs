//! The cascade link protocol, version 1: the wire format only.
//!
//! One JSON object per message (one data-channel message or one WebSocket
//! text frame), tagged with `"type"` and the version `"v": 1`.
//! `docs/cascade.md` is the specification, with an example of every
//! message; `tests/wire_format.rs` parses those examples, so the page and
//! this module cannot drift apart.
//!
//! [`UpMessage`]s go from a child MCU to its parent, [`DownMessage`]s from a
//! parent to a child. Receivers ignore fields they do not know (a sender may
//! add optional fields within version 1); a message with another `v` is
//! refused before anything else is read.
//!
//! ```
//! use mcu_cascade::wire::{parse_down, DownMessage, WireError};
//!
//! let msg = parse_down(r#"{"v":1,"type":"ping","seq":7}"#)?;
//! assert_eq!(msg, DownMessage::Ping { seq: 7 });
//! assert_eq!(msg.to_json(), r#"{"v":1,"type":"ping","seq":7}"#);
//!
//! let err = parse_down(r#"{"v":2,"type":"ping","seq":7}"#).unwrap_err();
//! assert_eq!(err, WireError::UnsupportedVersion(2));
//! # Ok::<(), WireError>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{Nonce, Proof};
use crate::ids::{ConferenceId, EndpointId, McuId, RequestId};
use crate::topology::Level;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// Largest message accepted, in bytes (checked before parsing). A roster of
/// a whole province (thousands of endpoints) fits.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is larger than {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// Not a JSON object, no numeric `v`, unknown `type`, or a field of the
    /// wrong shape.
    #[error("malformed cascade message: {0}")]
    Malformed(String),
    /// A `v` other than [`PROTOCOL_VERSION`].
    #[error("cascade protocol version {0} is not supported (this MCU speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u64),
}

/// A message from a child MCU to its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UpMessage {
    /// First message on a new connection: who is dialling, for which
    /// conference, and the child's challenge for the parent.
    Hello {
        /// The link id: the child's MCU id.
        link: McuId,
        /// The booking whose conferences this trunk joins.
        conference: ConferenceId,
        /// The child's challenge; the parent proves itself over it.
        nonce: Nonce,
    },
    /// First message on a child's bookings subscription (`GET /cascade`,
    /// no conference): who is dialling and its challenge. The handshake
    /// then runs as for a conference link (`challenge`, `auth`, `welcome`),
    /// with proofs under the subscription's own labels; afterwards the
    /// parent sends `bookings`.
    Subscribe {
        /// The link id: the child's MCU id.
        link: McuId,
        /// The child's challenge; the parent proves itself over it.
        nonce: Nonce,
    },
    /// The child's answer to the parent's `challenge`.
    Auth {
        /// HMAC-SHA256 proof (see `docs/cascade.md`).
        proof: Proof,
    },
    /// The child's whole subtree: every MCU below it and every endpoint.
    /// Sent after `welcome` and whenever it changes; each one replaces the
    /// previous.
    Roster(Roster),
    /// Which endpoint the child's uplink video carries now. Sent after every
    /// `welcome` (so a parent that lost the link learns the selection again)
    /// and after every change.
    Uplink {
        /// The carried endpoint; `null` for the default.
        endpoint: Option<EndpointId>,
    },
    /// An endpoint of the subtree raised or lowered its hand.
    FloorRequest {
        /// The endpoint.
        endpoint: EndpointId,
        /// `true`: asks for the floor; `false`: withdraws.
        raised: bool,
    },
    /// The outcome of a `command`.
    Reply {
        /// The command's `request_id`.
        request_id: RequestId,
        /// `null` when done; the reason otherwise.
        error: Option<CommandError>,
    },
    /// The trunk's media: the child's WebRTC offer (DTLS-SRTP, one H.264
    /// and one Opus track each way). Sent after every `welcome`; the parent
    /// answers with `answer`. A new offer replaces the trunk's session.
    Offer {
        /// The SDP offer.
        sdp: String,
    },
    /// Keepalive; the parent answers `pong` with the same `seq`.
    Ping {
        /// Echoed.
        seq: u64,
    },
    /// Answer to the parent's `ping`.
    Pong {
        /// The `seq` of the `ping`.
        seq: u64,
    },
}

/// A message from a parent MCU to a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DownMessage {
    /// The parent's answer to `hello`: its own challenge.
    Challenge {
        /// The parent's challenge; the child proves itself over it.
        nonce: Nonce,
    },
    /// The child is accepted; the parent proves itself in turn.
    Welcome {
        /// HMAC-SHA256 proof (see `docs/cascade.md`).
        proof: Proof,
    },
    /// The link is refused; the parent closes the connection after it.
    Refused {
        /// Why.
        code: RefusedCode,
    },
    /// On a bookings subscription: every conference of the parent that
    /// names the child's link and is not over, so the child opens its
    /// counterpart and follows its phases. Sent after `welcome`, whenever
    /// the list changes, and at least every 10 s; each replaces the last.
    Bookings {
        /// The conferences, by id.
        conferences: Vec<BookedConference>,
    },
    /// A command for an endpoint of the child's subtree.
    Command {
        /// Chosen by the parent, unique per link; the `reply` carries it.
        request_id: RequestId,
        /// What to do.
        command: Command,
    },
    /// The parent's answer to the trunk's `offer`.
    Answer {
        /// The SDP answer; `null` when the parent could not take the offer.
        sdp: Option<String>,
        /// Why not, in words, when `sdp` is `null`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Keepalive; the child answers `pong` with the same `seq`.
    Ping {
        /// Echoed.
        seq: u64,
    },
    /// Answer to the child's `ping`.
    Pong {
        /// The `seq` of the `ping`.
        seq: u64,
    },
}

/// Why a parent refuses a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusedCode {
    /// Unknown link id or wrong proof: the same answer for both, so that a
    /// stranger learns nothing about the configured links.
    AuthFailed,
    /// A message other than the handshake's next one.
    ProtocolViolation,
    /// The handshake took too long.
    HandshakeTimeout,
}

/// A command that travels down the tree to the MCU owning an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// Carry this endpoint's picture (full screen) and keep its sound in the
    /// uplink: the owning MCU and every MCU on the path switch their uplink
    /// selection to it ("call endpoint X to the chair").
    SelectUplink {
        /// The endpoint.
        endpoint: EndpointId,
    },
    /// Mute or unmute an endpoint's audio or video (operator mute).
    SetMute {
        /// The endpoint.
        endpoint: EndpointId,
        /// Which medium.
        media: Media,
        /// `true` mutes.
        muted: bool,
    },
    /// Recall a camera preset (R6) that the owning MCU stores for the
    /// endpoint, by name (the names travel in the roster, `presets`).
    RecallPreset {
        /// The endpoint.
        endpoint: EndpointId,
        /// The preset's name, e.g. "Ghế chủ tọa" (at most 64 characters).
        preset: String,
    },
    /// The master's operator answered the endpoint's floor request: the
    /// owning MCU takes it out of its queue and tells the endpoint. (A
    /// granted request is also called to the chair, with `select_uplink`.)
    AnswerFloor {
        /// The endpoint.
        endpoint: EndpointId,
        /// Granted (`true`) or dismissed.
        granted: bool,
    },
}

impl Command {
    /// The endpoint the command is for.
    pub fn endpoint(&self) -> &EndpointId {
        match self {
            Self::SelectUplink { endpoint }
            | Self::SetMute { endpoint, .. }
            | Self::RecallPreset { endpoint, .. }
            | Self::AnswerFloor { endpoint, .. } => endpoint,
        }
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// Microphone.
    Audio,
    /// Camera.
    Video,
}

/// Why a command failed; the MCU that found the problem fills it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code:?} for endpoint {endpoint} at MCU {at}")]
pub struct CommandError {
    /// Stable code.
    pub code: CommandErrorCode,
    /// The endpoint the command named.
    pub endpoint: EndpointId,
    /// The MCU that answered.
    pub at: McuId,
}

/// Stable codes of [`CommandError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandErrorCode {
    /// No endpoint of that id in this MCU's subtree.
    UnknownEndpoint,
    /// The endpoint is known (booked) but not connected now.
    EndpointNotConnected,
    /// The endpoint is behind a link that is down (reconnecting).
    LinkDown,
    /// The link below did not reply in time.
    Timeout,
    /// The MCU that owns the endpoint cannot do this (yet).
    Unsupported,
    /// The MCU that owns the endpoint tried and failed (its media stopped …).
    Failed,
    /// The owning MCU stores no camera preset of that name for the endpoint.
    UnknownPreset,
}

/// A subtree as a child publishes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Roster {
    /// The publishing MCU and every MCU below it.
    pub mcus: Vec<RosterMcu>,
    /// Every endpoint of the subtree.
    pub endpoints: Vec<RosterEntry>,
}

/// One MCU of a published subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterMcu {
    /// Its id.
    pub id: McuId,
    /// Display name.
    pub name: String,
    /// Level served.
    pub level: Level,
    /// Its parent within the tree (`null` for the publishing MCU itself).
    pub parent: Option<McuId>,
    /// State of its link up to `parent` (always `up` for the publisher).
    pub link: LinkState,
}

/// A conference of the parent that names a child's link, as `bookings`
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedConference {
    /// The parent's conference id.
    pub conference: ConferenceId,
    /// Its title, with diacritics.
    pub title: String,
    /// Its phase: `created`, `rehearsal`, `ready_check`, `live`, `ended` or
    /// `reported` (a receiver treats a phase it does not know as `created`).
    pub state: String,
}

/// The state of one cascade link as rosters show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Authenticated and carrying media.
    Up,
    /// Dropped; the child redials (the parent shows a "reconnecting" tile).
    Reconnecting,
}

/// One endpoint of a published subtree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// The endpoint.
    pub endpoint: EndpointId,
    /// Display name.
    pub name: String,
    /// The MCU the endpoint is connected to (its owner).
    pub mcu: McuId,
    /// Live state.
    pub state: EndpointState,
}

/// The live state of an endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EndpointState {
    /// Connected to its MCU now.
    pub connected: bool,
    /// Audio muted (by the operator or the room).
    pub audio_muted: bool,
    /// Video muted (by the operator or the room).
    pub video_muted: bool,
    /// Has asked for the floor.
    pub floor_requested: bool,
    /// Last measured quality; `null` before the first report.
    pub quality: Option<Quality>,
    /// Names of the camera presets its MCU stores for it (R6), which a
    /// `recall_preset` may name; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presets: Vec<String>,
}

/// Connection quality of an endpoint, as its MCU measures it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Quality {
    /// Round-trip time, milliseconds.
    pub rtt_ms: u32,
    /// Packet loss, percent.
    pub loss_percent: f32,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: u32,
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u64,
    #[serde(flatten)]
    body: &'a T,
}

fn to_json<T: Serialize>(body: &T) -> String {
    // Serialising these types cannot fail: string keys, no maps with
    // non-string keys, no non-finite floats other than in `Quality`, which
    // serde_json writes as null.
    serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        body,
    })
    .unwrap_or_default()
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, WireError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(text.len()));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(WireError::Malformed("not a JSON object".into()));
    };
    match object.get("v").and_then(Value::as_u64) {
        Some(PROTOCOL_VERSION) => {}
        Some(v) => return Err(WireError::UnsupportedVersion(v)),
        None => return Err(WireError::Malformed("no numeric \"v\"".into())),
    }
    serde_json::from_value(value).map_err(|e| WireError::Malformed(e.to_string()))
}

impl UpMessage {
    /// One message as sent.
    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

impl DownMessage {
    /// One message as sent.
    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

/// Reads one message a child sent (on the parent side).
pub fn parse_up(text: &str) -> Result<UpMessage, WireError> {
    parse(text)
}

/// Reads one message a parent sent (on the child side).
pub fn parse_down(text: &str) -> Result<DownMessage, WireError> {
    parse(text)
}
