//! Layouts: named templates of tiles in normalised coordinates, custom layouts
//! from TOML, and slot filling by priority.
//!
//! A [`Layout`] is a list of [`Tile`]s, each a rectangle in `0.0..=1.0`
//! coordinates of the canvas with a z-order and a [`TileRole`]. Templates:
//! `1x1`, `2x2`, `3x3`, `4x4`, `1+5`, `1+7`, `1+12`, `2+8`, `speaker+pip`.
//! Custom layouts come from TOML files (see `config/layouts/`):
//!
//! ```toml
//! name = "2+1-doan-chu-toa"
//! fit = "fill"                 # or "fit" (letterbox, the default)
//! [[tile]]
//! x = 0.0
//! y = 0.0
//! w = 0.5
//! h = 1.0
//! role = "chair"               # main | side | chair | pip
//! ```
//!
//! Slot filling ([`assign_slots`]) puts participants into tiles by priority:
//! pinned by the operator > chair (into a `chair` tile if the layout has one) >
//! active speaker > recent speakers > join order. Tiles are offered best first:
//! `main`, then `chair`, then `side`, then `pip`, each in listed order.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ParticipantId;
use crate::frame::PixelRect;

/// How a source picture is placed in a tile whose aspect differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FitMode {
    /// Letterbox: the whole picture is shown, bars fill the rest of the tile.
    #[default]
    Fit,
    /// Crop: the tile is filled, the picture's overflowing edges are cut.
    Fill,
}

/// What a tile is for; decides the order in which tiles are filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileRole {
    /// The big tile: the active speaker goes here first.
    Main,
    /// The chair's own tile, if the layout reserves one.
    Chair,
    /// An ordinary tile.
    #[default]
    Side,
    /// A picture-in-picture inset drawn over another tile.
    Pip,
}

impl TileRole {
    fn fill_rank(self) -> u8 {
        match self {
            TileRole::Main => 0,
            TileRole::Chair => 1,
            TileRole::Side => 2,
            TileRole::Pip => 3,
        }
    }
}

/// One tile: a rectangle in normalised canvas coordinates (`0.0..=1.0`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tile {
    /// Left edge, fraction of the canvas width.
    pub x: f32,
    /// Top edge, fraction of the canvas height.
    pub y: f32,
    /// Width, fraction of the canvas width.
    pub w: f32,
    /// Height, fraction of the canvas height.
    pub h: f32,
    /// Drawing order: higher is drawn later (on top).
    #[serde(default)]
    pub z: i32,
    /// What the tile is for.
    #[serde(default)]
    pub role: TileRole,
}

impl Tile {
    const fn new(x: f32, y: f32, w: f32, h: f32, role: TileRole) -> Self {
        Self {
            x,
            y,
            w,
            h,
            z: 0,
            role,
        }
    }

    /// The tile on a canvas of `width`×`height` pixels: edges rounded to even
    /// pixels, so neighbouring tiles share their edge exactly and chroma
    /// (subsampled 2×2) lines up.
    pub fn to_pixels(&self, width: u32, height: u32) -> PixelRect {
        let snap = |v: f32, size: u32| -> u32 {
            let px = (v.clamp(0.0, 1.0) * size as f32 / 2.0).round() as u32 * 2;
            px.min(size & !1)
        };
        let x0 = snap(self.x, width);
        let y0 = snap(self.y, height);
        let x1 = snap(self.x + self.w, width);
        let y1 = snap(self.y + self.h, height);
        PixelRect::new(x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }

    fn overlaps(&self, o: &Tile) -> bool {
        const EPS: f32 = 1e-4;
        self.x + EPS < o.x + o.w
            && o.x + EPS < self.x + self.w
            && self.y + EPS < o.y + o.h
            && o.y + EPS < self.y + self.h
    }
}

/// Why a layout was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The TOML did not parse or has the wrong shape.
    #[error("layout TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// No tiles, or too many.
    #[error("layout {name:?} has {count} tiles; 1 to {max} are allowed")]
    TileCount {
        /// Layout name.
        name: String,
        /// Tiles given.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// A tile lies (partly) outside the canvas or has no area.
    #[error("layout {name:?} tile {index} is outside the canvas or empty")]
    TileOutside {
        /// Layout name.
        name: String,
        /// Zero-based tile index.
        index: usize,
    },
    /// Two tiles overlap on the same z level without being marked as a PiP.
    #[error(
        "layout {name:?} tiles {a} and {b} overlap; give the inset role \"pip\" and a higher z"
    )]
    Overlap {
        /// Layout name.
        name: String,
        /// First tile index.
        a: usize,
        /// Second tile index.
        b: usize,
    },
    /// The name is empty or not a plain identifier.
    #[error("layout name {0:?} must be 1-64 characters of letters, digits, '+', '-', '_'")]
    BadName(String),
    /// A layout file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Two files define the same layout name.
    #[error("layout {0:?} is defined twice")]
    Duplicate(String),
}

