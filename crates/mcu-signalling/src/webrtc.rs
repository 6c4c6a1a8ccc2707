//! Both sides of one WebRTC call: ICE, DTLS-SRTP and RTP over the sans-IO
//! [`rtc`] crate (webrtc-rs), with H.264 and Opus on the media side. The
//! MCU answers ([`ServerSession`]); the synthetic endpoint offers
//! ([`ClientSession`], like a browser). Both are [`Session`] with a role
//! marker and differ only in the offer/answer step.
//!
//! A [`ServerSession`] is one browser's peer connection. It owns no socket
//! and reads no clock: the caller binds one UDP socket, feeds every datagram
//! to [`ServerSession::handle_receive`], sends what
//! [`ServerSession::poll_transmit`] returns, drives timers with
//! [`ServerSession::poll_timeout`] / [`ServerSession::handle_timeout`] and
//! drains [`ServerSession::poll_event`]. All of that fits the MCU's one
//! thread per conference: no async runtime, no internal threads.
//!
//! ```text
//! browser offer ──► accept_offer ──► answer (host candidate = config.host_addr)
//! UDP in  ──► handle_receive ──► poll_event: Connected, VideoRtp, AudioRtp, KeyframeRequested…
//! send_video_access_unit / send_audio ──► poll_transmit ──► UDP out
//! ```
//!
//! Negotiated media: one video m-line with H.264 packetization-mode 1,
//! constrained baseline `profile-level-id=42e01f`, and one audio m-line with
//! Opus 48000/2, both `sendrecv`. The offer must be DTLS-SRTP
//! (`UDP/TLS/RTP/SAVPF` with an `a=fingerprint`), which is the only thing
//! browsers offer anyway; plain RTP offers are refused.
//!
//! Source-address validation: `rtc` answers STUN from any address (the ICE
//! agent authenticates it with the short-term credentials), drops every
//! non-STUN datagram until ICE has selected a candidate pair, but **after
//! that it passes DTLS/SRTP from any address** to the DTLS/SRTP layers (it
//! only relies on the cryptography). This session adds the missing check:
//! non-STUN datagrams are accepted only from remote addresses that ICE
//! validated (one of our Binding requests to that address got a success
//! response from it), everything else is dropped and counted
//! ([`ServerSession::dropped_unvalidated`]). It cannot be "the selected
//! pair only": Chromium, controlling, may send from another valid pair than
//! the one `rtc`, controlled, selected (seen on this machine).
//!
//! Received media comes out as RTP payloads with their header fields
//! ([`MediaPacket`]); feed them to the [`crate::rtp`] jitter buffer and
//! depacketizers. Padding-only packets come out with an empty payload: they
//! use sequence numbers, so the depacketizer must see them (it skips them).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rtc::interceptor::{
    Attribute, CongestionControlBuilder, Gcc, Interceptor, NackGeneratorBuilder,
    NackResponderBuilder, Packet as InterceptorPacket, Registry, Slot, StreamInfo, TaggedPacket,
    TwccSenderBuilder,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MediaEngine,
};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use crate::rtp::{H264Packetizer, H264PacketizerConfig, PacketBatch, PacketizeError};

/// The H.264 format this server sends and receives (RFC 6184 fmtp).
pub const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/// The Opus format parameters offered back to the browser.
pub const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

/// Where the send-side bandwidth estimate starts: above the highest
/// bitrate class of a 720p view, so a new viewer is not held back while the
/// estimate would ramp up; it falls as soon as the path shows congestion.
const INITIAL_ESTIMATE_BPS: f64 = 4_000_000.0;

/// Largest H.264 RTP payload sent: leaves room for the RTP header, header
/// extensions and the SRTP tag under a 1200-byte datagram.
const VIDEO_MAX_PAYLOAD: usize = 1100;

/// Settings of a [`ServerSession`] or a [`ClientSession`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The address the caller's UDP socket is bound to; advertised as the
    /// only (host) ICE candidate. Must be a concrete address, not `0.0.0.0`.
    pub host_addr: SocketAddr,
    /// Randomness for the outgoing SSRCs and initial sequence numbers (the
    /// session reads no random source itself): pass a random value.
    pub seed: u64,
    /// The address the other side reaches `host_addr` at, behind a 1:1 NAT
    /// that keeps ports (the MCU's public address): advertised as a second
    /// candidate with the same port.
    pub public_ip: Option<IpAddr>,
}

/// Settings of a [`ServerSession`] (the name it had before the client side existed).
pub type ServerSessionConfig = SessionConfig;
/// Settings of a [`ClientSession`].
pub type ClientSessionConfig = SessionConfig;

impl SessionConfig {
    /// A configuration advertising `host_addr`, with `seed` as randomness.
    pub fn new(host_addr: SocketAddr, seed: u64) -> Self {
        Self {
            host_addr,
            seed,
            public_ip: None,
        }
    }

