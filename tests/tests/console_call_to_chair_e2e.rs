//! Calling an endpoint to the chair from the operator console, end to end:
//! `mcud::server::start` in-process (temp data dir, no configured
//! conference), an admin and an operator made with
//! `mcud::admin::create_user`; the admin fills the directory (a chair-capable
//! province endpoint and two district sites, Vietnamese names) and issues
//! their dial-in tokens, the operator creates a `2x2` conference with all
//! three (API over HTTPS). Then:
//!
//! - the operator logs in through the console form in headless Chromium,
//!   starts the conference from the list and opens the live view;
//! - three synthetic endpoints (`mcu-endpoint`: real signalling, WebRTC,
//!   H.264, each its own colour and tone) join as the chair and the two
//!   sites; the console's roster shows all three connected;
//! - the operator clicks the `1+7` thumbnail of the chair view: the API
//!   reports `1+7`, and the chair endpoint's received picture changes to it;
//! - the operator clicks "Mời lên chủ tọa" on the site that is not on the
//!   chair's main tile (every endpoint talks, so the speaker may hold it):
//!   the chair endpoint's received picture shows that site's colour in the
//!   main tile within 1 s of the click (the time is printed), and the audit
//!   log has `conference.call_to_chair` by the operator.
//!
//! On failure a screenshot of the console is written to
//! `<tmp>/mcu-console-call-e2e-<pid>/failure.png`.
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

mod common;

use std::time::{Duration, Instant};

use common::{
    Mcu, ScreenshotOnFailure, WAIT, api_ok, click, login_token, page_text, submit_login, wait_for,
};
use mcu_e2e::{Browser, BrowserConfig};
use mcu_endpoint::picture::PALETTE;
use mcu_endpoint::signalling::tls_config;
use mcu_endpoint::{Endpoint, EndpointConfig, StopMode, tone_for};
use serde_json::json;

const ADMIN: (&str, &str) = ("quantri", "quản-trị-viên-mạnh-2026");
const OPERATOR: (&str, &str) = ("dieuhanh", "điều-hành-viên-mạnh-2026");
const CONFERENCE: &str = "giao-ban-moi-chu-toa";
const TITLE: &str = "Giao ban: mời điểm cầu lên chủ tọa";

/// (endpoint id, name, chair-capable, palette index); the chair first.
const ROOMS: [(&str, &str, bool, usize); 3] = [
    ("ubnd-tinh", "UBND tỉnh Tuyên Quang", true, 0),
    ("son-duong", "UBND huyện Sơn Dương", false, 1),
    ("ham-yen", "UBND huyện Hàm Yên", false, 2),
];

/// The acceptance bound: click to the chair's picture.
const BOUND: Duration = Duration::from_secs(1);

/// Whether a `#rrggbb` tile colour is (about) a palette colour.
fn looks_like(hex: &str, (r, g, b): (u8, u8, u8)) -> bool {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16).ok();
    match (channel(1), channel(3), channel(5)) {
        (Some(hr), Some(hg), Some(hb)) => {
            let near = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs() <= 40;
            near(hr, r) && near(hg, g) && near(hb, b)
        }
        _ => false,
    }
}

/// The chair endpoint analyses its picture as a 2×2 grid: the top-left
/// quarter lies inside the main tile of `1+7` (three quarters of each side)
/// and is the whole first tile of `2x2`. Returns that quarter's colour and
/// the sender whose stamp it carries, if readable.
fn top_left(chair: &Endpoint) -> Option<(String, Option<u8>)> {
    chair
        .live()
        .tiles
        .first()
        .map(|t| (t.colour.clone(), t.endpoint_index))
}

/// The room whose colour `colour` is, if any.
fn room_of(colour: &str) -> Option<usize> {
    ROOMS.iter().position(|r| looks_like(colour, PALETTE[r.3]))
}

