//! The delivery worker of booking notifications (R9): one task that claims
//! due messages from the outbox (`mcu_store::Store::claim_outbox`, with a
//! lease) and sends each by its channel — `webhook` when `[notify]
//! webhook_url` is set, `email` when `smtp_url` is — then marks it
//! delivered, or failing with the error and the next attempt time.
//!
//! - **Webhook**: an HTTP/1.1 `POST` of the message as JSON with
//!   `Idempotency-Key: <message id>` (and, with `webhook_secret`,
//!   `X-MCU-Signature: sha256=<hex HMAC-SHA256 of the body>`), over TLS for
//!   `https://` (the system's CA bundle). A `2xx` status within
//!   [`SEND_TIMEOUT`] delivers; anything else fails. The client is a few
//!   lines over tokio: the worker needs the status line only.
//! - **E-mail**: [`crate::smtp`].
//! - **Backoff**: [`backoff`] — `retry_first_seconds`, doubling per failed
//!   attempt, capped at `retry_max_seconds`.
//!
//! Messages of a channel that is not configured stay `pending` in the
//! outbox (they are never dropped); configure the channel and restart, and
//! they go out. A store that fails is logged and the loop goes on.

use std::sync::Arc;
use std::time::Duration;

use mcu_store::{OutboxChannel, OutboxMessage, Store};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::server::wall_clock_ms;

/// How long one delivery attempt may take (connect, send, answer).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a claimed message is reserved for this worker: longer than any
/// attempt, so nobody else sends it meanwhile; a worker that dies leaves it
/// to be claimed again after this.
const LEASE: Duration = Duration::from_secs(120);

/// Messages claimed per pass.
const BATCH: i64 = 20;

/// Longest webhook answer head read (bytes).
const MAX_HEAD: usize = 16 * 1024;

/// The `[notify]` section: where booking notifications are delivered.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `http://` or `https://` URL the webhook messages are POSTed to;
    /// absent: webhook messages wait in the outbox.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Secret of the HMAC-SHA256 signature header; absent: no signature.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// `smtp://[user:password@]host[:port]` (STARTTLS when offered) or
    /// `smtps://…` (TLS from the start); absent: e-mails wait in the outbox.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// The sender address of e-mails (required with `smtp_url`).
    #[serde(default)]
    pub smtp_from: Option<String>,
    /// Wait after the first failed attempt, seconds.
    #[serde(default = "default_retry_first")]
    pub retry_first_seconds: f64,
    /// Longest wait between attempts, seconds.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: f64,
}

fn default_retry_first() -> f64 {
    1.0
}

fn default_retry_max() -> f64 {
    600.0
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook_url: None,
            webhook_secret: None,
            smtp_url: None,
            smtp_from: None,
            retry_first_seconds: default_retry_first(),
            retry_max_seconds: default_retry_max(),
        }
    }
}

