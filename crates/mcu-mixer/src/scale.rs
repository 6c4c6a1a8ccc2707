//! Plane and I420 scaling: exact area averaging for downscales, bilinear for
//! upscales, with fast kernels for the ratios compositing meets most.
//!
//! # Kernels
//!
//! | kernel | used when (per plane, both axes) |
//! |---|---|
//! | [`Kernel::Copy`] | source and destination are the same size |
//! | [`Kernel::Down2`], [`Kernel::Down3`], [`Kernel::Down4`] | source is `k×` the destination |
//! | [`Kernel::Down3To2`] | source is `1.5×` the destination |
//! | [`Kernel::Down4To3`] | source is `4/3×` the destination |
//! | [`Kernel::Generic`] | anything else: fixed-point separable filter (area average where the axis shrinks, bilinear where it grows) |
//!
//! The exact kernels are plain integer loops compiled twice: once for the
//! baseline target and once inside `#[target_feature(enable = "avx2")]`
//! functions, chosen at run time with `is_x86_feature_detected!`. Both paths
//! run the same integer arithmetic, so they are bit-exact with each other.
//!
//! # Near-exact ratios (the crop policy)
//!
//! Tile sizes are rarely exact ratios of the source: a 3×3 grid on 1280×720
//! has 426-pixel-wide tiles, and `1280 / 426 = 3.005`. When a source axis is
//! at most [`NEAR_RATIO_SLACK`] samples longer than `ratio × destination`, the
//! surplus samples are cropped **at the right / bottom edge** and the exact
//! kernel is used. Cropping on one side (rather than symmetrically) keeps the
//! luma and chroma crops registered with each other (a 2-sample luma crop is
//! a 1-sample chroma crop on the same edge). The `3:2` kernel accepts odd
//! destination sizes: the last output then averages 1.5 source samples, i.e.
//! the crop is a half sample. [`ScalePlan::source_region`] reports the exact
//! (possibly fractional) source region a plan averages, so the reference
//! [`area_average_region_reference`] can be run on the same region.
//!
//! # Rounding
//!
//! Exact kernels compute the exact area average rounded half-up: `(sum + n/2) / n`
//! where division by 9 is `(x * 7282) >> 16`, exact for every `x ≤ 9·255 + 4`
//! (checked exhaustively by a unit test). The generic filter uses 14-bit
//! weights and a 6-bit-fraction intermediate, so it may differ by one code
//! value from the exact average.

use crate::frame::{I420Frame, PixelRect, PlaneMut, PlaneRef};

/// A source axis may be cropped by at most this many samples (per plane) to
/// use an exact-ratio kernel.
pub const NEAR_RATIO_SLACK: usize = 2;

/// Why a scale could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScaleError {
    /// The source or destination has no sample.
    #[error("empty plane: source {src_w}x{src_h}, destination {dst_w}x{dst_h}")]
    Empty {
        /// Source width.
        src_w: usize,
        /// Source height.
        src_h: usize,
        /// Destination width.
        dst_w: usize,
        /// Destination height.
        dst_h: usize,
    },
    /// A rectangle does not fit its frame, or is not aligned to even pixels.
    #[error("rectangle {rect:?} is odd-aligned or outside its {width}x{height} frame")]
    BadRect {
        /// The offending rectangle.
        rect: PixelRect,
        /// Width of the frame it should fit.
        width: u32,
        /// Height of the frame it should fit.
        height: u32,
    },
}

/// Which kernel a [`ScalePlan`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Same size: row copies.
    Copy,
    /// 2:1 box (4 samples per output).
    Down2,
    /// 3:1 box (9 samples per output).
    Down3,
    /// 4:1 box (16 samples per output).
    Down4,
    /// 3:2 area average (weights 4, 2, 2, 1 over 9).
    Down3To2,
    /// 4:3 area average (per axis weights 3+1, 2+2, 1+3 over 4).
    Down4To3,
    /// Fixed-point separable filter (area average down, bilinear up).
    Generic,
}

/// The kernel and source crop chosen for one plane scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalePlan {
    /// The kernel.
    pub kernel: Kernel,
    /// Source samples used per row (the rest, on the right, is cropped).
    pub src_w: usize,
    /// Source rows used (the rest, at the bottom, is cropped).
    pub src_h: usize,
    /// Destination width.
    pub dst_w: usize,
    /// Destination height.
    pub dst_h: usize,
}

