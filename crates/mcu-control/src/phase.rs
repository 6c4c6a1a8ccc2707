//! The phases of a booked conference, driven by the daemon's clock (R10):
//! `created` → `rehearsal` (start − 2 h: endpoints join and test their media)
//! → `ready_check` (start − 30 min) → `live` (at the start, or earlier when an
//! operator opens it) → `ended` → `reported` (its quality report compiled).
//!
//! [`due`] and [`step`] are the pure rule; [`advance`] applies it to every
//! conference in the store once, and [`run`] calls it every second. A phase
//! only moves forward: an operator who opens a conference early or ends it
//! before its booked end is never undone by the clock. A live conference is
//! not cut at its booked end: it ends by itself only once it has overrun by
//! [`PhaseRules::overrun_ms`], since the chair may still be speaking.

use std::sync::Arc;
use std::time::Duration;

use mcu_store::{BookingDetails, BookingStatus, Conference, ConferenceState, LogbookCategory};

use crate::routes::logbook::state_vi;
use crate::{ApiResult, ControlState};

/// The numbers of the phase rules that are not booking offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseRules {
    /// A live conference ends by itself this long after its booked end (ms).
    pub overrun_ms: i64,
    /// An ended conference's report is compiled this long after its end (ms),
    /// once the last quality samples are stored.
    pub report_after_ms: i64,
}

impl Default for PhaseRules {
    fn default() -> Self {
        Self {
            overrun_ms: 30 * 60 * 1000,
            report_after_ms: 60 * 1000,
        }
    }
}

/// The phase the clock asks for at `now`, from the booked times.
pub fn due(b: &BookingDetails, now: i64, rules: &PhaseRules) -> ConferenceState {
    if now < b.rehearsal_at {
        ConferenceState::Created
    } else if now < b.ready_check_at {
        ConferenceState::Rehearsal
    } else if now < b.start_at {
        ConferenceState::ReadyCheck
    } else if now < b.end_at.saturating_add(rules.overrun_ms) {
        ConferenceState::Live
    } else {
        ConferenceState::Ended
    }
}

/// Where a conference in `current` moves when the clock asks for `due`:
/// forward only, and never out of `ended` (that is [`advance`]'s report step).
pub fn step(current: ConferenceState, due: ConferenceState) -> Option<ConferenceState> {
    (!current.is_over() && due.rank() > current.rank()).then_some(due)
}

/// Moves conference `c` (as loaded) to `to`, opening or closing its media as
/// the phases need. False when it changed state meanwhile (nothing done).
pub(crate) async fn enter(
    s: &ControlState,
    c: &Conference,
    to: ConferenceState,
) -> ApiResult<bool> {
    let opens = to.media_running() && !c.state.media_running();
    let closes = !to.media_running() && c.state.media_running();
    // A booked recording covers the official session, not the rehearsal.
    let record = to == ConferenceState::Live && crate::live::booked_recording(&s.store, c).await?;
    if opens {
        let mut live = crate::live_conference(&s.store, c).await?;
        live.recording = record;
        s.live.start(&live)?;
    }
    if !s
        .store
        .transition_conference(&c.id, c.state, to, s.now_ms())
        .await?
    {
        if opens {
            s.live.end(&c.id);
        }
        return Ok(false);
    }
    if closes {
        s.live.end(&c.id);
    }
    if record && !opens && s.live.recording(&c.id).is_none() {
        // The conference runs even when its recording cannot start.
        if let Err(e) = s.live.start_recording(&c.id) {
            tracing::warn!(conference = %c.id, error = %e, "booked recording not started");
        }
    }
    Ok(true)
}

/// A phase change the clock made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseChange {
    /// Conference id.
    pub conference: String,
    /// Its phase before.
    pub from: ConferenceState,
    /// Its phase now.
    pub to: ConferenceState,
}

/// One pass of the clock over every conference: each booked one moves to the
/// phase its times ask for, each ended one is reported once its report is
/// due. Each change is written in the conference's logbook (actor `system`).
/// One conference that cannot move (its media refuses to start) is logged and
/// does not hold back the others.
pub async fn advance(s: &ControlState) -> ApiResult<Vec<PhaseChange>> {
    let rules = &s.policy.phases;
    let mut changes = Vec::new();
    for c in s.store.list_conferences().await? {
        let now = s.now_ms();
        let to = match c.state {
            ConferenceState::Reported => continue,
            ConferenceState::Ended => {
                let ended = c.ended_at.unwrap_or(i64::MIN);
                if now < ended.saturating_add(rules.report_after_ms) {
                    continue;
                }
                ConferenceState::Reported
            }
            _ => {
                let Some(b) = s.store.booking_of_conference(&c.id).await? else {
                    continue;
                };
                if b.status != BookingStatus::Approved {
                    continue;
                }
                match step(c.state, due(&b.details, now, rules)) {
                    Some(to) => to,
                    None => continue,
                }
            }
        };
        let mut text = match to {
            ConferenceState::Reported => report_line(s, &c).await,
            _ => format!(
                "Chuyển giai đoạn theo lịch: {} → {}",
                state_vi(c.state),
                state_vi(to)
            ),
        };
        // Opening the session: how ready the endpoints were (R10).
        if to == ConferenceState::Live
            && let Ok(Some((ready, total))) = crate::readiness::tally(s, &c).await
        {
            text.push_str(&format!("; sẵn sàng {ready}/{total} điểm cầu"));
        }
        match enter(s, &c, to).await {
            Ok(true) => {
                tracing::info!(conference = %c.id, from = %c.state, to = %to, "phase changed by the clock");
                write_logbook(s, &c.id, now, "system", text, to).await;
                changes.push(PhaseChange {
                    conference: c.id,
                    from: c.state,
                    to,
                });
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(conference = %c.id, to = %to, error = %e.message, "phase change failed");
            }
        }
    }
    Ok(changes)
}

