//! `mcud.toml`: where the daemon listens, its TLS identity, and — until the
//! control API exists — the conferences and the endpoints allowed to join them.
//!
//! Without a file the daemon runs on an embedded default: loopback, a port
//! chosen by the system, data under `./data`, a self-signed certificate, and
//! one demo conference whose join tokens are drawn at random at start-up (no
//! password or token is ever built in).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mcu_signalling::protocol::{ConferenceId, DisplayName, EndpointId, FieldError, JoinToken};
use serde::Deserialize;

/// Shortest join token accepted from a config file (bytes).
pub const MIN_TOKEN_BYTES: usize = 16;

/// Token prefixes of the shipped example, refused so it cannot be deployed as is.
const PLACEHOLDER_TOKENS: [&str; 2] = ["thay-bang-", "change-me"];

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and data settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// TLS identity; absent: a self-signed certificate in `data_dir/tls/`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Conferences endpoints may join.
    #[serde(default, rename = "conference")]
    pub conferences: Vec<ConferenceConfig>,
    /// Quality sampling and alarm thresholds.
    #[serde(default)]
    pub quality: crate::quality::QualityConfig,
    /// Where media flows: bind address, UDP port range, public address.
    #[serde(default)]
    pub media: MediaConfig,
    /// Delivery of booking notifications: webhook, SMTP, retry times.
    #[serde(default)]
    pub notify: crate::notify::NotifyConfig,
    /// Booking notice, rehearsal and phase timing (the regulations' values by default).
    #[serde(default)]
    pub booking: BookingConfig,
    /// Where recordings go and how long they are kept (R17).
    #[serde(default)]
    pub recording: RecordingConfig,
    /// Readiness thresholds and measuring window (R10).
    #[serde(default)]
    pub readiness: ReadinessConfig,
    /// This MCU's place in the cascade tree (none: a standalone MCU).
    #[serde(default)]
    pub cascade: Option<crate::cascade_config::CascadeConfig>,
}

/// The readiness check's window and thresholds (`[readiness]`): what an
/// endpoint must show, measured by the MCU, to count as ready (R10).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReadinessConfig {
    /// Length of a measuring window, seconds (10).
    pub window_seconds: f64,
    /// The loudest audio level over the window must reach this, dBov (-50).
    pub audio_floor_dbov: f64,
    /// Least video frame rate received (15).
    pub min_video_fps: f64,
    /// Least picture width received (640).
    pub min_video_width: u32,
    /// Least picture height received (360).
    pub min_video_height: u32,
    /// Greatest round-trip time, ms (300).
    pub max_rtt_ms: f64,
    /// Greatest packet loss, percent (2).
    pub max_loss_percent: f64,
    /// Greatest jitter, ms (50).
    pub max_jitter_ms: f64,
    /// Least frame rate at which the endpoint decodes the composite (10).
    pub min_decoded_fps: f64,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        let r = mcu_control::readiness::ReadinessRules::default();
        Self {
            window_seconds: r.window_ms as f64 / 1000.0,
            audio_floor_dbov: r.audio_floor_dbov,
            min_video_fps: r.min_video_fps,
            min_video_width: r.min_video_size.0,
            min_video_height: r.min_video_size.1,
            max_rtt_ms: r.max_rtt_ms,
            max_loss_percent: r.max_loss_percent,
            max_jitter_ms: r.max_jitter_ms,
            min_decoded_fps: r.min_decoded_fps,
        }
    }
}

impl ReadinessConfig {
    /// The checked rules: a window of 1 s to 10 min, a floor in -127…0 dBov,
    /// every other figure finite and not negative.
    pub fn rules(&self) -> Result<mcu_control::readiness::ReadinessRules, ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(format!("readiness.{m}")));
        if !(1.0..=600.0).contains(&self.window_seconds) {
            return bad("window_seconds must be between 1 and 600");
        }
        if !(-127.0..=0.0).contains(&self.audio_floor_dbov) {
            return bad("audio_floor_dbov must be between -127 and 0");
        }
        for (name, v) in [
            ("min_video_fps", self.min_video_fps),
            ("max_rtt_ms", self.max_rtt_ms),
            ("max_loss_percent", self.max_loss_percent),
            ("max_jitter_ms", self.max_jitter_ms),
            ("min_decoded_fps", self.min_decoded_fps),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(&format!("{name} must be a number at least 0"));
            }
        }
        Ok(mcu_control::readiness::ReadinessRules {
            window_ms: (self.window_seconds * 1000.0).round() as i64,
            audio_floor_dbov: self.audio_floor_dbov,
            min_video_fps: self.min_video_fps,
            min_video_size: (self.min_video_width, self.min_video_height),
            max_rtt_ms: self.max_rtt_ms,
            max_loss_percent: self.max_loss_percent,
            max_jitter_ms: self.max_jitter_ms,
            min_decoded_fps: self.min_decoded_fps,
        })
    }
}

