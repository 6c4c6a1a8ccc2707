//! Stable error codes, close codes and the parse error.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::FieldError;
use super::{MAX_ERROR_MESSAGE_BYTES, PROTOCOL_VERSION};

/// The stable code of an `error` event. The snake_case name is the wire
/// form; clients branch on it (the human message may change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is not a JSON object of a known shape: bad JSON, a missing
    /// or unknown field, a value of the wrong type.
    MalformedMessage,
    /// The frame is longer than [`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES).
    MessageTooLarge,
    /// A field is longer than its limit (SDP, id, token, candidate, …).
    FieldTooLarge,
    /// A field's value is outside its allowed set (id characters, empty
    /// name, a line break in a candidate, …).
    InvalidField,
    /// `"v"` is not a version the server speaks.
    UnsupportedVersion,
    /// `"type"` names no message of this version.
    UnknownMessageType,
    /// No open conference has this id.
    UnknownConference,
    /// The join token is wrong, expired or not for this endpoint and conference.
    BadToken,
    /// A second `join` on a session that has joined.
    AlreadyJoined,
    /// A message that needs a joined session arrived before `join` succeeded.
    NotJoined,
    /// The offer has no codec the MCU can use (H.264 Constrained Baseline, Opus).
    NoUsableCodec,
    /// A fault in the server; the session ends.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the table in `docs/signalling.md`.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::MalformedMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::FieldTooLarge,
        ErrorCode::InvalidField,
        ErrorCode::UnsupportedVersion,
        ErrorCode::UnknownMessageType,
        ErrorCode::UnknownConference,
        ErrorCode::BadToken,
        ErrorCode::AlreadyJoined,
        ErrorCode::NotJoined,
        ErrorCode::NoUsableCodec,
        ErrorCode::Internal,
    ];

    /// The wire name, e.g. `"bad_token"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedMessage => "malformed_message",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::FieldTooLarge => "field_too_large",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnknownMessageType => "unknown_message_type",
            ErrorCode::UnknownConference => "unknown_conference",
            ErrorCode::BadToken => "bad_token",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::NoUsableCodec => "no_usable_codec",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether the server ends the session after sending this error: it
    /// sends the `error` event, then closes the socket with
    /// [`close_code`](Self::close_code). A non-fatal error refuses only the
    /// one message; the session goes on.
    pub fn is_fatal(self) -> bool {
        self.close_code().is_some()
    }

    /// The WebSocket close code that follows a fatal error; `None` for a
    /// non-fatal one.
    pub fn close_code(self) -> Option<CloseCode> {
        match self {
            ErrorCode::MessageTooLarge => Some(CloseCode::MESSAGE_TOO_BIG),
            ErrorCode::Internal => Some(CloseCode::INTERNAL_ERROR),
            ErrorCode::UnsupportedVersion => Some(CloseCode::UNSUPPORTED_VERSION),
            ErrorCode::UnknownConference => Some(CloseCode::UNKNOWN_CONFERENCE),
            ErrorCode::BadToken => Some(CloseCode::BAD_TOKEN),
            ErrorCode::NoUsableCodec => Some(CloseCode::NO_USABLE_CODEC),
            ErrorCode::MalformedMessage
            | ErrorCode::FieldTooLarge
            | ErrorCode::InvalidField
            | ErrorCode::UnknownMessageType
            | ErrorCode::AlreadyJoined
            | ErrorCode::NotJoined => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WebSocket close code (RFC 6455 §7.4) the server uses. The close frame's
/// reason is the error code's wire name (at most 123 bytes, as RFC 6455 allows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the session ended normally (after `leave`).
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is shutting down.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1009: `message_too_large`.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: `internal`.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 4001: `unsupported_version`.
    pub const UNSUPPORTED_VERSION: CloseCode = CloseCode(4001);
    /// 4002: `unknown_conference`.
    pub const UNKNOWN_CONFERENCE: CloseCode = CloseCode(4002);
    /// 4003: `bad_token`.
    pub const BAD_TOKEN: CloseCode = CloseCode(4003);
    /// 4004: `no_usable_codec`.
    pub const NO_USABLE_CODEC: CloseCode = CloseCode(4004);
}

/// Why a frame could not be parsed. Each variant maps to one [`ErrorCode`];
/// [`ProtocolError::to_error_event`] gives the event to send back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame is over the size limit (checked before parsing).
    #[error("message is {len} bytes; the limit is {max}")]
    MessageTooLarge {
        /// Frame length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Not JSON, not an object, a missing or unknown field, a wrong type.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// `"v"` is a number other than [`PROTOCOL_VERSION`].
    #[error(
        "protocol version {got} is not supported; this server speaks version {PROTOCOL_VERSION}"
    )]
    UnsupportedVersion {
        /// The version the peer sent, as its JSON text (cut to 32 bytes).
        got: String,
    },
    /// `"type"` names no message of this version.
    #[error("unknown message type {got:?}")]
    UnknownType {
        /// The type the peer sent (cut to 32 bytes).
        got: String,
    },
    /// A field broke its rule.
    #[error("field `{field}`: {error}")]
    Field {
        /// The JSON field name.
        field: &'static str,
        /// What is wrong with it.
        error: FieldError,
    },
}

impl ProtocolError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::MessageTooLarge { .. } => ErrorCode::MessageTooLarge,
            ProtocolError::Malformed(_) => ErrorCode::MalformedMessage,
            ProtocolError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            ProtocolError::UnknownType { .. } => ErrorCode::UnknownMessageType,
            ProtocolError::Field {
                error: FieldError::TooLarge { .. },
                ..
            } => ErrorCode::FieldTooLarge,
            ProtocolError::Field {
                error: FieldError::Invalid(_),
                ..
            } => ErrorCode::InvalidField,
        }
    }

    /// The `error` event that answers this error.
    pub fn to_error_event(&self) -> super::ErrorEvent {
        super::ErrorEvent::new(self.code(), self.to_string())
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Cuts a human message to [`MAX_ERROR_MESSAGE_BYTES`].
pub(crate) fn truncate_message(s: &str) -> &str {
    truncate(s, MAX_ERROR_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn fatal_codes_have_distinct_close_codes() {
        let mut seen = Vec::new();
        for code in ErrorCode::ALL {
            if let Some(close) = code.close_code() {
                assert!(
                    close.0 == 1009 || close.0 == 1011 || (4000..5000).contains(&close.0),
                    "{code}: {close:?}"
                );
                assert!(!seen.contains(&close), "{code}: {close:?} reused");
                seen.push(close);
            }
        }
        // The codes the issue names as ending the session.
        for code in [
            ErrorCode::UnsupportedVersion,
            ErrorCode::UnknownConference,
            ErrorCode::BadToken,
            ErrorCode::Internal,
        ] {
            assert!(code.is_fatal(), "{code}");
        }
        assert!(!ErrorCode::MalformedMessage.is_fatal());
        assert!(!ErrorCode::NotJoined.is_fatal());
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("Sơn", 2), "S");
        assert_eq!(truncate("Sơn", 3), "Sơ");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
