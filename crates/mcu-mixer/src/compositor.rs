//! The compositor: scales each visible source into its tile of one canvas,
//! in z order, and redraws only what changed since the previous picture.
//!
//! # Dirty tracking
//!
//! Each tile has a [`TileKey`]: its rectangle, z, fit mode, content kind,
//! source, picture generation, label (by `Arc` pointer) and highlight. On
//! [`Compositor::compose`]:
//!
//! 1. every tile of the previous picture whose key is not among the new keys,
//!    and whose rectangle no new tile occupies, leaves *damage*: its
//!    rectangle is cleared to the background (a tile with the same rectangle
//!    needs no clear, since every tile kind paints its whole rectangle);
//! 2. walking the new tiles in z order, a tile is redrawn when its key is new,
//!    when it overlaps damage, or when it overlaps a tile below it that was
//!    redrawn (so a picture-in-picture inset is repainted over a redrawn
//!    main picture);
//! 3. all other tiles are left as they are in the canvas.
//!
//! A label is identified by the address of its `Arc<LabelBitmap>`: callers
//! that change a label's text must hand in a new `Arc`.
//!
//! The steady state allocates nothing: scratch vectors are reused and the
//! scaler caches its filter tables.

use std::sync::Arc;

use crate::ParticipantId;
use crate::frame::{FrameError, I420Frame, PixelRect, PlaneMut, PlaneRef, Yuv};
use crate::label::LabelBitmap;
use crate::layout::FitMode;
use crate::scale::Scaler;

/// Canvas background, also the colour of letterbox bars (very dark grey).
pub const BACKGROUND: Yuv = Yuv {
    y: 24,
    u: 128,
    v: 128,
};

/// Fill of a placeholder tile (a source that never sent a picture): dark slate blue.
pub const PLACEHOLDER: Yuv = Yuv {
    y: 52,
    u: 150,
    v: 122,
};

/// Colour of the active-speaker border (amber).
pub const HIGHLIGHT: Yuv = Yuv {
    y: 173,
    u: 42,
    v: 165,
};

/// Luma of label text (white).
const LABEL_TEXT_Y: u8 = 235;
/// Luma of the label box (black) and its opacity out of 256.
const LABEL_BOX_Y: u8 = 16;
const LABEL_BOX_ALPHA: u32 = 160;

/// What a tile shows.
#[derive(Clone, Copy, Debug)]
pub enum TileContent<'a> {
    /// A decoded picture of `source`; `generation` changes whenever the
    /// picture does (a frame counter is fine).
    Picture {
        /// Who the picture is of.
        source: ParticipantId,
        /// Bumped on every new picture.
        generation: u64,
        /// The picture.
        frame: &'a I420Frame,
    },
    /// A source that has not sent a picture yet: a dark tile with its label
    /// centred and enlarged.
    Placeholder {
        /// Who should be shown here.
        source: ParticipantId,
    },
    /// Nothing: background.
    Empty,
}

/// One tile of a composition.
#[derive(Clone, Debug)]
pub struct TileInput<'a> {
    /// Where the tile goes on the canvas (aligned to even pixels; clipped to the canvas).
    pub rect: PixelRect,
    /// Stacking order: higher is drawn later (on top). Ties keep slice order.
    pub z: i32,
    /// Letterbox or crop.
    pub fit: FitMode,
    /// What to show.
    pub content: TileContent<'a>,
    /// Name label drawn at the bottom-left (centred and enlarged on a placeholder).
    pub label: Option<Arc<LabelBitmap>>,
    /// Draw the active-speaker border.
    pub highlight: bool,
}

/// What identifies a tile's appearance for dirty tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TileKey {
    rect: PixelRect,
    z: i32,
    fit: FitMode,
    /// 0 = picture, 1 = placeholder, 2 = empty.
    kind: u8,
    source: Option<ParticipantId>,
    generation: u64,
    /// Frame size: a resized source with the same generation still redraws.
    frame_size: (u32, u32),
    label: usize,
    highlight: bool,
}

