//! Fallback (R18): a parent unreachable beyond the configured time makes
//! the child link to its standby; when the parent returns, the child goes
//! back to it.

mod common;

use std::time::Duration;

use common::*;
use mcu_cascade::link::{DownReason, LinkOutput, LinkTiming, ParentRole};
use mcu_cascade::parent::ParentOutput;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn timing() -> LinkTiming {
    LinkTiming {
        failover_after: secs(30),
        probe_interval: secs(10),
        ..LinkTiming::default()
    }
}

#[test]
fn the_child_links_to_the_standby_after_the_configured_time() {
    let mut net = Net::new(timing(), true);
    net.run_for(secs(5));
    net.kill(PRIMARY);
    let lost = net.elapsed();
    net.run_for(secs(40));
    assert!(
        net.dial_times(STANDBY)
            .iter()
            .all(|t| *t >= lost + secs(30))
    );
    let (t, parent) = net.ups().last().cloned().unwrap();
    assert_eq!(parent, id(STANDBY));
    assert!(t - lost >= secs(30) && t - lost <= secs(32), "{t:?}");
    assert_eq!(net.child.up(), Some((&id(STANDBY), ParentRole::Standby)));
    assert!(net.parent_sees_child(STANDBY));
}

#[test]
fn no_standby_before_the_configured_time() {
    let mut net = Net::new(timing(), true);
    net.kill(PRIMARY);
    net.run_for(secs(20));
    net.revive(PRIMARY);
    net.run_for(secs(60));
    assert!(net.dial_times(STANDBY).is_empty());
    assert_eq!(net.child.up(), Some((&id(PRIMARY), ParentRole::Primary)));
}

#[test]
fn a_child_that_never_reached_its_parent_also_falls_back() {
    let mut net = Net::with_down(
        child_config(timing(), true),
        vec![
            parent_config(PRIMARY, &[(CHILD, secret("primary"))]),
            parent_config(STANDBY, &[(CHILD, secret("standby"))]),
        ],
        &[PRIMARY],
    );
    assert!(net.ups().is_empty());
    net.run_for(secs(45));
    assert_eq!(net.ups().len(), 1);
    let (t, parent) = net.ups()[0].clone();
    assert_eq!(parent, id(STANDBY));
    assert!(t >= secs(30) && t <= secs(32), "{t:?}");
}

#[test]
fn the_child_goes_back_to_the_primary_when_it_returns() {
    let mut net = Net::new(timing(), true);
    net.kill(PRIMARY);
    net.run_for(secs(60));
    assert_eq!(net.child.up().map(|(p, _)| p.clone()), Some(id(STANDBY)));
    // The primary is probed while the child sits on the standby.
    let probes: Vec<Duration> = net
        .dial_times(PRIMARY)
        .into_iter()
        .filter(|t| *t > secs(31))
        .collect();
    assert!(!probes.is_empty());
    net.revive(PRIMARY);
    let back = net.elapsed();
    net.run_for(secs(15));
    assert_eq!(net.child.up(), Some((&id(PRIMARY), ParentRole::Primary)));
    let (t, _) = net.ups().last().cloned().unwrap();
    assert!(t - back <= timing().probe_interval, "{t:?}");
    // The standby connection was closed on purpose and the standby knows.
    assert!(net.child_events.iter().any(|(_, e)| matches!(
        e,
        LinkOutput::Down { reason: DownReason::SwitchedToPrimary, parent } if *parent == id(STANDBY)
    )));
    assert!(!net.parent_sees_child(STANDBY));
    assert!(
        net.parent_events
            .iter()
            .any(|(_, p, e)| *p == id(STANDBY) && matches!(e, ParentOutput::ChildDown { .. }))
    );
    // No more probes once back on the primary.
    let dials = net.dials.len();
    net.run_for(secs(120));
    assert_eq!(net.dials.len(), dials);
}

#[test]
fn the_primary_is_still_probed_when_the_standby_drops_too() {
    let mut net = Net::new(timing(), true);
    net.kill(PRIMARY);
    net.run_for(secs(40));
    net.kill(STANDBY);
    net.run_for(secs(30));
    net.revive(PRIMARY);
    net.run_for(secs(15));
    assert_eq!(net.child.up(), Some((&id(PRIMARY), ParentRole::Primary)));
}

#[test]
fn without_a_standby_the_child_keeps_redialling_its_parent() {
    let mut net = Net::new(timing(), false);
    net.kill(PRIMARY);
    net.run_for(secs(120));
    assert!(net.dials.iter().all(|(_, p)| *p == id(PRIMARY)));
    assert!(net.dial_times(PRIMARY).len() > 50);
}
