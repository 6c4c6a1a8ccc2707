//! Audio level (dBov) and voice activity detection with hysteresis.

use std::time::Duration;

use super::{FRAME_DURATION, FRAME_SAMPLES, SILENCE_DBOV};

/// Level in dBov of a frame of [`FRAME_SAMPLES`] samples whose sum of squares
/// is `energy`, with RFC 6464's convention: a full-scale sine is 0 dBov; the
/// result is clamped to `-127.0..=0.0` and digital silence is `-127.0`.
///
/// Computed without `log10` (called for every participant every tick): the
/// energy's binary exponent plus an odd series for the logarithm of the
/// mantissa, within 1e-6 dB of `10·log10` (tested).
pub fn dbov_from_energy(energy: u64) -> f32 {
    if energy == 0 {
        return SILENCE_DBOV;
    }
    let db = DB_PER_LN * ln_f64(energy as f64) - FULL_SCALE_DB;
    db.clamp(f64::from(SILENCE_DBOV), 0.0) as f32
}

/// `10 / ln 10`: decibels per neper of power.
const DB_PER_LN: f64 = 10.0 / std::f64::consts::LN_10;
/// `10·log10` of the energy of a full-scale sine frame
/// (`FRAME_SAMPLES · 32767² / 2`).
const FULL_SCALE_DB: f64 = 117.121_145_996_589_86;
// The constant above is for 960-sample frames (checked against log10 in the
// tests).
const _: () = assert!(FRAME_SAMPLES == 960);

/// Natural logarithm of a finite `x >= 1` (an energy): `x = 2^k · m` with
/// `m` in `[√½, √2)`, `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`, `|s| <= 0.172`;
/// the series to `s¹¹` leaves a relative error below 1e-11.
fn ln_f64(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut k = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        k += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let series = 1.0
        + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0)))));
    k as f64 * std::f64::consts::LN_2 + 2.0 * s * series
}

/// Thresholds of the voice activity detector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VadConfig {
    /// A participant starts talking once its level has stayed at or above this
    /// (dBov) for [`onset`](Self::onset). Default -40 dBov (speech is
    /// typically -30..-15 dBov, a quiet room -60..-50).
    pub onset_dbov: f32,
    /// A talking participant keeps talking while its level is at or above
    /// this (dBov); must be at most `onset_dbov`. Default -50 dBov.
    pub release_dbov: f32,
    /// How long the level must stay above the onset threshold. Default 60 ms.
    pub onset: Duration,
    /// How long the level must stay below the release threshold before the
    /// participant stops talking (bridges pauses between words). Default 400 ms.
    pub hangover: Duration,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            onset_dbov: -40.0,
            release_dbov: -50.0,
            onset: Duration::from_millis(60),
            hangover: Duration::from_millis(400),
        }
    }
}

/// Voice activity detector of one participant, fed one level per 20 ms frame.
///
/// Time is counted in frames ([`FRAME_DURATION`] each): onset after
/// `ceil(onset / 20 ms)` consecutive frames at or above `onset_dbov`, release
/// after `ceil(hangover / 20 ms)` consecutive frames below `release_dbov`.
#[derive(Clone, Debug)]
pub struct Vad {
    config: VadConfig,
    onset_frames: u32,
    hangover_frames: u32,
    talking: bool,
    /// Consecutive frames counting towards the next state change.
    run: u32,
}

fn frames_for(d: Duration) -> u32 {
    let f = d.as_nanos().div_ceil(FRAME_DURATION.as_nanos());
    u32::try_from(f).unwrap_or(u32::MAX).max(1)
}

impl Vad {
    /// A detector in the "not talking" state.
    pub fn new(config: VadConfig) -> Self {
        Self {
            config,
            onset_frames: frames_for(config.onset),
            hangover_frames: frames_for(config.hangover),
            talking: false,
            run: 0,
        }
    }

    /// Feeds the level (dBov) of the next frame; returns whether the
    /// participant is talking after it.
    pub fn update(&mut self, level_dbov: f32) -> bool {
        if self.talking {
            if level_dbov >= self.config.release_dbov {
                self.run = 0;
            } else {
                self.run += 1;
                if self.run >= self.hangover_frames {
                    self.talking = false;
                    self.run = 0;
                }
            }
        } else if level_dbov >= self.config.onset_dbov {
            self.run += 1;
            if self.run >= self.onset_frames {
                self.talking = true;
                self.run = 0;
            }
        } else {
            self.run = 0;
        }
        self.talking
    }

    /// Whether the participant is talking.
    pub fn is_talking(&self) -> bool {
        self.talking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine_energy(amplitude: f64) -> u64 {
        (0..FRAME_SAMPLES)
            .map(|i| {
                let v = (amplitude
                    * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48_000.0).sin())
                .round() as i64;
                (v * v) as u64
            })
            .sum()
    }

    #[test]
    fn full_scale_sine_is_zero_dbov_and_half_is_minus_six() {
        assert!(dbov_from_energy(sine_energy(32767.0)).abs() < 0.05);
        assert!((dbov_from_energy(sine_energy(16383.5)) + 6.02).abs() < 0.05);
        assert_eq!(dbov_from_energy(0), SILENCE_DBOV);
    }

    #[test]
    fn fast_dbov_matches_log10() {
        let exact = |e: u64| {
            let full_scale_sine_ms = f64::from(i16::MAX) * f64::from(i16::MAX) / 2.0;
            let db = 10.0 * (e as f64 / FRAME_SAMPLES as f64 / full_scale_sine_ms).log10();
            db.clamp(f64::from(SILENCE_DBOV), 0.0)
        };
        let mut worst = 0.0f64;
        let mut e = 1u64;
        while e < 960 << 32 {
            for v in [e, e + 1, e * 3 / 2, e * 7 / 5] {
                let err = (f64::from(dbov_from_energy(v)) - exact(v)).abs();
                worst = worst.max(err);
            }
            e = e * 9 / 8 + 1;
        }
        for v in [1, 2, 3, 959, 960, 961, 1 << 40, 960 * (1 << 30), u64::MAX] {
            worst = worst.max((f64::from(dbov_from_energy(v)) - exact(v)).abs());
        }
        assert!(worst < 1e-5, "worst error {worst} dB");
        let fs = (f64::from(i16::MAX) * f64::from(i16::MAX) / 2.0 * 960.0).log10() * 10.0;
        assert!((fs - FULL_SCALE_DB).abs() < 1e-12);
    }

    #[test]
    fn vad_counts_frames() {
        let mut vad = Vad::new(VadConfig::default());
        assert!(!vad.update(-20.0));
        assert!(!vad.update(-20.0));
        assert!(vad.update(-20.0), "3 frames = 60 ms onset");
        for _ in 0..19 {
            assert!(vad.update(-90.0));
        }
        assert!(!vad.update(-90.0), "20 frames = 400 ms hangover");
    }
}
