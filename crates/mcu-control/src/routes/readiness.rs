//! A conference's readiness summary (R10: the "summary form" the chair side
//! collects before the session): how many endpoints are ready out of how
//! many, each endpoint's latest measured result with its reasons and
//! figures, and who is being measured now — as JSON, CSV or a printable
//! Vietnamese page. `POST` starts a (re-)test of some endpoints or all.
//! The measuring itself is [`crate::readiness`].
//!
//! Rights: reading follows `ReadConferences` (a site operator sees the
//! conferences of their endpoints). Re-testing every endpoint is
//! `RunConferences` (operators); re-testing named endpoints is
//! `ControlOwnRoom` for each (operators, and a site operator for their own
//! room once they fixed it). Every `POST` is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use mcu_store::{Conference, ReadinessResult};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::cascade::CascadeLinkView;
use super::conferences::{load, load_visible};
use super::endpoints::csv_row;
use super::logbook::{esc, state_vi, vn_time};
use super::{csv_download, file_name, printable_html};
use crate::auth::{Caller, Permission};
use crate::live::{LinkStatus, LiveError};
use crate::model::ConferenceStateName;
use crate::readiness::{ReadinessRules, board, reason_code, reason_text};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody};

/// Where an endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    /// Its latest result passed.
    Ready,
    /// Its latest result failed.
    NotReady,
    /// A window is open: being measured now.
    Measuring,
    /// Never measured in this conference.
    NotMeasured,
}

/// One failure reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonView {
    /// Stable code: `not_connected`, `audio_level`, `video_fps`,
    /// `video_size`, `rtt`, `loss`, `jitter`, `decode`.
    pub code: String,
    /// The reason in Vietnamese, with the figures.
    pub message: String,
}

/// What was measured over the window (absent: nothing to measure).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct FiguresView {
    /// Loudest audio level received, dBov.
    pub audio_level_dbov: Option<f64>,
    /// Video frame rate received (mean).
    pub video_fps: Option<f64>,
    /// Picture width received.
    pub video_width: Option<u32>,
    /// Picture height received.
    pub video_height: Option<u32>,
    /// Round-trip time (mean), ms.
    pub rtt_ms: Option<f64>,
    /// Packet loss (mean), percent.
    pub loss_percent: Option<f64>,
    /// Jitter (mean), ms.
    pub jitter_ms: Option<f64>,
    /// Composite frames the endpoint decoded per second (mean).
    pub decoded_fps: Option<f64>,
}

/// One endpoint's readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointReadiness {
    /// Endpoint id.
    pub endpoint: String,
    /// Its name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// Media connected now.
    pub connected: bool,
    /// Where it stands.
    pub status: ReadinessStatus,
    /// When the window being measured started (Unix ms), while measuring.
    pub measuring_since: Option<i64>,
    /// Whether its latest result passed (absent: none yet).
    pub passed: Option<bool>,
    /// End of the latest result's window (Unix ms).
    pub measured_at: Option<i64>,
    /// Results so far (a re-test adds one).
    pub attempts: usize,
    /// Why the latest result failed.
    pub reasons: Vec<ReasonView>,
    /// The latest result's figures.
    pub figures: FiguresView,
}

/// The thresholds results are measured against.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// Measuring window, seconds.
    pub window_seconds: f64,
    /// Audio floor, dBov.
    pub audio_floor_dbov: f64,
    /// Least video frame rate.
    pub min_video_fps: f64,
    /// Least picture width.
    pub min_video_width: u32,
    /// Least picture height.
    pub min_video_height: u32,
    /// Greatest RTT, ms.
    pub max_rtt_ms: f64,
    /// Greatest loss, percent.
    pub max_loss_percent: f64,
    /// Greatest jitter, ms.
    pub max_jitter_ms: f64,
    /// Least decoded frame rate of the composite.
    pub min_decoded_fps: f64,
}

impl From<&ReadinessRules> for RulesView {
    fn from(r: &ReadinessRules) -> Self {
        Self {
            window_seconds: r.window_ms as f64 / 1000.0,
            audio_floor_dbov: r.audio_floor_dbov,
            min_video_fps: r.min_video_fps,
            min_video_width: r.min_video_size.0,
            min_video_height: r.min_video_size.1,
            max_rtt_ms: r.max_rtt_ms,
            max_loss_percent: r.max_loss_percent,
            max_jitter_ms: r.max_jitter_ms,
            min_decoded_fps: r.min_decoded_fps,
        }
    }
}

