//! The operators' composite preview: a small JPEG of what a view's viewers
//! see, for the console to show next to the roster. The media thread only
//! samples the composite down to [`WIDTH`]×[`HEIGHT`] (a copy of 130 K
//! pixels); the JPEG is encoded by the caller, off the media thread.

use mcu_mixer::frame::I420Frame;

/// Width of a preview picture.
pub const WIDTH: u32 = 480;
/// Height of a preview picture.
pub const HEIGHT: u32 = 270;

/// A preview picture: full-range YCbCr, 3 bytes per pixel, row after row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Y, Cb, Cr of each pixel.
    pub ycbcr: Vec<u8>,
}

/// Limited-range (BT.601 video levels) luma to full range.
fn full_luma(y: u8) -> u8 {
    ((i32::from(y) - 16) * 255 / 219).clamp(0, 255) as u8
}

/// Limited-range chroma to full range.
fn full_chroma(c: u8) -> u8 {
    ((i32::from(c) - 128) * 255 / 224 + 128).clamp(0, 255) as u8
}

/// Samples `frame` at `width`×`height` (the centre of each target pixel's
/// area), converting to full range as JPEG expects.
pub fn sample(frame: &I420Frame, width: u32, height: u32) -> Picture {
    let (fw, fh) = (frame.width() as u64, frame.height() as u64);
    let (y, u, v) = (frame.plane(0), frame.plane(1), frame.plane(2));
    let mut ycbcr = Vec::with_capacity((width * height * 3) as usize);
    for row in 0..u64::from(height) {
        let sy = ((2 * row + 1) * fh / (2 * u64::from(height))) as usize;
        let (luma, cb, cr) = (y.row(sy), u.row(sy / 2), v.row(sy / 2));
        for col in 0..u64::from(width) {
            let sx = ((2 * col + 1) * fw / (2 * u64::from(width))) as usize;
            ycbcr.extend_from_slice(&[
                full_luma(luma[sx]),
                full_chroma(cb[sx / 2]),
                full_chroma(cr[sx / 2]),
            ]);
        }
    }
    Picture {
        width,
        height,
        ycbcr,
    }
}

/// The picture as a baseline JPEG (quality 75).
pub fn jpeg(p: &Picture) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(p.ycbcr.len() / 8);
    let width = u16::try_from(p.width).map_err(|_| "preview too wide")?;
    let height = u16::try_from(p.height).map_err(|_| "preview too tall")?;
    jpeg_encoder::Encoder::new(&mut out, 75)
        .encode(&p.ycbcr, width, height, jpeg_encoder::ColorType::Ycbcr)
        .map_err(|e| format!("jpeg: {e}"))?;
    Ok(out)
}

/// Width and height from a baseline JPEG's SOF0 segment (for tests and checks).
pub fn jpeg_size(bytes: &[u8]) -> Option<(u16, u16)> {
    let mut i = 2;
    if bytes.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xff {
            return None;
        }
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if marker == 0xc0 {
            let h = u16::from_be_bytes([*bytes.get(i + 5)?, *bytes.get(i + 6)?]);
            let w = u16::from_be_bytes([*bytes.get(i + 7)?, *bytes.get(i + 8)?]);
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcu_mixer::frame::{PixelRect, Yuv};

    #[test]
    fn sampling_keeps_the_layout_and_expands_to_full_range() {
        // Left half white, right half black, 1280×720.
        let mut f = I420Frame::solid(1280, 720, Yuv::BLACK).unwrap();
        f.fill_rect(
            PixelRect {
                x: 0,
                y: 0,
                w: 640,
                h: 720,
            },
            Yuv::WHITE,
        );
        let p = sample(&f, WIDTH, HEIGHT);
        assert_eq!((p.width, p.height), (480, 270));
        assert_eq!(p.ycbcr.len(), 480 * 270 * 3);
        let px = |x: usize, y: usize| &p.ycbcr[(y * 480 + x) * 3..][..3];
        assert_eq!(px(10, 100), [255, 128, 128], "white is full-range white");
        assert_eq!(px(470, 100), [0, 128, 128], "black is full-range black");
        assert_eq!(px(239, 0), [255, 128, 128]);
        assert_eq!(px(240, 269), [0, 128, 128]);
    }

    #[test]
    fn the_jpeg_is_baseline_with_the_pictures_size() {
        let f = I420Frame::solid(1280, 720, Yuv::from_rgb(200, 30, 30)).unwrap();
        let bytes = jpeg(&sample(&f, WIDTH, HEIGHT)).unwrap();
        assert_eq!(&bytes[..2], &[0xff, 0xd8]);
        assert_eq!(&bytes[bytes.len() - 2..], &[0xff, 0xd9]);
        assert_eq!(jpeg_size(&bytes), Some((480, 270)));
        assert!(
            bytes.len() < 20_000,
            "a flat picture compresses: {}",
            bytes.len()
        );
        assert_eq!(jpeg_size(b"not a jpeg"), None);
    }
}
