//! Codecs behind small traits: H.264 (OpenH264) for video, Opus (libopus)
//! for audio.
//!
//! The mixer holds `Box<dyn VideoEncoder>` and friends so a codec can be
//! swapped (or faked in tests) without touching the mixing logic. Every codec
//! here is single-threaded: one conference runs on one thread, and the codec
//! state moves with it (`Send`), never shared.
//!
//! Bad input (corrupt bitstreams, garbage packets) is an `Err`, never a panic.
//! Time is an input: encoders take the frame's timestamp in milliseconds.

mod h264;
mod opus;

pub use self::h264::{H264Decoder, H264Encoder, H264EncoderConfig};
pub use self::opus::{OpusDecoder, OpusEncoder, OpusEncoderConfig};

use crate::frame::I420Frame;

/// Audio sample rate of every audio codec here, in Hz.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;

/// Samples in one 20 ms mono audio frame at [`AUDIO_SAMPLE_RATE`].
pub const AUDIO_FRAME_SAMPLES: usize = 960;

/// What one [`VideoEncoder::encode`] call produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedVideo {
    /// The access unit is an IDR picture (with SPS and PPS in front of it):
    /// a decoder can start from it.
    pub keyframe: bool,
    /// Bytes written to the output buffer; 0 when the encoder dropped the
    /// frame (rate control skip).
    pub bytes: usize,
}

/// Why a video codec operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoCodecError {
    /// The codec library refused to create or configure an instance.
    #[error("video codec setup failed: {0}")]
    Setup(String),
    /// A setting is outside what the codec accepts.
    #[error("invalid video codec setting: {0}")]
    InvalidSetting(&'static str),
    /// Encoding a frame failed.
    #[error("video encode failed: {0}")]
    Encode(String),
    /// The bitstream could not be decoded (corrupt, truncated, or missing
    /// its reference pictures).
    #[error("video decode failed: {0}")]
    Decode(String),
    /// The decoder produced a picture this crate cannot represent
    /// (odd or zero size, inconsistent strides).
    #[error("decoder produced an unusable picture: {0}")]
    BadPicture(String),
}

/// Compresses raw pictures into H.264 (or another video codec) access units.
pub trait VideoEncoder: Send {
    /// Encodes one picture taken at `timestamp_ms` (monotonic, milliseconds).
    ///
    /// `out` is cleared and receives one Annex-B access unit (start codes
    /// included). A changed picture size re-initialises the encoder and
    /// starts with a keyframe.
    fn encode(
        &mut self,
        frame: &I420Frame,
        timestamp_ms: u64,
        out: &mut Vec<u8>,
    ) -> Result<EncodedVideo, VideoCodecError>;

    /// Makes the next encoded picture a keyframe (IDR with SPS/PPS).
    fn force_keyframe(&mut self);

    /// Changes the target bitrate in bits per second (takes effect on the
    /// next frame, without a keyframe).
    fn set_bitrate(&mut self, bps: u32) -> Result<(), VideoCodecError>;

    /// Changes the maximum (nominal) input frame rate used by rate control.
    fn set_max_fps(&mut self, fps: f32) -> Result<(), VideoCodecError>;

    /// The current target bitrate in bits per second.
    fn bitrate(&self) -> u32;
}

/// Turns access units back into pictures.
pub trait VideoDecoder: Send {
    /// Decodes one Annex-B access unit (or a run of NAL units).
    ///
    /// `Ok(None)` means the input was accepted but no picture is ready (for
    /// example parameter sets alone). The returned frame comes from the
    /// decoder's pool: hand it back with [`VideoDecoder::recycle`] so the
    /// steady state allocates nothing.
    fn decode(&mut self, access_unit: &[u8]) -> Result<Option<I420Frame>, VideoCodecError>;

    /// Returns a frame obtained from [`VideoDecoder::decode`] for reuse.
    fn recycle(&mut self, frame: I420Frame);
}

/// Why an audio codec operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioCodecError {
    /// The codec library refused to create or configure an instance.
    #[error("audio codec setup failed: {0}")]
    Setup(String),
    /// A setting is outside what the codec accepts.
    #[error("invalid audio codec setting: {0}")]
    InvalidSetting(&'static str),
    /// The PCM frame does not hold exactly [`AUDIO_FRAME_SAMPLES`] samples.
    #[error("audio frame must hold {expected} samples, got {got}")]
    FrameSize {
        /// Samples expected.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// Encoding failed.
    #[error("audio encode failed: {0}")]
    Encode(String),
    /// The packet is corrupt or not a 20 ms packet.
    #[error("audio decode failed: {0}")]
    Decode(String),
}

/// Compresses 20 ms mono PCM frames.
pub trait AudioEncoder: Send {
    /// Encodes [`AUDIO_FRAME_SAMPLES`] samples; `out` is cleared and
    /// receives one packet. Returns the packet length.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<usize, AudioCodecError>;

    /// Changes the target bitrate in bits per second.
    fn set_bitrate(&mut self, bps: u32) -> Result<(), AudioCodecError>;
}

/// Turns packets back into 20 ms mono PCM frames.
pub trait AudioDecoder: Send {
    /// Decodes one packet into `out` ([`AUDIO_FRAME_SAMPLES`] samples).
    ///
    /// `None` means the packet was lost: the decoder conceals the gap
    /// (packet-loss concealment) and still fills `out`.
    fn decode(&mut self, packet: Option<&[u8]>, out: &mut [i16]) -> Result<(), AudioCodecError>;
}
