//! What the control API asks of the running media: the daemon implements
//! [`Live`] over its conference threads; the API never touches media itself.

/// One endpoint of a conference being started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveEndpoint {
    /// Endpoint id.
    pub id: String,
    /// Name drawn into its tile.
    pub name: String,
    /// SHA-256 (hex) of its dial-in token; `None`: it cannot dial in yet.
    pub token_hash: Option<String>,
}

/// A conference to open for media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConference {
    /// Conference id.
    pub id: String,
    /// Title with diacritics.
    pub title: String,
    /// Layout of the chair view.
    pub layout: String,
    /// The chair endpoint.
    pub chair: Option<String>,
    /// Who may join.
    pub endpoints: Vec<LiveEndpoint>,
    /// Record it from the start (its booking asked for a recording).
    pub recording: bool,
    /// The cascade links it names (none: local to this MCU).
    pub links: Vec<mcu_store::ConferenceLink>,
}

/// A neighbour of this MCU in the cascade tree, as a conference may name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CascadeNeighbour {
    /// The MCU.
    pub mcu: CascadeMcu,
    /// `parent` (the link up), or `child` (a link this MCU accepts).
    pub role: NeighbourRole,
    /// The parent's standby (R18), which the link up falls back to.
    pub standby: Option<CascadeMcu>,
}

/// Which way a neighbour's link goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NeighbourRole {
    /// This MCU dials it.
    Parent,
    /// It dials this MCU (a standby's children are these too).
    Child,
}

/// The live state of one participant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveParticipant {
    /// Endpoint id.
    pub endpoint: String,
    /// Media connected.
    pub connected: bool,
    /// Audio muted.
    pub audio_muted: bool,
    /// Video muted.
    pub video_muted: bool,
}

/// Which output group a layout or pin applies to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// What the chair endpoint sees.
    Chair,
    /// What every other participant sees.
    Participants,
}

/// A live-control action on a running conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveCommand {
    /// Mute or unmute a participant's audio and/or video (`None`: unchanged).
    Mute {
        /// Endpoint id.
        endpoint: String,
        /// New audio state.
        audio: Option<bool>,
        /// New video state.
        video: Option<bool>,
    },
    /// Drop a participant's connection.
    Disconnect {
        /// Endpoint id.
        endpoint: String,
    },
    /// Change a view's layout.
    SetLayout {
        /// The output group.
        view: View,
        /// Layout name.
        layout: String,
    },
    /// Pin an endpoint to a tile of a view (`None` clears the pin).
    Pin {
        /// The output group.
        view: View,
        /// Tile index in the layout.
        slot: usize,
        /// Endpoint id.
        endpoint: Option<String>,
    },
    /// Call an endpoint to the chair screen: pin it to the main tile of the
    /// chair view and unmute its audio.
    CallToChair {
        /// Endpoint id.
        endpoint: String,
    },
    /// Point an endpoint's camera at a stored position.
    RecallPreset {
        /// Endpoint id.
        endpoint: String,
        /// The position.
        preset: mcu_store::CameraPreset,
    },
    /// Recall, on an endpoint of another MCU below this one, a camera
    /// preset stored at that MCU (by name): the command travels down the
    /// cascade to the owning MCU, which looks the preset up.
    RecallPresetBelow {
        /// Endpoint id.
        endpoint: String,
        /// The preset's name as stored at the owning MCU.
        name: String,
    },
    /// Queue a floor request on behalf of an endpoint.
    RequestFloor {
        /// Endpoint id.
        endpoint: String,
    },
    /// Answer an endpoint's floor request: grant (call to chair) or dismiss.
    AnswerFloor {
        /// Endpoint id.
        endpoint: String,
        /// Grant (else dismiss).
        grant: bool,
    },
}

/// Sound in a conference right now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveLevels {
    /// The endpoint speaking, if any.
    pub active_speaker: Option<String>,
    /// Each connected endpoint's audio level in the last mix, dBov (-127 silence … 0).
    pub levels: Vec<(String, f32)>,
}

/// One incoming stream's figures over the last sample period.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StreamFigures {
    /// Packets lost, percent of those expected.
    pub loss_percent: f64,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Bitrate received, kbit/s.
    pub kbps: f64,
    /// Frames per second (video: pictures; audio: packets).
    pub fps: f64,
}

