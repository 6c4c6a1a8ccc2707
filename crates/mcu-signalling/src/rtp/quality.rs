//! Receive-side quality of one RTP stream, measured from the packets as they
//! arrive: loss, interarrival jitter (RFC 3550 §6.4.1), bitrate, frame rate
//! and how long the stream has been silent — the figures the operators'
//! quality badges, alarms and reports are made of.
//!
//! Sans-IO: the caller passes each packet's arrival time and asks for a
//! [`StreamQuality`] sample when it wants one (say once a second); a sample
//! covers the packets since the previous one.
//!
//! Loss is what stays lost: a missing packet counts once its gap has been
//! open for [`REPAIR_WINDOW`], so a packet that a NACK brings back (or that
//! was only reordered) is never counted, even when a sample falls while it
//! is on its way. Counting gaps as they open would report every repair in
//! flight at a sample's end as loss, and raise loss alarms on a link whose
//! losses are all repaired.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::seq::{SequenceEvent, SequenceStats, SequenceTracker};

/// Bytes of the fixed RTP header, counted into the bitrate (the payload
/// alone would understate what the link carries).
const RTP_HEADER_BYTES: u64 = 12;

/// How long a gap may stay open before its packets count as lost. Two NACKs
/// (asked every 100 ms) and the retransmission fit in it, and the video
/// jitter buffer (which waits at most 200 ms) has given the packet up by then.
pub const REPAIR_WINDOW: Duration = Duration::from_millis(300);

/// Most missing numbers awaited at once; beyond that (an outage, not a loss
/// pattern) the oldest count as lost straight away.
const MAX_OPEN: usize = 1024;

/// One interval's figures of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamQuality {
    /// Packets counted lost over the interval (their gap stayed open for
    /// [`REPAIR_WINDOW`], ending in it), as a fraction of those expected
    /// (0.0–1.0).
    pub loss: f64,
    /// Interarrival jitter at the end of the interval, in milliseconds.
    pub jitter_ms: f64,
    /// Bits per second received over the interval (RTP header + payload).
    pub bitrate_bps: f64,
    /// Frames per second completed over the interval (video: packets with
    /// the marker bit; audio: packets).
    pub fps: f64,
    /// Packets received over the interval (late repairs included).
    pub packets: u64,
    /// Time since the last packet, if one ever came.
    pub since_packet: Option<Duration>,
    /// Time since the last completed frame, if one ever came.
    pub since_frame: Option<Duration>,
}

/// What a [`ReceiveMeter`] counts between two samples.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    at: Option<Instant>,
    seq: SequenceStats,
    lost: u64,
    repaired: u64,
    bytes: u64,
    frames: u64,
}

/// Measures one incoming RTP stream.
#[derive(Debug, Clone)]
pub struct ReceiveMeter {
    clock_rate: f64,
    /// A frame ends on a packet with the marker bit (video); otherwise every
    /// packet is a frame (audio).
    frames_by_marker: bool,
    seq: SequenceTracker,
    /// Missing extended numbers not yet counted lost, with when their gap
    /// opened (in both orders: gaps open in sequence order).
    open: VecDeque<(u64, Instant)>,
    /// Missing numbers whose repair window passed.
    lost: u64,
    /// Missing numbers that arrived within their repair window.
    repaired: u64,
    jitter: f64,
    /// Arrival time and RTP timestamp of the previous in-order packet.
    previous: Option<(Instant, u32)>,
    bytes: u64,
    frames: u64,
    /// When the first packet came: the start of a first sample's interval.
    first_packet: Option<Instant>,
    last_packet: Option<Instant>,
    last_frame: Option<Instant>,
    mark: Mark,
}

impl ReceiveMeter {
    /// A meter for a video stream (90 kHz clock, frames end on the marker bit).
    pub fn video() -> Self {
        Self::new(90_000, true)
    }

    /// A meter for an Opus stream (48 kHz clock, one frame per packet).
    pub fn audio() -> Self {
        Self::new(48_000, false)
    }