impl NotifyConfig {
    /// Checks the section: URLs that parse, the retry times, `smtp_from` with `smtp_url`.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.webhook_url {
            Target::parse(url).map_err(|e| format!("notify.webhook_url: {e}"))?;
        }
        if self.webhook_secret.as_deref() == Some("") {
            return Err("notify.webhook_secret is empty".into());
        }
        match (&self.smtp_url, &self.smtp_from) {
            (Some(url), Some(from)) => {
                crate::smtp::SmtpTarget::parse(url).map_err(|e| format!("notify.smtp_url: {e}"))?;
                crate::smtp::check_address(from).map_err(|e| format!("notify.smtp_from: {e}"))?;
            }
            (None, None) => {}
            _ => return Err("notify.smtp_url and notify.smtp_from go together".into()),
        }
        let first = self.retry_first_seconds;
        let max = self.retry_max_seconds;
        if !(0.01..=86_400.0).contains(&first) || !(first..=86_400.0).contains(&max) {
            return Err(
                "notify.retry_first_seconds must be 0.01–86400 and retry_max_seconds at least that, at most 86400"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The wait before the next attempt after `failures` failed attempts (1 for
/// the first failure): `first · 2^(failures−1)`, at most `max`.
pub fn backoff(failures: i64, first: Duration, max: Duration) -> Duration {
    // Past 30 doublings every sane cap is reached; below 1 failure, none.
    let doublings = failures.saturating_sub(1).clamp(0, 30) as u32;
    first.saturating_mul(1 << doublings).min(max)
}

/// Where webhook messages go, parsed from `webhook_url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// TLS (`https://`).
    pub tls: bool,
    /// Host name or address (no brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, from `/`.
    pub path: String,
}

impl Target {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("credentials in the URL are not supported; use webhook_secret".into());
        }
        let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })?;
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err("the path has spaces or control characters".into());
        }
        Ok(Self {
            tls,
            host,
            port,
            path: path.to_owned(),
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
pub(crate) fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        match tail.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if tail.is_empty() => (h, None),
            None => return Err(format!("unexpected {tail:?} after the host")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
    {
        return Err(format!("bad host {host:?}"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or(format!("bad port {p:?}"))?,
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// The JSON a webhook receives: the message's payload with its `id` and `channel`.
pub fn webhook_body(m: &OutboxMessage) -> String {
    let mut v = match serde_json::from_str::<serde_json::Value>(&m.message.payload) {
        Ok(serde_json::Value::Object(map)) => map,
        // A payload that is not an object travels as text, never lost.
        _ => {
            let mut map = serde_json::Map::new();
            map.insert("payload".into(), m.message.payload.clone().into());
            map
        }
    };
    v.insert("id".into(), m.id.into());
    v.insert("channel".into(), m.message.channel.as_str().into());
    serde_json::Value::Object(v).to_string()
}

/// `sha256=<hex>` of the body under the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A client TLS configuration trusting the system's CA bundle.
pub(crate) fn system_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for bundle in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ] {
        if let Ok(pem) = std::fs::read(bundle) {
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem).flatten() {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificates found (install ca-certificates)".into());
    }
    trusting(roots)
}

/// A client TLS configuration (ring, safe protocol versions) trusting `roots`.
pub(crate) fn trusting(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One webhook delivery: `Ok` on a `2xx` answer, else the error to record.
pub async fn post_webhook(
    target: &Target,
    secret: Option<&str>,
    tls: Option<&Arc<rustls::ClientConfig>>,
    id: i64,
    body: &str,
) -> Result<u16, String> {
    let what = format!("webhook {}:{}", target.host, target.port);
    let attempt = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("{what}: {}", io_reason(&e)))?;
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mcud/{}\r\n\
             Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\
             Idempotency-Key: {id}\r\nConnection: close\r\n",
            target.path,
            host_header(target),
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        if let Some(secret) = secret {
            head.push_str(&format!(
                "X-MCU-Signature: {}\r\n",
                signature(secret, body.as_bytes())
            ));
        }
        head.push_str("\r\n");
        let status = if target.tls {
            let config = tls.ok_or_else(|| format!("{what}: TLS is not available"))?;
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| format!("{what}: {e}"))?;
            let stream = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("{what}: TLS: {e}"))?;
            exchange(stream, &head, body).await
        } else {
            exchange(tcp, &head, body).await
        }
        .map_err(|e| format!("{what}: {e}"))?;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(format!("{what}: answered HTTP {status}"))
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{what}: no answer within {} s",
            SEND_TIMEOUT.as_secs()
        )),
    }
}

fn host_header(t: &Target) -> String {
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let default = if t.tls { 443 } else { 80 };
    if t.port == default {
        host
    } else {
        format!("{host}:{}", t.port)
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut => "connection timed out".into(),
        _ => e.to_string(),
    }
}

/// Sends the request and reads the answer's status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    head: &str,
    body: &str,
) -> Result<u16, String> {
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| io_reason(&e))?;
    s.write_all(body.as_bytes())
        .await
        .map_err(|e| io_reason(&e))?;
    s.flush().await.map_err(|e| io_reason(&e))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).await.map_err(|e| io_reason(&e))?;
        if n == 0 {
            return Err("the connection closed without an answer".into());
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > MAX_HEAD {
            return Err("the answer's status line is too long".into());
        }
    }
    parse_status(&got).ok_or_else(|| "the answer is not HTTP".into())
}

/// The status of `HTTP/1.x NNN …`.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?.trim();
    (code.len() == 3).then(|| code.parse().ok()).flatten()
}

/// What the worker can deliver, from the configuration.
struct Channels {
    webhook: Option<(Target, Option<String>)>,
    smtp: Option<(crate::smtp::SmtpTarget, String)>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Channels {
    fn from_config(c: &NotifyConfig) -> Self {
        let webhook = c
            .webhook_url
            .as_deref()
            .and_then(|u| Target::parse(u).ok())
            .map(|t| (t, c.webhook_secret.clone()));
        let smtp = match (&c.smtp_url, &c.smtp_from) {
            (Some(url), Some(from)) => crate::smtp::SmtpTarget::parse(url)
                .ok()
                .map(|t| (t, from.clone())),
            _ => None,
        };
        let needs_tls = webhook.as_ref().is_some_and(|(t, _)| t.tls) || smtp.is_some();
        let tls = if needs_tls {
            match system_tls() {
                Ok(t) => Some(t),
                Err(e) => {
                    warn!(error = %e, "notifications: TLS deliveries will fail");
                    None
                }
            }
        } else {
            None
        };
        Self { webhook, smtp, tls }
    }

    fn list(&self) -> Vec<OutboxChannel> {
        let mut v = Vec::new();
        if self.webhook.is_some() {
            v.push(OutboxChannel::Webhook);
        }
        if self.smtp.is_some() {
            v.push(OutboxChannel::Email);
        }
        v
    }

    async fn send(&self, m: &OutboxMessage) -> Result<(), String> {
        match m.message.channel {
            OutboxChannel::Webhook => {
                let (target, secret) = self
                    .webhook
                    .as_ref()
                    .ok_or("no webhook_url is configured")?;
                let body = webhook_body(m);
                post_webhook(target, secret.as_deref(), self.tls.as_ref(), m.id, &body)
                    .await
                    .map(|_| ())
            }
            OutboxChannel::Email => {
                let (target, from) = self.smtp.as_ref().ok_or("no smtp_url is configured")?;
                let mail = crate::smtp::Mail {
                    from,
                    to: &m.message.recipient_email,
                    to_name: &m.message.recipient_name,
                    subject: &m.message.subject,
                    body: &m.message.body,
                    message_id: &format!("outbox-{}", m.id),
                    date_ms: m.message.created_at,
                };
                match tokio::time::timeout(
                    crate::smtp::SMTP_TIMEOUT,
                    crate::smtp::send(target, self.tls.as_ref(), &mail),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "smtp {}:{}: no answer within {} s",
                        target.host,
                        target.port,
                        crate::smtp::SMTP_TIMEOUT.as_secs()
                    )),
                }
            }
        }
    }
}

