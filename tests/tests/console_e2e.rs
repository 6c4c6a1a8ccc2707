//! The operator console end to end: `mcud::server::start` in-process (temp
//! data dir, no conferences from the config), an admin and an operator made
//! with `mcud::admin::create_user`, the admin filling the directory through
//! the API over HTTPS (two endpoints with Vietnamese names) and the operator
//! creating a conference; then headless Chromium drives the console:
//!
//! - the operator logs in through the login form, sees the conference in the
//!   list, starts it, opens the live view (names with diacritics in the
//!   roster, Vietnamese labels), switches the chair view from `2x2` to `1+7`
//!   by clicking the `1+7` thumbnail — and the API then reports layout `1+7`
//!   and an audit entry `conference.layout` by that operator;
//! - the language toggle switches the labels to English and back;
//! - the admin sees the directory by level with contacts, issues a dial-in
//!   token shown with its join URL, and sees the accounts and the audit log;
//! - after logging out, five wrong passwords lock the account and the login
//!   form says so with the lock's end time.
//!
//! On failure a screenshot is written to
//! `<tmp>/mcu-console-e2e-<pid>/failure.png` (that directory is kept).
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

mod common;

use common::{
    Mcu, ScreenshotOnFailure, WAIT, api, api_ok, click, login_token, page_text, submit_login,
    wait_for,
};
use mcu_e2e::{Browser, BrowserConfig};
use serde_json::json;

/// One browser test of this binary at a time (2-core machines, one daemon each).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next test still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const ADMIN: (&str, &str) = ("quantri", "quản-trị-viên-mạnh-2026");
const OPERATOR: (&str, &str) = ("dieuhanh", "điều-hành-viên-mạnh-2026");
const CONFERENCE: &str = "giao-ban-console";
const TITLE: &str = "Giao ban trực tuyến tháng Năm";
const CHAIR: (&str, &str) = ("ubnd-tinh", "UBND tỉnh Tuyên Quang");
const SITE: (&str, &str) = ("son-duong", "UBND huyện Sơn Dương");

