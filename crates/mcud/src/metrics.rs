//! The Prometheus text exposition of the daemon's conferences (R11: the
//! operators' monitoring). Plain formatting, no client library.

use std::fmt::Write;

use mcu_signalling::protocol::ConferenceId;

use crate::media::MediaStats;

/// Metric families: name, type, help, and how to read the value.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&MediaStats) -> f64,
);

const FAMILIES: &[Family] = &[
    (
        "mcu_participants",
        "gauge",
        "Participants with media in the conference.",
        |s| s.participants as f64,
    ),
    (
        "mcu_mix_ticks_total",
        "counter",
        "Mixer ticks run (video and audio, with decodes and encodes).",
        |s| s.ticks as f64,
    ),
    (
        "mcu_mix_tick_seconds_total",
        "counter",
        "Time spent in mixer ticks.",
        |s| s.tick_seconds,
    ),
    (
        "mcu_mix_tick_seconds_max",
        "gauge",
        "Longest mixer tick since the conference started.",
        |s| s.tick_seconds_max,
    ),
    (
        "mcu_video_ticks_total",
        "counter",
        "Composite pictures produced.",
        |s| s.mixer.video_ticks as f64,
    ),
    (
        "mcu_video_ticks_skipped_total",
        "counter",
        "Output frames dropped because the media thread was late.",
        |s| s.mixer.video_ticks_skipped as f64,
    ),
    (
        "mcu_audio_ticks_skipped_total",
        "counter",
        "Audio mixes skipped because the media thread was late.",
        |s| s.mixer.audio_ticks_skipped as f64,
    ),
    (
        "mcu_frames_decoded_total",
        "counter",
        "Received video frames decoded.",
        |s| s.mixer.frames_decoded as f64,
    ),
    (
        "mcu_frames_not_visible_total",
        "counter",
        "Received video frames not decoded (sender in no tile).",
        |s| s.mixer.frames_not_visible as f64,
    ),
    (
        "mcu_frames_waiting_keyframe_total",
        "counter",
        "Received video frames dropped while waiting for a keyframe.",
        |s| s.mixer.frames_waiting_keyframe as f64,
    ),
    (
        "mcu_video_decode_errors_total",
        "counter",
        "Received video frames the decoder rejected.",
        |s| s.mixer.decode_errors as f64,
    ),
    (
        "mcu_audio_frames_dropped_total",
        "counter",
        "Received audio frames dropped (queue full).",
        |s| s.mixer.audio_frames_dropped as f64,
    ),
    (
        "mcu_audio_decode_errors_total",
        "counter",
        "Received audio packets the decoder rejected.",
        |s| s.mixer.audio_decode_errors as f64,
    ),
];

/// The exposition text for these conferences.
pub fn render(conferences: &[(ConferenceId, MediaStats)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP mcu_conferences Conferences with a running media thread."
    );
    let _ = writeln!(out, "# TYPE mcu_conferences gauge");
    let _ = writeln!(out, "mcu_conferences {}", conferences.len());
    for (name, kind, help, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (id, stats) in conferences {
            // Conference ids are [A-Za-z0-9._-]: nothing to escape in a label.
            let _ = writeln!(
                out,
                "{name}{{conference=\"{}\"}} {}",
                id.as_str(),
                value(stats)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_typed_and_labelled_per_conference() {
        let stats = MediaStats {
            participants: 3,
            ticks: 10,
            tick_seconds: 0.05,
            ..Default::default()
        };
        let text = render(&[(ConferenceId::new("giao-ban").unwrap(), stats)]);
        assert!(text.contains("mcu_conferences 1\n"));
        assert!(text.contains("mcu_participants{conference=\"giao-ban\"} 3\n"));
        assert!(text.contains("mcu_mix_tick_seconds_total{conference=\"giao-ban\"} 0.05\n"));
        for (name, kind, ..) in FAMILIES {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
        }
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, FAMILIES.len() + 1);
    }
}
