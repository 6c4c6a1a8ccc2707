//! RTP sequence numbers: 16-bit wrap-around, extended (64-bit) numbers, gaps,
//! duplicates, reordering and source restarts.
//!
//! [`SequenceUnwrapper`] only extends numbers; [`SequenceTracker`] also
//! classifies each arrival for a receiver that consumes packets in order (the
//! depacketizers), following the probation rule of RFC 3550 appendix A.1: a
//! jump of more than [`MAX_DROPOUT`] forwards or [`MAX_MISORDER`] backwards is
//! only believed (as a restart of the source) when the next packet follows it.

/// A forward jump larger than this is suspect (RFC 3550 A.1 `MAX_DROPOUT`).
pub const MAX_DROPOUT: u64 = 3000;
/// A packet further behind than this is suspect (RFC 3550 A.1 `MAX_MISORDER`).
pub const MAX_MISORDER: u64 = 100;

/// Extended numbers start here so that they can go backwards from the first
/// packet without underflow.
const EXT_BASE: u64 = 1 << 32;

/// Extends 16-bit RTP sequence numbers to monotonic 64-bit ones: each number is
/// placed at the distance closest to the highest number seen so far, so
/// 65535 → 0 continues to 65536.
#[derive(Debug, Clone, Default)]
pub struct SequenceUnwrapper {
    highest: Option<u64>,
}

impl SequenceUnwrapper {
    /// An unwrapper that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Extends `seq` without recording it.
    pub fn extend(&self, seq: u16) -> u64 {
        match self.highest {
            None => EXT_BASE + u64::from(seq),
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                // `h >= EXT_BASE - 32768 * restarts` stays far above 32768.
                h.wrapping_add_signed(delta)
            }
        }
    }

    /// Extends `seq` and records it (the highest number seen only grows).
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        let ext = self.extend(seq);
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }

    /// Forgets the history and makes `seq` the highest number (after a source
    /// restart); returns its new extended number.
    pub fn rebase(&mut self, seq: u16) -> u64 {
        let ext = EXT_BASE + u64::from(seq);
        self.highest = Some(ext);
        ext
    }

    /// The highest extended number seen, if any.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

/// How one arriving packet relates to the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceEvent {
    /// The first packet of the stream.
    First,
    /// The packet right after the previous one.
    InOrder,
    /// `missing` packets were skipped before this one (they are now lost to an
    /// in-order consumer).
    Gap {
        /// How many sequence numbers were skipped.
        missing: u64,
    },
    /// A duplicate, or a packet older than one already consumed: drop it.
    Late,
    /// A jump too large to believe yet: drop it; if the next packet follows
    /// it, the stream is declared restarted.
    Suspect,
    /// The source restarted its numbering (confirmed suspect jump): the
    /// packets in between are unknown, treat it as a loss.
    Restart,
}

/// Counters kept by a [`SequenceTracker`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SequenceStats {
    /// Packets accepted (first, in order, after a gap or a restart).
    pub accepted: u64,
    /// Sequence numbers skipped by gaps or declared lost by the caller.
    pub lost: u64,
    /// Duplicates and packets that came after a later one was consumed.
    pub late: u64,
    /// Suspect jumps (dropped packets).
    pub suspect: u64,
    /// Confirmed restarts.
    pub restarts: u64,
}

/// Classifies arrivals for an in-order consumer: gaps, duplicates, late
/// packets and restarts, with u16 wrap-around.
#[derive(Debug, Clone, Default)]
pub struct SequenceTracker {
    unwrapper: SequenceUnwrapper,
    /// Extended number expected next.
    next: Option<u64>,
    /// After a suspect packet: the number that would confirm a restart.
    probation: Option<u16>,
    stats: SequenceStats,
}

