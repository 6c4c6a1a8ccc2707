//! The recorder (R12, R13): one task that, every `[quality] record_seconds`,
//! looks at each live conference through [`Live`] and keeps what the
//! operators will need after the session:
//!
//! - one quality sample per connected endpoint (the figures of the live
//!   quality view), stored for the quality report;
//! - automatic logbook entries (actor `system`) for what changed since the
//!   previous pass: an endpoint joined or left, an alarm was raised or
//!   cleared (loss, freeze), an endpoint dropped or reconnected. Alarm
//!   entries carry their figures as [`LoggedAlarm`] details, which the
//!   quality report reads back.
//!
//! The comparison with the previous pass is the sans-IO [`Watch`]; the task
//! around it reads the clock and the store. A signed logbook takes no more
//! entries: the recorder stops writing that conference's logbook without a
//! fuss. A store that fails is logged and the pass goes on; nothing is
//! retried (the next pass writes its own sample).
//!
//! Only conferences the store knows as live are recorded (those started
//! through the control API); conferences from `mcud.toml` have no logbook.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use mcu_control::report::{AlarmEvent, LoggedAlarm};
use mcu_control::{AlarmKind, Live, LiveAlarm, LiveParticipant, LiveQuality, StreamFigures};
use mcu_store::{
    LogbookCategory, LogbookKind, NewLogbookEntry, QualitySample, SampleFigures, Store, StoreError,
};
use tracing::{debug, warn};

use crate::server::wall_clock_ms;

/// What changed in a conference between two passes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// An endpoint's media connected.
    Joined(String),
    /// An endpoint is no longer connected.
    Left(String),
    /// An alarm was raised.
    Raised(LiveAlarm),
    /// An alarm was cleared (`cleared_at` is set).
    Cleared(LiveAlarm),
}

fn kind_rank(k: AlarmKind) -> u8 {
    match k {
        AlarmKind::Loss => 0,
        AlarmKind::Freeze => 1,
        AlarmKind::Drop => 2,
    }
}

/// An alarm's identity: endpoint, kind, when it was raised.
type AlarmKey = (String, u8, i64);

fn key(a: &LiveAlarm) -> AlarmKey {
    (a.endpoint.clone(), kind_rank(a.kind), a.raised_at)
}

/// What the recorder remembers of one conference between passes.
#[derive(Debug, Default)]
pub struct Watch {
    connected: BTreeSet<String>,
    raised: BTreeSet<AlarmKey>,
    cleared: BTreeSet<AlarmKey>,
    /// The logbook is signed off: write no more.
    signed: bool,
    names: BTreeMap<String, String>,
}

impl Watch {
    /// Compares a pass with the previous one: joins first, then the alarms
    /// raised and cleared in the order they happened, then leaves (an
    /// endpoint that dropped has its drop logged before it is gone). An
    /// alarm raised and cleared between two passes gives both.
    pub fn observe(&mut self, roster: &[LiveParticipant], quality: &LiveQuality) -> Vec<Change> {
        let now: BTreeSet<String> = roster
            .iter()
            .filter(|p| p.connected)
            .map(|p| p.endpoint.clone())
            .collect();
        let mut changes: Vec<Change> = now
            .difference(&self.connected)
            .map(|e| Change::Joined(e.clone()))
            .collect();
        let mut alarms: Vec<(i64, Change)> = Vec::new();
        for a in &quality.active_alarms {
            if self.raised.insert(key(a)) {
                alarms.push((a.raised_at, Change::Raised(a.clone())));
            }
        }
        for a in &quality.recent_alarms {
            if self.raised.insert(key(a)) {
                let mut raised = a.clone();
                raised.cleared_at = None;
                alarms.push((a.raised_at, Change::Raised(raised)));
            }
            if self.cleared.insert(key(a)) {
                let at = a.cleared_at.unwrap_or(a.raised_at);
                alarms.push((at, Change::Cleared(a.clone())));
            }
        }
        // Stable: an alarm raised and cleared at the same ms stays in order.
        alarms.sort_by_key(|(at, _)| *at);
        changes.extend(alarms.into_iter().map(|(_, c)| c));
        changes.extend(
            self.connected
                .difference(&now)
                .map(|e| Change::Left(e.clone())),
        );
        // Forget alarms the media side has forgotten: they cannot come back.
        let known: BTreeSet<AlarmKey> = quality
            .active_alarms
            .iter()
            .chain(&quality.recent_alarms)
            .map(key)
            .collect();
        self.raised.retain(|k| known.contains(k));
        self.cleared.retain(|k| known.contains(k));
        self.connected = now;
        changes
    }

