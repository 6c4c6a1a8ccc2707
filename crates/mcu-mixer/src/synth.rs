//! Synthetic sources for demos, load tests and tests: a coloured picture with
//! motion and a burned-in frame counter, and a sine tone.

use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};
use crate::frame::{FrameError, I420Frame, PixelRect, Yuv};

/// A picture generator: a solid background colour, a white square moving
/// across it, and the frame number burned in as a row of 16 black/white
/// blocks along the bottom edge (bit 15 first), readable back with
/// [`SyntheticVideo::read_counter`].
#[derive(Clone, Debug)]
pub struct SyntheticVideo {
    colour: Yuv,
    frame: I420Frame,
    counter: u32,
}

/// Bits of the burned-in counter.
const COUNTER_BITS: u32 = 16;

impl SyntheticVideo {
    /// A source of `width`×`height` pictures in one colour.
    pub fn new(width: u32, height: u32, colour: Yuv) -> Result<Self, FrameError> {
        Ok(Self {
            colour,
            frame: I420Frame::solid(width, height, colour)?,
            counter: 0,
        })
    }

    /// The background colour.
    pub fn colour(&self) -> Yuv {
        self.colour
    }

    fn block(width: u32, height: u32) -> u32 {
        ((width / COUNTER_BITS) & !1).min((height / 8) & !1).max(2)
    }

    /// Draws the next picture and returns it (the frame number goes up by one).
    pub fn next_frame(&mut self) -> &I420Frame {
        let (w, h) = (self.frame.width(), self.frame.height());
        self.frame.fill(self.colour);
        let side = (h / 6) & !1;
        let travel = w.saturating_sub(side).max(1);
        let x = (self.counter * 8) % travel;
        self.frame
            .fill_rect(PixelRect::new(x, h / 3, side, side), Yuv::WHITE);
        let b = Self::block(w, h);
        for bit in 0..COUNTER_BITS {
            let on = self.counter >> (COUNTER_BITS - 1 - bit) & 1 == 1;
            let colour = if on { Yuv::WHITE } else { Yuv::BLACK };
            self.frame
                .fill_rect(PixelRect::new(bit * b, h - b, b, b), colour);
        }
        self.counter = self.counter.wrapping_add(1);
        &self.frame
    }

    /// Reads the counter burned into a picture of this source's size (for
    /// example after a codec round trip), or `None` if the blocks are unclear.
    pub fn read_counter(frame: &I420Frame) -> Option<u32> {
        let (w, h) = (frame.width(), frame.height());
        let b = Self::block(w, h);
        let mut value = 0u32;
        for bit in 0..COUNTER_BITS {
            let inner = PixelRect::new(
                bit * b + b / 4,
                h - b + b / 4,
                (b / 2).max(2),
                (b / 2).max(2),
            );
            let y = frame.mean_colour(inner).y;
            let on = match y {
                0..=70 => false,
                180..=255 => true,
                _ => return None,
            };
            value = value << 1 | on as u32;
        }
        Some(value)
    }
}

/// A sine tone cut into 20 ms frames at 48 kHz.
#[derive(Clone, Debug)]
pub struct SineTone {
    freq: f64,
    amplitude: f64,
    phase: u64,
    frame: Vec<i16>,
}

impl SineTone {
    /// A tone of `freq` Hz with peak `amplitude` (0..=32767).
    pub fn new(freq: f64, amplitude: i16) -> Self {
        Self {
            freq,
            amplitude: amplitude as f64,
            phase: 0,
            frame: vec![0; FRAME_SAMPLES],
        }
    }

    /// The tone's frequency in Hz.
    pub fn freq(&self) -> f64 {
        self.freq
    }

    /// The next 20 ms frame.
    pub fn next_frame(&mut self) -> &[i16] {
        let step = std::f64::consts::TAU * self.freq / SAMPLE_RATE as f64;
        for (i, s) in self.frame.iter_mut().enumerate() {
            let t = (self.phase + i as u64) as f64;
            *s = (self.amplitude * (step * t).sin()).round() as i16;
        }
        self.phase += FRAME_SAMPLES as u64;
        &self.frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_reads_back() {
        let mut s = SyntheticVideo::new(640, 360, Yuv::from_rgb(200, 30, 30)).unwrap();
        for n in 0..40 {
            let f = s.next_frame().clone();
            assert_eq!(SyntheticVideo::read_counter(&f), Some(n));
        }
        // Most of the picture is the source colour.
        let f = s.next_frame();
        assert!(
            f.mean_colour(PixelRect::new(0, 0, 64, 64))
                .distance(s.colour())
                <= 2
        );
    }

    #[test]
    fn tone_is_continuous_across_frames() {
        let mut t = SineTone::new(440.0, 10_000);
        let a = t.next_frame().to_vec();
        let b = t.next_frame().to_vec();
        // The jump across the frame boundary is no bigger than within a frame.
        let max_step = a
            .windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap();
        assert!((b[0] as i32 - a[FRAME_SAMPLES - 1] as i32).abs() <= max_step + 1);
        assert!(a.iter().any(|&s| s > 9_000));
    }
}
