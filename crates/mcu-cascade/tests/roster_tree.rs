//! Each MCU merges its own endpoints with its children's subtrees; the
//! master sees all four levels with paths. A child's roster must stay in
//! its own subtree.

use mcu_cascade::ids::{EndpointId, McuId};
use mcu_cascade::roster::{McuInfo, RosterError, RosterTree};
use mcu_cascade::topology::{Level, McuNode, Topology};
use mcu_cascade::wire::{EndpointState, LinkState, Roster, RosterEntry, RosterMcu};

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn ep(s: &str) -> EndpointId {
    EndpointId::new(s).unwrap()
}

fn tree(i: &str, name: &str, level: Level) -> RosterTree {
    RosterTree::new(McuInfo {
        id: id(i),
        name: name.into(),
        level,
    })
}

fn connected() -> EndpointState {
    EndpointState {
        connected: true,
        ..EndpointState::default()
    }
}

/// central › tq › son-duong › hop-thanh, one endpoint at each level,
/// rosters published up the chain.
fn four_levels() -> [RosterTree; 4] {
    let mut commune = tree("hop-thanh", "Hợp Thành", Level::Commune);
    commune.set_local(
        ep("ubnd-xa-hop-thanh"),
        "UBND xã Hợp Thành".into(),
        connected(),
    );
    let mut district = tree("son-duong", "Sơn Dương", Level::District);
    district.set_local(
        ep("ubnd-huyen-son-duong"),
        "UBND huyện Sơn Dương".into(),
        connected(),
    );
    district
        .set_child_roster(&id("hop-thanh"), commune.publish())
        .unwrap();
    let mut province = tree("tq", "Tuyên Quang", Level::Province);
    province.set_local(
        ep("ubnd-tinh-tq"),
        "UBND tỉnh Tuyên Quang".into(),
        connected(),
    );
    province
        .set_child_roster(&id("son-duong"), district.publish())
        .unwrap();
    let mut central = tree("central", "Chính phủ", Level::Central);
    central.set_local(ep("chu-toa"), "Văn phòng Chính phủ".into(), connected());
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    [central, province, district, commune]
}

#[test]
fn the_master_lists_all_four_levels_with_paths() {
    let [central, ..] = four_levels();
    let mut rows: Vec<(String, String, Vec<McuId>)> = central
        .entries()
        .into_iter()
        .map(|e| (e.entry.endpoint.to_string(), e.display_path, e.path))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("chu-toa".into(), "Chính phủ".into(), vec![id("central")]),
            (
                "ubnd-huyen-son-duong".into(),
                "Chính phủ › Tuyên Quang › Sơn Dương".into(),
                vec![id("central"), id("tq"), id("son-duong")]
            ),
            (
                "ubnd-tinh-tq".into(),
                "Chính phủ › Tuyên Quang".into(),
                vec![id("central"), id("tq")]
            ),
            (
                "ubnd-xa-hop-thanh".into(),
                "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".into(),
                vec![id("central"), id("tq"), id("son-duong"), id("hop-thanh")]
            ),
        ]
    );
    assert!(central.entries().iter().all(|e| e.reachable));
}

#[test]
fn live_state_travels_up_with_the_next_roster() {
    let [mut central, mut province, mut district, mut commune] = four_levels();
    commune
        .set_local_state(
            &ep("ubnd-xa-hop-thanh"),
            EndpointState {
                connected: true,
                audio_muted: true,
                floor_requested: true,
                ..EndpointState::default()
            },
        )
        .unwrap();
    district
        .set_child_roster(&id("hop-thanh"), commune.publish())
        .unwrap();
    province
        .set_child_roster(&id("son-duong"), district.publish())
        .unwrap();
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    let x = central
        .entries()
        .into_iter()
        .find(|e| e.entry.endpoint == ep("ubnd-xa-hop-thanh"))
        .unwrap();
    assert!(x.entry.state.audio_muted && x.entry.state.floor_requested);
}

