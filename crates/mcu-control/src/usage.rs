//! The periodic usage report (R13: units report yearly on how the system
//! served them; R19: usage measurable per organisation for paid use),
//! compiled for a period `[from, to)` from the store's aggregate reads
//! (`mcu_store::usage`). Pure computation: the route reads the store and
//! hands the rows in.
//!
//! Per **endpoint**:
//!
//! - **Sessions**: conferences in which it was connected during the period
//!   (at least one quality sample in `[from, to)`; rehearsal included). A
//!   conference that straddles a boundary counts in both periods.
//! - **Connected time**: its samples in the period × the conference's record
//!   period — the quality report's "time connected" ([`crate::report`]),
//!   clipped to the period. The record period is the median gap over all of
//!   the conference's samples ([`median_gap_ms`]).
//! - **Readiness checks / failures**: conferences where it has a readiness
//!   result whose latest one was measured in the period / failed. A failure
//!   fixed by a passing re-test is not a failure.
//! - **Incidents**: the operator `incident` entries written in the period in
//!   the logbooks of conferences it took part in (listed as a participant, or
//!   connected). A logbook entry names no endpoint, so an incident counts for
//!   every endpoint of its conference: this is "incidents in its sessions",
//!   not "incidents it caused".
//!
//! Per **unit** (the directory's `unit` of each endpoint): its endpoints and
//! how many were used; sessions are the *distinct* conferences any of its
//! endpoints was connected in; connected time and readiness figures are the
//! sums of its endpoints'; incidents are the distinct incidents of the
//! conferences its endpoints took part in (one incident is not counted
//! twice because two of the unit's rooms were in the meeting).
//!
//! Per **organisation** (a booking's organising unit; conferences created
//! without a booking form one row without a name):
//!
//! - **Bookings / booked time**: approved bookings whose official window
//!   `[start_at, end_at)` overlaps the period; the overlap.
//! - **Conferences / actual time**: its conferences whose live window
//!   (`started_at` to `ended_at`, or now while live) overlaps the period; the
//!   overlap (the official session: rehearsal not included).
//! - **Endpoint time**: the connected time of every endpoint in its
//!   conferences during the period (rehearsal included): what a service
//!   contract would bill (R19).
//! - **Endpoints**: distinct endpoints connected; **incidents** in its
//!   conferences.
//!
//! Organising units are free text in bookings: they are grouped after
//! trimming, collapsing spaces and ignoring case, and shown as first written.
//!
//! A site operator's report ([`Scope::Endpoints`]) holds only their own
//! endpoints, the units figures over those endpoints, and no organisations.

use std::collections::{BTreeMap, BTreeSet};

use mcu_store::{
    BookingUsage, ConferenceIncidents, ConferenceUsage, ReadinessVerdict, SampleGap,
    UsageConnection, UsageEndpoint,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::report::median_gap_ms;

/// What the store gave for the period.
#[derive(Clone, Debug, Default)]
pub struct UsageInput {
    /// The directory.
    pub endpoints: Vec<UsageEndpoint>,
    /// Samples per conference and endpoint in the period.
    pub connections: Vec<UsageConnection>,
    /// Gap counts of the conferences with samples in the period.
    pub gaps: Vec<SampleGap>,
    /// Latest readiness verdicts measured in the period.
    pub readiness: Vec<ReadinessVerdict>,
    /// Incidents per conference written in the period.
    pub incidents: Vec<ConferenceIncidents>,
    /// `(conference, endpoint)` participants of conferences with incidents.
    pub participants: Vec<(String, String)>,
    /// Conferences live, used or with an incident in the period.
    pub conferences: Vec<ConferenceUsage>,
    /// Approved bookings overlapping the period.
    pub bookings: Vec<BookingUsage>,
}

/// Whose rows the report holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole network (admins, operators, auditors).
    All,
    /// These endpoints only (a site operator's own).
    Endpoints(BTreeSet<String>),
}

impl Scope {
    fn covers(&self, endpoint: &str) -> bool {
        match self {
            Self::All => true,
            Self::Endpoints(own) => own.contains(endpoint),
        }
    }
}

