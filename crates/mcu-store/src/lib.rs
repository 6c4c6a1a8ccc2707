//! Persistence of the MCU: accounts and their sessions, the endpoint directory
//! (điểm cầu) with technical contacts, conferences with their participants,
//! bookings (requests for a conference with their scenario, and the
//! operator's decision), the audit log of every operator action, and each
//! conference's hash-chained logbook (module `logbook`, R12), the
//! quality samples the daemon records during a session (module `quality`, R13),
//! the notifications outbox of bookings (module `outbox`, R9), and the
//! aggregate reads the periodic usage report is compiled from (module
//! `usage`, R13, R19).
//!
//! One [`Store`] serves both back-ends through sqlx's `Any` driver: a SQLite
//! file (the embedded default, WAL mode) or PostgreSQL when the configured URL
//! says `postgres://`. The same SQL text runs on both — placeholders are
//! `$1…`, times are Unix milliseconds in `BIGINT`, flags are `BIGINT` 0/1 — so
//! the one storage test suite (`tests/store.rs`) checks both.
//!
//! Migrations are embedded and run in order at [`Store::open`]; each runs in a
//! transaction and is recorded in `schema_migrations`.
//!
//! Time is an input: every call that stamps a row takes `now_ms` from the
//! caller (the daemon's wall clock, or a test's).
//!
//! ```no_run
//! # async fn f() -> Result<(), mcu_store::StoreError> {
//! let store = mcu_store::Store::open("sqlite://data/mcu.db").await?;
//! let users = store.list_users().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

#[macro_use]
mod model;
mod logbook;
mod outbox;
mod quality;
mod readiness;
mod recordings;
mod scenario;
mod usage;

// Row selections with a literal tail, so every query text stays a `&'static str`.
macro_rules! user_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, display_name, role, password_hash, disabled, failed_logins, ",
            "locked_until, created_at FROM users ",
            $tail
        )
    };
}
macro_rules! endpoint_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, unit, level, chair_capable, owner_mcu FROM endpoints ",
            $tail
        )
    };
}
macro_rules! conference_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, title, chair_endpoint, layout, state, created_by, created_at, ",
            "started_at, ended_at FROM conferences ",
            $tail
        )
    };
}

macro_rules! booking_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, title, organising_unit, chair_endpoint, kind, start_at, end_at, ",
            "rehearsal_at, ready_check_at, recording, status, requested_by, requested_at, ",
            "updated_at, decided_by, decided_at, reason, conference_id FROM bookings ",
            $tail
        )
    };
}

use std::str::FromStr;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use logbook::*;
pub use model::*;
pub use outbox::*;
pub use quality::*;
pub use readiness::*;
pub use recordings::*;
pub use scenario::*;
pub use usage::*;

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL (use sqlite://FILE or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// A unique key is taken (a username, an endpoint id…).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A referenced row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A stored value cannot be read back (a role or level the code does not know).
    #[error("corrupt value in the database: {0}")]
    Corrupt(String),
    /// The conference's logbook is signed off: it takes no more entries.
    #[error("the logbook of conference {0} is signed off and closed")]
    LogbookSigned(String),
    /// A logbook correction names an entry that does not exist.
    #[error("the logbook of conference {0} has no entry {1}")]
    NoSuchEntry(String, i64),
    /// A write lost its race too many times in a row; try again.
    #[error("{0} is busy; try again")]
    Busy(String),
    /// The database said no.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "directory, accounts, audit",
        include_str!("../migrations/0001_directory_accounts_audit.sql"),
    ),
    (
        2,
        "camera presets",
        include_str!("../migrations/0002_camera_presets.sql"),
    ),
    (
        3,
        "bookings",
        include_str!("../migrations/0003_bookings.sql"),
    ),
    (
        4,
        "conference logbook",
        include_str!("../migrations/0004_logbook.sql"),
    ),
    (
        5,
        "quality samples",
        include_str!("../migrations/0005_quality_samples.sql"),
    ),
    (
        6,
        "notifications outbox",
        include_str!("../migrations/0006_outbox.sql"),
    ),
    (
        7,
        "recordings",
        include_str!("../migrations/0007_recordings.sql"),
    ),
    (
        8,
        "scenario steps",
        include_str!("../migrations/0008_scenario.sql"),
    ),
    (
        9,
        "readiness results",
        include_str!("../migrations/0009_readiness.sql"),
    ),
    (
        10,
        "conference cascade links",
        include_str!("../migrations/0010_conference_links.sql"),
    ),
];

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn flag(v: bool) -> i64 {
    i64::from(v)
}

