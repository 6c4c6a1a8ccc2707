//! H.264 RTP payloads (RFC 6184): packetize → depacketize round trips, STAP-A,
//! FU-A loss and keyframe recovery, sequence wrap-around, malformed input.

use mcu_signalling::rtp::{
    AccessUnit, DepacketizeError, DepacketizeEvent, DiscardReason, H264Depacketizer,
    H264DepacketizerConfig, H264Packetizer, H264PacketizerConfig, PacketBatch, PacketizeError,
};

/// A tiny deterministic generator (xorshift64*), so no new dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A NAL unit of `len` bytes with header `header`, body bytes never zero (so
/// no start-code emulation or trailing zeros, as in real emulation-prevented
/// streams).
fn nal(header: u8, len: usize, rng: &mut XorShift) -> Vec<u8> {
    let mut v = vec![header];
    v.extend((1..len).map(|_| rng.byte() | 1));
    v
}

/// A NAL unit whose body is full-range random bytes with emulation-prevention
/// bytes inserted (zeros, but never a start code), ending in a non-zero byte.
fn nal_with_zeros(header: u8, len: usize, rng: &mut XorShift) -> Vec<u8> {
    let mut v = vec![header];
    let mut zeros = 0;
    while v.len() < len {
        let b = if rng.below(3) == 0 { 0 } else { rng.byte() };
        if zeros >= 2 && b <= 3 {
            v.push(3);
            zeros = 0;
        }
        v.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    v.push(0x80);
    v
}

fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut au = Vec::new();
    for n in nals {
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(n);
    }
    au
}

/// SPS + PPS + a 50 kB IDR slice, as a 720p encoder's keyframe.
fn idr_au(rng: &mut XorShift) -> Vec<u8> {
    annex_b(&[
        vec![
            0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xEC, 0x04, 0x40,
        ],
        vec![0x68, 0xCE, 0x3C, 0x80],
        nal(0x65, 50_000, rng),
    ])
}

/// One P slice of `len` bytes.
fn p_au(len: usize, rng: &mut XorShift) -> Vec<u8> {
    annex_b(&[nal(0x41, len, rng)])
}

/// Four small P slices (aggregated into STAP-A) and an SEI.
fn multi_slice_au(rng: &mut XorShift) -> Vec<u8> {
    annex_b(&[
        nal(0x06, 9, rng),
        nal(0x41, 300, rng),
        nal(0x41, 250, rng),
        nal(0x41, 5, rng),
        nal(0x41, 700, rng),
    ])
}

fn is_keyframe(au: &[u8]) -> bool {
    au.windows(5)
        .any(|w| w[..4] == [0, 0, 0, 1] && w[4] & 0x1F == 5)
}

fn drain(d: &mut H264Depacketizer) -> Vec<DepacketizeEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn units(events: &[DepacketizeEvent]) -> Vec<&AccessUnit> {
    events
        .iter()
        .filter_map(|e| match e {
            DepacketizeEvent::AccessUnit(u) => Some(u),
            _ => None,
        })
        .collect()
}

fn packetizer(mtu: usize, aggregate: bool, seq: u16) -> H264Packetizer {
    H264Packetizer::new(
        H264PacketizerConfig {
            max_payload_size: mtu,
            aggregate,
        },
        seq,
    )
    .expect("valid config")
}

/// Owned copies of a batch's payloads: `(seq, ts, marker, payload)`.
fn owned(batch: &PacketBatch) -> Vec<(u16, u32, bool, Vec<u8>)> {
    batch
        .iter()
        .map(|p| (p.sequence, p.timestamp, p.marker, p.payload.to_vec()))
        .collect()
}