/// One endpoint's usage in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct EndpointUsage {
    /// Endpoint id.
    pub endpoint: String,
    /// Its name (the id when it is no longer in the directory).
    pub name: String,
    /// Its unit (`null` when it is no longer in the directory).
    pub unit: Option<String>,
    /// Its level (`null` when it is no longer in the directory).
    pub level: Option<String>,
    /// Conferences it was connected in.
    pub sessions: u64,
    /// Time connected, ms.
    pub connected_ms: i64,
    /// Conferences with a readiness verdict.
    pub readiness_checks: u64,
    /// Of those, failed (latest result).
    pub readiness_failures: u64,
    /// Incidents in the conferences it took part in.
    pub incidents: u64,
}

/// One unit's usage in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnitUsage {
    /// The unit (`null`: endpoints no longer in the directory).
    pub unit: Option<String>,
    /// Its endpoints in the report.
    pub endpoints: u64,
    /// Of those, connected at least once.
    pub endpoints_used: u64,
    /// Distinct conferences any of its endpoints was connected in.
    pub sessions: u64,
    /// Sum of its endpoints' time connected, ms.
    pub connected_ms: i64,
    /// Sum of its endpoints' readiness verdicts.
    pub readiness_checks: u64,
    /// Sum of its endpoints' failed verdicts.
    pub readiness_failures: u64,
    /// Distinct incidents of the conferences its endpoints took part in.
    pub incidents: u64,
}

/// One organisation's usage in the period (R19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrganisationUsage {
    /// The organising unit as first written (`null`: conferences without a booking).
    pub organisation: Option<String>,
    /// Approved bookings overlapping the period.
    pub bookings: u64,
    /// Their booked time within the period, ms.
    pub booked_ms: i64,
    /// Its conferences live in the period.
    pub conferences: u64,
    /// Their live time within the period, ms.
    pub actual_ms: i64,
    /// Time connected of all endpoints in its conferences, ms.
    pub endpoint_ms: i64,
    /// Distinct endpoints connected in its conferences.
    pub endpoints: u64,
    /// Incidents in its conferences.
    pub incidents: u64,
}

/// The report's totals over its endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct UsageTotals {
    /// Endpoints in the report.
    pub endpoints: u64,
    /// Of those, connected at least once.
    pub endpoints_used: u64,
    /// Distinct conferences with one of them connected.
    pub sessions: u64,
    /// Time connected of all, ms (endpoint-hours).
    pub connected_ms: i64,
    /// Readiness verdicts.
    pub readiness_checks: u64,
    /// Failed verdicts.
    pub readiness_failures: u64,
    /// Distinct incidents (of the conferences they took part in).
    pub incidents: u64,
}

/// The organisations' totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrganisationTotals {
    /// Approved bookings.
    pub bookings: u64,
    /// Booked time, ms.
    pub booked_ms: i64,
    /// Conferences live.
    pub conferences: u64,
    /// Live time, ms.
    pub actual_ms: i64,
    /// Endpoint time, ms.
    pub endpoint_ms: i64,
    /// Incidents.
    pub incidents: u64,
}

/// The compiled report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// Per endpoint, by unit then name.
    pub endpoints: Vec<EndpointUsage>,
    /// Per unit, by name (`null` last).
    pub units: Vec<UnitUsage>,
    /// Totals over the endpoints.
    pub totals: UsageTotals,
    /// Per organisation, by name (`null` last); empty for a scoped report.
    pub organisations: Vec<OrganisationUsage>,
    /// Their totals (`None` for a scoped report).
    pub organisation_totals: Option<OrganisationTotals>,
}

/// The part of `[start, end)` inside `[from, to)`, ms (0 when apart).
pub fn overlap_ms(start: i64, end: i64, from: i64, to: i64) -> i64 {
    (end.min(to) - start.max(from)).max(0)
}

/// The grouping key of an organising unit: trimmed, single-spaced, lowercase.
pub fn organisation_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[derive(Default)]
struct Acc {
    sessions: BTreeSet<String>,
    connected_ms: i64,
    checks: u64,
    failures: u64,
    took_part: BTreeSet<String>,
}

