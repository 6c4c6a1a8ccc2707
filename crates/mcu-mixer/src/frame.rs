//! Raw pictures: I420 frames with explicit strides, plane views, and a buffer
//! pool so that the steady state allocates nothing per frame.

use std::fmt;

/// A rectangle in pixels on a canvas (top-left origin).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PixelRect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width in pixels.
    pub w: u32,
    /// Height in pixels.
    pub h: u32,
}

impl PixelRect {
    /// A rectangle from its position and size.
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// True when the rectangle covers no pixel.
    pub const fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// Right edge (exclusive).
    pub const fn right(&self) -> u32 {
        self.x + self.w
    }

    /// Bottom edge (exclusive).
    pub const fn bottom(&self) -> u32 {
        self.y + self.h
    }

    /// True when the two rectangles share at least one pixel.
    pub fn intersects(&self, other: &PixelRect) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// The rectangle aligned to even coordinates and sizes (I420 chroma is
    /// subsampled 2×2, so tiles start and end on even pixels).
    pub const fn even(&self) -> Self {
        let x = self.x & !1;
        let y = self.y & !1;
        let r = (self.x + self.w) & !1;
        let b = (self.y + self.h) & !1;
        Self {
            x,
            y,
            w: r.saturating_sub(x),
            h: b.saturating_sub(y),
        }
    }
}

/// A colour in BT.601 limited-range Y'CbCr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Yuv {
    /// Luma.
    pub y: u8,
    /// Blue-difference chroma.
    pub u: u8,
    /// Red-difference chroma.
    pub v: u8,
}

impl Yuv {
    /// Black.
    pub const BLACK: Yuv = Yuv {
        y: 16,
        u: 128,
        v: 128,
    };
    /// White.
    pub const WHITE: Yuv = Yuv {
        y: 235,
        u: 128,
        v: 128,
    };

    /// Converts an sRGB colour (BT.601, limited range).
    pub fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        let (r, g, b) = (r as i32, g as i32, b as i32);
        let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
        let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
        let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        Yuv {
            y: y.clamp(0, 255) as u8,
            u: u.clamp(0, 255) as u8,
            v: v.clamp(0, 255) as u8,
        }
    }

    /// Converts back to sRGB (BT.601, limited range).
    pub fn to_rgb(self) -> (u8, u8, u8) {
        let c = self.y as i32 - 16;
        let d = self.u as i32 - 128;
        let e = self.v as i32 - 128;
        let r = (298 * c + 409 * e + 128) >> 8;
        let g = (298 * c - 100 * d - 208 * e + 128) >> 8;
        let b = (298 * c + 516 * d + 128) >> 8;
        (
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        )
    }

    /// Largest per-component difference to another colour.
    pub fn distance(self, other: Yuv) -> u8 {
        let d = |a: u8, b: u8| a.abs_diff(b);
        d(self.y, other.y)
            .max(d(self.u, other.u))
            .max(d(self.v, other.v))
    }
}

/// A read-only view of one plane.
#[derive(Clone, Copy)]
pub struct PlaneRef<'a> {
    /// The samples; row `r` starts at `r * stride`.
    pub data: &'a [u8],
    /// Bytes from one row to the next (≥ width).
    pub stride: usize,
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl<'a> PlaneRef<'a> {
    /// Row `r`, `width` samples long.
    #[inline]
    pub fn row(&self, r: usize) -> &'a [u8] {
        let start = r * self.stride;
        &self.data[start..start + self.width]
    }

    /// A sub-rectangle of this plane.
    pub fn sub(&self, x: usize, y: usize, w: usize, h: usize) -> PlaneRef<'a> {
        assert!(
            x + w <= self.width && y + h <= self.height,
            "sub-plane out of bounds"
        );
        let start = y * self.stride + x;
        let end = if h == 0 {
            start
        } else {
            start + (h - 1) * self.stride + w
        };
        PlaneRef {
            data: &self.data[start..end],
            stride: self.stride,
            width: w,
            height: h,
        }
    }
}

