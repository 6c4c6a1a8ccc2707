//! A conference's logbook (sổ ghi biên bản, R12): read, write an incident or
//! a note, correct an entry, sign off, verify the hash chain, and export it
//! as CSV or printable HTML.
//!
//! Rules: admins and operators write and sign; auditors read, export and
//! verify; site operators have no access. Nothing is ever changed in place: a
//! correction is a new entry naming the corrected `seq`. The sign-off is
//! refused while the conference is live (joins, leaves and actions would
//! still come) and closes the logbook: every later entry is refused
//! (`409 logbook_signed`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mcu_store::{
    Conference, ConferenceState, LogbookCategory, LogbookEntry, LogbookKind, LogbookVerification,
    NewLogbookEntry,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::conferences::load;
use super::endpoints::csv_row;
use crate::auth::{Caller, Permission};
use crate::model::{
    LogbookEntryRequest, LogbookEntryView, LogbookVerificationView, SignOffRequest,
};
use crate::{ApiError, ApiResult, Body, ControlState, ErrorBody, check_text};

/// Longest text of an entry (and of a remedy or a remark), in characters.
pub const MAX_ENTRY_CHARS: usize = 4000;

/// Checks a free text: up to `MAX_ENTRY_CHARS` characters, line breaks and
/// tabs allowed, no other control characters; `required` texts must have
/// something besides spaces.
fn check_free_text(field: &str, text: &str, required: bool) -> ApiResult<()> {
    let n = text.chars().count();
    let bad_char = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if n > MAX_ENTRY_CHARS || bad_char || (required && text.trim().is_empty()) {
        return Err(ApiError::invalid(
            field,
            format!(
                "{field} must be {}–{MAX_ENTRY_CHARS} characters; line breaks are allowed, other control characters are not",
                u8::from(required)
            ),
        ));
    }
    Ok(())
}

/// Paging of a logbook.
#[derive(Deserialize, IntoParams)]
pub(crate) struct LogbookQuery {
    /// At most this many entries (1–1000, default 100).
    limit: Option<i64>,
    /// Only entries with a greater `seq` (the last `seq` of the previous page).
    after: Option<i64>,
}

async fn readable(s: &ControlState, caller: &Caller, id: &str) -> ApiResult<Conference> {
    caller.require(Permission::ReadLogbook)?;
    load(s, id).await
}

