//! The console's bookings (Lịch họp, R2, R8) end to end, in headless Chromium
//! against an in-process daemon (`mcud::server::start`, temp data dir). The
//! admin imports the Tuyên Quang directory (`config/examples/tuyen-quang.csv`,
//! names with diacritics) through the API; the operator logs in through the
//! console's form. Chromium runs in the Los Angeles time zone (DevTools
//! `Emulation.setTimezoneOverride`), so every time the page shows must be
//! Vietnam time computed by the page itself, not the browser's.
//!
//! - `a_scheduled_request_is_made_in_the_console_and_approved_there`: the
//!   operator opens Lịch họp, fills the request form (a chair, two
//!   participants picked with the filter box, two agenda items) for 2 days
//!   and a few hours ahead, and sends it; the week of the booking is shown
//!   with the booking drawn in its day's column with its title, time,
//!   status and rehearsal shading; the API has it `requested` with the
//!   agenda; "Duyệt" in its details makes it `approved` and creates the
//!   conference `booking-{id}`.
//! - `a_request_without_the_notice_is_refused_with_the_earliest_start`: a
//!   scheduled request one hour ahead shows the notice rule's error with the
//!   earliest allowed start (Vietnam time); nothing is stored.
//! - `a_clash_names_the_endpoint_and_the_other_conference`: an endpoint in an
//!   approved booking of the same window makes the form show the clash,
//!   naming the endpoint (diacritics intact) and the other conference (the
//!   chair, in both, is named too; a free endpoint is not); nothing is stored.
//! - `an_approved_booking_is_changed_in_the_console_and_every_site_told`: on
//!   an approved booking "Sửa đăng ký" opens the form filled with it and
//!   saying it stays approved; moved into another booking's window it shows
//!   the clash; moved 3 hours later with one site swapped it is saved, still
//!   approved, and the outbox has a `changed` notice for every site before
//!   and after (the removed one told it is out).
//!
//! On failure a screenshot is written to
//! `<tmp>/mcu-console-booking-e2e-<pid>/failure.png`.
//! Needs `chromium` and `chromedriver` (`scripts/setup.sh` installs them).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Mcu, ScreenshotOnFailure, WAIT, api_ok, login_token, run, submit_login, wait_for};
use mcu_e2e::{Browser, BrowserConfig};
use serde_json::{Value, json};

/// One browser test of this binary at a time (2-core machines, one daemon each).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next test still runs alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const ADMIN: (&str, &str) = ("quantri", "quản-trị-viên-mạnh-2026");
const OPERATOR: (&str, &str) = ("dieuhanh", "điều-hành-viên-mạnh-2026");
const DIRECTORY_CSV: &str = include_str!("../../config/examples/tuyen-quang.csv");
/// The chair-capable site of the directory.
const CHAIR: (&str, &str) = ("tq-van-phong-ubnd-tinh", "Văn phòng UBND tỉnh");
const SON_DUONG: (&str, &str) = ("tq-ubnd-huyen-son-duong", "UBND huyện Sơn Dương");
const CHIEM_HOA: (&str, &str) = ("tq-ubnd-huyen-chiem-hoa", "UBND huyện Chiêm Hóa");
const HAM_YEN: (&str, &str) = ("tq-ubnd-huyen-ham-yen", "UBND huyện Hàm Yên");
const NA_HANG: (&str, &str) = ("tq-ubnd-huyen-na-hang", "UBND huyện Na Hang");
/// The browser's zone: far from Vietnam's, so a page on local time is caught.
const BROWSER_ZONE: &str = "America/Los_Angeles";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Vietnam: UTC+7 all year.
const VN_OFFSET: i64 = 7 * HOUR;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Vietnam wall clock of `ms`: (year, month, day, hour, minute).
fn vn(ms: i64) -> (i64, i64, i64, i64, i64) {
    let local = ms + VN_OFFSET;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let rem = local.rem_euclid(DAY);
    (y, m, d, rem / HOUR, rem % HOUR / MINUTE)
}

/// A datetime-local input's value for `ms` in Vietnam time.
fn vn_input(ms: i64) -> String {
    let (y, m, d, hh, mm) = vn(ms);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}")
}