/// Conference recordings (`[recording]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordingConfig {
    /// Directory of the MP4 files (absent: `recordings/` in the data directory).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Days a recording is kept; older files are deleted by a sweep at
    /// start and every hour (their rows stay, marked deleted).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            dir: None,
            retention_days: default_retention_days(),
        }
    }
}

impl RecordingConfig {
    /// The recordings directory, given the data directory.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| data_dir.join("recordings"))
    }
}

fn default_retention_days() -> u32 {
    365
}

/// The numbers of the booking and phase rules (`[booking]`), in the units
/// operators think in; the defaults are the regulations' (R8, R10).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BookingConfig {
    /// Least notice of a scheduled booking, hours (48).
    pub scheduled_notice_hours: f64,
    /// Least notice of an emergency booking, hours (2).
    pub emergency_notice_hours: f64,
    /// The rehearsal opens this long before the official start, minutes (120).
    pub rehearsal_before_minutes: f64,
    /// The readiness check begins this long before the start, minutes (30).
    pub ready_check_before_minutes: f64,
    /// Cascade links must be up this long before the start, minutes (120,
    /// R7); the readiness summary flags a link that came up later.
    pub link_before_minutes: f64,
    /// A live conference ends by itself after overrunning its booked end by
    /// this long, minutes (30): it is never cut at the booked end itself.
    pub overrun_minutes: f64,
    /// An ended conference's quality report is compiled this long after its
    /// end, seconds (60).
    pub report_after_seconds: f64,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self {
            scheduled_notice_hours: 48.0,
            emergency_notice_hours: 2.0,
            rehearsal_before_minutes: 120.0,
            ready_check_before_minutes: 30.0,
            link_before_minutes: 120.0,
            overrun_minutes: 30.0,
            report_after_seconds: 60.0,
        }
    }
}

impl BookingConfig {
    /// The checked rules: every figure at least 0 and at most a week, and the
    /// readiness check inside the rehearsal.
    pub fn rules(
        &self,
    ) -> Result<
        (
            mcu_control::booking::BookingRules,
            mcu_control::phase::PhaseRules,
        ),
        ConfigError,
    > {
        const WEEK_MS: f64 = 7.0 * 24.0 * 3_600_000.0;
        let ms = |name: &str, value: f64, unit_ms: f64| {
            let v = value * unit_ms;
            if (0.0..=WEEK_MS).contains(&v) {
                Ok(v.round() as i64)
            } else {
                Err(ConfigError::Invalid(format!(
                    "booking.{name} must be between 0 and one week"
                )))
            }
        };
        let booking = mcu_control::booking::BookingRules {
            scheduled_notice_ms: ms(
                "scheduled_notice_hours",
                self.scheduled_notice_hours,
                3_600_000.0,
            )?,
            emergency_notice_ms: ms(
                "emergency_notice_hours",
                self.emergency_notice_hours,
                3_600_000.0,
            )?,
            rehearsal_before_ms: ms(
                "rehearsal_before_minutes",
                self.rehearsal_before_minutes,
                60_000.0,
            )?,
            ready_check_before_ms: ms(
                "ready_check_before_minutes",
                self.ready_check_before_minutes,
                60_000.0,
            )?,
            link_before_ms: ms("link_before_minutes", self.link_before_minutes, 60_000.0)?,
            ..Default::default()
        };
        if booking.ready_check_before_ms > booking.rehearsal_before_ms {
            return Err(ConfigError::Invalid(
                "booking.ready_check_before_minutes must not exceed rehearsal_before_minutes"
                    .into(),
            ));
        }
        let phases = mcu_control::phase::PhaseRules {
            overrun_ms: ms("overrun_minutes", self.overrun_minutes, 60_000.0)?,
            report_after_ms: ms("report_after_seconds", self.report_after_seconds, 1000.0)?,
        };
        Ok((booking, phases))
    }
}

