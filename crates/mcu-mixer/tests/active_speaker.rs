//! Active-speaker selection and voice activity detection, in virtual time.

use std::time::{Duration, Instant};

use mcu_mixer::ParticipantId;
use mcu_mixer::audio::{
    ActiveSpeakerSelector, AudioMixer, FRAME_DURATION, FRAME_SAMPLES, MixerConfig, SpeakerConfig,
    Vad, VadConfig,
};

const A: ParticipantId = ParticipantId(1);
const B: ParticipantId = ParticipantId(2);
const C: ParticipantId = ParticipantId(3);
const SILENT: f32 = -127.0;
const NOISE: f32 = -60.0;

/// Runs `ticks` 20 ms ticks from tick `start`; `level(tick, id)` gives levels.
/// Returns (tick, new speaker) for every change.
fn run(
    sel: &mut ActiveSpeakerSelector,
    base: Instant,
    start: u32,
    ticks: u32,
    level: impl Fn(u32, ParticipantId) -> f32,
) -> Vec<(u32, ParticipantId)> {
    let mut changes = Vec::new();
    for t in start..start + ticks {
        let now = base + FRAME_DURATION * t;
        let levels = [A, B, C].map(|id| (id, level(t, id)));
        if let Some(id) = sel.on_tick(now, levels) {
            assert_eq!(sel.active(), Some(id));
            changes.push((t, id));
        }
    }
    changes
}

/// The one clock read: an arbitrary origin; all later times are virtual
/// (`base + Duration`), the code under test never reads the clock.
#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

fn ms(tick: u32) -> u32 {
    tick * 20
}

#[test]
fn switches_to_a_sustained_talker() {
    let base = base();
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    let changes = run(
        &mut sel,
        base,
        0,
        150,
        |_, id| if id == A { -20.0 } else { NOISE },
    );
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (tick, id) = changes[0];
    assert_eq!(id, A);
    // VAD onset (60 ms = 3 frames, detected at tick 2) + 1 s sustained.
    assert!(
        (1000..=1100).contains(&ms(tick)),
        "switched at {} ms",
        ms(tick)
    );
}

#[test]
fn a_short_burst_never_switches() {
    let base = base();
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    // Nobody active yet: a 200 ms cough must not make B active.
    let cough = |t: u32, id| {
        if id == B && (10..20).contains(&t) {
            -5.0
        } else {
            NOISE
        }
    };
    assert_eq!(run(&mut sel, base, 0, 150, cough), vec![]);
    assert!(sel.active().is_none());
    // A takes the floor; B coughs (much louder) 200 ms, several times.
    let changes = run(&mut sel, base, 150, 400, |t, id| match id {
        A => -30.0,
        B if (300..310).contains(&t) || (400..410).contains(&t) => -5.0,
        _ => NOISE,
    });
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].1, A);
    assert_eq!(sel.active(), Some(A));
}

#[test]
fn hold_time_is_respected() {
    let base = base();
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    // A talks from 0; B, louder, from 200 ms: B is sustained at ~1.26 s but A
    // only became active at ~1.04 s, so B must wait for the 2 s hold.
    let changes = run(&mut sel, base, 0, 250, |t, id| match id {
        A => -30.0,
        B if t >= 10 => -15.0,
        _ => NOISE,
    });
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].1, A);
    assert_eq!(changes[1].1, B);
    let gap = ms(changes[1].0) - ms(changes[0].0);
    assert!(
        (2000..=2020).contains(&gap),
        "switched {gap} ms after the previous switch"
    );
    // And no switch back to the quieter A while B keeps talking.
    assert_eq!(
        run(&mut sel, base, 250, 300, |_, id| if id == C {
            NOISE
        } else {
            -20.0 - f32::from(id == A) * 10.0
        }),
        vec![]
    );
}

#[test]
fn a_quieter_talker_does_not_take_over_a_louder_one_but_does_once_it_is_silent() {
    let base = base();
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    let changes = run(&mut sel, base, 0, 400, |t, id| match id {
        A if t < 300 => -15.0,
        B => -30.0,
        _ => NOISE,
    });
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].1, A);
    assert_eq!(changes[1].1, B);
    // A stops at tick 300 (6 s); it stays talking through the 400 ms hangover
    // (20 silent frames: ticks 300..=319).
    let t = ms(changes[1].0);
    assert!((6380..=6500).contains(&t), "switched at {t} ms");
}

