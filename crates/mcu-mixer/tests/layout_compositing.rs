//! Every layout template composited with real sources: each tile shows its
//! source in the right place (PiP insets on top), and PNG goldens of whole
//! layouts with Vietnamese labels, a placeholder and the speaker highlight.

mod common;

use std::sync::Arc;

use mcu_mixer::ParticipantId;
use mcu_mixer::compositor::{Compositor, HIGHLIGHT, PLACEHOLDER, TileContent, TileInput};
use mcu_mixer::frame::{I420Frame, PixelRect, Yuv};
use mcu_mixer::label::{LabelRenderer, label_height_for_tile};
use mcu_mixer::layout::{FitMode, Layout, TEMPLATE_NAMES, TileRole};
use mcu_mixer::synth::SyntheticVideo;

/// `n` clearly different colours around the hue wheel, alternating brightness.
fn palette(n: usize) -> Vec<Yuv> {
    (0..n)
        .map(|i| {
            let h = i as f64 / n as f64 * 6.0;
            let x = 1.0 - (h % 2.0 - 1.0).abs();
            let (r, g, b) = match h as u32 {
                0 => (1.0, x, 0.0),
                1 => (x, 1.0, 0.0),
                2 => (0.0, 1.0, x),
                3 => (0.0, x, 1.0),
                4 => (x, 0.0, 1.0),
                _ => (1.0, 0.0, x),
            };
            let v = if i % 2 == 0 { 230.0 } else { 140.0 };
            Yuv::from_rgb((r * v) as u8, (g * v) as u8, (b * v) as u8)
        })
        .collect()
}

fn centre_patch(r: PixelRect) -> PixelRect {
    PixelRect::new(r.x + r.w / 2 - 4, r.y + r.h / 2 - 4, 8, 8)
}

#[test]
fn every_template_puts_each_source_in_its_tile() {
    for name in TEMPLATE_NAMES {
        let layout = Layout::template(name).unwrap();
        for (w, h) in [(1280, 720), (1920, 1080)] {
            let colours = palette(layout.tiles.len());
            let frames: Vec<I420Frame> = colours
                .iter()
                .map(|&c| I420Frame::solid(640, 360, c).unwrap())
                .collect();
            let rects = layout.pixel_rects(w, h);
            let tiles: Vec<TileInput<'_>> = rects
                .iter()
                .enumerate()
                .map(|(i, &rect)| TileInput {
                    rect,
                    z: layout.tiles[i].z,
                    fit: layout.fit,
                    content: TileContent::Picture {
                        source: ParticipantId(i as u64),
                        generation: 1,
                        frame: &frames[i],
                    },
                    label: None,
                    highlight: false,
                })
                .collect();
            let mut comp = Compositor::new(w, h).unwrap();
            comp.compose(&tiles);
            let canvas = comp.canvas();
            for (i, &rect) in rects.iter().enumerate() {
                let got = canvas.mean_colour(centre_patch(rect));
                assert!(
                    got.distance(colours[i]) <= 3,
                    "{name} {w}x{h} tile {i}: {got:?}, want {:?}",
                    colours[i]
                );
            }
            // Under a PiP inset, the main tile still shows its own source
            // everywhere the inset does not cover.
            if let Some(pip) = layout.tiles.iter().position(|t| t.role == TileRole::Pip) {
                let main = rects[0];
                let corner = PixelRect::new(main.x + 8, main.y + 8, 8, 8);
                assert!(!corner.intersects(&rects[pip]));
                assert!(
                    canvas.mean_colour(corner).distance(colours[0]) <= 3,
                    "{name}"
                );
            }
        }
    }
}

/// A composition of `layout` with synthetic sources and labels; `missing`
/// has never sent video, `speaker` is highlighted.
fn compose_scene(
    layout: &Layout,
    names: &[&str],
    missing: Option<usize>,
    speaker: Option<usize>,
    source_size: (u32, u32),
) -> I420Frame {
    let (w, h) = (1280, 720);
    let rects = layout.pixel_rects(w, h);
    let colours = palette(names.len());
    let frames: Vec<I420Frame> = colours
        .iter()
        .map(|&c| {
            let mut s = SyntheticVideo::new(source_size.0, source_size.1, c).unwrap();
            s.next_frame().clone()
        })
        .collect();
    let mut labels = LabelRenderer::new();
    let tiles: Vec<TileInput<'_>> = rects
        .iter()
        .enumerate()
        .map(|(i, &rect)| {
            let label: Arc<_> =
                labels.render(names[i], label_height_for_tile(rect.h), rect.w * 7 / 8);
            TileInput {
                rect,
                z: layout.tiles[i].z,
                fit: layout.fit,
                content: if missing == Some(i) {
                    TileContent::Placeholder {
                        source: ParticipantId(i as u64),
                    }
                } else {
                    TileContent::Picture {
                        source: ParticipantId(i as u64),
                        generation: 1,
                        frame: &frames[i],
                    }
                },
                label: Some(label),
                highlight: speaker == Some(i),
            }
        })
        .collect();
    let mut comp = Compositor::new(w, h).unwrap();
    comp.compose(&tiles);
    comp.canvas().clone()
}

const NAMES: [&str; 9] = [
    "UBND tỉnh Tuyên Quang",
    "UBND huyện Sơn Dương",
    "UBND huyện Yên Sơn",
    "UBND huyện Hàm Yên",
    "UBND huyện Chiêm Hóa",
    "Ủy ban nhân dân xã Đồng Quý",
    "UBND huyện Lâm Bình",
    "UBND thành phố Tuyên Quang",
    "Sở Thông tin và Truyền thông",
];

#[test]
fn golden_3x3_with_labels_placeholder_and_speaker() {
    let layout = Layout::template("3x3").unwrap();
    let canvas = compose_scene(&layout, &NAMES, Some(5), Some(1), (640, 360));
    let rects = layout.pixel_rects(1280, 720);
    // The placeholder tile is the placeholder colour around its centred name,
    // the speaker's tile has the border, the others do not.
    let p = rects[5];
    let above_name = PixelRect::new(p.x + p.w / 2 - 4, p.y + p.h / 6, 8, 8);
    assert!(canvas.mean_colour(above_name).distance(PLACEHOLDER) <= 2);
    let edge = |r: PixelRect| canvas.mean_colour(PixelRect::new(r.x, r.y + r.h / 3, 2, 2));
    assert!(edge(rects[1]).distance(HIGHLIGHT) <= 2);
    assert!(edge(rects[0]).distance(HIGHLIGHT) > 20);
    common::assert_golden(
        "layout_3x3_labels_placeholder_speaker",
        &common::frame_to_image(&canvas),
    );
}

#[test]
fn golden_1_plus_7_letterboxes_4_3_sources() {
    let mut layout = Layout::template("1+7").unwrap();
    layout.fit = FitMode::Fit;
    let canvas = compose_scene(&layout, &NAMES[..8], None, Some(0), (640, 480));
    common::assert_golden("layout_1plus7_fit_4x3", &common::frame_to_image(&canvas));
}

#[test]
fn golden_speaker_pip() {
    let layout = Layout::template("speaker+pip").unwrap();
    let canvas = compose_scene(&layout, &NAMES[..2], None, None, (1280, 720));
    common::assert_golden("layout_speaker_pip", &common::frame_to_image(&canvas));
}
