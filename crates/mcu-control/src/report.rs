//! The quality report of a conference (R13: after each session the central
//! unit compiles and evaluates its quality), computed from what the daemon
//! recorded: the quality samples (every `[quality] record_seconds`) and the
//! automatic entries of the logbook (alarms, drops). Pure computation: the
//! routes read the store and hand the rows in.
//!
//! Per endpoint:
//!
//! - **Time connected**: samples × the record period. The period is not
//!   configured here (it is the daemon's); it is the median gap between
//!   consecutive samples of the conference ([`record_period_ms`]), so an
//!   endpoint that leaves and comes back is not counted while away.
//! - **Loss, jitter, RTT**: mean and 95th percentile over the samples. Each
//!   sample's loss and jitter are the worse of its video and audio (as the
//!   live badge grades them); samples without a measured RTT are left out of
//!   the RTT figures. The percentile is nearest-rank ([`stat`]).
//! - **MOS**: the ITU-T G.107 E-model, simplified ([`r_factor`], [`mos_from_r`]),
//!   taken per sample and averaged; its band ([`MosBand`]) follows G.107's
//!   user-satisfaction classes.
//! - **Drops, freezes**: from the logbook, whose automatic alarm entries the
//!   daemon's recorder writes with their details ([`LoggedAlarm`]): a drop is
//!   a `drop` alarm raised; a freeze is a `freeze` alarm raised, and it
//!   lasted from when the picture stopped (`raised_at` − threshold) to its
//!   clearing (or the end of the conference, or now, when never cleared).
//!   The logbook is the source because it is the signed record: the report
//!   of a signed session cannot disagree with its logbook.

use std::collections::BTreeMap;

use mcu_store::{LogbookCategory, LogbookEntry, LogbookKind, QualitySample};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::live::AlarmKind;

/// The E-model's basic signal-to-noise ratio with default parameters (Ro − Is).
pub const R0: f64 = 93.2;
/// One-way delay added to the network's, ms: packetisation, codec and playout
/// (the common simplification's 10 ms).
pub const CODEC_DELAY_MS: f64 = 10.0;
/// How much the jitter buffer adds to the delay: twice the jitter.
pub const JITTER_FACTOR: f64 = 2.0;
/// Equipment impairment of the codec without loss: Opus at conference
/// bitrates is taken as transparent (G.113 lists no Opus value).
pub const IE_OPUS: f64 = 0.0;
/// Packet-loss robustness of the codec: 10, between G.711 without (4.3) and
/// with (25.1) concealment, a cautious value for Opus without in-band FEC.
pub const BPL_OPUS: f64 = 10.0;
/// The record period assumed when a conference has fewer than two samples
/// of any endpoint to measure it from (the daemon's default).
pub const DEFAULT_RECORD_PERIOD_MS: i64 = 5_000;

/// The E-model's transmission rating R (0–100) from a sample's figures:
/// `R = R0 − Id − Ie_eff`, with the effective one-way delay
/// `d = rtt/2 + 2·jitter + 10 ms`, the delay impairment
/// `Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)` and the loss impairment
/// `Ie_eff = Ie + (95 − Ie)·Ppl/(Ppl + Bpl)` (random loss, `Ie` = 0, `Bpl` = 10).
pub fn r_factor(rtt_ms: f64, jitter_ms: f64, loss_percent: f64) -> f64 {
    let d = rtt_ms.max(0.0) / 2.0 + JITTER_FACTOR * jitter_ms.max(0.0) + CODEC_DELAY_MS;
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = loss_percent.clamp(0.0, 100.0);
    let ie_eff = IE_OPUS + (95.0 - IE_OPUS) * ppl / (ppl + BPL_OPUS);
    (R0 - id - ie_eff).clamp(0.0, 100.0)
}

/// The estimated listening MOS (1–4.5) of a rating R (G.107 Annex B):
/// `MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R)`.
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
    }
}

/// The MOS of one sample's figures.
pub fn mos(rtt_ms: f64, jitter_ms: f64, loss_percent: f64) -> f64 {
    mos_from_r(r_factor(rtt_ms, jitter_ms, loss_percent))
}

