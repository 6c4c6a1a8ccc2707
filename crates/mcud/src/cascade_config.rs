//! The `[cascade]` section: where this MCU sits in the four-level tree, the
//! addresses of its parent and standby, and the secret of every link it
//! takes part in. The tree is validated when the configuration is loaded
//! (no loop, no second parent …): a bad tree stops the daemon at start with
//! the offending links named.
//!
//! ```toml
//! [cascade]
//! id = "tuyen-quang"
//! tree = "config/cascade/tree.toml"   # or the [[cascade.mcu]] entries inline
//! open_counterparts = true             # open counterparts of the parent's conferences
//!
//! [[cascade.link]]                     # one per neighbour: parent, standby, children
//! mcu = "central"
//! secret_file = "secrets/tuyen-quang--central.key"
//! ```
//!
//! A tree file holds `[[mcu]]` entries: `id`, `name`, `level` (`central`,
//! `province`, `district`, `commune`), `parent`, `standby`, and for the MCUs
//! others dial, `url` (`https://host:port`) and `ca_file` (the PEM its
//! certificate is checked against; the system roots when absent).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mcu_cascade::auth::LinkSecret;
use mcu_cascade::ids::McuId;
use mcu_cascade::link::LinkTiming;
use mcu_cascade::roster::McuInfo;
use mcu_cascade::topology::{Level, McuNode, Topology};
use serde::Deserialize;

use crate::config::ConfigError;

/// The `[cascade]` section as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CascadeConfig {
    /// This MCU's id in the tree.
    pub id: String,
    /// A file with the whole tree (`[[mcu]]` entries).
    #[serde(default)]
    pub tree: Option<PathBuf>,
    /// The whole tree, inline (instead of `tree`).
    #[serde(default)]
    pub mcu: Vec<McuConfig>,
    /// The secret of each link this MCU takes part in.
    #[serde(default)]
    pub link: Vec<LinkConfig>,
    /// Parent unreachable this long ⇒ link to the standby (R18).
    #[serde(default = "default_failover_seconds")]
    pub failover_after_seconds: f64,
    /// Open a counterpart of every conference of the parent that names this
    /// MCU's link, and move it through the parent's phases (the bookings
    /// subscription, `docs/cascade.md`); on unless configured off. Off: the
    /// operators here create their counterparts themselves.
    #[serde(default = "default_open_counterparts")]
    pub open_counterparts: bool,
}

fn default_failover_seconds() -> f64 {
    30.0
}

fn default_open_counterparts() -> bool {
    true
}

/// One MCU of the tree.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct McuConfig {
    /// Its id (also the id of the link it dials up).
    pub id: String,
    /// Display name, e.g. "Tuyên Quang".
    pub name: String,
    /// `central`, `province`, `district` or `commune`.
    pub level: Level,
    /// The MCU it links up to (none for the master).
    #[serde(default)]
    pub parent: Option<String>,
    /// The MCU it links to when its parent is unreachable.
    #[serde(default)]
    pub standby: Option<String>,
    /// Its control plane, `https://host:port` (needed for those dialled).
    #[serde(default)]
    pub url: Option<String>,
    /// PEM certificate(s) its TLS certificate is checked against.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// The secret of one link.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// The MCU at the other end.
    pub mcu: String,
    /// The secret itself (prefer `secret_file`).
    #[serde(default)]
    pub secret: Option<String>,
    /// A file holding the secret (whitespace around it is ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeFile {
    mcu: Vec<McuConfig>,
}

/// An MCU this one dials: its parent or its standby.
#[derive(Clone, Debug)]
pub struct Neighbour {
    /// Its id.
    pub id: McuId,
    /// Display name.
    pub name: String,
    /// Its control plane, `https://host:port`.
    pub url: String,
    /// The PEM its certificate is checked against (`None`: system roots).
    pub ca_pem: Option<Vec<u8>>,
    /// The link's secret.
    pub secret: LinkSecret,
}

/// The section resolved: tree validated, secrets read.
#[derive(Clone, Debug)]
pub struct Cascade {
    /// The whole tree.
    pub topology: Topology,
    /// This MCU.
    pub me: McuInfo,
    /// Its parent, if it is not the master.
    pub parent: Option<Neighbour>,
    /// Its standby parent, if one is configured.
    pub standby: Option<Neighbour>,
    /// Every MCU allowed to link here (children, and those naming this one
    /// as standby) with the link's secret.
    pub children: BTreeMap<McuId, LinkSecret>,
    /// Timers of the link up.
    pub timing: LinkTiming,
    /// See [`CascadeConfig::open_counterparts`].
    pub open_counterparts: bool,
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(format!("cascade: {}", msg.into()))
}