/// Which end of a cascade link this MCU is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkRole {
    /// This MCU's link up to its parent (or standby).
    Parent,
    /// A child MCU's link to this one.
    Child,
}

/// A cascade link of the conference as the readiness check sees it (R7:
/// the slaves are linked to the master at least 2 hours before the
/// session; the rehearsal opens the conference, and with it its links, 120
/// minutes ahead by default).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkReadiness {
    /// `parent` or `child`.
    pub role: LinkRole,
    /// The link: the MCU at the other end, its state and since when, the
    /// trunk media received over it.
    pub link: CascadeLinkView,
    /// Up now.
    pub ready: bool,
    /// Up by the deadline (`deadline_ms`) and since then: `true`; came up
    /// after it, or still down past it: `false`; `null` while it still has
    /// time, or when the conference has no booked start.
    pub on_time: Option<bool>,
    /// When the link must be up: the booked start less `link_before_minutes`
    /// (R7: 2 hours by default); `null` without a booking.
    pub deadline_ms: Option<i64>,
}

/// Whether a link met its deadline: up since before it, late, or (`None`)
/// not yet due.
fn on_time(state: LinkStatus, since: Option<i64>, deadline: i64, now: i64) -> Option<bool> {
    match (state, since) {
        (LinkStatus::Up, Some(since)) => Some(since <= deadline),
        _ if now > deadline => Some(false),
        _ => None,
    }
}

/// A conference's readiness summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessSummary {
    /// Conference id.
    pub conference: String,
    /// Its title.
    pub title: String,
    /// Its state.
    pub state: ConferenceStateName,
    /// Participating endpoints.
    pub total: usize,
    /// Of them, ready (latest result passed).
    pub ready: usize,
    /// Of them, not ready (latest result failed).
    pub not_ready: usize,
    /// Of them, being measured now.
    pub measuring: usize,
    /// Of them, never measured.
    pub not_measured: usize,
    /// Every endpoint is ready and every cascade link is up: the chair may
    /// be told the meeting can start.
    pub all_ready: bool,
    /// The conference's cascade links on this MCU (its parent's, its
    /// children's), the ones down first; empty without a cascade.
    pub links: Vec<LinkReadiness>,
    /// The thresholds.
    pub rules: RulesView,
    /// The participants in order, the failing ones first.
    pub endpoints: Vec<EndpointReadiness>,
    /// When this summary was made (Unix ms).
    pub at: i64,
}

fn figures(r: &ReadinessResult) -> FiguresView {
    let f = &r.figures;
    FiguresView {
        audio_level_dbov: f.audio_level_dbov,
        video_fps: f.video_fps,
        video_width: f.video_size.map(|s| s.0),
        video_height: f.video_size.map(|s| s.1),
        rtt_ms: f.rtt_ms,
        loss_percent: f.loss_percent,
        jitter_ms: f.jitter_ms,
        decoded_fps: f.decoded_fps,
    }
}

