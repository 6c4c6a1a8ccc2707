//! H.264 over RTP (RFC 6184, packetization-mode 1): single NAL unit packets,
//! STAP-A aggregation and FU-A fragmentation, both directions.
//!
//! The [`H264Depacketizer`] turns in-order RTP payloads into complete Annex-B
//! access units and says when packets were lost, when an access unit must not
//! be decoded and when a keyframe must be requested. The [`H264Packetizer`]
//! turns Annex-B access units into RTP payloads no bigger than the MTU, into a
//! reusable [`PacketBatch`].
//!
//! Annex-B output always uses 4-byte start codes (`00 00 00 01`), which is
//! what the encoders in `mcu-mixer` produce, so a packetize → depacketize round
//! trip of such an access unit is byte-identical.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::seq::{SequenceEvent, SequenceTracker};
use super::{PacketBatch, RtpPayload};

/// The 4-byte Annex-B start code written before every NAL unit.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// NAL unit type of a coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// RTP payload type: single-time aggregation packet (STAP-A).
pub const NAL_STAP_A: u8 = 24;
/// RTP payload type: fragmentation unit (FU-A).
pub const NAL_FU_A: u8 = 28;

/// Default bound on the size of one access unit being assembled (4 MiB).
pub const DEFAULT_MAX_ACCESS_UNIT_BYTES: usize = 4 << 20;
/// Default largest RTP payload the packetizer emits, in bytes.
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 1200;

/// Why an RTP payload was refused by the [`H264Depacketizer`]. The access
/// unit it belonged to is discarded (and a keyframe requested) where the
/// payload carried or may have carried picture data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DepacketizeError {
    /// A duplicate, or a packet older than one already consumed.
    #[error("late or duplicate packet {sequence}")]
    Late {
        /// Its sequence number.
        sequence: u16,
    },
    /// An unbelievable sequence jump (dropped until confirmed by the next one).
    #[error("suspect sequence jump to {sequence}")]
    SuspectJump {
        /// Its sequence number.
        sequence: u16,
    },
    /// The forbidden-zero bit of a NAL unit header is set.
    #[error("forbidden bit set in NAL header")]
    ForbiddenBit,
    /// NAL unit type 0, 30 or 31 (reserved / unspecified) or, inside an
    /// aggregation or fragment, a packetization type.
    #[error("invalid NAL unit type {0}")]
    InvalidNalType(u8),
    /// STAP-B, MTAP16, MTAP24 or FU-B: not allowed in packetization-mode 1.
    #[error("packetization type {0} not supported in packetization-mode 1")]
    UnsupportedPacketization(u8),
    /// A STAP-A whose sizes run past the end of the payload, or that is empty.
    #[error("truncated STAP-A")]
    TruncatedStapA,
    /// A FU-A payload shorter than its two header bytes plus one byte.
    #[error("FU-A payload too short")]
    TruncatedFuA,
    /// A FU-A continuation with no fragmented NAL unit in progress.
    #[error("FU-A fragment without a start fragment")]
    FuAWithoutStart,
    /// A new NAL unit began before the fragmented one ended.
    #[error("fragmented NAL unit interrupted")]
    FuAInterrupted,
    /// The access unit grew past the configured bound.
    #[error("access unit larger than {limit} bytes")]
    AccessUnitTooLarge {
        /// The configured bound.
        limit: usize,
    },
}

/// Settings of an [`H264Depacketizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264DepacketizerConfig {
    /// Bound on the size of one Annex-B access unit; larger ones are dropped.
    pub max_access_unit_bytes: usize,
    /// Discard access units until the first keyframe (a decoder cannot start
    /// on a P-frame). Loss always makes the depacketizer wait for a keyframe.
    pub wait_for_first_keyframe: bool,
}

impl Default for H264DepacketizerConfig {
    fn default() -> Self {
        Self {
            max_access_unit_bytes: DEFAULT_MAX_ACCESS_UNIT_BYTES,
            wait_for_first_keyframe: true,
        }
    }
}

/// One complete, decodable Annex-B access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// The NAL units, each after a 4-byte start code.
    pub data: Vec<u8>,
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// Contains an IDR slice.
    pub keyframe: bool,
    /// Sequence number of its first packet.
    pub first_sequence: u16,
    /// Sequence number of its last packet.
    pub last_sequence: u16,
}