impl TileKey {
    fn of(t: &TileInput<'_>, canvas: &I420Frame) -> Self {
        let (kind, source, generation, frame_size) = match t.content {
            TileContent::Picture {
                source,
                generation,
                frame,
            } => (0, Some(source), generation, (frame.width(), frame.height())),
            TileContent::Placeholder { source } => (1, Some(source), 0, (0, 0)),
            TileContent::Empty => (2, None, 0, (0, 0)),
        };
        Self {
            rect: canvas.clip(t.rect.even()),
            z: t.z,
            fit: t.fit,
            kind,
            source,
            generation,
            frame_size,
            label: t.label.as_ref().map_or(0, |l| Arc::as_ptr(l) as usize),
            highlight: t.highlight,
        }
    }
}

/// What one [`Compositor::compose`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComposeStats {
    /// Tiles drawn this time.
    pub tiles_redrawn: usize,
    /// Tiles left untouched because nothing about them changed.
    pub tiles_skipped: usize,
    /// Rectangles cleared to background (tiles gone, moved or changed).
    pub areas_cleared: usize,
}

/// Owns the canvas and draws tiles into it.
#[derive(Debug)]
pub struct Compositor {
    canvas: I420Frame,
    scaler: Scaler,
    /// Keys of the tiles currently on the canvas.
    drawn: Vec<TileKey>,
    /// False until the first compose and after `invalidate`.
    valid: bool,
    // Per-call scratch, reused.
    keys: Vec<TileKey>,
    order: Vec<usize>,
    redraw: Vec<bool>,
    damage: Vec<PixelRect>,
    label_scratch: Vec<u8>,
}

impl Compositor {
    /// A compositor with a `width × height` canvas (even, non-zero).
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        Ok(Self {
            canvas: I420Frame::solid(width, height, BACKGROUND)?,
            scaler: Scaler::new(),
            drawn: Vec::new(),
            valid: false,
            keys: Vec::new(),
            order: Vec::new(),
            redraw: Vec::new(),
            damage: Vec::new(),
            label_scratch: Vec::new(),
        })
    }

    /// The same, with a scaler of a given SIMD level (for tests and benches).
    pub fn with_scaler(width: u32, height: u32, scaler: Scaler) -> Result<Self, FrameError> {
        let mut c = Self::new(width, height)?;
        c.scaler = scaler;
        Ok(c)
    }

    /// The picture as last composed.
    pub fn canvas(&self) -> &I420Frame {
        &self.canvas
    }

    /// Forgets what is on the canvas: the next `compose` redraws everything.
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Brings the canvas up to date with `tiles` and says how much was drawn.
    pub fn compose(&mut self, tiles: &[TileInput<'_>]) -> ComposeStats {
        let mut stats = ComposeStats::default();
        self.keys.clear();
        for t in tiles {
            self.keys.push(TileKey::of(t, &self.canvas));
        }
        self.order.clear();
        self.order.extend(0..tiles.len());
        // Stable: equal z keeps slice order.
        self.order.sort_by_key(|&i| tiles[i].z);

        self.damage.clear();
        if !self.valid {
            self.canvas.fill(BACKGROUND);
            stats.areas_cleared = 1;
        } else {
            for old in &self.drawn {
                // A tile replaced by one with the same rectangle needs no clear:
                // every tile kind repaints its whole rectangle.
                let repainted = self.keys.iter().any(|k| k.rect == old.rect);
                if !self.keys.contains(old) && !repainted && !old.rect.is_empty() {
                    self.damage.push(old.rect);
                }
            }
            for r in &self.damage {
                self.canvas.fill_rect(*r, BACKGROUND);
            }
            stats.areas_cleared = self.damage.len();
        }

        self.redraw.clear();
        self.redraw.resize(tiles.len(), false);
        for (pos, &i) in self.order.iter().enumerate() {
            let key = &self.keys[i];
            let mut dirty = !self.valid
                || !self.drawn.contains(key)
                || self.damage.iter().any(|d| d.intersects(&key.rect));
            if !dirty {
                dirty = self.order[..pos]
                    .iter()
                    .any(|&j| self.redraw[j] && self.keys[j].rect.intersects(&key.rect));
            }
            self.redraw[i] = dirty;
        }

        for pos in 0..self.order.len() {
            let i = self.order[pos];
            if self.redraw[i] {
                let rect = self.keys[i].rect;
                self.draw_tile(&tiles[i], rect);
                stats.tiles_redrawn += 1;
            } else {
                stats.tiles_skipped += 1;
            }
        }

        std::mem::swap(&mut self.drawn, &mut self.keys);
        self.valid = true;
        stats
    }

    fn draw_tile(&mut self, t: &TileInput<'_>, rect: PixelRect) {
        if rect.is_empty() {
            return;
        }
        match t.content {
            TileContent::Empty => {
                self.canvas.fill_rect(rect, BACKGROUND);
                return;
            }
            TileContent::Placeholder { .. } => {
                self.canvas.fill_rect(rect, PLACEHOLDER);
                if let Some(label) = &t.label {
                    self.draw_centred_label(label, rect);
                }
            }
            TileContent::Picture { frame, .. } => {
                let g = picture_geometry(frame.width(), frame.height(), rect, t.fit);
                // Letterbox bars: clear what the picture does not cover.
                for bar in bars(rect, g.dst) {
                    self.canvas.fill_rect(bar, BACKGROUND);
                }
                if !g.dst.is_empty() && !g.crop.is_empty() {
                    // Both rectangles are even-aligned and inside their frames by
                    // construction (`picture_geometry`), so this cannot fail.
                    let _ = self
                        .scaler
                        .scale_i420(frame, g.crop, &mut self.canvas, g.dst);
                }
                if let Some(label) = &t.label {
                    draw_corner_label(&mut self.canvas, label, rect);
                }
            }
        }
        if t.highlight {
            draw_border(&mut self.canvas, rect);
        }
    }

    /// The label of a placeholder: centred, scaled to about half the tile width.
    fn draw_centred_label(&mut self, label: &LabelBitmap, rect: PixelRect) {
        if label.width == 0 || label.height == 0 || label.alpha.len() < label.width * label.height {
            return;
        }
        let max_w = (rect.w as usize * 3 / 5).max(1);
        let max_h = (rect.h as usize / 4).max(1);
        // Enlarge (or shrink) keeping the aspect, by at most 4×.
        let s = (max_w as f64 / label.width as f64)
            .min(max_h as f64 / label.height as f64)
            .min(4.0);
        let w = ((label.width as f64 * s).round() as usize).clamp(1, rect.w as usize);
        let h = ((label.height as f64 * s).round() as usize).clamp(1, rect.h as usize);
        if self.label_scratch.len() < w * h {
            self.label_scratch.resize(w * h, 0);
        }
        let src = PlaneRef {
            data: &label.alpha,
            stride: label.width,
            width: label.width,
            height: label.height,
        };
        let mut dst = PlaneMut {
            data: &mut self.label_scratch[..w * h],
            stride: w,
            width: w,
            height: h,
        };
        // Non-empty planes of matching sizes: cannot fail.
        let _ = self.scaler.scale_plane(src, &mut dst);
        let x = rect.x as usize + (rect.w as usize - w) / 2;
        let y = rect.y as usize + (rect.h as usize - h) / 2;
        let alpha = PlaneRef {
            data: &self.label_scratch[..w * h],
            stride: w,
            width: w,
            height: h,
        };
        blend_text(&mut self.canvas, alpha, x, y, rect);
    }
}