impl SequenceTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one arrival and says how it relates to the previous ones.
    pub fn record(&mut self, seq: u16) -> SequenceEvent {
        let Some(next) = self.next else {
            let ext = self.unwrapper.rebase(seq);
            self.next = Some(ext + 1);
            self.stats.accepted += 1;
            return SequenceEvent::First;
        };
        let ext = self.unwrapper.extend(seq);
        if ext >= next && ext - next <= MAX_DROPOUT {
            let missing = ext - next;
            self.accept(seq);
            self.stats.lost += missing;
            return if missing == 0 {
                SequenceEvent::InOrder
            } else {
                SequenceEvent::Gap { missing }
            };
        }
        if ext < next && next - 1 - ext <= MAX_MISORDER {
            self.stats.late += 1;
            return SequenceEvent::Late;
        }
        if self.probation == Some(seq) {
            self.unwrapper.rebase(seq);
            self.accept(seq);
            self.stats.restarts += 1;
            return SequenceEvent::Restart;
        }
        self.probation = Some(seq.wrapping_add(1));
        self.stats.suspect += 1;
        SequenceEvent::Suspect
    }

    fn accept(&mut self, seq: u16) {
        let ext = self.unwrapper.unwrap(seq);
        self.next = Some(ext + 1);
        self.probation = None;
        self.stats.accepted += 1;
    }

    /// Marks every number up to and including `seq` as consumed without a
    /// packet (declared lost by a jitter buffer); returns how many numbers were
    /// newly skipped (0 if `seq` is not ahead).
    pub fn skip_through(&mut self, seq: u16) -> u64 {
        let Some(next) = self.next else {
            let ext = self.unwrapper.rebase(seq);
            self.next = Some(ext + 1);
            self.stats.lost += 1;
            return 1;
        };
        let ext = self.unwrapper.extend(seq);
        if ext < next {
            return 0;
        }
        self.unwrapper.unwrap(seq);
        self.next = Some(ext + 1);
        self.probation = None;
        let skipped = ext + 1 - next;
        self.stats.lost += skipped;
        skipped
    }

    /// The extended number of the last consumed packet, if any.
    pub fn last_extended(&self) -> Option<u64> {
        self.next.map(|n| n - 1)
    }

    /// The counters so far.
    pub fn stats(&self) -> SequenceStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_crosses_65535_to_0() {
        let mut u = SequenceUnwrapper::new();
        let a = u.unwrap(65534);
        let b = u.unwrap(65535);
        let c = u.unwrap(0);
        let d = u.unwrap(1);
        assert_eq!([b - a, c - b, d - c], [1, 1, 1]);
        // A late packet from before the wrap extends backwards.
        assert_eq!(u.unwrap(65533), a - 1);
        assert_eq!(u.highest(), Some(d));
    }

    #[test]
    fn tracker_classifies_gap_duplicate_and_late() {
        let mut t = SequenceTracker::new();
        assert_eq!(t.record(65534), SequenceEvent::First);
        assert_eq!(t.record(65535), SequenceEvent::InOrder);
        assert_eq!(t.record(2), SequenceEvent::Gap { missing: 2 });
        assert_eq!(t.record(2), SequenceEvent::Late);
        assert_eq!(t.record(0), SequenceEvent::Late);
        assert_eq!(t.record(3), SequenceEvent::InOrder);
        let s = t.stats();
        assert_eq!((s.accepted, s.lost, s.late), (4, 2, 2));
    }

    #[test]
    fn tracker_needs_two_packets_to_believe_a_restart() {
        let mut t = SequenceTracker::new();
        t.record(100);
        t.record(101);
        // One stray packet far away is dropped and nothing changes.
        assert_eq!(t.record(30_000), SequenceEvent::Suspect);
        assert_eq!(t.record(102), SequenceEvent::InOrder);
        // A restart backwards, confirmed by its successor.
        assert_eq!(t.record(60_000), SequenceEvent::Suspect);
        assert_eq!(t.record(60_001), SequenceEvent::Restart);
        assert_eq!(t.record(60_002), SequenceEvent::InOrder);
    }

    #[test]
    fn skip_through_accounts_declared_losses() {
        let mut t = SequenceTracker::new();
        t.record(65530);
        assert_eq!(t.skip_through(1), 7);
        assert_eq!(t.record(2), SequenceEvent::InOrder);
        assert_eq!(t.skip_through(0), 0);
    }
}
