//! A conference's quality report (đánh giá chất lượng, R13): per endpoint,
//! time connected, drops, freezes, loss / jitter / RTT (mean and p95) and an
//! estimated MOS, with a conference summary — as JSON, CSV or a printable
//! Vietnamese HTML page. The computation is [`crate::report`].
//!
//! Rights: like every conference read (`ReadConferences`): admins,
//! operators and auditors see every conference's report; a site operator
//! only that of a conference with one of their endpoints (403 otherwise).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use mcu_store::Conference;
use serde::Serialize;
use utoipa::ToSchema;

use super::conferences::load_visible;
use super::endpoints::csv_row;
use super::logbook::{esc, state_vi, vn_time};
use super::{csv_download, file_name, printable_html};
use crate::auth::Caller;
use crate::model::ConferenceStateName;
use crate::report::{Compiled, EndpointReport, ReportSummary, Stat, compile};
use crate::{ApiResult, ControlState, ErrorBody};

/// A conference's quality report.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityReport {
    /// Conference id.
    pub conference: String,
    /// Its title.
    pub title: String,
    /// Its state (a live conference's report is provisional).
    pub state: ConferenceStateName,
    /// When it started (Unix ms).
    pub started_at: Option<i64>,
    /// When it ended (Unix ms).
    pub ended_at: Option<i64>,
    /// When the report was compiled (Unix ms).
    pub compiled_at: i64,
    /// The record period times are counted in, ms.
    pub record_period_ms: i64,
    /// The conference as a whole.
    pub summary: ReportSummary,
    /// Per endpoint: the participants in order, then any other endpoint with samples.
    pub endpoints: Vec<EndpointReport>,
}

async fn compiled(
    s: &ControlState,
    caller: &Caller,
    id: &str,
) -> ApiResult<(Conference, Compiled, i64)> {
    let c = load_visible(s, caller, id).await?;
    let (report, now) = compile_report(s, &c).await?;
    Ok((c, report, now))
}

/// Compiles a conference's quality report from the store, as of now.
pub(crate) async fn compile_report(s: &ControlState, c: &Conference) -> ApiResult<(Compiled, i64)> {
    let id = c.id.as_str();
    let samples = s.store.quality_samples(id).await?;
    let entries = s.store.logbook(id).await?;
    let mut participants = Vec::with_capacity(c.participants.len());
    for e in &c.participants {
        let name = s
            .store
            .endpoint(e)
            .await?
            .map(|e| e.name)
            .unwrap_or_default();
        participants.push((e.clone(), name));
    }
    let now = s.now_ms();
    let mut report = compile(&participants, &samples, &entries, c.ended_at.unwrap_or(now));
    for e in report.endpoints.iter_mut().filter(|e| e.name.is_empty()) {
        e.name = match e.endpoint.strip_prefix("cascade:") {
            // A cascade link's trunk, sampled while the link was up.
            Some(mcu) => format!("Liên kết MCU {mcu}"),
            None => s
                .store
                .endpoint(&e.endpoint)
                .await?
                .map(|e| e.name)
                .unwrap_or_default(),
        };
    }
    Ok((report, now))
}

/// The quality report of a conference (R13).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/report", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = QualityReport), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn report(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<QualityReport>> {
    let (c, r, now) = compiled(&s, &caller, &id).await?;
    Ok(Json(QualityReport {
        conference: c.id,
        title: c.title,
        state: c.state.into(),
        started_at: c.started_at,
        ended_at: c.ended_at,
        compiled_at: now,
        record_period_ms: r.record_period_ms,
        summary: r.summary,
        endpoints: r.endpoints,
    }))
}

fn download_name(id: &str, ext: &str) -> String {
    file_name("bao-cao-chat-luong", id, ext)
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
}

fn mean(s: Option<Stat>) -> Option<f64> {
    s.map(|s| s.mean)
}

fn p95(s: Option<Stat>) -> Option<f64> {
    s.map(|s| s.p95)
}

/// One endpoint's quality over the session, for the console's charts.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSeries {
    /// Endpoint id.
    pub endpoint: String,
    /// Its name.
    pub name: String,
    /// `[at_ms, loss_percent, jitter_ms, rtt_ms | null]`, in time order, at
    /// most 360 (longer sessions are averaged in equal runs).
    #[schema(value_type = Vec<Vec<f64>>)]
    pub points: Vec<crate::report::SeriesPoint>,
}