#[test]
fn the_operator_calls_a_site_to_the_chair_and_the_chair_sees_it_within_a_second() {
    let mcu = Mcu::start(
        "mcud-console-call",
        &[
            (ADMIN.0, ADMIN.1, "admin"),
            (OPERATOR.0, OPERATOR.1, "operator"),
        ],
    );
    let console = Browser::launch(BrowserConfig::new().with_arg("--ignore-certificate-errors"))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-call-e2e",
        browser: &console,
    };

    // Directory and dial-in tokens (admin), the conference (operator), over the API.
    console.navigate(&mcu.url("/")).expect("navigate");
    wait_for(
        &console,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    let admin = login_token(&console, ADMIN);
    let mut tokens = Vec::new();
    for (id, name, chair, _) in ROOMS {
        let level = if chair { "province" } else { "district" };
        let endpoint = json!({"id": id, "name": name, "unit": name, "level": level,
            "chair_capable": chair, "owner_mcu": "tuyen-quang"});
        api_ok(
            &console,
            Some(&admin),
            "POST",
            "/api/v1/endpoints",
            Some(endpoint),
        );
        let issued = api_ok(
            &console,
            Some(&admin),
            "POST",
            &format!("/api/v1/endpoints/{id}/token"),
            None,
        );
        tokens.push(issued["token"].as_str().expect("dial-in token").to_owned());
    }
    let operator = login_token(&console, OPERATOR);
    api_ok(
        &console,
        Some(&operator),
        "POST",
        "/api/v1/conferences",
        Some(
            json!({"id": CONFERENCE, "title": TITLE, "chair": ROOMS[0].0, "layout": "2x2",
            "participants": ROOMS.map(|r| r.0)}),
        ),
    );

    // The operator logs in through the form, starts the conference, opens the live view.
    submit_login(&console, OPERATOR.0, OPERATOR.1);
    let row = format!("#conference-list tr[data-conference='{CONFERENCE}']");
    wait_for(
        &console,
        "the conference list",
        &format!("document.querySelector(\"{row}\")"),
        WAIT,
    );
    click(&console, "start", &format!("{row} button.start"));
    wait_for(
        &console,
        "the conference to be live",
        &format!("document.querySelector(\"{row} .badge.live\")"),
        WAIT,
    );
    click(&console, "open", &format!("{row} a.button"));
    wait_for(
        &console,
        "the roster and the events socket",
        "document.querySelectorAll('#roster tr[data-endpoint]').length === 3 && document.body.dataset.events === 'live'",
        WAIT,
    );

    // The three rooms join as synthetic endpoints; only the chair analyses what it gets.
    let pem = std::fs::read(&mcu.cert_path).expect("the daemon's certificate");
    let mut endpoints: Vec<Endpoint> = ROOMS
        .iter()
        .enumerate()
        .map(|(i, (id, _, _, colour))| {
            let tls = tls_config(Some(&pem)).expect("TLS client config");
            let mut c = EndpointConfig::new(&mcu.ws_url(), tls, CONFERENCE, id, &tokens[i]);
            c.index = i as u8;
            c.colour = PALETTE[*colour];
            c.tone_hz = tone_for(i);
            c.grid = Some(2);
            c.analyse_video = i == 0;
            Endpoint::spawn(c).expect("spawning a synthetic endpoint")
        })
        .collect();
    // Connected, and the chair sees the 2x2 picture: each room's stamp in a tile.
    let in_2x2 = |chair: &Endpoint| {
        let mut senders: Vec<u8> = chair
            .live()
            .tiles
            .iter()
            .filter_map(|t| t.endpoint_index)
            .collect();
        senders.sort_unstable();
        senders == [0, 1, 2]
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !endpoints.iter().all(|e| e.live().connected) || !in_2x2(&endpoints[0]) {
        let errors: Vec<_> = endpoints.iter().filter_map(|e| e.live().error).collect();
        assert!(errors.is_empty(), "synthetic endpoints failed: {errors:?}");
        assert!(
            Instant::now() < deadline,
            "the endpoints did not connect and show the 2x2 picture in 20 s; the chair sees {:?}",
            endpoints[0].live().tiles
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for(
        &console,
        "the roster to show the three rooms connected",
        "document.querySelectorAll('#roster tr[data-endpoint] td:nth-child(2) .badge.yes').length === 3",
        WAIT,
    );
    // What the operator watches: every room's link measured and graded in
    // the roster, and the composite preview of the chair view.
    wait_for(
        &console,
        "a quality badge on each room",
        "document.querySelectorAll('#roster td.quality .badge.quality:not(.none)').length === 3",
        WAIT,
    );
    wait_for(
        &console,
        "the chair view's preview picture",
        "(() => { const i = document.querySelector('#preview'); return !!i && !i.hidden && i.complete && i.naturalWidth === 480 && i.naturalHeight === 270; })()",
        WAIT,
    );

    // The operator switches the chair view to 1+7 with its thumbnail.
    click(
        &console,
        "the 1+7 thumbnail",
        "#chair-layouts button[data-layout='1+7']",
    );
    wait_for(
        &console,
        "1+7 to be selected",
        "document.querySelector(`#chair-layouts button[data-layout='1+7']`).getAttribute('aria-pressed') === 'true'",
        WAIT,
    );
    let conference = api_ok(
        &console,
        Some(&operator),
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}"),
        None,
    );
    assert_eq!(conference["layout"], json!("1+7"), "{conference}");
    assert_eq!(conference["state"], json!("live"), "{conference}");

    // Wait for the chair's picture to be in 1+7: the top-left quarter shows
    // a room's colour but no readable stamp (the main tile's picture is
    // scaled by 3/4, so its stamp is not where a 2x2 tile's would be), for
    // half a second in a row.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut steady_since: Option<Instant> = None;
    let before = loop {
        let seen = top_left(&endpoints[0]);
        match &seen {
            Some((colour, None)) if room_of(colour).is_some() => {
                let since = *steady_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(500) {
                    break colour.clone();
                }
            }
            _ => steady_since = None,
        }
        assert!(
            Instant::now() < deadline,
            "the chair's picture did not change to 1+7; top-left {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };

    // Every room talks, so the speaker may hold the main tile: call the site
    // that is not on it (the speaker hold keeps the main tile for seconds,
    // so what follows is the call's doing).
    let (target, name, _, colour) = *ROOMS[1..]
        .iter()
        .find(|r| !looks_like(&before, PALETTE[r.3]))
        .expect("two sites cannot both be on the main tile");
    let called = PALETTE[colour];
    println!("main tile before the call: {before}; calling {target} ({name})");
    let button = format!("#roster tr[data-endpoint='{target}'] button.call-to-chair");
    let t0 = Instant::now();
    click(&console, "Mời lên chủ tọa", &button);
    let shown = loop {
        if top_left(&endpoints[0]).is_some_and(|(c, _)| looks_like(&c, called)) {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the chair never saw {target} on the main tile; top-left {:?}",
            top_left(&endpoints[0])
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    println!(
        "click on call to chair → the chair's main tile shows {target}: {} ms",
        shown.as_millis()
    );
    assert!(
        shown <= BOUND,
        "the chair saw {target} {} ms after the click (bound {} ms)",
        shown.as_millis(),
        BOUND.as_millis()
    );
    wait_for(
        &console,
        "the console's confirmation",
        "document.body.innerText.includes('Đã mời điểm cầu lên màn hình chủ tọa.')",
        WAIT,
    );
    let text = page_text(&console);
    assert!(text.contains(name), "the roster names the site: {text}");

    // The audit log names the operator.
    let audit = api_ok(
        &console,
        Some(&admin),
        "GET",
        "/api/v1/audit?limit=50",
        None,
    );
    let entry = audit
        .as_array()
        .expect("audit list")
        .iter()
        .find(|a| a["action"] == json!("conference.call_to_chair"))
        .unwrap_or_else(|| panic!("no conference.call_to_chair in {audit}"));
    assert_eq!(entry["actor"], json!(OPERATOR.0), "{entry}");
    assert_eq!(entry["result"], json!("ok"), "{entry}");
    assert_eq!(
        entry["target"],
        json!(format!("conference/{CONFERENCE}/participant/{target}")),
        "{entry}"
    );

    // A lossy uplink at one room (every 5th RTP packet dropped): the alarms
    // panel names it and its badge turns poor.
    let (lossy, lossy_name, ..) = ROOMS[2];
    endpoints[2].set_send_loss_every(5);
    let alarm = wait_for(
        &console,
        "a loss alarm in the alarms panel",
        &format!(
            "(() => {{ const li = document.querySelector(`#alarms-active li.alarm.loss[data-endpoint='{lossy}']`); return li && li.innerText; }})()"
        ),
        WAIT,
    );
    let alarm = alarm.as_str().unwrap_or_default();
    assert!(
        alarm.contains(lossy_name) && alarm.contains("Mất gói"),
        "{alarm}"
    );
    wait_for(
        &console,
        "the lossy room's badge to turn poor",
        &format!(
            "!!document.querySelector(`#roster td[data-quality='{lossy}'] .badge.quality.poor`)"
        ),
        WAIT,
    );
    endpoints[2].set_send_loss_every(0);

    for e in &mut endpoints {
        e.stop(StopMode::Leave);
    }
}
