//! Headless Chromium driven over WebDriver (chromedriver), loopback only.
//!
//! [`Browser::launch`] picks a free port on `127.0.0.1`, starts
//! `chromedriver --port=<port>` in its own process group, polls `GET /status`
//! until it is ready, and creates a session whose Chromium runs headless with
//! a fake camera and microphone ([`CHROMIUM_FLAGS`]) and a fresh profile
//! directory. Every WebDriver call has a timeout.
//!
//! Teardown ([`Drop`]): delete the session (Chromium quits), kill the
//! chromedriver process group, kill any process still running with this
//! browser's profile directory on its command line (Chromium helpers that
//! left the group), then remove the temporary directory.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TempDir;
use crate::http::{self, HttpError};

/// The Chromium command-line flags used for every session (the profile
/// directory and the fake video file are added per browser).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
];

/// Environment variable that overrides the Chromium binary.
pub const CHROMIUM_ENV: &str = "MCU_E2E_CHROMIUM";
/// Environment variable that overrides the chromedriver binary.
pub const CHROMEDRIVER_ENV: &str = "MCU_E2E_CHROMEDRIVER";

/// Why a browser could not be started or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// A binary is not installed.
    #[error(
        "{what} not found at {path}: run scripts/setup.sh (it installs the Debian packages \
         `chromium` and `chromium-driver`), or set {env} to its path"
    )]
    Missing {
        /// Which program (`chromium` or `chromedriver`).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The environment variable that overrides the path.
        env: &'static str,
    },
    /// Local I/O failed (temporary directory, spawning, log file).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// chromedriver exited or did not answer `GET /status` in time.
    #[error("chromedriver did not become ready: {reason}\n--- chromedriver log (tail) ---\n{log}")]
    DriverNotReady {
        /// What went wrong.
        reason: String,
        /// The end of chromedriver's output.
        log: String,
    },
    /// An HTTP exchange with chromedriver failed (includes timeouts).
    #[error("WebDriver transport: {0}")]
    Http(#[from] HttpError),
    /// chromedriver answered a command with a WebDriver error.
    #[error("WebDriver {command} failed ({status} {error}): {message}")]
    WebDriver {
        /// The command, e.g. `POST /session`.
        command: String,
        /// HTTP status.
        status: u16,
        /// The WebDriver error code, e.g. `script timeout`.
        error: String,
        /// chromedriver's message (with its log tail when a session could
        /// not be created).
        message: String,
    },
    /// chromedriver's answer was not what the protocol promises.
    #[error("WebDriver {command}: unexpected response: {reason}")]
    Protocol {
        /// The command.
        command: String,
        /// What was wrong.
        reason: String,
    },
    /// A promise awaited with [`Browser::await_promise`] rejected.
    #[error("script rejected in the page: {message}")]
    Script {
        /// The rejection (its stack when it has one).
        message: String,
    },
}

impl BrowserError {
    fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> BrowserError {
        let context = context.into();
        move |source| BrowserError::Io { context, source }
    }
}

/// How to start a browser. [`BrowserConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// The Chromium binary (default: `$MCU_E2E_CHROMIUM`, else `/usr/bin/chromium`).
    pub chromium: PathBuf,
    /// The chromedriver binary (default: `$MCU_E2E_CHROMEDRIVER`, else
    /// `/usr/bin/chromedriver`).
    pub chromedriver: PathBuf,
    /// A `.y4m` file for the fake camera; `None` for Chromium's built-in
    /// test pattern.
    pub fake_video: Option<PathBuf>,
    /// Flags added after [`CHROMIUM_FLAGS`].
    pub extra_args: Vec<String>,
    /// Window size in CSS pixels (affects screenshots).
    pub window_size: (u32, u32),
    /// How long chromedriver and the session may take to start.
    pub startup_timeout: Duration,
    /// Timeout of each ordinary WebDriver command (navigation included).
    pub command_timeout: Duration,
    /// Default script timeout of `execute_async` and `await_promise`.
    pub script_timeout: Duration,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl BrowserConfig {
    /// The defaults: system binaries (or the env overrides), no fake video
    /// file, 1280×720, 30 s to start, 30 s per command, 30 s per script.
    pub fn new() -> Self {
        let from_env = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        BrowserConfig {
            chromium: from_env(CHROMIUM_ENV, "/usr/bin/chromium"),
            chromedriver: from_env(CHROMEDRIVER_ENV, "/usr/bin/chromedriver"),
            fake_video: None,
            extra_args: Vec::new(),
            window_size: (1280, 720),
            startup_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(30),
            script_timeout: Duration::from_secs(30),
        }
    }

    /// Uses `path` (a `.y4m` file) as the fake camera.
    pub fn with_fake_video(mut self, path: impl Into<PathBuf>) -> Self {
        self.fake_video = Some(path.into());
        self
    }

    /// Adds one Chromium flag.
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Sets the default script timeout.
    pub fn with_script_timeout(mut self, timeout: Duration) -> Self {
        self.script_timeout = timeout;
        self
    }
}

