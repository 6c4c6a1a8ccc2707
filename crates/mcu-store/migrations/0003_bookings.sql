-- Bookings (R2, R8): a unit's request for a conference, checked against the
-- notice and clash rules, then approved or rejected by an operator. Times are
-- Unix ms; `rehearsal_at` and `ready_check_at` are fixed when the booking is
-- made (from the rules then in force), so a later change of the configured
-- offsets does not move booked windows. A booking's window for the clash rule
-- is [rehearsal_at, end_at).
CREATE TABLE bookings (
    id               {id},
    title            TEXT NOT NULL,
    organising_unit  TEXT NOT NULL,
    chair_endpoint   TEXT NOT NULL REFERENCES endpoints(id),
    kind             TEXT NOT NULL,
    start_at         BIGINT NOT NULL,
    end_at           BIGINT NOT NULL,
    rehearsal_at     BIGINT NOT NULL,
    ready_check_at   BIGINT NOT NULL,
    recording        BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    requested_at     BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    decided_by       TEXT,
    decided_at       BIGINT,
    reason           TEXT,
    conference_id    TEXT REFERENCES conferences(id)
);
CREATE INDEX bookings_window ON bookings (rehearsal_at, end_at);

CREATE TABLE booking_participants (
    booking_id       BIGINT NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES endpoints(id),
    PRIMARY KEY (booking_id, endpoint_id)
);
CREATE INDEX booking_participants_endpoint ON booking_participants (endpoint_id);

-- The scenario (kịch bản): ordered agenda items.
CREATE TABLE booking_agenda (
    booking_id       BIGINT NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    position         BIGINT NOT NULL,
    title            TEXT NOT NULL,
    speaker_endpoint TEXT REFERENCES endpoints(id),
    layout           TEXT NOT NULL,
    planned_minutes  BIGINT NOT NULL,
    PRIMARY KEY (booking_id, position)
);
