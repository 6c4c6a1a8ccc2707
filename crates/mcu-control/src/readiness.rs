//! Readiness (R10, R11): each endpoint of a conference is measured over a
//! window — not declared ready by anyone — and passes or fails against
//! thresholds, with its reasons and figures stored. The regulations ask the
//! chair side to collect every endpoint's technical readiness before the
//! session (a summary form, "26 / 28 ready") and endpoints that fail to
//! re-test.
//!
//! What is measured, once per sample period, of what the MCU receives from
//! the endpoint (through [`Live::quality`](crate::Live::quality)):
//! - audio: its loudest level over the window is above a floor (a muted or
//!   dead microphone fails);
//! - video: frame rate (mean) and picture size at least the configured ones;
//! - the link: RTT, loss and jitter (means, the worse of audio and video)
//!   within their thresholds; an RTT not measured is not held against it;
//! - the way back: its client reports that it decodes the composite at a
//!   frame rate at least the configured one.
//!
//! [`Board`] is the sans-IO part (windows in progress, fed samples, giving
//! results); [`evaluate`] the verdict. [`advance`] drives them once per
//! period from the daemon: a conference entering its readiness check has
//! every participant measured, an endpoint that was not connected is
//! measured as soon as it connects, an operator may re-test one endpoint
//! or all (`POST …/readiness`) in any running conference. Results go to
//! the store and, as one line each, to the conference's logbook.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mcu_store::{
    ConferenceState, LogbookCategory, LogbookKind, NewLogbookEntry, ReadinessFigures,
    ReadinessResult, StoreError,
};

use crate::live::EndpointQuality;
use crate::{ApiResult, ControlState};

/// Thresholds and the measuring window (`[readiness]` of the daemon's config).
#[derive(Clone, Debug, PartialEq)]
pub struct ReadinessRules {
    /// Length of a measuring window, ms.
    pub window_ms: i64,
    /// The loudest audio level over the window must reach this, dBov.
    pub audio_floor_dbov: f64,
    /// Least video frame rate received (mean over the window).
    pub min_video_fps: f64,
    /// Least picture size received (width, height).
    pub min_video_size: (u32, u32),
    /// Greatest round-trip time (mean), ms.
    pub max_rtt_ms: f64,
    /// Greatest packet loss (mean), percent.
    pub max_loss_percent: f64,
    /// Greatest interarrival jitter (mean), ms.
    pub max_jitter_ms: f64,
    /// Least frame rate at which the endpoint decodes the composite.
    pub min_decoded_fps: f64,
}

impl Default for ReadinessRules {
    fn default() -> Self {
        Self {
            window_ms: 10_000,
            audio_floor_dbov: -50.0,
            min_video_fps: 15.0,
            min_video_size: (640, 360),
            max_rtt_ms: 300.0,
            max_loss_percent: 2.0,
            max_jitter_ms: 50.0,
            min_decoded_fps: 10.0,
        }
    }
}

/// Why an endpoint failed, as stable codes (the first word of each stored
/// reason, before a tab; the rest is the Vietnamese sentence).
pub mod reason {
    /// Never connected during the window.
    pub const NOT_CONNECTED: &str = "not_connected";
    /// No audio, or audio below the floor.
    pub const AUDIO: &str = "audio_level";
    /// No video, or video below the frame rate.
    pub const VIDEO_FPS: &str = "video_fps";
    /// Picture size unknown or below the least one.
    pub const VIDEO_SIZE: &str = "video_size";
    /// Round-trip time above the threshold.
    pub const RTT: &str = "rtt";
    /// Loss above the threshold.
    pub const LOSS: &str = "loss";
    /// Jitter above the threshold.
    pub const JITTER: &str = "jitter";
    /// The client does not report decoding the composite, or too slowly.
    pub const DECODE: &str = "decode";
}

/// A number the Vietnamese way: decimal comma.
fn vi(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}").replace('.', ",")
}

