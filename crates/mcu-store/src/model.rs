//! The rows the store keeps, as domain types.

use std::fmt;
use std::str::FromStr;

/// An unknown name for one of the enumerations below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown value {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

macro_rules! names {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $variant:ident = $name:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty { $($(#[$vm])* $variant),+ }

        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable name used in the database, the API and the config.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl FromStr for $ty {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, $crate::UnknownName> {
                match s { $($name => Ok($ty::$variant),)+ _ => Err($crate::UnknownName(s.to_owned())) }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// What an account may do (R15: tiered rights, least privilege).
    Role {
        /// quản trị: users, endpoints, configuration.
        Admin = "admin",
        /// Runs conferences on this MCU.
        Operator = "operator",
        /// Looks after one or more endpoints: only their own rooms.
        SiteOperator = "site_operator",
        /// Reads everything, the audit log included; changes nothing.
        Auditor = "auditor",
    }
}

names! {
    /// Administrative level of an endpoint (the four levels of the network).
    Level {
        /// Trung ương: the Government.
        Central = "central",
        /// Tỉnh.
        Province = "province",
        /// Huyện.
        District = "district",
        /// Xã.
        Commune = "commune",
    }
}

names! {
    /// Where a conference is in its life.
    ConferenceState {
        /// Created, not started: endpoints cannot join yet.
        Created = "created",
        /// Rehearsal (tổng duyệt, R10): endpoints join and test their media
        /// before the official start.
        Rehearsal = "rehearsal",
        /// Readiness check (kiểm tra sẵn sàng): the last stretch before the
        /// start; media keeps flowing.
        ReadyCheck = "ready_check",
        /// The official session: endpoints join, media flows.
        Live = "live",
        /// Over.
        Ended = "ended",
        /// Over, and its quality report is compiled.
        Reported = "reported",
    }
}

impl ConferenceState {
    /// The order of the phases: a conference only ever moves forward.
    pub fn rank(self) -> u8 {
        match self {
            Self::Created => 0,
            Self::Rehearsal => 1,
            Self::ReadyCheck => 2,
            Self::Live => 3,
            Self::Ended => 4,
            Self::Reported => 5,
        }
    }

    /// Media runs: endpoints may join (rehearsal, readiness check, live).
    pub fn media_running(self) -> bool {
        matches!(self, Self::Rehearsal | Self::ReadyCheck | Self::Live)
    }

    /// Over (ended or reported).
    pub fn is_over(self) -> bool {
        matches!(self, Self::Ended | Self::Reported)
    }
}

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Login name (unique).
    pub username: String,
    /// Full name shown in the console and the audit log.
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// Argon2 PHC string of the password.
    pub password_hash: String,
    /// Endpoints a site operator looks after (empty for other roles).
    pub endpoints: Vec<String>,
}

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Full name.
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// A disabled account cannot log in and its sessions are gone.
    pub disabled: bool,
    /// Failed logins in a row since the last success or lock.
    pub failed_logins: i64,
    /// Locked until this time (Unix ms), if locked.
    pub locked_until: Option<i64>,
    /// When created (Unix ms).
    pub created_at: i64,
    /// Endpoints a site operator looks after.
    pub endpoints: Vec<String>,
}

/// A partial change to an account; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    /// New full name.
    pub display_name: Option<String>,
    /// New role (ends the account's sessions).
    pub role: Option<Role>,
    /// Disable (ends sessions) or enable.
    pub disabled: Option<bool>,
    /// New password hash (ends sessions, clears a lock).
    pub password_hash: Option<String>,
    /// New list of looked-after endpoints.
    pub endpoints: Option<Vec<String>>,
}

/// A login session; only the hash of its token is stored.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the bearer token, hex.
    pub token_hash: String,
    /// Whose session.
    pub user_id: i64,
    /// Login time (Unix ms).
    pub created_at: i64,
    /// Expiry (Unix ms).
    pub expires_at: i64,
    /// Address the login came from.
    pub from_addr: String,
}

/// A technical contact of an endpoint (R14).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Unit.
    pub unit: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// An endpoint (điểm cầu) of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Stable id (lowercase ASCII, digits, `-`), used in join requests.
    pub id: String,
    /// Display name with its diacritics, e.g. "UBND huyện Sơn Dương".
    pub name: String,
    /// Owning unit.
    pub unit: String,
    /// Administrative level.
    pub level: Level,
    /// May host the chair.
    pub chair_capable: bool,
    /// Id of the MCU the endpoint dials.
    pub owner_mcu: String,
    /// Technical contacts, in order.
    pub contacts: Vec<Contact>,
}