/// Why an access unit was discarded instead of being handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscardReason {
    /// Packets of it were lost or malformed: it must not reach the decoder.
    Incomplete,
    /// It grew past the configured size bound.
    TooLarge,
    /// It is complete but refers to pictures lost earlier: waiting for a
    /// keyframe.
    AwaitingKeyframe,
}

/// What the [`H264Depacketizer`] has to say, drained with
/// [`H264Depacketizer::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepacketizeEvent {
    /// A complete access unit, safe to decode (`ConferenceMixer::handle_video`).
    AccessUnit(AccessUnit),
    /// An access unit that must not be decoded.
    Discarded {
        /// Its RTP timestamp.
        timestamp: u32,
        /// Why.
        reason: DiscardReason,
    },
    /// The decoder's reference chain is broken: ask the sender for a keyframe
    /// (RTCP PLI). Emitted once per loss episode; while
    /// [`H264Depacketizer::awaiting_keyframe`] stays true the caller repeats
    /// the request on its own timer ([`KeyframeRequests`]).
    NeedKeyframe,
}

#[derive(Debug, Default)]
struct Assembly {
    active: bool,
    buf: Vec<u8>,
    timestamp: u32,
    first_sequence: u16,
    last_sequence: u16,
    keyframe: bool,
    corrupt: bool,
    too_large: bool,
    /// Type of the fragmented NAL unit in progress.
    fragment: Option<u8>,
}

/// RTP payloads (in order, e.g. from a [`super::JitterBuffer`]) → Annex-B
/// access units, with loss and keyframe handling. Sans-IO: call
/// [`push`](Self::push), then drain [`poll_event`](Self::poll_event).
///
/// An access unit is all NAL units with one RTP timestamp; it completes on
/// the marker bit or when the timestamp changes. A sequence gap marks the
/// access unit in progress and the next one incomplete, asks for a keyframe
/// and discards everything until an access unit with an IDR slice.
#[derive(Debug)]
pub struct H264Depacketizer {
    config: H264DepacketizerConfig,
    seq: SequenceTracker,
    au: Assembly,
    /// A gap was seen between access units: the next one is incomplete.
    pending_loss: bool,
    awaiting_keyframe: bool,
    keyframe_requested: bool,
    events: VecDeque<DepacketizeEvent>,
    spare: Vec<Vec<u8>>,
}

/// Buffers kept for reuse by [`H264Depacketizer::recycle`].
const SPARE_BUFFERS: usize = 4;

impl Default for H264Depacketizer {
    fn default() -> Self {
        Self::new(H264DepacketizerConfig::default())
    }
}