#[test]
fn round_trip_is_byte_identical_across_mtus() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let stream: Vec<Vec<u8>> = vec![
        idr_au(&mut rng),
        p_au(8_000, &mut rng),
        p_au(12, &mut rng),
        multi_slice_au(&mut rng),
        p_au(1_201, &mut rng),
        annex_b(&[vec![0x41, 0x9A]]),
        annex_b(&[
            nal_with_zeros(0x41, 5_000, &mut rng),
            nal_with_zeros(0x01, 40, &mut rng),
        ]),
        idr_au(&mut rng),
        p_au(3_000, &mut rng),
    ];
    for mtu in [3, 17, 100, 576, 1199, 1200, 1400, 9000] {
        for aggregate in [true, false] {
            let mut tx = packetizer(mtu, aggregate, 65_500);
            let mut rx = H264Depacketizer::default();
            let mut batch = PacketBatch::new();
            let mut expected_seq = 65_500u16;
            for (i, au) in stream.iter().enumerate() {
                let ts = 1_000_000u32.wrapping_add(i as u32 * 3000);
                tx.packetize(au, ts, &mut batch).expect("packetize");
                assert!(!batch.is_empty());
                for (k, p) in batch.iter().enumerate() {
                    assert!(
                        p.payload.len() <= mtu,
                        "mtu {mtu}: {} bytes",
                        p.payload.len()
                    );
                    assert_eq!(p.sequence, expected_seq);
                    assert_eq!(p.timestamp, ts);
                    assert_eq!(p.marker, k == batch.len() - 1);
                    expected_seq = expected_seq.wrapping_add(1);
                    rx.push(p.sequence, p.timestamp, p.marker, p.payload)
                        .expect("valid payload");
                }
                let events = drain(&mut rx);
                assert_eq!(events.len(), 1, "mtu {mtu} au {i}: {events:?}");
                let unit = units(&events)[0];
                assert_eq!(unit.data, *au, "mtu {mtu} aggregate {aggregate} au {i}");
                assert_eq!(unit.keyframe, is_keyframe(au));
                assert_eq!(unit.timestamp, ts);
                assert_eq!(unit.first_sequence, batch.get(0).unwrap().sequence);
                assert_eq!(
                    unit.last_sequence,
                    batch.get(batch.len() - 1).unwrap().sequence
                );
                rx.recycle(unit.data.clone());
            }
            assert_eq!(tx.next_sequence(), expected_seq);
            assert!(!rx.awaiting_keyframe());
            assert_eq!(rx.sequence_stats().lost, 0);
        }
    }
}

#[test]
fn packet_layout_at_default_mtu() {
    let mut rng = XorShift(7);
    let mut tx = packetizer(1200, true, 0);
    let mut batch = PacketBatch::new();
    tx.packetize(&idr_au(&mut rng), 0, &mut batch).unwrap();
    // STAP-A with SPS + PPS, then ⌈49 999 / 1198⌉ = 42 FU-A fragments.
    assert_eq!(batch.len(), 43);
    let types: Vec<u8> = batch.iter().map(|p| p.payload[0] & 0x1F).collect();
    assert_eq!(types[0], 24);
    assert!(types[1..].iter().all(|&t| t == 28));
    let fu: Vec<u8> = batch.iter().skip(1).map(|p| p.payload[1]).collect();
    assert_eq!(fu[0], 0x80 | 5, "start bit + IDR type");
    assert_eq!(fu[41], 0x40 | 5, "end bit + IDR type");
    assert!(fu[1..41].iter().all(|&h| h == 5));
    // FU indicator keeps the NRI of the IDR header.
    assert_eq!(batch.get(1).unwrap().payload[0], 0x60 | 28);
    // Without aggregation SPS and PPS go alone.
    let mut tx = packetizer(1200, false, 0);
    tx.packetize(&idr_au(&mut rng), 0, &mut batch).unwrap();
    assert_eq!(batch.len(), 44);
    assert_eq!(batch.get(0).unwrap().payload[0], 0x67);
}

#[test]
fn packetizer_rejects_bad_input_and_config() {
    let mut tx = packetizer(1200, true, 5);
    let mut batch = PacketBatch::new();
    assert_eq!(
        tx.packetize(&[], 0, &mut batch),
        Err(PacketizeError::NoNalUnits)
    );
    assert_eq!(
        tx.packetize(&[0x65, 1, 2], 0, &mut batch),
        Err(PacketizeError::MissingStartCode)
    );
    assert!(batch.is_empty());
    assert_eq!(tx.next_sequence(), 5, "no number used on error");
    for mtu in [0, 2, 70_000] {
        assert_eq!(
            H264Packetizer::new(
                H264PacketizerConfig {
                    max_payload_size: mtu,
                    aggregate: true
                },
                0
            )
            .err(),
            Some(PacketizeError::InvalidMaxPayloadSize(mtu))
        );
    }
}

