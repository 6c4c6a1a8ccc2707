//! Group `scale`: one 1280×720 I420 frame into 426×240 (a 3×3 tile of a 720p
//! canvas), ours against `fast_image_resize` and libyuv.

use std::hint::black_box;

use criterion::Criterion;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images::Image};
use mcu_mixer::frame::{I420Frame, PixelRect};
use mcu_mixer::scale::{Scaler, SimdLevel};

/// libyuv's `FilterMode` (scale.h).
#[allow(dead_code)]
#[repr(C)]
#[derive(Clone, Copy)]
enum FilterMode {
    None = 0,
    Linear = 1,
    Bilinear = 2,
    Box = 3,
}

unsafe extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn I420Scale(
        src_y: *const u8,
        src_stride_y: i32,
        src_u: *const u8,
        src_stride_u: i32,
        src_v: *const u8,
        src_stride_v: i32,
        src_width: i32,
        src_height: i32,
        dst_y: *mut u8,
        dst_stride_y: i32,
        dst_u: *mut u8,
        dst_stride_u: i32,
        dst_v: *mut u8,
        dst_stride_v: i32,
        dst_width: i32,
        dst_height: i32,
        filtering: FilterMode,
    ) -> i32;
}

/// A deterministic busy picture (gradients and a zone-plate-like term).
pub fn test_frame(w: u32, h: u32) -> I420Frame {
    let mut f = I420Frame::new(w, h).expect("bench sizes are even");
    for (i, mut p) in f.planes_mut().into_iter().enumerate() {
        for y in 0..p.height {
            for (x, v) in p.row_mut(y).iter_mut().enumerate() {
                let r2 = (x * x + y * y) as f64 / (400.0 * (i + 1) as f64);
                *v = (128.0 + 100.0 * r2.sin() * 0.5 + (x + y) as f64 * 0.03) as u8;
            }
        }
    }
    f
}

fn libyuv(src: &I420Frame, dst: &mut I420Frame, mode: FilterMode) {
    let (ss, ds) = (src.strides(), dst.strides());
    let (sw, sh, dw, dh) = (src.width(), src.height(), dst.width(), dst.height());
    let [mut y, mut u, mut v] = dst.planes_mut();
    // SAFETY: every pointer covers its plane with the given stride and size.
    let rc = unsafe {
        I420Scale(
            src.plane(0).data.as_ptr(),
            ss[0] as i32,
            src.plane(1).data.as_ptr(),
            ss[1] as i32,
            src.plane(2).data.as_ptr(),
            ss[2] as i32,
            sw as i32,
            sh as i32,
            y.row_mut(0).as_mut_ptr(),
            ds[0] as i32,
            u.row_mut(0).as_mut_ptr(),
            ds[1] as i32,
            v.row_mut(0).as_mut_ptr(),
            ds[2] as i32,
            dw as i32,
            dh as i32,
            mode,
        )
    };
    assert_eq!(rc, 0);
}

pub fn bench(c: &mut Criterion) {
    let (sw, sh, dw, dh) = (1280u32, 720u32, 426u32, 240u32);
    let src = test_frame(sw, sh);
    let mut dst = I420Frame::new(dw, dh).expect("even size");
    let mut g = c.benchmark_group("scale");

    for (name, level) in [
        ("ours_avx2", SimdLevel::Avx2),
        ("ours_portable", SimdLevel::Portable),
    ] {
        let mut scaler = Scaler::with_level(level);
        g.bench_function(format!("{name}_720p_to_426x240"), |b| {
            b.iter(|| {
                scaler
                    .scale_i420(
                        black_box(&src),
                        PixelRect::new(0, 0, sw, sh),
                        &mut dst,
                        PixelRect::new(0, 0, dw, dh),
                    )
                    .expect("valid rects")
            })
        });
    }

    // fast_image_resize works on packed planes: pack once outside the loop.
    let packed: Vec<(Vec<u8>, u32, u32)> = (0..3)
        .map(|i| {
            let p = src.plane(i);
            let mut v = Vec::with_capacity(p.width * p.height);
            for r in 0..p.height {
                v.extend_from_slice(p.row(r));
            }
            (v, p.width as u32, p.height as u32)
        })
        .collect();
    let mut srcs: Vec<Image<'static>> = packed
        .into_iter()
        .map(|(v, w, h)| Image::from_vec_u8(w, h, v, PixelType::U8).expect("sized"))
        .collect();
    let mut dsts = [
        Image::new(dw, dh, PixelType::U8),
        Image::new(dw / 2, dh / 2, PixelType::U8),
        Image::new(dw / 2, dh / 2, PixelType::U8),
    ];
    let mut resizer = Resizer::new();
    for (name, alg) in [
        ("fir_box", ResizeAlg::Convolution(FilterType::Box)),
        ("fir_bilinear", ResizeAlg::Convolution(FilterType::Bilinear)),
    ] {
        let opts = ResizeOptions::new().resize_alg(alg);
        g.bench_function(format!("{name}_720p_to_426x240"), |b| {
            b.iter(|| {
                for (s, d) in srcs.iter_mut().zip(dsts.iter_mut()) {
                    resizer
                        .resize(black_box(&*s), d, &opts)
                        .expect("same pixel type");
                }
            })
        });
    }

    for (name, mode) in [
        ("libyuv_box", FilterMode::Box),
        ("libyuv_bilinear", FilterMode::Bilinear),
    ] {
        g.bench_function(format!("{name}_720p_to_426x240"), |b| {
            b.iter(|| libyuv(black_box(&src), &mut dst, mode))
        });
    }
    g.finish();
}
