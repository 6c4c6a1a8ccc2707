-- Readiness (R10, R11): the result of measuring one endpoint over a window
-- during a conference's readiness check (or an operator's re-test). Measured,
-- not declared: the figures the MCU saw of the endpoint's media, plus what the
-- endpoint's client reported of the composite it decodes. A re-test appends a
-- row; an endpoint's current readiness in a conference is its latest row.
-- `reasons` holds one failure reason per line (empty when passed). Figures are
-- NULL when nothing was received to measure.
CREATE TABLE readiness_results (
    id                {id},
    conference_id     TEXT NOT NULL REFERENCES conferences(id),
    endpoint_id       TEXT NOT NULL,
    measured_at       BIGINT NOT NULL,
    window_ms         BIGINT NOT NULL,
    passed            BIGINT NOT NULL,
    reasons           TEXT NOT NULL,
    audio_level_dbov  DOUBLE PRECISION,
    video_fps         DOUBLE PRECISION,
    video_width       BIGINT,
    video_height      BIGINT,
    rtt_ms            DOUBLE PRECISION,
    loss_percent      DOUBLE PRECISION,
    jitter_ms         DOUBLE PRECISION,
    decoded_fps       DOUBLE PRECISION
);
CREATE INDEX readiness_by_conference ON readiness_results (conference_id, endpoint_id, measured_at);
