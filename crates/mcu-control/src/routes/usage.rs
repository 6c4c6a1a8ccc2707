//! The periodic usage report (báo cáo sử dụng; R13 yearly reports, R19 paid
//! use) for a period of whole days in Vietnam time: per unit, per endpoint
//! and per organising unit — as JSON, CSV or a printable Vietnamese HTML
//! page. The computation is [`crate::usage`]; the reads are
//! `mcu_store::usage`.
//!
//! Rights ([`Permission::ReadUsage`]): admins, operators and auditors read
//! the whole network's report. A site operator reads the report of their
//! own endpoints only (R13: each unit reports on its own use): their
//! endpoints' rows, the units figures over those endpoints, and no
//! organisations (the paid-use accounting is the operator's). The CSV and
//! HTML exports are audited (`usage_report.export`): they leave the system
//! as the basis of yearly reports and of invoices.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mcu_store::Role;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::endpoints::csv_row;
use super::logbook::{esc, vn_time};
use crate::auth::{Caller, Permission};
use crate::civil::{VN_OFFSET_SECONDS, is_valid_date, midnight_ms};
use crate::usage::{
    Compiled, EndpointUsage, OrganisationTotals, OrganisationUsage, Scope, UnitUsage, UsageInput,
    UsageTotals, compile,
};
use crate::{ApiError, ApiResult, ControlState, ErrorBody};

/// The period asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (Vietnam time, from 00:00).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (Vietnam time, included to 24:00).
    to: Option<String>,
}

/// Whose rows a usage report holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageScope {
    /// The whole network.
    All,
    /// The caller's own endpoints (a site operator).
    OwnEndpoints,
}

/// The usage report of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// First day (`YYYY-MM-DD`, Vietnam time).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The period's start, Unix ms (00:00 of `from` in Vietnam).
    pub from_ms: i64,
    /// The period's end, Unix ms, excluded (00:00 of the day after `to`).
    pub to_ms: i64,
    /// When the report was compiled (Unix ms).
    pub compiled_at: i64,
    /// Whose rows it holds.
    pub scope: UsageScope,
    /// Totals over its endpoints.
    pub totals: UsageTotals,
    /// Per unit.
    pub units: Vec<UnitUsage>,
    /// Per endpoint, by unit then name.
    pub endpoints: Vec<EndpointUsage>,
    /// Per organising unit (empty for a site operator).
    pub organisations: Vec<OrganisationUsage>,
    /// The organisations' totals (`null` for a site operator).
    pub organisation_totals: Option<OrganisationTotals>,
}

/// A checked period: the dates as given and their instants.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Period {
    from: String,
    to: String,
    from_ms: i64,
    to_ms: i64,
}

fn invalid_period(field: &str, reason: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_period", message)
        .with_details(json!({ "field": field, "reason": reason }))
}

/// `YYYY-MM-DD` → (year, month, day), a real date from 1970 on.
fn parse_date(field: &str, value: Option<&str>) -> Result<(i64, i64, i64), ApiError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(invalid_period(
            field,
            "missing",
            format!("`{field}` is missing: give the day as YYYY-MM-DD (Vietnam time)"),
        ));
    };
    let bad = || {
        invalid_period(
            field,
            "format",
            format!("`{field}` is not a date of the form YYYY-MM-DD"),
        )
    };
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, ApiError> {
        let part = &value[r];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if y < 1970 || !is_valid_date(y, m, d) {
        return Err(bad());
    }
    Ok((y, m, d))
}

/// The period `[from 00:00, to + 1 day 00:00)` in Vietnam time.
fn period(q: &UsageQuery) -> Result<Period, ApiError> {
    let (fy, fm, fd) = parse_date("from", q.from.as_deref())?;
    let (ty, tm, td) = parse_date("to", q.to.as_deref())?;
    let from_ms = midnight_ms(fy, fm, fd, VN_OFFSET_SECONDS);
    let to_ms = midnight_ms(ty, tm, td, VN_OFFSET_SECONDS) + 86_400_000;
    if to_ms <= from_ms {
        return Err(invalid_period(
            "to",
            "before_from",
            "`to` is before `from`: the last day comes after the first".into(),
        ));
    }
    Ok(Period {
        from: format!("{fy:04}-{fm:02}-{fd:02}"),
        to: format!("{ty:04}-{tm:02}-{td:02}"),
        from_ms,
        to_ms,
    })
}

