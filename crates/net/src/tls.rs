//! Certificate loading, self-signed generation and hot reload.

use parking_lot::RwLock;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written (generation of a self-signed pair).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file holds no usable certificate.
    #[error("{path}: no PEM certificate found")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable private key.
    #[error("{path}: no PEM private key found")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("{cert} and {key}: {message}")]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        message: String,
    },
    /// Certificate generation failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// The server's TLS configuration, reloadable while connections are open.
#[derive(Clone)]
pub struct TlsManager {
    inner: Arc<Inner>,
}

struct Inner {
    cert: PathBuf,
    key: PathBuf,
    config: RwLock<Arc<ServerConfig>>,
}

impl std::fmt::Debug for TlsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsManager")
            .field("cert", &self.inner.cert)
            .finish_non_exhaustive()
    }
}

impl TlsManager {
    /// Loads the pair at `cert`/`key`; when both are missing, generates a
    /// self-signed certificate for `hostname` there first (key mode 0600).
    /// Returns whether it generated one, so the caller can log it.
    pub fn load_or_generate(
        cert: &Path,
        key: &Path,
        hostname: &str,
    ) -> Result<(TlsManager, bool), TlsError> {
        let generated = if !cert.exists() && !key.exists() {
            generate_self_signed(cert, key, hostname)?;
            true
        } else {
            false
        };
        let config = load_config(cert, key)?;
        Ok((
            TlsManager {
                inner: Arc::new(Inner {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                    config: RwLock::new(config),
                }),
            },
            generated,
        ))
    }

    /// Loads an existing pair; never generates.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsManager, TlsError> {
        let config = load_config(cert, key)?;
        Ok(TlsManager {
            inner: Arc::new(Inner {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                config: RwLock::new(config),
            }),
        })
    }

    /// Re-reads the certificate and key; on error the old pair stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = load_config(&self.inner.cert, &self.inner.key)?;
        *self.inner.config.write() = config;
        Ok(())
    }

    /// An acceptor with the current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.inner.config.read().clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoKey {
            path: key.to_path_buf(),
        })?;
    let rejected = |e: rustls::Error| TlsError::Rejected {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(rejected)?;
    config.alpn_protocols = Vec::new();
    Ok(Arc::new(config))
}

fn generate_self_signed(cert: &Path, key: &Path, hostname: &str) -> Result<(), TlsError> {
    let mut names = vec![hostname.to_string()];
    if hostname != "localhost" {
        names.push("localhost".to_string());
    }
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_new(key, certified.signing_key.serialize_pem().as_bytes())?;
    write_new(cert, certified.cert.pem().as_bytes())?;
    Ok(())
}

/// Creates a file of the generated pair through the shared helper: 0600
/// from the start (never readable by others, not even briefly; the
/// certificate too, as every file sealpost writes), whole or not at all,
/// never over an existing file, its folder created 0700 if missing.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        sealpost_durable::create_dir(dir).map_err(err)?;
    }
    sealpost_durable::write_new(path, bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generates_pair_with_private_key_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c/cert.pem");
        let key = dir.path().join("c/key.pem");
        let (tls, generated) = TlsManager::load_or_generate(&cert, &key, "mail.example").unwrap();
        assert!(generated);
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(&cert).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "every file sealpost writes is 0600");
        let mode = std::fs::metadata(cert.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "a folder it creates is 0700");
        let (_, generated) = TlsManager::load_or_generate(&cert, &key, "mail.example").unwrap();
        assert!(!generated);
        tls.reload().unwrap();
        // A broken file on reload keeps the old pair and reports the file.
        std::fs::write(&cert, "garbage").unwrap();
        let e = tls.reload().unwrap_err().to_string();
        assert!(e.contains("cert.pem"), "{e}");
        let _ = tls.acceptor();
    }

    #[test]
    fn missing_key_is_reported_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "x").unwrap();
        let e = TlsManager::load(&cert, &dir.path().join("key.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key.pem"), "{e}");
    }
}
