//! Compositing: tiles show their sources, scaling quality against the f64
//! references, SIMD and portable paths agree, dirty tracking, fit vs fill.

use std::sync::Arc;

use mcu_mixer::ParticipantId;
use mcu_mixer::compositor::{BACKGROUND, Compositor, TileContent, TileInput};
use mcu_mixer::frame::{I420Frame, PixelRect, PlaneMut, PlaneRef, Yuv, plane_psnr};
use mcu_mixer::label::LabelBitmap;
use mcu_mixer::layout::FitMode;
use mcu_mixer::scale::{
    Kernel, ScalePlan, Scaler, SimdLevel, area_average_region_reference, bilinear_reference,
};

/// Distinct, saturated-ish colours.
fn palette(n: usize) -> Vec<Yuv> {
    (0..n)
        .map(|i| {
            let h = i as f64 / n as f64 * 6.0;
            let f = |o: f64| {
                let x = ((h + o) % 6.0 - 3.0).abs() - 1.0;
                (x.clamp(0.0, 1.0) * 200.0 + 30.0) as u8
            };
            Yuv::from_rgb(f(0.0), f(4.0), f(2.0))
        })
        .collect()
}

fn grid(n: u32, w: u32, h: u32) -> Vec<PixelRect> {
    let mut v = Vec::new();
    for r in 0..n {
        for c in 0..n {
            let (x0, x1) = (c * w / n, (c + 1) * w / n);
            let (y0, y1) = (r * h / n, (r + 1) * h / n);
            v.push(PixelRect::new(x0, y0, x1 - x0, y1 - y0).even());
        }
    }
    v
}

fn picture<'a>(
    rect: PixelRect,
    z: i32,
    id: u64,
    generation: u64,
    f: &'a I420Frame,
) -> TileInput<'a> {
    TileInput {
        rect,
        z,
        fit: FitMode::Fit,
        content: TileContent::Picture {
            source: ParticipantId(id),
            generation,
            frame: f,
        },
        label: None,
        highlight: false,
    }
}

fn centre_patch(r: PixelRect) -> PixelRect {
    PixelRect::new(r.x + r.w / 2 - 4, r.y + r.h / 2 - 4, 8, 8)
}

#[test]
fn grid_tiles_show_their_sources_colour() {
    for n in [1u32, 2, 3, 4] {
        for (cw, ch) in [(1280, 720), (1920, 1080)] {
            let rects = grid(n, cw, ch);
            let colours = palette(rects.len());
            // Alternate 720p and 360p sources so several kernels run.
            let frames: Vec<I420Frame> = colours
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (w, h) = if i % 2 == 0 { (1280, 720) } else { (640, 360) };
                    I420Frame::solid(w, h, *c).unwrap()
                })
                .collect();
            let tiles: Vec<_> = rects
                .iter()
                .zip(&frames)
                .enumerate()
                .map(|(i, (r, f))| picture(*r, 0, i as u64, 1, f))
                .collect();
            let mut comp = Compositor::new(cw, ch).unwrap();
            let stats = comp.compose(&tiles);
            assert_eq!(stats.tiles_redrawn, rects.len());
            for (r, c) in rects.iter().zip(&colours) {
                let got = comp.canvas().mean_colour(centre_patch(*r));
                assert!(
                    got.distance(*c) <= 1,
                    "{n}x{n} on {cw}x{ch}: tile {r:?} has {got:?}, want {c:?}"
                );
            }
        }
    }
}

#[test]
fn picture_in_picture_inset_is_on_top() {
    let (red, blue) = (Yuv::from_rgb(220, 30, 30), Yuv::from_rgb(30, 30, 220));
    let main = I420Frame::solid(1280, 720, red).unwrap();
    let inset = I420Frame::solid(640, 360, blue).unwrap();
    let inset_rect = PixelRect::new(880, 480, 320, 180);
    let mut comp = Compositor::new(1280, 720).unwrap();
    // The inset comes first in the slice: z decides, not order.
    comp.compose(&[
        picture(inset_rect, 1, 2, 1, &inset),
        picture(PixelRect::new(0, 0, 1280, 720), 0, 1, 1, &main),
    ]);
    assert!(
        comp.canvas()
            .mean_colour(centre_patch(inset_rect))
            .distance(blue)
            <= 1
    );
    assert!(
        comp.canvas()
            .mean_colour(PixelRect::new(300, 200, 8, 8))
            .distance(red)
            <= 1
    );
}