    /// Also advertises `ip` (the public address of a 1:1 NAT) with the same port.
    pub fn with_public_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.public_ip = ip;
        self
    }
}

/// Why a [`ServerSession`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The WebRTC stack refused an operation (bad SDP, state machine, I/O
    /// bookkeeping…).
    #[error("webrtc: {0}")]
    Rtc(#[from] rtc::shared::error::Error),
    /// The offer is not DTLS-SRTP (`UDP/TLS/RTP/SAVPF` with a fingerprint).
    #[error("offer is not DTLS-SRTP: {0}")]
    NotDtlsSrtp(&'static str),
    /// Negotiation ended without the codec this server needs.
    #[error("no common codec: {0}")]
    NoCommonCodec(&'static str),
    /// `accept_offer` was called twice, or media was sent before it.
    #[error("wrong state: {0}")]
    State(&'static str),
    /// The access unit could not be packetized.
    #[error("packetize: {0}")]
    Packetize(#[from] PacketizeError),
}

/// One received RTP packet: header fields and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (90 kHz for video, 48 kHz for audio).
    pub timestamp: u32,
    /// RTP marker bit (last packet of an access unit, for video).
    pub marker: bool,
    /// The payload (RTP header, extensions and padding removed); empty for
    /// a padding-only packet.
    pub payload: Vec<u8>,
}

/// What happened in a [`ServerSession`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// ICE and DTLS are up: SRTP media can flow both ways.
    Connected,
    /// Connectivity was lost (consent checks failing); may come back as
    /// [`SessionEvent::Connected`].
    Disconnected,
    /// The connection failed or was closed for good.
    Failed,
    /// An H.264 RTP packet from the browser.
    VideoRtp(MediaPacket),
    /// An Opus RTP packet from the browser.
    AudioRtp(MediaPacket),
    /// The browser asked for a keyframe on our video (RTCP PLI or FIR).
    KeyframeRequested,
    /// The send-side bandwidth estimate of the path to the other side
    /// changed (transport-wide congestion control: the other side reports
    /// when each of our packets arrived, GCC turns that into a rate).
    BandwidthEstimate {
        /// The estimate, bit/s.
        bits_per_second: u64,
    },
    /// The other side's reception report on our video: the fraction of our
    /// packets lost since its previous report.
    VideoLossReport {
        /// Lost fraction in 256ths (RFC 3550's 8-bit fixed point).
        fraction_lost: u8,
    },
}

/// The answering side (the MCU): see [`ServerSession`].
#[derive(Debug)]
pub enum Answerer {}

/// The offering side (a synthetic endpoint, a test client): see [`ClientSession`].
#[derive(Debug)]
pub enum Offerer {}

/// Either role once the offer/answer exchange is done: a daemon keeps the
/// sessions it answered and the ones it offered (cascade trunks to its
/// parent) side by side. See [`Session::into_negotiated`].
#[derive(Debug)]
pub enum Negotiated {}

/// One WebRTC peer connection with one H.264 and one Opus track each way,
/// sans-IO. `R` is the role in the offer/answer exchange ([`Answerer`] or
/// [`Offerer`]); everything after the exchange (ICE, DTLS-SRTP, media,
/// keyframe requests, source-address validation) is the same code for both.
///
/// See the [module documentation](self) for the call pattern.
pub struct Session<R> {
    pc: RTCPeerConnection,
    local_addr: SocketAddr,
    public_ip: Option<IpAddr>,
    video_sender: RTCRtpSenderId,
    audio_sender: RTCRtpSenderId,
    video_ssrc: u32,
    audio_ssrc: u32,
    video_pt: Option<u8>,
    audio_pt: Option<u8>,
    track_kinds: HashMap<String, (RtpCodecKind, RTCRtpReceiverId)>,
    video_receiver: Option<(RTCRtpReceiverId, u32)>,
    selected_remote_addr: Option<SocketAddr>,
    validation: PathValidation,
    dropped_unvalidated: u64,
    /// Trickled candidates taken so far (bounded by
    /// [`MAX_REMOTE_CANDIDATES`]).
    remote_candidates: usize,
    connected: bool,
    /// An offer was made or accepted: the session's one negotiation is spent.
    negotiated: bool,
    events: VecDeque<SessionEvent>,
    /// The congestion controller's latest target, handed over by
    /// [`FeedbackToApplication`] (0: no change since the last read).
    estimate: SharedEstimate,
    packetizer: H264Packetizer,
    batch: PacketBatch,
    audio_sequence: u16,
    role: std::marker::PhantomData<R>,
}

/// One browser's WebRTC peer connection, server side (answers its offer).
pub type ServerSession = Session<Answerer>;

/// A WebRTC peer connection, client side: makes the offer the MCU answers,
/// as a browser does. Used by the synthetic endpoint (`mcu-endpoint`).
///
/// ```text
/// create_offer ──► (signalling) ──► accept_answer ──► ICE (controlling), DTLS-SRTP
/// ```
pub type ClientSession = Session<Offerer>;

impl<R> std::fmt::Debug for Session<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("local_addr", &self.local_addr)
            .field("video_ssrc", &self.video_ssrc)
            .field("audio_ssrc", &self.audio_ssrc)
            .field("video_pt", &self.video_pt)
            .field("audio_pt", &self.audio_pt)
            .field("selected_remote_addr", &self.selected_remote_addr)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

/// How many times a missing video packet is asked for (RTCP NACK).
const NACK_TRIES: u16 = 2;

fn video_codec() -> RTCRtpCodecParameters {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: H264_FMTP.to_owned(),
            rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
        },
        payload_type: 102,
    }
}