/// Samples of one endpoint over its window.
#[derive(Clone, Debug, Default, PartialEq)]
struct Window {
    started_ms: i64,
    /// The window ended and its result is being stored: it still counts as
    /// measuring (a reader must never see it in neither state) but takes
    /// no more samples.
    ended: bool,
    connected: u32,
    audio_peak: Option<f64>,
    video_fps: f64,
    size: Option<(u32, u32)>,
    rtt: (f64, u32),
    loss: f64,
    jitter: f64,
    decoded: (f64, u32),
}

impl Window {
    fn add(&mut self, q: &EndpointQuality, receiver_fresh_after: i64) {
        self.connected += 1;
        if let Some(l) = q.audio_level_dbov {
            self.audio_peak = Some(self.audio_peak.map_or(l, |p: f64| p.max(l)));
        }
        self.video_fps += q.video.fps;
        if q.video_size.is_some() {
            self.size = q.video_size;
        }
        if let Some(r) = q.rtt_ms {
            self.rtt.0 += r;
            self.rtt.1 += 1;
        }
        self.loss += q.video.loss_percent.max(q.audio.loss_percent);
        self.jitter += q.video.jitter_ms.max(q.audio.jitter_ms);
        // A report from before the window says nothing about it.
        if let Some(r) = q.receiver.filter(|r| r.at_ms >= receiver_fresh_after) {
            self.decoded.0 += r.decoded_fps;
            self.decoded.1 += 1;
        }
    }

    fn figures(&self) -> ReadinessFigures {
        let n = f64::from(self.connected.max(1));
        let mean = |(sum, k): (f64, u32)| (k > 0).then(|| sum / f64::from(k));
        let connected = self.connected > 0;
        ReadinessFigures {
            audio_level_dbov: self.audio_peak,
            video_fps: connected.then(|| self.video_fps / n),
            video_size: self.size,
            rtt_ms: mean(self.rtt),
            loss_percent: connected.then(|| self.loss / n),
            jitter_ms: connected.then(|| self.jitter / n),
            decoded_fps: mean(self.decoded),
        }
    }
}

/// The verdict on a window's figures: the failure reasons (`code\tsentence`),
/// empty when every threshold is met. `connected` says whether the endpoint
/// was connected in any sample of the window.
pub fn evaluate(f: &ReadinessFigures, connected: bool, r: &ReadinessRules) -> Vec<String> {
    use reason::*;
    let mut out = Vec::new();
    let mut fail = |code: &str, text: String| out.push(format!("{code}\t{text}"));
    if !connected {
        fail(
            NOT_CONNECTED,
            "Điểm cầu chưa kết nối trong thời gian đo".into(),
        );
        return out;
    }
    match f.audio_level_dbov {
        Some(l) if l >= r.audio_floor_dbov => {}
        Some(l) => fail(
            AUDIO,
            format!(
                "Âm thanh quá nhỏ hoặc micrô tắt: mức cao nhất {} dBov < {} dBov",
                vi(l, 1),
                vi(r.audio_floor_dbov, 1)
            ),
        ),
        None => fail(AUDIO, "Không nhận được âm thanh".into()),
    }
    match f.video_fps {
        Some(fps) if fps >= r.min_video_fps => {}
        Some(fps) if fps > 0.0 => fail(
            VIDEO_FPS,
            format!(
                "Tốc độ hình thấp: {} hình/giây < {}",
                vi(fps, 1),
                vi(r.min_video_fps, 0)
            ),
        ),
        _ => fail(VIDEO_FPS, "Không nhận được hình".into()),
    }
    let (mw, mh) = r.min_video_size;
    match f.video_size {
        Some((w, h)) if w >= mw && h >= mh => {}
        Some((w, h)) => fail(
            VIDEO_SIZE,
            format!("Độ phân giải thấp: {w}×{h} < {mw}×{mh}"),
        ),
        None => fail(VIDEO_SIZE, "Chưa xác định được độ phân giải hình".into()),
    }
    if let Some(rtt) = f.rtt_ms.filter(|&v| v > r.max_rtt_ms) {
        fail(
            RTT,
            format!(
                "Độ trễ khứ hồi cao: {} ms > {} ms",
                vi(rtt, 0),
                vi(r.max_rtt_ms, 0)
            ),
        );
    }
    if let Some(loss) = f.loss_percent.filter(|&v| v > r.max_loss_percent) {
        fail(
            LOSS,
            format!(
                "Mất gói cao: {} % > {} %",
                vi(loss, 1),
                vi(r.max_loss_percent, 1)
            ),
        );
    }
    if let Some(j) = f.jitter_ms.filter(|&v| v > r.max_jitter_ms) {
        fail(
            JITTER,
            format!(
                "Biến động trễ (jitter) cao: {} ms > {} ms",
                vi(j, 0),
                vi(r.max_jitter_ms, 0)
            ),
        );
    }
    match f.decoded_fps {
        Some(d) if d >= r.min_decoded_fps => {}
        Some(d) => fail(
            DECODE,
            format!(
                "Điểm cầu giải mã hình hội nghị chậm: {} hình/giây < {}",
                vi(d, 1),
                vi(r.min_decoded_fps, 0)
            ),
        ),
        None => fail(
            DECODE,
            "Điểm cầu không báo đã nhận và giải mã được hình hội nghị".into(),
        ),
    }
    out
}

