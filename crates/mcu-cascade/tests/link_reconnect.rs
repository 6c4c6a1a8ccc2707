//! A dropped link redials with exponential backoff (first retry within
//! 1 s, capped), is back quickly when the parent returns, and announces its
//! roster and uplink selection again.

mod common;

use std::time::Duration;

use common::*;
use mcu_cascade::ids::EndpointId;
use mcu_cascade::link::{DownReason, LinkOutput, LinkTiming};
use mcu_cascade::wire::{UpMessage, parse_up};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn redials_back_off_from_250_ms_doubling_to_a_2_s_cap() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.run_for(Duration::from_secs(10));
    net.kill(PRIMARY);
    let killed = net.elapsed();
    net.run_for(Duration::from_secs(12));
    let gaps: Vec<Duration> = std::iter::once(killed)
        .chain(net.dial_times(PRIMARY).into_iter().filter(|t| *t > killed))
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    assert_eq!(
        &gaps[..7],
        [
            ms(250),
            ms(500),
            ms(1000),
            ms(2000),
            ms(2000),
            ms(2000),
            ms(2000)
        ]
    );
    assert!(gaps[0] <= Duration::from_secs(1), "first retry within 1 s");
    assert_eq!(net.downs(), [(killed, id(PRIMARY))]);
    assert!(net.child_events.iter().any(|(_, e)| matches!(
        e,
        LinkOutput::Down {
            reason: DownReason::Closed,
            ..
        }
    )));
}

#[test]
fn a_restarted_parent_is_relinked_within_3_s() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.kill(PRIMARY);
    net.run_for(Duration::from_secs(20)); // backoff is at its cap by now
    net.revive(PRIMARY);
    let revived = net.elapsed();
    net.run_for(Duration::from_secs(3));
    let ups = net.ups();
    let (t, parent) = ups.last().unwrap();
    assert_eq!(*parent, id(PRIMARY));
    assert!(
        *t > revived && *t - revived <= Duration::from_secs(2),
        "{t:?}"
    );
    assert!(net.parent_sees_child(PRIMARY));
}

#[test]
fn the_backoff_starts_over_after_a_successful_link() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.kill(PRIMARY);
    net.run_for(Duration::from_secs(10));
    net.revive(PRIMARY);
    net.run_for(Duration::from_secs(5));
    net.kill(PRIMARY);
    let killed = net.elapsed();
    net.run_for(Duration::from_secs(1));
    let first = net
        .dial_times(PRIMARY)
        .into_iter()
        .find(|t| *t > killed)
        .unwrap();
    assert_eq!(first - killed, ms(250));
}

#[test]
fn the_uplink_selection_and_roster_are_announced_again_on_re_up() {
    let mut net = Net::new(LinkTiming::default(), false);
    let x = EndpointId::new("ubnd-xa-hop-thanh").unwrap();
    let now = net.now;
    net.child.set_uplink(now, Some(x.clone()));
    net.pump();
    net.kill(PRIMARY);
    net.run_for(Duration::from_secs(3));
    net.revive(PRIMARY);
    let revived = net.now;
    net.run_for(Duration::from_secs(3));
    let after: Vec<UpMessage> = net
        .sent_up
        .iter()
        .filter(|(t, _, _)| *t >= revived)
        .map(|(_, _, text)| parse_up(text).unwrap())
        .collect();
    assert!(
        after.contains(&UpMessage::Uplink {
            endpoint: Some(x.clone())
        }),
        "{after:?}"
    );
    // The restarted parent learns it from the link, not from memory.
    let learnt = net.parent_events.iter().any(|(t, _, e)| {
        *t >= revived
            && matches!(e, mcu_cascade::parent::ParentOutput::Uplink { endpoint: Some(e), .. } if *e == x)
    });
    assert!(learnt);
}

#[test]
fn messages_are_not_sent_while_the_link_is_down() {
    let mut net = Net::new(LinkTiming::default(), false);
    net.kill(PRIMARY);
    let now = net.now;
    let x = EndpointId::new("ubnd-xa-hop-thanh").unwrap();
    assert!(net.child.floor_request(now, x.clone(), true).is_err());
    assert!(
        net.child
            .reply(now, mcu_cascade::ids::RequestId(1), None)
            .is_err()
    );
}
