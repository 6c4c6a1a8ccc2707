//! Sample kernels of the N-1 mix: a portable path and an AVX2 path that give
//! bit-identical results (every step is integer arithmetic).
//!
//! The SIMD functions are chosen at run time with `is_x86_feature_detected!`
//! (see [`Kernels::detect`]); the unit tests at the bottom call every path on
//! the same data and compare them exactly.
//!
//! Per tick the mixer (1) copies each pushed frame with its gain applied,
//! measuring its energy and peak on the way ([`Kernels::gain_energy`]),
//! (2) sums the mixed frames into an i32 accumulator ([`Kernels::sum`]),
//! (3) derives from that sum, once, a few i16 views and a per-chunk plan
//! ([`Kernels::finish`], see [`Total`]) and (4) computes each mixed
//! participant's `soft_clip(total − own)` ([`Kernels::minus_one`]). Step 4 is
//! the hot one: with the plan, a chunk whose total stays far enough below the
//! knee costs one i16 subtraction, any other chunk eleven i16 operations
//! instead of a round trip through i32 lanes.

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
/// Chunk of samples the SIMD output path handles at once (16 x i16 = one ymm).
const CHUNK: usize = 16;
/// Number of chunks in a frame; fits in the `u64` chunk mask and in a `u8`.
const CHUNKS: usize = FRAME_SAMPLES / CHUNK;
/// Samples per block of the SIMD sum: 8 i32 accumulators of 8 lanes.
const BLOCK: usize = 64;
const _: () = assert!(FRAME_SAMPLES.is_multiple_of(64) && CHUNKS <= 64);
/// Largest own-frame peak `|own|` the planned N-1 path is exact for (see
/// [`Total`]); louder frames take the generic i32 path.
pub(crate) const PLAN_PEAK_MAX: u16 = 8191;
/// Offset of the planned path's u16 magnitudes (see [`Total`]): `KNEE + OFS`
/// is 32767 and `OFS > PLAN_PEAK_MAX`.
const OFS: i32 = 8192;
/// Clamp of `|acc|` in [`Total`]'s magnitudes: `MAG_CLAMP - PLAN_PEAK_MAX` is
/// the flat top `KNEE + E_MAX`, and `MAG_CLAMP + OFS + PLAN_PEAK_MAX` fits u16.
const MAG_CLAMP: i32 = KNEE + E_MAX + PLAN_PEAK_MAX as i32;
const _: () = assert!(
    KNEE + OFS == i16::MAX as i32
        && OFS > PLAN_PEAK_MAX as i32
        && MAG_CLAMP + OFS + PLAN_PEAK_MAX as i32 <= u16::MAX as i32
);

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

/// Saturates an i32 to i16.
#[inline]
fn sat16(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// What [`Kernels::gain_energy`] measured on the frame it wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FrameStats {
    /// `Σ dst²`.
    pub(crate) energy: u64,
    /// `max |dst|` (32768 for a frame holding `i16::MIN`).
    pub(crate) peak: u16,
}

/// The sum of one tick and what [`Kernels::finish`] derives from it for the
/// N-1 outputs.
///
/// The planned N-1 path relies on this: for `|o| <= M <= PLAN_PEAK_MAX` and
/// `s = sign(t)` (+1 for `t = 0`), `t - o = s·(|t| - s·o)`, and `|t| - s·o`
/// lies in `-M..` (it is negative only when `|t| < M`, far below the knee).
/// With `U = min(|t|, 49150)` stored offset by `OFS = 8192` as a u16
/// (`mag = U + OFS`, at most 57342), `v = mag - s·o` is exact in u16 lanes
/// (`1..=65533`) and `v - OFS` is `|t| - s·o`, or at least `KNEE + 2R` (the
/// flat top) when `|t|` was clamped. Then, all in u16 lanes,
/// `b = min(v, KNEE + 2R + OFS)`, `e = b -sat (KNEE + OFS)` (`KNEE + OFS` is
/// 32767), `y = s·(b - OFS - e²/(4R))` is `soft_clip(t - o)` for every i32 `t`:
/// nine i16 operations per 16 samples. Chunks where every
/// `|t| <= KNEE - M` need no clipping at all: there the output is `t - o`
/// exactly.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(crate) struct Total {
    /// The exact sum of the mixed contributions.
    pub(crate) acc: [i32; FRAME_SAMPLES],
    /// `sat16(acc)`.
    t16: [i16; FRAME_SAMPLES],
    /// `min(|acc|, MAG_CLAMP) + OFS` as u16 bits (see above).
    mag: [i16; FRAME_SAMPLES],
    /// `sat16(acc) | 1`: the sign of `acc`, never zero.
    sign: [i16; FRAME_SAMPLES],
    /// Bit `c` set when chunk `c` of `acc` fits in i16 (`t16` exact there).
    fits: u64,
    /// The `M` the chunk lists were built for (`<= PLAN_PEAK_MAX`).
    plan_peak: u16,
    /// Chunks where every `|acc| <= KNEE - plan_peak`, then the others; the
    /// first `n_linear` entries are the linear ones. Every entry `< CHUNKS`.
    order: [u8; CHUNKS],
    n_linear: usize,
}

