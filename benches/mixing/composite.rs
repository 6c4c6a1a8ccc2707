//! Group `composite`: full redraws of a canvas from N sources (the skip path
//! is not measured: every iteration calls `invalidate()`), plus a memcpy floor.

use std::hint::black_box;

use criterion::Criterion;
use mcu_mixer::ParticipantId;
use mcu_mixer::compositor::{Compositor, TileContent, TileInput};
use mcu_mixer::frame::{I420Frame, PixelRect};
use mcu_mixer::layout::FitMode;

use crate::scale::test_frame;

/// An `n × n` grid on a `w × h` canvas, even-aligned.
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

/// Polycom-style 1+7: one big tile (3/4 × 3/4) top-left, 3 small tiles down
/// the right edge and 4 along the bottom.
fn one_plus_seven(w: u32, h: u32) -> Vec<PixelRect> {
    let (sw, sh) = (w / 4, h / 4);
    let mut v = vec![PixelRect::new(0, 0, 3 * sw, 3 * sh).even()];
    for i in 0..3 {
        v.push(PixelRect::new(3 * sw, i * sh, sw, sh).even());
    }
    for i in 0..4 {
        v.push(PixelRect::new(i * sw, 3 * sh, sw, sh).even());
    }
    v
}

fn tiles<'a>(rects: &[PixelRect], frames: &'a [I420Frame]) -> Vec<TileInput<'a>> {
    rects
        .iter()
        .zip(frames)
        .enumerate()
        .map(|(i, (r, f))| TileInput {
            rect: *r,
            z: 0,
            fit: FitMode::Fit,
            content: TileContent::Picture {
                source: ParticipantId(i as u64),
                generation: 1,
                frame: f,
            },
            label: None,
            highlight: false,
        })
        .collect()
}

pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("composite");
    // (name, source width, source height, canvas width, canvas height, tiles)
    type Case = (&'static str, u32, u32, u32, u32, Vec<PixelRect>);
    let cases: [Case; 4] = [
        ("9x720p_3x3_720p", 1280, 720, 1280, 720, grid(3, 1280, 720)),
        ("9x360p_3x3_720p", 640, 360, 1280, 720, grid(3, 1280, 720)),
        (
            "16x360p_4x4_1080p",
            640,
            360,
            1920,
            1080,
            grid(4, 1920, 1080),
        ),
        (
            "8x720p_1+7_720p",
            1280,
            720,
            1280,
            720,
            one_plus_seven(1280, 720),
        ),
    ];
    for (name, sw, sh, cw, ch, rects) in cases {
        let frames: Vec<I420Frame> = (0..rects.len()).map(|_| test_frame(sw, sh)).collect();
        let inputs = tiles(&rects, &frames);
        let mut comp = Compositor::new(cw, ch).expect("even canvas");
        g.bench_function(name, |b| {
            b.iter(|| {
                comp.invalidate();
                black_box(comp.compose(black_box(&inputs)))
            })
        });
    }

    // The floor: copy as many bytes as 9 720p sources hold into canvas rows
    // (each source row into a canvas row, wrapping around the canvas).
    let frames: Vec<I420Frame> = (0..9).map(|_| test_frame(1280, 720)).collect();
    let mut canvas = I420Frame::new(1280, 720).expect("even canvas");
    g.bench_function("memcpy_floor_9x720p", |b| {
        b.iter(|| {
            for f in &frames {
                for (i, mut dst) in canvas.planes_mut().into_iter().enumerate() {
                    let src = f.plane(i);
                    for r in 0..src.height {
                        dst.row_mut(r).copy_from_slice(black_box(src.row(r)));
                    }
                }
            }
        })
    });
    g.finish();
}
