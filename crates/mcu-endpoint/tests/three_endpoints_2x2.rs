//! Three synthetic endpoints join one `2x2` conference through a real
//! `mcud` (TLS WebSocket signalling, WebRTC with DTLS-SRTP, H.264 + Opus):
//! each decodes the composite at ≥ 25 fps, its tiles show the three
//! endpoints' colours (identified by the stamps burned into their pictures)
//! with the fourth tile empty, and the audio it receives holds the other two
//! tones and not its own (N−1 mix).

mod common;

use std::time::Duration;

use common::{Mcu, exclusive, shown, wait_decoding, wait_for};
use mcu_endpoint::StopMode;
use mcu_endpoint::picture::{PALETTE, parse_colour};
use mcu_mixer::frame::Yuv;

#[test]
fn three_endpoints_see_each_other_and_hear_the_others() {
    let _one = exclusive();
    let mcu = Mcu::start("2x2");
    let mut eps: Vec<_> = (0..3).map(|i| mcu.spawn(i)).collect();
    for (i, e) in eps.iter().enumerate() {
        wait_decoding(e, &format!("endpoint {i}"));
    }
    for (i, e) in eps.iter().enumerate() {
        wait_for(
            Duration::from_secs(10),
            &format!("endpoint {i} sees all three"),
            || {
                let l = e.live();
                if shown(&l) == [0, 1, 2] && l.roster.len() == 3 {
                    Ok(())
                } else {
                    Err(format!(
                        "shown {:?}, roster {:?}, tiles {:?}",
                        shown(&l),
                        l.roster,
                        l.tiles
                    ))
                }
            },
        );
    }
    // Measure a fresh window once everyone is in.
    for e in &eps {
        e.reset_measurements();
    }
    let starts: Vec<u64> = eps.iter().map(|e| e.live().frames_decoded).collect();
    for (i, (e, &start)) in eps.iter().zip(&starts).enumerate() {
        wait_for(
            Duration::from_secs(10),
            &format!("endpoint {i}: 120 frames"),
            || {
                let n = e.live().frames_decoded.saturating_sub(start);
                if n >= 120 {
                    Ok(())
                } else {
                    Err(format!("{n} frames"))
                }
            },
        );
    }
    let lives: Vec<_> = eps.iter().map(|e| e.live()).collect();
    let reports: Vec<_> = eps.iter_mut().map(|e| e.stop(StopMode::Leave)).collect();

    for (i, (r, live)) in reports.iter().zip(&lives).enumerate() {
        let json = serde_json::to_string_pretty(r).expect("report json");
        assert!(r.error.is_none(), "endpoint {i}: {json}");
        assert!(r.fps >= 25.0, "endpoint {i}: {:.1} fps\n{json}", r.fps);
        assert_eq!(r.resolution.as_deref(), Some("1280x720"), "{json}");
        assert!(
            r.latency_ms.samples > 50,
            "endpoint {i}: latency samples\n{json}"
        );

        // Tiles: each stamped tile has the colour of the endpoint it names;
        // the three endpoints fill three tiles and the fourth is empty.
        assert_eq!(live.tiles.len(), 4, "{json}");
        for t in &live.tiles {
            let (r8, g8, b8) = parse_colour(&t.colour).expect("hex colour");
            let seen = Yuv::from_rgb(r8, g8, b8);
            match t.endpoint_index {
                Some(who) => {
                    let (er, eg, eb) = PALETTE[who as usize];
                    let d = seen.distance(Yuv::from_rgb(er, eg, eb));
                    assert!(
                        d <= 12,
                        "endpoint {i}, tile {}: {} is not endpoint {who}'s colour (distance {d})",
                        t.tile,
                        t.colour
                    );
                }
                None => assert!(
                    t.empty,
                    "endpoint {i}, tile {} neither stamped nor empty: {t:?}",
                    t.tile
                ),
            }
        }
        assert_eq!(shown(live), [0, 1, 2], "endpoint {i}");

        // Audio: the other two tones, not its own.
        let own = r.tones.iter().find(|t| t.own).expect("own tone measured");
        assert!(!own.present, "endpoint {i} hears its own tone: {json}");
        for j in (0..3).filter(|&j| j != i) {
            let hz = mcu_endpoint::tone_for(j);
            let t = r
                .tones
                .iter()
                .find(|t| (t.hz - hz).abs() < 1.0)
                .expect("tone measured");
            assert!(
                t.present,
                "endpoint {i} does not hear endpoint {j}'s {hz} Hz: {json}"
            );
            assert!(
                t.dbfs > own.dbfs + 20.0,
                "endpoint {i}: {hz} Hz not clearly above its own tone: {json}"
            );
        }
        // The fourth test tone (no such endpoint joined) is absent too.
        let absent = r
            .tones
            .iter()
            .find(|t| (t.hz - mcu_endpoint::tone_for(3)).abs() < 1.0)
            .expect("tone");
        assert!(!absent.present, "{json}");
        eprintln!("endpoint {i}: {json}");
    }
}
