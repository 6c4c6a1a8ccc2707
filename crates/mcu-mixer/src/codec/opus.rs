//! Opus through libopus: 48 kHz mono, VoIP application, 20 ms frames.

use ::opus::{Application, Bitrate, Channels, Decoder, Encoder};

use super::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE, AudioCodecError, AudioDecoder, AudioEncoder};

/// Room for one packet: a single Opus frame is at most 1275 bytes.
const MAX_PACKET_BYTES: usize = 1500;
/// Bitrates libopus accepts for mono, in bits per second.
const BITRATE_RANGE: std::ops::RangeInclusive<u32> = 6_000..=256_000;

/// Settings of an [`OpusEncoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusEncoderConfig {
    /// Target bitrate in bits per second (6 000 ..= 256 000).
    pub bitrate_bps: u32,
    /// Encoder complexity 0 ..= 10 (higher = better quality, more CPU).
    pub complexity: u8,
    /// Add in-band forward error correction (LBRR) so a receiver can rebuild
    /// a lost packet from the next one.
    pub inband_fec: bool,
    /// Expected packet loss in percent (0 ..= 100); sizes the FEC data.
    pub expected_loss_percent: u8,
}

impl Default for OpusEncoderConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            complexity: 5,
            inband_fec: false,
            expected_loss_percent: 0,
        }
    }
}

fn setup_err(e: ::opus::Error) -> AudioCodecError {
    AudioCodecError::Setup(e.to_string())
}

/// Opus encoder: 48 kHz, mono, VoIP application.
pub struct OpusEncoder {
    inner: Encoder,
    config: OpusEncoderConfig,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder with the given settings.
    pub fn new(config: OpusEncoderConfig) -> Result<Self, AudioCodecError> {
        if config.complexity > 10 {
            return Err(AudioCodecError::InvalidSetting(
                "complexity must be 0 ..= 10",
            ));
        }
        if config.expected_loss_percent > 100 {
            return Err(AudioCodecError::InvalidSetting(
                "expected loss must be 0 ..= 100 %",
            ));
        }
        let inner = Encoder::new(AUDIO_SAMPLE_RATE, Channels::Mono, Application::Voip)
            .map_err(setup_err)?;
        let mut enc = Self { inner, config };
        enc.set_bitrate(config.bitrate_bps)?;
        enc.inner
            .set_complexity(i32::from(config.complexity))
            .map_err(setup_err)?;
        enc.inner
            .set_inband_fec(config.inband_fec)
            .map_err(setup_err)?;
        enc.inner
            .set_packet_loss_perc(i32::from(config.expected_loss_percent))
            .map_err(setup_err)?;
        Ok(enc)
    }

    /// The current settings.
    pub fn config(&self) -> OpusEncoderConfig {
        self.config
    }

    /// Codec delay in samples (what a decoder's output lags the input by).
    pub fn lookahead(&mut self) -> Result<usize, AudioCodecError> {
        let n = self.inner.get_lookahead().map_err(setup_err)?;
        usize::try_from(n).map_err(|_| AudioCodecError::Setup(format!("negative lookahead {n}")))
    }
}

impl AudioEncoder for OpusEncoder {
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<usize, AudioCodecError> {
        if pcm.len() != AUDIO_FRAME_SAMPLES {
            return Err(AudioCodecError::FrameSize {
                expected: AUDIO_FRAME_SAMPLES,
                got: pcm.len(),
            });
        }
        // Resizing a reused buffer does not allocate after the first call.
        out.resize(MAX_PACKET_BYTES, 0);
        match self.inner.encode(pcm, out) {
            Ok(n) => {
                out.truncate(n);
                Ok(n)
            }
            Err(e) => {
                out.clear();
                Err(AudioCodecError::Encode(e.to_string()))
            }
        }
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), AudioCodecError> {
        if !BITRATE_RANGE.contains(&bps) {
            return Err(AudioCodecError::InvalidSetting(
                "bitrate must be 6 ..= 256 kbit/s",
            ));
        }
        // In range, so it fits an i32.
        self.inner
            .set_bitrate(Bitrate::Bits(bps as i32))
            .map_err(setup_err)?;
        self.config.bitrate_bps = bps;
        Ok(())
    }
}

