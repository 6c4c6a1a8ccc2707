//! The bookings subscription of the cascade (`docs/cascade.md`, "Bookings
//! subscription"): each child holds one WebSocket to its parent,
//! `wss://<parent>/cascade`, authenticated like a conference's link, on
//! which the parent lists every conference naming the child's link that is
//! not over. The child opens its counterparts and follows their phases
//! through `mcu_control::counterpart`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use mcu_cascade::auth::{Channel, Prover, prove, verify};
use mcu_cascade::ids::{ConferenceId, McuId};
use mcu_cascade::wire::{
    BookedConference, DownMessage, RefusedCode, UpMessage, parse_down, parse_up,
};
use mcu_control::counterpart::Invitation;
use mcu_store::ConferenceState;
use tokio::time::{Instant, sleep, timeout_at};
use tracing::{info, warn};

use crate::cascade::{Hub, connect, random_nonce};
use crate::cascade_config::Neighbour;
use crate::server::AppState;

/// The whole handshake must end within this (as for a conference's link).
const HANDSHAKE: Duration = Duration::from_secs(5);
/// How often the parent reads its conferences for changes.
const CHECK_PERIOD: Duration = Duration::from_secs(1);
/// The parent sends the list at least this often, changed or not.
const RESEND_PERIOD: Duration = Duration::from_secs(10);
/// The child takes this long without a `bookings` as a drop.
const SILENCE: Duration = Duration::from_secs(30);
/// First and longest wait before the child redials.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A subscription's messages are small: `subscribe` and `auth` up.
const MAX_UP_BYTES: usize = 16 * 1024;

/// `GET /cascade`: a child MCU's bookings subscription.
pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(hub) = state.cascade().cloned() else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            "this MCU takes no cascade links\n",
        )
            .into_response();
    };
    let stopping = state.stopping();
    ws.max_message_size(MAX_UP_BYTES)
        .on_upgrade(move |socket| serve(socket, hub, peer, stopping))
}

