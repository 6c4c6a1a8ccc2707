//! A command for endpoint X goes to the link whose subtree owns X, or is
//! applied locally; "carry X" switches the uplink of every MCU on the path;
//! unknown and disconnected endpoints get clear errors from the MCU that
//! knows.

use mcu_cascade::ids::{EndpointId, McuId};
use mcu_cascade::roster::{McuInfo, RosterTree, Routed, Selection};
use mcu_cascade::topology::Level;
use mcu_cascade::wire::{Command, CommandError, CommandErrorCode, EndpointState, LinkState, Media};

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn ep(s: &str) -> EndpointId {
    EndpointId::new(s).unwrap()
}

fn tree(i: &str, level: Level) -> RosterTree {
    RosterTree::new(McuInfo {
        id: id(i),
        name: i.into(),
        level,
    })
}

fn state(connected: bool) -> EndpointState {
    EndpointState {
        connected,
        ..EndpointState::default()
    }
}

const X: &str = "ubnd-xa-hop-thanh";

fn four_levels() -> [RosterTree; 4] {
    let mut commune = tree("hop-thanh", Level::Commune);
    commune.set_local(ep("xa-other"), "other".into(), state(true));
    commune.set_local(ep(X), "X".into(), state(true));
    commune.set_local(ep("xa-offline"), "offline".into(), state(false));
    let mut district = tree("son-duong", Level::District);
    district.set_local(ep("huyen"), "huyen".into(), state(true));
    district
        .set_child_roster(&id("hop-thanh"), commune.publish())
        .unwrap();
    let mut province = tree("tq", Level::Province);
    province.set_local(ep("tinh"), "tinh".into(), state(true));
    province
        .set_child_roster(&id("son-duong"), district.publish())
        .unwrap();
    let mut central = tree("central", Level::Central);
    central.set_local(ep("chu-toa"), "chu toa".into(), state(true));
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    [central, province, district, commune]
}

#[test]
fn calling_x_to_the_chair_travels_down_and_switches_every_uplink_on_the_path() {
    let [mut central, mut province, mut district, mut commune] = four_levels();
    let select = Command::SelectUplink { endpoint: ep(X) };

    // Master: the command goes down the tq link; the chair tile shows tq's uplink.
    let Routed::Forward { child, command } = central.select(ep(X)).unwrap() else {
        panic!("X is not local to the master")
    };
    assert_eq!((child.clone(), &command), (id("tq"), &select));
    assert_eq!(
        central.selection(),
        Some(&Selection::Child {
            child: id("tq"),
            endpoint: ep(X)
        })
    );

    // Each MCU on the path forwards it and carries its child's uplink.
    for (mcu, next) in [(&mut province, "son-duong"), (&mut district, "hop-thanh")] {
        match mcu.route(command.clone()).unwrap() {
            Routed::Forward { child, .. } => assert_eq!(child, id(next)),
            other => panic!("{other:?}"),
        }
        assert_eq!(mcu.uplink_endpoint(), Some(&ep(X)));
        assert!(
            matches!(mcu.selection(), Some(Selection::Child { child, .. }) if *child == id(next))
        );
    }

    // The owner applies it: X full screen on its uplink.
    assert_eq!(commune.route(command).unwrap(), Routed::Local(select));
    assert_eq!(commune.selection(), Some(&Selection::Local(ep(X))));
    assert_eq!(commune.uplink_endpoint(), Some(&ep(X)));
}

#[test]
fn an_unknown_endpoint_is_an_error_from_the_first_mcu_that_cannot_place_it() {
    let [mut central, ..] = four_levels();
    let err = central.select(ep("nowhere")).unwrap_err();
    assert_eq!(
        err,
        CommandError {
            code: CommandErrorCode::UnknownEndpoint,
            endpoint: ep("nowhere"),
            at: id("central"),
        }
    );
    assert_eq!(
        central.selection(),
        None,
        "a failed call-up changes nothing"
    );
}

#[test]
fn a_disconnected_endpoint_is_an_error_from_its_own_mcu() {
    let [mut central, mut province, mut district, mut commune] = four_levels();
    let Routed::Forward { command, .. } = central.select(ep("xa-offline")).unwrap() else {
        panic!()
    };
    province.route(command.clone()).unwrap();
    district.route(command.clone()).unwrap();
    let err = commune.route(command).unwrap_err();
    assert_eq!(
        err,
        CommandError {
            code: CommandErrorCode::EndpointNotConnected,
            endpoint: ep("xa-offline"),
            at: id("hop-thanh"),
        }
    );
    assert_eq!(commune.selection(), None);
}