/// Measuring windows in progress, per conference and endpoint. Sans-IO:
/// times are given.
#[derive(Debug, Default)]
pub struct Board {
    windows: BTreeMap<(String, String), Window>,
}

impl Board {
    /// Starts (or restarts) measuring endpoints of a conference at `now_ms`.
    pub fn start(&mut self, conference: &str, endpoints: &[String], now_ms: i64) {
        for e in endpoints {
            self.windows.insert(
                (conference.to_owned(), e.clone()),
                Window {
                    started_ms: now_ms,
                    ..Window::default()
                },
            );
        }
    }

    /// Endpoints of a conference being measured, with when their window started.
    pub fn measuring(&self, conference: &str) -> Vec<(String, i64)> {
        self.of(conference)
            .map(|((_, e), w)| (e.clone(), w.started_ms))
            .collect()
    }

    /// Conferences with a window open.
    pub fn conferences(&self) -> Vec<String> {
        let mut v: Vec<String> = self.windows.keys().map(|(c, _)| c.clone()).collect();
        v.dedup();
        v
    }

    /// Forgets a conference's windows (its media stopped).
    pub fn drop_conference(&mut self, conference: &str) {
        self.windows.retain(|(c, _), _| c != conference);
    }

    fn of<'a>(
        &'a self,
        conference: &'a str,
    ) -> impl Iterator<Item = (&'a (String, String), &'a Window)> + 'a {
        self.windows
            .iter()
            .filter(move |((c, _), _)| c == conference)
    }

    /// Forgets an ended window once its result is stored. A window started
    /// again since (a re-test) is kept.
    pub fn finish(&mut self, conference: &str, endpoint: &str) {
        let key = (conference.to_owned(), endpoint.to_owned());
        if self.windows.get(&key).is_some_and(|w| w.ended) {
            self.windows.remove(&key);
        }
    }

    /// Feeds one sample of a conference (the figures of its connected
    /// endpoints) and returns the results of the windows that are complete.
    /// Those stay listed as measuring until [`Board::finish`]: store each
    /// result first, then finish it.
    pub fn observe(
        &mut self,
        conference: &str,
        now_ms: i64,
        connected: &[EndpointQuality],
        rules: &ReadinessRules,
    ) -> Vec<ReadinessResult> {
        let mut done = Vec::new();
        for ((c, e), w) in self
            .windows
            .iter_mut()
            .filter(|((c, _), w)| c == conference && !w.ended)
        {
            if let Some(q) = connected.iter().find(|q| &q.endpoint == e) {
                w.add(q, w.started_ms);
            }
            if now_ms >= w.started_ms + rules.window_ms {
                let figures = w.figures();
                let reasons = evaluate(&figures, w.connected > 0, rules);
                w.ended = true;
                done.push(ReadinessResult {
                    conference_id: c.clone(),
                    endpoint_id: e.clone(),
                    measured_at: now_ms,
                    window_ms: now_ms - w.started_ms,
                    passed: reasons.is_empty(),
                    reasons,
                    figures,
                });
            }
        }
        done
    }
}

