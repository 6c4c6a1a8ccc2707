//! Sample kernels of the N-1 mix: a portable path and an AVX2 path that give
//! bit-identical results (every step is integer arithmetic).
//!
//! The SIMD functions are chosen at run time with `is_x86_feature_detected!`
//! (see [`Kernels::detect`]); the unit tests at the bottom call every path on
//! the same data and compare them exactly.
//!
//! Per tick the mixer (1) sums the pushed frames into an i32 accumulator,
//! measuring each frame's energy and peak in the same read
//! ([`Kernels::sum_stats`]; with `max_mixed` it measures first
//! ([`Kernels::stats`]) and sums only the loudest ([`Kernels::sum`])),
//! (2) derives from that sum, once, a few i16 views and a per-chunk plan
//! ([`Kernels::finish`], see [`Total`]) and (3) computes each mixed
//! participant's `soft_clip(total − own)` into its own output buffer
//! ([`Kernels::minus_one`]). The frames are read where the caller keeps them
//! (borrowed, not copied) unless a gain other than unity must be applied
//! ([`Kernels::copy_gain`]). Step 3 is the hot one: with the plan, a chunk
//! whose total stays far enough below the knee costs one i16 subtraction, one
//! far enough below the flat top six i16 operations, any other chunk seven,
//! instead of a round trip through i32 lanes.

use super::{FRAME_SAMPLES, MAX_PARTICIPANTS};

/// Soft-clip knee: `|x| <= KNEE` passes through unchanged (`3R`, so the
/// curve's top `KNEE + R - 1` is full scale).
pub(crate) const KNEE: i32 = 3 << KNEE_SHIFT;
/// `log2` of the knee width `R = 32768 - KNEE` (`R = 8192`).
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
const _: () = assert!(FRAME_SAMPLES.is_multiple_of(64) && CHUNKS <= 64);
/// Largest own-frame peak `|own|` the planned N-1 path is exact for (see
/// [`Total`]); louder frames take the generic i32 path.
pub(crate) const PLAN_PEAK_MAX: u16 = 8191;
/// Clamp of `|acc|` in [`Total`]'s magnitudes: `MAG_CLAMP - PLAN_PEAK_MAX` is
/// the flat top `KNEE + E_MAX`, and `MAG_CLAMP - KNEE ± PLAN_PEAK_MAX` fits
/// i16.
const MAG_CLAMP: i32 = KNEE + E_MAX + PLAN_PEAK_MAX as i32;
// `vpmulhrsw` divides by 2¹⁵: that must be 4R.
const _: () = assert!(KNEE_SHIFT + 2 == 15 && E_MAX <= 1 << 14);
const _: () = assert!(
    MAG_CLAMP - KNEE + PLAN_PEAK_MAX as i32 <= i16::MAX as i32
        && -KNEE - PLAN_PEAK_MAX as i32 > i16::MIN as i32
        && KNEE + PLAN_PEAK_MAX as i32 <= i16::MAX as i32
);

/// The soft clipper: identity for `|x| <= KNEE`, then the quadratic knee
/// `y = KNEE + e - (e² + e)/(4R)` (continuous at the knee, where the slope
/// goes from 1 to 1 − 1/(4R), reaching 32767 with slope 0 at `e = 2R`),
/// then flat at ±32767. Odd-symmetric, monotonic, bounded.
///
/// The quadratic term is `q(e) = (e² + e + 2R) >> log2(4R)`, `(e² + e)/(4R)`
/// rounded to nearest (ties up), because of how the SIMD paths get it in
/// one instruction (with `4R = 2¹⁵`): for `wc = min(|x| − KNEE, 2R)`,
/// `vpmulhrsw(wc, sat16(wc − 32767))` is `q(wc) − wc` when `wc >= 0` and
/// `−wc` when `wc < 0` (the second factor saturates to `−2¹⁵`), which is
/// `KNEE − y` on both sides of the knee: no clamp at zero, no separate
/// square. The rounding keeps the curve monotonic (consecutive `e² + e`
/// differ by `2e + 2 <= 4R`, so `q` steps by at most 1) and the top exact
/// (`q(2R) = R + 1`, `y = KNEE + R - 1 = 32767`).
#[inline]
pub(crate) fn soft_clip(x: i32) -> i16 {
    let a = x.unsigned_abs().min(i32::MAX as u32) as i32;
    let wc = (a - KNEE).min(E_MAX);
    let e = wc.max(0);
    let y = KNEE + wc - ((e * e + e + (1 << (KNEE_SHIFT + 1))) >> (KNEE_SHIFT + 2));
    // y <= KNEE + 2R - (R + 1) = 32767 by construction (see the doc above).
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

/// What [`Kernels::stats`] and [`Kernels::sum_stats`] measured on a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FrameStats {
    /// `Σ v²`.
    pub(crate) energy: u64,
    /// `max(v[2j]² + v[2j+1]²)`, whose root ([`peak_of`](Self::peak_of)) bounds
    /// `max |v|`: at least the peak and below `√2` times it (the SIMD sum
    /// gets it from the products it computes for the energy anyway, and
    /// shares it between the two frames it sums together: there it bounds
    /// both). It only chooses between exact N-1 paths, so a loose bound
    /// costs time, never accuracy. Kept squared: the tick compares it with
    /// bounds ([`peak_at_most`](Self::peak_at_most)) and takes one root, of
    /// the largest (a root per frame cost 2 % of a tick of 100).
    pub(crate) max_pair: u32,
}

impl FrameStats {
    /// The stats of a frame from its energy and `max(v[2j]² + v[2j+1]²)`.
    #[inline]
    fn from_pairs(energy: u64, max_pair: u32) -> Self {
        Self { energy, max_pair }
    }

    /// The peak bound, `⌊√max_pair⌋`.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> u16 {
        Self::peak_of(self.max_pair)
    }

    /// Whether the peak bound is at most `p`, without the root:
    /// `⌊√max_pair⌋ <= p` exactly when `max_pair < (p + 1)²`.
    #[inline]
    pub(crate) fn peak_at_most(&self, p: u16) -> bool {
        u64::from(self.max_pair) < (u64::from(p) + 1).pow(2)
    }

    /// The peak bound from `max(v[2j]² + v[2j+1]²)`: its square root,
    /// `⌊√max_pair⌋` (at most 46341, fits u16).
    #[inline]
    pub(crate) fn peak_of(max_pair: u32) -> u16 {
        // The f64 root is correctly rounded and cannot reach n for n² - 1
        // below 2⁵², so truncating it is exact; `u32::isqrt` (bit by bit)
        // cost more than the mix's bookkeeping.
        let root = f64::from(max_pair).sqrt() as u16;
        debug_assert_eq!(u32::from(root), max_pair.isqrt());
        root
    }
}