/// The parts of `tile` outside `inner` (top, bottom, left, right strips).
fn bars(tile: PixelRect, inner: PixelRect) -> impl Iterator<Item = PixelRect> {
    let mid_h = inner.h;
    [
        PixelRect::new(tile.x, tile.y, tile.w, inner.y - tile.y),
        PixelRect::new(
            tile.x,
            inner.bottom(),
            tile.w,
            tile.bottom() - inner.bottom(),
        ),
        PixelRect::new(tile.x, inner.y, inner.x - tile.x, mid_h),
        PixelRect::new(inner.right(), inner.y, tile.right() - inner.right(), mid_h),
    ]
    .into_iter()
    .filter(|r| !r.is_empty())
}

/// Where a picture goes inside its tile, and which part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureGeometry {
    /// The part of the source frame shown.
    pub crop: PixelRect,
    /// Where it lands on the canvas (inside the tile).
    pub dst: PixelRect,
}

/// Scale ratios (source : destination) the scaler has exact kernels for.
const EXACT_RATIOS: [(u32, u32); 6] = [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (4, 3)];
/// Most pixels a picture is narrowed by, per axis, to land on an exact ratio.
const SNAP_SLACK: u32 = 4;

/// Fit (letterbox, centred) or fill (centre crop) a `src_w × src_h` picture
/// into `tile`. All rectangles are aligned to even pixels.
///
/// When the picture is within [`SNAP_SLACK`] pixels (per axis) of a ratio the
/// scaler has an exact kernel for, it is narrowed to that ratio and centred:
/// a 3×3 grid on 1280×720 has tiles 426 and 428 pixels wide, and a 720p
/// source fills the 428-wide ones at exactly 3:1 with a 2-pixel bar rather
/// than through the generic (slower) filter. The source region moves by at
/// most 1 % from what fit or fill asked for, so nothing visible is lost.
pub fn picture_geometry(src_w: u32, src_h: u32, tile: PixelRect, fit: FitMode) -> PictureGeometry {
    let g = fit_or_fill(src_w, src_h, tile, fit);
    snap_to_exact_ratio(src_w, src_h, g)
}