/// The code of a stored reason (`code\tsentence`).
pub fn reason_code(stored: &str) -> &str {
    stored.split_once('\t').map_or(stored, |(c, _)| c)
}

/// The sentence of a stored reason.
pub fn reason_text(stored: &str) -> &str {
    stored.split_once('\t').map_or(stored, |(_, t)| t)
}

/// Whether an endpoint still waits to be measured in a readiness check: it
/// has no result yet, or its latest says only that it was not connected
/// (and it is connected now).
fn waiting(latest: Option<&ReadinessResult>, connected: bool) -> bool {
    match latest {
        None => true,
        Some(r) => {
            connected
                && !r.passed
                && r.reasons
                    .iter()
                    .all(|x| reason_code(x) == reason::NOT_CONNECTED)
        }
    }
}

/// One pass: starts the windows a readiness check calls for, feeds every
/// open window a sample, stores and logs the results. Returns them.
pub async fn advance(s: &ControlState) -> ApiResult<Vec<ReadinessResult>> {
    let rules = &s.policy.readiness;
    for c in s.store.list_conferences().await? {
        if !c.state.media_running() {
            board(s).drop_conference(&c.id);
            continue;
        }
        if c.state != ConferenceState::ReadyCheck {
            continue;
        }
        let connected: Vec<String> = s
            .live
            .roster(&c.id)
            .into_iter()
            .filter(|p| p.connected)
            .map(|p| p.endpoint)
            .collect();
        let results = s.store.readiness_results(&c.id).await?;
        let measuring = board(s).measuring(&c.id);
        let start: Vec<String> = c
            .participants
            .iter()
            .filter(|e| !measuring.iter().any(|(m, _)| m == *e))
            .filter(|e| {
                let latest = results.iter().rev().find(|r| &r.endpoint_id == *e);
                waiting(latest, connected.contains(e))
            })
            .cloned()
            .collect();
        if !start.is_empty() {
            board(s).start(&c.id, &start, s.now_ms());
        }
    }
    let mut out = Vec::new();
    // (Not in the `for` head: its lock would live for the whole loop.)
    let conferences = board(s).conferences();
    for conference in conferences {
        let quality = s.live.quality(&conference);
        let now = s.now_ms();
        let done = board(s).observe(&conference, now, &quality.endpoints, rules);
        for r in done {
            record(s, &r).await;
            board(s).finish(&r.conference_id, &r.endpoint_id);
            out.push(r);
        }
    }
    Ok(out)
}

/// How many participants of a conference are ready (their latest result
/// passed) out of how many; `None` when nobody was measured.
pub async fn tally(
    s: &ControlState,
    c: &mcu_store::Conference,
) -> Result<Option<(usize, usize)>, StoreError> {
    let results = s.store.readiness_results(&c.id).await?;
    if results.is_empty() {
        return Ok(None);
    }
    let ready = c
        .participants
        .iter()
        .filter(|e| {
            results
                .iter()
                .rev()
                .find(|r| &r.endpoint_id == *e)
                .is_some_and(|r| r.passed)
        })
        .count();
    Ok(Some((ready, c.participants.len())))
}

/// The board of measuring windows, locked.
pub(crate) fn board(s: &ControlState) -> std::sync::MutexGuard<'_, Board> {
    // A panic while holding this lock cannot leave a window half-written
    // that matters: recover the board as it is.
    s.readiness.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stores a result and writes its logbook line.
