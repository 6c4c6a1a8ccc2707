//! YUV4MPEG2 (`.y4m`) files for Chromium's fake camera.
//!
//! Chromium reads the file given by `--use-file-for-fake-video-capture` and
//! loops it forever at the frame rate in its header. The files written here
//! are 4:2:0 (`C420jpeg`): a solid colour, optionally with a white square
//! that moves one step per frame so that a test can tell a live picture from
//! a frozen one.
//!
//! Colour: BT.601. Chromium reads the samples as *studio range* (Y 16..=235)
//! whatever the header says (measured with Chromium 156: RGB (200, 100, 50)
//! written studio-range comes back from a canvas as (199, 101, 51), written
//! full-range as (212, 98, 42)), so [`ColourRange::Limited`] is the default
//! and gives the colours asked for. The range is also recorded in the header
//! with ffmpeg's `XCOLORRANGE` extension tag, which Chromium ignores.
//!
//! ```no_run
//! use mcu_e2e::y4m::{Rgb, Y4mSpec};
//! let spec = Y4mSpec::solid(Rgb::new(255, 0, 0)).with_moving_square(32);
//! spec.write_file(std::path::Path::new("/tmp/red.y4m")).unwrap();
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// An 8-bit sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    /// Red, 0..=255.
    pub r: u8,
    /// Green, 0..=255.
    pub g: u8,
    /// Blue, 0..=255.
    pub b: u8,
}

impl Rgb {
    /// Pure red.
    pub const RED: Rgb = Rgb::new(255, 0, 0);
    /// Pure green.
    pub const GREEN: Rgb = Rgb::new(0, 255, 0);
    /// Pure blue.
    pub const BLUE: Rgb = Rgb::new(0, 0, 255);
    /// White.
    pub const WHITE: Rgb = Rgb::new(255, 255, 255);

    /// A colour from its three channels.
    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Rgb { r, g, b }
    }
}

/// How luma and chroma values are scaled (header tag `XCOLORRANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourRange {
    /// Full range, Y and Cb/Cr in 0..=255 (`XCOLORRANGE=FULL`). Chromium
    /// shows it with too much contrast.
    Full,
    /// Studio range, Y in 16..=235 and Cb/Cr in 16..=240
    /// (`XCOLORRANGE=LIMITED`): what Chromium's fake camera assumes.
    #[default]
    Limited,
}

impl ColourRange {
    fn tag(self) -> &'static str {
        match self {
            ColourRange::Full => "XCOLORRANGE=FULL",
            ColourRange::Limited => "XCOLORRANGE=LIMITED",
        }
    }
}

/// Converts an RGB colour to BT.601 Y'CbCr in the given range.
pub fn rgb_to_ycbcr(c: Rgb, range: ColourRange) -> [u8; 3] {
    let (r, g, b) = (f64::from(c.r), f64::from(c.g), f64::from(c.b));
    // Full-range (JPEG/JFIF) BT.601 first, all three in 0..=255 with chroma
    // centred on 128.
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    let (y, cb, cr) = match range {
        ColourRange::Full => (y, cb, cr),
        ColourRange::Limited => (
            16.0 + y * 219.0 / 255.0,
            128.0 + (cb - 128.0) * 224.0 / 255.0,
            128.0 + (cr - 128.0) * 224.0 / 255.0,
        ),
    };
    // `as u8` saturates; the values are already in range after clamping.
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    [q(y), q(cb), q(cr)]
}

/// What to put in a Y4M file: size, rate, length and picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Y4mSpec {
    /// Width in pixels (must be even and non-zero).
    pub width: u32,
    /// Height in pixels (must be even and non-zero).
    pub height: u32,
    /// Frames per second written in the header (`F<fps>:1`).
    pub fps: u32,
    /// Number of frames in the file (Chromium loops it).
    pub frames: u32,
    /// Background colour.
    pub colour: Rgb,
    /// Another colour for the right half of the picture (`None`: all `colour`).
    pub right_half: Option<Rgb>,
    /// Side of a white square that moves across the picture, in pixels; `None`
    /// for a plain solid picture.
    pub moving_square: Option<u32>,
    /// Range of the Y'CbCr values written.
    pub range: ColourRange,
}

impl Y4mSpec {
    /// A solid colour, 320×240 at 30 fps, 30 frames (one second), studio range.
    pub fn solid(colour: Rgb) -> Self {
        Y4mSpec {
            width: 320,
            height: 240,
            fps: 30,
            frames: 30,
            colour,
            right_half: None,
            moving_square: None,
            range: ColourRange::Limited,
        }
    }

    /// Adds a white square of `side` pixels that moves left to right, one
    /// step per frame, along the top edge (the centre stays the background
    /// colour, so a centre sample still sees it).
    pub fn with_moving_square(mut self, side: u32) -> Self {
        self.moving_square = Some(side);
        self
    }

    /// Paints the right half of the picture in `colour` (a picture whose
    /// halves tell where a camera points).
    pub fn with_right_half(mut self, colour: Rgb) -> Self {
        self.right_half = Some(colour);
        self
    }

    /// Sets the picture size (both must be even).
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Sets the frame rate and the number of frames.
    pub fn with_timing(mut self, fps: u32, frames: u32) -> Self {
        self.fps = fps;
        self.frames = frames;
        self
    }

    /// Sets the colour range.
    pub fn with_range(mut self, range: ColourRange) -> Self {
        self.range = range;
        self
    }

    /// The file header line, including its trailing newline.
    pub fn header(&self) -> String {
        format!(
            "YUV4MPEG2 W{} H{} F{}:1 Ip A1:1 C420jpeg {}\n",
            self.width,
            self.height,
            self.fps,
            self.range.tag()
        )
    }

