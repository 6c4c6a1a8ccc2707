//! Which bitrate class a viewer gets, from what its path can carry.
//!
//! Sans-IO: the media thread feeds a [`BitrateControl`] per viewer what it
//! sends to it ([`BitrateControl::on_sent`]), the send-side bandwidth
//! estimate of the viewer's path (transport-wide congestion control, GCC:
//! [`BitrateControl::on_estimate`]) and the viewer's reception reports on
//! our video ([`BitrateControl::on_loss`]); the control answers with a new
//! class when the viewer should move to another output group.
//!
//! - **Down** one class when the path is congested: the estimate fell below
//!   what we send (GCC backs off to 0.85 × the rate that got through when
//!   the delay grows), or two reports in a row lost more than 10 %. Not
//!   within [`MIN_HOLD`] of the last move (the new encode needs a moment to
//!   show its rate).
//! - **Up** one class, never above the view's own class, when the estimate
//!   has stayed above 1.2 × the next class's bitrate for [`UP_HOLD`] without
//!   a congestion signal, and the back-off since the last step down has
//!   passed. An application-limited sender cannot prove a path's capacity
//!   before using it (the estimate grows while we send less than it allows),
//!   so a step up is a probe: when it congests the path within
//!   [`PROBE_WINDOW`], the back-off doubles (up to [`MAX_BACKOFF`]); a step
//!   up that holds resets it.
//! - With no feedback at all (an endpoint that sends none) nothing moves.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mcu_mixer::mixer::BitrateClass;

/// Least time between two moves.
pub const MIN_HOLD: Duration = Duration::from_secs(2);
/// How long the estimate must allow the next class before a step up.
pub const UP_HOLD: Duration = Duration::from_secs(5);
/// A step down within this time after a step up means the probe failed.
pub const PROBE_WINDOW: Duration = Duration::from_secs(15);
/// The longest back-off between a step down and the next step up.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Window over which the rate sent to the viewer is measured.
const SENT_WINDOW: Duration = Duration::from_secs(2);
/// A report losing more than this is a congestion sign (two in a row: a signal).
const LOSS_CONGESTED: f32 = 0.10;

/// One viewer's bitrate class, steered by its path's feedback.
#[derive(Debug, Clone)]
pub struct BitrateControl {
    /// The class of the viewer's view: never exceeded.
    ceiling: BitrateClass,
    class: BitrateClass,
    /// Bitrate of each class for the view's picture size, bit/s.
    rates: [u64; 3],
    base_backoff: Duration,
    backoff: Duration,
    /// Video and audio payload bytes sent, with when.
    sent: VecDeque<(Instant, usize)>,
    sent_since: Option<Instant>,
    estimate: Option<u64>,
    /// Since when the estimate has allowed the next class up.
    allows_up_since: Option<Instant>,
    lossy_reports: u8,
    last_loss: Option<f32>,
    moved_at: Option<Instant>,
    last_up: Option<Instant>,
    last_down: Option<Instant>,
}

/// Index of a class in [`BitrateControl::rates`].
fn rank(class: BitrateClass) -> usize {
    match class {
        BitrateClass::Low => 0,
        BitrateClass::Standard => 1,
        BitrateClass::High => 2,
    }
}

const CLASSES: [BitrateClass; 3] = [
    BitrateClass::Low,
    BitrateClass::Standard,
    BitrateClass::High,
];

impl BitrateControl {
    /// A viewer of a `width`×`height` view of class `ceiling`, starting
    /// there; after a failed probe it waits `backoff` (doubling) before the
    /// next.
    pub fn new(ceiling: BitrateClass, width: u32, height: u32, backoff: Duration) -> Self {
        Self {
            ceiling,
            class: ceiling,
            rates: CLASSES.map(|c| u64::from(c.bitrate_bps(width, height))),
            base_backoff: backoff,
            backoff,
            sent: VecDeque::new(),
            sent_since: None,
            estimate: None,
            allows_up_since: None,
            lossy_reports: 0,
            last_loss: None,
            moved_at: None,
            last_up: None,
            last_down: None,
        }
    }

    /// The class the viewer should be in now.
    pub fn class(&self) -> BitrateClass {
        self.class
    }

    /// The latest bandwidth estimate of the viewer's path, bit/s.
    pub fn estimate_bps(&self) -> Option<u64> {
        self.estimate
    }

    /// The loss the viewer last reported on our video (0.0–1.0).
    pub fn last_loss(&self) -> Option<f32> {
        self.last_loss
    }

    /// Records `bytes` of media sent to the viewer.
    pub fn on_sent(&mut self, now: Instant, bytes: usize) {
        self.sent_since.get_or_insert(now);
        self.sent.push_back((now, bytes));
        while self
            .sent
            .front()
            .is_some_and(|&(t, _)| now.saturating_duration_since(t) > SENT_WINDOW)
        {
            self.sent.pop_front();
        }
    }