/// How the page writes a time: `14:30 25/11/2026 (UTC+7)`.
fn vn_shown(ms: i64) -> String {
    let (y, m, d, hh, mm) = vn(ms);
    format!("{hh:02}:{mm:02} {d:02}/{m:02}/{y} (UTC+7)")
}

/// `HH:MM` in Vietnam time.
fn vn_clock(ms: i64) -> String {
    let (_, _, _, hh, mm) = vn(ms);
    format!("{hh:02}:{mm:02}")
}

/// Monday 00:00 in Vietnam of the week holding `ms`.
fn vn_week_start(ms: i64) -> i64 {
    let day = (ms + VN_OFFSET).div_euclid(DAY);
    // 1970-01-01 was a Thursday: Monday is 0.
    let weekday = (day + 3).rem_euclid(7);
    (day - weekday) * DAY - VN_OFFSET
}

/// The daemon with the directory, a console logged in as the operator on
/// the bookings page, and the operator's bearer token.
struct Bench {
    console: Browser,
    operator: String,
    // Dropped last: the browser goes before the daemon.
    _mcu: Mcu,
}

fn bench(tag: &str) -> Bench {
    let mcu = Mcu::start(
        tag,
        &[
            (ADMIN.0, ADMIN.1, "admin"),
            (OPERATOR.0, OPERATOR.1, "operator"),
        ],
    );
    let console = Browser::launch(BrowserConfig::new().with_arg("--ignore-certificate-errors"))
        .unwrap_or_else(|e| panic!("launching headless Chromium: {e}"));
    console
        .cdp(
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": BROWSER_ZONE }),
        )
        .expect("overriding the browser's time zone");
    console.navigate(&mcu.url("/")).expect("navigate");
    assert_eq!(
        console
            .execute(
                "return Intl.DateTimeFormat().resolvedOptions().timeZone;",
                &[]
            )
            .unwrap(),
        json!(BROWSER_ZONE),
        "the page runs in the overridden zone"
    );
    wait_for(
        &console,
        "the login form",
        "document.getElementById('login-form')",
        WAIT,
    );
    let admin = login_token(&console, ADMIN);
    let imported = run(
        &console,
        "importing the directory",
        r#"const [token, csv] = arguments;
const res = await fetch("/api/v1/endpoints/import", { method: "POST", credentials: "omit",
  headers: { authorization: "Bearer " + token, "content-type": "text/csv" }, body: csv });
return { status: res.status, body: await res.text() };"#,
        &[json!(admin), json!(DIRECTORY_CSV)],
    );
    assert_eq!(imported["status"], 200, "{imported}");
    let operator = login_token(&console, OPERATOR);

    submit_login(&console, OPERATOR.0, OPERATOR.1);
    wait_for(
        &console,
        "the conference list",
        "document.getElementById('conference-list')",
        WAIT,
    );
    // The navigation link, as an operator finds it.
    let link = wait_for(
        &console,
        "the bookings link",
        "(() => { const a = document.querySelector('#nav a[href=\"#/bookings\"]'); return a && a.textContent; })()",
        WAIT,
    );
    assert_eq!(link, json!("Lịch họp"));
    console
        .execute(
            "document.querySelector('#nav a[href=\"#/bookings\"]').click();",
            &[],
        )
        .unwrap();
    wait_for(
        &console,
        "the calendar",
        "document.querySelectorAll('#booking-calendar .cal-col').length === 7",
        WAIT,
    );
    Bench {
        console,
        operator,
        _mcu: mcu,
    }
}

/// Waits for the element `selector` to exist and be enabled, then clicks it.
fn click(browser: &Browser, what: &str, selector: &str) {
    let expr = format!(
        "(() => {{ const el = document.querySelector({sel}); return !!el && !el.disabled && !el.closest('[hidden]'); }})()",
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

/// What the request form is filled with.
struct Request<'a> {
    title: &'a str,
    unit: &'a str,
    kind: &'a str,
    chair: &'a str,
    /// Endpoints ticked after typing their name (without diacritics) into the
    /// filter box: (id, filter text).
    participants: &'a [(&'a str, &'a str)],
    start: i64,
    end: i64,
    recording: bool,
    /// (title, speaker id or "", layout, minutes).
    agenda: &'a [(&'a str, &'a str, &'a str, u32)],
}