    fn new(clock_rate: u32, frames_by_marker: bool) -> Self {
        Self {
            clock_rate: f64::from(clock_rate),
            frames_by_marker,
            seq: SequenceTracker::new(),
            open: VecDeque::new(),
            lost: 0,
            repaired: 0,
            jitter: 0.0,
            previous: None,
            bytes: 0,
            frames: 0,
            first_packet: None,
            last_packet: None,
            last_frame: None,
            mark: Mark::default(),
        }
    }

    /// One packet arrived at `now`: its sequence number, RTP timestamp,
    /// marker bit and payload size.
    pub fn record(
        &mut self,
        now: Instant,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: usize,
    ) {
        self.bytes += payload as u64 + RTP_HEADER_BYTES;
        self.first_packet.get_or_insert(now);
        self.last_packet = Some(now);
        if marker || !self.frames_by_marker {
            self.frames += 1;
            self.last_frame = Some(now);
        }
        let event = self.seq.record(sequence);
        match event {
            SequenceEvent::Gap { missing } => self.gap_opened(now, missing),
            SequenceEvent::Late => self.late_arrived(sequence),
            SequenceEvent::Restart => {
                // The old numbering is gone: what it still awaited is lost.
                self.lost += self.open.len() as u64;
                self.open.clear();
            }
            _ => {}
        }
        match event {
            SequenceEvent::InOrder | SequenceEvent::Gap { .. } => {
                if let Some((at, ts)) = self.previous {
                    // D(i, j) = (Rj − Ri) − (Sj − Si), in timestamp units.
                    let arrival = now.saturating_duration_since(at).as_secs_f64() * self.clock_rate;
                    let sent = f64::from(timestamp.wrapping_sub(ts) as i32);
                    let d = (arrival - sent).abs();
                    self.jitter += (d - self.jitter) / 16.0;
                }
                self.previous = Some((now, timestamp));
            }
            SequenceEvent::First | SequenceEvent::Restart => self.previous = Some((now, timestamp)),
            SequenceEvent::Late | SequenceEvent::Suspect => {}
        }
    }

    /// The `missing` numbers before the one just accepted are awaited.
    fn gap_opened(&mut self, now: Instant, missing: u64) {
        let Some(last) = self.seq.last_extended() else {
            return;
        };
        if missing > MAX_OPEN as u64 {
            self.lost += missing;
            return;
        }
        self.open
            .extend((last - missing..last).map(|number| (number, now)));
        while self.open.len() > MAX_OPEN {
            self.open.pop_front();
            self.lost += 1;
        }
    }

    /// A packet behind the last one accepted: a repair if it was awaited,
    /// otherwise a duplicate (or too late to count) and ignored.
    fn late_arrived(&mut self, sequence: u16) {
        let Some(last) = self.seq.last_extended() else {
            return;
        };
        let back = u64::from((last as u16).wrapping_sub(sequence));
        let Some(number) = last.checked_sub(back) else {
            return;
        };
        if let Ok(i) = self.open.binary_search_by_key(&number, |&(n, _)| n) {
            self.open.remove(i);
            self.repaired += 1;
        }
    }