/// The most tiles one layout may have.
pub const MAX_TILES: usize = 25;

/// A named arrangement of tiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Name operators pick it by, e.g. `3x3`.
    pub name: String,
    /// Fit (letterbox) or fill (crop) for every tile of this layout.
    #[serde(default)]
    pub fit: FitMode,
    /// The tiles.
    #[serde(rename = "tile")]
    pub tiles: Vec<Tile>,
}

/// Names of the built-in templates.
pub const TEMPLATE_NAMES: [&str; 9] = [
    "1x1",
    "2x2",
    "3x3",
    "4x4",
    "1+5",
    "1+7",
    "1+12",
    "2+8",
    "speaker+pip",
];

fn grid(n: u32) -> Vec<Tile> {
    let s = 1.0 / n as f32;
    (0..n * n)
        .map(|i| {
            let (r, c) = (i / n, i % n);
            Tile::new(c as f32 * s, r as f32 * s, s, s, TileRole::Side)
        })
        .collect()
}

/// One big tile of `big`×`big` cells at the top-left of an `n`×`n` grid, the
/// remaining cells of the right column(s) and bottom row(s) as small tiles.
fn one_plus(n: u32, big: u32) -> Vec<Tile> {
    let s = 1.0 / n as f32;
    let mut tiles = vec![Tile::new(
        0.0,
        0.0,
        s * big as f32,
        s * big as f32,
        TileRole::Main,
    )];
    for r in 0..n {
        for c in 0..n {
            if r < big && c < big {
                continue;
            }
            tiles.push(Tile::new(c as f32 * s, r as f32 * s, s, s, TileRole::Side));
        }
    }
    tiles
}

impl Layout {
    /// A built-in template by name (see [`TEMPLATE_NAMES`]).
    pub fn template(name: &str) -> Option<Layout> {
        let q = 0.25;
        let tiles = match name {
            "1x1" => vec![Tile::new(0.0, 0.0, 1.0, 1.0, TileRole::Main)],
            "2x2" => grid(2),
            "3x3" => grid(3),
            "4x4" => grid(4),
            "1+5" => one_plus(3, 2),
            "1+7" => one_plus(4, 3),
            "1+12" => {
                // A 4×4 grid with a 2×2 main tile in the centre.
                let mut t = vec![Tile::new(q, q, 2.0 * q, 2.0 * q, TileRole::Main)];
                for r in 0..4 {
                    for c in 0..4 {
                        if (1..3).contains(&r) && (1..3).contains(&c) {
                            continue;
                        }
                        t.push(Tile::new(c as f32 * q, r as f32 * q, q, q, TileRole::Side));
                    }
                }
                t
            }
            "2+8" => {
                // Two big tiles across the middle half, four small above and below.
                let mut t = vec![
                    Tile::new(0.0, q, 0.5, 0.5, TileRole::Main),
                    Tile::new(0.5, q, 0.5, 0.5, TileRole::Main),
                ];
                for row in [0.0, 3.0 * q] {
                    for c in 0..4 {
                        t.push(Tile::new(c as f32 * q, row, q, q, TileRole::Side));
                    }
                }
                t
            }
            "speaker+pip" => vec![
                Tile::new(0.0, 0.0, 1.0, 1.0, TileRole::Main),
                Tile {
                    z: 1,
                    ..Tile::new(0.72, 0.72, 0.25, 0.25, TileRole::Pip)
                },
            ],
            _ => return None,
        };
        let fit = if name == "1x1" || name == "speaker+pip" {
            FitMode::Fit
        } else {
            FitMode::Fill
        };
        Some(Layout {
            name: name.to_owned(),
            fit,
            tiles,
        })
    }