impl H264Depacketizer {
    /// A depacketizer with `config`.
    pub fn new(config: H264DepacketizerConfig) -> Self {
        Self {
            config,
            seq: SequenceTracker::new(),
            au: Assembly::default(),
            pending_loss: false,
            awaiting_keyframe: config.wait_for_first_keyframe,
            keyframe_requested: false,
            events: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    /// True while access units are discarded until a keyframe arrives.
    pub fn awaiting_keyframe(&self) -> bool {
        self.awaiting_keyframe
    }

    /// The sequence counters (accepted, lost, late…).
    pub fn sequence_stats(&self) -> super::SequenceStats {
        self.seq.stats()
    }

    /// Gives back the buffer of a handed-out [`AccessUnit`] so that the next
    /// one reuses its memory (steady state without allocation).
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The next event, if any. Drain after every [`push`](Self::push).
    pub fn poll_event(&mut self) -> Option<DepacketizeEvent> {
        self.events.pop_front()
    }

    /// Feeds one RTP payload. Empty payloads (padding) only advance the
    /// sequence. On error the payload is dropped; events may still have been
    /// queued (a completed or discarded access unit, a keyframe request).
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<(), DepacketizeError> {
        let lost = match self.seq.record(sequence) {
            SequenceEvent::First | SequenceEvent::InOrder => false,
            SequenceEvent::Gap { .. } | SequenceEvent::Restart => true,
            SequenceEvent::Late => return Err(DepacketizeError::Late { sequence }),
            SequenceEvent::Suspect => return Err(DepacketizeError::SuspectJump { sequence }),
        };
        if lost {
            self.pending_loss = true;
            if self.au.active {
                self.au.corrupt = true;
            }
            self.enter_awaiting_keyframe();
        }
        if payload.is_empty() {
            return Ok(());
        }
        if self.au.active && self.au.timestamp != timestamp {
            self.finish();
        }
        if !self.au.active {
            self.begin(timestamp, sequence);
        }
        if self.pending_loss {
            self.pending_loss = false;
            self.au.corrupt = true;
        }
        self.au.last_sequence = sequence;
        let result = self.parse(payload);
        if result.is_err() {
            self.au.corrupt = true;
            self.enter_awaiting_keyframe();
        }
        if marker {
            self.finish();
        }
        result
    }

    fn begin(&mut self, timestamp: u32, sequence: u16) {
        let buf = self.spare.pop().unwrap_or_default();
        self.au = Assembly {
            active: true,
            buf,
            timestamp,
            first_sequence: sequence,
            last_sequence: sequence,
            ..Assembly::default()
        };
    }

    fn enter_awaiting_keyframe(&mut self) {
        self.awaiting_keyframe = true;
        if !self.keyframe_requested {
            self.keyframe_requested = true;
            self.events.push_back(DepacketizeEvent::NeedKeyframe);
        }
    }

    /// Ends the access unit in progress and queues what becomes of it.
    fn finish(&mut self) {
        let au = std::mem::take(&mut self.au);
        if !au.active {
            return;
        }
        let timestamp = au.timestamp;
        let discard = if au.too_large {
            Some(DiscardReason::TooLarge)
        } else if au.corrupt || au.fragment.is_some() {
            Some(DiscardReason::Incomplete)
        } else if au.buf.is_empty() {
            None
        } else if self.awaiting_keyframe && !au.keyframe {
            Some(DiscardReason::AwaitingKeyframe)
        } else {
            if au.keyframe {
                self.awaiting_keyframe = false;
                self.keyframe_requested = false;
            }
            self.events
                .push_back(DepacketizeEvent::AccessUnit(AccessUnit {
                    data: au.buf,
                    timestamp,
                    keyframe: au.keyframe,
                    first_sequence: au.first_sequence,
                    last_sequence: au.last_sequence,
                }));
            return;
        };
        self.recycle(au.buf);
        if let Some(reason) = discard {
            if reason != DiscardReason::AwaitingKeyframe || !self.keyframe_requested {
                self.enter_awaiting_keyframe();
            }
            self.events
                .push_back(DepacketizeEvent::Discarded { timestamp, reason });
        }
    }

    fn parse(&mut self, payload: &[u8]) -> Result<(), DepacketizeError> {
        let header = payload[0];
        if header & 0x80 != 0 {
            return Err(DepacketizeError::ForbiddenBit);
        }
        match header & 0x1F {
            t @ (0 | 30 | 31) => Err(DepacketizeError::InvalidNalType(t)),
            1..=23 => {
                self.end_interrupted_fragment()?;
                self.append_nal(payload)
            }
            NAL_STAP_A => {
                self.end_interrupted_fragment()?;
                self.parse_stap_a(&payload[1..])
            }
            NAL_FU_A => self.parse_fu_a(payload),
            t => Err(DepacketizeError::UnsupportedPacketization(t)),
        }
    }

    fn end_interrupted_fragment(&mut self) -> Result<(), DepacketizeError> {
        if self.au.fragment.take().is_some() && !self.au.corrupt {
            return Err(DepacketizeError::FuAInterrupted);
        }
        Ok(())
    }

    fn parse_stap_a(&mut self, mut rest: &[u8]) -> Result<(), DepacketizeError> {
        if rest.is_empty() {
            return Err(DepacketizeError::TruncatedStapA);
        }
        while !rest.is_empty() {
            let [hi, lo, tail @ ..] = rest else {
                return Err(DepacketizeError::TruncatedStapA);
            };
            let size = usize::from(u16::from_be_bytes([*hi, *lo]));
            if size == 0 || tail.len() < size {
                return Err(DepacketizeError::TruncatedStapA);
            }
            let (nal, next) = tail.split_at(size);
            if nal[0] & 0x80 != 0 {
                return Err(DepacketizeError::ForbiddenBit);
            }
            match nal[0] & 0x1F {
                1..=23 => self.append_nal(nal)?,
                t => return Err(DepacketizeError::InvalidNalType(t)),
            }
            rest = next;
        }
        Ok(())
    }

    fn parse_fu_a(&mut self, payload: &[u8]) -> Result<(), DepacketizeError> {
        let [indicator, fu_header, data @ ..] = payload else {
            return Err(DepacketizeError::TruncatedFuA);
        };
        if data.is_empty() {
            return Err(DepacketizeError::TruncatedFuA);
        }
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let nal_type = fu_header & 0x1F;
        if !matches!(nal_type, 1..=23) {
            return Err(DepacketizeError::InvalidNalType(nal_type));
        }
        if start {
            self.end_interrupted_fragment()?;
            // A start fragment that is also the end (forbidden by RFC 6184
            // 5.8 but harmless) is accepted as a whole NAL unit.
            self.append(&START_CODE)?;
            self.append(&[(indicator & 0xE0) | nal_type])?;
            if nal_type == NAL_IDR {
                self.au.keyframe = true;
            }
            self.au.fragment = Some(nal_type);
        } else {
            match self.au.fragment {
                Some(t) if t == nal_type => {}
                // Continuations of a fragment lost earlier: expected noise.
                None if self.au.corrupt => return Ok(()),
                Some(_) | None => {
                    self.au.fragment = None;
                    return Err(DepacketizeError::FuAWithoutStart);
                }
            }
        }
        self.append(data)?;
        if end {
            self.au.fragment = None;
        }
        Ok(())
    }

    fn append_nal(&mut self, nal: &[u8]) -> Result<(), DepacketizeError> {
        if nal[0] & 0x1F == NAL_IDR {
            self.au.keyframe = true;
        }
        self.append(&START_CODE)?;
        self.append(nal)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), DepacketizeError> {
        if self.au.corrupt {
            // Its data will never be handed out: don't store it.
            return Ok(());
        }
        let limit = self.config.max_access_unit_bytes;
        if self.au.buf.len() + bytes.len() > limit {
            self.au.too_large = true;
            self.au.corrupt = true;
            self.au.buf.clear();
            return Err(DepacketizeError::AccessUnitTooLarge { limit });
        }
        self.au.buf.extend_from_slice(bytes);
        Ok(())
    }
}

/// Why an access unit could not be packetized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketizeError {
    /// The access unit holds no NAL unit.
    #[error("access unit holds no NAL unit")]
    NoNalUnits,
    /// Bytes other than zeros precede the first start code.
    #[error("access unit does not begin with a start code")]
    MissingStartCode,
    /// The configured payload size is outside `3..=65535`.
    #[error("max payload size {0} outside 3..=65535")]
    InvalidMaxPayloadSize(usize),
}

/// Settings of an [`H264Packetizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264PacketizerConfig {
    /// Largest RTP payload emitted, in bytes (RTP header and SRTP tag not
    /// included). At least 3.
    pub max_payload_size: usize,
    /// Aggregate consecutive small NAL units (SPS + PPS, SEI…) into STAP-A
    /// packets when they fit together.
    pub aggregate: bool,
}