fn audio_codec() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: OPUS_FMTP.to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

/// Application-most position of [`FeedbackToApplication`] (past the
/// jitter buffer at 13 000, the last named slot).
const FEEDBACK_SLOT: usize = 20_000;

/// What the congestion controller last said, shared between
/// [`FeedbackToApplication`] (inside the interceptor chain, out of reach
/// once built) and its session. `0`: nothing new since the session read it.
type SharedEstimate = std::sync::Arc<std::sync::atomic::AtomicU64>;

/// Lets RTCP feedback reach the application.
///
/// `rtc` 0.21.1 ends every inbound RTCP packet at the interceptor chain's
/// terminus unless an interceptor marks it
/// [`Attribute::DeliverToApplication`]; without this, keyframe requests
/// from the other side never became [`SessionEvent::KeyframeRequested`]
/// (found with the client session: neither side saw the other's PLIs).
/// PLI and FIR are marked, and receiver and sender reports (after the
/// report interceptors used them) for their loss figures. The congestion
/// controller's new target rides on the feedback packet that moved it
/// ([`Attribute::TargetBitrateChanged`]); it is handed over through
/// [`SharedEstimate`].
struct FeedbackToApplication {
    estimate: SharedEstimate,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackToApplication {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) =
            msg.message.get(&Attribute::TargetBitrateChanged {
                bits_per_second: 0.0,
            })
        {
            let bps = (*bits_per_second).max(1.0) as u64;
            self.estimate
                .store(bps, std::sync::atomic::Ordering::Relaxed);
        }
        if let InterceptorPacket::Rtcp(packets) = &msg.message.packet {
            let wanted = packets.iter().any(|p| {
                let any = p.as_any();
                any.is::<PictureLossIndication>()
                    || any.is::<FullIntraRequest>()
                    || any.is::<ReceiverReport>()
                    || any.is::<SenderReport>()
            });
            if wanted {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackToApplication {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// SplitMix64: spreads the caller's seed over SSRCs and sequence numbers.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whether the datagram is STUN (RFC 7983 demultiplexing: first byte 0..=3).
fn is_stun(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| *b <= 3)
}

/// STUN magic cookie (RFC 5389).
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Outstanding binding requests remembered for matching responses.
const MAX_PENDING_CHECKS: usize = 64;
/// Validated remote addresses remembered (one per candidate pair that
/// succeeded; a browser has a handful).
const MAX_VALIDATED: usize = 16;
/// Most trickled candidates one session takes: each is an address ICE sends
/// checks to, and a browser gathers a handful.
pub const MAX_REMOTE_CANDIDATES: usize = 32;

/// The STUN message type and transaction id, if `bytes` is a STUN message.
fn stun_header(bytes: &[u8]) -> Option<(u16, [u8; 12])> {
    if bytes.len() < 20 || !is_stun(bytes) || bytes[4..8] != STUN_MAGIC_COOKIE {
        return None;
    }
    let typ = u16::from_be_bytes([bytes[0], bytes[1]]);
    let mut txid = [0u8; 12];
    txid.copy_from_slice(&bytes[8..20]);
    Some((typ, txid))
}

/// Which remote addresses ICE has validated: an address is validated once
/// one of our connectivity checks (Binding request) sent to it got a success
/// response from it (RFC 8445 7.2.5.3: the pair is valid). `rtc` verifies the
/// response's MESSAGE-INTEGRITY; here the 96-bit random transaction id ties
/// the response to the request we sent to that very address.
///
/// This is not just "the selected pair": Chromium (controlling) may move its
/// traffic to another valid pair than the one `rtc` (controlled) selected,
/// e.g. send DTLS from its 192.0.2.x interface to our 127.0.0.1 socket while
/// `rtc` selected the 127.0.0.1 ↔ 127.0.0.1 pair.
#[derive(Debug, Default)]
struct PathValidation {
    pending: VecDeque<(SocketAddr, [u8; 12])>,
    validated: VecDeque<SocketAddr>,
}

impl PathValidation {
    fn on_stun_sent(&mut self, dest: SocketAddr, bytes: &[u8]) {
        // 0x0001: Binding request.
        if let Some((0x0001, txid)) = stun_header(bytes) {
            if self.pending.len() == MAX_PENDING_CHECKS {
                self.pending.pop_front();
            }
            self.pending.push_back((dest, txid));
        }
    }

    fn on_stun_received(&mut self, from: SocketAddr, bytes: &[u8]) {
        // 0x0101: Binding success response.
        let Some((0x0101, txid)) = stun_header(bytes) else {
            return;
        };
        let Some(i) = self
            .pending
            .iter()
            .position(|(dest, t)| *dest == from && *t == txid)
        else {
            return;
        };
        self.pending.remove(i);
        if !self.validated.contains(&from) {
            if self.validated.len() == MAX_VALIDATED {
                self.validated.pop_front();
            }
            self.validated.push_back(from);
        }
    }

    fn is_validated(&self, from: SocketAddr) -> bool {
        self.validated.contains(&from)
    }
}

/// Checks that an SDP offer is DTLS-SRTP: every media section uses a
/// `UDP/TLS/RTP/SAVPF` (or `…/SAVP`) profile and a fingerprint is present.
fn check_dtls_srtp(sdp: &str) -> Result<(), SessionError> {
    let mut media = 0;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            media += 1;
            let proto = m.split_whitespace().nth(2).unwrap_or("");
            if !proto.contains("TLS/RTP/SAVP") && !proto.contains("DTLS/SCTP") {
                return Err(SessionError::NotDtlsSrtp(
                    "a media section is not UDP/TLS/RTP/SAVPF",
                ));
            }
        }
    }
    if media == 0 {
        return Err(SessionError::NotDtlsSrtp("no media section"));
    }
    if !sdp.lines().any(|l| l.starts_with("a=fingerprint:")) {
        return Err(SessionError::NotDtlsSrtp("no a=fingerprint"));
    }
    Ok(())
}

impl<R> Session<R> {
    /// The same session with its role forgotten: everything after the
    /// offer/answer exchange is common to both roles.
    pub fn into_negotiated(self) -> Session<Negotiated> {
        Session {
            pc: self.pc,
            local_addr: self.local_addr,
            public_ip: self.public_ip,
            video_sender: self.video_sender,
            audio_sender: self.audio_sender,
            video_ssrc: self.video_ssrc,
            audio_ssrc: self.audio_ssrc,
            video_pt: self.video_pt,
            audio_pt: self.audio_pt,
            track_kinds: self.track_kinds,
            video_receiver: self.video_receiver,
            selected_remote_addr: self.selected_remote_addr,
            validation: self.validation,
            dropped_unvalidated: self.dropped_unvalidated,
            remote_candidates: self.remote_candidates,
            connected: self.connected,
            negotiated: self.negotiated,
            events: self.events,
            estimate: self.estimate,
            packetizer: self.packetizer,
            batch: self.batch,
            audio_sequence: self.audio_sequence,
            role: std::marker::PhantomData,
        }
    }

