//! Conferences: create, start, end, and live control of a running one.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mcu_store::{Conference, ConferenceLink, ConferenceState, Role};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Caller, Permission};
use crate::live::{LiveCommand, LiveError, NeighbourRole, View};
use crate::model::{
    ConferenceLinkBody, ConferenceView, LinksRequest, NewConferenceRequest, ParticipantView,
};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_id, check_text, phase};

/// Most participants one conference lists.
const MAX_PARTICIPANTS: usize = 500;

impl From<LiveError> for ApiError {
    fn from(e: LiveError) -> Self {
        let message = e.to_string();
        match e {
            LiveError::NotRunning(_) => ApiError::conflict("conference_not_running", message),
            LiveError::AlreadyRunning(_) => ApiError::conflict("conference_running", message),
            LiveError::NotConnected(_) => ApiError::conflict("endpoint_not_connected", message),
            LiveError::UnknownLayout(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_layout", message)
            }
            LiveError::NoSuchSlot(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_slot", message)
            }
            LiveError::NoFloorRequest(_) => ApiError::conflict("no_floor_request", message),
            LiveError::Media(m) => ApiError::internal(m),
            LiveError::NoPicture(_) => ApiError::conflict("no_picture", message),
            LiveError::AlreadyRecording(_) => ApiError::conflict("recording_running", message),
            LiveError::NotRecording(_) => ApiError::conflict("not_recording", message),
            LiveError::RecordingUnavailable => ApiError::conflict("recording_unavailable", message),
            LiveError::Remote { code, endpoint, at } => {
                crate::routes::cascade::remote_error(&code, &endpoint, &at, None)
            }
        }
    }
}

pub(crate) async fn load(s: &ControlState, id: &str) -> ApiResult<Conference> {
    s.store
        .conference(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("conference {id}")))
}

/// Loads a conference the caller may see (`ReadConferences`; a site
/// operator only one with their endpoints): 403 or 404 otherwise.
pub(crate) async fn load_visible(
    s: &ControlState,
    caller: &Caller,
    id: &str,
) -> ApiResult<Conference> {
    caller.require(Permission::ReadConferences)?;
    let c = load(s, id).await?;
    if !visible_to(caller, &c) {
        return Err(ApiError::forbidden(Permission::ReadConferences.describe()));
    }
    Ok(c)
}

pub(crate) fn visible_to(caller: &Caller, c: &Conference) -> bool {
    caller.user.role != Role::SiteOperator || c.participants.iter().any(|e| caller.owns(e))
}

pub(crate) async fn view(s: &ControlState, c: Conference) -> ApiResult<ConferenceView> {
    let roster = s.live.roster(&c.id);
    let mut participants = Vec::with_capacity(c.participants.len());
    for endpoint in &c.participants {
        let name = s
            .store
            .endpoint(endpoint)
            .await?
            .map(|e| e.name)
            .unwrap_or_default();
        let live = roster
            .iter()
            .find(|p| &p.endpoint == endpoint)
            .cloned()
            .unwrap_or_default();
        participants.push(ParticipantView {
            endpoint: endpoint.clone(),
            name,
            connected: live.connected,
            audio_muted: live.audio_muted,
            video_muted: live.video_muted,
        });
    }
    Ok(ConferenceView {
        id: c.id,
        title: c.title,
        chair: c.chair,
        layout: c.layout,
        state: c.state.into(),
        created_by: c.created_by,
        created_at: c.created_at,
        started_at: c.started_at,
        ended_at: c.ended_at,
        participants,
        links: c.links.into_iter().map(Into::into).collect(),
    })
}

/// Checks the cascade links a conference names against this MCU's place in
/// the tree: each a neighbour, once; a counterpart id on the link up only.
fn check_links(s: &ControlState, links: &[ConferenceLinkBody]) -> ApiResult<Vec<ConferenceLink>> {
    let neighbours = s.live.cascade_neighbours();
    let mut out: Vec<ConferenceLink> = Vec::with_capacity(links.len());
    for l in links {
        let Some(n) = neighbours.iter().find(|n| n.mcu.id == l.mcu) else {
            let known: Vec<&str> = neighbours.iter().map(|n| n.mcu.id.as_str()).collect();
            return Err(ApiError::invalid(
                "links",
                if known.is_empty() {
                    format!("this MCU has no cascade: {} cannot take part", l.mcu)
                } else {
                    format!(
                        "{} is not a neighbour of this MCU in the cascade (neighbours: {})",
                        l.mcu,
                        known.join(", ")
                    )
                },
            ));
        };
        if out.iter().any(|o| o.mcu == l.mcu) {
            return Err(ApiError::invalid(
                "links",
                format!("{} is named twice", l.mcu),
            ));
        }
        if let Some(remote) = &l.conference {
            if n.role != NeighbourRole::Parent {
                return Err(ApiError::invalid(
                    "links",
                    format!(
                        "a counterpart conference is named on the link up only, not on {}",
                        l.mcu
                    ),
                ));
            }
            check_id("links", remote)?;
        }
        out.push(ConferenceLink {
            mcu: l.mcu.clone(),
            remote_conference: l.conference.clone(),
        });
    }
    out.sort_by(|a, b| a.mcu.cmp(&b.mcu));
    Ok(out)
}

