//! The conference mixer end to end in virtual time: layouts filled from the
//! roster, tiles showing the right sources, decode only what is shown,
//! keyframes on demand, output groups shared, N-1 audio through Opus.

use std::time::{Duration, Instant};

use mcu_mixer::ParticipantId;
use mcu_mixer::audio::{FRAME_DURATION, FRAME_SAMPLES, MixerConfig};
use mcu_mixer::codec::{AudioDecoder, H264Encoder, H264EncoderConfig, OpusDecoder, VideoEncoder};
use mcu_mixer::compositor::HIGHLIGHT;
use mcu_mixer::frame::{I420Frame, PixelRect, Yuv};
use mcu_mixer::layout::{Layout, LayoutLibrary};
use mcu_mixer::mixer::{ConferenceMixer, ConferenceMixerConfig, GroupId, MixerOutput, ViewSpec};
use mcu_mixer::synth::SineTone;

const COLOURS: [(u8, u8, u8); 4] = [(220, 30, 30), (30, 200, 40), (30, 60, 220), (230, 200, 30)];

fn colour(i: usize) -> Yuv {
    let (r, g, b) = COLOURS[i];
    Yuv::from_rgb(r, g, b)
}

/// The one real clock read of these tests: the start of virtual time.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn mixer(now: Instant, labels: bool) -> ConferenceMixer {
    let config = ConferenceMixerConfig {
        labels,
        // Every talker gets its own mix in these tests.
        audio: MixerConfig { max_mixed: None },
        ..ConferenceMixerConfig::default()
    };
    ConferenceMixer::new(now, config, LayoutLibrary::with_templates()).unwrap()
}

fn drain(m: &mut ConferenceMixer) -> Vec<MixerOutput> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

fn tile_centre(rect: PixelRect) -> PixelRect {
    PixelRect::new(rect.x + rect.w / 2 - 8, rect.y + rect.h / 2 - 8, 16, 16)
}

fn rects(layout: &str, w: u32, h: u32) -> Vec<PixelRect> {
    Layout::template(layout).unwrap().pixel_rects(w, h)
}

#[test]
fn tiles_show_their_sources_in_join_order() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let view = ViewSpec::new("2x2", 640, 360);
    let mut group = GroupId(0);
    for i in 0..3 {
        let id = ParticipantId(i as u64 + 1);
        group = m
            .add_participant(id, &format!("Điểm cầu {i}"), view.clone())
            .unwrap();
        m.handle_video_frame(id, I420Frame::solid(320, 180, colour(i)).unwrap())
            .unwrap();
    }
    m.video_tick(t0);
    let canvas = m.composite(group).unwrap();
    let r = rects("2x2", 640, 360);
    for (i, &rect) in r.iter().take(3).enumerate() {
        let got = canvas.mean_colour(tile_centre(rect));
        assert!(
            got.distance(colour(i)) <= 3,
            "tile {i}: {got:?} vs {:?}",
            colour(i)
        );
    }
    // The fourth tile is empty: none of the sources' colours.
    let empty = canvas.mean_colour(tile_centre(r[3]));
    assert!((0..3).all(|i| empty.distance(colour(i)) > 30), "{empty:?}");
    assert_eq!(
        m.slots(group).unwrap(),
        &[
            Some(ParticipantId(1)),
            Some(ParticipantId(2)),
            Some(ParticipantId(3)),
            None
        ]
    );
    let outs = drain(&mut m);
    assert!(
        outs.iter()
            .any(|o| matches!(o, MixerOutput::LayoutChanged { .. }))
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, MixerOutput::Video { keyframe: true, .. }))
    );
}