    /// The rate sent over the last [`SENT_WINDOW`], once a full second has
    /// been measured since the last move.
    fn sent_bps(&self, now: Instant) -> Option<u64> {
        let span = now
            .saturating_duration_since(self.sent_since?)
            .min(SENT_WINDOW);
        if span < Duration::from_secs(1) {
            return None;
        }
        let bytes: usize = self
            .sent
            .iter()
            .filter(|&&(t, _)| now.saturating_duration_since(t) <= span)
            .map(|&(_, b)| b)
            .sum();
        Some((bytes as f64 * 8.0 / span.as_secs_f64()) as u64)
    }

    /// A new estimate of the path; returns the new class if the viewer moves.
    pub fn on_estimate(&mut self, now: Instant, bits_per_second: u64) -> Option<BitrateClass> {
        self.estimate = Some(bits_per_second);
        let congested = self
            .sent_bps(now)
            .is_some_and(|sent| (bits_per_second as f64) < 0.9 * sent as f64);
        if congested {
            return self.congested(now);
        }
        self.poll(now)
    }

    /// The viewer's report of our video's loss; returns the new class if
    /// the viewer moves.
    pub fn on_loss(&mut self, now: Instant, fraction_lost: f32) -> Option<BitrateClass> {
        self.last_loss = Some(fraction_lost);
        if fraction_lost > LOSS_CONGESTED {
            self.lossy_reports = self.lossy_reports.saturating_add(1);
            if self.lossy_reports >= 2 {
                return self.congested(now);
            }
        } else {
            self.lossy_reports = 0;
        }
        self.poll(now)
    }

    fn congested(&mut self, now: Instant) -> Option<BitrateClass> {
        self.allows_up_since = None;
        if rank(self.class) == 0 || self.recently_moved(now) {
            return None;
        }
        if self
            .last_up
            .is_some_and(|up| now.saturating_duration_since(up) < PROBE_WINDOW)
        {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        self.last_down = Some(now);
        self.moved(now, CLASSES[rank(self.class) - 1])
    }

    fn recently_moved(&self, now: Instant) -> bool {
        self.moved_at
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_HOLD)
    }

    fn moved(&mut self, now: Instant, class: BitrateClass) -> Option<BitrateClass> {
        self.class = class;
        self.moved_at = Some(now);
        self.sent.clear();
        self.sent_since = None;
        self.lossy_reports = 0;
        Some(class)
    }

    /// Time passing: returns the new class if a step up is due.
    pub fn poll(&mut self, now: Instant) -> Option<BitrateClass> {
        if self
            .last_up
            .is_some_and(|up| now.saturating_duration_since(up) >= PROBE_WINDOW)
        {
            // The last probe held.
            self.backoff = self.base_backoff;
            self.last_up = None;
        }
        let up = rank(self.class) + 1;
        if up > rank(self.ceiling) {
            self.allows_up_since = None;
            return None;
        }
        let allows = self
            .estimate
            .is_some_and(|e| e as f64 >= 1.2 * self.rates[up] as f64)
            && self.lossy_reports == 0;
        if !allows {
            self.allows_up_since = None;
            return None;
        }
        let since = *self.allows_up_since.get_or_insert(now);
        let backed_off = self
            .last_down
            .is_none_or(|down| now.saturating_duration_since(down) >= self.backoff);
        if now.saturating_duration_since(since) >= UP_HOLD && backed_off {
            self.allows_up_since = None;
            self.last_up = Some(now);
            return self.moved(now, CLASSES[up]);
        }
        None
    }

    /// The back-off a step down now imposes before the next step up.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Duration = Duration::from_secs(10);
    const MS: Duration = Duration::from_millis(1);

    /// Sends `bps` for `span` in 33 ms frames, feeding `estimate` every
    /// 200 ms; returns the classes it moved to.
    fn run(
        c: &mut BitrateControl,
        at: &mut Instant,
        span: Duration,
        bps: u64,
        estimate: u64,
    ) -> Vec<BitrateClass> {
        let end = *at + span;
        let mut moves = Vec::new();
        let mut n = 0u32;
        while *at < end {
            c.on_sent(*at, (bps / 8 / 30) as usize);
            if n.is_multiple_of(6) {
                moves.extend(c.on_estimate(*at, estimate));
            }
            n += 1;
            *at += 33 * MS;
        }
        moves
    }

    fn viewer() -> (BitrateControl, Instant) {
        (
            BitrateControl::new(BitrateClass::Standard, 1280, 720, BACKOFF),
            Instant::now(),
        )
    }

    #[test]
    fn a_path_that_carries_the_stream_keeps_the_class() {
        let (mut c, mut at) = viewer();
        // The estimate grows far above what an application-limited sender sends.
        assert!(run(&mut c, &mut at, 60 * 1000 * MS, 600_000, 4_000_000).is_empty());
        assert_eq!(c.class(), BitrateClass::Standard);
        assert_eq!(c.estimate_bps(), Some(4_000_000));
    }

