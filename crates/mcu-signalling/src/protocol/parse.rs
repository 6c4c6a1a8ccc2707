//! Parsing and writing frames.
//!
//! A frame goes through these checks in order; the first that fails decides
//! the error code:
//!
//! 1. length ≤ the frame limit → `message_too_large`;
//! 2. valid JSON, and an object → `malformed_message`;
//! 3. `"v"` present and a number → `malformed_message`; equal to
//!    [`PROTOCOL_VERSION`] → `unsupported_version`;
//! 4. `"type"` present and a string → `malformed_message`; a known type →
//!    `unknown_message_type`;
//! 5. every field with a rule (ids, names, token, SDP, candidate, …), at any
//!    depth, obeys it → `field_too_large` / `invalid_field`;
//! 6. the shape matches the message (required fields, types, no unknown
//!    fields) → `malformed_message`.
//!
//! Step 5 runs on the generic JSON value so that a bad id or an oversize SDP
//! gets its own code; the newtypes check the same rules again while serde
//! builds them, so a value of those types is valid however it was made.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{truncate, truncate_message};
use super::ids::{ConferenceId, DisplayName, EndpointId, FieldError, JoinToken, check_name};
use super::{
    ClientMessage, MAX_CANDIDATE_BYTES, MAX_ERROR_MESSAGE_BYTES, MAX_ICE_FIELD_BYTES,
    MAX_LAYOUT_NAME_BYTES, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_PARTICIPANT_ID, MAX_SDP_BYTES,
    MAX_SERVER_MESSAGE_BYTES, PROTOCOL_VERSION, ProtocolError, ServerMessage,
};

/// How much of a peer's bad `"v"` or `"type"` is quoted back in an error.
const QUOTE_BYTES: usize = 32;

/// Parses one text frame from an endpoint.
///
/// Never panics; every failure is a [`ProtocolError`] with a stable
/// [`code`](ProtocolError::code). Checks [`MAX_MESSAGE_BYTES`] before parsing.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ProtocolError> {
    parse(text, MAX_MESSAGE_BYTES, &ClientMessage::TYPES)
}

/// Parses one text frame from the server (for test endpoints and tools).
///
/// The same checks as [`parse_client_message`], with the frame limit
/// [`MAX_SERVER_MESSAGE_BYTES`].
pub fn parse_server_message(text: &str) -> Result<ServerMessage, ProtocolError> {
    parse(text, MAX_SERVER_MESSAGE_BYTES, &ServerMessage::TYPES)
}

fn malformed(message: impl AsRef<str>) -> ProtocolError {
    ProtocolError::Malformed(truncate_message(message.as_ref()).to_owned())
}

fn parse<T: DeserializeOwned>(
    text: &str,
    max_bytes: usize,
    types: &[&str],
) -> Result<T, ProtocolError> {
    if text.len() > max_bytes {
        return Err(ProtocolError::MessageTooLarge {
            len: text.len(),
            max: max_bytes,
        });
    }
    // serde_json limits nesting to 128 levels, so neither this parse nor the
    // recursive walk below can exhaust the stack.
    let value: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(malformed("a message must be a JSON object"));
    };
    match map.remove("v") {
        None => return Err(malformed("missing field `v`")),
        Some(Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(Value::Number(n)) => {
            return Err(ProtocolError::UnsupportedVersion {
                got: truncate(&n.to_string(), QUOTE_BYTES).to_owned(),
            });
        }
        Some(_) => return Err(malformed("field `v` must be a number")),
    }
    match map.get("type") {
        None => return Err(malformed("missing field `type`")),
        Some(Value::String(t)) if types.contains(&t.as_str()) => {}
        Some(Value::String(t)) => {
            return Err(ProtocolError::UnknownType {
                got: truncate(t, QUOTE_BYTES).to_owned(),
            });
        }
        Some(_) => return Err(malformed("field `type` must be a string")),
    }
    check_object(&map)?;
    serde_json::from_value(Value::Object(map)).map_err(|e| malformed(e.to_string()))
}

