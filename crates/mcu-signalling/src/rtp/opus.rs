//! Opus over RTP (RFC 7587): one Opus packet per RTP payload, so the only work
//! is loss accounting — how many frames the decoder must conceal
//! (`ConferenceMixer::handle_audio(id, None)`) before the next packet.

use super::RtpPayload;
use super::seq::{SequenceEvent, SequenceTracker};

/// Default largest gap concealed frame by frame; larger gaps are a resync.
pub const DEFAULT_MAX_CONCEALED: u16 = 5;

/// What to do with an arriving Opus payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusArrival<'a> {
    /// Conceal `concealed` lost frames (`handle_audio(id, None)` each), then
    /// decode `payload` (`None` for an empty payload, which RFC 7587 lets
    /// stand for a lost frame).
    Packet {
        /// Frames lost right before this one (at most the configured bound).
        concealed: u16,
        /// The Opus packet.
        payload: Option<&'a [u8]>,
    },
    /// Too many frames were missing to conceal (or the source restarted):
    /// decode `payload` without concealment; the decoder state is stale.
    Resync {
        /// Sequence numbers skipped (0 when unknown, after a restart).
        missing: u64,
        /// The Opus packet.
        payload: Option<&'a [u8]>,
    },
    /// Duplicate, late (its frame was already concealed) or suspect: drop.
    Drop,
}

/// How many frames to conceal for a range declared lost by a jitter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concealment {
    /// Conceal this many frames (`handle_audio(id, None)` each).
    Frames(u16),
    /// Too many to conceal: skip them; the next packet resyncs the decoder.
    Resync,
}

/// Receive side of an Opus stream: sequence tracking and bounded loss
/// reporting. Works on raw arrivals ([`push`](Self::push)) or behind a
/// [`super::JitterBuffer`] (feed its losses to [`lost`](Self::lost)).
#[derive(Debug, Clone)]
pub struct OpusDepacketizer {
    seq: SequenceTracker,
    max_concealed: u16,
}

impl Default for OpusDepacketizer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CONCEALED)
    }
}

impl OpusDepacketizer {
    /// A receiver that conceals gaps of up to `max_concealed` frames.
    pub fn new(max_concealed: u16) -> Self {
        Self {
            seq: SequenceTracker::new(),
            max_concealed,
        }
    }

    /// One arriving RTP payload.
    pub fn push<'a>(&mut self, sequence: u16, payload: &'a [u8]) -> OpusArrival<'a> {
        let payload = (!payload.is_empty()).then_some(payload);
        match self.seq.record(sequence) {
            SequenceEvent::First | SequenceEvent::InOrder => OpusArrival::Packet {
                concealed: 0,
                payload,
            },
            SequenceEvent::Gap { missing } => match u16::try_from(missing) {
                Ok(n) if n <= self.max_concealed => OpusArrival::Packet {
                    concealed: n,
                    payload,
                },
                _ => OpusArrival::Resync { missing, payload },
            },
            SequenceEvent::Restart => OpusArrival::Resync {
                missing: 0,
                payload,
            },
            SequenceEvent::Late | SequenceEvent::Suspect => OpusArrival::Drop,
        }
    }

    /// `count` packets from `first_sequence` on were declared lost (by a
    /// jitter buffer): how many frames to conceal.
    pub fn lost(&mut self, first_sequence: u16, count: u16) -> Concealment {
        if count == 0 {
            return Concealment::Frames(0);
        }
        let skipped = self
            .seq
            .skip_through(first_sequence.wrapping_add(count - 1));
        match u16::try_from(skipped) {
            Ok(n) if n <= self.max_concealed => Concealment::Frames(n),
            _ => Concealment::Resync,
        }
    }

    /// The sequence counters (accepted, lost, late…).
    pub fn sequence_stats(&self) -> super::SequenceStats {
        self.seq.stats()
    }
}

/// Send side of an Opus stream: numbers the packets.
#[derive(Debug, Clone)]
pub struct OpusPacketizer {
    next_sequence: u16,
}

impl OpusPacketizer {
    /// A packetizer whose first packet gets `initial_sequence`.
    pub fn new(initial_sequence: u16) -> Self {
        Self {
            next_sequence: initial_sequence,
        }
    }

    /// Wraps one Opus packet with RTP `timestamp` (48 kHz). `marker` flags the
    /// first packet of a talkspurt after DTX.
    pub fn packetize<'a>(
        &mut self,
        timestamp: u32,
        marker: bool,
        payload: &'a [u8],
    ) -> RtpPayload<'a> {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        RtpPayload {
            sequence,
            timestamp,
            marker,
            payload,
        }
    }

    /// The sequence number the next packet will get.
    pub fn next_sequence(&self) -> u16 {
        self.next_sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_concealed_up_to_the_bound_then_resync() {
        let mut rx = OpusDepacketizer::new(5);
        let p: &[u8] = &[0xFC, 1, 2];
        assert_eq!(
            rx.push(65534, p),
            OpusArrival::Packet {
                concealed: 0,
                payload: Some(p)
            }
        );
        // 65535 and 0 lost across the wrap.
        assert_eq!(
            rx.push(1, p),
            OpusArrival::Packet {
                concealed: 2,
                payload: Some(p)
            }
        );
        assert_eq!(rx.push(0, p), OpusArrival::Drop);
        assert_eq!(rx.push(1, p), OpusArrival::Drop);
        assert_eq!(
            rx.push(8, p),
            OpusArrival::Resync {
                missing: 6,
                payload: Some(p)
            }
        );
        assert_eq!(
            rx.push(9, &[]),
            OpusArrival::Packet {
                concealed: 0,
                payload: None
            }
        );
    }

    #[test]
    fn jitter_buffer_losses_are_not_counted_twice() {
        let mut rx = OpusDepacketizer::default();
        let p: &[u8] = &[1];
        rx.push(10, p);
        assert_eq!(rx.lost(11, 2), Concealment::Frames(2));
        assert_eq!(
            rx.push(13, p),
            OpusArrival::Packet {
                concealed: 0,
                payload: Some(p)
            }
        );
        assert_eq!(rx.lost(14, 400), Concealment::Resync);
        assert_eq!(
            rx.push(414, p),
            OpusArrival::Packet {
                concealed: 0,
                payload: Some(p)
            }
        );
    }

    #[test]
    fn packetizer_numbers_across_the_wrap() {
        let mut tx = OpusPacketizer::new(65535);
        assert_eq!(tx.packetize(0, true, &[1]).sequence, 65535);
        let p = tx.packetize(960, false, &[2]);
        assert_eq!((p.sequence, p.timestamp, p.marker), (0, 960, false));
    }
}