impl ScalePlan {
    /// Picks the kernel for scaling a `src_w × src_h` plane into `dst_w × dst_h`
    /// (see the crop policy in the module docs).
    pub fn new(src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) -> Self {
        // (kernel, numerator, denominator): the source is num/den × the destination.
        const EXACT: [(Kernel, usize, usize); 6] = [
            (Kernel::Copy, 1, 1),
            (Kernel::Down2, 2, 1),
            (Kernel::Down3, 3, 1),
            (Kernel::Down4, 4, 1),
            (Kernel::Down3To2, 3, 2),
            (Kernel::Down4To3, 4, 3),
        ];
        // Samples an axis of `d` outputs needs at num/den: ceil(d * num / den).
        let need = |d: usize, num: usize, den: usize| (d * num).div_ceil(den);
        let fits = |s: usize, d: usize, num: usize, den: usize| {
            let n = need(d, num, den);
            s >= n && s - n <= NEAR_RATIO_SLACK
        };
        for (kernel, num, den) in EXACT {
            if dst_w > 0
                && dst_h > 0
                && fits(src_w, dst_w, num, den)
                && fits(src_h, dst_h, num, den)
            {
                return Self {
                    kernel,
                    src_w: need(dst_w, num, den),
                    src_h: need(dst_h, num, den),
                    dst_w,
                    dst_h,
                };
            }
        }
        Self {
            kernel: Kernel::Generic,
            src_w,
            src_h,
            dst_w,
            dst_h,
        }
    }

    /// The source region `(x, y, w, h)` the plan averages, in source samples
    /// from the plane's top-left. Fractional only for [`Kernel::Down3To2`]
    /// and [`Kernel::Down4To3`] when the destination is not a whole number
    /// of kernel groups.
    pub fn source_region(&self) -> (f64, f64, f64, f64) {
        let (w, h) = match self.kernel {
            Kernel::Down3To2 => (self.dst_w as f64 * 1.5, self.dst_h as f64 * 1.5),
            Kernel::Down4To3 => (self.dst_w as f64 * 4.0 / 3.0, self.dst_h as f64 * 4.0 / 3.0),
            _ => (self.src_w as f64, self.src_h as f64),
        };
        (0.0, 0.0, w, h)
    }
}

/// Instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLevel {
    /// Baseline code (SSE2 on x86-64), auto-vectorised by the compiler.
    Portable,
    /// AVX2 code (x86-64 only, chosen only when the CPU has it).
    Avx2,
}

impl SimdLevel {
    /// The best level this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return SimdLevel::Avx2;
        }
        SimdLevel::Portable
    }
}

/// One axis of a generic separable filter: for each output, `taps` weights
/// (summing to `1 << WEIGHT_BITS`) starting at source index `starts[i]`.
#[derive(Debug)]
struct AxisFilter {
    src: usize,
    dst: usize,
    taps: usize,
    starts: Vec<usize>,
    weights: Vec<u16>,
}

const WEIGHT_BITS: u32 = 14;
const WEIGHT_ONE: u32 = 1 << WEIGHT_BITS;
/// Bits dropped after the vertical pass (leaves a 6-bit fraction).
const MID_SHIFT: u32 = 8;
/// Bits dropped after the horizontal pass.
const FINAL_SHIFT: u32 = 2 * WEIGHT_BITS - MID_SHIFT;