fn check_object(map: &Map<String, Value>) -> Result<(), ProtocolError> {
    for (key, value) in map {
        check_value(key, value)?;
    }
    Ok(())
}

fn check_value(key: &str, value: &Value) -> Result<(), ProtocolError> {
    match value {
        Value::String(s) => check_string(key, s),
        Value::Number(n) if key == "participant_id" => match n.as_u64() {
            Some(id) if id > MAX_PARTICIPANT_ID => Err(ProtocolError::Field {
                field: "participant_id",
                error: FieldError::Invalid("must be at most 2^53 - 1"),
            }),
            _ => Ok(()), // negative or fractional: serde refuses it as malformed
        },
        Value::Array(items) => items.iter().try_for_each(|item| match item {
            Value::Object(map) => check_object(map),
            _ => Ok(()),
        }),
        Value::Object(map) => check_object(map),
        _ => Ok(()),
    }
}

/// Applies the rule of a string field named `key`, if it has one.
fn check_string(key: &str, s: &str) -> Result<(), ProtocolError> {
    let (field, result): (&'static str, Result<(), FieldError>) = match key {
        "conference_id" => ("conference_id", ConferenceId::check(s)),
        "endpoint_id" => ("endpoint_id", EndpointId::check(s)),
        "token" => ("token", JoinToken::check(s)),
        "display_name" => ("display_name", DisplayName::check(s)),
        "conference_title" => ("conference_title", check_name(s, MAX_NAME_BYTES)),
        "layout" => ("layout", check_name(s, MAX_LAYOUT_NAME_BYTES)),
        "sdp" => ("sdp", check_len(s, MAX_SDP_BYTES)),
        "candidate" => ("candidate", check_line(s, MAX_CANDIDATE_BYTES)),
        "sdp_mid" => ("sdp_mid", check_line(s, MAX_ICE_FIELD_BYTES)),
        "username_fragment" => ("username_fragment", check_line(s, MAX_ICE_FIELD_BYTES)),
        "message" => ("message", check_len(s, MAX_ERROR_MESSAGE_BYTES)),
        _ => return Ok(()),
    };
    result.map_err(|error| ProtocolError::Field { field, error })
}

fn check_len(s: &str, max: usize) -> Result<(), FieldError> {
    if s.len() > max {
        return Err(FieldError::TooLarge { len: s.len(), max });
    }
    Ok(())
}