/// A conference's logbook, oldest first.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/logbook", tag = "logbook",
    params(("id" = String, Path, description = "Conference id"), LogbookQuery),
    responses((status = 200, body = [LogbookEntryView]), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<LogbookQuery>,
) -> ApiResult<Json<Vec<LogbookEntryView>>> {
    readable(&s, &caller, &id).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = s.store.list_logbook(&id, q.after, limit).await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Write an incident or a note (or, with `refers_to`, a correction).
#[utoipa::path(post, path = "/api/v1/conferences/{id}/logbook", tag = "logbook",
    request_body = LogbookEntryRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 201, body = LogbookEntryView),
              (status = 400, description = "`invalid_field` (text too long, `refers_to` names no entry)", body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`logbook_signed`", body = ErrorBody)))]
pub(crate) async fn append(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<LogbookEntryRequest>,
) -> ApiResult<(StatusCode, Json<LogbookEntryView>)> {
    let details = json!({
        "category": req.category,
        "refers_to": req.refers_to,
        "chars": req.text.chars().count(),
    });
    s.audited(
        &caller,
        "logbook.append",
        &format!("conference/{id}/logbook"),
        details,
        async {
            caller.require(Permission::WriteLogbook)?;
            load(&s, &id).await?;
            check_free_text("text", &req.text, true)?;
            if let Some(remedy) = &req.remedy {
                check_free_text("remedy", remedy, false)?;
            }
            let details = match &req.remedy {
                Some(remedy) if !remedy.trim().is_empty() => json!({ "remedy": remedy }),
                _ => json!({}),
            };
            let entry = NewLogbookEntry {
                at_ms: s.now_ms(),
                kind: if req.refers_to.is_some() {
                    LogbookKind::Correction
                } else {
                    LogbookKind::Operator
                },
                category: req.category.into(),
                actor: caller.user.username.clone(),
                text: req.text.clone(),
                details: details.to_string(),
                refers_to: req.refers_to,
            };
            let stored = s.store.append_logbook(&id, &entry).await?;
            Ok((StatusCode::CREATED, Json(stored.into())))
        },
    )
    .await
}

/// The duty officer's sign-off: closes the logbook.
#[utoipa::path(post, path = "/api/v1/conferences/{id}/logbook/sign-off", tag = "logbook",
    request_body = SignOffRequest,
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 201, body = LogbookEntryView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`logbook_signed`, or `conference_running` (end it first)", body = ErrorBody)))]
pub(crate) async fn sign_off(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(req): Body<SignOffRequest>,
) -> ApiResult<(StatusCode, Json<LogbookEntryView>)> {
    let details = json!({ "signer_name": req.signer_name, "signer_title": req.signer_title });
    s.audited(
        &caller,
        "logbook.sign_off",
        &format!("conference/{id}/logbook"),
        details,
        async {
            caller.require(Permission::WriteLogbook)?;
            let c = load(&s, &id).await?;
            check_text("signer_name", &req.signer_name)?;
            check_text("signer_title", &req.signer_title)?;
            if let Some(remark) = &req.remark {
                check_free_text("remark", remark, false)?;
            }
            if c.state.media_running() {
                return Err(ApiError::conflict(
                    "conference_running",
                    "the conference is live: end it before signing off its logbook",
                ));
            }
            let mut text = format!(
                "Ký xác nhận sổ biên bản: {}, {}",
                req.signer_name, req.signer_title
            );
            if let Some(remark) = req.remark.as_deref().filter(|r| !r.trim().is_empty()) {
                text.push_str(&format!(". {remark}"));
            }
            let entry = NewLogbookEntry {
                at_ms: s.now_ms(),
                kind: LogbookKind::SignOff,
                category: LogbookCategory::SignOff,
                actor: caller.user.username.clone(),
                text,
                details: json!({
                    "signer_name": req.signer_name,
                    "signer_title": req.signer_title,
                    "remark": req.remark,
                })
                .to_string(),
                refers_to: None,
            };
            let stored = s.store.append_logbook(&id, &entry).await?;
            Ok((StatusCode::CREATED, Json(stored.into())))
        },
    )
    .await
}

/// Walk the hash chain: intact (with the count and the last hash), or the
/// first broken entry and why.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/logbook/verify", tag = "logbook",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, body = LogbookVerificationView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn verify(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LogbookVerificationView>> {
    readable(&s, &caller, &id).await?;
    Ok(Json(s.store.verify_logbook(&id).await?.into()))
}

/// Unix ms as Vietnam's civil time (UTC+7, no daylight saving): `dd/mm/yyyy hh:mm:ss`.
pub(crate) fn vn_time(ms: i64) -> String {
    let c = crate::civil::civil(ms, crate::civil::VN_OFFSET_SECONDS);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        c.day, c.month, c.year, c.hour, c.minute, c.second
    )
}

fn download_name(id: &str, ext: &str) -> String {
    super::file_name("so-bien-ban", id, ext)
}

/// The logbook as CSV (UTF-8 with BOM; cells quoted, formulas defused).
#[utoipa::path(get, path = "/api/v1/conferences/{id}/logbook.csv", tag = "logbook",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn csv(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    readable(&s, &caller, &id).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(
        "seq,at_ms,time_utc7,kind,category,actor,text,details,refers_to,prev_hash,hash\r\n",
    );
    for e in s.store.logbook(&id).await? {
        let cells = [
            e.seq.to_string(),
            e.entry.at_ms.to_string(),
            vn_time(e.entry.at_ms),
            e.entry.kind.to_string(),
            e.entry.category.to_string(),
            e.entry.actor,
            e.entry.text,
            e.entry.details,
            e.entry.refers_to.map(|r| r.to_string()).unwrap_or_default(),
            e.prev_hash,
            e.hash,
        ];
        csv_row(&mut out, &cells);
    }
    Ok(super::csv_download(&download_name(&id, "csv"), out))
}

