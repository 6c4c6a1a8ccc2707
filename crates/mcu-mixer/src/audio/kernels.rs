//! Sample kernels of the N-1 mix: a portable path and an AVX2 path that give
//! bit-identical results (every step is integer arithmetic).
//!
//! The AVX2 functions are chosen at run time with `is_x86_feature_detected!`
//! (see [`Kernels::detect`]); the unit tests at the bottom call both paths on
//! the same data and compare them exactly.

use super::FRAME_SAMPLES;

/// Soft-clip knee: `|x| <= KNEE` passes through unchanged.
pub(crate) const KNEE: i32 = 24_575;
/// `log2` of the knee width `R = 32767 - KNEE` (`R = 8192`).
const KNEE_SHIFT: u32 = 13;
/// Above the knee, `e = |x| - KNEE` is clamped to `2R`, where the curve reaches
/// full scale with a zero slope.
const E_MAX: i32 = 2 << KNEE_SHIFT;
/// Gains are Q12 fixed point.
pub(crate) const GAIN_SHIFT: u32 = 12;
/// Unity gain in Q12.
pub(crate) const GAIN_UNITY: i32 = 1 << GAIN_SHIFT;
/// Chunk of samples the AVX2 output path tests at once (16 x i16 = one ymm).
const CHUNK: usize = 16;
/// Number of chunks in a frame; fits in the `u64` chunk mask.
const CHUNKS: usize = FRAME_SAMPLES / CHUNK;
const _: () = assert!(FRAME_SAMPLES % 64 == 0 && CHUNKS <= 64);

/// The soft clipper: identity for `|x| <= KNEE`, then the quadratic knee
/// `y = KNEE + e - e²/(4R)` (C¹ at the knee: slope 1, reaching 32767 with slope
/// 0 at `e = 2R`), then flat at ±32767. Odd-symmetric, monotonic, bounded.
#[inline]
pub(crate) fn soft_clip(x: i32) -> i16 {
    let a = x.unsigned_abs().min(i32::MAX as u32) as i32;
    let base = a.min(KNEE);
    let e = (a - KNEE).clamp(0, E_MAX);
    let y = base + e - ((e * e) >> (KNEE_SHIFT + 2));
    // y <= KNEE + 2R - R = 32767 by construction (see the doc above).
    let y = y as i16;
    if x < 0 { -y } else { y }
}

/// Applies a Q12 gain to one sample, rounding half up, saturating to i16.
#[inline]
pub(crate) fn apply_gain(x: i16, gain_q12: i32) -> i16 {
    let v = (i32::from(x) * gain_q12 + (1 << (GAIN_SHIFT - 1))) >> GAIN_SHIFT;
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Which implementation the mixer runs. Both give identical results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernels {
    /// Plain Rust loops (any target).
    Portable,
    /// AVX2 intrinsics; only constructed after `is_x86_feature_detected!("avx2")`.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernels {
    /// The fastest implementation this CPU supports.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernels::Avx2;
        }
        Kernels::Portable
    }

    /// `dst = gain(src)`, returns the energy `Σ dst²` of what was written.
    pub(crate) fn gain_energy(self, src: &[i16], gain_q12: i32, dst: &mut [i16]) -> u64 {
        debug_assert_eq!(src.len(), dst.len());
        match self {
            Kernels::Portable => portable::gain_energy(src, gain_q12, dst),
            // SAFETY: `Avx2` is only constructed when the CPU supports AVX2.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::gain_energy(src, gain_q12, dst) },
        }
    }

    /// `acc[i] = Σ_k frames[idx_k * FRAME_SAMPLES + i]` for the listed frames.
    pub(crate) fn sum(self, frames: &[i16], idx: &[u32], acc: &mut [i32; FRAME_SAMPLES]) {
        match self {
            Kernels::Portable => portable::sum(frames, idx, acc),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::sum(frames, idx, acc) },
        }
    }

    /// Full mix `out = soft_clip(acc)`; also fills `acc16` with `acc` saturated
    /// to i16 and returns a mask with bit `c` set when chunk `c` of `acc` fits
    /// in i16 (so `acc16` is exact there).
    pub(crate) fn finish(
        self,
        acc: &[i32; FRAME_SAMPLES],
        acc16: &mut [i16; FRAME_SAMPLES],
        out: &mut [i16],
    ) -> u64 {
        match self {
            Kernels::Portable => portable::finish(acc, acc16, out),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::finish(acc, acc16, out) },
        }
    }

    /// N-1 output `out = soft_clip(acc - own)`.
    pub(crate) fn minus_one(
        self,
        acc: &[i32; FRAME_SAMPLES],
        acc16: &[i16; FRAME_SAMPLES],
        fits: u64,
        own: &[i16],
        out: &mut [i16],
    ) {
        match self {
            Kernels::Portable => portable::minus_one(acc, own, out),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::minus_one(acc, acc16, fits, own, out) },
        }
    }
}