#[test]
fn stap_a_is_split_into_annex_b() {
    let sps = [0x67, 0x42, 0x00, 0x1F];
    let pps = [0x68, 0xCE, 0x38];
    let idr = [0x65, 0x88, 0x84, 0x21];
    let mut stap = vec![0x78]; // NRI 3, type 24
    for n in [&sps[..], &pps[..]] {
        stap.extend_from_slice(&(n.len() as u16).to_be_bytes());
        stap.extend_from_slice(n);
    }
    let mut rx = H264Depacketizer::default();
    rx.push(10, 90, false, &stap).unwrap();
    rx.push(11, 90, true, &idr).unwrap();
    let events = drain(&mut rx);
    let unit = units(&events)[0];
    assert_eq!(
        unit.data,
        annex_b(&[sps.to_vec(), pps.to_vec(), idr.to_vec()])
    );
    assert!(unit.keyframe);
    assert_eq!((unit.first_sequence, unit.last_sequence), (10, 11));

    // Truncated lengths: the access unit is not decodable.
    for bad in [
        vec![0x78],
        vec![0x78, 0x00],
        vec![0x78, 0x00, 0x05, 0x67, 0x42],
        vec![0x78, 0x00, 0x00],
        [&stap[..], &[0x00, 0x09, 0x68]].concat(),
    ] {
        let mut rx = H264Depacketizer::default();
        assert_eq!(
            rx.push(1, 180, false, &bad),
            Err(DepacketizeError::TruncatedStapA)
        );
        rx.push(2, 180, true, &idr).unwrap();
        assert_eq!(
            drain(&mut rx),
            vec![
                DepacketizeEvent::NeedKeyframe,
                DepacketizeEvent::Discarded {
                    timestamp: 180,
                    reason: DiscardReason::Incomplete
                }
            ]
        );
    }
    // A STAP-A may not nest packetization types.
    let mut rx = H264Depacketizer::default();
    assert_eq!(
        rx.push(1, 0, true, &[0x78, 0x00, 0x02, 0x7C, 0x85]),
        Err(DepacketizeError::InvalidNalType(28))
    );
}

#[test]
fn lost_fu_a_fragment_discards_the_unit_until_the_next_idr() {
    let mut rng = XorShift(42);
    let mut tx = packetizer(1200, true, 100);
    let mut rx = H264Depacketizer::default();
    let mut batch = PacketBatch::new();
    let stream = [
        (idr_au(&mut rng), true),
        (p_au(8_000, &mut rng), false), // loses a middle fragment
        (p_au(4_000, &mut rng), false),
        (p_au(20, &mut rng), false),
        (idr_au(&mut rng), true),
        (p_au(6_000, &mut rng), false),
    ];
    let mut log = Vec::new();
    for (i, (au, _)) in stream.iter().enumerate() {
        let ts = i as u32 * 3000;
        tx.packetize(au, ts, &mut batch).unwrap();
        for (k, p) in owned(&batch).into_iter().enumerate() {
            if i == 1 && k == 3 {
                continue;
            }
            rx.push(p.0, p.1, p.2, &p.3).expect("well-formed");
        }
        log.push(drain(&mut rx));
    }
    assert_eq!(units(&log[0])[0].data, stream[0].0);
    assert_eq!(
        log[1],
        vec![
            DepacketizeEvent::NeedKeyframe,
            DepacketizeEvent::Discarded {
                timestamp: 3000,
                reason: DiscardReason::Incomplete
            }
        ]
    );
    for (i, ts) in [(2, 6000), (3, 9000)] {
        assert_eq!(
            log[i],
            vec![DepacketizeEvent::Discarded {
                timestamp: ts,
                reason: DiscardReason::AwaitingKeyframe
            }],
            "P-frame {i} must wait for the keyframe"
        );
    }
    assert!(units(&log[4])[0].keyframe);
    assert_eq!(units(&log[4])[0].data, stream[4].0);
    assert_eq!(units(&log[5])[0].data, stream[5].0);
    assert!(!rx.awaiting_keyframe());
    assert_eq!(rx.sequence_stats().lost, 1);
}

