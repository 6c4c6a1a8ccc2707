//! Four levels, a tone per endpoint: with links mixed N-1 like endpoints,
//! every endpoint hears every other tone exactly once and never its own.
//! The same checker catches echo when a naive policy sends a link's sound
//! back to it.

use std::collections::{BTreeMap, BTreeSet};

use mcu_cascade::ids::{EndpointId, McuId};
use mcu_cascade::trunk::{Direction, Member, Participant, audio_mix, trunk_audio};

fn id(s: &str) -> McuId {
    McuId::new(s).unwrap()
}

fn ep(s: &str) -> EndpointId {
    EndpointId::new(s).unwrap()
}

/// An MCU's conference: its parent, its local endpoints, its children.
struct Mcu {
    parent: Option<McuId>,
    endpoints: Vec<(EndpointId, bool)>,
    children: Vec<McuId>,
}

impl Mcu {
    fn participants(&self) -> Vec<Participant> {
        let mut p: Vec<Participant> = self
            .endpoints
            .iter()
            .map(|(e, muted)| Participant {
                member: Member::Endpoint(e.clone()),
                audio_muted: *muted,
            })
            .collect();
        p.extend(
            self.parent
                .iter()
                .chain(&self.children)
                .map(|l| Participant::new(Member::Link(l.clone()))),
        );
        p
    }
}

/// central (chair + one more) › tq (province) › son-duong › hop-thanh, and a
/// second province hp with a district do-son: branches at two levels.
fn network() -> BTreeMap<McuId, Mcu> {
    let mut net = BTreeMap::new();
    let mut add = |i: &str, parent: Option<&str>, eps: &[&str], children: &[&str]| {
        net.insert(
            id(i),
            Mcu {
                parent: parent.map(id),
                endpoints: eps.iter().map(|e| (ep(e), false)).collect(),
                children: children.iter().map(|c| id(c)).collect(),
            },
        );
    };
    add("central", None, &["chu-toa", "bo-noi-vu"], &["tq", "hp"]);
    add("tq", Some("central"), &["tinh-tq"], &["son-duong"]);
    add(
        "son-duong",
        Some("tq"),
        &["huyen-son-duong"],
        &["hop-thanh"],
    );
    add(
        "hop-thanh",
        Some("son-duong"),
        &["xa-hop-thanh", "xa-hop-thanh-2"],
        &[],
    );
    add("hp", Some("central"), &["tp-hai-phong"], &["do-son"]);
    add("do-son", Some("hp"), &["quan-do-son"], &[]);
    net
}

/// The mixing policy under test: (participants, sink) → sources.
type Policy = fn(&[Participant], &Member) -> BTreeSet<Member>;

/// What an MCU sends towards its neighbour `to`: each tone once per path it
/// arrives by. Panics with "echo" when sound would circulate.
fn over_link(
    net: &BTreeMap<McuId, Mcu>,
    policy: Policy,
    from: &McuId,
    to: &McuId,
    depth: usize,
) -> Vec<EndpointId> {
    assert!(depth < 16, "echo: sound circulates between {from} and {to}");
    let sink = Member::Link(to.clone());
    policy(&net[from].participants(), &sink)
        .into_iter()
        .flat_map(|s| expand(net, policy, from, s, depth + 1))
        .collect()
}

fn expand(
    net: &BTreeMap<McuId, Mcu>,
    policy: Policy,
    at: &McuId,
    source: Member,
    depth: usize,
) -> Vec<EndpointId> {
    match source {
        Member::Endpoint(e) => vec![e],
        Member::Link(other) => over_link(net, policy, &other, at, depth),
    }
}

/// Tones heard by each endpoint, with multiplicity.
fn heard(net: &BTreeMap<McuId, Mcu>, policy: Policy) -> BTreeMap<EndpointId, Vec<EndpointId>> {
    let mut out = BTreeMap::new();
    for (mcu_id, mcu) in net {
        for (e, _) in &mcu.endpoints {
            let mut tones: Vec<EndpointId> =
                policy(&mcu.participants(), &Member::Endpoint(e.clone()))
                    .into_iter()
                    .flat_map(|s| expand(net, policy, mcu_id, s, 0))
                    .collect();
            tones.sort();
            out.insert(e.clone(), tones);
        }
    }
    out
}