/// A conference and who takes part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conference {
    /// Stable id, used in join requests.
    pub id: String,
    /// Title with diacritics.
    pub title: String,
    /// The chair endpoint, if any.
    pub chair: Option<String>,
    /// Layout of the chair view.
    pub layout: String,
    /// Life state.
    pub state: ConferenceState,
    /// Username of the creator.
    pub created_by: String,
    /// When created (Unix ms).
    pub created_at: i64,
    /// When started (Unix ms).
    pub started_at: Option<i64>,
    /// When ended (Unix ms).
    pub ended_at: Option<i64>,
    /// Participating endpoints (the chair included).
    pub participants: Vec<String>,
    /// Cascade links taking part, by neighbour MCU id (empty: local only).
    pub links: Vec<ConferenceLink>,
}

/// A cascade link a conference names (R7): to its parent MCU (the link up,
/// with the parent's standby as its fallback) or to a child MCU (accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConferenceLink {
    /// The neighbour MCU's id, as in the cascade tree.
    pub mcu: String,
    /// For the link up: the counterpart conference's id on the parent
    /// (`None`: the same id as here).
    pub remote_conference: Option<String>,
}

/// An audit entry to append: who did what, when, from where, with what result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Unix ms.
    pub at: i64,
    /// Username, or `-` for an anonymous attempt.
    pub actor: String,
    /// The actor's role at the time, or `-`.
    pub role: String,
    /// Stable action name, e.g. `participant.mute`.
    pub action: String,
    /// What was acted on, e.g. `conference/giao-ban/participant/xa-dong-quy`.
    pub target: String,
    /// Client address.
    pub from_addr: String,
    /// `ok`, or the error code.
    pub result: String,
    /// Parameters of the action (JSON text).
    pub details: String,
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Row id, increasing.
    pub id: i64,
    /// The entry.
    pub entry: NewAuditEntry,
}

/// A named camera position of an endpoint (R6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraPreset {
    /// Name, e.g. "Ghế chủ tọa", "Toàn cảnh".
    pub name: String,
    /// Horizontal centre, thousandths of the picture width (0–1000).
    pub pan: u16,
    /// Vertical centre, thousandths of the picture height (0–1000).
    pub tilt: u16,
    /// Magnification in hundredths (100–400).
    pub zoom: u16,
}

names! {
    /// How much notice a booking gives (R8).
    BookingKind {
        /// Registered in writing, at least 2 days ahead by default.
        Scheduled = "scheduled",
        /// Urgent (floods, storms, fire): by phone or e-mail, at least 2 hours ahead by default.
        Emergency = "emergency",
    }
}

names! {
    /// Where a booking is in its life.
    BookingStatus {
        /// Waiting for an operator's decision.
        Requested = "requested",
        /// Approved: its conference exists.
        Approved = "approved",
        /// Refused by an operator, with a reason.
        Rejected = "rejected",
        /// Withdrawn.
        Cancelled = "cancelled",
    }
}

impl BookingStatus {
    /// Whether the booking holds its endpoints for its window (the clash rule).
    pub fn holds_endpoints(self) -> bool {
        matches!(self, Self::Requested | Self::Approved)
    }
}

/// One agenda item of a booking's scenario (kịch bản).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaItem {
    /// What the item is, e.g. "Báo cáo tình hình lũ".
    pub title: String,
    /// The endpoint that speaks, if any.
    pub speaker: Option<String>,
    /// Layout of the chair view during the item.
    pub layout: String,
    /// Planned length in minutes.
    pub planned_minutes: i64,
}

/// What a booking asks for; checked by the rules before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingDetails {
    /// Title with diacritics.
    pub title: String,
    /// The unit that organises the conference.
    pub organising_unit: String,
    /// The chair endpoint (also among the participants).
    pub chair: String,
    /// Participating endpoints, the chair included, sorted.
    pub participants: Vec<String>,
    /// Official start (Unix ms).
    pub start_at: i64,
    /// Official end (Unix ms).
    pub end_at: i64,
    /// When the rehearsal opens (Unix ms): the start of the booking's window.
    pub rehearsal_at: i64,
    /// When the readiness check begins (Unix ms).
    pub ready_check_at: i64,
    /// Scheduled or emergency.
    pub kind: BookingKind,
    /// Ordered agenda items.
    pub scenario: Vec<AgendaItem>,
    /// Record the conference (R17).
    pub recording: bool,
}

/// A stored booking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booking {
    /// Row id.
    pub id: i64,
    /// What was asked for.
    pub details: BookingDetails,
    /// Where it is.
    pub status: BookingStatus,
    /// Username of the requester.
    pub requested_by: String,
    /// When requested (Unix ms).
    pub requested_at: i64,
    /// Last change (Unix ms).
    pub updated_at: i64,
    /// Who approved, rejected or cancelled it.
    pub decided_by: Option<String>,
    /// When (Unix ms).
    pub decided_at: Option<i64>,
    /// The reason given with the decision.
    pub reason: Option<String>,
    /// The conference made on approval.
    pub conference_id: Option<String>,
}

/// A decision on a booking: who, when, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingDecision {
    /// Username.
    pub by: String,
    /// Unix ms.
    pub at: i64,
    /// Reason (required for a rejection by the API).
    pub reason: Option<String>,
}