impl Store {
    /// Begins a transaction that writes. On SQLite it takes the write lock
    /// at once (`BEGIN IMMEDIATE`): a deferred transaction that reads first
    /// cannot upgrade its read snapshot once another connection has written,
    /// and fails as "database is locked" whatever the busy timeout; with the
    /// lock taken up front, writers queue (up to the busy timeout) instead.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and runs migrations.
    ///
    /// `sqlite://PATH` opens or creates a file in WAL mode with foreign keys on;
    /// `postgres://…` connects to a server.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let sep = if path.contains('?') { '&' } else { '?' };
            (Backend::Sqlite, format!("sqlite://{path}{sep}mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer; NORMAL sync is
                        // durable across a process kill (the WAL is in the OS).
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The back-end this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let id = match self.backend {
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        for &(version, description, sql) in MIGRATIONS {
            let mut tx = self.begin_write().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            tracing::info!(version, description, "applying database migration");
            // The only substitution is one of the two constant column types above.
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.replace("{id}", id)))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)")
                .bind(version)
                .bind(description)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    // ---- users -------------------------------------------------------------

    /// Creates a user; a site operator's endpoints are set in the same transaction.
    pub async fn create_user(&self, new: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate(format!("user {}", new.username))
            } else {
                e.into()
            }
        })?;
        for endpoint in &new.endpoints {
            insert_user_endpoint(&mut tx, id, endpoint).await?;
        }
        tx.commit().await?;
        self.user(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(user_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.user_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// A user by login name.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(user_select!("WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.user_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// Every user, by id.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(user_select!("ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(self.user_from_row(row).await?);
        }
        Ok(users)
    }

    /// How many users exist (zero means the first admin is still to be created).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn user_from_row(&self, row: &AnyRow) -> Result<User, StoreError> {
        let id: i64 = row.try_get("id")?;
        let role: String = row.try_get("role")?;
        let endpoints = sqlx::query_scalar(
            "SELECT endpoint_id FROM user_endpoints WHERE user_id = $1 ORDER BY endpoint_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(User {
            id,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role: Role::from_str(&role).map_err(|_| StoreError::Corrupt(format!("role {role}")))?,
            password_hash: row.try_get("password_hash")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            failed_logins: row.try_get("failed_logins")?,
            locked_until: row.try_get("locked_until")?,
            created_at: row.try_get("created_at")?,
            endpoints,
        })
    }

    /// Changes what is given in `change`; returns the updated user.
    pub async fn update_user(&self, id: i64, change: &UserChange) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        if let Some(name) = &change.display_name {
            sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(role) = change.role {
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(disabled) = change.disabled {
            sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                .bind(flag(disabled))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(hash) = &change.password_hash {
            sqlx::query(
                "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL \
                 WHERE id = $2",
            )
            .bind(hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(endpoints) = &change.endpoints {
            sqlx::query("DELETE FROM user_endpoints WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for endpoint in endpoints {
                insert_user_endpoint(&mut tx, id, endpoint).await?;
            }
        }
        if change.disabled == Some(true) || change.password_hash.is_some() || change.role.is_some()
        {
            // A changed account starts over: its open sessions end.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.user(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    /// Deletes a user and their sessions.
    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        Ok(())
    }

    /// Counts a failed login; at `max_failures` in a row the account is
    /// locked until `now_ms + lock_ms`. Returns the lock end if locked.
    pub async fn record_login_failure(
        &self,
        id: i64,
        now_ms: i64,
        max_failures: i64,
        lock_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let failures: i64 = sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 \
             RETURNING failed_logins",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let locked = if failures >= max_failures {
            let until = now_ms + lock_ms;
            sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Some(until)
        } else {
            None
        };
        tx.commit().await?;
        Ok(locked)
    }

    /// A successful login clears the failure count and any expired lock.
    pub async fn record_login_success(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- sessions ----------------------------------------------------------

    /// Stores a login session under the hash of its token.
    pub async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, from_addr) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(&session.from_addr)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user behind a session token hash, if the session exists, has not
    /// expired, and the account is enabled.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let user_id: Option<i64> = sqlx::query_scalar(
            "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        match user_id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    /// Ends one session (logout).
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets expired sessions; returns how many.
    pub async fn purge_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    // ---- endpoints ---------------------------------------------------------

    /// Adds an endpoint to the directory.
    pub async fn create_endpoint(&self, e: &Endpoint, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO endpoints (id, name, unit, level, chair_capable, owner_mcu, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&e.id)
        .bind(&e.name)
        .bind(&e.unit)
        .bind(e.level.as_str())
        .bind(flag(e.chair_capable))
        .bind(&e.owner_mcu)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|err| {
            if unique_violation(&err) {
                StoreError::Duplicate(format!("endpoint {}", e.id))
            } else {
                err.into()
            }
        })?;
        write_contacts(&mut tx, &e.id, &e.contacts).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces an endpoint's directory entry (all fields, contacts included).
    pub async fn update_endpoint(&self, e: &Endpoint, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE endpoints SET name = $1, unit = $2, level = $3, chair_capable = $4, \
             owner_mcu = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&e.name)
        .bind(&e.unit)
        .bind(e.level.as_str())
        .bind(flag(e.chair_capable))
        .bind(&e.owner_mcu)
        .bind(now_ms)
        .bind(&e.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("endpoint {}", e.id)));
        }
        write_contacts(&mut tx, &e.id, &e.contacts).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces only an endpoint's technical contacts (what a site operator may change).
    pub async fn set_contacts(
        &self,
        endpoint: &str,
        contacts: &[Contact],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE endpoints SET updated_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(endpoint)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("endpoint {endpoint}")));
        }
        write_contacts(&mut tx, endpoint, contacts).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One endpoint with its contacts.
    pub async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let row = sqlx::query(endpoint_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let mut e = endpoint_from_row(&row)?;
                e.contacts = self.contacts(&e.id).await?;
                Ok(Some(e))
            }
            None => Ok(None),
        }
    }

    /// The whole directory, ordered by level (central first) then name.
    pub async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let rows = sqlx::query(endpoint_select!("ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut e = endpoint_from_row(row)?;
            e.contacts = self.contacts(&e.id).await?;
            all.push(e);
        }
        all.sort_by(|a, b| (a.level, &a.name).cmp(&(b.level, &b.name)));
        Ok(all)
    }

    async fn contacts(&self, endpoint: &str) -> Result<Vec<Contact>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, title, unit, phone, email FROM contacts WHERE endpoint_id = $1 \
             ORDER BY position",
        )
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Contact {
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    unit: r.try_get("unit")?,
                    phone: r.try_get("phone")?,
                    email: r.try_get("email")?,
                })
            })
            .collect()
    }

    /// Removes an endpoint; refused while a conference lists it.
    pub async fn delete_endpoint(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if foreign_key_violation(&e) {
                    StoreError::Duplicate(format!(
                        "a conference or booking that lists endpoint {id}"
                    ))
                } else {
                    e.into()
                }
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("endpoint {id}")));
        }
        Ok(())
    }

    /// Sets the hash of an endpoint's dial-in token (`None` revokes it).
    pub async fn set_endpoint_token_hash(
        &self,
        id: &str,
        token_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE endpoints SET token_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(token_hash)
                .bind(now_ms)
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("endpoint {id}")));
        }
        Ok(())
    }

    /// The hash of an endpoint's dial-in token, if it has one.
    pub async fn endpoint_token_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT token_hash FROM endpoints WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(hash.flatten())
    }

    // ---- camera presets ----------------------------------------------------

    /// An endpoint's camera presets, by name.
    pub async fn presets(&self, endpoint: &str) -> Result<Vec<CameraPreset>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, pan, tilt, zoom FROM camera_presets WHERE endpoint_id = $1 ORDER BY name",
        )
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(preset_from_row).collect()
    }

    /// One preset.
    pub async fn preset(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<Option<CameraPreset>, StoreError> {
        let row = sqlx::query(
            "SELECT name, pan, tilt, zoom FROM camera_presets WHERE endpoint_id = $1 AND name = $2",
        )
        .bind(endpoint)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(preset_from_row).transpose()
    }

    /// Saves (creates or replaces) a preset.
    pub async fn put_preset(
        &self,
        endpoint: &str,
        p: &CameraPreset,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO camera_presets (endpoint_id, name, pan, tilt, zoom, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint_id, name) DO UPDATE SET \
             pan = excluded.pan, tilt = excluded.tilt, zoom = excluded.zoom, updated_at = excluded.updated_at",
        )
        .bind(endpoint)
        .bind(&p.name)
        .bind(i64::from(p.pan))
        .bind(i64::from(p.tilt))
        .bind(i64::from(p.zoom))
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("endpoint {endpoint}"))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// Deletes a preset.
    pub async fn delete_preset(&self, endpoint: &str, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM camera_presets WHERE endpoint_id = $1 AND name = $2")
            .bind(endpoint)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "preset {name} of endpoint {endpoint}"
            )));
        }
        Ok(())
    }

    // ---- conferences -------------------------------------------------------

    /// Creates a conference with its participants (state `created`).
    pub async fn create_conference(&self, c: &Conference) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_conference(&mut tx, c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One conference with its participants.
    pub async fn conference(&self, id: &str) -> Result<Option<Conference>, StoreError> {
        let row = sqlx::query(conference_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.conference_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// Every conference, newest first.
    pub async fn list_conferences(&self) -> Result<Vec<Conference>, StoreError> {
        let rows = sqlx::query(conference_select!("ORDER BY created_at DESC, id"))
            .fetch_all(&self.pool)
            .await?;
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            all.push(self.conference_from_row(row).await?);
        }
        Ok(all)
    }

    async fn conference_from_row(&self, row: &AnyRow) -> Result<Conference, StoreError> {
        let id: String = row.try_get("id")?;
        let state: String = row.try_get("state")?;
        let participants = sqlx::query_scalar(
            "SELECT endpoint_id FROM conference_participants WHERE conference_id = $1 \
             ORDER BY endpoint_id",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let links = sqlx::query(
            "SELECT mcu_id, remote_conference FROM conference_links WHERE conference_id = $1 \
             ORDER BY mcu_id",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ConferenceLink {
                mcu: r.try_get("mcu_id")?,
                remote_conference: r.try_get("remote_conference")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(Conference {
            title: row.try_get("title")?,
            chair: row.try_get("chair_endpoint")?,
            layout: row.try_get("layout")?,
            state: ConferenceState::from_str(&state)
                .map_err(|_| StoreError::Corrupt(format!("conference state {state}")))?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            started_at: row.try_get("started_at")?,
            ended_at: row.try_get("ended_at")?,
            participants,
            links,
            id,
        })
    }

    /// Replaces the cascade links a conference names. False if there is no
    /// such conference.
    pub async fn set_conference_links(
        &self,
        id: &str,
        links: &[ConferenceLink],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM conferences WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM conference_links WHERE conference_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_conference_links(&mut tx, id, links).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves a conference forward to `to` if it is in `from`; stamps the
    /// start (live) and end times. Returns false when the conference was not
    /// in `from`, or `to` is not after `from`.
    pub async fn transition_conference(
        &self,
        id: &str,
        from: ConferenceState,
        to: ConferenceState,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if to.rank() <= from.rank() {
            // Phases only move forward; nothing goes back to `created`.
            return Ok(false);
        }
        let sql = match to {
            ConferenceState::Live => {
                "UPDATE conferences SET state = $1, started_at = $4 WHERE id = $2 AND state = $3"
            }
            // A conference that never ran (its whole window passed while the
            // daemon was down) ends without ever having started.
            ConferenceState::Ended => {
                "UPDATE conferences SET state = $1, ended_at = $4 WHERE id = $2 AND state = $3"
            }
            ConferenceState::Rehearsal
            | ConferenceState::ReadyCheck
            | ConferenceState::Reported
            | ConferenceState::Created => {
                "UPDATE conferences SET state = $1 WHERE id = $2 AND state = $3"
            }
        };
        let mut query = sqlx::query(sql)
            .bind(to.as_str())
            .bind(id)
            .bind(from.as_str());
        if sql.contains("$4") {
            query = query.bind(now_ms);
        }
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a conference's current layout (chair view).
    pub async fn set_conference_layout(&self, id: &str, layout: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE conferences SET layout = $1 WHERE id = $2")
            .bind(layout)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("conference {id}")));
        }
        Ok(())
    }

    // ---- bookings ----------------------------------------------------------

    /// Stores a new booking in status `requested`; the caller has checked the
    /// rules. Returns the stored booking.
    pub async fn create_booking(
        &self,
        d: &BookingDetails,
        requested_by: &str,
        now_ms: i64,
    ) -> Result<Booking, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bookings (title, organising_unit, chair_endpoint, kind, start_at, end_at, \
             rehearsal_at, ready_check_at, recording, status, requested_by, requested_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             RETURNING id",
        )
        .bind(&d.title)
        .bind(&d.organising_unit)
        .bind(&d.chair)
        .bind(d.kind.as_str())
        .bind(d.start_at)
        .bind(d.end_at)
        .bind(d.rehearsal_at)
        .bind(d.ready_check_at)
        .bind(flag(d.recording))
        .bind(BookingStatus::Requested.as_str())
        .bind(requested_by)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("chair endpoint {}", d.chair))
            } else {
                e.into()
            }
        })?;
        write_booking_parts(&mut tx, id, d).await?;
        tx.commit().await?;
        self.booking(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("booking {id}")))
    }

    /// One booking with its participants and scenario.
    pub async fn booking(&self, id: i64) -> Result<Option<Booking>, StoreError> {
        let row = sqlx::query(booking_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.booking_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// The booking a conference was opened for, if any.
    pub async fn booking_of_conference(
        &self,
        conference_id: &str,
    ) -> Result<Option<Booking>, StoreError> {
        let row = sqlx::query(booking_select!("WHERE conference_id = $1"))
            .bind(conference_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.booking_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// Bookings whose window `[rehearsal_at, end_at)` overlaps `[from, to)`
    /// (either bound may be open), whatever their status, by start time.
    pub async fn list_bookings(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(booking_select!(
            "WHERE end_at > $1 AND rehearsal_at < $2 ORDER BY start_at, id"
        ))
        .bind(from.unwrap_or(i64::MIN))
        .bind(to.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            all.push(self.booking_from_row(row).await?);
        }
        Ok(all)
    }

    async fn booking_from_row(&self, row: &AnyRow) -> Result<Booking, StoreError> {
        let id: i64 = row.try_get("id")?;
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        let participants = sqlx::query_scalar(
            "SELECT endpoint_id FROM booking_participants WHERE booking_id = $1 \
             ORDER BY endpoint_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let items = sqlx::query(
            "SELECT title, speaker_endpoint, layout, planned_minutes FROM booking_agenda \
             WHERE booking_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let scenario = items
            .iter()
            .map(|r| {
                Ok(AgendaItem {
                    title: r.try_get("title")?,
                    speaker: r.try_get("speaker_endpoint")?,
                    layout: r.try_get("layout")?,
                    planned_minutes: r.try_get("planned_minutes")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Booking {
            id,
            details: BookingDetails {
                title: row.try_get("title")?,
                organising_unit: row.try_get("organising_unit")?,
                chair: row.try_get("chair_endpoint")?,
                participants,
                start_at: row.try_get("start_at")?,
                end_at: row.try_get("end_at")?,
                rehearsal_at: row.try_get("rehearsal_at")?,
                ready_check_at: row.try_get("ready_check_at")?,
                kind: BookingKind::from_str(&kind)
                    .map_err(|_| StoreError::Corrupt(format!("booking kind {kind}")))?,
                scenario,
                recording: row.try_get::<i64, _>("recording")? != 0,
            },
            status: BookingStatus::from_str(&status)
                .map_err(|_| StoreError::Corrupt(format!("booking status {status}")))?,
            requested_by: row.try_get("requested_by")?,
            requested_at: row.try_get("requested_at")?,
            updated_at: row.try_get("updated_at")?,
            decided_by: row.try_get("decided_by")?,
            decided_at: row.try_get("decided_at")?,
            reason: row.try_get("reason")?,
            conference_id: row.try_get("conference_id")?,
        })
    }

    /// Replaces what a booking asks for, if it is in status `requested`.
    /// Returns false when it is not (or does not exist).
    pub async fn change_booking(
        &self,
        id: i64,
        d: &BookingDetails,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.change_booking_notifying(id, BookingStatus::Requested, d, now_ms, None, &[])
            .await
    }

    /// Replaces what booking `id` asks for, if it is still in `status` and
    /// its stored rehearsal has not opened at `now_ms`; for an approved
    /// booking also updates its `conference` — title, chair, layout and
    /// participants are written, its other fields are not — which must still
    /// be in state `created`; and puts `notices` in the outbox. One
    /// transaction: changed with its conference and its notices, or nothing.
    /// Returns false (nothing written) when a condition does not hold.
    pub async fn change_booking_notifying(
        &self,
        id: i64,
        status: BookingStatus,
        d: &BookingDetails,
        now_ms: i64,
        conference: Option<&Conference>,
        notices: &[NewOutboxMessage],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE bookings SET title = $1, organising_unit = $2, chair_endpoint = $3, \
             kind = $4, start_at = $5, end_at = $6, rehearsal_at = $7, ready_check_at = $8, \
             recording = $9, updated_at = $10 WHERE id = $11 AND status = $12 \
             AND rehearsal_at > $10",
        )
        .bind(&d.title)
        .bind(&d.organising_unit)
        .bind(&d.chair)
        .bind(d.kind.as_str())
        .bind(d.start_at)
        .bind(d.end_at)
        .bind(d.rehearsal_at)
        .bind(d.ready_check_at)
        .bind(flag(d.recording))
        .bind(now_ms)
        .bind(id)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("chair endpoint {}", d.chair))
            } else {
                e.into()
            }
        })?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for table in [
            "DELETE FROM booking_participants WHERE booking_id = $1",
            "DELETE FROM booking_agenda WHERE booking_id = $1",
        ] {
            sqlx::query(table).bind(id).execute(&mut *tx).await?;
        }
        write_booking_parts(&mut tx, id, d).await?;
        if let Some(c) = conference {
            let done = sqlx::query(
                "UPDATE conferences SET title = $1, chair_endpoint = $2, layout = $3 \
                 WHERE id = $4 AND state = $5",
            )
            .bind(&c.title)
            .bind(c.chair.as_deref())
            .bind(&c.layout)
            .bind(&c.id)
            .bind(ConferenceState::Created.as_str())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                // Opened (or gone) meanwhile: the transaction rolls back on drop.
                return Ok(false);
            }
            sqlx::query("DELETE FROM conference_participants WHERE conference_id = $1")
                .bind(&c.id)
                .execute(&mut *tx)
                .await?;
            insert_conference_participants(&mut tx, c).await?;
        }
        outbox::insert_outbox(&mut tx, notices).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Approves a `requested` booking and creates its conference in the same
    /// transaction. Returns false (and creates nothing) when the booking is
    /// not in status `requested`.
    pub async fn approve_booking(
        &self,
        id: i64,
        conference: &Conference,
        decision: &BookingDecision,
    ) -> Result<bool, StoreError> {
        self.approve_booking_notifying(id, conference, decision, &[])
            .await
    }

    /// [`Store::approve_booking`] that also puts `notices` in the outbox, in
    /// the same transaction: approved with its notices, or neither.
    pub async fn approve_booking_notifying(
        &self,
        id: i64,
        conference: &Conference,
        decision: &BookingDecision,
        notices: &[NewOutboxMessage],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE bookings SET status = $1, decided_by = $2, decided_at = $3, reason = $4, \
             updated_at = $3 WHERE id = $5 AND status = $6",
        )
        .bind(BookingStatus::Approved.as_str())
        .bind(&decision.by)
        .bind(decision.at)
        .bind(decision.reason.as_deref())
        .bind(id)
        .bind(BookingStatus::Requested.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_conference(&mut tx, conference).await?;
        sqlx::query("UPDATE bookings SET conference_id = $1 WHERE id = $2")
            .bind(&conference.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        outbox::insert_outbox(&mut tx, notices).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves a booking from `from` to `to` (a rejection or a cancellation)
    /// with who, when and why. Returns false when it was not in `from`.
    pub async fn decide_booking(
        &self,
        id: i64,
        from: BookingStatus,
        to: BookingStatus,
        decision: &BookingDecision,
    ) -> Result<bool, StoreError> {
        self.decide_booking_notifying(id, from, to, decision, &[])
            .await
    }

    /// [`Store::decide_booking`] that also puts `notices` in the outbox, in
    /// the same transaction: moved with its notices, or neither.
    pub async fn decide_booking_notifying(
        &self,
        id: i64,
        from: BookingStatus,
        to: BookingStatus,
        decision: &BookingDecision,
        notices: &[NewOutboxMessage],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE bookings SET status = $1, decided_by = $2, decided_at = $3, reason = $4, \
             updated_at = $3 WHERE id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(&decision.by)
        .bind(decision.at)
        .bind(decision.reason.as_deref())
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        outbox::insert_outbox(&mut tx, notices).await?;
        tx.commit().await?;
        Ok(true)
    }

    // ---- audit -------------------------------------------------------------

    /// Appends one audit entry; returns its id.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, role, action, target, from_addr, result, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.role)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.from_addr)
        .bind(&entry.result)
        .bind(&entry.details)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Audit entries newest first, at most `limit`, older than `before_id` if given.
    pub async fn list_audit(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, role, action, target, from_addr, result, details \
             FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    entry: NewAuditEntry {
                        at: r.try_get("at")?,
                        actor: r.try_get("actor")?,
                        role: r.try_get("role")?,
                        action: r.try_get("action")?,
                        target: r.try_get("target")?,
                        from_addr: r.try_get("from_addr")?,
                        result: r.try_get("result")?,
                        details: r.try_get("details")?,
                    },
                })
            })
            .collect()
    }
}

