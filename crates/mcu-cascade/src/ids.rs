//! Newtype ids of the cascade: MCUs, endpoints, conferences, command
//! requests, connections.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest MCU or endpoint id, in bytes (ids are ASCII).
pub const MAX_ID_BYTES: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id is empty.
    #[error("id is empty")]
    Empty,
    /// The id is longer than [`MAX_ID_BYTES`].
    #[error("id is {0} bytes, more than {MAX_ID_BYTES}")]
    TooLong(usize),
    /// The id holds a character outside `a-z A-Z 0-9 - _ .`.
    #[error("id {0:?} holds a character outside a-z, A-Z, 0-9, '-', '_', '.'")]
    BadCharacter(String),
}

fn check_id(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong(s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(IdError::BadCharacter(s.to_owned()));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s` (1 to [`MAX_ID_BYTES`] bytes of `a-z A-Z 0-9 - _ .`).
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_id(&s)?;
                Ok(Self(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

string_id!(
    /// One MCU of the cascade tree (`central`, `tuyen-quang`, `son-duong`, …).
    /// A cascade link is named by its child MCU: the link id is the child's
    /// `McuId`.
    McuId
);

string_id!(
    /// One endpoint (site). Endpoint ids are unique across the whole tree: a
    /// command names an endpoint and the tree finds the MCU that owns it.
    EndpointId
);

string_id!(
    /// The booking both ends of a trunk run: the master's conference and each
    /// slave's counterpart conference share it.
    ConferenceId
);

/// The id of one command sent down a link; the reply carries it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One transport connection (a data channel or a socket) as the state
/// machines name it. The state machine hands these out (child side, in
/// `Dial`) or the daemon does (parent side, on accept); outputs say which
/// connection to send on or close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn{}", self.0)
    }
}
