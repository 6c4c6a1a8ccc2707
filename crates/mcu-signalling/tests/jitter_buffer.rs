//! The jitter buffer in virtual time: reordering, loss deadlines, late and
//! duplicate packets, bounded memory, wrap-around, restarts, and the video
//! and audio paths behind it.

use std::time::{Duration, Instant};

use mcu_signalling::rtp::{
    Concealment, DepacketizeEvent, DiscardReason, H264Depacketizer, H264Packetizer,
    H264PacketizerConfig, JitterBuffer, JitterConfig, JitterOutput, OpusArrival, OpusDepacketizer,
    PacketBatch, PushOutcome,
};

/// The one real instant of these tests; everything after is `base() + Duration`.
#[allow(clippy::disallowed_methods)] // virtual time needs one origin; no clock is read after it
fn base() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn buffer() -> JitterBuffer<Vec<u8>> {
    JitterBuffer::new(JitterConfig::default()).expect("valid config")
}

/// A buffer whose first packet, `first`, has been released (after the
/// start-up hold), and the time it was released at.
fn started(first: u16) -> (JitterBuffer<Vec<u8>>, Instant) {
    let t0 = base();
    let mut jb = buffer();
    jb.push(t0, first, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t0 + ms(50)), vec![Ok(first)]);
    (jb, t0 + ms(50))
}

/// Everything due at `now`: packets as `Ok(seq)`, losses as `Err((first, count))`.
fn drain<P>(jb: &mut JitterBuffer<P>, now: Instant) -> Vec<Result<u16, (u16, u16)>> {
    std::iter::from_fn(|| jb.pop(now))
        .map(|o| match o {
            JitterOutput::Packet(p) => Ok(p.sequence),
            JitterOutput::Lost {
                first_sequence,
                count,
            } => Err((first_sequence, count)),
        })
        .collect()
}

#[test]
fn in_order_packets_pass_without_delay_after_the_startup_hold() {
    let t0 = base();
    let mut jb = buffer();
    assert_eq!(jb.push(t0, 0, 0, false, vec![0]), PushOutcome::Buffered);
    assert_eq!(drain(&mut jb, t0), vec![]);
    assert_eq!(jb.poll_timeout(), Some(t0 + ms(50)));
    assert_eq!(drain(&mut jb, t0 + ms(50)), vec![Ok(0)]);
    for s in 1..5u16 {
        let now = t0 + ms(50 + 20 * u64::from(s));
        assert_eq!(
            jb.push(now, s, 0, false, vec![s as u8]),
            PushOutcome::Buffered
        );
        assert_eq!(drain(&mut jb, now), vec![Ok(s)]);
        assert_eq!(jb.poll_timeout(), None);
    }
    assert!(jb.is_empty());
}

#[test]
fn a_packet_overtaken_at_the_start_still_comes_first() {
    let t0 = base();
    let mut jb = buffer();
    jb.push(t0, 501, 0, false, vec![]);
    jb.push(t0 + ms(10), 499, 0, false, vec![]);
    jb.push(t0 + ms(20), 500, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t0 + ms(49)), vec![]);
    assert_eq!(drain(&mut jb, t0 + ms(50)), vec![Ok(499), Ok(500), Ok(501)]);
}