impl CascadeConfig {
    /// The tree's entries, from the file or inline.
    fn entries(&self) -> Result<Vec<McuConfig>, ConfigError> {
        match (&self.tree, self.mcu.is_empty()) {
            (Some(_), false) => Err(invalid("give the tree in `tree` or inline, not both")),
            (None, true) => Err(invalid(
                "no tree: set `tree` or the [[cascade.mcu]] entries",
            )),
            (None, false) => Ok(self.mcu.clone()),
            (Some(path), true) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let file: TreeFile = toml::from_str(&text).map_err(|source| ConfigError::Toml {
                    path: path.display().to_string(),
                    source: Box::new(source),
                })?;
                Ok(file.mcu)
            }
        }
    }

    /// Validates the tree (a loop, a second parent … is refused with the
    /// links named) and this MCU's place in it; logs nothing.
    pub fn topology(&self) -> Result<(Topology, Vec<McuConfig>), ConfigError> {
        let entries = self.entries()?;
        let id = |s: &str| McuId::new(s).map_err(|e| invalid(format!("MCU id {s:?}: {e}")));
        let mut nodes = Vec::with_capacity(entries.len());
        for e in &entries {
            nodes.push(McuNode {
                id: id(&e.id)?,
                name: e.name.clone(),
                level: e.level,
                parent: e.parent.as_deref().map(id).transpose()?,
                standby: e.standby.as_deref().map(id).transpose()?,
            });
        }
        let topology = Topology::new(nodes).map_err(|e| invalid(e.to_string()))?;
        if topology.node(&id(&self.id)?).is_none() {
            return Err(invalid(format!(
                "this MCU ({}) is not in the tree",
                self.id
            )));
        }
        if !(self.failover_after_seconds.is_finite() && self.failover_after_seconds >= 1.0) {
            return Err(invalid("failover_after_seconds must be at least 1"));
        }
        Ok((topology, entries))
    }

    /// Validates the tree and reads the secrets and CA files.
    pub fn resolve(&self) -> Result<Cascade, ConfigError> {
        let (topology, entries) = self.topology()?;
        let me_id = McuId::new(&self.id).map_err(|e| invalid(e.to_string()))?;
        let node = topology
            .node(&me_id)
            .ok_or_else(|| invalid("this MCU is not in the tree"))?
            .clone();
        let mut secrets = BTreeMap::new();
        for l in &self.link {
            let other = McuId::new(&l.mcu).map_err(|e| invalid(format!("link {}: {e}", l.mcu)))?;
            let text = match (&l.secret, &l.secret_file) {
                (Some(s), None) => s.clone(),
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read {
                        path: path.display().to_string(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
                _ => {
                    return Err(invalid(format!(
                        "link {}: give `secret` or `secret_file`, one of them",
                        l.mcu
                    )));
                }
            };
            let secret = LinkSecret::new(text.into_bytes())
                .map_err(|e| invalid(format!("link {}: {e}", l.mcu)))?;
            if secrets.insert(other, secret).is_some() {
                return Err(invalid(format!("link {} is configured twice", l.mcu)));
            }
        }
        let mut secret_of = |other: &McuId, why: &str| {
            secrets.remove(other).ok_or_else(|| {
                invalid(format!(
                    "no [[cascade.link]] secret for {other} ({why} of {me_id})"
                ))
            })
        };
        let neighbour = |id: &McuId, secret: LinkSecret| -> Result<Neighbour, ConfigError> {
            let e = entries
                .iter()
                .find(|e| e.id == id.as_str())
                .ok_or_else(|| invalid(format!("{id} is not in the tree")))?;
            let url = e
                .url
                .clone()
                .ok_or_else(|| invalid(format!("{id} has no url, but {me_id} dials it")))?;
            if !url.starts_with("https://") {
                return Err(invalid(format!(
                    "{id}: url {url:?} must be https:// (links run over TLS)"
                )));
            }
            let ca_pem = e
                .ca_file
                .as_ref()
                .map(|path| {
                    std::fs::read(path).map_err(|source| ConfigError::Read {
                        path: path.display().to_string(),
                        source,
                    })
                })
                .transpose()?;
            Ok(Neighbour {
                id: id.clone(),
                name: e.name.clone(),
                url: url.trim_end_matches('/').to_owned(),
                ca_pem,
                secret,
            })
        };
        let parent = match &node.parent {
            Some(p) => Some(neighbour(p, secret_of(p, "parent")?)?),
            None => None,
        };
        let standby = match &node.standby {
            Some(s) => Some(neighbour(s, secret_of(s, "standby")?)?),
            None => None,
        };
        let mut children = BTreeMap::new();
        for child in topology.accepted_children(&me_id) {
            children.insert(child.clone(), secret_of(child, "child")?);
        }
        if let Some(extra) = secrets.keys().next() {
            return Err(invalid(format!(
                "a secret is configured for {extra}, which does not link with {me_id}"
            )));
        }
        let timing = LinkTiming {
            failover_after: Duration::from_secs_f64(self.failover_after_seconds),
            ..LinkTiming::default()
        };
        Ok(Cascade {
            me: McuInfo {
                id: me_id,
                name: node.name.clone(),
                level: node.level,
            },
            topology,
            parent,
            standby,
            children,
            timing,
            open_counterparts: self.open_counterparts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CascadeConfig {
        toml::from_str(text).unwrap()
    }

    const TREE: &str = r#"
        id = "tq"
        [[mcu]]
        id = "central"
        name = "Chính phủ"
        level = "central"
        url = "https://127.0.0.1:9001"
        [[mcu]]
        id = "tq"
        name = "Tuyên Quang"
        level = "province"
        parent = "central"
        url = "https://127.0.0.1:9002"
        [[mcu]]
        id = "son-duong"
        name = "Sơn Dương"
        level = "district"
        parent = "tq"
        [[link]]
        mcu = "central"
        secret = "0123456789abcdef-central"
        [[link]]
        mcu = "son-duong"
        secret = "0123456789abcdef-sonduong"
    "#;

    #[test]
    fn a_province_resolves_its_parent_and_child() {
        let c = parse(TREE).resolve().unwrap();
        assert_eq!(c.me.name, "Tuyên Quang");
        let parent = c.parent.unwrap();
        assert_eq!(parent.id.as_str(), "central");
        assert_eq!(parent.url, "https://127.0.0.1:9001");
        assert!(c.standby.is_none());
        assert_eq!(
            c.children.keys().map(McuId::as_str).collect::<Vec<_>>(),
            ["son-duong"]
        );
        // Bookings travel down unless switched off.
        assert!(c.open_counterparts);
        let off = TREE.replacen(
            "id = \"tq\"\n",
            "id = \"tq\"\n        open_counterparts = false\n",
            1,
        );
        assert!(!parse(&off).resolve().unwrap().open_counterparts);
    }

    #[test]
    fn a_loop_or_second_parent_is_refused_naming_the_links() {
        // son-duong's parent becomes tq's parent: central › tq › son-duong › tq.
        let looped = TREE.replace(
            "parent = \"central\"\n        url = \"https://127.0.0.1:9002\"",
            "parent = \"son-duong\"\n        url = \"https://127.0.0.1:9002\"",
        );
        let err = parse(&looped).topology().unwrap_err().to_string();
        assert!(err.contains("tq") && err.contains("son-duong"), "{err}");
        // A second entry for son-duong with another parent.
        let twice = format!(
            "{TREE}\n[[mcu]]\nid = \"son-duong\"\nname = \"Sơn Dương\"\nlevel = \"district\"\nparent = \"central\"\n"
        );
        let err = toml::from_str::<CascadeConfig>(&twice)
            .map(|c| c.topology().unwrap_err().to_string())
            .unwrap_or_else(|e| e.to_string());
        assert!(err.contains("son-duong"), "{err}");
    }

    #[test]
    fn missing_or_stray_secrets_and_a_plain_url_are_refused() {
        let no_child = TREE.replace(
            "[[link]]\n        mcu = \"son-duong\"\n        secret = \"0123456789abcdef-sonduong\"",
            "",
        );
        let err = parse(&no_child).resolve().unwrap_err().to_string();
        assert!(err.contains("son-duong") && err.contains("child"), "{err}");
        let plain = TREE.replace("https://127.0.0.1:9001", "http://127.0.0.1:9001");
        let err = parse(&plain).resolve().unwrap_err().to_string();
        assert!(err.contains("https"), "{err}");
        let short = TREE.replace("0123456789abcdef-central", "short");
        assert!(parse(&short).resolve().is_err());
        let not_in_tree = TREE.replace(
            "id = \"tq\"\n        [[mcu]]",
            "id = \"nowhere\"\n        [[mcu]]",
        );
        let err = parse(&not_in_tree).topology().unwrap_err().to_string();
        assert!(err.contains("nowhere"), "{err}");
    }
}
