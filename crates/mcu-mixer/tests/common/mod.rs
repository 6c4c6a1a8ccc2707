//! Shared helpers for the integration tests: PNG golden snapshots.
//!
//! Goldens live in `crates/mcu-mixer/tests/goldens/<name>.png` and are reviewed
//! like code. [`assert_golden`] compares a rendered image with its golden under
//! a [`Tolerance`]; on a mismatch it writes `<name>.actual.png` and
//! `<name>.diff.png` under the target dir and panics with their paths.
//!
//! To (re)generate goldens on purpose:
//!
//! ```text
//! cargo test -p mcu-mixer --features update_snapshots --test <file>
//! ```
//!
//! then look at the PNGs before committing them.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use mcu_mixer::frame::I420Frame;
use mcu_mixer::label::LabelBitmap;

/// Pixel layout of an [`Image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    /// One byte per pixel.
    Gray,
    /// Three bytes per pixel, R G B.
    Rgb,
}

impl Channels {
    /// Bytes per pixel.
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }
}

/// An 8-bit image, tightly packed, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Gray or RGB.
    pub channels: Channels,
    /// `width * height * channels.count()` bytes.
    pub data: Vec<u8>,
}

/// A label's coverage as a gray image (white text on black).
pub fn label_to_image(label: &LabelBitmap) -> Image {
    Image {
        width: label.width as u32,
        height: label.height as u32,
        channels: Channels::Gray,
        data: label.alpha.clone(),
    }
}

/// An I420 frame converted to RGB (BT.601 limited range, chroma upsampled by
/// repetition), for layout and placeholder goldens.
pub fn frame_to_image(frame: &I420Frame) -> Image {
    let (w, h) = (frame.width(), frame.height());
    let mut data = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = frame.pixel(x, y).to_rgb();
            data.extend_from_slice(&[r, g, b]);
        }
    }
    Image {
        width: w,
        height: h,
        channels: Channels::Rgb,
        data,
    }
}

/// How far an image may stray from its golden.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// A pixel whose largest per-channel difference exceeds this counts as differing.
    pub per_pixel: u8,
    /// Largest share (0..=1) of differing pixels still accepted.
    pub max_differing_share: f64,
}

impl Tolerance {
    /// Default: small anti-aliasing drift passes; a missing diacritic (tens of
    /// pixels fully on/off) on a label does not.
    pub const DEFAULT: Tolerance = Tolerance {
        per_pixel: 24,
        max_differing_share: 0.001,
    };
    /// Bit-exact.
    pub const EXACT: Tolerance = Tolerance {
        per_pixel: 0,
        max_differing_share: 0.0,
    };
}

/// Result of comparing two images of the same size and layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Largest per-channel difference over all pixels.
    pub max_diff: u8,
    /// Pixels whose difference exceeds the tolerance's `per_pixel`.
    pub differing: usize,
    /// Pixels compared.
    pub total: usize,
    /// Per-pixel largest channel difference, row-major (for the diff image).
    pub diffs: Vec<u8>,
}

impl Comparison {
    /// Share of differing pixels.
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.differing as f64 / self.total as f64
        }
    }

    /// True when the share of differing pixels is within the tolerance.
    pub fn within(&self, tol: Tolerance) -> bool {
        self.share() <= tol.max_differing_share
    }
}

/// Compares two images pixel by pixel; `Err` when their size or layout differ.
pub fn compare_images(
    expected: &Image,
    actual: &Image,
    tol: Tolerance,
) -> Result<Comparison, String> {
    if (expected.width, expected.height, expected.channels)
        != (actual.width, actual.height, actual.channels)
    {
        return Err(format!(
            "size/layout differs: golden {}x{} {:?}, actual {}x{} {:?}",
            expected.width,
            expected.height,
            expected.channels,
            actual.width,
            actual.height,
            actual.channels
        ));
    }
    let n = expected.channels.count();
    let diffs: Vec<u8> = expected
        .data
        .chunks_exact(n)
        .zip(actual.data.chunks_exact(n))
        .map(|(e, a)| {
            e.iter()
                .zip(a)
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap_or(0)
        })
        .collect();
    Ok(Comparison {
        max_diff: diffs.iter().copied().max().unwrap_or(0),
        differing: diffs.iter().filter(|&&d| d > tol.per_pixel).count(),
        total: diffs.len(),
        diffs,
    })
}

/// Directory holding the goldens.
pub fn goldens_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("goldens")
}

/// Directory (under the target dir) where actual and diff images are written.
pub fn output_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("goldens")
}

