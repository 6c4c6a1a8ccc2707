//! Per-participant quality and the operators' alarms, kept by a
//! conference's media thread: each participant's streams are metered as
//! packets arrive ([`ReceiveMeter`]); once per sample period the figures are
//! taken, published, and held against the thresholds of `[quality]` in the
//! configuration. An alarm is raised when a figure crosses its threshold and
//! cleared when it is back (loss: below half the threshold, so a link that
//! hovers at the threshold does not flap); a media failure (a drop) stays
//! raised until the endpoint is back.
//!
//! Sans-IO: time comes in as arguments.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use mcu_signalling::rtp::{ReceiveMeter, StreamQuality};
use serde::Deserialize;

/// Alarm thresholds and how often quality is sampled (`[quality]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QualityConfig {
    /// Seconds between two samples of every participant's figures.
    pub sample_seconds: f64,
    /// Packet loss (percent, video or audio, over one sample) that raises an alarm.
    pub loss_alarm_percent: f64,
    /// Seconds without a new video frame that raise a freeze alarm.
    pub freeze_alarm_seconds: f64,
    /// Seconds between two passes of the recorder (`crate::recorder`): a
    /// stored sample of every connected endpoint, and logbook entries for
    /// joins, leaves and alarms.
    pub record_seconds: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            sample_seconds: 1.0,
            loss_alarm_percent: 5.0,
            freeze_alarm_seconds: 2.0,
            record_seconds: 5.0,
        }
    }
}

impl QualityConfig {
    /// Checks the ranges; the error says which field and why.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.25..=60.0).contains(&self.sample_seconds) {
            return Err("quality.sample_seconds must be between 0.25 and 60".into());
        }
        if !(self.loss_alarm_percent > 0.0 && self.loss_alarm_percent <= 100.0) {
            return Err("quality.loss_alarm_percent must be above 0 and at most 100".into());
        }
        if !(0.2..=600.0).contains(&self.freeze_alarm_seconds) {
            return Err("quality.freeze_alarm_seconds must be between 0.2 and 600".into());
        }
        if !(0.25..=600.0).contains(&self.record_seconds) {
            return Err("quality.record_seconds must be between 0.25 and 600".into());
        }
        Ok(())
    }

    /// The sample period.
    pub fn period(&self) -> Duration {
        Duration::from_secs_f64(self.sample_seconds)
    }
}

/// One participant's figures over the last sample period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParticipantQuality {
    /// Endpoint id.
    pub endpoint: String,
    /// Round-trip time on the media path, if measured yet.
    pub rtt: Option<Duration>,
    /// Its video as received.
    pub video: StreamQuality,
    /// Its audio as received.
    pub audio: StreamQuality,
    /// The loudest level of its decoded audio over the period, dBov.
    pub audio_level_dbov: Option<f32>,
    /// The picture size it sends, from its latest parameter sets.
    pub video_size: Option<(u32, u32)>,
    /// The path towards it (absent for a participant with no bitrate control).
    pub downlink: Option<Downlink>,
}

/// The path from the MCU to a participant, from its feedback.
#[derive(Clone, Debug, PartialEq)]
pub struct Downlink {
    /// The bitrate class of the encode it receives.
    pub class: mcu_mixer::mixer::BitrateClass,
    /// The send-side bandwidth estimate of the path, bit/s.
    pub estimate_bps: Option<u64>,
    /// Loss of our video in its latest reception report (0.0–1.0).
    pub loss: Option<f32>,
}

/// The meters of one participant's incoming streams.
#[derive(Debug, Clone)]
pub struct ParticipantMeters {
    /// Video (90 kHz, frames by marker bit).
    pub video: ReceiveMeter,
    /// Audio (Opus, 48 kHz).
    pub audio: ReceiveMeter,
    /// The loudest audio level since the last sample, dBov.
    audio_peak: Option<f32>,
    /// The picture size it sends.
    video_size: Option<(u32, u32)>,
}

impl Default for ParticipantMeters {
    fn default() -> Self {
        Self {
            video: ReceiveMeter::video(),
            audio: ReceiveMeter::audio(),
            audio_peak: None,
            video_size: None,
        }
    }
}

impl ParticipantMeters {
    /// Its audio level in one mix, dBov.
    pub fn audio_level(&mut self, dbov: f32) {
        self.audio_peak = Some(self.audio_peak.map_or(dbov, |p| p.max(dbov)));
    }

    /// A video RTP payload it sent: an SPS in it gives the picture size.
    pub fn video_payload(&mut self, payload: &[u8]) {
        if let Some(size) = mcu_signalling::rtp::rtp_picture_size(payload) {
            self.video_size = Some(size);
        }
    }

