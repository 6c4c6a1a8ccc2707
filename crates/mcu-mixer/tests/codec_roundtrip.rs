//! Codec round trips: H.264 (OpenH264) and Opus (libopus) behind the codec
//! traits, plus corrupt-input handling.

use mcu_mixer::codec::{
    AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE, AudioDecoder, AudioEncoder, H264Decoder, H264Encoder,
    H264EncoderConfig, OpusDecoder, OpusEncoder, OpusEncoderConfig, VideoDecoder, VideoEncoder,
};
use mcu_mixer::frame::I420Frame;

const W: u32 = 1280;
const H: u32 = 720;
const FPS: u32 = 30;
const BITRATE: u32 = 1_500_000;

/// A deterministic moving test picture: gradients, a moving bar and disc,
/// and a sinusoidal texture that slides, so motion estimation has work to do.
fn synthetic_frame(t: u32) -> I420Frame {
    let mut f = I420Frame::new(W, H).unwrap();
    let [mut y, mut u, mut v] = f.planes_mut();
    let tf = t as f32;
    let (bar_x, disc_x, disc_y) = (100 + 14 * t as i32, 900 - 9 * t as i32, 360 + 4 * t as i32);
    for r in 0..H as usize {
        let row = y.row_mut(r);
        for (c, px) in row.iter_mut().enumerate() {
            let (x, yy) = (c as f32, r as f32);
            let mut val = 40.0 + (x + 3.0 * tf) * 120.0 / W as f32 + yy * 50.0 / H as f32;
            // Texture in the lower-left region, drifting right.
            if r > 420 && c < 640 {
                val += 22.0 * ((x - 2.0 * tf) / 6.0).sin() * (yy / 9.0).cos();
            }
            let (ci, ri) = (c as i32, r as i32);
            if (bar_x..bar_x + 60).contains(&ci) && (150..550).contains(&ri) {
                val = 220.0;
            }
            let (dx, dy) = (ci - disc_x, ri - disc_y);
            if dx * dx + dy * dy < 90 * 90 {
                val = 60.0 + ((dx + dy).rem_euclid(32) as f32) * 4.0;
            }
            *px = val.clamp(16.0, 235.0) as u8;
        }
    }
    for r in 0..(H / 2) as usize {
        let ur = u.row_mut(r);
        for (c, px) in ur.iter_mut().enumerate() {
            *px = (96 + (c as i32 + t as i32) * 64 / (W as i32 / 2)) as u8;
        }
        let vr = v.row_mut(r);
        for (c, px) in vr.iter_mut().enumerate() {
            *px = (160 - (r as i32) * 48 / (H as i32 / 2) + ((c / 40) % 2) as i32 * 6) as u8;
        }
    }
    f
}

fn ts(t: u32) -> u64 {
    u64::from(t) * 1000 / u64::from(FPS)
}

/// NAL unit types in an Annex-B access unit.
fn nal_types(au: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < au.len() {
        if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
            types.push(au[i + 3] & 0x1f);
            i += 3;
        } else {
            i += 1;
        }
    }
    types
}

/// The bytes after the SPS NAL header: profile_idc, constraint flags, level.
fn sps_head(au: &[u8]) -> Option<(u8, u8, u8)> {
    let pos = au
        .windows(4)
        .position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7)?;
    Some((au[pos + 4], au[pos + 5], au[pos + 6]))
}

struct Encoded {
    units: Vec<Vec<u8>>,
    keyframes: Vec<bool>,
}

fn encode_clip(frames: &[I420Frame], force_at: Option<usize>) -> Encoded {
    let mut enc = H264Encoder::new(H264EncoderConfig {
        bitrate_bps: BITRATE,
        max_fps: FPS as f32,
        keyframe_interval: 0,
    })
    .unwrap();
    let mut units = Vec::new();
    let mut keyframes = Vec::new();
    let mut out = Vec::new();
    for (t, f) in frames.iter().enumerate() {
        if Some(t) == force_at {
            enc.force_keyframe();
        }
        let info = enc.encode(f, ts(t as u32), &mut out).unwrap();
        assert_eq!(info.bytes, out.len());
        units.push(out.clone());
        keyframes.push(info.keyframe);
    }
    Encoded { units, keyframes }
}

