-- The conference logbook (sổ ghi biên bản, R12): one append-only chain of
-- entries per conference. Each row carries the hash of the previous row of its
-- conference (64 zeros for seq 1) and its own hash over every field, so a row
-- changed, removed or reordered behind the application's back breaks the
-- chain (see `Store::verify_logbook`). Rows are never updated or deleted by
-- the code: a correction is a new row whose `refers_to` names the seq it
-- corrects; a `sign_off` row closes the logbook.
CREATE TABLE logbook_entries (
    conference_id   TEXT NOT NULL REFERENCES conferences(id),
    seq             BIGINT NOT NULL,
    at_ms           BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    category        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    text            TEXT NOT NULL,
    details         TEXT NOT NULL,
    refers_to       BIGINT,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    PRIMARY KEY (conference_id, seq)
);
