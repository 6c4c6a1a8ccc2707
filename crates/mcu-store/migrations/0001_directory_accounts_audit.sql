-- Accounts, sessions, the endpoint directory, conferences and the audit log.
-- `{id}` is replaced by the back-end's auto-increment primary key; flags are
-- BIGINT 0/1 and times BIGINT Unix milliseconds so one SQL text serves both.

CREATE TABLE users (
    id              {id},
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    disabled        BIGINT NOT NULL DEFAULT 0,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE endpoints (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    unit            TEXT NOT NULL,
    level           TEXT NOT NULL,
    chair_capable   BIGINT NOT NULL DEFAULT 0,
    owner_mcu       TEXT NOT NULL,
    token_hash      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Endpoints a site operator looks after.
CREATE TABLE user_endpoints (
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, endpoint_id)
);

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    from_addr       TEXT NOT NULL
);

CREATE TABLE contacts (
    endpoint_id     TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    name            TEXT NOT NULL,
    title           TEXT NOT NULL,
    unit            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    email           TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, position)
);

CREATE TABLE conferences (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    chair_endpoint  TEXT REFERENCES endpoints(id),
    layout          TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    ended_at        BIGINT
);

CREATE TABLE conference_participants (
    conference_id   TEXT NOT NULL REFERENCES conferences(id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES endpoints(id),
    PRIMARY KEY (conference_id, endpoint_id)
);

CREATE TABLE audit_log (
    id              {id},
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    role            TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    from_addr       TEXT NOT NULL,
    result          TEXT NOT NULL,
    details         TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
