//! The endpoint's signalling connection: a synchronous WebSocket over TLS
//! (tungstenite + rustls) speaking the v1 JSON protocol. Blocking while
//! joining, then non-blocking so the endpoint's one loop can poll it next to
//! its UDP socket.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcu_signalling::protocol::{ClientMessage, ServerMessage, parse_server_message};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Why the signalling connection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignallingError {
    /// The URL is not `wss://host:port/path` (or `ws://`).
    #[error("bad url: {0}")]
    Url(String),
    /// The CA file has no certificate, or rustls refused the setup.
    #[error("tls: {0}")]
    Tls(String),
    /// TCP connect or socket I/O.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket handshake or a frame failed.
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The server sent something that is not a v1 server message.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server closed the session.
    #[error("closed by the server: {0}")]
    Closed(String),
    /// No answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

/// A rustls client configuration trusting the certificates in `ca_pem`, or
/// the platform's usual roots if none is given (none are bundled: pass the
/// daemon's certificate with `--ca`).
pub fn tls_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, SignallingError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| SignallingError::Tls(format!("CA file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SignallingError::Tls(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(SignallingError::Tls("CA file holds no certificate".into()));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SignallingError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One signalling session.
pub struct Signalling {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    /// A frame that could not be written yet (non-blocking socket).
    pending_flush: bool,
}

impl std::fmt::Debug for Signalling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signalling").finish_non_exhaustive()
    }
}

fn ws_err(e: tungstenite::Error) -> SignallingError {
    SignallingError::WebSocket(e.to_string())
}

impl Signalling {
    /// Connects to `url` (`wss://host:port/ws`) within `timeout`.
    pub fn connect(
        url: &str,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Self, SignallingError> {
        let rest = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("ws://"))
            .ok_or_else(|| SignallingError::Url(url.to_owned()))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let addrs: Vec<_> = authority
            .to_socket_addrs()
            .map_err(|e| SignallingError::Url(format!("{url}: {e}")))?
            .collect();
        // `localhost` may resolve to ::1 first while the daemon listens on
        // 127.0.0.1 only: try each address.
        let mut last = None;
        let mut tcp = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(t), _) => t,
            (None, Some(e)) => return Err(e.into()),
            (None, None) => return Err(SignallingError::Url(format!("{url}: no address"))),
        };
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let connector = tungstenite::Connector::Rustls(tls);
        let (ws, _) = tungstenite::client_tls_with_config(url, tcp, None, Some(connector))
            .map_err(|e| SignallingError::WebSocket(e.to_string()))?;
        Ok(Self {
            ws,
            pending_flush: false,
        })
    }

    fn tcp(&self) -> &TcpStream {
        match self.ws.get_ref() {
            MaybeTlsStream::Plain(s) => s,
            MaybeTlsStream::Rustls(s) => s.get_ref(),
            // The enum is non-exhaustive; only the two above are built here.
            _ => unreachable!("only plain and rustls streams are created"),
        }
    }

    /// Switches the socket to non-blocking (after joining).
    pub fn set_nonblocking(&mut self) -> Result<(), SignallingError> {
        self.tcp().set_nonblocking(true)?;
        Ok(())
    }

    /// Sends one client message (queued if the socket would block).
    pub fn send(&mut self, msg: &ClientMessage) -> Result<(), SignallingError> {
        match self.ws.send(Message::text(msg.to_json())) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                self.pending_flush = true;
                Ok(())
            }
            Err(e) => Err(ws_err(e)),
        }
    }

    /// Retries a write that would have blocked.
    pub fn flush(&mut self) -> Result<(), SignallingError> {
        if !self.pending_flush {
            return Ok(());
        }
        match self.ws.flush() {
            Ok(()) => {
                self.pending_flush = false;
                Ok(())
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(ws_err(e)),
        }
    }

    /// The next server message: `Ok(None)` when nothing is waiting
    /// (non-blocking) or a control frame was handled.
    pub fn try_recv(&mut self) -> Result<Option<ServerMessage>, SignallingError> {
        match self.ws.read() {
            Ok(Message::Text(text)) => parse_server_message(text.as_str())
                .map(Some)
                .map_err(|e| SignallingError::Protocol(e.to_string())),
            Ok(Message::Close(frame)) => Err(SignallingError::Closed(
                frame
                    .map(|f| format!("{} {}", f.code, f.reason))
                    .unwrap_or_default(),
            )),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                Ok(None)
            }
            Err(e) => Err(ws_err(e)),
        }
    }

    /// Blocks (socket still blocking) until a message `pick` accepts
    /// arrives; other messages go to `other`. An `error` message ends the wait.
    pub fn wait_for<T>(
        &mut self,
        deadline: Instant,
        what: &'static str,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
        mut other: impl FnMut(ServerMessage),
        now: impl Fn() -> Instant,
    ) -> Result<T, SignallingError> {
        loop {
            if now() >= deadline {
                return Err(SignallingError::Timeout(what));
            }
            let Some(msg) = self.try_recv()? else {
                continue;
            };
            if let Some(t) = pick(&msg) {
                return Ok(t);
            }
            if let ServerMessage::Error(e) = &msg {
                return Err(SignallingError::Closed(format!(
                    "{}: {}",
                    e.code.as_str(),
                    e.message
                )));
            }
            other(msg);
        }
    }

    /// Closes the WebSocket politely (close frame), without waiting long.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