impl AxisFilter {
    fn new(src: usize, dst: usize) -> Self {
        let mut per_output: Vec<(usize, Vec<u32>)> = Vec::with_capacity(dst);
        if src >= dst {
            // Area: output i covers [i*src, (i+1)*src) in units of 1/dst;
            // source j covers [j*dst, (j+1)*dst).
            for i in 0..dst {
                let (lo, hi) = (i * src, (i + 1) * src);
                let first = lo / dst;
                let last = (hi - 1) / dst;
                let raw: Vec<u32> = (first..=last)
                    .map(|j| (hi.min((j + 1) * dst) - lo.max(j * dst)) as u32)
                    .collect();
                per_output.push((first, normalise(&raw, src as u64)));
            }
        } else {
            // Bilinear: output centre (i + 0.5) * src/dst - 0.5, in units of 1/(2*dst).
            for i in 0..dst {
                let num = ((2 * i + 1) * src) as i64 - dst as i64;
                let den = 2 * dst as i64;
                if num <= 0 {
                    per_output.push((0, vec![WEIGHT_ONE]));
                    continue;
                }
                let j = (num / den) as usize;
                if j + 1 >= src {
                    per_output.push((src - 1, vec![WEIGHT_ONE]));
                    continue;
                }
                let frac = (num % den) as u64;
                let w1 = ((frac << WEIGHT_BITS) + den as u64 / 2) / den as u64;
                let w1 = w1 as u32;
                per_output.push((j, vec![WEIGHT_ONE - w1, w1]));
            }
        }
        let taps = per_output.iter().map(|(_, w)| w.len()).max().unwrap_or(1);
        let mut starts = Vec::with_capacity(dst);
        let mut weights = vec![0u16; dst * taps];
        for (i, (first, w)) in per_output.iter().enumerate() {
            // Keep start + taps inside the source; shift the weights accordingly.
            let start = (*first).min(src.saturating_sub(taps));
            let off = first - start;
            for (k, &wk) in w.iter().enumerate() {
                // Each weight is at most WEIGHT_ONE = 2^14, which fits u16.
                weights[i * taps + off + k] = wk as u16;
            }
            starts.push(start);
        }
        Self {
            src,
            dst,
            taps,
            starts,
            weights,
        }
    }
}

/// Scales integer overlaps (summing to `total`) to weights summing to `WEIGHT_ONE`.
fn normalise(raw: &[u32], total: u64) -> Vec<u32> {
    let mut w: Vec<u32> = raw
        .iter()
        .map(|&r| ((r as u64 * WEIGHT_ONE as u64 + total / 2) / total) as u32)
        .collect();
    let sum: i64 = w.iter().map(|&x| x as i64).sum();
    let diff = WEIGHT_ONE as i64 - sum;
    if diff != 0 {
        // Give the rounding error to the largest weight (it stays positive:
        // |diff| ≤ number of taps, far below the largest weight).
        let (imax, _) = w
            .iter()
            .enumerate()
            .max_by_key(|(_, x)| **x)
            .unwrap_or((0, &0));
        w[imax] = (w[imax] as i64 + diff) as u32;
    }
    w
}

/// A reusable plane scaler: picks a kernel per call, caches the generic
/// filter tables, and owns its scratch rows, so that repeated scales of the
/// same geometry allocate nothing.
#[derive(Debug)]
pub struct Scaler {
    level: SimdLevel,
    filters: Vec<AxisFilter>,
    acc: Vec<u32>,
    mid: Vec<u16>,
}

/// Most generic filter tables kept (a layout uses a handful of sizes).
const FILTER_CACHE: usize = 32;

impl Default for Scaler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scaler {
    /// A scaler using the best SIMD level of this CPU.
    pub fn new() -> Self {
        Self::with_level(SimdLevel::detect())
    }

    /// A scaler forced to one level. Asking for [`SimdLevel::Avx2`] on a CPU
    /// without it falls back to [`SimdLevel::Portable`].
    pub fn with_level(level: SimdLevel) -> Self {
        let level = if level == SimdLevel::Avx2 && SimdLevel::detect() != SimdLevel::Avx2 {
            SimdLevel::Portable
        } else {
            level
        };
        Self {
            level,
            filters: Vec::new(),
            acc: Vec::new(),
            mid: Vec::new(),
        }
    }

    /// The level this scaler runs at.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// Scales `src` into the whole of `dst` and returns the plan it ran.
    pub fn scale_plane(
        &mut self,
        src: PlaneRef<'_>,
        dst: &mut PlaneMut<'_>,
    ) -> Result<ScalePlan, ScaleError> {
        if src.width == 0 || src.height == 0 || dst.width == 0 || dst.height == 0 {
            return Err(ScaleError::Empty {
                src_w: src.width,
                src_h: src.height,
                dst_w: dst.width,
                dst_h: dst.height,
            });
        }
        let plan = ScalePlan::new(src.width, src.height, dst.width, dst.height);
        let src = src.sub(0, 0, plan.src_w, plan.src_h);
        match plan.kernel {
            Kernel::Copy => {
                for r in 0..dst.height {
                    dst.row_mut(r).copy_from_slice(src.row(r));
                }
            }
            Kernel::Down2 => run(self.level, src, dst, down_k::<2>, down_k_avx2::<2>),
            Kernel::Down3 => run(self.level, src, dst, down_k::<3>, down_k_avx2::<3>),
            Kernel::Down4 => run(self.level, src, dst, down_k::<4>, down_k_avx2::<4>),
            Kernel::Down3To2 => run(self.level, src, dst, down_3to2, down_3to2_avx2),
            Kernel::Down4To3 => run(self.level, src, dst, down_4to3, down_4to3_avx2),
            Kernel::Generic => self.generic(src, dst),
        }
        Ok(plan)
    }