    /// Writes the whole file to `w`.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        if self.width == 0
            || self.height == 0
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "y4m size must be even and non-zero, got {}x{}",
                    self.width, self.height
                ),
            ));
        }
        if self.fps == 0 || self.frames == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "y4m needs fps > 0 and frames > 0",
            ));
        }
        let (w_px, h_px) = (self.width as usize, self.height as usize);
        let [bg_y, bg_u, bg_v] = rgb_to_ycbcr(self.colour, self.range);
        let [wh_y, wh_u, wh_v] = rgb_to_ycbcr(Rgb::WHITE, self.range);
        let (cw, ch) = (w_px / 2, h_px / 2);
        let mut y_plane = vec![0u8; w_px * h_px];
        let mut u_plane = vec![0u8; cw * ch];
        let mut v_plane = vec![0u8; cw * ch];

        w.write_all(self.header().as_bytes())?;
        for frame in 0..self.frames {
            y_plane.fill(bg_y);
            u_plane.fill(bg_u);
            v_plane.fill(bg_v);
            if let Some(right) = self.right_half {
                let [ry, ru, rv] = rgb_to_ycbcr(right, self.range);
                for row in y_plane.chunks_exact_mut(w_px) {
                    row[w_px / 2..].fill(ry);
                }
                for (u_row, v_row) in u_plane
                    .chunks_exact_mut(cw)
                    .zip(v_plane.chunks_exact_mut(cw))
                {
                    u_row[cw / 2..].fill(ru);
                    v_row[cw / 2..].fill(rv);
                }
            }
            if let Some((x0, y0, side)) = self.square_at(frame) {
                for row in y0..y0 + side {
                    y_plane[row * w_px + x0..row * w_px + x0 + side].fill(wh_y);
                }
                for row in y0 / 2..(y0 + side) / 2 {
                    u_plane[row * cw + x0 / 2..row * cw + (x0 + side) / 2].fill(wh_u);
                    v_plane[row * cw + x0 / 2..row * cw + (x0 + side) / 2].fill(wh_v);
                }
            }
            w.write_all(b"FRAME\n")?;
            w.write_all(&y_plane)?;
            w.write_all(&u_plane)?;
            w.write_all(&v_plane)?;
        }
        w.flush()
    }

    /// Writes the file at `path` (created or truncated).
    pub fn write_file(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        self.write_to(&mut out)
    }

    /// The size in bytes of the file [`Y4mSpec::write_to`] writes.
    pub fn file_len(&self) -> usize {
        let frame = self.width as usize * self.height as usize * 3 / 2;
        self.header().len() + self.frames as usize * (b"FRAME\n".len() + frame)
    }

    /// Top-left corner and side (all even, in luma pixels) of the square in
    /// `frame`, or `None` when there is none or it does not fit.
    fn square_at(&self, frame: u32) -> Option<(usize, usize, usize)> {
        let side = (self.moving_square? as usize) & !1;
        let (w_px, h_px) = (self.width as usize, self.height as usize);
        // Keep the square in the top quarter so the centre stays clean.
        if side == 0 || side > w_px || side > h_px / 4 {
            return None;
        }
        let travel = w_px - side;
        let step = if self.frames > 1 {
            travel / (self.frames as usize - 1).max(1)
        } else {
            0
        };
        let x0 = ((frame as usize * step).min(travel)) & !1;
        Some((x0, 0, side))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt601_primaries() {
        assert_eq!(rgb_to_ycbcr(Rgb::WHITE, ColourRange::Full), [255, 128, 128]);
        assert_eq!(
            rgb_to_ycbcr(Rgb::new(0, 0, 0), ColourRange::Full),
            [0, 128, 128]
        );
        assert_eq!(rgb_to_ycbcr(Rgb::RED, ColourRange::Full), [76, 85, 255]);
        assert_eq!(rgb_to_ycbcr(Rgb::BLUE, ColourRange::Full), [29, 255, 107]);
        assert_eq!(
            rgb_to_ycbcr(Rgb::WHITE, ColourRange::Limited),
            [235, 128, 128]
        );
        assert_eq!(
            rgb_to_ycbcr(Rgb::new(0, 0, 0), ColourRange::Limited),
            [16, 128, 128]
        );
        assert_eq!(rgb_to_ycbcr(Rgb::RED, ColourRange::Limited), [81, 90, 240]);
    }

    #[test]
    fn file_layout() {
        let spec = Y4mSpec::solid(Rgb::BLUE)
            .with_size(16, 8)
            .with_timing(25, 3)
            .with_moving_square(2)
            .with_range(ColourRange::Full);
        let mut buf = Vec::new();
        spec.write_to(&mut buf).unwrap();
        assert_eq!(buf.len(), spec.file_len());
        let header = b"YUV4MPEG2 W16 H8 F25:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL\n";
        assert!(buf.starts_with(header));
        let frame_len = 6 + 16 * 8 * 3 / 2;
        for f in 0..3 {
            let start = header.len() + f * frame_len;
            assert_eq!(&buf[start..start + 6], b"FRAME\n");
            let y = &buf[start + 6..start + 6 + 128];
            // The square is white in luma and moves.
            let white: Vec<usize> = (0..16).filter(|&x| y[x] == 255).collect();
            assert_eq!(white.len(), 2, "frame {f}: {white:?}");
            assert_eq!(white[0], (f * 7) & !1);
            // Bottom rows stay the background.
            assert!(y[7 * 16..].iter().all(|&v| v == 29));
        }
    }

    #[test]
    fn rejects_odd_sizes() {
        let spec = Y4mSpec::solid(Rgb::RED).with_size(15, 8);
        assert!(spec.write_to(&mut Vec::new()).is_err());
    }
}
