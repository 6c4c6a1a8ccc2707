//! `mcud demo` writes a playable H.264 stream and a WAV of the N-1 mix.

use std::path::Path;
use std::process::Command;

use mcu_mixer::codec::{H264Decoder, VideoDecoder};
use mcu_mixer::frame::PixelRect;

/// Splits an Annex-B stream into access units at each slice's first NAL
/// (an SPS/PPS run starts a new unit too).
fn access_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    let mut in_unit_with_slice = false;
    while i + 3 < stream.len() {
        let (is_start, len) = if stream[i..].starts_with(&[0, 0, 0, 1]) {
            (true, 4)
        } else if stream[i..].starts_with(&[0, 0, 1]) {
            (true, 3)
        } else {
            (false, 1)
        };
        if is_start {
            let nal_type = stream[i + len] & 0x1f;
            let is_slice = nal_type == 1 || nal_type == 5;
            let is_param = nal_type == 7 || nal_type == 8 || nal_type == 9;
            if starts.is_empty() || (in_unit_with_slice && (is_slice || is_param)) {
                starts.push(i);
                in_unit_with_slice = false;
            }
            in_unit_with_slice |= is_slice;
            i += len;
        } else {
            i += 1;
        }
    }
    starts.push(stream.len());
    starts.windows(2).map(|w| &stream[w[0]..w[1]]).collect()
}

#[test]
fn demo_writes_playable_video_and_audio() {
    let out = std::env::temp_dir().join(format!("mcud-demo-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_mcud"))
        .args([
            "demo",
            "--offline",
            "--seconds",
            "2",
            "--size",
            "640x360",
            "--out",
        ])
        .arg(&out)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .status()
        .expect("mcud runs");
    assert!(status.success());

    let video = std::fs::read(out.join("demo.h264")).unwrap();
    let units = access_units(&video);
    assert_eq!(units.len(), 60, "2 s at 30 fps");
    let mut dec = H264Decoder::new().unwrap();
    let mut last = None;
    for au in &units {
        last = dec.decode(au).unwrap().or(last);
    }
    let last = last.expect("pictures decode");
    assert_eq!((last.width(), last.height()), (640, 360));
    // Nine rooms in a 3x3: the tiles are not all one colour.
    let a = last.mean_colour(PixelRect::new(100, 40, 8, 8));
    let b = last.mean_colour(PixelRect::new(320, 40, 8, 8));
    assert!(a.distance(b) > 20, "{a:?} {b:?}");

    let wav = std::fs::read(out.join("demo.wav")).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(wav.len(), 44 + 2 * 48_000 * 2, "2 s of 48 kHz mono");
    assert!(wav[44..].iter().any(|&b| b != 0), "the mix is not silent");

    // An independent decoder agrees it is a playable stream.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
        ])
        .args(["-of", "csv=p=0"])
        .arg(out.join("demo.h264"))
        .output()
        .expect("ffprobe is installed by scripts/setup.sh");
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "h264,60");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcud"))
        .args([
            "demo",
            "--offline",
            "--layout",
            "no-such-layout",
            "--seconds",
            "1",
            "--out",
        ])
        .arg(std::env::temp_dir().join("mcud-never"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown layout"));
    // The live demo takes no options; the offline one checks its values.
    let live = Command::new(env!("CARGO_BIN_EXE_mcud"))
        .args(["demo", "--seconds", "2"])
        .output()
        .unwrap();
    assert_eq!(live.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_mcud"))
        .args(["demo", "--offline", "--seconds", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