#[test]
fn h264_720p_round_trip_quality_bitrate_and_keyframes() {
    let frames: Vec<I420Frame> = (0..30).map(synthetic_frame).collect();
    let force_at = 15;
    let enc = encode_clip(&frames, Some(force_at));

    // No frame skipped: every frame produced an access unit.
    for (t, au) in enc.units.iter().enumerate() {
        assert!(!au.is_empty(), "frame {t} was skipped by the encoder");
    }
    // Keyframes exactly where expected: the first frame and the forced one.
    let key_at: Vec<usize> = (0..frames.len()).filter(|&t| enc.keyframes[t]).collect();
    assert_eq!(key_at, vec![0, force_at]);

    // Each IDR carries SPS + PPS in front of the IDR slice.
    for &t in &key_at {
        let types = nal_types(&enc.units[t]);
        assert!(
            types.contains(&7) && types.contains(&8) && types.contains(&5),
            "frame {t}: NAL types {types:?}"
        );
    }
    assert!(
        !nal_types(&enc.units[1]).contains(&5),
        "frame 1 must be a P frame"
    );
    // Constrained Baseline: profile_idc 66 with constraint_set1_flag.
    let (profile, flags, level) = sps_head(&enc.units[0]).expect("SPS in first access unit");
    assert_eq!(profile, 66, "profile_idc");
    assert_ne!(
        flags & 0x40,
        0,
        "constraint_set1_flag (constrained baseline)"
    );
    assert!(level >= 31, "720p30 needs level 3.1, SPS says {level}");

    // Bitrate roughly respected over this one second of video.
    let total: usize = enc.units.iter().map(Vec::len).sum();
    let bps = total as f64 * 8.0 * f64::from(FPS) / frames.len() as f64;
    eprintln!(
        "h264 720p: {total} bytes for {} frames = {:.0} kbit/s (target {})",
        frames.len(),
        bps / 1000.0,
        BITRATE / 1000
    );
    assert!(
        (0.5..=1.6).contains(&(bps / f64::from(BITRATE))),
        "bitrate {bps:.0} bit/s is far from the target {BITRATE}"
    );

    // Every frame decodes; quality holds after the first few frames.
    let mut dec = H264Decoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut psnrs = Vec::new();
    for (t, au) in enc.units.iter().enumerate() {
        let pic = dec
            .decode(au)
            .unwrap()
            .unwrap_or_else(|| panic!("frame {t} gave no picture"));
        assert_eq!((pic.width(), pic.height()), (W, H));
        let p = pic.psnr(&frames[t]);
        psnrs.push(p);
        decoded.push(pic);
    }
    let min_after_warmup = psnrs[3..].iter().copied().fold(f64::INFINITY, f64::min);
    let mean = psnrs.iter().sum::<f64>() / psnrs.len() as f64;
    eprintln!(
        "h264 720p PSNR: mean {mean:.2} dB, min (from frame 3) {min_after_warmup:.2} dB, first {:.2}",
        psnrs[0]
    );
    assert!(
        min_after_warmup >= 32.0,
        "PSNR {min_after_warmup:.2} dB < 32 dB: {psnrs:?}"
    );

    // A late joiner starts at the forced IDR and sees exactly what an
    // early joiner sees from there on.
    let mut late = H264Decoder::new().unwrap();
    for (t, au) in enc.units.iter().enumerate().skip(force_at) {
        let pic = late
            .decode(au)
            .unwrap()
            .unwrap_or_else(|| panic!("late joiner: frame {t} gave no picture"));
        assert_eq!(
            pic.to_packed(),
            decoded[t].to_packed(),
            "late joiner differs at frame {t}"
        );
    }
}