impl Default for Total {
    fn default() -> Self {
        let mut order = [0u8; CHUNKS];
        for (c, o) in order.iter_mut().enumerate() {
            // CHUNKS <= 64: fits.
            *o = c as u8;
        }
        Self {
            acc: [0; FRAME_SAMPLES],
            t16: [0; FRAME_SAMPLES],
            mag: [0; FRAME_SAMPLES],
            sign: [0; FRAME_SAMPLES],
            fits: 0,
            plan_peak: 0,
            order,
            n_linear: 0,
        }
    }
}

impl Total {
    /// Records the chunk classification (shared by all kernels).
    fn set_plan(&mut self, plan_peak: u16, linear: u64) {
        self.plan_peak = plan_peak;
        let (mut lin, mut other) = (0, linear.count_ones() as usize);
        self.n_linear = other;
        for c in 0..CHUNKS {
            // c < CHUNKS <= 64.
            if linear & (1 << c) != 0 {
                self.order[lin] = c as u8;
                lin += 1;
            } else {
                self.order[other] = c as u8;
                other += 1;
            }
        }
    }

    /// Whether a frame of peak `own_peak` may take the planned path.
    #[inline]
    fn planned_for(&self, own_peak: u16) -> bool {
        own_peak <= self.plan_peak && self.plan_peak <= PLAN_PEAK_MAX
    }
}

/// Which implementation the mixer runs. All give identical results.
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

    /// `dst = gain(src)`; returns the energy and peak of what was written.
    pub(crate) fn gain_energy(self, src: &[i16], gain_q12: i32, dst: &mut [i16]) -> FrameStats {
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

    /// Full mix `out = soft_clip(total.acc)`; also fills the rest of `total`
    /// (i16 views, fits mask, chunk plan for own peaks up to `plan_peak`,
    /// which is capped at [`PLAN_PEAK_MAX`]).
    pub(crate) fn finish(self, total: &mut Total, plan_peak: u16, out: &mut [i16]) {
        let plan_peak = plan_peak.min(PLAN_PEAK_MAX);
        match self {
            Kernels::Portable => portable::finish(total, plan_peak, out),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::finish(total, plan_peak, out) },
        }
    }

    /// The whole mix of one tick: [`sum`](Self::sum) of the frames listed in
    /// `idx`, [`finish`](Self::finish) into `total` and `out`, then
    /// [`minus_one`](Self::minus_one) in place on each listed frame, whose
    /// peak is `peaks[k]`.
    ///
    /// Fusing the three per block of 64 samples (so a block of every frame
    /// is still in L1 for the N-1 pass) was tried and measured: no faster at
    /// N = 100 all talking and 15 % slower at room-noise level (per-block
    /// dispatch costs more than the second read of the frames from L2).
    pub(crate) fn mix(
        self,
        frames: &mut [i16],
        idx: &[u32],
        peaks: &[u16],
        total: &mut Total,
        plan_peak: u16,
        out: &mut [i16],
    ) {
        self.sum(frames, idx, &mut total.acc);
        self.finish(total, plan_peak, out);
        for (&k, &peak) in idx.iter().zip(peaks) {
            let start = k as usize * FRAME_SAMPLES;
            self.minus_one(total, &mut frames[start..start + FRAME_SAMPLES], peak);
        }
    }

    /// N-1 output in place: `frame` holds a participant's own contribution
    /// on entry and `soft_clip(total.acc - own)` on return (writing where it
    /// just read keeps the output's cache lines out of the store path).
    /// `own_peak` must be `max |own|` (as returned by
    /// [`gain_energy`](Self::gain_energy)).
    pub(crate) fn minus_one(self, total: &Total, frame: &mut [i16], own_peak: u16) {
        match self {
            Kernels::Portable => portable::minus_one(&total.acc, frame),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::minus_one(total, frame, own_peak) },
        }
    }
}

/// Reference implementation.
pub(crate) mod portable {
    use super::*;

