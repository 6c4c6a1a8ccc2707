//! The cascade links a conference takes part through, picked in the console
//! (R7). The daemon is the master of a small tree (Chính phủ with the
//! provinces Tuyên Quang and Hải Phòng below it; neither province runs: the
//! choice is the conference's, not the link's state). In headless Chromium
//! the operator creates a conference from the list's form, ticking
//! "Tuyên Quang" among the offered neighbours; the conference's row lists
//! it, and the API has it. Then "Sửa liên kết" on the row: Hải Phòng ticked,
//! Tuyên Quang unticked, saved — the row and the API follow, and the change
//! is audited as `conference.links`.
//!
//! Tuyên Quang also runs here, opening counterparts of its parent's
//! conferences: while the conference names it, its console lists the
//! counterpart, "opened from the booking of parent MCU Chính phủ"; once the
//! master names Hải Phòng instead, the counterpart ends.
//!
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

mod common;

use common::{Mcu, ScreenshotOnFailure, WAIT, api_ok, click, login_token, submit_login, wait_for};
use mcu_e2e::{Browser, BrowserConfig};
use mcud::cascade_config::{CascadeConfig, LinkConfig, McuConfig};
use serde_json::{Value, json};

const ADMIN: (&str, &str) = ("quantri", "quản-trị-viên-mạnh-2026");
const OPERATOR: (&str, &str) = ("dieuhanh", "điều-hành-viên-mạnh-2026");
const CONFERENCE: &str = "giao-ban-chinh-phu";

fn node(id: &str, name: &str, level: &str, parent: Option<&str>) -> McuConfig {
    McuConfig {
        id: id.into(),
        name: name.into(),
        level: serde_json::from_value(json!(level)).expect("level"),
        parent: parent.map(Into::into),
        standby: None,
        url: None,
        ca_file: None,
    }
}

/// The tree, with the master's address when `master` runs.
fn tree(master: Option<&Mcu>) -> Vec<McuConfig> {
    let mut central = node("central", "Chính phủ", "central", None);
    if let Some(m) = master {
        central.url = Some(format!("https://{}", m.addr));
        central.ca_file = Some(m.cert_path.clone());
    }
    vec![
        central,
        node("tuyen-quang", "Tuyên Quang", "province", Some("central")),
        node("hai-phong", "Hải Phòng", "province", Some("central")),
    ]
}

fn link(mcu: &str) -> LinkConfig {
    LinkConfig {
        mcu: mcu.into(),
        secret: Some(format!("bi-mat-lien-ket-{mcu}-0123456789")),
        secret_file: None,
    }
}