    /// Parses and validates a custom layout.
    pub fn from_toml(text: &str) -> Result<Layout, LayoutError> {
        let layout: Layout = toml::from_str(text)?;
        layout.validate()?;
        Ok(layout)
    }

    /// Checks the name, the tile count, that every tile is inside the canvas,
    /// and that tiles overlap only where one is a higher-z `pip` inset.
    pub fn validate(&self) -> Result<(), LayoutError> {
        let name_ok = !self.name.is_empty()
            && self.name.chars().count() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '+' | '-' | '_'));
        if !name_ok {
            return Err(LayoutError::BadName(self.name.clone()));
        }
        if self.tiles.is_empty() || self.tiles.len() > MAX_TILES {
            return Err(LayoutError::TileCount {
                name: self.name.clone(),
                count: self.tiles.len(),
                max: MAX_TILES,
            });
        }
        const EPS: f32 = 1e-4;
        for (i, t) in self.tiles.iter().enumerate() {
            let finite = [t.x, t.y, t.w, t.h].iter().all(|v| v.is_finite());
            if !finite
                || t.w <= 0.0
                || t.h <= 0.0
                || t.x < -EPS
                || t.y < -EPS
                || t.x + t.w > 1.0 + EPS
                || t.y + t.h > 1.0 + EPS
            {
                return Err(LayoutError::TileOutside {
                    name: self.name.clone(),
                    index: i,
                });
            }
        }
        for a in 0..self.tiles.len() {
            for b in a + 1..self.tiles.len() {
                let (ta, tb) = (&self.tiles[a], &self.tiles[b]);
                if !ta.overlaps(tb) {
                    continue;
                }
                let inset_on_top = (ta.role == TileRole::Pip && ta.z > tb.z)
                    || (tb.role == TileRole::Pip && tb.z > ta.z);
                if !inset_on_top {
                    return Err(LayoutError::Overlap {
                        name: self.name.clone(),
                        a,
                        b,
                    });
                }
            }
        }
        Ok(())
    }

    /// The tiles in pixels on a `width`×`height` canvas, in tile order.
    pub fn pixel_rects(&self, width: u32, height: u32) -> Vec<PixelRect> {
        self.tiles
            .iter()
            .map(|t| t.to_pixels(width, height))
            .collect()
    }

    /// Tile indices in the order slots are offered: by role, then as listed.
    pub fn fill_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.tiles.len()).collect();
        order.sort_by_key(|&i| self.tiles[i].role.fill_rank());
        order
    }
}

/// The built-in templates plus custom layouts, by name.
#[derive(Clone, Debug)]
pub struct LayoutLibrary {
    layouts: BTreeMap<String, Layout>,
}

impl Default for LayoutLibrary {
    fn default() -> Self {
        Self::with_templates()
    }
}

impl LayoutLibrary {
    /// A library holding the built-in templates.
    pub fn with_templates() -> Self {
        let layouts = TEMPLATE_NAMES
            .iter()
            .filter_map(|n| Layout::template(n))
            .map(|l| (l.name.clone(), l))
            .collect();
        Self { layouts }
    }

    /// Adds (or replaces) a validated layout.
    pub fn insert(&mut self, layout: Layout) -> Result<(), LayoutError> {
        layout.validate()?;
        self.layouts.insert(layout.name.clone(), layout);
        Ok(())
    }