/// What an endpoint's client reports of the composite it receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReceiverFigures {
    /// Pictures of the composite it decoded per second (between its last two reports).
    pub decoded_fps: f64,
    /// Their width.
    pub width: u32,
    /// Their height.
    pub height: u32,
    /// When it last reported (Unix ms).
    pub at_ms: i64,
}

/// What the MCU measures of one connected endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndpointQuality {
    /// Endpoint id.
    pub endpoint: String,
    /// Round-trip time on its media path, ms (once measured).
    pub rtt_ms: Option<f64>,
    /// Its video as received.
    pub video: StreamFigures,
    /// Its audio as received.
    pub audio: StreamFigures,
    /// The loudest level of its audio over the sample period, dBov (absent
    /// while no audio was decoded).
    pub audio_level_dbov: Option<f64>,
    /// The picture size it sends (from its stream's parameter sets), once known.
    pub video_size: Option<(u32, u32)>,
    /// What its client last reported of the composite it receives.
    pub receiver: Option<ReceiverFigures>,
    /// Its downlink as the MCU sees it from the feedback (absent for a
    /// link with no such feedback).
    pub downlink: Option<DownlinkFigures>,
}

/// The path from the MCU to an endpoint, from its feedback: the send-side
/// bandwidth estimate, the loss it reports on our video, and the bitrate
/// class the MCU picked for it from them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct DownlinkFigures {
    /// `low`, `standard` or `high`: the encode the endpoint receives.
    pub class: String,
    /// Bandwidth estimate of the path, kbit/s (absent until feedback came).
    pub estimate_kbps: Option<f64>,
    /// Loss of our video in its latest report, percent.
    pub loss_percent: Option<f64>,
}

/// What an alarm is about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// Packet loss above the threshold.
    Loss,
    /// No new picture for longer than the threshold.
    Freeze,
    /// The endpoint's media failed.
    Drop,
}

/// An alarm of a conference.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveAlarm {
    /// Endpoint id.
    pub endpoint: String,
    /// What it is about.
    pub kind: AlarmKind,
    /// When it was raised (Unix ms).
    pub raised_at: i64,
    /// When it was cleared (Unix ms), if it was.
    pub cleared_at: Option<i64>,
    /// The figure that raised it (loss: percent; freeze: seconds).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// Why, in words (a drop's reason).
    pub detail: String,
}

/// Quality and alarms of a running conference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveQuality {
    /// Connected endpoints' figures.
    pub endpoints: Vec<EndpointQuality>,
    /// Alarms raised and not cleared, oldest first.
    pub active_alarms: Vec<LiveAlarm>,
    /// Cleared alarms, newest first.
    pub recent_alarms: Vec<LiveAlarm>,
}

/// A pending floor request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloorRequest {
    /// Endpoint id.
    pub endpoint: String,
    /// When it was made (Unix ms).
    pub requested_at: i64,
}

/// One MCU of the cascade tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CascadeMcu {
    /// MCU id (the id of its cascade link, as configured).
    pub id: String,
    /// Name with diacritics ("Tuyên Quang").
    pub name: String,
    /// `central`, `province`, `district` or `commune`.
    pub level: String,
}

/// The state of a cascade link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Authenticated; media and commands flow.
    Up,
    /// Dropped; the child is redialling (its subtree is unreachable meanwhile).
    Reconnecting,
    /// Not connected and not being redialled (e.g. never came up).
    Down,
}

/// A cascade link to another MCU (a parent or a child of this one).
#[derive(Clone, Debug, PartialEq)]
pub struct CascadeLink {
    /// The MCU at the other end.
    pub mcu: CascadeMcu,
    /// Its state.
    pub state: LinkStatus,
    /// This is the standby parent (R18), not the configured one.
    pub standby: bool,
    /// When the state last changed (Unix ms), if known.
    pub since_ms: Option<i64>,
    /// What this MCU receives over the link (the trunk's media), once measured.
    pub quality: Option<LinkQuality>,
}

