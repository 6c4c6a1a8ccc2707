//! The WebSocket signalling protocol: the wire format only.
//!
//! One JSON object per WebSocket text frame, every object tagged with its
//! `"type"` and the protocol version `"v": 1`. `docs/signalling.md` is the
//! specification with an example of every message; the tests parse those
//! examples, so the page and this module cannot drift apart.
//!
//! - [`parse_client_message`] turns one frame from an endpoint into a
//!   [`ClientMessage`], or a [`ProtocolError`] whose [`ErrorCode`] is stable
//!   and says whether the session must end ([`ErrorCode::is_fatal`]) and with
//!   which WebSocket close code ([`ErrorCode::close_code`]).
//! - [`ServerMessage::to_json`] writes one frame for an endpoint.
//! - [`ClientMessage::to_json`] and [`parse_server_message`] are the other
//!   side, for test endpoints and tools.
//!
//! Ids ([`ConferenceId`], [`EndpointId`]), names ([`DisplayName`]) and the
//! [`JoinToken`] are validated newtypes: a value of those types is always
//! within the documented limits. Nothing here knows about conferences,
//! participants or media: the daemon converts to domain types at the edge.
//!
//! ```
//! use mcu_signalling::protocol::{parse_client_message, ClientMessage, ErrorCode};
//!
//! let frame = r#"{"v":1,"type":"join","conference_id":"hop-giao-ban-2025-06",
//!                 "endpoint_id":"ubnd-son-duong","token":"eyJhbGciOi.x.y"}"#;
//! let ClientMessage::Join(join) = parse_client_message(frame)? else { unreachable!() };
//! assert_eq!(join.endpoint_id.as_str(), "ubnd-son-duong");
//!
//! let err = parse_client_message(r#"{"v":2,"type":"leave"}"#).unwrap_err();
//! assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
//! assert!(err.code().is_fatal());
//! # Ok::<(), mcu_signalling::protocol::ProtocolError>(())
//! ```

mod error;
mod ids;
mod messages;
mod parse;

pub use error::{CloseCode, ErrorCode, ProtocolError};
pub use ids::{ConferenceId, DisplayName, EndpointId, FieldError, JoinToken};
pub use messages::{
    ActiveSpeakerChanged, Answer, CameraPreset, ClientMessage, EndOfCandidates, ErrorEvent,
    FloorRequestAcknowledged, FloorRequestAnswered, IceCandidate, Join, Joined, LayoutChanged,
    Media, Offer, OperatorMuteChanged, ReceiverStats, RosterChanged, RosterEntry, ServerMessage,
    SetMute, TileAssignment,
};
pub use parse::{parse_client_message, parse_server_message};

/// The protocol version this crate speaks; every message carries it as `"v"`.
pub const PROTOCOL_VERSION: u64 = 1;

/// Largest client frame accepted, in bytes (checked before any parsing).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest server frame [`parse_server_message`] accepts, in bytes (a roster
/// of a few hundred endpoints fits).
pub const MAX_SERVER_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest SDP (offer or answer), in bytes after JSON unescaping.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Largest conference or endpoint id, in bytes (ids are ASCII).
pub const MAX_ID_BYTES: usize = 64;
/// Largest join token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Largest ICE candidate attribute (`candidate:…`), in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Largest `sdp_mid` or `username_fragment`, in bytes.
pub const MAX_ICE_FIELD_BYTES: usize = 256;
/// Largest display name or conference title, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 256;
/// Largest layout name, in bytes.
pub const MAX_LAYOUT_NAME_BYTES: usize = 64;
/// Largest human message of an `error` event, in bytes (longer ones are cut).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;
/// Largest `participant_id`: 2^53 − 1, the largest integer a JavaScript
/// number holds exactly.
pub const MAX_PARTICIPANT_ID: u64 = (1 << 53) - 1;