/// A value that ends up inside an SDP line: bounded, non-empty, and no
/// control characters (a CR or LF would let it inject SDP lines).
fn check_line(s: &str, max: usize) -> Result<(), FieldError> {
    check_len(s, max)?;
    if s.is_empty() {
        return Err(FieldError::Invalid("must not be empty"));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::Invalid(
            "must be one line without control characters",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u64,
    #[serde(flatten)]
    message: &'a T,
}

/// Writes `message` as one JSON object with `"v"` first, then `"type"`.
pub(crate) fn to_json<T: Serialize>(message: &T) -> String {
    // Invariant: serialising these types cannot fail. serde_json fails only
    // on maps with non-string keys, non-finite floats or a failing custom
    // `Serialize`; the message types hold only structs, internally tagged
    // enums, strings, bools, integers, options and vectors of those.
    serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        message,
    })
    .expect("message types always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ErrorCode, Media, SetMute};

    fn code(text: &str) -> ErrorCode {
        parse_client_message(text).unwrap_err().code()
    }

    #[test]
    fn version_and_type_come_first_in_output() {
        let json = ClientMessage::SetMute(SetMute {
            media: Media::Audio,
            muted: true,
        })
        .to_json();
        assert_eq!(
            json,
            r#"{"v":1,"type":"set_mute","media":"audio","muted":true}"#
        );
        assert_eq!(
            ClientMessage::Leave {}.to_json(),
            r#"{"v":1,"type":"leave"}"#
        );
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        // Too large wins over everything.
        let big = format!(r#"{{"v":2,"type":"x","pad":"{}"}}"#, "a".repeat(70_000));
        assert_eq!(code(&big), ErrorCode::MessageTooLarge);
        // Version before type.
        assert_eq!(
            code(r#"{"v":2,"type":"nope"}"#),
            ErrorCode::UnsupportedVersion
        );
        // Type before fields.
        assert_eq!(
            code(r#"{"v":1,"type":"nope","endpoint_id":"a b"}"#),
            ErrorCode::UnknownMessageType
        );
        // Field rules before shape.
        assert_eq!(
            code(r#"{"v":1,"type":"join","endpoint_id":"a b"}"#),
            ErrorCode::InvalidField
        );
        assert_eq!(
            code(r#"{"v":1,"type":"join"}"#),
            ErrorCode::MalformedMessage
        );
    }

    #[test]
    fn version_forms() {
        assert_eq!(code(r#"{"type":"leave"}"#), ErrorCode::MalformedMessage);
        assert_eq!(
            code(r#"{"v":"1","type":"leave"}"#),
            ErrorCode::MalformedMessage
        );
        assert_eq!(
            code(r#"{"v":null,"type":"leave"}"#),
            ErrorCode::MalformedMessage
        );
        for v in ["0", "2", "-1", "1.5", "1.0", "18446744073709551615", "1e3"] {
            let text = format!(r#"{{"v":{v},"type":"leave"}}"#);
            assert_eq!(code(&text), ErrorCode::UnsupportedVersion, "{v}");
        }
        assert!(parse_client_message(r#"{"type":"leave","v":1}"#).is_ok());
    }

    #[test]
    fn type_forms() {
        assert_eq!(code(r#"{"v":1}"#), ErrorCode::MalformedMessage);
        assert_eq!(code(r#"{"v":1,"type":7}"#), ErrorCode::MalformedMessage);
        assert_eq!(
            code(r#"{"v":1,"type":"Join"}"#),
            ErrorCode::UnknownMessageType
        );
        // A server-only type from a client is unknown.
        assert_eq!(
            code(r#"{"v":1,"type":"joined"}"#),
            ErrorCode::UnknownMessageType
        );
        let long = format!(r#"{{"v":1,"type":"{}"}}"#, "ư".repeat(1000));
        let err = parse_client_message(&long).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownMessageType);
        assert!(err.to_string().len() < 100, "{err}");
    }

    #[test]
    fn candidate_lines_cannot_inject_sdp() {
        let text = r#"{"v":1,"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=evil"}"#;
        assert_eq!(code(text), ErrorCode::InvalidField);
        let text = r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdp_mid":"0\n"}"#;
        assert_eq!(code(text), ErrorCode::InvalidField);
        let text = r#"{"v":1,"type":"candidate","candidate":""}"#;
        assert_eq!(code(text), ErrorCode::InvalidField);
    }

    #[test]
    fn participant_ids_stay_exact_in_javascript() {
        let entry = |id: u64| {
            format!(
                r#"{{"v":1,"type":"roster_changed","roster":[{{"participant_id":{id},
                "endpoint_id":"a","display_name":"A","chair":false,
                "audio_muted":false,"video_muted":false}}]}}"#
            )
        };
        assert!(parse_server_message(&entry(MAX_PARTICIPANT_ID)).is_ok());
        assert_eq!(
            parse_server_message(&entry(MAX_PARTICIPANT_ID + 1))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidField
        );
    }

    #[test]
    fn malformed_messages_are_bounded() {
        let key = "k".repeat(60_000);
        let text = format!(r#"{{"v":1,"type":"leave","{key}":1}}"#);
        let err = parse_client_message(&text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedMessage);
        assert!(err.to_string().len() <= MAX_ERROR_MESSAGE_BYTES + 32);
        assert!(err.to_error_event().message.len() <= MAX_ERROR_MESSAGE_BYTES);
    }
}
