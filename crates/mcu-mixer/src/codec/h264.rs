//! H.264 through OpenH264: Constrained Baseline, camera real-time usage,
//! bitrate rate control without frame skipping, single-threaded.

use std::os::raw::{c_int, c_void};

use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};
use openh264_sys2::{
    ENCODER_OPTION_BITRATE, ENCODER_OPTION_FRAME_RATE, ENCODER_OPTION_MAX_BITRATE,
    ENCODER_OPTION_TRACE_LEVEL, SBitrateInfo, SPATIAL_LAYER_0, SPATIAL_LAYER_ALL, WELS_LOG_QUIET,
};

use super::{EncodedVideo, VideoCodecError, VideoDecoder, VideoEncoder};
use crate::frame::{FramePool, I420Frame};

/// Lowest bitrate accepted, in bits per second (OpenH264 rejects a bitrate
/// below the frame rate; anything under this is useless for video anyway).
const MIN_BITRATE_BPS: u32 = 16_000;
/// Highest bitrate accepted, in bits per second.
const MAX_BITRATE_BPS: u32 = 50_000_000;
/// Frame-rate range accepted by [`VideoEncoder::set_max_fps`].
const FPS_RANGE: std::ops::RangeInclusive<f32> = 1.0..=60.0;
/// Spare decoded frames kept by a decoder's pool.
const DECODER_POOL_FRAMES: usize = 4;

/// Settings of an [`H264Encoder`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct H264EncoderConfig {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Nominal (maximum) input frame rate, frames per second.
    pub max_fps: f32,
    /// Frames between periodic IDRs; 0 = keyframes only on demand
    /// ([`VideoEncoder::force_keyframe`]) or on a size change.
    pub keyframe_interval: u32,
}

impl Default for H264EncoderConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: 1_500_000,
            max_fps: 30.0,
            keyframe_interval: 0,
        }
    }
}

impl H264EncoderConfig {
    fn validate(&self) -> Result<(), VideoCodecError> {
        if !(MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&self.bitrate_bps) {
            return Err(VideoCodecError::InvalidSetting(
                "bitrate must be 16 kbit/s ..= 50 Mbit/s",
            ));
        }
        if !FPS_RANGE.contains(&self.max_fps) {
            return Err(VideoCodecError::InvalidSetting(
                "frame rate must be 1 ..= 60",
            ));
        }
        Ok(())
    }

    /// The OpenH264 configuration: every setting that matters is explicit,
    /// because the crate's defaults (120 kbit/s, quality RC, frame skipping,
    /// automatic threads) are wrong for an MCU.
    fn to_openh264(self) -> EncoderConfig {
        EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            // Baseline + OpenH264's constraint_set1 flag = Constrained Baseline.
            .profile(Profile::Baseline)
            .bitrate(BitRate::from_bps(self.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.max_fps))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(false)
            // One conference = one thread: no codec worker threads.
            .num_threads(1)
            // Constant SPS/PPS ids, re-sent in front of every IDR, so a late
            // joiner can start decoding at any IDR.
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .intra_frame_period(IntraFramePeriod::from_num_frames(self.keyframe_interval))
            .complexity(Complexity::Medium)
            // Our frames are BT.601 limited range (see `frame::Yuv`).
            .vui(VuiConfig::bt601())
    }
}

/// A picture of ours, seen by OpenH264 without copying (explicit strides).
impl YUVSource for I420Frame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width() as usize, self.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let [y, u, v] = self.strides();
        (y, u, v)
    }

    fn y(&self) -> &[u8] {
        self.plane(0).data
    }

    fn u(&self) -> &[u8] {
        self.plane(1).data
    }

    fn v(&self) -> &[u8] {
        self.plane(2).data
    }
}