fn snap_to_exact_ratio(src_w: u32, src_h: u32, g: PictureGeometry) -> PictureGeometry {
    if g.dst.is_empty() || g.crop.is_empty() {
        return g;
    }
    let close = |a: u32, b: u32| a.abs_diff(b) * 100 <= b;
    for (num, den) in EXACT_RATIOS {
        // The largest even picture the source can feed at this ratio.
        let w = ((src_w * den / num) & !1).min(g.dst.w);
        let h = ((src_h * den / num) & !1).min(g.dst.h);
        if w == 0 || h == 0 || g.dst.w - w > SNAP_SLACK || g.dst.h - h > SNAP_SLACK {
            continue;
        }
        // The source region feeding it, even-sized, centred where fit/fill put it.
        let cw = ((w * num).div_ceil(den).div_ceil(2) * 2).min(src_w);
        let ch = ((h * num).div_ceil(den).div_ceil(2) * 2).min(src_h);
        if !close(cw, g.crop.w) || !close(ch, g.crop.h) {
            continue;
        }
        let centre = |start: u32, len: u32, new: u32, limit: u32| {
            ((start + len / 2).saturating_sub(new / 2).min(limit - new)) & !1
        };
        return PictureGeometry {
            crop: PixelRect::new(
                centre(g.crop.x, g.crop.w, cw, src_w),
                centre(g.crop.y, g.crop.h, ch, src_h),
                cw,
                ch,
            ),
            dst: PixelRect::new(
                g.dst.x + (((g.dst.w - w) / 2) & !1),
                g.dst.y + (((g.dst.h - h) / 2) & !1),
                w,
                h,
            ),
        };
    }
    g
}

fn fit_or_fill(src_w: u32, src_h: u32, tile: PixelRect, fit: FitMode) -> PictureGeometry {
    let full = PixelRect::new(0, 0, src_w, src_h);
    if src_w == 0 || src_h == 0 || tile.is_empty() {
        return PictureGeometry {
            crop: full,
            dst: PixelRect::default(),
        };
    }
    let (sw, sh, tw, th) = (src_w as u64, src_h as u64, tile.w as u64, tile.h as u64);
    // Rounded to the nearest even number, at least 2.
    let even = |num: u64, den: u64| -> u32 { (((num + den) / (2 * den)) * 2).max(2) as u32 };
    let source_wider = sw * th > sh * tw;
    match fit {
        FitMode::Fit => {
            let (w, h) = if source_wider {
                (tile.w, even(tw * sh, sw).min(tile.h))
            } else {
                (even(th * sw, sh).min(tile.w), tile.h)
            };
            let x = tile.x + (((tile.w - w) / 2) & !1);
            let y = tile.y + (((tile.h - h) / 2) & !1);
            PictureGeometry {
                crop: full,
                dst: PixelRect::new(x, y, w, h),
            }
        }
        FitMode::Fill => {
            let (w, h) = if source_wider {
                (even(sh * tw, th).min(src_w), src_h)
            } else {
                (src_w, even(sw * th, tw).min(src_h))
            };
            let x = ((src_w - w) / 2) & !1;
            let y = ((src_h - h) / 2) & !1;
            PictureGeometry {
                crop: PixelRect::new(x, y, w, h),
                dst: tile,
            }
        }
    }
}

