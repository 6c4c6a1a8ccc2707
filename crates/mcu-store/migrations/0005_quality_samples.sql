-- Connection quality over a session (R12, R13): one row per connected
-- endpoint per recorder pass (`[quality] record_seconds` of the daemon), the
-- figures the MCU measured of what it receives from that endpoint. Figures
-- are floating point (`DOUBLE PRECISION`: REAL affinity in SQLite, float8 in
-- PostgreSQL); `rtt_ms` is NULL until the media path's RTT is measured. The
-- endpoint id is not a foreign key: the history outlives a directory entry.
CREATE TABLE quality_samples (
    conference_id       TEXT NOT NULL REFERENCES conferences(id),
    endpoint_id         TEXT NOT NULL,
    at_ms               BIGINT NOT NULL,
    rtt_ms              DOUBLE PRECISION,
    video_loss_percent  DOUBLE PRECISION NOT NULL,
    video_jitter_ms     DOUBLE PRECISION NOT NULL,
    video_kbps          DOUBLE PRECISION NOT NULL,
    video_fps           DOUBLE PRECISION NOT NULL,
    audio_loss_percent  DOUBLE PRECISION NOT NULL,
    audio_jitter_ms     DOUBLE PRECISION NOT NULL,
    audio_kbps          DOUBLE PRECISION NOT NULL,
    audio_fps           DOUBLE PRECISION NOT NULL
);
CREATE INDEX quality_samples_by_conference ON quality_samples (conference_id, endpoint_id, at_ms);