/// H.264 encoder (OpenH264), Constrained Baseline, Annex-B output.
pub struct H264Encoder {
    config: H264EncoderConfig,
    /// Created on the first frame (and re-created on a size change), because
    /// OpenH264 needs the picture size to initialise.
    inner: Option<Encoder>,
    size: (u32, u32),
    keyframe_pending: bool,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("config", &self.config)
            .field("size", &self.size)
            .field("keyframe_pending", &self.keyframe_pending)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder with the given settings (validated here; the OpenH264
    /// instance is created on the first frame).
    pub fn new(config: H264EncoderConfig) -> Result<Self, VideoCodecError> {
        config.validate()?;
        Ok(Self {
            config,
            inner: None,
            size: (0, 0),
            keyframe_pending: false,
        })
    }

    /// The current settings.
    pub fn config(&self) -> H264EncoderConfig {
        self.config
    }

    fn create(&mut self, size: (u32, u32)) -> Result<&mut Encoder, VideoCodecError> {
        // Drop the old instance first: only one OpenH264 encoder per stream.
        self.inner = None;
        let mut enc =
            Encoder::with_api_config(OpenH264API::from_source(), self.config.to_openh264())
                .map_err(|e| VideoCodecError::Setup(e.to_string()))?;
        // Silence OpenH264's own stderr logging before it initialises (it warns
        // once per encoder that frame skipping is off, which is deliberate).
        let mut quiet: c_int = WELS_LOG_QUIET;
        // SAFETY: the encoder instance is live; the option takes a pointer to a
        // c_int that outlives the call. Trace options are accepted before
        // initialisation; a refusal only leaves the default log level.
        let _ = unsafe {
            enc.raw_api().set_option(
                ENCODER_OPTION_TRACE_LEVEL,
                (&raw mut quiet).cast::<c_void>(),
            )
        };
        self.size = size;
        // A fresh encoder starts with an IDR anyway.
        self.keyframe_pending = false;
        Ok(self.inner.insert(enc))
    }

    /// Sets one bitrate option of the running encoder.
    fn set_bitrate_option(
        enc: &mut Encoder,
        option: c_int,
        layer: c_int,
        bps: u32,
    ) -> Result<(), VideoCodecError> {
        let mut info = SBitrateInfo {
            iLayer: layer,
            // Range-checked against MAX_BITRATE_BPS (< i32::MAX) by the caller.
            iBitrate: bps as c_int,
        };
        // SAFETY: `enc` is a live OpenH264 encoder (SetOption returns
        // cmInitExpected if it is not initialised yet), and
        // ENCODER_OPTION_BITRATE / _MAX_BITRATE read an `SBitrateInfo`, which
        // lives for the whole call.
        let rc = unsafe {
            enc.raw_api()
                .set_option(option, (&raw mut info).cast::<c_void>())
        };
        if rc != 0 {
            return Err(VideoCodecError::Setup(format!(
                "SetOption({option}) returned {rc}"
            )));
        }
        Ok(())
    }
}

impl VideoEncoder for H264Encoder {
    fn encode(
        &mut self,
        frame: &I420Frame,
        timestamp_ms: u64,
        out: &mut Vec<u8>,
    ) -> Result<EncodedVideo, VideoCodecError> {
        out.clear();
        let size = (frame.width(), frame.height());
        let force = std::mem::take(&mut self.keyframe_pending);
        let (enc, fresh) = match self.inner.take() {
            Some(enc) if self.size == size => {
                let enc = self.inner.insert(enc);
                if force {
                    enc.force_intra_frame();
                }
                (enc, false)
            }
            _ => (self.create(size)?, true),
        };
        let bitstream = match enc.encode_at(frame, Timestamp::from_millis(timestamp_ms)) {
            Ok(b) => b,
            Err(e) => {
                if fresh {
                    // Initialisation failed: start from scratch next time so
                    // the current settings are applied.
                    self.inner = None;
                }
                return Err(VideoCodecError::Encode(e.to_string()));
            }
        };
        let keyframe = match bitstream.frame_type() {
            FrameType::IDR => true,
            FrameType::I | FrameType::P | FrameType::IPMixed => false,
            FrameType::Skip => {
                return Ok(EncodedVideo {
                    keyframe: false,
                    bytes: 0,
                });
            }
            FrameType::Invalid => {
                return Err(VideoCodecError::Encode(
                    "encoder returned an invalid frame".into(),
                ));
            }
        };
        bitstream.write_vec(out);
        Ok(EncodedVideo {
            keyframe,
            bytes: out.len(),
        })
    }

