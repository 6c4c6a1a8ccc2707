//! `cargo bench --bench rtp`: H.264 RTP packetizing and depacketizing of 720p
//! access units at the default 1200-byte payload size.
//!
//! Group `rtp`: `packetize_720p_idr_50kB`, `packetize_720p_p_8kB`,
//! `depacketize_720p_idr_50kB`, `depacketize_720p_p_8kB`. The access units are
//! synthetic (random slice data with emulation prevention, so the start-code
//! scan sees realistic zero bytes); the cost does not depend on the content.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcu_signalling::rtp::{
    DepacketizeEvent, H264Depacketizer, H264DepacketizerConfig, H264Packetizer,
    H264PacketizerConfig, PacketBatch,
};

/// Deterministic xorshift64 bytes.
struct Rng(u64);

impl Rng {
    fn byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}

/// A NAL unit of about `len` bytes: `header` then random bytes with
/// emulation-prevention bytes inserted, as an encoder writes them.
fn nal(header: u8, len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![header];
    let mut zeros = 0;
    while v.len() < len {
        let b = rng.byte();
        if zeros >= 2 && b <= 3 {
            v.push(3);
            zeros = 0;
        }
        v.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    if v.last() == Some(&0) {
        v.push(0x80); // rbsp trailing bits
    }
    v
}

fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    nals.iter()
        .flat_map(|n| [0, 0, 0, 1].iter().chain(n.iter()).copied())
        .collect()
}

/// SPS + PPS + a 50 kB IDR slice.
fn idr_50k(rng: &mut Rng) -> Vec<u8> {
    annex_b(&[
        vec![
            0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xEC, 0x04, 0x40,
        ],
        vec![0x68, 0xCE, 0x3C, 0x80],
        nal(0x65, 50_000, rng),
    ])
}

/// One 8 kB P slice.
fn p_8k(rng: &mut Rng) -> Vec<u8> {
    annex_b(&[nal(0x41, 8_000, rng)])
}

fn packetize(c: &mut Criterion, name: &str, au: &[u8]) {
    let mut tx = H264Packetizer::new(H264PacketizerConfig::default(), 0).expect("valid config");
    let mut batch = PacketBatch::new();
    let mut ts = 0u32;
    let mut group = c.benchmark_group("rtp");
    group.throughput(Throughput::Bytes(au.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            ts = ts.wrapping_add(3000);
            tx.packetize(black_box(au), ts, &mut batch)
                .expect("valid access unit");
            black_box(batch.len());
        })
    });
    group.finish();
}

fn depacketize(c: &mut Criterion, name: &str, au: &[u8]) {
    let mut tx = H264Packetizer::new(H264PacketizerConfig::default(), 0).expect("valid config");
    let mut batch = PacketBatch::new();
    tx.packetize(au, 0, &mut batch).expect("valid access unit");
    let payloads: Vec<(bool, Vec<u8>)> = batch
        .iter()
        .map(|p| (p.marker, p.payload.to_vec()))
        .collect();
    let mut rx = H264Depacketizer::new(H264DepacketizerConfig {
        wait_for_first_keyframe: false,
        ..H264DepacketizerConfig::default()
    });
    let mut seq = 0u16;
    let mut ts = 0u32;
    let mut group = c.benchmark_group("rtp");
    group.throughput(Throughput::Bytes(au.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            ts = ts.wrapping_add(3000);
            for (marker, payload) in &payloads {
                rx.push(seq, ts, *marker, black_box(payload))
                    .expect("valid payload");
                seq = seq.wrapping_add(1);
            }
            match rx.poll_event() {
                Some(DepacketizeEvent::AccessUnit(unit)) => {
                    black_box(&unit.data);
                    rx.recycle(unit.data);
                }
                other => panic!("expected an access unit, got {other:?}"),
            }
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let idr = idr_50k(&mut rng);
    let p = p_8k(&mut rng);
    packetize(c, "packetize_720p_idr_50kB", &idr);
    packetize(c, "packetize_720p_p_8kB", &p);
    depacketize(c, "depacketize_720p_idr_50kB", &idr);
    depacketize(c, "depacketize_720p_p_8kB", &p);
}

criterion_group!(benches, bench);
criterion_main!(benches);
