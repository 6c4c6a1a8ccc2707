//! Passwords (argon2id), session tokens (random, stored only as SHA-256),
//! the [`Caller`] extractor, and what each role may do.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use mcu_store::{Role, User};
use ring::rand::{SecureRandom, SystemRandom};

use crate::ControlState;
use crate::error::ApiError;

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "mcu_session";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator failing is not recoverable for a security component.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random generator failed");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh secret token (256 bits, hex).
pub fn new_token() -> String {
    hex(&random_bytes::<32>())
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::invalid(
            "password",
            "a password may have at most 1024 bytes",
        ));
    }
    Ok(())
}

/// Argon2id PHC string of a password.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(ApiError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of one verification, so an unknown username answers as
/// slowly as a wrong password.
pub fn burn_one_verification() {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default());
    let _ = verify_password(phc, "still-not-the-password");
}

/// Something a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Create, change, delete accounts.
    ManageUsers,
    /// Create, change, delete endpoints; issue dial-in tokens.
    ManageEndpoints,
    /// Read the endpoint directory and the contacts list (published to all sites, R14).
    ReadDirectory,
    /// Change an endpoint's contacts (site operators: their own endpoints).
    EditContacts,
    /// See conferences (site operators: those their endpoints are in).
    ReadConferences,
    /// Create, start, end conferences; steer any participant.
    RunConferences,
    /// Steer one's own room in a conference: own mic, floor request, own presets.
    ControlOwnRoom,
    /// Save or delete camera presets (site operators: their own endpoints).
    EditPresets,
    /// Read the audit log.
    ReadAudit,
    /// Request, change or cancel a booking (site operators: chaired by their own endpoint).
    RequestBookings,
    /// Approve or reject bookings (the operator arranges the schedule, R8).
    DecideBookings,
    /// Read, export and verify a conference's logbook (R12).
    ReadLogbook,
    /// Write entries in a conference's logbook and sign it off (R12).
    WriteLogbook,
    /// List and download conference recordings (R17).
    ReadRecordings,
    /// Read the periodic usage report (R13, R19; site operators: their own
    /// endpoints' rows only).
    ReadUsage,
}

impl Permission {
    /// What a 403 says the caller tried.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ManageUsers => "manage accounts",
            Self::ManageEndpoints => "manage the endpoint directory",
            Self::ReadDirectory => "read the endpoint directory",
            Self::EditContacts => "edit these contacts",
            Self::ReadConferences => "see this conference",
            Self::RunConferences => "run conferences",
            Self::ControlOwnRoom => "control this room",
            Self::EditPresets => "edit these camera presets",
            Self::ReadAudit => "read the audit log",
            Self::RequestBookings => "request or change this booking",
            Self::DecideBookings => "approve or reject bookings",
            Self::ReadLogbook => "read conference logbooks",
            Self::WriteLogbook => "write in or sign off conference logbooks",
            Self::ReadRecordings => "list or download recordings",
            Self::ReadUsage => "read usage reports",
        }
    }
}

/// The rights table (R15: tiered, least privilege). Scoping of site
/// operators to their own endpoints is checked by [`Caller::require_for`].
pub fn allowed(role: Role, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match p {
        ManageUsers | ManageEndpoints => role == Admin,
        ReadDirectory => true,
        EditContacts => matches!(role, Admin | SiteOperator),
        ReadConferences => true,
        RunConferences => role == Operator,
        ControlOwnRoom => matches!(role, Operator | SiteOperator),
        EditPresets => matches!(role, Admin | Operator | SiteOperator),
        ReadAudit => matches!(role, Admin | Auditor),
        RequestBookings => matches!(role, Operator | SiteOperator),
        DecideBookings => role == Operator,
        ReadLogbook => matches!(role, Admin | Operator | Auditor),
        WriteLogbook => matches!(role, Admin | Operator),
        ReadRecordings => matches!(role, Admin | Operator),
        ReadUsage => matches!(role, Admin | Operator | Auditor | SiteOperator),
    }
}

/// The logged-in user making a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account.
    pub user: User,
    /// Hash of the session token used.
    pub token_hash: String,
    /// Client address.
    pub from: String,
}

impl Caller {
    /// 403 unless the role has `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if allowed(self.user.role, p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(p.describe()))
        }
    }

    /// 403 unless the role has `p` and, for a site operator, `endpoint` is theirs.
    pub fn require_for(&self, p: Permission, endpoint: &str) -> Result<(), ApiError> {
        self.require(p)?;
        if self.user.role == Role::SiteOperator && !self.owns(endpoint) {
            return Err(ApiError::forbidden(p.describe()));
        }
        Ok(())
    }

    /// Whether a site operator looks after `endpoint`.
    pub fn owns(&self, endpoint: &str) -> bool {
        self.user.endpoints.iter().any(|e| e == endpoint)
    }
}

/// The client address of a request, `-` when unknown (tests without a socket).
pub fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "-".into())
}

/// The session token of a request: `Authorization: Bearer …`, else the cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<Arc<ControlState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ControlState>,
    ) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or_else(ApiError::unauthenticated)?;
        if token.is_empty() || token.len() > 256 {
            return Err(ApiError::unauthenticated());
        }
        let token_hash = token_hash(&token);
        let user = state
            .store
            .session_user(&token_hash, state.now_ms())
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Self {
            user,
            token_hash,
            from: client_addr(parts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let phc = hash_password("mật khẩu dài đủ 12").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&phc, "mật khẩu dài đủ 12"));
        assert!(!verify_password(&phc, "mật khẩu dài đủ 13"));
        assert!(!verify_password("garbage", "x"));
        assert_ne!(phc, hash_password("mật khẩu dài đủ 12").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password_policy("ngắn").is_err());
        assert!(check_password_policy("đủ-mười-hai-ký-tự").is_ok());
    }

    #[test]
    fn only_admin_manages_and_only_operator_runs() {
        for role in Role::ALL {
            assert_eq!(
                allowed(*role, Permission::ManageUsers),
                *role == Role::Admin
            );
            assert_eq!(
                allowed(*role, Permission::RunConferences),
                *role == Role::Operator
            );
            assert!(allowed(*role, Permission::ReadDirectory));
        }
        assert!(allowed(Role::Auditor, Permission::ReadAudit));
        assert!(!allowed(Role::Operator, Permission::ReadAudit));
        assert!(!allowed(Role::Auditor, Permission::EditContacts));
    }
}
