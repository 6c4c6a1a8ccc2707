//! The console's floor-request queue and camera presets end to end, in
//! headless Chromium against an in-process daemon (`mcud::server::start`,
//! temp data dir). The admin and the operator are made with
//! `mcud::admin::create_user`; through the API (bearer tokens, HTTPS) the
//! admin adds two endpoints with Vietnamese names, issues the room's dial-in
//! token and creates a site operator for the room; the operator creates and
//! starts the conference. Then:
//!
//! - the room joins from its join page in a second browser (a fake camera:
//!   red left half, green right half) and asks for the floor with the page's
//!   button;
//! - the operator's console (logged in through the form) shows the request in
//!   the "Yêu cầu phát biểu" panel by the room's name, diacritics intact,
//!   with a badge on the room's roster row; the operator clicks "Cho phát
//!   biểu" and the room's page learns it has the floor
//!   (`window.mcu.floorAnswer === true`); the queue empties;
//! - the operator opens the room's presets, saves "Ghế chủ tọa" (pan 250,
//!   tilt 500, zoom 200) with the form, recalls it from the roster row, and
//!   the room's page applies exactly that preset (`window.mcu.preset`);
//! - the site operator of the room logs in: the live view shows no layout
//!   picker, pin board, call-to-chair or grant buttons, and controls only on
//!   the room's own row; they request the floor for their room, save "Bên
//!   trái" and recall it, and the room's page applies it; they delete it;
//! - the operator dismisses that request from the console, and the room's
//!   page is told (`window.mcu.floorAnswer === false`).
//!
//! On failure a screenshot of the console is written to
//! `<tmp>/mcu-console-floor-e2e-<pid>/failure.png`.
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

mod common;

use std::time::Duration;

use common::{Mcu, WAIT, api_ok, login_token, page_text, wait_for};
use mcu_e2e::y4m::{Rgb, Y4mSpec};
use mcu_e2e::{Browser, BrowserConfig, TempDir};
use serde_json::{Value, json};

/// One browser test of this binary at a time (2-core machines, one daemon each).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next test still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const ADMIN: (&str, &str) = ("quantri", "quản-trị-viên-mạnh-2026");
const OPERATOR: (&str, &str) = ("dieuhanh", "điều-hành-viên-mạnh-2026");
const SITE_OPERATOR: (&str, &str) = ("sonduong", "cán-bộ-sơn-dương-2026");
const CONFERENCE: &str = "giao-ban-phat-bieu";
const TITLE: &str = "Giao ban: phát biểu và vị trí camera";
const CHAIR: (&str, &str) = ("ubnd-tinh", "UBND tỉnh Tuyên Quang");
const ROOM: (&str, &str) = ("son-duong", "UBND huyện Sơn Dương");

/// Takes a screenshot of the console (and dumps both browsers' logs) if the
/// test panics while it is alive.
struct ScreenshotOnFailure<'a> {
    console: &'a Browser,
    room: &'a Browser,
}

impl Drop for ScreenshotOnFailure<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir =
            std::env::temp_dir().join(format!("mcu-console-floor-e2e-{}", std::process::id()));
        let path = dir.join("failure.png");
        match self.console.screenshot_png() {
            Ok(png) => {
                match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png)) {
                    Ok(()) => eprintln!("screenshot of the failure: {}", path.display()),
                    Err(e) => eprintln!("could not write the screenshot: {e}"),
                }
            }
            Err(e) => eprintln!("could not take a screenshot: {e}"),
        }
        eprintln!(
            "--- console browser ---\n{}\n--- room browser ---\n{}",
            self.console.console_dump(),
            self.room.console_dump()
        );
    }
}

/// Waits on the join page (`m` is its `window.mcu`), failing early when the
/// page reports an error or a closed session.
fn wait_room(room: &Browser, what: &str, condition: &str, timeout: Duration) -> Value {
    let expr = format!(
        r#"(() => {{ const m = window.mcu;
  if (m && (m.state === "error" || m.state === "closed")) return {{ failed: m.state + " " + JSON.stringify(m.lastError) }};
  return m && ({condition}); }})()"#
    );
    let v = wait_for(room, what, &expr, timeout);
    assert!(v.get("failed").is_none(), "{what}: the join page {v}");
    v
}

