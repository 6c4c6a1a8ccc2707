//! Endpoints that vanish without `leave`:
//!
//! - killed (its TCP connection and UDP socket closed at once, like a
//!   crashed process): the daemon sees the WebSocket end and removes it;
//! - frozen (it stops answering on UDP and its WebSocket stays open but
//!   silent, like a host that lost its network): only ICE consent checks
//!   can notice; after the consent timeout the daemon logs the media
//!   failure for that participant and removes it — tile and roster.

mod common;

use std::time::{Duration, Instant};

use common::{ENDPOINTS, Mcu, exclusive, start_all, wait_for, wait_gone};
use mcu_endpoint::StopMode;

#[test]
fn a_killed_endpoint_is_removed() {
    let _one = exclusive();
    let mcu = Mcu::start("2x2");
    let mut eps = start_all(&mcu, 3);
    let mut gone = eps.pop().expect("three endpoints");
    gone.stop(StopMode::Kill);
    wait_gone(&[&eps[0], &eps[1]], 2, &[0, 1], Duration::from_secs(5));
}

#[test]
fn a_frozen_endpoint_is_removed_after_the_consent_timeout() {
    let _one = exclusive();
    let mcu = Mcu::start("2x2");
    let mut eps = start_all(&mcu, 3);
    let mut frozen = eps.pop().expect("three endpoints");
    let pid = frozen.live().participant_id.expect("participant id");
    let froze_at = Instant::now();
    frozen.stop(StopMode::Freeze);
    // Consent freshness (RFC 7675) allows 30 s without an answer; rtc
    // declares the pair disconnected after 5 s and failed 25 s later.
    wait_gone(&[&eps[0], &eps[1]], 2, &[0, 1], Duration::from_secs(60));
    let after = froze_at.elapsed();
    let logs = mcu.logs.text();
    let failure = logs
        .lines()
        .find(|l| l.contains("media failed") && l.contains(&format!("participant={pid}")))
        .unwrap_or_else(|| panic!("no media failure logged for participant {pid}:\n{logs}"));
    // Not before the consent checks could have failed: the removal came
    // from the media side, not from a closed socket.
    assert!(
        after >= Duration::from_secs(5),
        "removed after {after:?}: {failure}"
    );
    wait_for(
        Duration::from_secs(5),
        "the session logs the removal",
        || {
            let logs = mcu.logs.text();
            let line = format!("left endpoint=\"{}\"", ENDPOINTS[2].0);
            if logs.contains("media gone without leave") && logs.contains(&line) {
                Ok(())
            } else {
                Err(line)
            }
        },
    );
    eprintln!("removed {after:?} after freezing; log: {failure}");
    drop(frozen);
}
