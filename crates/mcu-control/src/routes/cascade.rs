//! The cascade tree of a running conference as this MCU sees it: its parent
//! and child links with their state, and every endpoint of its subtree with
//! the path of MCUs to it (docs/cascade.md). Call-to-chair and mute reach
//! those endpoints too (see `conferences::run_live_in_tree`); a failure
//! further down the tree names the MCU where it happened.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::live::{CascadeEndpoint, CascadeLink, CascadeMcu, LinkStatus, LiveCascade, LiveError};
use crate::routes::conferences::load_visible;
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// One MCU of the tree.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct CascadeMcuView {
    /// MCU id.
    pub id: String,
    /// Name with diacritics.
    pub name: String,
    /// `central`, `province`, `district` or `commune`.
    pub level: String,
}

/// A link to the parent or a child MCU.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct CascadeLinkView {
    /// The MCU at the other end.
    pub mcu: CascadeMcuView,
    /// `up`, `reconnecting` or `down`.
    pub state: LinkStatus,
    /// It is the standby parent (R18).
    pub standby: bool,
    /// When the state last changed (Unix ms), if known.
    pub since_ms: Option<i64>,
    /// The trunk media received over the link, once measured.
    pub quality: Option<crate::live::LinkQuality>,
}

/// One endpoint of the tree.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct CascadeEndpointView {
    /// Endpoint id.
    pub endpoint: String,
    /// Name with diacritics.
    pub name: String,
    /// The MCU it is connected to.
    pub mcu: String,
    /// MCU ids from this MCU down to its owner, both included.
    pub path: Vec<String>,
    /// The path by names: "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".
    pub display_path: String,
    /// False when a link on the path is reconnecting (commands cannot reach it).
    pub reachable: bool,
    /// Media connected.
    pub connected: bool,
    /// Audio muted.
    pub audio_muted: bool,
    /// Video muted.
    pub video_muted: bool,
    /// A floor request is pending.
    pub floor_requested: bool,
    /// Round-trip time, ms (absent until measured).
    pub rtt_ms: Option<f64>,
    /// Packet loss, percent (absent until measured).
    pub loss_percent: Option<f64>,
    /// Jitter, ms (absent until measured).
    pub jitter_ms: Option<f64>,
    /// What this MCU's chair main tile (the master) or uplink (a slave) carries now.
    pub selected: bool,
    /// Camera presets its MCU stores for it, by name (recall one with
    /// `POST …/participants/{endpoint}/presets/{name}/recall`).
    pub presets: Vec<String>,
}

/// The cascade tree of a running conference.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct CascadeView {
    /// This MCU.
    pub me: CascadeMcuView,
    /// The link to the parent (`null` on the master).
    pub parent: Option<CascadeLinkView>,
    /// The links of the configured children, up or not.
    pub children: Vec<CascadeLinkView>,
    /// Every endpoint of this MCU and of its subtree, by path, then name.
    pub endpoints: Vec<CascadeEndpointView>,
    /// Topology warnings, in words (e.g. a path of more than three links).
    pub warnings: Vec<String>,
}

impl From<CascadeMcu> for CascadeMcuView {
    fn from(m: CascadeMcu) -> Self {
        Self {
            id: m.id,
            name: m.name,
            level: m.level,
        }
    }
}

impl From<CascadeLink> for CascadeLinkView {
    fn from(l: CascadeLink) -> Self {
        Self {
            mcu: l.mcu.into(),
            state: l.state,
            standby: l.standby,
            since_ms: l.since_ms,
            quality: l.quality,
        }
    }
}

impl From<CascadeEndpoint> for CascadeEndpointView {
    fn from(e: CascadeEndpoint) -> Self {
        Self {
            endpoint: e.endpoint,
            name: e.name,
            mcu: e.mcu,
            path: e.path,
            display_path: e.display_path,
            reachable: e.reachable,
            connected: e.connected,
            audio_muted: e.audio_muted,
            video_muted: e.video_muted,
            floor_requested: e.floor_requested,
            rtt_ms: e.rtt_ms,
            loss_percent: e.loss_percent,
            jitter_ms: e.jitter_ms,
            selected: e.selected,
            presets: e.presets,
        }
    }
}

impl From<LiveCascade> for CascadeView {
    fn from(t: LiveCascade) -> Self {
        let mut endpoints = t.endpoints;
        endpoints
            .sort_by(|a, b| (&a.path, &a.name, &a.endpoint).cmp(&(&b.path, &b.name, &b.endpoint)));
        Self {
            me: t.me.into(),
            parent: t.parent.map(Into::into),
            children: t.children.into_iter().map(Into::into).collect(),
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            warnings: t.warnings,
        }
    }
}

/// The cascade tree of a running conference: this MCU, its parent and child
/// links with their state, every endpoint of its subtree with its path.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/cascade", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = CascadeView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "`not_found`; `no_cascade`: this MCU has no cascade for the conference", body = ErrorBody),
              (status = 409, description = "`conference_not_running`", body = ErrorBody)))]
pub(crate) async fn tree(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CascadeView>> {
    let c = load_visible(&s, &caller, &id).await?;
    if !c.state.media_running() {
        return Err(LiveError::NotRunning(id).into());
    }
    let tree = s.live.cascade(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_cascade",
            format!("conference {id} has no cascade on this MCU"),
        )
    })?;
    Ok(Json(tree.into()))
}

