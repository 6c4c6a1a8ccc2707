//! The operator console as the router serves it: every file under
//! `console/` with its content type and the security headers, `/` redirecting
//! to it, no inline script, every label in both languages, every API error
//! code translated, and the layout thumbnails' geometry equal to the mixer's
//! templates.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Api;
use http_body_util::BodyExt;

fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console")
}

/// The console's files on disk: (name, text).
fn console_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(console_dir())
        .expect("console/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "console files: {files:?}");
    files
}

fn js_files() -> Vec<(String, String)> {
    console_files()
        .into_iter()
        .filter(|(n, _)| n.ends_with(".js"))
        .collect()
}

async fn get(api: &Api, path: &str) -> axum::http::Response<Body> {
    api.send(Request::get(path).body(Body::empty()).unwrap())
        .await
}

fn header<'a>(res: &'a axum::http::Response<Body>, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn assert_security_headers(res: &axum::http::Response<Body>, what: &str) {
    let csp = header(res, "content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'),
        "{what}: CSP {csp:?} is not strict"
    );
    assert_eq!(header(res, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(res, "referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn every_console_file_is_served_with_its_type_and_the_security_headers() {
    let api = Api::new().await;
    for (name, text) in console_files() {
        let path = format!("/console/{name}");
        let res = get(&api, &path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path} (anonymous)");
        assert_security_headers(&res, &path);
        let want = match name.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            other => panic!("unexpected file type {other:?} in console/"),
        };
        assert_eq!(header(&res, "content-type"), want, "{path}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, text.as_bytes(), "{path} serves the file on disk");
    }
    // The page itself at the directory URL.
    let res = get(&api, "/console/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_security_headers(&res, "/console/");
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
}

#[tokio::test]
async fn root_and_bare_console_redirect_to_the_console_and_unknown_files_are_404() {
    let api = Api::new().await;
    for path in ["/", "/console"] {
        let res = get(&api, path).await;
        assert!(res.status().is_redirection(), "{path}: {}", res.status());
        assert_eq!(header(&res, "location"), "/console/", "{path}");
    }
    for path in [
        "/console/nope.js",
        "/console/..%2Fsrc%2Flib.rs",
        "/console/index.html.bak",
    ] {
        let res = get(&api, path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert_security_headers(&res, path);
    }
    // The API is untouched by the console's routes.
    let (status, _) = api.call("anonymous", "GET", "/api/v1/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_page_has_no_inline_script_style_or_handlers() {
    let (_, html) = console_files()
        .into_iter()
        .find(|(n, _)| n == "index.html")
        .expect("index.html");
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<html lang=\"vi\">"), "Vietnamese first");
    let lower = html.to_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src=\"/console/"), "inline script: {tag}");
        let close = &lower[i + tag.len() + 1..];
        assert!(close.starts_with("</script>"), "script with a body: {tag}");
    }
    assert!(!lower.contains("<style"), "inline <style>");
    assert!(!lower.contains(" style="), "style attribute");
    assert!(!lower.contains("javascript:"), "javascript: URL");
    assert!(
        !has_event_attribute(&lower),
        "inline event handler attribute"
    );
    for (name, js) in js_files() {
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "eval(",
            "new Function",
            "document.write",
        ] {
            assert!(!js.contains(banned), "{name} uses {banned}");
        }
        // The SVG namespace is a name, not a URL that is fetched.
        let js = js.replace("\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !js.contains("http://") && !js.contains("https://"),
            "{name} refers to another origin"
        );
    }
}

