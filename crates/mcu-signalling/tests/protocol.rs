//! The signalling wire format against its specification, `docs/signalling.md`.
//!
//! The examples, the error table and the limits table are read straight out
//! of the page, so the page and the code cannot drift apart.

use std::collections::BTreeSet;

use mcu_signalling::protocol::{
    self, ActiveSpeakerChanged, ClientMessage, DisplayName, EndpointId, ErrorCode, ErrorEvent,
    Joined, ProtocolError, RosterChanged, RosterEntry, ServerMessage, parse_client_message,
    parse_server_message,
};
use serde_json::Value;

const DOC: &str = include_str!("../../../docs/signalling.md");

/// A fenced code block of the doc: its info string and its text.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn code_blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (n, line) in DOC.lines().enumerate() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    current = Some(Block {
                        info: info.trim().to_owned(),
                        text: String::new(),
                        line: n + 1,
                    });
                }
            }
            Some(block) => {
                if line.trim_start().starts_with("```") {
                    blocks.extend(current.take());
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "unclosed code block in the doc");
    blocks
}

fn examples(direction: &str) -> Vec<Block> {
    code_blocks()
        .into_iter()
        .filter(|b| b.info == format!("json {direction}"))
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Rows of the markdown table whose header row starts with `header`.
fn table_rows(header: &str) -> Vec<Vec<String>> {
    let mut lines = DOC.lines().skip_while(|l| !l.starts_with(header));
    assert!(lines.next().is_some(), "no table with header {header:?}");
    lines
        .skip(1) // the | --- | row
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

fn client_code(text: &str) -> ErrorCode {
    match parse_client_message(text) {
        Ok(m) => panic!("accepted {m:?} from {text}"),
        Err(e) => e.code(),
    }
}

// ---------------------------------------------------------------- the doc

#[test]
fn every_json_block_in_the_doc_says_its_direction() {
    for block in code_blocks() {
        if block.info.starts_with("json") {
            assert!(
                block.info == "json client" || block.info == "json server",
                "line {}: tag the block `json client` or `json server`, not {:?}",
                block.line,
                block.info
            );
        }
    }
}

#[test]
fn client_doc_examples_round_trip() {
    for block in examples("client") {
        let parsed = parse_client_message(&block.text)
            .unwrap_or_else(|e| panic!("line {}: {e} ({:?})", block.line, e.code()));
        let written = parsed.to_json();
        assert_eq!(
            json(&written),
            json(&block.text),
            "line {}: to_json differs from the example",
            block.line
        );
        assert_eq!(parse_client_message(&written).unwrap(), parsed);
        assert_eq!(json(&block.text)["type"], parsed.message_type());
    }
}

#[test]
fn server_doc_examples_round_trip() {
    for block in examples("server") {
        let parsed = parse_server_message(&block.text)
            .unwrap_or_else(|e| panic!("line {}: {e} ({:?})", block.line, e.code()));
        let written = parsed.to_json();
        assert_eq!(
            json(&written),
            json(&block.text),
            "line {}: to_json differs from the example",
            block.line
        );
        assert_eq!(parse_server_message(&written).unwrap(), parsed);
        assert_eq!(json(&block.text)["type"], parsed.message_type());
    }
}

#[test]
fn every_message_type_has_a_doc_example() {
    for (direction, types) in [
        ("client", ClientMessage::TYPES.as_slice()),
        ("server", ServerMessage::TYPES.as_slice()),
    ] {
        let documented: BTreeSet<String> = examples(direction)
            .iter()
            .map(|b| json(&b.text)["type"].as_str().unwrap().to_owned())
            .collect();
        let all: BTreeSet<String> = types.iter().map(|t| t.to_string()).collect();
        assert_eq!(documented, all, "{direction} messages without an example");
    }
}

#[test]
fn error_table_matches_the_codes() {
    let rows = table_rows("| code | meaning | fatal | close code |");
    let documented: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, all, "the error table lists the codes in order");
    for (row, code) in rows.iter().zip(ErrorCode::ALL) {
        let fatal = match row[2].as_str() {
            "yes" => true,
            "no" => false,
            other => panic!("{code}: fatal must be yes/no, not {other:?}"),
        };
        assert_eq!(fatal, code.is_fatal(), "{code}");
        let close = code
            .close_code()
            .map_or("–".to_owned(), |c| c.0.to_string());
        assert_eq!(row[3], close, "{code}");
    }
}

#[test]
fn close_code_table_covers_every_fatal_error() {
    let rows = table_rows("| close code | when |");
    for code in ErrorCode::ALL {
        if let Some(close) = code.close_code() {
            let row = rows
                .iter()
                .find(|r| r[0] == close.0.to_string())
                .unwrap_or_else(|| panic!("close code {} of {code} not in the table", close.0));
            assert!(row[1].contains(code.as_str()), "{code}: {row:?}");
        }
    }
    for close in [protocol::CloseCode::NORMAL, protocol::CloseCode::GOING_AWAY] {
        assert!(
            rows.iter().any(|r| r[0] == close.0.to_string()),
            "{close:?}"
        );
    }
}

#[test]
fn limits_table_matches_the_constants() {
    let constants = [
        ("MAX_MESSAGE_BYTES", protocol::MAX_MESSAGE_BYTES),
        (
            "MAX_SERVER_MESSAGE_BYTES",
            protocol::MAX_SERVER_MESSAGE_BYTES,
        ),
        ("MAX_SDP_BYTES", protocol::MAX_SDP_BYTES),
        ("MAX_ID_BYTES", protocol::MAX_ID_BYTES),
        ("MAX_TOKEN_BYTES", protocol::MAX_TOKEN_BYTES),
        ("MAX_CANDIDATE_BYTES", protocol::MAX_CANDIDATE_BYTES),
        ("MAX_ICE_FIELD_BYTES", protocol::MAX_ICE_FIELD_BYTES),
        ("MAX_NAME_BYTES", protocol::MAX_NAME_BYTES),
        ("MAX_LAYOUT_NAME_BYTES", protocol::MAX_LAYOUT_NAME_BYTES),
        ("MAX_ERROR_MESSAGE_BYTES", protocol::MAX_ERROR_MESSAGE_BYTES),
    ];
    let rows = table_rows("| limit | constant | bytes |");
    assert_eq!(rows.len(), constants.len());
    for (name, value) in constants {
        let row = rows
            .iter()
            .find(|r| r[1] == name)
            .unwrap_or_else(|| panic!("{name} not in the limits table"));
        assert_eq!(row[2], value.to_string(), "{name}");
    }
}

// ------------------------------------------------------------ error codes

#[test]
fn malformed_json_is_malformed_message() {
    for text in [
        "",
        " ",
        "{",
        "}",
        "null",
        "[]",
        "[{\"v\":1,\"type\":\"leave\"}]",
        "\"leave\"",
        "42",
        "{\"v\":1,\"type\":\"leave\"",
        "{\"v\":1,\"type\":\"leave\"}}",
        "{\"v\":1,\"type\":\"leave\"} {}",
        "{v:1,type:\"leave\"}",
        "{'v':1,'type':'leave'}",
        "{\"v\":1,\"type\":\"leave\",}",
        "{\"v\":1,\"type\":\"join\",\"endpoint_id\":\"\\ud800\"}",
        "\u{feff}{\"v\":1,\"type\":\"leave\"}",
    ] {
        assert_eq!(client_code(text), ErrorCode::MalformedMessage, "{text:?}");
    }
    let deep = "[".repeat(100_000);
    assert_eq!(client_code(&deep), ErrorCode::MessageTooLarge);
    let deep = "[".repeat(60_000);
    assert_eq!(client_code(&deep), ErrorCode::MalformedMessage);
}

#[test]
fn unknown_type_is_unknown_message_type() {
    for t in ["hello", "JOIN", "joined", "answer", "error", "", "join "] {
        let text = format!(r#"{{"v":1,"type":"{t}"}}"#);
        assert_eq!(client_code(&text), ErrorCode::UnknownMessageType, "{t:?}");
    }
    let text = r#"{"v":1,"type":"offer_v2","sdp":"v=0"}"#;
    let err = parse_client_message(text).unwrap_err();
    assert!(!err.code().is_fatal());
    assert_eq!(err.to_string(), r#"unknown message type "offer_v2""#);
}

#[test]
fn missing_field_is_malformed_message() {
    for text in [
        r#"{"v":1,"type":"join","conference_id":"c","endpoint_id":"e"}"#,
        r#"{"v":1,"type":"join","endpoint_id":"e","token":"t"}"#,
        r#"{"v":1,"type":"offer"}"#,
        r#"{"v":1,"type":"candidate","sdp_mid":"0"}"#,
        r#"{"v":1,"type":"set_mute","media":"audio"}"#,
        r#"{"v":1,"type":"set_mute","muted":true}"#,
    ] {
        assert_eq!(client_code(text), ErrorCode::MalformedMessage, "{text}");
    }
    let err = parse_client_message(r#"{"v":1,"type":"offer"}"#).unwrap_err();
    assert!(err.to_string().contains("missing field `sdp`"), "{err}");
}

#[test]
fn unknown_field_and_wrong_type_are_malformed_message() {
    for text in [
        r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdpMid":"0"}"#,
        r#"{"v":1,"type":"leave","reason":"bye"}"#,
        r#"{"v":1,"type":"request_floor","urgent":true}"#,
        r#"{"v":1,"type":"set_mute","media":"screen","muted":true}"#,
        r#"{"v":1,"type":"set_mute","media":"audio","muted":"yes"}"#,
        r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdp_m_line_index":70000}"#,
        r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdp_m_line_index":-1}"#,
        r#"{"v":1,"type":"join","conference_id":5,"endpoint_id":"e","token":"t"}"#,
    ] {
        assert_eq!(client_code(text), ErrorCode::MalformedMessage, "{text}");
    }
    let err = parse_client_message(
        r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdpMid":"0"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `sdpMid`"), "{err}");
}

#[test]
fn wrong_version_is_unsupported_version_and_fatal() {
    let err = parse_client_message(r#"{"v":2,"type":"join","conference_id":"c"}"#).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    let event = err.to_error_event();
    assert!(event.fatal);
    assert_eq!(
        ErrorCode::UnsupportedVersion.close_code(),
        Some(protocol::CloseCode(4001))
    );
    // The answer carries the version the server speaks.
    let frame = ServerMessage::from(event).to_json();
    assert!(frame.starts_with(r#"{"v":1,"type":"error","code":"unsupported_version""#));
    assert!(frame.contains("this server speaks version 1"), "{frame}");
    // Missing or non-numeric versions are malformed, not unsupported.
    assert_eq!(
        client_code(r#"{"type":"leave"}"#),
        ErrorCode::MalformedMessage
    );
    assert_eq!(
        client_code(r#"{"v":"1","type":"leave"}"#),
        ErrorCode::MalformedMessage
    );
    assert_eq!(
        client_code(r#"{"v":0,"type":"leave"}"#),
        ErrorCode::UnsupportedVersion
    );
}

#[test]
fn oversize_message_is_message_too_large_and_fatal() {
    let leave = r#"{"v":1,"type":"leave"}"#;
    let at_limit = leave.to_owned() + &" ".repeat(protocol::MAX_MESSAGE_BYTES - leave.len());
    assert_eq!(at_limit.len(), protocol::MAX_MESSAGE_BYTES);
    assert_eq!(
        parse_client_message(&at_limit).unwrap(),
        ClientMessage::Leave {}
    );
    let over = format!("{at_limit} ");
    let err = parse_client_message(&over).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::MessageTooLarge {
            len: protocol::MAX_MESSAGE_BYTES + 1,
            max: protocol::MAX_MESSAGE_BYTES
        }
    );
    assert!(err.code().is_fatal());
    assert_eq!(err.code().close_code(), Some(protocol::CloseCode(1009)));
    // The limit is in bytes: 30 000 three-byte letters are over it.
    let wide = format!(r#"{{"v":1,"type":"leave","x":"{}"}}"#, "ữ".repeat(30_000));
    assert_eq!(client_code(&wide), ErrorCode::MessageTooLarge);
}

#[test]
fn oversize_sdp_is_field_too_large() {
    let offer = |sdp: &str| format!(r#"{{"v":1,"type":"offer","sdp":"{sdp}"}}"#);
    let at_limit = "a".repeat(protocol::MAX_SDP_BYTES);
    assert!(parse_client_message(&offer(&at_limit)).is_ok());
    let over = "a".repeat(protocol::MAX_SDP_BYTES + 1);
    let err = parse_client_message(&offer(&over)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FieldTooLarge);
    assert!(!err.code().is_fatal());
    assert!(
        err.to_string().starts_with("field `sdp`: 32769 bytes"),
        "{err}"
    );
    // Counted after unescaping: "\r\n" escapes are 4 bytes in JSON, 2 in the SDP.
    let escaped = r"\r\n".repeat(1000) + &"a".repeat(protocol::MAX_SDP_BYTES - 2000);
    assert!(parse_client_message(&offer(&escaped)).is_ok());
    let escaped = format!("{escaped}x");
    assert_eq!(client_code(&offer(&escaped)), ErrorCode::FieldTooLarge);
}

#[test]
fn other_limits_are_field_too_large() {
    let join = |conference: &str, endpoint: &str, token: &str| {
        format!(
            r#"{{"v":1,"type":"join","conference_id":"{conference}","endpoint_id":"{endpoint}","token":"{token}"}}"#
        )
    };
    let long_id = "a".repeat(protocol::MAX_ID_BYTES + 1);
    let id = "a".repeat(protocol::MAX_ID_BYTES);
    assert!(parse_client_message(&join(&id, &id, "t")).is_ok());
    assert_eq!(
        client_code(&join(&long_id, "e", "t")),
        ErrorCode::FieldTooLarge
    );
    assert_eq!(
        client_code(&join("c", &long_id, "t")),
        ErrorCode::FieldTooLarge
    );
    let long_token = "t".repeat(protocol::MAX_TOKEN_BYTES + 1);
    assert_eq!(
        client_code(&join("c", "e", &long_token)),
        ErrorCode::FieldTooLarge
    );
    let candidate = format!(
        r#"{{"v":1,"type":"candidate","candidate":"candidate:{}"}}"#,
        "1".repeat(protocol::MAX_CANDIDATE_BYTES)
    );
    assert_eq!(client_code(&candidate), ErrorCode::FieldTooLarge);
    let ufrag = format!(
        r#"{{"v":1,"type":"end_of_candidates","username_fragment":"{}"}}"#,
        "u".repeat(protocol::MAX_ICE_FIELD_BYTES + 1)
    );
    assert_eq!(client_code(&ufrag), ErrorCode::FieldTooLarge);
}

#[test]
fn bad_id_characters_are_invalid_field() {
    let join = |conference: &str, endpoint: &str| {
        format!(
            r#"{{"v":1,"type":"join","conference_id":"{conference}","endpoint_id":"{endpoint}","token":"t"}}"#
        )
    };
    for bad in [
        "",
        "a b",
        "a/b",
        "../etc",
        "-x",
        "sơn-dương",
        "a\\u0000b",
        "a\\nb",
        "a;drop",
        "a%20b",
        "😀",
    ] {
        let err = parse_client_message(&join(bad, "e")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidField, "{bad:?}");
        assert!(
            err.to_string().starts_with("field `conference_id`"),
            "{err}"
        );
        let err = parse_client_message(&join("c", bad)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidField, "{bad:?}");
        assert!(err.to_string().starts_with("field `endpoint_id`"), "{err}");
    }
    // Tokens: visible ASCII only.
    let text = r#"{"v":1,"type":"join","conference_id":"c","endpoint_id":"e","token":"a b"}"#;
    assert_eq!(client_code(text), ErrorCode::InvalidField);
}

#[test]
fn only_join_and_leave_are_allowed_before_joined() {
    for block in examples("client") {
        let m = parse_client_message(&block.text).unwrap();
        let expected = matches!(m.message_type(), "join" | "leave");
        assert_eq!(m.allowed_before_join(), expected, "{}", m.message_type());
    }
}

#[test]
fn protocol_errors_become_error_events() {
    for (text, fatal) in [
        ("{", false),
        (r#"{"v":9,"type":"leave"}"#, true),
        (r#"{"v":1,"type":"dance"}"#, false),
    ] {
        let err = parse_client_message(text).unwrap_err();
        let event = err.to_error_event();
        assert_eq!(event.code, err.code());
        assert_eq!(event.fatal, fatal, "{text}");
        assert_eq!(event.message, err.to_string());
        let frame = ServerMessage::Error(event.clone()).to_json();
        assert_eq!(
            parse_server_message(&frame).unwrap(),
            ServerMessage::Error(event)
        );
    }
    let long = ErrorEvent::new(ErrorCode::Internal, "ư".repeat(2000));
    assert!(long.message.len() <= protocol::MAX_ERROR_MESSAGE_BYTES);
    assert!(long.fatal);
    assert!(parse_server_message(&ServerMessage::Error(long).to_json()).is_ok());
}

#[test]
fn optional_fields_may_be_null_or_left_out() {
    let null = r#"{"v":1,"type":"candidate","candidate":"candidate:1","sdp_mid":null}"#;
    let out = r#"{"v":1,"type":"candidate","candidate":"candidate:1"}"#;
    let parsed = parse_client_message(null).unwrap();
    assert_eq!(parsed, parse_client_message(out).unwrap());
    assert_eq!(parsed.to_json(), out);
}

#[test]
fn server_messages_are_parsed_strictly() {
    let text = r#"{"v":1,"type":"active_speaker_changed","endpoint_id":null,"level":3}"#;
    assert_eq!(
        parse_server_message(text).unwrap_err().code(),
        ErrorCode::MalformedMessage
    );
    let text = r#"{"v":1,"type":"active_speaker_changed"}"#;
    // A nullable field may be left out; it reads as null.
    assert_eq!(
        parse_server_message(text).unwrap(),
        ServerMessage::ActiveSpeakerChanged(ActiveSpeakerChanged { endpoint_id: None })
    );
    let text = r#"{"v":1,"type":"join","conference_id":"c","endpoint_id":"e","token":"t"}"#;
    assert_eq!(
        parse_server_message(text).unwrap_err().code(),
        ErrorCode::UnknownMessageType
    );
}

// ------------------------------------------------------- Vietnamese names

fn entry(id: u64, endpoint: &str, name: &str) -> RosterEntry {
    RosterEntry {
        participant_id: id,
        endpoint_id: EndpointId::new(endpoint).unwrap(),
        display_name: DisplayName::new(name).unwrap(),
        chair: false,
        audio_muted: false,
        video_muted: false,
    }
}

#[test]
fn vietnamese_names_round_trip_byte_exact() {
    let nfc = "UBND huyện Sơn Dương";
    // The same name decomposed (NFD): e + combining dot below + combining
    // circumflex, o + combining horn, u + combining horn, …
    let nfd = "UBND huye\u{323}\u{302}n So\u{31b}n Du\u{31b}o\u{31b}ng";
    assert_ne!(nfc.as_bytes(), nfd.as_bytes());
    let others = [
        "Sở Thông tin và Truyền thông",
        "Xã Đồng Quý — điểm cầu số 12",
        "Ủy ban nhân dân tỉnh Hà Giang",
    ];
    let mut roster = vec![entry(1, "son-duong", nfc), entry(2, "son-duong-nfd", nfd)];
    for (i, name) in others.iter().enumerate() {
        roster.push(entry(3 + i as u64, &format!("ep-{i}"), name));
    }
    let message = ServerMessage::Joined(Joined {
        participant_id: 1,
        conference_id: protocol::ConferenceId::new("hop-tinh").unwrap(),
        conference_title: "Hội nghị trực tuyến toàn quốc về chuyển đổi số".to_owned(),
        roster: roster.clone(),
    });
    let frame = message.to_json();
    // Written as raw UTF-8, not \u escapes, so the bytes are visible on the wire.
    assert!(
        frame
            .as_bytes()
            .windows(nfc.len())
            .any(|w| w == nfc.as_bytes())
    );
    assert!(
        frame
            .as_bytes()
            .windows(nfd.len())
            .any(|w| w == nfd.as_bytes())
    );
    let back = parse_server_message(&frame).unwrap();
    assert_eq!(back, message);
    let ServerMessage::Joined(joined) = back else {
        unreachable!()
    };
    for (got, sent) in joined.roster.iter().zip(&roster) {
        assert_eq!(
            got.display_name.as_str().as_bytes(),
            sent.display_name.as_str().as_bytes()
        );
    }
    // \u-escaped input gives the same bytes as raw UTF-8 input.
    let escaped = r#"{"v":1,"type":"roster_changed","roster":[{"participant_id":1,
        "endpoint_id":"son-duong","display_name":"UBND huy\u1ec7n S\u01a1n D\u01b0\u01a1ng",
        "chair":false,"audio_muted":false,"video_muted":false}]}"#;
    assert_eq!(
        parse_server_message(escaped).unwrap(),
        ServerMessage::RosterChanged(RosterChanged {
            roster: vec![entry(1, "son-duong", nfc)]
        })
    );
}

// ------------------------------------------------------------ never panics

/// SplitMix64: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\u0000",
    "\\n",
    "null",
    "true",
    "false",
    "0",
    "1",
    "2",
    "-1",
    "1.0",
    "1e999",
    "-0",
    "99999999999999999999",
    "\"v\"",
    "\"type\"",
    "\"join\"",
    "\"offer\"",
    "\"sdp\"",
    "\"candidate\"",
    "\"endpoint_id\"",
    "\"roster\"",
    "ư",
    "Sơn",
    "😀",
    "\u{0}",
    " ",
    "\r\n",
    "\u{feff}",
];

const KEYS: &[&str] = &[
    "conference_id",
    "endpoint_id",
    "token",
    "sdp",
    "candidate",
    "sdp_mid",
    "sdp_m_line_index",
    "username_fragment",
    "media",
    "muted",
    "participant_id",
    "conference_title",
    "roster",
    "display_name",
    "chair",
    "audio_muted",
    "video_muted",
    "layout",
    "tiles",
    "tile",
    "pending",
    "code",
    "message",
    "fatal",
    "x",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(rng.next() >> rng.below(64)),
        3 => Value::from(-(rng.below(1000) as i64)),
        4 | 5 => {
            let s = match rng.below(6) {
                0 => String::new(),
                1 => "a".repeat(rng.below(70_000)),
                2 => rng
                    .pick(&["audio", "video", "bad_token", "2x2", "ubnd-son-duong"])
                    .to_string(),
                3 => rng
                    .pick(&["UBND huyện Sơn Dương", "a b", "candidate:1 1 udp", "x\ny"])
                    .to_string(),
                _ => (0..rng.below(20))
                    .map(|_| char::from(b'a' + rng.below(26) as u8))
                    .collect(),
            };
            Value::String(s)
        }
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => random_object(rng, depth + 1),
    }
}

fn random_object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = serde_json::Map::new();
    for _ in 0..rng.below(6) {
        map.insert(rng.pick(KEYS).to_string(), random_value(rng, depth));
    }
    Value::Object(map)
}

/// Every input gives a value or an error, never a panic; every value that is
/// accepted writes back to JSON that parses to the same value.
fn check_total(text: &str) {
    if let Ok(m) = parse_client_message(text) {
        let again = parse_client_message(&m.to_json())
            .unwrap_or_else(|e| panic!("{text:?} was accepted but its re-encoding is not: {e}"));
        assert_eq!(again, m);
    }
    if let Ok(m) = parse_server_message(text) {
        let again = parse_server_message(&m.to_json())
            .unwrap_or_else(|e| panic!("{text:?} was accepted but its re-encoding is not: {e}"));
        assert_eq!(again, m);
    }
    if let Err(e) = parse_client_message(text) {
        let event = e.to_error_event();
        assert_eq!(event.fatal, e.code().close_code().is_some());
        assert!(event.message.len() <= protocol::MAX_ERROR_MESSAGE_BYTES);
    }
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let mut rng = Rng(0x5eed_0f51_6ea1);
    let seeds: Vec<String> = code_blocks()
        .into_iter()
        .filter(|b| b.info.starts_with("json"))
        .flat_map(|b| [b.text.clone(), json(&b.text).to_string()])
        .collect();
    let mut accepted = 0;

    // Mutations of the documented examples.
    for _ in 0..20_000 {
        let mut bytes = rng.pick(&seeds).clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(5) {
                0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                1 if at < bytes.len() => {
                    let end = (at + 1 + rng.below(16)).min(bytes.len());
                    bytes.drain(at..end);
                }
                2 => {
                    let token = rng.pick(TOKENS).as_bytes().to_vec();
                    bytes.splice(at..at, token);
                }
                3 if at < bytes.len() => {
                    let end = (at + 1 + rng.below(64)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(at..at, copy);
                }
                _ => bytes.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        check_total(&text);
        accepted += usize::from(parse_client_message(&text).is_ok());
    }

    // Random bytes and random token soups.
    for _ in 0..5_000 {
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        check_total(&String::from_utf8_lossy(&bytes));
        let soup: String = (0..rng.below(40)).map(|_| *rng.pick(TOKENS)).collect();
        check_total(&soup);
    }

    // Well-formed JSON with the right envelope and random fields: reaches the
    // field checks and serde, not just the JSON parser.
    for _ in 0..20_000 {
        let mut object = random_object(&mut rng, 0);
        let types: Vec<&str> = ClientMessage::TYPES
            .iter()
            .chain(&ServerMessage::TYPES)
            .copied()
            .collect();
        if let Value::Object(map) = &mut object {
            map.insert("v".into(), Value::from(1));
            map.insert("type".into(), Value::from(*rng.pick(&types)));
        }
        let text = object.to_string();
        check_total(&text);
        accepted += usize::from(parse_client_message(&text).is_ok());
    }

    // Deep nesting is refused, not a stack overflow.
    for depth in [127, 128, 129, 1_000, 30_000] {
        let text = format!(
            r#"{{"v":1,"type":"leave","x":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        check_total(&text);
    }
    assert!(
        accepted > 100,
        "the generator should also produce valid messages ({accepted})"
    );
}
