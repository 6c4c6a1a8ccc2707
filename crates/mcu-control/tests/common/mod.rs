//! A control API over a fresh SQLite file with fixture data, a recording
//! stand-in for the media side, and a settable clock.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use mcu_control::auth::{hash_password, token_hash};
use mcu_control::*;
use mcu_store::*;
use tower::ServiceExt;

pub const T0: i64 = 1_790_000_000_000;
pub const PASSWORD: &str = "mật-khẩu-thử-nghiệm";

/// The media side, recorded.
#[derive(Default)]
pub struct FakeLive {
    pub started: Mutex<Vec<LiveConference>>,
    pub ended: Mutex<Vec<String>>,
    pub commands: Mutex<Vec<(String, LiveCommand)>>,
    pub connected: Mutex<Vec<String>>,
    pub floor: Mutex<Vec<FloorRequest>>,
    pub quality: Mutex<LiveQuality>,
    /// Conferences asked to record with `start_recording`.
    pub recordings: Mutex<Vec<String>>,
    /// The cascade tree of each conference that has one (`cascade` answers it).
    pub cascades: Mutex<Vec<(String, LiveCascade)>>,
    /// What a command for an endpoint of another MCU of the tree answers
    /// (`None`: done; it is recorded like a local one).
    pub remote_error: Mutex<Option<LiveError>>,
    /// This MCU's neighbours in the cascade (`cascade_neighbours` answers them).
    pub neighbours: Mutex<Vec<CascadeNeighbour>>,
    /// Running conferences told their links changed, with the links.
    pub relinked: Mutex<Vec<(String, Vec<ConferenceLink>)>>,
}

impl FakeLive {
    /// Gives conference `c` a cascade tree.
    pub fn set_cascade(&self, c: &str, tree: LiveCascade) {
        let mut cascades = self.cascades.lock().unwrap();
        cascades.retain(|(id, _)| id != c);
        cascades.push((c.to_owned(), tree));
    }

    /// Whether `endpoint` is on another MCU of conference `c`'s tree.
    fn remote(&self, c: &str, endpoint: &str) -> bool {
        self.cascade(c).is_some_and(|t| {
            t.endpoints
                .iter()
                .any(|e| e.endpoint == endpoint && e.mcu != t.me.id)
        })
    }
}

impl Live for FakeLive {
    fn layouts(&self) -> Vec<String> {
        ["1x1", "2x2", "3x3", "1+7"].map(String::from).to_vec()
    }
    fn start(&self, c: &LiveConference) -> Result<(), LiveError> {
        self.started.lock().unwrap().push(c.clone());
        Ok(())
    }
    fn end(&self, c: &str) {
        self.ended.lock().unwrap().push(c.to_owned());
    }
    fn roster(&self, _: &str) -> Vec<LiveParticipant> {
        self.connected
            .lock()
            .unwrap()
            .iter()
            .map(|e| LiveParticipant {
                endpoint: e.clone(),
                connected: true,
                ..Default::default()
            })
            .collect()
    }
    fn levels(&self, _: &str) -> LiveLevels {
        LiveLevels::default()
    }
    fn quality(&self, _: &str) -> LiveQuality {
        self.quality.lock().unwrap().clone()
    }
    fn preview(&self, _: &str, view: View) -> Result<Vec<u8>, LiveError> {
        match view {
            // A stand-in JPEG: start and end markers around the view's name.
            View::Chair => Ok([&[0xff, 0xd8][..], b"chair", &[0xff, 0xd9]].concat()),
            View::Participants => Err(LiveError::NoPicture("participants".into())),
        }
    }
    fn start_recording(&self, c: &str) -> Result<String, LiveError> {
        self.recordings.lock().unwrap().push(c.to_owned());
        Ok(format!("{c}.mp4"))
    }
    fn recording(&self, c: &str) -> Option<String> {
        let recordings = self.recordings.lock().unwrap();
        recordings
            .iter()
            .any(|r| r == c)
            .then(|| format!("{c}.mp4"))
    }
    fn floor_queue(&self, _: &str) -> Vec<FloorRequest> {
        self.floor.lock().unwrap().clone()
    }
    fn cascade_neighbours(&self) -> Vec<CascadeNeighbour> {
        self.neighbours.lock().unwrap().clone()
    }
    fn relink(&self, c: &str, links: &[ConferenceLink]) {
        self.relinked
            .lock()
            .unwrap()
            .push((c.to_owned(), links.to_vec()));
    }
    fn cascade(&self, c: &str) -> Option<LiveCascade> {
        let cascades = self.cascades.lock().unwrap();
        cascades
            .iter()
            .find(|(id, _)| id == c)
            .map(|(_, t)| t.clone())
    }
    fn command(&self, c: &str, command: LiveCommand) -> Result<(), LiveError> {
        // Sent down the tree: the other MCU answers.
        if let LiveCommand::CallToChair { endpoint }
        | LiveCommand::Mute { endpoint, .. }
        | LiveCommand::AnswerFloor { endpoint, .. }
        | LiveCommand::RecallPresetBelow { endpoint, .. } = &command
            && self.remote(c, endpoint)
        {
            if let Some(e) = self.remote_error.lock().unwrap().clone() {
                return Err(e);
            }
            self.commands.lock().unwrap().push((c.to_owned(), command));
            return Ok(());
        }
        if let LiveCommand::CallToChair { endpoint }
        | LiveCommand::Disconnect { endpoint }
        | LiveCommand::RecallPreset { endpoint, .. }
        | LiveCommand::RequestFloor { endpoint } = &command
            && !self.connected.lock().unwrap().contains(endpoint)
        {
            return Err(LiveError::NotConnected(endpoint.clone()));
        }
        match &command {
            LiveCommand::RequestFloor { endpoint } => {
                let r = FloorRequest {
                    endpoint: endpoint.clone(),
                    requested_at: T0,
                };
                self.floor.lock().unwrap().push(r);
            }
            LiveCommand::AnswerFloor { endpoint, .. } => {
                let mut floor = self.floor.lock().unwrap();
                let before = floor.len();
                floor.retain(|r| &r.endpoint != endpoint);
                if floor.len() == before {
                    return Err(LiveError::NoFloorRequest(endpoint.clone()));
                }
            }
            _ => {}
        }
        self.commands.lock().unwrap().push((c.to_owned(), command));
        Ok(())
    }
}