/// A file on disk that nothing loads is a feature missing from the page: every
/// stylesheet is linked from index.html and every module is imported by
/// app.js or by a module it imports (bookings.js and bookings.css included).
#[test]
fn every_module_and_stylesheet_is_loaded_by_the_page() {
    let files = console_files();
    let html = &files.iter().find(|(n, _)| n == "index.html").unwrap().1;
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    let mut queue = vec!["app.js".to_owned()];
    while let Some(name) = queue.pop() {
        if !loaded.insert(name.clone()) {
            continue;
        }
        let (_, js) = files
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is imported but not in console/"));
        for (i, _) in js.match_indices(" from \"./") {
            let rest = &js[i + 9..];
            queue.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    for (name, _) in &files {
        let ok = match name.rsplit('.').next() {
            Some("js") => loaded.contains(name),
            Some("css") => html.contains(&format!("href=\"/console/{name}\"")),
            _ => true,
        };
        assert!(ok, "{name} is in console/ but the page never loads it");
    }
    assert!(loaded.contains("bookings.js"), "{loaded:?}");
}

/// Whether some tag has an `on…=` attribute.
fn has_event_attribute(html: &str) -> bool {
    html.split('<').skip(1).any(|tag| {
        let tag = tag.split('>').next().unwrap_or("");
        tag.split_whitespace().skip(1).any(|attr| {
            attr.starts_with("on") && attr.contains('=') && attr.as_bytes()[2].is_ascii_alphabetic()
        })
    })
}

/// The dictionary `const <lang> = { … };` of i18n.js: its keys.
fn dictionary(source: &str, lang: &str) -> BTreeSet<String> {
    let start = source
        .find(&format!("\nconst {lang} = {{\n"))
        .unwrap_or_else(|| panic!("no dictionary {lang}"));
    let body = &source[start..];
    let end = body.find("\n};").expect("dictionary ends");
    let mut keys = BTreeSet::new();
    for line in body[..end].lines().skip(2) {
        let line = line.trim();
        let (key, text) = line
            .strip_prefix('"')
            .and_then(|l| l.split_once("\": \""))
            .unwrap_or_else(|| panic!("{lang}: not a `\"key\": \"text\",` line: {line}"));
        assert!(text.ends_with("\","), "{lang}: {line}");
        assert!(
            !text.trim_end_matches("\",").is_empty(),
            "{lang}: empty {key}"
        );
        assert!(keys.insert(key.to_owned()), "{lang}: {key} twice");
    }
    keys
}

/// String literals passed to `t(` (a call of the function `t`, not `get(`…);
/// a literal followed by `+` is a prefix (`t("role." + role)`), returned
/// with a trailing `*`.
fn used_keys(js: &str) -> Vec<String> {
    let bytes = js.as_bytes();
    let mut out = Vec::new();
    for (i, _) in js.match_indices("t(\"") {
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'.' | b'$'))
        {
            continue;
        }
        let rest = &js[i + 3..];
        let end = rest.find('"').expect("closing quote");
        let key = &rest[..end];
        if rest[end + 1..].trim_start().starts_with('+') {
            out.push(format!("{key}*"));
        } else {
            out.push(key.to_owned());
        }
    }
    out
}

/// Error codes the API can answer with: the string after `StatusCode::X,`
/// in `ApiError::new(…)` and the first argument of `ApiError::conflict(…)`.
#[test]
fn every_label_exists_in_both_languages_and_every_api_error_is_translated() {
    let i18n = std::fs::read_to_string(console_dir().join("i18n.js")).unwrap();
    let vi = dictionary(&i18n, "vi");
    let en = dictionary(&i18n, "en");
    let only_vi: Vec<_> = vi.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&vi).collect();
    assert!(
        only_vi.is_empty() && only_en.is_empty(),
        "only in vi: {only_vi:?}; only in en: {only_en:?}"
    );

    let mut used = BTreeSet::new();
    for (name, js) in js_files() {
        for key in used_keys(&js) {
            match key.strip_suffix('*') {
                Some(prefix) => assert!(
                    vi.iter().any(|k| k.starts_with(prefix)),
                    "{name} builds labels from {prefix:?}, none in the dictionaries"
                ),
                None => assert!(
                    vi.contains(&key),
                    "{name} uses the label {key:?}, missing from the dictionaries"
                ),
            }
            used.insert(key);
        }
    }
    assert!(
        used.len() > 80,
        "the key pattern finds the labels: {}",
        used.len()
    );

    // Keys built at run time: `role.` + role, `level.` + level, …
    let dynamic = [
        (
            "role",
            &["admin", "operator", "site_operator", "auditor"][..],
        ),
        ("level", &["central", "province", "district", "commune"]),
        ("state", &["created", "live", "ended"]),
        ("live.layout", &["chair", "participants"]),
        ("live.view", &["chair", "participants"]),
        ("contact", &["name", "title", "unit", "phone", "email"]),
        (
            "booking.status",
            &["requested", "approved", "rejected", "cancelled"],
        ),
        ("booking.kind", &["scheduled", "emergency"]),
        ("booking.view", &["day", "week"]),
        ("booking.dow", &["1", "2", "3", "4", "5", "6", "7"]),
    ];
    for (prefix, names) in dynamic {
        for n in names {
            let sep = if prefix.contains('.') { "_" } else { "." };
            let key = format!("{prefix}{sep}{n}");
            assert!(vi.contains(&key), "{key} missing");
        }
    }

    let codes = common::api_error_codes();
    for must in [
        "invalid_credentials",
        "account_locked",
        "forbidden",
        "invalid_layout",
        "conference_state",
        "self_lockout",
    ] {
        assert!(
            codes.contains(must),
            "the code scan finds {must}: {codes:?}"
        );
    }
    for code in &codes {
        assert!(
            vi.contains(&format!("err.{code}")),
            "API error code {code} has no err.{code} label"
        );
    }
    assert!(
        i18n.contains("{locked_until}"),
        "the lock message shows the lock's end"
    );
}