/// The trunk media this MCU receives over a cascade link, over the last
/// sample period.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LinkQuality {
    /// Video and audio received, kbit/s.
    pub rx_kbps: f64,
    /// Packet loss, percent (the worse of video and audio).
    pub loss_percent: f64,
    /// Interarrival jitter, ms (the worse of video and audio).
    pub jitter_ms: f64,
    /// Round-trip time, ms, once measured.
    pub rtt_ms: Option<f64>,
}

/// One endpoint of the cascade tree, as this MCU sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CascadeEndpoint {
    /// Endpoint id (unique across the tree).
    pub endpoint: String,
    /// Name with diacritics.
    pub name: String,
    /// The MCU it is connected to.
    pub mcu: String,
    /// MCU ids from this MCU down to its owner, both included.
    pub path: Vec<String>,
    /// The path by names: "Chính phủ › Tuyên Quang › Sơn Dương › Hợp Thành".
    pub display_path: String,
    /// False when a link on the path is reconnecting.
    pub reachable: bool,
    /// Media connected.
    pub connected: bool,
    /// Audio muted.
    pub audio_muted: bool,
    /// Video muted.
    pub video_muted: bool,
    /// It has a floor request pending.
    pub floor_requested: bool,
    /// Round-trip time at its MCU, ms (once measured).
    pub rtt_ms: Option<f64>,
    /// Packet loss at its MCU, percent (once measured).
    pub loss_percent: Option<f64>,
    /// Interarrival jitter at its MCU, ms (once measured).
    pub jitter_ms: Option<f64>,
    /// It is what this MCU's chair main tile / uplink carries now.
    pub selected: bool,
    /// Names of the camera presets its MCU stores for it (R6).
    pub presets: Vec<String>,
}

/// The cascade tree as one MCU sees it for one running conference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveCascade {
    /// This MCU.
    pub me: CascadeMcu,
    /// The link to this MCU's parent (None on the master).
    pub parent: Option<CascadeLink>,
    /// The links of this MCU's children (configured ones, up or not).
    pub children: Vec<CascadeLink>,
    /// Every endpoint of this MCU and of the whole subtree below it.
    pub endpoints: Vec<CascadeEndpoint>,
    /// Topology warnings (e.g. a path of more than three links), in words.
    pub warnings: Vec<String>,
}

/// Why a live action failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The conference has no running media.
    #[error("conference {0} is not running")]
    NotRunning(String),
    /// The conference is running already.
    #[error("conference {0} is running already")]
    AlreadyRunning(String),
    /// The endpoint is not connected to the conference.
    #[error("endpoint {0} is not connected")]
    NotConnected(String),
    /// No layout by that name.
    #[error("unknown layout {0:?}")]
    UnknownLayout(String),
    /// The layout has no such tile.
    #[error("layout has no tile {0}")]
    NoSuchSlot(usize),
    /// The endpoint has no pending floor request.
    #[error("endpoint {0} has no pending floor request")]
    NoFloorRequest(String),
    /// The media side failed.
    #[error("media: {0}")]
    Media(String),
    /// Nobody sees that view yet: there is no composite of it.
    #[error("nobody sees the {0} view yet: there is no picture of it")]
    NoPicture(String),
    /// The conference is being recorded already.
    #[error("conference {0} is being recorded already")]
    AlreadyRecording(String),
    /// The conference is not being recorded.
    #[error("conference {0} is not being recorded")]
    NotRecording(String),
    /// This media side cannot record.
    #[error("recording is not available here")]
    RecordingUnavailable,
    /// A command sent down the cascade failed at another MCU.
    #[error("{code} for endpoint {endpoint} at MCU {at}")]
    Remote {
        /// Why, as the cascade protocol says it: `endpoint_not_connected`,
        /// `link_down`, `timeout`, `unknown_endpoint` (docs/cascade.md).
        code: String,
        /// The endpoint the command was for.
        endpoint: String,
        /// The MCU that found the problem.
        at: String,
    },
}

