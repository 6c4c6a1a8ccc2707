//! Which tones the received audio holds: the Goertzel algorithm evaluated at
//! each known frequency over fixed windows, averaged over the run.

use mcu_mixer::audio::SAMPLE_RATE;

/// Samples per analysis window (100 ms at 48 kHz: 10 Hz bins, wide enough
/// apart for tones 50 Hz or more from each other).
pub const WINDOW: usize = 4800;

/// The level of a pure tone of frequency `freq` in `samples` (48 kHz), in
/// dB relative to a full-scale sine (0 dBFS = amplitude 32767). Silence and
/// other frequencies give very low values.
pub fn goertzel_dbfs(samples: &[i16], freq: f64) -> f64 {
    if samples.is_empty() {
        return -150.0;
    }
    let mut windowed = Vec::new();
    apply_window(samples, &hann(samples.len()), &mut windowed);
    windowed_dbfs(&windowed, freq)
}

/// A Hann window of `n` points: it keeps leakage from neighbouring tones low.
fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos())
        .collect()
}

/// `out` = `samples` × `window`, point by point.
fn apply_window(samples: &[i16], window: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(samples.iter().zip(window).map(|(&x, &w)| f64::from(x) * w));
}

/// Goertzel at `freq` over samples already multiplied by a Hann window.
fn windowed_dbfs(windowed: &[f64], freq: f64) -> f64 {
    let n = windowed.len() as f64;
    let w = std::f64::consts::TAU * freq / SAMPLE_RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in windowed {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    // A sine of amplitude A gives |X| = A * N / 4 through a Hann window.
    let amplitude = power.sqrt() * 4.0 / n;
    20.0 * (amplitude / 32767.0).max(1e-8).log10()
}

/// Accumulates received audio and tracks the level of a set of frequencies.
#[derive(Debug, Clone)]
pub struct ToneMeter {
    freqs: Vec<f64>,
    window: Vec<i16>,
    /// The Hann window over [`WINDOW`] samples (computed once: a cosine per
    /// sample and frequency cost a load generator 12 % of its time).
    hann: Vec<f64>,
    /// The current window's samples through `hann`.
    windowed: Vec<f64>,
    /// Per frequency: sum of linear amplitudes over windows.
    sums: Vec<f64>,
    windows: u64,
    /// Sum of squares of every sample (for the overall level).
    energy: f64,
    samples: u64,
}

impl ToneMeter {
    /// A meter for `freqs` (Hz).
    pub fn new(freqs: Vec<f64>) -> Self {
        let n = freqs.len();
        Self {
            freqs,
            window: Vec::with_capacity(WINDOW),
            hann: hann(WINDOW),
            windowed: Vec::with_capacity(WINDOW),
            sums: vec![0.0; n],
            windows: 0,
            energy: 0.0,
            samples: 0,
        }
    }

    /// Feeds decoded samples (48 kHz mono).
    pub fn push(&mut self, pcm: &[i16]) {
        for &x in pcm {
            self.energy += (x as f64) * (x as f64);
        }
        self.samples += pcm.len() as u64;
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (WINDOW - self.window.len()).min(rest.len());
            self.window.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.window.len() == WINDOW {
                apply_window(&self.window, &self.hann, &mut self.windowed);
                for (f, sum) in self.freqs.iter().zip(&mut self.sums) {
                    *sum += 10f64.powf(windowed_dbfs(&self.windowed, *f) / 20.0);
                }
                self.windows += 1;
                self.window.clear();
            }
        }
    }

    /// Per frequency: its mean level in dBFS over the complete windows.
    pub fn levels(&self) -> Vec<(f64, f64)> {
        self.freqs
            .iter()
            .zip(&self.sums)
            .map(|(&f, &sum)| {
                let mean = if self.windows == 0 {
                    0.0
                } else {
                    sum / self.windows as f64
                };
                (f, 20.0 * mean.max(1e-8).log10())
            })
            .collect()
    }

    /// The overall RMS level of everything received, in dBFS.
    pub fn rms_dbfs(&self) -> f64 {
        if self.samples == 0 {
            return -150.0;
        }
        let rms = (self.energy / self.samples as f64).sqrt();
        20.0 * (rms * std::f64::consts::SQRT_2 / 32767.0).max(1e-8).log10()
    }

    /// Seconds of audio analysed.
    pub fn seconds(&self) -> f64 {
        self.samples as f64 / SAMPLE_RATE as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcu_mixer::synth::SineTone;

    #[test]
    fn a_tone_is_measured_at_its_level_and_others_are_far_below() {
        let mut a = SineTone::new(440.0, 3277); // -20 dBFS
        let mut b = SineTone::new(700.0, 1036); // -30 dBFS
        let mut m = ToneMeter::new(vec![440.0, 550.0, 700.0]);
        for _ in 0..50 {
            let mixed: Vec<i16> = a
                .next_frame()
                .iter()
                .zip(b.next_frame())
                .map(|(x, y)| x + y)
                .collect();
            m.push(&mixed);
        }
        let l = m.levels();
        assert!((l[0].1 + 20.0).abs() < 0.5, "{l:?}");
        assert!(l[1].1 < -70.0, "{l:?}");
        assert!((l[2].1 + 30.0).abs() < 0.5, "{l:?}");
        assert!((m.seconds() - 1.0).abs() < 1e-9);
    }
}