/// Blends white text with coverage `alpha` at canvas `(x, y)`, clipped to `clip`.
fn blend_text(canvas: &mut I420Frame, alpha: PlaneRef<'_>, x: usize, y: usize, clip: PixelRect) {
    let x1 = (x + alpha.width).min(clip.right() as usize);
    let y1 = (y + alpha.height).min(clip.bottom() as usize);
    if x >= x1 || y >= y1 {
        return;
    }
    let mut luma = canvas.plane_mut(0);
    for row in y..y1 {
        let a = &alpha.row(row - y)[..x1 - x];
        let dst = &mut luma.row_mut(row)[x..x1];
        for (d, &a) in dst.iter_mut().zip(a) {
            let (d0, a) = (*d as u32, a as u32);
            *d = ((d0 * (255 - a) + LABEL_TEXT_Y as u32 * a + 127) / 255) as u8;
        }
    }
}

/// A semi-transparent dark box with the label, at the tile's bottom-left.
fn draw_corner_label(canvas: &mut I420Frame, label: &LabelBitmap, tile: PixelRect) {
    if label.width == 0 || label.height == 0 || label.alpha.len() < label.width * label.height {
        return;
    }
    let pad = ((tile.h / 90).max(2) + 1) & !1;
    let margin = ((tile.h / 40).max(2) + 1) & !1;
    let box_w = ((label.width as u32 + 2 * pad + 1) & !1).min(tile.w.saturating_sub(margin));
    let box_h = ((label.height as u32 + 2 * pad + 1) & !1).min(tile.h.saturating_sub(margin));
    if box_w == 0 || box_h == 0 {
        return;
    }
    let bx = tile.x + margin.min(tile.w - box_w);
    let by = tile.bottom() - box_h - margin.min(tile.h - box_h);
    let r = PixelRect::new(bx, by, box_w, box_h);
    let blend = |v: u8, to: u8| -> u8 {
        ((v as u32 * (256 - LABEL_BOX_ALPHA) + to as u32 * LABEL_BOX_ALPHA + 128) >> 8) as u8
    };
    for (i, mut p) in canvas.planes_mut().into_iter().enumerate() {
        let (d, to) = if i == 0 { (1, LABEL_BOX_Y) } else { (2, 128) };
        let mut s = p.sub_mut(
            (r.x / d) as usize,
            (r.y / d) as usize,
            (r.w / d) as usize,
            (r.h / d) as usize,
        );
        for row in 0..s.height {
            for v in s.row_mut(row) {
                *v = blend(*v, to);
            }
        }
    }
    let alpha = PlaneRef {
        data: &label.alpha,
        stride: label.width,
        width: label.width,
        height: label.height,
    };
    blend_text(
        canvas,
        alpha,
        (bx + pad) as usize,
        (by + pad) as usize,
        PixelRect::new(bx, by, box_w, box_h),
    );
}

/// Border thickness for a tile: about 1/80 of its smaller side, even, ≥ 2.
pub fn border_width(tile: PixelRect) -> u32 {
    ((tile.w.min(tile.h) / 80).max(2) + 1) & !1
}