/// A writable view of one plane (or of a rectangle inside one).
pub struct PlaneMut<'a> {
    /// The samples; row `r` starts at `r * stride`.
    pub data: &'a mut [u8],
    /// Bytes from one row to the next (≥ width).
    pub stride: usize,
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl<'a> PlaneMut<'a> {
    /// Row `r`, `width` samples long.
    #[inline]
    pub fn row_mut(&mut self, r: usize) -> &mut [u8] {
        let start = r * self.stride;
        &mut self.data[start..start + self.width]
    }

    /// Row `r`, read-only.
    #[inline]
    pub fn row(&self, r: usize) -> &[u8] {
        let start = r * self.stride;
        &self.data[start..start + self.width]
    }

    /// A writable sub-rectangle of this plane.
    pub fn sub_mut(&mut self, x: usize, y: usize, w: usize, h: usize) -> PlaneMut<'_> {
        assert!(
            x + w <= self.width && y + h <= self.height,
            "sub-plane out of bounds"
        );
        let start = y * self.stride + x;
        let end = if h == 0 {
            start
        } else {
            start + (h - 1) * self.stride + w
        };
        PlaneMut {
            data: &mut self.data[start..end],
            stride: self.stride,
            width: w,
            height: h,
        }
    }

    /// Sets every sample to `value`.
    pub fn fill(&mut self, value: u8) {
        for r in 0..self.height {
            self.row_mut(r).fill(value);
        }
    }

    /// Read-only view of the same samples.
    pub fn as_ref(&self) -> PlaneRef<'_> {
        PlaneRef {
            data: self.data,
            stride: self.stride,
            width: self.width,
            height: self.height,
        }
    }
}

/// Why a frame could not be built from the given buffers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Width or height is zero or odd.
    #[error("frame size {width}x{height} must be non-zero and even")]
    BadSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// A plane's buffer is shorter than its stride and height need.
    #[error("plane {plane} needs {needed} bytes, got {got}")]
    ShortPlane {
        /// 0 = Y, 1 = U, 2 = V.
        plane: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}

/// An I420 (YUV 4:2:0 planar) picture with explicit strides.
///
/// Width and height are even. Strides are at least the plane width and are
/// padded to 32 bytes by [`I420Frame::new`] so SIMD rows can load whole vectors.
#[derive(Clone)]
pub struct I420Frame {
    width: u32,
    height: u32,
    strides: [usize; 3],
    planes: [Vec<u8>; 3],
}

impl fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("I420Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("strides", &self.strides)
            .finish()
    }
}

const STRIDE_ALIGN: usize = 32;

fn align_up(n: usize) -> usize {
    n.div_ceil(STRIDE_ALIGN) * STRIDE_ALIGN
}