fn endpoint_from_row(row: &AnyRow) -> Result<Endpoint, StoreError> {
    let level: String = row.try_get("level")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        unit: row.try_get("unit")?,
        level: Level::from_str(&level)
            .map_err(|_| StoreError::Corrupt(format!("level {level}")))?,
        chair_capable: row.try_get::<i64, _>("chair_capable")? != 0,
        owner_mcu: row.try_get("owner_mcu")?,
        contacts: Vec::new(),
    })
}

fn preset_from_row(r: &AnyRow) -> Result<CameraPreset, StoreError> {
    let number = |col: &str| -> Result<u16, StoreError> {
        let v: i64 = r.try_get(col)?;
        u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("preset {col} {v}")))
    };
    Ok(CameraPreset {
        name: r.try_get("name")?,
        pan: number("pan")?,
        tilt: number("tilt")?,
        zoom: number("zoom")?,
    })
}

async fn insert_conference(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    c: &Conference,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO conferences (id, title, chair_endpoint, layout, state, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.id)
    .bind(&c.title)
    .bind(c.chair.as_deref())
    .bind(&c.layout)
    .bind(c.state.as_str())
    .bind(&c.created_by)
    .bind(c.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if unique_violation(&e) {
            StoreError::Duplicate(format!("conference {}", c.id))
        } else if foreign_key_violation(&e) {
            StoreError::NotFound(format!("chair endpoint of conference {}", c.id))
        } else {
            e.into()
        }
    })?;
    insert_conference_participants(tx, c).await?;
    insert_conference_links(tx, &c.id, &c.links).await
}