/// One browser console entry (from `goog:loggingPrefs`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO`, …
    pub level: String,
    /// The message as Chromium formats it (source, line, text).
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: f64,
}

/// A running headless Chromium session and its chromedriver.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: Option<String>,
    command_timeout: Duration,
    script_timeout_ms: AtomicU64,
    profile: PathBuf,
    log_path: PathBuf,
    // Removed when the browser drops, after `Drop::drop` killed everything
    // that could still write into it.
    work: TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session as `config` says.
    pub fn launch(config: BrowserConfig) -> Result<Browser, BrowserError> {
        check_binary("chromium", &config.chromium, CHROMIUM_ENV)?;
        check_binary("chromedriver", &config.chromedriver, CHROMEDRIVER_ENV)?;
        if let Some(video) = &config.fake_video
            && !video.is_file()
        {
            return Err(BrowserError::Io {
                context: format!("fake video file {}", video.display()),
                source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
            });
        }
        let dir = TempDir::new("mcu-e2e-chromium").map_err(BrowserError::io("temp dir"))?;
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).map_err(BrowserError::io("profile dir"))?;
        let log_path = dir.path().join("chromedriver.log");

        let deadline = Instant::now() + config.startup_timeout;
        // The port is free when we pick it but chromedriver binds it later:
        // retry with a new one if someone else took it meanwhile.
        let mut attempt = 0;
        let (driver, addr) = loop {
            attempt += 1;
            let addr = free_loopback_port().map_err(BrowserError::io("pick a free port"))?;
            let mut driver = spawn_driver(&config.chromedriver, addr, dir.path(), &log_path)?;
            match wait_ready(&mut driver, addr, &log_path, deadline) {
                Ok(()) => break (driver, addr),
                Err(e) => {
                    kill_group(&mut driver);
                    let log = tail(&log_path, 4000);
                    let in_use =
                        log.contains("ddress already in use") || log.contains("Port not available");
                    if attempt < 3 && in_use && Instant::now() < deadline {
                        continue;
                    }
                    return Err(e);
                }
            }
        };

        let mut browser = Browser {
            driver,
            addr,
            session: None,
            command_timeout: config.command_timeout,
            script_timeout_ms: AtomicU64::new(config.script_timeout.as_millis() as u64),
            profile,
            log_path,
            work: dir,
        };
        browser.create_session(&config, deadline)?;
        Ok(browser)
    }

    fn create_session(
        &mut self,
        config: &BrowserConfig,
        deadline: Instant,
    ) -> Result<(), BrowserError> {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        args.push(format!(
            "--window-size={},{}",
            config.window_size.0, config.window_size.1
        ));
        if let Some(video) = &config.fake_video {
            args.push(format!(
                "--use-file-for-fake-video-capture={}",
                video.display()
            ));
        }
        args.extend(config.extra_args.iter().cloned());
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": config.chromium.to_string_lossy(),
                        "args": args,
                    },
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "timeouts": {
                        "script": config.script_timeout.as_millis() as u64,
                        "pageLoad": config.command_timeout.as_millis() as u64,
                    },
                }
            }
        });
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(5));
        let value = self
            .command("POST", "/session", Some(&caps), left)
            .map_err(|e| self.with_driver_log(e))?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::Protocol {
                command: "POST /session".into(),
                reason: format!("no sessionId in {value}"),
            })?;
        self.session = Some(id.to_owned());
        Ok(())
    }

    /// Adds chromedriver's log tail to a session-creation failure.
    fn with_driver_log(&self, e: BrowserError) -> BrowserError {
        match e {
            BrowserError::WebDriver {
                command,
                status,
                error,
                message,
            } => BrowserError::WebDriver {
                command,
                status,
                error,
                message: format!(
                    "{message}\n--- chromedriver log (tail) ---\n{}",
                    tail(&self.log_path, 3000)
                ),
            },
            other => other,
        }
    }

    /// The WebDriver session id.
    pub fn session_id(&self) -> &str {
        self.session.as_deref().unwrap_or("")
    }

    /// chromedriver's address (`127.0.0.1:<port>`).
    pub fn driver_addr(&self) -> SocketAddr {
        self.addr
    }

    /// chromedriver's process id.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// The Chromium profile directory (`--user-data-dir`), inside
    /// [`Browser::work_dir`].
    pub fn profile_dir(&self) -> &Path {
        &self.profile
    }

    /// This browser's temporary directory (profile, XDG config and cache,
    /// chromedriver log); removed on drop.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Loads `url` and waits for the page load to finish.
    pub fn navigate(&self, url: &str) -> Result<(), BrowserError> {
        self.session_command("POST", "/url", Some(&json!({ "url": url })), None)?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and
    /// returns what it returns, as JSON.
    pub fn execute(&self, script: &str, args: &[Value]) -> Result<Value, BrowserError> {
        let body = json!({ "script": script, "args": args });
        self.session_command("POST", "/execute/sync", Some(&body), None)
    }

    /// Runs an asynchronous `script`: its last argument is a callback whose
    /// first argument is the result. Fails with WebDriver error
    /// `script timeout` after `timeout` (default: the config's).
    pub fn execute_async(
        &self,
        script: &str,
        args: &[Value],
        timeout: Option<Duration>,
    ) -> Result<Value, BrowserError> {
        let current = Duration::from_millis(self.script_timeout_ms.load(Ordering::SeqCst));
        let timeout = timeout.unwrap_or(current);
        if timeout != current {
            let ms = timeout.as_millis() as u64;
            self.session_command("POST", "/timeouts", Some(&json!({ "script": ms })), None)?;
            self.script_timeout_ms.store(ms, Ordering::SeqCst);
        }
        let body = json!({ "script": script, "args": args });
        // The HTTP call must outlive the script timeout so that chromedriver
        // reports `script timeout` itself.
        let http_timeout = timeout + self.command_timeout;
        self.session_command("POST", "/execute/async", Some(&body), Some(http_timeout))
    }

    /// Runs `body` as the body of an `async function` (`arguments[i]` are
    /// `args`) and waits for the promise it returns. A rejection or throw
    /// becomes [`BrowserError::Script`] with its stack; `undefined` becomes
    /// `null`.
    pub fn await_promise(
        &self,
        body: &str,
        args: &[Value],
        timeout: Option<Duration>,
    ) -> Result<Value, BrowserError> {
        let script = format!(
            "const __done = arguments[arguments.length - 1];\n\
             const __args = Array.prototype.slice.call(arguments, 0, -1);\n\
             (async function() {{\n{body}\n}}).apply(null, __args).then(\n\
               (v) => __done({{ ok: v === undefined ? null : v }}),\n\
               (e) => __done({{ err: String((e && e.stack) || e) }}));"
        );
        let out = self.execute_async(&script, args, timeout)?;
        if let Some(err) = out.get("err") {
            return Err(BrowserError::Script {
                message: err.as_str().map_or_else(|| err.to_string(), str::to_owned),
            });
        }
        out.get("ok")
            .cloned()
            .ok_or_else(|| BrowserError::Protocol {
                command: "POST /execute/async".into(),
                reason: format!("await_promise wrapper returned {out}"),
            })
    }

    /// Runs a Chrome DevTools Protocol command on the current page through
    /// chromedriver (`goog/cdp/execute`), e.g. `Emulation.setTimezoneOverride`.
    pub fn cdp(&self, command: &str, params: Value) -> Result<Value, BrowserError> {
        let body = json!({ "cmd": command, "params": params });
        self.session_command("POST", "/goog/cdp/execute", Some(&body), None)
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot_png(&self) -> Result<Vec<u8>, BrowserError> {
        let value = self.session_command("GET", "/screenshot", None, None)?;
        let text = value.as_str().ok_or_else(|| BrowserError::Protocol {
            command: "GET /screenshot".into(),
            reason: "value is not a string".into(),
        })?;
        base64_decode(text).ok_or_else(|| BrowserError::Protocol {
            command: "GET /screenshot".into(),
            reason: "value is not base64".into(),
        })
    }

    /// The browser console entries logged since the last call (Chromium's
    /// log buffer is drained by each read).
    pub fn browser_logs(&self) -> Result<Vec<LogEntry>, BrowserError> {
        let body = json!({ "type": "browser" });
        let value = self.session_command("POST", "/se/log", Some(&body), None)?;
        let entries = value.as_array().ok_or_else(|| BrowserError::Protocol {
            command: "POST /se/log".into(),
            reason: format!("expected an array, got {value}"),
        })?;
        Ok(entries
            .iter()
            .map(|e| LogEntry {
                level: e["level"].as_str().unwrap_or("").to_owned(),
                message: e["message"].as_str().unwrap_or("").to_owned(),
                timestamp: e["timestamp"].as_f64().unwrap_or(0.0),
            })
            .collect())
    }

    /// The console entries as text, one per line, for failure messages;
    /// never fails (an error reading them is reported in the text).
    pub fn console_dump(&self) -> String {
        match self.browser_logs() {
            Ok(entries) if entries.is_empty() => "(browser console is empty)".to_owned(),
            Ok(entries) => entries
                .iter()
                .map(|e| format!("[{}] {}", e.level, e.message))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("(could not read the browser console: {e})"),
        }
    }

    /// The end of chromedriver's log (at most `max` bytes).
    pub fn driver_log_tail(&self, max: usize) -> String {
        tail(&self.log_path, max)
    }

    /// Sends a command under `/session/<id>` and returns its `value`.
    fn session_command(
        &self,
        method: &str,
        suffix: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, BrowserError> {
        let id = self
            .session
            .as_deref()
            .ok_or_else(|| BrowserError::Protocol {
                command: format!("{method} {suffix}"),
                reason: "no session".into(),
            })?;
        let path = format!("/session/{id}{suffix}");
        self.command(method, &path, body, timeout.unwrap_or(self.command_timeout))
    }

    /// Sends one WebDriver command and returns its `value`, or the error.
    fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, BrowserError> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let resp = http::request(
            self.addr,
            method,
            path,
            bytes
                .as_deref()
                .map(|b| ("application/json; charset=utf-8", b)),
            timeout,
        )?;
        let command = format!("{method} {}", strip_session(path));
        let json: Value =
            serde_json::from_slice(&resp.body).map_err(|e| BrowserError::Protocol {
                command: command.clone(),
                reason: format!(
                    "HTTP {} with a non-JSON body ({e}): {}",
                    resp.status,
                    truncate(&resp.text(), 500)
                ),
            })?;
        let value = json.get("value").cloned().unwrap_or(Value::Null);
        if resp.status != 200 {
            let error = value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned();
            let message = value["message"].as_str().unwrap_or("").to_owned();
            return Err(BrowserError::WebDriver {
                command,
                status: resp.status,
                error,
                message,
            });
        }
        Ok(value)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            // Chromium quits when its session is deleted; a short timeout so a
            // wedged driver cannot hang the teardown.
            let _ = http::request(
                self.addr,
                "DELETE",
                &format!("/session/{id}"),
                None,
                Duration::from_secs(10),
            );
        }
        kill_group(&mut self.driver);
        kill_processes_mentioning(self.work.path());
        // `self.work` (the profile and the log) is removed when it drops.
    }
}