impl I420Frame {
    /// A black frame of the given even size.
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        Self::check_size(width, height)?;
        let (w, h) = (width as usize, height as usize);
        let ys = align_up(w);
        let cs = align_up(w / 2);
        Ok(Self {
            width,
            height,
            strides: [ys, cs, cs],
            planes: [
                vec![16; ys * h],
                vec![128; cs * h / 2],
                vec![128; cs * h / 2],
            ],
        })
    }

    /// A frame filled with one colour.
    pub fn solid(width: u32, height: u32, colour: Yuv) -> Result<Self, FrameError> {
        let mut f = Self::new(width, height)?;
        f.fill(colour);
        Ok(f)
    }

    /// Wraps existing plane buffers (for example a decoder's output copied out).
    pub fn from_planes(
        width: u32,
        height: u32,
        strides: [usize; 3],
        planes: [Vec<u8>; 3],
    ) -> Result<Self, FrameError> {
        Self::check_size(width, height)?;
        let dims = [
            (width as usize, height as usize),
            (width as usize / 2, height as usize / 2),
            (width as usize / 2, height as usize / 2),
        ];
        for (i, (w, h)) in dims.iter().enumerate() {
            let needed = if *h == 0 { 0 } else { strides[i] * (h - 1) + w };
            if strides[i] < *w || planes[i].len() < needed {
                return Err(FrameError::ShortPlane {
                    plane: i,
                    needed: needed.max(strides[i] * h),
                    got: planes[i].len(),
                });
            }
        }
        Ok(Self {
            width,
            height,
            strides,
            planes,
        })
    }

    fn check_size(width: u32, height: u32) -> Result<(), FrameError> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(FrameError::BadSize { width, height });
        }
        Ok(())
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Strides of the Y, U and V planes.
    pub fn strides(&self) -> [usize; 3] {
        self.strides
    }

    fn plane_dims(&self, i: usize) -> (usize, usize) {
        if i == 0 {
            (self.width as usize, self.height as usize)
        } else {
            (self.width as usize / 2, self.height as usize / 2)
        }
    }

    /// Read-only view of plane `i` (0 = Y, 1 = U, 2 = V).
    pub fn plane(&self, i: usize) -> PlaneRef<'_> {
        let (width, height) = self.plane_dims(i);
        PlaneRef {
            data: &self.planes[i],
            stride: self.strides[i],
            width,
            height,
        }
    }

    /// Writable view of plane `i` (0 = Y, 1 = U, 2 = V).
    pub fn plane_mut(&mut self, i: usize) -> PlaneMut<'_> {
        let (width, height) = self.plane_dims(i);
        PlaneMut {
            data: &mut self.planes[i],
            stride: self.strides[i],
            width,
            height,
        }
    }

    /// Writable views of all three planes at once.
    pub fn planes_mut(&mut self) -> [PlaneMut<'_>; 3] {
        let (w, h) = (self.width as usize, self.height as usize);
        let [y, u, v] = &mut self.planes;
        [
            PlaneMut {
                data: y,
                stride: self.strides[0],
                width: w,
                height: h,
            },
            PlaneMut {
                data: u,
                stride: self.strides[1],
                width: w / 2,
                height: h / 2,
            },
            PlaneMut {
                data: v,
                stride: self.strides[2],
                width: w / 2,
                height: h / 2,
            },
        ]
    }

    /// Fills the whole frame with one colour.
    pub fn fill(&mut self, colour: Yuv) {
        self.fill_rect(PixelRect::new(0, 0, self.width, self.height), colour);
    }

    /// Fills a rectangle (clipped to the frame, aligned to even pixels).
    pub fn fill_rect(&mut self, rect: PixelRect, colour: Yuv) {
        let r = self.clip(rect).even();
        if r.is_empty() {
            return;
        }
        let [mut y, mut u, mut v] = self.planes_mut();
        y.sub_mut(r.x as usize, r.y as usize, r.w as usize, r.h as usize)
            .fill(colour.y);
        let (cx, cy, cw, ch) = (
            r.x as usize / 2,
            r.y as usize / 2,
            r.w as usize / 2,
            r.h as usize / 2,
        );
        u.sub_mut(cx, cy, cw, ch).fill(colour.u);
        v.sub_mut(cx, cy, cw, ch).fill(colour.v);
    }

    /// The part of `rect` inside the frame.
    pub fn clip(&self, rect: PixelRect) -> PixelRect {
        let x = rect.x.min(self.width);
        let y = rect.y.min(self.height);
        PixelRect {
            x,
            y,
            w: rect.right().min(self.width) - x,
            h: rect.bottom().min(self.height) - y,
        }
    }

    /// The colour of one pixel.
    pub fn pixel(&self, x: u32, y: u32) -> Yuv {
        let (x, y) = (x as usize, y as usize);
        Yuv {
            y: self.planes[0][y * self.strides[0] + x],
            u: self.planes[1][(y / 2) * self.strides[1] + x / 2],
            v: self.planes[2][(y / 2) * self.strides[2] + x / 2],
        }
    }

    /// Mean colour over a rectangle (clipped to the frame).
    pub fn mean_colour(&self, rect: PixelRect) -> Yuv {
        let r = self.clip(rect).even();
        if r.is_empty() {
            return Yuv::BLACK;
        }
        let mean = |p: PlaneRef<'_>, x: usize, y: usize, w: usize, h: usize| -> u8 {
            let s = p.sub(x, y, w, h);
            let sum: u64 = (0..h)
                .map(|i| s.row(i).iter().map(|&b| b as u64).sum::<u64>())
                .sum();
            ((sum + (w * h) as u64 / 2) / (w * h) as u64) as u8
        };
        let (x, y, w, h) = (r.x as usize, r.y as usize, r.w as usize, r.h as usize);
        Yuv {
            y: mean(self.plane(0), x, y, w, h),
            u: mean(self.plane(1), x / 2, y / 2, w / 2, h / 2),
            v: mean(self.plane(2), x / 2, y / 2, w / 2, h / 2),
        }
    }

    /// Copies the frame as a tightly packed I420 buffer (Y, then U, then V).
    pub fn to_packed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 3 / 2);
        for i in 0..3 {
            let p = self.plane(i);
            for r in 0..p.height {
                out.extend_from_slice(p.row(r));
            }
        }
        out
    }

    /// Peak signal-to-noise ratio of the luma plane against another frame of
    /// the same size, in dB (`f64::INFINITY` when identical).
    pub fn psnr_y(&self, other: &I420Frame) -> f64 {
        plane_psnr(self.plane(0), other.plane(0))
    }

    /// PSNR over all three planes, weighted by sample count.
    pub fn psnr(&self, other: &I420Frame) -> f64 {
        let mut se = 0.0;
        let mut n = 0usize;
        for i in 0..3 {
            let (s, c) = plane_sse(self.plane(i), other.plane(i));
            se += s;
            n += c;
        }
        psnr_from(se, n)
    }
}

