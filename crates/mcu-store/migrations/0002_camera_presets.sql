-- Named camera positions per endpoint (R6): a digital pan/zoom for browser
-- endpoints, mapped to camera control by room systems.
CREATE TABLE camera_presets (
    endpoint_id     TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    pan             BIGINT NOT NULL,
    tilt            BIGINT NOT NULL,
    zoom            BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, name)
);
