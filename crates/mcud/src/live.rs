//! The daemon's side of live control: the control API's [`Live`] over the
//! registry (who may join, who is in) and the conferences' media threads.

use std::sync::Arc;
use std::time::Duration;

use mcu_control::{
    AlarmKind, DownlinkFigures, EndpointQuality, FloorRequest, Live, LiveAlarm, LiveCommand,
    LiveConference, LiveError, LiveLevels, LiveParticipant, LiveQuality, StreamFigures, View,
};
use mcu_mixer::ParticipantId;
use mcu_mixer::layout::LayoutLibrary;
use mcu_signalling::protocol::{
    CameraPreset, ConferenceId, DisplayName, EndpointId, FloorRequestAnswered, Media,
    OperatorMuteChanged, ServerMessage,
};
use mcu_store::Store;
use tracing::{info, warn};

use crate::media::{Control, ControlError, MediaCommand};
use crate::room::{Credential, Room};
use crate::server::AppState;

/// How long an operator's action may wait for the media thread.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(2);

/// [`Live`] over the daemon's conferences.
pub struct DaemonLive {
    state: Arc<AppState>,
    layouts: Vec<String>,
    /// Where recordings go (`None`: this daemon does not record).
    recordings: Option<crate::recording::RecordingSetup>,
    /// Each recorded conference's running recording.
    recording: std::sync::Mutex<std::collections::BTreeMap<String, crate::recording::Running>>,
}