#[test]
fn reordered_packets_within_the_window_come_out_in_order() {
    let (mut jb, t0) = started(0);
    let mut out = Vec::new();
    for (s, at) in [
        (1u16, 0u64),
        (3, 5),
        (2, 20),
        (6, 21),
        (5, 30),
        (4, 49),
        (7, 60),
    ] {
        let now = t0 + ms(at);
        assert_eq!(jb.push(now, s, 0, false, vec![]), PushOutcome::Buffered);
        out.extend(drain(&mut jb, now));
    }
    assert_eq!(out, (1..=7).map(Ok).collect::<Vec<_>>());
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn a_hole_is_declared_lost_exactly_at_its_deadline() {
    let (mut jb, t0) = started(10);
    // 11 is missing; 12 arrives at 5 ms, 13 at 15 ms.
    jb.push(t0 + ms(5), 12, 0, false, vec![]);
    jb.push(t0 + ms(15), 13, 0, false, vec![]);
    let deadline = t0 + ms(55);
    assert_eq!(jb.poll_timeout(), Some(deadline));
    assert_eq!(drain(&mut jb, deadline - Duration::from_nanos(1)), vec![]);
    assert_eq!(drain(&mut jb, deadline), vec![Err((11, 1)), Ok(12), Ok(13)]);
    assert_eq!(jb.poll_timeout(), None);

    // A second hole is timed from the earliest packet held after it.
    jb.push(t0 + ms(60), 16, 0, false, vec![]);
    jb.push(t0 + ms(70), 15, 0, false, vec![]);
    assert_eq!(jb.poll_timeout(), Some(t0 + ms(110)));
    assert_eq!(drain(&mut jb, t0 + ms(109)), vec![]);
    assert_eq!(
        drain(&mut jb, t0 + ms(110)),
        vec![Err((14, 1)), Ok(15), Ok(16)]
    );
    assert_eq!(jb.stats().lost, 2);
}

#[test]
fn late_duplicate_and_old_packets_are_dropped() {
    let (mut jb, t0) = started(100);
    for s in 101..110u16 {
        jb.push(t0, s, 0, false, vec![]);
    }
    drain(&mut jb, t0);
    jb.push(t0, 111, 0, false, vec![]);
    assert_eq!(jb.push(t0, 111, 0, false, vec![]), PushOutcome::Duplicate);
    // Already released.
    assert_eq!(jb.push(t0, 105, 0, false, vec![]), PushOutcome::Late);
    // 110 is declared lost at 50 ms, then arrives at 80 ms: dropped.
    assert_eq!(drain(&mut jb, t0 + ms(50)), vec![Err((110, 1)), Ok(111)]);
    assert_eq!(
        jb.push(t0 + ms(80), 110, 0, false, vec![]),
        PushOutcome::Late
    );
    // Far older than the window: suspect (a stray), nothing changes.
    assert_eq!(
        jb.push(t0 + ms(81), 40_000, 0, false, vec![]),
        PushOutcome::Suspect
    );
    assert_eq!(
        jb.push(t0 + ms(82), 112, 0, false, vec![]),
        PushOutcome::Buffered
    );
    assert_eq!(drain(&mut jb, t0 + ms(82)), vec![Ok(112)]);
    let stats = jb.stats();
    assert_eq!(
        (stats.duplicates, stats.late, stats.late_after_loss),
        (1, 3, 1)
    );
}

#[test]
fn late_arrivals_stretch_the_wait_up_to_max_then_it_decays() {
    let (mut jb, t0) = started(0);
    // 2 overtakes 1, which comes 80 ms later: lost at 50 ms, 30 ms late.
    jb.push(t0, 2, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t0 + ms(80)), vec![Err((1, 1)), Ok(2)]);
    assert_eq!(jb.push(t0 + ms(80), 1, 0, false, vec![]), PushOutcome::Late);
    assert_eq!(jb.current_wait(), ms(90), "50 + 30 late + 10 margin");
    // The same reordering now fits.
    let t1 = t0 + ms(100);
    jb.push(t1, 4, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t1 + ms(80)), vec![]);
    jb.push(t1 + ms(80), 3, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t1 + ms(80)), vec![Ok(3), Ok(4)]);
    // A packet 300 ms late stretches the wait to the cap.
    let t2 = t1 + ms(100);
    jb.push(t2, 6, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t2 + ms(300)), vec![Err((5, 1)), Ok(6)]);
    jb.push(t2 + ms(300), 5, 0, false, vec![]);
    assert_eq!(jb.current_wait(), ms(200), "capped at max_delay");
    assert_eq!(jb.stats().late_after_loss, 2);
    // Ten quiet seconds bring it back by 50 ms.
    jb.push(t2 + ms(10_300), 7, 0, false, vec![]);
    assert_eq!(jb.current_wait(), ms(150));
}

