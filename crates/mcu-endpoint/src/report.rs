//! The JSON an endpoint (and a `--count` run) reports. Field by field in
//! `docs/endpoint.md`.

use serde::Serialize;

use crate::endpoint::EndpointConfig;

/// A tone counts as present in the received audio above this level (dBFS).
/// The endpoints send at about −14.7 dBFS; the MCU's own tone leak (none is
/// expected with an N−1 mix) and Opus noise sit far below −50 dBFS.
pub const TONE_PRESENT_DBFS: f64 = -40.0;

/// p50 / p95 / max of a set of samples (milliseconds).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Number of samples.
    pub samples: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values`.
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
            v[i]
        };
        Self {
            samples: v.len(),
            p50: Some(rank(0.50)),
            p95: Some(rank(0.95)),
            max: v.last().copied(),
        }
    }
}

/// One tile of the received composite.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TileReport {
    /// Tile index, row by row.
    pub tile: u32,
    /// Mean colour of the tile (`#rrggbb`, measured above the stamp).
    pub colour: String,
    /// Nothing is shown there (black and no stamp).
    pub empty: bool,
    /// Index of the endpoint whose stamp the tile carries, if readable.
    pub endpoint_index: Option<u8>,
}

/// One frequency looked for in the received audio.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToneReport {
    /// Frequency (Hz).
    pub hz: f64,
    /// Mean level (dBFS, Goertzel over 100 ms windows).
    pub dbfs: f64,
    /// Above [`TONE_PRESENT_DBFS`].
    pub present: bool,
    /// This endpoint's own tone (must not come back in an N−1 mix).
    pub own: bool,
}

/// What one endpoint measured.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct EndpointReport {
    /// Endpoint id.
    pub endpoint: String,
    /// Index stamped into its picture.
    pub index: u8,
    /// Its picture colour.
    pub colour: String,
    /// Its tone (Hz).
    pub tone_hz: f64,
    /// From connecting the WebSocket to the SDP answer (ms).
    pub answer_ms: Option<f64>,
    /// From connecting to ICE + DTLS up (ms).
    pub connected_ms: Option<f64>,
    /// From connecting to the first composite access unit received (ms).
    pub first_frame_received_ms: Option<f64>,
    /// Join-to-first-frame: from connecting to the first decoded composite
    /// (to the first keyframe received when not analysing) (ms).
    pub first_frame_ms: Option<f64>,
    /// Length of the measurement window (s).
    pub measured_seconds: f64,
    /// Composite access units received.
    pub frames_received: u64,
    /// Composite pictures decoded.
    pub frames_decoded: u64,
    /// Decoded frames per second (received access units per second when
    /// not analysing).
    pub fps: f64,
    /// Resolution of the composite.
    pub resolution: Option<String>,
    /// RTP packets of the composite lost.
    pub packets_lost: u64,
    /// Access units dropped by the depacketizer (loss, waiting for a keyframe).
    pub frames_discarded: u64,
    /// Output frames missing from the composite's 30 fps timeline (RTP
    /// timestamp gaps: the MCU skipped a tick).
    pub output_frames_skipped: u64,
    /// `frames_discarded + output_frames_skipped`.
    pub frames_lost: u64,
    /// Composite pictures the decoder refused.
    pub decode_errors: u64,
    /// Capture-to-display latency of the stamped pictures seen in the
    /// composite: sender stamp → receiver decode, one clock (ms).
    pub latency_ms: Percentiles,
    /// Tiles of the last decoded composite.
    pub tiles: Vec<TileReport>,
    /// Opus packets received and decoded.
    pub audio_packets: u64,
    /// Seconds of audio analysed.
    pub audio_seconds: f64,
    /// Overall level of the received audio (dBFS).
    pub audio_rms_dbfs: f64,
    /// The frequencies looked for and their levels.
    pub tones: Vec<ToneReport>,
    /// Why the endpoint stopped early, if it did.
    pub error: Option<String>,
    /// The latency samples behind `latency_ms` (pooled by a `--count` run).
    #[serde(skip)]
    pub latency_samples_ms: Vec<f64>,
}

impl EndpointReport {
    pub(crate) fn new(c: &EndpointConfig) -> Self {
        let (r, g, b) = c.colour;
        Self {
            endpoint: c.endpoint.clone(),
            index: c.index,
            colour: format!("#{r:02x}{g:02x}{b:02x}"),
            tone_hz: c.tone_hz,
            ..Default::default()
        }
    }

    pub(crate) fn failed(why: &str) -> Self {
        Self {
            error: Some(why.to_owned()),
            ..Default::default()
        }
    }
}

/// Summary of a `--count` run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RunSummary {
    /// Endpoints started.
    pub endpoints: usize,
    /// Endpoints that ended with an error.
    pub failed: usize,
    /// Join-to-first-frame over the endpoints (ms).
    pub first_frame_ms: Percentiles,
    /// Latency percentiles over every sample of every analysing endpoint (ms).
    pub latency_ms: Percentiles,
    /// Lowest fps of an endpoint.
    pub min_fps: f64,
    /// Sum of `frames_lost`.
    pub frames_lost: u64,
    /// Sum of `output_frames_skipped`.
    pub output_frames_skipped: u64,
    /// Sum of `packets_lost`.
    pub packets_lost: u64,
    /// CPU time of this process over the run, as % of one core (Linux).
    pub generator_cpu_percent_of_one_core: Option<f64>,
}