#[test]
fn an_endpoint_behind_a_reconnecting_link_is_link_down() {
    let [_, _, mut district, _] = four_levels();
    district.set_child_link(&id("hop-thanh"), LinkState::Reconnecting);
    let err = district.select(ep(X)).unwrap_err();
    assert_eq!(err.code, CommandErrorCode::LinkDown);
    assert_eq!(err.at, id("son-duong"));
}

#[test]
fn mutes_and_presets_are_routed_without_touching_the_uplink() {
    let [mut central, _, mut district, mut commune] = four_levels();
    let mute = Command::SetMute {
        endpoint: ep(X),
        media: Media::Audio,
        muted: true,
    };
    assert!(matches!(
        central.route(mute.clone()).unwrap(),
        Routed::Forward { child, .. } if child == id("tq")
    ));
    assert_eq!(commune.route(mute.clone()).unwrap(), Routed::Local(mute));
    let preset = Command::RecallPreset {
        endpoint: ep("huyen"),
        preset: "Ghế chủ tọa".into(),
    };
    assert_eq!(
        district.route(preset.clone()).unwrap(),
        Routed::Local(preset)
    );
    assert_eq!(central.selection(), None);
    assert_eq!(commune.selection(), None);
    assert_eq!(district.selection(), None);
}

#[test]
fn the_default_uplink_is_the_first_connected_local_endpoint() {
    let mut commune = tree("hop-thanh", Level::Commune);
    assert_eq!(commune.uplink_endpoint(), None);
    commune.set_local(ep("a-offline"), "a".into(), state(false));
    commune.set_local(ep("z-first"), "z".into(), state(true));
    commune.set_local(ep("b-second"), "b".into(), state(true));
    assert_eq!(
        commune.uplink_endpoint(),
        Some(&ep("z-first")),
        "join order, not id order"
    );
}

#[test]
fn a_child_that_lost_the_selection_is_told_again_once() {
    let [mut central, ..] = four_levels();
    central.select(ep(X)).unwrap();
    // tq relinked after a restart and announces the default.
    central.set_child_link(&id("tq"), LinkState::Reconnecting);
    central.set_child_link(&id("tq"), LinkState::Up);
    let restore = Some(Command::SelectUplink { endpoint: ep(X) });
    assert_eq!(central.handle_child_uplink(&id("tq"), None), restore);
    assert_eq!(
        central.restore(&id("tq")),
        None,
        "sent once per announcement"
    );
    assert_eq!(central.handle_child_uplink(&id("tq"), Some(ep(X))), None);
    assert_eq!(central.handle_child_uplink(&id("hai-phong"), None), None);
}

#[test]
fn the_restore_waits_until_the_endpoint_is_back_in_the_childs_roster() {
    let [mut central, mut province, mut district, commune] = four_levels();
    central.select(ep(X)).unwrap();
    // tq restarts: its first roster does not hold son-duong's subtree yet.
    central.set_child_link(&id("tq"), LinkState::Reconnecting);
    central.set_child_link(&id("tq"), LinkState::Up);
    province.remove_child(&id("son-duong"));
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    assert_eq!(central.handle_child_uplink(&id("tq"), None), None);
    // son-duong relinks to tq; tq publishes the whole subtree again.
    district
        .set_child_roster(&id("hop-thanh"), commune.publish())
        .unwrap();
    province
        .set_child_roster(&id("son-duong"), district.publish())
        .unwrap();
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    assert_eq!(
        central.restore(&id("tq")),
        Some(Command::SelectUplink { endpoint: ep(X) })
    );
}

#[test]
fn a_failed_call_up_can_restore_the_previous_selection() {
    let [mut central, ..] = four_levels();
    central.select(ep("chu-toa")).unwrap();
    let before = central.selection().cloned();
    central.select(ep("xa-offline")).unwrap(); // forwarded: fails below
    assert_ne!(central.selection().cloned(), before);
    central.set_selection(before.clone());
    assert_eq!(central.selection().cloned(), before);
    assert_eq!(before, Some(Selection::Local(ep("chu-toa"))));
}