    /// Loads every `*.toml` file of a directory as a custom layout. A custom
    /// layout may replace a template of the same name; two files may not
    /// define the same name. Returns the names loaded.
    pub fn load_dir(&mut self, dir: &Path) -> Result<Vec<String>, LayoutError> {
        let io = |path: &Path, source| LayoutError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut loaded = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            let layout = Layout::from_toml(&text)?;
            if loaded.contains(&layout.name) {
                return Err(LayoutError::Duplicate(layout.name));
            }
            loaded.push(layout.name.clone());
            self.layouts.insert(layout.name.clone(), layout);
        }
        Ok(loaded)
    }

    /// The layout of that name.
    pub fn get(&self, name: &str) -> Option<&Layout> {
        self.layouts.get(name)
    }

    /// Every layout name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.layouts.keys().map(String::as_str)
    }
}

/// Who should be seen, for [`assign_slots`].
#[derive(Clone, Debug, Default)]
pub struct SlotInputs<'a> {
    /// Operator pins: tile index → participant. Highest priority.
    pub pinned: &'a [(usize, ParticipantId)],
    /// The chair endpoint, if it is connected.
    pub chair: Option<ParticipantId>,
    /// The current active speaker.
    pub active_speaker: Option<ParticipantId>,
    /// Recent speakers, most recent first.
    pub recent_speakers: &'a [ParticipantId],
    /// Every participant that may be shown, in join order. Only these are placed.
    pub join_order: &'a [ParticipantId],
    /// The previous assignment (per tile), to keep people where they were.
    pub previous: &'a [Option<ParticipantId>],
}

/// Fills the layout's tiles: returns, per tile, the participant shown there.
///
/// Who is shown, highest priority first: pinned by the operator, the chair
/// (in its `chair` tile if the layout has one, else right after the active
/// speaker), the active speaker, recent speakers, then join order.
///
/// Where: pins and the chair tile are fixed; the active speaker takes the
/// first `main` tile; everyone else shown keeps the tile it had in `previous`
/// when that tile is still free (so a change of speaker does not reshuffle
/// the screen); the rest fill free tiles in [`Layout::fill_order`], unused
/// `chair` tiles last. Nobody appears twice; participants not in `join_order`
/// are never placed; leftover tiles stay empty.
pub fn assign_slots(layout: &Layout, inputs: &SlotInputs<'_>) -> Vec<Option<ParticipantId>> {
    let tiles = &layout.tiles;
    let mut slots: Vec<Option<ParticipantId>> = vec![None; tiles.len()];
    let present = |p: &ParticipantId| inputs.join_order.contains(p);
    let mut placed: Vec<ParticipantId> = Vec::with_capacity(slots.len());

    for &(tile, p) in inputs.pinned {
        if tile < slots.len() && slots[tile].is_none() && present(&p) && !placed.contains(&p) {
            slots[tile] = Some(p);
            placed.push(p);
        }
    }

    let mut chair_later = None;
    if let Some(chair) = inputs.chair.filter(|c| present(c) && !placed.contains(c)) {
        match (0..tiles.len()).find(|&i| tiles[i].role == TileRole::Chair && slots[i].is_none()) {
            Some(i) => {
                slots[i] = Some(chair);
                placed.push(chair);
            }
            None => chair_later = Some(chair),
        }
    }

    // Who: the highest-priority candidates that fit in the free tiles.
    let mut capacity = slots.iter().filter(|s| s.is_none()).count();
    let mut chosen: Vec<ParticipantId> = Vec::with_capacity(capacity);
    let candidates = inputs
        .active_speaker
        .iter()
        .chain(chair_later.iter())
        .chain(inputs.recent_speakers.iter())
        .chain(inputs.join_order.iter());
    for &p in candidates {
        if capacity == 0 {
            break;
        }
        if present(&p) && !placed.contains(&p) && !chosen.contains(&p) {
            chosen.push(p);
            capacity -= 1;
        }
    }

    // Where: the speaker into a main tile, the others where they were.
    if let Some(speaker) = inputs.active_speaker.filter(|s| chosen.contains(s)) {
        let was = inputs.previous.iter().position(|&s| s == Some(speaker));
        let main = was
            .filter(|&i| i < tiles.len() && tiles[i].role == TileRole::Main && slots[i].is_none())
            .or_else(|| {
                (0..tiles.len()).find(|&i| tiles[i].role == TileRole::Main && slots[i].is_none())
            });
        if let Some(i) = main {
            place(&mut slots, &mut chosen, i, speaker);
        }
    }
    for (i, prev) in inputs.previous.iter().enumerate().take(tiles.len()) {
        if let Some(p) = *prev
            && slots[i].is_none()
            && tiles[i].role != TileRole::Chair
            && chosen.contains(&p)
        {
            place(&mut slots, &mut chosen, i, p);
        }
    }
    let free: Vec<usize> = layout
        .fill_order()
        .into_iter()
        .filter(|&i| tiles[i].role != TileRole::Chair)
        .chain((0..tiles.len()).filter(|&i| tiles[i].role == TileRole::Chair))
        .filter(|&i| slots[i].is_none())
        .collect();
    for (tile, p) in free.into_iter().zip(chosen) {
        slots[tile] = Some(p);
    }
    slots
}