#[test]
fn recent_speakers_most_recent_first() {
    let base = base();
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    // A speaks long (becomes active), then B briefly, then C briefly.
    run(&mut sel, base, 0, 400, |t, id| match id {
        A if t < 100 => -20.0,
        B if (150..160).contains(&t) => -20.0,
        C if (200..210).contains(&t) => -20.0,
        _ => NOISE,
    });
    assert_eq!(sel.active(), Some(A));
    assert_eq!(sel.recent_speakers().collect::<Vec<_>>(), vec![C, B]);
    // B speaks again: it moves to the front.
    run(
        &mut sel,
        base,
        400,
        20,
        |_, id| if id == B { -20.0 } else { NOISE },
    );
    assert_eq!(sel.recent_speakers().collect::<Vec<_>>(), vec![B, C]);
    sel.remove(C);
    assert_eq!(sel.recent_speakers().collect::<Vec<_>>(), vec![B]);
    sel.remove(A);
    assert_eq!(sel.active(), None);
}

#[test]
fn vad_onset_delay_and_hangover_with_hysteresis() {
    let cfg = VadConfig::default();
    let mut vad = Vad::new(cfg);
    let onset_frames = 3; // 60 ms
    let hangover_frames = 20; // 400 ms
    // Between the thresholds never starts talking.
    for _ in 0..50 {
        assert!(!vad.update(-45.0));
    }
    // Interrupted onset restarts the count.
    assert!(!vad.update(-20.0));
    assert!(!vad.update(-20.0));
    assert!(!vad.update(-70.0));
    for i in 1..=onset_frames {
        assert_eq!(vad.update(-20.0), i == onset_frames, "onset frame {i}");
    }
    // Between the thresholds keeps talking (hysteresis), however long.
    for _ in 0..100 {
        assert!(vad.update(-45.0));
    }
    // Below release: still talking through the hangover, then stops.
    for i in 1..=hangover_frames {
        assert_eq!(vad.update(-70.0), i < hangover_frames, "hangover frame {i}");
    }
    // A word during the hangover resets it.
    let mut vad = Vad::new(cfg);
    for _ in 0..onset_frames {
        vad.update(-20.0);
    }
    for _ in 0..15 {
        assert!(vad.update(SILENT));
    }
    assert!(vad.update(-20.0));
    for _ in 0..19 {
        assert!(vad.update(SILENT));
    }
    assert!(!vad.update(SILENT));
    // Custom thresholds are honoured.
    let mut slow = Vad::new(VadConfig {
        onset: Duration::from_millis(200),
        ..cfg
    });
    for i in 1..=10 {
        assert_eq!(slow.update(-20.0), i == 10);
    }
}

#[test]
fn mixer_levels_drive_the_selector() {
    let base = base();
    let mut mixer = AudioMixer::with_config(MixerConfig { max_mixed: None });
    let mut sel = ActiveSpeakerSelector::new(SpeakerConfig::default());
    for id in [A, B, C] {
        mixer.add(id).unwrap();
    }
    mixer.set_muted(C, true).unwrap();
    let loud: Vec<i16> = (0..FRAME_SAMPLES)
        .map(|i| if i % 2 == 0 { 3000 } else { -3000 })
        .collect();
    let quiet = vec![20i16; FRAME_SAMPLES];
    let mut active_at = None;
    for t in 0..100u32 {
        mixer.push(A, &quiet).unwrap();
        mixer.push(B, &loud).unwrap();
        mixer.push(C, &loud).unwrap(); // muted: must never become the speaker
        // Muted, C contributes nothing, so it gets no own mix.
        mixer.mix(|id, _| assert_ne!(id, C));
        if let Some(id) = sel.on_tick(base + FRAME_DURATION * t, mixer.levels()) {
            active_at.get_or_insert((t, id));
        }
    }
    assert_eq!(active_at.map(|(_, id)| id), Some(B));
    assert!(!sel.is_talking(C) && !sel.is_talking(A));
}