/// Opens the request form, fills it as a person would (filter box, ticks,
/// the agenda's "add" button) and sends it.
fn fill_and_send(console: &Browser, r: &Request) {
    click(console, "Đăng ký hội nghị", "#booking-new");
    wait_for(
        console,
        "the request form",
        "document.getElementById('booking-form') && document.activeElement && document.activeElement.id === 'booking-title'",
        WAIT,
    );
    let set = r#"window.__set = (el, v) => {
  if (el.type === "checkbox") { if (el.checked !== v) el.click(); return; }
  el.value = v;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
};"#;
    console
        .execute(
            &format!(
                r#"{set}
const [title, unit, kind, chair, start, end, recording] = arguments;
const $ = (id) => document.getElementById(id);
__set($("booking-title"), title);
__set($("booking-kind"), kind);
__set($("booking-chair"), chair);
__set($("booking-unit"), unit);
__set($("booking-start"), start);
__set($("booking-end"), end);
__set($("booking-recording"), recording);"#
            ),
            &[
                json!(r.title),
                json!(r.unit),
                json!(r.kind),
                json!(r.chair),
                json!(vn_input(r.start)),
                json!(vn_input(r.end)),
                json!(r.recording),
            ],
        )
        .expect("filling the form");
    for (id, filter) in r.participants {
        // The filter ignores case and diacritics: exactly the wanted site stays visible.
        let visible = console
            .execute(
                r#"const [q] = arguments;
__set(document.getElementById("booking-filter"), q);
return Array.from(document.querySelectorAll('#booking-participants label.endpoint-choice'))
  .filter((l) => !l.hidden).map((l) => l.dataset.endpoint);"#,
                &[json!(filter)],
            )
            .unwrap();
        assert_eq!(visible, json!([id]), "filtering by {filter:?}");
        console
            .execute(
                r#"const [id] = arguments;
__set(document.querySelector(`#booking-participants input[value="${id}"]`), true);
__set(document.getElementById("booking-filter"), "");"#,
                &[json!(id)],
            )
            .unwrap();
    }
    for (i, (title, speaker, layout, minutes)) in r.agenda.iter().enumerate() {
        click(console, "Thêm mục kịch bản", "#booking-agenda-add");
        console
            .execute(
                r#"const [i, title, speaker, layout, minutes] = arguments;
const row = document.querySelectorAll('#booking-agenda tr.agenda-item')[i];
__set(row.querySelector(".item-title"), title);
__set(row.querySelector(".item-speaker"), speaker);
__set(row.querySelector(".item-layout"), layout);
__set(row.querySelector(".item-minutes"), String(minutes));"#,
                &[
                    json!(i),
                    json!(title),
                    json!(speaker),
                    json!(layout),
                    json!(minutes),
                ],
            )
            .unwrap();
    }
    click(console, "Gửi đăng ký", "#booking-submit");
}

fn bookings(console: &Browser, token: &str) -> Vec<Value> {
    api_ok(console, Some(token), "GET", "/api/v1/bookings", None)
        .as_array()
        .expect("a list")
        .clone()
}