    /// The figures since the previous sample (or since the first packet).
    pub fn sample(&mut self, now: Instant) -> StreamQuality {
        while let Some(&(_, opened)) = self.open.front() {
            if now.saturating_duration_since(opened) < REPAIR_WINDOW {
                break;
            }
            self.open.pop_front();
            self.lost += 1;
        }
        let seq = self.seq.stats();
        let then = self.mark;
        let accepted = seq.accepted - then.seq.accepted + self.repaired - then.repaired;
        let lost = self.lost - then.lost;
        let expected = accepted + lost;
        let seconds = then
            .at
            .or(self.first_packet)
            .map(|t| now.saturating_duration_since(t).as_secs_f64())
            .unwrap_or(0.0);
        let per_second = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let sample = StreamQuality {
            loss: if expected > 0 {
                lost as f64 / expected as f64
            } else {
                0.0
            },
            jitter_ms: self.jitter / self.clock_rate * 1000.0,
            bitrate_bps: per_second((self.bytes - then.bytes) * 8),
            fps: per_second(self.frames - then.frames),
            packets: accepted,
            since_packet: self.last_packet.map(|t| now.saturating_duration_since(t)),
            since_frame: self.last_frame.map(|t| now.saturating_duration_since(t)),
        };
        self.mark = Mark {
            at: Some(now),
            seq,
            lost: self.lost,
            repaired: self.repaired,
            bytes: self.bytes,
            frames: self.frames,
        };
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Any instant will do: the meter only looks at differences.
    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    /// A 30 fps video stream of `packets_per_frame` packets of 1000 bytes,
    /// evenly paced, for `frames` frames from `start`; `skip(seq)` drops a packet.
    fn feed(
        meter: &mut ReceiveMeter,
        start: Instant,
        frames: u32,
        packets_per_frame: u16,
        skip: impl Fn(u16) -> bool,
    ) -> Instant {
        let mut seq = 0u16;
        let mut now = start;
        for f in 0..frames {
            now = start + Duration::from_micros(u64::from(f) * 33_333);
            for p in 0..packets_per_frame {
                if !skip(seq) {
                    meter.record(now, seq, f * 3000, p + 1 == packets_per_frame, 1000);
                }
                seq = seq.wrapping_add(1);
            }
        }
        now
    }

    #[test]
    fn a_clean_stream_has_no_loss_or_jitter_and_its_rate() {
        let mut m = ReceiveMeter::video();
        let t0 = start();
        m.sample(t0);
        let end = feed(&mut m, t0, 30, 4, |_| false);
        let q = m.sample(t0 + Duration::from_secs(1));
        assert_eq!(q.loss, 0.0);
        assert!(q.jitter_ms < 0.01, "{q:?}");
        assert!((q.fps - 30.0).abs() < 0.01, "{q:?}");
        // 120 packets × (1000 + 12) bytes × 8 bits in one second.
        assert!((q.bitrate_bps - 971_520.0).abs() < 1.0, "{q:?}");
        assert_eq!(q.packets, 120);
        assert_eq!(q.since_packet, Some(t0 + Duration::from_secs(1) - end));
    }

    #[test]
    fn one_packet_in_twenty_lost_is_five_percent() {
        let mut m = ReceiveMeter::video();
        let t0 = start();
        m.sample(t0);
        // 200 packets, every 20th missing (not the last one of the run).
        feed(&mut m, t0, 50, 4, |s| s % 20 == 10);
        let q = m.sample(t0 + Duration::from_secs(2));
        assert!((q.loss - 0.05).abs() < 1e-9, "{q:?}");
        // The next interval starts clean.
        let q = m.sample(t0 + Duration::from_secs(3));
        assert_eq!(q.loss, 0.0);
        assert_eq!(q.packets, 0);
    }

    #[test]
    fn a_repair_in_flight_when_a_sample_ends_is_not_loss() {
        let mut m = ReceiveMeter::video();
        let t0 = start();
        m.sample(t0);
        m.record(t0, 0, 0, true, 1000);
        m.record(t0 + MS * 33, 2, 3000, true, 1000);
        // The sample falls while packet 1 is being retransmitted.
        let q = m.sample(t0 + MS * 40);
        assert_eq!(q.loss, 0.0, "{q:?}");
        m.record(t0 + MS * 150, 1, 0, false, 1000);
        m.record(t0 + MS * 160, 3, 6000, true, 1000);
        let q = m.sample(t0 + Duration::from_secs(1));
        assert_eq!(q.loss, 0.0, "{q:?}");
        assert_eq!(q.packets, 2, "the repair and packet 3");
        // A duplicate of the repair (a second retransmission) changes nothing.
        m.record(t0 + Duration::from_millis(1100), 1, 0, false, 1000);
        let q = m.sample(t0 + Duration::from_secs(2));
        assert_eq!((q.loss, q.packets), (0.0, 0), "{q:?}");
    }

    #[test]
    fn a_gap_counts_as_lost_once_its_repair_window_has_passed() {
        let mut m = ReceiveMeter::video();
        let t0 = start();
        m.sample(t0);
        m.record(t0, 0, 0, true, 1000);
        m.record(t0 + MS * 33, 3, 3000, true, 1000);
        let q = m.sample(t0 + MS * 33 + REPAIR_WINDOW - MS);
        assert_eq!(q.loss, 0.0, "still repairable: {q:?}");
        let q = m.sample(t0 + MS * 33 + REPAIR_WINDOW);
        assert!(
            (q.loss - 1.0).abs() < 1e-9,
            "two lost, none received: {q:?}"
        );
        // Too late to repair anything: it is not taken back.
        m.record(t0 + Duration::from_secs(1), 1, 0, false, 1000);
        m.record(t0 + Duration::from_secs(1), 4, 6000, true, 1000);
        let q = m.sample(t0 + Duration::from_secs(2));
        assert_eq!((q.loss, q.packets), (0.0, 1), "{q:?}");
    }

    #[test]
    fn an_outage_counts_at_once_and_a_restart_settles_what_was_awaited() {
        let mut m = ReceiveMeter::audio();
        let t0 = start();
        m.sample(t0);
        m.record(t0, 0, 0, false, 80);
        m.record(t0 + MS * 20, 2, 1920, false, 80);
        // 2000 numbers skipped: more than are awaited one by one.
        m.record(t0 + MS * 40, 2003, 2003 * 960, false, 80);
        let q = m.sample(t0 + MS * 50);
        assert!((q.loss - 2000.0 / 2003.0).abs() < 1e-9, "{q:?}");
        // The source restarts its numbering: number 1 will never come.
        m.record(t0 + MS * 60, 40_000, 0, false, 80);
        m.record(t0 + MS * 80, 40_001, 960, false, 80);
        let q = m.sample(t0 + MS * 90);
        assert!((q.loss - 1.0 / 2.0).abs() < 1e-9, "{q:?}");
    }

    #[test]
    fn a_reordered_packet_is_not_counted_lost() {
        let mut m = ReceiveMeter::audio();
        let t0 = start();
        m.sample(t0);
        for (i, seq) in [0u16, 1, 3, 2, 4, 5].into_iter().enumerate() {
            m.record(
                t0 + MS * 20 * i as u32,
                seq,
                u32::from(seq) * 960,
                false,
                80,
            );
        }
        let q = m.sample(t0 + MS * 120);
        assert_eq!(q.loss, 0.0, "{q:?}");
        assert_eq!(q.packets, 6, "the late one repairs its gap");
        assert!((q.fps - 6.0 / 0.12).abs() < 1e-6, "{q:?}");
    }

    #[test]
    fn jitter_follows_the_spread_of_arrivals() {
        let mut m = ReceiveMeter::audio();
        let t0 = start();
        m.sample(t0);
        // 20 ms packets arriving alternately 10 ms early and late.
        for i in 0..400u32 {
            let wobble = if i % 2 == 0 { 0 } else { 20 };
            m.record(t0 + MS * (i * 20 + wobble), i as u16, i * 960, false, 80);
        }
        let q = m.sample(t0 + Duration::from_secs(8));
        // |D| is 20 ms for every pair: the estimate converges on 20 ms.
        assert!((q.jitter_ms - 20.0).abs() < 0.5, "{q:?}");
    }

    #[test]
    fn silence_shows_in_the_time_since_the_last_frame() {
        let mut m = ReceiveMeter::video();
        let t0 = start();
        assert_eq!(m.sample(t0).since_frame, None);
        // A frame whose last packet (marker) never comes.
        m.record(t0, 0, 0, true, 500);
        m.record(t0 + MS * 33, 1, 3000, false, 500);
        let q = m.sample(t0 + Duration::from_secs(3));
        assert_eq!(q.since_frame, Some(Duration::from_secs(3)));
        assert_eq!(q.since_packet, Some(Duration::from_secs(3) - MS * 33));
    }

    #[test]
    fn sequence_and_timestamp_wrap_around() {
        let mut m = ReceiveMeter::audio();
        let t0 = start();
        m.sample(t0);
        for i in 0..100u32 {
            let seq = 65_500u16.wrapping_add(i as u16);
            let ts = (u32::MAX - 10_000).wrapping_add(i * 960);
            m.record(t0 + MS * 20 * i, seq, ts, false, 80);
        }
        let q = m.sample(t0 + Duration::from_secs(2));
        assert_eq!(q.loss, 0.0);
        assert!(q.jitter_ms < 0.01, "{q:?}");
        assert_eq!(q.packets, 100);
    }
}
