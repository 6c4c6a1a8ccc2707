//! A sans-IO reorder/jitter buffer for RTP packets of one stream.
//!
//! Packets are released in sequence order as soon as they are next in line:
//! in-order traffic gets no added delay. When a packet is missing, the ones
//! after it are held until it arrives or until its deadline — the arrival of
//! the earliest held packet plus the current wait — passes; it is then
//! declared lost ([`JitterOutput::Lost`]) and the held packets flow on. The
//! wait starts at [`JitterConfig::delay`]; when a packet arrives after being
//! declared lost, the wait grows by how late it was plus 10 ms (capped at
//! [`JitterConfig::max_delay`]) and shrinks back by 5 ms per second. The very
//! first packet is held for the wait too, so that a packet overtaken at the
//! start of the stream (say the STAP-A with SPS and PPS) still comes out
//! first. Duplicates and packets older than the release point are
//! dropped; at most [`JitterConfig::max_packets`] are held (a packet that does
//! not fit forces the older ones out). Time is an input, so loss detection is
//! deterministic.
//!
//! The buffer is generic over the payload (`Vec<u8>`, a shared buffer…): it
//! never copies payloads.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::seq::SequenceUnwrapper;

/// How fast the wait falls back towards [`JitterConfig::delay`].
const DECAY_PER_SECOND: Duration = Duration::from_millis(5);
/// How many declared losses are remembered to measure late arrivals.
const REMEMBERED_LOSSES: usize = 64;
/// Added to the wait on top of a late packet's lateness.
const LATE_MARGIN: Duration = Duration::from_millis(10);

/// Settings of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// How long a missing packet is waited for at first.
    pub delay: Duration,
    /// The longest it is ever waited for.
    pub max_delay: Duration,
    /// Most packets held (and the reorder window, in sequence numbers).
    pub max_packets: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
            max_packets: 512,
        }
    }
}

/// Why a [`JitterConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JitterConfigError {
    /// `max_packets` must be in `1..=32768`.
    #[error("max_packets {0} outside 1..=32768")]
    MaxPackets(usize),
    /// `delay` must not exceed `max_delay`.
    #[error("delay exceeds max_delay")]
    DelayAboveMax,
}

/// One RTP packet: the header fields the media path needs and a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<P> {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// The payload.
    pub payload: P,
}

/// What [`JitterBuffer::pop`] releases, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitterOutput<P> {
    /// The next packet.
    Packet(RtpPacket<P>),
    /// `count` packets from `first_sequence` on will not come (or will be
    /// dropped as late if they do).
    Lost {
        /// The first missing sequence number.
        first_sequence: u16,
        /// How many consecutive numbers are missing (≥ 1).
        count: u16,
    },
}

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Held for release.
    Buffered,
    /// Already held: dropped.
    Duplicate,
    /// Its turn has passed (released or declared lost): dropped.
    Late,
    /// Far behind the release point: dropped, unless the next packet follows
    /// it, which resets the buffer to the new numbering.
    Suspect,
    /// The source restarted its numbering: everything held was flushed and
    /// the buffer restarted from this packet.
    Restarted,
}

/// Counters kept by a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub buffered: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Late packets dropped.
    pub late: u64,
    /// Late packets that had been declared lost (they raise the wait).
    pub late_after_loss: u64,
    /// Sequence numbers declared lost.
    pub lost: u64,
    /// Times a packet did not fit and older ones were forced out.
    pub overflows: u64,
    /// Source restarts.
    pub restarts: u64,
}

#[derive(Debug)]
struct Slot<P> {
    packet: RtpPacket<P>,
    arrival: Instant,
}

/// Reorders one RTP stream within a bounded delay and declares losses. See
/// the [module documentation](self). Call [`push`](Self::push) for each
/// arrival, then [`pop`](Self::pop) until `None`; wake up at
/// [`poll_timeout`](Self::poll_timeout) and pop again.
#[derive(Debug)]
pub struct JitterBuffer<P> {
    config: JitterConfig,
    unwrapper: SequenceUnwrapper,
    /// Extended number of `slots[0]`.
    next_out: Option<u64>,
    /// `slots[i]` holds number `next_out + i`; the last one is never empty.
    slots: VecDeque<Option<Slot<P>>>,
    held: usize,
    /// Released by force (overflow, restart), waiting for `pop`.
    ready: VecDeque<JitterOutput<P>>,
    /// While `slots[0]` is missing: the earliest arrival among held packets.
    hole_since: Option<Instant>,
    wait: Duration,
    last_decay: Option<Instant>,
    last_now: Option<Instant>,
    /// Recently declared losses `(first, count, when)` to spot late arrivals.
    losses: VecDeque<(u64, u64, Instant)>,
    probation: Option<u16>,
    /// Arrival of the first packet, until anything is released.
    startup: Option<Instant>,
    stats: JitterStats,
}