    /// The conference is no longer live: whoever was connected has left.
    pub fn ended(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.connected)
            .into_iter()
            .map(Change::Left)
            .collect()
    }
}

/// A figure the Vietnamese way: one decimal, a decimal comma.
fn vi_num(v: f64) -> String {
    format!("{v:.1}").replace('.', ",")
}

fn seconds_between(from_ms: i64, to_ms: i64) -> String {
    vi_num((to_ms - from_ms).max(0) as f64 / 1000.0)
}

/// The logbook entry of a change; `name` is the endpoint's name, `now_ms`
/// stamps joins and leaves (alarms carry their own times).
pub fn entry_for(change: &Change, name: &str, now_ms: i64) -> NewLogbookEntry {
    let entry = |at_ms, category, text: String, details: String| NewLogbookEntry {
        at_ms,
        kind: LogbookKind::Auto,
        category,
        actor: "system".into(),
        text,
        details,
        refers_to: None,
    };
    let logged = |a: &LiveAlarm, event| {
        serde_json::to_string(&LoggedAlarm {
            endpoint: a.endpoint.clone(),
            alarm: a.kind,
            event,
            raised_at: a.raised_at,
            cleared_at: a.cleared_at,
            value: a.value,
            threshold: a.threshold,
            detail: a.detail.clone(),
        })
        .unwrap_or_else(|_| "{}".into())
    };
    let endpoint_details = |e: &str| serde_json::json!({ "endpoint": e }).to_string();
    match change {
        Change::Joined(e) => entry(
            now_ms,
            LogbookCategory::Join,
            format!("Điểm cầu {name} vào hội nghị"),
            endpoint_details(e),
        ),
        Change::Left(e) => entry(
            now_ms,
            LogbookCategory::Leave,
            format!("Điểm cầu {name} rời hội nghị"),
            endpoint_details(e),
        ),
        Change::Raised(a) => {
            let (category, text) = match a.kind {
                AlarmKind::Loss => (
                    LogbookCategory::Alarm,
                    format!(
                        "Cảnh báo mất gói tin: điểm cầu {name} mất {} % gói tin (ngưỡng {} %)",
                        vi_num(a.value),
                        vi_num(a.threshold)
                    ),
                ),
                AlarmKind::Freeze => (
                    LogbookCategory::Alarm,
                    format!(
                        "Cảnh báo đứng hình: điểm cầu {name} không có hình mới trong {} giây (ngưỡng {} giây)",
                        vi_num(a.value),
                        vi_num(a.threshold)
                    ),
                ),
                AlarmKind::Drop => (
                    LogbookCategory::Drop,
                    format!("Điểm cầu {name} mất kết nối ({})", a.detail),
                ),
            };
            entry(a.raised_at, category, text, logged(a, AlarmEvent::Raised))
        }
        Change::Cleared(a) => {
            let at = a.cleared_at.unwrap_or(a.raised_at);
            let lasted = seconds_between(a.raised_at, at);
            let (category, text) = match a.kind {
                AlarmKind::Loss => (
                    LogbookCategory::Alarm,
                    format!("Hết cảnh báo mất gói tin: điểm cầu {name} (kéo dài {lasted} giây)"),
                ),
                AlarmKind::Freeze => (
                    LogbookCategory::Alarm,
                    format!(
                        "Hết cảnh báo đứng hình: điểm cầu {name} có hình trở lại (đứng hình {} giây)",
                        seconds_between(a.raised_at - (a.threshold * 1000.0).round() as i64, at)
                    ),
                ),
                AlarmKind::Drop => (
                    LogbookCategory::Reconnect,
                    format!("Điểm cầu {name} kết nối lại sau {lasted} giây"),
                ),
            };
            entry(at, category, text, logged(a, AlarmEvent::Cleared))
        }
    }
}

fn figures(f: &StreamFigures) -> SampleFigures {
    SampleFigures {
        loss_percent: f.loss_percent,
        jitter_ms: f.jitter_ms,
        kbps: f.kbps,
        fps: f.fps,
    }
}

/// The samples of one pass: each connected endpoint the media side
/// measured, and the trunk of each cascade link that is up (`links_up`: the
/// MCUs at their other ends), metered as `cascade:<mcu>`: the quality
/// report's link rows.
pub fn samples(
    conference: &str,
    at_ms: i64,
    roster: &[LiveParticipant],
    links_up: &[String],
    quality: &LiveQuality,
) -> Vec<QualitySample> {
    quality
        .endpoints
        .iter()
        .filter(|q| {
            roster
                .iter()
                .any(|p| p.connected && p.endpoint == q.endpoint)
                || q.endpoint
                    .strip_prefix("cascade:")
                    .is_some_and(|mcu| links_up.iter().any(|l| l == mcu))
        })
        .map(|q| QualitySample {
            conference_id: conference.to_owned(),
            endpoint_id: q.endpoint.clone(),
            at_ms,
            rtt_ms: q.rtt_ms,
            video: figures(&q.video),
            audio: figures(&q.audio),
        })
        .collect()
}

