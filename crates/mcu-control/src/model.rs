//! Request and response bodies of the REST API — the wire format, in one
//! place. Handlers convert to and from the store's domain types here.

use mcu_store as store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident <-> $domain:path { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[allow(missing_docs)] $variant),+ }

        impl From<$domain> for $name {
            fn from(v: $domain) -> Self { match v { $(<$domain>::$variant => Self::$variant),+ } }
        }
        impl From<$name> for $domain {
            fn from(v: $name) -> Self { match v { $($name::$variant => Self::$variant),+ } }
        }
    };
}

wire_enum! {
    /// `admin`, `operator`, `site_operator` or `auditor`.
    RoleName <-> store::Role { Admin, Operator, SiteOperator, Auditor }
}
wire_enum! {
    /// `central`, `province`, `district` or `commune`.
    LevelName <-> store::Level { Central, Province, District, Commune }
}
wire_enum! {
    /// `created`, `rehearsal`, `ready_check`, `live`, `ended` or `reported`.
    ConferenceStateName <-> store::ConferenceState { Created, Rehearsal, ReadyCheck, Live, Ended, Reported }
}

/// Log in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new session: the token is also set as an HTTP-only cookie.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for API clients.
    pub token: String,
    /// Expiry, Unix ms.
    pub expires_at: i64,
    /// Who is logged in.
    pub user: UserView,
}

/// An account as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Full name.
    pub display_name: String,
    /// Role.
    pub role: RoleName,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Locked after repeated failed logins until this time (Unix ms).
    pub locked_until: Option<i64>,
    /// Endpoints a site operator looks after.
    pub endpoints: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
}

impl From<store::User> for UserView {
    fn from(u: store::User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.into(),
            disabled: u.disabled,
            locked_until: u.locked_until,
            endpoints: u.endpoints,
            created_at: u.created_at,
        }
    }
}

/// Create an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Login name: 3–64 characters from `a-z 0-9 . _ -`.
    pub username: String,
    /// Full name (Unicode).
    pub display_name: String,
    /// Role.
    pub role: RoleName,
    /// At least 12 characters.
    pub password: String,
    /// For a site operator: the endpoints they look after (at least one).
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// Change an account; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Full name.
    pub display_name: Option<String>,
    /// Role (ends the account's sessions).
    pub role: Option<RoleName>,
    /// Disable (ends sessions) or enable.
    pub disabled: Option<bool>,
    /// New password (ends sessions, clears a lock).
    pub password: Option<String>,
    /// Endpoints a site operator looks after.
    pub endpoints: Option<Vec<String>>,
}

/// A technical contact of an endpoint (R14).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// Full name.
    pub name: String,
    /// Job title.
    #[serde(default)]
    pub title: String,
    /// Unit.
    #[serde(default)]
    pub unit: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

impl From<store::Contact> for ContactBody {
    fn from(c: store::Contact) -> Self {
        Self {
            name: c.name,
            title: c.title,
            unit: c.unit,
            phone: c.phone,
            email: c.email,
        }
    }
}

impl From<ContactBody> for store::Contact {
    fn from(c: ContactBody) -> Self {
        Self {
            name: c.name,
            title: c.title,
            unit: c.unit,
            phone: c.phone,
            email: c.email,
        }
    }
}

/// An endpoint (điểm cầu) of the directory, as sent and received.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// Stable id: 1–64 characters from `a-z 0-9 . _ -`, starting with a letter or digit.
    pub id: String,
    /// Name with diacritics, e.g. "UBND huyện Sơn Dương".
    pub name: String,
    /// Owning unit.
    #[serde(default)]
    pub unit: String,
    /// Administrative level.
    pub level: LevelName,
    /// May host the chair.
    #[serde(default)]
    pub chair_capable: bool,
    /// Id of the MCU this endpoint dials.
    pub owner_mcu: String,
    /// Technical contacts.
    #[serde(default)]
    pub contacts: Vec<ContactBody>,
}

