//! Pings keep a healthy link up for hours; a silent link (a partition that
//! closes nothing) is declared dead on both sides within the timeout.

mod common;

use std::time::Duration;

use common::*;
use mcu_cascade::link::{DownReason, LinkOutput, LinkTiming};
use mcu_cascade::parent::{ChildDownReason, ParentOutput};

#[test]
fn a_healthy_link_stays_up_for_hours() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.run_for(Duration::from_secs(3 * 3600));
    assert_eq!(net.ups().len(), 1);
    assert!(net.downs().is_empty());
    assert!(net.parent_sees_child(PRIMARY));
    let pings = net
        .sent_up
        .iter()
        .filter(|(_, _, t)| t.contains("\"type\":\"ping\""))
        .count();
    // One every 2 s.
    assert!((5399..=5401).contains(&pings), "{pings}");
}

#[test]
fn a_silent_link_is_dead_on_both_sides_within_the_timeout() {
    let timing = LinkTiming::default();
    let mut net = Net::new(timing.clone(), false);
    net.run_for(Duration::from_secs(10));
    net.parents.get_mut(&id(PRIMARY)).unwrap().silent = true;
    let cut = net.elapsed();
    net.run_for(Duration::from_secs(10));
    let (down_at, _) = net.downs()[0];
    assert!(down_at - cut <= timing.keepalive_timeout, "{down_at:?}");
    assert!(net.child_events.iter().any(|(_, e)| matches!(
        e,
        LinkOutput::Down {
            reason: DownReason::KeepaliveTimeout,
            ..
        }
    )));
    let parent_down = net.parent_events.iter().find_map(|(t, _, e)| match e {
        ParentOutput::ChildDown { reason, .. } => Some((*t - net.start, reason.clone())),
        _ => None,
    });
    let (t, reason) = parent_down.expect("the parent notices too");
    assert_eq!(reason, ChildDownReason::KeepaliveTimeout);
    assert!(t - cut <= Duration::from_secs(6));
}

#[test]
fn the_link_recovers_when_the_partition_heals() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.parents.get_mut(&id(PRIMARY)).unwrap().silent = true;
    net.run_for(Duration::from_secs(20));
    net.parents.get_mut(&id(PRIMARY)).unwrap().silent = false;
    net.run_for(Duration::from_secs(8));
    assert!(net.child.up().is_some());
    assert!(net.parent_sees_child(PRIMARY));
}
