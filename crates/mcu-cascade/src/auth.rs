//! Link credentials and the proofs of the handshake.
//!
//! Each child MCU shares one secret with each parent it may link to (its
//! parent and its standby). Neither side sends the secret: each proves it
//! holds it with HMAC-SHA256 over both nonces, the link id and the
//! conference, under a label per direction so that one side's proof can
//! never be replayed as the other's. The check is constant-time
//! (`ring::hmac::verify`).

use std::fmt;

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::ids::{ConferenceId, McuId};

/// Shortest accepted link secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// A per-link shared secret. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct LinkSecret(Vec<u8>);

/// Why a secret is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Fewer than [`MIN_SECRET_BYTES`] bytes.
    #[error("link secret is {0} bytes, fewer than {MIN_SECRET_BYTES}")]
    TooShort(usize),
}

impl LinkSecret {
    /// Wraps the secret bytes (from the config or a secrets file).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.0)
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(..)")
    }
}

/// A 32-byte random challenge, hex on the wire. The daemon draws it from a
/// secure random source and passes it in: this crate reads no randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nonce(pub [u8; 32]);

/// A 32-byte HMAC-SHA256 proof, hex on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Proof(pub [u8; 32]);

/// A nonce or proof that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 hex digits")]
pub struct HexError;

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn from_hex32(s: &str) -> Result<[u8; 32], HexError> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return Err(HexError);
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(HexError),
    };
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(out)
}

macro_rules! hex32 {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = HexError;
            fn try_from(s: String) -> Result<Self, HexError> {
                from_hex32(&s).map(Self)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                to_hex(&v.0)
            }
        }
    };
}
hex32!(Nonce);
hex32!(Proof);

/// Who proves: the child answers the parent's challenge, the parent answers
/// the child's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prover {
    /// The child, in `auth`.
    Child,
    /// The parent, in `welcome`.
    Parent,
}

/// What a handshake opens: a conference's link, or the child's bookings
/// subscription. Each has its own labels, so a proof made for one is never
/// accepted for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel<'a> {
    /// The link of one conference.
    Conference(&'a ConferenceId),
    /// The bookings subscription (`subscribe`).
    Bookings,
}

/// The bytes both sides sign: a label naming the protocol version, the
/// channel and the prover, then each field length-prefixed so no two inputs
/// collide.
fn transcript(
    prover: Prover,
    link: &McuId,
    channel: Channel<'_>,
    parent_nonce: &Nonce,
    child_nonce: &Nonce,
) -> Vec<u8> {
    let (label, conference): (&[u8], &[u8]) = match (channel, prover) {
        (Channel::Conference(c), Prover::Child) => {
            (b"mcu-cascade/1 child proof", c.as_str().as_bytes())
        }
        (Channel::Conference(c), Prover::Parent) => {
            (b"mcu-cascade/1 parent proof", c.as_str().as_bytes())
        }
        (Channel::Bookings, Prover::Child) => (b"mcu-cascade/1 child bookings proof", b""),
        (Channel::Bookings, Prover::Parent) => (b"mcu-cascade/1 parent bookings proof", b""),
    };
    let mut t = Vec::with_capacity(160);
    for field in [
        label,
        link.as_str().as_bytes(),
        conference,
        &parent_nonce.0,
        &child_nonce.0,
    ] {
        // Fields are at most a few hundred bytes (ids are ≤ 64).
        t.extend_from_slice(&(field.len() as u32).to_be_bytes());
        t.extend_from_slice(field);
    }
    t
}

/// The proof `prover` sends for this link, channel and pair of nonces.
pub fn prove(
    secret: &LinkSecret,
    prover: Prover,
    link: &McuId,
    channel: Channel<'_>,
    parent_nonce: &Nonce,
    child_nonce: &Nonce,
) -> Proof {
    let tag = hmac::sign(
        &secret.key(),
        &transcript(prover, link, channel, parent_nonce, child_nonce),
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref()); // HMAC-SHA256 tags are 32 bytes
    Proof(out)
}

/// Constant-time check of a proof `prover` sent on `channel`.
pub fn verify(
    secret: &LinkSecret,
    prover: Prover,
    link: &McuId,
    channel: Channel<'_>,
    parent_nonce: &Nonce,
    child_nonce: &Nonce,
    proof: &Proof,
) -> bool {
    hmac::verify(
        &secret.key(),
        &transcript(prover, link, channel, parent_nonce, child_nonce),
        &proof.0,
    )
    .is_ok()
}