/// Compiles the report for `[from, to)`; `now` closes the live window of a
/// conference still running.
pub fn compile(input: &UsageInput, from: i64, to: i64, now: i64, scope: &Scope) -> Compiled {
    // The record period of each conference, from its gap counts.
    let mut gaps: BTreeMap<&str, Vec<(i64, u64)>> = BTreeMap::new();
    for g in &input.gaps {
        gaps.entry(g.conference_id.as_str())
            .or_default()
            .push((g.gap_ms, u64::try_from(g.count).unwrap_or(0)));
    }
    let period =
        |conference: &str| median_gap_ms(gaps.get(conference).cloned().unwrap_or_default());
    let incidents: BTreeMap<&str, u64> = input
        .incidents
        .iter()
        .map(|i| {
            let n = u64::try_from(i.incidents).unwrap_or(0);
            (i.conference_id.as_str(), n)
        })
        .collect();

    // Per endpoint in scope.
    let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
    for e in input.endpoints.iter().filter(|e| scope.covers(&e.id)) {
        acc.entry(e.id.as_str()).or_default();
    }
    let mut connected_in: BTreeMap<&str, i64> = BTreeMap::new();
    for c in &input.connections {
        let ms = c.samples * period(&c.conference_id);
        *connected_in.entry(c.conference_id.as_str()).or_default() += ms;
        if !scope.covers(&c.endpoint_id) {
            continue;
        }
        let a = acc.entry(c.endpoint_id.as_str()).or_default();
        a.sessions.insert(c.conference_id.clone());
        a.connected_ms += ms;
        if incidents.contains_key(c.conference_id.as_str()) {
            a.took_part.insert(c.conference_id.clone());
        }
    }
    for (conference, endpoint) in &input.participants {
        if scope.covers(endpoint) && incidents.contains_key(conference.as_str()) {
            let a = acc.entry(endpoint.as_str()).or_default();
            a.took_part.insert(conference.clone());
        }
    }
    for r in input
        .readiness
        .iter()
        .filter(|r| scope.covers(&r.endpoint_id))
    {
        let a = acc.entry(r.endpoint_id.as_str()).or_default();
        a.checks += 1;
        a.failures += u64::from(!r.passed);
    }

    let directory: BTreeMap<&str, &UsageEndpoint> =
        input.endpoints.iter().map(|e| (e.id.as_str(), e)).collect();
    let incidents_of = |conferences: &BTreeSet<String>| -> u64 {
        conferences
            .iter()
            .map(|c| incidents.get(c.as_str()).copied().unwrap_or(0))
            .sum()
    };
    let mut endpoints: Vec<EndpointUsage> = acc
        .iter()
        .map(|(id, a)| {
            let known = directory.get(id);
            EndpointUsage {
                endpoint: (*id).to_owned(),
                name: known.map_or_else(|| (*id).to_owned(), |e| e.name.clone()),
                unit: known.map(|e| e.unit.clone()),
                level: known.map(|e| e.level.clone()),
                sessions: a.sessions.len() as u64,
                connected_ms: a.connected_ms,
                readiness_checks: a.checks,
                readiness_failures: a.failures,
                incidents: incidents_of(&a.took_part),
            }
        })
        .collect();
    // By unit (unknown last), then name, then id.
    endpoints.sort_by(|a, b| {
        (a.unit.is_none(), &a.unit, &a.name, &a.endpoint).cmp(&(
            b.unit.is_none(),
            &b.unit,
            &b.name,
            &b.endpoint,
        ))
    });

    let mut units: BTreeMap<(bool, Option<String>), (UnitUsage, Acc)> = BTreeMap::new();
    let mut all = Acc::default();
    let mut totals = UsageTotals::default();
    for e in &endpoints {
        let a = &acc[e.endpoint.as_str()];
        let (u, ua) = units
            .entry((e.unit.is_none(), e.unit.clone()))
            .or_insert_with(|| {
                (
                    UnitUsage {
                        unit: e.unit.clone(),
                        endpoints: 0,
                        endpoints_used: 0,
                        sessions: 0,
                        connected_ms: 0,
                        readiness_checks: 0,
                        readiness_failures: 0,
                        incidents: 0,
                    },
                    Acc::default(),
                )
            });
        u.endpoints += 1;
        u.endpoints_used += u64::from(e.sessions > 0);
        u.connected_ms += e.connected_ms;
        u.readiness_checks += e.readiness_checks;
        u.readiness_failures += e.readiness_failures;
        totals.endpoints += 1;
        totals.endpoints_used += u64::from(e.sessions > 0);
        totals.connected_ms += e.connected_ms;
        totals.readiness_checks += e.readiness_checks;
        totals.readiness_failures += e.readiness_failures;
        for figures in [ua, &mut all] {
            figures.sessions.extend(a.sessions.iter().cloned());
            figures.took_part.extend(a.took_part.iter().cloned());
        }
    }
    let units: Vec<UnitUsage> = units
        .into_values()
        .map(|(mut u, a)| {
            u.sessions = a.sessions.len() as u64;
            u.incidents = incidents_of(&a.took_part);
            u
        })
        .collect();
    totals.sessions = all.sessions.len() as u64;
    totals.incidents = match scope {
        Scope::All => incidents.values().sum(),
        Scope::Endpoints(_) => incidents_of(&all.took_part),
    };

    let (organisations, organisation_totals) = match scope {
        Scope::All => {
            let (rows, sum) = organisations(input, from, to, now, &connected_in, &incidents);
            (rows, Some(sum))
        }
        Scope::Endpoints(_) => (Vec::new(), None),
    };
    Compiled {
        endpoints,
        units,
        totals,
        organisations,
        organisation_totals,
    }
}