#[test]
fn memory_is_bounded() {
    let t0 = base();
    let mut jb: JitterBuffer<Vec<u8>> = JitterBuffer::new(JitterConfig {
        max_packets: 16,
        ..JitterConfig::default()
    })
    .unwrap();
    jb.push(t0, 0, 0, false, vec![]);
    drain(&mut jb, t0 + ms(50));
    // 1 never comes; 2..=40 pile up behind it.
    let mut out = Vec::new();
    for s in 2..=40u16 {
        jb.push(t0 + ms(1), s, 0, false, vec![0; 1000]);
        assert!(jb.len() <= 16, "{} held", jb.len());
        out.extend(drain(&mut jb, t0 + ms(1)));
    }
    assert!(jb.stats().overflows > 0);
    out.extend(drain(&mut jb, t0 + ms(100)));
    // Every number accounted for once, in order.
    let mut expect = 1u16;
    for o in &out {
        match *o {
            Ok(s) => {
                assert_eq!(s, expect);
                expect += 1;
            }
            Err((first, count)) => {
                assert_eq!(first, expect);
                expect += count;
            }
        }
    }
    assert_eq!(expect, 41);
}

#[test]
fn reordering_across_the_wrap() {
    let (mut jb, t0) = started(65_533);
    let mut out = vec![Ok(65_533)];
    for (i, s) in [65_535u16, 65_534, 1, 0, 2].into_iter().enumerate() {
        let now = t0 + ms(i as u64);
        jb.push(now, s, 0, false, vec![]);
        out.extend(drain(&mut jb, now));
    }
    assert_eq!(out, [65_533, 65_534, 65_535, 0, 1, 2].map(Ok).to_vec());
    // A hole at the wrap.
    jb.push(t0 + ms(10), 4, 0, false, vec![]);
    assert_eq!(drain(&mut jb, t0 + ms(60)), vec![Err((3, 1)), Ok(4)]);
}

#[test]
fn a_confirmed_restart_resets_the_numbering() {
    let (mut jb, t0) = started(100);
    for s in 101..103u16 {
        jb.push(t0, s, 0, false, vec![]);
    }
    drain(&mut jb, t0);
    jb.push(t0, 104, 0, false, vec![]); // held behind the hole at 103
    assert_eq!(
        jb.push(t0 + ms(1), 50_000, 0, false, vec![]),
        PushOutcome::Suspect
    );
    assert_eq!(
        jb.push(t0 + ms(2), 50_001, 0, false, vec![]),
        PushOutcome::Restarted
    );
    assert_eq!(
        jb.push(t0 + ms(3), 50_002, 0, false, vec![]),
        PushOutcome::Buffered
    );
    assert_eq!(
        drain(&mut jb, t0 + ms(3)),
        vec![Err((103, 1)), Ok(104), Ok(50_001), Ok(50_002)]
    );
}

#[test]
fn video_through_jitter_buffer_and_depacketizer() {
    let t0 = base();
    let mut rng = 0x1234_5678_9ABC_DEF1u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let frame = |kind: u8, len: usize, seed: u8| {
        let mut au = vec![0, 0, 0, 1];
        if kind == 0x65 {
            au.extend_from_slice(&[0x67, 0x42, 0xC0, 0x1F, 0, 0, 0, 1, 0x68, 0xCE, 0x3C, 0x80]);
            au.extend_from_slice(&[0, 0, 0, 1]);
        }
        au.push(kind);
        au.extend((0..len).map(|i| (i as u8).wrapping_mul(seed) | 1));
        au
    };
    let stream = [
        frame(0x65, 20_000, 3),
        frame(0x41, 5_000, 5),
        frame(0x41, 5_000, 7), // loses a packet
        frame(0x41, 3_000, 9),
        frame(0x65, 20_000, 11),
        frame(0x41, 4_000, 13),
    ];
    let mut tx = H264Packetizer::new(H264PacketizerConfig::default(), 65_530).unwrap();
    let mut batch = PacketBatch::new();
    // (arrival, seq, ts, marker, payload), 33 ms apart, adjacent swaps.
    let mut wire = Vec::new();
    for (i, au) in stream.iter().enumerate() {
        tx.packetize(au, i as u32 * 3000, &mut batch).unwrap();
        for (k, p) in batch.iter().enumerate() {
            if i == 2 && k == 1 {
                continue;
            }
            let at = t0 + ms(33 * i as u64) + Duration::from_micros(100 * k as u64);
            wire.push((at, p.sequence, p.timestamp, p.marker, p.payload.to_vec()));
        }
    }
    for i in (1..wire.len()).step_by(3) {
        if rand() % 2 == 0 {
            let (a, b) = (wire[i - 1].0, wire[i].0);
            wire.swap(i - 1, i);
            (wire[i - 1].0, wire[i].0) = (a, b);
        }
    }
    let mut jb = buffer();
    let mut rx = H264Depacketizer::default();
    let mut events = Vec::new();
    let feed = |out: JitterOutput<Vec<u8>>, rx: &mut H264Depacketizer| {
        if let JitterOutput::Packet(p) = out {
            let _ = rx.push(p.sequence, p.timestamp, p.marker, &p.payload);
        }
    };
    for (at, seq, ts, marker, payload) in wire {
        // Wake-ups for deadlines between arrivals.
        while let Some(t) = jb.poll_timeout().filter(|&t| t <= at) {
            while let Some(o) = jb.pop(t) {
                feed(o, &mut rx);
            }
        }
        jb.push(at, seq, ts, marker, payload);
        while let Some(o) = jb.pop(at) {
            feed(o, &mut rx);
        }
        events.extend(std::iter::from_fn(|| rx.poll_event()));
    }
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            DepacketizeEvent::AccessUnit(u) => {
                let i = (u.timestamp / 3000) as usize;
                assert!(u.data == stream[i], "AU {i} intact");
                format!("au{i}{}", if u.keyframe { "k" } else { "" })
            }
            DepacketizeEvent::Discarded { timestamp, reason } => {
                let r = match reason {
                    DiscardReason::Incomplete => "incomplete",
                    DiscardReason::AwaitingKeyframe => "waiting",
                    _ => "other",
                };
                format!("drop{}:{r}", timestamp / 3000)
            }
            DepacketizeEvent::NeedKeyframe => "pli".to_owned(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "au0k",
            "au1",
            "pli",
            "drop2:incomplete",
            "drop3:waiting",
            "au4k",
            "au5"
        ]
    );
    assert_eq!(jb.stats().lost, 1);
}

