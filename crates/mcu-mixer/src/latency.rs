//! A histogram of durations in 1 ms buckets up to one second (longer ones
//! share a last bucket): the MCU-added latency of the composites — from a
//! source frame's arrival to the encoded picture that first shows it.
//! Fixed size, no allocation per sample.

use std::time::Duration;

/// Buckets of 1 ms: 0..=999 ms, then one for a second or more.
const BUCKETS: usize = 1001;

/// Counts durations; reads quantiles at 1 ms resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    buckets: Box<[u64; BUCKETS]>,
    count: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: Box::new([0; BUCKETS]),
            count: 0,
        }
    }
}

impl LatencyHistogram {
    /// Counts one duration.
    pub fn record(&mut self, d: Duration) {
        let ms = usize::try_from(d.as_millis()).unwrap_or(usize::MAX);
        self.buckets[ms.min(BUCKETS - 1)] += 1;
        self.count += 1;
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest whole millisecond at or below which a fraction `q`
    /// (0.0–1.0) of the durations lie (a second for those past the last
    /// bucket); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        let ms = self
            .buckets
            .iter()
            .position(|&n| {
                seen += n;
                seen >= rank
            })
            .unwrap_or(BUCKETS - 1);
        Some(Duration::from_millis(ms as u64))
    }

    /// Forgets every duration.
    pub fn clear(&mut self) {
        self.buckets.fill(0);
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_known_durations() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms) + Duration::from_micros(300));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(h.quantile(0.95), Some(Duration::from_millis(95)));
        assert_eq!(h.quantile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(h.quantile(0.0), Some(Duration::from_millis(1)));
        h.record(Duration::from_secs(7));
        assert_eq!(h.quantile(1.0), Some(Duration::from_secs(1)), "capped");
        h.clear();
        assert_eq!((h.count(), h.quantile(0.5)), (0, None));
    }
}