/// A deterministic test picture: zone plate, gradients and hard edges.
fn test_plane(w: usize, h: usize) -> Vec<u8> {
    let mut v = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 - w as f64 / 2.0, y as f64 - h as f64 / 2.0);
            let zone = (dx * dx + dy * dy) * std::f64::consts::PI / (8.0 * w as f64);
            let grad = (x * 255 / w) as f64 * 0.3 + (y * 255 / h) as f64 * 0.2;
            let edge = if (x / 37 + y / 23) % 2 == 0 {
                40.0
            } else {
                -40.0
            };
            v[y * w + x] = (90.0 + 45.0 * zone.cos() + grad + edge).clamp(0.0, 255.0) as u8;
        }
    }
    v
}

fn scale(
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

fn psnr(a: &[u8], b: &[u8], w: usize, h: usize) -> f64 {
    let p = |d| PlaneRef {
        data: d,
        stride: w,
        width: w,
        height: h,
    };
    plane_psnr(p(a), p(b))
}

#[test]
fn downscales_match_the_area_average_reference() {
    let cases = [
        (1280, 720, 426, 240, Kernel::Down3, 35.0),
        (640, 360, 213, 120, Kernel::Down3, 35.0),
        (1280, 720, 640, 360, Kernel::Down2, 35.0),
        (1280, 720, 320, 180, Kernel::Down4, 35.0),
        (640, 360, 426, 240, Kernel::Down3To2, 35.0),
        (320, 180, 213, 120, Kernel::Down3To2, 35.0),
        (1280, 720, 428, 240, Kernel::Generic, 30.0),
        (1280, 720, 960, 540, Kernel::Down4To3, 35.0),
        (1280, 720, 500, 280, Kernel::Generic, 30.0),
        (1000, 700, 311, 197, Kernel::Generic, 30.0),
        (640, 360, 480, 270, Kernel::Down4To3, 35.0),
        (640, 360, 479, 269, Kernel::Down4To3, 35.0),
    ];
    for (sw, sh, dw, dh, kernel, min_db) in cases {
        let src = test_plane(sw, sh);
        let (plan, out) = scale(SimdLevel::detect(), &src, sw, sh, dw, dh);
        assert_eq!(plan.kernel, kernel, "{sw}x{sh}->{dw}x{dh}");
        let s = PlaneRef {
            data: &src,
            stride: sw,
            width: sw,
            height: sh,
        };
        let reference = area_average_region_reference(s, plan.source_region(), dw, dh);
        let db = psnr(&out, &reference, dw, dh);
        assert!(
            db >= min_db,
            "{sw}x{sh}->{dw}x{dh} ({kernel:?}): {db:.1} dB"
        );
    }
}

#[test]
fn upscales_match_the_bilinear_reference() {
    for (sw, sh, dw, dh) in [
        (320, 180, 426, 240),
        (640, 360, 1280, 720),
        (101, 57, 333, 200),
    ] {
        let src = test_plane(sw, sh);
        let (plan, out) = scale(SimdLevel::detect(), &src, sw, sh, dw, dh);
        assert_eq!(plan.kernel, Kernel::Generic);
        let s = PlaneRef {
            data: &src,
            stride: sw,
            width: sw,
            height: sh,
        };
        let db = psnr(&out, &bilinear_reference(s, dw, dh), dw, dh);
        assert!(db >= 35.0, "{sw}x{sh}->{dw}x{dh}: {db:.1} dB");
    }
}

#[test]
fn simd_and_portable_paths_are_bit_exact() {
    if SimdLevel::detect() != SimdLevel::Avx2 {
        eprintln!("CPU without AVX2: nothing to compare");
        return;
    }
    for (sw, sh, dw, dh) in [
        (1280, 720, 426, 240),
        (640, 360, 426, 240),
        (1280, 720, 320, 180),
        (1280, 720, 640, 360),
        (1280, 720, 960, 540),
        (320, 180, 427, 241),
    ] {
        let src = test_plane(sw, sh);
        let (_, a) = scale(SimdLevel::Portable, &src, sw, sh, dw, dh);
        let (_, b) = scale(SimdLevel::Avx2, &src, sw, sh, dw, dh);
        assert!(a == b, "{sw}x{sh}->{dw}x{dh} differs");
    }
    // And a whole composition.
    let frames: Vec<I420Frame> = (0..9)
        .map(|i| I420Frame::solid(1280, 720, palette(9)[i]).unwrap())
        .collect();
    let rects = grid(3, 1280, 720);
    let tiles: Vec<_> = rects
        .iter()
        .zip(&frames)
        .enumerate()
        .map(|(i, (r, f))| picture(*r, 0, i as u64, 1, f))
        .collect();
    let mut a =
        Compositor::with_scaler(1280, 720, Scaler::with_level(SimdLevel::Portable)).unwrap();
    let mut b = Compositor::with_scaler(1280, 720, Scaler::with_level(SimdLevel::Avx2)).unwrap();
    a.compose(&tiles);
    b.compose(&tiles);
    assert!(a.canvas().psnr(b.canvas()).is_infinite());
}

#[test]
fn unchanged_tiles_are_not_redrawn() {
    let colours = palette(5);
    let frames: Vec<I420Frame> = colours
        .iter()
        .map(|c| I420Frame::solid(640, 360, *c).unwrap())
        .collect();
    let rects = grid(2, 1280, 720);
    let pip_rect = PixelRect::new(480, 270, 320, 180); // overlaps all four grid tiles
    let mk = |gens: [u64; 5]| -> Vec<TileInput<'_>> {
        let mut v: Vec<_> = (0..4)
            .map(|i| picture(rects[i], 0, i as u64, gens[i], &frames[i]))
            .collect();
        v.push(picture(pip_rect, 1, 4, gens[4], &frames[4]));
        v
    };
    let mut comp = Compositor::new(1280, 720).unwrap();
    assert_eq!(comp.compose(&mk([1; 5])).tiles_redrawn, 5);
    assert_eq!(comp.compose(&mk([1; 5])).tiles_redrawn, 0);
    // A grid tile under the inset: it and the inset.
    assert_eq!(comp.compose(&mk([2, 1, 1, 1, 1])).tiles_redrawn, 2);
    // The inset alone.
    assert_eq!(comp.compose(&mk([2, 1, 1, 1, 2])).tiles_redrawn, 1);
    assert!(
        comp.canvas()
            .mean_colour(centre_patch(pip_rect))
            .distance(colours[4])
            <= 1
    );
    // A new label Arc is a change, the same Arc is not.
    let label = Arc::new(LabelBitmap {
        width: 10,
        height: 4,
        alpha: vec![200; 40],
    });
    let mut t = mk([2, 1, 1, 1, 2]);
    t[1].label = Some(label.clone());
    // Tile 1 and the inset above it.
    assert_eq!(comp.compose(&t).tiles_redrawn, 2);
    t[1].label = Some(label);
    assert_eq!(comp.compose(&t).tiles_redrawn, 0);
    // Invalidate forces everything.
    comp.invalidate();
    assert_eq!(comp.compose(&t).tiles_redrawn, 5);
}