/// Starts the recorder: one pass every `period` until the task is aborted.
pub(crate) fn spawn(
    store: Store,
    live: Arc<dyn Live>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut watches: BTreeMap<String, Watch> = BTreeMap::new();
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            pass(&store, live.as_ref(), &mut watches).await;
        }
    })
}

/// One pass over every live conference.
async fn pass(store: &Store, live: &dyn Live, watches: &mut BTreeMap<String, Watch>) {
    let conferences = match store.list_conferences().await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "recorder: conferences could not be listed");
            return;
        }
    };
    let live_ids: BTreeSet<String> = conferences
        .into_iter()
        .filter(|c| c.state.media_running())
        .map(|c| c.id)
        .collect();
    for id in &live_ids {
        let watch = watches.entry(id.clone()).or_default();
        let roster = live.roster(id);
        let quality = live.quality(id);
        let links_up: Vec<String> = live
            .cascade(id)
            .map(|t| {
                t.parent
                    .into_iter()
                    .chain(t.children)
                    .filter(|l| l.state == mcu_control::LinkStatus::Up)
                    .map(|l| l.mcu.id)
                    .collect()
            })
            .unwrap_or_default();
        let now = wall_clock_ms();
        if let Err(e) = store
            .add_quality_samples(&samples(id, now, &roster, &links_up, &quality))
            .await
        {
            warn!(conference = %id, error = %e, "recorder: quality samples not stored");
        }
        let changes = watch.observe(&roster, &quality);
        write(store, id, watch, &changes, now).await;
    }
    let gone: Vec<String> = watches
        .keys()
        .filter(|id| !live_ids.contains(*id))
        .cloned()
        .collect();
    for id in gone {
        if let Some(mut watch) = watches.remove(&id) {
            let changes = watch.ended();
            write(store, &id, &mut watch, &changes, wall_clock_ms()).await;
        }
    }
}