/// Fails with [`BrowserError::Missing`] unless `path` is an existing file.
fn check_binary(what: &'static str, path: &Path, env: &'static str) -> Result<(), BrowserError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(BrowserError::Missing {
            what,
            path: path.to_owned(),
            env,
        })
    }
}

/// A loopback address whose port was free a moment ago.
fn free_loopback_port() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    listener.local_addr()
}

/// Starts chromedriver in its own process group, output to `log_path`.
///
/// `XDG_CONFIG_HOME` and `XDG_CACHE_HOME` point into `work_dir` so that
/// nothing Chromium writes (its crash-report database included) lands in the
/// user's home, and every Chromium helper's command line names `work_dir`.
fn spawn_driver(
    binary: &Path,
    addr: SocketAddr,
    work_dir: &Path,
    log_path: &Path,
) -> Result<Child, BrowserError> {
    let log = File::create(log_path).map_err(BrowserError::io("chromedriver log file"))?;
    let log2 = log
        .try_clone()
        .map_err(BrowserError::io("chromedriver log file"))?;
    Command::new(binary)
        .arg(format!("--port={}", addr.port()))
        // No --allowed-ips/--allowed-origins: without them chromedriver
        // listens on loopback only.
        .env("XDG_CONFIG_HOME", work_dir.join("config"))
        .env("XDG_CACHE_HOME", work_dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0)
        .spawn()
        .map_err(BrowserError::io(format!("spawn {}", binary.display())))
}