#[test]
fn an_uplink_view_never_shows_its_own_trunk_even_pinned_and_draws_no_labels() {
    let t0 = epoch();
    let mut m = mixer(t0, true);
    let trunk = ParticipantId(1);
    let room = ParticipantId(2);
    let local = ViewSpec::new("2x2", 640, 360);
    let uplink = ViewSpec::new("1x1", 320, 180).for_uplink(trunk);
    // The trunk joined first: in join order it would take the one tile.
    let g = m.add_participant(trunk, "Chính phủ", uplink).unwrap();
    let local_group = m.add_participant(room, "UBND xã Hợp Thành", local).unwrap();
    m.handle_video_frame(trunk, I420Frame::solid(320, 180, colour(0)).unwrap())
        .unwrap();
    m.handle_video_frame(room, I420Frame::solid(320, 180, colour(1)).unwrap())
        .unwrap();
    m.pin(g, 0, Some(trunk)).unwrap();
    m.video_tick(t0);
    assert_eq!(m.slots(g).unwrap(), &[Some(room)]);
    // Full screen and unlabelled: the bottom strip, where a label would be,
    // is the room's colour too.
    let canvas = m.composite(g).unwrap();
    let bottom = canvas.mean_colour(PixelRect::new(0, 150, 320, 30));
    assert!(bottom.distance(colour(1)) <= 3, "{bottom:?}");
    // The local view shows the trunk like anyone else.
    assert!(m.slots(local_group).unwrap().contains(&Some(trunk)));
    // Renaming redraws the label of a labelled view.
    let before = m.composite(local_group).unwrap().clone();
    m.set_name(trunk, "UBND xã Hợp Thành › Tuyên Quang")
        .unwrap();
    m.video_tick(t0 + Duration::from_millis(34));
    assert_ne!(
        m.composite(local_group).unwrap().plane(0).data,
        before.plane(0).data,
        "the new name is drawn"
    );
    assert!(m.set_name(ParticipantId(9), "x").is_err());
}

#[test]
fn leaving_frees_the_tile_and_a_silent_source_shows_a_placeholder() {
    let t0 = epoch();
    let mut m = mixer(t0, true);
    let view = ViewSpec::new("2x2", 640, 360);
    let a = ParticipantId(1);
    let b = ParticipantId(2);
    let g = m
        .add_participant(a, "UBND huyện Sơn Dương", view.clone())
        .unwrap();
    m.add_participant(b, "Xã Đồng Quý", view).unwrap();
    m.handle_video_frame(a, I420Frame::solid(320, 180, colour(0)).unwrap())
        .unwrap();
    m.video_tick(t0);
    let r = rects("2x2", 640, 360);
    let placeholder = m.composite(g).unwrap().mean_colour(tile_centre(r[1]));
    let empty = m.composite(g).unwrap().mean_colour(tile_centre(r[2]));
    assert_ne!(
        placeholder, empty,
        "a room without video is not shown as an empty tile"
    );

    m.remove_participant(b).unwrap();
    m.video_tick(t0 + Duration::from_millis(33));
    assert_eq!(m.slots(g).unwrap(), &[Some(a), None, None, None]);
    let now_empty = m.composite(g).unwrap().mean_colour(tile_centre(r[1]));
    assert_eq!(now_empty, empty);
    assert!(m.remove_participant(b).is_err());
}

#[test]
fn a_video_mute_shows_the_placeholder_and_the_unmute_asks_for_a_keyframe() {
    let t0 = epoch();
    let mut m = mixer(t0, true);
    let view = ViewSpec::new("2x2", 640, 360);
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    let g = m
        .add_participant(a, "UBND huyện Sơn Dương", view.clone())
        .unwrap();
    m.add_participant(b, "Xã Đồng Quý", view).unwrap();
    let r = rects("2x2", 640, 360);
    // b never sends: its tile is the placeholder to compare with.
    m.handle_video_frame(a, I420Frame::solid(320, 180, colour(0)).unwrap())
        .unwrap();
    m.video_tick(t0);
    let shown = m.composite(g).unwrap().mean_colour(tile_centre(r[0]));
    let placeholder = m.composite(g).unwrap().mean_colour(tile_centre(r[1]));
    assert_ne!(shown, placeholder);

    m.set_video_muted(t0, a, true).unwrap();
    m.handle_video_frame(a, I420Frame::solid(320, 180, colour(0)).unwrap())
        .unwrap();
    m.video_tick(t0 + Duration::from_millis(33));
    let muted = m.composite(g).unwrap().mean_colour(tile_centre(r[0]));
    // The placeholder (its name is drawn over it, so compare its colour, not its text).
    assert_ne!(muted, shown, "a muted camera is not a frozen picture");
    assert_eq!(
        (muted.u, muted.v),
        (placeholder.u, placeholder.v),
        "a muted camera is a placeholder"
    );
    drain(&mut m);

    m.set_video_muted(t0 + Duration::from_millis(40), a, false)
        .unwrap();
    let asked = drain(&mut m)
        .into_iter()
        .any(|o| matches!(o, MixerOutput::RequestKeyframe { from } if from == a));
    assert!(asked, "the unmute asks the room for a keyframe");
    m.handle_video_frame(a, I420Frame::solid(320, 180, colour(0)).unwrap())
        .unwrap();
    m.video_tick(t0 + Duration::from_millis(66));
    assert_eq!(
        m.composite(g).unwrap().mean_colour(tile_centre(r[0])),
        shown
    );
    assert!(m.set_video_muted(t0, ParticipantId(9), true).is_err());
}

