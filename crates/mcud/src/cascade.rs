//! Cascade links at run time: for every open conference, one task owns the
//! conference's link up to the parent MCU ([`ChildLink`]), the links of its
//! children ([`ParentLinks`]) and the roster of its subtree
//! ([`RosterTree`]). The sans-IO logic is `mcu-cascade`'s; this module
//! carries its messages over WebSockets and turns its decisions into media
//! commands.
//!
//! - **Transport.** A child dials `wss://<parent>/cascade/<conference>`
//!   (the parent's certificate checked against the configured CA file) and
//!   speaks `docs/cascade.md` on it: the HMAC handshake, roster, uplink,
//!   commands, keepalive, and the trunk's WebRTC offer and answer.
//! - **Media.** On each side a link is one participant of the conference.
//!   The parent admits the child's offer as a participant that sees the
//!   chair view (on the master) or the participants' view, and hears
//!   everyone but itself. The child opens its uplink (see
//!   [`MediaCommand::OpenUplink`]): what came down is shown and heard
//!   locally; what goes up is one endpoint full screen and the mix of
//!   everyone but the uplink, so no sound comes back at any level.
//! - **Commands.** "Call X to the chair" on the master is routed down the
//!   tree by the roster; every MCU on the way switches its uplink to the
//!   link (or local endpoint) that carries X once the level below has
//!   switched, and the master pins the trunk on the chair's main tile.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use mcu_cascade::auth::Nonce;
use mcu_cascade::ids::{ConnId, EndpointId as CascadeEndpoint, McuId, RequestId};
use mcu_cascade::link::{ChildLink, ChildLinkConfig, LinkOutput, ParentRole, ParentTarget};
use mcu_cascade::parent::{ParentLinks, ParentLinksConfig, ParentOutput};
use mcu_cascade::roster::{RosterTree, Routed, Selection};
use mcu_cascade::wire::{
    Command, CommandError, CommandErrorCode, EndpointState, LinkState, MAX_MESSAGE_BYTES, Media,
    Roster,
};
use mcu_control::{LiveCommand, LiveError};
use mcu_mixer::ParticipantId;
use mcu_signalling::protocol::{ConferenceId, EndpointId};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::cascade_config::{Cascade, Neighbour};
use crate::media::{Control, MediaCommand};
use crate::server::AppState;

/// How often the local roster is read for changes to publish up.
const ROSTER_PERIOD: Duration = Duration::from_millis(250);
/// How often the local endpoints' camera preset names are read again.
const PRESETS_PERIOD: Duration = Duration::from_secs(5);
/// How long a media thread may take to answer an offer.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an operator's command may take through the tree (the parent
/// side times a command out after 5 s per link).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(8);

#[allow(clippy::disallowed_methods)] // the daemon owns the clock
fn now() -> Instant {
    Instant::now()
}

/// Waits for a cascade task from synchronous code (the control API's
/// `Live` calls). On a multi-threaded runtime the worker first hands its
/// queued tasks to another thread: the task being waited for may sit in this
/// worker's queue (woken by the send just before) and would otherwise not
/// run until the wait timed out.
fn blocking<T>(wait: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
        _ => wait(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This daemon's cascade: its place in the tree and one task per open
/// conference.
pub(crate) struct Hub {
    cascade: Cascade,
    conferences: Mutex<BTreeMap<ConferenceId, mpsc::UnboundedSender<Event>>>,
    next_conn: AtomicU64,
    /// Mutes go through the control API's live side, as an operator's do;
    /// link events go into the audit log and the conference's logbook.
    /// Cleared at shutdown (they hold the daemon's state, which holds this).
    control: Mutex<Option<(Arc<crate::live::DaemonLive>, Arc<mcu_control::ControlState>)>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("me", &self.cascade.me.id)
            .finish_non_exhaustive()
    }
}

/// What a conference's cascade task is told.
enum Event {
    /// A child dialled in.
    Accepted {
        conn: ConnId,
        peer: std::net::SocketAddr,
        out: mpsc::UnboundedSender<Out>,
    },
    /// The link up is connected (its handshake starts).
    Connected {
        conn: ConnId,
        out: mpsc::UnboundedSender<Out>,
    },
    /// The link up could not be opened.
    DialFailed { conn: ConnId },
    /// A message on a connection.
    Text {
        side: Side,
        conn: ConnId,
        text: String,
    },
    /// A connection closed.
    Closed { side: Side, conn: ConnId },
    /// An operator's command for an endpoint below this MCU.
    Command {
        command: Command,
        reply: std::sync::mpsc::Sender<Result<(), LiveError>>,
    },
    /// A local room's state changed (a hand raised): publish it now rather
    /// than at the next roster tick.
    Refresh,
    /// What the tree looks like from here.
    Snapshot {
        reply: std::sync::mpsc::Sender<Snapshot>,
    },
    /// The conference closed, or the daemon stops.
    Stop,
}

/// Which end of a link a connection is: the link up (its ids come from
/// the [`ChildLink`]) or a child's link here (ids from the hub). The two id
/// spaces overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Up,
    Down,
}

/// What goes out on a connection.
enum Out {
    Text(String),
    Close,
}

/// The cascade of one conference as this MCU sees it.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    /// This MCU (id, name, level).
    pub me: mcu_cascade::roster::McuInfo,
    /// The parent link: parent id, standby or not, up or not, since (Unix ms).
    pub parent: Option<(McuId, bool, LinkState, Option<i64>)>,
    /// Each configured child: up or not, since (Unix ms).
    pub children: Vec<(McuId, LinkState, Option<i64>)>,
    /// The whole subtree's endpoints with their paths.
    pub endpoints: Vec<mcu_cascade::roster::PathEntry>,
    /// What this MCU's uplink (or chair, on the master) carries.
    pub selected: Option<CascadeEndpoint>,
    /// Topology warnings, in words.
    pub warnings: Vec<String>,
    /// What each trunk receives, by the MCU at the other end.
    pub links: BTreeMap<McuId, mcu_control::LinkQuality>,
    /// Raised hands below this MCU, oldest first (Unix ms).
    pub floor: Vec<(CascadeEndpoint, i64)>,
}

impl Hub {
    pub(crate) fn new(cascade: Cascade) -> Arc<Self> {
        for w in cascade.topology.warnings() {
            warn!(warning = %w, "cascade topology");
        }
        Arc::new(Self {
            cascade,
            conferences: Mutex::default(),
            next_conn: AtomicU64::new(1),
            control: Mutex::default(),
        })
    }

    pub(crate) fn set_live(
        &self,
        live: Arc<crate::live::DaemonLive>,
        control: Arc<mcu_control::ControlState>,
    ) {
        *lock(&self.control) = Some((live, control));
    }