/// How a MOS reads, after G.107's user-satisfaction classes: the bounds are
/// the MOS of R = 90 / 80 / 70 / 60 (4.339 / 4.024 / 3.597 / 3.100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MosBand {
    /// MOS ≥ 4.339 (R ≥ 90): very satisfied.
    Excellent,
    /// MOS ≥ 4.024 (R ≥ 80): satisfied.
    Good,
    /// MOS ≥ 3.597 (R ≥ 70): some users dissatisfied.
    Fair,
    /// MOS ≥ 3.100 (R ≥ 60): many users dissatisfied.
    Poor,
    /// Below: nearly all users dissatisfied.
    Bad,
}

impl MosBand {
    /// The band of a MOS.
    pub fn of(mos: f64) -> Self {
        if mos >= mos_from_r(90.0) {
            Self::Excellent
        } else if mos >= mos_from_r(80.0) {
            Self::Good
        } else if mos >= mos_from_r(70.0) {
            Self::Fair
        } else if mos >= mos_from_r(60.0) - 1e-9 {
            Self::Poor
        } else {
            Self::Bad
        }
    }

    /// Its Vietnamese name (exports).
    pub fn vi(self) -> &'static str {
        match self {
            Self::Excellent => "Rất tốt",
            Self::Good => "Tốt",
            Self::Fair => "Trung bình",
            Self::Poor => "Kém",
            Self::Bad => "Rất kém",
        }
    }

    /// Its name in the API and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Excellent => "excellent",
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
            Self::Bad => "bad",
        }
    }
}

/// Mean and 95th percentile of a figure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, ToSchema)]
pub struct Stat {
    /// Arithmetic mean.
    pub mean: f64,
    /// 95th percentile, nearest rank: the smallest value with at least 95 %
    /// of the values at or below it.
    pub p95: f64,
}

/// Mean and p95 of `values` (`None` when empty).
pub fn stat(values: &[f64]) -> Option<Stat> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // Nearest rank: ceil(0.95·n), 1-based; integer maths avoids 0.95·20 = 19.000…04.
    let rank = (95 * n).div_ceil(100).max(1);
    Some(Stat {
        mean: values.iter().sum::<f64>() / n as f64,
        p95: sorted[rank - 1],
    })
}

/// The record period of a conference's samples: the median gap between
/// consecutive samples of the same endpoint ([`DEFAULT_RECORD_PERIOD_MS`]
/// when there is no gap to measure). `samples` are by endpoint, then time.
pub fn record_period_ms(samples: &[QualitySample]) -> i64 {
    let mut gaps: BTreeMap<i64, u64> = BTreeMap::new();
    for w in samples.windows(2) {
        if w[0].endpoint_id == w[1].endpoint_id {
            *gaps.entry(w[1].at_ms - w[0].at_ms).or_default() += 1;
        }
    }
    median_gap_ms(gaps)
}

/// The record period from the gaps between consecutive samples of each
/// endpoint, given as `(gap, how many times)`: the median gap (the upper one
/// of an even count), ignoring gaps that are not positive;
/// [`DEFAULT_RECORD_PERIOD_MS`] when none is left. [`record_period_ms`]
/// counts the gaps of one conference's samples; the usage report
/// (`crate::usage`) has the store count them.
pub fn median_gap_ms(gaps: impl IntoIterator<Item = (i64, u64)>) -> i64 {
    let mut gaps: Vec<(i64, u64)> = gaps
        .into_iter()
        .filter(|&(gap, n)| gap > 0 && n > 0)
        .collect();
    gaps.sort_unstable();
    let total: u64 = gaps.iter().map(|g| g.1).sum();
    // The 0-based index of the median in the sorted list of all gaps.
    let middle = total / 2;
    let mut seen = 0;
    for (gap, n) in gaps {
        seen += n;
        if seen > middle {
            return gap;
        }
    }
    DEFAULT_RECORD_PERIOD_MS
}

/// Whether an alarm entry tells of the raising or of the clearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmEvent {
    /// The alarm was raised.
    Raised,
    /// The alarm was cleared.
    Cleared,
}