impl From<store::Endpoint> for EndpointBody {
    fn from(e: store::Endpoint) -> Self {
        Self {
            id: e.id,
            name: e.name,
            unit: e.unit,
            level: e.level.into(),
            chair_capable: e.chair_capable,
            owner_mcu: e.owner_mcu,
            contacts: e.contacts.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<EndpointBody> for store::Endpoint {
    fn from(e: EndpointBody) -> Self {
        Self {
            id: e.id,
            name: e.name,
            unit: e.unit,
            level: e.level.into(),
            chair_capable: e.chair_capable,
            owner_mcu: e.owner_mcu,
            contacts: e.contacts.into_iter().map(Into::into).collect(),
        }
    }
}

/// A new dial-in token, shown once: only its hash is kept.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The endpoint.
    pub endpoint: String,
    /// The token to configure on the endpoint (join page `token=`).
    pub token: String,
}

/// Create a conference.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConferenceRequest {
    /// Stable id (as for endpoints).
    pub id: String,
    /// Title with diacritics.
    pub title: String,
    /// The chair endpoint (must be chair-capable and among the participants).
    pub chair: Option<String>,
    /// Layout of the chair view, e.g. `2x2`, `1+7`.
    pub layout: String,
    /// Participating endpoints.
    pub participants: Vec<String>,
    /// Cascade links taking part (R7); none: the conference is local to
    /// this MCU. See `GET /api/v1/cascade/neighbours`.
    #[serde(default)]
    pub links: Vec<ConferenceLinkBody>,
}

/// A cascade link a conference names.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConferenceLinkBody {
    /// The neighbour MCU's id: this MCU's parent (the link up; its standby
    /// comes with it) or one of its children (a link accepted here).
    pub mcu: String,
    /// Link up only: the id of the counterpart conference on the parent,
    /// when it differs from this one's (e.g. both were booked separately).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference: Option<String>,
}

impl From<mcu_store::ConferenceLink> for ConferenceLinkBody {
    fn from(l: mcu_store::ConferenceLink) -> Self {
        Self {
            mcu: l.mcu,
            conference: l.remote_conference,
        }
    }
}

/// The cascade links of a conference.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinksRequest {
    /// Every link taking part (an empty list: none).
    pub links: Vec<ConferenceLinkBody>,
}

/// A participant of a conference with its live state.
#[derive(Serialize, ToSchema)]
pub struct ParticipantView {
    /// Endpoint id.
    pub endpoint: String,
    /// Endpoint name.
    pub name: String,
    /// Whether its media is connected now.
    pub connected: bool,
    /// Audio muted by the operator or the room.
    pub audio_muted: bool,
    /// Video muted by the operator or the room.
    pub video_muted: bool,
}

/// A conference with its participants.
#[derive(Serialize, ToSchema)]
pub struct ConferenceView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Chair endpoint.
    pub chair: Option<String>,
    /// Layout of the chair view.
    pub layout: String,
    /// State.
    pub state: ConferenceStateName,
    /// Creator.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub started_at: Option<i64>,
    /// Unix ms.
    pub ended_at: Option<i64>,
    /// Participants with live state.
    pub participants: Vec<ParticipantView>,
    /// Cascade links taking part.
    pub links: Vec<ConferenceLinkBody>,
}