    fn daemon_live(&self) -> Option<Arc<crate::live::DaemonLive>> {
        lock(&self.control).as_ref().map(|(l, _)| l.clone())
    }

    /// This MCU's place in the tree.
    pub(crate) fn config(&self) -> &Cascade {
        &self.cascade
    }

    /// The control state, once the daemon has set it.
    pub(crate) fn control(&self) -> Option<Arc<mcu_control::ControlState>> {
        lock(&self.control).as_ref().map(|(_, c)| c.clone())
    }

    fn store(&self) -> Option<mcu_store::Store> {
        lock(&self.control).as_ref().map(|(_, c)| c.store.clone())
    }

    /// Closes every conference's links (the daemon is stopping).
    pub(crate) fn shutdown(&self) {
        for (_, inbox) in std::mem::take(&mut *lock(&self.conferences)) {
            let _ = inbox.send(Event::Stop);
        }
        lock(&self.control).take();
    }

    /// Records a link event: audited (actor `cascade:<mcu>`), and in the
    /// conference's logbook when it is not a refusal.
    fn audit(
        &self,
        conference: &ConferenceId,
        mcu: &str,
        from: &str,
        action: &str,
        details: serde_json::Value,
        result: &str,
    ) {
        let Some(control) = self.control() else {
            return;
        };
        let actor = format!("cascade:{mcu}");
        let (from, action, result) = (from.to_owned(), action.to_owned(), result.to_owned());
        let target = format!("conference/{}", conference.as_str());
        tokio::spawn(async move {
            control
                .audit(
                    (&actor, "cascade"),
                    &from,
                    &action,
                    &target,
                    &details,
                    &result,
                )
                .await;
        });
    }

    fn conn_id(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    fn inbox(&self, conference: &ConferenceId) -> Option<mpsc::UnboundedSender<Event>> {
        lock(&self.conferences).get(conference).cloned()
    }

    /// Starts the cascade task of a conference that just opened, with the
    /// links it names: the link up if it names this MCU's parent, and the
    /// children it names (any other child that dials in is refused).
    pub(crate) fn open(
        self: &Arc<Self>,
        state: &Arc<AppState>,
        conference: &ConferenceId,
        links: &[mcu_store::ConferenceLink],
    ) {
        for l in links {
            let known = [self.cascade.parent.as_ref().map(|p| &p.id)]
                .into_iter()
                .flatten()
                .chain(self.cascade.children.keys())
                .any(|id| id.as_str() == l.mcu);
            if !known {
                warn!(conference = %conference, mcu = l.mcu, "the conference names a link to an MCU that is not a neighbour: ignored");
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(old) = lock(&self.conferences).insert(conference.clone(), tx.clone()) {
            let _ = old.send(Event::Stop);
        }
        let task = Conference::new(self.clone(), state.clone(), conference.clone(), links, tx);
        let span =
            tracing::info_span!("cascade", conference = %conference, mcu = %self.cascade.me.id);
        tokio::spawn(tracing::Instrument::instrument(task.run(rx), span));
    }

    /// The MCUs a conference here may name as its links: the parent (with
    /// its standby) and every child accepted here.
    pub(crate) fn neighbours(&self) -> Vec<mcu_control::CascadeNeighbour> {
        let c = &self.cascade;
        let mcu = |id: &McuId| Snapshot::mcu_of(&c.topology, id);
        let mut out: Vec<_> = c
            .parent
            .iter()
            .map(|p| mcu_control::CascadeNeighbour {
                mcu: mcu(&p.id),
                role: mcu_control::NeighbourRole::Parent,
                standby: c.standby.as_ref().map(|s| mcu(&s.id)),
            })
            .collect();
        out.extend(c.children.keys().map(|id| mcu_control::CascadeNeighbour {
            mcu: mcu(id),
            role: mcu_control::NeighbourRole::Child,
            standby: None,
        }));
        out
    }

    /// Ends the cascade task of a conference that closed (its links close).
    pub(crate) fn close(&self, conference: &ConferenceId) {
        if let Some(inbox) = lock(&self.conferences).remove(conference) {
            let _ = inbox.send(Event::Stop);
        }
    }

    /// Publishes `conference`'s local rooms up at once (a hand was raised
    /// or lowered); does not wait.
    pub(crate) fn refresh(&self, conference: &ConferenceId) {
        if let Some(inbox) = self.inbox(conference) {
            let _ = inbox.send(Event::Refresh);
        }
    }

    /// Sends an operator's command down the tree and waits for its outcome.
    pub(crate) fn command(
        &self,
        conference: &ConferenceId,
        command: Command,
    ) -> Result<(), LiveError> {
        let inbox = self
            .inbox(conference)
            .ok_or_else(|| LiveError::NotRunning(conference.as_str().to_owned()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        inbox
            .send(Event::Command { command, reply: tx })
            .map_err(|_| LiveError::NotRunning(conference.as_str().to_owned()))?;
        blocking(|| rx.recv_timeout(COMMAND_TIMEOUT))
            .map_err(|_| LiveError::Media("the cascade did not answer in time".into()))?
    }

    /// The tree as the control API shows it, for a running conference.
    pub(crate) fn tree(&self, conference: &ConferenceId) -> Option<mcu_control::LiveCascade> {
        self.snapshot(conference)
            .map(|s| s.to_live(&self.cascade.topology))
    }

    /// The tree as this MCU sees it for a running conference.
    pub(crate) fn snapshot(&self, conference: &ConferenceId) -> Option<Snapshot> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.inbox(conference)?
            .send(Event::Snapshot { reply: tx })
            .ok()?;
        blocking(|| rx.recv_timeout(Duration::from_secs(2))).ok()
    }

    /// The raised hands below this MCU, oldest first (Unix ms).
    pub(crate) fn floor(&self, conference: &ConferenceId) -> Vec<(CascadeEndpoint, i64)> {
        self.snapshot(conference)
            .map(|s| s.floor)
            .unwrap_or_default()
    }

    /// True if `endpoint` is somewhere below this MCU in `conference`'s tree.
    pub(crate) fn knows(&self, conference: &ConferenceId, endpoint: &str) -> bool {
        self.snapshot(conference).is_some_and(|s| {
            s.endpoints
                .iter()
                .any(|e| e.entry.endpoint.as_str() == endpoint && e.path.len() > 1)
        })
    }
}

/// `GET /cascade/{conference}`: a child MCU's link for one conference.
pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    Path(conference): Path<String>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let not_here = |why: &str| (axum::http::StatusCode::NOT_FOUND, why.to_owned()).into_response();
    let Some(hub) = state.cascade() else {
        return not_here("this MCU takes no cascade links\n");
    };
    let Some(inbox) = ConferenceId::new(conference)
        .ok()
        .and_then(|c| hub.inbox(&c))
    else {
        return not_here("no such conference is open here\n");
    };
    let conn = hub.conn_id();
    info!(%peer, conn = conn.0, "cascade link connection accepted");
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve_child(socket, conn, peer, inbox))
}

async fn serve_child(
    socket: WebSocket,
    conn: ConnId,
    peer: std::net::SocketAddr,
    inbox: mpsc::UnboundedSender<Event>,
) {
    let (out, mut outgoing) = mpsc::unbounded_channel();
    if inbox.send(Event::Accepted { conn, peer, out }).is_err() {
        return;
    }
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if inbox.send(Event::Text { side: Side::Down, conn, text: text.to_string() }).is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            out = outgoing.recv() => match out {
                Some(Out::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => break,
            },
        }
    }
    let _ = sink.close().await;
    let _ = inbox.send(Event::Closed {
        side: Side::Down,
        conn,
    });
}

/// A rustls client configuration trusting the certificates of `ca_pem` (the
/// parent's `ca_file`), or the system's roots without one.
pub(crate) fn client_tls(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    // No ca_file: the system's roots, as the config documents.
    let Some(pem) = ca_pem else {
        return crate::notify::system_tls();
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("CA file: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("the ca_file holds no certificate".into());
    }
    crate::notify::trusting(roots)
}

/// A WebSocket to the parent MCU, over TLS checked against its CA file.
pub(crate) type ParentSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `wss://<parent><path>` (3 s at most).
pub(crate) async fn connect(parent: &Neighbour, path: &str) -> Result<ParentSocket, String> {
    let url = format!("wss://{}{path}", parent.url.trim_start_matches("https://"));
    let tls = client_tls(parent.ca_pem.as_deref())?;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES));
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        Some(config),
        true,
        Some(tokio_tungstenite::Connector::Rustls(tls)),
    );
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(_) => Err(format!("{url}: timed out")),
    }
}