#[test]
fn an_operator_picks_and_changes_a_conferences_cascade_links_in_the_console() {
    let mcu = Mcu::start_with(
        "mcud-console-links",
        &[
            (ADMIN.0, ADMIN.1, "admin"),
            (OPERATOR.0, OPERATOR.1, "operator"),
        ],
        |config| {
            config.cascade = Some(CascadeConfig {
                id: "central".into(),
                tree: None,
                mcu: tree(None),
                link: vec![link("tuyen-quang"), link("hai-phong")],
                failover_after_seconds: 30.0,
                open_counterparts: false,
            });
        },
    );
    let province = Mcu::start_with(
        "mcud-console-links-tq",
        &[(OPERATOR.0, OPERATOR.1, "operator")],
        |config| {
            config.cascade = Some(CascadeConfig {
                id: "tuyen-quang".into(),
                tree: None,
                mcu: tree(Some(&mcu)),
                // The secret of the central–Tuyên Quang link, at this end.
                link: vec![LinkConfig {
                    mcu: "central".into(),
                    ..link("tuyen-quang")
                }],
                failover_after_seconds: 30.0,
                open_counterparts: true,
            });
        },
    );
    let browser = Browser::launch(BrowserConfig::new().with_arg("--ignore-certificate-errors"))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-links-e2e",
        browser: &browser,
    };
    open_console(&browser, &mcu, "the master's console");
    let admin = login_token(&browser, ADMIN);
    api_ok(
        &browser,
        Some(&admin),
        "POST",
        "/api/v1/endpoints",
        Some(
            json!({"id": "vpcp", "name": "Văn phòng Chính phủ", "level": "central",
                    "chair_capable": true, "owner_mcu": "central"}),
        ),
    );

    // The create form offers this MCU's neighbours, by name.
    submit_login(&browser, OPERATOR.0, OPERATOR.1);
    let tq = "#create-conference fieldset.conference-links label[data-mcu='tuyen-quang']";
    let label = wait_for(
        &browser,
        "the link picker",
        &format!(
            "document.querySelector(\"{tq}\") && document.querySelector(\"{tq}\").textContent"
        ),
        WAIT,
    );
    assert_eq!(label, json!("MCU cấp dưới: Tuyên Quang"));
    let offered = browser
        .execute(
            "return Array.from(document.querySelectorAll('#create-conference fieldset.conference-links label')).map((l) => l.dataset.mcu);",
            &[],
        )
        .unwrap();
    assert_eq!(offered, json!(["hai-phong", "tuyen-quang"]));

    // Fill the form: id, title, the chair, and the Tuyên Quang link.
    browser
        .execute(
            r#"const [id] = arguments;
const form = document.getElementById('create-conference');
form.querySelector("input[name='id']").value = id;
form.querySelector("input[name='title']").value = "Hội nghị trực tuyến Chính phủ với các địa phương";
form.querySelector("select[name='chair']").value = "vpcp";
form.querySelector("label[data-mcu='tuyen-quang'] input[type='checkbox']").checked = true;
form.querySelector("button[type='submit']").click();"#,
            &[json!(CONFERENCE)],
        )
        .unwrap();
    let row = format!("#conference-list tr[data-conference='{CONFERENCE}']");
    let text = wait_for(
        &browser,
        "the new conference's row with its link",
        &format!(
            "document.querySelector(\"{row} .conference-links-text\") && document.querySelector(\"{row} .conference-links-text\").textContent"
        ),
        WAIT,
    );
    assert_eq!(text, json!("Tuyên Quang"));
    let operator = login_token(&browser, OPERATOR);
    let path = format!("/api/v1/conferences/{CONFERENCE}");
    let c = api_ok(&browser, Some(&operator), "GET", &path, None);
    assert_eq!(c["links"], json!([{"mcu": "tuyen-quang"}]), "{c}");

    // Tuyên Quang's console lists its counterpart, opened from the booking
    // (within about a second: the operator opens the list once it is there).
    open_console(&browser, &province, "the province's console");
    let province_operator = login_token(&browser, OPERATOR);
    poll(
        &browser,
        &province_operator,
        &path,
        "a counterpart on the province",
        |r| r["status"] == 200,
    );
    submit_login(&browser, OPERATOR.0, OPERATOR.1);
    let note = wait_for(
        &browser,
        "the province's counterpart row",
        &format!(
            "document.querySelector(\"{row} .counterpart-of\") && document.querySelector(\"{row} .counterpart-of\").textContent"
        ),
        WAIT,
    );
    assert_eq!(note, json!("Mở theo lịch của MCU cấp trên Chính phủ"));
    let counterpart = api_ok(&browser, Some(&province_operator), "GET", &path, None);
    assert_eq!(
        counterpart["created_by"], "cascade:central",
        "{counterpart}"
    );
    assert_eq!(counterpart["state"], "created", "{counterpart}");
    open_console(&browser, &mcu, "the master's console again");
    submit_login(&browser, OPERATOR.0, OPERATOR.1);
    wait_for(
        &browser,
        "the master's row again",
        &format!("document.querySelector(\"{row} button.edit-links\")"),
        WAIT,
    );

    // Edit from the row: Hải Phòng instead of Tuyên Quang.
    click(&browser, "edit links", &format!("{row} button.edit-links"));
    wait_for(
        &browser,
        "the row's link picker",
        &format!("document.querySelector(\"{row} button.save-links\")"),
        WAIT,
    );
    browser
        .execute(
            r#"const [row] = arguments;
const r = document.querySelector(row);
r.querySelector("label[data-mcu='tuyen-quang'] input").checked = false;
r.querySelector("label[data-mcu='hai-phong'] input").checked = true;
r.querySelector("button.save-links").click();"#,
            &[json!(row)],
        )
        .unwrap();
    wait_for(
        &browser,
        "the row listing Hải Phòng",
        &format!(
            "(document.querySelector(\"{row} .conference-links-text\") || {{}}).textContent === 'Hải Phòng'"
        ),
        WAIT,
    );
    let c = api_ok(&browser, Some(&operator), "GET", &path, None);
    assert_eq!(c["links"], json!([{"mcu": "hai-phong"}]), "{c}");
    let audit = api_ok(&browser, Some(&admin), "GET", "/api/v1/audit?limit=5", None);
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "conference.links")
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["actor"], "dieuhanh", "{audit}");
    assert_eq!(entry["result"], "ok", "{audit}");

    // No longer named: Tuyên Quang's counterpart ends.
    open_console(&browser, &province, "the province's console again");
    poll(
        &browser,
        &province_operator,
        &path,
        "the counterpart ended",
        |r| r["body"]["state"] == "ended",
    );
}

/// Opens `mcu`'s console at its login form.
fn open_console(browser: &Browser, mcu: &Mcu, what: &str) {
    browser.navigate(&mcu.url("/")).expect("navigate");
    wait_for(browser, what, "document.getElementById('login-form')", WAIT);
}

/// Polls `GET path` (through the page, as `token`) until `done` holds for
/// its `{status, body}`.
fn poll(browser: &Browser, token: &str, path: &str, what: &str, done: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = common::api(browser, Some(token), "GET", path, None);
        if done(&r) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {r}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