/// Reads an 8-bit gray or RGB PNG.
pub fn read_png(path: &Path) -> Result<Image, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decoder = png::Decoder::new(BufReader::new(file));
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format!("{}: image too large", path.display()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => Channels::Gray,
        (png::ColorType::Rgb, png::BitDepth::Eight) => Channels::Rgb,
        other => {
            return Err(format!(
                "{}: unsupported PNG format {other:?}",
                path.display()
            ));
        }
    };
    let row = info.width as usize * channels.count();
    let mut data = Vec::with_capacity(row * info.height as usize);
    for r in 0..info.height as usize {
        data.extend_from_slice(&buf[r * info.line_size..r * info.line_size + row]);
    }
    Ok(Image {
        width: info.width,
        height: info.height,
        channels,
        data,
    })
}

/// Writes an image as an 8-bit PNG, creating the parent directory.
pub fn write_png(path: &Path, image: &Image) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), image.width, image.height);
    enc.set_color(match image.channels {
        Channels::Gray => png::ColorType::Grayscale,
        Channels::Rgb => png::ColorType::Rgb,
    });
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writer
        .write_image_data(&image.data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writer
        .finish()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A diff picture: the actual image dimmed to gray, differing pixels in red
/// (brighter = larger difference).
fn diff_image(actual: &Image, cmp: &Comparison, tol: Tolerance) -> Image {
    let n = actual.channels.count();
    let mut data = Vec::with_capacity(cmp.diffs.len() * 3);
    for (px, &d) in actual.data.chunks_exact(n).zip(&cmp.diffs) {
        if d > tol.per_pixel {
            data.extend_from_slice(&[128u8.saturating_add(d / 2), 0, 0]);
        } else {
            let luma = (px.iter().map(|&v| v as u32).sum::<u32>() / n as u32) as u8 / 3;
            data.extend_from_slice(&[luma, luma, luma]);
        }
    }
    Image {
        width: actual.width,
        height: actual.height,
        channels: Channels::Rgb,
        data,
    }
}

/// [`assert_golden_with`] with [`Tolerance::DEFAULT`].
#[track_caller]
pub fn assert_golden(name: &str, actual: &Image) {
    assert_golden_with(name, actual, Tolerance::DEFAULT);
}

/// Compares `actual` with `tests/goldens/<name>.png` under `tol`, or writes the
/// golden when the `update_snapshots` feature is on.
#[track_caller]
pub fn assert_golden_with(name: &str, actual: &Image, tol: Tolerance) {
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
        "golden name {name:?} must be [a-z0-9_-]+"
    );
    assert_eq!(
        actual.data.len(),
        actual.width as usize * actual.height as usize * actual.channels.count(),
        "image buffer does not match its size"
    );
    let golden_path = goldens_dir().join(format!("{name}.png"));
    let existing = read_png(&golden_path);

    if cfg!(feature = "update_snapshots") {
        if existing.as_ref().ok() != Some(actual) {
            write_png(&golden_path, actual).unwrap_or_else(|e| panic!("writing golden: {e}"));
            eprintln!("golden {name}: written to {}", golden_path.display());
        }
        return;
    }

    let out = output_dir();
    let actual_path = out.join(format!("{name}.actual.png"));
    let golden = match existing {
        Ok(g) => g,
        Err(e) => {
            let _ = write_png(&actual_path, actual);
            panic!(
                "golden {name}: cannot read {} ({e}).\n  actual image: {}\n  \
                 to create it: cargo test -p mcu-mixer --features update_snapshots, then review the PNG",
                golden_path.display(),
                actual_path.display()
            );
        }
    };
    match compare_images(&golden, actual, tol) {
        Ok(cmp) if cmp.within(tol) => {}
        Ok(cmp) => {
            let diff_path = out.join(format!("{name}.diff.png"));
            let _ = write_png(&actual_path, actual);
            let _ = write_png(&diff_path, &diff_image(actual, &cmp, tol));
            panic!(
                "golden {name}: {} of {} pixels ({:.3}%) differ by more than {} (max diff {}); \
                 allowed {:.3}%.\n  golden: {}\n  actual: {}\n  diff:   {}\n  \
                 if the change is intended: cargo test -p mcu-mixer --features update_snapshots, \
                 then review the PNG",
                cmp.differing,
                cmp.total,
                cmp.share() * 100.0,
                tol.per_pixel,
                cmp.max_diff,
                tol.max_differing_share * 100.0,
                golden_path.display(),
                actual_path.display(),
                diff_path.display()
            );
        }
        Err(e) => {
            let _ = write_png(&actual_path, actual);
            panic!(
                "golden {name}: {e}.\n  golden: {}\n  actual: {}",
                golden_path.display(),
                actual_path.display()
            );
        }
    }
}
