//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    audit, auth as login, bookings, cascade, conferences, endpoints, events, floor, logbook,
    outbox, presets, preview, quality, readiness, recordings, report, scenario, usage, users,
};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MCU control API",
        description = "Operators steer the MCU: accounts and roles, the endpoint directory, conferences and live control, bookings and their notifications, conference logbooks and quality reports, usage reports, recordings, the audit log. See docs/api.md.",
        version = "1"
    ),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = [])),
    paths(
        login::login, login::logout, login::me,
        users::list, users::create, users::update, users::delete,
        endpoints::list, endpoints::create, endpoints::get_one, endpoints::update,
        endpoints::delete, endpoints::set_contacts, endpoints::issue_token, endpoints::contacts_csv, endpoints::import,
        conferences::list, conferences::create, conferences::get_one, conferences::start,
        conferences::end, conferences::mute, conferences::disconnect, conferences::set_layout,
        conferences::pin, conferences::call_to_chair, conferences::set_links,
        conferences::neighbours,
        presets::list, presets::put, presets::delete, presets::recall,
        floor::queue, floor::request, floor::grant, floor::dismiss, events::events,
        scenario::get_scenario, scenario::step,
        quality::quality, cascade::tree, preview::preview, report::report, report::series, report::csv, report::html,
        readiness::summary, readiness::check, readiness::csv, readiness::html,
        bookings::list, bookings::create, bookings::get_one, bookings::change,
        bookings::approve, bookings::reject, bookings::cancel, bookings::rules,
        logbook::list, logbook::append, logbook::sign_off, logbook::verify, logbook::csv,
        logbook::html,
        recordings::start, recordings::stop, recordings::state, recordings::list,
        recordings::download,
        usage::report, usage::csv, usage::html,
        audit::list,
        outbox::list, outbox::retry,
    ),
    tags(
        (name = "auth", description = "Log in and out"),
        (name = "users", description = "Accounts and roles (admin)"),
        (name = "endpoints", description = "The endpoint directory (điểm cầu) and contacts"),
        (name = "conferences", description = "Conferences and live control"),
        (name = "bookings", description = "Conference bookings: request, notice and clash rules, approval"),
        (name = "logbook", description = "Each conference's logbook (sổ ghi biên bản): entries, corrections, sign-off, hash-chain verification, CSV and HTML export"),
        (name = "recordings", description = "Conference recordings (R17): start and stop, list, download (audited)"),
        (name = "reports", description = "The periodic usage report (R13, R19): per unit, endpoint and organising unit for a period; CSV and HTML exports (audited)"),
        (name = "audit", description = "Who did what, when, from where"),
        (name = "outbox", description = "Booking notifications (R9): delivery state, failures, retry"),
    )
)]
struct ApiDoc;

/// The document as JSON.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(spec())
}
