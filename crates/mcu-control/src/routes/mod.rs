//! Handlers, one module per resource.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};

use crate::ControlState;

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod bookings;
pub(crate) mod cascade;
pub(crate) mod conferences;
pub(crate) mod endpoints;
pub(crate) mod events;
pub(crate) mod floor;
pub(crate) mod logbook;
pub(crate) mod outbox;
pub(crate) mod presets;
pub(crate) mod preview;
pub(crate) mod quality;
pub(crate) mod readiness;
pub(crate) mod recordings;
pub(crate) mod report;
pub(crate) mod scenario;
pub(crate) mod usage;
pub(crate) mod users;

pub(crate) fn routes() -> Router<Arc<ControlState>> {
    Router::new()
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route(
            "/api/v1/users/{id}",
            axum::routing::patch(users::update).delete(users::delete),
        )
        .route(
            "/api/v1/endpoints",
            get(endpoints::list).post(endpoints::create),
        )
        .route(
            "/api/v1/endpoints/{id}",
            get(endpoints::get_one)
                .put(endpoints::update)
                .delete(endpoints::delete),
        )
        .route(
            "/api/v1/endpoints/{id}/contacts",
            put(endpoints::set_contacts),
        )
        .route("/api/v1/endpoints/{id}/token", post(endpoints::issue_token))
        .route("/api/v1/endpoints/import", post(endpoints::import))
        .route("/api/v1/contacts.csv", get(endpoints::contacts_csv))
        .route(
            "/api/v1/conferences",
            get(conferences::list).post(conferences::create),
        )
        .route("/api/v1/conferences/{id}", get(conferences::get_one))
        .route("/api/v1/conferences/{id}/start", post(conferences::start))
        .route(
            "/api/v1/conferences/{id}/links",
            put(conferences::set_links),
        )
        .route("/api/v1/cascade/neighbours", get(conferences::neighbours))
        .route("/api/v1/conferences/{id}/end", post(conferences::end))
        .route(
            "/api/v1/conferences/{id}/layout",
            put(conferences::set_layout),
        )
        .route("/api/v1/conferences/{id}/pin", post(conferences::pin))
        .route(
            "/api/v1/conferences/{id}/call-to-chair",
            post(conferences::call_to_chair),
        )
        .route(
            "/api/v1/conferences/{id}/participants/{endpoint}/mute",
            post(conferences::mute),
        )
        .route(
            "/api/v1/conferences/{id}/participants/{endpoint}/disconnect",
            post(conferences::disconnect),
        )
        .route("/api/v1/endpoints/{id}/presets", get(presets::list))
        .route(
            "/api/v1/endpoints/{id}/presets/{name}",
            put(presets::put).delete(presets::delete),
        )
        .route(
            "/api/v1/conferences/{id}/participants/{endpoint}/presets/{name}/recall",
            post(presets::recall),
        )
        .route("/api/v1/conferences/{id}/floor", get(floor::queue))
        .route(
            "/api/v1/conferences/{id}/scenario",
            get(scenario::get_scenario),
        )
        .route(
            "/api/v1/conferences/{id}/scenario/step",
            post(scenario::step),
        )
        .route("/api/v1/conferences/{id}/events", get(events::events))
        .route("/api/v1/conferences/{id}/quality", get(quality::quality))
        .route("/api/v1/conferences/{id}/cascade", get(cascade::tree))
        .route(
            "/api/v1/conferences/{id}/readiness",
            get(readiness::summary).post(readiness::check),
        )
        .route(
            "/api/v1/conferences/{id}/readiness.csv",
            get(readiness::csv),
        )
        .route(
            "/api/v1/conferences/{id}/readiness.html",
            get(readiness::html),
        )
        .route("/api/v1/conferences/{id}/report", get(report::report))
        .route(
            "/api/v1/conferences/{id}/report/series",
            get(report::series),
        )
        .route("/api/v1/conferences/{id}/report.csv", get(report::csv))
        .route("/api/v1/conferences/{id}/report.html", get(report::html))
        .route(
            "/api/v1/conferences/{id}/preview.jpg",
            get(preview::preview),
        )
        .route(
            "/api/v1/conferences/{id}/participants/{endpoint}/floor-request",
            post(floor::request),
        )
        .route(
            "/api/v1/conferences/{id}/floor/{endpoint}/grant",
            post(floor::grant),
        )
        .route(
            "/api/v1/conferences/{id}/floor/{endpoint}/dismiss",
            post(floor::dismiss),
        )
        .route(
            "/api/v1/bookings",
            get(bookings::list).post(bookings::create),
        )
        .route(
            "/api/v1/bookings/{id}",
            get(bookings::get_one).put(bookings::change),
        )
        .route("/api/v1/booking-rules", get(bookings::rules))
        .route("/api/v1/bookings/{id}/approve", post(bookings::approve))
        .route("/api/v1/bookings/{id}/reject", post(bookings::reject))
        .route("/api/v1/bookings/{id}/cancel", post(bookings::cancel))
        .route(
            "/api/v1/conferences/{id}/logbook",
            get(logbook::list).post(logbook::append),
        )
        .route(
            "/api/v1/conferences/{id}/logbook/sign-off",
            post(logbook::sign_off),
        )
        .route(
            "/api/v1/conferences/{id}/logbook/verify",
            get(logbook::verify),
        )
        .route("/api/v1/conferences/{id}/logbook.csv", get(logbook::csv))
        .route("/api/v1/conferences/{id}/logbook.html", get(logbook::html))
        .route("/api/v1/conferences/{id}/recording", get(recordings::state))
        .route(
            "/api/v1/conferences/{id}/recording/start",
            post(recordings::start),
        )
        .route(
            "/api/v1/conferences/{id}/recording/stop",
            post(recordings::stop),
        )
        .route("/api/v1/recordings", get(recordings::list))
        .route(
            "/api/v1/recordings/{id}/download",
            get(recordings::download),
        )
        .route("/api/v1/reports/usage", get(usage::report))
        .route("/api/v1/reports/usage.csv", get(usage::csv))
        .route("/api/v1/reports/usage.html", get(usage::html))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/outbox", get(outbox::list))
        .route("/api/v1/outbox/{id}/retry", post(outbox::retry))
}

/// A CSV file to download (`body` starts with a UTF-8 BOM, so spreadsheet
/// programs read the diacritics).
pub(crate) fn csv_download(file: &str, body: String) -> impl IntoResponse + use<> {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
}

/// A printable page: a self-contained HTML document (inline style, no
/// script), shown in the browser.
pub(crate) fn printable_html(file: &str, body: String) -> impl IntoResponse + use<> {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file}\""),
            ),
        ],
        body,
    )
}

/// A download's file name: `{prefix}-{id}.{ext}`, with only the characters
/// of conference ids (`a-z A-Z 0-9 . _ -`) kept from `id`.
pub(crate) fn file_name(prefix: &str, id: &str, ext: &str) -> String {
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    format!("{prefix}-{safe}.{ext}")
}
