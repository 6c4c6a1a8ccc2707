//! N-1 mix behaviour: each participant hears everyone but itself, checked on
//! the spectrum of sine tones (model: gst-plugins-rs `minus1mixer` test).

use std::collections::BTreeMap;

use mcu_mixer::ParticipantId;
use mcu_mixer::audio::{
    AudioError, AudioMixer, FRAME_SAMPLES, MixerConfig, SAMPLE_RATE, SOFT_CLIP_KNEE, soft_clip,
};

const FREQS: [f64; 5] = [440.0, 880.0, 1760.0, 660.0, 1320.0];

fn tone(freq: f64, amplitude: f64, tick: usize) -> Vec<i16> {
    (0..FRAME_SAMPLES)
        .map(|i| {
            let t = (tick * FRAME_SAMPLES + i) as f64 / f64::from(SAMPLE_RATE);
            (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
        })
        .collect()
}

/// Amplitude of the `freq` component (Goertzel over the frame, Hann window so
/// neighbouring tones do not leak into each other).
fn amplitude_at(samples: &[i16], freq: f64) -> f64 {
    let n = samples.len() as f64;
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, &x) in samples.iter().enumerate() {
        let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos();
        let s0 = f64::from(x) * hann + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // Hann window coherent gain is 0.5: a sine of amplitude A reads as A.
    power.sqrt() * 2.0 / (n * 0.5)
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-12).log10()
}

fn mixer(n: u64) -> AudioMixer {
    let mut m = AudioMixer::with_config(MixerConfig { max_mixed: None });
    for p in 0..n {
        m.add(ParticipantId(p)).unwrap();
    }
    m
}

/// The own outputs the mixer's sink was handed in one tick.
type Outputs = BTreeMap<ParticipantId, Vec<i16>>;

fn run_tick(m: &mut AudioMixer, tick: usize, amplitude: f64, skip: &[u64]) -> Outputs {
    for (p, &f) in FREQS.iter().enumerate() {
        if !skip.contains(&(p as u64)) {
            m.push(ParticipantId(p as u64), &tone(f, amplitude, tick))
                .unwrap();
        }
    }
    let mut outs = Outputs::new();
    m.mix(|id, samples| {
        assert!(outs.insert(id, samples.to_vec()).is_none(), "{id:?} twice");
    });
    outs
}

/// What `p` hears: its own output, or the full mix when it got none.
fn heard(m: &AudioMixer, outs: &Outputs, p: u64) -> Vec<i16> {
    let id = ParticipantId(p);
    assert_eq!(m.is_mixed(id).unwrap(), outs.contains_key(&id));
    outs.get(&id)
        .cloned()
        .unwrap_or_else(|| m.full_mix().to_vec())
}

#[test]
fn each_participant_hears_the_others_and_not_itself() {
    let mut m = mixer(5);
    for tick in 0..3 {
        let outs = run_tick(&mut m, tick, 5000.0, &[]);
        assert_eq!(outs.len(), FREQS.len(), "everyone gets an own mix");
        for (p, &own) in FREQS.iter().enumerate() {
            let out = &heard(&m, &outs, p as u64);
            let own_amp = amplitude_at(out, own);
            for (q, &other) in FREQS.iter().enumerate() {
                if q == p {
                    continue;
                }
                let other_amp = amplitude_at(out, other);
                assert!(
                    (other_amp - 5000.0).abs() < 250.0,
                    "p{p} hears {other} Hz at {other_amp}"
                );
                assert!(
                    db(own_amp / other_amp) < -40.0,
                    "p{p} own tone at {own_amp}"
                );
            }
        }
        // The full mix holds every tone.
        for &f in &FREQS {
            assert!((amplitude_at(m.full_mix(), f) - 5000.0).abs() < 250.0);
        }
    }
}

#[test]
fn muted_participant_is_absent_but_still_hears() {
    let mut m = mixer(5);
    m.set_muted(ParticipantId(1), true).unwrap();
    let outs = run_tick(&mut m, 0, 5000.0, &[]);
    assert!(
        !outs.contains_key(&ParticipantId(1)),
        "1 hears the full mix"
    );
    assert_eq!(m.level(ParticipantId(1)).unwrap(), -127.0);
    for p in 0..5u64 {
        let out = &heard(&m, &outs, p);
        assert!(
            db(amplitude_at(out, FREQS[1]) / 5000.0) < -40.0,
            "p{p} hears the muted 880 Hz"
        );
        for (q, &f) in FREQS.iter().enumerate() {
            if q as u64 != p && q != 1 {
                assert!(amplitude_at(out, f) > 4500.0, "p{p} misses {f} Hz");
            }
        }
    }
    m.set_muted(ParticipantId(1), false).unwrap();
    let outs = run_tick(&mut m, 1, 5000.0, &[]);
    assert!(amplitude_at(&heard(&m, &outs, 0), FREQS[1]) > 4500.0);
}

