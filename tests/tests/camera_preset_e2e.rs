//! A camera preset recalled through the control API really moves a browser
//! endpoint's picture, and a floor request made from the join page is
//! granted by the operator.
//!
//! The daemon runs in-process with no configured conference; the first
//! accounts come from `mcud::admin::create_user` (as `mcud admin
//! create-user` does). Everything else goes through the control API, called
//! with `fetch` from the pages themselves (same origin, session cookie):
//! the admin adds two endpoints and issues their dial-in tokens, the
//! operator creates and starts a 2x2 conference. The chair's browser has a
//! blue camera; the room's camera is red on the left half and green on the
//! right. The chair sees both halves in the room's tile; after the operator
//! recalls "Bên trái" (pan 250, zoom 200 — the left half, magnified) the
//! room's tile turns all red.

mod common;

use std::time::{Duration, Instant};

use common::Mcu;
use mcu_e2e::y4m::{Rgb, Y4mSpec};
use mcu_e2e::{Browser, BrowserConfig, TempDir};
use serde_json::{Value, json};

const ADMIN_PW: &str = "quản-trị-viên-mạnh";
const OPERATOR_PW: &str = "điều-hành-viên-mạnh";

fn launch(camera: &std::path::Path) -> Browser {
    Browser::launch(
        BrowserConfig::new()
            .with_fake_video(camera)
            .with_arg("--ignore-certificate-errors"),
    )
    .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"))
}