#[test]
fn h264_set_bitrate_takes_effect_without_keyframe() {
    let frames: Vec<I420Frame> = (0..60).map(synthetic_frame).collect();
    let mut enc = H264Encoder::new(H264EncoderConfig {
        bitrate_bps: BITRATE,
        max_fps: FPS as f32,
        keyframe_interval: 0,
    })
    .unwrap();
    let mut out = Vec::new();
    let (mut high, mut low) = (0usize, 0usize);
    for (t, f) in frames.iter().enumerate() {
        if t == 30 {
            enc.set_bitrate(300_000).unwrap();
            assert_eq!(enc.bitrate(), 300_000);
        }
        let info = enc.encode(f, ts(t as u32), &mut out).unwrap();
        assert!(info.bytes > 0, "frame {t} skipped");
        // Measure steady state only: skip the first IDR and the transition.
        match t {
            5..30 => high += info.bytes,
            35..60 => low += info.bytes,
            _ => {}
        }
        if t >= 30 {
            assert!(
                !info.keyframe,
                "a bitrate change must not force a keyframe (frame {t})"
            );
        }
    }
    let (high_bps, low_bps) = (
        high as f64 * 8.0 * 30.0 / 25.0,
        low as f64 * 8.0 * 30.0 / 25.0,
    );
    eprintln!(
        "h264 set_bitrate: {:.0} kbit/s before, {:.0} kbit/s after lowering to 300",
        high_bps / 1e3,
        low_bps / 1e3
    );
    assert!(
        low_bps < high_bps * 0.5,
        "lowering the bitrate did not shrink the stream"
    );
    assert!(enc.set_bitrate(0).is_err());
    assert!(enc.set_max_fps(0.0).is_err());
    enc.set_max_fps(15.0).unwrap();
}

#[test]
fn h264_decoder_reuses_its_frames() {
    let frames: Vec<I420Frame> = (0..10).map(synthetic_frame).collect();
    let enc = encode_clip(&frames, None);
    let mut dec = H264Decoder::new().unwrap();
    for au in &enc.units {
        let pic = dec.decode(au).unwrap().expect("picture");
        dec.recycle(pic);
    }
    assert_eq!(
        dec.frames_allocated(),
        1,
        "steady state must reuse the pooled frame"
    );
}

