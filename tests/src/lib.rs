//! # mcu-e2e — end-to-end test harness with real headless Chromium
//!
//! What it owns: everything an end-to-end test needs to put real browsers in
//! front of the MCU, with nothing but loopback traffic:
//!
//! - [`y4m`] writes YUV4MPEG2 files (a solid colour, optionally with a moving
//!   white square) for Chromium's fake camera
//!   (`--use-file-for-fake-video-capture`).
//! - [`browser`] starts `chromedriver` on `127.0.0.1:<free port>`, opens a
//!   headless Chromium session with the fake camera and microphone, and
//!   drives it over WebDriver: navigate, run sync/async scripts, await page
//!   promises, take screenshots, read the console. Dropping a [`Browser`]
//!   deletes the session, kills chromedriver and every Chromium process of
//!   its profile, and removes its temporary directory, so a failing test
//!   leaves nothing running.
//! - [`server`] is a tiny static HTTP server on `127.0.0.1` for test pages.
//! - [`http`] is the minimal blocking HTTP/1.1 client used for WebDriver.
//!
//! Time and errors: this crate is I/O by nature (it is test tooling, not
//! core logic), so it reads the clock for its deadlines; every network call
//! and every wait has one. Errors are typed per module ([`BrowserError`],
//! [`http::HttpError`], `std::io::Error`). A missing `chromium` or
//! `chromedriver` is an error naming `scripts/setup.sh`, never a silent skip.
//!
//! ```no_run
//! use mcu_e2e::{Browser, BrowserConfig, StaticServer, TempDir};
//! use mcu_e2e::y4m::{Rgb, Y4mSpec};
//!
//! let dir = TempDir::new("example").unwrap();
//! let camera = dir.path().join("red.y4m");
//! Y4mSpec::solid(Rgb::RED).write_file(&camera).unwrap();
//! let server = StaticServer::with_html("<title>hi</title>").unwrap();
//! let browser = Browser::launch(BrowserConfig::new().with_fake_video(&camera)).unwrap();
//! browser.navigate(&server.url("/")).unwrap();
//! let title = browser.execute("return document.title", &[]).unwrap();
//! assert_eq!(title, "hi");
//! ```
#![warn(missing_docs)]

pub mod browser;
pub mod http;
pub mod server;
pub mod y4m;

pub use browser::{Browser, BrowserConfig, BrowserError, LogEntry};
pub use server::{Page, StaticServer};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system temp dir, removed (with its contents)
/// on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<pid>-<n>-<nanos>`, unique within and across
    /// processes.
    pub fn new(prefix: &str) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "could not find a free temporary directory name",
        ))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A process that just died may still be flushing files: retry a few
        // times before giving up (a leftover temp dir is not worth a panic).
        for _ in 0..5 {
            match std::fs::remove_dir_all(&self.path) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_unique_and_removed() {
        let a = TempDir::new("mcu-e2e-unit").unwrap();
        let b = TempDir::new("mcu-e2e-unit").unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), "x").unwrap();
        let pa = a.path().to_owned();
        drop(a);
        assert!(!pa.exists());
        assert!(b.path().is_dir());
    }
}
