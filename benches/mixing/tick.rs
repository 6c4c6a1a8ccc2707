//! Group `tick`: one full video tick of a conference — decode 9 × 640×360
//! H.264 access units, composite them into a 3×3 1280×720 canvas with name
//! labels, encode one output — through the real `ConferenceMixer`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mcu_mixer::ParticipantId;
use mcu_mixer::codec::{H264Encoder, H264EncoderConfig, VideoEncoder};
use mcu_mixer::frame::Yuv;
use mcu_mixer::layout::LayoutLibrary;
use mcu_mixer::mixer::{ConferenceMixer, ConferenceMixerConfig, ViewSpec};
use mcu_mixer::synth::SyntheticVideo;

const SOURCES: usize = 9;
/// Frames per source loop: an IDR then P-frames, replayed cyclically.
const LOOP: usize = 60;

const NAMES: [&str; SOURCES] = [
    "UBND tỉnh Tuyên Quang",
    "UBND huyện Sơn Dương",
    "UBND huyện Yên Sơn",
    "UBND huyện Hàm Yên",
    "UBND huyện Chiêm Hóa",
    "UBND huyện Na Hang",
    "UBND huyện Lâm Bình",
    "UBND thành phố Tuyên Quang",
    "Sở Thông tin và Truyền thông",
];

/// Each source's access units, encoded once up front at 640×360, 600 kbit/s.
fn encode_sources() -> Vec<Vec<Vec<u8>>> {
    (0..SOURCES)
        .map(|i| {
            let hue = (i as u32 * 28) as u8;
            let mut video = SyntheticVideo::new(640, 360, Yuv::from_rgb(hue, 255 - hue, 90))
                .expect("valid size");
            let mut enc = H264Encoder::new(H264EncoderConfig {
                bitrate_bps: 600_000,
                ..H264EncoderConfig::default()
            })
            .expect("valid encoder config");
            let mut out = Vec::new();
            (0..LOOP)
                .map(|n| {
                    if n == 0 {
                        enc.force_keyframe();
                    }
                    let e = enc
                        .encode(video.next_frame(), n as u64 * 33, &mut out)
                        .expect("encode");
                    out[..e.bytes].to_vec()
                })
                .collect()
        })
        .collect()
}

pub fn bench(c: &mut Criterion) {
    let streams = encode_sources();
    let start = Instant::now();
    let mut mixer = ConferenceMixer::new(
        start,
        ConferenceMixerConfig::default(),
        LayoutLibrary::with_templates(),
    )
    .expect("mixer");
    let view = ViewSpec::new("3x3", 1280, 720);
    for (i, name) in NAMES.iter().enumerate() {
        mixer
            .add_participant(ParticipantId(i as u64 + 1), name, view.clone())
            .expect("join");
    }
    // First tick fills the slots so every source is visible (and decoded).
    mixer.video_tick(start);
    while mixer.poll_output().is_some() {}

    let mut group = c.benchmark_group("tick");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    let mut n = 0usize;
    let mut now = start;
    group.bench_function("decode9x360p_composite3x3_720p_encode", |b| {
        b.iter(|| {
            now += Duration::from_millis(33);
            let frame = n % LOOP;
            for (i, stream) in streams.iter().enumerate() {
                mixer
                    .handle_video(now, ParticipantId(i as u64 + 1), &stream[frame])
                    .expect("known participant");
            }
            mixer.video_tick(now);
            while let Some(out) = mixer.poll_output() {
                black_box(out);
            }
            n += 1;
        })
    });
    group.finish();
    assert_eq!(
        mixer.stats().frames_waiting_keyframe,
        0,
        "every source was decoded from its first access unit"
    );
}