    /// A peer connection with a fresh DTLS certificate and one outgoing
    /// video (H.264) and audio (Opus) track; the role-specific `new` wraps it.
    fn build(now: Instant, config: SessionConfig) -> Result<Self, SessionError> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(video_codec(), RtpCodecKind::Video)?;
        media_engine.register_codec(audio_codec(), RtpCodecKind::Audio)?;
        let estimate = SharedEstimate::default();
        // Send-side congestion control without a pacer: the estimate picks
        // the viewer's bitrate class (the encoder is shared by a group, so
        // pacing one viewer's packets would only queue them). The TWCC
        // header extension and the receiver half are among the defaults.
        // `rtc`'s defaults (NACK, reports, the TWCC receiver), except that a
        // missing packet is asked for at most NACK_TRIES times: the default
        // asks every 100 ms until it arrives, and on a congested line whose
        // queue holds half a second each loss came back five times, the
        // retransmissions filling the line that had lost it.
        configure_simulcast_extension_headers(&mut media_engine)?;
        let registry = Registry::new()
            .with(Slot::NackResponder, NackResponderBuilder::new().build())
            .with(
                Slot::NackGenerator,
                NackGeneratorBuilder::new()
                    .with_max_nacks_per_packet(NACK_TRIES)
                    .build(),
            );
        let registry =
            configure_rtcp_reports(configure_twcc_receiver_only(registry, &mut media_engine)?)
                .with(Slot::TwccSender, TwccSenderBuilder::new().build())
                .with(
                    Slot::CongestionControl,
                    CongestionControlBuilder::new(Gcc::new(
                        INITIAL_ESTIMATE_BPS,
                        rtc::interceptor::GCC_MIN_BITRATE,
                        rtc::interceptor::GCC_MAX_BITRATE,
                    ))
                    .build(),
                )
                .with(
                    Slot::Custom(FEEDBACK_SLOT),
                    FeedbackToApplication {
                        estimate: estimate.clone(),
                        read: VecDeque::new(),
                        write: VecDeque::new(),
                    },
                );
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .build(now)?;