fn place(
    slots: &mut [Option<ParticipantId>],
    chosen: &mut Vec<ParticipantId>,
    tile: usize,
    p: ParticipantId,
) {
    slots[tile] = Some(p);
    chosen.retain(|&c| c != p);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> Vec<ParticipantId> {
        (1..=n).map(ParticipantId).collect()
    }

    #[test]
    fn every_template_is_valid_and_tiles_the_canvas() {
        for name in TEMPLATE_NAMES {
            let l = Layout::template(name).unwrap();
            l.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            for (w, h) in [(1280, 720), (1920, 1080), (640, 360), (854, 480)] {
                for r in l.pixel_rects(w, h) {
                    assert!(
                        r.right() <= w && r.bottom() <= h,
                        "{name} {r:?} outside {w}x{h}"
                    );
                    assert!(!r.is_empty(), "{name} empty tile");
                    assert_eq!(
                        (r.x % 2, r.y % 2, r.w % 2, r.h % 2),
                        (0, 0, 0, 0),
                        "{name} odd"
                    );
                }
            }
        }
    }

    #[test]
    fn grid_templates_cover_every_pixel_exactly_once() {
        for name in ["1x1", "2x2", "3x3", "4x4", "1+5", "1+7", "1+12", "2+8"] {
            let l = Layout::template(name).unwrap();
            let (w, h) = (1280u32, 720u32);
            let mut cover = vec![0u8; (w * h) as usize];
            for r in l.pixel_rects(w, h) {
                for y in r.y..r.bottom() {
                    for x in r.x..r.right() {
                        cover[(y * w + x) as usize] += 1;
                    }
                }
            }
            assert!(cover.iter().all(|&c| c == 1), "{name}: gaps or overlaps");
        }
    }

    #[test]
    fn tile_counts_match_names() {
        let count = |n: &str| Layout::template(n).unwrap().tiles.len();
        assert_eq!(count("1x1"), 1);
        assert_eq!(count("2x2"), 4);
        assert_eq!(count("3x3"), 9);
        assert_eq!(count("4x4"), 16);
        assert_eq!(count("1+5"), 6);
        assert_eq!(count("1+7"), 8);
        assert_eq!(count("1+12"), 13);
        assert_eq!(count("2+8"), 10);
        assert_eq!(count("speaker+pip"), 2);
        assert!(Layout::template("5x5").is_none());
    }

    #[test]
    fn pip_overlaps_only_as_inset_on_top() {
        let l = Layout::template("speaker+pip").unwrap();
        let r = l.pixel_rects(1280, 720);
        assert!(r[0].intersects(&r[1]));
        assert!(l.tiles[1].z > l.tiles[0].z);
        let mut bad = l.clone();
        bad.tiles[1].role = TileRole::Side;
        assert!(matches!(bad.validate(), Err(LayoutError::Overlap { .. })));
    }

    #[test]
    fn custom_layout_from_toml() {
        let text = r#"
            name = "2-chu-toa"
            fit = "fit"
            [[tile]]
            x = 0.0
            y = 0.0
            w = 0.5
            h = 1.0
            role = "chair"
            [[tile]]
            x = 0.5
            y = 0.0
            w = 0.5
            h = 1.0
            role = "main"
        "#;
        let l = Layout::from_toml(text).unwrap();
        assert_eq!(l.fit, FitMode::Fit);
        assert_eq!(
            l.pixel_rects(1280, 720)[1],
            PixelRect::new(640, 0, 640, 720)
        );
    }

    #[test]
    fn bad_custom_layouts_are_refused_with_a_reason() {
        let outside = "name = \"x\"\n[[tile]]\nx = 0.6\ny = 0.0\nw = 0.5\nh = 1.0\n";
        assert!(matches!(
            Layout::from_toml(outside),
            Err(LayoutError::TileOutside { .. })
        ));
        let nan = "name = \"x\"\n[[tile]]\nx = nan\ny = 0.0\nw = 0.5\nh = 1.0\n";
        assert!(matches!(
            Layout::from_toml(nan),
            Err(LayoutError::TileOutside { .. })
        ));
        let none = "name = \"x\"\ntile = []\n";
        assert!(matches!(
            Layout::from_toml(none),
            Err(LayoutError::TileCount { .. })
        ));
        let name = "name = \"a b\"\n[[tile]]\nx = 0.0\ny = 0.0\nw = 1.0\nh = 1.0\n";
        assert!(matches!(
            Layout::from_toml(name),
            Err(LayoutError::BadName(_))
        ));
        assert!(matches!(
            Layout::from_toml("name = 3"),
            Err(LayoutError::Toml(_))
        ));
    }

    #[test]
    fn slots_follow_join_order_main_first() {
        let l = Layout::template("1+5").unwrap();
        let p = ids(3);
        let s = assign_slots(
            &l,
            &SlotInputs {
                join_order: &p,
                ..Default::default()
            },
        );
        assert_eq!(&s[..4], &[Some(p[0]), Some(p[1]), Some(p[2]), None]);
    }

    #[test]
    fn slot_priority_pinned_then_chair_then_speaker_then_recent_then_join() {
        let l = Layout::template("2x2").unwrap();
        let p = ids(8);
        let pinned = [(3, p[7])];
        let recent = [p[5], p[4]];
        let s = assign_slots(
            &l,
            &SlotInputs {
                pinned: &pinned,
                chair: Some(p[6]),
                active_speaker: Some(p[2]),
                recent_speakers: &recent,
                join_order: &p,
                previous: &[],
            },
        );
        // Speaker takes the first free tile, the chair the next, then recent.
        assert_eq!(s, vec![Some(p[2]), Some(p[6]), Some(p[5]), Some(p[7])]);
    }

    #[test]
    fn chair_goes_to_its_reserved_tile() {
        let mut l = Layout::template("1+5").unwrap();
        l.tiles[5].role = TileRole::Chair;
        let p = ids(6);
        let s = assign_slots(
            &l,
            &SlotInputs {
                chair: Some(p[3]),
                active_speaker: Some(p[1]),
                join_order: &p,
                ..Default::default()
            },
        );
        assert_eq!(s[5], Some(p[3]));
        assert_eq!(s[0], Some(p[1]));
        // Without a chair the chair tile is filled last, not left black.
        let s = assign_slots(
            &l,
            &SlotInputs {
                join_order: &p,
                ..Default::default()
            },
        );
        assert_eq!(s[5], Some(p[5]));
    }

    #[test]
    fn a_new_speaker_does_not_reshuffle_the_grid() {
        let l = Layout::template("3x3").unwrap();
        let p = ids(9);
        let first = assign_slots(
            &l,
            &SlotInputs {
                join_order: &p,
                ..Default::default()
            },
        );
        let recent = [p[6], p[2]];
        let again = assign_slots(
            &l,
            &SlotInputs {
                active_speaker: Some(p[7]),
                recent_speakers: &recent,
                join_order: &p,
                previous: &first,
                ..Default::default()
            },
        );
        assert_eq!(again, first, "everyone fits: nobody moves");
    }

    #[test]
    fn a_new_speaker_takes_the_main_tile_and_the_others_stay() {
        let l = Layout::template("1+5").unwrap();
        let p = ids(6);
        let before = assign_slots(
            &l,
            &SlotInputs {
                active_speaker: Some(p[0]),
                join_order: &p,
                ..Default::default()
            },
        );
        assert_eq!(before[0], Some(p[0]));
        let after = assign_slots(
            &l,
            &SlotInputs {
                active_speaker: Some(p[4]),
                recent_speakers: &[p[0]],
                join_order: &p,
                previous: &before,
                ..Default::default()
            },
        );
        assert_eq!(after[0], Some(p[4]));
        let old_tile_of_new_speaker = before.iter().position(|&s| s == Some(p[4])).unwrap();
        assert_eq!(
            after[old_tile_of_new_speaker],
            Some(p[0]),
            "the old speaker takes the freed tile"
        );
        for i in 1..6 {
            if i != old_tile_of_new_speaker {
                assert_eq!(after[i], before[i], "tile {i} unchanged");
            }
        }
    }

    #[test]
    fn when_the_layout_is_full_the_lowest_priority_leaves() {
        let l = Layout::template("2x2").unwrap();
        let p = ids(5);
        let before = assign_slots(
            &l,
            &SlotInputs {
                join_order: &p,
                ..Default::default()
            },
        );
        assert!(!before.contains(&Some(p[4])));
        let after = assign_slots(
            &l,
            &SlotInputs {
                active_speaker: Some(p[4]),
                join_order: &p,
                previous: &before,
                ..Default::default()
            },
        );
        assert!(after.contains(&Some(p[4])), "the speaker is brought in");
        assert!(!after.contains(&Some(p[3])), "the last joiner makes room");
        for i in 0..3 {
            assert_eq!(after[i], before[i]);
        }
    }

    #[test]
    fn absent_participants_and_duplicates_are_not_placed() {
        let l = Layout::template("3x3").unwrap();
        let p = ids(2);
        let ghost = ParticipantId(99);
        let pinned = [(0, ghost), (1, p[0]), (2, p[0])];
        let s = assign_slots(
            &l,
            &SlotInputs {
                pinned: &pinned,
                active_speaker: Some(ghost),
                recent_speakers: &[ghost, p[1]],
                join_order: &p,
                ..Default::default()
            },
        );
        let shown: Vec<_> = s.iter().flatten().collect();
        assert_eq!(shown, vec![&p[1], &p[0]]);
        assert_eq!(s[1], Some(p[0]));
    }

    #[test]
    fn library_loads_custom_dir_and_refuses_duplicates() {
        let dir = std::env::temp_dir().join(format!("mcu-layouts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let one = "name = \"doi\"\n[[tile]]\nx = 0.0\ny = 0.0\nw = 1.0\nh = 1.0\n";
        std::fs::write(dir.join("a.toml"), one).unwrap();
        let mut lib = LayoutLibrary::with_templates();
        assert_eq!(lib.load_dir(&dir).unwrap(), vec!["doi".to_string()]);
        assert!(lib.get("doi").is_some() && lib.get("3x3").is_some());
        std::fs::write(dir.join("b.toml"), one).unwrap();
        assert!(matches!(
            LayoutLibrary::with_templates().load_dir(&dir),
            Err(LayoutError::Duplicate(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