/// Opus decoder: 48 kHz, mono (a stereo stream is down-mixed), 20 ms frames.
pub struct OpusDecoder {
    inner: Decoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder.
    pub fn new() -> Result<Self, AudioCodecError> {
        let inner = Decoder::new(AUDIO_SAMPLE_RATE, Channels::Mono).map_err(setup_err)?;
        Ok(Self { inner })
    }

    /// Rebuilds a lost frame from the in-band FEC data carried by the packet
    /// that followed it (falls back to concealment when it carries none).
    pub fn decode_fec(
        &mut self,
        next_packet: &[u8],
        out: &mut [i16],
    ) -> Result<(), AudioCodecError> {
        check_out(out)?;
        check_packet(next_packet)?;
        self.run(next_packet, out, true)
    }

    fn run(&mut self, packet: &[u8], out: &mut [i16], fec: bool) -> Result<(), AudioCodecError> {
        let n = self
            .inner
            .decode(packet, out, fec)
            .map_err(|e| AudioCodecError::Decode(e.to_string()))?;
        if n != AUDIO_FRAME_SAMPLES {
            return Err(AudioCodecError::Decode(format!(
                "decoded {n} samples, expected 960"
            )));
        }
        Ok(())
    }
}

fn check_out(out: &[i16]) -> Result<(), AudioCodecError> {
    if out.len() != AUDIO_FRAME_SAMPLES {
        return Err(AudioCodecError::FrameSize {
            expected: AUDIO_FRAME_SAMPLES,
            got: out.len(),
        });
    }
    Ok(())
}

/// Rejects empty, corrupt and non-20 ms packets before they reach the decoder.
fn check_packet(packet: &[u8]) -> Result<(), AudioCodecError> {
    if packet.is_empty() {
        return Err(AudioCodecError::Decode("empty packet".into()));
    }
    let samples = ::opus::packet::get_nb_samples(packet, AUDIO_SAMPLE_RATE)
        .map_err(|e| AudioCodecError::Decode(e.to_string()))?;
    if samples != AUDIO_FRAME_SAMPLES {
        return Err(AudioCodecError::Decode(format!(
            "packet holds {samples} samples, only 20 ms (960) packets are supported"
        )));
    }
    Ok(())
}

impl AudioDecoder for OpusDecoder {
    fn decode(&mut self, packet: Option<&[u8]>, out: &mut [i16]) -> Result<(), AudioCodecError> {
        check_out(out)?;
        match packet {
            Some(p) => {
                check_packet(p)?;
                self.run(p, out, false)
            }
            // An empty input asks libopus for packet-loss concealment.
            None => self.run(&[], out, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated() {
        let ok = OpusEncoderConfig::default();
        assert!(OpusEncoder::new(ok).is_ok());
        assert!(
            OpusEncoder::new(OpusEncoderConfig {
                complexity: 11,
                ..ok
            })
            .is_err()
        );
        assert!(
            OpusEncoder::new(OpusEncoderConfig {
                bitrate_bps: 500,
                ..ok
            })
            .is_err()
        );
        assert!(
            OpusEncoder::new(OpusEncoderConfig {
                expected_loss_percent: 101,
                ..ok
            })
            .is_err()
        );
        let fec = OpusEncoderConfig {
            inband_fec: true,
            expected_loss_percent: 10,
            ..ok
        };
        assert_eq!(OpusEncoder::new(fec).unwrap().config(), fec);
    }

    #[test]
    fn packets_of_other_durations_are_rejected() {
        let mut enc =
            ::opus::Encoder::new(AUDIO_SAMPLE_RATE, Channels::Mono, Application::Voip).unwrap();
        let mut buf = vec![0u8; MAX_PACKET_BYTES];
        let n = enc.encode(&[0i16; 480], &mut buf).unwrap();
        assert!(matches!(
            check_packet(&buf[..n]),
            Err(AudioCodecError::Decode(_))
        ));
        let n = enc.encode(&[0i16; 960], &mut buf).unwrap();
        assert!(check_packet(&buf[..n]).is_ok());
    }

    #[test]
    fn encoder_reuses_the_callers_buffer() {
        let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
        let mut out = Vec::new();
        let n = enc.encode(&[0i16; AUDIO_FRAME_SAMPLES], &mut out).unwrap();
        assert_eq!(out.len(), n);
        let cap = out.capacity();
        for _ in 0..10 {
            enc.encode(&[100i16; AUDIO_FRAME_SAMPLES], &mut out)
                .unwrap();
        }
        assert_eq!(out.capacity(), cap, "no reallocation in the steady state");
    }
}