#[test]
fn sequence_wraps_inside_an_access_unit() {
    let mut rng = XorShift(3);
    let au = idr_au(&mut rng);
    let mut tx = packetizer(1200, true, 65_520);
    let mut batch = PacketBatch::new();
    tx.packetize(&au, 7, &mut batch).unwrap();
    let first = batch.get(0).unwrap().sequence;
    let last = batch.get(batch.len() - 1).unwrap().sequence;
    assert!(first == 65_520 && last < first, "the AU spans 65535 → 0");
    let mut rx = H264Depacketizer::default();
    for p in batch.iter() {
        rx.push(p.sequence, p.timestamp, p.marker, p.payload)
            .unwrap();
    }
    let events = drain(&mut rx);
    assert_eq!(units(&events)[0].data, au);

    // A loss right at the wrap is still seen as one lost packet.
    let mut rx = H264Depacketizer::default();
    for p in batch.iter().filter(|p| p.sequence != 0) {
        rx.push(p.sequence, p.timestamp, p.marker, p.payload)
            .unwrap();
    }
    assert_eq!(
        drain(&mut rx),
        vec![
            DepacketizeEvent::NeedKeyframe,
            DepacketizeEvent::Discarded {
                timestamp: 7,
                reason: DiscardReason::Incomplete
            }
        ]
    );
    assert_eq!(rx.sequence_stats().lost, 1);
}

#[test]
fn timestamp_change_completes_a_unit_without_marker() {
    let mut rng = XorShift(11);
    let a = p_au(3000, &mut rng);
    let b = p_au(500, &mut rng);
    let mut tx = packetizer(1200, true, 0);
    let mut rx = H264Depacketizer::new(H264DepacketizerConfig {
        wait_for_first_keyframe: false,
        ..H264DepacketizerConfig::default()
    });
    let mut batch = PacketBatch::new();
    for (au, ts) in [(&a, 0u32), (&b, 3000)] {
        tx.packetize(au, ts, &mut batch).unwrap();
        for p in batch.iter() {
            rx.push(p.sequence, p.timestamp, false, p.payload).unwrap();
        }
    }
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "b waits for its end");
    assert_eq!(units(&events)[0].data, a);

    // When the marker packet itself is lost, both sides of the boundary are
    // suspect: the next unit is discarded too.
    let mut rx = H264Depacketizer::new(H264DepacketizerConfig {
        wait_for_first_keyframe: false,
        ..H264DepacketizerConfig::default()
    });
    tx.packetize(&a, 6000, &mut batch).unwrap();
    let pa = owned(&batch);
    tx.packetize(&b, 9000, &mut batch).unwrap();
    let pb = owned(&batch);
    for p in &pa[..pa.len() - 1] {
        rx.push(p.0, p.1, p.2, &p.3).unwrap();
    }
    for p in &pb {
        rx.push(p.0, p.1, p.2, &p.3).unwrap();
    }
    let events = drain(&mut rx);
    assert_eq!(
        events,
        vec![
            DepacketizeEvent::NeedKeyframe,
            DepacketizeEvent::Discarded {
                timestamp: 6000,
                reason: DiscardReason::Incomplete
            },
            DepacketizeEvent::Discarded {
                timestamp: 9000,
                reason: DiscardReason::Incomplete
            }
        ]
    );
}

#[test]
fn first_units_wait_for_a_keyframe() {
    let mut rng = XorShift(5);
    let mut tx = packetizer(1200, true, 0);
    let mut rx = H264Depacketizer::default();
    let mut batch = PacketBatch::new();
    let mut log = Vec::new();
    for (i, au) in [p_au(900, &mut rng), p_au(900, &mut rng), idr_au(&mut rng)]
        .iter()
        .enumerate()
    {
        tx.packetize(au, i as u32, &mut batch).unwrap();
        for p in batch.iter() {
            rx.push(p.sequence, p.timestamp, p.marker, p.payload)
                .unwrap();
        }
        log.push(drain(&mut rx));
    }
    assert_eq!(
        log[0],
        vec![
            DepacketizeEvent::NeedKeyframe,
            DepacketizeEvent::Discarded {
                timestamp: 0,
                reason: DiscardReason::AwaitingKeyframe
            }
        ]
    );
    assert_eq!(
        log[1],
        vec![DepacketizeEvent::Discarded {
            timestamp: 1,
            reason: DiscardReason::AwaitingKeyframe
        }],
        "the request is not repeated"
    );
    assert!(units(&log[2])[0].keyframe);
}

