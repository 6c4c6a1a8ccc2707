//! The HTTPS + WebSocket listener: signalling sessions at `/ws`, health at
//! `/healthz`. Each socket is one session (docs/signalling.md); the
//! conference state lives in the [`Registry`] behind one lock, and roster
//! changes are fanned out to every session of the conference.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use mcu_signalling::protocol::{
    ClientMessage, CloseCode, ConferenceId, EndpointId, ErrorCode, ErrorEvent, IceCandidate,
    Joined, MAX_MESSAGE_BYTES, RosterChanged, ServerMessage, parse_client_message,
};
use mcu_signalling::webrtc::MAX_REMOTE_CANDIDATES;
use tokio::sync::{broadcast, oneshot};
use tracing::{Instrument, info, info_span, warn};

use crate::config::Config;
use crate::media::{ConferenceMedia, MediaCommand};
use crate::room::Registry;
use crate::tls::{Identity, TlsError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No TLS identity.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The TLS files could not be loaded, or the socket not bound.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] mcu_store::StoreError),
}

pub(crate) struct AppState {
    registry: Mutex<Registry>,
    /// Per conference: its media thread (conferences come and go through the control API).
    media: Mutex<BTreeMap<ConferenceId, Arc<ConferenceMedia>>>,
    /// Flips to true when the server shuts down: sessions say goodbye (1001).
    stopping: tokio::sync::watch::Receiver<bool>,
    /// Per conference: every session's event feed (serialized frames).
    feeds: Mutex<BTreeMap<ConferenceId, broadcast::Sender<FeedEvent>>>,
    /// Where media sockets bind, their ports, the public address.
    media_net: crate::media::MediaNet,
    /// Quality sampling and alarm thresholds of every conference.
    quality: crate::quality::QualityConfig,
    /// Bearer token `/metrics` asks of non-loopback clients (none: loopback only).
    metrics_token: Option<String>,
    /// This MCU's cascade links (none: a standalone MCU).
    cascade: Option<Arc<crate::cascade::Hub>>,
}

/// Prometheus text metrics. Loopback clients read them freely; others need
/// `Authorization: Bearer <metrics_token>` (and none get in without one set).
async fn metrics(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = peer.ip().is_loopback()
        || matches!((&state.metrics_token, bearer), (Some(t), Some(b)) if crate::room::same_secret(t, b));
    if !allowed {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            "metrics need the configured bearer token\n",
        )
            .into_response();
    }
    let conferences: Vec<(ConferenceId, crate::media::MediaStats)> = lock(&state.media)
        .iter()
        .map(|(id, m)| (id.clone(), m.stats()))
        .collect();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&conferences),
    )
        .into_response()
}

/// One frame on a conference's event feed, for every session or one participant's.
#[derive(Clone, Debug)]
pub(crate) struct FeedEvent {
    to: Option<u64>,
    frame: Arc<str>,
}

impl FeedEvent {
    fn all(msg: &ServerMessage) -> Self {
        Self {
            to: None,
            frame: msg.to_json().into(),
        }
    }
}