/// Starts the worker (call inside the runtime). It runs until aborted.
pub fn spawn(store: Store, config: NotifyConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(store, config))
}

async fn run(store: Store, config: NotifyConfig) {
    let channels = Channels::from_config(&config);
    let list = channels.list();
    let first = Duration::from_secs_f64(config.retry_first_seconds);
    let max = Duration::from_secs_f64(config.retry_max_seconds);
    // Poll often enough for the first retry, at least once a second.
    let idle = first.clamp(Duration::from_millis(50), Duration::from_secs(1));
    if list.is_empty() {
        info!("notifications: no webhook_url or smtp_url configured; messages stay in the outbox");
        return;
    }
    info!(channels = ?list, "notifications: delivery worker started");
    loop {
        let now = wall_clock_ms();
        let batch = match store
            .claim_outbox(now, LEASE.as_millis() as i64, &list, BATCH)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "notifications: claiming from the outbox failed");
                tokio::time::sleep(idle).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(idle).await;
            continue;
        }
        for m in batch {
            let result = channels.send(&m).await;
            let now = wall_clock_ms();
            let stored = match &result {
                Ok(()) => {
                    debug!(id = m.id, channel = %m.message.channel, "notification delivered");
                    store.outbox_delivered(m.id, now).await
                }
                Err(error) => {
                    let wait = backoff(m.attempts + 1, first, max);
                    // The error names the target, never the recipient (personal data).
                    warn!(id = m.id, channel = %m.message.channel, attempts = m.attempts + 1,
                        retry_in_ms = wait.as_millis() as u64, %error, "notification not delivered");
                    store
                        .outbox_failed(m.id, now, error, now + wait.as_millis() as i64)
                        .await
                }
            };
            if let Err(e) = stored {
                // The lease runs out and the message is tried again: at
                // worst sent twice, with the same Idempotency-Key.
                warn!(id = m.id, error = %e, "notifications: recording the outcome failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let s = Duration::from_secs;
        let waits: Vec<u64> = (1..=12)
            .map(|n| backoff(n, s(1), s(600)).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(
            backoff(0, s(1), s(600)),
            s(1),
            "no failure yet: the first wait"
        );
        assert_eq!(backoff(i64::MAX, s(1), s(600)), s(600), "no overflow");
        let ms = Duration::from_millis;
        assert_eq!(backoff(3, ms(200), ms(500)), ms(500));
        assert_eq!(backoff(2, ms(200), ms(500)), ms(400));
    }

    #[test]
    fn webhook_urls_parse_and_bad_ones_are_refused() {
        let t = Target::parse("https://hook.tuyenquang.gov.vn/mcu/notify?x=1").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (true, "hook.tuyenquang.gov.vn", 443, "/mcu/notify?x=1")
        );
        let t = Target::parse("http://127.0.0.1:9").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (false, 9, "/"));
        let t = Target::parse("http://[::1]:8080/h").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        assert_eq!(host_header(&t), "[::1]:8080");
        for bad in [
            "ftp://x/",
            "http://",
            "http://host:0/",
            "http://host:99999/",
            "http://u:p@host/",
            "http://ho st/",
            "http://host/a b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 500 Oops\r\n"), Some(500));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 2000 x\r\n"), None);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_section_is_checked() {
        let ok = NotifyConfig {
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let cases = [
            NotifyConfig {
                webhook_url: Some("hook".into()),
                ..Default::default()
            },
            NotifyConfig {
                smtp_url: Some("smtp://mail.tuyenquang.gov.vn".into()),
                ..Default::default()
            },
            NotifyConfig {
                retry_first_seconds: 0.0,
                ..Default::default()
            },
            NotifyConfig {
                retry_first_seconds: 10.0,
                retry_max_seconds: 5.0,
                ..Default::default()
            },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
