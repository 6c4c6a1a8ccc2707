//! A minimal blocking HTTP/1.1 client over [`std::net::TcpStream`].
//!
//! Enough for WebDriver and for fetching pages from the test server: one
//! request per connection (`Connection: close`), a body given as bytes, a
//! response read with `Content-Length`, chunked encoding or up to EOF. Every
//! call has a deadline that covers connecting, writing and reading.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The largest response accepted (screenshots of big pages are a few MiB).
const MAX_RESPONSE: usize = 64 << 20;

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Connecting, writing or reading failed (including a timeout).
    #[error("{method} http://{addr}{path}: {source}")]
    Io {
        /// Request method.
        method: String,
        /// Server address.
        addr: SocketAddr,
        /// Request path.
        path: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The response could not be parsed.
    #[error("{method} http://{addr}{path}: malformed response: {reason}")]
    Malformed {
        /// Request method.
        method: String,
        /// Server address.
        addr: SocketAddr,
        /// Request path.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request and reads the whole response, all within `timeout`.
///
/// `body`, when given, is `(content_type, bytes)`. A `POST` or `PUT` without
/// one is sent with `Content-Length: 0`, as WebDriver servers expect.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let io_err = |source: io::Error| HttpError::Io {
        method: method.to_owned(),
        addr,
        path: path.to_owned(),
        source,
    };
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io_err)?;
    stream.set_nodelay(true).map_err(io_err)?;

    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n");
    if let Some((content_type, bytes)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    } else if method == "POST" || method == "PUT" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");

    set_deadline(&stream, deadline).map_err(io_err)?;
    stream.write_all(head.as_bytes()).map_err(io_err)?;
    if let Some((_, bytes)) = body {
        set_deadline(&stream, deadline).map_err(io_err)?;
        stream.write_all(bytes).map_err(io_err)?;
    }
    stream.flush().map_err(io_err)?;

    let raw = read_response(&mut stream, deadline).map_err(io_err)?;
    parse_response(&raw).map_err(|reason| HttpError::Malformed {
        method: method.to_owned(),
        addr,
        path: path.to_owned(),
        reason,
    })
}

/// Sets both socket timeouts to what is left before `deadline`.
fn set_deadline(stream: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
    }
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(left))
}

/// Reads until the response is complete (by its framing) or EOF.
fn read_response(stream: &mut TcpStream, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(4096);
    let mut buf = [0u8; 16 * 1024];
    loop {
        if response_complete(&raw) {
            return Ok(raw);
        }
        set_deadline(stream, deadline)?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "read timed out"));
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_RESPONSE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response larger than 64 MiB",
            ));
        }
    }
}

/// The end of the header block (index just past `\r\n\r\n`).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Whether `raw` already holds a whole response, judged by its framing; a
/// response framed by EOF is never complete here.
fn response_complete(raw: &[u8]) -> bool {
    let Some(end) = header_end(raw) else {
        return false;
    };
    let Ok((_, headers)) = parse_head(&raw[..end]) else {
        return false;
    };
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(len) = find("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        return raw.len() - end >= len;
    }
    if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return dechunk(&raw[end..]).is_ok_and(|(_, done)| done);
    }
    false
}

/// Parses the status line and header fields (names lower-cased).
fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), String> {
    let text = std::str::from_utf8(head).map_err(|_| "header is not UTF-8".to_owned())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok((status, headers))
}

/// Decodes a chunked body; returns the data and whether the last chunk was seen.
fn dechunk(mut data: &[u8]) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok((out, false));
        };
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok((out, true));
        }
        if data.len() < size + 2 {
            return Ok((out, false));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Splits a raw response into status, headers and (de-chunked) body.
fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = header_end(raw).ok_or_else(|| {
        format!(
            "connection closed after {} bytes, before the end of the header",
            raw.len()
        )
    })?;
    let (status, headers) = parse_head(&raw[..end])?;
    let rest = &raw[end..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        let (body, done) = dechunk(rest)?;
        if !done {
            return Err("connection closed inside a chunked body".to_owned());
        }
        body
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
    {
        if rest.len() < len {
            return Err(format!(
                "connection closed after {} of {len} body bytes",
                rest.len()
            ));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        assert!(response_complete(raw));
        assert!(!response_complete(&raw[..raw.len() - 1]));
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn parses_chunked() {
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert!(response_complete(raw));
        assert!(!response_complete(&raw[..raw.len() - 7]));
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn body_up_to_eof() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert!(!response_complete(raw));
        assert_eq!(parse_response(raw).unwrap().body, b"all of it");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