pub struct Api {
    pub router: Router,
    /// The state behind the router (for the phase clock).
    pub state: Arc<ControlState>,
    pub store: Store,
    pub live: Arc<FakeLive>,
    pub clock: Arc<AtomicI64>,
    /// Session token per role name, plus "anonymous" → none.
    pub tokens: Vec<(&'static str, String)>,
    pub victim: i64,
    /// The SQLite database behind the store (for tests that go behind its back).
    pub db_url: String,
    _dir: Dir,
}

struct Dir(std::path::PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static N: AtomicU32 = AtomicU32::new(0);

fn endpoint(id: &str, name: &str, level: Level, chair: bool) -> Endpoint {
    Endpoint {
        id: id.into(),
        name: name.into(),
        unit: name.into(),
        level,
        chair_capable: chair,
        owner_mcu: "tuyen-quang".into(),
        contacts: vec![Contact {
            name: "Trần Thị Hương".into(),
            title: "Chuyên viên".into(),
            unit: name.into(),
            phone: "+84 207 3822 111".into(),
            email: "huong@tuyenquang.gov.vn".into(),
        }],
    }
}

impl Api {
    /// Endpoints ubnd-tinh (chair-capable), son-duong, dong-quy, tan-trao (in no
    /// conference); users admin, operator, site (son-duong), auditor, victim;
    /// conference giao-ban (live, all three with son-duong) and hop-moi
    /// (created, without son-duong); booking 1 (requested, [`fixture_booking`]);
    /// outbox message 1 (pending, about booking 1).
    pub async fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mcu-control-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db_url = format!("sqlite://{}", dir.join("t.db").display());
        let store = Store::open(&db_url).await.unwrap();
        for e in [
            endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", Level::Province, true),
            endpoint("son-duong", "UBND huyện Sơn Dương", Level::District, false),
            endpoint("dong-quy", "UBND xã Đông Quý", Level::Commune, false),
            endpoint("tan-trao", "UBND xã Tân Trào", Level::Commune, false),
        ] {
            store.create_endpoint(&e, T0).await.unwrap();
        }
        static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = HASH
            .get_or_init(|| hash_password(PASSWORD).unwrap())
            .clone();
        let mut tokens = Vec::new();
        let mut victim = 0;
        for (name, role) in [
            ("admin", Role::Admin),
            ("operator", Role::Operator),
            ("site_operator", Role::SiteOperator),
            ("auditor", Role::Auditor),
            ("victim", Role::Operator),
        ] {
            let u = store
                .create_user(
                    &NewUser {
                        username: name.replace('_', "-"),
                        display_name: format!("Người dùng {name}"),
                        role,
                        password_hash: hash.clone(),
                        endpoints: if role == Role::SiteOperator {
                            vec!["son-duong".into()]
                        } else {
                            vec![]
                        },
                    },
                    T0,
                )
                .await
                .unwrap();
            if name == "victim" {
                victim = u.id;
                continue;
            }
            let token = format!("token-of-{name}-0123456789");
            store
                .create_session(&Session {
                    token_hash: token_hash(&token),
                    user_id: u.id,
                    created_at: T0,
                    expires_at: T0 + 3_600_000,
                    from_addr: "127.0.0.1".into(),
                })
                .await
                .unwrap();
            tokens.push((name, token));
        }
        for (id, members, live) in [
            ("giao-ban", vec!["ubnd-tinh", "son-duong", "dong-quy"], true),
            ("hop-moi", vec!["ubnd-tinh", "dong-quy"], false),
        ] {
            store
                .create_conference(&Conference {
                    id: id.into(),
                    title: "Giao ban trực tuyến".into(),
                    chair: Some("ubnd-tinh".into()),
                    layout: "2x2".into(),
                    state: ConferenceState::Created,
                    created_by: "operator".into(),
                    created_at: T0,
                    started_at: None,
                    ended_at: None,
                    participants: members.into_iter().map(String::from).collect(),
                    links: Vec::new(),
                })
                .await
                .unwrap();
            if live {
                store
                    .transition_conference(id, ConferenceState::Created, ConferenceState::Live, T0)
                    .await
                    .unwrap();
            }
        }
        // Booking 1 (requested): 08:00–10:00 three days after T0, rehearsal from 06:00.
        let booking = store
            .create_booking(&fixture_booking(), "operator", T0)
            .await
            .unwrap();
        // Outbox message 1: a notice about booking 1, not delivered yet.
        let notices = mcu_control::notice::booking_notices(
            mcu_store::OutboxEvent::Approved,
            &booking,
            &store.list_endpoints().await.unwrap(),
            T0,
        );
        store.enqueue_outbox(&notices[..1]).await.unwrap();
        let chair_seat = CameraPreset {
            name: "Ghế chủ tọa".into(),
            pan: 500,
            tilt: 400,
            zoom: 200,
        };
        store
            .put_preset("son-duong", &chair_seat, T0)
            .await
            .unwrap();
        let live = Arc::new(FakeLive::default());
        live.floor.lock().unwrap().push(FloorRequest {
            endpoint: "dong-quy".into(),
            requested_at: T0,
        });
        live.connected
            .lock()
            .unwrap()
            .extend(["ubnd-tinh", "son-duong", "dong-quy"].map(String::from));
        let clock = Arc::new(AtomicI64::new(T0 + 1000));
        let c = clock.clone();
        let policy = Policy {
            secure_cookie: true,
            ..Policy::default()
        };
        let state = ControlState::with_clock(store.clone(), live.clone(), policy, move || {
            c.load(Ordering::Relaxed)
        });
        Self {
            router: router(state.clone()),
            state,
            store,
            live,
            clock,
            tokens,
            victim,
            db_url,
            _dir: Dir(dir),
        }
    }

    /// Makes the fixture's sessions last for ever, for tests that move the
    /// clock by days (behind the store's back: no API extends a session).
    pub async fn keep_sessions(&self) {
        let raw = sqlx::AnyPool::connect(&self.db_url).await.unwrap();
        sqlx::query("UPDATE sessions SET expires_at = $1")
            .bind(i64::MAX)
            .execute(&raw)
            .await
            .unwrap();
    }

    pub fn token(&self, role: &str) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| t.as_str())
    }

    /// One request; `role` "anonymous" sends no credentials.
    pub async fn call(
        &self,
        role: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(encode_path(path));
        if let Some(t) = self.token(role) {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.send(req).await;
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, json)
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    pub async fn last_audit(&self) -> AuditEntry {
        self.store.list_audit(1, None).await.unwrap().remove(0)
    }
}