    /// Takes one sample of both streams (and starts a new audio peak).
    pub fn sample(
        &mut self,
        now: Instant,
        endpoint: &str,
        rtt: Option<Duration>,
    ) -> ParticipantQuality {
        ParticipantQuality {
            endpoint: endpoint.to_owned(),
            rtt,
            video: self.video.sample(now),
            audio: self.audio.sample(now),
            audio_level_dbov: self.audio_peak.take(),
            video_size: self.video_size,
            downlink: None,
        }
    }
}

/// What an alarm is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmKind {
    /// Packet loss above the threshold.
    Loss,
    /// No new video frame for longer than the threshold.
    Freeze,
    /// The endpoint's media failed (ICE consent lost, DTLS failed).
    Drop,
}

impl AlarmKind {
    /// Its name in the API and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loss => "loss",
            Self::Freeze => "freeze",
            Self::Drop => "drop",
        }
    }
}

/// One alarm, raised and perhaps cleared.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    /// Endpoint id.
    pub endpoint: String,
    /// What it is about.
    pub kind: AlarmKind,
    /// When it was raised (Unix ms).
    pub raised_at_ms: i64,
    /// When it was cleared (Unix ms); `None` while active.
    pub cleared_at_ms: Option<i64>,
    /// The figure that raised it (loss: percent; freeze: seconds; drop: 0).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// Why, in words (a drop's reason).
    pub detail: String,
}

/// How many cleared alarms are kept for the console's panel.
const RECENT: usize = 50;

/// The alarms of one conference.
#[derive(Clone, Debug, Default)]
pub struct Alarms {
    active: BTreeMap<(String, AlarmKind), Alarm>,
    recent: VecDeque<Alarm>,
    raised: BTreeMap<AlarmKind, u64>,
}

impl Alarms {
    /// Holds one participant's sample against the thresholds.
    pub fn observe(&mut self, at_ms: i64, q: &ParticipantQuality, config: &QualityConfig) {
        let loss = 100.0 * q.video.loss.max(q.audio.loss);
        let threshold = config.loss_alarm_percent;
        let seen = q.video.packets + q.audio.packets > 0;
        if seen && loss > threshold {
            self.raise(at_ms, &q.endpoint, AlarmKind::Loss, loss, threshold, "");
        } else if loss < threshold / 2.0 {
            self.clear(at_ms, &q.endpoint, AlarmKind::Loss);
        }
        // A freeze needs a picture that once moved: an endpoint that never
        // sent video has nothing to freeze.
        let threshold = config.freeze_alarm_seconds;
        match q.video.since_frame.map(|d| d.as_secs_f64()) {
            Some(stale) if stale > threshold => {
                self.raise(at_ms, &q.endpoint, AlarmKind::Freeze, stale, threshold, "")
            }
            _ => self.clear(at_ms, &q.endpoint, AlarmKind::Freeze),
        }
    }

    /// The endpoint's media failed: a drop alarm until it is back.
    pub fn dropped(&mut self, at_ms: i64, endpoint: &str, reason: &str) {
        self.clear(at_ms, endpoint, AlarmKind::Loss);
        self.clear(at_ms, endpoint, AlarmKind::Freeze);
        self.raise(at_ms, endpoint, AlarmKind::Drop, 0.0, 0.0, reason);
    }

    /// The endpoint is back (a new media session): its drop alarm clears.
    pub fn rejoined(&mut self, at_ms: i64, endpoint: &str) {
        self.clear(at_ms, endpoint, AlarmKind::Drop);
    }

    /// The endpoint left normally: whatever it had raised clears.
    pub fn left(&mut self, at_ms: i64, endpoint: &str) {
        for kind in [AlarmKind::Loss, AlarmKind::Freeze, AlarmKind::Drop] {
            self.clear(at_ms, endpoint, kind);
        }
    }

    fn raise(
        &mut self,
        at_ms: i64,
        endpoint: &str,
        kind: AlarmKind,
        value: f64,
        threshold: f64,
        detail: &str,
    ) {
        let key = (endpoint.to_owned(), kind);
        if let Some(a) = self.active.get_mut(&key) {
            // Still raised: the figure is updated, the time it began is not.
            a.value = value;
            return;
        }
        tracing::warn!(
            endpoint,
            alarm = kind.as_str(),
            value,
            threshold,
            detail,
            "alarm raised"
        );
        *self.raised.entry(kind).or_default() += 1;
        self.active.insert(
            key,
            Alarm {
                endpoint: endpoint.to_owned(),
                kind,
                raised_at_ms: at_ms,
                cleared_at_ms: None,
                value,
                threshold,
                detail: detail.to_owned(),
            },
        );
    }

    fn clear(&mut self, at_ms: i64, endpoint: &str, kind: AlarmKind) {
        if let Some(mut a) = self.active.remove(&(endpoint.to_owned(), kind)) {
            tracing::info!(endpoint, alarm = kind.as_str(), "alarm cleared");
            a.cleared_at_ms = Some(at_ms);
            if self.recent.len() == RECENT {
                self.recent.pop_back();
            }
            self.recent.push_front(a);
        }
    }

