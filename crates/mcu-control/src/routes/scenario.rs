//! Running the scenario (R1: the MCU mixes "according to the scenario"): in a
//! running booked conference the operator steps through the agenda — next,
//! previous, or jump to an item. Each step applies the item's layout to the
//! chair view and calls its speaking endpoint to the chair (the same actions
//! as `PUT …/layout` and `POST …/call-to-chair`), is recorded with its time,
//! audited, and so copied into the logbook. The view gives the current item,
//! the time used on each item against its plan, and what comes next.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mcu_store::{AgendaItem, Conference, ScenarioStep};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Caller, Permission};
use crate::live::{LiveCommand, LiveError, View};
use crate::routes::conferences::{load, load_visible, run_live};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody};

/// One agenda item with the time used on it.
#[derive(Serialize, ToSchema)]
pub struct ScenarioItemView {
    /// Position (0-based).
    pub position: usize,
    /// Title with diacritics.
    pub title: String,
    /// The speaking endpoint's id, if any.
    pub speaker: Option<String>,
    /// Its name.
    pub speaker_name: Option<String>,
    /// Chair-view layout of the item.
    pub layout: String,
    /// Planned minutes.
    pub planned_minutes: i64,
    /// Time it has been current so far, ms.
    pub used_ms: i64,
}

/// A conference's scenario and where it stands.
#[derive(Serialize, ToSchema)]
pub struct ScenarioView {
    /// Conference id.
    pub conference: String,
    /// The agenda in order.
    pub items: Vec<ScenarioItemView>,
    /// The current item (none before the first step).
    pub current: Option<usize>,
    /// Since when it is current (Unix ms).
    pub current_since: Option<i64>,
    /// The item after the current one (the first before any step).
    pub next: Option<usize>,
    /// What the last step could not do (a speaker not connected), if anything.
    pub warnings: Vec<String>,
}

/// Where to step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepTo {
    /// The item after the current one (the first before any step).
    Next,
    /// The item before the current one.
    Previous,
    /// The item at `position`.
    Jump,
}

/// A step through the agenda.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// `next`, `previous` or `jump`.
    pub to: StepTo,
    /// The item to jump to (0-based; only with `jump`).
    pub position: Option<usize>,
}

/// The time used on each of `items` agenda items, ms, from the steps (oldest
/// first) up to `until`; and the current item with since when.
pub fn time_used(
    steps: &[ScenarioStep],
    items: usize,
    until: i64,
) -> (Vec<i64>, Option<(usize, i64)>) {
    let mut used = vec![0i64; items];
    for (i, step) in steps.iter().enumerate() {
        let end = steps.get(i + 1).map_or(until, |n| n.at_ms);
        if let Some(u) = usize::try_from(step.position)
            .ok()
            .and_then(|p| used.get_mut(p))
        {
            *u += (end - step.at_ms).max(0);
        }
    }
    let current = steps
        .last()
        .and_then(|s| Some((usize::try_from(s.position).ok()?, s.at_ms)));
    (used, current)
}

/// The position a step leads to from `current`, or why it cannot go there.
pub fn target(current: Option<usize>, items: usize, req: &StepRequest) -> Result<usize, ApiError> {
    let bounds = |m: &str| ApiError::conflict("scenario_bounds", m.to_owned());
    match (req.to, req.position) {
        (StepTo::Jump, Some(p)) if p < items => Ok(p),
        (StepTo::Jump, Some(p)) => Err(ApiError::invalid(
            "position",
            format!("the scenario has {items} items; there is no item {p}"),
        )),
        (StepTo::Jump, None) => Err(ApiError::invalid("position", "jump needs a position")),
        (_, Some(_)) => Err(ApiError::invalid(
            "position",
            "a position goes with jump only",
        )),
        (StepTo::Next, _) => match current {
            None if items > 0 => Ok(0),
            Some(c) if c + 1 < items => Ok(c + 1),
            _ => Err(bounds("the scenario has no next item")),
        },
        (StepTo::Previous, _) => match current {
            Some(c) if c > 0 => Ok(c - 1),
            _ => Err(bounds("the scenario has no previous item")),
        },
    }
}

async fn agenda(s: &ControlState, c: &Conference) -> ApiResult<Vec<AgendaItem>> {
    let booking = s.store.booking_of_conference(&c.id).await?;
    match booking.map(|b| b.details.scenario) {
        Some(items) if !items.is_empty() => Ok(items),
        _ => Err(ApiError::not_found(format!(
            "scenario of conference {}",
            c.id
        ))),
    }
}

async fn scenario_view(
    s: &ControlState,
    c: &Conference,
    items: Vec<AgendaItem>,
    warnings: Vec<String>,
) -> ApiResult<ScenarioView> {
    let steps = s.store.scenario_steps(&c.id).await?;
    let until = c.ended_at.unwrap_or_else(|| s.now_ms());
    let (used, current) = time_used(&steps, items.len(), until);
    let mut out = Vec::with_capacity(items.len());
    for (position, (item, used_ms)) in items.into_iter().zip(used).enumerate() {
        let speaker_name = match &item.speaker {
            Some(e) => s.store.endpoint(e).await?.map(|e| e.name),
            None => None,
        };
        out.push(ScenarioItemView {
            position,
            title: item.title,
            speaker: item.speaker,
            speaker_name,
            layout: item.layout,
            planned_minutes: item.planned_minutes,
            used_ms,
        });
    }
    let next = match current {
        None => (!out.is_empty()).then_some(0),
        Some((c, _)) => (c + 1 < out.len()).then_some(c + 1),
    };
    Ok(ScenarioView {
        conference: c.id.clone(),
        items: out,
        current: current.map(|c| c.0),
        current_since: current.map(|c| c.1),
        next,
        warnings,
    })
}