/// Appends the changes to the conference's logbook, until it is signed.
async fn write(store: &Store, conference: &str, watch: &mut Watch, changes: &[Change], now: i64) {
    for change in changes {
        if watch.signed {
            return;
        }
        let endpoint = match change {
            Change::Joined(e) | Change::Left(e) => e,
            Change::Raised(a) | Change::Cleared(a) => &a.endpoint,
        };
        if !watch.names.contains_key(endpoint) {
            let name = match store.endpoint(endpoint).await {
                Ok(Some(e)) => e.name,
                _ => endpoint.clone(),
            };
            watch.names.insert(endpoint.clone(), name);
        }
        let name = watch.names.get(endpoint).map_or(endpoint.as_str(), |n| n);
        match store
            .append_logbook(conference, &entry_for(change, name, now))
            .await
        {
            Ok(_) => {}
            Err(StoreError::LogbookSigned(_)) => {
                debug!(
                    conference,
                    "recorder: the logbook is signed off; no more entries"
                );
                watch.signed = true;
            }
            Err(e) => {
                warn!(conference, error = %e, "recorder: logbook entry not written");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here(ids: &[&str]) -> Vec<LiveParticipant> {
        ids.iter()
            .map(|e| LiveParticipant {
                endpoint: (*e).into(),
                connected: true,
                ..Default::default()
            })
            .collect()
    }

    fn alarm(kind: AlarmKind, raised_at: i64, cleared_at: Option<i64>) -> LiveAlarm {
        LiveAlarm {
            endpoint: "son-duong".into(),
            kind,
            raised_at,
            cleared_at,
            value: 12.5,
            threshold: 5.0,
            detail: String::new(),
        }
    }

    #[test]
    fn joins_alarms_and_leaves_are_told_once() {
        let mut w = Watch::default();
        let none = LiveQuality::default();
        assert_eq!(
            w.observe(&here(&["son-duong", "ubnd-tinh"]), &none),
            [
                Change::Joined("son-duong".into()),
                Change::Joined("ubnd-tinh".into())
            ]
        );
        assert!(
            w.observe(&here(&["son-duong", "ubnd-tinh"]), &none)
                .is_empty()
        );

        let loss = alarm(AlarmKind::Loss, 1_000, None);
        let raised = LiveQuality {
            active_alarms: vec![loss.clone()],
            ..Default::default()
        };
        let all = here(&["son-duong", "ubnd-tinh"]);
        assert_eq!(w.observe(&all, &raised), [Change::Raised(loss.clone())]);
        assert!(w.observe(&all, &raised).is_empty(), "still the same alarm");

        // Cleared, and a freeze raised and cleared between two passes.
        let loss_cleared = alarm(AlarmKind::Loss, 1_000, Some(4_000));
        let freeze = alarm(AlarmKind::Freeze, 2_000, Some(3_000));
        let q = LiveQuality {
            recent_alarms: vec![loss_cleared.clone(), freeze.clone()],
            ..Default::default()
        };
        let mut freeze_raised = freeze.clone();
        freeze_raised.cleared_at = None;
        assert_eq!(
            w.observe(&all, &q),
            [
                Change::Raised(freeze_raised),
                Change::Cleared(freeze),
                Change::Cleared(loss_cleared),
            ]
        );
        assert!(w.observe(&all, &q).is_empty());

        // A drop: the alarm, then the leave.
        let drop = alarm(AlarmKind::Drop, 5_000, None);
        let q = LiveQuality {
            active_alarms: vec![drop.clone()],
            ..Default::default()
        };
        assert_eq!(
            w.observe(&here(&["ubnd-tinh"]), &q),
            [Change::Raised(drop), Change::Left("son-duong".into())]
        );
        assert_eq!(w.ended(), [Change::Left("ubnd-tinh".into())]);
    }

    #[test]
    fn entries_are_in_vietnamese_with_the_alarm_details() {
        let loss = alarm(AlarmKind::Loss, 1_000, None);
        let e = entry_for(&Change::Raised(loss.clone()), "UBND huyện Sơn Dương", 9_000);
        assert_eq!(e.at_ms, 1_000, "the alarm's own time");
        assert_eq!(
            (e.kind, e.category),
            (LogbookKind::Auto, LogbookCategory::Alarm)
        );
        assert_eq!(e.actor, "system");
        assert_eq!(
            e.text,
            "Cảnh báo mất gói tin: điểm cầu UBND huyện Sơn Dương mất 12,5 % gói tin (ngưỡng 5,0 %)"
        );
        let details: LoggedAlarm = serde_json::from_str(&e.details).unwrap();
        assert_eq!(
            (details.alarm, details.event),
            (AlarmKind::Loss, AlarmEvent::Raised)
        );
        assert_eq!(details.value, 12.5);

        let mut drop = alarm(AlarmKind::Drop, 1_000, Some(3_500));
        drop.detail = "signalling connection lost".into();
        let e = entry_for(&Change::Cleared(drop), "Sơn Dương", 9_000);
        assert_eq!((e.at_ms, e.category), (3_500, LogbookCategory::Reconnect));
        assert_eq!(e.text, "Điểm cầu Sơn Dương kết nối lại sau 2,5 giây");

        let e = entry_for(&Change::Joined("son-duong".into()), "Sơn Dương", 9_000);
        assert_eq!((e.at_ms, e.category), (9_000, LogbookCategory::Join));
        assert_eq!(e.details, r#"{"endpoint":"son-duong"}"#);
    }

    #[test]
    fn samples_are_of_connected_endpoints() {
        let q = LiveQuality {
            endpoints: vec![
                mcu_control::EndpointQuality {
                    endpoint: "son-duong".into(),
                    rtt_ms: Some(12.0),
                    ..Default::default()
                },
                mcu_control::EndpointQuality {
                    endpoint: "da-roi".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let s = samples("giao-ban", 7, &here(&["son-duong"]), &[], &q);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].endpoint_id.as_str(), s[0].at_ms, s[0].rtt_ms),
            ("son-duong", 7, Some(12.0))
        );
    }

    #[test]
    fn samples_keep_the_trunks_of_links_that_are_up() {
        let trunk = |mcu: &str| mcu_control::EndpointQuality {
            endpoint: format!("cascade:{mcu}"),
            ..Default::default()
        };
        let q = LiveQuality {
            endpoints: vec![trunk("son-duong"), trunk("ham-yen")],
            ..Default::default()
        };
        let s = samples("giao-ban", 7, &here(&[]), &["son-duong".into()], &q);
        let ids: Vec<&str> = s.iter().map(|s| s.endpoint_id.as_str()).collect();
        assert_eq!(
            ids,
            ["cascade:son-duong"],
            "the reconnecting link is not sampled"
        );
    }
}