/// The quality of each endpoint over the session as time series (R13: the
/// report's charts). Same rights as the report.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/report/series", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = [EndpointSeries]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn series(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EndpointSeries>>> {
    load_visible(&s, &caller, &id).await?;
    let samples = s.store.quality_samples(&id).await?;
    let mut out = Vec::new();
    // The store gives them by endpoint, then time.
    for run in samples.chunk_by(|a, b| a.endpoint_id == b.endpoint_id) {
        let endpoint = run[0].endpoint_id.clone();
        let name = s
            .store
            .endpoint(&endpoint)
            .await?
            .map(|e| e.name)
            .unwrap_or_default();
        out.push(EndpointSeries {
            points: crate::report::series(run),
            endpoint,
            name,
        });
    }
    Ok(Json(out))
}

/// The report as CSV (UTF-8 with BOM; one row per endpoint, then a summary row).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/report.csv", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn csv(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (_, r, _) = compiled(&s, &caller, &id).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(
        "endpoint_id,endpoint_name,samples,connected_s,drops,freezes,freeze_s,\
         loss_mean_percent,loss_p95_percent,jitter_mean_ms,jitter_p95_ms,rtt_mean_ms,rtt_p95_ms,\
         mos,mos_band\r\n",
    );
    for e in &r.endpoints {
        let cells = [
            e.endpoint.clone(),
            e.name.clone(),
            e.samples.to_string(),
            format!("{:.1}", e.connected_ms as f64 / 1000.0),
            e.drops.to_string(),
            e.freezes.to_string(),
            format!("{:.1}", e.freeze_ms as f64 / 1000.0),
            num(mean(e.loss_percent), 2),
            num(p95(e.loss_percent), 2),
            num(mean(e.jitter_ms), 1),
            num(p95(e.jitter_ms), 1),
            num(mean(e.rtt_ms), 1),
            num(p95(e.rtt_ms), 1),
            num(e.mos, 2),
            e.band.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        ];
        csv_row(&mut out, &cells);
    }
    let sum = &r.summary;
    let cells = [
        "*".to_owned(),
        format!("{} endpoints", sum.endpoints),
        String::new(),
        String::new(),
        sum.drops.to_string(),
        sum.freezes.to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        num(sum.mean_mos, 2),
        sum.band.map(|b| b.as_str().to_owned()).unwrap_or_default(),
    ];
    csv_row(&mut out, &cells);
    Ok(csv_download(&download_name(&id, "csv"), out))
}

fn duration_vi(ms: i64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{} giờ {:02} phút", s / 3600, s / 60 % 60)
    } else {
        format!("{} phút {:02} giây", s / 60, s % 60)
    }
}