/// Reference implementation.
pub(crate) mod portable {
    use super::*;

    pub(crate) fn gain_energy(src: &[i16], gain_q12: i32, dst: &mut [i16]) -> u64 {
        let mut energy = 0u64;
        for (d, &s) in dst.iter_mut().zip(src) {
            let v = if gain_q12 == GAIN_UNITY {
                s
            } else {
                apply_gain(s, gain_q12)
            };
            *d = v;
            energy += u64::from((i32::from(v) * i32::from(v)) as u32);
        }
        energy
    }

    pub(crate) fn sum(frames: &[i16], idx: &[u32], acc: &mut [i32; FRAME_SAMPLES]) {
        acc.fill(0);
        for &k in idx {
            let start = k as usize * FRAME_SAMPLES;
            let frame = &frames[start..start + FRAME_SAMPLES];
            for (a, &s) in acc.iter_mut().zip(frame) {
                *a += i32::from(s);
            }
        }
    }

    pub(crate) fn finish(
        acc: &[i32; FRAME_SAMPLES],
        acc16: &mut [i16; FRAME_SAMPLES],
        out: &mut [i16],
    ) -> u64 {
        let mut fits = 0u64;
        for (c, chunk) in acc.chunks_exact(CHUNK).enumerate() {
            if chunk.iter().all(|&v| i16::try_from(v).is_ok()) {
                fits |= 1 << c;
            }
        }
        for ((d, o), &a) in acc16.iter_mut().zip(out.iter_mut()).zip(acc) {
            *d = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            *o = soft_clip(a);
        }
        fits
    }

    pub(crate) fn minus_one(acc: &[i32; FRAME_SAMPLES], own: &[i16], out: &mut [i16]) {
        for ((o, &a), &s) in out.iter_mut().zip(acc).zip(own) {
            *o = soft_clip(a - i32::from(s));
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Loads 16 i16 from `s[i..i + 16]`.
    ///
    /// # Safety
    /// `i + 16 <= s.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load16(s: &[i16], i: usize) -> __m256i {
        debug_assert!(i + 16 <= s.len());
        // SAFETY: in bounds per the contract; unaligned load.
        unsafe { _mm256_loadu_si256(s.as_ptr().add(i).cast()) }
    }

    /// Loads 8 i32 from `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load8x32(s: &[i32], i: usize) -> __m256i {
        debug_assert!(i + 8 <= s.len());
        // SAFETY: in bounds per the contract; unaligned load.
        unsafe { _mm256_loadu_si256(s.as_ptr().add(i).cast()) }
    }

