//! Paths from the master by name, and warnings (not errors) for cascades
//! deeper than three links.

use mcu_cascade::ids::McuId;
use mcu_cascade::topology::{Level, McuNode, Topology, TopologyWarning};

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn node(i: &str, name: &str, level: Level, parent: Option<&str>) -> McuNode {
    McuNode {
        id: id(i),
        name: name.into(),
        level,
        parent: parent.map(id),
        standby: None,
    }
}

fn four_levels() -> Vec<McuNode> {
    vec![
        node("central", "Chính phủ", Level::Central, None),
        node("tq", "Tuyên Quang", Level::Province, Some("central")),
        node("son-duong", "Sơn Dương", Level::District, Some("tq")),
        node("hop-thanh", "Hợp Thành", Level::Commune, Some("son-duong")),
        node("hp", "Hải Phòng", Level::Province, Some("central")),
    ]
}

#[test]
fn the_path_of_a_commune_reads_from_the_master_down() {
    let t = Topology::new(four_levels()).unwrap();
    assert_eq!(
        t.display_path(&id("hop-thanh")).unwrap(),
        "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành"
    );
    let ids: Vec<_> = t
        .path(&id("hop-thanh"))
        .unwrap()
        .iter()
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(
        ids,
        [id("central"), id("tq"), id("son-duong"), id("hop-thanh")]
    );
    assert_eq!(t.display_path(&id("central")).unwrap(), "Chính phủ");
    assert_eq!(t.display_path(&id("nowhere")), None);
}

#[test]
fn four_levels_give_no_warning() {
    let t = Topology::new(four_levels()).unwrap();
    assert_eq!(t.warnings(), []);
}

#[test]
fn a_fifth_level_is_a_warning_not_an_error() {
    let mut nodes = four_levels();
    nodes.push(node("thon-1", "Thôn 1", Level::Commune, Some("hop-thanh")));
    let t = Topology::new(nodes).expect("a deep tree is still valid");
    let warnings = t.warnings();
    assert!(
        warnings.contains(&TopologyWarning::LongPath {
            mcu: id("thon-1"),
            hops: 4,
            path: "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành › Thôn 1".into(),
        }),
        "{warnings:?}"
    );
    assert!(warnings[0].to_string().contains("4 cascade links"));
}

#[test]
fn a_standby_that_would_make_the_subtree_too_deep_is_a_warning() {
    // son-duong (with commune hop-thanh below) falls back to a district of
    // Hải Phòng: hop-thanh would be central › hp › do-son › son-duong ›
    // hop-thanh, four links.
    let mut nodes = four_levels();
    nodes.push(node("do-son", "Đồ Sơn", Level::District, Some("hp")));
    nodes[2].standby = Some(id("do-son"));
    let t = Topology::new(nodes).unwrap();
    assert_eq!(
        t.warnings(),
        [TopologyWarning::LongStandbyPath {
            mcu: id("son-duong"),
            standby: id("do-son"),
            hops: 4,
        }]
    );
}

#[test]
fn a_standby_at_the_same_depth_is_fine() {
    let mut nodes = four_levels();
    nodes[2].standby = Some(id("hp")); // son-duong may fall back to another province
    let t = Topology::new(nodes).unwrap();
    assert_eq!(t.warnings(), []);
}

#[test]
fn a_child_above_its_parents_level_is_a_warning() {
    let mut nodes = four_levels();
    nodes[4].level = Level::Central; // hp, a child of central, says "central"
    let t = Topology::new(nodes).unwrap();
    assert!(matches!(
        t.warnings().as_slice(),
        [TopologyWarning::LevelOrder { mcu, .. }] if *mcu == id("hp")
    ));
}