#[test]
fn gain_scales_amplitude() {
    let mut m = mixer(5);
    m.set_gain(ParticipantId(2), 0.5).unwrap();
    let outs = run_tick(&mut m, 0, 8000.0, &[]);
    let out = &heard(&m, &outs, 0);
    let halved = amplitude_at(out, FREQS[2]);
    let full = amplitude_at(out, FREQS[1]);
    assert!(
        (halved / full - 0.5).abs() < 0.01,
        "ratio {}",
        halved / full
    );
    assert!(
        (m.level(ParticipantId(2)).unwrap() - m.level(ParticipantId(1)).unwrap() + 6.02).abs()
            < 0.1
    );
}

#[test]
fn participant_that_pushed_nothing_contributes_silence() {
    let mut m = mixer(5);
    run_tick(&mut m, 0, 5000.0, &[]);
    // Tick 1: participant 3 lost its packet; its last frame must not be reused.
    let outs = run_tick(&mut m, 1, 5000.0, &[3]);
    assert!(
        !outs.contains_key(&ParticipantId(3)),
        "3 hears the full mix"
    );
    assert_eq!(m.level(ParticipantId(3)).unwrap(), -127.0);
    for p in [0u64, 1, 2, 4] {
        let out = &heard(&m, &outs, p);
        assert!(
            db(amplitude_at(out, FREQS[3]) / 5000.0) < -40.0,
            "p{p} still hears the absent one"
        );
    }
    // Shared participants hear exactly the full mix: the sum of the others.
    let expected: Vec<i16> = (0..FRAME_SAMPLES)
        .map(|i| {
            let sum: i32 = [0usize, 1, 2, 4]
                .iter()
                .map(|&q| i32::from(tone(FREQS[q], 5000.0, 1)[i]))
                .sum();
            soft_clip(sum)
        })
        .collect();
    assert_eq!(m.full_mix(), &expected[..]);
    assert_eq!(heard(&m, &outs, 3), expected);
}

#[test]
fn loud_mix_is_soft_clipped_not_wrapped() {
    let mut m = mixer(5);
    let outs = run_tick(&mut m, 0, 32767.0, &[]);
    let out = &heard(&m, &outs, 0);
    // Four full-scale tones: the exact sum reaches ~ 4 x full scale.
    let exact: Vec<i32> = (0..FRAME_SAMPLES)
        .map(|i| {
            (1..5)
                .map(|q| i32::from(tone(FREQS[q], 32767.0, 0)[i]))
                .sum()
        })
        .collect();
    assert!(exact.iter().any(|&v| v > 80_000) && exact.iter().any(|&v| v < -80_000));
    let mut below_knee = 0;
    for (i, (&y, &x)) in out.iter().zip(&exact).enumerate() {
        // No wrap: the output has the sign of the true sum.
        assert!(x == 0 || (y > 0) == (x > 0), "wrapped at {i}: {x} -> {y}");
        assert!(y.unsigned_abs() <= 32767);
        if x.abs() <= i32::from(SOFT_CLIP_KNEE) {
            assert_eq!(i32::from(y), x, "below-knee sample changed at {i}");
            below_knee += 1;
        } else {
            assert!(
                y.unsigned_abs() > SOFT_CLIP_KNEE.unsigned_abs(),
                "over-knee sample pulled under the knee"
            );
        }
    }
    assert!(below_knee > 100);
    // Output order follows input order (monotonic map).
    let mut pairs: Vec<(i32, i16)> = exact.iter().copied().zip(out.iter().copied()).collect();
    pairs.sort();
    assert!(pairs.windows(2).all(|w| w[0].1 <= w[1].1), "not monotonic");
}

#[test]
fn soft_clip_curve_is_smooth_monotonic_and_bounded() {
    let knee = i32::from(SOFT_CLIP_KNEE);
    let mut prev = soft_clip(-1_000_000);
    let mut max_step = 0;
    for x in -1_000_000..=1_000_000 {
        let y = soft_clip(x);
        assert!(y >= prev && y.unsigned_abs() <= 32767);
        max_step = max_step.max(i32::from(y) - i32::from(prev));
        prev = y;
    }
    assert_eq!(max_step, 1, "slope never exceeds 1: no jump at the knee");
    // Not a hard clamp: a gradual bend above the knee.
    let at = |x: i32| i32::from(soft_clip(x));
    assert!(at(knee + 2000) > knee + 1800 && at(knee + 2000) < knee + 2000);
    assert!(at(32767) < 32767 && at(32767) > 30000);
    assert!(at(36000) > at(33000));
    assert_eq!(at(1_000_000), 32767);
}

#[test]
fn bad_input_is_an_error() {
    let mut m = mixer(2);
    assert_eq!(
        m.push(ParticipantId(0), &[0; 480]),
        Err(AudioError::WrongFrameLength { got: 480 })
    );
    assert_eq!(
        m.push(ParticipantId(9), &[0; FRAME_SAMPLES]),
        Err(AudioError::UnknownParticipant(ParticipantId(9)))
    );
    assert_eq!(
        m.add(ParticipantId(1)),
        Err(AudioError::DuplicateParticipant(ParticipantId(1)))
    );
    assert!(matches!(
        m.set_gain(ParticipantId(0), f32::NAN),
        Err(AudioError::InvalidGain(_))
    ));
}