/// One audit log entry.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    /// Increasing id (use as `before` to page back).
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Username, or `-`.
    pub actor: String,
    /// Role at the time.
    pub role: String,
    /// Action, e.g. `participant.mute`.
    pub action: String,
    /// Target, e.g. `conference/giao-ban/participant/xa-dong-quy`.
    pub target: String,
    /// Client address.
    pub from_addr: String,
    /// `ok` or the error code.
    pub result: String,
    /// Parameters of the action.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<store::AuditEntry> for AuditView {
    fn from(a: store::AuditEntry) -> Self {
        let e = a.entry;
        Self {
            id: a.id,
            at: e.at,
            actor: e.actor,
            role: e.role,
            action: e.action,
            target: e.target,
            from_addr: e.from_addr,
            result: e.result,
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

wire_enum! {
    /// `scheduled` (≥ 2 days' notice) or `emergency` (≥ 2 hours').
    BookingKindName <-> store::BookingKind { Scheduled, Emergency }
}
wire_enum! {
    /// `requested`, `approved`, `rejected` or `cancelled`.
    BookingStatusName <-> store::BookingStatus { Requested, Approved, Rejected, Cancelled }
}

/// One agenda item of a scenario (kịch bản).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaItemBody {
    /// What the item is, e.g. "Báo cáo tình hình lũ".
    pub title: String,
    /// The endpoint that speaks (a participant), if any.
    #[serde(default)]
    pub speaker: Option<String>,
    /// Layout of the chair view during the item, e.g. `1+7`.
    pub layout: String,
    /// Planned length, 1–1440 minutes.
    pub planned_minutes: i64,
}

impl From<store::AgendaItem> for AgendaItemBody {
    fn from(i: store::AgendaItem) -> Self {
        Self {
            title: i.title,
            speaker: i.speaker,
            layout: i.layout,
            planned_minutes: i.planned_minutes,
        }
    }
}

impl From<AgendaItemBody> for store::AgendaItem {
    fn from(i: AgendaItemBody) -> Self {
        Self {
            title: i.title,
            speaker: i.speaker,
            layout: i.layout,
            planned_minutes: i.planned_minutes,
        }
    }
}

/// Request a conference (or change a requested one: the whole request).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRequestBody {
    /// Title with diacritics.
    pub title: String,
    /// The unit that organises the conference.
    pub organising_unit: String,
    /// The chair endpoint: chair-capable; added to the participants.
    pub chair: String,
    /// Participating endpoints.
    pub participants: Vec<String>,
    /// Official start, Unix ms.
    pub start_at: i64,
    /// Official end, Unix ms.
    pub end_at: i64,
    /// `scheduled` or `emergency`.
    pub kind: BookingKindName,
    /// Ordered agenda items.
    #[serde(default)]
    pub scenario: Vec<AgendaItemBody>,
    /// Record the conference.
    #[serde(default)]
    pub recording: bool,
}

impl From<BookingRequestBody> for crate::booking::BookingRequest {
    fn from(b: BookingRequestBody) -> Self {
        Self {
            title: b.title,
            organising_unit: b.organising_unit,
            chair: b.chair,
            participants: b.participants,
            start_at: b.start_at,
            end_at: b.end_at,
            kind: b.kind.into(),
            scenario: b.scenario.into_iter().map(Into::into).collect(),
            recording: b.recording,
        }
    }
}

/// The reason of a rejection or a cancellation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// 1–200 characters.
    pub reason: String,
}

/// A booking as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct BookingView {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Organising unit.
    pub organising_unit: String,
    /// Chair endpoint.
    pub chair: String,
    /// Participating endpoints, the chair included.
    pub participants: Vec<String>,
    /// `scheduled` or `emergency`.
    pub kind: BookingKindName,
    /// Official start, Unix ms.
    pub start_at: i64,
    /// Official end, Unix ms.
    pub end_at: i64,
    /// Rehearsal opens (start of the booking's window), Unix ms.
    pub rehearsal_at: i64,
    /// Readiness check begins, Unix ms.
    pub ready_check_at: i64,
    /// Ordered agenda items.
    pub scenario: Vec<AgendaItemBody>,
    /// Record the conference.
    pub recording: bool,
    /// Where the booking is.
    pub status: BookingStatusName,
    /// Requester's username.
    pub requested_by: String,
    /// Unix ms.
    pub requested_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Who approved, rejected or cancelled it.
    pub decided_by: Option<String>,
    /// Unix ms.
    pub decided_at: Option<i64>,
    /// Reason of the rejection or cancellation.
    pub reason: Option<String>,
    /// The conference made on approval.
    pub conference_id: Option<String>,
}

impl From<store::Booking> for BookingView {
    fn from(b: store::Booking) -> Self {
        let d = b.details;
        Self {
            id: b.id,
            title: d.title,
            organising_unit: d.organising_unit,
            chair: d.chair,
            participants: d.participants,
            kind: d.kind.into(),
            start_at: d.start_at,
            end_at: d.end_at,
            rehearsal_at: d.rehearsal_at,
            ready_check_at: d.ready_check_at,
            scenario: d.scenario.into_iter().map(Into::into).collect(),
            recording: d.recording,
            status: b.status.into(),
            requested_by: b.requested_by,
            requested_at: b.requested_at,
            updated_at: b.updated_at,
            decided_by: b.decided_by,
            decided_at: b.decided_at,
            reason: b.reason,
            conference_id: b.conference_id,
        }
    }
}