/// Organisation rows being summed, keyed by (no booking, normalised name)
/// so the unbooked row sorts last; with the endpoints connected.
type OrganisationRows<'i> = BTreeMap<(bool, String), (OrganisationUsage, BTreeSet<&'i str>)>;

fn organisation_row<'r, 'i>(
    rows: &'r mut OrganisationRows<'i>,
    name: Option<&str>,
) -> &'r mut (OrganisationUsage, BTreeSet<&'i str>) {
    let key = (
        name.is_none(),
        name.map(organisation_key).unwrap_or_default(),
    );
    rows.entry(key).or_insert_with(|| {
        (
            OrganisationUsage {
                organisation: name.map(|n| n.trim().to_owned()),
                bookings: 0,
                booked_ms: 0,
                conferences: 0,
                actual_ms: 0,
                endpoint_ms: 0,
                endpoints: 0,
                incidents: 0,
            },
            BTreeSet::new(),
        )
    })
}

fn organisations(
    input: &UsageInput,
    from: i64,
    to: i64,
    now: i64,
    connected_in: &BTreeMap<&str, i64>,
    incidents: &BTreeMap<&str, u64>,
) -> (Vec<OrganisationUsage>, OrganisationTotals) {
    let mut rows: OrganisationRows<'_> = BTreeMap::new();
    for b in &input.bookings {
        let (o, _) = organisation_row(&mut rows, Some(b.organising_unit.as_str()));
        o.bookings += 1;
        o.booked_ms += overlap_ms(b.start_at, b.end_at, from, to);
    }
    let mut seen = BTreeSet::new();
    for c in &input.conferences {
        if !seen.insert(c.conference_id.as_str()) {
            continue;
        }
        let live = c
            .started_at
            .map_or(0, |s| overlap_ms(s, c.ended_at.unwrap_or(now), from, to));
        let id = c.conference_id.as_str();
        let (o, endpoints) = organisation_row(&mut rows, c.organising_unit.as_deref());
        o.conferences += u64::from(live > 0);
        o.actual_ms += live;
        o.endpoint_ms += connected_in.get(id).copied().unwrap_or(0);
        o.incidents += incidents.get(id).copied().unwrap_or(0);
        endpoints.extend(
            input
                .connections
                .iter()
                .filter(|x| x.conference_id == id)
                .map(|x| x.endpoint_id.as_str()),
        );
    }
    let mut totals = OrganisationTotals::default();
    let rows: Vec<OrganisationUsage> = rows
        .into_values()
        .map(|(mut o, endpoints)| {
            o.endpoints = endpoints.len() as u64;
            o
        })
        .filter(|o| o.bookings + o.conferences + o.incidents > 0 || o.endpoint_ms > 0)
        .inspect(|o| {
            totals.bookings += o.bookings;
            totals.booked_ms += o.booked_ms;
            totals.conferences += o.conferences;
            totals.actual_ms += o.actual_ms;
            totals.endpoint_ms += o.endpoint_ms;
            totals.incidents += o.incidents;
        })
        .collect();
    (rows, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn endpoint(id: &str, unit: &str) -> UsageEndpoint {
        UsageEndpoint {
            id: id.into(),
            name: format!("Điểm cầu {id}"),
            unit: unit.into(),
            level: "commune".into(),
        }
    }

    fn conn(conference: &str, endpoint: &str, samples: i64) -> UsageConnection {
        UsageConnection {
            conference_id: conference.into(),
            endpoint_id: endpoint.into(),
            samples,
        }
    }

    #[test]
    fn overlap_is_clipped_to_the_period() {
        assert_eq!(overlap_ms(0, 10, 2, 5), 3);
        assert_eq!(overlap_ms(3, 10, 2, 5), 2);
        assert_eq!(overlap_ms(0, 2, 2, 5), 0, "ends where the period starts");
        assert_eq!(overlap_ms(5, 9, 2, 5), 0, "starts where it ends");
        assert_eq!(overlap_ms(9, 3, 0, 10), 0, "never negative");
    }

    #[test]
    fn organising_units_group_by_spacing_and_case() {
        assert_eq!(
            organisation_key("  Sở  Tư pháp "),
            organisation_key("sở tư PHÁP")
        );
        assert_ne!(organisation_key("Sở Tư pháp"), organisation_key("Sở Y tế"));
    }

    /// Two rooms of one unit in the same conference make one session and
    /// one incident for the unit; a site operator's scope keeps their rooms.
    #[test]
    fn units_count_distinct_conferences_and_incidents() {
        let input = UsageInput {
            endpoints: vec![
                endpoint("a1", "Huyện A"),
                endpoint("a2", "Huyện A"),
                endpoint("b1", "Huyện B"),
            ],
            connections: vec![
                conn("c1", "a1", 10),
                conn("c1", "a2", 4),
                conn("c2", "b1", 6),
            ],
            gaps: vec![
                SampleGap {
                    conference_id: "c1".into(),
                    gap_ms: 5_000,
                    count: 12,
                },
                SampleGap {
                    conference_id: "c2".into(),
                    gap_ms: 10_000,
                    count: 5,
                },
            ],
            incidents: vec![ConferenceIncidents {
                conference_id: "c1".into(),
                incidents: 2,
            }],
            participants: vec![("c1".into(), "a1".into()), ("c1".into(), "b1".into())],
            conferences: vec![
                ConferenceUsage {
                    conference_id: "c1".into(),
                    started_at: Some(H),
                    ended_at: None,
                    organising_unit: Some("Sở Tư pháp".into()),
                },
                ConferenceUsage {
                    conference_id: "c2".into(),
                    started_at: Some(-H),
                    ended_at: Some(H),
                    organising_unit: None,
                },
            ],
            ..Default::default()
        };
        let r = compile(&input, 0, 10 * H, 3 * H, &Scope::All);
        let a = &r.units[0];
        assert_eq!(a.unit.as_deref(), Some("Huyện A"));
        assert_eq!((a.endpoints, a.endpoints_used, a.sessions), (2, 2, 1));
        assert_eq!(a.connected_ms, 14 * 5_000);
        assert_eq!(a.incidents, 2, "not 4: one conference");
        let b = &r.units[1];
        // b1 was listed in c1 but connected only in c2 (10 s period).
        assert_eq!((b.sessions, b.connected_ms, b.incidents), (1, 60_000, 2));
        assert_eq!((r.totals.sessions, r.totals.incidents), (2, 2));
        assert_eq!(r.totals.connected_ms, 70_000 + 60_000);
        // c1 is still live: its actual time runs to now.
        let org = &r.organisations[0];
        assert_eq!(org.organisation.as_deref(), Some("Sở Tư pháp"));
        assert_eq!(
            (org.conferences, org.actual_ms, org.endpoints),
            (1, 2 * H, 2)
        );
        let unbooked = &r.organisations[1];
        assert_eq!(unbooked.organisation, None);
        assert_eq!((unbooked.conferences, unbooked.actual_ms), (1, H));
        assert_eq!(r.organisation_totals.as_ref().unwrap().actual_ms, 3 * H);

        let own = Scope::Endpoints(["a2".to_owned()].into());
        let r = compile(&input, 0, 10 * H, 3 * H, &own);
        let ids: Vec<&str> = r.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(ids, ["a2"]);
        assert_eq!(r.units.len(), 1);
        assert_eq!((r.units[0].endpoints, r.units[0].connected_ms), (1, 20_000));
        assert_eq!(r.totals.incidents, 2, "a2 was connected in c1");
        assert!(r.organisations.is_empty() && r.organisation_totals.is_none());
    }
}