#[test]
fn a_reconnecting_link_marks_its_subtree_unreachable_at_every_level_above() {
    let [mut central, mut province, mut district, _] = four_levels();
    district.set_child_link(&id("hop-thanh"), LinkState::Reconnecting);
    province
        .set_child_roster(&id("son-duong"), district.publish())
        .unwrap();
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    for e in central.entries() {
        let below_commune = e.path.contains(&id("hop-thanh"));
        assert_eq!(e.reachable, !below_commune, "{}", e.display_path);
    }
    let published = province.publish();
    let commune = published
        .mcus
        .iter()
        .find(|m| m.id == id("hop-thanh"))
        .unwrap();
    assert_eq!(commune.link, LinkState::Reconnecting);
}

fn mcu(i: &str, parent: Option<&str>) -> RosterMcu {
    RosterMcu {
        id: id(i),
        name: i.into(),
        level: Level::District,
        parent: parent.map(id),
        link: LinkState::Up,
    }
}

fn entry(e: &str, m: &str) -> RosterEntry {
    RosterEntry {
        endpoint: ep(e),
        name: e.into(),
        mcu: id(m),
        state: connected(),
    }
}

#[test]
fn a_roster_not_rooted_at_its_sender_is_refused() {
    let [mut central, ..] = four_levels();
    let forged = Roster {
        mcus: vec![mcu("hai-phong", None)],
        endpoints: vec![],
    };
    assert_eq!(
        central.set_child_roster(&id("tq"), forged),
        Err(RosterError::WrongRoot { child: id("tq") })
    );
}

#[test]
fn a_roster_naming_an_mcu_outside_the_subtree_is_refused() {
    let [mut central, ..] = four_levels();
    let forged = Roster {
        mcus: vec![mcu("tq", None), mcu("lost", Some("elsewhere"))],
        endpoints: vec![],
    };
    assert_eq!(
        central.set_child_roster(&id("tq"), forged),
        Err(RosterError::McuOutsideSubtree {
            child: id("tq"),
            mcu: id("lost")
        })
    );
    // Two MCUs naming each other below the child: a loop, also refused.
    let looped = Roster {
        mcus: vec![mcu("tq", None), mcu("a", Some("b")), mcu("b", Some("a"))],
        endpoints: vec![],
    };
    assert!(matches!(
        central.set_child_roster(&id("tq"), looped),
        Err(RosterError::McuOutsideSubtree { .. })
    ));
}

#[test]
fn a_child_cannot_claim_endpoints_or_mcus_of_another_branch() {
    let [mut central, ..] = four_levels();
    let mut hp = tree("hai-phong", "Hải Phòng", Level::Province);
    hp.set_local(ep("ubnd-xa-hop-thanh"), "impostor".into(), connected());
    assert_eq!(
        central.set_child_roster(&id("hai-phong"), hp.publish()),
        Err(RosterError::EndpointConflict {
            endpoint: ep("ubnd-xa-hop-thanh"),
            first: id("hop-thanh"),
            second: id("hai-phong"),
        })
    );
    let claims_mcu = Roster {
        mcus: vec![mcu("hai-phong", None), mcu("son-duong", Some("hai-phong"))],
        endpoints: vec![],
    };
    assert_eq!(
        central.set_child_roster(&id("hai-phong"), claims_mcu),
        Err(RosterError::McuConflict {
            child: id("hai-phong"),
            mcu: id("son-duong")
        })
    );
    let claims_local = Roster {
        mcus: vec![mcu("hai-phong", None)],
        endpoints: vec![entry("chu-toa", "hai-phong")],
    };
    assert!(matches!(
        central.set_child_roster(&id("hai-phong"), claims_local),
        Err(RosterError::EndpointConflict { .. })
    ));
    let off_tree = Roster {
        mcus: vec![mcu("hai-phong", None)],
        endpoints: vec![entry("ubnd-do-son", "do-son")],
    };
    assert!(matches!(
        central.set_child_roster(&id("hai-phong"), off_tree),
        Err(RosterError::EndpointOutsideSubtree { .. })
    ));
    // Nothing of the refused rosters was kept.
    assert!(central.entries().iter().all(|e| e.entry.name != "impostor"));
    assert_eq!(central.entries().len(), 4);
}