/// The text of the form's error box once it shows `code`'s error.
fn form_error(console: &Browser, code: &str) -> String {
    let v = wait_for(
        console,
        &format!("the form's {code} error"),
        &format!(
            "(() => {{ const e = document.getElementById('booking-form-error'); return e && !e.hidden && e.classList.contains('error-{code}') && e.innerText; }})()"
        ),
        WAIT,
    );
    v.as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_scheduled_request_is_made_in_the_console_and_approved_there() {
    let _one = exclusive();
    let b = bench("mcud-console-booking");
    let console = &b.console;
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-booking-e2e",
        browser: console,
    };
    let title = "Hội nghị trực tuyến triển khai phòng chống lụt bão";
    // 09:00 Vietnam time, three days ahead: never within a rehearsal's two
    // hours of midnight, where the block's day would depend on the hour the
    // test runs.
    let start = (now_ms() + 3 * DAY + VN_OFFSET).div_euclid(DAY) * DAY - VN_OFFSET + 9 * HOUR;
    let end = start + 2 * HOUR;

    // The form names the earliest allowed start of the chosen kind.
    click(console, "Đăng ký hội nghị", "#booking-new");
    let hint = wait_for(
        console,
        "the earliest start",
        "(() => { const p = document.getElementById('booking-earliest'); return p && p.textContent; })()",
        WAIT,
    );
    let hint = hint.as_str().unwrap();
    assert!(hint.contains("2 ngày"), "{hint}");
    let earliest = now_ms() + 2 * DAY;
    assert!(
        hint.contains(&vn_shown(earliest)) || hint.contains(&vn_shown(earliest - MINUTE)),
        "{hint} names {}",
        vn_shown(earliest)
    );
    click(console, "Hủy", "#booking-form-close");

    fill_and_send(
        console,
        &Request {
            title,
            unit: "Văn phòng UBND tỉnh Tuyên Quang",
            kind: "scheduled",
            chair: CHAIR.0,
            participants: &[(SON_DUONG.0, "son duong"), (CHIEM_HOA.0, "CHIEM HOA")],
            start,
            end,
            recording: true,
            agenda: &[
                ("Khai mạc hội nghị", CHAIR.0, "1x1", 10),
                (
                    "Báo cáo tình hình lũ của huyện Sơn Dương",
                    SON_DUONG.0,
                    "1+7",
                    20,
                ),
            ],
        },
    );

    // The calendar shows the booking's week, the booking in its day's column.
    let block = wait_for(
        console,
        "the new booking in the calendar",
        "(() => { const el = document.querySelector('#booking-calendar .booking-block'); return el && { id: +el.dataset.booking, text: el.innerText, day: el.closest('.cal-col').dataset.day, from: +document.getElementById('booking-calendar').dataset.from, shaded: !!el.querySelector('.rehearsal'), view: document.getElementById('booking-view-week').getAttribute('aria-pressed') }; })()",
        WAIT,
    );
    let id = block["id"].as_i64().expect("booking id");
    let text = block["text"].as_str().unwrap();
    assert!(text.contains(title), "{text}");
    assert!(
        text.contains(&format!("{}–{}", vn_clock(start), vn_clock(end))),
        "{text}"
    );
    assert!(
        text.contains("Chờ duyệt") && text.contains("3 điểm cầu"),
        "{text}"
    );
    assert_eq!(block["view"], "true", "week view");
    assert_eq!(
        block["from"],
        vn_week_start(start),
        "the week of the booking"
    );
    assert_eq!(block["day"], vn_input(start)[..10], "its day's column");
    assert_eq!(block["shaded"], true, "the rehearsal is shaded");

    // The API has it as asked, requested, with its agenda.
    let stored = api_ok(
        console,
        Some(&b.operator),
        "GET",
        &format!("/api/v1/bookings/{id}"),
        None,
    );
    assert_eq!(stored["status"], "requested", "{stored}");
    assert_eq!(stored["title"], title);
    assert_eq!(stored["kind"], "scheduled");
    assert_eq!(stored["recording"], true);
    assert_eq!(
        (stored["start_at"].as_i64(), stored["end_at"].as_i64()),
        (Some(start), Some(end))
    );
    assert_eq!(stored["chair"], CHAIR.0);
    let mut participants: Vec<&str> = stored["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    participants.sort_unstable();
    let mut want = [CHAIR.0, SON_DUONG.0, CHIEM_HOA.0];
    want.sort_unstable();
    assert_eq!(participants, want);
    assert_eq!(
        stored["scenario"],
        json!([
            {"title": "Khai mạc hội nghị", "speaker": CHAIR.0, "layout": "1x1", "planned_minutes": 10},
            {"title": "Báo cáo tình hình lũ của huyện Sơn Dương", "speaker": SON_DUONG.0, "layout": "1+7", "planned_minutes": 20}
        ])
    );

    // Its details: names with diacritics, the rehearsal and readiness times.
    let details = wait_for(
        console,
        "the booking's details",
        &format!(
            "(() => {{ const d = document.getElementById('booking-details'); return d && !d.hidden && d.innerText.includes('số {id}') && d.innerText; }})()"
        ),
        WAIT,
    );
    let details = details.as_str().unwrap();
    for want in [
        CHAIR.1,
        SON_DUONG.1,
        CHIEM_HOA.1,
        "Báo cáo tình hình lũ của huyện Sơn Dương",
        &vn_shown(start - 2 * HOUR),
        &vn_shown(start - 30 * MINUTE),
        &vn_shown(start),
        &vn_shown(end),
    ] {
        assert!(details.contains(want), "details lack {want:?}:\n{details}");
    }

    // Approve from the console.
    click(console, "Duyệt", "#booking-approve");
    wait_for(
        console,
        "the approved status",
        &format!(
            "(() => {{ const el = document.querySelector('#booking-calendar .booking-block[data-booking=\"{id}\"]'); return el && el.classList.contains('status-approved') && !document.getElementById('booking-approve'); }})()"
        ),
        WAIT,
    );
    let stored = api_ok(
        console,
        Some(&b.operator),
        "GET",
        &format!("/api/v1/bookings/{id}"),
        None,
    );
    assert_eq!(stored["status"], "approved", "{stored}");
    assert_eq!(stored["decided_by"], OPERATOR.0);
    let conference_id = format!("booking-{id}");
    assert_eq!(stored["conference_id"], conference_id.as_str());
    let conference = api_ok(
        console,
        Some(&b.operator),
        "GET",
        &format!("/api/v1/conferences/{conference_id}"),
        None,
    );
    assert_eq!(conference["title"], title, "{conference}");
    assert_eq!(conference["state"], "created");
    assert_eq!(conference["participants"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_request_without_the_notice_is_refused_with_the_earliest_start() {
    let _one = exclusive();
    let b = bench("mcud-console-booking-late");
    let console = &b.console;
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-booking-e2e",
        browser: console,
    };
    let title = "Họp khẩn về sạt lở đất ở Lâm Bình";
    let start = (now_ms() + HOUR) / MINUTE * MINUTE;
    let sent = now_ms();
    fill_and_send(
        console,
        &Request {
            title,
            unit: "Văn phòng UBND tỉnh",
            kind: "scheduled",
            chair: CHAIR.0,
            participants: &[(NA_HANG.0, "na hang")],
            start,
            end: start + HOUR,
            recording: false,
            agenda: &[("Báo cáo nhanh", NA_HANG.0, "1x1", 15)],
        },
    );
    let text = form_error(console, "booking_too_late");
    let answered = now_ms();
    // The earliest start is the server's time of the request plus 2 days.
    let named = [sent + 2 * DAY, answered + 2 * DAY]
        .iter()
        .any(|&t| text.contains(&vn_shown(t)));
    assert!(
        named,
        "the error names the earliest allowed start ({}): {text}",
        vn_shown(sent + 2 * DAY)
    );
    assert!(
        text.contains("2 ngày") && text.contains("theo kế hoạch"),
        "{text}"
    );
    assert!(
        bookings(console, &b.operator).is_empty(),
        "nothing is stored"
    );
    // The form stays open with what was typed, to be corrected.
    let kept = console
        .execute(
            "return document.getElementById('booking-title').value;",
            &[],
        )
        .unwrap();
    assert_eq!(kept, json!(title));
}

#[test]
fn a_clash_names_the_endpoint_and_the_other_conference() {
    let _one = exclusive();
    let b = bench("mcud-console-booking-clash");
    let console = &b.console;
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-booking-e2e",
        browser: console,
    };
    // Approved already: Hàm Yên with the chair, from 3 days ahead.
    let held_start = (now_ms() + 3 * DAY) / HOUR * HOUR;
    let other = "Giao ban công tác phòng cháy chữa cháy";
    let held = api_ok(
        console,
        Some(&b.operator),
        "POST",
        "/api/v1/bookings",
        Some(json!({
            "title": other, "organising_unit": "Văn phòng UBND tỉnh",
            "chair": CHAIR.0, "participants": [HAM_YEN.0],
            "start_at": held_start, "end_at": held_start + 2 * HOUR, "kind": "scheduled",
        })),
    );
    let held_id = held["id"].as_i64().unwrap();
    api_ok(
        console,
        Some(&b.operator),
        "POST",
        &format!("/api/v1/bookings/{held_id}/approve"),
        None,
    );

    // Our official start is the other's end: our rehearsal overlaps it.
    let start = held_start + 2 * HOUR;
    fill_and_send(
        console,
        &Request {
            title: "Hội nghị sơ kết sản xuất vụ mùa",
            unit: "Văn phòng UBND tỉnh",
            kind: "scheduled",
            chair: CHAIR.0,
            participants: &[(HAM_YEN.0, "ham yen"), (NA_HANG.0, "na hang")],
            start,
            end: start + 2 * HOUR,
            recording: false,
            agenda: &[],
        },
    );
    let text = form_error(console, "booking_conflict");
    let clashes = console
        .execute(
            "return Array.from(document.querySelectorAll('#booking-form-error li')).map((li) => [li.dataset.endpoint, +li.dataset.booking, li.textContent]);",
            &[],
        )
        .unwrap();
    let clashes = clashes.as_array().unwrap();
    let ham_yen = clashes
        .iter()
        .find(|c| c[0] == HAM_YEN.0)
        .unwrap_or_else(|| panic!("Hàm Yên is named: {text}"));
    let line = ham_yen[2].as_str().unwrap();
    assert_eq!(ham_yen[1], held_id);
    assert!(line.contains(HAM_YEN.1) && line.contains(other), "{line}");
    assert!(
        line.contains(&vn_shown(held_start - 2 * HOUR)),
        "the other window: {line}"
    );
    // The chair is in the other booking too; Na Hang is free.
    let mut named: Vec<&str> = clashes.iter().filter_map(|c| c[0].as_str()).collect();
    named.sort_unstable();
    assert_eq!(named, [HAM_YEN.0, CHAIR.0], "{text}");
    assert!(text.contains(CHAIR.1), "{text}");
    assert!(text.contains("Trùng lịch"), "{text}");
    let stored = bookings(console, &b.operator);
    assert_eq!(stored.len(), 1, "only the approved booking: {stored:?}");
}

/// Sets form fields as a person would (input and change events), by id.
fn set_fields(console: &Browser, fields: &[(&str, Value)]) {
    console
        .execute(
            r#"const [fields] = arguments;
for (const [id, v] of fields) {
  const el = document.getElementById(id);
  if (el.type === "checkbox") { if (el.checked !== v) el.click(); continue; }
  el.value = v;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}"#,
            &[json!(fields)],
        )
        .expect("setting form fields");
}

/// Sets participant `id`'s checkbox in the request form.
fn tick(console: &Browser, id: &str, on: bool) {
    console
        .execute(
            r#"const [id, on] = arguments;
const box = document.querySelector(`#booking-participants input[value="${id}"]`);
if (box.checked !== on) box.click();"#,
            &[json!(id), json!(on)],
        )
        .expect("ticking a participant");
}

#[test]
fn an_approved_booking_is_changed_in_the_console_and_every_site_told() {
    let _one = exclusive();
    let b = bench("mcud-console-booking-change");
    let console = &b.console;
    let _shot = ScreenshotOnFailure {
        tag: "mcu-console-booking-e2e",
        browser: console,
    };
    // Approved: the chair with Sơn Dương and Chiêm Hóa, 3 days ahead; and
    // another approved booking of the chair's the day after.
    let start = (now_ms() + 3 * DAY) / HOUR * HOUR;
    let title = "Hội nghị trực tuyến tổng kết công tác phòng chống thiên tai";
    let other = "Giao ban công tác dân tộc";
    let mut ids = Vec::new();
    for (t, participants, s) in [
        (title, vec![SON_DUONG.0, CHIEM_HOA.0], start),
        (other, vec![NA_HANG.0], start + DAY),
    ] {
        let made = api_ok(
            console,
            Some(&b.operator),
            "POST",
            "/api/v1/bookings",
            Some(json!({
                "title": t, "organising_unit": "Văn phòng UBND tỉnh",
                "chair": CHAIR.0, "participants": participants,
                "start_at": s, "end_at": s + 2 * HOUR, "kind": "scheduled",
                "scenario": [{"title": "Khai mạc", "speaker": CHAIR.0, "layout": "1x1", "planned_minutes": 10}],
            })),
        );
        let id = made["id"].as_i64().unwrap();
        api_ok(
            console,
            Some(&b.operator),
            "POST",
            &format!("/api/v1/bookings/{id}/approve"),
            None,
        );
        ids.push(id);
    }
    let id = ids[0];

    // Its week, its details, "Sửa đăng ký": the form filled with the booking.
    let block = format!("#booking-calendar .booking-block[data-booking=\"{id}\"]");
    // The calendar was drawn before the bookings were made: today's week again,
    // then on to the booking's.
    click(console, "Hôm nay", "#booking-today");
    for _ in 0..(vn_week_start(start) - vn_week_start(now_ms())) / (7 * DAY) {
        click(console, "Sau ›", "#booking-next");
    }
    click(console, "the approved booking", &block);
    click(console, "Sửa đăng ký", "#booking-change");
    let form = wait_for(
        console,
        "the change form",
        "(() => { const f = document.getElementById('booking-form'); return f && !f.closest('[hidden]') && { title: document.getElementById('booking-title').value, start: document.getElementById('booking-start').value, chiem_hoa: document.querySelector('#booking-participants input[value=\"tq-ubnd-huyen-chiem-hoa\"]').checked, note: (document.getElementById('booking-change-approved') || {}).textContent, heading: f.querySelector('h2').textContent }; })()",
        WAIT,
    );
    assert_eq!(form["title"], title, "{form}");
    assert_eq!(form["start"], vn_input(start).as_str(), "{form}");
    assert_eq!(form["chiem_hoa"], true, "{form}");
    assert_eq!(form["heading"], format!("Sửa đăng ký số {id}"));
    assert!(
        form["note"]
            .as_str()
            .unwrap_or_default()
            .contains("vẫn ở trạng thái đã duyệt"),
        "{form}"
    );

    // Into the other booking's window: the clash, in Vietnamese, names the
    // chair and the other conference; nothing changes.
    let clash_start = start + DAY + HOUR;
    set_fields(
        console,
        &[
            ("booking-start", json!(vn_input(clash_start))),
            ("booking-end", json!(vn_input(clash_start + 2 * HOUR))),
        ],
    );
    click(console, "Lưu thay đổi", "#booking-submit");
    let text = form_error(console, "booking_conflict");
    assert!(
        text.contains("Trùng lịch") && text.contains(CHAIR.1) && text.contains(other),
        "{text}"
    );
    let stored = api_ok(
        console,
        Some(&b.operator),
        "GET",
        &format!("/api/v1/bookings/{id}"),
        None,
    );
    assert_eq!(stored["start_at"], start, "unchanged by the refusal");

    // Three hours later, Chiêm Hóa out, Hàm Yên in: saved, still approved.
    let new_start = start + 3 * HOUR;
    set_fields(
        console,
        &[
            ("booking-start", json!(vn_input(new_start))),
            ("booking-end", json!(vn_input(new_start + 2 * HOUR))),
        ],
    );
    tick(console, CHIEM_HOA.0, false);
    tick(console, HAM_YEN.0, true);
    click(console, "Lưu thay đổi", "#booking-submit");
    let details = wait_for(
        console,
        "the changed booking's details",
        &format!(
            "(() => {{ const d = document.getElementById('booking-details'); return d && !d.hidden && document.getElementById('booking-form-card').hidden && d.innerText.includes('số {id}') && d.innerText.includes({new_time}) && d.innerText; }})()",
            new_time = json!(vn_shown(new_start))
        ),
        WAIT,
    );
    let details = details.as_str().unwrap();
    assert!(
        details.contains(HAM_YEN.1) && !details.contains(CHIEM_HOA.1),
        "{details}"
    );
    assert!(
        details.contains(&vn_shown(new_start - 2 * HOUR)),
        "the rehearsal moved: {details}"
    );
    let stored = api_ok(
        console,
        Some(&b.operator),
        "GET",
        &format!("/api/v1/bookings/{id}"),
        None,
    );
    assert_eq!(stored["status"], "approved", "{stored}");
    assert_eq!(stored["start_at"], new_start);

    // Every site before and after the change is told, Chiêm Hóa that it is out.
    let outbox = api_ok(
        console,
        Some(&b.operator),
        "GET",
        "/api/v1/outbox?limit=500",
        None,
    );
    let changed: Vec<&Value> = outbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["event"] == "changed" && m["booking_id"] == id)
        .collect();
    let mut told: Vec<&str> = changed
        .iter()
        .filter_map(|m| m["endpoint_id"].as_str())
        .collect();
    told.sort_unstable();
    told.dedup();
    let mut want = [CHAIR.0, SON_DUONG.0, CHIEM_HOA.0, HAM_YEN.0];
    want.sort_unstable();
    assert_eq!(told, want);
    let out = changed
        .iter()
        .find(|m| m["endpoint_id"] == CHIEM_HOA.0)
        .unwrap();
    assert!(
        out["body"]
            .as_str()
            .unwrap()
            .contains("không còn trong danh sách tham dự"),
        "{out}"
    );
}
