//! The Prometheus text exposition of the daemon's conferences (R11: the
//! operators' monitoring). Plain formatting, no client library.

use std::fmt::Write;

use mcu_signalling::protocol::ConferenceId;

use crate::media::MediaStats;
use crate::quality::ParticipantQuality;
use mcu_signalling::rtp::StreamQuality;

/// Every participant's figures with its conference id.
fn participants(
    conferences: &[(ConferenceId, MediaStats)],
) -> impl Iterator<Item = (&str, &ParticipantQuality)> {
    conferences
        .iter()
        .flat_map(|(id, s)| s.quality.iter().map(move |q| (id.as_str(), q)))
}

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
        "mcu_added_latency_p50_seconds",
        "gauge",
        "Median time from a source picture's arrival to the encoded composite showing it, last 10 s.",
        |s| s.added_latency_seconds[0].unwrap_or(f64::NAN),
    ),
    (
        "mcu_added_latency_p95_seconds",
        "gauge",
        "95th percentile of the same, last 10 s.",
        |s| s.added_latency_seconds[1].unwrap_or(f64::NAN),
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
        "mcu_audio_frames_concealed_total",
        "counter",
        "Received audio frames lost and concealed by the decoder.",
        |s| s.mixer.audio_frames_concealed as f64,
    ),
    (
        "mcu_audio_decode_errors_total",
        "counter",
        "Received audio packets the decoder rejected.",
        |s| s.mixer.audio_decode_errors as f64,
    ),
    (
        "mcu_video_decode_seconds_total",
        "counter",
        "Time spent decoding received video.",
        |s| s.mixer.video_decode_ns as f64 / 1e9,
    ),
    (
        "mcu_video_compose_seconds_total",
        "counter",
        "Time spent compositing the output groups' pictures.",
        |s| s.mixer.video_compose_ns as f64 / 1e9,
    ),
    (
        "mcu_video_encode_seconds_total",
        "counter",
        "Time spent encoding the output groups' video.",
        |s| s.mixer.video_encode_ns as f64 / 1e9,
    ),
    (
        "mcu_audio_tick_seconds_total",
        "counter",
        "Time spent mixing and encoding audio.",
        |s| s.mixer.audio_tick_ns as f64 / 1e9,
    ),
    (
        "mcu_alarms_active",
        "gauge",
        "Alarms raised and not cleared (loss, freeze, drop).",
        |s| s.alarms_active.len() as f64,
    ),
];

/// Per-participant families of each incoming stream (labelled `media`
/// video / audio): name, help, value.
type StreamFamily = (&'static str, &'static str, fn(&StreamQuality) -> f64);

const STREAM_FAMILIES: &[StreamFamily] = &[
    (
        "mcu_participant_loss_ratio",
        "Packets lost over the last sample period (0-1), per incoming stream.",
        |q| q.loss,
    ),
    (
        "mcu_participant_jitter_seconds",
        "Interarrival jitter of the incoming stream.",
        |q| q.jitter_ms / 1000.0,
    ),
    (
        "mcu_participant_bitrate_bps",
        "Bits per second received over the last sample period.",
        |q| q.bitrate_bps,
    ),
    (
        "mcu_participant_fps",
        "Frames per second received (video: pictures; audio: packets).",
        |q| q.fps,
    ),
];

/// A label value with `\`, `"` and line feeds escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

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
    let _ = writeln!(
        out,
        "# HELP mcu_alarms_raised_total Alarms raised since the conference started."
    );
    let _ = writeln!(out, "# TYPE mcu_alarms_raised_total counter");
    for (id, stats) in conferences {
        for (kind, n) in &stats.alarms_raised {
            let _ = writeln!(
                out,
                "mcu_alarms_raised_total{{conference=\"{}\",kind=\"{}\"}} {n}",
                id.as_str(),
                kind.as_str()
            );
        }
    }
    for (name, help, value) in STREAM_FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (id, q) in participants(conferences) {
            for (media, stream) in [("video", &q.video), ("audio", &q.audio)] {
                let _ = writeln!(
                    out,
                    "{name}{{conference=\"{id}\",endpoint=\"{}\",media=\"{media}\"}} {}",
                    label(&q.endpoint),
                    value(stream)
                );
            }
        }
    }
    let name = "mcu_participant_rtt_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Round-trip time on the participant's media path."
    );
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (id, q) in participants(conferences) {
        if let Some(rtt) = q.rtt {
            let _ = writeln!(
                out,
                "{name}{{conference=\"{id}\",endpoint=\"{}\"}} {}",
                label(&q.endpoint),
                rtt.as_secs_f64()
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

    #[test]
    fn participants_quality_and_alarms_are_labelled_by_endpoint() {
        use crate::quality::AlarmKind;
        use std::time::Duration;
        let quality = ParticipantQuality {
            endpoint: "son-duong".into(),
            rtt: Some(Duration::from_millis(42)),
            video: StreamQuality {
                loss: 0.05,
                jitter_ms: 12.0,
                bitrate_bps: 800_000.0,
                fps: 30.0,
                ..Default::default()
            },
            audio: StreamQuality::default(),
            ..Default::default()
        };
        let stats = MediaStats {
            quality: vec![
                quality.clone(),
                ParticipantQuality {
                    endpoint: "odd\"id".into(),
                    rtt: None,
                    ..quality
                },
            ],
            alarms_raised: vec![(AlarmKind::Loss, 2)],
            mixer: mcu_mixer::mixer::MixerStats {
                video_encode_ns: 1_500_000_000,
                ..Default::default()
            },
            ..Default::default()
        };
        let text = render(&[(ConferenceId::new("giao-ban").unwrap(), stats)]);
        for line in [
            "mcu_participant_loss_ratio{conference=\"giao-ban\",endpoint=\"son-duong\",media=\"video\"} 0.05",
            "mcu_participant_jitter_seconds{conference=\"giao-ban\",endpoint=\"son-duong\",media=\"video\"} 0.012",
            "mcu_participant_bitrate_bps{conference=\"giao-ban\",endpoint=\"son-duong\",media=\"video\"} 800000",
            "mcu_participant_fps{conference=\"giao-ban\",endpoint=\"son-duong\",media=\"audio\"} 0",
            "mcu_participant_rtt_seconds{conference=\"giao-ban\",endpoint=\"son-duong\"} 0.042",
            "mcu_participant_fps{conference=\"giao-ban\",endpoint=\"odd\\\"id\",media=\"video\"} 30",
            "mcu_alarms_raised_total{conference=\"giao-ban\",kind=\"loss\"} 2",
            "mcu_video_encode_seconds_total{conference=\"giao-ban\"} 1.5",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert!(
            !text.contains("mcu_participant_rtt_seconds{conference=\"giao-ban\",endpoint=\"odd"),
            "no RTT line before one is measured"
        );
    }
}