/// Polls `GET /status` until chromedriver says it is ready.
fn wait_ready(
    driver: &mut Child,
    addr: SocketAddr,
    log_path: &Path,
    deadline: Instant,
) -> Result<(), BrowserError> {
    let mut last;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(BrowserError::DriverNotReady {
                reason: format!("chromedriver exited with {status}"),
                log: tail(log_path, 3000),
            });
        }
        match http::request(addr, "GET", "/status", None, Duration::from_secs(2)) {
            Ok(resp) if resp.status == 200 => {
                let json: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
                if json["value"]["ready"].as_bool() == Some(true) {
                    return Ok(());
                }
                last = format!("status says not ready: {}", truncate(&resp.text(), 300));
            }
            Ok(resp) => last = format!("GET /status answered {}", resp.status),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(BrowserError::DriverNotReady {
                reason: format!("timed out polling http://{addr}/status (last: {last})"),
                log: tail(log_path, 3000),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the process group led by `child` and reaps `child`.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory-safety preconditions. `-pid` names the
        // process group this crate created for the child (`process_group(0)`
        // makes the child's pid its group id); the child is not yet reaped,
        // so the id cannot have been reused.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills every process whose command line mentions `dir`, this browser's
/// unique temporary directory (Chromium and its helpers, some of which leave
/// chromedriver's process group), and waits up to 5 s for them to go.
fn kill_processes_mentioning(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = processes_mentioning(&needle);
        if pids.is_empty() || Instant::now() >= deadline {
            return;
        }
        for pid in pids {
            // SAFETY: kill(2) has no memory-safety preconditions. The pid was
            // just read from /proc and its command line names this browser's
            // unique temporary directory, so it is one of the processes this
            // browser started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Live (non-zombie) processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<libc::pid_t> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&pid| u32::try_from(pid).is_ok_and(|p| p != me))
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Field 3 (after the parenthesised name) is the state; Z = zombie.
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

/// The last `max` bytes of a file, lossily decoded.
fn tail(path: &Path, max: usize) -> String {
    let data = std::fs::read(path).unwrap_or_default();
    let start = data.len().saturating_sub(max);
    String::from_utf8_lossy(&data[start..]).into_owned()
}

/// `s` cut to at most `max` bytes (on a char boundary), marked when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `/session/<id>/x` → `/session/…/x`, for shorter error messages.
fn strip_session(path: &str) -> String {
    match path.strip_prefix("/session/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("/session/…/{tail}"),
            None => "/session/…".to_owned(),
        },
        None => path.to_owned(),
    }
}

/// Decodes standard base64 (padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let clean = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    if clean.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= sextet(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrips_known_vectors() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYmFy\n").unwrap(), b"foobar");
        assert_eq!(base64_decode("iVBORw0K").unwrap(), b"\x89PNG\r\n");
        assert!(base64_decode("Zm9v!").is_none());
    }

    #[test]
    fn missing_binary_names_setup_script() {
        let mut config = BrowserConfig::new();
        config.chromedriver = PathBuf::from("/nonexistent/chromedriver");
        config.chromium = PathBuf::from("/nonexistent/chromium");
        let err = Browser::launch(config).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("scripts/setup.sh"), "{text}");
        assert!(text.contains("/nonexistent/chromium"), "{text}");
    }

    #[test]
    fn error_paths_hide_session_ids() {
        assert_eq!(
            strip_session("/session/abc/execute/sync"),
            "/session/…/execute/sync"
        );
        assert_eq!(strip_session("/session/abc"), "/session/…");
        assert_eq!(strip_session("/session"), "/session");
    }
}