    #[test]
    fn an_estimate_below_what_is_sent_moves_the_viewer_down_but_only_once_a_rate_is_known() {
        let (mut c, mut at) = viewer();
        // Under a second of sending: no rate to compare with yet.
        assert!(run(&mut c, &mut at, 900 * MS, 1_400_000, 400_000).is_empty());
        let moves = run(&mut c, &mut at, 500 * MS, 1_400_000, 400_000);
        assert_eq!(moves, [BitrateClass::Low]);
        // Never below the lowest class, however bad the path.
        assert!(run(&mut c, &mut at, 10_000 * MS, 500_000, 200_000).is_empty());
        assert_eq!(c.class(), BitrateClass::Low);
    }

    #[test]
    fn two_lossy_reports_in_a_row_move_the_viewer_down_one_isolated_does_not() {
        let (mut c, at) = viewer();
        assert_eq!(c.on_loss(at, 0.3), None);
        assert_eq!(c.on_loss(at + 1000 * MS, 0.01), None);
        assert_eq!(c.on_loss(at + 2000 * MS, 0.2), None);
        assert_eq!(c.on_loss(at + 3000 * MS, 0.2), Some(BitrateClass::Low));
        assert_eq!(c.last_loss(), Some(0.2));
    }

    #[test]
    fn the_class_steps_back_up_after_the_backoff_when_the_estimate_allows_the_next_class() {
        let (mut c, mut at) = viewer();
        assert_eq!(
            run(&mut c, &mut at, 2000 * MS, 1_400_000, 300_000),
            [BitrateClass::Low]
        );
        let down = at;
        // Standard at 720p is 1.5 Mbit/s: 1.7 Mbit/s does not allow it (1.2×).
        assert!(run(&mut c, &mut at, 20_000 * MS, 450_000, 1_700_000).is_empty());
        let moves = run(&mut c, &mut at, 20_000 * MS, 450_000, 2_000_000);
        assert_eq!(moves, [BitrateClass::Standard]);
        // Held for 5 s of allowing estimates, and after the back-off.
        assert!(at - down >= BACKOFF);
        // Never above the view's own class.
        assert!(run(&mut c, &mut at, 60_000 * MS, 450_000, 50_000_000).is_empty());
        assert_eq!(c.class(), BitrateClass::Standard);
    }

    #[test]
    fn a_failed_probe_doubles_the_backoff_and_one_that_holds_resets_it() {
        let (mut c, mut at) = viewer();
        run(&mut c, &mut at, 2000 * MS, 1_400_000, 300_000);
        assert_eq!(c.class(), BitrateClass::Low);
        // The estimate grows while the sender stays under it: a probe.
        let moves = run(&mut c, &mut at, 15_000 * MS, 450_000, 2_000_000);
        assert_eq!(moves, [BitrateClass::Standard]);
        // The path could not carry it after all.
        let moves = run(&mut c, &mut at, 3000 * MS, 1_400_000, 500_000);
        assert_eq!(moves, [BitrateClass::Low]);
        assert_eq!(c.backoff(), 2 * BACKOFF);
        let down = at;
        let moves = run(&mut c, &mut at, 30_000 * MS, 450_000, 2_000_000);
        assert_eq!(moves, [BitrateClass::Standard]);
        assert!(at - down >= 2 * BACKOFF);
        // It holds past the probe window: the back-off is back to its base.
        assert!(run(&mut c, &mut at, 20_000 * MS, 1_400_000, 4_000_000).is_empty());
        assert_eq!(c.backoff(), BACKOFF);
        // Doubling stops at the maximum.
        let mut b = BitrateControl::new(BitrateClass::Standard, 1280, 720, MAX_BACKOFF);
        let mut t = at;
        run(&mut b, &mut t, 2000 * MS, 1_400_000, 300_000);
        b.last_up = Some(t);
        b.class = BitrateClass::Standard;
        b.moved_at = None;
        run(&mut b, &mut t, 2000 * MS, 1_400_000, 300_000);
        assert_eq!(b.backoff(), MAX_BACKOFF);
    }

    #[test]
    fn no_move_within_the_minimum_hold() {
        let (mut c, at) = viewer();
        c.class = BitrateClass::High;
        c.ceiling = BitrateClass::High;
        assert_eq!(c.on_loss(at, 0.5), None);
        assert_eq!(c.on_loss(at, 0.5), Some(BitrateClass::Standard));
        assert_eq!(c.on_loss(at + 500 * MS, 0.5), None);
        assert_eq!(c.on_loss(at + 1000 * MS, 0.5), None);
        assert_eq!(c.class(), BitrateClass::Standard);
        assert_eq!(c.on_loss(at + MIN_HOLD, 0.5), Some(BitrateClass::Low));
    }
}
