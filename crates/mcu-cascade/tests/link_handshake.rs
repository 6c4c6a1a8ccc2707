//! Dial → authenticate → up, and the refusals: wrong secret, unknown link,
//! a parent that cannot prove the secret, a silent or rude peer.

mod common;

use std::time::Duration;

use common::*;
use mcu_cascade::auth::{Nonce, Proof};
use mcu_cascade::ids::ConnId;
use mcu_cascade::link::{ChildLink, DownReason, LinkOutput, LinkTiming, ParentRole};
use mcu_cascade::parent::{ChildDownReason, ParentLinks, ParentOutput, RefuseReason};
use mcu_cascade::wire::{DownMessage, RefusedCode, Roster, UpMessage};

#[test]
fn the_link_comes_up_at_once_and_both_ends_know_it() {
    let net = Net::new(LinkTiming::default(), false);
    assert_eq!(net.ups(), [(Duration::ZERO, id(PRIMARY))]);
    assert_eq!(net.child.up(), Some((&id(PRIMARY), ParentRole::Primary)));
    assert!(net.parent_sees_child(PRIMARY));
    assert!(net.parent_events.iter().any(|(_, p, e)| *p == id(PRIMARY)
        && matches!(e, ParentOutput::ChildUp { child, conference, .. }
            if *child == id(CHILD) && conference.as_str() == "giao-ban-2025-06")));
}

#[test]
fn the_handshake_runs_hello_auth_then_roster_and_uplink() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.child.set_roster(net.now, Roster::default());
    net.pump();
    let types: Vec<String> = net
        .sent_up
        .iter()
        .map(|(_, _, t)| serde_json::from_str::<serde_json::Value>(t).unwrap()["type"].to_string())
        .collect();
    assert_eq!(
        types,
        ["\"hello\"", "\"auth\"", "\"uplink\"", "\"roster\""],
        "the uplink is announced after every welcome, the roster as soon as set"
    );
}