impl DaemonLive {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        let mut library = LayoutLibrary::with_templates();
        let custom = std::path::Path::new("config/layouts");
        if custom.is_dir()
            && let Err(e) = library.load_dir(custom)
        {
            warn!("custom layouts not loaded: {e}");
        }
        let layouts = library.names().map(str::to_owned).collect();
        Self {
            state,
            layouts,
            recordings: None,
            recording: Default::default(),
        }
    }

    /// Records conferences as `setup` says (R17).
    pub(crate) fn with_recordings(mut self, setup: crate::recording::RecordingSetup) -> Self {
        self.recordings = Some(setup);
        self
    }

    fn running_recordings(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, crate::recording::Running>>
    {
        // Each holder changes the map in one step: a panic elsewhere leaves it whole.
        self.recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a recording command to a conference's media thread.
    fn record(
        &self,
        conference: &ConferenceId,
        sink: Option<crate::recording::RecordingSink>,
    ) -> Result<Result<(), String>, LiveError> {
        let media = self
            .state
            .media(conference)
            .ok_or_else(|| LiveError::NotRunning(conference.as_str().to_owned()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        if !media.send(MediaCommand::Record { sink, reply: tx }) {
            return Err(LiveError::Media(
                "the conference's media has stopped".into(),
            ));
        }
        rx.recv_timeout(CONTROL_TIMEOUT)
            .map_err(|_| LiveError::Media("the media thread did not answer in time".into()))
    }

    fn conference_id(id: &str) -> Result<ConferenceId, LiveError> {
        ConferenceId::new(id).map_err(|_| LiveError::NotRunning(id.to_owned()))
    }

    /// The participant id of a connected endpoint.
    fn participant(
        &self,
        conference: &ConferenceId,
        endpoint: &str,
    ) -> Result<ParticipantId, LiveError> {
        let not_connected = || LiveError::NotConnected(endpoint.to_owned());
        let endpoint = EndpointId::new(endpoint).map_err(|_| not_connected())?;
        let registry = self.state.registry();
        let room = registry
            .room(conference)
            .ok_or_else(|| LiveError::NotRunning(conference.as_str().to_owned()))?;
        room.participant_of(&endpoint)
            .map(ParticipantId)
            .ok_or_else(not_connected)
    }

    fn endpoint_id(endpoint: &str) -> Result<EndpointId, LiveError> {
        EndpointId::new(endpoint).map_err(|_| LiveError::NotConnected(endpoint.to_owned()))
    }

    /// Pins an endpoint to the chair view's main tile and unmutes it.
    fn call_to_chair(&self, id: &ConferenceId, endpoint: &str) -> Result<(), LiveError> {
        if let Some(command) = self.remote(id, endpoint, |endpoint| {
            mcu_cascade::wire::Command::SelectUplink { endpoint }
        }) {
            return self.cascade_command(id, command);
        }
        let participant = self.participant(id, endpoint)?;
        self.control(id, Control::CallToChair { participant })?;
        let ep = Self::endpoint_id(endpoint)?;
        for media in [Media::Audio, Media::Video] {
            self.state.registry().set_mute(id, &ep, media, false);
            let msg = ServerMessage::OperatorMuteChanged(OperatorMuteChanged {
                media,
                muted: false,
            });
            self.state.send_to(id, participant.0, &msg);
        }
        self.state.publish_roster(id);
        Ok(())
    }

    /// Takes an endpoint's floor request out of this MCU's queue and tells
    /// the endpoint the answer; false when it had none pending here.
    pub(crate) fn answer_floor_here(
        &self,
        id: &ConferenceId,
        endpoint: &EndpointId,
        granted: bool,
    ) -> bool {
        let pending = self
            .state
            .registry()
            .room_mut(id)
            .is_some_and(|r| r.cancel_floor(endpoint));
        if pending {
            self.tell_floor_answer(id, endpoint, granted);
        }
        pending
    }

    fn tell_floor_answer(&self, id: &ConferenceId, endpoint: &EndpointId, granted: bool) {
        if let Ok(p) = self.participant(id, endpoint.as_str()) {
            let answered = FloorRequestAnswered { granted };
            self.state
                .send_to(id, p.0, &ServerMessage::FloorRequestAnswered(answered));
        }
    }

    /// The cascade command for an endpoint below this MCU (`None`: it is
    /// not below, e.g. one of this conference's own endpoints).
    fn remote(
        &self,
        conference: &ConferenceId,
        endpoint: &str,
        command: impl FnOnce(mcu_cascade::ids::EndpointId) -> mcu_cascade::wire::Command,
    ) -> Option<mcu_cascade::wire::Command> {
        let hub = self.state.cascade()?;
        let own = self
            .state
            .registry()
            .room(conference)
            .is_some_and(|r| EndpointId::new(endpoint).is_ok_and(|e| r.name_of(&e).is_some()));
        if own || !hub.knows(conference, endpoint) {
            return None;
        }
        mcu_cascade::ids::EndpointId::new(endpoint)
            .ok()
            .map(command)
    }

    /// Sends a command down the cascade and waits for its outcome.
    fn cascade_command(
        &self,
        conference: &ConferenceId,
        command: mcu_cascade::wire::Command,
    ) -> Result<(), LiveError> {
        self.state
            .cascade()
            .ok_or_else(|| LiveError::Media("this MCU has no cascade".into()))?
            .command(conference, command)
    }

    fn control(&self, conference: &ConferenceId, control: Control) -> Result<(), LiveError> {
        let media = self
            .state
            .media(conference)
            .ok_or_else(|| LiveError::NotRunning(conference.as_str().to_owned()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        if !media.send(MediaCommand::Control { control, reply: tx }) {
            return Err(LiveError::Media(
                "the conference's media has stopped".into(),
            ));
        }
        // The media thread answers within one loop turn (a few ms).
        match rx.recv_timeout(CONTROL_TIMEOUT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(ControlError::UnknownLayout(l))) => Err(LiveError::UnknownLayout(l)),
            Ok(Err(ControlError::NoSuchSlot(s))) => Err(LiveError::NoSuchSlot(s)),
            Ok(Err(ControlError::Mixer(m))) => Err(LiveError::Media(m)),
            Err(_) => Err(LiveError::Media(
                "the media thread did not answer in time".into(),
            )),
        }
    }
}

impl Live for DaemonLive {
    fn cascade(&self, conference: &str) -> Option<mcu_control::LiveCascade> {
        let id = Self::conference_id(conference).ok()?;
        self.state.cascade()?.tree(&id)
    }

    fn cascade_neighbours(&self) -> Vec<mcu_control::CascadeNeighbour> {
        self.state
            .cascade()
            .map(|hub| hub.neighbours())
            .unwrap_or_default()
    }

    fn relink(&self, conference: &str, links: &[mcu_store::ConferenceLink]) {
        let Ok(id) = Self::conference_id(conference) else {
            return;
        };
        if let Some(hub) = self.state.cascade()
            && self.state.media(&id).is_some()
        {
            info!(
                conference,
                links = links.len(),
                "cascade links renamed: relinking"
            );
            hub.open(&self.state, &id, links);
        }
    }

    fn layouts(&self) -> Vec<String> {
        self.layouts.clone()
    }

    fn start(&self, c: &LiveConference) -> Result<(), LiveError> {
        let id = Self::conference_id(&c.id)?;
        let bad =
            |what: &str| LiveError::Media(format!("conference {} has an invalid {what}", c.id));
        let mut allowed = Vec::with_capacity(c.endpoints.len());
        for e in &c.endpoints {
            let credential = match &e.token_hash {
                Some(h) => Credential::Sha256(h.clone()),
                None => Credential::None,
            };
            allowed.push((
                EndpointId::new(e.id.clone()).map_err(|_| bad("endpoint id"))?,
                DisplayName::new(e.name.clone()).map_err(|_| bad("endpoint name"))?,
                credential,
            ));
        }
        let chair = c
            .chair
            .clone()
            .map(EndpointId::new)
            .transpose()
            .map_err(|_| bad("chair"))?;
        let title = DisplayName::new(c.title.clone()).map_err(|_| bad("title"))?;
        let room = Room::new(title, c.layout.clone(), chair, allowed);
        if !self.state.registry().add_room(id.clone(), room) {
            return Err(LiveError::AlreadyRunning(c.id.clone()));
        }
        if let Err(e) = self.state.open_conference(&id, &c.layout, &c.links) {
            self.state.registry().remove_room(&id);
            return Err(LiveError::Media(format!("media thread: {e}")));
        }
        info!(
            conference = c.id,
            endpoints = c.endpoints.len(),
            "conference opened"
        );
        if c.recording {
            // The conference runs even when its recording cannot start.
            if let Err(e) = self.start_recording(&c.id) {
                warn!(conference = c.id, error = %e, "booked recording not started");
            }
        }
        Ok(())
    }

    fn end(&self, conference: &str) {
        let Ok(id) = Self::conference_id(conference) else {
            return;
        };
        self.state.registry().remove_room(&id);
        // Closing the media thread drops the recording's sink: its writer
        // finishes the file.
        self.state.close_conference(&id);
        self.running_recordings().remove(conference);
        info!(conference, "conference closed");
    }

    fn roster(&self, conference: &str) -> Vec<LiveParticipant> {
        let Ok(id) = Self::conference_id(conference) else {
            return Vec::new();
        };
        self.state
            .registry()
            .room(&id)
            .map(|r| {
                r.roster()
                    .into_iter()
                    .map(|e| LiveParticipant {
                        endpoint: e.endpoint_id.as_str().to_owned(),
                        connected: true,
                        audio_muted: e.audio_muted,
                        video_muted: e.video_muted,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn levels(&self, conference: &str) -> LiveLevels {
        let Ok(id) = Self::conference_id(conference) else {
            return LiveLevels::default();
        };
        let Some(stats) = self.state.media(&id).map(|m| m.stats()) else {
            return LiveLevels::default();
        };
        let registry = self.state.registry();
        let Some(room) = registry.room(&id) else {
            return LiveLevels::default();
        };
        let endpoint = |p: u64| room.endpoint_of(p).map(|e| e.as_str().to_owned());
        LiveLevels {
            active_speaker: stats.active_speaker.and_then(endpoint),
            levels: stats
                .levels
                .iter()
                .filter_map(|&(p, level)| Some((endpoint(p)?, level)))
                .collect(),
        }
    }

    fn quality(&self, conference: &str) -> LiveQuality {
        let Ok(id) = Self::conference_id(conference) else {
            return LiveQuality::default();
        };
        let Some(stats) = self.state.media(&id).map(|m| m.stats()) else {
            return LiveQuality::default();
        };
        let registry = self.state.registry();
        let room = registry.room(&id);
        let figures = |q: &mcu_signalling::rtp::StreamQuality| StreamFigures {
            loss_percent: q.loss * 100.0,
            jitter_ms: q.jitter_ms,
            kbps: q.bitrate_bps / 1000.0,
            fps: q.fps,
        };
        let alarm = |a: &crate::quality::Alarm| LiveAlarm {
            endpoint: a.endpoint.clone(),
            kind: match a.kind {
                crate::quality::AlarmKind::Loss => AlarmKind::Loss,
                crate::quality::AlarmKind::Freeze => AlarmKind::Freeze,
                crate::quality::AlarmKind::Drop => AlarmKind::Drop,
            },
            raised_at: a.raised_at_ms,
            cleared_at: a.cleared_at_ms,
            value: a.value,
            threshold: a.threshold,
            detail: a.detail.clone(),
        };
        LiveQuality {
            endpoints: stats
                .quality
                .iter()
                .map(|q| EndpointQuality {
                    endpoint: q.endpoint.clone(),
                    rtt_ms: q.rtt.map(|d| d.as_secs_f64() * 1000.0),
                    video: figures(&q.video),
                    audio: figures(&q.audio),
                    audio_level_dbov: q.audio_level_dbov.map(f64::from),
                    video_size: q.video_size,
                    receiver: EndpointId::new(q.endpoint.as_str())
                        .ok()
                        .and_then(|e| room?.receiver(&e)),
                    downlink: q.downlink.as_ref().map(|d| DownlinkFigures {
                        class: match d.class {
                            mcu_mixer::mixer::BitrateClass::Low => "low",
                            mcu_mixer::mixer::BitrateClass::Standard => "standard",
                            mcu_mixer::mixer::BitrateClass::High => "high",
                        }
                        .into(),
                        estimate_kbps: d.estimate_bps.map(|b| b as f64 / 1000.0),
                        loss_percent: d.loss.map(|l| f64::from(l) * 100.0),
                    }),
                })
                .collect(),
            active_alarms: stats.alarms_active.iter().map(alarm).collect(),
            recent_alarms: stats.alarms_recent.iter().map(alarm).collect(),
        }
    }

    fn preview(&self, conference: &str, view: View) -> Result<Vec<u8>, LiveError> {
        let id = Self::conference_id(conference)?;
        let media = self
            .state
            .media(&id)
            .ok_or_else(|| LiveError::NotRunning(conference.to_owned()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let chair_view = view == View::Chair;
        if !media.send(MediaCommand::Preview {
            chair_view,
            reply: tx,
        }) {
            return Err(LiveError::Media(
                "the conference's media has stopped".into(),
            ));
        }
        let picture = rx
            .recv_timeout(CONTROL_TIMEOUT)
            .map_err(|_| LiveError::Media("the media thread did not answer in time".into()))?
            .ok_or_else(|| {
                LiveError::NoPicture(if chair_view { "chair" } else { "participants" }.into())
            })?;
        crate::preview::jpeg(&picture).map_err(LiveError::Media)
    }

    fn start_recording(&self, conference: &str) -> Result<String, LiveError> {
        let id = Self::conference_id(conference)?;
        let setup = self
            .recordings
            .as_ref()
            .ok_or(LiveError::RecordingUnavailable)?;
        if self.state.media(&id).is_none() {
            return Err(LiveError::NotRunning(conference.to_owned()));
        }
        if self.recording(conference).is_some() {
            return Err(LiveError::AlreadyRecording(conference.to_owned()));
        }
        let (sink, running) =
            crate::recording::start(setup, conference, crate::server::wall_clock_ms())
                .map_err(|e| LiveError::Media(e.to_string()))?;
        let file = running.file_name.clone();
        match self.record(&id, Some(sink))? {
            Ok(()) => {
                self.running_recordings()
                    .insert(conference.to_owned(), running);
                Ok(file)
            }
            Err(_) => Err(LiveError::AlreadyRecording(conference.to_owned())),
        }
    }

    fn stop_recording(&self, conference: &str) -> Result<(), LiveError> {
        let id = Self::conference_id(conference)?;
        let result = self.record(&id, None)?;
        self.running_recordings().remove(conference);
        result.map_err(|_| LiveError::NotRecording(conference.to_owned()))
    }

    fn recording(&self, conference: &str) -> Option<String> {
        let mut running = self.running_recordings();
        // A writer that failed has finished on its own: forget it.
        running.retain(|_, r| !r.finished.load(std::sync::atomic::Ordering::Acquire));
        running.get(conference).map(|r| r.file_name.clone())
    }

    fn recordings_dir(&self) -> Option<std::path::PathBuf> {
        self.recordings.as_ref().map(|r| r.dir.clone())
    }

    fn floor_queue(&self, conference: &str) -> Vec<FloorRequest> {
        let Ok(id) = Self::conference_id(conference) else {
            return Vec::new();
        };
        let mut queue: Vec<FloorRequest> = self
            .state
            .registry()
            .room(&id)
            .map(|r| {
                r.floor_queue()
                    .iter()
                    .map(|(e, at)| FloorRequest {
                        endpoint: e.as_str().to_owned(),
                        requested_at: *at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Hands raised below this MCU, with the time it first saw them.
        if let Some(hub) = self.state.cascade() {
            queue.extend(hub.floor(&id).into_iter().map(|(e, at)| FloorRequest {
                endpoint: e.as_str().to_owned(),
                requested_at: at,
            }));
            queue.sort_by_key(|r| r.requested_at);
        }
        queue
    }

    fn command(&self, conference: &str, command: LiveCommand) -> Result<(), LiveError> {
        let id = Self::conference_id(conference)?;
        match command {
            LiveCommand::Mute {
                endpoint,
                audio,
                video,
            } if self.state.cascade().is_some() && self.participant(&id, &endpoint).is_err() => {
                for (media, muted) in [
                    (mcu_cascade::wire::Media::Audio, audio),
                    (mcu_cascade::wire::Media::Video, video),
                ] {
                    let Some(muted) = muted else { continue };
                    let command = self
                        .remote(&id, &endpoint, |endpoint| {
                            mcu_cascade::wire::Command::SetMute {
                                endpoint,
                                media,
                                muted,
                            }
                        })
                        .ok_or_else(|| LiveError::NotConnected(endpoint.clone()))?;
                    self.cascade_command(&id, command)?;
                }
            }
            LiveCommand::Mute {
                endpoint,
                audio,
                video,
            } => {
                let participant = self.participant(&id, &endpoint)?;
                let control = Control::Mute {
                    participant,
                    audio,
                    video,
                };
                self.control(&id, control)?;
                let endpoint = Self::endpoint_id(&endpoint)?;
                for (media, muted) in [(Media::Audio, audio), (Media::Video, video)] {
                    if let Some(muted) = muted {
                        self.state.registry().set_mute(&id, &endpoint, media, muted);
                        let msg = ServerMessage::OperatorMuteChanged(OperatorMuteChanged {
                            media,
                            muted,
                        });
                        self.state.send_to(&id, participant.0, &msg);
                    }
                }
                self.state.publish_roster(&id);
            }
            LiveCommand::Disconnect { endpoint } => {
                let ep = Self::endpoint_id(&endpoint)?;
                let pid = self
                    .state
                    .registry()
                    .remove_member(&id, &ep)
                    .ok_or(LiveError::NotConnected(endpoint))?;
                if let Some(media) = self.state.media(&id) {
                    media.send(MediaCommand::Leave {
                        participant: ParticipantId(pid),
                        dropped: None,
                    });
                }
                self.state.publish_roster(&id);
            }
            LiveCommand::SetLayout { view, layout } => {
                self.control(
                    &id,
                    Control::SetLayout {
                        chair_view: view == View::Chair,
                        layout,
                    },
                )?;
            }
            LiveCommand::Pin {
                view,
                slot,
                endpoint,
            } => {
                let participant = endpoint.map(|e| self.participant(&id, &e)).transpose()?;
                self.control(
                    &id,
                    Control::Pin {
                        chair_view: view == View::Chair,
                        slot,
                        participant,
                    },
                )?;
            }
            LiveCommand::CallToChair { endpoint } => self.call_to_chair(&id, &endpoint)?,
            LiveCommand::RecallPreset { endpoint, preset } => {
                let participant = self.participant(&id, &endpoint)?;
                let msg = ServerMessage::CameraPreset(CameraPreset {
                    name: preset.name,
                    pan: preset.pan,
                    tilt: preset.tilt,
                    zoom: preset.zoom,
                });
                if !self.state.send_to(&id, participant.0, &msg) {
                    return Err(LiveError::NotConnected(endpoint));
                }
            }
            LiveCommand::RecallPresetBelow { endpoint, name } => {
                let command = self
                    .remote(&id, &endpoint, |endpoint| {
                        mcu_cascade::wire::Command::RecallPreset {
                            endpoint,
                            preset: name,
                        }
                    })
                    .ok_or_else(|| LiveError::NotConnected(endpoint.clone()))?;
                self.cascade_command(&id, command)?;
            }
            LiveCommand::RequestFloor { endpoint } => {
                let ep = Self::endpoint_id(&endpoint)?;
                let queued = self
                    .state
                    .registry()
                    .room_mut(&id)
                    .is_some_and(|r| r.request_floor(&ep, crate::server::wall_clock_ms()));
                if !queued {
                    return Err(LiveError::NotConnected(endpoint));
                }
                if let Some(hub) = self.state.cascade() {
                    hub.refresh(&id);
                }
            }
            LiveCommand::AnswerFloor { endpoint, grant } => {
                let ep = Self::endpoint_id(&endpoint)?;
                let here = self
                    .state
                    .registry()
                    .room_mut(&id)
                    .is_some_and(|r| r.cancel_floor(&ep));
                if !here {
                    // A hand raised below this MCU: its own MCU answers it.
                    let raised_below = self.state.cascade().is_some_and(|hub| {
                        hub.floor(&id).iter().any(|(e, _)| e.as_str() == endpoint)
                    });
                    let command = self
                        .remote(&id, &endpoint, |endpoint| {
                            mcu_cascade::wire::Command::AnswerFloor {
                                endpoint,
                                granted: grant,
                            }
                        })
                        .filter(|_| raised_below)
                        .ok_or_else(|| LiveError::NoFloorRequest(endpoint.clone()))?;
                    self.cascade_command(&id, command)?;
                }
                if grant {
                    self.call_to_chair(&id, &endpoint)?;
                }
                // Told last: the call-up's unmute notices come before it.
                if here {
                    self.tell_floor_answer(&id, &ep, grant);
                }
            }
        }
        Ok(())
    }
}

/// Reopens the conferences the database says are live (after a restart).
pub(crate) async fn resume(store: &Store, live: &DaemonLive) {
    let conferences = match store.list_conferences().await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "live conferences could not be listed");
            return;
        }
    };
    for c in conferences.into_iter().filter(|c| c.state.media_running()) {
        let started = match mcu_control::live_conference(store, &c).await {
            Ok(lc) => live.start(&lc).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match started {
            Ok(()) => info!(conference = c.id, "live conference resumed after restart"),
            Err(e) => warn!(conference = c.id, error = %e, "live conference not resumed"),
        }
    }
}