/// Encodes one solid-colour source picture per call.
struct Sender {
    enc: H264Encoder,
    frame: I420Frame,
    out: Vec<u8>,
    ts: u64,
}

impl Sender {
    fn new(c: Yuv) -> Self {
        Self {
            enc: H264Encoder::new(H264EncoderConfig {
                bitrate_bps: 300_000,
                ..H264EncoderConfig::default()
            })
            .unwrap(),
            frame: I420Frame::solid(320, 180, c).unwrap(),
            out: Vec::new(),
            ts: 0,
        }
    }

    fn next(&mut self) -> Vec<u8> {
        self.ts += 33;
        let e = self
            .enc
            .encode(&self.frame, self.ts, &mut self.out)
            .unwrap();
        self.out[..e.bytes].to_vec()
    }
}

#[test]
fn hidden_sources_are_not_decoded_and_get_a_keyframe_request_when_shown() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    let g = m
        .add_participant(a, "A", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    m.add_participant(b, "B", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut sa = Sender::new(colour(0));
    let mut sb = Sender::new(colour(1));
    let mut now = t0;
    m.video_tick(now);
    drain(&mut m);
    for _ in 0..10 {
        now += Duration::from_millis(33);
        m.handle_video(now, a, &sa.next()).unwrap();
        m.handle_video(now, b, &sb.next()).unwrap();
        m.video_tick(now);
    }
    let s = m.stats();
    assert_eq!(s.frames_decoded, 10, "only the shown source is decoded");
    assert_eq!(
        s.frames_not_visible, 10,
        "the hidden source's frames are dropped"
    );
    assert!(
        drain(&mut m)
            .iter()
            .all(|o| !matches!(o, MixerOutput::RequestKeyframe { from } if *from == b))
    );

    // b becomes visible: a 2x2 layout for the group.
    let g2 = m.set_group_layout(g, "2x2").unwrap();
    now += Duration::from_millis(33);
    m.video_tick(now);
    let outs = drain(&mut m);
    assert!(
        outs.iter()
            .any(|o| matches!(o, MixerOutput::RequestKeyframe { from } if *from == b))
    );
    // Until the IDR arrives b's P-frames are dropped; then it is decoded.
    now += Duration::from_millis(33);
    m.handle_video(now, b, &sb.next()).unwrap();
    assert_eq!(m.stats().frames_waiting_keyframe, 1);
    sb.enc.force_keyframe();
    m.handle_video(now, b, &sb.next()).unwrap();
    m.video_tick(now);
    let r = rects("2x2", 320, 180);
    let got = m.composite(g2).unwrap().mean_colour(tile_centre(r[1]));
    assert!(got.distance(colour(1)) <= 6, "{got:?}");
}

#[test]
fn corrupt_video_is_counted_and_a_keyframe_requested_without_disturbing_others() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    let g = m
        .add_participant(a, "A", ViewSpec::new("2x2", 320, 180))
        .unwrap();
    m.add_participant(b, "B", ViewSpec::new("2x2", 320, 180))
        .unwrap();
    m.video_tick(t0);
    drain(&mut m);
    let mut sa = Sender::new(colour(0));
    let now = t0 + Duration::from_millis(33);
    m.handle_video(now, a, &sa.next()).unwrap();
    let mut garbage = vec![0, 0, 0, 1, 0x65];
    garbage.extend((0..500u32).map(|i| (i * 7919 % 251) as u8));
    m.handle_video(now, b, &garbage).unwrap();
    m.handle_video(now, b, &[0, 0, 1]).unwrap();
    m.handle_video(now, b, &[]).unwrap();
    m.video_tick(now);
    let got = m
        .composite(g)
        .unwrap()
        .mean_colour(tile_centre(rects("2x2", 320, 180)[0]));
    assert!(got.distance(colour(0)) <= 6);
    let s = m.stats();
    assert!(s.decode_errors + s.frames_waiting_keyframe >= 2, "{s:?}");
    // b was asked for a keyframe when it became visible; the next request
    // waits out the request interval, then the corrupt stream triggers one.
    drain(&mut m);
    let later = now + Duration::from_millis(600);
    m.handle_video(later, b, &garbage).unwrap();
    let outs = drain(&mut m);
    assert!(
        outs.iter()
            .any(|o| matches!(o, MixerOutput::RequestKeyframe { from } if *from == b))
    );
    assert!(m.handle_video(now, ParticipantId(9), &garbage).is_err());
}