    /// Loads 8 i16 from `s[i..i + 8]`, sign-extended to i32.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load8_widen(s: &[i16], i: usize) -> __m256i {
        debug_assert!(i + 8 <= s.len());
        // SAFETY: in bounds per the contract; unaligned 16-byte load.
        unsafe { _mm256_cvtepi16_epi32(_mm_loadu_si128(s.as_ptr().add(i).cast())) }
    }

    /// Stores 16 i16 to `d[i..i + 16]`.
    ///
    /// # Safety
    /// `i + 16 <= d.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store16(d: &mut [i16], i: usize, v: __m256i) {
        debug_assert!(i + 16 <= d.len());
        // SAFETY: in bounds per the contract; unaligned store.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().add(i).cast(), v) }
    }

    /// Packs two vectors of 8 i32 (samples 0..8 and 8..16) into 16 i16 with
    /// signed saturation, in sample order.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pack_ordered(lo: __m256i, hi: __m256i) -> __m256i {
        // packs works per 128-bit lane: [lo0-3 hi0-3 | lo4-7 hi4-7]; reorder.
        _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(lo, hi))
    }

    /// Soft clip of 16 samples given as two vectors of 8 i32, in sample order.
    /// Same arithmetic as [`soft_clip`](super::soft_clip), in i16 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn soft_clip16(lo: __m256i, hi: __m256i) -> __m256i {
        let knee32 = _mm256_set1_epi32(KNEE);
        // |x| - KNEE, saturated to i16 (>= -KNEE since |x| >= 0). `abs` of
        // i32::MIN cannot occur: sums are bounded by MAX_PARTICIPANTS * 2^16.
        let e_lo = _mm256_sub_epi32(_mm256_abs_epi32(lo), knee32);
        let e_hi = _mm256_sub_epi32(_mm256_abs_epi32(hi), knee32);
        let e16 = _mm256_packs_epi32(e_lo, e_hi);
        let sign = _mm256_packs_epi32(lo, hi);
        let zero = _mm256_setzero_si256();
        // base = min(|x|, KNEE) = KNEE + min(e, 0)
        let base = _mm256_add_epi16(_mm256_set1_epi16(KNEE as i16), _mm256_min_epi16(e16, zero));
        let e = _mm256_min_epi16(_mm256_max_epi16(e16, zero), _mm256_set1_epi16(E_MAX as i16));
        // (e * 2e) >> 16 == e² >> 15; 2e <= 32768 fits u16.
        let sq = _mm256_mulhi_epu16(e, _mm256_add_epi16(e, e));
        let y = _mm256_sub_epi16(_mm256_add_epi16(base, e), sq);
        let y = _mm256_sign_epi16(y, sign);
        _mm256_permute4x64_epi64::<0b11_01_10_00>(y)
    }

    /// # Safety
    /// AVX2 available; `src.len() == dst.len()`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn gain_energy(src: &[i16], gain_q12: i32, dst: &mut [i16]) -> u64 {
        let n = src.len().min(dst.len());
        let vec_end = n - n % 16;
        let lo32 = _mm256_set1_epi64x(0xFFFF_FFFF);
        let mut acc = _mm256_setzero_si256();
        let gain = _mm256_set1_epi32(gain_q12);
        let round = _mm256_set1_epi32(1 << (GAIN_SHIFT - 1));
        let unity = gain_q12 == GAIN_UNITY;
        let mut i = 0;
        while i < vec_end {
            // SAFETY: i + 16 <= vec_end <= len of both slices.
            let v = unsafe {
                if unity {
                    load16(src, i)
                } else {
                    let a = _mm256_srai_epi32::<{ GAIN_SHIFT as i32 }>(_mm256_add_epi32(
                        _mm256_mullo_epi32(load8_widen(src, i), gain),
                        round,
                    ));
                    let b = _mm256_srai_epi32::<{ GAIN_SHIFT as i32 }>(_mm256_add_epi32(
                        _mm256_mullo_epi32(load8_widen(src, i + 8), gain),
                        round,
                    ));
                    pack_ordered(a, b)
                }
            };
            // SAFETY: i + 16 <= vec_end <= dst.len().
            unsafe { store16(dst, i, v) };
            // Pair sums of squares are <= 2 * 32768² = 2^31: exact as u32.
            let sq = _mm256_madd_epi16(v, v);
            acc = _mm256_add_epi64(acc, _mm256_and_si256(sq, lo32));
            acc = _mm256_add_epi64(acc, _mm256_srli_epi64::<32>(sq));
            i += 16;
        }
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
        let tail = portable::gain_energy(&src[vec_end..n], gain_q12, &mut dst[vec_end..n]);
        lanes.iter().sum::<u64>() + tail
    }

    /// # Safety
    /// AVX2 available; every `idx` addresses a whole frame inside `frames`
    /// (checked: out-of-range indices panic before any load).
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn sum(frames: &[i16], idx: &[u32], acc: &mut [i32; FRAME_SAMPLES]) {
        // Blocks of 64 samples: 8 accumulators stay in registers while every
        // contributor is added, so `acc` is written once.
        for block in (0..FRAME_SAMPLES).step_by(64) {
            let mut r = [_mm256_setzero_si256(); 8];
            for &k in idx {
                let start = k as usize * FRAME_SAMPLES;
                let frame = &frames[start..start + FRAME_SAMPLES];
                for (j, rj) in r.iter_mut().enumerate() {
                    // SAFETY: block + 64 <= FRAME_SAMPLES == frame.len().
                    *rj = _mm256_add_epi32(*rj, unsafe { load8_widen(frame, block + 8 * j) });
                }
            }
            for (j, rj) in r.iter().enumerate() {
                // SAFETY: block + 8j + 8 <= FRAME_SAMPLES == acc.len().
                unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(block + 8 * j).cast(), *rj) };
            }
        }
    }

    /// # Safety
    /// AVX2 available; `out.len() == FRAME_SAMPLES`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn finish(
        acc: &[i32; FRAME_SAMPLES],
        acc16: &mut [i16; FRAME_SAMPLES],
        out: &mut [i16],
    ) -> u64 {
        assert_eq!(out.len(), FRAME_SAMPLES, "full-mix buffer is one frame");
        let mut fits = 0u64;
        for c in 0..CHUNKS {
            let i = c * CHUNK;
            // SAFETY: i + 16 <= FRAME_SAMPLES for every chunk.
            let (lo, hi) = unsafe { (load8x32(acc, i), load8x32(acc, i + 8)) };
            let packed = pack_ordered(lo, hi);
            // The chunk fits iff packing (saturating) lost nothing.
            let back_lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(packed));
            let back_hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(packed));
            let same = _mm256_and_si256(
                _mm256_cmpeq_epi32(back_lo, lo),
                _mm256_cmpeq_epi32(back_hi, hi),
            );
            if _mm256_movemask_epi8(same) == -1 {
                fits |= 1 << c;
            }
            // SAFETY: i + 16 <= FRAME_SAMPLES == acc16.len() == out.len().
            unsafe {
                store16(acc16, i, packed);
                store16(out, i, soft_clip16(lo, hi));
            }
        }
        fits
    }

    /// # Safety
    /// AVX2 available; `own.len() == out.len() == FRAME_SAMPLES`; `fits` and
    /// `acc16` as returned / filled by [`finish`] for this `acc`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn minus_one(
        acc: &[i32; FRAME_SAMPLES],
        acc16: &[i16; FRAME_SAMPLES],
        fits: u64,
        own: &[i16],
        out: &mut [i16],
    ) {
        assert!(
            own.len() == FRAME_SAMPLES && out.len() == FRAME_SAMPLES,
            "own and output buffers are one frame"
        );
        let knee = _mm256_set1_epi16(KNEE as i16);
        for c in 0..CHUNKS {
            let i = c * CHUNK;
            // SAFETY: i + 16 <= FRAME_SAMPLES for every chunk.
            let own16 = unsafe { load16(own, i) };
            if fits & (1 << c) != 0 {
                // Fast path: total fits in i16 here, so a saturating i16
                // subtract is exact unless it saturates, and saturation
                // lands above the knee, which the test below catches.
                // SAFETY: as above.
                let d = _mm256_subs_epi16(unsafe { load16(acc16, i) }, own16);
                // |d| as u16 (abs(-32768) reads as 32768), minus KNEE
                // saturating at 0: all zero iff every |d| <= KNEE.
                let over = _mm256_subs_epu16(_mm256_abs_epi16(d), knee);
                if _mm256_testz_si256(over, over) == 1 {
                    // SAFETY: as above.
                    unsafe { store16(out, i, d) };
                    continue;
                }
            }
            // SAFETY: as above.
            let (lo, hi) = unsafe {
                (
                    _mm256_sub_epi32(load8x32(acc, i), load8_widen(own, i)),
                    _mm256_sub_epi32(load8x32(acc, i + 8), load8_widen(own, i + 8)),
                )
            };
            // SAFETY: as above.
            unsafe { store16(out, i, soft_clip16(lo, hi)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift noise with a given peak amplitude.
    fn noise(seed: u64, amplitude: i32, len: usize) -> Vec<i16> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let r = (x % (2 * amplitude as u64 + 1)) as i32 - amplitude;
                r.clamp(-32768, 32767) as i16
            })
            .collect()
    }

    #[test]
    fn soft_clip_is_identity_below_knee_monotonic_and_bounded() {
        for x in -KNEE..=KNEE {
            assert_eq!(i32::from(soft_clip(x)), x);
        }
        let mut prev = soft_clip(-5_000_000);
        for x in -5_000_000..=5_000_000 {
            let y = soft_clip(x);
            assert!(y >= prev, "not monotonic at {x}");
            assert!(y.unsigned_abs() <= 32767);
            assert_eq!(y, -soft_clip(-x), "odd symmetry at {x}");
            prev = y;
        }
        assert_eq!(soft_clip(KNEE + E_MAX), 32767);
        // Smooth knee: slope ~1 just above the knee, not a hard clamp.
        assert_eq!(soft_clip(KNEE + 10), (KNEE + 10) as i16);
        assert!(soft_clip(32767) < 32767 && soft_clip(32767) > 30000);
        assert_eq!(soft_clip(i32::MIN), -32767);
    }

    #[cfg(target_arch = "x86_64")]
    fn avx2() -> Option<Kernels> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Kernels::Avx2)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_gain_energy_matches_portable() {
        let Some(simd) = avx2() else { return };
        for (seed, amp) in [(1, 32768), (2, 1000), (3, 20000), (4, 0)] {
            // Odd length exercises the scalar tail too.
            let src = noise(seed, amp, FRAME_SAMPLES + 7);
            for gain in [GAIN_UNITY, 0, 2048, 5000, 8 * GAIN_UNITY] {
                let mut a = vec![0; src.len()];
                let mut b = vec![1; src.len()];
                let ea = Kernels::Portable.gain_energy(&src, gain, &mut a);
                let eb = simd.gain_energy(&src, gain, &mut b);
                assert_eq!(a, b, "gain {gain}");
                assert_eq!(ea, eb, "energy, gain {gain}");
            }
        }
        let full = vec![i16::MIN; FRAME_SAMPLES];
        let mut d = vec![0; FRAME_SAMPLES];
        assert_eq!(
            simd.gain_energy(&full, GAIN_UNITY, &mut d),
            960 * (1u64 << 30)
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_sum_finish_minus_one_match_portable() {
        let Some(simd) = avx2() else { return };
        for (n, amp) in [
            (1usize, 32768),
            (3, 32768),
            (20, 3000),
            (100, 32768),
            (7, 9000),
        ] {
            let mut frames = Vec::new();
            for k in 0..n {
                frames.extend(noise(k as u64 * 7 + amp as u64, amp, FRAME_SAMPLES));
            }
            // Skip one frame to check the index list is honoured.
            let idx: Vec<u32> = (0..n as u32).filter(|&k| n == 1 || k != 1).collect();
            let mut outs = Vec::new();
            for kern in [Kernels::Portable, simd] {
                let mut acc = [7; FRAME_SAMPLES];
                let mut acc16 = [0; FRAME_SAMPLES];
                let mut full = vec![0; FRAME_SAMPLES];
                kern.sum(&frames, &idx, &mut acc);
                let fits = kern.finish(&acc, &mut acc16, &mut full);
                let mut n1 = vec![0; n * FRAME_SAMPLES];
                for &k in &idx {
                    let r = k as usize * FRAME_SAMPLES..(k as usize + 1) * FRAME_SAMPLES;
                    kern.minus_one(&acc, &acc16, fits, &frames[r.clone()], &mut n1[r]);
                }
                outs.push((acc, fits, full, n1));
            }
            let first_diff = |a: &[i16], b: &[i16]| a.iter().zip(b).position(|(x, y)| x != y);
            assert!(outs[0].0 == outs[1].0, "sum n={n}");
            assert_eq!(outs[0].1, outs[1].1, "fits mask n={n}");
            assert_eq!(first_diff(&outs[0].2, &outs[1].2), None, "full mix n={n}");
            assert_eq!(
                first_diff(&outs[0].3, &outs[1].3),
                None,
                "n-1 outputs n={n}"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_soft_clip_matches_scalar_over_the_whole_range() {
        let Some(simd) = avx2() else { return };
        // Drive minus_one with acc = x and own = 0 for x across the range.
        let mut x = -200_000i32;
        while x < 200_000 {
            let mut acc = [0i32; FRAME_SAMPLES];
            for (i, a) in acc.iter_mut().enumerate() {
                *a = x + i as i32 * 3;
            }
            let mut acc16 = [0; FRAME_SAMPLES];
            let mut full = vec![0; FRAME_SAMPLES];
            let fits = simd.finish(&acc, &mut acc16, &mut full);
            let own = vec![0; FRAME_SAMPLES];
            let mut out = vec![0; FRAME_SAMPLES];
            simd.minus_one(&acc, &acc16, fits, &own, &mut out);
            for i in 0..FRAME_SAMPLES {
                assert_eq!(full[i], soft_clip(acc[i]), "full at {}", acc[i]);
                assert_eq!(out[i], soft_clip(acc[i]), "n-1 at {}", acc[i]);
            }
            x += 3 * FRAME_SAMPLES as i32;
        }
    }
}