/// Locks a mutex whose data each holder changes in one step, so a panic in
/// another holder cannot have left it half updated: keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    pub(crate) fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    pub(crate) fn media(&self, conference: &ConferenceId) -> Option<Arc<ConferenceMedia>> {
        lock(&self.media).get(conference).cloned()
    }

    fn feed(&self, conference: &ConferenceId) -> Option<broadcast::Sender<FeedEvent>> {
        lock(&self.feeds).get(conference).cloned()
    }

    /// Flips to true when the daemon shuts down.
    pub(crate) fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.clone()
    }

    /// The cascade links, if this MCU is part of a tree.
    pub(crate) fn cascade(&self) -> Option<&Arc<crate::cascade::Hub>> {
        self.cascade.as_ref()
    }

    /// Starts a conference's media thread, event feed and cascade links.
    pub(crate) fn open_conference(
        self: &Arc<Self>,
        id: &ConferenceId,
        layout: &str,
        links: &[mcu_store::ConferenceLink],
    ) -> std::io::Result<()> {
        let media = ConferenceMedia::spawn(
            id.as_str(),
            layout.to_owned(),
            self.media_net.clone(),
            self.quality.clone(),
        )?;
        lock(&self.media).insert(id.clone(), Arc::new(media));
        lock(&self.feeds).insert(id.clone(), broadcast::channel(256).0);
        if let Some(hub) = &self.cascade {
            hub.open(self, id, links);
        }
        Ok(())
    }

    /// Stops a conference's media thread; its sessions are told it ended.
    pub(crate) fn close_conference(&self, id: &ConferenceId) {
        if let Some(hub) = &self.cascade {
            hub.close(id);
        }
        lock(&self.media).remove(id);
        if let Some(feed) = lock(&self.feeds).remove(id) {
            let e = ErrorEvent::new(ErrorCode::UnknownConference, "the conference has ended");
            let _ = feed.send(FeedEvent::all(&ServerMessage::from(e)));
        }
    }

    /// Sends a message to one participant's signalling session; false if
    /// the conference has no session feed.
    pub(crate) fn send_to(
        &self,
        conference: &ConferenceId,
        participant: u64,
        msg: &ServerMessage,
    ) -> bool {
        self.feed(conference).is_some_and(|f| {
            f.send(FeedEvent {
                to: Some(participant),
                frame: msg.to_json().into(),
            })
            .is_ok()
        })
    }

    /// Tells every session of a conference the new roster.
    pub(crate) fn publish_roster(&self, conference: &ConferenceId) {
        publish_roster(self, conference);
    }
}