    /// Scales the `crop` rectangle of `src` into the `rect` rectangle of `dst`,
    /// all three planes, writing straight into `dst`. Both rectangles must be
    /// even-aligned and inside their frames.
    pub fn scale_i420(
        &mut self,
        src: &I420Frame,
        crop: PixelRect,
        dst: &mut I420Frame,
        rect: PixelRect,
    ) -> Result<(), ScaleError> {
        check_rect(crop, src.width(), src.height())?;
        check_rect(rect, dst.width(), dst.height())?;
        for i in 0..3 {
            let d = if i == 0 { 1 } else { 2 };
            let s = src.plane(i).sub(
                crop.x as usize / d,
                crop.y as usize / d,
                crop.w as usize / d,
                crop.h as usize / d,
            );
            let mut plane = dst.plane_mut(i);
            let mut t = plane.sub_mut(
                rect.x as usize / d,
                rect.y as usize / d,
                rect.w as usize / d,
                rect.h as usize / d,
            );
            self.scale_plane(s, &mut t)?;
        }
        Ok(())
    }

    fn filter_index(&mut self, src: usize, dst: usize) -> usize {
        if let Some(i) = self
            .filters
            .iter()
            .position(|f| f.src == src && f.dst == dst)
        {
            return i;
        }
        self.filters.push(AxisFilter::new(src, dst));
        self.filters.len() - 1
    }

    fn generic(&mut self, src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
        // Bound the cache; clearing before both look-ups keeps both indices valid.
        if self.filters.len() + 2 > FILTER_CACHE {
            self.filters.clear();
        }
        let hi = self.filter_index(src.width, dst.width);
        let vi = self.filter_index(src.height, dst.height);
        if self.acc.len() < src.width {
            self.acc.resize(src.width, 0);
            self.mid.resize(src.width, 0);
        }
        let (h, v) = (&self.filters[hi], &self.filters[vi]);
        let acc = &mut self.acc[..src.width];
        let mid = &mut self.mid[..src.width];
        match self.level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `level` is Avx2 only when the CPU was detected to have AVX2.
            SimdLevel::Avx2 => unsafe { generic_avx2(src, dst, h, v, acc, mid) },
            _ => generic_impl(src, dst, h, v, acc, mid),
        }
    }
}

fn check_rect(r: PixelRect, width: u32, height: u32) -> Result<(), ScaleError> {
    let odd = (r.x | r.y | r.w | r.h) & 1 != 0;
    if odd || r.is_empty() || r.right() > width || r.bottom() > height {
        return Err(ScaleError::BadRect {
            rect: r,
            width,
            height,
        });
    }
    Ok(())
}

type PlaneFn = fn(PlaneRef<'_>, &mut PlaneMut<'_>);
#[cfg(target_arch = "x86_64")]
type PlaneFnAvx2 = unsafe fn(PlaneRef<'_>, &mut PlaneMut<'_>);
#[cfg(not(target_arch = "x86_64"))]
type PlaneFnAvx2 = PlaneFn;

#[inline]
fn run(
    level: SimdLevel,
    src: PlaneRef<'_>,
    dst: &mut PlaneMut<'_>,
    portable: PlaneFn,
    avx2: PlaneFnAvx2,
) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2 only when the CPU was detected to have AVX2
        // (`Scaler::with_level` downgrades otherwise).
        SimdLevel::Avx2 => unsafe { avx2(src, dst) },
        _ => {
            let _ = avx2;
            portable(src, dst)
        }
    }
}

/// Output columns processed per chunk (bounds the stack scratch row).
const CHUNK: usize = 128;

/// Rounded division by 9, exact for `x ≤ 9 * 255 + 4`.
#[inline(always)]
fn div9_round(sum: u16) -> u8 {
    (((sum + 4) as u32 * 7282) >> 16) as u8
}

