//! The handshake proofs: bound to the secret, the direction, the link, the
//! conference and both nonces.

use mcu_cascade::auth::{Channel, LinkSecret, Nonce, Proof, Prover, SecretError, prove, verify};
use mcu_cascade::ids::{ConferenceId, McuId};

struct Inputs {
    secret: LinkSecret,
    link: McuId,
    conference: ConferenceId,
    parent_nonce: Nonce,
    child_nonce: Nonce,
}

fn inputs() -> Inputs {
    Inputs {
        secret: LinkSecret::new(*b"tuyen-quang link secret").unwrap(),
        link: McuId::new("tuyen-quang").unwrap(),
        conference: ConferenceId::new("giao-ban-2025-06").unwrap(),
        parent_nonce: Nonce([7; 32]),
        child_nonce: Nonce([9; 32]),
    }
}

fn proof_on(i: &Inputs, who: Prover, channel: Channel<'_>) -> Proof {
    prove(
        &i.secret,
        who,
        &i.link,
        channel,
        &i.parent_nonce,
        &i.child_nonce,
    )
}

fn check_on(i: &Inputs, who: Prover, channel: Channel<'_>, p: &Proof) -> bool {
    verify(
        &i.secret,
        who,
        &i.link,
        channel,
        &i.parent_nonce,
        &i.child_nonce,
        p,
    )
}

/// A proof on the conference's link.
fn proof(i: &Inputs, who: Prover) -> Proof {
    proof_on(i, who, Channel::Conference(&i.conference))
}

fn check(i: &Inputs, who: Prover, p: &Proof) -> bool {
    check_on(i, who, Channel::Conference(&i.conference), p)
}

#[test]
fn a_proof_verifies_with_the_same_inputs() {
    let i = inputs();
    assert!(check(&i, Prover::Child, &proof(&i, Prover::Child)));
    assert!(check(&i, Prover::Parent, &proof(&i, Prover::Parent)));
}

#[test]
fn a_child_proof_is_not_a_parent_proof() {
    let i = inputs();
    let child = proof(&i, Prover::Child);
    assert_ne!(child, proof(&i, Prover::Parent));
    assert!(!check(&i, Prover::Parent, &child), "reflection must fail");
}

#[test]
fn every_input_changes_the_proof() {
    let base = inputs();
    let p = proof(&base, Prover::Child);
    let variants: Vec<Inputs> = vec![
        Inputs {
            secret: LinkSecret::new(*b"another link secret!").unwrap(),
            ..inputs()
        },
        Inputs {
            link: McuId::new("hai-phong").unwrap(),
            ..inputs()
        },
        Inputs {
            conference: ConferenceId::new("giao-ban-2025-07").unwrap(),
            ..inputs()
        },
        Inputs {
            parent_nonce: Nonce([8; 32]),
            ..inputs()
        },
        Inputs {
            child_nonce: Nonce([8; 32]),
            ..inputs()
        },
        // The nonces swapped: the order is part of the transcript.
        Inputs {
            parent_nonce: Nonce([9; 32]),
            child_nonce: Nonce([7; 32]),
            ..inputs()
        },
    ];
    for (n, v) in variants.iter().enumerate() {
        assert!(
            !check(v, Prover::Child, &p),
            "variant {n} accepted the proof"
        );
    }
}

#[test]
fn a_flipped_bit_fails() {
    let i = inputs();
    let mut p = proof(&i, Prover::Child);
    p.0[31] ^= 1;
    assert!(!check(&i, Prover::Child, &p));
}

#[test]
fn short_secrets_are_refused_and_never_printed() {
    assert_eq!(
        LinkSecret::new(*b"short").unwrap_err(),
        SecretError::TooShort(5)
    );
    let s = LinkSecret::new(*b"a long enough secret").unwrap();
    assert!(!format!("{s:?}").contains("long enough"));
}

#[test]
fn nonces_and_proofs_are_64_hex_digits_on_the_wire() {
    let n = Nonce([0xab; 32]);
    let json = serde_json::to_string(&n).unwrap();
    assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
    assert_eq!(serde_json::from_str::<Nonce>(&json).unwrap(), n);
    assert!(serde_json::from_str::<Nonce>("\"abab\"").is_err());
    assert!(serde_json::from_str::<Proof>(&format!("\"{}\"", "g0".repeat(32))).is_err());
}

#[test]
fn a_bookings_proof_is_bound_to_the_subscription_and_the_direction() {
    let i = inputs();
    let sub = |who| proof_on(&i, who, Channel::Bookings);
    let sub_ok = |who, p: &Proof| check_on(&i, who, Channel::Bookings, p);
    let child = sub(Prover::Child);
    assert!(sub_ok(Prover::Child, &child));
    // Neither replayed as the other direction, nor as a conference link's
    // proof, nor a conference link's proof as a subscription's.
    assert!(!sub_ok(Prover::Parent, &child));
    assert!(!check(&i, Prover::Child, &child));
    assert!(!sub_ok(Prover::Child, &proof(&i, Prover::Child)));
    // A conference link's proof is what it was before subscriptions had
    // labels of their own: HMAC-SHA256 over docs/cascade.md's transcript,
    // computed apart from this crate.
    assert_eq!(
        String::from(proof(&i, Prover::Parent)),
        "1def719c31cc94f47139585946724900949b8847ccd9554be9276a5d78f9e91a"
    );
}
