//! The configured tree is refused at start when it is not a tree, with an
//! error naming the nodes at fault.

use mcu_cascade::ids::McuId;
use mcu_cascade::topology::{Level, McuNode, ParentName, Topology, TopologyError};

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn node(i: &str, level: Level, parent: Option<&str>, standby: Option<&str>) -> McuNode {
    McuNode {
        id: id(i),
        name: i.to_uppercase(),
        level,
        parent: parent.map(id),
        standby: standby.map(id),
    }
}

/// central › (tq, hp); tq › son-duong › hop-thanh; hp › do-son.
fn four_levels() -> Vec<McuNode> {
    vec![
        node("central", Level::Central, None, None),
        node("tq", Level::Province, Some("central"), Some("hp")),
        node("hp", Level::Province, Some("central"), None),
        node("son-duong", Level::District, Some("tq"), None),
        node("hop-thanh", Level::Commune, Some("son-duong"), None),
        node("do-son", Level::District, Some("hp"), None),
    ]
}

#[test]
fn a_four_level_tree_with_a_standby_is_accepted() {
    let t = Topology::new(four_levels()).unwrap();
    assert_eq!(t.root(), &id("central"));
    assert_eq!(t.hops(&id("hop-thanh")), Some(3));
    let mut children: Vec<_> = t.children(&id("central")).into_iter().cloned().collect();
    children.sort();
    assert_eq!(children, [id("hp"), id("tq")]);
}

#[test]
fn a_loop_is_refused_naming_its_nodes() {
    // a → b → c → a, hanging off nothing; the real root is central.
    let mut nodes = vec![node("central", Level::Central, None, None)];
    nodes.push(node("b", Level::Province, Some("a"), None));
    nodes.push(node("c", Level::Province, Some("b"), None));
    nodes.push(node("a", Level::Province, Some("c"), None));
    let err = Topology::new(nodes).unwrap_err();
    assert_eq!(
        err,
        TopologyError::Loop {
            nodes: vec![id("a"), id("c"), id("b")]
        }
    );
    assert_eq!(
        err.to_string(),
        "the parent links form a loop: a → c → b → a"
    );
}

#[test]
fn a_node_that_is_its_own_parent_is_a_loop() {
    let nodes = vec![
        node("central", Level::Central, None, None),
        node("tq", Level::Province, Some("tq"), None),
    ];
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::Loop {
            nodes: vec![id("tq")]
        }
    );
}

#[test]
fn a_tree_without_root_is_reported_as_its_loop() {
    let nodes = vec![
        node("a", Level::Central, Some("b"), None),
        node("b", Level::Province, Some("a"), None),
    ];
    assert!(matches!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::Loop { .. }
    ));
}

#[test]
fn two_roots_are_refused() {
    let mut nodes = four_levels();
    nodes.push(node("other-master", Level::Central, None, None));
    let err = Topology::new(nodes).unwrap_err();
    assert_eq!(
        err,
        TopologyError::MultipleRoots {
            roots: vec![id("central"), id("other-master")]
        }
    );
    assert!(err.to_string().contains("central, other-master"));
}

#[test]
fn a_second_parent_is_refused_naming_both() {
    let mut nodes = four_levels();
    nodes.push(node("son-duong", Level::District, Some("hp"), None));
    let err = Topology::new(nodes).unwrap_err();
    assert_eq!(
        err,
        TopologyError::SecondParent {
            node: id("son-duong"),
            first: ParentName(Some(id("tq"))),
            second: ParentName(Some(id("hp"))),
        }
    );
    assert_eq!(
        err.to_string(),
        "MCU son-duong has a second parent: tq and hp"
    );
}

#[test]
fn the_same_node_twice_is_refused() {
    let mut nodes = four_levels();
    nodes.push(node("do-son", Level::District, Some("hp"), None));
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::DuplicateNode(id("do-son"))
    );
}

#[test]
fn an_unknown_parent_is_refused() {
    let mut nodes = four_levels();
    nodes.push(node("xa-moi", Level::Commune, Some("huyen-moi"), None));
    let err = Topology::new(nodes).unwrap_err();
    assert_eq!(
        err,
        TopologyError::UnknownParent {
            node: id("xa-moi"),
            parent: id("huyen-moi")
        }
    );
}

#[test]
fn an_empty_tree_is_refused() {
    assert_eq!(Topology::new(vec![]).unwrap_err(), TopologyError::Empty);
}

#[test]
fn a_standby_is_not_a_parent_for_the_loop_check() {
    // hp names tq as standby and tq names hp: two cross standbys, no loop.
    let mut nodes = four_levels();
    nodes[2].standby = Some(id("tq"));
    assert!(Topology::new(nodes).is_ok());
}

#[test]
fn an_unknown_standby_is_refused() {
    let mut nodes = four_levels();
    nodes[3].standby = Some(id("nowhere"));
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::UnknownStandby {
            node: id("son-duong"),
            standby: id("nowhere")
        }
    );
}

#[test]
fn a_standby_that_is_the_node_itself_is_refused() {
    let mut nodes = four_levels();
    nodes[3].standby = Some(id("son-duong"));
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::StandbyIsSelf {
            node: id("son-duong")
        }
    );
}

#[test]
fn a_standby_below_the_node_is_refused() {
    let mut nodes = four_levels();
    nodes[1].standby = Some(id("hop-thanh")); // tq's grandchild
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::StandbyIsDescendant {
            node: id("tq"),
            standby: id("hop-thanh")
        }
    );
}

#[test]
fn a_standby_equal_to_the_parent_is_refused() {
    let mut nodes = four_levels();
    nodes[3].standby = Some(id("tq"));
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::StandbyIsParent {
            node: id("son-duong"),
            parent: id("tq")
        }
    );
}

#[test]
fn a_standby_on_the_master_is_refused() {
    let mut nodes = four_levels();
    nodes[0].standby = Some(id("hp"));
    assert_eq!(
        Topology::new(nodes).unwrap_err(),
        TopologyError::StandbyOnRoot {
            node: id("central"),
            standby: id("hp")
        }
    );
}

#[test]
fn a_parent_accepts_its_children_and_those_naming_it_standby() {
    let t = Topology::new(four_levels()).unwrap();
    let mut accepted: Vec<_> = t
        .accepted_children(&id("hp"))
        .into_iter()
        .cloned()
        .collect();
    accepted.sort();
    assert_eq!(accepted, [id("do-son"), id("tq")]);
    assert!(t.accepted_children(&id("hop-thanh")).is_empty());
}

#[test]
fn the_tree_reads_from_toml_config() {
    #[derive(serde::Deserialize)]
    struct Config {
        mcu: Vec<McuNode>,
    }
    let text = r#"
        [[mcu]]
        id = "central"
        name = "Chính phủ"
        level = "central"

        [[mcu]]
        id = "tq"
        name = "Tuyên Quang"
        level = "province"
        parent = "central"
    "#;
    let config: Config = toml::from_str(text).unwrap();
    let t = Topology::new(config.mcu).unwrap();
    assert_eq!(
        t.display_path(&id("tq")).unwrap(),
        "Chính phủ › Tuyên Quang"
    );
}
