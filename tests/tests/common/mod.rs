//! What the console and control-API browser tests share: the daemon
//! (in-process, on its own runtime, no configured conference, first accounts
//! made as `mcud admin create-user` does; shut down on drop) and the helpers
//! that drive the console page over WebDriver (waiting, clicking, the login
//! form, API calls from the page, a screenshot on failure).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mcu_e2e::{Browser, TempDir};
use mcud::admin::{NewAccount, create_user};
use mcud::config::Config;
use serde_json::{Value, json};

/// How long the console helpers wait for the page by default.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running daemon.
pub struct Mcu {
    runtime: tokio::runtime::Runtime,
    running: Option<mcud::server::Running>,
    pub addr: SocketAddr,
    /// The daemon's TLS certificate (PEM), for clients that must trust it.
    pub cert_path: PathBuf,
    _data: TempDir,
}

impl Mcu {
    /// Starts a daemon with these accounts: (username, password, role).
    pub fn start(tag: &str, accounts: &[(&str, &str, &str)]) -> Mcu {
        Self::start_with(tag, accounts, |_| {})
    }

    /// [`Mcu::start`] with the configuration changed by `tweak` first.
    pub fn start_with(
        tag: &str,
        accounts: &[(&str, &str, &str)],
        tweak: impl FnOnce(&mut Config),
    ) -> Mcu {
        let data = TempDir::new(tag).expect("temp dir");
        let mut config =
            Config::embedded_default(|| "unused-config-token-0123456789".into()).expect("config");
        config.conferences.clear();
        config.server.data_dir = data.path().to_owned();
        tweak(&mut config);
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        for (username, password, role) in accounts {
            let account = NewAccount {
                username: (*username).into(),
                role: role.parse().expect("role"),
                display_name: format!("Cán bộ {username}"),
                endpoints: vec![],
            };
            runtime
                .block_on(create_user(&config, &account, password))
                .unwrap_or_else(|e| panic!("create_user {username}: {e}"));
        }
        let running = runtime
            .block_on(mcud::server::start(&config))
            .unwrap_or_else(|e| panic!("mcud::server::start: {e}"));
        let addr = running.addr;
        let cert_path = running.identity.cert_path.clone();
        Mcu {
            runtime,
            running: Some(running),
            addr,
            cert_path,
            _data: data,
        }
    }

    /// An address on the daemon.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// The signalling WebSocket's address.
    pub fn ws_url(&self) -> String {
        format!("wss://localhost:{}/ws", self.addr.port())
    }
}

impl Drop for Mcu {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = self
                .runtime
                .block_on(running.shutdown(Duration::from_secs(2)));
        }
    }
}

/// Takes a screenshot of `browser` (and dumps its console log) if the test
/// panics while this is alive: `<tmp>/<tag>-<pid>/failure.png`.
pub struct ScreenshotOnFailure<'a> {
    pub tag: &'static str,
    pub browser: &'a Browser,
}

impl Drop for ScreenshotOnFailure<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("{}-{}", self.tag, std::process::id()));
        let path = dir.join("failure.png");
        match self.browser.screenshot_png() {
            Ok(png) => {
                match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png)) {
                    Ok(()) => eprintln!("screenshot of the failure: {}", path.display()),
                    Err(e) => eprintln!("could not write the screenshot: {e}"),
                }
            }
            Err(e) => eprintln!("could not take a screenshot: {e}"),
        }
        eprintln!("--- browser console ---\n{}", self.browser.console_dump());
    }
}

/// Waits until `expr` (a JavaScript expression) is truthy and returns its
/// value; fails with the page's text after `timeout`.
pub fn wait_for(browser: &Browser, what: &str, expr: &str, timeout: Duration) -> Value {
    let script = format!(
        r#"const [timeoutMs] = arguments;
const t0 = performance.now();
for (;;) {{
  let v = null;
  try {{ v = ({expr}); }} catch (_) {{ v = null; }}
  if (v) return v;
  if (performance.now() - t0 > timeoutMs) {{
    throw new Error("timed out; page text: " + (document.body ? document.body.innerText : "(no body)"));
  }}
  await new Promise((r) => setTimeout(r, 50));
}}"#
    );
    let ms = timeout.as_millis() as u64;
    browser
        .await_promise(&script, &[json!(ms)], Some(timeout * 2))
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

/// Runs `body` (an async function body) in the page and returns its value.
pub fn run(browser: &Browser, what: &str, body: &str, args: &[Value]) -> Value {
    browser
        .await_promise(body, args, Some(Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// One API call from the page with a bearer token and without the page's
/// cookie (`credentials: "omit"`): `{status, body}`.
pub fn api(
    browser: &Browser,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    run(
        browser,
        &format!("{method} {path}"),
        r#"const [token, method, path, body] = arguments;
const headers = {};
if (token) headers["authorization"] = "Bearer " + token;
if (body !== null) headers["content-type"] = "application/json";
const res = await fetch(path, { method, headers, credentials: "omit", body: body === null ? undefined : JSON.stringify(body) });
const text = await res.text();
let json = null;
try { json = text ? JSON.parse(text) : null; } catch (_) { json = text; }
return { status: res.status, body: json };"#,
        &[
            json!(token),
            json!(method),
            json!(path),
            body.unwrap_or(Value::Null),
        ],
    )
}

/// [`api`], asserting a 2xx status; returns the body.
pub fn api_ok(
    browser: &Browser,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let r = api(browser, token, method, path, body);
    let status = r["status"].as_u64().unwrap_or(0);
    assert!((200..300).contains(&status), "{method} {path}: {r}");
    r["body"].clone()
}

/// A bearer token for (user, password), without touching the page's cookie.
pub fn login_token(browser: &Browser, (user, password): (&str, &str)) -> String {
    let body = api_ok(
        browser,
        None,
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": user, "password": password})),
    );
    body["token"].as_str().expect("token").to_owned()
}

/// Fills the console's login form and clicks the button.
pub fn submit_login(browser: &Browser, user: &str, password: &str) {
    browser
        .execute(
            r#"const [user, password] = arguments;
const u = document.getElementById("login-username");
const p = document.getElementById("login-password");
document.getElementById("login-error").textContent = "";
u.value = user; u.dispatchEvent(new Event("input", { bubbles: true }));
p.value = password; p.dispatchEvent(new Event("input", { bubbles: true }));
document.getElementById("login-submit").click();"#,
            &[json!(user), json!(password)],
        )
        .expect("submitting the login form");
}

/// Clicks the element `selector`, which must exist and be enabled now.
pub fn click(browser: &Browser, what: &str, selector: &str) {
    let found = browser
        .execute(
            "const el = document.querySelector(arguments[0]); if (!el || el.disabled) return false; el.click(); return true;",
            &[json!(selector)],
        )
        .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
    assert_eq!(found, json!(true), "{what}: no enabled element {selector}");
}

/// The page's visible text.
pub fn page_text(browser: &Browser) -> String {
    browser
        .execute("return document.body.innerText;", &[])
        .expect("page text")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