#[test]
fn a_child_can_raise_hands_only_in_its_own_subtree() {
    let [mut central, ..] = four_levels();
    central.set_child_link(&id("hai-phong"), LinkState::Up);
    assert_eq!(
        central.floor_request(&id("hai-phong"), &ep("ubnd-xa-hop-thanh"), true),
        Err(RosterError::FloorRequestOutsideSubtree {
            child: id("hai-phong"),
            endpoint: ep("ubnd-xa-hop-thanh")
        })
    );
    central
        .floor_request(&id("tq"), &ep("ubnd-xa-hop-thanh"), true)
        .unwrap();
    let x = central
        .entries()
        .into_iter()
        .find(|e| e.entry.endpoint == ep("ubnd-xa-hop-thanh"))
        .unwrap();
    assert!(x.entry.state.floor_requested);
}

#[test]
fn an_updated_roster_replaces_the_previous_one() {
    let [mut central, mut province, ..] = four_levels();
    province.remove_child(&id("son-duong"));
    central
        .set_child_roster(&id("tq"), province.publish())
        .unwrap();
    let names: Vec<String> = central
        .entries()
        .into_iter()
        .map(|e| e.entry.endpoint.to_string())
        .collect();
    assert_eq!(names, ["chu-toa", "ubnd-tinh-tq"]);
}

fn node(i: &str, parent: Option<&str>, level: Level) -> McuNode {
    McuNode {
        id: id(i),
        name: i.into(),
        level,
        parent: parent.map(id),
        standby: None,
    }
}

#[test]
fn with_the_configured_tree_a_child_cannot_claim_a_branch_that_is_down() {
    let topology = Topology::new([
        node("central", None, Level::Central),
        node("tq", Some("central"), Level::Province),
        node("son-duong", Some("tq"), Level::District),
        node("hop-thanh", Some("son-duong"), Level::Commune),
        node("hai-phong", Some("central"), Level::Province),
        node("do-son", Some("hai-phong"), Level::District),
    ])
    .unwrap();
    let mut central = tree("central", "Chính phủ", Level::Central).with_topology(topology);
    // Tuyên Quang's branch is not linked: without the configured tree,
    // Hải Phòng could publish son-duong as its own.
    let claims = Roster {
        mcus: vec![mcu("hai-phong", None), mcu("son-duong", Some("hai-phong"))],
        endpoints: vec![entry("ubnd-huyen-son-duong", "son-duong")],
    };
    assert_eq!(
        central.set_child_roster(&id("hai-phong"), claims.clone()),
        Err(RosterError::McuOutsideSubtree {
            child: id("hai-phong"),
            mcu: id("son-duong")
        })
    );
    assert!(central.entries().is_empty());
    // The same roster is accepted by a tree that does not know the topology:
    // the check is the configured tree's.
    let mut blind = tree("central", "Chính phủ", Level::Central);
    assert!(blind.set_child_roster(&id("hai-phong"), claims).is_ok());
    // A configured MCU under a wrong parent is refused too.
    let reparented = Roster {
        mcus: vec![
            mcu("hai-phong", None),
            mcu("x", Some("hai-phong")),
            mcu("do-son", Some("x")),
        ],
        endpoints: vec![],
    };
    assert!(matches!(
        central.set_child_roster(&id("hai-phong"), reparented),
        Err(RosterError::McuOutsideSubtree { .. })
    ));
    // Its own configured subtree is fine.
    let own = Roster {
        mcus: vec![mcu("hai-phong", None), mcu("do-son", Some("hai-phong"))],
        endpoints: vec![entry("ubnd-do-son", "do-son")],
    };
    central.set_child_roster(&id("hai-phong"), own).unwrap();
    assert_eq!(central.entries().len(), 1);
}
