//! Group `composite`: full redraws of a canvas from N sources (the skip path
//! is not measured: every iteration calls `invalidate()`), plus a memcpy floor.

use std::hint::black_box;

use criterion::Criterion;
use mcu_mixer::ParticipantId;
use mcu_mixer::compositor::{Compositor, TileContent, TileInput};
use mcu_mixer::frame::{I420Frame, PixelRect};
use mcu_mixer::layout::Layout;

use crate::scale::test_frame;

fn tiles<'a>(layout: &Layout, rects: &[PixelRect], frames: &'a [I420Frame]) -> Vec<TileInput<'a>> {
    rects
        .iter()
        .zip(frames)
        .enumerate()
        .map(|(i, (r, f))| TileInput {
            rect: *r,
            z: layout.tiles[i].z,
            fit: layout.fit,
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
    // (name, source width, source height, canvas width, canvas height, layout):
    // the product's own templates, with their fit mode (grids fill their tiles).
    type Case = (&'static str, u32, u32, u32, u32, &'static str);
    let cases: [Case; 4] = [
        ("9x720p_3x3_720p", 1280, 720, 1280, 720, "3x3"),
        ("9x360p_3x3_720p", 640, 360, 1280, 720, "3x3"),
        ("16x360p_4x4_1080p", 640, 360, 1920, 1080, "4x4"),
        ("8x720p_1+7_720p", 1280, 720, 1280, 720, "1+7"),
    ];
    for (name, sw, sh, cw, ch, layout) in cases {
        let layout = Layout::template(layout).expect("built-in template");
        let rects = layout.pixel_rects(cw, ch);
        let frames: Vec<I420Frame> = (0..rects.len()).map(|_| test_frame(sw, sh)).collect();
        let inputs = tiles(&layout, &rects, &frames);
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