    fn force_keyframe(&mut self) {
        self.keyframe_pending = true;
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), VideoCodecError> {
        let new = H264EncoderConfig {
            bitrate_bps: bps,
            ..self.config
        };
        new.validate()?;
        if let Some(enc) = self.inner.as_mut() {
            // OpenH264 rejects a layer whose max bitrate is below its target:
            // raise the max first when going up, lower it last when going down.
            let raising = bps > self.config.bitrate_bps;
            if raising {
                Self::set_bitrate_option(enc, ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0, bps)?;
            }
            Self::set_bitrate_option(enc, ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL, bps)?;
            if !raising {
                Self::set_bitrate_option(enc, ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0, bps)?;
            }
        }
        self.config = new;
        Ok(())
    }

    fn set_max_fps(&mut self, fps: f32) -> Result<(), VideoCodecError> {
        let new = H264EncoderConfig {
            max_fps: fps,
            ..self.config
        };
        new.validate()?;
        if let Some(enc) = self.inner.as_mut() {
            let mut value = fps;
            // SAFETY: `enc` is a live OpenH264 encoder (SetOption returns
            // cmInitExpected if it is not initialised yet);
            // ENCODER_OPTION_FRAME_RATE reads one `float` that outlives the call.
            let rc = unsafe {
                enc.raw_api()
                    .set_option(ENCODER_OPTION_FRAME_RATE, (&raw mut value).cast::<c_void>())
            };
            if rc != 0 {
                return Err(VideoCodecError::Setup(format!(
                    "SetOption(FRAME_RATE) returned {rc}"
                )));
            }
        }
        self.config = new;
        Ok(())
    }

    fn bitrate(&self) -> u32 {
        self.config.bitrate_bps
    }
}

/// H.264 decoder (OpenH264) that copies each picture into a pooled
/// [`I420Frame`].
pub struct H264Decoder {
    inner: Decoder,
    /// Pool of output frames and the picture size it serves.
    pool: Option<((u32, u32), FramePool)>,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// A decoder (single-threaded, no error concealment: a picture with
    /// missing references is an error, not a smeared frame).
    pub fn new() -> Result<Self, VideoCodecError> {
        let inner = Decoder::new().map_err(|e| VideoCodecError::Setup(e.to_string()))?;
        Ok(Self { inner, pool: None })
    }

    /// How many frames the decoder's pool has allocated so far (for tests
    /// and metrics: stays flat in the steady state when frames are recycled).
    pub fn frames_allocated(&self) -> usize {
        self.pool.as_ref().map_or(0, |(_, p)| p.allocated())
    }
}

impl VideoDecoder for H264Decoder {
    fn decode(&mut self, access_unit: &[u8]) -> Result<Option<I420Frame>, VideoCodecError> {
        if access_unit.is_empty() {
            return Ok(None);
        }
        if access_unit.len() > c_int::MAX as usize {
            return Err(VideoCodecError::Decode("access unit too large".into()));
        }
        let Some(yuv) = self
            .inner
            .decode(access_unit)
            .map_err(|e| VideoCodecError::Decode(e.to_string()))?
        else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let (Ok(wu), Ok(hu)) = (u32::try_from(w), u32::try_from(h)) else {
            return Err(VideoCodecError::BadPicture(format!("{w}x{h}")));
        };
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || sy < w || su < w / 2 || sv < w / 2 {
            return Err(VideoCodecError::BadPicture(format!(
                "{w}x{h} with strides {sy}/{su}/{sv}"
            )));
        }
        let pool = match self.pool.take() {
            Some((size, p)) if size == (wu, hu) => &mut self.pool.insert((size, p)).1,
            _ => {
                let p = FramePool::new(wu, hu, DECODER_POOL_FRAMES)
                    .map_err(|e| VideoCodecError::BadPicture(e.to_string()))?;
                &mut self.pool.insert(((wu, hu), p)).1
            }
        };
        let mut frame = pool.take();
        let sources = [(yuv.y(), sy), (yuv.u(), su), (yuv.v(), sv)];
        for (plane, (src, stride)) in frame.planes_mut().into_iter().zip(sources) {
            copy_plane(plane, src, stride)?;
        }
        Ok(Some(frame))
    }