fn plane_sse(a: PlaneRef<'_>, b: PlaneRef<'_>) -> (f64, usize) {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "PSNR of different sizes"
    );
    let mut se = 0u64;
    for r in 0..a.height {
        for (x, y) in a.row(r).iter().zip(b.row(r)) {
            let d = *x as i64 - *y as i64;
            se += (d * d) as u64;
        }
    }
    (se as f64, a.width * a.height)
}

fn psnr_from(se: f64, n: usize) -> f64 {
    if se == 0.0 {
        return f64::INFINITY;
    }
    let mse = se / n as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// PSNR of two planes of the same size, in dB.
pub fn plane_psnr(a: PlaneRef<'_>, b: PlaneRef<'_>) -> f64 {
    let (se, n) = plane_sse(a, b);
    psnr_from(se, n)
}

/// Reuses frame buffers of one size so the steady state allocates nothing.
///
/// `take` hands out a frame (recycled when one is free); `give` returns it.
/// The pool keeps at most `capacity` spare frames.
#[derive(Debug)]
pub struct FramePool {
    width: u32,
    height: u32,
    capacity: usize,
    free: Vec<I420Frame>,
    allocated: usize,
}

impl FramePool {
    /// A pool of frames of one size.
    pub fn new(width: u32, height: u32, capacity: usize) -> Result<Self, FrameError> {
        I420Frame::check_size(width, height)?;
        Ok(Self {
            width,
            height,
            capacity,
            free: Vec::with_capacity(capacity),
            allocated: 0,
        })
    }

    /// A frame of the pool's size; its content is whatever it held last.
    pub fn take(&mut self) -> I420Frame {
        if let Some(f) = self.free.pop() {
            return f;
        }
        self.allocated += 1;
        // The size was checked in `new`.
        I420Frame::new(self.width, self.height).expect("pool size checked at construction")
    }

    /// Returns a frame to the pool (dropped if the pool is full or the size differs).
    pub fn give(&mut self, frame: I420Frame) {
        if frame.width == self.width
            && frame.height == self.height
            && self.free.len() < self.capacity
        {
            self.free.push(frame);
        }
    }

    /// How many frames this pool has ever allocated.
    pub fn allocated(&self) -> usize {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_frame_rejects_odd_or_zero_size() {
        assert!(I420Frame::new(0, 10).is_err());
        assert!(I420Frame::new(11, 10).is_err());
        assert!(I420Frame::new(10, 10).is_ok());
    }

    #[test]
    fn strides_are_padded_and_planes_sized() {
        let f = I420Frame::new(642, 360).unwrap();
        assert_eq!(f.strides(), [672, 352, 352]);
        assert_eq!(f.plane(1).width, 321);
        assert_eq!(f.plane(2).height, 180);
    }

    #[test]
    fn fill_rect_and_mean_colour() {
        let red = Yuv::from_rgb(255, 0, 0);
        let mut f = I420Frame::new(64, 64).unwrap();
        f.fill_rect(PixelRect::new(16, 16, 32, 32), red);
        assert_eq!(f.mean_colour(PixelRect::new(20, 20, 8, 8)), red);
        assert_eq!(f.pixel(2, 2), Yuv::BLACK);
        // A rect hanging off the edge is clipped, not a panic.
        f.fill_rect(PixelRect::new(60, 60, 100, 100), red);
        assert_eq!(f.pixel(62, 62), red);
    }

    #[test]
    fn rgb_round_trip_is_close() {
        for (r, g, b) in [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)] {
            let (r2, g2, b2) = Yuv::from_rgb(r, g, b).to_rgb();
            assert!(r.abs_diff(r2) <= 3 && g.abs_diff(g2) <= 3 && b.abs_diff(b2) <= 3);
        }
    }

    #[test]
    fn from_planes_checks_lengths() {
        let err = I420Frame::from_planes(4, 4, [4, 2, 2], [vec![0; 16], vec![0; 3], vec![0; 4]]);
        assert!(matches!(err, Err(FrameError::ShortPlane { plane: 1, .. })));
    }

    #[test]
    fn pool_recycles_buffers() {
        let mut pool = FramePool::new(32, 32, 2).unwrap();
        for _ in 0..100 {
            let a = pool.take();
            let b = pool.take();
            pool.give(a);
            pool.give(b);
        }
        assert_eq!(pool.allocated(), 2);
    }

    #[test]
    fn psnr_identical_is_infinite_and_noise_is_finite() {
        let a = I420Frame::solid(16, 16, Yuv::WHITE).unwrap();
        let mut b = a.clone();
        assert!(a.psnr(&b).is_infinite());
        b.fill_rect(PixelRect::new(0, 0, 2, 2), Yuv::BLACK);
        let p = a.psnr(&b);
        assert!(p.is_finite() && p > 10.0);
    }
}