/// A running server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The TLS identity in use.
    pub identity: Identity,
    handle: axum_server::Handle<SocketAddr>,
    state: Arc<AppState>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Background tasks stopped at shutdown: the quality and logbook
    /// recorder (`crate::recorder`), the phase clock and the delivery worker
    /// of booking notifications (`crate::notify`), the recordings' retention sweep.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Puts a synthetic room (generated picture and tone) into a conference
    /// as the invited endpoint `endpoint`: it shows in the roster and the layout.
    pub fn add_synthetic(
        &self,
        conference: &ConferenceId,
        endpoint: &EndpointId,
        rgb: (u8, u8, u8),
        tone_hz: f64,
    ) -> Result<u64, crate::room::JoinError> {
        let mut reg = self.state.registry();
        let pid = reg.join_local(conference, endpoint)?;
        let name = reg
            .room(conference)
            .and_then(|r| r.name_of(endpoint))
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default();
        drop(reg);
        if let Some(media) = self.state.media(conference) {
            media.send(MediaCommand::AddSynthetic {
                participant: mcu_mixer::ParticipantId(pid),
                name,
                rgb,
                tone_hz,
            });
        }
        publish_roster(&self.state, conference);
        Ok(pid)
    }

    /// Stops accepting, closes sessions, waits up to `grace` for them.
    pub async fn shutdown(self, grace: Duration) -> std::io::Result<()> {
        // Upgraded WebSockets are not tracked by the HTTP server: tell them first.
        let _ = self.stop.send(true);
        for task in &self.background {
            task.abort();
        }
        if let Some(hub) = self.state.cascade() {
            hub.shutdown();
        }
        // Media threads stop with their handles: every conference ends here.
        let open: Vec<ConferenceId> = lock(&self.state.media).keys().cloned().collect();
        for id in open {
            self.state.close_conference(&id);
        }
        self.handle.graceful_shutdown(Some(grace));
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// How often booked conferences' phases are checked against the clock.
const PHASE_PERIOD: Duration = Duration::from_secs(1);

/// Binds the listener and serves until [`Running::shutdown`].
pub async fn start(config: &Config) -> Result<Running, ServeError> {
    // rustls needs one process-wide crypto provider; a second install is a no-op error.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identity = crate::tls::identity(config)?;
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
        &identity.cert_path,
        &identity.key_path,
    )
    .await?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    // Media sockets bind on `[media] bind_ip`, else on the listener's address
    // (loopback by default); a wildcard listener alone binds media on loopback.
    let media_ip = match config.server.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        ip => ip,
    };
    let state = Arc::new(AppState {
        registry: Mutex::new(Registry::from_config(config)),
        media: Mutex::default(),
        stopping,
        feeds: Mutex::default(),
        media_net: crate::media::MediaNet {
            bind_ip: config.media.bind_ip.unwrap_or(media_ip),
            ports: config.media.ports().map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
            })?,
            public_ip: config.media.public_ip,
            thread_nice: config.media.thread_nice,
        },
        quality: config.quality.clone(),
        metrics_token: config.server.metrics_token.clone(),
        cascade: match &config.cascade {
            Some(c) => Some(crate::cascade::Hub::new(c.resolve().map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
            })?)),
            None => None,
        },
    });
    for c in &config.conferences {
        let links: Vec<_> = c
            .links
            .iter()
            .map(|mcu| mcu_store::ConferenceLink {
                mcu: mcu.clone(),
                remote_conference: None,
            })
            .collect();
        state.open_conference(&c.id, &c.layout, &links)?;
    }
    let store = mcu_store::Store::open(&config.server.database_url()?).await?;
    let recordings = crate::recording::RecordingSetup {
        dir: config.recording.dir(&config.server.data_dir),
        store: store.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    std::fs::create_dir_all(&recordings.dir)?;
    let sweeper = spawn_retention_sweep(recordings.clone(), config.recording.retention_days);
    let live = Arc::new(crate::live::DaemonLive::new(state.clone()).with_recordings(recordings));

    crate::live::resume(&store, live.as_ref()).await;
    let recorder = crate::recorder::spawn(
        store.clone(),
        live.clone(),
        Duration::from_secs_f64(config.quality.record_seconds),
    );
    let notifier = crate::notify::spawn(store.clone(), config.notify.clone());
    let (booking, phases) = config
        .booking
        .rules()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let readiness = config
        .readiness
        .rules()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let policy = mcu_control::Policy {
        booking,
        phases,
        readiness,
        ..Default::default()
    };
    let control = mcu_control::ControlState::new(store, live.clone(), policy);
    let mut subscription = None;
    if let Some(hub) = state.cascade() {
        hub.set_live(live, control.clone());
        subscription = crate::cascade_bookings::spawn_subscription(hub.clone());
    }
    let phases = tokio::spawn(mcu_control::phase::run(control.clone(), PHASE_PERIOD));
    let readiness = tokio::spawn(mcu_control::readiness::run(
        control.clone(),
        Duration::from_secs_f64(config.quality.sample_seconds),
    ));
    let app = Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/cascade", get(crate::cascade_bookings::upgrade))
        .route("/cascade/{conference}", get(crate::cascade::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/join", get(|| async { Html(include_str!("join.html")) }))
        .with_state(state.clone())
        .merge(mcu_control::router(control));
    let listener = std::net::TcpListener::bind(config.server.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
    let task = tokio::spawn(server.serve(app.into_make_service_with_connect_info::<SocketAddr>()));
    Ok(Running {
        addr,
        identity,
        handle,
        state: state.clone(),
        stop,
        task,
        background: [recorder, phases, readiness, notifier, sweeper]
            .into_iter()
            .chain(subscription)
            .collect(),
    })
}

/// Deletes recordings past the retention period now and every hour.
fn spawn_retention_sweep(
    setup: crate::recording::RecordingSetup,
    retention_days: u32,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let deleted = crate::recording::sweep(&setup, retention_days, wall_clock_ms()).await;
            if deleted > 0 {
                info!(
                    deleted,
                    retention_days, "retention sweep deleted old recordings"
                );
            }
        }
    })
}

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> impl IntoResponse {
    // Frames up to twice the protocol limit reach the parser, which answers an
    // oversize one with `message_too_large` (and close 1009) instead of a reset.
    ws.max_message_size(2 * MAX_MESSAGE_BYTES)
        .max_frame_size(2 * MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let span = info_span!("session", %peer, conference = tracing::field::Empty, participant = tracing::field::Empty);
            session(socket, state).instrument(span)
        })
}

struct Member {
    conference: ConferenceId,
    endpoint: EndpointId,
    participant_id: u64,
    events: broadcast::Receiver<FeedEvent>,
    /// The offer has been answered: trickled candidates go to the media
    /// thread as they come.
    offered: bool,
    /// Candidates trickled before the offer, handed over once it is
    /// answered (at most [`MAX_REMOTE_CANDIDATES`]).
    early_candidates: Vec<IceCandidate>,
}

