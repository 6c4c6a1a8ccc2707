//! Endpoint name labels rendered into the picture (Vietnamese diacritics included).
//!
//! [`LabelRenderer`] turns a name such as "Ủy ban nhân dân tỉnh Tuyên Quang"
//! into a coverage bitmap ([`LabelBitmap`]) that the compositor blends into a
//! tile. The font is DejaVu Sans Condensed Bold, embedded in the binary (see
//! `docs/fonts.md` and `assets/fonts/LICENSE-DejaVu.txt`); it has every
//! precomposed Vietnamese letter.
//!
//! Text is normalised to NFC first, so names that arrive decomposed (base
//! letter + combining marks, as some endpoints and keyboards send them) use the
//! same precomposed glyphs. A character the font lacks is drawn from its
//! decomposition when every part has a glyph, otherwise as U+FFFD "�";
//! [`LabelRenderer::fallback_chars`] lists such characters so callers and tests
//! can notice.
//!
//! The line box is sized so that the tallest Vietnamese letter (stacked marks
//! on a capital, e.g. "Ẫ") and the deepest one (dot below, e.g. "Ỵ") fit:
//! the bitmap is exactly `px_height` rows and the baseline is at the same row
//! for every label of that height.
//!
//! Rendering happens once per (name, size, width) and is cached; the cache is
//! bounded and evicts the least recently used label.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use fontdue::{Font, FontSettings};
use unicode_normalization::UnicodeNormalization;

/// A rendered text label: one coverage (alpha) byte per pixel, row-major.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelBitmap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Coverage 0..=255, `width * height` bytes.
    pub alpha: Vec<u8>,
}

/// The embedded font file.
static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSansCondensed-Bold.ttf");

/// Human-readable name of the embedded font.
pub const FONT_NAME: &str = "DejaVu Sans Condensed Bold";

/// Largest label height rendered; larger requests are clamped to it.
pub const MAX_PX_HEIGHT: u32 = 256;

/// Longest name laid out, in characters (after NFC); longer names are cut and
/// end with the ellipsis like any name too wide for its tile.
pub const MAX_CHARS: usize = 256;

/// Labels kept by [`LabelRenderer::new`] before the least recently used is evicted.
pub const DEFAULT_CACHE_CAPACITY: usize = 512;

/// Shown at the end of a name that does not fit.
const ELLIPSIS: char = '\u{2026}';
/// Drawn for a character the font cannot show in any form.
const REPLACEMENT: char = '\u{FFFD}';

/// Vietnamese vowels (lower case, no tone).
const VOWELS: &str = "aăâeêioôơuưy";
/// The five tone marks as combining characters: huyền, sắc, ngã, hỏi, nặng.
const TONES: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];
/// Vietnamese consonant letters (lower case).
const CONSONANTS: &str = "bcdđghklmnpqrstvx";

/// Every letter of the Vietnamese alphabet, toned vowels included, in both
/// cases, NFC.
fn vietnamese_letters() -> Vec<char> {
    let mut out = Vec::new();
    for v in VOWELS.chars() {
        out.push(v);
        for t in TONES {
            out.extend([v, t].iter().collect::<String>().nfc());
        }
    }
    out.extend(CONSONANTS.chars());
    let upper: Vec<char> = out.iter().flat_map(|c| c.to_uppercase()).collect();
    out.extend(upper);
    out
}

/// The embedded font, parsed once per process (parsing walks every outline).
fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    FONT.get_or_init(|| {
        // Invariant: the embedded file is a valid TrueType font; the unit test
        // `embedded_font_parses_and_covers_vietnamese` parses it.
        Font::from_bytes(FONT_BYTES, FontSettings::default()).expect("embedded font parses")
    })
}

/// Vertical placement of text inside a label of a given height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelMetrics {
    /// Font size in pixels per em used for this label height.
    pub em_px: f32,
    /// Row of the baseline (first row below the glyphs' bottom edge without descenders).
    pub baseline: u32,
    /// First row reached by lower-case letters without ascenders ("x").
    pub x_height_top: u32,
    /// First row reached by capitals without marks ("H").
    pub cap_top: u32,
}

