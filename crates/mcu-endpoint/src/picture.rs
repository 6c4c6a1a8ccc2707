//! The picture an endpoint sends, and reading it back out of the MCU's
//! composite.
//!
//! A picture is one solid colour with a **stamp** burned in: 56 bits drawn as
//! a grid of 14 × 4 large black/white blocks in the middle of the picture —
//! the send time in milliseconds modulo 2^24, a 16-bit frame counter, an
//! 8-bit endpoint index and a CRC-8 over those 48 bits. Every geometry is
//! relative to the picture size (a block is 1/20 of the width and 4/45 of
//! the height: 32×32 pixels at 640×360), so the stamp can be read at the same
//! relative place in any tile the picture was scaled into. Blocks are
//! sampled in their inner half and must be clearly dark or clearly bright;
//! an unclear block or a CRC mismatch rejects the read, so a tile that is
//! half-updated, blurred or not a stamped picture at all yields nothing
//! rather than a wrong latency.
//!
//! The colour of a tile is measured in a band above the stamp (and right of
//! the active-speaker border, above the name label, which the MCU draws at
//! the bottom-left).

use mcu_mixer::frame::{FrameError, I420Frame, PixelRect, Yuv};

/// Stamp columns and rows.
const COLS: u32 = 14;
const ROWS: u32 = 4;
/// Bits in a stamp.
const BITS: u32 = COLS * ROWS;
/// Block width as a fraction of the picture width.
const BLOCK_W: f64 = 1.0 / 20.0;
/// Block height as a fraction of the picture height (square at 16:9).
const BLOCK_H: f64 = 4.0 / 45.0;
/// Top of the stamp, as a fraction of the picture height.
const STAMP_TOP: f64 = 0.30;
/// Where the colour is measured: (x0, y0, x1, y1) as fractions.
const COLOUR_BAND: (f64, f64, f64, f64) = (0.12, 0.07, 0.88, 0.24);
/// Timestamps are milliseconds modulo this.
pub const STAMP_TIME_MODULO: u32 = 1 << 24;

/// What a stamp carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Send time, milliseconds modulo [`STAMP_TIME_MODULO`].
    pub time_ms: u32,
    /// Frame counter of the sender.
    pub counter: u16,
    /// The sender's index (its place in a `--count` run, 0 for a single endpoint).
    pub endpoint: u8,
}

impl Stamp {
    fn payload(self) -> u64 {
        ((self.time_ms % STAMP_TIME_MODULO) as u64) << 24
            | (self.counter as u64) << 8
            | self.endpoint as u64
    }

    fn to_bits(self) -> u64 {
        let p = self.payload();
        p << 8 | crc8(p) as u64
    }

    fn from_bits(bits: u64) -> Option<Self> {
        let p = bits >> 8;
        if crc8(p) != (bits & 0xff) as u8 {
            return None;
        }
        Some(Stamp {
            time_ms: (p >> 24) as u32,
            counter: (p >> 8) as u16,
            endpoint: p as u8,
        })
    }
}