impl Default for H264PacketizerConfig {
    fn default() -> Self {
        Self {
            max_payload_size: DEFAULT_MAX_PAYLOAD_SIZE,
            aggregate: true,
        }
    }
}

/// Annex-B access units → RTP payloads (RFC 6184, packetization-mode 1).
///
/// NAL units that fit go out as single NAL unit packets (consecutive small ones
/// aggregated into STAP-A), bigger ones as FU-A fragments of even size. All
/// packets of an access unit share its timestamp, the last carries the marker
/// bit and sequence numbers continue across calls.
#[derive(Debug, Clone)]
pub struct H264Packetizer {
    config: H264PacketizerConfig,
    next_sequence: u16,
    nals: Vec<(usize, usize)>,
}

impl H264Packetizer {
    /// A packetizer whose first packet gets `initial_sequence` (pick it at
    /// random, RFC 3550 5.1).
    pub fn new(
        config: H264PacketizerConfig,
        initial_sequence: u16,
    ) -> Result<Self, PacketizeError> {
        if !(3..=usize::from(u16::MAX)).contains(&config.max_payload_size) {
            return Err(PacketizeError::InvalidMaxPayloadSize(
                config.max_payload_size,
            ));
        }
        Ok(Self {
            config,
            next_sequence: initial_sequence,
            nals: Vec::new(),
        })
    }