/// The media plane's addresses and threads (`[media]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Address the media sockets bind to (one UDP socket per participant);
    /// absent: the listener's address (loopback when it is a wildcard).
    #[serde(default)]
    pub bind_ip: Option<std::net::IpAddr>,
    /// Lowest UDP port for media; with `port_max`, the range a firewall
    /// opens (absent: ports the system picks).
    #[serde(default)]
    pub port_min: Option<u16>,
    /// Highest UDP port for media.
    #[serde(default)]
    pub port_max: Option<u16>,
    /// The address endpoints reach the MCU at behind a 1:1 NAT that keeps
    /// ports (advertised as a second ICE candidate with the same port).
    #[serde(default)]
    pub public_ip: Option<std::net::IpAddr>,
    /// The nice value of the conferences' media threads (-20..=19; 0: as
    /// the rest of the daemon). Below 0 they run ahead of whatever else
    /// shares the cores, so a tick is not late because a backup or a build
    /// took the CPU; that needs root or `CAP_SYS_NICE`, and without it the
    /// daemon says so and runs them at normal priority.
    #[serde(default = "default_thread_nice")]
    pub thread_nice: i32,
}

fn default_thread_nice() -> i32 {
    -10
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_ip: None,
            port_min: None,
            port_max: None,
            public_ip: None,
            thread_nice: default_thread_nice(),
        }
    }
}

impl MediaConfig {
    /// `thread_nice`, checked to be a nice value.
    pub fn thread_nice(&self) -> Result<i32, ConfigError> {
        if (-20..=19).contains(&self.thread_nice) {
            Ok(self.thread_nice)
        } else {
            Err(ConfigError::Invalid(
                "media.thread_nice must be in -20..=19".into(),
            ))
        }
    }

    /// The port range, checked: both ends or neither, `port_min ≤ port_max`, not 0.
    pub fn ports(&self) -> Result<Option<std::ops::RangeInclusive<u16>>, ConfigError> {
        match (self.port_min, self.port_max) {
            (None, None) => Ok(None),
            (Some(lo), Some(hi)) if lo > 0 && lo <= hi => Ok(Some(lo..=hi)),
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "media.port_min must be above 0 and at most media.port_max".into(),
            )),
            _ => Err(ConfigError::Invalid(
                "media.port_min and media.port_max go together".into(),
            )),
        }
    }
}

/// Where the daemon listens and keeps its files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTPS + WebSocket listener (port 0: chosen by the system).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Data directory (TLS identity, the SQLite database).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Database: `postgres://user@host/db`, or `sqlite://FILE`; absent: the
    /// SQLite file `mcu.db` in the data directory.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Bearer token a monitoring system presents to read `/metrics` from
    /// another host; absent: `/metrics` answers loopback clients only.
    #[serde(default)]
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            data_dir: default_data_dir(),
            database_url: None,
            metrics_token: None,
        }
    }
}

impl ServerConfig {
    /// The database URL in use; creates the data directory for the default SQLite file.
    pub fn database_url(&self) -> std::io::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)?;
                Ok(format!(
                    "sqlite://{}",
                    self.data_dir.join("mcu.db").display()
                ))
            }
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// A certificate chain and key in PEM files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// One conference and who may join it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceConfig {
    /// Conference id used in join requests.
    pub id: ConferenceId,
    /// Title shown to participants.
    pub title: DisplayName,
    /// Layout of the participants' view.
    #[serde(default = "default_layout")]
    pub layout: String,
    /// Endpoint id of the chair, if any.
    #[serde(default)]
    pub chair: Option<EndpointId>,
    /// Endpoints allowed to join.
    #[serde(rename = "endpoint")]
    pub endpoints: Vec<EndpointConfig>,
    /// Cascade links taking part, by neighbour MCU id (`[cascade]`): the
    /// parent's conference of the same id, and the children accepted.
    #[serde(default)]
    pub links: Vec<String>,
}

fn default_layout() -> String {
    "3x3".into()
}