    fn recycle(&mut self, frame: I420Frame) {
        if let Some((_, pool)) = self.pool.as_mut() {
            pool.give(frame);
        }
    }
}

/// Copies a decoder plane (`stride` bytes per row) into one of ours.
fn copy_plane(
    mut dst: crate::frame::PlaneMut<'_>,
    src: &[u8],
    stride: usize,
) -> Result<(), VideoCodecError> {
    let (width, height) = (dst.width, dst.height);
    if height > 0 && src.len() < (height - 1) * stride + width {
        return Err(VideoCodecError::BadPicture(format!(
            "plane buffer of {} bytes is short for {width}x{height} at stride {stride}",
            src.len()
        )));
    }
    for r in 0..height {
        let start = r * stride;
        dst.row_mut(r).copy_from_slice(&src[start..start + width]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_rejects_out_of_range_settings() {
        let ok = H264EncoderConfig::default();
        assert!(H264Encoder::new(ok).is_ok());
        for bad in [
            H264EncoderConfig {
                bitrate_bps: 1_000,
                ..ok
            },
            H264EncoderConfig {
                bitrate_bps: 60_000_000,
                ..ok
            },
            H264EncoderConfig { max_fps: 0.0, ..ok },
            H264EncoderConfig {
                max_fps: f32::NAN,
                ..ok
            },
        ] {
            assert!(
                matches!(
                    H264Encoder::new(bad),
                    Err(VideoCodecError::InvalidSetting(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn settings_before_first_frame_are_kept() {
        let mut enc = H264Encoder::new(H264EncoderConfig::default()).unwrap();
        enc.set_bitrate(800_000).unwrap();
        enc.set_max_fps(15.0).unwrap();
        assert_eq!(enc.bitrate(), 800_000);
        assert_eq!(enc.config().max_fps, 15.0);
        assert!(enc.set_bitrate(10).is_err());
        assert_eq!(
            enc.bitrate(),
            800_000,
            "a rejected bitrate leaves the old one"
        );
    }

    #[test]
    fn yuv_source_views_the_frame_without_copying() {
        let f = I420Frame::new(642, 360).unwrap();
        assert_eq!(YUVSource::dimensions(&f), (642, 360));
        assert_eq!(YUVSource::strides(&f), (672, 352, 352));
        assert_eq!(YUVSource::y(&f).as_ptr(), f.plane(0).data.as_ptr());
        assert_eq!(YUVSource::v(&f).as_ptr(), f.plane(2).data.as_ptr());
        assert!(YUVSource::u(&f).len() >= 352 * 180);
    }

    #[test]
    fn encoder_follows_a_size_change_with_a_keyframe() {
        let mut enc = H264Encoder::new(H264EncoderConfig::default()).unwrap();
        let mut out = Vec::new();
        let small = I420Frame::new(320, 180).unwrap();
        let big = I420Frame::new(640, 360).unwrap();
        assert!(enc.encode(&small, 0, &mut out).unwrap().keyframe);
        assert!(!enc.encode(&small, 33, &mut out).unwrap().keyframe);
        assert!(enc.encode(&big, 66, &mut out).unwrap().keyframe);
        let mut dec = H264Decoder::new().unwrap();
        let pic = dec.decode(&out).unwrap().expect("picture after resize");
        assert_eq!((pic.width(), pic.height()), (640, 360));
    }

    #[test]
    fn copy_plane_rejects_a_short_source() {
        let mut f = I420Frame::new(4, 4).unwrap();
        let [y, _, _] = f.planes_mut();
        assert!(copy_plane(y, &[0; 10], 4).is_err());
    }
}