/// The next message of a child before `deadline`; `None` on a close, a
/// timeout or a message that does not parse.
async fn next_up(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    deadline: Instant,
) -> Option<UpMessage> {
    loop {
        match timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return parse_up(&text).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

async fn serve(
    socket: WebSocket,
    hub: Arc<Hub>,
    peer: SocketAddr,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let (mut sink, mut stream) = socket.split();
    let deadline = Instant::now() + HANDSHAKE;
    let send = |msg: DownMessage| Message::Text(msg.to_json().into());
    let refuse = |code: RefusedCode| send(DownMessage::Refused { code });
    let Some(UpMessage::Subscribe {
        link,
        nonce: child_nonce,
    }) = next_up(&mut stream, deadline).await
    else {
        let _ = sink.send(refuse(RefusedCode::ProtocolViolation)).await;
        return;
    };
    let parent_nonce = random_nonce();
    if sink
        .send(send(DownMessage::Challenge {
            nonce: parent_nonce,
        }))
        .await
        .is_err()
    {
        return;
    }
    let proof = match next_up(&mut stream, deadline).await {
        Some(UpMessage::Auth { proof }) => Some(proof),
        _ => None,
    };
    let secret = hub.config().children.get(&link);
    let accepted = match (secret, &proof) {
        (Some(secret), Some(proof)) => verify(
            secret,
            Prover::Child,
            &link,
            Channel::Bookings,
            &parent_nonce,
            &child_nonce,
            proof,
        ),
        _ => false,
    };
    let Some(secret) = secret.filter(|_| accepted) else {
        // The same answer for an unknown link and a wrong proof; the log
        // and the audit say which.
        let reason = match (secret, proof) {
            (None, _) => "unknown link",
            (Some(_), None) => "no auth in time",
            (Some(_), Some(_)) => "wrong proof",
        };
        warn!(%peer, claimed = %link, reason, "cascade bookings subscription refused");
        let _ = sink.send(refuse(RefusedCode::AuthFailed)).await;
        if let Some(control) = hub.control() {
            let actor = format!("cascade:{link}");
            control
                .audit(
                    (&actor, "cascade"),
                    &peer.to_string(),
                    "cascade.subscription_refused",
                    "cascade",
                    &serde_json::json!({"claimed": link.as_str(), "reason": reason}),
                    "refused",
                )
                .await;
        }
        return;
    };
    let proof = prove(
        secret,
        Prover::Parent,
        &link,
        Channel::Bookings,
        &parent_nonce,
        &child_nonce,
    );
    if sink
        .send(send(DownMessage::Welcome { proof }))
        .await
        .is_err()
    {
        return;
    }
    info!(%peer, child = %link, "cascade bookings subscription up");
    let mut last: Option<(Vec<BookedConference>, Instant)> = None;
    let mut check = tokio::time::interval(CHECK_PERIOD);
    loop {
        tokio::select! {
            () = async { let _ = stopping.wait_for(|s| *s).await; } => break,
            msg = stream.next() => match msg {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {} // nothing else is expected; ignored
            },
            _ = check.tick() => {
                let Some(list) = bookings_for(&hub, &link).await else {
                    continue;
                };
                let due = match &last {
                    Some((sent, at)) => *sent != list || at.elapsed() >= RESEND_PERIOD,
                    None => true,
                };
                if due {
                    let msg = send(DownMessage::Bookings { conferences: list.clone() });
                    if sink.send(msg).await.is_err() {
                        break;
                    }
                    last = Some((list, Instant::now()));
                }
            }
        }
    }
    info!(%peer, child = %link, "cascade bookings subscription closed");
}

/// The conferences here that name `child`'s link and are not over; `None`
/// when the store cannot be read.
async fn bookings_for(hub: &Hub, child: &McuId) -> Option<Vec<BookedConference>> {
    let control = hub.control()?;
    let all = match control.store.list_conferences().await {
        Ok(all) => all,
        Err(e) => {
            warn!(error = %e, "conferences unreadable for the bookings subscription");
            return None;
        }
    };
    Some(
        all.into_iter()
            .filter(|c| !c.state.is_over() && c.links.iter().any(|l| l.mcu == child.as_str()))
            .filter_map(|c| {
                Some(BookedConference {
                    conference: ConferenceId::new(c.id).ok()?,
                    title: c.title,
                    state: c.state.as_str().to_owned(),
                })
            })
            .collect(),
    )
}

/// The child's side: keeps the subscription to its parent up for as long
/// as the daemon runs (`None` on the master, or when this MCU does not
/// open counterparts).
pub(crate) fn spawn_subscription(hub: Arc<Hub>) -> Option<tokio::task::JoinHandle<()>> {
    if !hub.config().open_counterparts {
        return None;
    }
    let parent = hub.config().parent.clone()?;
    Some(tokio::spawn(async move {
        let mut backoff = BACKOFF_FIRST;
        loop {
            match subscribe(&hub, &parent).await {
                Ok(()) => backoff = BACKOFF_FIRST,
                Err(e) => {
                    info!(parent = %parent.id, error = %e, "cascade bookings subscription down")
                }
            }
            sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }))
}

/// One subscription: handshake, then every `bookings` applied. `Ok` when it
/// was up and then dropped; `Err` when it never came up.
async fn subscribe(hub: &Hub, parent: &Neighbour) -> Result<(), String> {
    let me = hub.config().me.id.clone();
    let ws = connect(parent, "/cascade").await?;
    let (mut sink, mut stream) = ws.split();
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let child_nonce = random_nonce();
    let send = |msg: UpMessage| WsMessage::Text(msg.to_json().into());
    let mut next = async |until: Instant| loop {
        match timeout_at(until, stream.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                return parse_down(&text).map_err(|e| e.to_string());
            }
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => {}
            Ok(Some(Ok(_))) => return Err("unexpected binary message".into()),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) => return Err("closed".into()),
            Err(_) => return Err("timed out".into()),
        }
    };
    sink.send(send(UpMessage::Subscribe {
        link: me.clone(),
        nonce: child_nonce,
    }))
    .await
    .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + HANDSHAKE;
    let parent_nonce = match next(deadline).await? {
        DownMessage::Challenge { nonce } => nonce,
        other => return Err(format!("expected challenge, got {other:?}")),
    };
    let proof = prove(
        &parent.secret,
        Prover::Child,
        &me,
        Channel::Bookings,
        &parent_nonce,
        &child_nonce,
    );
    sink.send(send(UpMessage::Auth { proof }))
        .await
        .map_err(|e| e.to_string())?;
    match next(deadline).await? {
        DownMessage::Welcome { proof }
            if verify(
                &parent.secret,
                Prover::Parent,
                &me,
                Channel::Bookings,
                &parent_nonce,
                &child_nonce,
                &proof,
            ) => {}
        DownMessage::Welcome { .. } => {
            warn!(parent = %parent.id, "the parent's bookings proof is wrong: not the configured parent");
            return Err("the parent's proof is wrong".into());
        }
        other => return Err(format!("refused: {other:?}")),
    }
    info!(parent = %parent.id, "cascade bookings subscription up");
    loop {
        match next(Instant::now() + SILENCE).await {
            Ok(DownMessage::Bookings { conferences }) => {
                let invited: Vec<Invitation> = conferences
                    .into_iter()
                    .map(|b| Invitation {
                        conference: b.conference.as_str().to_owned(),
                        title: b.title,
                        // A phase this MCU does not know yet: not started.
                        state: b.state.parse().unwrap_or(ConferenceState::Created),
                    })
                    .collect();
                if let Some(control) = hub.control() {
                    mcu_control::counterpart::follow(
                        &control,
                        me.as_str(),
                        parent.id.as_str(),
                        &invited,
                    )
                    .await;
                }
            }
            Ok(_) => {} // nothing else is expected; ignored
            Err(e) => {
                info!(parent = %parent.id, error = %e, "cascade bookings subscription dropped");
                return Ok(());
            }
        }
    }
}