/// Calls the control API from the page: `[method, path, body]` → `{status, body}`.
fn api(browser: &Browser, method: &str, path: &str, body: Value) -> Value {
    let script = r#"
const [method, path, body] = arguments;
const init = { method, credentials: "same-origin", headers: {} };
if (body !== null) { init.body = JSON.stringify(body); init.headers["content-type"] = "application/json"; }
const r = await fetch(path, init);
const text = await r.text();
let parsed = null;
try { parsed = JSON.parse(text); } catch (_) { parsed = text; }
return { status: r.status, body: parsed };"#;
    browser
        .await_promise(
            script,
            &[json!(method), json!(path), body],
            Some(Duration::from_secs(20)),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

fn ok(resp: Value, what: &str) -> Value {
    let status = resp["status"].as_u64().unwrap_or(0);
    assert!((200..300).contains(&status), "{what}: {resp}");
    resp["body"].clone()
}

fn wait_for(browser: &Browser, condition: &str, timeout: Duration) -> Value {
    let script = format!(
        r#"const t0 = performance.now();
for (;;) {{
  const m = window.mcu;
  if (m && (m.state === "error" || m.state === "closed")) throw new Error("page " + m.state + " " + JSON.stringify(m.lastError));
  const v = m && ({condition});
  if (v) return v;
  if (performance.now() - t0 > {ms}) throw new Error("timed out waiting for {escaped}");
  await new Promise((r) => setTimeout(r, 50));
}}"#,
        ms = timeout.as_millis(),
        escaped = condition.replace('"', "'"),
    );
    browser
        .await_promise(&script, &[], Some(timeout * 2))
        .unwrap_or_else(|e| panic!("{e}\n--- console ---\n{}", browser.console_dump()))
}

/// Mean colour of the four quarter-tile points of every tile of the received 2x2 picture.
const SAMPLE: &str = r#"
const video = document.getElementById("remote");
const w = video.videoWidth, h = video.videoHeight;
if (!w || !h) return null;
const canvas = document.createElement("canvas");
canvas.width = w; canvas.height = h;
const ctx = canvas.getContext("2d", { willReadFrequently: true });
ctx.drawImage(video, 0, 0, w, h);
function mean(fx, fy) {
  const bw = Math.max(2, Math.floor(w / 32)), bh = Math.max(2, Math.floor(h / 32));
  const d = ctx.getImageData(Math.floor(fx * w - bw / 2), Math.floor(fy * h - bh / 2), bw, bh).data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  const n = d.length / 4;
  return { r: r / n, g: g / n, b: b / n };
}
const tiles = [];
for (const [tx, ty] of [[0, 0], [0.5, 0], [0, 0.5], [0.5, 0.5]]) {
  tiles.push({ left: mean(tx + 0.15, ty + 0.3), right: mean(tx + 0.35, ty + 0.3) });
}
return tiles;"#;

fn colour(c: &Value) -> &'static str {
    let (r, g, b) = (
        c["r"].as_f64().unwrap_or(0.0),
        c["g"].as_f64().unwrap_or(0.0),
        c["b"].as_f64().unwrap_or(0.0),
    );
    if r > 140.0 && r - g.max(b) > 70.0 {
        "red"
    } else if g > 140.0 && g - r.max(b) > 70.0 {
        "green"
    } else if b > 140.0 && b - r.max(g) > 70.0 {
        "blue"
    } else {
        "other"
    }
}

/// Polls the chair's picture until some tile's (left, right) halves are `want`.
fn wait_tile(chair: &Browser, want: (&str, &str), timeout: Duration) -> Vec<(String, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        let tiles: Vec<(String, String)> = chair
            .execute(SAMPLE, &[])
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    colour(&t["left"]).to_owned(),
                    colour(&t["right"]).to_owned(),
                )
            })
            .collect();
        if tiles.iter().any(|(l, r)| (l.as_str(), r.as_str()) == want) {
            return tiles;
        }
        assert!(
            Instant::now() < deadline,
            "no tile shows {want:?} within {timeout:?}: {tiles:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_recalled_preset_moves_the_room_picture_and_a_floor_request_is_granted() {
    let mcu = Mcu::start(
        "mcud-preset",
        &[
            ("quantri", ADMIN_PW, "admin"),
            ("dieuhanh", OPERATOR_PW, "operator"),
        ],
    );
    let dir = TempDir::new("preset-cameras").expect("temp dir");
    let blue = dir.path().join("blue.y4m");
    Y4mSpec::solid(Rgb::BLUE)
        .with_size(640, 360)
        .write_file(&blue)
        .unwrap();
    let split = dir.path().join("split.y4m");
    Y4mSpec::solid(Rgb::RED)
        .with_right_half(Rgb::GREEN)
        .with_size(640, 360)
        .write_file(&split)
        .unwrap();

    let chair = launch(&blue);
    chair.navigate(&mcu.url("/healthz")).unwrap();
    let login = |b: &Browser, user: &str, pw: &str| {
        ok(
            api(
                b,
                "POST",
                "/api/v1/auth/login",
                json!({"username": user, "password": pw}),
            ),
            "login",
        )
    };
    login(&chair, "quantri", ADMIN_PW);
    for (id, name, level, chair_capable) in [
        ("ubnd-tinh", "UBND tỉnh Tuyên Quang", "province", true),
        ("son-duong", "UBND huyện Sơn Dương", "district", false),
    ] {
        let body = json!({"id": id, "name": name, "level": level, "chair_capable": chair_capable, "owner_mcu": "tuyen-quang"});
        ok(
            api(&chair, "POST", "/api/v1/endpoints", body),
            "create endpoint",
        );
    }
    let token = |id: &str| {
        ok(
            api(
                &chair,
                "POST",
                &format!("/api/v1/endpoints/{id}/token"),
                Value::Null,
            ),
            "token",
        )["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (chair_token, room_token) = (token("ubnd-tinh"), token("son-duong"));
    login(&chair, "dieuhanh", OPERATOR_PW);
    let conference = json!({"id": "giao-ban", "title": "Giao ban trực tuyến", "chair": "ubnd-tinh",
        "layout": "2x2", "participants": ["ubnd-tinh", "son-duong"]});
    ok(
        api(&chair, "POST", "/api/v1/conferences", conference),
        "create conference",
    );
    ok(
        api(
            &chair,
            "POST",
            "/api/v1/conferences/giao-ban/start",
            Value::Null,
        ),
        "start",
    );

    let room = launch(&split);
    room.navigate(&mcu.url(&format!(
        "/join?conference=giao-ban&endpoint=son-duong&token={room_token}"
    )))
    .unwrap();
    wait_for(&room, r#"m.state === "connected""#, Duration::from_secs(20));
    chair
        .navigate(&mcu.url(&format!(
            "/join?conference=giao-ban&endpoint=ubnd-tinh&token={chair_token}"
        )))
        .unwrap();
    wait_for(
        &chair,
        r#"m.state === "connected""#,
        Duration::from_secs(20),
    );

    // Before: the room's tile shows its camera's two halves.
    wait_tile(&chair, ("red", "green"), Duration::from_secs(10));

    let preset = json!({"pan": 250, "tilt": 500, "zoom": 200});
    let path = "/api/v1/endpoints/son-duong/presets/B%C3%AAn%20tr%C3%A1i";
    ok(api(&chair, "PUT", path, preset), "save preset");
    let recall =
        "/api/v1/conferences/giao-ban/participants/son-duong/presets/B%C3%AAn%20tr%C3%A1i/recall";
    ok(api(&chair, "POST", recall, Value::Null), "recall preset");
    let applied = wait_for(&room, "m.preset && m.preset.crop", Duration::from_secs(5));
    assert_eq!(applied, json!({"x": 0, "y": 90, "w": 320, "h": 180}));
    // After: the room's camera shows only its left half, magnified.
    wait_tile(&chair, ("red", "red"), Duration::from_secs(5));

    // The room asks for the floor from its page; the operator grants it.
    room.execute(
        r#"document.getElementById("floor").click(); return true;"#,
        &[],
    )
    .unwrap();
    wait_for(&room, "m.floorPending", Duration::from_secs(5));
    let queue = ok(
        api(
            &chair,
            "GET",
            "/api/v1/conferences/giao-ban/floor",
            Value::Null,
        ),
        "queue",
    );
    assert_eq!(queue[0]["name"], "UBND huyện Sơn Dương", "{queue}");
    ok(
        api(
            &chair,
            "POST",
            "/api/v1/conferences/giao-ban/floor/son-duong/grant",
            Value::Null,
        ),
        "grant",
    );
    wait_for(&room, "m.floorAnswer === true", Duration::from_secs(5));
    let note = room
        .execute(
            r#"return document.getElementById("note").textContent;"#,
            &[],
        )
        .unwrap();
    assert!(
        note.as_str().unwrap_or_default().contains("Mời phát biểu"),
        "{note}"
    );

    // The monitoring view of the same conference: media was mixed and decoded.
    let metrics = api(&chair, "GET", "/metrics", Value::Null);
    let text = metrics["body"].as_str().unwrap_or_default().to_owned();
    let sample = |name: &str| -> f64 {
        let prefix = format!("{name}{{conference=\"giao-ban\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    assert_eq!(sample("mcu_participants"), 2.0);
    assert!(sample("mcu_video_ticks_total") > 30.0);
    assert!(sample("mcu_frames_decoded_total") > 30.0);
    assert!(sample("mcu_mix_tick_seconds_total") > 0.0);
}
