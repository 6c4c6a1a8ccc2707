//! RTP media plumbing between WebRTC and the media core: payload handling only
//! (the WebRTC library parses and writes RTP headers).
//!
//! Receive path, per endpoint and stream:
//!
//! ```text
//! RTP (seq, ts, marker, payload) ─► JitterBuffer ─► H264Depacketizer ─► handle_video(AU)
//!                                        │                 └─► NeedKeyframe ─► RTCP PLI
//!                                        └──(audio)──► OpusDepacketizer ─► handle_audio(Some | None)
//! ```
//!
//! Send path: `MixerOutput::Video` → [`H264Packetizer`] → one [`PacketBatch`]
//! of payloads per access unit; `MixerOutput::Audio` → [`OpusPacketizer`].
//!
//! Everything is sans-IO: time is an input of the [`JitterBuffer`], nothing
//! here reads a clock or touches a socket. Malformed input is an error or a
//! drop, never a panic. Sequence numbers wrap at 65535 → 0 ([`seq`]).
//!
//! ```
//! use mcu_signalling::rtp::{
//!     DepacketizeEvent, H264Depacketizer, H264Packetizer, H264PacketizerConfig, PacketBatch,
//! };
//!
//! // SPS, PPS and a 3 kB IDR slice.
//! let mut au = vec![0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x1F, 0, 0, 0, 1, 0x68, 0xCE, 0x3C, 0x80];
//! au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
//! au.extend((0..3000).map(|i| (i % 200 + 1) as u8));
//!
//! let mut packetizer = H264Packetizer::new(H264PacketizerConfig::default(), 1000).unwrap();
//! let mut batch = PacketBatch::new();
//! packetizer.packetize(&au, 90_000, &mut batch).unwrap();
//! assert_eq!(batch.len(), 4); // STAP-A (SPS+PPS) then 3 FU-A fragments
//!
//! let mut depacketizer = H264Depacketizer::default();
//! for p in batch.iter() {
//!     depacketizer.push(p.sequence, p.timestamp, p.marker, p.payload).unwrap();
//! }
//! match depacketizer.poll_event() {
//!     Some(DepacketizeEvent::AccessUnit(unit)) => {
//!         assert!(unit.keyframe);
//!         assert_eq!(unit.data, au);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

pub mod h264;
pub mod jitter;
pub mod opus;
pub mod quality;
pub mod seq;
pub mod sps;

pub use h264::{
    AccessUnit, DepacketizeError, DepacketizeEvent, DiscardReason, H264Depacketizer,
    H264DepacketizerConfig, H264Packetizer, H264PacketizerConfig, KeyframeRequests, PacketizeError,
};
pub use jitter::{
    JitterBuffer, JitterConfig, JitterConfigError, JitterOutput, JitterStats, PushOutcome,
    RtpPacket,
};
pub use opus::{Concealment, OpusArrival, OpusDepacketizer, OpusPacketizer};
pub use quality::{ReceiveMeter, StreamQuality};
pub use seq::{SequenceEvent, SequenceStats, SequenceTracker, SequenceUnwrapper};
pub use sps::{rtp_picture_size, sps_picture_size};

/// One RTP payload with the header fields it travels with, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPayload<'a> {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit (last packet of an access unit, for video).
    pub marker: bool,
    /// The payload bytes.
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    sequence: u16,
    timestamp: u32,
    marker: bool,
}

/// The RTP payloads of one packetized access unit, in one reusable buffer:
/// keep one per stream and pass it to every
/// [`H264Packetizer::packetize`] call, so the steady state allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct PacketBatch {
    data: Vec<u8>,
    spans: Vec<Span>,
}

impl PacketBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every payload, keeping the memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.spans.clear();
    }

    /// Number of payloads.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is no payload.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Payload `index`, if any.
    pub fn get(&self, index: usize) -> Option<RtpPayload<'_>> {
        self.spans.get(index).map(|s| RtpPayload {
            sequence: s.sequence,
            timestamp: s.timestamp,
            marker: s.marker,
            payload: &self.data[s.start..s.end],
        })
    }

    /// The payloads in sending order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RtpPayload<'_>> + '_ {
        self.spans.iter().map(|s| RtpPayload {
            sequence: s.sequence,
            timestamp: s.timestamp,
            marker: s.marker,
            payload: &self.data[s.start..s.end],
        })
    }

    /// Closes the payload written to `data` since the previous one.
    fn finish_packet(&mut self, sequence: u16, timestamp: u32, marker: bool) {
        let start = self.spans.last().map_or(0, |s| s.end);
        self.spans.push(Span {
            start,
            end: self.data.len(),
            sequence,
            timestamp,
            marker,
        });
    }

    fn set_last_marker(&mut self) {
        if let Some(last) = self.spans.last_mut() {
            last.marker = true;
        }
    }
}