/// `K:1` box downscale; `src` is exactly `K×` `dst` in both axes.
#[inline(always)]
fn down_k_body<const K: usize>(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    let mut vs = [0u16; CHUNK * 4];
    for oy in 0..dst.height {
        let out = dst.row_mut(oy);
        let mut c0 = 0;
        while c0 < out.len() {
            let n = CHUNK.min(out.len() - c0);
            let vs = &mut vs[..n * K];
            let first = &src.row(oy * K)[c0 * K..(c0 + n) * K];
            for (v, &p) in vs.iter_mut().zip(first) {
                *v = p as u16;
            }
            for r in 1..K {
                let row = &src.row(oy * K + r)[c0 * K..(c0 + n) * K];
                for (v, &p) in vs.iter_mut().zip(row) {
                    *v += p as u16;
                }
            }
            let out = &mut out[c0..c0 + n];
            match K {
                2 => {
                    for (o, g) in out.iter_mut().zip(vs.chunks_exact(2)) {
                        *o = ((g[0] + g[1] + 2) >> 2) as u8;
                    }
                }
                3 => {
                    for (o, g) in out.iter_mut().zip(vs.chunks_exact(3)) {
                        *o = div9_round(g[0] + g[1] + g[2]);
                    }
                }
                _ => {
                    for (o, g) in out.iter_mut().zip(vs.chunks_exact(4)) {
                        *o = ((g[0] + g[1] + g[2] + g[3] + 8) >> 4) as u8;
                    }
                }
            }
            c0 += n;
        }
    }
}

/// The portable entry point of a kernel body and the same body compiled with
/// AVX2 enabled (LLVM vectorises it); `run` picks one at run time.
macro_rules! simd_variants {
    ($portable:ident, $avx2:ident, $body:ident) => {
        fn $portable(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
            $body(src, dst)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
            $body(src, dst)
        }

        #[cfg(not(target_arch = "x86_64"))]
        fn $avx2(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
            $body(src, dst)
        }
    };
}