#[test]
fn audio_through_jitter_buffer_conceals_each_lost_frame_once() {
    let t0 = base();
    let mut jb: JitterBuffer<Vec<u8>> = JitterBuffer::new(JitterConfig::default()).unwrap();
    let mut rx = OpusDepacketizer::default();
    // 20 ms frames; 3 and 4 lost, 7 arrives after 8, 20..=39 lost (resync).
    let arrivals: Vec<(u64, u16)> = (0u16..50)
        .filter(|s| ![3, 4].contains(s) && !(20..40).contains(s))
        .map(|s| {
            let at = if s == 7 {
                20 * 8 + 5
            } else {
                20 * u64::from(s)
            };
            (at, s)
        })
        .collect();
    let mut order = arrivals.clone();
    order.sort();
    let mut calls: Vec<Option<u16>> = Vec::new(); // handle_audio(Some(seq) | None)
    let mut resyncs = 0;
    let mut on_output = |o: JitterOutput<Vec<u8>>, calls: &mut Vec<Option<u16>>| match o {
        JitterOutput::Packet(p) => match rx.push(p.sequence, &p.payload) {
            OpusArrival::Packet { concealed, payload } => {
                calls.extend((0..concealed).map(|_| None));
                calls.push(payload.map(|b| u16::from_be_bytes([b[0], b[1]])));
            }
            OpusArrival::Resync { payload, .. } => {
                resyncs += 1;
                calls.push(payload.map(|b| u16::from_be_bytes([b[0], b[1]])));
            }
            OpusArrival::Drop => {}
        },
        JitterOutput::Lost {
            first_sequence,
            count,
        } => match rx.lost(first_sequence, count) {
            Concealment::Frames(n) => calls.extend((0..n).map(|_| None)),
            Concealment::Resync => resyncs += 1,
        },
    };
    for (at, s) in order {
        let now = t0 + ms(at);
        while let Some(t) = jb.poll_timeout().filter(|&t| t <= now) {
            while let Some(o) = jb.pop(t) {
                on_output(o, &mut calls);
            }
        }
        jb.push(now, s, u32::from(s) * 960, false, s.to_be_bytes().to_vec());
        while let Some(o) = jb.pop(now) {
            on_output(o, &mut calls);
        }
    }
    let mut expect: Vec<Option<u16>> = (0u16..20).map(Some).collect();
    expect[3] = None;
    expect[4] = None;
    expect.extend((40u16..50).map(Some));
    assert_eq!(calls, expect);
    assert_eq!(resyncs, 1);
}