        let mut seed = config.seed;
        let video_ssrc = splitmix(&mut seed) as u32;
        let audio_ssrc = splitmix(&mut seed) as u32;
        let video_seq = splitmix(&mut seed) as u16;
        let audio_sequence = splitmix(&mut seed) as u16;

        let track = |kind: RtpCodecKind, ssrc: u32, codec: RTCRtpCodec| {
            MediaStreamTrack::new(
                "mcu".to_owned(),
                format!("mcu-{kind}"),
                format!("mcu-{kind}"),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            )
        };
        let video_sender = pc.add_track(track(
            RtpCodecKind::Video,
            video_ssrc,
            video_codec().rtp_codec,
        ))?;
        let audio_sender = pc.add_track(track(
            RtpCodecKind::Audio,
            audio_ssrc,
            audio_codec().rtp_codec,
        ))?;

        let packetizer = H264Packetizer::new(
            H264PacketizerConfig {
                max_payload_size: VIDEO_MAX_PAYLOAD,
                aggregate: true,
            },
            video_seq,
        )?;
        Ok(Self {
            pc,
            local_addr: config.host_addr,
            public_ip: config.public_ip,
            video_sender,
            audio_sender,
            video_ssrc,
            audio_ssrc,
            video_pt: None,
            audio_pt: None,
            track_kinds: HashMap::new(),
            video_receiver: None,
            selected_remote_addr: None,
            validation: PathValidation::default(),
            dropped_unvalidated: 0,
            remote_candidates: 0,
            connected: false,
            negotiated: false,
            events: VecDeque::new(),
            estimate,
            packetizer,
            batch: PacketBatch::new(),
            audio_sequence,
            role: std::marker::PhantomData,
        })
    }

    /// Adds the host candidate (the caller's socket address) to the local
    /// description, and the public address with the same port when one is
    /// configured, so the offer or answer carries them: no trickle needed.
    fn add_host_candidate(&mut self) -> Result<(), SessionError> {
        let port = self.local_addr.port();
        let public = self.public_ip.filter(|ip| *ip != self.local_addr.ip());
        for ip in std::iter::once(self.local_addr.ip()).chain(public) {
            let candidate = CandidateHostConfig {
                base_config: CandidateConfig {
                    network: "udp".to_owned(),
                    address: ip.to_string(),
                    port,
                    component: 1,
                    ..Default::default()
                },
                ..Default::default()
            }
            .new_candidate_host()?;
            self.pc
                .add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
        }
        Ok(())
    }

    /// After the exchange: the payload types negotiated for H.264 (mode 1)
    /// and Opus, or which one is missing.
    fn check_negotiated_codecs(&mut self) -> Result<(), SessionError> {
        self.video_pt = self.sender_payload_type(self.video_sender, MIME_TYPE_H264);
        self.audio_pt = self.sender_payload_type(self.audio_sender, MIME_TYPE_OPUS);
        if self.video_pt.is_none() {
            return Err(SessionError::NoCommonCodec(
                "H.264 packetization-mode=1 profile-level-id=42e01f",
            ));
        }
        if self.audio_pt.is_none() {
            return Err(SessionError::NoCommonCodec("Opus 48000/2"));
        }
        Ok(())
    }
}

impl ServerSession {
    /// A session that will answer one offer, with a fresh DTLS certificate
    /// and one outgoing video (H.264) and audio (Opus) track.
    pub fn new(now: Instant, config: ServerSessionConfig) -> Result<Self, SessionError> {
        Self::build(now, config)
    }

    /// Takes the browser's offer and returns the answer SDP (complete: it
    /// carries the host candidate, no trickle needed). The offer's own
    /// candidates are used, and those the browser trickles afterwards
    /// ([`Session::add_remote_candidate`]).
    ///
    /// One offer per session: after a failure past the DTLS-SRTP check the
    /// session is spent. Errors: [`SessionError::NotDtlsSrtp`] (nothing
    /// changed, may retry), [`SessionError::NoCommonCodec`], or `rtc`'s.
    pub fn accept_offer(&mut self, now: Instant, offer_sdp: &str) -> Result<String, SessionError> {
        if self.negotiated {
            return Err(SessionError::State("offer already accepted"));
        }
        check_dtls_srtp(offer_sdp)?;
        // From here on the peer connection holds this offer: one per session.
        self.negotiated = true;
        let offer = RTCSessionDescription::offer(offer_sdp.to_owned())?;
        self.pc.set_remote_description(now, offer)?;
        self.add_host_candidate()?;
        let answer = self.pc.create_answer(None)?;
        self.pc.set_local_description(now, answer)?;
        let answer = self
            .pc
            .local_description()
            .ok_or(SessionError::State("no local description after answering"))?;
        self.check_negotiated_codecs()?;
        Ok(answer.sdp)
    }
}