async fn record(s: &ControlState, r: &ReadinessResult) {
    if let Err(e) = s.store.add_readiness_result(r).await {
        tracing::error!(conference = %r.conference_id, endpoint = %r.endpoint_id, error = %e, "readiness result not stored");
        return;
    }
    let name = match s.store.endpoint(&r.endpoint_id).await {
        Ok(Some(e)) => e.name,
        _ => r.endpoint_id.clone(),
    };
    let text = if r.passed {
        format!("Kiểm tra sẵn sàng {name}: đạt")
    } else {
        let why: Vec<&str> = r.reasons.iter().map(|x| reason_text(x)).collect();
        format!("Kiểm tra sẵn sàng {name}: chưa đạt — {}", why.join("; "))
    };
    let entry = NewLogbookEntry {
        at_ms: r.measured_at,
        kind: LogbookKind::Auto,
        category: LogbookCategory::Readiness,
        actor: "system".into(),
        text,
        details: serde_json::json!({
            "endpoint": r.endpoint_id,
            "passed": r.passed,
            "reasons": r.reasons.iter().map(|x| reason_code(x)).collect::<Vec<_>>(),
            "audio_level_dbov": r.figures.audio_level_dbov,
            "video_fps": r.figures.video_fps,
            "video_size": r.figures.video_size,
            "rtt_ms": r.figures.rtt_ms,
            "loss_percent": r.figures.loss_percent,
            "jitter_ms": r.figures.jitter_ms,
            "decoded_fps": r.figures.decoded_fps,
        })
        .to_string(),
        refers_to: None,
    };
    match s.store.append_logbook(&r.conference_id, &entry).await {
        Ok(_) | Err(StoreError::LogbookSigned(_)) => {}
        Err(e) => {
            tracing::error!(conference = %r.conference_id, error = %e, "readiness result not written in the logbook")
        }
    }
}