/// Opens the link to `parent` and pumps it until either side closes.
async fn dial(
    parent: Neighbour,
    conference: ConferenceId,
    conn: ConnId,
    inbox: mpsc::UnboundedSender<Event>,
) {
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let ws = match connect(&parent, &format!("/cascade/{}", conference.as_str())).await {
        Ok(ws) => ws,
        Err(e) => {
            info!(parent = %parent.id, error = %e, "cascade dial failed");
            let _ = inbox.send(Event::DialFailed { conn });
            return;
        }
    };
    let (out, mut outgoing) = mpsc::unbounded_channel();
    if inbox.send(Event::Connected { conn, out }).is_err() {
        return;
    }
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(WsMessage::Text(text))) => {
                    if inbox.send(Event::Text { side: Side::Up, conn, text: text.to_string() }).is_err() {
                        break;
                    }
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            out = outgoing.recv() => match out {
                Some(Out::Text(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => break,
            },
        }
    }
    let _ = sink.close().await;
    let _ = inbox.send(Event::Closed {
        side: Side::Up,
        conn,
    });
}

/// A command sent down a child link, waiting for its reply.
enum Pending {
    /// Our parent's command, forwarded: reply up when it is answered.
    Parent {
        request_id: RequestId,
        child: McuId,
        previous: Option<Selection>,
        command: Command,
    },
    /// An operator's command here.
    Operator {
        reply: std::sync::mpsc::Sender<Result<(), LiveError>>,
        child: McuId,
        previous: Option<Selection>,
        command: Command,
    },
    /// A selection restored after a child relinked: nobody waits for it.
    Restore { child: McuId },
}

/// The cascade task of one conference.
struct Conference {
    hub: Arc<Hub>,
    state: Arc<AppState>,
    id: ConferenceId,
    inbox: mpsc::UnboundedSender<Event>,
    tree: RosterTree,
    up: Option<ChildLink>,
    down: ParentLinks,
    conns: BTreeMap<(Side, ConnId), mpsc::UnboundedSender<Out>>,
    /// Where each child's connection came from.
    peers: BTreeMap<ConnId, std::net::SocketAddr>,
    /// The uplink's participant here, while the link up is up.
    uplink: Option<ParticipantId>,
    /// The parent the link up is on, primary or standby, and since when.
    parent_state: Option<(McuId, bool, LinkState, Option<i64>)>,
    /// Each child's trunk participant here.
    trunks: BTreeMap<McuId, ParticipantId>,
    /// Each child's link state and since when.
    children: BTreeMap<McuId, (LinkState, Option<i64>)>,
    pending: BTreeMap<RequestId, Pending>,
    /// Raised hands below this MCU, with when this MCU first saw each (Unix
    /// ms): the floor queue of the subtree, oldest first.
    floor: Vec<(CascadeEndpoint, i64)>,
    published: Option<Roster>,
    /// The camera preset names of each local endpoint, read from the store
    /// every [`PRESETS_PERIOD`], published with the roster.
    presets: BTreeMap<String, Vec<String>>,
    next_up: Option<Instant>,
    next_down: Option<Instant>,
}

fn endpoint_of(id: &EndpointId) -> Option<CascadeEndpoint> {
    CascadeEndpoint::new(id.as_str()).ok()
}

pub(crate) fn random_nonce() -> Nonce {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    // The system's generator does not fail on the platforms we run on; a
    // zero nonce would only weaken replay protection of this one attempt.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    Nonce(bytes)
}