/// One tile of layouts.js: x, y, w, h, role, z.
type JsTile = (f32, f32, f32, f32, String, i32);

/// layouts.js's table: (name, tiles) in file order.
fn js_layouts() -> Vec<(String, Vec<JsTile>)> {
    let js = std::fs::read_to_string(console_dir().join("layouts.js")).unwrap();
    let start = js.find("export const LAYOUTS = {").expect("LAYOUTS table");
    let body = &js[start..start + js[start..].find("\n};").unwrap()];
    let mut out: Vec<(String, Vec<_>)> = Vec::new();
    for line in body.lines().skip(1) {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('"').and_then(|l| l.strip_suffix("\": [")) {
            out.push((name.to_owned(), Vec::new()));
        } else if let Some(tile) = line.strip_prefix('[').and_then(|l| l.strip_suffix("],")) {
            let parts: Vec<&str> = tile.split(',').map(str::trim).collect();
            assert_eq!(parts.len(), 6, "tile line {line}");
            let num = |i: usize| parts[i].parse::<f32>().unwrap_or_else(|_| panic!("{line}"));
            out.last_mut().expect("a layout before its tiles").1.push((
                num(0),
                num(1),
                num(2),
                num(3),
                parts[4].trim_matches('"').to_owned(),
                parts[5].parse().unwrap(),
            ));
        } else {
            assert_eq!(line, "],", "unexpected line in LAYOUTS: {line}");
        }
    }
    out
}

#[test]
fn layout_thumbnails_have_the_mixers_geometry() {
    use mcu_mixer::layout::{Layout, TEMPLATE_NAMES, TileRole};
    let table = js_layouts();
    let names: Vec<&str> = table.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names, TEMPLATE_NAMES,
        "the console lists the mixer's templates in order"
    );
    for (name, tiles) in &table {
        let layout = Layout::template(name).unwrap();
        assert_eq!(tiles.len(), layout.tiles.len(), "{name}: tile count");
        for (i, (js, rs)) in tiles.iter().zip(&layout.tiles).enumerate() {
            let close = |a: f32, b: f32| (a - b).abs() < 1e-3;
            assert!(
                close(js.0, rs.x) && close(js.1, rs.y) && close(js.2, rs.w) && close(js.3, rs.h),
                "{name} tile {i}: console {js:?}, mixer {rs:?}"
            );
            let role = match rs.role {
                TileRole::Main => "main",
                TileRole::Chair => "chair",
                TileRole::Side => "side",
                TileRole::Pip => "pip",
            };
            assert_eq!(js.4, role, "{name} tile {i} role");
            assert_eq!(js.5, rs.z, "{name} tile {i} z");
        }
    }
}