/// Name the cascade links taking part in a conference (operators). A
/// running conference's links close and open again as named.
#[utoipa::path(put, path = "/api/v1/conferences/{id}/links", tag = "conferences", request_body = LinksRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ConferenceView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`conference_state`: it has ended", body = ErrorBody)))]
pub(crate) async fn set_links(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<LinksRequest>,
) -> ApiResult<Json<ConferenceView>> {
    s.audited(
        &caller,
        "conference.links",
        &format!("conference/{id}"),
        json!({ "links": req.links }),
        async {
            caller.require(Permission::RunConferences)?;
            let c = load(&s, &id).await?;
            if c.state.rank() >= ConferenceState::Ended.rank() {
                return Err(ApiError::conflict(
                    "conference_state",
                    format!("conference is {}", c.state),
                ));
            }
            let links = check_links(&s, &req.links)?;
            if !s.store.set_conference_links(&id, &links).await? {
                return Err(ApiError::not_found(format!("conference {id}")));
            }
            if c.state.media_running() {
                s.live.relink(&id, &links);
            }
            Ok(Json(view(&s, load(&s, &id).await?).await?))
        },
    )
    .await
}

/// The MCUs a conference here may name as its cascade links: this MCU's
/// parent (with its standby) and its children; empty without a cascade.
#[utoipa::path(get, path = "/api/v1/cascade/neighbours", tag = "conferences",
    responses((status = 200, body = [NeighbourView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn neighbours(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<NeighbourView>>> {
    caller.require(Permission::ReadConferences)?;
    Ok(Json(
        s.live
            .cascade_neighbours()
            .into_iter()
            .map(|n| NeighbourView {
                mcu: n.mcu.into(),
                role: n.role,
                standby: n.standby.map(Into::into),
            })
            .collect(),
    ))
}

/// A neighbour MCU in the cascade.
#[derive(serde::Serialize, ToSchema)]
pub struct NeighbourView {
    /// The MCU.
    pub mcu: crate::routes::cascade::CascadeMcuView,
    /// `parent` (this MCU dials it) or `child` (it dials this MCU).
    pub role: NeighbourRole,
    /// The parent's standby, which the link up falls back to.
    pub standby: Option<crate::routes::cascade::CascadeMcuView>,
}

/// Conferences, newest first (site operators: those their endpoints are in).
#[utoipa::path(get, path = "/api/v1/conferences", tag = "conferences",
    responses((status = 200, body = [ConferenceView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<ConferenceView>>> {
    caller.require(Permission::ReadConferences)?;
    let mut out = Vec::new();
    for c in s.store.list_conferences().await? {
        if visible_to(&caller, &c) {
            out.push(view(&s, c).await?);
        }
    }
    Ok(Json(out))
}

/// Create a conference (operators).
#[utoipa::path(post, path = "/api/v1/conferences", tag = "conferences", request_body = NewConferenceRequest,
    responses((status = 201, body = ConferenceView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "an endpoint is not in the directory", body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn create(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Body(req): Body<NewConferenceRequest>,
) -> ApiResult<(StatusCode, Json<ConferenceView>)> {
    let details = json!({ "title": req.title, "layout": req.layout, "chair": req.chair, "participants": req.participants, "links": req.links });
    s.audited(
        &caller,
        "conference.create",
        &format!("conference/{}", req.id),
        details,
        async {
            caller.require(Permission::RunConferences)?;
            check_id("id", &req.id)?;
            check_text("title", &req.title)?;
            if !s.live.layouts().contains(&req.layout) {
                return Err(LiveError::UnknownLayout(req.layout.clone()).into());
            }
            if req.participants.is_empty() || req.participants.len() > MAX_PARTICIPANTS {
                return Err(ApiError::invalid(
                    "participants",
                    format!("a conference lists 1–{MAX_PARTICIPANTS} endpoints"),
                ));
            }
            let mut participants = req.participants.clone();
            participants.sort();
            participants.dedup();
            if let Some(chair) = &req.chair {
                if !participants.contains(chair) {
                    return Err(ApiError::invalid(
                        "chair",
                        "the chair must be one of the participants",
                    ));
                }
                let e = s
                    .store
                    .endpoint(chair)
                    .await?
                    .ok_or_else(|| ApiError::not_found(format!("endpoint {chair}")))?;
                if !e.chair_capable {
                    return Err(ApiError::invalid(
                        "chair",
                        format!("{} cannot host the chair", e.name),
                    ));
                }
            }
            let links = check_links(&s, &req.links)?;
            let conference = Conference {
                id: req.id.clone(),
                title: req.title.clone(),
                chair: req.chair.clone(),
                layout: req.layout.clone(),
                state: ConferenceState::Created,
                created_by: caller.user.username.clone(),
                created_at: s.now_ms(),
                started_at: None,
                ended_at: None,
                participants,
                links,
            };
            s.store.create_conference(&conference).await?;
            Ok((StatusCode::CREATED, Json(view(&s, conference).await?)))
        },
    )
    .await
}

/// One conference with the live state of its participants.
#[utoipa::path(get, path = "/api/v1/conferences/{id}", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ConferenceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConferenceView>> {
    let c = load_visible(&s, &caller, &id).await?;
    Ok(Json(view(&s, c).await?))
}

/// Open the official session of a conference (from `created`, `rehearsal` or
/// `ready_check`): endpoints may join, media flows.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/start", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ConferenceView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "`conference_state`", body = ErrorBody)))]
pub(crate) async fn start(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConferenceView>> {
    s.audited(
        &caller,
        "conference.start",
        &format!("conference/{id}"),
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            let c = load(&s, &id).await?;
            if c.state.rank() >= ConferenceState::Live.rank() {
                return Err(ApiError::conflict(
                    "conference_state",
                    format!("conference is {}", c.state),
                ));
            }
            if !phase::enter(&s, &c, ConferenceState::Live).await? {
                return Err(ApiError::conflict(
                    "conference_state",
                    "conference changed state meanwhile",
                ));
            }
            Ok(Json(view(&s, load(&s, &id).await?).await?))
        },
    )
    .await
}

/// End a running conference (rehearsal, readiness check or live): every
/// participant is disconnected.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/end", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ConferenceView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn end(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ConferenceView>> {
    s.audited(
        &caller,
        "conference.end",
        &format!("conference/{id}"),
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            let c = load(&s, &id).await?;
            if !c.state.media_running() || !phase::enter(&s, &c, ConferenceState::Ended).await? {
                return Err(ApiError::conflict(
                    "conference_state",
                    "only a running conference (rehearsal, readiness check or live) can end",
                ));
            }
            Ok(Json(view(&s, load(&s, &id).await?).await?))
        },
    )
    .await
}

/// Mute or unmute a participant's audio and/or video.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// New audio state (absent: unchanged).
    pub audio: Option<bool>,
    /// New video state (absent: unchanged).
    pub video: Option<bool>,
}

/// Change a view's layout.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutRequest {
    /// `chair` or `participants`.
    pub view: View,
    /// Layout name, e.g. `1+7`.
    pub layout: String,
}

/// Pin an endpoint to a tile (or clear the pin).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// `chair` or `participants`.
    pub view: View,
    /// Tile index in the layout, from 0.
    pub slot: usize,
    /// Endpoint to pin; absent or null clears the tile's pin.
    pub endpoint: Option<String>,
}

/// Call an endpoint to the chair screen.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// Endpoint id.
    pub endpoint: String,
}

fn not_a_participant(endpoint: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("participant {endpoint} of conference {id}"))
}

/// Runs a live command on a live conference the endpoint (if any) takes part in.
pub(crate) async fn run_live(
    s: &ControlState,
    id: &str,
    endpoint: Option<&str>,
    command: LiveCommand,
) -> ApiResult<()> {
    let c = load(s, id).await?;
    if let Some(e) = endpoint
        && !c.participants.iter().any(|p| p == e)
    {
        return Err(not_a_participant(e, id));
    }
    Ok(command_running(s, &c, command)?)
}

/// Hands a command to the media side if the conference's media runs.
fn command_running(
    s: &ControlState,
    c: &Conference,
    command: LiveCommand,
) -> Result<(), LiveError> {
    if !c.state.media_running() {
        return Err(LiveError::NotRunning(c.id.clone()));
    }
    s.live.command(&c.id, command)
}

/// [`run_live`] for a command the daemon can send down the cascade
/// (call to chair, mute): the endpoint is one of the conference's
/// participants, or one of the endpoints of the tree below this MCU
/// ([`Live::cascade`](crate::Live::cascade)). Only callers who run
/// conferences command a remote endpoint — a site operator steers their own
/// room on this MCU, never one of another MCU. A failure further down is a
/// 409 naming the MCU where it happened.
pub(crate) async fn run_live_in_tree(
    s: &ControlState,
    caller: &Caller,
    id: &str,
    endpoint: &str,
    command: LiveCommand,
) -> ApiResult<()> {
    let c = load(s, id).await?;
    if c.participants.iter().any(|p| p == endpoint) {
        return Ok(command_running(s, &c, command)?);
    }
    let Some(tree) = s
        .live
        .cascade(id)
        .filter(|t| t.endpoints.iter().any(|e| e.endpoint == endpoint))
    else {
        return Err(not_a_participant(endpoint, id));
    };
    caller.require(Permission::RunConferences)?;
    command_running(s, &c, command).map_err(|e| match e {
        LiveError::Remote { code, endpoint, at } => crate::routes::cascade::remote_error(
            &code,
            &endpoint,
            &at,
            crate::routes::cascade::mcu_name(&tree, &at).as_deref(),
        ),
        other => other.into(),
    })
}

/// Mute or unmute a participant (operators; site operators for their own
/// room), or an endpoint of the cascade tree below this MCU (operators only).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/participants/{endpoint}/mute", tag = "conferences",
    request_body = MuteRequest,
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`conference_not_running`, `endpoint_not_connected`; for an endpoint below this MCU also `link_down`, `timeout`, `unknown_endpoint`, `remote_error`", body = ErrorBody)))]
pub(crate) async fn mute(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint)): Path<(String, String)>,
    Body(req): Body<MuteRequest>,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{endpoint}");
    let details = json!({ "audio": req.audio, "video": req.video });
    s.audited(&caller, "participant.mute", &target, details, async {
        caller.require_for(Permission::ControlOwnRoom, &endpoint)?;
        let command = LiveCommand::Mute {
            endpoint: endpoint.clone(),
            audio: req.audio,
            video: req.video,
        };
        run_live_in_tree(&s, &caller, &id, &endpoint, command).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Drop a participant's connection (it may dial in again).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/participants/{endpoint}/disconnect", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn disconnect(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{endpoint}");
    s.audited(
        &caller,
        "participant.disconnect",
        &target,
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            run_live(
                &s,
                &id,
                Some(&endpoint),
                LiveCommand::Disconnect {
                    endpoint: endpoint.clone(),
                },
            )
            .await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// Change the layout of the chair view or the participants' view.
#[utoipa::path(put, path = "/api/v1/conferences/{id}/layout", tag = "conferences", request_body = LayoutRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 204), (status = 400, description = "`invalid_layout`", body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn set_layout(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<LayoutRequest>,
) -> ApiResult<StatusCode> {
    let details = json!({ "view": req.view, "layout": req.layout });
    s.audited(
        &caller,
        "conference.layout",
        &format!("conference/{id}"),
        details,
        async {
            caller.require(Permission::RunConferences)?;
            if !s.live.layouts().contains(&req.layout) {
                return Err(LiveError::UnknownLayout(req.layout.clone()).into());
            }
            let command = LiveCommand::SetLayout {
                view: req.view,
                layout: req.layout.clone(),
            };
            run_live(&s, &id, None, command).await?;
            if req.view == View::Chair {
                s.store.set_conference_layout(&id, &req.layout).await?;
            }
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// Pin an endpoint to a tile of a view.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/pin", tag = "conferences", request_body = PinRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 204), (status = 400, description = "`invalid_slot`", body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn pin(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<PinRequest>,
) -> ApiResult<StatusCode> {
    let details = json!({ "view": req.view, "slot": req.slot, "endpoint": req.endpoint });
    s.audited(
        &caller,
        "conference.pin",
        &format!("conference/{id}"),
        details,
        async {
            caller.require(Permission::RunConferences)?;
            let command = LiveCommand::Pin {
                view: req.view,
                slot: req.slot,
                endpoint: req.endpoint.clone(),
            };
            run_live(&s, &id, req.endpoint.as_deref(), command).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// Call an endpoint to the chair screen: it takes the main tile of the chair
/// view and its microphone is unmuted (R3, R5). An endpoint of the cascade
/// tree below this MCU is called up through the tree.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/call-to-chair", tag = "conferences", request_body = CallRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`endpoint_not_connected`; for an endpoint below this MCU also `link_down`, `timeout`, `unknown_endpoint`, `remote_error`", body = ErrorBody)))]
pub(crate) async fn call_to_chair(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<CallRequest>,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{}", req.endpoint);
    s.audited(
        &caller,
        "conference.call_to_chair",
        &target,
        json!({}),
        async {
            caller.require(Permission::RunConferences)?;
            let command = LiveCommand::CallToChair {
                endpoint: req.endpoint.clone(),
            };
            run_live_in_tree(&s, &caller, &id, &req.endpoint, command).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}
