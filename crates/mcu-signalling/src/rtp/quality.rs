//! Receive-side quality of one RTP stream, measured from the packets as they
//! arrive: loss, interarrival jitter (RFC 3550 §6.4.1), bitrate, frame rate
//! and how long the stream has been silent — the figures the operators'
//! quality badges, alarms and reports are made of.
//!
//! Sans-IO: the caller passes each packet's arrival time and asks for a
//! [`StreamQuality`] sample when it wants one (say once a second); a sample
//! covers the packets since the previous one.

use std::time::{Duration, Instant};

use super::seq::{SequenceEvent, SequenceStats, SequenceTracker};

/// Bytes of the fixed RTP header, counted into the bitrate (the payload
/// alone would understate what the link carries).
const RTP_HEADER_BYTES: u64 = 12;

/// One interval's figures of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamQuality {
    /// Packets lost over the interval, as a fraction of those expected
    /// (0.0–1.0); packets that arrived late after being counted lost are
    /// taken back.
    pub loss: f64,
    /// Interarrival jitter at the end of the interval, in milliseconds.
    pub jitter_ms: f64,
    /// Bits per second received over the interval (RTP header + payload).
    pub bitrate_bps: f64,
    /// Frames per second completed over the interval (video: packets with
    /// the marker bit; audio: packets).
    pub fps: f64,
    /// Packets received over the interval.
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
        match self.seq.record(sequence) {
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

    /// The figures since the previous sample (or since the first packet).
    pub fn sample(&mut self, now: Instant) -> StreamQuality {
        let seq = self.seq.stats();
        let then = self.mark;
        let accepted = seq.accepted - then.seq.accepted;
        let lost = (seq.lost - then.seq.lost).saturating_sub(seq.late - then.seq.late);
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
        assert_eq!(q.packets, 5, "the late one is not in order");
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