async fn summarise(s: &ControlState, c: &Conference) -> ApiResult<ReadinessSummary> {
    // The windows first: a window leaves the board only after its result
    // is stored, so read in this order every endpoint is in one or the other.
    let measuring = board(s).measuring(&c.id);
    let results = s.store.readiness_results(&c.id).await?;
    let roster = s.live.roster(&c.id);
    let mut endpoints = Vec::with_capacity(c.participants.len());
    for e in &c.participants {
        let (name, unit) = match s.store.endpoint(e).await? {
            Some(x) => (x.name, x.unit),
            None => (e.clone(), String::new()),
        };
        let mine: Vec<&ReadinessResult> = results.iter().filter(|r| &r.endpoint_id == e).collect();
        let latest = mine.last().copied();
        let since = measuring.iter().find(|(m, _)| m == e).map(|(_, t)| *t);
        let status = match (since, latest) {
            (Some(_), _) => ReadinessStatus::Measuring,
            (None, Some(r)) if r.passed => ReadinessStatus::Ready,
            (None, Some(_)) => ReadinessStatus::NotReady,
            (None, None) => ReadinessStatus::NotMeasured,
        };
        endpoints.push(EndpointReadiness {
            endpoint: e.clone(),
            name,
            unit,
            connected: roster.iter().any(|p| &p.endpoint == e && p.connected),
            status,
            measuring_since: since,
            passed: latest.map(|r| r.passed),
            measured_at: latest.map(|r| r.measured_at),
            attempts: mine.len(),
            reasons: latest
                .map(|r| {
                    r.reasons
                        .iter()
                        .map(|x| ReasonView {
                            code: reason_code(x).to_owned(),
                            message: reason_text(x).to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            figures: latest.map(figures).unwrap_or_default(),
        });
    }
    let count = |st: ReadinessStatus| endpoints.iter().filter(|e| e.status == st).count();
    let ready = endpoints.iter().filter(|e| e.passed == Some(true)).count();
    let (not_ready, measuring, not_measured) = (
        count(ReadinessStatus::NotReady),
        count(ReadinessStatus::Measuring),
        count(ReadinessStatus::NotMeasured),
    );
    // Failing first, then being measured, never measured, ready; stable
    // within each, so the participants' order is kept.
    let rank = |st: ReadinessStatus| match st {
        ReadinessStatus::NotReady => 0,
        ReadinessStatus::Measuring => 1,
        ReadinessStatus::NotMeasured => 2,
        ReadinessStatus::Ready => 3,
    };
    endpoints.sort_by_key(|e| rank(e.status));
    let deadline = s
        .store
        .booking_of_conference(&c.id)
        .await?
        .map(|b| b.details.start_at - s.policy.booking.link_before_ms);
    let now = s.now_ms();
    let mut links: Vec<LinkReadiness> = match s.live.cascade(&c.id) {
        Some(tree) => tree
            .parent
            .into_iter()
            .map(|l| (LinkRole::Parent, l))
            .chain(tree.children.into_iter().map(|l| (LinkRole::Child, l)))
            .map(|(role, l)| LinkReadiness {
                role,
                ready: l.state == LinkStatus::Up,
                on_time: deadline.and_then(|d| on_time(l.state, l.since_ms, d, now)),
                deadline_ms: deadline,
                link: l.into(),
            })
            .collect(),
        None => Vec::new(),
    };
    links.sort_by_key(|l| l.ready);
    Ok(ReadinessSummary {
        conference: c.id.clone(),
        title: c.title.clone(),
        state: c.state.into(),
        total: endpoints.len(),
        ready,
        not_ready,
        measuring,
        not_measured,
        all_ready: ready == endpoints.len() && measuring == 0 && links.iter().all(|l| l.ready),
        links,
        rules: (&s.policy.readiness).into(),
        endpoints,
        at: s.now_ms(),
    })
}

/// The readiness summary of a conference (R10).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/readiness", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = ReadinessSummary), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn summary(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReadinessSummary>> {
    let c = load_visible(&s, &caller, &id).await?;
    Ok(Json(summarise(&s, &c).await?))
}

/// Which endpoints to (re-)test.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Endpoint ids; absent or empty: every participant.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// Starts measuring endpoints now (a re-test replaces nothing: it adds a
/// result when its window ends). The conference's media must be running
/// (rehearsal, readiness check or live).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/readiness", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    request_body = CheckRequest,
    responses((status = 200, body = ReadinessSummary), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`conference_not_running`", body = ErrorBody)))]
pub(crate) async fn check(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<CheckRequest>,
) -> ApiResult<Json<ReadinessSummary>> {
    let details = json!({ "endpoints": req.endpoints });
    s.audited(
        &caller,
        "conference.readiness_check",
        &format!("conference/{id}"),
        details,
        async {
            if req.endpoints.is_empty() {
                caller.require(Permission::RunConferences)?;
            }
            for e in &req.endpoints {
                caller.require_for(Permission::ControlOwnRoom, e)?;
            }
            let c = load(&s, &id).await?;
            if let Some(stranger) = req.endpoints.iter().find(|e| !c.participants.contains(e)) {
                return Err(ApiError::invalid(
                    "endpoints",
                    format!("{stranger} is not a participant of conference {id}"),
                ));
            }
            if !c.state.media_running() {
                return Err(LiveError::NotRunning(id.clone()).into());
            }
            let endpoints = if req.endpoints.is_empty() {
                &c.participants
            } else {
                &req.endpoints
            };
            let now = s.now_ms();
            board(&s).start(&id, endpoints, now);
            Ok(Json(summarise(&s, &c).await?))
        },
    )
    .await
}

fn status_vi(st: ReadinessStatus) -> &'static str {
    match st {
        ReadinessStatus::Ready => "Sẵn sàng",
        ReadinessStatus::NotReady => "Chưa sẵn sàng",
        ReadinessStatus::Measuring => "Đang đo",
        ReadinessStatus::NotMeasured => "Chưa đo",
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
}

fn size(f: &FiguresView) -> String {
    match (f.video_width, f.video_height) {
        (Some(w), Some(h)) => format!("{w}x{h}"),
        _ => String::new(),
    }
}

/// The summary as CSV (UTF-8 with BOM; one row per endpoint).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/readiness.csv", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn csv(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let c = load_visible(&s, &caller, &id).await?;
    let r = summarise(&s, &c).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(
        "endpoint_id,endpoint_name,unit,status,measured_at,attempts,audio_level_dbov,video_fps,\
         video_size,rtt_ms,loss_percent,jitter_ms,decoded_fps,reasons\r\n",
    );
    for e in &r.endpoints {
        let f = &e.figures;
        let reasons: Vec<&str> = e.reasons.iter().map(|x| x.message.as_str()).collect();
        csv_row(
            &mut out,
            &[
                e.endpoint.clone(),
                e.name.clone(),
                e.unit.clone(),
                serde_json::to_value(e.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                e.measured_at.map(vn_time).unwrap_or_default(),
                e.attempts.to_string(),
                num(f.audio_level_dbov, 1),
                num(f.video_fps, 1),
                size(f),
                num(f.rtt_ms, 0),
                num(f.loss_percent, 2),
                num(f.jitter_ms, 1),
                num(f.decoded_fps, 1),
                reasons.join("; "),
            ],
        );
    }
    csv_row(
        &mut out,
        &["*".to_owned(), format!("{} / {} ready", r.ready, r.total)],
    );
    Ok(csv_download(
        &file_name("tong-hop-san-sang", &id, "csv"),
        out,
    ))
}

/// The printable summary form: a self-contained Vietnamese page.
pub(crate) fn render_html(c: &Conference, r: &ReadinessSummary) -> String {
    let mut h = String::with_capacity(4096 + r.endpoints.len() * 500);
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>Bảng tổng hợp kiểm tra sẵn sàng</title>\n<style>\n",
        "body{font-family:'Times New Roman',serif;margin:2em;color:#000}\n",
        "h1{text-align:center;font-size:1.4em;text-transform:uppercase}\n",
        "table{border-collapse:collapse;width:100%;font-size:.92em}\n",
        "th,td{border:1px solid #444;padding:.3em .45em;vertical-align:top;text-align:left}\n",
        "td.n{text-align:right}\n.ready{color:#060}.not_ready{color:#a00;font-weight:bold}\n",
        "@media print{body{margin:1cm}tr{page-break-inside:avoid}}\n",
        "</style>\n</head>\n<body>\n",
        "<h1>Bảng tổng hợp kiểm tra sẵn sàng kỹ thuật các điểm cầu</h1>\n",
    ));
    h.push_str(&format!(
        "<p><b>Hội nghị:</b> {} ({})<br>\n<b>Trạng thái:</b> {}<br>\n<b>Lập lúc:</b> {} (giờ Việt Nam)</p>\n",
        esc(&c.title),
        esc(&c.id),
        state_vi(c.state),
        vn_time(r.at),
    ));
    h.push_str(&format!(
        "<p style=\"font-size:1.2em\"><b>{} / {} điểm cầu sẵn sàng</b>{}</p>\n",
        r.ready,
        r.total,
        if r.all_ready {
            " — đủ điều kiện khai mạc"
        } else {
            ""
        }
    ));
    let rules = &r.rules;
    h.push_str(&format!(
        "<p><small>Ngưỡng: âm thanh ≥ {} dBov; hình ≥ {} hình/giây, ≥ {}×{}; RTT ≤ {} ms; \
         mất gói ≤ {} %; jitter ≤ {} ms; điểm cầu giải mã hình hội nghị ≥ {} hình/giây; \
         đo trong {} giây.</small></p>\n",
        rules.audio_floor_dbov,
        rules.min_video_fps,
        rules.min_video_width,
        rules.min_video_height,
        rules.max_rtt_ms,
        rules.max_loss_percent,
        rules.max_jitter_ms,
        rules.min_decoded_fps,
        rules.window_seconds,
    ));
    h.push_str(concat!(
        "<table>\n<thead><tr><th>TT</th><th>Điểm cầu</th><th>Kết quả</th><th>Đo lúc</th>",
        "<th>Âm thanh (dBov)</th><th>Hình</th><th>RTT (ms)</th><th>Mất gói (%)</th>",
        "<th>Jitter (ms)</th><th>Giải mã (hình/giây)</th><th>Lý do</th></tr></thead>\n<tbody>\n"
    ));
    let dash = |s: String| if s.is_empty() { "—".to_owned() } else { s };
    for (i, e) in r.endpoints.iter().enumerate() {
        let f = &e.figures;
        let class = serde_json::to_value(e.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let video = match (f.video_fps, size(f)) {
            (Some(fps), sz) if !sz.is_empty() => format!("{fps:.1} hình/giây, {sz}"),
            (Some(fps), _) => format!("{fps:.1} hình/giây"),
            _ => String::new(),
        };
        let reasons: Vec<String> = e.reasons.iter().map(|x| esc(&x.message)).collect();
        h.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>{}<br><small>{}</small></td><td class=\"{class}\">{}</td>\
             <td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            i + 1,
            esc(&e.name),
            esc(&e.unit),
            status_vi(e.status),
            dash(e.measured_at.map(vn_time).unwrap_or_default()),
            dash(num(f.audio_level_dbov, 1)),
            dash(video),
            dash(num(f.rtt_ms, 0)),
            dash(num(f.loss_percent, 2)),
            dash(num(f.jitter_ms, 1)),
            dash(num(f.decoded_fps, 1)),
            reasons.join("<br>"),
        ));
    }
    if r.endpoints.is_empty() {
        h.push_str("<tr><td colspan=\"11\">Hội nghị chưa có điểm cầu nào.</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    if !r.links.is_empty() {
        h.push_str(concat!(
            "<h2 style=\"font-size:1.1em\">Liên kết MCU (kết nối trước giờ họp ít nhất 2 giờ)</h2>\n",
            "<table>\n<thead><tr><th>Liên kết</th><th>MCU</th><th>Trạng thái</th><th>Từ lúc</th>",
            "<th>Đúng hạn</th><th>Nhận (kbit/s)</th><th>Mất gói (%)</th></tr></thead>\n<tbody>\n"
        ));
        for l in &r.links {
            let role = match (l.role, l.link.standby) {
                (LinkRole::Parent, false) => "MCU cấp trên",
                (LinkRole::Parent, true) => "MCU dự phòng",
                (LinkRole::Child, _) => "MCU cấp dưới",
            };
            let (state, class) = match l.link.state {
                LinkStatus::Up => ("Đã kết nối", "ready"),
                LinkStatus::Reconnecting => ("Đang kết nối lại", "not_ready"),
                LinkStatus::Down => ("Chưa kết nối", "not_ready"),
            };
            let q = l.link.quality;
            let due = l.deadline_ms.map(vn_time).unwrap_or_default();
            let on_time = match l.on_time {
                Some(true) => format!("Đúng hạn (trước {due})"),
                Some(false) => format!("<b>Muộn</b> (hạn {due})"),
                None if l.deadline_ms.is_some() => format!("Hạn {due}"),
                None => String::new(),
            };
            h.push_str(&format!(
                "<tr><td>{role}</td><td>{}</td><td class=\"{class}\">{state}</td><td>{}</td>\
                 <td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                esc(&l.link.mcu.name),
                dash(l.link.since_ms.map(vn_time).unwrap_or_default()),
                dash(on_time),
                dash(num(q.map(|q| q.rx_kbps), 0)),
                dash(num(q.map(|q| q.loss_percent), 2)),
            ));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str(concat!(
        "<p><small>Số liệu do MCU đo trên luồng nhận từ từng điểm cầu ",
        "(không do điểm cầu tự khai), và số hình hội nghị điểm cầu báo đã giải mã.</small></p>\n",
        "<table style=\"border:none;margin-top:3em\"><tr>",
        "<td style=\"border:none;text-align:center\"><b>Cán bộ kỹ thuật</b><br><i>(ký, ghi rõ họ tên)</i></td>",
        "<td style=\"border:none;text-align:center\"><b>Trưởng ca trực</b><br><i>(ký, ghi rõ họ tên)</i></td>",
        "</tr></table>\n</body>\n</html>\n"
    ));
    h
}

/// The summary form as a printable HTML page (Vietnamese).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/readiness.html", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/html", body = String), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn html(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let c = load_visible(&s, &caller, &id).await?;
    let r = summarise(&s, &c).await?;
    Ok(printable_html(
        &file_name("tong-hop-san-sang", &id, "html"),
        render_html(&c, &r),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_on_time_when_up_since_before_its_deadline() {
        let d = 1_000_000;
        assert_eq!(on_time(LinkStatus::Up, Some(d), d, d + 5), Some(true));
        assert_eq!(on_time(LinkStatus::Up, Some(d + 1), d, d + 5), Some(false));
        // Down: still time before the deadline, late after it.
        assert_eq!(on_time(LinkStatus::Down, None, d, d - 1), None);
        assert_eq!(on_time(LinkStatus::Reconnecting, Some(d - 9), d, d), None);
        assert_eq!(on_time(LinkStatus::Down, None, d, d + 1), Some(false));
    }
}