/// A booked conference's scenario: the agenda, the current item, the time
/// used on each item against its plan, and what comes next.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/scenario", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ScenarioView), (status = 403, body = ErrorBody),
              (status = 404, description = "no such conference, or it has no scenario", body = ErrorBody)))]
pub(crate) async fn get_scenario(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ScenarioView>> {
    let c = load_visible(&s, &caller, &id).await?;
    let items = agenda(&s, &c).await?;
    Ok(Json(scenario_view(&s, &c, items, Vec::new()).await?))
}

/// Step through the scenario of a running conference: the item's layout goes
/// to the chair view and its speaker is called to the chair. A speaker who is
/// not connected does not stop the step: the answer carries a warning.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/scenario/step", tag = "conferences", request_body = StepRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ScenarioView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`scenario_bounds`, `conference_not_running`", body = ErrorBody)))]
pub(crate) async fn step(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<StepRequest>,
) -> ApiResult<Json<ScenarioView>> {
    let details = json!({ "to": req.to, "position": req.position });
    s.audited(
        &caller,
        "conference.scenario_step",
        &format!("conference/{id}"),
        details,
        async {
            caller.require(Permission::RunConferences)?;
            let c = load(&s, &id).await?;
            let items = agenda(&s, &c).await?;
            if !c.state.media_running() {
                return Err(LiveError::NotRunning(id.clone()).into());
            }
            let steps = s.store.scenario_steps(&id).await?;
            let (_, current) = time_used(&steps, items.len(), s.now_ms());
            let to = target(current.map(|c| c.0), items.len(), &req)?;
            let item = &items[to];
            let mut warnings = Vec::new();
            if s.live.layouts().contains(&item.layout) {
                let command = LiveCommand::SetLayout {
                    view: View::Chair,
                    layout: item.layout.clone(),
                };
                run_live(&s, &id, None, command).await?;
                s.store.set_conference_layout(&id, &item.layout).await?;
            } else {
                warnings.push(format!(
                    "layout {} is not known here; kept the current one",
                    item.layout
                ));
            }
            if let Some(speaker) = &item.speaker {
                let command = LiveCommand::CallToChair {
                    endpoint: speaker.clone(),
                };
                match run_live(&s, &id, Some(speaker), command).await {
                    Ok(()) => {}
                    Err(e)
                        if e.status == StatusCode::CONFLICT
                            || e.status == StatusCode::NOT_FOUND =>
                    {
                        warnings.push(format!("speaker {speaker} was not called: {}", e.message));
                    }
                    Err(e) => return Err(e),
                }
            }
            let step = ScenarioStep {
                at_ms: s.now_ms(),
                position: to as i64,
                actor: caller.user.username.clone(),
            };
            s.store.add_scenario_step(&id, &step).await?;
            let c = load(&s, &id).await?;
            Ok(Json(scenario_view(&s, &c, items, warnings).await?))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(at_ms: i64, position: i64) -> ScenarioStep {
        ScenarioStep {
            at_ms,
            position,
            actor: "dieuhanh".into(),
        }
    }

    #[test]
    fn time_used_adds_up_every_stretch_an_item_was_current() {
        let steps = [
            step(1000, 0),
            step(61_000, 1),
            step(91_000, 0),
            step(100_000, 2),
        ];
        let (used, current) = time_used(&steps, 3, 130_000);
        assert_eq!(used, vec![60_000 + 9_000, 30_000, 30_000]);
        assert_eq!(current, Some((2, 100_000)));
        assert_eq!(time_used(&[], 2, 5), (vec![0, 0], None));
    }

    #[test]
    fn targets_stay_inside_the_agenda() {
        let req = |to, position| StepRequest { to, position };
        assert_eq!(target(None, 3, &req(StepTo::Next, None)).unwrap(), 0);
        assert_eq!(target(Some(0), 3, &req(StepTo::Next, None)).unwrap(), 1);
        assert_eq!(
            target(Some(2), 3, &req(StepTo::Next, None))
                .unwrap_err()
                .code,
            "scenario_bounds"
        );
        assert_eq!(target(Some(1), 3, &req(StepTo::Previous, None)).unwrap(), 0);
        assert_eq!(
            target(Some(0), 3, &req(StepTo::Previous, None))
                .unwrap_err()
                .code,
            "scenario_bounds"
        );
        assert_eq!(
            target(None, 3, &req(StepTo::Previous, None))
                .unwrap_err()
                .code,
            "scenario_bounds"
        );
        assert_eq!(target(Some(0), 3, &req(StepTo::Jump, Some(2))).unwrap(), 2);
        assert_eq!(
            target(Some(0), 3, &req(StepTo::Jump, Some(3)))
                .unwrap_err()
                .code,
            "invalid_field"
        );
        assert_eq!(
            target(Some(0), 3, &req(StepTo::Jump, None))
                .unwrap_err()
                .code,
            "invalid_field"
        );
        assert_eq!(
            target(Some(0), 3, &req(StepTo::Next, Some(1)))
                .unwrap_err()
                .code,
            "invalid_field"
        );
    }
}