async fn compiled(
    s: &ControlState,
    caller: &Caller,
    q: &UsageQuery,
) -> ApiResult<(Period, Compiled, i64, Scope)> {
    caller.require(Permission::ReadUsage)?;
    let p = period(q)?;
    let scope = if caller.user.role == Role::SiteOperator {
        Scope::Endpoints(caller.user.endpoints.iter().cloned().collect())
    } else {
        Scope::All
    };
    let (from, to) = (p.from_ms, p.to_ms);
    let store = &s.store;
    let input = UsageInput {
        endpoints: store.usage_endpoints().await?,
        connections: store.usage_connections(from, to).await?,
        gaps: store.usage_sample_gaps(from, to).await?,
        readiness: store.usage_readiness(from, to).await?,
        incidents: store.usage_incidents(from, to).await?,
        participants: store.usage_participants(from, to).await?,
        conferences: store.usage_conferences(from, to).await?,
        bookings: store.usage_bookings(from, to).await?,
    };
    let now = s.now_ms();
    let report = compile(&input, from, to, now, &scope);
    Ok((p, report, now, scope))
}

/// The usage report of a period (R13, R19).
#[utoipa::path(get, path = "/api/v1/reports/usage", tag = "reports",
    params(UsageQuery),
    responses((status = 200, body = UsageReport),
              (status = 400, description = "`invalid_period`: `from` or `to` missing, not a date, or `to` before `from`", body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn report(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<Json<UsageReport>> {
    let (p, r, now, scope) = compiled(&s, &caller, &q).await?;
    Ok(Json(UsageReport {
        from: p.from,
        to: p.to,
        from_ms: p.from_ms,
        to_ms: p.to_ms,
        compiled_at: now,
        scope: match scope {
            Scope::All => UsageScope::All,
            Scope::Endpoints(_) => UsageScope::OwnEndpoints,
        },
        totals: r.totals,
        units: r.units,
        endpoints: r.endpoints,
        organisations: r.organisations,
        organisation_totals: r.organisation_totals,
    }))
}

/// Hours with two decimals, rounded half up: (whole hours, hundredths).
fn hours(ms: i64) -> (i64, i64) {
    let hundredths = (ms.max(0) * 100 + 1_800_000) / 3_600_000;
    (hundredths / 100, hundredths % 100)
}

/// Hours for the CSV: `1234.50`.
fn hours_csv(ms: i64) -> String {
    let (h, c) = hours(ms);
    format!("{h}.{c:02}")
}

/// Hours as Vietnamese write them: `1.234,50`.
fn hours_vi(ms: i64) -> String {
    let (h, c) = hours(ms);
    let digits = h.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{grouped},{c:02}")
}

/// `YYYY-MM-DD` as `dd/mm/yyyy`.
fn date_vi(date: &str) -> String {
    format!("{}/{}/{}", &date[8..10], &date[5..7], &date[0..4])
}

fn level_vi(level: &str) -> &str {
    match level {
        "central" => "Trung ương",
        "province" => "Tỉnh",
        "district" => "Huyện",
        "commune" => "Xã",
        other => other,
    }
}

fn download(p: &Period, ext: &str) -> String {
    // The dates were checked: digits and dashes only.
    format!("bao-cao-su-dung-{}-den-{}.{ext}", p.from, p.to)
}

/// The report as CSV, UTF-8 with BOM: one table of rows tagged by their
/// first column (`unit`, `endpoint`, `organisation`, `total`,
/// `organisation_total`); hours with two decimals. Audited.
#[utoipa::path(get, path = "/api/v1/reports/usage.csv", tag = "reports",
    params(UsageQuery),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, description = "`invalid_period`", body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn csv(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<impl IntoResponse> {
    let details = json!({ "from": q.from, "to": q.to, "format": "csv" });
    s.audited(
        &caller,
        "usage_report.export",
        "reports/usage",
        details,
        async {
            let (p, r, _, _) = compiled(&s, &caller, &q).await?;
            Ok(super::csv_download(&download(&p, "csv"), render_csv(&r)))
        },
    )
    .await
}

fn render_csv(r: &Compiled) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(
        "row,id,name,unit,level,endpoints,endpoints_used,sessions,connected_h,\
         readiness_checks,readiness_failures,incidents,bookings,booked_h,conferences,actual_h\r\n",
    );
    let n = |v: u64| v.to_string();
    let none = String::new;
    for u in &r.units {
        let name = u.unit.clone().unwrap_or_default();
        csv_row(
            &mut out,
            &[
                "unit".into(),
                none(),
                name.clone(),
                name,
                none(),
                n(u.endpoints),
                n(u.endpoints_used),
                n(u.sessions),
                hours_csv(u.connected_ms),
                n(u.readiness_checks),
                n(u.readiness_failures),
                n(u.incidents),
                none(),
                none(),
                none(),
                none(),
            ],
        );
    }
    for e in &r.endpoints {
        csv_row(
            &mut out,
            &[
                "endpoint".into(),
                e.endpoint.clone(),
                e.name.clone(),
                e.unit.clone().unwrap_or_default(),
                e.level.clone().unwrap_or_default(),
                none(),
                none(),
                n(e.sessions),
                hours_csv(e.connected_ms),
                n(e.readiness_checks),
                n(e.readiness_failures),
                n(e.incidents),
                none(),
                none(),
                none(),
                none(),
            ],
        );
    }
    let t = &r.totals;
    csv_row(
        &mut out,
        &[
            "total".into(),
            none(),
            none(),
            none(),
            none(),
            n(t.endpoints),
            n(t.endpoints_used),
            n(t.sessions),
            hours_csv(t.connected_ms),
            n(t.readiness_checks),
            n(t.readiness_failures),
            n(t.incidents),
            none(),
            none(),
            none(),
            none(),
        ],
    );
    for o in &r.organisations {
        csv_row(
            &mut out,
            &[
                "organisation".into(),
                none(),
                o.organisation.clone().unwrap_or_default(),
                none(),
                none(),
                n(o.endpoints),
                none(),
                none(),
                hours_csv(o.endpoint_ms),
                none(),
                none(),
                n(o.incidents),
                n(o.bookings),
                hours_csv(o.booked_ms),
                n(o.conferences),
                hours_csv(o.actual_ms),
            ],
        );
    }
    if let Some(t) = &r.organisation_totals {
        csv_row(
            &mut out,
            &[
                "organisation_total".into(),
                none(),
                none(),
                none(),
                none(),
                none(),
                none(),
                none(),
                hours_csv(t.endpoint_ms),
                none(),
                none(),
                n(t.incidents),
                n(t.bookings),
                hours_csv(t.booked_ms),
                n(t.conferences),
                hours_csv(t.actual_ms),
            ],
        );
    }
    out
}

/// The report as a printable HTML page (Vietnamese). Audited.
#[utoipa::path(get, path = "/api/v1/reports/usage.html", tag = "reports",
    params(UsageQuery),
    responses((status = 200, content_type = "text/html", body = String),
              (status = 400, description = "`invalid_period`", body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn html(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<impl IntoResponse> {
    let details = json!({ "from": q.from, "to": q.to, "format": "html" });
    s.audited(
        &caller,
        "usage_report.export",
        "reports/usage",
        details,
        async {
            let (p, r, now, scope) = compiled(&s, &caller, &q).await?;
            let page = render_html(&p, &r, now, &scope, &caller.user.username);
            Ok(super::printable_html(&download(&p, "html"), page))
        },
    )
    .await
}

fn unit_name(unit: Option<&str>) -> String {
    unit.map_or_else(|| "(không còn trong danh bạ)".to_owned(), esc)
}

fn render_html(p: &Period, r: &Compiled, now: i64, scope: &Scope, username: &str) -> String {
    let mut h = String::with_capacity(8192 + r.endpoints.len() * 400);
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>Báo cáo sử dụng hệ thống hội nghị truyền hình</title>\n<style>\n",
        "body{font-family:'Times New Roman',serif;margin:2em;color:#000}\n",
        "h1{text-align:center;font-size:1.4em;text-transform:uppercase}\n",
        "h2{font-size:1.1em}\n",
        "table{border-collapse:collapse;width:100%;font-size:.92em;margin-bottom:1em}\n",
        "th,td{border:1px solid #444;padding:.3em .45em;vertical-align:top;text-align:left}\n",
        "td.n{text-align:right}\ntr.total td{font-weight:bold}\n",
        "@media print{body{margin:1cm}tr{page-break-inside:avoid}}\n",
        "</style>\n</head>\n<body>\n",
        "<h1>Báo cáo tình hình sử dụng hệ thống hội nghị truyền hình</h1>\n",
    ));
    let scope_vi = match scope {
        Scope::All => "Toàn hệ thống".to_owned(),
        Scope::Endpoints(_) => format!("Các điểm cầu do tài khoản {} phụ trách", esc(username)),
    };
    h.push_str(&format!(
        "<p><b>Kỳ báo cáo:</b> từ ngày {} đến hết ngày {} (giờ Việt Nam, UTC+7)<br>\n\
         <b>Phạm vi:</b> {scope_vi}<br>\n<b>Lập báo cáo lúc:</b> {}</p>\n",
        date_vi(&p.from),
        date_vi(&p.to),
        vn_time(now),
    ));
    let t = &r.totals;
    h.push_str(&format!(
        "<h2>Tổng hợp</h2>\n<p><b>Số điểm cầu:</b> {} (đã sử dụng: {})<br>\n\
         <b>Số phiên họp có điểm cầu kết nối:</b> {}<br>\n\
         <b>Tổng số giờ kết nối của các điểm cầu:</b> {} giờ<br>\n\
         <b>Kiểm tra sẵn sàng:</b> {} lượt, không đạt: {}<br>\n<b>Sự cố:</b> {}",
        t.endpoints,
        t.endpoints_used,
        t.sessions,
        hours_vi(t.connected_ms),
        t.readiness_checks,
        t.readiness_failures,
        t.incidents,
    ));
    if let Some(o) = &r.organisation_totals {
        h.push_str(&format!(
            "<br>\n<b>Số hội nghị đã tổ chức:</b> {} ({} giờ họp chính thức)<br>\n\
             <b>Số lịch đăng ký đã duyệt:</b> {} ({} giờ đăng ký)",
            o.conferences,
            hours_vi(o.actual_ms),
            o.bookings,
            hours_vi(o.booked_ms),
        ));
    }
    h.push_str("</p>\n");

    h.push_str(concat!(
        "<h2>1. Theo đơn vị</h2>\n<table>\n<thead><tr><th>Đơn vị</th><th>Số điểm cầu</th>",
        "<th>Đã sử dụng</th><th>Số phiên họp</th><th>Giờ kết nối</th>",
        "<th>Kiểm tra sẵn sàng</th><th>Không đạt</th><th>Sự cố</th></tr></thead>\n<tbody>\n"
    ));
    for u in &r.units {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>\n",
            unit_name(u.unit.as_deref()),
            u.endpoints,
            u.endpoints_used,
            u.sessions,
            hours_vi(u.connected_ms),
            u.readiness_checks,
            u.readiness_failures,
            u.incidents,
        ));
    }
    h.push_str(&format!(
        "<tr class=\"total\"><td>Tổng cộng</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n</tbody>\n</table>\n",
        t.endpoints,
        t.endpoints_used,
        t.sessions,
        hours_vi(t.connected_ms),
        t.readiness_checks,
        t.readiness_failures,
        t.incidents,
    ));

    h.push_str(concat!(
        "<h2>2. Theo điểm cầu</h2>\n<table>\n<thead><tr><th>Điểm cầu</th><th>Đơn vị</th>",
        "<th>Cấp</th><th>Số phiên họp</th><th>Giờ kết nối</th><th>Kiểm tra sẵn sàng</th>",
        "<th>Không đạt</th><th>Sự cố</th></tr></thead>\n<tbody>\n"
    ));
    for e in &r.endpoints {
        h.push_str(&format!(
            "<tr><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>\n",
            esc(&e.name),
            esc(&e.endpoint),
            unit_name(e.unit.as_deref()),
            e.level
                .as_deref()
                .map(level_vi)
                .map(esc)
                .unwrap_or_default(),
            e.sessions,
            hours_vi(e.connected_ms),
            e.readiness_checks,
            e.readiness_failures,
            e.incidents,
        ));
    }
    if r.endpoints.is_empty() {
        h.push_str("<tr><td colspan=\"8\">Không có điểm cầu nào.</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");

    if let Some(o) = &r.organisation_totals {
        h.push_str(concat!(
            "<h2>3. Theo đơn vị tổ chức hội nghị</h2>\n<table>\n<thead><tr>",
            "<th>Đơn vị tổ chức</th><th>Lịch đã duyệt</th><th>Giờ đăng ký</th>",
            "<th>Hội nghị đã tổ chức</th><th>Giờ họp thực tế</th><th>Số điểm cầu</th>",
            "<th>Giờ kết nối điểm cầu</th><th>Sự cố</th></tr></thead>\n<tbody>\n"
        ));
        for x in &r.organisations {
            let name = x
                .organisation
                .as_deref()
                .map_or_else(|| "(Hội nghị không qua đặt lịch)".to_owned(), esc);
            h.push_str(&format!(
                "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                x.bookings,
                hours_vi(x.booked_ms),
                x.conferences,
                hours_vi(x.actual_ms),
                x.endpoints,
                hours_vi(x.endpoint_ms),
                x.incidents,
            ));
        }
        h.push_str(&format!(
            "<tr class=\"total\"><td>Tổng cộng</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\"></td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n</tbody>\n</table>\n",
            o.bookings,
            hours_vi(o.booked_ms),
            o.conferences,
            hours_vi(o.actual_ms),
            hours_vi(o.endpoint_ms),
            o.incidents,
        ));
    }
    h.push_str(concat!(
        "<p><small>Ghi chú: số giờ ghi theo kiểu Việt Nam (1.234,50 giờ). Số phiên họp: các ",
        "hội nghị có điểm cầu kết nối trong kỳ (kể cả tổng duyệt); giờ kết nối tính từ số liệu ",
        "đo chất lượng, chỉ phần nằm trong kỳ. Kiểm tra sẵn sàng: kết quả đo sau cùng của điểm ",
        "cầu trong mỗi hội nghị (đạt sau khi kiểm tra lại thì không tính là không đạt). Sự cố: ",
        "các mục sự cố do điều hành viên ghi trong sổ biên bản của những hội nghị điểm cầu ",
        "tham dự. Giờ đăng ký: lịch đã duyệt; giờ họp thực tế: từ lúc khai mạc đến lúc kết ",
        "thúc, chỉ phần nằm trong kỳ.</small></p>\n</body>\n</html>\n"
    ));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: Option<&str>, to: Option<&str>) -> UsageQuery {
        UsageQuery {
            from: from.map(Into::into),
            to: to.map(Into::into),
        }
    }

    #[test]
    fn a_period_is_whole_days_in_vietnam_time() {
        let p = period(&q(Some("2026-01-01"), Some("2026-12-31"))).unwrap();
        // 2026-01-01 00:00 in Hà Nội is 2025-12-31 17:00 UTC.
        assert_eq!(p.from_ms, 1_767_200_400_000);
        assert_eq!(p.to_ms - p.from_ms, 365 * 86_400_000);
        let day = period(&q(Some("2026-03-05"), Some("2026-03-05"))).unwrap();
        assert_eq!(day.to_ms - day.from_ms, 86_400_000);
    }

    #[test]
    fn bad_periods_say_which_field_and_why() {
        let reason = |from, to| {
            let e = period(&q(from, to)).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "invalid_period")
            );
            let d = e.details.unwrap();
            (
                d["field"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
            )
        };
        let f = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(reason(None, Some("2026-01-01")), f("from", "missing"));
        assert_eq!(reason(Some("2026-01-01"), Some(" ")), f("to", "missing"));
        for bad in [
            "2026-1-01",
            "01/02/2026",
            "2026-02-30",
            "2026-13-01",
            "+202-01-01",
            "1969-12-31",
        ] {
            assert_eq!(
                reason(Some(bad), Some("2026-12-31")),
                f("from", "format"),
                "{bad}"
            );
        }
        assert_eq!(
            reason(Some("2026-06-02"), Some("2026-06-01")),
            f("to", "before_from")
        );
    }

    #[test]
    fn hours_read_the_same_in_csv_and_vietnamese() {
        assert_eq!(hours_csv(5_400_000), "1.50");
        assert_eq!(hours_vi(5_400_000), "1,50");
        // 1 234.5 h, and rounding half up at 18 s.
        assert_eq!(hours_vi(4_444_200_000), "1.234,50");
        assert_eq!(hours_csv(18_000), "0.01");
        assert_eq!(hours_csv(17_999), "0.00");
        assert_eq!(hours_vi(1_000_000 * 3_600_000), "1.000.000,00");
        assert_eq!(date_vi("2026-12-31"), "31/12/2026");
    }
}
