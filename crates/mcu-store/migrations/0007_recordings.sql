-- Recordings (R17): one row per MP4 file the daemon wrote of a conference
-- (the chair view and the full mix). Times are Unix ms. `ended_at`,
-- `bytes` and `duration_ms` are filled when the recording stops (NULL
-- while it runs, or when the daemon died during it: the fragmented file is
-- playable up to its last fragment all the same). `deleted_at` is set when
-- the retention sweep removes the file; the row stays as the record that
-- it existed. (Version 0006 is taken by another branch's migration.)
CREATE TABLE recordings (
    id             {id},
    conference_id  TEXT NOT NULL REFERENCES conferences(id),
    file_name      TEXT NOT NULL UNIQUE,
    started_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    bytes          BIGINT,
    duration_ms    BIGINT,
    deleted_at     BIGINT
);
CREATE INDEX recordings_by_conference ON recordings (conference_id, started_at);
CREATE INDEX recordings_by_start ON recordings (started_at);