/// Font-unit vertical extents, computed once.
#[derive(Clone, Copy, Debug)]
struct VerticalExtents {
    /// Highest point above the baseline (font units, positive).
    ascent: f32,
    /// Lowest point below the baseline (font units, positive).
    descent: f32,
    /// Top of "x" (font units).
    x_height: f32,
    /// Top of "H" (font units).
    cap_height: f32,
}

impl VerticalExtents {
    fn measure(font: &Font) -> Self {
        let upm = font.units_per_em();
        let (mut ascent, mut descent) = match font.horizontal_line_metrics(upm) {
            Some(m) => (m.ascent, -m.descent),
            None => (upm * 0.8, upm * 0.2),
        };
        for c in vietnamese_letters() {
            let b = font.metrics(c, upm).bounds;
            ascent = ascent.max(b.ymin + b.height);
            descent = descent.max(-b.ymin);
        }
        let top = |c: char| {
            let b = font.metrics(c, upm).bounds;
            b.ymin + b.height
        };
        Self {
            ascent,
            descent,
            x_height: top('x'),
            cap_height: top('H'),
        }
    }
}

/// One glyph placed on the label: the character drawn and its pen position.
#[derive(Clone, Copy, Debug)]
struct Placed {
    ch: char,
    /// Left edge of the glyph bitmap, in pixels from the pen origin.
    left: i32,
    /// Right edge (exclusive).
    right: i32,
}

/// A laid-out line: placed glyphs plus the pen position after each one.
struct Line {
    glyphs: Vec<Placed>,
    /// `pen_after[i]`: pen x (pixels, fractional) after glyph `i`.
    pen_after: Vec<f32>,
}

/// A cached label and its key parts besides the text.
struct CacheEntry {
    px_height: u32,
    max_width: u32,
    bitmap: Arc<LabelBitmap>,
    last_used: u64,
}

/// Renders endpoint names to coverage bitmaps with the embedded font, caching
/// the results.
pub struct LabelRenderer {
    font: &'static Font,
    extents: VerticalExtents,
    cache: HashMap<String, Vec<CacheEntry>>,
    cached: usize,
    capacity: usize,
    tick: u64,
}