/// The booking rules in force and the server's clock (`GET /api/v1/booking-rules`).
#[derive(Serialize, ToSchema)]
pub struct BookingRulesView {
    /// The server's time now, Unix ms: the notice rule counts from it.
    pub now: i64,
    /// Least notice of a `scheduled` booking (ms).
    pub scheduled_notice_ms: i64,
    /// Least notice of an `emergency` booking (ms).
    pub emergency_notice_ms: i64,
    /// The rehearsal opens this long before the start (ms).
    pub rehearsal_before_ms: i64,
    /// The readiness check begins this long before the start (ms).
    pub ready_check_before_ms: i64,
    /// Longest official session (ms).
    pub max_duration_ms: i64,
    /// Most endpoints of one booking.
    pub max_participants: usize,
    /// Most agenda items of one scenario.
    pub max_agenda_items: usize,
    /// Layouts an agenda item may use (built-in and custom).
    pub layouts: Vec<String>,
}

wire_enum! {
    /// `auto`, `operator`, `correction` or `sign_off`.
    LogbookKindName <-> store::LogbookKind { Auto, Operator, Correction, SignOff }
}
wire_enum! {
    /// `phase`, `join`, `leave`, `drop`, `reconnect`, `alarm`, `readiness`,
    /// `action`, `incident`, `note` or `sign_off`.
    LogbookCategoryName <-> store::LogbookCategory {
        Phase, Join, Leave, Drop, Reconnect, Alarm, Readiness, Action, Incident, Note, SignOff
    }
}

/// What an operator may write: an incident or a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorCategory {
    /// An incident (sự cố) and, in `remedy`, how it was fixed.
    Incident,
    /// A free note.
    Note,
}

impl From<OperatorCategory> for store::LogbookCategory {
    fn from(c: OperatorCategory) -> Self {
        match c {
            OperatorCategory::Incident => Self::Incident,
            OperatorCategory::Note => Self::Note,
        }
    }
}

/// One entry of a conference's logbook.
#[derive(Serialize, ToSchema)]
pub struct LogbookEntryView {
    /// Position in the logbook, from 1 (use as `after` to page on).
    pub seq: i64,
    /// Unix ms.
    pub at: i64,
    /// Who or what wrote it.
    pub kind: LogbookKindName,
    /// What it is about.
    pub category: LogbookCategoryName,
    /// Username, or `system`.
    pub actor: String,
    /// The text.
    pub text: String,
    /// Structured details (`remedy` of an incident, `audit_id` of an action, the signer…).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The corrected entry (corrections only).
    pub refers_to: Option<i64>,
    /// Hash of the previous entry (hex; 64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of this entry's fields and `prev_hash` (hex).
    pub hash: String,
}

impl From<store::LogbookEntry> for LogbookEntryView {
    fn from(e: store::LogbookEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.entry.at_ms,
            kind: e.entry.kind.into(),
            category: e.entry.category.into(),
            actor: e.entry.actor,
            text: e.entry.text,
            details: serde_json::from_str(&e.entry.details).unwrap_or(serde_json::Value::Null),
            refers_to: e.entry.refers_to,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// An operator's entry, or a correction of an earlier entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogbookEntryRequest {
    /// `incident` or `note`.
    pub category: OperatorCategory,
    /// What happened, 1–4000 characters (line breaks allowed).
    pub text: String,
    /// How an incident was fixed, up to 4000 characters.
    #[serde(default)]
    pub remedy: Option<String>,
    /// The `seq` of the entry this one corrects; makes it a `correction`.
    #[serde(default)]
    pub refers_to: Option<i64>,
}

/// The duty officer's sign-off (ký xác nhận), which closes the logbook.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOffRequest {
    /// The signer's full name.
    pub signer_name: String,
    /// The signer's title, e.g. "Trực ban kỹ thuật".
    pub signer_title: String,
    /// A closing remark, up to 4000 characters.
    #[serde(default)]
    pub remark: Option<String>,
}