impl ClientSession {
    /// A session that will make one offer (sendrecv H.264 mode 1
    /// constrained baseline + Opus, bundled, rtcp-mux, DTLS-SRTP), with a
    /// fresh DTLS certificate. It is the ICE controlling agent.
    pub fn new(now: Instant, config: ClientSessionConfig) -> Result<Self, SessionError> {
        Self::build(now, config)
    }

    /// The offer SDP, complete with the host candidate (no trickle). One
    /// offer per session.
    pub fn create_offer(&mut self, now: Instant) -> Result<String, SessionError> {
        if self.negotiated {
            return Err(SessionError::State("offer already made"));
        }
        self.negotiated = true;
        self.add_host_candidate()?;
        let offer = self.pc.create_offer(None)?;
        self.pc.set_local_description(now, offer)?;
        let offer = self
            .pc
            .local_description()
            .ok_or(SessionError::State("no local description after offering"))?;
        Ok(offer.sdp)
    }

    /// Takes the MCU's answer to [`ClientSession::create_offer`]; its
    /// candidates start ICE. Errors: [`SessionError::State`] (no offer
    /// made, or answered already), [`SessionError::NotDtlsSrtp`],
    /// [`SessionError::NoCommonCodec`], or `rtc`'s.
    pub fn accept_answer(&mut self, now: Instant, answer_sdp: &str) -> Result<(), SessionError> {
        if !self.negotiated || self.pc.remote_description().is_some() {
            return Err(SessionError::State("no offer outstanding"));
        }
        check_dtls_srtp(answer_sdp)?;
        let answer = RTCSessionDescription::answer(answer_sdp.to_owned())?;
        self.pc.set_remote_description(now, answer)?;
        self.check_negotiated_codecs()
    }
}

impl<R> Session<R> {
    /// The payload type negotiated for `mime` on a sender (for H.264, only
    /// packetization-mode 1: the packetizer makes FU-A and STAP-A).
    fn sender_payload_type(&mut self, id: RTCRtpSenderId, mime: &str) -> Option<u8> {
        let mut sender = self.pc.rtp_sender(id)?;
        let codecs = &sender.get_parameters().rtp_parameters.codecs;
        codecs
            .iter()
            .filter(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
            .find(|c| {
                mime != MIME_TYPE_H264 || c.rtp_codec.sdp_fmtp_line.contains("packetization-mode=1")
            })
            .map(|c| c.payload_type)
    }

    /// The remote address of ICE's selected candidate pair, if any.
    fn selected_remote(&mut self) -> Option<SocketAddr> {
        let sender = self.pc.rtp_sender(self.video_sender)?;
        let pair = sender
            .transport()?
            .ice_transport()
            .get_selected_candidate_pair()?;
        let ip: IpAddr = pair.remote().address.parse().ok()?;
        Some(SocketAddr::new(ip, pair.remote().port))
    }

    /// The RTP payload type of the negotiated H.264 video, once known.
    pub fn video_payload_type(&self) -> Option<u8> {
        self.video_pt
    }

    /// Adds an ICE candidate the other side trickled after its offer or
    /// answer (`candidate:…` attribute, with or without `a=`). An empty
    /// candidate (the end of a gathering) changes nothing. ICE then checks
    /// the address too; media still flows only from validated addresses.
    pub fn add_remote_candidate(
        &mut self,
        candidate: &str,
        username_fragment: Option<&str>,
    ) -> Result<(), SessionError> {
        if !self.negotiated {
            return Err(SessionError::State("candidate before the offer/answer"));
        }
        let candidate = candidate.strip_prefix("a=").unwrap_or(candidate).trim();
        if candidate.is_empty() {
            return Ok(());
        }
        if self.remote_candidates == MAX_REMOTE_CANDIDATES {
            return Err(SessionError::State("too many trickled candidates"));
        }
        self.pc.add_remote_candidate(RTCIceCandidateInit {
            candidate: candidate.to_owned(),
            username_fragment: username_fragment.map(str::to_owned),
            ..Default::default()
        })?;
        self.remote_candidates += 1;
        Ok(())
    }

    /// Non-STUN datagrams dropped because they came from an address ICE has
    /// not validated.
    pub fn dropped_unvalidated(&self) -> u64 {
        self.dropped_unvalidated
    }

    /// The remote address of the candidate pair ICE selected, once
    /// connected (what [`ServerSession::poll_transmit`] sends media to).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.selected_remote_addr
    }