fn down_k<const K: usize>(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    down_k_body::<K>(src, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn down_k_avx2<const K: usize>(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    down_k_body::<K>(src, dst)
}
#[cfg(not(target_arch = "x86_64"))]
fn down_k_avx2<const K: usize>(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    down_k_body::<K>(src, dst)
}

/// 3:2 area average. Vertically rows (a, b, c) give (2a + b, b + 2c); then
/// horizontally samples (p, q, r) give (2p + q, q + 2r); the total weight is 9.
/// Odd destination sizes use only the first half of the last group.
#[inline(always)]
fn down_3to2_body(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    let mut vs = [0u16; CHUNK * 3 / 2 + 2];
    for oy in 0..dst.height {
        let base = (oy / 2) * 3;
        // Rows (near, far): output row 2m averages rows 3m (×2) and 3m+1;
        // output row 2m+1 averages rows 3m+1 and 3m+2 (×2).
        let (near, far) = if oy % 2 == 0 {
            (src.row(base), src.row(base + 1))
        } else {
            (src.row(base + 2), src.row(base + 1))
        };
        let out = dst.row_mut(oy);
        let mut c0 = 0;
        while c0 < out.len() {
            // Chunks hold an even number of outputs (CHUNK is even) except the last.
            let n = CHUNK.min(out.len() - c0);
            let s0 = c0 / 2 * 3;
            let sn = (n * 3).div_ceil(2);
            let vs = &mut vs[..sn];
            for ((v, &a), &b) in vs.iter_mut().zip(&near[s0..s0 + sn]).zip(&far[s0..s0 + sn]) {
                *v = 2 * a as u16 + b as u16;
            }
            let out = &mut out[c0..c0 + n];
            let pairs = n / 2;
            for (o, g) in out.chunks_exact_mut(2).zip(vs.chunks_exact(3)) {
                o[0] = div9_round(2 * g[0] + g[1]);
                o[1] = div9_round(g[1] + 2 * g[2]);
            }
            if n % 2 == 1 {
                out[n - 1] = div9_round(2 * vs[pairs * 3] + vs[pairs * 3 + 1]);
            }
            c0 += n;
        }
    }
}

simd_variants!(down_3to2, down_3to2_avx2, down_3to2_body);

/// 4:3 area average. Per axis, 4 samples (a, b, c, d) give 3 outputs
/// (3a + b, 2b + 2c, c + 3d) / 4; in 2-D the total weight is 16. A last,
/// partial group uses its first one or two outputs.
#[inline(always)]
fn down_4to3_body(src: PlaneRef<'_>, dst: &mut PlaneMut<'_>) {
    const CH: usize = 126; // a multiple of 3 outputs
    let mut vs = [0u16; CH * 4 / 3 + 4];
    for oy in 0..dst.height {
        let base = (oy / 3) * 4;
        let (ra, rb, wa, wb) = match oy % 3 {
            0 => (base, base + 1, 3u16, 1u16),
            1 => (base + 1, base + 2, 2, 2),
            _ => (base + 2, base + 3, 1, 3),
        };
        let (a, b) = (src.row(ra), src.row(rb));
        let out = dst.row_mut(oy);
        let mut c0 = 0;
        while c0 < out.len() {
            let n = CH.min(out.len() - c0);
            let s0 = c0 / 3 * 4;
            let sn = (n * 4).div_ceil(3);
            let vs = &mut vs[..sn];
            for ((v, &p), &q) in vs.iter_mut().zip(&a[s0..s0 + sn]).zip(&b[s0..s0 + sn]) {
                *v = wa * p as u16 + wb * q as u16;
            }
            let out = &mut out[c0..c0 + n];
            for (o, g) in out.chunks_exact_mut(3).zip(vs.chunks_exact(4)) {
                o[0] = ((3 * g[0] + g[1] + 8) >> 4) as u8;
                o[1] = ((2 * g[1] + 2 * g[2] + 8) >> 4) as u8;
                o[2] = ((g[2] + 3 * g[3] + 8) >> 4) as u8;
            }
            let full = n / 3;
            let g = &vs[full * 4..];
            if n % 3 >= 1 {
                out[full * 3] = ((3 * g[0] + g[1] + 8) >> 4) as u8;
            }
            if n % 3 == 2 {
                out[full * 3 + 1] = ((2 * g[1] + 2 * g[2] + 8) >> 4) as u8;
            }
            c0 += n;
        }
    }
}

simd_variants!(down_4to3, down_4to3_avx2, down_4to3_body);

#[inline(always)]
fn generic_body(
    src: PlaneRef<'_>,
    dst: &mut PlaneMut<'_>,
    h: &AxisFilter,
    v: &AxisFilter,
    acc: &mut [u32],
    mid: &mut [u16],
) {
    for oy in 0..dst.height {
        let start = v.starts[oy];
        let ws = &v.weights[oy * v.taps..(oy + 1) * v.taps];
        acc.fill(0);
        for (t, &w) in ws.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let row = src.row(start + t);
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += w as u32 * p as u32;
            }
        }
        for (m, &a) in mid.iter_mut().zip(acc.iter()) {
            *m = ((a + (1 << (MID_SHIFT - 1))) >> MID_SHIFT) as u16;
        }
        let out = dst.row_mut(oy);
        match h.taps {
            1 => horizontal::<1>(out, mid, h),
            2 => horizontal::<2>(out, mid, h),
            3 => horizontal::<3>(out, mid, h),
            4 => horizontal::<4>(out, mid, h),
            5 => horizontal::<5>(out, mid, h),
            _ => {
                for (ox, o) in out.iter_mut().enumerate() {
                    let s = h.starts[ox];
                    let ws = &h.weights[ox * h.taps..(ox + 1) * h.taps];
                    let sum: u32 = ws
                        .iter()
                        .zip(&mid[s..s + h.taps])
                        .map(|(&w, &m)| w as u32 * m as u32)
                        .sum();
                    *o = finish_generic(sum);
                }
            }
        }
    }
}

#[inline(always)]
fn finish_generic(sum: u32) -> u8 {
    ((sum + (1 << (FINAL_SHIFT - 1))) >> FINAL_SHIFT).min(255) as u8
}

/// Horizontal pass with a compile-time tap count (unrolled inner loop).
#[inline(always)]
fn horizontal<const T: usize>(out: &mut [u8], mid: &[u16], h: &AxisFilter) {
    for ((o, &s), ws) in out.iter_mut().zip(&h.starts).zip(h.weights.chunks_exact(T)) {
        let m = &mid[s..s + T];
        let mut sum = 0u32;
        for t in 0..T {
            sum += ws[t] as u32 * m[t] as u32;
        }
        *o = finish_generic(sum);
    }
}