#[test]
fn a_child_with_the_wrong_secret_is_refused_and_the_attempt_logged() {
    let mut child = child_config(LinkTiming::default(), false);
    child.primary.secret = secret("guessed");
    let parent = parent_config(PRIMARY, &[(CHILD, secret("primary"))]);
    let mut net = Net::with(child, vec![parent]);
    net.run_for(Duration::from_secs(5));
    assert!(net.ups().is_empty());
    assert!(!net.parent_sees_child(PRIMARY));
    let refusals: Vec<_> = net
        .parent_events
        .iter()
        .filter_map(|(_, _, e)| match e {
            ParentOutput::Refused {
                claimed, reason, ..
            } => Some((claimed.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert!(refusals.len() >= 3, "it keeps retrying with backoff");
    assert!(
        refusals
            .iter()
            .all(|r| *r == (Some(id(CHILD)), RefuseReason::BadProof))
    );
    assert!(net.child_events.iter().any(|(_, e)| matches!(
        e,
        LinkOutput::AttemptFailed {
            reason: DownReason::Refused(RefusedCode::AuthFailed),
            ..
        }
    )));
}

#[test]
fn an_unconfigured_child_is_refused_with_the_same_code() {
    // The parent knows no `tuyen-quang`: an open door would let it in.
    let parent = parent_config(PRIMARY, &[("hai-phong", secret("primary"))]);
    let mut net = Net::with(child_config(LinkTiming::default(), false), vec![parent]);
    net.run_for(Duration::from_secs(1));
    assert!(net.ups().is_empty());
    assert!(net.parent_events.iter().any(|(_, _, e)| matches!(
        e,
        ParentOutput::Refused { claimed: Some(c), reason: RefuseReason::UnknownLink, .. }
            if *c == id(CHILD)
    )));
    let failures: Vec<_> = net
        .child_events
        .iter()
        .filter_map(|(_, e)| match e {
            LinkOutput::AttemptFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert!(!failures.is_empty());
    assert!(
        failures
            .iter()
            .all(|r| *r == DownReason::Refused(RefusedCode::AuthFailed)),
        "the child cannot tell an unknown link from a wrong secret: {failures:?}"
    );
}

fn dial(child: &mut ChildLink) -> ConnId {
    match child.poll_output() {
        LinkOutput::Dial { conn, .. } => conn,
        other => panic!("expected a dial, got {other:?}"),
    }
}

fn sent(child: &mut ChildLink) -> UpMessage {
    match child.poll_output() {
        LinkOutput::Send { msg, .. } => msg,
        other => panic!("expected a send, got {other:?}"),
    }
}

#[test]
fn a_parent_that_cannot_prove_the_secret_is_dropped() {
    let now = t0();
    let mut child = ChildLink::new(child_config(LinkTiming::default(), false), now);
    let conn = dial(&mut child);
    child.handle_connected(now, conn, Nonce([1; 32]));
    assert!(matches!(sent(&mut child), UpMessage::Hello { .. }));
    child.handle_message(
        now,
        conn,
        DownMessage::Challenge {
            nonce: Nonce([2; 32]),
        },
    );
    assert!(matches!(sent(&mut child), UpMessage::Auth { .. }));
    // An impostor welcomes without knowing the secret.
    child.handle_message(
        now,
        conn,
        DownMessage::Welcome {
            proof: Proof([0; 32]),
        },
    );
    assert_eq!(child.poll_output(), LinkOutput::Close { conn });
    assert!(matches!(
        child.poll_output(),
        LinkOutput::AttemptFailed {
            reason: DownReason::BadParentProof,
            ..
        }
    ));
    assert!(child.up().is_none());
}

#[test]
fn a_parent_that_never_answers_times_out_the_handshake() {
    let timing = LinkTiming::default();
    let now = t0();
    let mut child = ChildLink::new(child_config(timing.clone(), false), now);
    let conn = dial(&mut child);
    child.handle_connected(now, conn, Nonce([1; 32]));
    let _hello = sent(&mut child);
    let LinkOutput::Timeout(t) = child.poll_output() else {
        panic!()
    };
    assert_eq!(t, now + timing.handshake_timeout);
    child.handle_timeout(t);
    assert_eq!(child.poll_output(), LinkOutput::Close { conn });
    assert!(matches!(
        child.poll_output(),
        LinkOutput::AttemptFailed {
            reason: DownReason::HandshakeTimeout,
            ..
        }
    ));
    // …and the redial follows after the first backoff step.
    assert_eq!(
        child.poll_output(),
        LinkOutput::Timeout(t + timing.first_retry)
    );
}

#[test]
fn a_caller_that_skips_hello_is_refused() {
    let now = t0();
    let mut parent = ParentLinks::new(parent_config(PRIMARY, &[(CHILD, secret("primary"))]));
    let conn = ConnId(7);
    parent.handle_accepted(now, conn, Nonce([3; 32]));
    parent.handle_text(
        now,
        conn,
        r#"{"v":1,"type":"roster","mcus":[],"endpoints":[]}"#,
    );
    assert_eq!(
        parent.poll_output(),
        ParentOutput::Send {
            conn,
            msg: DownMessage::Refused {
                code: RefusedCode::ProtocolViolation
            }
        }
    );
    assert_eq!(parent.poll_output(), ParentOutput::Close { conn });
    assert!(matches!(
        parent.poll_output(),
        ParentOutput::Refused {
            claimed: None,
            reason: RefuseReason::ProtocolViolation(_),
            ..
        }
    ));
    assert!(parent.up_children().next().is_none());
}

#[test]
fn a_caller_that_stays_silent_is_refused_after_the_handshake_timeout() {
    let now = t0();
    let mut parent = ParentLinks::new(parent_config(PRIMARY, &[(CHILD, secret("primary"))]));
    parent.handle_accepted(now, ConnId(7), Nonce([3; 32]));
    let ParentOutput::Timeout(Some(t)) = parent.poll_output() else {
        panic!()
    };
    assert_eq!(t, now + Duration::from_secs(5));
    parent.handle_timeout(t);
    assert!(matches!(
        parent.poll_output(),
        ParentOutput::Send {
            msg: DownMessage::Refused {
                code: RefusedCode::HandshakeTimeout
            },
            ..
        }
    ));
}

#[test]
fn a_second_connection_of_the_same_child_replaces_the_first() {
    let mut net = Net::new(LinkTiming::default(), false);
    // The child redials (say its side saw a drop the parent did not).
    let conns_before = net.parent_events.len();
    net.kill(PRIMARY);
    net.parents.get_mut(&id(PRIMARY)).unwrap().reachable = true; // same process, no restart
    net.run_for(Duration::from_secs(1));
    assert!(net.parent_sees_child(PRIMARY));
    let after: Vec<_> = net.parent_events[conns_before..]
        .iter()
        .map(|(_, _, e)| e.clone())
        .collect();
    assert!(after.iter().any(|e| matches!(
        e,
        ParentOutput::ChildDown {
            reason: ChildDownReason::Replaced,
            ..
        }
    )));
    assert!(
        after
            .iter()
            .any(|e| matches!(e, ParentOutput::ChildUp { .. }))
    );
}