    /// Whether the session is connected (ICE + DTLS-SRTP up).
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Feeds one UDP datagram received from `from` on the socket bound to
    /// the configured host address.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
    ) -> Result<(), SessionError> {
        if is_stun(bytes) {
            self.validation.on_stun_received(from, bytes);
        } else if !self.validation.is_validated(from) {
            self.dropped_unvalidated += 1;
            return Ok(());
        }
        self.pc.handle_read(TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: bytes.into(),
        })?;
        Ok(())
    }

    /// The next datagram to send from the caller's socket: destination and
    /// bytes.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        loop {
            let out = self.pc.poll_write()?;
            if out.transport.transport_protocol == TransportProtocol::UDP {
                let dest = out.transport.peer_addr;
                if is_stun(&out.message) {
                    self.validation.on_stun_sent(dest, &out.message);
                }
                return Some((dest, out.message.to_vec()));
            }
        }
    }

    /// When [`ServerSession::handle_timeout`] must be called next.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }

    /// Runs the timers due at `now` (ICE checks and consent, DTLS
    /// retransmits, RTCP reports, NACK).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        self.pc.handle_timeout(now)?;
        Ok(())
    }

    /// The next event, after pumping the peer connection.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        while let Some(event) = self.pc.poll_event() {
            self.on_pc_event(event);
        }
        while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
            self.on_message(message);
        }
        let bits_per_second = self.estimate.swap(0, std::sync::atomic::Ordering::Relaxed);
        if bits_per_second > 0 {
            self.events
                .push_back(SessionEvent::BandwidthEstimate { bits_per_second });
        }
        self.events.pop_front()
    }

    fn on_pc_event(&mut self, event: RTCPeerConnectionEvent) {
        match event {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => match state {
                RTCPeerConnectionState::Connected if !self.connected => {
                    self.connected = true;
                    self.selected_remote_addr = self.selected_remote();
                    self.events.push_back(SessionEvent::Connected);
                }
                RTCPeerConnectionState::Disconnected if self.connected => {
                    self.connected = false;
                    self.events.push_back(SessionEvent::Disconnected);
                }
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                    self.connected = false;
                    self.events.push_back(SessionEvent::Failed);
                }
                _ => {}
            },
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                let kind = self
                    .pc
                    .rtp_receiver(init.receiver_id)
                    .map(|r| r.track().kind());
                if let Some(kind) = kind {
                    self.track_kinds
                        .insert(init.track_id, (kind, init.receiver_id));
                }
            }
            _ => {}
        }
    }

    fn on_message(&mut self, message: RTCMessage) {
        match message {
            RTCMessage::RtpPacket(track_id, packet) => {
                let media = MediaPacket {
                    sequence: packet.header.sequence_number,
                    timestamp: packet.header.timestamp,
                    marker: packet.header.marker,
                    payload: packet.payload.to_vec(),
                };
                match self.track_kinds.get(&track_id) {
                    Some((RtpCodecKind::Video, receiver)) => {
                        self.video_receiver = Some((*receiver, packet.header.ssrc));
                        self.events.push_back(SessionEvent::VideoRtp(media));
                    }
                    Some((RtpCodecKind::Audio, _)) => {
                        self.events.push_back(SessionEvent::AudioRtp(media))
                    }
                    _ => {}
                }
            }
            RTCMessage::RtcpPacket(_, packets) => {
                let wants_keyframe = packets.iter().any(|p| {
                    let any = p.as_any();
                    any.downcast_ref::<PictureLossIndication>()
                        .is_some_and(|pli| pli.media_ssrc == self.video_ssrc)
                        || any
                            .downcast_ref::<FullIntraRequest>()
                            .is_some_and(|fir| fir.fir.iter().any(|e| e.ssrc == self.video_ssrc))
                });
                if wants_keyframe {
                    self.events.push_back(SessionEvent::KeyframeRequested);
                }
                let video_ssrc = self.video_ssrc;
                let on_our_video = |reports: &[ReceptionReport]| {
                    reports
                        .iter()
                        .find(|r| r.ssrc == video_ssrc)
                        .map(|r| r.fraction_lost)
                };
                for p in &packets {
                    let any = p.as_any();
                    let fraction_lost = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                        on_our_video(&rr.reports)
                    } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                        on_our_video(&sr.reports)
                    } else {
                        None
                    };
                    if let Some(fraction_lost) = fraction_lost {
                        self.events
                            .push_back(SessionEvent::VideoLossReport { fraction_lost });
                    }
                }
            }
            _ => {}
        }
    }

    /// The latest round-trip time measured on the ICE path (STUN
    /// connectivity and consent checks), if one has been measured yet.
    pub fn round_trip_time(&mut self, now: Instant) -> Option<Duration> {
        let report = self.pc.get_stats(now, rtc::statistics::StatsSelector::None);
        report
            .candidate_pairs()
            .filter(|p| p.current_round_trip_time > 0.0)
            .max_by_key(|p| p.responses_received)
            .and_then(|p| Duration::try_from_secs_f64(p.current_round_trip_time).ok())
    }

    /// Asks the browser for a keyframe (RTCP PLI on its video stream).
    /// Returns `false` when no video has been received yet (the stream's
    /// SSRC is not known).
    pub fn request_keyframe(&mut self, now: Instant) -> Result<bool, SessionError> {
        let Some((receiver_id, media_ssrc)) = self.video_receiver else {
            return Ok(false);
        };
        let sender_ssrc = self.video_ssrc;
        let Some(mut receiver) = self.pc.rtp_receiver(receiver_id) else {
            return Ok(false);
        };
        receiver.write_rtcp(
            now,
            vec![Box::new(PictureLossIndication {
                sender_ssrc,
                media_ssrc,
            })],
        )?;
        Ok(true)
    }

    /// Packetizes one Annex-B H.264 access unit (RFC 6184, mode 1) with RTP
    /// timestamp `ts90k` and queues it on the outgoing video track. Nothing
    /// is sent before [`SessionEvent::Connected`] (returns `Ok(false)`).
    pub fn send_video_access_unit(
        &mut self,
        now: Instant,
        annexb: &[u8],
        ts90k: u32,
    ) -> Result<bool, SessionError> {
        let pt = self
            .video_pt
            .ok_or(SessionError::State("no offer accepted"))?;
        if !self.connected {
            return Ok(false);
        }
        self.packetizer.packetize(annexb, ts90k, &mut self.batch)?;
        let ssrc = self.video_ssrc;
        let Some(mut sender) = self.pc.rtp_sender(self.video_sender) else {
            return Err(SessionError::State("video sender gone"));
        };
        for p in self.batch.iter() {
            sender.write_rtp(
                now,
                rtp_packet(pt, ssrc, p.sequence, p.timestamp, p.marker, p.payload),
            )?;
        }
        Ok(true)
    }

    /// Queues one Opus packet with RTP timestamp `ts48k` on the outgoing
    /// audio track. Nothing is sent before [`SessionEvent::Connected`]
    /// (returns `Ok(false)`).
    pub fn send_audio(
        &mut self,
        now: Instant,
        opus_packet: &[u8],
        ts48k: u32,
    ) -> Result<bool, SessionError> {
        let pt = self
            .audio_pt
            .ok_or(SessionError::State("no offer accepted"))?;
        if !self.connected {
            return Ok(false);
        }
        let sequence = self.audio_sequence;
        self.audio_sequence = sequence.wrapping_add(1);
        let ssrc = self.audio_ssrc;
        let Some(mut sender) = self.pc.rtp_sender(self.audio_sender) else {
            return Err(SessionError::State("audio sender gone"));
        };
        sender.write_rtp(
            now,
            rtp_packet(pt, ssrc, sequence, ts48k, false, opus_packet),
        )?;
        Ok(true)
    }

    /// Closes the peer connection (the browser is told when possible);
    /// drain [`ServerSession::poll_transmit`] afterwards.
    pub fn close(&mut self) -> Result<(), SessionError> {
        self.pc.close()?;
        Ok(())
    }
}