/// An endpoint allowed into a conference.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Endpoint id used in join requests.
    pub id: EndpointId,
    /// Name shown in the roster and the video label.
    pub name: DisplayName,
    /// Join token (at least [`MIN_TOKEN_BYTES`] bytes).
    pub token: JoinToken,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{path}: {source}")]
    Toml {
        /// The file.
        path: String,
        /// What went wrong.
        source: Box<toml::de::Error>,
    },
    /// A rule across fields is broken.
    #[error("{0}")]
    Invalid(String),
    /// A generated value was refused (a bug).
    #[error("generated value refused: {0}")]
    Field(#[from] FieldError),
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates configuration text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Toml {
            path: origin.to_owned(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The embedded default: loopback, system-chosen port, `./data`, and one
    /// demo conference with four endpoints whose tokens are `random_token()`.
    pub fn embedded_default(mut random_token: impl FnMut() -> String) -> Result<Self, ConfigError> {
        let mut endpoints = Vec::new();
        for (id, name) in [
            ("ubnd-tinh", "UBND tỉnh Tuyên Quang"),
            ("ubnd-son-duong", "UBND huyện Sơn Dương"),
            ("xa-dong-quy", "Xã Đồng Quý"),
            ("so-tttt", "Sở Thông tin và Truyền thông"),
        ] {
            endpoints.push(EndpointConfig {
                id: EndpointId::new(id)?,
                name: DisplayName::new(name)?,
                token: JoinToken::new(random_token())?,
            });
        }
        let config = Config {
            server: ServerConfig::default(),
            tls: None,
            conferences: vec![ConferenceConfig {
                id: ConferenceId::new("demo")?,
                title: DisplayName::new("Hội nghị thử nghiệm")?,
                layout: default_layout(),
                chair: Some(EndpointId::new("ubnd-tinh")?),
                endpoints,
                links: Vec::new(),
            }],
            quality: Default::default(),
            media: Default::default(),
            notify: Default::default(),
            booking: Default::default(),
            recording: Default::default(),
            readiness: Default::default(),
            cascade: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Cross-field rules: unique ids, strong-enough tokens, the chair is an
    /// endpoint of its conference, the layout exists.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.quality.validate().map_err(ConfigError::Invalid)?;
        self.notify.validate().map_err(ConfigError::Invalid)?;
        self.booking.rules()?;
        self.readiness.rules()?;
        self.media.ports()?;
        self.media.thread_nice()?;
        if let Some(cascade) = &self.cascade {
            cascade.topology()?;
        }
        if self.recording.retention_days == 0 {
            return Err(ConfigError::Invalid(
                "recording.retention_days must be at least 1".into(),
            ));
        }
        if let Some(ip) = self.media.public_ip
            && (ip.is_unspecified() || ip.is_loopback())
        {
            return Err(ConfigError::Invalid(format!(
                "media.public_ip {ip} is not an address endpoints can reach"
            )));
        }
        if self.media.bind_ip.is_some_and(|ip| ip.is_unspecified()) {
            return Err(ConfigError::Invalid(
                "media.bind_ip must be a concrete address (it is advertised to endpoints), not a wildcard".into(),
            ));
        }
        let layouts = mcu_mixer::layout::LayoutLibrary::with_templates();
        let mut conference_ids = BTreeSet::new();
        for c in &self.conferences {
            if !conference_ids.insert(c.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "conference {:?} is defined twice",
                    c.id.as_str()
                )));
            }
            if layouts.get(&c.layout).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "conference {:?}: unknown layout {:?}",
                    c.id.as_str(),
                    c.layout
                )));
            }
            let mut endpoint_ids = BTreeSet::new();
            for e in &c.endpoints {
                if !endpoint_ids.insert(e.id.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "conference {:?}: endpoint {:?} is listed twice",
                        c.id.as_str(),
                        e.id.as_str()
                    )));
                }
                if PLACEHOLDER_TOKENS
                    .iter()
                    .any(|p| e.token.as_str().starts_with(p))
                {
                    return Err(ConfigError::Invalid(format!(
                        "conference {:?}: endpoint {:?} still has the example's placeholder token; set a random one",
                        c.id.as_str(),
                        e.id.as_str()
                    )));
                }
                if e.token.as_str().len() < MIN_TOKEN_BYTES {
                    return Err(ConfigError::Invalid(format!(
                        "conference {:?}: endpoint {:?} has a join token shorter than {MIN_TOKEN_BYTES} bytes",
                        c.id.as_str(),
                        e.id.as_str()
                    )));
                }
            }
            if let Some(chair) = &c.chair
                && !endpoint_ids.contains(chair.as_str())
            {
                return Err(ConfigError::Invalid(format!(
                    "conference {:?}: chair {:?} is not one of its endpoints",
                    c.id.as_str(),
                    chair.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// A random token of 32 hex characters from the system's random source.
pub fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [server]
        listen = "127.0.0.1:8443"
        data_dir = "/var/lib/mcud"

        [[conference]]
        id = "giao-ban"
        title = "Giao ban trực tuyến UBND tỉnh"
        layout = "1+7"
        chair = "ubnd-tinh"

        [[conference.endpoint]]
        id = "ubnd-tinh"
        name = "UBND tỉnh Tuyên Quang"
        token = "0123456789abcdef0123"

        [[conference.endpoint]]
        id = "ubnd-son-duong"
        name = "UBND huyện Sơn Dương"
        token = "fedcba9876543210fedc"
    "#;

    #[test]
    fn a_full_file_parses() {
        let c = Config::parse(GOOD, "test").unwrap();
        assert_eq!(c.server.listen.port(), 8443);
        assert_eq!(
            c.conferences[0].endpoints[1].name.as_str(),
            "UBND huyện Sơn Dương"
        );
        assert_eq!(c.conferences[0].layout, "1+7");
    }

    #[test]
    fn the_shipped_example_parses_but_its_placeholder_tokens_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mcud.toml");
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("placeholder token"), "{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        let fixed = text.replace("thay-bang-chuoi-ngau-nhien", "9f2c4e1a7b3d5f60");
        let c = Config::parse(&fixed, "example").unwrap();
        assert_eq!(c.conferences[0].endpoints.len(), 3);
    }

    #[test]
    fn rule_breaks_are_refused_with_a_reason() {
        let cases = [
            (
                GOOD.replace("0123456789abcdef0123", "short"),
                "shorter than",
            ),
            (
                GOOD.replace("chair = \"ubnd-tinh\"", "chair = \"xa-khac\""),
                "chair",
            ),
            (GOOD.replace("\"1+7\"", "\"9x9\""), "unknown layout"),
            (GOOD.replace("ubnd-son-duong", "ubnd-tinh"), "listed twice"),
            (GOOD.replace("data_dir", "datadir"), "unknown field"),
            (
                GOOD.replace("\"giao-ban\"", "\"giao ban\""),
                "ASCII letters",
            ),
        ];
        for (text, want) in cases {
            let err = Config::parse(&text, "test").unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn the_media_plane_is_configured_and_checked() {
        let media = |section: &str| {
            Config::parse(&format!("{GOOD}\n[media]\n{section}"), "test")
                .map(|c| c.media)
                .map_err(|e| e.to_string())
        };
        let m = media("bind_ip = \"10.0.0.5\"\nport_min = 40000\nport_max = 40999\npublic_ip = \"203.0.113.7\"\n")
            .unwrap();
        assert_eq!(m.ports().unwrap(), Some(40000..=40999));
        assert_eq!(m.public_ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(media("").unwrap().ports().unwrap(), None);
        for (section, want) in [
            ("port_min = 40000\n", "go together"),
            (
                "port_min = 41000\nport_max = 40000\n",
                "at most media.port_max",
            ),
            ("port_min = 0\nport_max = 10\n", "above 0"),
            (
                "public_ip = \"127.0.0.1\"\n",
                "not an address endpoints can reach",
            ),
            ("bind_ip = \"0.0.0.0\"\n", "not a wildcard"),
            ("port_min = 40000\nport_max = 70001\n", "expected u16"),
        ] {
            let err = media(section).unwrap_err();
            assert!(
                err.contains(want),
                "{section:?}: {err:?} should mention {want:?}"
            );
        }
    }

    #[test]
    fn embedded_default_has_random_tokens_and_loopback() {
        let a = Config::embedded_default(|| random_token().unwrap()).unwrap();
        let b = Config::embedded_default(|| random_token().unwrap()).unwrap();
        assert!(a.server.listen.ip().is_loopback());
        let ta = a.conferences[0].endpoints[0].token.as_str().to_owned();
        let tb = b.conferences[0].endpoints[0].token.as_str().to_owned();
        assert_ne!(ta, tb, "tokens are drawn, not built in");
        assert_eq!(ta.len(), 32);
    }
}