fn all_unmuted(net: &BTreeMap<McuId, Mcu>) -> Vec<EndpointId> {
    let mut v: Vec<EndpointId> = net
        .values()
        .flat_map(|m| {
            m.endpoints
                .iter()
                .filter(|(_, muted)| !muted)
                .map(|(e, _)| e.clone())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn no_endpoint_at_any_level_hears_its_own_tone_and_each_other_tone_arrives_once() {
    let net = network();
    let everyone = all_unmuted(&net);
    let heard = heard(&net, audio_mix);
    assert_eq!(heard.len(), 8);
    for (e, tones) in &heard {
        assert!(!tones.contains(e), "{e} hears itself: {tones:?}");
        let expected: Vec<EndpointId> = everyone.iter().filter(|o| *o != e).cloned().collect();
        assert_eq!(
            tones, &expected,
            "{e}: each other tone exactly once (no doubled audio)"
        );
    }
}

#[test]
fn the_chair_hears_the_commune_and_the_commune_hears_the_chair() {
    let heard = heard(&network(), audio_mix);
    assert!(heard[&ep("chu-toa")].contains(&ep("xa-hop-thanh")));
    assert!(heard[&ep("xa-hop-thanh")].contains(&ep("chu-toa")));
    // Across branches too: a commune of Tuyên Quang hears Đồ Sơn.
    assert!(heard[&ep("xa-hop-thanh")].contains(&ep("quan-do-son")));
}

#[test]
fn the_uplink_carries_what_is_below_and_never_what_came_down() {
    let net = network();
    let mut up: Vec<EndpointId> = over_link(&net, audio_mix, &id("tq"), &id("central"), 0);
    up.sort();
    assert_eq!(
        up,
        [
            ep("huyen-son-duong"),
            ep("tinh-tq"),
            ep("xa-hop-thanh"),
            ep("xa-hop-thanh-2")
        ]
    );
    let down = over_link(&net, audio_mix, &id("central"), &id("tq"), 0);
    assert!(down.contains(&ep("chu-toa")) && down.contains(&ep("quan-do-son")));
    assert!(
        !down.iter().any(|e| up.contains(e)),
        "nothing from tq goes back to tq"
    );
}

#[test]
fn trunk_audio_is_the_mix_minus_that_link() {
    let tq = &network()[&id("tq")];
    let down = trunk_audio(&tq.participants(), &Direction::Down(id("son-duong")));
    assert_eq!(
        down,
        BTreeSet::from([Member::Endpoint(ep("tinh-tq")), Member::Link(id("central"))])
    );
    let up = trunk_audio(&tq.participants(), &Direction::Up(id("central")));
    assert_eq!(
        up,
        BTreeSet::from([
            Member::Endpoint(ep("tinh-tq")),
            Member::Link(id("son-duong"))
        ])
    );
}

#[test]
fn a_muted_endpoint_is_heard_nowhere_in_the_tree() {
    let mut net = network();
    net.get_mut(&id("hop-thanh")).unwrap().endpoints[0].1 = true; // xa-hop-thanh muted
    for (e, tones) in heard(&net, audio_mix) {
        assert!(
            !tones.contains(&ep("xa-hop-thanh")),
            "{e} hears a muted endpoint"
        );
        assert!(!tones.contains(&e));
    }
}

/// A policy that forgets to take the link's own sound out: what the
/// checker above must catch.
fn naive_full_mix(participants: &[Participant], sink: &Member) -> BTreeSet<Member> {
    participants
        .iter()
        .filter(|p| !p.audio_muted && (matches!(p.member, Member::Link(_)) || &p.member != sink))
        .map(|p| p.member.clone())
        .collect()
}

#[test]
#[should_panic(expected = "echo")]
fn the_checker_catches_a_policy_that_echoes_over_a_link() {
    heard(&network(), naive_full_mix);
}