#[test]
fn viewers_with_the_same_view_share_one_encode() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let same = ViewSpec::new("3x3", 640, 360);
    let g1 = m
        .add_participant(ParticipantId(1), "1", same.clone())
        .unwrap();
    let g2 = m.add_participant(ParticipantId(2), "2", same).unwrap();
    let g3 = m
        .add_participant(ParticipantId(3), "3", ViewSpec::new("1+7", 640, 360))
        .unwrap();
    assert_eq!(g1, g2);
    assert_ne!(g1, g3);
    m.video_tick(t0);
    let videos: Vec<GroupId> = drain(&mut m)
        .into_iter()
        .filter_map(|o| match o {
            MixerOutput::Video { group, .. } => Some(group),
            _ => None,
        })
        .collect();
    assert_eq!(videos.len(), 2, "one encode per group, not per viewer");
    assert_eq!(m.viewers(g1).count(), 2);
    // The last viewer leaving drops the group.
    m.remove_participant(ParticipantId(3)).unwrap();
    assert_eq!(m.groups().count(), 1);
}

#[test]
fn keyframe_requests_are_served_and_rate_limited() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let id = ParticipantId(1);
    m.add_participant(id, "1", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut keyframes = Vec::new();
    let mut now = t0;
    for n in 0..60 {
        if n == 30 || n == 31 || n == 33 {
            m.request_keyframe_for(id).unwrap();
        }
        m.video_tick(now);
        for o in drain(&mut m) {
            if let MixerOutput::Video { keyframe: true, .. } = o {
                keyframes.push(n);
            }
        }
        now += Duration::from_millis(33);
    }
    // The first frame; the burst of three requests costs the IDR at 30 and,
    // for the requests that came after it, one more no sooner than 500 ms later.
    assert_eq!(keyframes, vec![0, 30, 46]);
    assert!(m.request_keyframe_for(ParticipantId(7)).is_err());
}

fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / 48_000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = x as f64 + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2).max(0.0).sqrt() / samples.len() as f64
}

#[test]
fn each_participant_hears_everyone_but_itself_through_opus() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let freqs = [440.0, 880.0, 1760.0];
    let ids: Vec<_> = (1..=4).map(ParticipantId).collect();
    for &id in &ids {
        m.add_participant(id, "x", ViewSpec::new("2x2", 320, 180))
            .unwrap();
    }
    let mut tones: Vec<_> = freqs.iter().map(|&f| SineTone::new(f, 8000)).collect();
    let mut decoders: Vec<_> = ids.iter().map(|_| OpusDecoder::new().unwrap()).collect();
    let mut heard: Vec<Vec<i16>> = vec![Vec::new(); ids.len()];
    let mut pcm = vec![0i16; FRAME_SAMPLES];
    let mut now = t0;
    let mut shared_seen = false;
    for _ in 0..50 {
        for (i, tone) in tones.iter_mut().enumerate() {
            m.handle_audio_pcm(ids[i], tone.next_frame()).unwrap();
        }
        m.audio_tick(now);
        for o in drain(&mut m) {
            if let MixerOutput::Audio { to, data, .. } = o {
                shared_seen |= to.len() > 1 || to == [ids[3]];
                for p in to {
                    let i = ids.iter().position(|&x| x == p).unwrap();
                    decoders[i].decode(Some(&data), &mut pcm).unwrap();
                    heard[i].extend_from_slice(&pcm);
                }
            }
        }
        now += FRAME_DURATION;
    }
    assert!(shared_seen, "the silent listener gets the shared full mix");
    for (i, h) in heard.iter().enumerate() {
        assert_eq!(
            h.len(),
            50 * FRAME_SAMPLES,
            "participant {i} got every packet"
        );
        let tail = &h[h.len() / 2..];
        for (j, &f) in freqs.iter().enumerate() {
            let level = goertzel(tail, f);
            if i == j {
                assert!(
                    level < 100.0,
                    "participant {i} hears its own {f} Hz ({level})"
                );
            } else {
                assert!(level > 1000.0, "participant {i} misses {f} Hz ({level})");
            }
        }
    }
}