impl Member {
    /// Hands a trickled candidate to the media thread, or keeps it until
    /// the offer is answered.
    fn trickle(&mut self, state: &AppState, candidate: IceCandidate) {
        if !self.offered {
            if self.early_candidates.len() < MAX_REMOTE_CANDIDATES {
                self.early_candidates.push(candidate);
            }
            return;
        }
        if let Some(media) = state.media(&self.conference) {
            media.send(MediaCommand::RemoteCandidate {
                participant: mcu_mixer::ParticipantId(self.participant_id),
                candidate: candidate.candidate,
                username_fragment: candidate.username_fragment,
            });
        }
    }
}

enum Step {
    Continue,
    /// Hand this SDP offer to the conference's media thread.
    Offer(String),
    /// Close the socket with this code and reason.
    Close(CloseCode, &'static str),
}

async fn session(socket: WebSocket, state: Arc<AppState>) {
    let (mut tx, mut rx) = socket.split();
    let mut member: Option<Member> = None;
    // Set once the offer is answered: fires if the media thread removes us.
    let mut gone: Option<oneshot::Receiver<String>> = None;
    let mut stopping = state.stopping.clone();
    // Set when the endpoint vanishes without `leave`: an alarm for the operators.
    let mut dropped = None;
    info!("signalling session opened");
    loop {
        let step = tokio::select! {
            () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                Step::Close(CloseCode::GOING_AWAY, "server shutting down")
            }
            frame = rx.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let (replies, step) = handle_text(&state, &mut member, text.as_str());
                    for r in replies {
                        if tx.send(Message::Text(Utf8Bytes::from(r))).await.is_err() {
                            break;
                        }
                    }
                    step
                }
                Some(Ok(Message::Binary(_))) => {
                    let e = ErrorEvent::new(ErrorCode::MalformedMessage, "binary frames are not part of the protocol; send JSON text frames");
                    let _ = tx.send(Message::Text(ServerMessage::from(e).to_json().into())).await;
                    Step::Continue
                }
                Some(Ok(Message::Close(_))) | None => {
                    dropped = Some("signalling closed without leave");
                    break;
                }
                Some(Ok(_)) => Step::Continue, // ping/pong are answered by the library
                Some(Err(e)) => {
                    warn!(error = %e, "websocket read failed");
                    dropped = Some("signalling connection lost");
                    break;
                }
            },
            why = media_gone(&mut gone) => {
                warn!(reason = %why, "media gone without leave: removing the endpoint");
                Step::Close(CloseCode::NORMAL, "media_failed")
            }
            event = next_event(&mut member) => match event {
                Some(frame) => {
                    if tx.send(Message::Text(Utf8Bytes::from(frame.as_ref()))).await.is_err() {
                        break;
                    }
                    Step::Continue
                }
                None => Step::Continue,
            },
        };
        let step = match step {
            Step::Offer(sdp) => {
                let reply = offer(&state, member.as_ref(), sdp).await;
                gone = reply.2;
                if gone.is_some()
                    && let Some(m) = member.as_mut()
                {
                    m.offered = true;
                    for c in std::mem::take(&mut m.early_candidates) {
                        m.trickle(&state, c);
                    }
                }
                if tx.send(Message::Text(reply.0.into())).await.is_err() {
                    break;
                }
                reply.1
            }
            other => other,
        };
        if let Step::Close(code, reason) = step {
            let _ = tx
                .send(Message::Close(Some(CloseFrame {
                    code: code.0,
                    reason: Utf8Bytes::from_static(reason),
                })))
                .await;
            break;
        }
    }
    if let Some(m) = member {
        leave(&state, &m, dropped);
    }
    info!("signalling session closed");
}

/// Why the media thread removed this session's participant (pending
/// forever until it does; after a normal leave the sender is just dropped).
async fn media_gone(gone: &mut Option<oneshot::Receiver<String>>) -> String {
    let Some(rx) = gone.as_mut() else {
        return std::future::pending().await;
    };
    let result = rx.await;
    *gone = None;
    match result {
        Ok(why) => why,
        Err(_) => std::future::pending().await,
    }
}