/// Text safe inside HTML elements and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn kind_vi(k: LogbookKind) -> &'static str {
    match k {
        LogbookKind::Auto => "Tự động",
        LogbookKind::Operator => "Điều hành viên",
        LogbookKind::Correction => "Đính chính",
        LogbookKind::SignOff => "Ký xác nhận",
    }
}

fn category_vi(c: LogbookCategory) -> &'static str {
    match c {
        LogbookCategory::Phase => "Giai đoạn",
        LogbookCategory::Join => "Vào hội nghị",
        LogbookCategory::Leave => "Rời hội nghị",
        LogbookCategory::Drop => "Mất kết nối",
        LogbookCategory::Reconnect => "Kết nối lại",
        LogbookCategory::Alarm => "Cảnh báo",
        LogbookCategory::Readiness => "Kiểm tra sẵn sàng",
        LogbookCategory::Action => "Thao tác",
        LogbookCategory::Incident => "Sự cố",
        LogbookCategory::Note => "Ghi chú",
        LogbookCategory::SignOff => "Ký xác nhận",
    }
}

pub(crate) fn state_vi(s: ConferenceState) -> &'static str {
    match s {
        ConferenceState::Created => "chưa bắt đầu",
        ConferenceState::Rehearsal => "đang tổng duyệt",
        ConferenceState::ReadyCheck => "đang kiểm tra sẵn sàng",
        ConferenceState::Live => "đang họp",
        ConferenceState::Ended => "đã kết thúc",
        ConferenceState::Reported => "đã kết thúc, đã lập báo cáo",
    }
}