impl<P> JitterBuffer<P> {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Result<Self, JitterConfigError> {
        if !(1..=32768).contains(&config.max_packets) {
            return Err(JitterConfigError::MaxPackets(config.max_packets));
        }
        if config.delay > config.max_delay {
            return Err(JitterConfigError::DelayAboveMax);
        }
        Ok(Self {
            config,
            unwrapper: SequenceUnwrapper::new(),
            next_out: None,
            slots: VecDeque::with_capacity(config.max_packets),
            held: 0,
            ready: VecDeque::new(),
            hole_since: None,
            wait: config.delay,
            last_decay: None,
            last_now: None,
            losses: VecDeque::with_capacity(REMEMBERED_LOSSES),
            probation: None,
            startup: None,
            stats: JitterStats::default(),
        })
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.held
    }

    /// True when no packet is held or waiting to be popped.
    pub fn is_empty(&self) -> bool {
        self.held == 0 && self.ready.is_empty()
    }

    /// How long a missing packet is currently waited for.
    pub fn current_wait(&self) -> Duration {
        self.wait
    }

    /// The counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// One arriving packet.
    pub fn push(
        &mut self,
        now: Instant,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: P,
    ) -> PushOutcome {
        self.last_now = Some(now);
        self.decay(now);
        let packet = RtpPacket {
            sequence,
            timestamp,
            marker,
            payload,
        };
        let Some(next) = self.next_out else {
            let ext = self.unwrapper.rebase(sequence);
            self.next_out = Some(ext);
            self.startup = Some(now);
            self.store(now, 0, packet);
            return PushOutcome::Buffered;
        };
        let cap = self.config.max_packets as u64;
        let ext = self.unwrapper.extend(sequence);
        if ext < next && self.startup.is_some() && next - ext + self.slots.len() as u64 <= cap {
            // Overtaken before anything was released: make room in front.
            for _ in ext..next {
                self.slots.push_front(None);
            }
            self.next_out = Some(ext);
            self.store(now, 0, packet);
            self.refresh_hole();
            return PushOutcome::Buffered;
        }
        if ext < next {
            if next - ext <= cap {
                self.probation = None;
                self.note_late(now, ext);
                return PushOutcome::Late;
            }
            if self.probation == Some(sequence) {
                self.startup = None;
                self.flush_all();
                let ext = self.unwrapper.rebase(sequence);
                self.next_out = Some(ext);
                self.probation = None;
                self.stats.restarts += 1;
                self.store(now, 0, packet);
                return PushOutcome::Restarted;
            }
            self.probation = Some(sequence.wrapping_add(1));
            self.stats.late += 1;
            return PushOutcome::Suspect;
        }
        self.probation = None;
        self.unwrapper.unwrap(sequence);
        let mut index = ext - next;
        if index >= cap {
            self.startup = None;
            self.stats.overflows += 1;
            self.flush_all();
            // Everything between the flushed packets and this one is lost.
            let from = self.next_out.unwrap_or(next);
            if ext > from {
                self.declare_lost(now, from, ext - from, true);
            }
            self.next_out = Some(ext);
            index = 0;
        } else if let Some(Some(_)) = self.slots.get(index as usize) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        self.store(now, index as usize, packet);
        PushOutcome::Buffered
    }

    fn store(&mut self, now: Instant, index: usize, packet: RtpPacket<P>) {
        while self.slots.len() <= index {
            self.slots.push_back(None);
        }
        self.slots[index] = Some(Slot {
            packet,
            arrival: now,
        });
        self.held += 1;
        self.stats.buffered += 1;
        if self.hole_since.is_none() && matches!(self.slots.front(), Some(None)) {
            self.hole_since = Some(now);
        }
    }