async fn insert_conference_links(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    links: &[ConferenceLink],
) -> Result<(), StoreError> {
    for link in links {
        sqlx::query(
            "INSERT INTO conference_links (conference_id, mcu_id, remote_conference) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&link.mcu)
        .bind(link.remote_conference.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate(format!("link {} of conference {id}", link.mcu))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

async fn insert_conference_participants(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    c: &Conference,
) -> Result<(), StoreError> {
    for endpoint in &c.participants {
        sqlx::query(
            "INSERT INTO conference_participants (conference_id, endpoint_id) VALUES ($1, $2)",
        )
        .bind(&c.id)
        .bind(endpoint)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("endpoint {endpoint}"))
            } else if unique_violation(&e) {
                StoreError::Duplicate(format!("participant {endpoint}"))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

async fn write_booking_parts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    d: &BookingDetails,
) -> Result<(), StoreError> {
    for endpoint in &d.participants {
        sqlx::query("INSERT INTO booking_participants (booking_id, endpoint_id) VALUES ($1, $2)")
            .bind(id)
            .bind(endpoint)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if foreign_key_violation(&e) {
                    StoreError::NotFound(format!("endpoint {endpoint}"))
                } else if unique_violation(&e) {
                    StoreError::Duplicate(format!("participant {endpoint}"))
                } else {
                    e.into()
                }
            })?;
    }
    for (position, item) in (0_i64..).zip(&d.scenario) {
        sqlx::query(
            "INSERT INTO booking_agenda (booking_id, position, title, speaker_endpoint, layout, \
             planned_minutes) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(position)
        .bind(&item.title)
        .bind(item.speaker.as_deref())
        .bind(&item.layout)
        .bind(item.planned_minutes)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!(
                    "speaking endpoint {}",
                    item.speaker.as_deref().unwrap_or("-")
                ))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

async fn insert_user_endpoint(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: i64,
    endpoint: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO user_endpoints (user_id, endpoint_id) VALUES ($1, $2)")
        .bind(user)
        .bind(endpoint)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("endpoint {endpoint}"))
            } else if unique_violation(&e) {
                StoreError::Duplicate(format!("endpoint {endpoint} in the user's list"))
            } else {
                e.into()
            }
        })?;
    Ok(())
}

async fn write_contacts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    endpoint: &str,
    contacts: &[Contact],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM contacts WHERE endpoint_id = $1")
        .bind(endpoint)
        .execute(&mut **tx)
        .await?;
    for (position, c) in (0_i64..).zip(contacts) {
        sqlx::query(
            "INSERT INTO contacts (endpoint_id, position, name, title, unit, phone, email) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(endpoint)
        .bind(position)
        .bind(&c.name)
        .bind(&c.title)
        .bind(&c.unit)
        .bind(&c.phone)
        .bind(&c.email)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A URL without its password, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_url_errors() {
        assert_eq!(redact("mysql://u:secret@db:5432/x"), "mysql://…@db:5432/x");
        assert_eq!(redact("mysql://db/x"), "mysql://db/x");
    }
}