fn generic_impl(
    src: PlaneRef<'_>,
    dst: &mut PlaneMut<'_>,
    h: &AxisFilter,
    v: &AxisFilter,
    acc: &mut [u32],
    mid: &mut [u16],
) {
    generic_body(src, dst, h, v, acc, mid)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn generic_avx2(
    src: PlaneRef<'_>,
    dst: &mut PlaneMut<'_>,
    h: &AxisFilter,
    v: &AxisFilter,
    acc: &mut [u32],
    mid: &mut [u16],
) {
    generic_body(src, dst, h, v, acc, mid)
}

/// Reference area average of a whole plane into `dst_w × dst_h`, in `f64`:
/// every source sample contributes with its exact overlap area. Slow; for
/// tests and benches.
pub fn area_average_reference(src: PlaneRef<'_>, dst_w: usize, dst_h: usize) -> Vec<u8> {
    let region = (0.0, 0.0, src.width as f64, src.height as f64);
    area_average_region_reference(src, region, dst_w, dst_h)
}

/// Reference area average of the (possibly fractional) source region
/// `(x, y, w, h)` into `dst_w × dst_h`, row-major, in `f64`.
pub fn area_average_region_reference(
    src: PlaneRef<'_>,
    region: (f64, f64, f64, f64),
    dst_w: usize,
    dst_h: usize,
) -> Vec<u8> {
    let (rx, ry, rw, rh) = region;
    let (sx, sy) = (rw / dst_w as f64, rh / dst_h as f64);
    let mut out = Vec::with_capacity(dst_w * dst_h);
    for oy in 0..dst_h {
        let (y0, y1) = (ry + oy as f64 * sy, ry + (oy + 1) as f64 * sy);
        for ox in 0..dst_w {
            let (x0, x1) = (rx + ox as f64 * sx, rx + (ox + 1) as f64 * sx);
            let mut sum = 0.0;
            let mut area = 0.0;
            for j in (y0.floor() as usize)..(y1.ceil() as usize).min(src.height) {
                let oy_ = (y1.min(j as f64 + 1.0) - y0.max(j as f64)).max(0.0);
                let row = src.row(j);
                for (i, &p) in row
                    .iter()
                    .enumerate()
                    .take((x1.ceil() as usize).min(src.width))
                    .skip(x0.floor() as usize)
                {
                    let ox_ = (x1.min(i as f64 + 1.0) - x0.max(i as f64)).max(0.0);
                    sum += p as f64 * ox_ * oy_;
                    area += ox_ * oy_;
                }
            }
            // Round half up; the epsilon absorbs floating error in the region
            // bounds (exact halves are common: a 4:3 average divides by 16).
            out.push((sum / area + 1e-9).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Reference bilinear resample (pixel centres aligned, edges clamped) of a
/// whole plane into `dst_w × dst_h`, row-major, in `f64`. For upscales.
pub fn bilinear_reference(src: PlaneRef<'_>, dst_w: usize, dst_h: usize) -> Vec<u8> {
    let coord = |i: usize, s: usize, d: usize| -> (usize, usize, f64) {
        let x = ((i as f64 + 0.5) * s as f64 / d as f64 - 0.5).clamp(0.0, (s - 1) as f64);
        let j = x.floor() as usize;
        let j1 = (j + 1).min(s - 1);
        (j, j1, x - j as f64)
    };
    let mut out = Vec::with_capacity(dst_w * dst_h);
    for oy in 0..dst_h {
        let (y0, y1, fy) = coord(oy, src.height, dst_h);
        for ox in 0..dst_w {
            let (x0, x1, fx) = coord(ox, src.width, dst_w);
            let p = |x: usize, y: usize| src.row(y)[x] as f64;
            let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
            let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
            out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..w * h)
            .map(|i| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let (x, y) = (i % w, i / w);
                ((x * 7 + y * 3) as u32 ^ (s >> 20)) as u8
            })
            .collect()
    }

    fn scale_with(
        level: SimdLevel,
        src: &[u8],
        sw: usize,
        sh: usize,
        dw: usize,
        dh: usize,
    ) -> (ScalePlan, Vec<u8>) {
        let s = PlaneRef {
            data: src,
            stride: sw,
            width: sw,
            height: sh,
        };
        let mut out = vec![0u8; dw * dh];
        let mut d = PlaneMut {
            data: &mut out,
            stride: dw,
            width: dw,
            height: dh,
        };
        let plan = Scaler::with_level(level).scale_plane(s, &mut d).unwrap();
        (plan, out)
    }

    #[test]
    fn div9_is_exact_over_input_range() {
        for x in 0..=(9 * 255u16) {
            assert_eq!(div9_round(x) as u16, (x + 4) / 9, "x = {x}");
        }
    }

    #[test]
    fn plans_pick_exact_kernels_with_small_crops() {
        let p = ScalePlan::new(1280, 720, 426, 240);
        assert_eq!((p.kernel, p.src_w, p.src_h), (Kernel::Down3, 1278, 720));
        let p = ScalePlan::new(640, 360, 213, 120);
        assert_eq!((p.kernel, p.src_w), (Kernel::Down3, 639));
        let p = ScalePlan::new(320, 180, 213, 120);
        assert_eq!(
            (p.kernel, p.src_w, p.source_region().2),
            (Kernel::Down3To2, 320, 319.5)
        );
        assert_eq!(ScalePlan::new(1280, 720, 428, 240).kernel, Kernel::Generic);
        assert_eq!(ScalePlan::new(640, 360, 640, 360).kernel, Kernel::Copy);
        assert_eq!(ScalePlan::new(1280, 720, 320, 180).kernel, Kernel::Down4);
    }

    #[test]
    fn exact_kernels_equal_the_rounded_area_average() {
        for (sw, sh, dw, dh) in [
            (96, 64, 48, 32),
            (99, 66, 33, 22),
            (128, 64, 32, 16),
            (96, 66, 64, 44),
            (99, 63, 65, 41),
            (128, 96, 96, 72),
            (131, 97, 97, 71),
            (131, 98, 98, 73),
        ] {
            let src = pattern(sw, sh, 7);
            let (plan, out) = scale_with(SimdLevel::Portable, &src, sw, sh, dw, dh);
            assert_ne!(plan.kernel, Kernel::Generic, "{sw}x{sh}->{dw}x{dh}");
            let s = PlaneRef {
                data: &src,
                stride: sw,
                width: sw,
                height: sh,
            };
            let reference = area_average_region_reference(s, plan.source_region(), dw, dh);
            assert_eq!(out, reference, "{:?} {sw}x{sh}->{dw}x{dh}", plan.kernel);
        }
    }

    #[test]
    fn generic_is_within_one_of_area_average() {
        for (sw, sh, dw, dh) in [(100, 70, 37, 29), (64, 48, 45, 33), (50, 50, 7, 49)] {
            let src = pattern(sw, sh, 3);
            let (plan, out) = scale_with(SimdLevel::Portable, &src, sw, sh, dw, dh);
            assert_eq!(plan.kernel, Kernel::Generic);
            let s = PlaneRef {
                data: &src,
                stride: sw,
                width: sw,
                height: sh,
            };
            let reference = area_average_reference(s, dw, dh);
            for (a, b) in out.iter().zip(&reference) {
                assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn avx2_and_portable_agree() {
        if SimdLevel::detect() != SimdLevel::Avx2 {
            eprintln!("no AVX2 on this CPU: only the portable path is tested");
            return;
        }
        for (sw, sh, dw, dh) in [
            (1280, 720, 426, 240),
            (640, 360, 426, 240),
            (640, 360, 213, 120),
            (1280, 720, 960, 540),
            (100, 60, 333, 201),
            (1280, 720, 320, 180),
            (1280, 720, 640, 360),
        ] {
            let src = pattern(sw, sh, 11);
            let (pa, a) = scale_with(SimdLevel::Portable, &src, sw, sh, dw, dh);
            let (pb, b) = scale_with(SimdLevel::Avx2, &src, sw, sh, dw, dh);
            assert_eq!(pa, pb);
            assert!(a == b, "{:?} differs between paths", pa.kernel);
        }
    }

    #[test]
    fn empty_planes_are_errors() {
        let src = [0u8; 4];
        let s = PlaneRef {
            data: &src,
            stride: 2,
            width: 2,
            height: 2,
        };
        let mut out = [0u8; 0];
        let mut d = PlaneMut {
            data: &mut out,
            stride: 0,
            width: 0,
            height: 0,
        };
        assert!(matches!(
            Scaler::new().scale_plane(s, &mut d),
            Err(ScaleError::Empty { .. })
        ));
    }
}