#[test]
fn operator_runs_a_conference_from_the_console_and_wrong_passwords_lock() {
    let _one = exclusive();
    let mcu = Mcu::start(
        "mcud-console",
        &[
            (ADMIN.0, ADMIN.1, "admin"),
            (OPERATOR.0, OPERATOR.1, "operator"),
        ],
    );
    let browser = Browser::launch(BrowserConfig::new().with_arg("--ignore-certificate-errors"))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-e2e",
        browser: &browser,
    };

    // `/` leads to the console, which asks for a login (Vietnamese first).
    browser.navigate(&mcu.url("/")).expect("navigate");
    wait_for(
        &browser,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    let url = browser
        .execute("return location.pathname + location.hash;", &[])
        .unwrap();
    assert_eq!(url, json!("/console/#/login"));
    let charset = browser
        .execute("return document.characterSet;", &[])
        .unwrap();
    assert_eq!(charset, json!("UTF-8"));
    let text = page_text(&browser);
    for label in [
        "Đăng nhập",
        "Tên đăng nhập",
        "Mật khẩu",
        "Bảng điều khiển MCU",
    ] {
        assert!(text.contains(label), "login page lacks {label:?}: {text}");
    }

    // The admin fills the directory, the operator creates the conference (API, HTTPS).
    let admin = login_token(&browser, ADMIN);
    for ((id, name), level, chair) in [(CHAIR, "province", true), (SITE, "district", false)] {
        let endpoint = json!({"id": id, "name": name, "unit": name, "level": level,
            "chair_capable": chair, "owner_mcu": "tuyen-quang",
            "contacts": [{"name": "Trần Thị Hương", "title": "Chuyên viên", "phone": "+84 207 3822 111"}]});
        api_ok(
            &browser,
            Some(&admin),
            "POST",
            "/api/v1/endpoints",
            Some(endpoint),
        );
    }
    let operator = login_token(&browser, OPERATOR);
    api_ok(
        &browser,
        Some(&operator),
        "POST",
        "/api/v1/conferences",
        Some(
            json!({"id": CONFERENCE, "title": TITLE, "chair": CHAIR.0, "layout": "2x2",
            "participants": [CHAIR.0, SITE.0]}),
        ),
    );
    // Those logins set no cookie in the page: it still shows the login form.
    let me = api(&browser, None, "GET", "/api/v1/auth/me", None);
    assert_eq!(me["status"], json!(401));

    // The operator logs in through the form.
    submit_login(&browser, OPERATOR.0, OPERATOR.1);
    let row = format!("#conference-list tr[data-conference='{CONFERENCE}']");
    // The create form comes after the list (it loads the directory first).
    wait_for(
        &browser,
        "the conference list and the create form",
        &format!(
            "document.querySelector(\"{row}\") && document.getElementById('create-conference')"
        ),
        WAIT,
    );
    let text = page_text(&browser);
    for label in [
        TITLE,
        "Hội nghị",
        "Chưa bắt đầu",
        "Tạo hội nghị",
        "Cán bộ dieuhanh (Điều hành)",
    ] {
        assert!(
            text.contains(label),
            "conference list lacks {label:?}: {text}"
        );
    }
    assert!(
        !text.contains("Nhật ký thao tác"),
        "an operator is not shown the audit log: {text}"
    );

    // Start it from the list.
    click(&browser, "start", &format!("{row} button.start"));
    wait_for(
        &browser,
        "the conference to be live",
        &format!("document.querySelector(\"{row} .badge.live\")"),
        WAIT,
    );

    // Open the live view: roster with the names as written, chair view on 2x2.
    click(&browser, "open", &format!("{row} a.button"));
    wait_for(
        &browser,
        "the roster",
        "document.querySelectorAll('#roster tr[data-endpoint]').length === 2",
        WAIT,
    );
    // The live view listens on the conference's events socket (not polling).
    wait_for(
        &browser,
        "the events socket",
        "document.body.dataset.events === 'live' && document.querySelectorAll('#roster meter.level').length === 2",
        WAIT,
    );
    let names = browser
        .execute(
            "return Array.from(document.querySelectorAll('#roster .name')).map((e) => e.textContent).sort();",
            &[],
        )
        .unwrap();
    assert_eq!(
        names,
        json!([SITE.1, CHAIR.1]),
        "roster names, diacritics intact"
    );
    let text = page_text(&browser);
    for label in [
        TITLE,
        SITE.1,
        "Đang họp",
        "Mời lên chủ tọa",
        "Tắt mic",
        "Ngắt kết nối",
        "Bố cục màn hình chủ tọa",
        "Bố cục màn hình các điểm cầu",
    ] {
        assert!(text.contains(label), "live view lacks {label:?}: {text}");
    }
    let pressed = |layout: &str| {
        browser
            .execute(
                "const b = document.querySelector(`#chair-layouts button[data-layout='${arguments[0]}']`); return b && b.getAttribute('aria-pressed');",
                &[json!(layout)],
            )
            .unwrap()
    };
    assert_eq!(
        pressed("2x2"),
        json!("true"),
        "the chair view starts on 2x2"
    );
    assert_eq!(pressed("1+7"), json!("false"));
    let tiles = browser
        .execute(
            "return document.querySelectorAll(`#chair-layouts button[data-layout='1+7'] svg .tile`).length;",
            &[],
        )
        .unwrap();
    assert_eq!(tiles, json!(8), "the 1+7 thumbnail draws 8 tiles");

    // Click the 1+7 thumbnail of the chair view.
    click(
        &browser,
        "the 1+7 thumbnail",
        "#chair-layouts button[data-layout='1+7']",
    );
    wait_for(
        &browser,
        "1+7 to be selected",
        "document.querySelector(`#chair-layouts button[data-layout='1+7']`).getAttribute('aria-pressed') === 'true'",
        WAIT,
    );
    assert_eq!(pressed("2x2"), json!("false"));
    assert!(page_text(&browser).contains("Đã đổi bố cục."));

    // The API agrees, and the audit log names the operator.
    let conference = api_ok(
        &browser,
        Some(&admin),
        "GET",
        &format!("/api/v1/conferences/{CONFERENCE}"),
        None,
    );
    assert_eq!(conference["layout"], json!("1+7"), "{conference}");
    assert_eq!(conference["state"], json!("live"));
    let audit = api_ok(
        &browser,
        Some(&admin),
        "GET",
        "/api/v1/audit?limit=50",
        None,
    );
    let entry = audit
        .as_array()
        .expect("audit list")
        .iter()
        .find(|a| a["action"] == json!("conference.layout"))
        .unwrap_or_else(|| panic!("no conference.layout in {audit}"));
    assert_eq!(entry["actor"], json!(OPERATOR.0), "{entry}");
    assert_eq!(entry["result"], json!("ok"), "{entry}");
    assert_eq!(entry["target"], json!(format!("conference/{CONFERENCE}")));
    assert_eq!(entry["details"], json!({"view": "chair", "layout": "1+7"}));

    // English on request, remembered; Vietnamese again.
    click(&browser, "the language toggle", "#lang-toggle");
    wait_for(
        &browser,
        "English labels",
        "document.body.innerText.includes('Chair view layout')",
        WAIT,
    );
    let text = page_text(&browser);
    assert!(
        text.contains("Call to chair") && text.contains(SITE.1),
        "{text}"
    );
    let stored = browser
        .execute("return localStorage.getItem('mcu.console.lang');", &[])
        .unwrap();
    assert_eq!(stored, json!("en"));
    click(&browser, "the language toggle", "#lang-toggle");
    wait_for(
        &browser,
        "Vietnamese labels",
        "document.body.innerText.includes('Bố cục màn hình chủ tọa')",
        WAIT,
    );

    // The admin's views: directory by level with contacts, a dial-in token
    // shown once with its join URL, accounts, the audit log.
    click(&browser, "log out", "#logout");
    wait_for(
        &browser,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    submit_login(&browser, ADMIN.0, ADMIN.1);
    wait_for(
        &browser,
        "the conference list",
        &format!("document.querySelector(\"{row}\")"),
        WAIT,
    );
    let text = page_text(&browser);
    assert!(
        text.contains("Tài khoản") && text.contains("Nhật ký thao tác"),
        "{text}"
    );
    assert!(
        !text.contains("Tạo hội nghị"),
        "an admin does not run conferences: {text}"
    );
    browser
        .execute("location.hash = '#/directory';", &[])
        .unwrap();
    wait_for(
        &browser,
        "the directory",
        "document.querySelector(`table.directory[data-level='district'] tr[data-endpoint='son-duong']`)",
        WAIT,
    );
    let text = page_text(&browser);
    for label in [
        "Danh bạ điểm cầu",
        "Huyện",
        "Tỉnh",
        SITE.1,
        "Trần Thị Hương",
        "Tải danh bạ kỹ thuật (CSV)",
    ] {
        assert!(text.contains(label), "directory lacks {label:?}: {text}");
    }
    browser
        .execute("window.confirm = () => true;", &[])
        .unwrap();
    click(
        &browser,
        "issue a token",
        "tr[data-endpoint='son-duong'] button.token-issue",
    );
    let join = wait_for(
        &browser,
        "the join URL",
        "document.getElementById('join-url') && document.getElementById('join-url').textContent",
        WAIT,
    );
    let token = browser
        .execute(
            "return document.getElementById('token-value').textContent;",
            &[],
        )
        .unwrap();
    let token = token.as_str().unwrap_or_default();
    assert_eq!(token.len(), 64, "a fresh token: {token}");
    assert_eq!(
        join,
        json!(mcu.url(&format!(
            "/join?conference={CONFERENCE}&endpoint=son-duong&token={token}"
        )))
    );
    browser.execute("location.hash = '#/users';", &[]).unwrap();
    wait_for(
        &browser,
        "the accounts",
        "document.querySelector(`#users tr[data-user='dieuhanh']`)",
        WAIT,
    );
    browser.execute("location.hash = '#/audit';", &[]).unwrap();
    wait_for(
        &browser,
        "the audit log",
        "document.querySelector(`#audit-rows tr[data-action='conference.layout']`)",
        WAIT,
    );

    // Log out; five wrong passwords lock the operator's account, and the form says until when.
    click(&browser, "log out", "#logout");
    wait_for(
        &browser,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    for attempt in 1..=5 {
        submit_login(&browser, OPERATOR.0, "mật-khẩu-sai-hoàn-toàn");
        let message = wait_for(
            &browser,
            "the login error",
            "document.getElementById('login-error').textContent",
            WAIT,
        );
        let message = message.as_str().unwrap_or_default().to_owned();
        if attempt < 5 {
            assert_eq!(
                message, "Sai tên đăng nhập hoặc mật khẩu.",
                "attempt {attempt}"
            );
        } else {
            assert!(
                message.starts_with("Tài khoản tạm khóa"),
                "attempt 5: {message}"
            );
            assert!(
                !message.contains("{locked_until}"),
                "the lock end is filled in: {message}"
            );
            assert!(
                message.chars().any(|c| c.is_ascii_digit()),
                "the lock end is shown: {message}"
            );
        }
    }
    // Even the right password is refused now, with the same message.
    submit_login(&browser, OPERATOR.0, OPERATOR.1);
    let message = wait_for(
        &browser,
        "the lock message",
        "document.getElementById('login-error').textContent",
        WAIT,
    );
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .starts_with("Tài khoản tạm khóa"),
        "{message}"
    );
    let url = browser.execute("return location.hash;", &[]).unwrap();
    assert_eq!(url, json!("#/login"));
}