impl Conference {
    fn new(
        hub: Arc<Hub>,
        state: Arc<AppState>,
        id: ConferenceId,
        links: &[mcu_store::ConferenceLink],
        inbox: mpsc::UnboundedSender<Event>,
    ) -> Self {
        let c = &hub.cascade;
        let t = now();
        let named = |mcu: &McuId| links.iter().find(|l| l.mcu == mcu.as_str());
        // The link up joins the counterpart conference on the parent: the
        // one the link names, or the one with this conference's id.
        let parent = c.parent.as_ref().and_then(|p| Some((p, named(&p.id)?)));
        let cascade_conference = parent.map(|(_, l)| {
            mcu_cascade::ids::ConferenceId::new(
                l.remote_conference.as_deref().unwrap_or(id.as_str()),
            )
        });
        let up = match (parent.map(|(p, _)| p), cascade_conference) {
            (Some(parent), Some(Ok(conference))) => Some(ChildLink::new(
                ChildLinkConfig {
                    link: c.me.id.clone(),
                    conference,
                    primary: ParentTarget {
                        id: parent.id.clone(),
                        secret: parent.secret.clone(),
                    },
                    standby: c.standby.as_ref().map(|s| ParentTarget {
                        id: s.id.clone(),
                        secret: s.secret.clone(),
                    }),
                    timing: c.timing.clone(),
                },
                t,
            )),
            (Some(_), Some(Err(e))) => {
                warn!(error = %e, "conference id is not a cascade id: no link up");
                None
            }
            _ => None,
        };
        let accepted: BTreeMap<McuId, _> = c
            .children
            .iter()
            .filter(|(k, _)| named(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let children = accepted
            .keys()
            .map(|k| (k.clone(), (LinkState::Reconnecting, None)))
            .collect();
        let down = ParentLinks::new(ParentLinksConfig {
            me: c.me.id.clone(),
            children: accepted,
            timing: Default::default(),
        });
        Self {
            tree: RosterTree::new(c.me.clone()).with_topology(c.topology.clone()),
            hub,
            state,
            id,
            inbox,
            up,
            down,
            conns: BTreeMap::new(),
            peers: BTreeMap::new(),
            uplink: None,
            parent_state: None,
            trunks: BTreeMap::new(),
            children,
            pending: BTreeMap::new(),
            floor: Vec::new(),
            published: None,
            presets: BTreeMap::new(),
            next_up: Some(t),
            next_down: None,
        }
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Event>) {
        let mut roster_tick = tokio::time::interval(ROSTER_PERIOD);
        roster_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut presets_tick = tokio::time::interval(PRESETS_PERIOD);
        presets_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = [self.next_up, self.next_down]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_else(|| now() + Duration::from_secs(3600));
            tokio::select! {
                ev = inbox.recv() => match ev {
                    Some(Event::Stop) | None => break,
                    Some(ev) => self.handle(ev).await,
                },
                _ = tokio::time::sleep_until(deadline.into()) => {}
                _ = roster_tick.tick() => self.refresh_roster(),
                _ = presets_tick.tick() => self.refresh_presets().await,
            }
            let t = now();
            if let Some(link) = &mut self.up
                && self.next_up.is_some_and(|d| d <= t)
            {
                link.handle_timeout(t);
            }
            if self.next_down.is_some_and(|d| d <= t) {
                self.down.handle_timeout(t);
            }
            self.drain().await;
        }
        for out in self.conns.values() {
            let _ = out.send(Out::Close);
        }
        if let Some(pid) = self.uplink.take() {
            self.leave(pid);
        }
        // The conference may run on (its links were renamed): no stale trunk tiles.
        for &pid in self.trunks.values() {
            self.leave(pid);
        }
        info!("cascade links of the conference closed");
    }

    async fn handle(&mut self, ev: Event) {
        let t = now();
        match ev {
            Event::Accepted { conn, peer, out } => {
                self.conns.insert((Side::Down, conn), out);
                self.peers.insert(conn, peer);
                self.down.handle_accepted(t, conn, random_nonce());
            }
            Event::Connected { conn, out } => {
                self.conns.insert((Side::Up, conn), out);
                if let Some(link) = &mut self.up {
                    link.handle_connected(t, conn, random_nonce());
                }
            }
            Event::DialFailed { conn } => {
                if let Some(link) = &mut self.up {
                    link.handle_dial_failed(t, conn);
                }
            }
            Event::Text { side, conn, text } => match (side, &mut self.up) {
                (Side::Up, Some(link)) => link.handle_text(t, conn, &text),
                (Side::Up, None) => {}
                (Side::Down, _) => self.down.handle_text(t, conn, &text),
            },
            Event::Closed { side, conn } => {
                self.conns.remove(&(side, conn));
                if side == Side::Down {
                    self.peers.remove(&conn);
                }
                match (side, &mut self.up) {
                    (Side::Up, Some(link)) => link.handle_closed(t, conn),
                    (Side::Up, None) => {}
                    (Side::Down, _) => self.down.handle_closed(t, conn),
                }
            }
            Event::Command { command, reply } => self.operator_command(t, command, reply).await,
            Event::Refresh => self.refresh_roster(),
            Event::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Event::Stop => {}
        }
    }

    fn send(&self, side: Side, conn: ConnId, text: String) {
        if let Some(out) = self.conns.get(&(side, conn)) {
            let _ = out.send(Out::Text(text));
        }
    }

    fn close(&mut self, side: Side, conn: ConnId) {
        if let Some(out) = self.conns.remove(&(side, conn)) {
            let _ = out.send(Out::Close);
        }
    }

    /// Carries out what both state machines asked for, until both wait.
    async fn drain(&mut self) {
        loop {
            let mut busy = false;
            if let Some(link) = &mut self.up {
                match link.poll_output() {
                    LinkOutput::Timeout(at) => self.next_up = Some(at),
                    out => {
                        busy = true;
                        self.link_output(out).await;
                    }
                }
            }
            match self.down.poll_output() {
                ParentOutput::Timeout(at) => self.next_down = at,
                out => {
                    busy = true;
                    self.parent_output(out).await;
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn neighbour(&self, id: &McuId) -> Option<&Neighbour> {
        let c = &self.hub.cascade;
        [c.parent.as_ref(), c.standby.as_ref()]
            .into_iter()
            .flatten()
            .find(|n| &n.id == id)
    }

    async fn link_output(&mut self, out: LinkOutput) {
        let t = now();
        let wall = crate::server::wall_clock_ms();
        match out {
            LinkOutput::Dial { conn, parent } => match self.neighbour(&parent) {
                Some(n) => {
                    tokio::spawn(dial(n.clone(), self.id.clone(), conn, self.inbox.clone()));
                }
                None => {
                    if let Some(link) = &mut self.up {
                        link.handle_dial_failed(t, conn);
                    }
                }
            },
            LinkOutput::Send { conn, msg } => self.send(Side::Up, conn, msg.to_json()),
            LinkOutput::Close { conn } => self.close(Side::Up, conn),
            LinkOutput::Up { parent, role } => {
                let standby = role == ParentRole::Standby;
                info!(parent = %parent, standby, "cascade link up");
                let details = serde_json::json!({"mcu": parent.as_str(), "name": self.mcu_name(&parent), "standby": standby});
                self.hub.audit(
                    &self.id,
                    parent.as_str(),
                    "",
                    "cascade.link_up",
                    details,
                    "ok",
                );
                self.parent_state = Some((parent.clone(), standby, LinkState::Up, Some(wall)));
                self.published = None;
                self.open_uplink(&parent).await;
            }
            LinkOutput::Down { parent, reason } => {
                warn!(parent = %parent, reason = ?reason, "cascade link down; redialling");
                let details = serde_json::json!({"mcu": parent.as_str(), "name": self.mcu_name(&parent), "reason": format!("{reason:?}")});
                self.hub.audit(
                    &self.id,
                    parent.as_str(),
                    "",
                    "cascade.link_down",
                    details,
                    "ok",
                );
                if let Some((_, _, state, since)) = &mut self.parent_state {
                    *state = LinkState::Reconnecting;
                    *since = Some(wall);
                }
                if let Some(pid) = self.uplink.take() {
                    self.leave(pid);
                }
            }
            LinkOutput::AttemptFailed { parent, reason } => {
                info!(parent = %parent, reason = ?reason, "cascade link attempt failed");
            }
            LinkOutput::Command {
                request_id,
                command,
            } => self.parent_command(t, request_id, command).await,
            LinkOutput::Answer { answer } => {
                let Some(pid) = self.uplink else { return };
                let result = match answer {
                    Ok(sdp) => self
                        .media_call(|reply| MediaCommand::UplinkAnswer {
                            participant: pid,
                            sdp,
                            reply,
                        })
                        .await
                        .and_then(|r| r),
                    Err(e) => Err(format!("the parent refused the trunk's media: {e}")),
                };
                if let Err(e) = result {
                    warn!(error = %e, "cascade uplink media not set up");
                }
            }
            LinkOutput::Timeout(_) => {}
            _ => {}
        }
    }

    /// A fresh uplink participant and its offer, sent up.
    async fn open_uplink(&mut self, parent: &McuId) {
        if let Some(old) = self.uplink.take() {
            self.leave(old);
        }
        let pid = ParticipantId(self.state.registry().new_participant_id());
        let name = self
            .hub
            .cascade
            .topology
            .node(parent)
            .map_or_else(|| parent.to_string(), |n| n.name.clone());
        let offer = self
            .media_call(|reply| MediaCommand::OpenUplink {
                participant: pid,
                endpoint: format!("cascade:{parent}"),
                name,
                reply,
            })
            .await
            .and_then(|r| r);
        match offer {
            Ok(sdp) => {
                self.uplink = Some(pid);
                if let Some(link) = &mut self.up {
                    let _ = link.offer(now(), sdp);
                }
            }
            Err(e) => warn!(error = %e, "cascade uplink not opened"),
        }
    }

    async fn parent_output(&mut self, out: ParentOutput) {
        let t = now();
        let wall = crate::server::wall_clock_ms();
        match out {
            ParentOutput::Send { conn, msg } => self.send(Side::Down, conn, msg.to_json()),
            ParentOutput::Close { conn } => self.close(Side::Down, conn),
            ParentOutput::ChildUp {
                child,
                conference,
                conn,
            } => {
                if conference.as_str() != self.id.as_str() {
                    warn!(child = %child, named = %conference, "cascade link for another conference: closed");
                    self.down.close_child(t, &child);
                    return;
                }
                info!(child = %child, conn = conn.0, "cascade child linked");
                let from = self
                    .peers
                    .get(&conn)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                self.hub.audit(
                    &self.id,
                    child.as_str(),
                    &from,
                    "cascade.link_up",
                    serde_json::json!({"mcu": child.as_str(), "name": self.mcu_name(&child)}),
                    "ok",
                );
                self.tree.set_child_link(&child, LinkState::Up);
                self.children.insert(child, (LinkState::Up, Some(wall)));
            }
            ParentOutput::ChildDown { child, reason } => {
                warn!(child = %child, reason = ?reason, "cascade child link down: reconnecting");
                self.hub.audit(&self.id, child.as_str(), "", "cascade.link_down", serde_json::json!({"mcu": child.as_str(), "name": self.mcu_name(&child), "reason": format!("{reason:?}")}), "ok");
                self.tree.set_child_link(&child, LinkState::Reconnecting);
                self.children
                    .insert(child.clone(), (LinkState::Reconnecting, Some(wall)));
                // The tile stays, with its last picture, until the link is back.
                if let Some(&pid) = self.trunks.get(&child) {
                    if let Some(media) = self.state.media(&self.id) {
                        media.send(MediaCommand::Detach { participant: pid });
                    }
                    let name = format!("{} — đang kết nối lại", self.mcu_name(&child));
                    self.control(Control::Rename {
                        participant: pid,
                        name,
                    });
                }
            }
            ParentOutput::Refused {
                conn,
                claimed,
                reason,
            } => {
                let from = self
                    .peers
                    .get(&conn)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                warn!(
                    conn = conn.0,
                    %from,
                    claimed = claimed.as_ref().map(McuId::as_str),
                    reason = ?reason,
                    "cascade link refused"
                );
                let claimed = claimed.as_ref().map_or("-", McuId::as_str);
                self.hub.audit(
                    &self.id,
                    claimed,
                    &from,
                    "cascade.link_refused",
                    serde_json::json!({"claimed": claimed, "reason": format!("{reason:?}")}),
                    "refused",
                );
            }
            ParentOutput::Roster { child, roster } => {
                match self.tree.set_child_roster(&child, roster) {
                    Ok(()) => self.restore(t, &child),
                    Err(e) => warn!(child = %child, error = %e, "cascade roster refused"),
                }
                self.relabel(&child);
                self.sync_floor(wall);
            }
            ParentOutput::Uplink { child, endpoint } => {
                if let Some(command) = self.tree.handle_child_uplink(&child, endpoint) {
                    self.send_restore(t, &child, command);
                }
                self.relabel(&child);
            }
            ParentOutput::FloorRequest {
                child,
                endpoint,
                raised,
            } => match self.tree.floor_request(&child, &endpoint, raised) {
                Ok(()) => {
                    info!(child = %child, endpoint = %endpoint, raised, "floor request from below");
                    self.sync_floor(wall);
                    if let Some(link) = &mut self.up {
                        let _ = link.floor_request(t, endpoint, raised);
                    }
                }
                Err(e) => warn!(child = %child, error = %e, "floor request refused"),
            },
            ParentOutput::Reply {
                child: _,
                request_id,
                error,
            } => self.child_reply(t, request_id, error),
            ParentOutput::Offer { child, sdp } => {
                let answer = self.admit_trunk(&child, sdp).await;
                if let Err(e) = &answer {
                    warn!(child = %child, error = %e, "cascade trunk media refused");
                }
                let _ = self.down.answer(&child, answer);
            }
            ParentOutput::Timeout(_) => {}
            _ => {}
        }
    }

    fn mcu_name(&self, id: &McuId) -> String {
        self.hub
            .cascade
            .topology
            .node(id)
            .map_or_else(|| id.to_string(), |n| n.name.clone())
    }

    /// A child's trunk joins the conference as a participant.
    async fn admit_trunk(&mut self, child: &McuId, sdp: String) -> Result<String, String> {
        let pid = ParticipantId(self.state.registry().new_participant_id());
        if let Some(old) = self.trunks.insert(child.clone(), pid) {
            self.leave(old);
        }
        let (gone, _) = oneshot::channel();
        let name = self.mcu_name(child);
        let master = self.up.is_none();
        let answer = self
            .media_call(|reply| MediaCommand::Offer {
                participant: pid,
                endpoint: format!("cascade:{child}"),
                name,
                sdp,
                chair: master,
                reply,
                gone,
            })
            .await
            .and_then(|r| r);
        if answer.is_ok() {
            self.follow_selection(child);
        }
        answer
    }

    /// When the selection goes through `child`, shows its (new) trunk:
    /// on the chair's main tile on the master, on the uplink elsewhere.
    fn follow_selection(&self, child: &McuId) {
        let through =
            matches!(self.tree.selection(), Some(Selection::Child { child: c, .. }) if c == child);
        if let (true, Some(&trunk)) = (through, self.trunks.get(child)) {
            if self.uplink.is_some() {
                self.control(Control::SelectUplink {
                    participant: Some(trunk),
                });
            } else {
                self.control(Control::CallToChair { participant: trunk });
            }
        }
        self.relabel(child);
    }

    /// Labels a child's trunk tile with the endpoint it carries.
    fn relabel(&self, child: &McuId) {
        let Some(&pid) = self.trunks.get(child) else {
            return;
        };
        let entries = self.tree.entries();
        let carried = self.tree.selection().and_then(|s| match s {
            Selection::Child { child: c, endpoint } if c == child => Some(endpoint.clone()),
            _ => None,
        });
        let name = carried
            .and_then(|e| entries.iter().find(|p| p.entry.endpoint == e))
            .map_or_else(|| self.mcu_name(child), |p| p.entry.name.clone());
        self.control(Control::Rename {
            participant: pid,
            name,
        });
    }

    fn restore(&mut self, t: Instant, child: &McuId) {
        if let Some(command) = self.tree.restore(child) {
            self.send_restore(t, child, command);
        }
    }

    fn send_restore(&mut self, t: Instant, child: &McuId, command: Command) {
        info!(child = %child, endpoint = %command.endpoint(), "restoring the selection through a relinked child");
        if let Ok(rid) = self.down.send_command(t, child, command) {
            self.pending.insert(
                rid,
                Pending::Restore {
                    child: child.clone(),
                },
            );
        }
    }

    fn error(&self, code: CommandErrorCode, endpoint: &CascadeEndpoint) -> CommandError {
        CommandError {
            code,
            endpoint: endpoint.clone(),
            at: self.hub.cascade.me.id.clone(),
        }
    }

    /// A command from the parent for this subtree.
    async fn parent_command(&mut self, t: Instant, request_id: RequestId, command: Command) {
        let previous = self.tree.selection().cloned();
        let outcome = match self.tree.route(command.clone()) {
            Err(e) => Some(Err(e)),
            Ok(Routed::Local(cmd)) => Some(self.apply_local(&cmd, false).await),
            Ok(Routed::Forward { child, command }) => {
                match self.down.send_command(t, &child, command.clone()) {
                    Ok(rid) => {
                        self.pending.insert(
                            rid,
                            Pending::Parent {
                                request_id,
                                child,
                                previous,
                                command,
                            },
                        );
                        None
                    }
                    Err(_) => {
                        self.tree.set_selection(previous);
                        Some(Err(
                            self.error(CommandErrorCode::LinkDown, command.endpoint())
                        ))
                    }
                }
            }
        };
        if let (Some(result), Some(link)) = (outcome, &mut self.up) {
            let _ = link.reply(t, request_id, result.err());
            link.set_uplink(t, self.tree.uplink_endpoint().cloned());
        }
    }

    /// An operator's command here for an endpoint below.
    async fn operator_command(
        &mut self,
        t: Instant,
        command: Command,
        reply: std::sync::mpsc::Sender<Result<(), LiveError>>,
    ) {
        let previous = self.tree.selection().cloned();
        match self.tree.route(command.clone()) {
            Err(e) => {
                let _ = reply.send(Err(remote_error(&e)));
            }
            Ok(Routed::Local(cmd)) => {
                let result = self.apply_local(&cmd, true).await;
                let _ = reply.send(result.map_err(|e| remote_error(&e)));
            }
            Ok(Routed::Forward { child, command }) => {
                match self.down.send_command(t, &child, command.clone()) {
                    Ok(rid) => {
                        self.pending.insert(
                            rid,
                            Pending::Operator {
                                reply,
                                child,
                                previous,
                                command,
                            },
                        );
                    }
                    Err(_) => {
                        self.tree.set_selection(previous);
                        let e = self.error(CommandErrorCode::LinkDown, command.endpoint());
                        let _ = reply.send(Err(remote_error(&e)));
                    }
                }
            }
        }
    }

    /// A child answered a command sent down.
    fn child_reply(&mut self, t: Instant, request_id: RequestId, error: Option<CommandError>) {
        match self.pending.remove(&request_id) {
            Some(Pending::Parent {
                request_id,
                child,
                previous,
                command,
            }) => {
                self.after_child_reply(&child, previous, &command, error.is_none(), false);
                if let Some(link) = &mut self.up {
                    let _ = link.reply(t, request_id, error);
                    link.set_uplink(t, self.tree.uplink_endpoint().cloned());
                }
            }
            Some(Pending::Operator {
                reply,
                child,
                previous,
                command,
            }) => {
                self.after_child_reply(&child, previous, &command, error.is_none(), true);
                if let Some(link) = &mut self.up {
                    link.set_uplink(t, self.tree.uplink_endpoint().cloned());
                }
                let _ = reply.send(error.map_or(Ok(()), |e| Err(remote_error(&e))));
            }
            Some(Pending::Restore { child }) => match error {
                None => self.follow_selection(&child),
                Some(e) => warn!(child = %child, error = ?e, "selection not restored"),
            },
            None => {}
        }
    }

    /// Switches this MCU's picture to the child's trunk once the level
    /// below carries the endpoint, or puts the selection back if it failed.
    fn after_child_reply(
        &mut self,
        child: &McuId,
        previous: Option<Selection>,
        command: &Command,
        done: bool,
        operator: bool,
    ) {
        if !matches!(command, Command::SelectUplink { .. }) {
            return;
        }
        if !done {
            self.tree.set_selection(previous);
            return;
        }
        let Some(&trunk) = self.trunks.get(child) else {
            return;
        };
        if self.uplink.is_some() {
            self.control(Control::SelectUplink {
                participant: Some(trunk),
            });
        }
        if self.up.is_none() || operator {
            self.control(Control::CallToChair { participant: trunk });
        }
        self.relabel(child);
    }

    /// Carries out a command on this MCU's own endpoint.
    async fn apply_local(&mut self, command: &Command, operator: bool) -> Result<(), CommandError> {
        let endpoint = command.endpoint();
        let participant = EndpointId::new(endpoint.as_str())
            .ok()
            .and_then(|e| self.state.registry().room(&self.id)?.participant_of(&e));
        let Some(pid) = participant.map(ParticipantId) else {
            return Err(self.error(CommandErrorCode::EndpointNotConnected, endpoint));
        };
        match command {
            Command::SelectUplink { .. } => {
                if self.uplink.is_some() {
                    self.control(Control::SelectUplink {
                        participant: Some(pid),
                    });
                }
                if self.up.is_none() || operator {
                    self.control(Control::CallToChair { participant: pid });
                }
                Ok(())
            }
            Command::SetMute { media, muted, .. } => {
                let Some(live) = self.hub.daemon_live() else {
                    return Err(self.error(CommandErrorCode::Failed, endpoint));
                };
                let (audio, video) = match media {
                    Media::Audio => (Some(*muted), None),
                    Media::Video => (None, Some(*muted)),
                };
                let command = LiveCommand::Mute {
                    endpoint: endpoint.as_str().to_owned(),
                    audio,
                    video,
                };
                let conference = self.id.as_str().to_owned();
                // The live side waits for the media thread: not on this task.
                std::thread::spawn(move || {
                    use mcu_control::Live;
                    if let Err(e) = live.command(&conference, command) {
                        warn!(error = %e, "mute from the cascade failed");
                    }
                });
                Ok(())
            }
            Command::RecallPreset { preset, .. } => {
                let found = match self.hub.store() {
                    Some(store) => store.preset(endpoint.as_str(), preset).await,
                    None => return Err(self.error(CommandErrorCode::Failed, endpoint)),
                };
                let preset = match found {
                    Ok(Some(p)) => p,
                    Ok(None) => return Err(self.error(CommandErrorCode::UnknownPreset, endpoint)),
                    Err(e) => {
                        warn!(error = %e, "camera preset not read");
                        return Err(self.error(CommandErrorCode::Failed, endpoint));
                    }
                };
                let Some(live) = self.hub.daemon_live() else {
                    return Err(self.error(CommandErrorCode::Failed, endpoint));
                };
                info!(endpoint = %endpoint, preset = preset.name, "camera preset recalled from the cascade");
                let command = LiveCommand::RecallPreset {
                    endpoint: endpoint.as_str().to_owned(),
                    preset,
                };
                // Sends one signalling message; it does not wait for media.
                use mcu_control::Live;
                live.command(self.id.as_str(), command)
                    .map_err(|e| match e {
                        LiveError::NotConnected(_) => {
                            self.error(CommandErrorCode::EndpointNotConnected, endpoint)
                        }
                        _ => self.error(CommandErrorCode::Failed, endpoint),
                    })
            }
            Command::AnswerFloor { granted, .. } => {
                let answered = self.hub.daemon_live().is_some_and(|live| {
                    EndpointId::new(endpoint.as_str())
                        .is_ok_and(|e| live.answer_floor_here(&self.id, &e, *granted))
                });
                if !answered {
                    return Err(self.error(CommandErrorCode::Failed, endpoint));
                }
                // The lowered hand goes up now, not at the next tick.
                self.refresh_roster();
                Ok(())
            }
            _ => Err(self.error(CommandErrorCode::Unsupported, endpoint)),
        }
    }

    /// Sends a live-control action to the conference's media thread
    /// without waiting (the thread applies actions in order).
    fn control(&self, control: Control) {
        if let Some(media) = self.state.media(&self.id) {
            let (reply, _) = std::sync::mpsc::channel();
            media.send(MediaCommand::Control { control, reply });
        }
    }

    fn leave(&self, participant: ParticipantId) {
        if let Some(media) = self.state.media(&self.id) {
            media.send(MediaCommand::Leave {
                participant,
                dropped: None,
            });
        }
    }

    /// Asks the media thread something and waits for the answer.
    async fn media_call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> MediaCommand,
    ) -> Result<T, String> {
        let media = self
            .state
            .media(&self.id)
            .ok_or("the conference's media has stopped")?;
        let (tx, rx) = oneshot::channel();
        if !media.send(make(tx)) {
            return Err("the conference's media has stopped".into());
        }
        match tokio::time::timeout(MEDIA_TIMEOUT, rx).await {
            Ok(Ok(v)) => Ok(v),
            _ => Err("the conference's media did not answer".into()),
        }
    }

    /// Reads the camera preset names of the conference's local endpoints.
    async fn refresh_presets(&mut self) {
        let Some(store) = self.hub.store() else {
            return;
        };
        let endpoints: Vec<String> = self
            .state
            .registry()
            .room(&self.id)
            .map(|r| {
                r.cascade_roster()
                    .into_iter()
                    .map(|e| e.endpoint.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut presets = BTreeMap::new();
        for e in endpoints {
            match store.presets(&e).await {
                Ok(list) if !list.is_empty() => {
                    presets.insert(e, list.into_iter().map(|p| p.name).collect());
                }
                Ok(_) => {}
                Err(err) => warn!(error = %err, "camera presets not read"),
            }
        }
        if presets != self.presets {
            self.presets = presets;
            self.refresh_roster();
        }
    }

    /// Reads the local endpoints and publishes the subtree up if it changed.
    fn refresh_roster(&mut self) {
        let quality = self
            .state
            .media(&self.id)
            .map(|m| m.stats().quality)
            .unwrap_or_default();
        let locals = {
            let registry = self.state.registry();
            let Some(room) = registry.room(&self.id) else {
                return;
            };
            room.cascade_roster()
        };
        let listed: Vec<CascadeEndpoint> = locals
            .iter()
            .filter_map(|l| endpoint_of(&l.endpoint))
            .collect();
        let stale: Vec<CascadeEndpoint> = self
            .tree
            .local()
            .map(|(e, _)| e.clone())
            .filter(|e| !listed.contains(e))
            .collect();
        for e in stale {
            self.tree.remove_local(&e);
        }
        let raised_before: BTreeMap<CascadeEndpoint, bool> = self
            .tree
            .local()
            .map(|(e, s)| (e.clone(), s.floor_requested))
            .collect();
        let mut floor_changes = Vec::new();
        for l in locals {
            let Some(id) = endpoint_of(&l.endpoint) else {
                continue;
            };
            let q = quality.iter().find(|q| q.endpoint == l.endpoint.as_str());
            let state = EndpointState {
                connected: l.connected,
                audio_muted: l.audio_muted,
                video_muted: l.video_muted,
                floor_requested: l.floor_requested,
                quality: q.map(|q| mcu_cascade::wire::Quality {
                    rtt_ms: q
                        .rtt
                        .map_or(0, |r| r.as_millis().min(u128::from(u32::MAX)) as u32),
                    loss_percent: (q.video.loss.max(q.audio.loss) * 100.0) as f32,
                    jitter_ms: q.video.jitter_ms.max(q.audio.jitter_ms).round() as u32,
                }),
                presets: self
                    .presets
                    .get(l.endpoint.as_str())
                    .cloned()
                    .unwrap_or_default(),
            };
            if raised_before.get(&id).copied().unwrap_or(false) != l.floor_requested {
                floor_changes.push((id.clone(), l.floor_requested));
            }
            self.tree.set_local(id, l.name, state);
        }
        let roster = self.tree.publish();
        let t = now();
        if let Some(link) = &mut self.up {
            // A raised hand goes up at once; the roster confirms it.
            for (endpoint, raised) in floor_changes {
                let _ = link.floor_request(t, endpoint, raised);
            }
            if self.published.as_ref() != Some(&roster) {
                link.set_roster(t, roster.clone());
                self.published = Some(roster);
            }
            link.set_uplink(t, self.tree.uplink_endpoint().cloned());
        }
    }

    /// Brings the subtree's floor queue in line with the tree: hands raised
    /// below join the queue (stamped `wall`), lowered ones leave it.
    fn sync_floor(&mut self, wall: i64) {
        let raised: Vec<CascadeEndpoint> = self
            .tree
            .entries()
            .into_iter()
            .filter(|e| e.path.len() > 1 && e.entry.state.floor_requested)
            .map(|e| e.entry.endpoint)
            .collect();
        self.floor.retain(|(e, _)| raised.contains(e));
        for e in raised {
            if !self.floor.iter().any(|(q, _)| *q == e) {
                self.floor.push((e, wall));
            }
        }
    }

    /// The trunks' receive figures of the last sample period: each trunk's
    /// media session is metered under `cascade:<mcu>`.
    fn link_quality(&self) -> BTreeMap<McuId, mcu_control::LinkQuality> {
        let Some(media) = self.state.media(&self.id) else {
            return BTreeMap::new();
        };
        media
            .stats()
            .quality
            .iter()
            .filter_map(|q| {
                let mcu = McuId::new(q.endpoint.strip_prefix("cascade:")?).ok()?;
                let figures = mcu_control::LinkQuality {
                    rx_kbps: (q.video.bitrate_bps + q.audio.bitrate_bps) / 1000.0,
                    loss_percent: q.video.loss.max(q.audio.loss) * 100.0,
                    jitter_ms: q.video.jitter_ms.max(q.audio.jitter_ms),
                    rtt_ms: q.rtt.map(|r| r.as_secs_f64() * 1000.0),
                };
                Some((mcu, figures))
            })
            .collect()
    }

    fn snapshot(&self) -> Snapshot {
        let c = &self.hub.cascade;
        Snapshot {
            me: c.me.clone(),
            parent: self.parent_state.clone().or_else(|| {
                // No parent link when the conference does not name it.
                self.up.as_ref()?;
                c.parent
                    .as_ref()
                    .map(|p| (p.id.clone(), false, LinkState::Reconnecting, None))
            }),
            children: self
                .children
                .iter()
                .map(|(id, (state, since))| (id.clone(), *state, *since))
                .collect(),
            endpoints: self.tree.entries(),
            selected: self.tree.uplink_endpoint().cloned(),
            warnings: c
                .topology
                .warnings()
                .iter()
                .map(ToString::to_string)
                .collect(),
            links: self.link_quality(),
            floor: self.floor.clone(),
        }
    }
}

/// A level's name as the API writes it (`province`).
fn level_name(l: mcu_cascade::topology::Level) -> String {
    serde_json::to_value(l)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A failed cascade command as the control API reports it.
fn remote_error(e: &CommandError) -> LiveError {
    let code = serde_json::to_value(e.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", e.code));
    LiveError::Remote {
        code,
        endpoint: e.endpoint.as_str().to_owned(),
        at: e.at.as_str().to_owned(),
    }
}

impl Snapshot {
    /// An MCU of the tree as the control API names it.
    fn mcu_of(topology: &mcu_cascade::topology::Topology, id: &McuId) -> mcu_control::CascadeMcu {
        match topology.node(id) {
            Some(n) => mcu_control::CascadeMcu {
                id: id.to_string(),
                name: n.name.clone(),
                level: level_name(n.level),
            },
            None => mcu_control::CascadeMcu {
                id: id.to_string(),
                name: id.to_string(),
                level: String::new(),
            },
        }
    }

    /// The tree as the control API shows it.
    pub(crate) fn to_live(
        &self,
        topology: &mcu_cascade::topology::Topology,
    ) -> mcu_control::LiveCascade {
        use mcu_control::{CascadeLink, CascadeMcu, LinkStatus};
        let mcu = |id: &McuId| Self::mcu_of(topology, id);
        let status = |s: LinkState, since: Option<i64>| match (s, since) {
            (LinkState::Up, _) => LinkStatus::Up,
            (_, Some(_)) => LinkStatus::Reconnecting,
            (_, None) => LinkStatus::Down,
        };
        mcu_control::LiveCascade {
            me: CascadeMcu {
                id: self.me.id.to_string(),
                name: self.me.name.clone(),
                level: level_name(self.me.level),
            },
            parent: self
                .parent
                .as_ref()
                .map(|(id, standby, state, since)| CascadeLink {
                    mcu: mcu(id),
                    state: status(*state, *since),
                    standby: *standby,
                    since_ms: *since,
                    quality: self.links.get(id).copied(),
                }),
            children: self
                .children
                .iter()
                .map(|(id, state, since)| CascadeLink {
                    mcu: mcu(id),
                    state: status(*state, *since),
                    standby: false,
                    since_ms: *since,
                    quality: self.links.get(id).copied(),
                })
                .collect(),
            endpoints: self
                .endpoints
                .iter()
                .map(|p| {
                    let q = p.entry.state.quality;
                    mcu_control::CascadeEndpoint {
                        endpoint: p.entry.endpoint.to_string(),
                        name: p.entry.name.clone(),
                        mcu: p.entry.mcu.to_string(),
                        path: p.path.iter().map(ToString::to_string).collect(),
                        display_path: p.display_path.clone(),
                        reachable: p.reachable,
                        connected: p.entry.state.connected,
                        audio_muted: p.entry.state.audio_muted,
                        video_muted: p.entry.state.video_muted,
                        floor_requested: p.entry.state.floor_requested,
                        rtt_ms: q.map(|q| f64::from(q.rtt_ms)),
                        loss_percent: q.map(|q| f64::from(q.loss_percent)),
                        jitter_ms: q.map(|q| f64::from(q.jitter_ms)),
                        selected: self.selected.as_ref() == Some(&p.entry.endpoint),
                        presets: p.entry.state.presets.clone(),
                    }
                })
                .collect(),
            warnings: self.warnings.clone(),
        }
    }
}