    /// The sequence number the next packet will get.
    pub fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// Packetizes one Annex-B access unit with RTP `timestamp` (90 kHz) into
    /// `out`, which is cleared first and whose memory is reused. On error
    /// `out` is empty and no sequence number is used.
    pub fn packetize(
        &mut self,
        access_unit: &[u8],
        timestamp: u32,
        out: &mut PacketBatch,
    ) -> Result<(), PacketizeError> {
        out.clear();
        split_annex_b(access_unit, &mut self.nals)?;
        let mtu = self.config.max_payload_size;
        let nals = &self.nals;
        let mut i = 0;
        while i < nals.len() {
            let (s, e) = nals[i];
            let nal = &access_unit[s..e];
            if nal.len() > mtu {
                fragment(nal, mtu, timestamp, &mut self.next_sequence, out);
                i += 1;
                continue;
            }
            if self.config.aggregate {
                let mut size = 1 + 2 + nal.len();
                let mut k = i + 1;
                while let Some(&(s2, e2)) = nals.get(k) {
                    if size + 2 + (e2 - s2) > mtu {
                        break;
                    }
                    size += 2 + (e2 - s2);
                    k += 1;
                }
                if k - i >= 2 {
                    // F is the OR of the F bits, NRI the highest NRI (5.7.1).
                    let (mut f, mut nri) = (0u8, 0u8);
                    for &(s2, _) in &nals[i..k] {
                        f |= access_unit[s2] & 0x80;
                        nri = nri.max(access_unit[s2] & 0x60);
                    }
                    out.data.push(f | nri | NAL_STAP_A);
                    for &(s2, e2) in &nals[i..k] {
                        // `e2 - s2 <= mtu <= 65535`, checked in `new`.
                        out.data
                            .extend_from_slice(&((e2 - s2) as u16).to_be_bytes());
                        out.data.extend_from_slice(&access_unit[s2..e2]);
                    }
                    out.finish_packet(next(&mut self.next_sequence), timestamp, false);
                    i = k;
                    continue;
                }
            }
            out.data.extend_from_slice(nal);
            out.finish_packet(next(&mut self.next_sequence), timestamp, false);
            i += 1;
        }
        out.set_last_marker();
        Ok(())
    }
}

fn next(seq: &mut u16) -> u16 {
    let s = *seq;
    *seq = s.wrapping_add(1);
    s
}

/// FU-A fragments of even size (the last one is not a runt).
fn fragment(nal: &[u8], mtu: usize, timestamp: u32, seq: &mut u16, out: &mut PacketBatch) {
    let header = nal[0];
    let body = &nal[1..];
    let room = mtu - 2;
    let count = body.len().div_ceil(room);
    let chunk = body.len().div_ceil(count);
    let indicator = (header & 0xE0) | NAL_FU_A;
    let nal_type = header & 0x1F;
    let last = body.len().div_ceil(chunk) - 1;
    for (n, piece) in body.chunks(chunk).enumerate() {
        let mut fu = nal_type;
        if n == 0 {
            fu |= 0x80;
        }
        if n == last {
            fu |= 0x40;
        }
        out.data.push(indicator);
        out.data.push(fu);
        out.data.extend_from_slice(piece);
        out.finish_packet(next(seq), timestamp, false);
    }
}

/// The NAL units of an Annex-B byte stream, as `(start, end)` ranges without
/// start codes or trailing zero bytes.
fn split_annex_b(data: &[u8], nals: &mut Vec<(usize, usize)>) -> Result<(), PacketizeError> {
    nals.clear();
    let mut current: Option<usize> = None;
    let mut i = 0;
    while i + 3 <= data.len() {
        // Skip 8 bytes at a time while they hold no zero byte (no start code
        // can begin there): slice data rarely contains zeros.
        if let Some(word) = data.get(i..i + 8) {
            let w = u64::from_ne_bytes(word.try_into().unwrap_or([0; 8]));
            if w.wrapping_sub(0x0101_0101_0101_0101) & !w & 0x8080_8080_8080_8080 == 0 {
                i += 8;
                continue;
            }
        }
        match data[i + 2] {
            1 if data[i] == 0 && data[i + 1] == 0 => {
                match current {
                    Some(s) => push_nal(data, s, i, nals),
                    None if data[..i].iter().any(|&b| b != 0) => {
                        return Err(PacketizeError::MissingStartCode);
                    }
                    None => {}
                }
                i += 3;
                current = Some(i);
            }
            0 => i += 1,
            _ => i += 3,
        }
    }
    match current {
        Some(s) => push_nal(data, s, data.len(), nals),
        None if data.iter().any(|&b| b != 0) => return Err(PacketizeError::MissingStartCode),
        None => {}
    }
    if nals.is_empty() {
        return Err(PacketizeError::NoNalUnits);
    }
    Ok(())
}