/// The next roster/layout event for this session (pending forever before join).
async fn next_event(member: &mut Option<Member>) -> Option<Arc<str>> {
    match member {
        Some(m) => match m.events.recv().await {
            Ok(FeedEvent { to: None, frame }) => Some(frame),
            Ok(FeedEvent { to: Some(p), frame }) if p == m.participant_id => Some(frame),
            Ok(_) => None,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(skipped = n, "session fell behind on events");
                None
            }
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn error_reply(code: ErrorCode, message: &str) -> (Vec<String>, Step) {
    let frame = ServerMessage::from(ErrorEvent::new(code, message)).to_json();
    let step = match code.close_code() {
        Some(close) => Step::Close(close, code.as_str()),
        None => Step::Continue,
    };
    (vec![frame], step)
}

fn publish_roster(state: &AppState, conference: &ConferenceId) {
    let roster = state
        .registry()
        .room(conference)
        .map(|r| r.roster())
        .unwrap_or_default();
    if let Some(feed) = state.feed(conference) {
        let frame = FeedEvent::all(&ServerMessage::RosterChanged(RosterChanged { roster }));
        // No receiver is not an error: the conference may just have emptied.
        let _ = feed.send(frame);
    }
}

/// Asks the conference's media thread to answer an offer.
/// Also returns, once answered, what fires if the media thread later
/// removes the participant (its media failed).
async fn offer(
    state: &AppState,
    member: Option<&Member>,
    sdp: String,
) -> (String, Step, Option<oneshot::Receiver<String>>) {
    let reply = |code: ErrorCode, message: &str| {
        let (mut frames, step) = error_reply(code, message);
        (frames.pop().unwrap_or_default(), step, None)
    };
    let Some(m) = member else {
        return reply(ErrorCode::NotJoined, "send join first");
    };
    let Some(media) = state.media(&m.conference) else {
        return reply(ErrorCode::Internal, "conference has no media thread");
    };
    let (name, chair) = state
        .registry()
        .room(&m.conference)
        .map(|r| {
            let name = r.name_of(&m.endpoint).map(|n| n.as_str().to_owned());
            (name, r.is_chair(&m.endpoint))
        })
        .unwrap_or_default();
    let name = name.unwrap_or_else(|| m.endpoint.as_str().to_owned());
    let (tx, rx) = oneshot::channel();
    let (gone, media_gone) = oneshot::channel();
    let sent = media.send(MediaCommand::Offer {
        participant: mcu_mixer::ParticipantId(m.participant_id),
        endpoint: m.endpoint.as_str().to_owned(),
        name,
        sdp,
        chair,
        reply: tx,
        gone,
    });
    if !sent {
        return reply(ErrorCode::Internal, "conference media has stopped");
    }
    match tokio::time::timeout(Duration::from_secs(10), rx).await {
        Ok(Ok(Ok(answer))) => {
            info!("offer answered");
            let answer = mcu_signalling::protocol::Answer { sdp: answer };
            let frame = ServerMessage::Answer(answer).to_json();
            (frame, Step::Continue, Some(media_gone))
        }
        Ok(Ok(Err(why))) if why.starts_with("offer refused") => {
            reply(ErrorCode::NoUsableCodec, &why)
        }
        Ok(Ok(Err(why))) => reply(ErrorCode::Internal, &why),
        _ => reply(ErrorCode::Internal, "media did not answer in time"),
    }
}

/// The member leaves; `dropped` says why when it did not say goodbye.
fn leave(state: &AppState, m: &Member, dropped: Option<&'static str>) {
    if let Some(media) = state.media(&m.conference) {
        media.send(MediaCommand::Leave {
            participant: mcu_mixer::ParticipantId(m.participant_id),
            dropped,
        });
    }
    if state
        .registry()
        .leave(&m.conference, &m.endpoint, m.participant_id)
    {
        info!(endpoint = m.endpoint.as_str(), "left");
        publish_roster(state, &m.conference);
    }
}

fn handle_text(state: &AppState, member: &mut Option<Member>, text: &str) -> (Vec<String>, Step) {
    let msg = match parse_client_message(text) {
        Ok(m) => m,
        Err(e) => return error_reply(e.code(), &e.to_string()),
    };
    if member.is_none() && !msg.allowed_before_join() {
        return error_reply(ErrorCode::NotJoined, "send join first");
    }
    match msg {
        ClientMessage::Join(join) => {
            if member.is_some() {
                return error_reply(ErrorCode::AlreadyJoined, "this session has already joined");
            }
            let mut reg = state.registry();
            let pid = match reg.join(&join.conference_id, &join.endpoint_id, &join.token) {
                Ok(pid) => pid,
                Err(e) => {
                    warn!(code = e.code().as_str(), "join refused");
                    return error_reply(e.code(), &e.to_string());
                }
            };
            let Some(room) = reg.room(&join.conference_id) else {
                return error_reply(ErrorCode::Internal, "conference vanished");
            };
            let joined = ServerMessage::Joined(Joined {
                participant_id: pid,
                conference_id: join.conference_id.clone(),
                conference_title: room.title.as_str().to_owned(),
                roster: room.roster(),
            });
            drop(reg);
            let Some(feed) = state.feed(&join.conference_id) else {
                return error_reply(ErrorCode::Internal, "conference has no event feed");
            };
            let span = tracing::Span::current();
            span.record("conference", join.conference_id.as_str());
            span.record("participant", pid);
            info!(endpoint = join.endpoint_id.as_str(), "joined");
            *member = Some(Member {
                conference: join.conference_id.clone(),
                endpoint: join.endpoint_id,
                participant_id: pid,
                events: feed.subscribe(),
                offered: false,
                early_candidates: Vec::new(),
            });
            publish_roster(state, &join.conference_id);
            (vec![joined.to_json()], Step::Continue)
        }
        ClientMessage::Leave {} => {
            if let Some(m) = member.take() {
                leave(state, &m, None);
            }
            (Vec::new(), Step::Close(CloseCode::NORMAL, "leave"))
        }
        ClientMessage::SetMute(mute) => {
            if let Some(m) = member.as_ref()
                && state
                    .registry()
                    .set_mute(&m.conference, &m.endpoint, mute.media, mute.muted)
            {
                publish_roster(state, &m.conference);
            }
            (Vec::new(), Step::Continue)
        }
        ClientMessage::ReceiverStats(stats) => {
            if let Some(m) = member.as_ref()
                && let Some(room) = state.registry().room_mut(&m.conference)
            {
                room.receiver_report(&m.endpoint, wall_clock_ms(), &stats);
            }
            (Vec::new(), Step::Continue)
        }
        ClientMessage::Offer(o) => (Vec::new(), Step::Offer(o.sdp)),
        ClientMessage::Candidate(c) => {
            if let Some(m) = member.as_mut() {
                m.trickle(state, c);
            }
            (Vec::new(), Step::Continue)
        }
        // ICE needs no word of it: checks go on until a pair works or
        // consent times out.
        ClientMessage::EndOfCandidates(_) => (Vec::new(), Step::Continue),
        ClientMessage::RequestFloor {} | ClientMessage::CancelFloorRequest {} => {
            let request = matches!(msg, ClientMessage::RequestFloor {});
            let Some(m) = member.as_ref() else {
                return error_reply(ErrorCode::NotJoined, "send join first");
            };
            let mut registry = state.registry();
            let pending = match registry.room_mut(&m.conference) {
                Some(room) if request => room.request_floor(&m.endpoint, wall_clock_ms()),
                Some(room) => {
                    room.cancel_floor(&m.endpoint);
                    false
                }
                None => false,
            };
            drop(registry);
            if let Some(hub) = state.cascade() {
                hub.refresh(&m.conference);
            }
            info!(endpoint = m.endpoint.as_str(), pending, "floor request");
            let ack = ServerMessage::FloorRequestAcknowledged(
                mcu_signalling::protocol::FloorRequestAcknowledged { pending },
            );
            (vec![ack.to_json()], Step::Continue)
        }
    }
}

/// Now, Unix ms (floor requests, alarms, accounts and the recorder are stamped with it).
pub(crate) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Waits for SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