/// The running media, as the control API sees it.
pub trait Live: Send + Sync + 'static {
    /// Layout names the mixer knows.
    fn layouts(&self) -> Vec<String>;
    /// Opens a conference for endpoints to join.
    fn start(&self, conference: &LiveConference) -> Result<(), LiveError>;
    /// Closes a conference: participants are disconnected.
    fn end(&self, conference: &str);
    /// Live state of a conference's participants (empty when not running).
    fn roster(&self, conference: &str) -> Vec<LiveParticipant>;
    /// Applies a live-control action.
    fn command(&self, conference: &str, command: LiveCommand) -> Result<(), LiveError>;
    /// Pending floor requests, oldest first (empty when not running).
    fn floor_queue(&self, conference: &str) -> Vec<FloorRequest>;
    /// Audio levels and the active speaker (empty when not running).
    fn levels(&self, conference: &str) -> LiveLevels;
    /// Per-endpoint quality and the alarms of a running conference (empty
    /// when it is not running).
    fn quality(&self, conference: &str) -> LiveQuality;
    /// A JPEG of a view's composite as its viewers see it now.
    /// Errors: not running; [`LiveError::NoPicture`] when nobody sees
    /// that view yet (no composite is made for it).
    fn preview(&self, conference: &str, view: View) -> Result<Vec<u8>, LiveError>;
    /// Starts recording a running conference (R17: the chair view and the
    /// full mix into an MP4 in the recordings directory); returns the file
    /// name. The recording stops with [`stop_recording`](Self::stop_recording)
    /// or when the conference ends.
    fn start_recording(&self, conference: &str) -> Result<String, LiveError> {
        let _ = conference;
        Err(LiveError::RecordingUnavailable)
    }
    /// Stops a conference's recording (its file is finished and listed).
    fn stop_recording(&self, conference: &str) -> Result<(), LiveError> {
        let _ = conference;
        Err(LiveError::RecordingUnavailable)
    }
    /// The file a running conference is being recorded to, if any.
    fn recording(&self, conference: &str) -> Option<String> {
        let _ = conference;
        None
    }
    /// Where recording files are (downloads read them there); `None` when
    /// this media side does not record.
    fn recordings_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// The cascade tree of a running conference; `None` when this MCU has
    /// no cascade configured or the conference is not running.
    ///
    /// [`command`](Self::command) accepts the endpoints listed here that are
    /// not this MCU's own for [`LiveCommand::CallToChair`] and
    /// [`LiveCommand::Mute`], and sends them down the tree; a failure further
    /// down comes back as [`LiveError::Remote`].
    fn cascade(&self, conference: &str) -> Option<LiveCascade> {
        let _ = conference;
        None
    }
    /// The neighbours a conference may name as its cascade links (empty
    /// when this MCU has no cascade configured).
    fn cascade_neighbours(&self) -> Vec<CascadeNeighbour> {
        Vec::new()
    }
    /// A running conference's links changed: its cascade links close and
    /// open again as `links` names them.
    fn relink(&self, conference: &str, links: &[mcu_store::ConferenceLink]) {
        let _ = (conference, links);
    }
}

/// What the media side needs to open a stored conference: its endpoints'
/// names and dial-in token hashes.
pub async fn live_conference(
    store: &mcu_store::Store,
    c: &mcu_store::Conference,
) -> Result<LiveConference, mcu_store::StoreError> {
    let mut endpoints = Vec::with_capacity(c.participants.len());
    for id in &c.participants {
        let e = store
            .endpoint(id)
            .await?
            .ok_or_else(|| mcu_store::StoreError::NotFound(format!("endpoint {id}")))?;
        endpoints.push(LiveEndpoint {
            token_hash: store.endpoint_token_hash(id).await?,
            id: e.id,
            name: e.name,
        });
    }
    // A conference made from a booking records its official session when
    // the booking says so (not its rehearsal).
    let recording =
        c.state == mcu_store::ConferenceState::Live && booked_recording(store, c).await?;
    Ok(LiveConference {
        id: c.id.clone(),
        title: c.title.clone(),
        layout: c.layout.clone(),
        chair: c.chair.clone(),
        endpoints,
        recording,
        links: c.links.clone(),
    })
}

/// Whether the booking a conference was opened for asks for a recording.
pub(crate) async fn booked_recording(
    store: &mcu_store::Store,
    c: &mcu_store::Conference,
) -> Result<bool, mcu_store::StoreError> {
    Ok(store
        .booking_of_conference(&c.id)
        .await?
        .is_some_and(|b| b.details.recording))
}
