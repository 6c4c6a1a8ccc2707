//! The cascade wire format against its specification, `docs/cascade.md`:
//! every example of the page parses, round-trips, and every message type
//! has an example.

use std::collections::BTreeSet;

use mcu_cascade::ids::EndpointId;
use mcu_cascade::wire::{
    self, Command, CommandErrorCode, DownMessage, MAX_MESSAGE_BYTES, UpMessage, WireError,
    parse_down, parse_up,
};
use serde_json::Value;

const DOC: &str = include_str!("../../../docs/cascade.md");

/// The fenced blocks of the doc whose info string is `json <direction>`.
fn examples(direction: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        match current.as_mut() {
            None => {
                if line.trim() == format!("```json {direction}") {
                    current = Some(String::new());
                }
            }
            Some(text) => {
                if line.trim_start().starts_with("```") {
                    out.extend(current.take());
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    out
}

fn message_type(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    v["type"].as_str().unwrap().to_owned()
}

#[test]
fn every_up_example_parses_and_round_trips() {
    let examples = examples("up");
    assert!(examples.len() >= 8);
    for text in &examples {
        let msg = parse_up(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let again = parse_up(&msg.to_json()).unwrap();
        assert_eq!(msg, again, "{text}");
        // The JSON written is the JSON documented (up to whitespace).
        let doc: Value = serde_json::from_str(text).unwrap();
        let ours: Value = serde_json::from_str(&msg.to_json()).unwrap();
        assert_eq!(doc, ours, "{text}");
    }
}

#[test]
fn every_down_example_parses_and_round_trips() {
    let examples = examples("down");
    assert!(examples.len() >= 7);
    for text in &examples {
        let msg = parse_down(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let doc: Value = serde_json::from_str(text).unwrap();
        let ours: Value = serde_json::from_str(&msg.to_json()).unwrap();
        assert_eq!(doc, ours, "{text}");
    }
}

#[test]
fn every_message_type_has_an_example() {
    let up: BTreeSet<String> = examples("up").iter().map(|t| message_type(t)).collect();
    let want_up = [
        "hello",
        "subscribe",
        "auth",
        "roster",
        "uplink",
        "floor_request",
        "reply",
        "offer",
        "ping",
        "pong",
    ];
    assert_eq!(up, want_up.iter().map(|s| s.to_string()).collect());
    let down: BTreeSet<String> = examples("down").iter().map(|t| message_type(t)).collect();
    let want_down = [
        "challenge",
        "welcome",
        "refused",
        "bookings",
        "command",
        "answer",
        "ping",
        "pong",
    ];
    assert_eq!(down, want_down.iter().map(|s| s.to_string()).collect());
}

#[test]
fn every_command_action_and_error_code_is_documented() {
    let actions: BTreeSet<String> = examples("down")
        .iter()
        .filter_map(|t| match parse_down(t).unwrap() {
            DownMessage::Command { command, .. } => Some(
                serde_json::to_value(&command).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        ["answer_floor", "recall_preset", "select_uplink", "set_mute"]
            .map(String::from)
            .into()
    );
    for code in [
        CommandErrorCode::UnknownEndpoint,
        CommandErrorCode::EndpointNotConnected,
        CommandErrorCode::LinkDown,
        CommandErrorCode::Timeout,
    ] {
        let name = serde_json::to_value(code).unwrap();
        let row = format!("| `{}` |", name.as_str().unwrap());
        assert!(DOC.contains(&row), "{row} missing from the error table");
    }
}

#[test]
fn another_version_is_refused_before_the_body_is_read() {
    assert_eq!(
        parse_up(r#"{"v":2,"type":"no_such_type"}"#).unwrap_err(),
        WireError::UnsupportedVersion(2)
    );
    assert_eq!(
        parse_down(r#"{"v":0,"type":"ping","seq":1}"#).unwrap_err(),
        WireError::UnsupportedVersion(0)
    );
    assert!(matches!(
        parse_up(r#"{"type":"ping","seq":1}"#),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        parse_up(r#"{"v":"1","type":"ping","seq":1}"#),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn unknown_fields_are_ignored_within_version_1() {
    let msg = parse_up(r#"{"v":1,"type":"ping","seq":3,"sent_at":"later"}"#).unwrap();
    assert_eq!(msg, UpMessage::Ping { seq: 3 });
}

#[test]
fn malformed_messages_are_errors_not_panics() {
    for text in [
        "",
        "[]",
        "null",
        r#"{"v":1}"#,
        r#"{"v":1,"type":"hello"}"#,
        r#"{"v":1,"type":"auth","proof":"00"}"#,
        r#"{"v":1,"type":"auth","proof":"zz3a6c9e2b5d8f1a4c7e0b3d6f9a2c5e8b1d4f7a0c3e6b9d2f5a8c1e4b7d0f3a"}"#,
        r#"{"v":1,"type":"floor_request","endpoint":"bad id","raised":true}"#,
        r#"{"v":1,"type":"roster","mcus":[],"endpoints":[{"endpoint":""}]}"#,
    ] {
        assert!(
            matches!(parse_up(text), Err(WireError::Malformed(_))),
            "{text}"
        );
    }
    assert!(matches!(
        parse_down(r#"{"v":1,"type":"command","request_id":1,"command":{"action":"reboot"}}"#),
        Err(WireError::Malformed(_))
    ));
    // An up message is not a down message.
    assert!(
        parse_down(r#"{"v":1,"type":"hello","link":"a","conference":"b","nonce":"00"}"#).is_err()
    );
}

#[test]
fn oversized_messages_are_refused_unread() {
    let text = " ".repeat(MAX_MESSAGE_BYTES + 1);
    assert_eq!(
        parse_up(&text).unwrap_err(),
        WireError::TooLarge(MAX_MESSAGE_BYTES + 1)
    );
}

#[test]
fn commands_name_their_endpoint() {
    let x = EndpointId::new("ubnd-xa-hop-thanh").unwrap();
    let cmd = Command::RecallPreset {
        endpoint: x.clone(),
        preset: "Toàn cảnh".into(),
    };
    assert_eq!(cmd.endpoint(), &x);
    assert_eq!(wire::PROTOCOL_VERSION, 1);
}