/// The printable page: a self-contained HTML document (inline style, no
/// script, every text escaped) with Vietnamese headings, the entries, the
/// sign-off, and the chain's verification with the final hash at the bottom.
pub(crate) fn render_html(
    c: &Conference,
    entries: &[LogbookEntry],
    v: &LogbookVerification,
) -> String {
    let mut h = String::with_capacity(4096 + entries.len() * 400);
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>Sổ ghi biên bản hội nghị truyền hình</title>\n<style>\n",
        "body{font-family:'Times New Roman',serif;margin:2em;color:#000}\n",
        "h1{text-align:center;font-size:1.4em;text-transform:uppercase}\n",
        "table{border-collapse:collapse;width:100%;font-size:.92em}\n",
        "th,td{border:1px solid #444;padding:.3em .45em;vertical-align:top;text-align:left}\n",
        "td.text{white-space:pre-wrap}\n.hash{font-family:monospace;word-break:break-all}\n",
        ".broken{color:#a00;font-weight:bold}\n.sign{margin-top:2.5em;float:right;text-align:center;width:22em}\n",
        "@media print{body{margin:1cm}tr{page-break-inside:avoid}}\n",
        "</style>\n</head>\n<body>\n",
        "<h1>Sổ ghi biên bản hội nghị truyền hình</h1>\n",
    ));
    h.push_str(&format!(
        "<p><b>Hội nghị:</b> {} (<span class=\"hash\">{}</span>)<br>\n<b>Trạng thái:</b> {}<br>\n<b>Tạo lúc:</b> {} — <b>bởi:</b> {}",
        esc(&c.title),
        esc(&c.id),
        state_vi(c.state),
        vn_time(c.created_at),
        esc(&c.created_by)
    ));
    if let Some(t) = c.started_at {
        h.push_str(&format!("<br>\n<b>Bắt đầu:</b> {}", vn_time(t)));
    }
    if let Some(t) = c.ended_at {
        h.push_str(&format!("<br>\n<b>Kết thúc:</b> {}", vn_time(t)));
    }
    h.push_str("</p>\n<p>Giờ Việt Nam (UTC+7).</p>\n");
    h.push_str(concat!(
        "<table>\n<thead><tr><th>STT</th><th>Thời gian</th><th>Loại</th><th>Nội dung</th>",
        "<th>Người ghi</th><th>Đính chính mục</th></tr></thead>\n<tbody>\n"
    ));
    for e in entries {
        let details: serde_json::Value = serde_json::from_str(&e.entry.details).unwrap_or_default();
        let mut text = esc(&e.entry.text);
        if let Some(remedy) = details["remedy"].as_str() {
            text.push_str(&format!("\n<i>Biện pháp khắc phục:</i> {}", esc(remedy)));
        }
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td></tr>\n",
            e.seq,
            vn_time(e.entry.at_ms),
            kind_vi(e.entry.kind),
            category_vi(e.entry.category),
            text,
            esc(&e.entry.actor),
            e.entry.refers_to.map(|r| r.to_string()).unwrap_or_default(),
        ));
    }
    if entries.is_empty() {
        h.push_str("<tr><td colspan=\"6\">Sổ chưa có mục nào.</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    match entries.last() {
        Some(last) if last.entry.kind == LogbookKind::SignOff => {
            let d: serde_json::Value =
                serde_json::from_str(&last.entry.details).unwrap_or_default();
            h.push_str(&format!(
                "<div class=\"sign\"><b>Người ký xác nhận</b><br>{}<br>{}<br><i>{}</i></div>\n",
                esc(d["signer_title"].as_str().unwrap_or_default()),
                esc(d["signer_name"].as_str().unwrap_or(&last.entry.actor)),
                vn_time(last.entry.at_ms),
            ));
        }
        _ => h.push_str("<p><b>Sổ chưa được ký xác nhận.</b></p>\n"),
    }
    h.push_str(
        "<h2 style=\"clear:both;font-size:1.1em;padding-top:1.5em\">Kiểm tra tính toàn vẹn</h2>\n",
    );
    match v {
        LogbookVerification::Intact { entries, last_hash } => h.push_str(&format!(
            "<p>Chuỗi mã băm toàn vẹn: {entries} mục, không có mục nào bị sửa, xóa hay đảo thứ tự.</p>\n\
             <p><b>Mã băm cuối (SHA-256):</b> <span class=\"hash\">{}</span></p>\n",
            esc(last_hash)
        )),
        LogbookVerification::Broken { seq, reason } => h.push_str(&format!(
            "<p class=\"broken\">CHUỖI MÃ BĂM BỊ PHÁ VỠ tại mục số {seq} ({}): sổ đã bị sửa đổi ngoài hệ thống.</p>\n",
            esc(&reason.to_string())
        )),
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// The logbook as a printable HTML page (Vietnamese), with the chain's
/// verification and the final hash at the bottom.
#[utoipa::path(get, path = "/api/v1/conferences/{id}/logbook.html", tag = "logbook",
    params(("id" = String, Path, description = "Conference id")),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn html(
    State(s): State<Arc<ControlState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let c = readable(&s, &caller, &id).await?;
    let entries = s.store.logbook(&id).await?;
    let v = mcu_store::verify_chain(&id, &entries);
    Ok(super::printable_html(
        &download_name(&id, "html"),
        render_html(&c, &entries, &v),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_vietnam() {
        assert_eq!(vn_time(0), "01/01/1970 07:00:00");
        // 2026-09-21 19:33:20 UTC.
        assert_eq!(vn_time(1_790_019_200_000), "22/09/2026 02:33:20");
    }

    #[test]
    fn free_text_allows_lines_but_not_control_characters() {
        assert!(check_free_text("text", "Mất tiếng\nĐã khắc phục", true).is_ok());
        assert!(check_free_text("text", "  ", true).is_err());
        assert!(check_free_text("text", "", false).is_ok());
        assert!(check_free_text("text", "a\u{7}b", true).is_err());
        assert!(check_free_text("text", &"ă".repeat(MAX_ENTRY_CHARS), true).is_ok());
        assert!(check_free_text("text", &"ă".repeat(MAX_ENTRY_CHARS + 1), true).is_err());
    }

    #[test]
    fn html_escapes_what_it_prints() {
        assert_eq!(esc("<b a='1'>&\""), "&lt;b a=&#39;1&#39;&gt;&amp;&quot;");
    }
}