/// The sum of one tick and what [`Kernels::finish`] derives from it for the
/// N-1 outputs.
///
/// The planned N-1 path relies on this: for `|o| <= M <= PLAN_PEAK_MAX` and
/// `s = sign(t)` (+1 for `t = 0`), `t - o = s·u` with `u = |t| - s·o`, so
/// `soft_clip(t - o) = s·y(u)` (odd symmetry), where `u` lies in `-M..`
/// (negative only when `|t| < M`, far below the knee). Measured from the
/// knee, `w = u - KNEE`, the curve is `y = KNEE + w` for `w <= 0`,
/// `KNEE + w - q(w)` up to `w = 2R` and 32767 beyond: with
/// `wc = min(w, 2R)`, `y = KNEE - p(wc)` everywhere, where `p` is the one
/// `vpmulhrsw` described at [`soft_clip`]. With `mag = min(|t|, 49151) -
/// KNEE` (`-24576..=24575`), `w = mag - s·o` is exact in i16 lanes
/// (`-32767..=32766`): `|t| - KNEE - s·o` itself, or, where `|t|` was
/// clamped, at least `2R` like the true value (the flat top).
///
/// The signs are applied with an exclusive or instead of `vpsignw`, which
/// shares the two multiplier pipes with `vpmulhrsw` and the saturating
/// subtraction on Zen 4 (the knee was bound by those pipes, not by its
/// operation count). With `flip = -1` where `s = +1` and `0` where `s = -1`,
/// `x ^ flip = -s·x - [s = +1]` for any i16 `x`, so `w = (o ^ flip) + wbase`
/// with `wbase = mag + [s = +1]` (at most 24576), and the result `s·(KNEE -
/// p) = (p ^ flip) + ybase` with `ybase = KNEE + 1` where `s = +1` and
/// `-KNEE` where `s = -1` (exact in wrapping i16 arithmetic: the result is in
/// range). Seven i16 operations, two of them on the multiplier pipes, one
/// load and one store per frame and 16 samples, after three loads shared by
/// the frames computed together.
/// Chunks where every `|t| <= KNEE - M` need no clipping at all: there the
/// output is `t - o` exactly. Chunks where every `|t| <= KNEE + 2R - M` are
/// below the top: `w <= 2R`, so `wc = w` and the `min` goes (six
/// operations). The chunks are visited in address order either way.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(crate) struct Total {
    /// The exact sum of the mixed contributions.
    pub(crate) acc: [i32; FRAME_SAMPLES],
    /// `sat16(acc)`.
    t16: [i16; FRAME_SAMPLES],
    /// `mag + [s = +1]`, `mag = min(|acc|, MAG_CLAMP) - KNEE` (see above).
    wbase: [i16; FRAME_SAMPLES],
    /// `-1` where `acc >= 0`, else `0`.
    flip: [i16; FRAME_SAMPLES],
    /// `KNEE + 1` where `acc >= 0`, else `-KNEE`.
    ybase: [i16; FRAME_SAMPLES],
    /// Bit `c` set when chunk `c` of `acc` fits in i16 (`t16` exact there).
    fits: u64,
    /// The `M` the chunk masks were made for (`<= PLAN_PEAK_MAX`).
    plan_peak: u16,
    /// Bit `c` set when every `|acc| <= KNEE - plan_peak` in chunk `c`
    /// (linear: no clipping at all).
    linear: u64,
    /// Bit `c` set when every `|acc| <= KNEE + 2R - plan_peak` in chunk `c`
    /// (`w <= 2R`: the knee without the clamp to the flat top).
    below_top: u64,
}

impl Default for Total {
    fn default() -> Self {
        Self {
            acc: [0; FRAME_SAMPLES],
            t16: [0; FRAME_SAMPLES],
            wbase: [0; FRAME_SAMPLES],
            flip: [0; FRAME_SAMPLES],
            ybase: [0; FRAME_SAMPLES],
            fits: 0,
            plan_peak: 0,
            linear: 0,
            below_top: 0,
        }
    }
}

impl Total {
    /// Largest `|acc|` of a chunk in the linear class for `plan_peak`.
    fn linear_max(plan_peak: u16) -> i32 {
        KNEE - i32::from(plan_peak)
    }

    /// Largest `|acc|` of a chunk in the below-the-top class for `plan_peak`.
    fn below_top_max(plan_peak: u16) -> i32 {
        KNEE + E_MAX - i32::from(plan_peak)
    }

    /// Whether a frame measured as `own` may take the planned path.
    #[inline]
    fn planned_for(&self, own: &FrameStats) -> bool {
        own.peak_at_most(self.plan_peak) && self.plan_peak <= PLAN_PEAK_MAX
    }
}

/// Largest peak bound ([`FrameStats::peak`]) of two frames whose sum is exact
/// in i16 lanes (`2 × 16383 <= 32767`).
const PAIR_SUM_PEAK_MAX: u16 = 16383;
/// `u64` words of [`SumHints`]: one bit per group of four frames.
const HINT_WORDS: usize = MAX_PARTICIPANTS.div_ceil(4).div_ceil(64);

/// Which groups of four frames the SIMD [`Kernels::sum_stats`] found too
/// loud for its i16 pair sums last time (frames `4g..4g + 4` of the list:
/// bit `g`).
///
/// The cheap way to sum a group adds each pair of frames in i16 lanes and
/// widens once per pair instead of once per frame: eight vector operations
/// per chunk of four frames instead of twelve. It is exact when every sample
/// of the pair is within ±16383, which is only known once the group is
/// measured, in the same pass. So the sum takes the cheap path
/// speculatively, where the group was quiet enough the tick before (frames
/// are listed in the same order tick after tick), and repairs the sum of a
/// pair that turned out louder. A hint only: results are exact either way.
#[derive(Clone, Debug, Default)]
pub(crate) struct SumHints {
    loud: [u64; HINT_WORDS],
}

impl SumHints {
    fn loud(&self, group: usize) -> bool {
        self.loud[group / 64] & (1 << (group % 64)) != 0
    }

    fn set_loud(&mut self, group: usize, loud: bool) {
        let bit = 1 << (group % 64);
        if loud {
            self.loud[group / 64] |= bit;
        } else {
            self.loud[group / 64] &= !bit;
        }
    }
}

/// One 20 ms frame of samples.
pub(crate) type Frame = [i16; FRAME_SAMPLES];

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

    /// `dst = gain(src)` (pushes that copy: [`AudioMixer::push`](super::AudioMixer::push),
    /// and borrowed frames of a participant whose gain is not unity).
    pub(crate) fn copy_gain(self, src: &Frame, gain_q12: i32, dst: &mut Frame) {
        if gain_q12 == GAIN_UNITY {
            dst.copy_from_slice(src);
            return;
        }
        match self {
            Kernels::Portable => portable::copy_gain(src, gain_q12, dst),
            // SAFETY: `Avx2` is only constructed when the CPU supports AVX2.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::copy_gain(src, gain_q12, dst) },
        }
    }

    /// Energy and peak of each frame (`stats[k]` of `frames[k]`), read only.
    pub(crate) fn stats(self, frames: &[&Frame], stats: &mut [FrameStats]) {
        assert_eq!(frames.len(), stats.len());
        match self {
            Kernels::Portable => {
                for (f, s) in frames.iter().zip(stats) {
                    *s = portable::stats(f);
                }
            }
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::stats(frames, stats) },
        }
    }

    /// `acc = Σ frames` and `stats[k]` of `frames[k]`, in one read of the
    /// frames (what a tick that mixes everyone runs). `hints` carries what
    /// the last call learned about the frames' loudness to the next (see
    /// [`SumHints`]); the result does not depend on it.
    pub(crate) fn sum_stats(
        self,
        frames: &[&Frame],
        acc: &mut [i32; FRAME_SAMPLES],
        stats: &mut [FrameStats],
        hints: &mut SumHints,
    ) {
        assert_eq!(frames.len(), stats.len());
        assert!(frames.len() <= MAX_PARTICIPANTS);
        match self {
            Kernels::Portable => portable::sum_stats(frames, acc, stats),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::sum_stats(frames, acc, stats, hints) },
        }
    }

    /// `acc = Σ frames`.
    pub(crate) fn sum(self, frames: &[&Frame], acc: &mut [i32; FRAME_SAMPLES]) {
        match self {
            Kernels::Portable => portable::sum(frames, acc),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::sum(frames, acc) },
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

    /// N-1 outputs of `K` participants at once: `out[k] =
    /// soft_clip(total.acc - own[k])`. `own_stats[k]` must bound
    /// `max |own[k]|` (as measured by [`stats`](Self::stats) or
    /// [`sum_stats`](Self::sum_stats)); `total` filled by
    /// [`finish`](Self::finish). Several at once, the SIMD path reads what
    /// they share of `total` once per chunk for all of them.
    pub(crate) fn minus_one<const K: usize>(
        self,
        total: &Total,
        own: [&Frame; K],
        out: [&mut Frame; K],
        own_stats: [&FrameStats; K],
    ) {
        match self {
            Kernels::Portable => {
                for (o, d) in own.into_iter().zip(out) {
                    portable::minus_one(&total.acc, o, d);
                }
            }
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => unsafe { avx2::minus_one(total, own, out, own_stats) },
        }
    }
}

