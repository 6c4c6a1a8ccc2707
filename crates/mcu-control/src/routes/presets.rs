//! Camera presets (R6): named positions per endpoint, saved and recalled.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mcu_store::CameraPreset;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Caller, Permission};
use crate::live::LiveCommand;
use crate::routes::conferences::{run_live, run_live_in_tree};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_text};

/// A camera position.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetBody {
    /// Horizontal centre of the view, thousandths of the picture width (0–1000).
    pub pan: u16,
    /// Vertical centre of the view, thousandths of the picture height (0–1000).
    pub tilt: u16,
    /// Magnification in hundredths: 100 = the whole picture, at most 400.
    pub zoom: u16,
}

/// A named camera position.
#[derive(Serialize, ToSchema)]
pub struct PresetView {
    /// Name, e.g. "Ghế chủ tọa".
    pub name: String,
    /// Horizontal centre (0–1000).
    pub pan: u16,
    /// Vertical centre (0–1000).
    pub tilt: u16,
    /// Magnification in hundredths.
    pub zoom: u16,
}

impl From<CameraPreset> for PresetView {
    fn from(p: CameraPreset) -> Self {
        Self {
            name: p.name,
            pan: p.pan,
            tilt: p.tilt,
            zoom: p.zoom,
        }
    }
}

fn check_preset(name: &str, p: &PresetBody) -> ApiResult<()> {
    check_text("name", name)?;
    if name.chars().count() > 64 {
        return Err(ApiError::invalid(
            "name",
            "a preset name has at most 64 characters",
        ));
    }
    if p.pan > 1000 || p.tilt > 1000 {
        return Err(ApiError::invalid(
            "pan",
            "pan and tilt are thousandths: 0–1000",
        ));
    }
    if !(100..=400).contains(&p.zoom) {
        return Err(ApiError::invalid("zoom", "zoom is in hundredths: 100–400"));
    }
    Ok(())
}

/// An endpoint's camera presets.
#[utoipa::path(get, path = "/api/v1/endpoints/{id}/presets", tag = "endpoints",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = [PresetView]), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PresetView>>> {
    caller.require(Permission::ReadDirectory)?;
    s.store
        .endpoint(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("endpoint {id}")))?;
    Ok(Json(
        s.store
            .presets(&id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Save a camera preset (operators, admins; site operators for their own endpoints).
#[utoipa::path(put, path = "/api/v1/endpoints/{id}/presets/{name}", tag = "endpoints", request_body = PresetBody,
    params(("id" = String, Path, description = "Endpoint id"), ("name" = String, Path, description = "Preset name")),
    responses((status = 200, body = PresetView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn put(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
    Body(p): Body<PresetBody>,
) -> ApiResult<Json<PresetView>> {
    let details = json!({ "pan": p.pan, "tilt": p.tilt, "zoom": p.zoom });
    s.audited(
        &caller,
        "preset.save",
        &format!("endpoint/{id}/preset/{name}"),
        details,
        async {
            caller.require_for(Permission::EditPresets, &id)?;
            check_preset(&name, &p)?;
            let preset = CameraPreset {
                name: name.clone(),
                pan: p.pan,
                tilt: p.tilt,
                zoom: p.zoom,
            };
            s.store.put_preset(&id, &preset, s.now_ms()).await?;
            Ok(Json(preset.into()))
        },
    )
    .await
}

/// Delete a camera preset.
#[utoipa::path(delete, path = "/api/v1/endpoints/{id}/presets/{name}", tag = "endpoints",
    params(("id" = String, Path, description = "Endpoint id"), ("name" = String, Path, description = "Preset name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.audited(
        &caller,
        "preset.delete",
        &format!("endpoint/{id}/preset/{name}"),
        json!({}),
        async {
            caller.require_for(Permission::EditPresets, &id)?;
            s.store.delete_preset(&id, &name).await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}

/// Recall a preset: the endpoint's camera moves (a browser endpoint applies
/// it as a digital pan/zoom; a room system maps it to its camera control).
/// For an endpoint of another MCU below this one (operators only), the
/// command travels down the cascade and the owning MCU recalls the preset
/// it stores under that name (the names are in the cascade tree's
/// `presets`).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/participants/{endpoint}/presets/{name}/recall", tag = "conferences",
    params(("id" = String, Path, description = "Conference id"), ("endpoint" = String, Path, description = "Endpoint id"),
           ("name" = String, Path, description = "Preset name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`endpoint_not_connected`; for an endpoint below this MCU also `link_down`, `timeout` (and 404 `unknown_preset`: no preset of that name at the owning MCU)", body = ErrorBody)))]
pub(crate) async fn recall(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path((id, endpoint, name)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let target = format!("conference/{id}/participant/{endpoint}");
    s.audited(
        &caller,
        "preset.recall",
        &target,
        json!({ "preset": name }),
        async {
            let c = crate::routes::conferences::load(&s, &id).await?;
            if !c.participants.contains(&endpoint) {
                // Not one of this MCU's rooms: one of the tree below, or a 404.
                let command = LiveCommand::RecallPresetBelow {
                    endpoint: endpoint.clone(),
                    name: name.clone(),
                };
                run_live_in_tree(&s, &caller, &id, &endpoint, command).await?;
                return Ok(StatusCode::NO_CONTENT);
            }
            caller.require_for(Permission::ControlOwnRoom, &endpoint)?;
            let preset = s.store.preset(&endpoint, &name).await?.ok_or_else(|| {
                ApiError::not_found(format!("preset {name} of endpoint {endpoint}"))
            })?;
            run_live(
                &s,
                &id,
                Some(&endpoint),
                LiveCommand::RecallPreset {
                    endpoint: endpoint.clone(),
                    preset,
                },
            )
            .await?;
            Ok(StatusCode::NO_CONTENT)
        },
    )
    .await
}