#[test]
fn ticks_follow_virtual_time() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    m.add_participant(ParticipantId(1), "1", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut now = t0;
    while now < t0 + Duration::from_secs(1) {
        m.handle_timeout(now);
        drain(&mut m);
        now = m.poll_timeout().max(now + Duration::from_millis(1));
    }
    let s = m.stats();
    assert_eq!(s.audio_ticks, 50);
    assert_eq!(s.video_ticks, 30);
    // A 1 s stall: audio catches up 5 ticks only, video skips frames.
    m.handle_timeout(now + Duration::from_secs(1));
    let s = m.stats();
    assert_eq!(s.audio_ticks, 55);
    assert!(s.audio_ticks_skipped >= 44);
    // Frames 30..=60 fell due in the stall: the newest two (59 now, 60 on
    // the next call) are still sent, the 29 before them skipped.
    assert_eq!(s.video_ticks, 31);
    assert_eq!(s.video_ticks_skipped, 29);
    m.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(m.stats().video_ticks, 32);
    assert_eq!(m.stats().video_ticks_skipped, 29);
}

/// The frames' times (relative to `t0`, in ms) among `outputs`.
fn video_times(outputs: &[MixerOutput], t0: Instant) -> Vec<u128> {
    outputs
        .iter()
        .filter_map(|o| match o {
            MixerOutput::Video { at, .. } => Some((*at - t0).as_millis()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_late_wake_up_sends_the_late_frame_and_keeps_the_cadence() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    m.add_participant(ParticipantId(1), "1", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut times = Vec::new();
    let mut wake = |m: &mut ConferenceMixer, at: Instant| {
        m.handle_timeout(at);
        times.extend(video_times(&drain(m), t0));
    };
    // Frames 0..=9 on time; then the caller wakes 50 ms late for frame 10
    // (due at 333.3 ms): that call sends frame 10, the next one (frame 11's
    // deadline, 366.7 ms, has passed too) frame 11, both stamped with their
    // deadlines; nothing is skipped.
    while m.poll_timeout() < t0 + Duration::from_millis(330) {
        let at = m.poll_timeout();
        wake(&mut m, at);
    }
    wake(&mut m, t0 + Duration::from_millis(384));
    wake(&mut m, t0 + Duration::from_millis(384));
    while m.poll_timeout() <= t0 + Duration::from_millis(500) {
        let at = m.poll_timeout();
        wake(&mut m, at);
    }
    let expected: Vec<u128> = (0..=15).map(|n| n * 1000u128 / 30).collect();
    assert_eq!(times, expected, "every frame, at its own time");
    assert_eq!(m.stats().video_ticks_skipped, 0);
}

#[test]
fn active_speaker_is_highlighted_and_takes_the_main_tile() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let ids: Vec<_> = (1..=3).map(ParticipantId).collect();
    let mut g = GroupId(0);
    for &id in &ids {
        g = m
            .add_participant(id, "x", ViewSpec::new("1+5", 640, 360))
            .unwrap();
    }
    let mut tone = SineTone::new(500.0, 8000);
    let mut now = t0;
    let mut changed = None;
    for _ in 0..150 {
        m.handle_audio_pcm(ids[2], tone.next_frame()).unwrap();
        m.audio_tick(now);
        for o in drain(&mut m) {
            if let MixerOutput::ActiveSpeaker { participant } = o {
                changed = participant;
            }
        }
        now += FRAME_DURATION;
    }
    assert_eq!(changed, Some(ids[2]));
    m.video_tick(now);
    assert_eq!(
        m.slots(g).unwrap()[0],
        Some(ids[2]),
        "the speaker takes the main tile"
    );
    let r = rects("1+5", 640, 360);
    let canvas = m.composite(g).unwrap();
    let edge =
        |rect: PixelRect| canvas.mean_colour(PixelRect::new(rect.x, rect.y + rect.h / 2, 2, 2));
    assert!(
        edge(r[0]).distance(HIGHLIGHT) <= 2,
        "speaker's tile has the border"
    );
    assert!(edge(r[1]).distance(HIGHLIGHT) > 20, "the others do not");
}

#[test]
fn opus_input_is_decoded_bad_packets_are_refused_and_bursts_are_bounded() {
    use mcu_mixer::codec::{AudioEncoder, OpusEncoder, OpusEncoderConfig};
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    m.add_participant(a, "A", ViewSpec::new("2x2", 320, 180))
        .unwrap();
    m.add_participant(b, "B", ViewSpec::new("2x2", 320, 180))
        .unwrap();
    let mut enc = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut tone = SineTone::new(1000.0, 8000);
    let mut packet = Vec::new();
    // A burst of six packets: the queue keeps the newest four.
    for _ in 0..6 {
        enc.encode(tone.next_frame(), &mut packet).unwrap();
        m.handle_audio(a, Some(&packet)).unwrap();
    }
    assert_eq!(m.stats().audio_frames_dropped, 2);
    assert!(m.handle_audio(a, Some(&[0xff; 3])).is_err());
    assert!(m.handle_audio(ParticipantId(9), Some(&packet)).is_err());
    assert_eq!(m.stats().audio_decode_errors, 1);
    // A lost packet is concealed, not an error.
    m.handle_audio(a, None).unwrap();
    // b hears a's tone on the next ticks.
    let mut dec = OpusDecoder::new().unwrap();
    let mut heard = Vec::new();
    let mut pcm = vec![0i16; FRAME_SAMPLES];
    let mut now = t0;
    for _ in 0..4 {
        m.audio_tick(now);
        for o in drain(&mut m) {
            if let MixerOutput::Audio { to, data, .. } = o
                && to.contains(&b)
            {
                dec.decode(Some(&data), &mut pcm).unwrap();
                heard.extend_from_slice(&pcm);
            }
        }
        now += FRAME_DURATION;
    }
    assert_eq!(heard.len(), 4 * FRAME_SAMPLES);
    assert!(goertzel(&heard[FRAME_SAMPLES..], 1000.0) > 500.0);
}

/// The stopwatch of these tests: a counter that advances 1 ms per read, so
/// every timed stage shows a whole number of reads.
#[allow(clippy::disallowed_methods)]
fn counting_clock() -> Instant {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static BASE: OnceLock<Instant> = OnceLock::new();
    static READS: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(Instant::now);
    base + Duration::from_millis(READS.fetch_add(1, Ordering::Relaxed))
}

/// A mixer without a stopwatch that has decoded and composited one frame
/// of participant 1.
fn without_stopwatch_one_frame(t0: Instant) -> ConferenceMixer {
    let mut plain = mixer(t0, false);
    let a = ParticipantId(1);
    plain
        .add_participant(a, "A", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut s = Sender::new(colour(0));
    plain.video_tick(t0);
    plain.handle_video(t0, a, &s.next()).unwrap();
    plain.video_tick(t0 + Duration::from_millis(33));
    plain
}

#[test]
fn decode_compose_encode_and_audio_are_timed_with_the_callers_stopwatch() {
    let t0 = epoch();
    // Without a stopwatch nothing is timed.
    let mut plain = without_stopwatch_one_frame(t0);
    plain.audio_tick(t0);
    let st = plain.stats();
    assert_eq!(
        (
            st.video_decode_ns,
            st.video_compose_ns,
            st.video_encode_ns,
            st.audio_tick_ns
        ),
        (0, 0, 0, 0)
    );

    let config = ConferenceMixerConfig {
        labels: false,
        stopwatch: Some(counting_clock),
        ..ConferenceMixerConfig::default()
    };
    let mut m = ConferenceMixer::new(t0, config, LayoutLibrary::with_templates()).unwrap();
    let a = ParticipantId(1);
    m.add_participant(a, "A", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let mut s = Sender::new(colour(0));
    m.video_tick(t0);
    m.handle_video(t0, a, &s.next()).unwrap();
    m.video_tick(t0 + Duration::from_millis(33));
    m.audio_tick(t0);
    let st = m.stats();
    // One decode, two composites and encodes, one audio tick: each stage is
    // read twice around its work, at least 1 ms apart on the counting clock.
    assert!(st.video_decode_ns >= 1_000_000, "{st:?}");
    assert!(st.video_compose_ns >= 2_000_000, "{st:?}");
    assert!(st.video_encode_ns >= 2_000_000, "{st:?}");
    assert!(st.audio_tick_ns >= 1_000_000, "{st:?}");
}

#[test]
fn a_recording_holds_its_view_open_without_viewers_and_gets_the_full_mix() {
    let t0 = epoch();
    let mut m = mixer(t0, false);
    let chair = ViewSpec::new("2x2", 320, 180).for_audience(1);
    // One participant watches another view: nobody watches the chair view.
    let a = ParticipantId(1);
    m.add_participant(a, "A", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    let rec = m.set_recording(Some(chair.clone())).unwrap().unwrap();
    assert_eq!(m.recorded_group(), Some(rec));
    assert_eq!(m.viewers(rec).count(), 0);
    assert!(m.full_mix_lookahead().unwrap() > 0);
    let mut tone = SineTone::new(440.0, 8000);
    let (mut videos, mut keyframes, mut audio) = (0, 0, 0);
    let mut now = t0;
    // Seven seconds: an IDR at the start and at least one more by the interval.
    for _ in 0..350 {
        m.handle_audio_pcm(a, tone.next_frame()).unwrap();
        m.handle_timeout(now);
        for o in drain(&mut m) {
            match o {
                MixerOutput::Video {
                    group, keyframe, ..
                } if group == rec => {
                    videos += 1;
                    keyframes += usize::from(keyframe);
                }
                MixerOutput::RecordedAudio { data, .. } => {
                    assert!(!data.is_empty());
                    audio += 1;
                }
                _ => {}
            }
        }
        now += FRAME_DURATION;
    }
    assert!(
        videos >= 200,
        "the held group encodes at the video rate: {videos}"
    );
    assert!(
        keyframes >= 2,
        "IDR at start and by the interval: {keyframes}"
    );
    assert_eq!(audio, 350, "one full-mix packet per audio tick");
    // A layout change of the recorded view moves the recording along.
    let moved = m.set_group_layout(rec, "1x1").unwrap();
    assert_eq!(m.recorded_group(), Some(moved));
    // Stopping lets the viewerless group go.
    m.set_recording(None).unwrap();
    assert_eq!(m.recorded_group(), None);
    assert_eq!(m.groups().count(), 1, "only A's view is left");
    m.handle_timeout(now);
    assert!(
        drain(&mut m)
            .iter()
            .all(|o| !matches!(o, MixerOutput::RecordedAudio { .. }))
    );
}

#[test]
fn added_latency_counts_each_new_picture_once_per_group() {
    let t0 = epoch();
    let config = ConferenceMixerConfig {
        labels: false,
        stopwatch: Some(counting_clock),
        ..ConferenceMixerConfig::default()
    };
    let mut m = ConferenceMixer::new(t0, config, LayoutLibrary::with_templates()).unwrap();
    let (a, b) = (ParticipantId(1), ParticipantId(2));
    // Two groups, both showing A (first to join).
    m.add_participant(a, "A", ViewSpec::new("1x1", 320, 180))
        .unwrap();
    m.add_participant(b, "B", ViewSpec::new("2x2", 320, 180))
        .unwrap();
    let mut s = Sender::new(colour(0));
    m.video_tick(t0);
    assert_eq!(m.added_latency().count(), 0, "no picture yet");
    let arrived = counting_clock();
    m.handle_video(arrived, a, &s.next()).unwrap();
    m.video_tick(t0 + Duration::from_millis(33));
    assert_eq!(m.added_latency().count(), 2, "one per group showing it");
    // Decode, compose and encode each read the clock twice, 1 ms a read.
    let least = m.added_latency().quantile(0.0).unwrap();
    assert!(least >= Duration::from_millis(5), "{least:?}");
    // The same picture again is not new.
    m.video_tick(t0 + Duration::from_millis(66));
    assert_eq!(m.added_latency().count(), 2);
    m.reset_added_latency();
    assert_eq!(m.added_latency().count(), 0);

    // Without a stopwatch nothing is measured.
    let plain = without_stopwatch_one_frame(t0);
    assert_eq!(plain.stats().frames_decoded, 1);
    assert_eq!(plain.added_latency().count(), 0);
}