#[test]
fn h264_bad_input_is_an_error_not_a_panic() {
    let frames: Vec<I420Frame> = (0..4).map(synthetic_frame).collect();
    let enc = encode_clip(&frames, None);

    // A P frame before any IDR cannot produce a picture.
    let mut dec = H264Decoder::new().unwrap();
    let r = dec.decode(&enc.units[1]);
    assert!(
        !matches!(r, Ok(Some(_))),
        "P frame without IDR decoded to a picture"
    );

    // Garbage, with and without start codes.
    let mut seed = 0x1234_5678u32;
    let mut garbage: Vec<u8> = (0..5000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect();
    let mut dec = H264Decoder::new().unwrap();
    assert!(!matches!(dec.decode(&garbage), Ok(Some(_))));
    garbage[..4].copy_from_slice(&[0, 0, 0, 1]);
    garbage[4] = 0x65; // claims to be an IDR slice
    assert!(!matches!(dec.decode(&garbage), Ok(Some(_))));
    garbage[4] = 0x67; // claims to be an SPS
    let _ = dec.decode(&garbage);

    // Truncated access units: the IDR cut at several points.
    let idr = &enc.units[0];
    for cut in [5, 20, idr.len() / 3, idr.len() / 2, idr.len() - 10] {
        let mut dec = H264Decoder::new().unwrap();
        let _ = dec.decode(&idr[..cut]);
        // The decoder recovers at the next complete IDR.
        let pic = dec
            .decode(idr)
            .expect("a complete IDR decodes after a truncated one");
        assert!(
            pic.is_some(),
            "cut at {cut}: no picture from the complete IDR"
        );
    }
    // Empty input is simply nothing.
    assert!(matches!(H264Decoder::new().unwrap().decode(&[]), Ok(None)));
}

/// Goertzel power of `freq` in `x` (normalised by length²).
fn tone_power(x: &[f64], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(AUDIO_SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (x.len() as f64).powi(2)
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

fn sine_frames(freq: f64, amplitude: f64, frames: usize) -> Vec<Vec<i16>> {
    (0..frames)
        .map(|k| {
            (0..AUDIO_FRAME_SAMPLES)
                .map(|i| {
                    let n = (k * AUDIO_FRAME_SAMPLES + i) as f64;
                    let ph = 2.0 * std::f64::consts::PI * freq * n / f64::from(AUDIO_SAMPLE_RATE);
                    (amplitude * ph.sin()).round() as i16
                })
                .collect()
        })
        .collect()
}

#[test]
fn opus_round_trip_keeps_tone_frequency_and_level() {
    for (freq, other) in [(440.0, 1000.0), (1000.0, 440.0)] {
        let amplitude = 8000.0;
        let input = sine_frames(freq, amplitude, 50);
        let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
        let delay = enc.lookahead().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let (mut packet, mut pcm) = (Vec::new(), vec![0i16; AUDIO_FRAME_SAMPLES]);
        let mut decoded = Vec::new();
        let mut bytes = 0;
        for frame in &input {
            bytes += enc.encode(frame, &mut packet).unwrap();
            assert!(!packet.is_empty());
            dec.decode(Some(&packet), &mut pcm).unwrap();
            decoded.extend(pcm.iter().map(|&s| f64::from(s)));
        }
        // Skip the codec delay and the encoder's start-up (200 ms).
        let steady = &decoded[delay + 10 * AUDIO_FRAME_SAMPLES..];
        let (p_tone, p_other, p_mid) = (
            tone_power(steady, freq),
            tone_power(steady, other),
            tone_power(steady, 700.0),
        );
        let db = |a: f64, b: f64| 10.0 * (a / b.max(1e-12)).log10();
        eprintln!(
            "opus {freq} Hz: {:.1} kbit/s, tone/other {:.1} dB, tone/700Hz {:.1} dB, rms {:.0} (in {:.0})",
            bytes as f64 * 8.0 / 1000.0,
            db(p_tone, p_other),
            db(p_tone, p_mid),
            rms(steady),
            amplitude / 2f64.sqrt()
        );
        assert!(
            db(p_tone, p_other) > 30.0,
            "{freq} Hz tone not dominant over {other} Hz"
        );
        assert!(
            db(p_tone, p_mid) > 30.0,
            "{freq} Hz tone not dominant over 700 Hz"
        );
        let level_db = 20.0 * (rms(steady) / (amplitude / 2f64.sqrt())).log10();
        assert!(level_db.abs() < 2.0, "level changed by {level_db:.2} dB");
    }
}

#[test]
fn opus_loss_concealment_fills_a_frame() {
    let input = sine_frames(440.0, 8000.0, 10);
    let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let (mut packet, mut pcm) = (Vec::new(), vec![0i16; AUDIO_FRAME_SAMPLES]);
    for frame in &input {
        enc.encode(frame, &mut packet).unwrap();
        dec.decode(Some(&packet), &mut pcm).unwrap();
    }
    pcm.fill(0);
    dec.decode(None, &mut pcm).unwrap();
    let energy: f64 = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
    assert!(
        energy.sqrt() > 500.0,
        "concealment of a steady tone should not be silence (rms {})",
        energy.sqrt()
    );
}

#[test]
fn opus_bad_input_is_an_error() {
    let mut dec = OpusDecoder::new().unwrap();
    let mut pcm = vec![0i16; AUDIO_FRAME_SAMPLES];
    // Too many frames / missing frame count / odd CBR payload / empty.
    for bad in [&[0xFFu8; 50][..], &[0x03], &[0x01, 0xAA], &[]] {
        assert!(
            dec.decode(Some(bad), &mut pcm).is_err(),
            "packet {bad:02x?} accepted"
        );
    }
    // Wrong buffer sizes.
    let mut short = vec![0i16; 100];
    assert!(dec.decode(None, &mut short).is_err());
    let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    assert!(enc.encode(&short, &mut Vec::new()).is_err());
    assert!(enc.set_bitrate(1).is_err());
    assert!(
        OpusEncoder::new(OpusEncoderConfig {
            complexity: 11,
            ..Default::default()
        })
        .is_err()
    );
}