    pub(crate) fn gain_energy(src: &[i16], gain_q12: i32, dst: &mut [i16]) -> FrameStats {
        let mut energy = 0u64;
        let mut peak = 0u16;
        for (d, &s) in dst.iter_mut().zip(src) {
            let v = if gain_q12 == GAIN_UNITY {
                s
            } else {
                apply_gain(s, gain_q12)
            };
            *d = v;
            energy += u64::from((i32::from(v) * i32::from(v)) as u32);
            peak = peak.max(v.unsigned_abs());
        }
        FrameStats { energy, peak }
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

    pub(crate) fn finish(total: &mut Total, plan_peak: u16, out: &mut [i16]) {
        let lin_max = KNEE - i32::from(plan_peak);
        let (mut fits, mut linear) = (0u64, 0u64);
        for (c, chunk) in total.acc.chunks_exact(CHUNK).enumerate() {
            if chunk.iter().all(|&v| i16::try_from(v).is_ok()) {
                fits |= 1 << c;
            }
            if chunk.iter().all(|&v| v.abs() <= lin_max) {
                linear |= 1 << c;
            }
        }
        for (i, (&a, o)) in total.acc.iter().zip(out.iter_mut()).enumerate() {
            total.t16[i] = sat16(a);
            // <= MAG_CLAMP + OFS <= u16::MAX (asserted with the constants).
            total.mag[i] = (a.unsigned_abs().min(MAG_CLAMP as u32) as i32 + OFS) as u16 as i16;
            total.sign[i] = sat16(a) | 1;
            *o = soft_clip(a);
        }
        total.fits = fits;
        total.set_plan(plan_peak, linear);
    }

    pub(crate) fn minus_one(acc: &[i32; FRAME_SAMPLES], frame: &mut [i16]) {
        for (s, &a) in frame.iter_mut().zip(acc) {
            *s = soft_clip(a - i32::from(*s));
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
    pub(super) unsafe fn load16(s: &[i16], i: usize) -> __m256i {
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
    pub(super) unsafe fn store16(d: &mut [i16], i: usize, v: __m256i) {
        debug_assert!(i + 16 <= d.len());
        // SAFETY: in bounds per the contract; unaligned store.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().add(i).cast(), v) }
    }

    /// Stores 8 i32 to `d[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= d.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn store8x32(d: &mut [i32], i: usize, v: __m256i) {
        debug_assert!(i + 8 <= d.len());
        // SAFETY: in bounds per the contract; unaligned store.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().add(i).cast(), v) }
    }

    /// Hides `v` from the optimiser (no instruction is emitted), so a loop
    /// that stores what it loaded is not split into a `memcpy` plus a second
    /// pass over the data.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn opaque(mut v: __m256i) -> __m256i {
        // SAFETY: an empty asm block that only claims to modify the register
        // holding `v`; it touches no memory, stack or flags.
        unsafe {
            std::arch::asm!("/* {0} */", inout(ymm_reg) v, options(pure, nomem, nostack, preserves_flags));
        }
        v
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

    /// Largest `|v|` over the i16 lanes of running `max` and `min` vectors.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn peak_of(vmax: __m256i, vmin: __m256i) -> u16 {
        let mut hi = [0i16; 16];
        let mut lo = [0i16; 16];
        // SAFETY: both arrays are 32 bytes.
        unsafe {
            _mm256_storeu_si256(hi.as_mut_ptr().cast(), vmax);
            _mm256_storeu_si256(lo.as_mut_ptr().cast(), vmin);
        }
        let top = hi.iter().copied().max().unwrap_or(0);
        let bottom = lo.iter().copied().min().unwrap_or(0);
        top.unsigned_abs().max(bottom.unsigned_abs())
    }

    /// Applies the Q12 gain to 16 samples at `src[i..]`.
    ///
    /// # Safety
    /// `i + 16 <= src.len()`; AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gain16(src: &[i16], i: usize, gain: __m256i) -> __m256i {
        let round = _mm256_set1_epi32(1 << (GAIN_SHIFT - 1));
        // SAFETY: i + 16 <= src.len() per the contract.
        let (a, b) = unsafe { (load8_widen(src, i), load8_widen(src, i + 8)) };
        let a = _mm256_srai_epi32::<{ GAIN_SHIFT as i32 }>(_mm256_add_epi32(
            _mm256_mullo_epi32(a, gain),
            round,
        ));
        let b = _mm256_srai_epi32::<{ GAIN_SHIFT as i32 }>(_mm256_add_epi32(
            _mm256_mullo_epi32(b, gain),
            round,
        ));
        pack_ordered(a, b)
    }

    /// Copies (with gain) and measures in one pass. The energy goes into 32
    /// i32 lanes, four accumulators of `madd(v, v)` (two squares per lane and
    /// step), which wrap as u32 only if a lane's squares can reach 2³²: when
    /// the frame's peak says they could, the energy is recounted exactly from
    /// what was written (frames louder than about -8 dBov peak at 960
    /// samples).
    ///
    /// # Safety
    /// AVX2 available; `src.len() == dst.len()`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn gain_energy(src: &[i16], gain_q12: i32, dst: &mut [i16]) -> FrameStats {
        let n = src.len().min(dst.len());
        let vec_end = n - n % 16;
        let mut e = [_mm256_setzero_si256(); 4];
        let mut vmax = _mm256_setzero_si256();
        let mut vmin = _mm256_setzero_si256();
        let gain = _mm256_set1_epi32(gain_q12);
        let unity = gain_q12 == GAIN_UNITY;
        // One step: 16 samples copied (with gain) into `dst[i..]`, measured
        // into `acc`, `vmax` and `vmin`.
        let mut step16 = |i: usize, acc: &mut __m256i, vmax: &mut __m256i, vmin: &mut __m256i| {
            // SAFETY: callers pass i + 16 <= vec_end <= len of both slices;
            // AVX2 is enabled on this function.
            let v = opaque(unsafe {
                if unity {
                    load16(src, i)
                } else {
                    gain16(src, i, gain)
                }
            });
            // SAFETY: as above.
            unsafe { store16(dst, i, v) };
            *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(v, v));
            *vmax = _mm256_max_epi16(*vmax, v);
            *vmin = _mm256_min_epi16(*vmin, v);
        };
        // Step `s` adds into accumulator `s % 4`. Unrolled by four so the
        // accumulators stay in registers (indexing them with `s & 3` put them
        // on the stack: a store-to-load chain through memory every step).
        let mut i = 0;
        let mut step = 0usize;
        let [e0, e1, e2, e3] = &mut e;
        while i + 64 <= vec_end {
            step16(i, e0, &mut vmax, &mut vmin);
            step16(i + 16, e1, &mut vmax, &mut vmin);
            step16(i + 32, e2, &mut vmax, &mut vmin);
            step16(i + 48, e3, &mut vmax, &mut vmin);
            i += 64;
            step += 4;
        }
        for acc in [e0, e1, e2] {
            if i < vec_end {
                step16(i, acc, &mut vmax, &mut vmin);
                i += 16;
                step += 1;
            }
        }
        let peak = peak_of(vmax, vmin);
        // Squares per lane: 2 per step of its accumulator.
        let per_lane = 2 * step.div_ceil(4) as u64;
        let energy = if per_lane * u64::from(peak) * u64::from(peak) < 1 << 32 {
            let lo32 = _mm256_set1_epi64x(0xFFFF_FFFF);
            let mut sum = _mm256_setzero_si256();
            for ej in e {
                sum = _mm256_add_epi64(sum, _mm256_and_si256(ej, lo32));
                sum = _mm256_add_epi64(sum, _mm256_srli_epi64::<32>(ej));
            }
            let mut lanes = [0u64; 4];
            // SAFETY: `lanes` is 32 bytes.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
            lanes.iter().sum::<u64>()
        } else {
            dst[..vec_end]
                .iter()
                .map(|&v| u64::from((i32::from(v) * i32::from(v)) as u32))
                .sum()
        };
        let tail = portable::gain_energy(&src[vec_end..n], gain_q12, &mut dst[vec_end..n]);
        FrameStats {
            energy: energy + tail.energy,
            peak: peak.max(tail.peak),
        }
    }

    /// # Safety
    /// AVX2 available; every `idx` addresses a whole frame inside `frames`
    /// (checked: out-of-range indices panic before any load).
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn sum(frames: &[i16], idx: &[u32], acc: &mut [i32; FRAME_SAMPLES]) {
        for block in (0..FRAME_SAMPLES).step_by(BLOCK) {
            // SAFETY: block + BLOCK <= FRAME_SAMPLES; AVX2 per the contract.
            unsafe { sum_block(frames, idx, acc, block) };
        }
    }

    /// `acc[block..block + 64]`: the sum of those samples of the listed frames.
    ///
    /// # Safety
    /// AVX2 available; `block + BLOCK <= FRAME_SAMPLES` (every `idx` is
    /// checked: out-of-range indices panic before any load).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn sum_block(frames: &[i16], idx: &[u32], acc: &mut [i32; FRAME_SAMPLES], block: usize) {
        debug_assert!(block + BLOCK <= FRAME_SAMPLES);
        let ones = _mm256_set1_epi16(1);
        // 8 accumulators stay in registers while every contributor is added,
        // so `acc` is written once. Frames go in pairs: interleaving two
        // frames' i16 samples and multiply-adding by 1 sums sample i of both
        // into one i32 lane (the lane order is undone below).
        let mut r = [_mm256_setzero_si256(); 8];
        let mut pairs = idx.chunks_exact(2);
        for pair in &mut pairs {
            let (s0, s1) = (
                pair[0] as usize * FRAME_SAMPLES,
                pair[1] as usize * FRAME_SAMPLES,
            );
            let f0 = &frames[s0..s0 + FRAME_SAMPLES];
            let f1 = &frames[s1..s1 + FRAME_SAMPLES];
            for j in 0..4 {
                // SAFETY: block + 16j + 16 <= FRAME_SAMPLES == frame lengths.
                let (a, b) = unsafe { (load16(f0, block + 16 * j), load16(f1, block + 16 * j)) };
                let lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), ones);
                let hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), ones);
                r[2 * j] = _mm256_add_epi32(r[2 * j], lo);
                r[2 * j + 1] = _mm256_add_epi32(r[2 * j + 1], hi);
            }
        }
        if let [k] = pairs.remainder() {
            let s0 = *k as usize * FRAME_SAMPLES;
            let f0 = &frames[s0..s0 + FRAME_SAMPLES];
            let zero = _mm256_setzero_si256();
            for j in 0..4 {
                // SAFETY: as above.
                let a = unsafe { load16(f0, block + 16 * j) };
                let lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(a, zero), ones);
                let hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(a, zero), ones);
                r[2 * j] = _mm256_add_epi32(r[2 * j], lo);
                r[2 * j + 1] = _mm256_add_epi32(r[2 * j + 1], hi);
            }
        }
        // SAFETY: block + 64 <= FRAME_SAMPLES per the contract.
        unsafe { store_unpacked(acc, block, &r) };
    }

    /// Stores accumulators laid out by `unpacklo/hi` pairs (`r[2j]` holds
    /// samples 0-3 and 8-11 of chunk j, `r[2j + 1]` samples 4-7 and 12-15) in
    /// sample order at `acc[block..block + 64]`.
    ///
    /// # Safety
    /// AVX2 available; `block + 64 <= FRAME_SAMPLES`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn store_unpacked(
        acc: &mut [i32; FRAME_SAMPLES],
        block: usize,
        r: &[__m256i; 8],
    ) {
        for j in 0..4 {
            let first = _mm256_permute2x128_si256::<0x20>(r[2 * j], r[2 * j + 1]);
            let second = _mm256_permute2x128_si256::<0x31>(r[2 * j], r[2 * j + 1]);
            // SAFETY: block + 16j + 16 <= FRAME_SAMPLES per the contract.
            unsafe {
                store8x32(acc, block + 16 * j, first);
                store8x32(acc, block + 16 * j + 8, second);
            }
        }
    }

    /// # Safety
    /// AVX2 available; `out.len() == FRAME_SAMPLES`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn finish(total: &mut Total, plan_peak: u16, out: &mut [i16]) {
        assert_eq!(out.len(), FRAME_SAMPLES, "full-mix buffer is one frame");
        let (mut fits, mut linear) = (0u64, 0u64);
        for c in 0..CHUNKS {
            // SAFETY: c < CHUNKS and out.len() == FRAME_SAMPLES (asserted).
            let (f, l) = unsafe { finish_chunk(total, c, plan_peak, out) };
            fits |= u64::from(f) << c;
            linear |= u64::from(l) << c;
        }
        total.fits = fits;
        total.set_plan(plan_peak, linear);
    }

    /// [`finish`] of chunk `c`: writes its i16 views and full mix, returns
    /// whether it fits i16 and whether every `|acc| <= KNEE - plan_peak`.
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; `out.len() == FRAME_SAMPLES`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn finish_chunk(
        total: &mut Total,
        c: usize,
        plan_peak: u16,
        out: &mut [i16],
    ) -> (bool, bool) {
        let mag_clamp = _mm256_set1_epi32(MAG_CLAMP);
        let ofs32 = _mm256_set1_epi32(OFS);
        let lin_max = _mm256_set1_epi32(KNEE - i32::from(plan_peak));
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= FRAME_SAMPLES && out.len() == FRAME_SAMPLES);
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract.
        let (lo, hi) = unsafe { (load8x32(&total.acc, i), load8x32(&total.acc, i + 8)) };
        let packed = pack_ordered(lo, hi);
        // The chunk fits iff packing (saturating) lost nothing.
        let back_lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(packed));
        let back_hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(packed));
        let same = _mm256_and_si256(
            _mm256_cmpeq_epi32(back_lo, lo),
            _mm256_cmpeq_epi32(back_hi, hi),
        );
        let fits = _mm256_movemask_epi8(same) == -1;
        let over = _mm256_or_si256(
            _mm256_cmpgt_epi32(_mm256_abs_epi32(lo), lin_max),
            _mm256_cmpgt_epi32(_mm256_abs_epi32(hi), lin_max),
        );
        let linear = _mm256_testz_si256(over, over) == 1;
        // min(|acc|, MAG_CLAMP) + OFS <= u16::MAX: the unsigned pack is exact.
        let mag = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(
            _mm256_add_epi32(_mm256_min_epi32(_mm256_abs_epi32(lo), mag_clamp), ofs32),
            _mm256_add_epi32(_mm256_min_epi32(_mm256_abs_epi32(hi), mag_clamp), ofs32),
        ));
        let sign = _mm256_or_si256(packed, _mm256_set1_epi16(1));
        // SAFETY: i + 16 <= FRAME_SAMPLES == every buffer's length.
        unsafe {
            store16(&mut total.t16, i, packed);
            store16(&mut total.mag, i, mag);
            store16(&mut total.sign, i, sign);
            store16(out, i, soft_clip16(lo, hi));
        }
        (fits, linear)
    }

    /// # Safety
    /// AVX2 available; `total` filled by [`finish`]; `own_peak >= max |own|`
    /// where `own` is `frame` on entry.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn minus_one(total: &Total, frame: &mut [i16], own_peak: u16) {
        assert_eq!(frame.len(), FRAME_SAMPLES, "the N-1 buffer is one frame");
        if total.planned_for(own_peak) {
            // SAFETY: length checked above; `total` and the peak per the contract.
            unsafe { minus_one_planned(total, frame) };
            return;
        }
        for c in 0..CHUNKS {
            // SAFETY: c < CHUNKS, frame length checked above.
            unsafe { n1_generic(total, frame, c) };
        }
    }

    /// The planned N-1 path (see [`Total`] for why it is exact).
    ///
    /// # Safety
    /// AVX2 available; `frame.len() == FRAME_SAMPLES`;
    /// `max |frame| <= total.plan_peak <= PLAN_PEAK_MAX`.
    #[target_feature(enable = "avx2")]
    unsafe fn minus_one_planned(total: &Total, frame: &mut [i16]) {
        let (linear, knee_chunks) = total.order.split_at(total.n_linear);
        for &c in linear {
            let c = usize::from(c);
            assert!(c < CHUNKS);
            // SAFETY: c < CHUNKS (asserted), length and peak per the contract.
            unsafe { n1_linear(total, frame, c) };
        }
        for &c in knee_chunks {
            let c = usize::from(c);
            assert!(c < CHUNKS);
            // SAFETY: as above.
            unsafe { n1_knee(total, frame, c) };
        }
    }

    /// N-1 of chunk `c` where the plan says every `|t| <= KNEE - M`.
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; `frame.len() == FRAME_SAMPLES`;
    /// chunk `c` is linear in `total`'s plan and `max |frame| <= plan_peak`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_linear(total: &Total, frame: &mut [i16], c: usize) {
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= frame.len());
        // |t| <= KNEE - M and |o| <= M: t - o is exact and below the knee.
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract, the common length.
        unsafe {
            let d = _mm256_sub_epi16(load16(&total.t16, i), load16(frame, i));
            store16(frame, i, d);
        }
    }

    /// Planned N-1 of chunk `c` through the soft-clip knee, in nine u16-lane
    /// operations (the derivation is at [`Total`]).
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; `frame.len() == FRAME_SAMPLES`;
    /// `max |frame| <= total.plan_peak <= PLAN_PEAK_MAX`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_knee(total: &Total, frame: &mut [i16], c: usize) {
        let top = _mm256_set1_epi16((KNEE + E_MAX + OFS) as u16 as i16);
        let knee_ofs = _mm256_set1_epi16((KNEE + OFS) as i16);
        let ofs = _mm256_set1_epi16(OFS as i16);
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= frame.len());
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract, the common length.
        let (o, mag, sign) = unsafe {
            (
                load16(frame, i),
                load16(&total.mag, i),
                load16(&total.sign, i),
            )
        };
        // v = |t| - s·o + OFS, exact in u16; b = min(v, KNEE + 2R + OFS).
        let b = _mm256_min_epu16(_mm256_sub_epi16(mag, _mm256_sign_epi16(o, sign)), top);
        // e = clamp(|t - o| - KNEE, 0, 2R); (e * 2e) >> 16 == e² >> 15.
        let e = _mm256_subs_epu16(b, knee_ofs);
        let sq = _mm256_mulhi_epu16(e, _mm256_add_epi16(e, e));
        let y = _mm256_sub_epi16(_mm256_sub_epi16(b, sq), ofs);
        // SAFETY: as above.
        unsafe { store16(frame, i, _mm256_sign_epi16(y, sign)) };
    }

    /// N-1 of chunk `c` for any own frame (the unplanned path).
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; `frame.len() == FRAME_SAMPLES`; chunk
    /// `c` of `total` filled by [`finish`].
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_generic(total: &Total, frame: &mut [i16], c: usize) {
        let knee = _mm256_set1_epi16(KNEE as i16);
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= frame.len());
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract.
        let own16 = unsafe { load16(frame, i) };
        if total.fits & (1 << c) != 0 {
            // Fast path: total fits in i16 here, so a saturating i16
            // subtract is exact unless it saturates, and saturation
            // lands above the knee, which the test below catches.
            // SAFETY: as above.
            let d = _mm256_subs_epi16(unsafe { load16(&total.t16, i) }, own16);
            // |d| as u16 (abs(-32768) reads as 32768), minus KNEE
            // saturating at 0: all zero iff every |d| <= KNEE.
            let over = _mm256_subs_epu16(_mm256_abs_epi16(d), knee);
            if _mm256_testz_si256(over, over) == 1 {
                // SAFETY: as above.
                unsafe { store16(frame, i, d) };
                return;
            }
        }
        // SAFETY: as above.
        let (lo, hi) = unsafe {
            (
                _mm256_sub_epi32(load8x32(&total.acc, i), load8_widen(frame, i)),
                _mm256_sub_epi32(load8x32(&total.acc, i + 8), load8_widen(frame, i + 8)),
            )
        };
        // SAFETY: as above.
        unsafe { store16(frame, i, soft_clip16(lo, hi)) };
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

    /// Every SIMD implementation this CPU runs.
    fn simd() -> Vec<Kernels> {
        #[allow(unused_mut)]
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(Kernels::Avx2);
            }
        }
        v
    }

    #[test]
    fn simd_gain_energy_matches_portable() {
        for simd in simd() {
            for (seed, amp) in [(1, 32768), (2, 1000), (3, 20000), (4, 0), (5, 8191)] {
                // Odd length exercises the scalar tail too.
                for len in [FRAME_SAMPLES, FRAME_SAMPLES + 7, 40] {
                    let src = noise(seed, amp, len);
                    for gain in [GAIN_UNITY, 0, 2048, 5000, 8 * GAIN_UNITY] {
                        let mut a = vec![0; src.len()];
                        let mut b = vec![1; src.len()];
                        let ea = Kernels::Portable.gain_energy(&src, gain, &mut a);
                        let eb = simd.gain_energy(&src, gain, &mut b);
                        assert_eq!(a, b, "{simd:?} gain {gain}");
                        assert_eq!(ea, eb, "{simd:?} stats, gain {gain} amp {amp} len {len}");
                    }
                }
            }
            // Loud: the i32 energy lanes could wrap, recounted exactly.
            for v in [i16::MIN, i16::MAX, -20000, 11965, -11966, 3000] {
                let full = vec![v; FRAME_SAMPLES];
                let mut d = vec![0; FRAME_SAMPLES];
                let want = 960 * u64::from(v.unsigned_abs()).pow(2);
                assert_eq!(
                    simd.gain_energy(&full, GAIN_UNITY, &mut d),
                    FrameStats {
                        energy: want,
                        peak: v.unsigned_abs()
                    },
                    "{simd:?} constant {v}"
                );
            }
        }
    }

    /// The unrolled SIMD loop against the reference for every count of
    /// 16-sample steps from 0 to 9 (all four remainders of the unroll), with
    /// and without a scalar tail, at gains that saturate, and loud enough
    /// that the energy must be recounted exactly.
    #[test]
    fn simd_gain_energy_matches_portable_for_every_unroll_remainder() {
        for simd in simd() {
            for steps in 0..10 {
                for tail in [0, 5] {
                    let len = 16 * steps + tail;
                    for (seed, amp) in [(9, 32768), (10, 700)] {
                        let src = noise(seed + len as u64, amp, len);
                        for gain in [GAIN_UNITY, 3000, 8 * GAIN_UNITY] {
                            let mut a = vec![0; len];
                            let mut b = vec![-1; len];
                            let ea = Kernels::Portable.gain_energy(&src, gain, &mut a);
                            let eb = simd.gain_energy(&src, gain, &mut b);
                            assert_eq!(a, b, "{simd:?} len {len} gain {gain}");
                            assert_eq!(ea, eb, "{simd:?} stats, len {len} gain {gain}");
                        }
                    }
                }
            }
        }
    }

    /// `Kernels::mix` (what the mixer calls) against the scalar reference
    /// (`sum`, `soft_clip(total - own)` per sample): loud and quiet frames,
    /// own peaks inside and outside the plan, clipping totals.
    #[test]
    fn mix_matches_the_scalar_reference() {
        let mut kernels = simd();
        kernels.push(Kernels::Portable);
        for kern in kernels {
            for (n, amp, loud) in [(100, 3000, 0), (100, 150, 0), (40, 3000, 3), (9, 32767, 9)] {
                let mut frames = Vec::new();
                for k in 0..n {
                    let a = if k < loud { 20000 } else { amp };
                    frames.extend(noise(k as u64 * 13 + 5, a, FRAME_SAMPLES));
                }
                let idx: Vec<u32> = (0..n as u32).rev().filter(|k| k % 7 != 3).collect();
                let frame = |k: u32| {
                    let s = k as usize * FRAME_SAMPLES;
                    frames[s..s + FRAME_SAMPLES].to_vec()
                };
                let peaks: Vec<u16> = idx
                    .iter()
                    .map(|&k| frame(k).iter().map(|v| v.unsigned_abs()).max().unwrap())
                    .collect();
                let mut want_acc = [0i32; FRAME_SAMPLES];
                for &k in &idx {
                    for (a, &v) in want_acc.iter_mut().zip(&frame(k)) {
                        *a += i32::from(v);
                    }
                }
                let plan_peak = peaks.iter().copied().filter(|&p| p <= PLAN_PEAK_MAX).max();
                let mut total = Box::<Total>::default();
                let mut full = vec![0; FRAME_SAMPLES];
                let mut out = frames.clone();
                kern.mix(
                    &mut out,
                    &idx,
                    &peaks,
                    &mut total,
                    plan_peak.unwrap_or(0),
                    &mut full,
                );
                let what = format!("{kern:?} n={n} amp={amp} loud={loud}");
                assert!(total.acc == want_acc, "sum {what}");
                let want_full: Vec<i16> = want_acc.iter().map(|&a| soft_clip(a)).collect();
                assert_eq!(full, want_full, "full mix {what}");
                for &k in &idx {
                    let s = k as usize * FRAME_SAMPLES;
                    let want: Vec<i16> = want_acc
                        .iter()
                        .zip(&frame(k))
                        .map(|(&a, &o)| soft_clip(a - i32::from(o)))
                        .collect();
                    assert_eq!(&out[s..s + FRAME_SAMPLES], &want[..], "frame {k} {what}");
                }
                // Frames not listed are left alone.
                for k in (0..n as u32).filter(|k| k % 7 == 3) {
                    let s = k as usize * FRAME_SAMPLES;
                    assert_eq!(&out[s..s + FRAME_SAMPLES], &frame(k)[..], "{what}");
                }
            }
        }
    }

    /// Runs sum, finish and minus_one for every listed frame with `kern`.
    fn run(
        kern: Kernels,
        frames: &[i16],
        idx: &[u32],
        plan_peak: u16,
    ) -> (Box<Total>, Vec<i16>, Vec<i16>) {
        let mut total = Box::<Total>::default();
        total.acc = [7; FRAME_SAMPLES];
        let mut full = vec![0; FRAME_SAMPLES];
        kern.sum(frames, idx, &mut total.acc);
        kern.finish(&mut total, plan_peak, &mut full);
        let mut n1 = frames.to_vec();
        for &k in idx {
            let r = k as usize * FRAME_SAMPLES..(k as usize + 1) * FRAME_SAMPLES;
            let peak = frames[r.clone()]
                .iter()
                .map(|v| v.unsigned_abs())
                .max()
                .unwrap_or(0);
            kern.minus_one(&total, &mut n1[r], peak);
        }
        (total, full, n1)
    }

    #[test]
    fn simd_sum_finish_minus_one_match_portable() {
        let first_diff = |a: &[i16], b: &[i16]| a.iter().zip(b).position(|(x, y)| x != y);
        for simd in simd() {
            for (n, amp) in [
                (1usize, 32768),
                (3, 32768),
                (20, 3000),
                (100, 3000),
                (100, 8191),
                (101, 150),
                (100, 32768),
                (7, 9000),
                (2, 0),
            ] {
                let mut frames = Vec::new();
                for k in 0..n {
                    frames.extend(noise(k as u64 * 7 + amp as u64, amp, FRAME_SAMPLES));
                }
                // Skip one frame to check the index list is honoured.
                let idx: Vec<u32> = (0..n as u32).filter(|&k| n == 1 || k != 1).collect();
                let peak = u16::try_from(amp.min(32767)).unwrap();
                for plan_peak in [peak, peak.saturating_add(100), 0, PLAN_PEAK_MAX] {
                    let want = run(Kernels::Portable, &frames, &idx, plan_peak);
                    let got = run(simd, &frames, &idx, plan_peak);
                    let what = format!("{simd:?} n={n} amp={amp} plan={plan_peak}");
                    assert!(want.0.acc == got.0.acc, "sum {what}");
                    assert_eq!(want.0.fits, got.0.fits, "fits mask {what}");
                    assert_eq!(want.0.n_linear, got.0.n_linear, "plan {what}");
                    assert_eq!(want.0.order, got.0.order, "plan {what}");
                    assert_eq!(first_diff(&want.1, &got.1), None, "full mix {what}");
                    assert_eq!(first_diff(&want.2, &got.2), None, "n-1 outputs {what}");
                }
            }
        }
    }

    #[test]
    fn simd_soft_clip_matches_scalar_over_the_whole_range() {
        for simd in simd() {
            // Drive minus_one with acc = x and own = 0 for x across the range.
            let mut x = -200_000i32;
            while x < 200_000 {
                let mut total = Box::<Total>::default();
                for (i, a) in total.acc.iter_mut().enumerate() {
                    *a = x + i as i32 * 3;
                }
                let mut full = vec![0; FRAME_SAMPLES];
                for plan_peak in [0, 40_000] {
                    simd.finish(&mut total, plan_peak, &mut full);
                    for own_peak in [0, 1, 9000] {
                        let mut out = vec![0; FRAME_SAMPLES];
                        simd.minus_one(&total, &mut out, own_peak);
                        for i in 0..FRAME_SAMPLES {
                            assert_eq!(
                                full[i],
                                soft_clip(total.acc[i]),
                                "full at {}",
                                total.acc[i]
                            );
                            assert_eq!(out[i], soft_clip(total.acc[i]), "n-1 at {}", total.acc[i]);
                        }
                    }
                }
                x += 3 * FRAME_SAMPLES as i32;
            }
        }
    }

    /// The planned path's saturating i16 arithmetic (see [`Total`]) against
    /// `soft_clip(t - o)` for totals across and beyond both knees and own
    /// samples at and inside every peak bound up to `PLAN_PEAK_MAX`.
    #[test]
    fn planned_minus_one_is_exact_for_every_total_and_own_within_the_peak() {
        for simd in simd() {
            for m in [0u16, 1, 150, 3000, 8000, PLAN_PEAK_MAX] {
                let mi = i32::from(m);
                // Own patterns: both extremes, zero, and noise within ±m.
                let mut owns: Vec<Vec<i16>> = [mi, -mi, 0]
                    .iter()
                    .map(|&v| vec![v as i16; FRAME_SAMPLES])
                    .collect();
                owns.push(
                    (0..FRAME_SAMPLES)
                        .map(|i| if i % 2 == 0 { mi as i16 } else { -mi as i16 })
                        .collect(),
                );
                owns.push(noise(u64::from(m) + 11, mi, FRAME_SAMPLES));
                let mut start = -130_000i32;
                while start < 130_000 {
                    let mut total = Box::<Total>::default();
                    for (i, a) in total.acc.iter_mut().enumerate() {
                        // Dense near the interesting points, sparse elsewhere.
                        *a = start + i as i32;
                    }
                    let mut full = vec![0; FRAME_SAMPLES];
                    simd.finish(&mut total, m, &mut full);
                    assert!(total.planned_for(m));
                    for own in &owns {
                        let mut out = own.clone();
                        simd.minus_one(&total, &mut out, m);
                        for i in 0..FRAME_SAMPLES {
                            let x = total.acc[i] - i32::from(own[i]);
                            assert_eq!(
                                out[i],
                                soft_clip(x),
                                "{simd:?} m={m} t={} o={}",
                                total.acc[i],
                                own[i]
                            );
                        }
                    }
                    start += if (-70_000..70_000).contains(&start) {
                        FRAME_SAMPLES as i32
                    } else {
                        7 * FRAME_SAMPLES as i32
                    };
                }
            }
        }
    }

    #[test]
    fn plan_lists_every_chunk_once_linear_first() {
        let mut total = Box::<Total>::default();
        for (i, a) in total.acc.iter_mut().enumerate() {
            *a = if (i / CHUNK).is_multiple_of(3) {
                30_000
            } else {
                100
            };
        }
        let mut full = vec![0; FRAME_SAMPLES];
        Kernels::Portable.finish(&mut total, 200, &mut full);
        assert_eq!(total.n_linear, CHUNKS - CHUNKS / 3);
        let mut seen = total.order;
        seen.sort_unstable();
        assert!(seen.iter().enumerate().all(|(c, &o)| usize::from(o) == c));
        assert!(
            total.order[..total.n_linear]
                .iter()
                .all(|&c| usize::from(c) % 3 != 0)
        );
    }
}
