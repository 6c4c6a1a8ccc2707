-- The notifications outbox (R9): one row per message to one contact of one
-- participating endpoint, on one channel, written in the same transaction as
-- the booking change it announces (approval, cancellation). The daemon's
-- delivery worker claims due rows with a lease (`locked_until`, so a restart
-- or a second worker does not send a row twice within the lease), then marks
-- each delivered, or failing with the error, one more attempt and the next
-- attempt time (backoff). Rows are never deleted: the outbox is also the
-- record of what was sent to whom. Times are Unix ms. `endpoint_id` is not a
-- foreign key: the record outlives a directory entry.
CREATE TABLE outbox (
    id               {id},
    booking_id       BIGINT NOT NULL REFERENCES bookings(id),
    endpoint_id      TEXT NOT NULL,
    event            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    recipient_name   TEXT NOT NULL,
    recipient_email  TEXT NOT NULL,
    recipient_phone  TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT,
    last_attempt_at  BIGINT,
    last_error       TEXT,
    delivered_at     BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_booking ON outbox (booking_id);
