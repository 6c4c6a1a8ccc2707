//! The daemon's TLS identity: the configured PEM files, or a self-signed
//! certificate generated once into `data_dir/tls/` (key readable by the owner only).

use std::path::{Path, PathBuf};

use crate::config::Config;

/// Why no TLS identity could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// PEM certificate chain and key, and where they came from.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The certificate chain file.
    pub cert_path: PathBuf,
    /// The private key file.
    pub key_path: PathBuf,
    /// True when this start generated them.
    pub generated: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The configured identity, or the self-signed one under `data_dir/tls/`
/// (created on first use for `localhost`, `127.0.0.1`, `::1` and the listen address).
pub fn identity(config: &Config) -> Result<Identity, TlsError> {
    if let Some(tls) = &config.tls {
        return Ok(Identity {
            cert_path: tls.cert.clone(),
            key_path: tls.key.clone(),
            generated: false,
        });
    }
    let dir = config.server.data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok(Identity {
            cert_path,
            key_path,
            generated: false,
        });
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let listen_ip = config.server.listen.ip();
    if !listen_ip.is_unspecified() && !names.contains(&listen_ip.to_string()) {
        names.push(listen_ip.to_string());
    }
    let cert = rcgen::generate_simple_self_signed(names)?;
    std::fs::write(&cert_path, cert.cert.pem()).map_err(io(&cert_path))?;
    write_private(&key_path, cert.signing_key.serialize_pem().as_bytes())?;
    Ok(Identity {
        cert_path,
        key_path,
        generated: true,
    })
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}