    /// The next packet or loss due at `now`, in sequence order.
    pub fn pop(&mut self, now: Instant) -> Option<JitterOutput<P>> {
        self.last_now = Some(now);
        if let Some(out) = self.ready.pop_front() {
            return Some(out);
        }
        let next = self.next_out?;
        if let Some(first) = self.startup {
            if now < first + self.wait {
                return None;
            }
            self.startup = None;
        }
        match self.slots.front_mut()? {
            Some(_) => {
                let slot = self.slots.pop_front().flatten()?;
                self.held -= 1;
                self.next_out = Some(next + 1);
                self.refresh_hole();
                Some(JitterOutput::Packet(slot.packet))
            }
            None => {
                let deadline = self.hole_since? + self.wait;
                if now < deadline {
                    return None;
                }
                let missing = self.slots.iter().take_while(|s| s.is_none()).count();
                self.slots.drain(..missing);
                self.next_out = Some(next + missing as u64);
                self.refresh_hole();
                self.declare_lost(deadline, next, missing as u64, false)
            }
        }
    }

    /// When [`pop`](Self::pop) will next have something (a loss deadline), or
    /// `None` if nothing is held. A time in the past means "pop now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return self.last_now;
        }
        let hold = match self.slots.front() {
            Some(Some(_)) => self.last_now,
            Some(None) => self.hole_since.map(|t| t + self.wait),
            None => None,
        };
        match (self.startup, hold) {
            (Some(first), Some(hold)) => Some(hold.max(first + self.wait)),
            _ => hold,
        }
    }

    /// Records `count` lost numbers from `first`, declared at `when`; queues
    /// the loss when `queue`, else returns it.
    fn declare_lost(
        &mut self,
        when: Instant,
        first: u64,
        count: u64,
        queue: bool,
    ) -> Option<JitterOutput<P>> {
        self.stats.lost += count;
        if self.losses.len() == REMEMBERED_LOSSES {
            self.losses.pop_front();
        }
        self.losses.push_back((first, count, when));
        // `count` ≤ 32767 + max_packets ≤ 65535: the unwrapper places every
        // number within 32768 of the highest one.
        let out = JitterOutput::Lost {
            first_sequence: first as u16,
            count: count.min(u64::from(u16::MAX)) as u16,
        };
        if queue {
            self.ready.push_back(out);
            None
        } else {
            Some(out)
        }
    }

    /// Moves everything held to the ready queue, in order, holes as losses.
    fn flush_all(&mut self) {
        let Some(mut next) = self.next_out else {
            return;
        };
        let now = self.last_now;
        let mut missing_from: Option<u64> = None;
        while let Some(slot) = self.slots.pop_front() {
            match slot {
                None => {
                    missing_from.get_or_insert(next);
                }
                Some(slot) => {
                    if let (Some(from), Some(now)) = (missing_from.take(), now) {
                        self.declare_lost(now, from, next - from, true);
                    }
                    self.held -= 1;
                    self.ready.push_back(JitterOutput::Packet(slot.packet));
                }
            }
            next += 1;
        }
        self.next_out = Some(next);
        self.hole_since = None;
    }

    fn refresh_hole(&mut self) {
        self.hole_since = match self.slots.front() {
            Some(None) => self.slots.iter().flatten().map(|s| s.arrival).min(),
            _ => None,
        };
    }

    fn note_late(&mut self, now: Instant, ext: u64) {
        self.stats.late += 1;
        let declared = self
            .losses
            .iter()
            .find(|&&(first, count, _)| (first..first + count).contains(&ext))
            .map(|&(_, _, when)| when);
        if let Some(when) = declared {
            self.stats.late_after_loss += 1;
            let lateness = now.saturating_duration_since(when);
            self.wait = (self.wait + lateness + LATE_MARGIN).min(self.config.max_delay);
            self.last_decay = Some(now);
        }
    }

    fn decay(&mut self, now: Instant) {
        let Some(since) = self.last_decay else {
            self.last_decay = Some(now);
            return;
        };
        let secs = now.saturating_duration_since(since).as_secs();
        if secs == 0 {
            return;
        }
        self.last_decay = Some(since + Duration::from_secs(secs));
        let step = DECAY_PER_SECOND.saturating_mul(secs.min(u64::from(u32::MAX)) as u32);
        self.wait = self.wait.saturating_sub(step).max(self.config.delay);
    }
}
