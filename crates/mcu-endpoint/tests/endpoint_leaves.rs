//! An endpoint that leaves (sends `leave`) frees its tile: the others'
//! roster drops it and their composite shows the two that stay, with the
//! freed tile empty; the daemon logs the departure.

mod common;

use std::time::Duration;

use common::{ENDPOINTS, Mcu, exclusive, start_all, wait_for, wait_gone};
use mcu_endpoint::StopMode;

#[test]
fn an_endpoint_that_leaves_frees_its_tile() {
    let _one = exclusive();
    let mcu = Mcu::start("2x2");
    let mut eps = start_all(&mcu, 3);
    let mut leaver = eps.pop().expect("three endpoints");
    let report = leaver.stop(StopMode::Leave);
    assert!(report.error.is_none(), "{report:?}");
    wait_gone(&[&eps[0], &eps[1]], 2, &[0, 1], Duration::from_secs(5));
    wait_for(Duration::from_secs(5), "the daemon logs the leave", || {
        let logs = mcu.logs.text();
        let line = format!("left endpoint=\"{}\"", ENDPOINTS[2].0);
        if logs.contains(&line) {
            Ok(())
        } else {
            Err(line)
        }
    });
}
