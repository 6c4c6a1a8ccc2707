//! Endpoint name labels rendered into the picture (Vietnamese diacritics included).

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
