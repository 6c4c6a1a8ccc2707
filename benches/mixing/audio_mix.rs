//! `audio_mix`: one full 20 ms tick of the N-1 mixer (hand in N frames, mix,
//! read every output). Target: N = 100 ≤ 10 µs median.
//!
//! The frames are handed in the way the conference mixer does it:
//! [`AudioMixer::mix_frames`] reads each decoded frame where the caller keeps
//! it (the conference mixer's per-participant queue, here `input`), in id
//! order, and hands each mixed participant's own output to a sink as it is
//! computed (where the conference mixer encodes it); here the sink reads a
//! sample of it. Everyone else hears the full mix, read once per listener.
//!
//! Cases:
//! - `n16`, `n50`, `n100`: every participant sends speech-level audio
//!   (noise at about -26 dBov) and everyone is mixed (`max_mixed: None`): the
//!   honest worst case, with the sum far above the soft-clip knee at N = 100.
//! - `n100_quiet`: N = 100 sending room noise (about -50 dBov), all mixed: the
//!   sum stays below the knee (the SIMD fast path).
//! - `n100_top4`: N = 100 speech-level, default config (4 loudest mixed).

use criterion::{BenchmarkId, Criterion};
use mcu_mixer::ParticipantId;
use mcu_mixer::audio::{AudioMixer, FRAME_SAMPLES, MixerConfig};
use std::hint::black_box;

fn frames(n: usize, amplitude: i32) -> Vec<Vec<i16>> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            (0..FRAME_SAMPLES)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x % (2 * amplitude as u64 + 1)) as i32 - amplitude) as i16
                })
                .collect()
        })
        .collect()
}

fn case(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
    amplitude: i32,
    config: MixerConfig,
) {
    let input = frames(n, amplitude);
    let mut mixer = AudioMixer::with_config(config);
    for p in 0..n as u64 {
        mixer.add(ParticipantId(p)).expect("fresh ids");
    }
    c.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| {
            let (mut check, mut own) = (0i32, 0usize);
            mixer
                .mix_frames(
                    input
                        .iter()
                        .enumerate()
                        .map(|(p, f)| (ParticipantId(p as u64), &f[..])),
                    |id, samples| {
                        // `black_box`: the output must really be computed
                        // and read here, before the next participant's
                        // output overwrites it.
                        check += i32::from(black_box(samples)[7]);
                        black_box(id);
                        own += 1;
                    },
                )
                .expect("known ids, full frames");
            for _ in own..n {
                check += i32::from(black_box(mixer.full_mix())[7]);
            }
            black_box(check)
        })
    });
}

pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audio_mix");
    // Uniform noise of peak A has RMS A/√3: 3000 → about -24.3 dBov.
    let all = MixerConfig { max_mixed: None };
    for n in [16, 50, 100] {
        case(&mut g, &format!("n{n}"), n, 3000, all);
    }
    case(&mut g, "n100_quiet", 100, 150, all);
    case(&mut g, "n100_top4", 100, 3000, MixerConfig::default());
    g.finish();
}