fn draw_border(canvas: &mut I420Frame, tile: PixelRect) {
    let b = border_width(tile).min(tile.w / 2).min(tile.h / 2);
    let (x, y, w, h) = (tile.x, tile.y, tile.w, tile.h);
    canvas.fill_rect(PixelRect::new(x, y, w, b), HIGHLIGHT);
    canvas.fill_rect(PixelRect::new(x, y + h - b, w, b), HIGHLIGHT);
    canvas.fill_rect(PixelRect::new(x, y, b, h), HIGHLIGHT);
    canvas.fill_rect(PixelRect::new(x + w - b, y, b, h), HIGHLIGHT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_letterboxes_a_wide_source_and_fill_crops_it() {
        let tile = PixelRect::new(100, 50, 400, 400);
        let g = picture_geometry(1280, 720, tile, FitMode::Fit);
        assert_eq!(g.dst, PixelRect::new(100, 50 + 86, 400, 226));
        assert_eq!(g.crop, PixelRect::new(0, 0, 1280, 720));
        let g = picture_geometry(1280, 720, tile, FitMode::Fill);
        assert_eq!(g.dst, tile);
        assert_eq!(g.crop, PixelRect::new(280, 0, 720, 720));
    }

    #[test]
    fn near_exact_ratios_snap_to_the_exact_kernel_with_thin_bars() {
        // 3x3 grid on 720p: the middle column is 428 wide.
        let tile = PixelRect::new(426, 240, 428, 240);
        for fit in [FitMode::Fit, FitMode::Fill] {
            let g = picture_geometry(1280, 720, tile, fit);
            assert_eq!((g.dst.w, g.dst.h), (426, 240), "{fit:?}");
            assert_eq!((g.crop.w, g.crop.h), (1278, 720), "{fit:?}");
            assert!(tile.w - g.dst.w <= SNAP_SLACK);
            let plan = crate::scale::ScalePlan::new(1278, 720, 426, 240);
            assert_eq!(plan.kernel, crate::scale::Kernel::Down3);
        }
        // 360p sources into the same tile: 3:2.
        let g = picture_geometry(640, 360, tile, FitMode::Fill);
        assert_eq!((g.dst.w, g.dst.h), (426, 240));
        let plan = crate::scale::ScalePlan::new(g.crop.w as usize, g.crop.h as usize, 426, 240);
        assert_eq!(plan.kernel, crate::scale::Kernel::Down3To2);
        // Far from any exact ratio: untouched.
        let tile = PixelRect::new(0, 0, 500, 282);
        assert_eq!(picture_geometry(1280, 720, tile, FitMode::Fill).dst, tile);
        // Bars cover exactly what the picture does not.
        let inner = PixelRect::new(2, 0, 426, 240);
        let outer = PixelRect::new(0, 0, 430, 240);
        let area: u32 = bars(outer, inner).map(|b| b.w * b.h).sum();
        assert_eq!(area, 4 * 240);
    }

    #[test]
    fn geometry_is_even_aligned_for_awkward_sizes() {
        for (sw, sh) in [(640, 480), (1280, 720), (352, 288), (2, 1000)] {
            for tile in [
                PixelRect::new(2, 4, 426, 240),
                PixelRect::new(0, 0, 428, 238),
            ] {
                for fit in [FitMode::Fit, FitMode::Fill] {
                    let g = picture_geometry(sw, sh, tile, fit);
                    for r in [g.crop, g.dst] {
                        assert_eq!((r.x | r.y | r.w | r.h) & 1, 0, "{r:?}");
                    }
                    assert!(g.dst.x >= tile.x && g.dst.right() <= tile.right());
                    assert!(g.dst.y >= tile.y && g.dst.bottom() <= tile.bottom());
                    assert!(g.crop.right() <= sw && g.crop.bottom() <= sh);
                }
            }
        }
    }

    #[test]
    fn placeholder_label_is_centred_and_bright() {
        let mut c = Compositor::new(320, 180).unwrap();
        let label = Arc::new(LabelBitmap {
            width: 20,
            height: 8,
            alpha: vec![255; 160],
        });
        let tile = TileInput {
            rect: PixelRect::new(0, 0, 320, 180),
            z: 0,
            fit: FitMode::Fit,
            content: TileContent::Placeholder {
                source: ParticipantId(1),
            },
            label: Some(label),
            highlight: false,
        };
        c.compose(&[tile]);
        let centre = c.canvas().pixel(160, 90);
        assert!(centre.y > 200, "{centre:?}");
        let corner = c.canvas().mean_colour(PixelRect::new(4, 4, 8, 8));
        assert_eq!(corner, PLACEHOLDER);
    }

    #[test]
    fn corner_label_and_highlight_are_drawn_inside_the_tile() {
        let src = I420Frame::solid(64, 36, Yuv::from_rgb(0, 160, 0)).unwrap();
        let mut c = Compositor::new(256, 144).unwrap();
        let label = Arc::new(LabelBitmap {
            width: 30,
            height: 10,
            alpha: vec![255; 300],
        });
        let tile = PixelRect::new(64, 36, 128, 72);
        c.compose(&[TileInput {
            rect: tile,
            z: 0,
            fit: FitMode::Fill,
            content: TileContent::Picture {
                source: ParticipantId(1),
                generation: 1,
                frame: &src,
            },
            label: Some(label),
            highlight: true,
        }]);
        let canvas = c.canvas();
        // Border on the top edge, background outside the tile.
        assert_eq!(canvas.pixel(100, 36), HIGHLIGHT);
        assert_eq!(canvas.pixel(100, 34), BACKGROUND);
        // Text is white-ish near the bottom-left; the picture's middle is untouched.
        let b = border_width(tile);
        let text_row = tile.bottom() - b - 6;
        let bright = (tile.x..tile.x + 40).any(|x| canvas.pixel(x, text_row).y > 200);
        assert!(bright);
        assert!(canvas.pixel(128, 60).distance(Yuv::from_rgb(0, 160, 0)) <= 1);
    }
}