/// Logs in through the console's form and waits for the conference list row.
fn console_login(console: &Browser, (user, password): (&str, &str)) {
    wait_for(
        console,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    console
        .execute(
            r#"const [user, password] = arguments;
document.getElementById("login-username").value = user;
document.getElementById("login-password").value = password;
document.getElementById("login-submit").click();"#,
            &[json!(user), json!(password)],
        )
        .expect("submitting the login form");
    wait_for(
        console,
        "the conference list",
        &format!("document.querySelector(\"#conference-list tr[data-conference='{CONFERENCE}']\")"),
        WAIT,
    );
}

/// Opens the live view and waits for the roster.
fn open_live_view(console: &Browser) {
    console
        .execute(
            "location.hash = '#/conference/' + encodeURIComponent(arguments[0]);",
            &[json!(CONFERENCE)],
        )
        .unwrap();
    wait_for(
        console,
        "the roster",
        "document.querySelectorAll('#roster tr[data-endpoint]').length === 2 && document.getElementById('floor-panel')",
        WAIT,
    );
}

/// Clicks the element `selector` once it exists and is enabled.
fn click(browser: &Browser, what: &str, selector: &str) {
    let expr = format!(
        "(() => {{ const el = document.querySelector({sel}); return !!el && !el.disabled; }})()",
        sel = json!(selector)
    );
    wait_for(browser, &format!("{what} (enabled)"), &expr, WAIT);
    browser
        .execute(
            "document.querySelector(arguments[0]).click();",
            &[json!(selector)],
        )
        .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
}

fn count(browser: &Browser, selector: &str) -> u64 {
    browser
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            &[json!(selector)],
        )
        .unwrap()
        .as_u64()
        .unwrap_or(0)
}

/// Fills the preset form of the open editor and clicks "Lưu vị trí".
fn save_preset(console: &Browser, name: &str, pan: u32, tilt: u32, zoom: u32) {
    console
        .execute(
            r#"const [name, pan, tilt, zoom] = arguments;
const set = (id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event("input", { bubbles: true })); };
set("preset-name", name);
set("preset-pan", pan); set("preset-tilt", tilt); set("preset-zoom", zoom);
document.getElementById("preset-save").click();"#,
            &[json!(name), json!(pan), json!(tilt), json!(zoom)],
        )
        .expect("filling the preset form");
}

fn room_row(endpoint: &str) -> String {
    format!("#roster tr[data-endpoint='{endpoint}']")
}

