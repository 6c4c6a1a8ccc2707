//! A constrained downlink: the endpoint's incoming media goes through a
//! link of a set rate with a bounded queue, as a commune's slow line would
//! carry it. Packets wait their turn (queueing delay grows as the sender
//! exceeds the rate) and are dropped once the queue holds more than
//! [`Bottleneck::max_delay`] of them — what a congestion controller on the
//! sending side (the MCU) must notice from the endpoint's feedback.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A first-in first-out link of `rate` bit/s.
#[derive(Debug)]
pub struct Bottleneck {
    rate_bps: u64,
    max_delay: Duration,
    /// When the link finishes sending what it holds.
    busy_until: Option<Instant>,
    queue: VecDeque<(Instant, SocketAddr, Vec<u8>)>,
    dropped: u64,
}

impl Bottleneck {
    /// A link of `rate_bps` whose queue holds at most `max_delay` of traffic.
    pub fn new(rate_bps: u64, max_delay: Duration) -> Self {
        Self {
            rate_bps: rate_bps.max(1),
            max_delay,
            busy_until: None,
            queue: VecDeque::new(),
            dropped: 0,
        }
    }

    /// The link's rate, bit/s.
    pub fn rate_bps(&self) -> u64 {
        self.rate_bps
    }

    /// The most queueing delay before packets are dropped.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Packets dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A datagram arrives at the link at `now`: queued, or dropped when
    /// the queue is full.
    pub fn push(&mut self, now: Instant, from: SocketAddr, bytes: Vec<u8>) {
        let start = self.busy_until.map_or(now, |t| t.max(now));
        if start.saturating_duration_since(now) > self.max_delay {
            self.dropped += 1;
            return;
        }
        let air = Duration::from_nanos(bytes.len() as u64 * 8 * 1_000_000_000 / self.rate_bps);
        let done = start + air;
        self.busy_until = Some(done);
        self.queue.push_back((done, from, bytes));
    }

    /// The next datagram that has crossed the link by `now`.
    pub fn pop(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        if self.queue.front().is_some_and(|(t, _, _)| *t <= now) {
            self.queue.pop_front().map(|(_, from, bytes)| (from, bytes))
        } else {
            None
        }
    }

    /// When the next datagram crosses the link.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _, _)| *t)
    }

    /// Everything still queued, in order (the link is lifted).
    pub fn drain(&mut self) -> impl Iterator<Item = (SocketAddr, Vec<u8>)> + '_ {
        self.queue.drain(..).map(|(_, from, bytes)| (from, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn from() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn packets_cross_at_the_link_rate_in_order() {
        let t0 = Instant::now();
        // 1 Mbit/s: 1250 bytes take 10 ms.
        let mut link = Bottleneck::new(1_000_000, 200 * MS);
        link.push(t0, from(), vec![1; 1250]);
        link.push(t0, from(), vec![2; 1250]);
        assert_eq!(link.poll_timeout(), Some(t0 + 10 * MS));
        assert!(link.pop(t0 + 9 * MS).is_none());
        assert_eq!(link.pop(t0 + 10 * MS).unwrap().1[0], 1);
        assert!(link.pop(t0 + 19 * MS).is_none());
        assert_eq!(link.pop(t0 + 20 * MS).unwrap().1[0], 2);
        // An idle link sends at once.
        link.push(t0 + 100 * MS, from(), vec![3; 125]);
        assert_eq!(link.poll_timeout(), Some(t0 + 101 * MS));
    }

    #[test]
    fn a_sender_above_the_rate_fills_the_queue_then_loses_packets() {
        let t0 = Instant::now();
        let mut link = Bottleneck::new(500_000, 100 * MS);
        // 1 Mbit/s offered for one second: 100 packets of 1250 bytes.
        let mut delivered = 0;
        for i in 0..100u32 {
            let now = t0 + i * 10 * MS;
            link.push(now, from(), vec![0; 1250]);
            while link.pop(now).is_some() {
                delivered += 1;
            }
        }
        // Half the offered rate gets through; the queue holds ~100 ms.
        assert!((45..=52).contains(&delivered), "{delivered}");
        assert!((40..=50).contains(&link.dropped()), "{}", link.dropped());
        let wait = link.poll_timeout().unwrap() - (t0 + 990 * MS);
        assert!(wait <= 100 * MS, "{wait:?}");
        assert_eq!(
            link.drain().count() as u64,
            100 - delivered - link.dropped()
        );
    }
}
