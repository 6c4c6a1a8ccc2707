//! The operator console: static files (HTML, CSS, JavaScript modules)
//! compiled into the binary and served under `/console/…`, with `/`
//! redirecting there. No build step and nothing from another origin: the
//! browser loads everything from the daemon and talks to `/api/v1` with the
//! HTTP-only session cookie.
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles and
//! connections from this origin only, no inline script, no framing), plus
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The Content-Security-Policy of every console answer.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file: its name under `/console/`, content type, bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("i18n.js", JS),
    asset!("layouts.js", JS),
    asset!("conferences.js", JS),
    asset!("live.js", JS),
    asset!("floor.js", JS),
    asset!("presets.js", JS),
    asset!("directory.js", JS),
    asset!("users.js", JS),
    asset!("audit.js", JS),
    asset!("logbook.js", JS),
    asset!("quality.js", JS),
    asset!("report.js", JS),
    asset!("readiness.js", JS),
    asset!("cascade.js", JS),
    asset!("scenario.js", JS),
    asset!("bookings.js", JS),
    asset!("bookings.css", "text/css; charset=utf-8"),
    asset!("notify.js", JS),
    asset!("recordings.js", JS),
    asset!("usage.js", JS),
];

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // The files change with the binary: always revalidate.
    set(headers, header::CACHE_CONTROL, "no-cache");
    response
}

fn serve(name: &str) -> Response {
    let response = match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => ([(header::CONTENT_TYPE, a.content_type)], a.body).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    };
    with_security_headers(response)
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

async fn to_console() -> Response {
    with_security_headers(Redirect::to("/console/").into_response())
}

/// `/` and `/console` redirect to `/console/`; `/console/` is the page,
/// `/console/{file}` its scripts and styles.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(to_console))
        .route("/console", get(to_console))
        .route("/console/", get(index))
        .route("/console/{file}", get(file))
}
