//! A tiny static HTTP server for tests, on `127.0.0.1` only.
//!
//! Serves a fixed set of in-memory pages ([`StaticServer::with_pages`]) or the
//! files of a directory ([`StaticServer::serve_dir`]), one thread, one request
//! per connection. `GET` and `HEAD` only. Stops (and joins its thread) on
//! drop. The daemon serves the real join page later; this exists so the
//! browser harness can be tested on its own pages now.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long one client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// One in-memory resource: its content type and bytes.
#[derive(Debug, Clone)]
pub struct Page {
    /// The `Content-Type` header value.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Page {
    /// An HTML page (`text/html; charset=utf-8`).
    pub fn html(body: impl Into<String>) -> Self {
        Page {
            content_type: "text/html; charset=utf-8".to_owned(),
            body: body.into().into_bytes(),
        }
    }

    /// Any bytes with the given content type.
    pub fn bytes(content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Page {
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

/// Where the server finds what it serves.
#[derive(Debug)]
enum Content {
    Pages(HashMap<String, Page>),
    Dir(PathBuf),
}

/// A running static HTTP server bound to `127.0.0.1:<free port>`.
#[derive(Debug)]
pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `pages`, keyed by absolute path (`"/"`, `"/index.html"`, …).
    pub fn with_pages<I, S>(pages: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = (S, Page)>,
        S: Into<String>,
    {
        let map = pages.into_iter().map(|(k, v)| (k.into(), v)).collect();
        Self::start(Content::Pages(map))
    }

    /// Serves a single HTML page at `/` (and `/index.html`).
    pub fn with_html(html: impl Into<String>) -> io::Result<Self> {
        let page = Page::html(html);
        Self::with_pages([("/", page.clone()), ("/index.html", page)])
    }

    /// Serves the files under `dir` (`/` maps to `index.html`). Paths that
    /// climb out of `dir` are refused.
    pub fn serve_dir(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Self::start(Content::Dir(dir))
    }

    fn start(content: Content) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("static-http-{}", addr.port()))
            .spawn(move || {
                for conn in listener.incoming() {
                    if thread_stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = conn {
                        // A bad client only loses its own answer.
                        let _ = handle(stream, &content);
                    }
                }
            })?;
        Ok(StaticServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` on this server (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and writes one response.
fn handle(mut stream: TcpStream, content: &Content) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > 64 * 1024 {
            return respond(&mut stream, 431, "text/plain", b"header too large", true);
        }
    }
    let head = String::from_utf8_lossy(&raw);
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let with_body = method != "HEAD";
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"GET only", with_body);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    match lookup(content, path) {
        Some(page) => respond(&mut stream, 200, &page.content_type, &page.body, with_body),
        None => respond(&mut stream, 404, "text/plain", b"not found", with_body),
    }
}

/// Finds what to serve for `path`.
fn lookup(content: &Content, path: &str) -> Option<Page> {
    match content {
        Content::Pages(map) => map.get(path).cloned(),
        Content::Dir(dir) => {
            let rel = Path::new(path.trim_start_matches('/'));
            if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                return None;
            }
            let mut file = dir.join(rel);
            if file.is_dir() {
                file = file.join("index.html");
            }
            let body = std::fs::read(&file).ok()?;
            Some(Page::bytes(content_type_for(&file), body))
        }
    }
}

/// A content type from a file extension.
fn content_type_for(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;

    #[test]
    fn serves_pages_and_404() {
        let server = StaticServer::with_html("<p>hi</p>").unwrap();
        let t = Duration::from_secs(5);
        let r = http::request(server.addr(), "GET", "/?x=1", None, t).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "<p>hi</p>");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        let r = http::request(server.addr(), "GET", "/nope", None, t).unwrap();
        assert_eq!(r.status, 404);
        let r = http::request(server.addr(), "POST", "/", Some(("text/plain", b"x")), t).unwrap();
        assert_eq!(r.status, 405);
    }

    #[test]
    fn serves_a_dir_without_escaping() {
        let dir = crate::TempDir::new("static-test").unwrap();
        std::fs::write(dir.path().join("index.html"), "root").unwrap();
        std::fs::write(dir.path().join("a.js"), "js").unwrap();
        let server = StaticServer::serve_dir(dir.path()).unwrap();
        let t = Duration::from_secs(5);
        let r = http::request(server.addr(), "GET", "/", None, t).unwrap();
        assert_eq!(r.text(), "root");
        let r = http::request(server.addr(), "GET", "/a.js", None, t).unwrap();
        assert_eq!(
            r.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        let r = http::request(server.addr(), "GET", "/../etc/passwd", None, t).unwrap();
        assert_eq!(r.status, 404);
    }
}