#[test]
fn malformed_payloads_are_errors_not_panics() {
    let fresh = || {
        H264Depacketizer::new(H264DepacketizerConfig {
            wait_for_first_keyframe: false,
            ..H264DepacketizerConfig::default()
        })
    };
    let cases: [(&[u8], DepacketizeError); 9] = [
        (&[0x00, 1], DepacketizeError::InvalidNalType(0)),
        (&[0x7E, 1], DepacketizeError::InvalidNalType(30)),
        (&[0x1F], DepacketizeError::InvalidNalType(31)),
        (&[0xE1, 1], DepacketizeError::ForbiddenBit),
        (
            &[0x79, 0, 1, 0x41],
            DepacketizeError::UnsupportedPacketization(25),
        ),
        (
            &[0x7D, 0x81, 1],
            DepacketizeError::UnsupportedPacketization(29),
        ),
        (&[0x7C, 0x81], DepacketizeError::TruncatedFuA),
        (&[0x7C, 0x01, 9, 9], DepacketizeError::FuAWithoutStart),
        (&[0x7C, 0x9E, 9], DepacketizeError::InvalidNalType(30)),
    ];
    for (payload, error) in cases {
        let mut rx = fresh();
        assert_eq!(rx.push(1, 0, true, payload), Err(error), "{payload:02x?}");
        assert!(rx.awaiting_keyframe());
        assert!(units(&drain(&mut rx)).is_empty());
    }
    // Empty payloads (padding) only advance the sequence.
    let mut rx = fresh();
    rx.push(1, 0, false, &[]).unwrap();
    rx.push(2, 0, true, &[0x41, 1]).unwrap();
    assert_eq!(units(&drain(&mut rx)).len(), 1);
    // Duplicates and old packets.
    assert_eq!(
        rx.push(2, 0, true, &[0x41, 1]),
        Err(DepacketizeError::Late { sequence: 2 })
    );
    // A new start interrupting a fragmented NAL unit.
    let mut rx = fresh();
    rx.push(1, 0, false, &[0x7C, 0x81, 1]).unwrap();
    assert_eq!(
        rx.push(2, 0, true, &[0x7C, 0x81, 1]),
        Err(DepacketizeError::FuAInterrupted)
    );
    // An unfinished fragmented unit at the end of the access unit.
    let mut rx = fresh();
    rx.push(1, 0, true, &[0x7C, 0x81, 1]).unwrap();
    assert_eq!(
        drain(&mut rx),
        vec![
            DepacketizeEvent::NeedKeyframe,
            DepacketizeEvent::Discarded {
                timestamp: 0,
                reason: DiscardReason::Incomplete
            }
        ]
    );
}

#[test]
fn oversized_access_unit_is_dropped() {
    let mut rng = XorShift(99);
    let mut tx = packetizer(1200, true, 0);
    let mut rx = H264Depacketizer::new(H264DepacketizerConfig {
        max_access_unit_bytes: 20_000,
        wait_for_first_keyframe: true,
    });
    let mut batch = PacketBatch::new();
    tx.packetize(&idr_au(&mut rng), 0, &mut batch).unwrap();
    let errors: Vec<_> = batch
        .iter()
        .filter_map(|p| rx.push(p.sequence, p.timestamp, p.marker, p.payload).err())
        .collect();
    assert_eq!(
        errors,
        vec![DepacketizeError::AccessUnitTooLarge { limit: 20_000 }]
    );
    assert!(drain(&mut rx).contains(&DepacketizeEvent::Discarded {
        timestamp: 0,
        reason: DiscardReason::TooLarge
    }));
    // A unit within bounds goes through afterwards.
    let small = annex_b(&[vec![0x65, 1, 2, 3]]);
    tx.packetize(&small, 3000, &mut batch).unwrap();
    for p in batch.iter() {
        rx.push(p.sequence, p.timestamp, p.marker, p.payload)
            .unwrap();
    }
    assert_eq!(units(&drain(&mut rx))[0].data, small);
}