fn rtp_packet(
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    marker: bool,
    payload: &[u8],
) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: sequence,
            timestamp,
            ssrc,
            ..Default::default()
        },
        payload: payload.to_vec().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_rtp_offers_are_refused() {
        let sdp = "v=0\r\nm=video 9 RTP/AVP 96\r\n";
        assert!(matches!(
            check_dtls_srtp(sdp),
            Err(SessionError::NotDtlsSrtp(_))
        ));
        let no_fp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert!(matches!(
            check_dtls_srtp(no_fp),
            Err(SessionError::NotDtlsSrtp(_))
        ));
        let ok = "v=0\r\na=fingerprint:sha-256 AA\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert!(check_dtls_srtp(ok).is_ok());
    }

    fn stun(typ: u16, txid: u8) -> Vec<u8> {
        let mut m = typ.to_be_bytes().to_vec();
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&STUN_MAGIC_COOKIE);
        m.extend_from_slice(&[txid; 12]);
        m
    }

    #[test]
    fn an_address_is_validated_by_a_matching_binding_response() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4001".parse().unwrap();
        let mut v = PathValidation::default();
        v.on_stun_sent(a, &stun(0x0001, 7));
        assert!(!v.is_validated(a));
        // A response from another address, or with another id, proves nothing.
        v.on_stun_received(b, &stun(0x0101, 7));
        v.on_stun_received(a, &stun(0x0101, 8));
        // A request from the peer neither.
        v.on_stun_received(a, &stun(0x0001, 7));
        assert!(!v.is_validated(a) && !v.is_validated(b));
        v.on_stun_received(a, &stun(0x0101, 7));
        assert!(v.is_validated(a));
        assert!(!v.is_validated(b));
    }

    #[test]
    fn stun_is_told_from_dtls_and_rtp() {
        assert!(is_stun(&[0, 1, 0, 0]));
        assert!(!is_stun(&[22, 254, 253]));
        assert!(!is_stun(&[0x80, 102]));
        assert!(!is_stun(&[]));
    }

    #[test]
    fn media_before_an_answer_is_an_error() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut s = ServerSession::new(now, ServerSessionConfig::new(addr, 7)).unwrap();
        assert!(matches!(
            s.send_video_access_unit(now, &[0, 0, 0, 1, 0x65, 1], 0),
            Err(SessionError::State(_))
        ));
        assert!(s.poll_event().is_none());
        assert!(!s.is_connected());
    }
}
