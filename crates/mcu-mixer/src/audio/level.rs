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

/// [`dbov_from_energy`] of every energy, bit for bit the same values, four
/// at a time with AVX2 where the CPU has it (the mixer measures every
/// participant every tick).
pub(crate) fn dbov_from_energies(energies: &[u64], out: &mut [f32]) {
    assert_eq!(energies.len(), out.len());
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        for (e, o) in energies.chunks_exact(4).zip(out.chunks_exact_mut(4)) {
            // Exactly converted to f64 below 2⁵² (frames reach 2⁴⁰).
            if e.iter().any(|&e| e >= 1 << 52) {
                break;
            }
            let e: &[u64; 4] = e.try_into().expect("chunks of four");
            // SAFETY: AVX2 detected above.
            o.copy_from_slice(&unsafe { dbov4_avx2(e) });
            done += 4;
        }
    }
    for (&e, o) in energies[done..].iter().zip(&mut out[done..]) {
        *o = dbov_from_energy(e);
    }
}

/// [`dbov_from_energy`] of four energies below 2⁵², each step the same IEEE
/// operation as the scalar code (no fused multiply-add), so the same bits.
///
/// # Safety
/// AVX2 available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dbov4_avx2(energies: &[u64; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let pd = _mm256_set1_pd;
    let i64x4 = _mm256_set1_epi64x;
    // SAFETY: `energies` is 32 bytes.
    let e = unsafe { _mm256_loadu_si256(energies.as_ptr().cast()) };
    // u64 below 2⁵² to f64: in the mantissa of 2⁵², minus 2⁵².
    let two52_bits = i64x4(0x4330_0000_0000_0000);
    let two52 = pd(4_503_599_627_370_496.0);
    let x = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(e, two52_bits)), two52);
    // ln_f64: x = 2^k · m.
    let bits = _mm256_castpd_si256(x);
    let k = _mm256_sub_epi64(
        _mm256_and_si256(_mm256_srli_epi64::<52>(bits), i64x4(0x7ff)),
        i64x4(1023),
    );
    let m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, i64x4((1 << 52) - 1)),
        i64x4(1023 << 52),
    ));
    let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, pd(std::f64::consts::SQRT_2));
    let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, pd(0.5)), big);
    // `big` lanes are all ones (-1): k + 1 there.
    let k = _mm256_sub_epi64(k, _mm256_castpd_si256(big));
    let s = _mm256_div_pd(_mm256_sub_pd(m, pd(1.0)), _mm256_add_pd(m, pd(1.0)));
    let z = _mm256_mul_pd(s, s);
    let mut series = _mm256_mul_pd(z, pd(1.0 / 11.0));
    for c in [1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0] {
        series = _mm256_mul_pd(z, _mm256_add_pd(pd(c), series));
    }
    let series = _mm256_add_pd(pd(1.0), series);
    // k >= 0 where the energy is not 0 (x >= 1): same conversion as above.
    let kf = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(k, two52_bits)), two52);
    let ln = _mm256_add_pd(
        _mm256_mul_pd(kf, pd(std::f64::consts::LN_2)),
        _mm256_mul_pd(_mm256_mul_pd(pd(2.0), s), series),
    );
    let db = _mm256_sub_pd(_mm256_mul_pd(pd(DB_PER_LN), ln), pd(FULL_SCALE_DB));
    // f64::clamp(-127, 0), then silence for a zero energy.
    let floor = pd(f64::from(SILENCE_DBOV));
    let db = _mm256_blendv_pd(db, floor, _mm256_cmp_pd::<_CMP_LT_OQ>(db, floor));
    let db = _mm256_blendv_pd(db, pd(0.0), _mm256_cmp_pd::<_CMP_GT_OQ>(db, pd(0.0)));
    let zero = _mm256_castsi256_pd(_mm256_cmpeq_epi64(e, _mm256_setzero_si256()));
    let db = _mm256_blendv_pd(db, floor, zero);
    let mut out = [0f32; 4];
    // SAFETY: `out` is 16 bytes.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), _mm256_cvtpd_ps(db)) };
    out
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

    /// The batch (AVX2) levels are the scalar ones, bit for bit, from
    /// silence to beyond full scale, with a scalar tail and the fallback
    /// for energies above 2⁵².
    #[test]
    fn batch_dbov_matches_scalar_bit_for_bit() {
        let mut energies = vec![0u64, 1, 2, 3, 959, 960, 961, 1 << 40, 960 * (1 << 30)];
        let mut e = 1u64;
        while e < 960 << 32 {
            energies.extend([e, e + 1, e * 3 / 2, e * 7 / 5, e.saturating_sub(1)]);
            e = e * 9 / 8 + 1;
        }
        energies.extend([1 << 52, u64::MAX, 5, 6, 7]);
        for len in [energies.len(), energies.len() - 3, 3, 0] {
            let mut out = vec![f32::NAN; len];
            dbov_from_energies(&energies[..len], &mut out);
            for (&e, &o) in energies.iter().zip(&out) {
                assert_eq!(o.to_bits(), dbov_from_energy(e).to_bits(), "energy {e}");
            }
        }
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