#[test]
fn fuzz_random_and_mutated_payloads_never_panic() {
    let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
    let mut tx = packetizer(300, true, 0);
    let mut batch = PacketBatch::new();
    let mut valid = Vec::new();
    for i in 0..6 {
        let au = if i % 3 == 0 {
            annex_b(&[
                vec![0x67, 0x42],
                vec![0x68, 0xCE],
                nal(0x65, 2000, &mut rng),
            ])
        } else {
            multi_slice_au(&mut rng)
        };
        tx.packetize(&au, i * 3000, &mut batch).unwrap();
        valid.extend(owned(&batch));
    }
    let limit = 64 * 1024;
    let mut rx = H264Depacketizer::new(H264DepacketizerConfig {
        max_access_unit_bytes: limit,
        wait_for_first_keyframe: false,
    });
    let mut seq = 0u16;
    let mut delivered = 0;
    let mut cursor = 0usize;
    for round in 0..20_000u32 {
        // Mostly the valid stream in order (so access units complete and
        // the assembler is exercised), sometimes random bytes.
        let (_, vts, vmarker, ref vpayload) = valid[cursor % valid.len()];
        cursor += 1;
        let ts = vts.wrapping_add((cursor / valid.len()) as u32 * 20_000);
        let mut payload = if rng.below(20) == 0 {
            (0..rng.below(40)).map(|_| rng.byte()).collect::<Vec<u8>>()
        } else {
            vpayload.clone()
        };
        // Mutate one payload in eight: flip bits, truncate, overwrite bytes
        // (STAP-A lengths, FU headers).
        if rng.below(8) == 0 {
            for _ in 0..=rng.below(3) {
                match rng.below(3) {
                    0 if !payload.is_empty() => {
                        let i = rng.below(payload.len() as u64) as usize;
                        payload[i] ^= 1 << rng.below(8);
                    }
                    1 => payload.truncate(rng.below(payload.len() as u64 + 1) as usize),
                    _ if payload.len() > 3 => {
                        let i = rng.below(payload.len() as u64 - 2) as usize;
                        payload[i] = rng.byte();
                        payload[i + 1] = rng.byte();
                    }
                    _ => {}
                }
            }
        }
        // Mostly in order, sometimes jumps, duplicates and reordering.
        seq = match rng.below(100) {
            0 => seq.wrapping_add(rng.byte() as u16),
            1 => seq.wrapping_sub(rng.below(5) as u16),
            2 => rng.next() as u16,
            _ => seq.wrapping_add(1),
        };
        let marker = if rng.below(50) == 0 {
            !vmarker
        } else {
            vmarker
        };
        let _ = rx.push(seq, ts ^ (round % 97 == 0) as u32, marker, &payload);
        while let Some(event) = rx.poll_event() {
            if let DepacketizeEvent::AccessUnit(unit) = event {
                assert!(unit.data.starts_with(&[0, 0, 0, 1]));
                assert!(unit.data.len() <= limit);
                delivered += 1;
                rx.recycle(unit.data);
            }
        }
    }
    assert!(
        delivered > 100,
        "the assembler must be exercised: {delivered}"
    );

    // The packetizer on random bytes: never panics, payloads fit.
    let mut tx = packetizer(50, true, 0);
    for _ in 0..5_000 {
        let mut au: Vec<u8> = (0..rng.below(400)).map(|_| rng.byte() % 4).collect();
        if rng.below(2) == 0 {
            au.splice(0..0, [0, 0, 1]);
        }
        if tx.packetize(&au, 0, &mut batch).is_ok() {
            assert!(
                batch
                    .iter()
                    .all(|p| !p.payload.is_empty() && p.payload.len() <= 50)
            );
            assert!(batch.get(batch.len() - 1).unwrap().marker);
        }
    }
}
