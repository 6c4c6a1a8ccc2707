//! Validated newtypes for ids, names and tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MAX_ID_BYTES, MAX_NAME_BYTES, MAX_TOKEN_BYTES};

/// Why a field's value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The value is longer than its limit (error code `field_too_large`).
    #[error("{len} bytes; the limit is {max}")]
    TooLarge {
        /// Length of the value in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The value is empty or holds a character outside its set (error code
    /// `invalid_field`).
    #[error("{0}")]
    Invalid(&'static str),
}

/// Checks an id: 1..=[`MAX_ID_BYTES`] ASCII bytes from `[A-Za-z0-9._-]`,
/// starting with a letter or digit (so no `..`, no leading `-`).
fn check_id(s: &str) -> Result<(), FieldError> {
    if s.len() > MAX_ID_BYTES {
        return Err(FieldError::TooLarge {
            len: s.len(),
            max: MAX_ID_BYTES,
        });
    }
    let Some(first) = s.bytes().next() else {
        return Err(FieldError::Invalid("must not be empty"));
    };
    if !first.is_ascii_alphanumeric() {
        return Err(FieldError::Invalid(
            "must start with an ASCII letter or digit",
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(FieldError::Invalid(
            "may hold only ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Checks a display name or title: 1..=`max` bytes of UTF-8, no control
/// characters, not only white space. Any script is allowed and the bytes are
/// kept as they are (no Unicode normalisation), so names round-trip exactly.
pub(crate) fn check_name(s: &str, max: usize) -> Result<(), FieldError> {
    if s.len() > max {
        return Err(FieldError::TooLarge { len: s.len(), max });
    }
    if s.trim().is_empty() {
        return Err(FieldError::Invalid("must not be empty or only white space"));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::Invalid("must not hold control characters"));
    }
    Ok(())
}

/// Checks a join token: 1..=[`MAX_TOKEN_BYTES`] visible ASCII characters.
fn check_token(s: &str) -> Result<(), FieldError> {
    if s.len() > MAX_TOKEN_BYTES {
        return Err(FieldError::TooLarge {
            len: s.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    if s.is_empty() {
        return Err(FieldError::Invalid("must not be empty"));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::Invalid(
            "may hold only visible ASCII characters",
        ));
    }
    Ok(())
}

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                Self::check(&value)?;
                Ok(Self(value))
            }

            /// Checks `value` against the rules of this type without keeping it.
            pub fn check(value: &str) -> Result<(), FieldError> {
                $check(value)
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

macro_rules! display_as_str {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    )*};
}

validated_string!(
    /// A conference id: 1..=[`MAX_ID_BYTES`] ASCII characters from
    /// `[A-Za-z0-9._-]`, starting with a letter or digit.
    ConferenceId,
    check_id
);

validated_string!(
    /// An endpoint id (a room terminal, a browser seat, a cascade link): the
    /// same rules as [`ConferenceId`].
    EndpointId,
    check_id
);

validated_string!(
    /// A human name shown to people, e.g. `UBND huyện Sơn Dương`:
    /// 1..=[`MAX_NAME_BYTES`] bytes of UTF-8 in any script, no control
    /// characters. Kept byte-exact (not normalised).
    DisplayName,
    |s| check_name(s, MAX_NAME_BYTES)
);

validated_string!(
    /// The secret an endpoint presents to join: 1..=[`MAX_TOKEN_BYTES`]
    /// visible ASCII characters. `Debug` does not print it.
    JoinToken,
    check_token
);

display_as_str!(ConferenceId, EndpointId, DisplayName);

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinToken(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_safe_ascii_set() {
        for ok in [
            "a",
            "ubnd-son-duong",
            "HN.01_tw",
            "0",
            &"x".repeat(MAX_ID_BYTES),
        ] {
            assert!(EndpointId::new(ok).is_ok(), "{ok:?}");
            assert!(ConferenceId::new(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn ids_refuse_empty_long_and_unsafe() {
        assert_eq!(
            EndpointId::new(""),
            Err(FieldError::Invalid("must not be empty"))
        );
        assert!(matches!(
            EndpointId::new("x".repeat(MAX_ID_BYTES + 1)),
            Err(FieldError::TooLarge { len: 65, max: 64 })
        ));
        for bad in [
            "..", "-rf", ".hidden", "a b", "a/b", "sơn", "a\0", "a\n", "a;b", "ａ",
        ] {
            assert!(
                matches!(ConferenceId::new(bad), Err(FieldError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_allow_vietnamese_and_refuse_control_characters() {
        let name = DisplayName::new("UBND huyện Sơn Dương").unwrap();
        assert_eq!(name.as_str(), "UBND huyện Sơn Dương");
        // Decomposed form (NFD) is kept as is, not normalised.
        let nfd = "Hu\u{0065}\u{0323}\u{0302}n";
        assert_eq!(DisplayName::new(nfd).unwrap().as_str(), nfd);
        assert!(DisplayName::new("   ").is_err());
        assert!(DisplayName::new("a\u{7}b").is_err());
        assert!(DisplayName::new("a\u{85}b").is_err());
        assert!(matches!(
            DisplayName::new("ư".repeat(MAX_NAME_BYTES)),
            Err(FieldError::TooLarge { .. })
        ));
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = JoinToken::new("secret.jwt.value").unwrap();
        assert_eq!(format!("{t:?}"), "JoinToken(<16 bytes>)");
        assert!(JoinToken::new("has space").is_err());
        assert!(JoinToken::new("").is_err());
    }
}