/// The `details` of the recorder's automatic alarm entries in the logbook
/// (categories `alarm`, `drop` and `reconnect`): the daemon writes them, the
/// report reads them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedAlarm {
    /// Endpoint id.
    pub endpoint: String,
    /// `loss`, `freeze` or `drop`.
    pub alarm: AlarmKind,
    /// Raised or cleared.
    pub event: AlarmEvent,
    /// When it was raised (Unix ms); with the kind and endpoint, its identity.
    pub raised_at: i64,
    /// When it was cleared (Unix ms).
    pub cleared_at: Option<i64>,
    /// The figure that raised it (loss: percent; freeze: seconds).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// Why, in words (a drop's reason).
    pub detail: String,
}

impl LoggedAlarm {
    /// The alarm details of an automatic logbook entry, if it is one.
    pub fn from_entry(e: &LogbookEntry) -> Option<Self> {
        let about_alarm = matches!(
            e.entry.category,
            LogbookCategory::Alarm | LogbookCategory::Drop | LogbookCategory::Reconnect
        );
        if e.entry.kind != LogbookKind::Auto || !about_alarm {
            return None;
        }
        serde_json::from_str(&e.entry.details).ok()
    }
}

/// One endpoint's quality over the session.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointReport {
    /// Endpoint id.
    pub endpoint: String,
    /// Endpoint name.
    pub name: String,
    /// Samples recorded.
    pub samples: u64,
    /// Time connected, ms (samples × record period).
    pub connected_ms: i64,
    /// First sample (Unix ms).
    pub first_at: Option<i64>,
    /// Last sample (Unix ms).
    pub last_at: Option<i64>,
    /// Connection drops (drop alarms raised).
    pub drops: u64,
    /// Freezes (freeze alarms raised).
    pub freezes: u64,
    /// Total time frozen, ms.
    pub freeze_ms: i64,
    /// Loss, percent (the worse of video and audio per sample).
    pub loss_percent: Option<Stat>,
    /// Jitter, ms (the worse of video and audio per sample).
    pub jitter_ms: Option<Stat>,
    /// Round-trip time, ms (samples where it was measured).
    pub rtt_ms: Option<Stat>,
    /// Estimated MOS (1–4.5), the mean of the samples'.
    pub mos: Option<f64>,
    /// Its band.
    pub band: Option<MosBand>,
}

/// The conference as a whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct ReportSummary {
    /// Endpoints with at least one sample.
    pub endpoints: u64,
    /// Mean of their MOS.
    pub mean_mos: Option<f64>,
    /// Its band.
    pub band: Option<MosBand>,
    /// The endpoint with the lowest MOS.
    pub worst_endpoint: Option<String>,
    /// Its MOS.
    pub worst_mos: Option<f64>,
    /// Drops of all endpoints.
    pub drops: u64,
    /// Freezes of all endpoints.
    pub freezes: u64,
}

/// Per-endpoint reports and the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// The record period the times are counted in, ms.
    pub record_period_ms: i64,
    /// One per endpoint: the conference's participants as given, then any
    /// other endpoint that has samples.
    pub endpoints: Vec<EndpointReport>,
    /// The conference as a whole.
    pub summary: ReportSummary,
}