#[test]
fn removed_tiles_leave_background_and_uncover_what_was_beneath() {
    let (green, white) = (Yuv::from_rgb(20, 200, 20), Yuv::from_rgb(240, 240, 240));
    let a = I420Frame::solid(640, 360, green).unwrap();
    let b = I420Frame::solid(640, 360, white).unwrap();
    let left = PixelRect::new(0, 0, 640, 360);
    let inset = PixelRect::new(400, 200, 320, 180); // half over `left`, half over nothing
    let mut comp = Compositor::new(1280, 720).unwrap();
    comp.compose(&[picture(left, 0, 1, 1, &a), picture(inset, 1, 2, 1, &b)]);
    assert!(comp.canvas().pixel(700, 300).distance(white) <= 1);
    let stats = comp.compose(&[picture(left, 0, 1, 1, &a)]);
    // `left` overlapped the cleared inset and was redrawn.
    assert_eq!(stats.tiles_redrawn, 1);
    assert!(
        comp.canvas()
            .mean_colour(PixelRect::new(500, 250, 8, 8))
            .distance(green)
            <= 1
    );
    assert_eq!(comp.canvas().pixel(700, 300), BACKGROUND);
}

#[test]
fn fit_has_bars_and_fill_has_none_for_4_3_into_16_9() {
    let colour = Yuv::from_rgb(200, 100, 40);
    let src = I420Frame::solid(640, 480, colour).unwrap();
    let tile = PixelRect::new(0, 0, 640, 360);
    for (fit, bars) in [(FitMode::Fit, true), (FitMode::Fill, false)] {
        let mut comp = Compositor::new(1280, 720).unwrap();
        let mut t = picture(tile, 0, 1, 1, &src);
        t.fit = fit;
        comp.compose(&[t]);
        let c = comp.canvas();
        // 4:3 in 360 rows is 480 wide: 80-pixel bars on each side.
        for x in [4, 74, 566, 634] {
            let got = c.mean_colour(PixelRect::new(x, 170, 2, 2));
            let want = if bars { BACKGROUND } else { colour };
            assert!(got.distance(want) <= 1, "{fit:?} x={x}: {got:?}");
        }
        assert!(c.mean_colour(PixelRect::new(84, 4, 2, 2)).distance(colour) <= 1);
        assert!(
            c.mean_colour(PixelRect::new(556, 354, 2, 2))
                .distance(colour)
                <= 1
        );
    }
}