/// One hour in ms.
pub const HOUR: i64 = 3_600_000;
/// Official start of the fixture booking: three days after T0.
pub const BOOKED_START: i64 = T0 + 72 * HOUR;

/// Booking 1 of the fixture: ubnd-tinh chairs son-duong and dong-quy,
/// [`BOOKED_START`] for 2 hours, rehearsal from 2 hours before.
pub fn fixture_booking() -> BookingDetails {
    BookingDetails {
        title: "Hội nghị trực tuyến về phòng chống lụt bão".into(),
        organising_unit: "Văn phòng UBND tỉnh Tuyên Quang".into(),
        chair: "ubnd-tinh".into(),
        participants: ["dong-quy", "son-duong", "ubnd-tinh"]
            .map(String::from)
            .to_vec(),
        start_at: BOOKED_START,
        end_at: BOOKED_START + 2 * HOUR,
        rehearsal_at: BOOKED_START - 2 * HOUR,
        ready_check_at: BOOKED_START - HOUR / 2,
        kind: BookingKind::Scheduled,
        scenario: vec![AgendaItem {
            title: "Khai mạc".into(),
            speaker: Some("ubnd-tinh".into()),
            layout: "1+7".into(),
            planned_minutes: 15,
        }],
        recording: false,
    }
}

/// The error code of an error body.
pub fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// Percent-encodes what a URI may not carry raw (spaces, non-ASCII names).
pub fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-._~?=&".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every stable error code the API's sources can answer with (the string
/// after a `StatusCode::X,` or in `conflict(…)`), for the checks that each
/// is documented and translated.
pub fn api_error_codes() -> std::collections::BTreeSet<String> {
    fn rs_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rs_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    rs_files(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut codes = std::collections::BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let mut starts: Vec<usize> = src
            .match_indices("conflict(")
            .map(|(i, m)| i + m.len())
            .collect();
        for (i, _) in src.match_indices("StatusCode::") {
            let rest = &src[i..];
            if let Some(comma) = rest.find(',')
                && rest[12..comma]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_')
            {
                starts.push(i + comma + 1);
            }
        }
        for s in starts {
            let rest = src[s..].trim_start();
            if let Some(lit) = rest.strip_prefix('"') {
                let code = &lit[..lit.find('"').unwrap()];
                if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    codes.insert(code.to_owned());
                }
            }
        }
    }
    codes
}