/// Compiles the report: `participants` are `(id, name)` in the conference's
/// order; `samples` by endpoint then time; `entries` the logbook; `end_ms`
/// closes a freeze never cleared (the conference's end, or now).
pub fn compile(
    participants: &[(String, String)],
    samples: &[QualitySample],
    entries: &[LogbookEntry],
    end_ms: i64,
) -> Compiled {
    let period = record_period_ms(samples);
    let mut by_endpoint: BTreeMap<&str, Vec<&QualitySample>> = BTreeMap::new();
    for s in samples {
        by_endpoint.entry(&s.endpoint_id).or_default().push(s);
    }
    let alarms: Vec<LoggedAlarm> = entries.iter().filter_map(LoggedAlarm::from_entry).collect();
    let mut order: Vec<(String, String)> = participants.to_vec();
    for id in by_endpoint.keys() {
        if !order.iter().any(|(e, _)| e == id) {
            order.push(((*id).to_owned(), String::new()));
        }
    }
    let endpoints: Vec<EndpointReport> = order
        .into_iter()
        .map(|(id, name)| {
            let own = by_endpoint
                .get(id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            endpoint_report(id, name, own, &alarms, period, end_ms)
        })
        .collect();
    let rated: Vec<(&str, f64)> = endpoints
        .iter()
        .filter_map(|e| Some((e.endpoint.as_str(), e.mos?)))
        .collect();
    let mean_mos =
        (!rated.is_empty()).then(|| rated.iter().map(|r| r.1).sum::<f64>() / rated.len() as f64);
    let worst = rated.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let summary = ReportSummary {
        endpoints: endpoints.iter().filter(|e| e.samples > 0).count() as u64,
        mean_mos,
        band: mean_mos.map(MosBand::of),
        worst_endpoint: worst.map(|w| w.0.to_owned()),
        worst_mos: worst.map(|w| w.1),
        drops: endpoints.iter().map(|e| e.drops).sum(),
        freezes: endpoints.iter().map(|e| e.freezes).sum(),
    };
    Compiled {
        record_period_ms: period,
        endpoints,
        summary,
    }
}

fn endpoint_report(
    endpoint: String,
    name: String,
    samples: &[&QualitySample],
    alarms: &[LoggedAlarm],
    period_ms: i64,
    end_ms: i64,
) -> EndpointReport {
    let loss: Vec<f64> = samples
        .iter()
        .map(|s| s.video.loss_percent.max(s.audio.loss_percent))
        .collect();
    let jitter: Vec<f64> = samples
        .iter()
        .map(|s| s.video.jitter_ms.max(s.audio.jitter_ms))
        .collect();
    let rtt: Vec<f64> = samples.iter().filter_map(|s| s.rtt_ms).collect();
    // A sample before the RTT was measured counts the endpoint's mean RTT.
    let rtt_fill = stat(&rtt).map_or(0.0, |s| s.mean);
    let moses: Vec<f64> = samples
        .iter()
        .zip(loss.iter().zip(&jitter))
        .map(|(s, (&l, &j))| mos(s.rtt_ms.unwrap_or(rtt_fill), j, l))
        .collect();
    let mos = stat(&moses).map(|s| s.mean);
    let id = endpoint.as_str();
    let own = |kind: AlarmKind, event: AlarmEvent| {
        alarms
            .iter()
            .filter(move |a| a.endpoint == id && a.alarm == kind && a.event == event)
    };
    let drops = own(AlarmKind::Drop, AlarmEvent::Raised).count() as u64;
    let mut freezes = 0;
    let mut freeze_ms = 0;
    for raised in own(AlarmKind::Freeze, AlarmEvent::Raised) {
        freezes += 1;
        let cleared = own(AlarmKind::Freeze, AlarmEvent::Cleared)
            .find(|c| c.raised_at == raised.raised_at)
            .and_then(|c| c.cleared_at)
            .unwrap_or(end_ms);
        let stopped = raised.raised_at - (raised.threshold * 1000.0).round() as i64;
        freeze_ms += (cleared - stopped).max(0);
    }
    EndpointReport {
        samples: samples.len() as u64,
        connected_ms: samples.len() as i64 * period_ms,
        first_at: samples.first().map(|s| s.at_ms),
        last_at: samples.last().map(|s| s.at_ms),
        drops,
        freezes,
        freeze_ms,
        loss_percent: stat(&loss),
        jitter_ms: stat(&jitter),
        rtt_ms: stat(&rtt),
        band: mos.map(MosBand::of),
        mos,
        endpoint,
        name,
    }
}

/// One point of an endpoint's quality over time: when, loss and jitter (the
/// worse of video and audio), RTT when measured.
pub type SeriesPoint = (i64, f64, f64, Option<f64>);

/// At most this many points per endpoint in [`series`]: one per pixel or so
/// of the console's chart.
pub const MAX_SERIES_POINTS: usize = 360;

/// An endpoint's samples as a time series for the console's charts, at most
/// [`MAX_SERIES_POINTS`] long: consecutive samples are averaged in equal
/// runs when there are more (an RTT averages the samples that have one).
/// `samples` are one endpoint's, in time order.
pub fn series(samples: &[QualitySample]) -> Vec<SeriesPoint> {
    let per = samples.len().div_ceil(MAX_SERIES_POINTS).max(1);
    samples
        .chunks(per)
        .map(|run| {
            let n = run.len() as f64;
            let mean = |f: &dyn Fn(&QualitySample) -> f64| run.iter().map(f).sum::<f64>() / n;
            let rtts: Vec<f64> = run.iter().filter_map(|s| s.rtt_ms).collect();
            (
                run[run.len() / 2].at_ms,
                mean(&|s| s.video.loss_percent.max(s.audio.loss_percent)),
                mean(&|s| s.video.jitter_ms.max(s.audio.jitter_ms)),
                (!rtts.is_empty()).then(|| rtts.iter().sum::<f64>() / rtts.len() as f64),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mcu_store::{NewLogbookEntry, SampleFigures};

    use super::*;

    const T0: i64 = 1_790_000_000_000;

    fn sample(
        endpoint: &str,
        at_ms: i64,
        loss: f64,
        jitter: f64,
        rtt: Option<f64>,
    ) -> QualitySample {
        QualitySample {
            conference_id: "giao-ban".into(),
            endpoint_id: endpoint.into(),
            at_ms,
            rtt_ms: rtt,
            // The worse stream counts: video carries the figures, audio less.
            video: SampleFigures {
                loss_percent: loss,
                jitter_ms: jitter,
                kbps: 1200.0,
                fps: 30.0,
            },
            audio: SampleFigures {
                loss_percent: loss / 2.0,
                jitter_ms: jitter / 2.0,
                kbps: 32.0,
                fps: 50.0,
            },
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    fn alarm_entry(seq: i64, a: LoggedAlarm) -> LogbookEntry {
        let category = match (a.alarm, a.event) {
            (AlarmKind::Drop, AlarmEvent::Raised) => LogbookCategory::Drop,
            (AlarmKind::Drop, AlarmEvent::Cleared) => LogbookCategory::Reconnect,
            _ => LogbookCategory::Alarm,
        };
        LogbookEntry {
            conference_id: "giao-ban".into(),
            seq,
            entry: NewLogbookEntry {
                at_ms: a.cleared_at.unwrap_or(a.raised_at),
                kind: LogbookKind::Auto,
                category,
                actor: "system".into(),
                text: "…".into(),
                details: serde_json::to_string(&a).unwrap(),
                refers_to: None,
            },
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn logged(
        kind: AlarmKind,
        event: AlarmEvent,
        raised: i64,
        cleared: Option<i64>,
    ) -> LoggedAlarm {
        LoggedAlarm {
            endpoint: "son-duong".into(),
            alarm: kind,
            event,
            raised_at: raised,
            cleared_at: cleared,
            value: 2.5,
            threshold: 2.0,
            detail: String::new(),
        }
    }

    /// The test: known synthetic statistics — 5 % loss — give the
    /// expected averages and MOS band.
    #[test]
    fn five_percent_loss_gives_the_expected_figures_and_band() {
        let mut samples = Vec::new();
        // son-duong: 12 samples 5 s apart, 5 % loss, 10 ms jitter, 40 ms RTT.
        for i in 0..12 {
            samples.push(sample("son-duong", T0 + i * 5_000, 5.0, 10.0, Some(40.0)));
        }
        // ubnd-tinh: clean, 0 % loss, 2 ms jitter, 10 ms RTT (the first before RTT).
        for i in 0..12 {
            let rtt = (i > 0).then_some(10.0);
            samples.push(sample("ubnd-tinh", T0 + i * 5_000, 0.0, 2.0, rtt));
        }
        samples.sort_by(|a, b| (&a.endpoint_id, a.at_ms).cmp(&(&b.endpoint_id, b.at_ms)));
        let participants = [
            ("ubnd-tinh".to_owned(), "UBND tỉnh".to_owned()),
            ("son-duong".to_owned(), "UBND huyện Sơn Dương".to_owned()),
            ("dong-quy".to_owned(), "UBND xã Đông Quý".to_owned()),
        ];
        let r = compile(&participants, &samples, &[], T0 + 60_000);
        assert_eq!(r.record_period_ms, 5_000);
        let ids: Vec<&str> = r.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(ids, ["ubnd-tinh", "son-duong", "dong-quy"]);

        let lossy = &r.endpoints[1];
        assert_eq!(lossy.samples, 12);
        assert_eq!(lossy.connected_ms, 60_000);
        assert_eq!(
            (lossy.first_at, lossy.last_at),
            (Some(T0), Some(T0 + 55_000))
        );
        assert_eq!(
            lossy.loss_percent,
            Some(Stat {
                mean: 5.0,
                p95: 5.0
            })
        );
        assert_eq!(
            lossy.jitter_ms,
            Some(Stat {
                mean: 10.0,
                p95: 10.0
            })
        );
        assert_eq!(
            lossy.rtt_ms,
            Some(Stat {
                mean: 40.0,
                p95: 40.0
            })
        );
        // d = 40/2 + 2·10 + 10 = 50 ms → Id = 1.2; Ie_eff = 95·5/(5 + 10) = 31.667;
        // R = 93.2 − 1.2 − 31.667 = 60.333 → MOS = 1 + 2.11167 + 0.00558 = 3.117.
        assert!(
            close(r_factor(40.0, 10.0, 5.0), 60.3333),
            "{}",
            r_factor(40.0, 10.0, 5.0)
        );
        let m = lossy.mos.unwrap();
        assert!(close(m, 3.1172), "{m}");
        assert_eq!(lossy.band, Some(MosBand::Poor));

        let clean = &r.endpoints[0];
        assert_eq!(
            clean.loss_percent,
            Some(Stat {
                mean: 0.0,
                p95: 0.0
            })
        );
        assert_eq!(
            clean.rtt_ms,
            Some(Stat {
                mean: 10.0,
                p95: 10.0
            }),
            "11 measured"
        );
        // d = 5 + 4 + 10 = 19 → R = 93.2 − 0.456 = 92.744 → MOS 4.400.
        let m = clean.mos.unwrap();
        assert!(close(m, 4.4003), "{m}");
        assert_eq!(clean.band, Some(MosBand::Excellent));

        let absent = &r.endpoints[2];
        assert_eq!((absent.samples, absent.connected_ms), (0, 0));
        assert_eq!(
            (absent.mos, absent.band, absent.loss_percent),
            (None, None, None)
        );

        assert_eq!(r.summary.endpoints, 2);
        assert!(close(r.summary.mean_mos.unwrap(), (3.1172 + 4.4003) / 2.0));
        assert_eq!(r.summary.band, Some(MosBand::Fair));
        assert_eq!(r.summary.worst_endpoint.as_deref(), Some("son-duong"));
    }

    #[test]
    fn the_record_period_is_the_median_gap_counted_or_listed() {
        // Listed: gaps 5, 5, 10 (s) of one endpoint, 5 of another.
        let mut samples: Vec<QualitySample> = [0, 5_000, 10_000, 20_000]
            .iter()
            .map(|&t| sample("son-duong", T0 + t, 0.0, 0.0, None))
            .collect();
        samples.push(sample("ubnd-tinh", T0, 0.0, 0.0, None));
        samples.push(sample("ubnd-tinh", T0 + 5_000, 0.0, 0.0, None));
        assert_eq!(record_period_ms(&samples), 5_000);
        // Counted: the same answer from (gap, count), in any order.
        assert_eq!(median_gap_ms([(10_000, 1), (5_000, 3)]), 5_000);
        // Even count: the upper median, as the sorted list's `len / 2`.
        assert_eq!(median_gap_ms([(5_000, 1), (10_000, 1)]), 10_000);
        assert_eq!(median_gap_ms([(5_000, 2), (10_000, 3)]), 10_000);
        assert_eq!(median_gap_ms([(5_000, 3), (10_000, 2)]), 5_000);
        // Nothing positive: the default.
        assert_eq!(median_gap_ms([(0, 4), (-5, 1)]), DEFAULT_RECORD_PERIOD_MS);
        assert_eq!(median_gap_ms([]), DEFAULT_RECORD_PERIOD_MS);
    }

    #[test]
    fn p95_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(
            stat(&v),
            Some(Stat {
                mean: 10.5,
                p95: 19.0
            })
        );
        assert_eq!(
            stat(&[7.0]),
            Some(Stat {
                mean: 7.0,
                p95: 7.0
            })
        );
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(stat(&v).unwrap().p95, 95.0);
        assert_eq!(stat(&[]), None);
    }

    #[test]
    fn the_e_model_bends_at_177_ms_and_clamps() {
        // Below the knee only 0.024 per ms counts.
        assert!(close(r_factor(0.0, 0.0, 0.0), 93.2 - 0.24));
        // d = 200 + 10 = 210 ms: Id = 5.04 + 0.11·32.7 = 8.637.
        assert!(close(r_factor(400.0, 0.0, 0.0), 93.2 - 8.637));
        // All lost: Ie_eff = 95·100/110 = 86.36, R = 6.6; with a long delay too, 0.
        assert!(close(
            r_factor(0.0, 0.0, 100.0),
            93.2 - 0.24 - 9500.0 / 110.0
        ));
        assert_eq!(r_factor(2_000.0, 0.0, 100.0), 0.0, "clamped at 0");
        assert_eq!(mos_from_r(0.0), 1.0);
        assert_eq!(mos_from_r(100.0), 4.5);
        assert!(close(mos_from_r(90.0), 4.339));
        assert!(close(mos_from_r(60.0), 3.1));
        assert_eq!(MosBand::of(4.40), MosBand::Excellent);
        assert_eq!(MosBand::of(4.1), MosBand::Good);
        assert_eq!(MosBand::of(3.7), MosBand::Fair);
        assert_eq!(MosBand::of(3.2), MosBand::Poor);
        assert_eq!(MosBand::of(2.0), MosBand::Bad);
    }

    #[test]
    fn drops_and_freezes_come_from_the_logbook() {
        let entries = vec![
            // A freeze raised after 2 s without a picture, cleared 3 s later: 5 s frozen.
            alarm_entry(1, logged(AlarmKind::Freeze, AlarmEvent::Raised, T0, None)),
            alarm_entry(
                2,
                logged(AlarmKind::Freeze, AlarmEvent::Cleared, T0, Some(T0 + 3_000)),
            ),
            // Another never cleared: frozen until the end.
            alarm_entry(
                3,
                logged(AlarmKind::Freeze, AlarmEvent::Raised, T0 + 10_000, None),
            ),
            alarm_entry(
                4,
                logged(AlarmKind::Drop, AlarmEvent::Raised, T0 + 20_000, None),
            ),
            alarm_entry(
                5,
                logged(
                    AlarmKind::Drop,
                    AlarmEvent::Cleared,
                    T0 + 20_000,
                    Some(T0 + 25_000),
                ),
            ),
            alarm_entry(
                6,
                logged(AlarmKind::Loss, AlarmEvent::Raised, T0 + 30_000, None),
            ),
        ];
        let participants = [("son-duong".to_owned(), "Sơn Dương".to_owned())];
        let r = compile(&participants, &[], &entries, T0 + 14_000);
        let e = &r.endpoints[0];
        assert_eq!((e.drops, e.freezes, e.freeze_ms), (1, 2, 5_000 + 6_000));
        assert_eq!((r.summary.drops, r.summary.freezes), (1, 2));
        assert_eq!(r.record_period_ms, DEFAULT_RECORD_PERIOD_MS);
        // An operator's note with the same text is not an alarm.
        let mut note = entries[0].clone();
        note.entry.kind = LogbookKind::Operator;
        assert!(LoggedAlarm::from_entry(&note).is_none());
    }

    #[test]
    fn series_keep_short_runs_and_average_long_ones() {
        let sample = |at_ms: i64, loss: f64, rtt: Option<f64>| QualitySample {
            at_ms,
            rtt_ms: rtt,
            video: mcu_store::SampleFigures {
                loss_percent: loss,
                jitter_ms: 2.0,
                ..Default::default()
            },
            audio: mcu_store::SampleFigures {
                jitter_ms: 4.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let short: Vec<_> = (0..3)
            .map(|i| sample(i * 1000, i as f64, Some(10.0)))
            .collect();
        assert_eq!(
            series(&short),
            [
                (0, 0.0, 4.0, Some(10.0)),
                (1000, 1.0, 4.0, Some(10.0)),
                (2000, 2.0, 4.0, Some(10.0))
            ]
        );
        let long: Vec<_> = (0..(2 * MAX_SERIES_POINTS as i64))
            .map(|i| sample(i, (i % 2) as f64, (i % 2 == 0).then_some(30.0)))
            .collect();
        let s = series(&long);
        assert_eq!(s.len(), MAX_SERIES_POINTS);
        assert_eq!(s[0], (1, 0.5, 4.0, Some(30.0)));
    }
}
