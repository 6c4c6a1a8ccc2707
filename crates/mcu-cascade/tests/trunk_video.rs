//! Down goes the master's chair view (forwarded by every slave); up goes
//! the selection, by default one endpoint full screen; a call-up of a
//! commune endpoint makes the chair tile show it through three links.

use std::collections::BTreeMap;

use mcu_cascade::ids::{EndpointId, McuId};
use mcu_cascade::roster::{McuInfo, RosterTree, Routed, Selection};
use mcu_cascade::topology::Level;
use mcu_cascade::trunk::{Direction, VideoFeed, trunk_video};
use mcu_cascade::wire::EndpointState;

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn ep(s: &str) -> EndpointId {
    EndpointId::new(s).unwrap()
}

#[test]
fn the_master_sends_its_chair_view_down_and_slaves_forward_it() {
    let down = Direction::Down(id("tq"));
    assert_eq!(trunk_video(None, None, None, &down), VideoFeed::ChairView);
    assert_eq!(
        trunk_video(
            Some(&id("central")),
            None,
            Some(&ep("tinh")),
            &Direction::Down(id("son-duong"))
        ),
        VideoFeed::FromLink(id("central"))
    );
}

#[test]
fn the_uplink_is_one_endpoint_full_screen_by_default() {
    let up = Direction::Up(id("central"));
    assert_eq!(
        trunk_video(Some(&id("central")), None, Some(&ep("tinh")), &up),
        VideoFeed::FullScreen(ep("tinh"))
    );
    assert_eq!(
        trunk_video(Some(&id("central")), None, None, &up),
        VideoFeed::Placeholder
    );
    let selected = Selection::Local(ep("so-noi-vu"));
    assert_eq!(
        trunk_video(
            Some(&id("central")),
            Some(&selected),
            Some(&ep("tinh")),
            &up
        ),
        VideoFeed::FullScreen(ep("so-noi-vu"))
    );
}

fn tree(i: &str, level: Level, local: &str) -> RosterTree {
    let mut t = RosterTree::new(McuInfo {
        id: id(i),
        name: i.into(),
        level,
    });
    let state = EndpointState {
        connected: true,
        ..EndpointState::default()
    };
    t.set_local(ep(local), local.into(), state);
    t
}

#[test]
fn a_called_commune_endpoint_reaches_the_chair_tile_through_every_uplink() {
    let chain = [
        ("central", None, Level::Central, "chu-toa"),
        ("tq", Some("central"), Level::Province, "tinh"),
        ("son-duong", Some("tq"), Level::District, "huyen"),
        ("hop-thanh", Some("son-duong"), Level::Commune, "xa"),
    ];
    let mut trees: Vec<RosterTree> = chain
        .iter()
        .map(|(i, _, level, local)| tree(i, *level, local))
        .collect();
    for n in (1..trees.len()).rev() {
        let published = trees[n].publish();
        let child = id(chain[n].0);
        trees[n - 1].set_child_roster(&child, published).unwrap();
    }
    // Before the call-up every slave sends its own first endpoint.
    assert_eq!(trees[3].uplink_endpoint(), Some(&ep("xa")));
    assert_eq!(trees[1].uplink_endpoint(), Some(&ep("tinh")));

    // The master calls "xa"; the command is routed hop by hop.
    let mut routed = trees[0].select(ep("xa")).unwrap();
    for t in trees.iter_mut().skip(1) {
        let Routed::Forward { command, .. } = routed else {
            panic!("stopped early: {routed:?}")
        };
        routed = t.route(command).unwrap();
    }
    assert!(matches!(routed, Routed::Local(_)));

    // Follow the pictures from the chair tile down to a camera.
    let feeds: BTreeMap<McuId, VideoFeed> = chain
        .iter()
        .zip(&trees)
        .skip(1)
        .map(|((i, parent, ..), t)| {
            let parent = parent.map(id);
            let feed = trunk_video(
                parent.as_ref(),
                t.selection(),
                t.uplink_endpoint(),
                &Direction::Up(parent.clone().unwrap()),
            );
            (id(i), feed)
        })
        .collect();
    let Some(Selection::Child { child, .. }) = trees[0].selection() else {
        panic!("the chair tile shows a link")
    };
    let mut at = child.clone();
    let mut hops = 1;
    let shown = loop {
        match &feeds[&at] {
            VideoFeed::FromLink(next) => {
                at = next.clone();
                hops += 1;
            }
            VideoFeed::FullScreen(e) => break e.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(shown, ep("xa"));
    assert_eq!(hops, 3);
}