/// CRC-8 (polynomial 0x07) over the low 48 bits, most significant byte
/// first, with a final XOR so that neither an all-black nor an all-white
/// area reads as a valid stamp.
fn crc8(payload: u64) -> u8 {
    let mut crc = 0u8;
    for i in (0..6).rev() {
        crc ^= (payload >> (i * 8)) as u8;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                crc << 1 ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc ^ 0x5a
}

/// The area of a block in a `rect` the picture was scaled into.
fn block_rect(rect: PixelRect, col: u32, row: u32, inner: bool) -> PixelRect {
    let stamp_left = (1.0 - COLS as f64 * BLOCK_W) / 2.0;
    let (mut x0, mut y0) = (
        stamp_left + col as f64 * BLOCK_W,
        STAMP_TOP + row as f64 * BLOCK_H,
    );
    let (mut w, mut h) = (BLOCK_W, BLOCK_H);
    if inner {
        x0 += w / 4.0;
        y0 += h / 4.0;
        w /= 2.0;
        h /= 2.0;
    }
    frac_rect(rect, x0, y0, x0 + w, y0 + h)
}

/// The part of `rect` between fractions (x0, y0) and (x1, y1), at least 1×1.
fn frac_rect(rect: PixelRect, x0: f64, y0: f64, x1: f64, y1: f64) -> PixelRect {
    let px = |f: f64| rect.x + (f * rect.w as f64).round() as u32;
    let py = |f: f64| rect.y + (f * rect.h as f64).round() as u32;
    let (l, t) = (px(x0), py(y0));
    PixelRect::new(
        l,
        t,
        px(x1).saturating_sub(l).max(1),
        py(y1).saturating_sub(t).max(1),
    )
}

/// Generates an endpoint's pictures: its colour with a fresh stamp each frame.
#[derive(Debug, Clone)]
pub struct StampedPicture {
    colour: Yuv,
    endpoint: u8,
    counter: u16,
    frame: I420Frame,
    /// Film grain on the luma (`None`: flat colour), with its noise state.
    grain: Option<u64>,
}

impl StampedPicture {
    /// Pictures of `width`×`height` (even) in colour `rgb`, stamped with `endpoint`.
    pub fn new(
        width: u32,
        height: u32,
        rgb: (u8, u8, u8),
        endpoint: u8,
    ) -> Result<Self, FrameError> {
        let colour = Yuv::from_rgb(rgb.0, rgb.1, rgb.2);
        Ok(Self {
            colour,
            endpoint,
            counter: 0,
            frame: I420Frame::solid(width, height, colour)?,
            grain: None,
        })
    }

    /// Adds fresh grain to every picture (±8 on the luma, mean unchanged):
    /// like a camera's noise it does not compress, so the encoders — the
    /// endpoint's and the MCU's — spend their whole bitrate, as with real
    /// video. The colour and the stamp still read back.
    pub fn with_grain(mut self) -> Self {
        self.grain = Some(0x2545_f491_4f6c_dd1d ^ u64::from(self.endpoint));
        self
    }

    /// Frames drawn so far.
    pub fn counter(&self) -> u16 {
        self.counter
    }

    /// Draws the next picture stamped with `time_ms` (wall-clock
    /// milliseconds; only the low 24 bits are kept).
    pub fn next_frame(&mut self, time_ms: u64) -> &I420Frame {
        let stamp = Stamp {
            time_ms: (time_ms % STAMP_TIME_MODULO as u64) as u32,
            counter: self.counter,
            endpoint: self.endpoint,
        };
        self.counter = self.counter.wrapping_add(1);
        let full = PixelRect::new(0, 0, self.frame.width(), self.frame.height());
        self.frame.fill(self.colour);
        if let Some(state) = &mut self.grain {
            let rows = self.frame.height() as usize;
            let mut y = self.frame.plane_mut(0);
            for r in 0..rows {
                for px in y.row_mut(r) {
                    // xorshift64: 8 bits of noise per pixel.
                    *state ^= *state << 13;
                    *state ^= *state >> 7;
                    *state ^= *state << 17;
                    let noise = (*state >> 56) as i32 % 17 - 8;
                    *px = (i32::from(*px) + noise).clamp(0, 255) as u8;
                }
            }
        }
        let bits = stamp.to_bits();
        for i in 0..BITS {
            let on = bits >> (BITS - 1 - i) & 1 == 1;
            let rect = block_rect(full, i % COLS, i / COLS, false).even();
            self.frame
                .fill_rect(rect, if on { Yuv::WHITE } else { Yuv::BLACK });
        }
        &self.frame
    }
}

/// Reads the stamp of a picture scaled into `rect` of `frame`, if it is clear
/// and its CRC matches.
pub fn read_stamp(frame: &I420Frame, rect: PixelRect) -> Option<Stamp> {
    let rect = frame.clip(rect);
    if rect.w < COLS * 2 || rect.h < ROWS * 8 {
        return None;
    }
    let mut bits = 0u64;
    for i in 0..BITS {
        let y = frame
            .mean_colour(block_rect(rect, i % COLS, i / COLS, true))
            .y;
        let on = match y {
            0..=80 => false,
            170..=255 => true,
            _ => return None,
        };
        bits = bits << 1 | on as u64;
    }
    Stamp::from_bits(bits)
}

/// The colour of the picture scaled into `rect` (measured above the stamp).
pub fn tile_colour(frame: &I420Frame, rect: PixelRect) -> Yuv {
    let (x0, y0, x1, y1) = COLOUR_BAND;
    frame.mean_colour(frame.clip(frac_rect(rect, x0, y0, x1, y1)))
}

/// The tiles of an `n`×`n` grid layout on a `width`×`height` picture, row
/// by row (the MCU's `2x2`, `3x3`, `4x4` templates).
pub fn grid_tiles(n: u32, width: u32, height: u32) -> Vec<PixelRect> {
    let n = n.max(1);
    let mut tiles = Vec::with_capacity((n * n) as usize);
    for row in 0..n {
        for col in 0..n {
            let (x0, x1) = (width * col / n, width * (col + 1) / n);
            let (y0, y1) = (height * row / n, height * (row + 1) / n);
            tiles.push(PixelRect::new(x0, y0, x1 - x0, y1 - y0));
        }
    }
    tiles
}

/// `#rrggbb` of a colour.
pub fn hex(colour: Yuv) -> String {
    let (r, g, b) = colour.to_rgb();
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Parses `#rrggbb` / `rrggbb`, or a few colour names.
pub fn parse_colour(text: &str) -> Option<(u8, u8, u8)> {
    let named = match text.to_ascii_lowercase().as_str() {
        "red" => Some((220, 40, 40)),
        "green" => Some((40, 180, 60)),
        "blue" => Some((40, 70, 220)),
        "yellow" => Some((230, 210, 40)),
        "magenta" => Some((200, 50, 200)),
        "cyan" => Some((40, 200, 210)),
        "orange" => Some((240, 140, 30)),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let h = text.strip_prefix('#').unwrap_or(text);
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some((c(0)?, c(2)?, c(4)?))
}

/// Sixteen colours far apart from each other (and from black and white),
/// for endpoints of a `--count` run.
pub const PALETTE: [(u8, u8, u8); 16] = [
    (220, 40, 40),
    (40, 70, 220),
    (40, 180, 60),
    (230, 210, 40),
    (200, 50, 200),
    (40, 200, 210),
    (240, 140, 30),
    (120, 60, 20),
    (130, 130, 130),
    (120, 40, 160),
    (0, 110, 90),
    (250, 150, 170),
    (150, 200, 70),
    (90, 90, 40),
    (40, 40, 120),
    (180, 120, 240),
];

#[cfg(test)]
mod tests {
    use super::*;
    use mcu_mixer::scale::Scaler;

    #[test]
    fn stamp_bits_round_trip_and_crc_rejects_flips() {
        let s = Stamp {
            time_ms: 0xab_cdef,
            counter: 0x1234,
            endpoint: 7,
        };
        assert_eq!(Stamp::from_bits(s.to_bits()), Some(s));
        for bit in 0..BITS {
            assert_eq!(Stamp::from_bits(s.to_bits() ^ 1 << bit), None, "bit {bit}");
        }
        assert_eq!(Stamp::from_bits(0), None, "all black");
        assert_eq!(Stamp::from_bits((1 << BITS) - 1), None, "all white");
    }

    #[test]
    fn stamp_reads_back_from_the_full_picture() {
        let mut p = StampedPicture::new(640, 360, (220, 40, 40), 3).unwrap();
        let f = p.next_frame(123_456_789).clone();
        let full = PixelRect::new(0, 0, 640, 360);
        let s = read_stamp(&f, full).unwrap();
        assert_eq!(s.time_ms, (123_456_789 % STAMP_TIME_MODULO as u64) as u32);
        assert_eq!((s.counter, s.endpoint), (0, 3));
        assert!(tile_colour(&f, full).distance(Yuv::from_rgb(220, 40, 40)) <= 2);
        // A plain picture has no stamp.
        let plain = I420Frame::solid(640, 360, Yuv::from_rgb(220, 40, 40)).unwrap();
        assert_eq!(read_stamp(&plain, full), None);
    }

    #[test]
    fn grain_changes_every_picture_but_keeps_colour_and_stamp() {
        let mut p = StampedPicture::new(640, 360, (40, 160, 60), 2)
            .unwrap()
            .with_grain();
        let full = PixelRect::new(0, 0, 640, 360);
        let a = p.next_frame(1_000).clone();
        let b = p.next_frame(1_033).clone();
        assert_eq!(read_stamp(&b, full).map(|s| s.counter), Some(1));
        assert!(tile_colour(&b, full).distance(Yuv::from_rgb(40, 160, 60)) <= 3);
        // Grain: neighbouring pixels differ, and so do two pictures.
        let (ya, yb) = (a.plane(0), b.plane(0));
        let row = ya.row(300);
        let spread = row.iter().max().unwrap() - row.iter().min().unwrap();
        assert!(spread >= 12, "{spread}");
        assert!(a.psnr_y(&b) < 35.0, "{}", a.psnr_y(&b));
        assert_ne!(ya.row(300), yb.row(300));
    }

    #[test]
    fn grid_tiles_cover_the_picture() {
        let t = grid_tiles(3, 1280, 720);
        assert_eq!(t.len(), 9);
        assert_eq!(t[4], PixelRect::new(426, 240, 427, 240));
        let area: u32 = t.iter().map(|r| r.w * r.h).sum();
        assert_eq!(area, 1280 * 720);
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_colour("#ff0010"), Some((255, 0, 16)));
        assert_eq!(parse_colour("red"), Some((220, 40, 40)));
        assert_eq!(parse_colour("#ff00"), None);
        assert_eq!(parse_colour("ñññ"), None);
    }

    #[test]
    fn stamp_survives_scaling_into_grid_tiles() {
        let mut p = StampedPicture::new(640, 360, (40, 180, 60), 9).unwrap();
        let f = p.next_frame(77_000).clone();
        let mut scaler = Scaler::new();
        for n in [1, 2, 3, 4] {
            let mut canvas = I420Frame::solid(1280, 720, Yuv::BLACK).unwrap();
            let tiles = grid_tiles(n, 1280, 720);
            let last = *tiles.last().unwrap();
            let rect = last.even();
            scaler
                .scale_i420(&f, PixelRect::new(0, 0, 640, 360), &mut canvas, rect)
                .unwrap();
            let s = read_stamp(&canvas, last).unwrap_or_else(|| panic!("{n}x{n}"));
            assert_eq!((s.time_ms, s.endpoint), (77_000, 9), "{n}x{n}");
            let c = tile_colour(&canvas, last);
            assert!(
                c.distance(Yuv::from_rgb(40, 180, 60)) <= 3,
                "{n}x{n}: {c:?}"
            );
            if n > 1 {
                assert_eq!(
                    read_stamp(&canvas, tiles[0]),
                    None,
                    "an empty tile has no stamp"
                );
            }
        }
    }
}