/// The printable page: a self-contained HTML document (inline style, no
/// script, every text escaped) with Vietnamese headings.
pub(crate) fn render_html(c: &Conference, r: &Compiled, now: i64) -> String {
    let mut h = String::with_capacity(4096 + r.endpoints.len() * 600);
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>Báo cáo chất lượng hội nghị truyền hình</title>\n<style>\n",
        "body{font-family:'Times New Roman',serif;margin:2em;color:#000}\n",
        "h1{text-align:center;font-size:1.4em;text-transform:uppercase}\n",
        "table{border-collapse:collapse;width:100%;font-size:.92em}\n",
        "th,td{border:1px solid #444;padding:.3em .45em;vertical-align:top;text-align:left}\n",
        "td.n{text-align:right}\n.excellent,.good{color:#060}.fair{color:#850}.poor,.bad{color:#a00;font-weight:bold}\n",
        "@media print{body{margin:1cm}tr{page-break-inside:avoid}}\n",
        "</style>\n</head>\n<body>\n",
        "<h1>Báo cáo đánh giá chất lượng hội nghị truyền hình</h1>\n",
    ));
    h.push_str(&format!(
        "<p><b>Hội nghị:</b> {} ({})<br>\n<b>Trạng thái:</b> {}",
        esc(&c.title),
        esc(&c.id),
        state_vi(c.state),
    ));
    if let Some(t) = c.started_at {
        h.push_str(&format!("<br>\n<b>Bắt đầu:</b> {}", vn_time(t)));
    }
    if let Some(t) = c.ended_at {
        h.push_str(&format!("<br>\n<b>Kết thúc:</b> {}", vn_time(t)));
    }
    h.push_str(&format!(
        "<br>\n<b>Lập báo cáo lúc:</b> {}</p>\n<p>Giờ Việt Nam (UTC+7). Số liệu đo mỗi {:.1} giây.</p>\n",
        vn_time(now),
        r.record_period_ms as f64 / 1000.0
    ));
    let sum = &r.summary;
    h.push_str("<h2 style=\"font-size:1.1em\">Tổng hợp</h2>\n<p>");
    h.push_str(&format!(
        "<b>Số điểm cầu có số liệu:</b> {}<br>\n<b>MOS trung bình:</b> {}",
        sum.endpoints,
        num(sum.mean_mos, 2)
    ));
    if let Some(b) = sum.band {
        h.push_str(&format!(
            " (<span class=\"{}\">{}</span>)",
            b.as_str(),
            b.vi()
        ));
    }
    if let (Some(w), Some(m)) = (&sum.worst_endpoint, sum.worst_mos) {
        let name = r
            .endpoints
            .iter()
            .find(|e| &e.endpoint == w)
            .map(|e| e.name.as_str())
            .unwrap_or_default();
        h.push_str(&format!(
            "<br>\n<b>Điểm cầu kém nhất:</b> {} ({}), MOS {m:.2}",
            esc(name),
            esc(w)
        ));
    }
    h.push_str(&format!(
        "<br>\n<b>Số lần mất kết nối:</b> {} — <b>Số lần đứng hình:</b> {}</p>\n",
        sum.drops, sum.freezes
    ));
    h.push_str(concat!(
        "<h2 style=\"font-size:1.1em\">Chi tiết từng điểm cầu</h2>\n<table>\n<thead><tr>",
        "<th>Điểm cầu</th><th>Thời gian kết nối</th><th>Mất kết nối</th><th>Đứng hình</th>",
        "<th>Mất gói (%) TB / P95</th><th>Jitter (ms) TB / P95</th><th>RTT (ms) TB / P95</th>",
        "<th>MOS ước tính</th><th>Đánh giá</th></tr></thead>\n<tbody>\n"
    ));
    let pair = |s: Option<Stat>, d: usize| match s {
        Some(s) => format!("{:.d$} / {:.d$}", s.mean, s.p95),
        None => "—".to_owned(),
    };
    for e in &r.endpoints {
        let band = match e.band {
            Some(b) => format!("<span class=\"{}\">{}</span>", b.as_str(), b.vi()),
            None => "Không có số liệu".to_owned(),
        };
        h.push_str(&format!(
            "<tr><td>{}<br><small>{}</small></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{} lần, {:.1} giây</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            esc(&e.name),
            esc(&e.endpoint),
            duration_vi(e.connected_ms),
            e.drops,
            e.freezes,
            e.freeze_ms as f64 / 1000.0,
            pair(e.loss_percent, 2),
            pair(e.jitter_ms, 1),
            pair(e.rtt_ms, 1),
            e.mos
                .map(|m| format!("{m:.2}"))
                .unwrap_or_else(|| "—".into()),
            band,
        ));
    }
    if r.endpoints.is_empty() {
        h.push_str("<tr><td colspan=\"9\">Hội nghị chưa có điểm cầu nào.</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h.push_str(concat!(
        "<p><small>MOS ước tính theo mô hình E của ITU-T G.107 (rút gọn): độ trễ hiệu dụng ",
        "= RTT/2 + 2 × jitter + 10 ms; Ie = 0, Bpl = 10 (Opus); mất gói và jitter lấy giá trị ",
        "xấu hơn giữa hình và tiếng. Mất kết nối và đứng hình theo các mục cảnh báo tự động ",
        "của sổ ghi biên bản.</small></p>\n</body>\n</html>\n"
    ));
    h
}

/// The report as a printable HTML page (Vietnamese).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/report.html", tag = "conferences",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/html", body = String), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn html(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (c, r, now) = compiled(&s, &caller, &id).await?;
    Ok(printable_html(
        &download_name(&id, "html"),
        render_html(&c, &r, now),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_vietnamese() {
        assert_eq!(duration_vi(65_000), "1 phút 05 giây");
        assert_eq!(duration_vi(3_725_000), "1 giờ 02 phút");
    }
}