/// Measures every `period`, for as long as the daemon runs.
pub async fn run(s: Arc<ControlState>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = advance(&s).await {
            tracing::warn!(error = %e.message, "readiness not measured");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{ReceiverFigures, StreamFigures};

    fn good(endpoint: &str, at_ms: i64) -> EndpointQuality {
        let stream = |fps| StreamFigures {
            loss_percent: 0.5,
            jitter_ms: 4.0,
            kbps: 800.0,
            fps,
        };
        EndpointQuality {
            endpoint: endpoint.into(),
            rtt_ms: Some(20.0),
            video: stream(30.0),
            audio: stream(50.0),
            audio_level_dbov: Some(-18.0),
            video_size: Some((1280, 720)),
            receiver: Some(ReceiverFigures {
                decoded_fps: 25.0,
                width: 1280,
                height: 720,
                at_ms,
            }),
            downlink: None,
        }
    }

    fn codes(reasons: &[String]) -> Vec<&str> {
        reasons.iter().map(|r| reason_code(r)).collect()
    }

    #[test]
    fn a_good_endpoint_passes_and_each_threshold_fails_on_its_own() {
        let r = ReadinessRules::default();
        let mut w = Window::default();
        w.add(&good("a", 0), 0);
        let f = w.figures();
        assert!(evaluate(&f, true, &r).is_empty());
        type Spoil = fn(&mut ReadinessFigures);
        let cases: [(&str, Spoil); 8] = [
            (reason::AUDIO, |f| f.audio_level_dbov = Some(-60.0)),
            (reason::AUDIO, |f| f.audio_level_dbov = None),
            (reason::VIDEO_FPS, |f| f.video_fps = Some(10.0)),
            (reason::VIDEO_SIZE, |f| f.video_size = Some((320, 180))),
            (reason::RTT, |f| f.rtt_ms = Some(301.0)),
            (reason::LOSS, |f| f.loss_percent = Some(2.5)),
            (reason::JITTER, |f| f.jitter_ms = Some(51.0)),
            (reason::DECODE, |f| f.decoded_fps = None),
        ];
        for (code, spoil) in cases {
            let mut bad = f;
            spoil(&mut bad);
            assert_eq!(codes(&evaluate(&bad, true, &r)), [code], "{code}");
        }
        // An RTT not measured is not held against the endpoint.
        let mut no_rtt = f;
        no_rtt.rtt_ms = None;
        assert!(evaluate(&no_rtt, true, &r).is_empty());
        assert_eq!(codes(&evaluate(&f, false, &r)), [reason::NOT_CONNECTED]);
    }

    #[test]
    fn reasons_carry_the_figures_in_vietnamese() {
        let r = ReadinessRules::default();
        let f = ReadinessFigures {
            audio_level_dbov: Some(-127.0),
            loss_percent: Some(6.31),
            ..Window::default().figures()
        };
        let got = evaluate(&f, true, &r);
        assert!(got.contains(
            &"audio_level\tÂm thanh quá nhỏ hoặc micrô tắt: mức cao nhất -127,0 dBov < -50,0 dBov"
                .to_owned()
        ));
        assert!(got.contains(&"loss\tMất gói cao: 6,3 % > 2,0 %".to_owned()));
    }

    #[test]
    fn a_window_averages_its_samples_and_ends_on_time() {
        let rules = ReadinessRules {
            window_ms: 3_000,
            ..ReadinessRules::default()
        };
        let mut b = Board::default();
        b.start("c", &["a".into(), "b".into()], 1_000);
        let mut lossy = good("a", 1_500);
        lossy.audio.loss_percent = 0.0;
        for (i, loss) in [(1, 1.0), (2, 5.0)] {
            lossy.video.loss_percent = loss;
            lossy.audio_level_dbov = Some(-40.0 + i as f64);
            assert!(
                b.observe("c", 1_000 + i * 1_000, &[lossy.clone()], &rules)
                    .is_empty()
            );
        }
        assert_eq!(b.measuring("c").len(), 2);
        lossy.video.loss_percent = 0.0;
        let done = b.observe("c", 4_000, &[lossy], &rules);
        assert_eq!(b.measuring("c").len(), 2, "until the results are stored");
        assert!(b.observe("c", 4_500, &[], &rules).is_empty(), "ended once");
        for r in &done {
            b.finish("c", &r.endpoint_id);
        }
        assert!(b.measuring("c").is_empty() && b.conferences().is_empty());
        let a = done.iter().find(|r| r.endpoint_id == "a").unwrap();
        assert_eq!(a.window_ms, 3_000);
        assert_eq!(a.figures.loss_percent, Some(2.0));
        assert_eq!(
            a.figures.audio_level_dbov,
            Some(-38.0),
            "the loudest sample"
        );
        assert_eq!(a.figures.decoded_fps, Some(25.0));
        assert!(a.passed);
        let b_ = done.iter().find(|r| r.endpoint_id == "b").unwrap();
        assert!(!b_.passed);
        assert_eq!(codes(&b_.reasons), [reason::NOT_CONNECTED]);
    }

    #[test]
    fn a_re_test_started_while_a_result_is_stored_is_not_forgotten() {
        let rules = ReadinessRules::default();
        let w = rules.window_ms;
        let mut b = Board::default();
        b.start("c", &["a".into()], 0);
        assert_eq!(b.observe("c", w, &[], &rules).len(), 1);
        b.start("c", &["a".into()], w + 100);
        b.finish("c", "a");
        assert_eq!(b.measuring("c"), [("a".to_owned(), w + 100)]);
        assert_eq!(
            b.observe("c", 2 * w + 100, &[good("a", w)], &rules).len(),
            1
        );
    }

    #[test]
    fn a_stale_receiver_report_does_not_count() {
        let mut w = Window {
            started_ms: 5_000,
            ..Window::default()
        };
        w.add(&good("a", 4_999), 5_000);
        assert_eq!(w.figures().decoded_fps, None);
    }

    #[test]
    fn only_missing_or_not_connected_endpoints_wait_for_a_measure() {
        let result = |reasons: &[&str]| ReadinessResult {
            conference_id: "c".into(),
            endpoint_id: "a".into(),
            measured_at: 0,
            window_ms: 0,
            passed: reasons.is_empty(),
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            figures: ReadinessFigures::default(),
        };
        assert!(waiting(None, false));
        let absent = result(&["not_connected\tx"]);
        assert!(waiting(Some(&absent), true));
        assert!(!waiting(Some(&absent), false));
        assert!(!waiting(Some(&result(&[])), true));
        assert!(!waiting(Some(&result(&["loss\tx"])), true));
    }
}