#[test]
fn floor_request_is_granted_and_presets_are_saved_and_recalled_from_the_console() {
    let _one = exclusive();
    let mcu = Mcu::start(
        "mcud-console-floor",
        &[
            (ADMIN.0, ADMIN.1, "admin"),
            (OPERATOR.0, OPERATOR.1, "operator"),
        ],
    );
    let cameras = TempDir::new("console-floor-cameras").expect("temp dir");
    let split = cameras.path().join("split.y4m");
    Y4mSpec::solid(Rgb::RED)
        .with_right_half(Rgb::GREEN)
        .with_size(640, 360)
        .write_file(&split)
        .unwrap();
    let console = Browser::launch(BrowserConfig::new().with_arg("--ignore-certificate-errors"))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let room = Browser::launch(
        BrowserConfig::new()
            .with_fake_video(&split)
            .with_arg("--ignore-certificate-errors"),
    )
    .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let _shot = ScreenshotOnFailure {
        console: &console,
        room: &room,
    };

    // Directory, the room's token and its site operator (admin); the conference (operator).
    console.navigate(&mcu.url("/")).expect("navigate");
    wait_for(
        &console,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    let admin = login_token(&console, ADMIN);
    for ((id, name), level, chair) in [(CHAIR, "province", true), (ROOM, "district", false)] {
        let endpoint = json!({"id": id, "name": name, "unit": name, "level": level,
            "chair_capable": chair, "owner_mcu": "tuyen-quang"});
        api_ok(
            &console,
            Some(&admin),
            "POST",
            "/api/v1/endpoints",
            Some(endpoint),
        );
    }
    let room_token = api_ok(
        &console,
        Some(&admin),
        "POST",
        &format!("/api/v1/endpoints/{}/token", ROOM.0),
        None,
    )["token"]
        .as_str()
        .expect("dial-in token")
        .to_owned();
    api_ok(
        &console,
        Some(&admin),
        "POST",
        "/api/v1/users",
        Some(
            json!({"username": SITE_OPERATOR.0, "display_name": "Nguyễn Văn Sơn",
            "role": "site_operator", "password": SITE_OPERATOR.1, "endpoints": [ROOM.0]}),
        ),
    );
    let operator = login_token(&console, OPERATOR);
    api_ok(
        &console,
        Some(&operator),
        "POST",
        "/api/v1/conferences",
        Some(
            json!({"id": CONFERENCE, "title": TITLE, "chair": CHAIR.0, "layout": "2x2",
            "participants": [CHAIR.0, ROOM.0]}),
        ),
    );
    api_ok(
        &console,
        Some(&operator),
        "POST",
        &format!("/api/v1/conferences/{CONFERENCE}/start"),
        None,
    );

    // The room joins from its page.
    room.navigate(&mcu.url(&format!(
        "/join?conference={CONFERENCE}&endpoint={}&token={room_token}",
        ROOM.0
    )))
    .unwrap();
    wait_room(
        &room,
        "the room to connect",
        r#"m.state === "connected""#,
        Duration::from_secs(20),
    );

    // The operator's live view: an empty queue.
    console_login(&console, OPERATOR);
    open_live_view(&console);
    assert_eq!(count(&console, "#floor-queue li"), 0);
    let text = page_text(&console);
    for label in [
        "Yêu cầu phát biểu",
        "Không có yêu cầu nào đang chờ.",
        "Vị trí camera",
    ] {
        assert!(text.contains(label), "live view lacks {label:?}: {text}");
    }

    // The room asks for the floor from its page; the console lists it by name.
    room.execute(r#"document.getElementById("floor").click();"#, &[])
        .unwrap();
    wait_room(&room, "the request to be sent", "m.floorPending", WAIT);
    let item = format!("#floor-queue li[data-endpoint='{}']", ROOM.0);
    let name = wait_for(
        &console,
        "the request in the console's queue",
        &format!("document.querySelector(\"{item} .name\")?.textContent"),
        WAIT,
    );
    assert_eq!(name, json!(ROOM.1), "the queue shows the name as written");
    assert_eq!(count(&console, "#floor-queue li"), 1);
    let waited = console
        .execute(
            "return document.querySelector(arguments[0] + ' .waited').textContent;",
            &[json!(item)],
        )
        .unwrap();
    assert!(
        waited.as_str().unwrap_or_default().starts_with("đã chờ 0:"),
        "waiting time: {waited}"
    );
    assert_eq!(
        count(
            &console,
            &format!("{} .badge.floor-waiting", room_row(ROOM.0))
        ),
        1,
        "the room's roster row has the waiting badge"
    );
    assert_eq!(
        count(
            &console,
            &format!("{} .badge.floor-waiting", room_row(CHAIR.0))
        ),
        0
    );
    let text = page_text(&console);
    for label in ["Cho phát biểu", "Bỏ qua", "Xin phát biểu"] {
        assert!(text.contains(label), "live view lacks {label:?}: {text}");
    }

    // Grant: the room's page is told, the queue and the badge go.
    click(
        &console,
        "Cho phát biểu",
        &format!("{item} button.floor-grant"),
    );
    wait_room(&room, "the floor answer", "m.floorAnswer === true", WAIT);
    wait_for(
        &console,
        "the queue to empty",
        &format!(
            "document.querySelectorAll('#floor-queue li').length === 0 && !document.querySelector(\"{} .badge.floor-waiting\")",
            room_row(ROOM.0)
        ),
        WAIT,
    );
    let audit = api_ok(
        &console,
        Some(&admin),
        "GET",
        "/api/v1/audit?limit=50",
        None,
    );
    assert!(
        audit.as_array().expect("audit list").iter().any(|a| {
            a["action"] == json!("floor.grant")
                && a["actor"] == json!(OPERATOR.0)
                && a["result"] == json!("ok")
        }),
        "the grant is audited as the operator's: {audit}"
    );

    // A preset saved in the console for the room, then recalled from its row.
    click(
        &console,
        "the room's presets",
        &format!("{} button.presets-manage", room_row(ROOM.0)),
    );
    wait_for(
        &console,
        "the preset editor",
        &format!(
            "document.querySelector(\"#preset-editor[data-endpoint='{}']\")",
            ROOM.0
        ),
        WAIT,
    );
    let text = page_text(&console);
    for label in [
        "Ngang",
        "Dọc",
        "Thu phóng",
        "Lưu vị trí",
        "Ghế chủ tọa",
        "Toàn cảnh",
        ROOM.1,
    ] {
        assert!(
            text.contains(label),
            "preset editor lacks {label:?}: {text}"
        );
    }
    const SEAT: &str = "Ghế chủ tọa";
    save_preset(&console, SEAT, 250, 500, 200);
    let recall = format!(
        "{} button.preset-recall[data-preset='{SEAT}']",
        room_row(ROOM.0)
    );
    wait_for(
        &console,
        "the saved preset's recall button",
        &format!("document.querySelector(\"{recall}\")"),
        WAIT,
    );
    let presets = api_ok(
        &console,
        Some(&admin),
        "GET",
        &format!("/api/v1/endpoints/{}/presets", ROOM.0),
        None,
    );
    assert_eq!(
        presets,
        json!([{"name": SEAT, "pan": 250, "tilt": 500, "zoom": 200}])
    );
    click(&console, "recall Ghế chủ tọa", &recall);
    let applied = wait_room(
        &room,
        "the recalled preset",
        "m.preset && m.preset.crop && m.preset",
        WAIT,
    );
    assert_eq!(applied["name"], json!(SEAT), "{applied}");
    assert_eq!(
        applied["crop"],
        json!({"x": 0, "y": 90, "w": 320, "h": 180}),
        "pan 250, zoom 200 of a 640×360 camera: its left half"
    );

    // The room's site operator: only their own room's controls.
    click(&console, "log out", "#logout");
    console_login(&console, SITE_OPERATOR);
    open_live_view(&console);
    wait_for(
        &console,
        "the room's own controls",
        &format!(
            "document.querySelector(\"{} button.floor-request\")",
            room_row(ROOM.0)
        ),
        WAIT,
    );
    for hidden in [
        "#chair-layouts",
        "#pin-board",
        "button.call-to-chair",
        "button.disconnect",
        "#live-end",
    ] {
        assert_eq!(
            count(&console, hidden),
            0,
            "a site operator is not shown {hidden}"
        );
    }
    assert_eq!(
        count(&console, &format!("{} button", room_row(CHAIR.0))),
        0,
        "no controls on another site's row"
    );
    for own in [
        "button.mute-audio",
        "button.mute-video",
        "button.floor-request",
        "button.presets-manage",
        "button.preset-recall",
    ] {
        assert_eq!(
            count(&console, &format!("{} {own}", room_row(ROOM.0))),
            1,
            "the site operator's own row has {own}"
        );
    }

    // They request the floor for their room: it queues, without grant buttons.
    click(
        &console,
        "Xin phát biểu",
        &format!("{} button.floor-request", room_row(ROOM.0)),
    );
    let name = wait_for(
        &console,
        "the site operator's request in the queue",
        &format!("document.querySelector(\"{item} .name\")?.textContent"),
        WAIT,
    );
    assert_eq!(name, json!(ROOM.1));
    assert_eq!(count(&console, "button.floor-grant"), 0);
    let queue = api_ok(
        &console,
        Some(&operator),
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}/floor"),
        None,
    );
    assert_eq!(queue[0]["endpoint"], json!(ROOM.0), "{queue}");

    // They save "Bên trái" for their room and recall it.
    const LEFT: &str = "Bên trái";
    click(
        &console,
        "the room's presets",
        &format!("{} button.presets-manage", room_row(ROOM.0)),
    );
    wait_for(
        &console,
        "the preset editor",
        "document.getElementById('preset-form')",
        WAIT,
    );
    save_preset(&console, LEFT, 300, 600, 150);
    let recall = format!(
        "{} button.preset-recall[data-preset='{LEFT}']",
        room_row(ROOM.0)
    );
    click(&console, "recall Bên trái", &recall);
    let applied = wait_room(
        &room,
        "the site operator's preset",
        &format!("m.preset && m.preset.name === {} && m.preset", json!(LEFT)),
        WAIT,
    );
    assert_eq!(
        (&applied["pan"], &applied["tilt"], &applied["zoom"]),
        (&json!(300), &json!(600), &json!(150)),
        "{applied}"
    );

    // They delete it again: its row and its recall button go, the API agrees.
    console
        .execute("window.confirm = () => true;", &[])
        .unwrap();
    click(
        &console,
        "delete Bên trái",
        &format!("#preset-table tr[data-preset='{LEFT}'] button.preset-delete"),
    );
    wait_for(
        &console,
        "the deleted preset to go",
        &format!(
            "!document.querySelector(\"{recall}\") && !document.querySelector(\"#preset-table tr[data-preset='{LEFT}']\")"
        ),
        WAIT,
    );
    let presets = api_ok(
        &console,
        Some(&admin),
        "GET",
        &format!("/api/v1/endpoints/{}/presets", ROOM.0),
        None,
    );
    assert_eq!(
        presets,
        json!([{"name": SEAT, "pan": 250, "tilt": 500, "zoom": 200}])
    );

    // The operator dismisses the site operator's request from the console.
    click(&console, "log out", "#logout");
    console_login(&console, OPERATOR);
    open_live_view(&console);
    click(&console, "Bỏ qua", &format!("{item} button.floor-dismiss"));
    wait_for(
        &console,
        "the queue to empty",
        "document.querySelectorAll('#floor-queue li').length === 0",
        WAIT,
    );
    let queue = api_ok(
        &console,
        Some(&operator),
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}/floor"),
        None,
    );
    assert_eq!(queue, json!([]));
    wait_room(&room, "the dismissal", "m.floorAnswer === false", WAIT);

    // Readiness from the console: the operator re-tests everyone; the room's
    // page reports what it decodes (receiver_stats from getStats), the MCU
    // reads its picture size from its stream, and the panel gives the count.
    click(&console, "Kiểm tra lại tất cả", "#readiness-all");
    let row = format!("#readiness-rows tr[data-endpoint='{}']", ROOM.0);
    wait_for(
        &console,
        "the room's readiness result",
        &format!(
            "(s => s === 'ready' || s === 'not_ready' ? s : null)(document.querySelector(\"{row}\")?.dataset.status)"
        ),
        Duration::from_secs(30),
    );
    let summary = api_ok(
        &console,
        Some(&operator),
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}/readiness"),
        None,
    );
    let room_result = summary["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == ROOM.0)
        .unwrap();
    let f = &room_result["figures"];
    assert!(
        f["decoded_fps"].as_f64().unwrap_or(0.0) > 5.0,
        "the browser reports decoding the composite: {room_result}"
    );
    assert_eq!(
        (f["video_width"].as_u64(), f["video_height"].as_u64()),
        (Some(640), Some(360)),
        "{room_result}"
    );
    let count_text = wait_for(
        &console,
        "the readiness count",
        "document.getElementById('readiness-count')?.textContent",
        WAIT,
    );
    assert_eq!(
        count_text,
        json!(format!("{} / 2 điểm cầu sẵn sàng", summary["ready"])),
        "the chair never joined: at most 1 of 2"
    );

    // The quality report draws the room's figures over time (SVG charts,
    // under the console's CSP: no inline style).
    console
        .execute(
            "location.hash = '#/conference/' + encodeURIComponent(arguments[0]) + '/report';",
            &[json!(CONFERENCE)],
        )
        .unwrap();
    let lines = wait_for(
        &console,
        "the report's loss chart",
        &format!(
            "document.querySelectorAll(\"#chart-loss polyline[data-endpoint='{}']\").length || null",
            ROOM.0
        ),
        WAIT,
    );
    assert!(lines.as_u64().unwrap_or(0) >= 1, "{lines}");
    assert!(page_text(&console).contains("Diễn biến chất lượng theo thời gian"));
}