/// The result of walking a logbook's hash chain.
#[derive(Serialize, ToSchema)]
pub struct LogbookVerificationView {
    /// Every link holds.
    pub intact: bool,
    /// Entries checked (intact chains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<i64>,
    /// The last entry's hash (intact chains): print it with the sign-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
    /// The first entry that does not verify (broken chains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_seq: Option<i64>,
    /// `hash_mismatch` (the entry was changed), `prev_hash_mismatch` (an
    /// entry before it was changed, removed or moved) or `missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<store::LogbookVerification> for LogbookVerificationView {
    fn from(v: store::LogbookVerification) -> Self {
        match v {
            store::LogbookVerification::Intact { entries, last_hash } => Self {
                intact: true,
                entries: Some(entries),
                last_hash: Some(last_hash),
                broken_seq: None,
                reason: None,
            },
            store::LogbookVerification::Broken { seq, reason } => Self {
                intact: false,
                entries: None,
                last_hash: None,
                broken_seq: Some(seq),
                reason: Some(reason.to_string()),
            },
        }
    }
}

wire_enum! {
    /// `webhook` or `email`.
    OutboxChannelName <-> store::OutboxChannel { Webhook, Email }
}
wire_enum! {
    /// `pending` (not tried yet), `failing` (retried with backoff) or `delivered`.
    OutboxStatusName <-> store::OutboxStatus { Pending, Failing, Delivered }
}
wire_enum! {
    /// `approved`, `changed` or `cancelled`.
    OutboxEventName <-> store::OutboxEvent { Approved, Changed, Cancelled }
}

/// A notification in the outbox (R9) with its delivery state.
#[derive(Serialize, ToSchema)]
pub struct OutboxView {
    /// Id; the webhook's `Idempotency-Key`.
    pub id: i64,
    /// The booking it is about.
    pub booking_id: i64,
    /// The participating endpoint.
    pub endpoint_id: String,
    /// What it announces.
    pub event: OutboxEventName,
    /// How it is delivered.
    pub channel: OutboxChannelName,
    /// The contact's name (the endpoint's when it has no contact).
    pub recipient_name: String,
    /// The contact's e-mail address.
    pub recipient_email: String,
    /// The contact's phone number.
    pub recipient_phone: String,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
    /// Where it is.
    pub status: OutboxStatusName,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When written, Unix ms.
    pub created_at: i64,
    /// When it is due next, Unix ms.
    pub next_attempt_at: i64,
    /// When last tried, Unix ms.
    pub last_attempt_at: Option<i64>,
    /// The last failed attempt's error.
    pub last_error: Option<String>,
    /// When delivered, Unix ms.
    pub delivered_at: Option<i64>,
}

impl From<store::OutboxMessage> for OutboxView {
    fn from(m: store::OutboxMessage) -> Self {
        let n = m.message;
        Self {
            id: m.id,
            booking_id: n.booking_id,
            endpoint_id: n.endpoint_id,
            event: n.event.into(),
            channel: n.channel.into(),
            recipient_name: n.recipient_name,
            recipient_email: n.recipient_email,
            recipient_phone: n.recipient_phone,
            subject: n.subject,
            body: n.body,
            status: m.status.into(),
            attempts: m.attempts,
            created_at: n.created_at,
            next_attempt_at: m.next_attempt_at,
            last_attempt_at: m.last_attempt_at,
            last_error: m.last_error,
            delivered_at: m.delivered_at,
        }
    }
}

/// The outbox as the console shows it: counts by status and the newest messages.
#[derive(Serialize, ToSchema)]
pub struct OutboxListView {
    /// Messages not tried yet.
    pub pending: i64,
    /// Messages whose last attempt failed.
    pub failing: i64,
    /// Messages delivered.
    pub delivered: i64,
    /// The newest messages (of the asked status), newest first.
    pub messages: Vec<OutboxView>,
}