impl Default for LabelRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LabelRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelRenderer")
            .field("font", &FONT_NAME)
            .field("cached", &self.cached)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl LabelRenderer {
    /// A renderer with the embedded font and a cache of
    /// [`DEFAULT_CACHE_CAPACITY`] labels.
    pub fn new() -> Self {
        Self::with_cache_capacity(DEFAULT_CACHE_CAPACITY)
    }

    /// A renderer whose cache keeps at most `capacity` labels (at least one).
    pub fn with_cache_capacity(capacity: usize) -> Self {
        let font = font();
        Self {
            font,
            extents: VerticalExtents::measure(font),
            cache: HashMap::new(),
            cached: 0,
            capacity: capacity.max(1),
            tick: 0,
        }
    }

    /// Number of labels currently cached.
    pub fn cached_len(&self) -> usize {
        self.cached
    }

    /// The label for `text`, `px_height` rows tall (clamped to
    /// [`MAX_PX_HEIGHT`]) and at most `max_width` pixels wide.
    ///
    /// Leading and trailing whitespace is trimmed and control characters
    /// become spaces. Text wider than `max_width` is cut and ends with "…";
    /// when not even "…" fits the label is empty (width 0). Results are cached
    /// by `(text, px_height, max_width)`: asking again returns the same `Arc`.
    pub fn render(&mut self, text: &str, px_height: u32, max_width: u32) -> Arc<LabelBitmap> {
        let px_height = px_height.min(MAX_PX_HEIGHT);
        self.tick += 1;
        let tick = self.tick;
        if let Some(entries) = self.cache.get_mut(text)
            && let Some(e) = entries
                .iter_mut()
                .find(|e| e.px_height == px_height && e.max_width == max_width)
        {
            e.last_used = tick;
            return Arc::clone(&e.bitmap);
        }
        let bitmap = Arc::new(self.render_uncached(text, px_height, max_width).0);
        if self.cached >= self.capacity {
            self.evict_oldest();
        }
        self.cache
            .entry(text.to_owned())
            .or_default()
            .push(CacheEntry {
                px_height,
                max_width,
                bitmap: Arc::clone(&bitmap),
                last_used: tick,
            });
        self.cached += 1;
        bitmap
    }

    /// Characters of `text` (after NFC normalisation) that the font has no
    /// glyph for: each is drawn from its decomposition when possible,
    /// otherwise as "�". Whitespace the font lacks is drawn as a plain space
    /// and not listed. Empty for every Vietnamese name.
    pub fn fallback_chars(&self, text: &str) -> Vec<char> {
        sanitize(text)
            .into_iter()
            .filter(|&c| !c.is_whitespace() && !self.font.has_glyph(c))
            .collect()
    }

    /// Where the baseline, x-height and cap height fall in a label of
    /// `px_height` rows (clamped to [`MAX_PX_HEIGHT`]).
    pub fn metrics(&self, px_height: u32) -> LabelMetrics {
        let px_height = px_height.min(MAX_PX_HEIGHT);
        let e = &self.extents;
        let upm = self.font.units_per_em();
        // One row of slack absorbs the rounding of the baseline to a whole row.
        let usable = px_height.saturating_sub(1).max(1) as f32;
        let em_px = usable * upm / (e.ascent + e.descent);
        let scale = em_px / upm;
        let baseline = (e.ascent * scale).ceil() as u32;
        let row = |h: f32| baseline.saturating_sub((h * scale).round() as u32);
        LabelMetrics {
            em_px,
            baseline,
            x_height_top: row(e.x_height),
            cap_top: row(e.cap_height),
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .cache
            .iter()
            .flat_map(|(k, v)| v.iter().enumerate().map(move |(i, e)| (e.last_used, k, i)))
            .min_by_key(|(t, _, _)| *t)
            .map(|(_, k, i)| (k.clone(), i));
        if let Some((key, i)) = oldest
            && let Some(entries) = self.cache.get_mut(&key)
        {
            entries.swap_remove(i);
            if entries.is_empty() {
                self.cache.remove(&key);
            }
            self.cached -= 1;
        }
    }

    /// Glyph characters to draw for one text character, with fallbacks.
    fn glyphs_for(&self, c: char, out: &mut Vec<char>) {
        if self.font.has_glyph(c) {
            out.push(c);
            return;
        }
        if c.is_whitespace() {
            out.push(' ');
            return;
        }
        let parts: Vec<char> = c.nfd().collect();
        if parts.len() > 1 && parts.iter().all(|&p| self.font.has_glyph(p)) {
            out.extend(parts);
        } else if self.font.has_glyph(REPLACEMENT) {
            out.push(REPLACEMENT);
        } else {
            out.push('?');
        }
    }

    /// Lays `chars` out on one line from pen x = 0.
    fn layout(&self, chars: &[char], em_px: f32) -> Line {
        let mut glyphs = Vec::with_capacity(chars.len());
        let mut pen_after = Vec::with_capacity(chars.len());
        let mut pen = 0.0f32;
        let mut prev: Option<char> = None;
        for &ch in chars {
            if let Some(p) = prev {
                pen += self.font.horizontal_kern(p, ch, em_px).unwrap_or(0.0);
            }
            let m = self.font.metrics(ch, em_px);
            let left = pen.round() as i32 + m.xmin;
            glyphs.push(Placed {
                ch,
                left,
                right: left + m.width as i32,
            });
            pen += m.advance_width;
            pen_after.push(pen);
            prev = Some(ch);
        }
        Line { glyphs, pen_after }
    }

    /// Renders without the cache; also returns how many inked pixels fell
    /// outside the bitmap (zero unless a glyph is taller than the line box).
    fn render_uncached(&self, text: &str, px_height: u32, max_width: u32) -> (LabelBitmap, u64) {
        let height = px_height as usize;
        let empty = LabelBitmap {
            width: 0,
            height,
            alpha: Vec::new(),
        };
        if px_height == 0 || max_width == 0 {
            return (empty, 0);
        }
        let metrics = self.metrics(px_height);
        let em = metrics.em_px;

        let nfc = sanitize(text);
        let truncated = nfc.len() > MAX_CHARS;
        let mut chars = Vec::with_capacity(nfc.len().min(MAX_CHARS) + 1);
        for &c in nfc.iter().take(MAX_CHARS) {
            self.glyphs_for(c, &mut chars);
        }
        let line = self.layout(&chars, em);
        let extent = |g: &[Placed], pen: f32| -> (i32, i32) {
            let lo = g.iter().map(|p| p.left).min().unwrap_or(0).min(0);
            let hi = g
                .iter()
                .map(|p| p.right)
                .max()
                .unwrap_or(0)
                .max(pen.ceil() as i32);
            (lo, hi)
        };
        let full_pen = line.pen_after.last().copied().unwrap_or(0.0);
        let (lo, hi) = extent(&line.glyphs, full_pen);
        let (placed, pen_end) = if truncated || i64::from(hi - lo) > i64::from(max_width) {
            match self.ellipsise(&chars, &line, em, max_width) {
                Some(cut) => cut,
                None => return (empty, 0),
            }
        } else {
            (line.glyphs, full_pen)
        };
        let (lo, hi) = extent(&placed, pen_end);
        let width = ((hi - lo).max(0) as usize).min(max_width as usize);

        let mut alpha = vec![0u8; width * height];
        let mut clipped = 0u64;
        let baseline = metrics.baseline as i32;
        for p in &placed {
            if p.ch == ' ' {
                continue;
            }
            let (m, cov) = self.font.rasterize(p.ch, em);
            let top = baseline - (m.ymin + m.height as i32);
            let x0 = p.left - lo;
            for gy in 0..m.height {
                let y = top + gy as i32;
                for gx in 0..m.width {
                    let a = cov[gy * m.width + gx];
                    if a == 0 {
                        continue;
                    }
                    let x = x0 + gx as i32;
                    if y < 0 || y >= height as i32 || x < 0 || x >= width as i32 {
                        clipped += 1;
                        continue;
                    }
                    let dst = &mut alpha[y as usize * width + x as usize];
                    *dst = (*dst).max(a);
                }
            }
        }
        (
            LabelBitmap {
                width,
                height,
                alpha,
            },
            clipped,
        )
    }

    /// The longest prefix of the line that, followed by "…", fits
    /// `max_width`, with the pen position after it; `None` when not even "…"
    /// alone fits.
    fn ellipsise(
        &self,
        chars: &[char],
        line: &Line,
        em: f32,
        max_width: u32,
    ) -> Option<(Vec<Placed>, f32)> {
        let (ell_ch, ell_count) = if self.font.has_glyph(ELLIPSIS) {
            (ELLIPSIS, 1)
        } else {
            ('.', 3)
        };
        let ell = self.font.metrics(ell_ch, em);
        let mut best: Option<(usize, Vec<Placed>, f32)> = None;
        // Running extents of the prefix glyphs [0, k).
        let (mut lo, mut hi) = (0i32, 0i32);
        for k in 0..=chars.len() {
            if k > 0 {
                lo = lo.min(line.glyphs[k - 1].left);
                hi = hi.max(line.glyphs[k - 1].right);
            }
            // Do not end on a space: "Sở Thông…" reads better than "Sở Thông …".
            if k > 0 && chars[k - 1] == ' ' {
                continue;
            }
            let mut pen = if k == 0 { 0.0 } else { line.pen_after[k - 1] };
            let mut prev = if k == 0 { None } else { Some(chars[k - 1]) };
            let (mut l, mut h) = (lo, hi);
            let mut tail = Vec::with_capacity(ell_count);
            for _ in 0..ell_count {
                if let Some(p) = prev {
                    pen += self.font.horizontal_kern(p, ell_ch, em).unwrap_or(0.0);
                }
                let left = pen.round() as i32 + ell.xmin;
                let right = left + ell.width as i32;
                tail.push(Placed {
                    ch: ell_ch,
                    left,
                    right,
                });
                l = l.min(left);
                h = h.max(right);
                pen += ell.advance_width;
                prev = Some(ell_ch);
            }
            h = h.max(pen.ceil() as i32);
            if i64::from(h - l) > i64::from(max_width) {
                // Extents only grow with k (kerning aside), so stop here.
                break;
            }
            best = Some((k, tail, pen));
        }
        best.map(|(k, tail, pen)| {
            let mut v = line.glyphs[..k].to_vec();
            v.extend(tail);
            (v, pen)
        })
    }
}

/// NFC-normalised characters of `text`, trimmed, controls turned into spaces.
/// Only the first `4 * MAX_CHARS` input characters are looked at: NFC at most
/// folds a letter and its two Vietnamese marks into one, so the result still
/// exceeds `MAX_CHARS` (and is ellipsised) when the input was cut.
fn sanitize(text: &str) -> Vec<char> {
    text.trim()
        .chars()
        .take(4 * MAX_CHARS)
        .nfc()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A readable label height for a tile `tile_height` pixels tall: about 1/12
/// of the tile, at least 14 and at most 48 pixels, never taller than the tile.
pub fn label_height_for_tile(tile_height: u32) -> u32 {
    (tile_height / 12).clamp(14, 48).min(tile_height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink(b: &LabelBitmap) -> u64 {
        b.alpha.iter().map(|&a| a as u64).sum()
    }

    #[test]
    fn embedded_font_parses_and_covers_vietnamese() {
        let font = Font::from_bytes(FONT_BYTES, FontSettings::default()).expect("font parses");
        let letters = vietnamese_letters();
        // 12 vowels × 6 forms + 17 consonants, both cases.
        assert_eq!(letters.len(), 2 * (12 * 6 + 17));
        for c in letters {
            assert!(font.has_glyph(c), "no glyph for {c:?} (U+{:04X})", c as u32);
        }
    }

    #[test]
    fn bitmap_is_exactly_px_height_and_sized_consistently() {
        let r = LabelRenderer::new();
        for px in [14, 20, 24, 33, 48] {
            let (b, _) = r.render_uncached("Ủy ban nhân dân", px, 10_000);
            assert_eq!(b.height, px as usize);
            assert_eq!(b.alpha.len(), b.width * b.height);
            assert!(b.width > 0 && ink(&b) > 0);
        }
    }

    #[test]
    fn no_vietnamese_letter_is_clipped_at_any_size() {
        let r = LabelRenderer::new();
        let all: String = vietnamese_letters().into_iter().collect();
        for px in [8, 14, 17, 24, 31, 48, 96] {
            let (b, clipped) = r.render_uncached(&all, px, u32::MAX);
            assert_eq!(clipped, 0, "{clipped} inked pixels clipped at {px} px");
            assert!(ink(&b) > 0);
        }
    }

    #[test]
    fn metrics_order_cap_above_x_height_above_baseline() {
        let r = LabelRenderer::new();
        for px in [14, 24, 48] {
            let m = r.metrics(px);
            assert!(m.cap_top < m.x_height_top, "{m:?}");
            assert!(m.x_height_top < m.baseline, "{m:?}");
            assert!(m.baseline < px, "{m:?}");
            // Room above the capitals for tone marks and below the baseline
            // for the dot below.
            assert!(m.cap_top >= 2 && px - m.baseline >= 2, "{m:?}");
        }
    }

    #[test]
    fn renderer_and_labels_can_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<LabelRenderer>();
        send_sync::<Arc<LabelBitmap>>();
    }

    #[test]
    fn decomposition_fallback_draws_base_and_mark() {
        let r = LabelRenderer::new();
        // Every precomposed Latin letter is in the font; U+06C0 "ۀ" (Arabic
        // heh with yeh above) is not, while its decomposition heh + U+0654
        // (hamza above) is.
        let c = '\u{06C0}';
        assert!(
            !r.font.has_glyph(c) && r.font.has_glyph('\u{06D5}') && r.font.has_glyph('\u{0654}')
        );
        assert_eq!(r.fallback_chars(&c.to_string()), vec![c]);
        let (b, _) = r.render_uncached(&c.to_string(), 32, 1000);
        let (base, _) = r.render_uncached("\u{06D5}", 32, 1000);
        let (repl, _) = r.render_uncached("\u{FFFD}", 32, 1000);
        assert!(ink(&b) > ink(&base), "the hamza above is missing");
        assert_ne!(b, repl);
    }

    #[test]
    fn label_height_for_tile_is_clamped() {
        assert_eq!(label_height_for_tile(1080), 48);
        assert_eq!(label_height_for_tile(360), 30);
        assert_eq!(label_height_for_tile(120), 14);
        assert_eq!(label_height_for_tile(10), 10);
        assert_eq!(label_height_for_tile(0), 0);
    }

    #[test]
    fn sanitize_trims_and_normalises() {
        let s: String = sanitize("  Xa\u{0303}\tĐo\u{0302}\u{0300}ng \n")
            .into_iter()
            .collect();
        assert_eq!(s, "Xã Đồng");
    }

    #[test]
    fn missing_glyph_falls_back_to_replacement_and_is_reported() {
        let r = LabelRenderer::new();
        // CJK is not in DejaVu.
        assert_eq!(r.fallback_chars("Hà 中"), vec!['中']);
        let (with, _) = r.render_uncached("中", 24, 1000);
        assert!(ink(&with) > 0, "replacement glyph must be visible");
        let (repl, _) = r.render_uncached("\u{FFFD}", 24, 1000);
        assert_eq!(with, repl);
    }

    #[test]
    fn zero_sizes_give_empty_bitmaps() {
        let mut r = LabelRenderer::new();
        let b = r.render("Hà Nội", 0, 100);
        assert_eq!((b.width, b.height, b.alpha.len()), (0, 0, 0));
        let b = r.render("Hà Nội", 24, 0);
        assert_eq!((b.width, b.height, b.alpha.len()), (0, 24, 0));
        let b = r.render("", 24, 100);
        assert_eq!(b.width * b.height, b.alpha.len());
        assert_eq!(ink(&b), 0);
        let b = r.render("Hà Nội", 2, 3);
        assert!(b.width <= 3);
    }

    #[test]
    fn huge_requests_are_bounded() {
        let mut r = LabelRenderer::new();
        let long = "Sở Thông tin và Truyền thông ".repeat(1000);
        let b = r.render(&long, 10_000, u32::MAX);
        assert_eq!(b.height, MAX_PX_HEIGHT as usize);
        // Both are cut at MAX_CHARS characters and end with "…".
        let half: String = long.chars().take(long.chars().count() / 2).collect();
        let short = r.render(&half, MAX_PX_HEIGHT, u32::MAX);
        assert_eq!(*b, *short);
        let unellipsised = r.render(
            &half.chars().take(MAX_CHARS).collect::<String>(),
            256,
            u32::MAX,
        );
        assert_ne!(*b, *unellipsised);
    }

    #[test]
    fn cache_is_bounded_and_evicts_least_recently_used() {
        let mut r = LabelRenderer::with_cache_capacity(3);
        let a = r.render("A", 20, 100);
        let _b = r.render("B", 20, 100);
        let _c = r.render("C", 20, 100);
        assert_eq!(r.cached_len(), 3);
        // Touch A so B is the oldest, then add D.
        assert!(Arc::ptr_eq(&a, &r.render("A", 20, 100)));
        let _d = r.render("D", 20, 100);
        assert_eq!(r.cached_len(), 3);
        assert!(Arc::ptr_eq(&a, &r.render("A", 20, 100)), "A was evicted");
        let b2 = r.render("B", 20, 100);
        assert!(!Arc::ptr_eq(&_b, &b2), "B should have been evicted");
        assert_eq!(*_b, *b2);
        assert_eq!(r.cached_len(), 3);
    }
}