/// The logbook's line for a compiled report: its summary figures.
async fn report_line(s: &ControlState, c: &Conference) -> String {
    match crate::routes::report::compile_report(s, c).await {
        Ok((r, _)) => {
            let m = &r.summary;
            let mos = match (m.mean_mos, m.band) {
                (Some(mos), Some(band)) => format!("MOS trung bình {mos:.2} ({})", band.vi()),
                _ => "chưa có số liệu chất lượng".to_owned(),
            };
            format!(
                "Đã lập báo cáo chất lượng: {} điểm cầu, {mos}, {} lần rớt kết nối, {} lần đứng hình",
                m.endpoints, m.drops, m.freezes
            )
        }
        Err(e) => format!("Đã lập báo cáo chất lượng (tóm tắt lỗi: {})", e.message),
    }
}

/// Writes a phase change in the conference's logbook as `actor` did it.
pub(crate) async fn write_logbook(
    s: &ControlState,
    conference: &str,
    at: i64,
    actor: &str,
    text: String,
    to: ConferenceState,
) {
    let entry = mcu_store::NewLogbookEntry {
        at_ms: at,
        kind: mcu_store::LogbookKind::Auto,
        category: LogbookCategory::Phase,
        actor: actor.into(),
        text,
        details: serde_json::json!({ "phase": to.as_str() }).to_string(),
        refers_to: None,
    };
    match s.store.append_logbook(conference, &entry).await {
        Ok(_) => {}
        Err(mcu_store::StoreError::LogbookSigned(_)) => {
            tracing::warn!(conference, phase = %to, "phase change after the logbook's sign-off is not in it");
        }
        Err(e) => {
            tracing::error!(conference, error = %e, "phase change not written in the logbook")
        }
    }
}

/// Advances the phases every `period`, for as long as the daemon runs.
pub async fn run(s: Arc<ControlState>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = advance(&s).await {
            tracing::warn!(error = %e.message, "phases not advanced");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcu_store::BookingKind;

    const H: i64 = 3_600_000;

    fn booking() -> BookingDetails {
        BookingDetails {
            title: "Họp".into(),
            organising_unit: "UBND tỉnh".into(),
            chair: "a".into(),
            participants: vec!["a".into()],
            start_at: 10 * H,
            end_at: 12 * H,
            rehearsal_at: 8 * H,
            ready_check_at: 10 * H - H / 2,
            kind: BookingKind::Scheduled,
            scenario: vec![],
            recording: false,
        }
    }

    #[test]
    fn due_follows_the_booked_times_at_their_edges() {
        use ConferenceState::*;
        let b = booking();
        let r = PhaseRules::default();
        assert_eq!(due(&b, 8 * H - 1, &r), Created);
        assert_eq!(due(&b, 8 * H, &r), Rehearsal);
        assert_eq!(due(&b, 10 * H - H / 2 - 1, &r), Rehearsal);
        assert_eq!(due(&b, 10 * H - H / 2, &r), ReadyCheck);
        assert_eq!(due(&b, 10 * H, &r), Live);
        // Not cut at the booked end: only after the overrun.
        assert_eq!(due(&b, 12 * H + r.overrun_ms - 1, &r), Live);
        assert_eq!(due(&b, 12 * H + r.overrun_ms, &r), Ended);
    }

    #[test]
    fn steps_only_forward_and_never_out_of_the_end() {
        use ConferenceState::*;
        assert_eq!(step(Created, Rehearsal), Some(Rehearsal));
        // A late approval or a daemon that was down jumps straight to the phase due.
        assert_eq!(step(Created, Live), Some(Live));
        // Opened early by an operator: the clock does not take it back.
        assert_eq!(step(Live, ReadyCheck), None);
        assert_eq!(step(Live, Live), None);
        // Ended early by an operator, or already over.
        assert_eq!(step(Ended, Live), None);
        assert_eq!(step(Reported, Ended), None);
        assert_eq!(step(Live, Ended), Some(Ended));
    }
}