/// Reference implementation.
pub(crate) mod portable {
    use super::*;

    pub(crate) fn copy_gain(src: &Frame, gain_q12: i32, dst: &mut Frame) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = apply_gain(s, gain_q12);
        }
    }

    pub(crate) fn stats(frame: &Frame) -> FrameStats {
        let mut energy = 0u64;
        let mut max_pair = 0u32;
        for pair in frame.chunks_exact(2) {
            let sq = |v: i16| (i32::from(v) * i32::from(v)) as u32;
            let p = sq(pair[0]) + sq(pair[1]);
            energy += u64::from(p);
            max_pair = max_pair.max(p);
        }
        FrameStats::from_pairs(energy, max_pair)
    }

    pub(crate) fn sum_stats(
        frames: &[&Frame],
        acc: &mut [i32; FRAME_SAMPLES],
        stats: &mut [FrameStats],
    ) {
        sum(frames, acc);
        for (f, s) in frames.iter().zip(stats) {
            *s = self::stats(f);
        }
    }

    pub(crate) fn sum(frames: &[&Frame], acc: &mut [i32; FRAME_SAMPLES]) {
        acc.fill(0);
        for frame in frames {
            for (a, &s) in acc.iter_mut().zip(frame.iter()) {
                *a += i32::from(s);
            }
        }
    }

    pub(crate) fn finish(total: &mut Total, plan_peak: u16, out: &mut [i16]) {
        let (lin_max, top_max) = (
            Total::linear_max(plan_peak),
            Total::below_top_max(plan_peak),
        );
        let (mut fits, mut linear, mut below_top) = (0u64, 0u64, 0u64);
        for (c, chunk) in total.acc.chunks_exact(CHUNK).enumerate() {
            let peak = chunk.iter().map(|&v| v.abs()).max().unwrap_or(0);
            if chunk.iter().all(|&v| i16::try_from(v).is_ok()) {
                fits |= 1 << c;
            }
            if peak <= lin_max {
                linear |= 1 << c;
            }
            if peak <= top_max {
                below_top |= 1 << c;
            }
        }
        for (i, (&a, o)) in total.acc.iter().zip(out.iter_mut()).enumerate() {
            total.t16[i] = sat16(a);
            // In -KNEE..=MAG_CLAMP - KNEE, within i16 (asserted with the
            // constants).
            let mag = (a.unsigned_abs().min(MAG_CLAMP as u32) as i32 - KNEE) as i16;
            let positive = a >= 0;
            total.flip[i] = -i16::from(positive);
            total.wbase[i] = mag + i16::from(positive);
            total.ybase[i] = if positive {
                KNEE as i16 + 1
            } else {
                -(KNEE as i16)
            };
            *o = soft_clip(a);
        }
        (total.fits, total.plan_peak) = (fits, plan_peak);
        (total.linear, total.below_top) = (linear, below_top);
    }

    pub(crate) fn minus_one(acc: &[i32; FRAME_SAMPLES], own: &Frame, out: &mut Frame) {
        for ((d, &s), &a) in out.iter_mut().zip(own).zip(acc) {
            *d = soft_clip(a - i32::from(s));
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
        // wc = min(|x| - KNEE, 2R) >= -KNEE; y = KNEE - p (see `soft_clip`).
        let wc = _mm256_min_epi16(e16, _mm256_set1_epi16(E_MAX as i16));
        let p = _mm256_mulhrs_epi16(wc, _mm256_subs_epi16(wc, _mm256_set1_epi16(i16::MAX)));
        let y = _mm256_sub_epi16(_mm256_set1_epi16(KNEE as i16), p);
        let y = _mm256_sign_epi16(y, sign);
        _mm256_permute4x64_epi64::<0b11_01_10_00>(y)
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

    /// `dst = gain(src)` for a gain other than unity.
    ///
    /// # Safety
    /// AVX2 available.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn copy_gain(src: &Frame, gain_q12: i32, dst: &mut Frame) {
        let gain = _mm256_set1_epi32(gain_q12);
        for c in 0..CHUNKS {
            // SAFETY: 16c + 16 <= FRAME_SAMPLES, the length of both.
            unsafe { store16(dst, c * CHUNK, gain16(src, c * CHUNK, gain)) };
        }
    }

    /// Largest u32 lane of `v`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hmax_u32(v: __m256i) -> u32 {
        let m = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b01_00_11_10>(m));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b10_11_00_01>(m));
        _mm_cvtsi128_si32(m) as u32
    }

    /// Sum of the eight u32 lanes of `v`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hsum_u32(v: __m256i) -> u64 {
        let lo32 = _mm256_set1_epi64x(0xFFFF_FFFF);
        let s = _mm256_add_epi64(_mm256_and_si256(v, lo32), _mm256_srli_epi64::<32>(v));
        let s = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
        (_mm_cvtsi128_si64(s) as u64).wrapping_add(_mm_extract_epi64::<1>(s) as u64)
    }

    /// A frame's energy from its accumulator `e` (u32 lanes summing
    /// `madd(v, v)`, exact unless a lane could have reached 2³², then the
    /// energy is recounted from the frame), given `max_pair`, at least its
    /// largest `madd(v, v)`.
    ///
    /// # Safety
    /// AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn frame_energy(frame: &Frame, e: __m256i, max_pair: u32) -> u64 {
        // Each lane summed CHUNKS products of at most `max_pair`.
        if CHUNKS as u64 * u64::from(max_pair) < 1 << 32 {
            hsum_u32(e)
        } else {
            // SAFETY: AVX2 per the contract.
            unsafe { energy_exact(frame) }
        }
    }

    /// Exact energy of a loud frame: each `madd(v, v)` (at most 2³¹, exact
    /// as u32) widened into u64 lanes.
    ///
    /// # Safety
    /// AVX2 available.
    #[cold]
    #[target_feature(enable = "avx2")]
    unsafe fn energy_exact(frame: &Frame) -> u64 {
        let lo32 = _mm256_set1_epi64x(0xFFFF_FFFF);
        let mut s = _mm256_setzero_si256();
        for c in 0..CHUNKS {
            // SAFETY: 16c + 16 <= FRAME_SAMPLES.
            let v = unsafe { load16(frame, c * CHUNK) };
            let m = _mm256_madd_epi16(v, v);
            s = _mm256_add_epi64(s, _mm256_and_si256(m, lo32));
            s = _mm256_add_epi64(s, _mm256_srli_epi64::<32>(m));
        }
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), s) };
        lanes.iter().sum()
    }

    /// # Safety
    /// AVX2 available; `frames.len() == stats.len()`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn stats(frames: &[&Frame], stats: &mut [FrameStats]) {
        for (f, s) in frames.iter().zip(stats) {
            let (mut e, mut p) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for c in 0..CHUNKS {
                // SAFETY: 16c + 16 <= FRAME_SAMPLES.
                let v = unsafe { load16(*f, c * CHUNK) };
                let sq = _mm256_madd_epi16(v, v);
                e = _mm256_add_epi32(e, sq);
                p = _mm256_max_epu32(p, sq);
            }
            let max_pair = hmax_u32(p);
            // SAFETY: AVX2 per the contract.
            *s = FrameStats::from_pairs(unsafe { frame_energy(f, e, max_pair) }, max_pair);
        }
    }

    /// Silence, to pad the last group of [`sum_stats`] and [`sum`].
    static SILENCE: Frame = [0; FRAME_SAMPLES];

    /// The frames in groups of four (the last padded with [`SILENCE`]):
    /// `(group, first, last)`.
    fn groups<'a>(frames: &'a [&'a Frame]) -> impl Iterator<Item = ([&'a Frame; 4], bool, bool)> {
        let n = frames.len().div_ceil(4);
        (0..n).map(move |g| {
            let f = |j: usize| frames.get(4 * g + j).copied().unwrap_or(&SILENCE);
            ([f(0), f(1), f(2), f(3)], g == 0, g + 1 == n)
        })
    }

    /// # Safety
    /// AVX2 available; `frames.len() == stats.len() <= MAX_PARTICIPANTS`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn sum_stats(
        frames: &[&Frame],
        acc: &mut [i32; FRAME_SAMPLES],
        stats: &mut [FrameStats],
        hints: &mut SumHints,
    ) {
        if frames.is_empty() {
            acc.fill(0);
            return;
        }
        // Groups summed with i16 pair sums that overflowed, repaired below.
        let mut repair = [0u64; HINT_WORDS];
        for (g, (group, first, last)) in groups(frames).enumerate() {
            let quiet = !hints.loud(g);
            // SAFETY: AVX2 per the contract.
            let st = unsafe {
                match (first, last, quiet) {
                    (true, true, true) => sum4::<true, true, true, true>(group, acc),
                    (true, false, true) => sum4::<true, false, true, true>(group, acc),
                    (false, true, true) => sum4::<false, true, true, true>(group, acc),
                    (false, false, true) => sum4::<false, false, true, true>(group, acc),
                    (true, true, false) => sum4::<true, true, true, false>(group, acc),
                    (true, false, false) => sum4::<true, false, true, false>(group, acc),
                    (false, true, false) => sum4::<false, true, true, false>(group, acc),
                    (false, false, false) => sum4::<false, false, true, false>(group, acc),
                }
            };
            // Frames 0 and 1 share one peak bound, 2 and 3 another.
            let loud =
                !st[0].peak_at_most(PAIR_SUM_PEAK_MAX) || !st[2].peak_at_most(PAIR_SUM_PEAK_MAX);
            if quiet && loud {
                repair[g / 64] |= 1 << (g % 64);
            }
            hints.set_loud(g, loud);
            for (s, st) in stats[4 * g..].iter_mut().zip(st) {
                *s = st;
            }
        }
        for (w, &bits) in repair.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let g = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for p in [4 * g, 4 * g + 2] {
                    // A pair padded with silence summed exactly.
                    if let (Some(a), Some(b)) = (frames.get(p), frames.get(p + 1))
                        && !stats[p].peak_at_most(PAIR_SUM_PEAK_MAX)
                    {
                        // SAFETY: AVX2 per the contract; the last group
                        // stored `acc` in sample order.
                        unsafe { repair_pair(a, b, acc) };
                    }
                }
            }
        }
    }

    /// # Safety
    /// AVX2 available.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn sum(frames: &[&Frame], acc: &mut [i32; FRAME_SAMPLES]) {
        if frames.is_empty() {
            acc.fill(0);
            return;
        }
        for (group, first, last) in groups(frames) {
            // SAFETY: AVX2 per the contract.
            unsafe {
                match (first, last) {
                    (true, true) => sum4::<true, true, false, false>(group, acc),
                    (true, false) => sum4::<true, false, false, false>(group, acc),
                    (false, true) => sum4::<false, true, false, false>(group, acc),
                    (false, false) => sum4::<false, false, false, false>(group, acc),
                };
            }
        }
    }

    /// Adds four frames into `acc` (`FIRST`: `acc` is overwritten) and, with
    /// `STATS`, measures each of them on the way.
    ///
    /// Two frames' samples are interleaved and multiply-added by 1, so sample
    /// `i` of both lands in one i32 lane: lane order within a chunk is then
    /// `0-3 8-11` (first vector) and `4-7 12-15` (second). With `PAIRS16`
    /// the frames are first added pairwise in i16 lanes (0 + 1, 2 + 3) and
    /// the two pair sums are interleaved instead, in the same lane order:
    /// exact only if every sample of a pair is within ±16383 (see
    /// [`SumHints`]; otherwise the caller repairs the wrapped pair sums).
    /// `acc` stays in that order between groups and the `LAST` group stores
    /// it in sample order. The stats take six registers: each frame's energy, and the
    /// largest `madd(v, v)` of each pair of frames (a peak bound for both,
    /// see [`FrameStats::peak`]), so they fit the 16 ymm registers with the
    /// four loaded vectors (with eight, LLVM spilled an accumulator: a
    /// store-to-load round trip every chunk).
    ///
    /// # Safety
    /// AVX2 available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn sum4<const FIRST: bool, const LAST: bool, const STATS: bool, const PAIRS16: bool>(
        f: [&Frame; 4],
        acc: &mut [i32; FRAME_SAMPLES],
    ) -> [FrameStats; 4] {
        let ones = _mm256_set1_epi16(1);
        let mut e = [_mm256_setzero_si256(); 4];
        // Largest madd(v, v) of frames 0 and 1, and of 2 and 3.
        let mut m = [_mm256_setzero_si256(); 2];
        for c in 0..CHUNKS {
            let i = c * CHUNK;
            // SAFETY: i + 16 <= FRAME_SAMPLES.
            let v = unsafe {
                [
                    load16(f[0], i),
                    load16(f[1], i),
                    load16(f[2], i),
                    load16(f[3], i),
                ]
            };
            if STATS {
                for j in 0..2 {
                    let sq0 = _mm256_madd_epi16(v[2 * j], v[2 * j]);
                    let sq1 = _mm256_madd_epi16(v[2 * j + 1], v[2 * j + 1]);
                    e[2 * j] = _mm256_add_epi32(e[2 * j], sq0);
                    e[2 * j + 1] = _mm256_add_epi32(e[2 * j + 1], sq1);
                    m[j] = _mm256_max_epu32(m[j], _mm256_max_epu32(sq0, sq1));
                }
            }
            let (mut lo, mut hi) = if PAIRS16 {
                let (s01, s23) = (_mm256_add_epi16(v[0], v[1]), _mm256_add_epi16(v[2], v[3]));
                (
                    _mm256_madd_epi16(_mm256_unpacklo_epi16(s01, s23), ones),
                    _mm256_madd_epi16(_mm256_unpackhi_epi16(s01, s23), ones),
                )
            } else {
                (
                    _mm256_add_epi32(
                        _mm256_madd_epi16(_mm256_unpacklo_epi16(v[0], v[1]), ones),
                        _mm256_madd_epi16(_mm256_unpacklo_epi16(v[2], v[3]), ones),
                    ),
                    _mm256_add_epi32(
                        _mm256_madd_epi16(_mm256_unpackhi_epi16(v[0], v[1]), ones),
                        _mm256_madd_epi16(_mm256_unpackhi_epi16(v[2], v[3]), ones),
                    ),
                )
            };
            if !FIRST {
                // SAFETY: i + 16 <= FRAME_SAMPLES.
                unsafe {
                    lo = _mm256_add_epi32(lo, load8x32(acc, i));
                    hi = _mm256_add_epi32(hi, load8x32(acc, i + 8));
                }
            }
            if LAST {
                let (x, y) = (
                    _mm256_permute2x128_si256::<0x20>(lo, hi),
                    _mm256_permute2x128_si256::<0x31>(lo, hi),
                );
                (lo, hi) = (x, y);
            }
            // SAFETY: i + 16 <= FRAME_SAMPLES.
            unsafe {
                store8x32(acc, i, lo);
                store8x32(acc, i + 8, hi);
            }
        }
        let mut out = [FrameStats::default(); 4];
        if STATS {
            // One bound per pair.
            let max_pair = [hmax_u32(m[0]), hmax_u32(m[1])];
            for j in 0..4 {
                out[j] = FrameStats {
                    // SAFETY: AVX2 per the contract.
                    energy: unsafe { frame_energy(f[j], e[j], max_pair[j / 2]) },
                    max_pair: max_pair[j / 2],
                };
            }
        }
        out
    }

    /// Corrects `acc` (in sample order) for frames `a` and `b` summed in i16
    /// lanes that wrapped: adds their exact sum minus the wrapped one.
    ///
    /// # Safety
    /// AVX2 available.
    #[cold]
    #[target_feature(enable = "avx2")]
    unsafe fn repair_pair(a: &Frame, b: &Frame, acc: &mut [i32; FRAME_SAMPLES]) {
        for i in (0..FRAME_SAMPLES).step_by(8) {
            // SAFETY: i + 8 <= FRAME_SAMPLES, the length of all three.
            unsafe {
                let exact = _mm256_add_epi32(load8_widen(a, i), load8_widen(b, i));
                let wrapped = _mm256_cvtepi16_epi32(_mm_add_epi16(
                    _mm_loadu_si128(a.as_ptr().add(i).cast()),
                    _mm_loadu_si128(b.as_ptr().add(i).cast()),
                ));
                let fixed = _mm256_add_epi32(load8x32(acc, i), _mm256_sub_epi32(exact, wrapped));
                store8x32(acc, i, fixed);
            }
        }
    }

    /// # Safety
    /// AVX2 available; `out.len() == FRAME_SAMPLES`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn finish(total: &mut Total, plan_peak: u16, out: &mut [i16]) {
        assert_eq!(out.len(), FRAME_SAMPLES, "full-mix buffer is one frame");
        let (mut fits, mut linear, mut below_top) = (0u64, 0u64, 0u64);
        for c in 0..CHUNKS {
            // SAFETY: c < CHUNKS and out.len() == FRAME_SAMPLES (asserted).
            let (f, l, b) = unsafe { finish_chunk(total, c, plan_peak, out) };
            fits |= u64::from(f) << c;
            linear |= u64::from(l) << c;
            below_top |= u64::from(b) << c;
        }
        (total.fits, total.plan_peak) = (fits, plan_peak);
        (total.linear, total.below_top) = (linear, below_top);
    }

    /// [`finish`] of chunk `c`: writes its i16 views and full mix, returns
    /// whether it fits i16, whether it is linear and whether it is below the
    /// top (see [`Total`]'s masks).
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
    ) -> (bool, bool, bool) {
        let mag_clamp = _mm256_set1_epi32(MAG_CLAMP);
        let knee32 = _mm256_set1_epi32(KNEE);
        let lin_max = _mm256_set1_epi32(Total::linear_max(plan_peak));
        let top_max = _mm256_set1_epi32(Total::below_top_max(plan_peak));
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
        let (abs_lo, abs_hi) = (_mm256_abs_epi32(lo), _mm256_abs_epi32(hi));
        let all_within = |max| {
            let over = _mm256_or_si256(
                _mm256_cmpgt_epi32(abs_lo, max),
                _mm256_cmpgt_epi32(abs_hi, max),
            );
            _mm256_testz_si256(over, over) == 1
        };
        let (linear, below_top) = (all_within(lin_max), all_within(top_max));
        // min(|acc|, MAG_CLAMP) - KNEE fits i16: the signed pack is exact.
        let mag = pack_ordered(
            _mm256_sub_epi32(_mm256_min_epi32(abs_lo, mag_clamp), knee32),
            _mm256_sub_epi32(_mm256_min_epi32(abs_hi, mag_clamp), knee32),
        );
        // -1 where acc >= 0 (sat16 keeps the sign).
        let flip = _mm256_cmpgt_epi16(packed, _mm256_set1_epi16(-1));
        // (KNEE + 1) - (-KNEE) = 2·KNEE + 1 as a bit pattern (wrapping lanes).
        let ybase = _mm256_sub_epi16(
            _mm256_and_si256(flip, _mm256_set1_epi16((2 * KNEE + 1) as i16)),
            _mm256_set1_epi16(KNEE as i16),
        );
        // SAFETY: i + 16 <= FRAME_SAMPLES == every buffer's length.
        unsafe {
            store16(&mut total.t16, i, packed);
            store16(&mut total.wbase, i, _mm256_sub_epi16(mag, flip));
            store16(&mut total.flip, i, flip);
            store16(&mut total.ybase, i, ybase);
            store16(out, i, soft_clip16(lo, hi));
        }
        (fits, linear, below_top)
    }

    /// # Safety
    /// AVX2 available; `total` filled by [`finish`]; `own_stats[k]` bounds `max |own[k]|`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn minus_one<const K: usize>(
        total: &Total,
        own: [&Frame; K],
        out: [&mut Frame; K],
        own_stats: [&FrameStats; K],
    ) {
        if own_stats.iter().all(|st| total.planned_for(st)) {
            // SAFETY: `total` and the peaks per the contract.
            unsafe { minus_one_planned(total, own, out) };
            return;
        }
        for k in 0..K {
            if total.planned_for(own_stats[k]) {
                // SAFETY: as above.
                unsafe { minus_one_planned(total, [own[k]], [&mut *out[k]]) };
            } else {
                for c in 0..CHUNKS {
                    // SAFETY: c < CHUNKS.
                    unsafe { n1_generic(total, own[k], out[k], c) };
                }
            }
        }
    }

    /// The planned N-1 path (see [`Total`] for why it is exact), chunk by
    /// chunk for all `K` frames.
    ///
    /// # Safety
    /// AVX2 available; `max |own[k]| <= total.plan_peak <= PLAN_PEAK_MAX`.
    #[target_feature(enable = "avx2")]
    unsafe fn minus_one_planned<const K: usize>(
        total: &Total,
        own: [&Frame; K],
        mut out: [&mut Frame; K],
    ) {
        // In address order (the own frames stream in from L2; visiting the
        // chunks class by class cost more than the cheaper class saves). The
        // branches follow the same pattern for every batch of a tick.
        for c in 0..CHUNKS {
            let bit = 1u64 << c;
            // SAFETY: c < CHUNKS; each path only where its mask says it is
            // exact; peaks per the contract.
            unsafe {
                if total.linear & bit != 0 {
                    n1_linear(total, &own, &mut out, c);
                } else if total.below_top & bit != 0 {
                    n1_knee::<K, false>(total, &own, &mut out, c);
                } else {
                    n1_knee::<K, true>(total, &own, &mut out, c);
                }
            }
        }
    }

    /// N-1 of chunk `c` of each frame where the plan says every
    /// `|t| <= KNEE - M`.
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; chunk `c` is linear in `total`'s plan
    /// and `max |own[k]| <= plan_peak`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_linear<const K: usize>(
        total: &Total,
        own: &[&Frame; K],
        out: &mut [&mut Frame; K],
        c: usize,
    ) {
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= FRAME_SAMPLES);
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract, the common length.
        let t = unsafe { load16(&total.t16, i) };
        for (o, d) in own.iter().zip(out.iter_mut()) {
            // |t| <= KNEE - M and |o| <= M: t - o is exact and below the knee.
            // SAFETY: as above.
            unsafe { store16(*d, i, _mm256_sub_epi16(t, load16(*o, i))) };
        }
    }

    /// Planned N-1 of chunk `c` of each frame through the soft-clip knee,
    /// in seven i16-lane operations (six without `TOP`), one load and one
    /// store per frame, after three loads shared by all (the derivation is
    /// at [`Total`]).
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; `max |own[k]| <= total.plan_peak <=
    /// PLAN_PEAK_MAX`; without `TOP`, chunk `c` is below the top in the plan.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_knee<const K: usize, const TOP: bool>(
        total: &Total,
        own: &[&Frame; K],
        out: &mut [&mut Frame; K],
        c: usize,
    ) {
        let two_r = _mm256_set1_epi16(E_MAX as i16);
        let full = _mm256_set1_epi16(i16::MAX);
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= FRAME_SAMPLES);
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract, the common length.
        let (wbase, flip, ybase) = unsafe {
            (
                load16(&total.wbase, i),
                load16(&total.flip, i),
                load16(&total.ybase, i),
            )
        };
        for (o, d) in own.iter().zip(out.iter_mut()) {
            // w = |t| - KNEE - s·o, exact in i16; wc = min(w, 2R), which is
            // w itself below the top (|t| <= KNEE + 2R - M, |o| <= M).
            // SAFETY: as above.
            let w = _mm256_add_epi16(_mm256_xor_si256(unsafe { load16(*o, i) }, flip), wbase);
            let wc = if TOP { _mm256_min_epi16(w, two_r) } else { w };
            // p = KNEE - y on both sides of the knee (see `soft_clip`).
            let p = _mm256_mulhrs_epi16(wc, _mm256_subs_epi16(wc, full));
            let y = _mm256_add_epi16(_mm256_xor_si256(p, flip), ybase);
            // SAFETY: as above.
            unsafe { store16(*d, i, y) };
        }
    }

    /// N-1 of chunk `c` for any own frame (the unplanned path).
    ///
    /// # Safety
    /// AVX2 available; `c < CHUNKS`; chunk `c` of `total` filled by [`finish`].
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn n1_generic(total: &Total, own: &Frame, out: &mut Frame, c: usize) {
        let knee = _mm256_set1_epi16(KNEE as i16);
        let i = c * CHUNK;
        debug_assert!(i + CHUNK <= FRAME_SAMPLES);
        // SAFETY: i + 16 <= FRAME_SAMPLES per the contract.
        let own16 = unsafe { load16(own, i) };
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
                unsafe { store16(out, i, d) };
                return;
            }
        }
        // SAFETY: as above.
        let (lo, hi) = unsafe {
            (
                _mm256_sub_epi32(load8x32(&total.acc, i), load8_widen(own, i)),
                _mm256_sub_epi32(load8x32(&total.acc, i + 8), load8_widen(own, i + 8)),
            )
        };
        // SAFETY: as above.
        unsafe { store16(out, i, soft_clip16(lo, hi)) };
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
        assert_eq!(KNEE, 24_576);
        assert_eq!(soft_clip(KNEE + E_MAX), 32767);
        // The knee's term (e² + e)/32768 is rounded to nearest, ties up (what
        // `vpmulhrsw` computes): e = 181 gives 32942/32768 -> 1, e = 128
        // 16512/32768 -> 1, e = 127 16256/32768 -> 0, and e = 16383 the tie
        // 8191.5 -> 8192, full scale one step before the top.
        assert_eq!(soft_clip(KNEE + 181), 24_756);
        assert_eq!(soft_clip(KNEE + 128), 24_703);
        assert_eq!(soft_clip(KNEE + 127), 24_703);
        assert_eq!(soft_clip(KNEE + 126), 24_702);
        assert_eq!(soft_clip(KNEE + E_MAX - 1), 32767);
        assert_eq!(soft_clip(-KNEE - 181), -24_756);
        for e in 0..=E_MAX {
            let q = (f64::from(e) * f64::from(e + 1) / 32768.0).round();
            assert_eq!(
                f64::from(soft_clip(KNEE + e)),
                f64::from(KNEE + e) - q,
                "e = {e}"
            );
        }
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

    /// `noise` as a frame.
    fn frame(seed: u64, amplitude: i32) -> Box<Frame> {
        noise(seed, amplitude, FRAME_SAMPLES)
            .try_into()
            .expect("one frame")
    }

    #[test]
    fn simd_copy_gain_and_stats_match_portable() {
        for simd in simd() {
            for (seed, amp) in [(1, 32768), (2, 1000), (3, 20000), (4, 0), (5, 8191)] {
                let src = frame(seed, amp);
                for gain in [GAIN_UNITY, 0, 2048, 5000, 8 * GAIN_UNITY] {
                    let mut a = Box::new([0; FRAME_SAMPLES]);
                    let mut b = Box::new([1; FRAME_SAMPLES]);
                    Kernels::Portable.copy_gain(&src, gain, &mut a);
                    simd.copy_gain(&src, gain, &mut b);
                    assert_eq!(a, b, "{simd:?} gain {gain}");
                    let mut sa = [FrameStats::default()];
                    let mut sb = [FrameStats::default()];
                    Kernels::Portable.stats(&[&*a], &mut sa);
                    simd.stats(&[&*b], &mut sb);
                    assert_eq!(sa, sb, "{simd:?} stats, gain {gain} amp {amp}");
                }
            }
            // Loud: the i32 energy lanes could wrap, recounted exactly.
            for v in [
                i16::MIN,
                i16::MAX,
                -20000,
                5982,
                5983,
                -5983,
                11965,
                -11966,
                3000,
            ] {
                let full: Box<Frame> = Box::new([v; FRAME_SAMPLES]);
                let want = FrameStats {
                    energy: 960 * u64::from(v.unsigned_abs()).pow(2),
                    max_pair: 2 * u32::from(v.unsigned_abs()).pow(2),
                };
                let mut s = [FrameStats::default(); 2];
                simd.stats(&[&*full, &*full], &mut s);
                assert_eq!(s, [want; 2], "{simd:?} constant {v}");
                // Twice: first summed as an i16 pair (fresh hints) and
                // repaired where that wrapped, then as learned.
                let mut hints = SumHints::default();
                for _ in 0..2 {
                    let mut acc = [0; FRAME_SAMPLES];
                    simd.sum_stats(&[&*full, &*full], &mut acc, &mut s, &mut hints);
                    assert_eq!(s, [want; 2], "{simd:?} sum_stats, constant {v}");
                    assert!(acc.iter().all(|&a| a == 2 * i32::from(v)), "{v}");
                }
            }
        }
    }

    /// The f64 root of [`FrameStats::peak_of`] is `isqrt` for every
    /// possible `max_pair` near a square (and at the ends), and
    /// `peak_at_most` decides as the root would.
    #[test]
    fn peak_root_is_exact_and_peak_at_most_agrees_with_it() {
        for n in (0u32..=46341).chain([65535]) {
            for x in [n * n, (n * n).saturating_sub(1), n * n + 1] {
                let x = x.min(1 << 31);
                let st = FrameStats::from_pairs(0, x);
                assert_eq!(u32::from(st.peak()), x.isqrt(), "{x}");
                for p in [PLAN_PEAK_MAX, PAIR_SUM_PEAK_MAX, 0, 1, 3000] {
                    assert_eq!(st.peak_at_most(p), st.peak() <= p, "{x} vs {p}");
                }
            }
        }
        for p in [PLAN_PEAK_MAX, PAIR_SUM_PEAK_MAX] {
            let edge = (u32::from(p) + 1).pow(2);
            assert!(FrameStats::from_pairs(0, edge - 1).peak_at_most(p));
            assert!(!FrameStats::from_pairs(0, edge).peak_at_most(p));
        }
    }

    /// The peak bound is at least the peak and below √2 times it.
    #[test]
    fn peak_bound_is_between_the_peak_and_sqrt2_times_it() {
        let mut kernels = simd();
        kernels.push(Kernels::Portable);
        for kern in kernels {
            for (seed, amp) in [(1, 32768), (2, 1000), (3, 8191), (4, 0), (5, 5982), (6, 3)] {
                let f = frame(seed, amp);
                let peak = f.iter().map(|v| v.unsigned_abs()).max().unwrap();
                let mut s = [FrameStats::default()];
                kern.stats(&[&*f], &mut s);
                let bound = f64::from(s[0].peak());
                assert!(s[0].peak() >= peak, "{kern:?} amp {amp}");
                assert!(
                    bound <= f64::from(peak) * std::f64::consts::SQRT_2,
                    "{kern:?}"
                );
            }
        }
    }

    /// The grouped SIMD sums against the reference for every frame count
    /// from 0 to 13 (all four remainders of the groups of four), loud frames
    /// among quiet ones, one frame listed twice.
    #[test]
    fn simd_sum_and_sum_stats_match_portable_for_every_group_remainder() {
        let frames: Vec<Box<Frame>> = (0..13)
            .map(|k| {
                frame(
                    k + 40,
                    if k % 5 == 2 {
                        32768
                    } else {
                        700 + 300 * k as i32
                    },
                )
            })
            .collect();
        for simd in simd() {
            // Learned from the previous (different) list: hints of any state.
            let mut hints = SumHints::default();
            for n in 0..=13usize {
                let mut list: Vec<&Frame> = frames[..n].iter().map(|f| &**f).collect();
                if n == 7 {
                    list[3] = list[5];
                }
                let mut want = [7; FRAME_SAMPLES];
                let mut want_stats = vec![FrameStats::default(); n];
                Kernels::Portable.sum_stats(
                    &list,
                    &mut want,
                    &mut want_stats,
                    &mut SumHints::default(),
                );
                let mut acc = [-3; FRAME_SAMPLES];
                let mut stats = vec![
                    FrameStats {
                        energy: 9,
                        max_pair: 9,
                    };
                    n
                ];
                simd.sum_stats(&list, &mut acc, &mut stats, &mut hints);
                assert!(acc == want, "{simd:?} sum_stats, n={n}");
                // Exact energies; peak bounds shared by the two frames
                // summed together (k and k ^ 1).
                for (k, (s, w)) in stats.iter().zip(&want_stats).enumerate() {
                    assert_eq!(s.energy, w.energy, "{simd:?} energy {k}, n={n}");
                    let partner = want_stats.get(k ^ 1).map_or(0, |p| p.max_pair);
                    assert_eq!(
                        s.max_pair,
                        w.max_pair.max(partner),
                        "{simd:?} peak bound {k}, n={n}"
                    );
                }
                let mut acc = [5; FRAME_SAMPLES];
                simd.sum(&list, &mut acc);
                assert!(acc == want, "{simd:?} sum, n={n}");
                simd.stats(&list, &mut stats);
                assert_eq!(stats, want_stats, "{simd:?} stats only, n={n}");
            }
        }
    }

    /// The SIMD sum's i16 pair sums (see [`SumHints`]) against the reference
    /// whatever the hints say: fresh, learned, all loud, and frames turning
    /// loud or quiet from one call to the next, in every pair position,
    /// with a pair at exactly the bound (±16383, exact in i16) and just
    /// above it, and a loud frame alone in a padded pair.
    #[test]
    fn sum_stats_is_exact_whatever_the_hints() {
        let quiet: Vec<Box<Frame>> = (0..11).map(|k| frame(k + 90, 3000)).collect();
        let at_bound: Box<Frame> = Box::new([16383; FRAME_SAMPLES]);
        let over: Box<Frame> = Box::new([16384; FRAME_SAMPLES]);
        let loud = frame(77, 32768);
        for simd in simd() {
            let mut learned = SumHints::default();
            for tick in 0..12usize {
                let mut list: Vec<&Frame> = quiet.iter().map(|f| &**f).collect();
                // A loud frame (or a pair at or above the bound) moves
                // through the list, now and then vanishing.
                match tick % 4 {
                    0 => list[tick % 11] = &*loud,
                    1 => {
                        list[2] = &*at_bound;
                        list[3] = &*at_bound;
                    }
                    2 => {
                        list[4] = &*over;
                        list[5] = &*over;
                        list[10] = &*loud;
                    }
                    _ => {}
                }
                let mut want = [0; FRAME_SAMPLES];
                let mut want_stats = vec![FrameStats::default(); list.len()];
                Kernels::Portable.sum_stats(
                    &list,
                    &mut want,
                    &mut want_stats,
                    &mut SumHints::default(),
                );
                let mut all_loud = SumHints {
                    loud: [u64::MAX; HINT_WORDS],
                };
                for (what, hints) in [
                    ("fresh", &mut SumHints::default()),
                    ("learned", &mut learned),
                    ("all loud", &mut all_loud),
                ] {
                    let mut acc = [1; FRAME_SAMPLES];
                    let mut stats = vec![FrameStats::default(); list.len()];
                    simd.sum_stats(&list, &mut acc, &mut stats, hints);
                    assert!(acc == want, "{simd:?} tick {tick}, {what} hints");
                    for (s, w) in stats.iter().zip(&want_stats) {
                        assert_eq!(s.energy, w.energy, "{simd:?} tick {tick}, {what}");
                    }
                }
            }
        }
    }

    /// What the mixer runs (`sum_stats`, `finish`, `minus_one` of each frame
    /// with its measured peak) against the scalar reference (`sum`,
    /// `soft_clip(total - own)` per sample): loud and quiet frames, own peaks
    /// inside and outside the plan, clipping totals.
    #[test]
    fn mix_matches_the_scalar_reference() {
        let mut kernels = simd();
        kernels.push(Kernels::Portable);
        for kern in kernels {
            for (n, amp, loud) in [(100, 3000, 0), (100, 150, 0), (40, 3000, 3), (9, 32767, 9)] {
                let frames: Vec<Box<Frame>> = (0..n)
                    .map(|k| frame(k as u64 * 13 + 5, if k < loud { 20000 } else { amp }))
                    .collect();
                let list: Vec<&Frame> = frames
                    .iter()
                    .enumerate()
                    .rev()
                    .filter(|(k, _)| k % 7 != 3)
                    .map(|(_, f)| &**f)
                    .collect();
                let mut want_acc = [0i32; FRAME_SAMPLES];
                for f in &list {
                    for (a, &v) in want_acc.iter_mut().zip(f.iter()) {
                        *a += i32::from(v);
                    }
                }
                let mut stats = vec![FrameStats::default(); list.len()];
                let mut total = Box::<Total>::default();
                kern.sum_stats(&list, &mut total.acc, &mut stats, &mut SumHints::default());
                let plan_peak = stats
                    .iter()
                    .map(|s| s.peak())
                    .filter(|&p| p <= PLAN_PEAK_MAX)
                    .max()
                    .unwrap_or(0);
                let mut full = vec![0; FRAME_SAMPLES];
                kern.finish(&mut total, plan_peak, &mut full);
                let what = format!("{kern:?} n={n} amp={amp} loud={loud}");
                assert!(total.acc == want_acc, "sum {what}");
                let want_full: Vec<i16> = want_acc.iter().map(|&a| soft_clip(a)).collect();
                assert_eq!(full, want_full, "full mix {what}");
                let want = |own: &Frame| -> Vec<i16> {
                    want_acc
                        .iter()
                        .zip(own.iter())
                        .map(|(&a, &o)| soft_clip(a - i32::from(o)))
                        .collect()
                };
                for (k, (own, st)) in list.iter().zip(&stats).enumerate() {
                    let mut out = Box::new([1; FRAME_SAMPLES]);
                    kern.minus_one(&total, [*own], [&mut *out], [st]);
                    assert_eq!(&out[..], &want(own)[..], "frame {k} {what}");
                }
                // Four at a time, as the mixer runs them (with `loud`, some
                // batches mix planned and unplanned peaks).
                for (b, (own, st)) in list.chunks_exact(4).zip(stats.chunks_exact(4)).enumerate() {
                    let mut out = Box::new([[1; FRAME_SAMPLES]; 4]);
                    let own: [&Frame; 4] = std::array::from_fn(|k| own[k]);
                    kern.minus_one(&total, own, out.each_mut(), std::array::from_fn(|k| &st[k]));
                    for k in 0..4 {
                        assert_eq!(&out[k][..], &want(own[k])[..], "batch {b}.{k} {what}");
                    }
                }
            }
        }
    }

    /// Stats bounding a frame's peak by `peak` (energy not measured).
    fn peak_bound(peak: u16) -> FrameStats {
        FrameStats {
            energy: 0,
            max_pair: u32::from(peak).pow(2),
        }
    }

    /// Checks `kern`'s N-1 output of `own` (peak bound `peak`) against
    /// `soft_clip(total - own)` sample by sample.
    fn assert_minus_one_exact(kern: Kernels, total: &Total, own: &Frame, peak: u16) {
        let mut out = Box::new([0; FRAME_SAMPLES]);
        kern.minus_one(total, [own], [&mut *out], [&peak_bound(peak)]);
        for i in 0..FRAME_SAMPLES {
            let x = total.acc[i] - i32::from(own[i]);
            assert_eq!(
                out[i],
                soft_clip(x),
                "{kern:?} m={peak} t={} o={}",
                total.acc[i],
                own[i]
            );
        }
    }

    /// Runs sum, finish and minus_one for every listed frame with `kern`.
    fn run(kern: Kernels, frames: &[&Frame], plan_peak: u16) -> (Box<Total>, Vec<i16>, Vec<i16>) {
        let mut total = Box::<Total>::default();
        total.acc = [7; FRAME_SAMPLES];
        let mut full = vec![0; FRAME_SAMPLES];
        kern.sum(frames, &mut total.acc);
        kern.finish(&mut total, plan_peak, &mut full);
        let mut n1 = Vec::new();
        for own in frames {
            let peak = own.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
            let mut out = Box::new([3; FRAME_SAMPLES]);
            kern.minus_one(&total, [*own], [&mut *out], [&peak_bound(peak)]);
            n1.extend_from_slice(&out[..]);
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
                let frames: Vec<Box<Frame>> = (0..n)
                    .map(|k| frame(k as u64 * 7 + amp as u64, amp))
                    .collect();
                // Skip one frame to check the list is honoured.
                let list: Vec<&Frame> = (0..n)
                    .filter(|&k| n == 1 || k != 1)
                    .map(|k| &*frames[k])
                    .collect();
                let peak = u16::try_from(amp.min(32767)).unwrap();
                for plan_peak in [peak, peak.saturating_add(100), 0, PLAN_PEAK_MAX] {
                    let want = run(Kernels::Portable, &list, plan_peak);
                    let got = run(simd, &list, plan_peak);
                    let what = format!("{simd:?} n={n} amp={amp} plan={plan_peak}");
                    assert!(want.0.acc == got.0.acc, "sum {what}");
                    assert_eq!(want.0.fits, got.0.fits, "fits mask {what}");
                    assert!(want.0.t16 == got.0.t16, "i16 total {what}");
                    assert!(want.0.wbase == got.0.wbase, "w base {what}");
                    assert!(want.0.flip == got.0.flip, "sign flip {what}");
                    assert!(want.0.ybase == got.0.ybase, "y base {what}");
                    assert_eq!(want.0.linear, got.0.linear, "linear chunks {what}");
                    assert_eq!(
                        want.0.below_top, got.0.below_top,
                        "chunks below the top {what}"
                    );
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
                        let mut out = Box::new([5; FRAME_SAMPLES]);
                        simd.minus_one(
                            &total,
                            [&[0; FRAME_SAMPLES]],
                            [&mut *out],
                            [&peak_bound(own_peak)],
                        );
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
                    assert!(total.planned_for(&peak_bound(m)));
                    for own in &owns {
                        let own: &Frame = own[..].try_into().expect("one frame");
                        assert_minus_one_exact(simd, &total, own, m);
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
    fn plan_masks_classify_each_chunk_up_to_the_exact_bound() {
        let m = 3000u16;
        let mi = i32::from(m);
        let (lin, top) = (Total::linear_max(m), Total::below_top_max(m));
        // Each chunk's largest |acc|, on both sides of both bounds.
        let peaks = [0, lin, lin + 1, top, top + 1, 100_000];
        let peak_of = |c: usize| peaks[c % peaks.len()];
        let mut kernels = simd();
        kernels.push(Kernels::Portable);
        for k in kernels {
            let mut total = Box::<Total>::default();
            for (i, a) in total.acc.iter_mut().enumerate() {
                let c = i / CHUNK;
                let sign = if (c / peaks.len()).is_multiple_of(2) {
                    1
                } else {
                    -1
                };
                *a = sign
                    * if i % CHUNK == 5 {
                        peak_of(c)
                    } else {
                        peak_of(c) / 2
                    };
            }
            let mut full = vec![0; FRAME_SAMPLES];
            k.finish(&mut total, m, &mut full);
            for c in 0..CHUNKS {
                let (p, bit) = (peak_of(c), |mask: u64| mask & (1 << c) != 0);
                assert_eq!(bit(total.linear), p <= lin, "{k:?} linear, chunk {c}");
                assert_eq!(
                    bit(total.below_top),
                    p <= top,
                    "{k:?} below the top, chunk {c}"
                );
            }
            // The loudest own frames the plan allows get exact outputs.
            for own in [mi, -mi] {
                assert_minus_one_exact(k, &total, &[own as i16; FRAME_SAMPLES], m);
            }
        }
    }
}