fn push_nal(data: &[u8], start: usize, mut end: usize, nals: &mut Vec<(usize, usize)>) {
    while end > start && data[end - 1] == 0 {
        end -= 1;
    }
    if end > start {
        nals.push((start, end));
    }
}

impl RtpPayload<'_> {
    /// The NAL unit type in the first payload byte (24 = STAP-A, 28 = FU-A),
    /// if the payload is not empty.
    pub fn h264_nal_type(&self) -> Option<u8> {
        self.payload.first().map(|b| b & 0x1F)
    }
}

/// The caller's timer for keyframe requests (PLI) to one sender: the first
/// on [`DepacketizeEvent::NeedKeyframe`], then again every
/// [`REPEAT`](Self::REPEAT) while the depacketizer still waits, because the
/// request, or the keyframe it brings, can be lost (on a lossy uplink most
/// keyframes lose a packet). Sans-IO: `now` is an input.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyframeRequests {
    last: Option<Instant>,
}

impl KeyframeRequests {
    /// How often a request is repeated while the keyframe does not come.
    pub const REPEAT: Duration = Duration::from_millis(500);

    /// Records a request sent at `now` (on `NeedKeyframe`).
    pub fn sent(&mut self, now: Instant) {
        self.last = Some(now);
    }

    /// Whether to send another request at `now`, while `awaiting` a
    /// keyframe ([`H264Depacketizer::awaiting_keyframe`]); records it if so.
    pub fn repeat_due(&mut self, now: Instant, awaiting: bool) -> bool {
        let due = awaiting
            && self
                .last
                .is_none_or(|t| now.saturating_duration_since(t) >= Self::REPEAT);
        if due {
            self.sent(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_requests_repeat_every_half_second_while_awaiting() {
        // Any origin: only differences matter.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut k = KeyframeRequests::default();
        assert!(!k.repeat_due(at(0), false), "nothing awaited");
        k.sent(at(0));
        assert!(!k.repeat_due(at(499), true));
        assert!(k.repeat_due(at(500), true));
        assert!(!k.repeat_due(at(900), true));
        assert!(!k.repeat_due(at(2000), false), "the keyframe came");
        assert!(k.repeat_due(at(2001), true));
        // Awaiting with no request sent yet: ask at once.
        assert!(KeyframeRequests::default().repeat_due(at(3), true));
    }

    #[test]
    fn split_handles_3_and_4_byte_start_codes_and_trailing_zeros() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 0,
        ];
        let mut nals = Vec::new();
        split_annex_b(&data, &mut nals).unwrap();
        let got: Vec<&[u8]> = nals.iter().map(|&(s, e)| &data[s..e]).collect();
        assert_eq!(got, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4]]);
        assert_eq!(
            split_annex_b(&[9, 0, 0, 1, 0x65], &mut nals),
            Err(PacketizeError::MissingStartCode)
        );
        assert_eq!(
            split_annex_b(&[0, 0, 0, 1], &mut nals),
            Err(PacketizeError::NoNalUnits)
        );
        assert_eq!(
            split_annex_b(&[], &mut nals),
            Err(PacketizeError::NoNalUnits)
        );
    }

    #[test]
    fn fragments_are_even_and_fit() {
        let mut nal = vec![0x65];
        nal.extend((0..2500u32).map(|i| (i % 251) as u8 + 1));
        let mut au = START_CODE.to_vec();
        au.extend_from_slice(&nal);
        let mut p = H264Packetizer::new(
            H264PacketizerConfig {
                max_payload_size: 1000,
                aggregate: true,
            },
            7,
        )
        .unwrap();
        let mut out = PacketBatch::new();
        p.packetize(&au, 90, &mut out).unwrap();
        let sizes: Vec<usize> = out.iter().map(|p| p.payload.len()).collect();
        assert_eq!(sizes, vec![836, 836, 834]);
        assert_eq!(p.next_sequence(), 10);
    }
}