    /// Active alarms, oldest first.
    pub fn active(&self) -> Vec<Alarm> {
        let mut v: Vec<Alarm> = self.active.values().cloned().collect();
        v.sort_by_key(|a| a.raised_at_ms);
        v
    }

    /// Cleared alarms, newest first (at most 50).
    pub fn recent(&self) -> Vec<Alarm> {
        self.recent.iter().cloned().collect()
    }

    /// Alarms raised since the conference started, by kind.
    pub fn raised_counts(&self) -> Vec<(AlarmKind, u64)> {
        self.raised.iter().map(|(&k, &n)| (k, n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(endpoint: &str, loss: f64, since_frame: Option<f64>) -> ParticipantQuality {
        ParticipantQuality {
            endpoint: endpoint.into(),
            rtt: None,
            video: StreamQuality {
                loss,
                packets: 100,
                since_frame: since_frame.map(Duration::from_secs_f64),
                ..Default::default()
            },
            audio: StreamQuality {
                packets: 50,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn loss_raises_above_the_threshold_and_clears_below_half() {
        let c = QualityConfig::default();
        let mut a = Alarms::default();
        a.observe(1_000, &sample("son-duong", 0.04, Some(0.03)), &c);
        assert!(a.active().is_empty(), "4 % is under 5 %");
        a.observe(2_000, &sample("son-duong", 0.08, Some(0.03)), &c);
        let active = a.active();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].kind, AlarmKind::Loss);
        assert_eq!(active[0].raised_at_ms, 2_000);
        assert!((active[0].value - 8.0).abs() < 1e-9);
        assert_eq!(active[0].threshold, 5.0);
        // 3 % is between half the threshold and the threshold: still raised.
        a.observe(3_000, &sample("son-duong", 0.03, Some(0.03)), &c);
        assert_eq!(a.active().len(), 1);
        assert_eq!(a.active()[0].raised_at_ms, 2_000, "raised once");
        a.observe(4_000, &sample("son-duong", 0.01, Some(0.03)), &c);
        assert!(a.active().is_empty());
        let recent = a.recent();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].cleared_at_ms, Some(4_000));
        assert_eq!(a.raised_counts(), vec![(AlarmKind::Loss, 1)]);
    }

    #[test]
    fn a_stale_picture_is_a_freeze_but_no_picture_ever_is_not() {
        let c = QualityConfig::default();
        let mut a = Alarms::default();
        a.observe(1_000, &sample("ham-yen", 0.0, None), &c);
        assert!(a.active().is_empty(), "never sent video");
        a.observe(2_000, &sample("ham-yen", 0.0, Some(2.5)), &c);
        assert_eq!(a.active()[0].kind, AlarmKind::Freeze);
        a.observe(3_000, &sample("ham-yen", 0.0, Some(0.03)), &c);
        assert!(a.active().is_empty());
    }

    #[test]
    fn a_drop_stays_until_the_endpoint_is_back_and_leaving_clears_all() {
        let c = QualityConfig::default();
        let mut a = Alarms::default();
        a.observe(1_000, &sample("son-duong", 0.2, Some(5.0)), &c);
        assert_eq!(a.active().len(), 2);
        a.dropped(2_000, "son-duong", "ICE consent lost");
        let active = a.active();
        assert_eq!(active.len(), 1, "the drop replaces loss and freeze");
        assert_eq!(active[0].kind, AlarmKind::Drop);
        assert_eq!(active[0].detail, "ICE consent lost");
        a.rejoined(3_000, "son-duong");
        assert!(a.active().is_empty());
        a.observe(4_000, &sample("ham-yen", 0.5, None), &c);
        a.left(5_000, "ham-yen");
        assert!(a.active().is_empty());
        assert_eq!(a.recent().len(), 4);
        assert_eq!(a.recent()[0].endpoint, "ham-yen", "newest first");
    }

    #[test]
    fn silence_on_a_link_is_not_loss() {
        let c = QualityConfig::default();
        let mut a = Alarms::default();
        let mut q = sample("son-duong", 0.0, Some(0.03));
        q.video.packets = 0;
        q.audio.packets = 0;
        q.video.loss = 1.0;
        a.observe(1_000, &q, &c);
        assert!(a.active().iter().all(|x| x.kind != AlarmKind::Loss));
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(QualityConfig::default().validate().is_ok());
        let bad = QualityConfig {
            loss_alarm_percent: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("loss_alarm_percent"));
        let bad = QualityConfig {
            sample_seconds: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("sample_seconds"));
        let bad = QualityConfig {
            record_seconds: 0.1,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("record_seconds"));
    }
}