/// The name of MCU `id` in the tree: this MCU, its parent, a child, or an
/// MCU on an endpoint's path (`path` and `display_path` aligned from their
/// ends, as `display_path` may start above this MCU).
pub(crate) fn mcu_name(tree: &LiveCascade, id: &str) -> Option<String> {
    let mut mcus = std::iter::once(&tree.me)
        .chain(tree.parent.iter().map(|l| &l.mcu))
        .chain(tree.children.iter().map(|l| &l.mcu));
    if let Some(m) = mcus.find(|m| m.id == id) {
        return Some(m.name.clone());
    }
    tree.endpoints.iter().find_map(|e| {
        let names: Vec<&str> = e.display_path.split(" › ").collect();
        let above = names.len().checked_sub(e.path.len())?;
        let i = e.path.iter().position(|p| p == id)?;
        Some(names[above + i].to_owned())
    })
}

/// A command that failed at another MCU of the tree: 409 with the cascade
/// protocol's code, a message naming the MCU (Vietnamese first), and
/// `details` {`endpoint`, `at`, `mcu`: the MCU as the message names it}.
pub(crate) fn remote_error(
    code: &str,
    endpoint: &str,
    at: &str,
    at_name: Option<&str>,
) -> ApiError {
    let mcu = match at_name {
        Some(name) if name != at => format!("{name} ({at})"),
        _ => at.to_owned(),
    };
    let e = match code {
        "endpoint_not_connected" => ApiError::conflict(
            "endpoint_not_connected",
            format!(
                "Điểm cầu {endpoint} chưa kết nối tại MCU {mcu} — endpoint {endpoint} is not connected at MCU {at}"
            ),
        ),
        "link_down" => ApiError::conflict(
            "link_down",
            format!(
                "Liên kết tới điểm cầu {endpoint} đang kết nối lại tại MCU {mcu} — the link towards endpoint {endpoint} is reconnecting at MCU {at}"
            ),
        ),
        "unknown_preset" => ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_preset",
            format!(
                "Điểm cầu {endpoint} không có vị trí camera nào với tên này tại MCU {mcu} — endpoint {endpoint} has no camera preset of that name at MCU {at}"
            ),
        ),
        "timeout" => ApiError::conflict(
            "timeout",
            format!(
                "MCU {mcu} không nhận được trả lời cho lệnh tới điểm cầu {endpoint} — the command for endpoint {endpoint} timed out at MCU {at}"
            ),
        ),
        "unknown_endpoint" => ApiError::conflict(
            "unknown_endpoint",
            format!("MCU {mcu} không có điểm cầu {endpoint} — MCU {at} has no endpoint {endpoint}"),
        ),
        other => ApiError::conflict(
            "remote_error",
            format!(
                "Lệnh tới điểm cầu {endpoint} thất bại tại MCU {mcu} ({other}) — the command for endpoint {endpoint} failed at MCU {at} ({other})"
            ),
        ),
    };
    e.with_details(json!({ "endpoint": endpoint, "at": at, "mcu": mcu, "remote_code": code }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mcu(id: &str, name: &str) -> CascadeMcu {
        CascadeMcu {
            id: id.into(),
            name: name.into(),
            level: "province".into(),
        }
    }

    #[test]
    fn mcus_are_named_from_links_or_paths() {
        let tree = LiveCascade {
            me: mcu("tw", "Chính phủ"),
            children: vec![CascadeLink {
                mcu: mcu("tuyen-quang", "Tuyên Quang"),
                state: LinkStatus::Up,
                standby: false,
                since_ms: None,
                quality: None,
            }],
            endpoints: vec![CascadeEndpoint {
                endpoint: "ubnd-xa-hop-thanh".into(),
                mcu: "hop-thanh".into(),
                path: ["tuyen-quang", "son-duong", "hop-thanh"]
                    .map(String::from)
                    .to_vec(),
                // Starts above the path: the master's name first.
                display_path: "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(mcu_name(&tree, "tw").as_deref(), Some("Chính phủ"));
        assert_eq!(
            mcu_name(&tree, "tuyen-quang").as_deref(),
            Some("Tuyên Quang")
        );
        assert_eq!(mcu_name(&tree, "son-duong").as_deref(), Some("Sơn Dương"));
        assert_eq!(mcu_name(&tree, "hop-thanh").as_deref(), Some("Hợp Thành"));
        assert_eq!(mcu_name(&tree, "ham-yen"), None);
    }

    #[test]
    fn remote_errors_keep_their_code_and_name_the_mcu() {
        let e = remote_error(
            "link_down",
            "ubnd-xa-hop-thanh",
            "son-duong",
            Some("Sơn Dương"),
        );
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, "link_down"));
        assert!(e.message.starts_with("Liên kết"), "{}", e.message);
        assert!(e.message.contains("Sơn Dương (son-duong)"), "{}", e.message);
        assert_eq!(e.details.unwrap()["mcu"], "Sơn Dương (son-duong)");
        let e = remote_error("wrong_phase", "x", "y", None);
        assert_eq!(e.code, "remote_error");
        assert!(e.message.contains("MCU y (wrong_phase)"), "{}", e.message);
    }
}
