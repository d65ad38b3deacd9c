//! Certificate loading, self-signed generation, hot reload and swaps
//! (RFC 8446/5246 through rustls; TLS-ALPN-01 answers per RFC 8737).

use crate::ListenerKind;
use parking_lot::RwLock;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
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
///
/// One certificate serves every listener: the mail listeners and the HTTPS
/// listener read it through the same [`CertResolver`], so a swap (SIGHUP
/// reload, an ACME renewal through [`TlsManager::switch_to`]) reaches all of
/// them at once. New handshakes use the new certificate; established
/// sessions keep theirs.
///
/// Two rustls configurations share that resolver: the mail one offers no
/// ALPN, the HTTPS one offers `http/1.1` and `acme-tls/1` (RFC 8737). A
/// client offering only other protocols (e.g. `imap` on 443) is refused,
/// which is the ALPACA cross-protocol defence. Only the HTTPS one answers
/// TLS-ALPN-01 validations, with the certificates set by
/// [`TlsManager::set_alpn_challenge`].
#[derive(Clone)]
pub struct TlsManager {
    inner: Arc<Inner>,
}

struct Inner {
    /// The files the current certificate came from; `reload` re-reads them.
    source: RwLock<(PathBuf, PathBuf)>,
    /// The files of the certificates served by name, and their names.
    named_sources: RwLock<Vec<NamedSource>>,
    shared: Arc<Shared>,
    mail: Arc<ServerConfig>,
    https: Arc<ServerConfig>,
}

#[derive(Debug, Clone)]
struct NamedSource {
    names: Vec<String>,
    cert: PathBuf,
    key: PathBuf,
}

/// What both resolvers read: the current certificate, certificates served
/// to clients that ask for particular names (SNI), and the TLS-ALPN-01
/// validation certificates by name.
struct Shared {
    current: RwLock<Arc<CertifiedKey>>,
    named: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    alpn_challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

/// Picks the certificate for a handshake (rustls calls it per ClientHello).
#[derive(Debug)]
struct CertResolver {
    shared: Arc<Shared>,
    /// Whether this listener answers TLS-ALPN-01 (the HTTPS one only).
    acme_alpn: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// The ALPN protocol of TLS-ALPN-01 validations (RFC 8737 section 6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            // RFC 8737 section 3: the validator offers only acme-tls/1 and
            // names the identifier in SNI; anything else gets no certificate.
            if !self.acme_alpn {
                return None;
            }
            let name = hello.server_name()?.to_ascii_lowercase();
            return self.shared.alpn_challenges.read().get(&name).cloned();
        }
        if let Some(name) = hello.server_name() {
            let named = self.shared.named.read();
            if !named.is_empty()
                && let Some(certified) = named.get(&name.to_ascii_lowercase())
            {
                return Some(certified.clone());
            }
        }
        Some(self.shared.current.read().clone())
    }
}

impl std::fmt::Debug for TlsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsManager")
            .field("source", &*self.inner.source.read())
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
        Ok((TlsManager::load(cert, key)?, generated))
    }

    /// Loads an existing pair; never generates.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsManager, TlsError> {
        let certified = load_certified(cert, key)?;
        let shared = Arc::new(Shared {
            current: RwLock::new(Arc::new(certified)),
            named: RwLock::new(HashMap::new()),
            alpn_challenges: RwLock::new(HashMap::new()),
        });
        let build = |alpn: Vec<Vec<u8>>, acme_alpn: bool| {
            let resolver = Arc::new(CertResolver {
                shared: shared.clone(),
                acme_alpn,
            });
            let mut config = ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| TlsError::Generate(e.to_string()))?
                .with_no_client_auth()
                .with_cert_resolver(resolver);
            config.alpn_protocols = alpn;
            Ok::<_, TlsError>(Arc::new(config))
        };
        let mail = build(Vec::new(), false)?;
        let https = build(vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()], true)?;
        Ok(TlsManager {
            inner: Arc::new(Inner {
                source: RwLock::new((cert.to_path_buf(), key.to_path_buf())),
                named_sources: RwLock::new(Vec::new()),
                shared,
                mail,
                https,
            }),
        })
    }

    /// Re-reads the certificate and key from where the current pair came
    /// from, and every certificate served by name; a pair that fails keeps
    /// its old contents in use (the first error is returned).
    pub fn reload(&self) -> Result<(), TlsError> {
        let (cert, key) = self.inner.source.read().clone();
        let mut first_error = None;
        match load_certified(&cert, &key) {
            Ok(certified) => *self.inner.shared.current.write() = Arc::new(certified),
            Err(e) => first_error = Some(e),
        }
        let sources = self.inner.named_sources.read().clone();
        for source in sources {
            match load_certified(&source.cert, &source.key) {
                Ok(certified) => {
                    let certified = Arc::new(certified);
                    let mut named = self.inner.shared.named.write();
                    for name in &source.names {
                        named.insert(name.clone(), certified.clone());
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Serves the pair at `cert`/`key` to clients asking (SNI) for one of
    /// `names`, from now on and after reloads; replaces an earlier pair from
    /// the same files. Checked first: on error nothing changes.
    pub fn set_named(&self, names: &[String], cert: &Path, key: &Path) -> Result<(), TlsError> {
        let certified = Arc::new(load_certified(cert, key)?);
        let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let mut sources = self.inner.named_sources.write();
        let mut named = self.inner.shared.named.write();
        if let Some(old) = sources.iter().position(|s| s.cert == cert) {
            for name in &sources[old].names {
                named.remove(name);
            }
            sources.remove(old);
        }
        for name in &names {
            named.insert(name.clone(), certified.clone());
        }
        sources.push(NamedSource {
            names,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        });
        Ok(())
    }

    /// Stops serving the pair from `cert` by name (those names get the
    /// current certificate again).
    pub fn clear_named(&self, cert: &Path) {
        let mut sources = self.inner.named_sources.write();
        if let Some(old) = sources.iter().position(|s| s.cert == cert) {
            let mut named = self.inner.shared.named.write();
            for name in &sources[old].names {
                named.remove(name);
            }
            sources.remove(old);
        }
    }

    /// The certificate files served by name now.
    pub fn named_sources(&self) -> Vec<PathBuf> {
        self.inner
            .named_sources
            .read()
            .iter()
            .map(|s| s.cert.clone())
            .collect()
    }

    /// Serves the pair at `cert`/`key` from now on (and reloads from there
    /// on SIGHUP). Checked first: on error nothing changes.
    pub fn switch_to(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        let certified = load_certified(cert, key)?;
        let mut source = self.inner.source.write();
        *self.inner.shared.current.write() = Arc::new(certified);
        *source = (cert.to_path_buf(), key.to_path_buf());
        Ok(())
    }

    /// The certificate and key files the current pair came from.
    pub fn source(&self) -> (PathBuf, PathBuf) {
        self.inner.source.read().clone()
    }

    /// The certificate served now (leaf first, DER).
    pub fn current_chain(&self) -> Vec<CertificateDer<'static>> {
        self.inner.shared.current.read().cert.clone()
    }

    /// Answers TLS-ALPN-01 validations for `name` (RFC 8737) with this
    /// self-signed certificate until [`TlsManager::clear_alpn_challenge`].
    pub fn set_alpn_challenge(
        &self,
        name: &str,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<(), TlsError> {
        // Not `from_der`: its key check parses the certificate with webpki,
        // which refuses the critical acmeIdentifier extension the
        // validation certificate must carry.
        let signing_key = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let certified = CertifiedKey::new(vec![cert], signing_key);
        self.inner
            .shared
            .alpn_challenges
            .write()
            .insert(name.to_ascii_lowercase(), Arc::new(certified));
        Ok(())
    }

    /// Stops answering TLS-ALPN-01 validations for `name`.
    pub fn clear_alpn_challenge(&self, name: &str) {
        self.inner
            .shared
            .alpn_challenges
            .write()
            .remove(&name.to_ascii_lowercase());
    }

    /// An acceptor for the mail listeners (no ALPN), with the current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.inner.mail.clone())
    }

    /// The acceptor for a listener: the HTTPS one negotiates `http/1.1` or
    /// `acme-tls/1`, every other listener no ALPN.
    pub fn acceptor_for(&self, kind: ListenerKind) -> TlsAcceptor {
        match kind {
            ListenerKind::Https => TlsAcceptor::from(self.inner.https.clone()),
            _ => self.acceptor(),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks a certificate chain and its key (the key must match the leaf).
fn load_certified(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key_der: PrivateKeyDer<'static> =
        PrivateKeyDer::from_pem_slice(&key_pem)
            .ok()
            .ok_or_else(|| TlsError::NoKey {
                path: key.to_path_buf(),
            })?;
    CertifiedKey::from_der(certs, key_der, &provider()).map_err(|e| TlsError::Rejected {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message: e.to_string(),
    })
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

/// Replaces `path` with `bytes` durably through the shared helper (0600
/// whatever the umask, whole or not at all, the folder fsynced); the
/// folder is made 0700 when missing. ACME stores its certificates so.
pub fn write_private_durable(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        sealpost_durable::create_dir(dir).map_err(err)?;
    }
    sealpost_durable::write(path, bytes).map_err(err)
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

    fn pair(dir: &Path, name: &str, host: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}-cert.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        generate_self_signed(&cert, &key, host).unwrap();
        (cert, key)
    }

    /// A TLS client over an in-memory pipe; returns the leaf it was shown.
    async fn handshake(
        acceptor: TlsAcceptor,
        sni: &str,
        alpn: &[&[u8]],
    ) -> Result<CertificateDer<'static>, String> {
        #[derive(Debug)]
        struct AnyCert;
        impl rustls::client::danger::ServerCertVerifier for AnyCert {
            fn verify_server_cert(
                &self,
                _: &CertificateDer<'_>,
                _: &[CertificateDer<'_>],
                _: &rustls::pki_types::ServerName<'_>,
                _: &[u8],
                _: rustls::pki_types::UnixTime,
            ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            fn verify_tls12_signature(
                &self,
                _: &[u8],
                _: &CertificateDer<'_>,
                _: &rustls::DigitallySignedStruct,
            ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
            {
                Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
            }
            fn verify_tls13_signature(
                &self,
                _: &[u8],
                _: &CertificateDer<'_>,
                _: &rustls::DigitallySignedStruct,
            ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
            {
                Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
            }
            fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
                provider()
                    .signature_verification_algorithms
                    .supported_schemes()
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert))
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let (a, b) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move { acceptor.accept(b).await.map(|_| ()) });
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let client = connector.connect(name, a).await.map_err(|e| e.to_string());
        let _ = server.await;
        let client = client?;
        Ok(client.get_ref().1.peer_certificates().unwrap()[0].clone())
    }

    #[tokio::test]
    async fn switch_to_reaches_mail_and_https_acceptors_and_survives_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (c1, k1) = pair(dir.path(), "one", "mail.example");
        let (c2, k2) = pair(dir.path(), "two", "mail.example");
        let tls = TlsManager::load(&c1, &k1).unwrap();
        let first = handshake(tls.acceptor(), "mail.example", &[])
            .await
            .unwrap();
        // A mismatched pair is refused and changes nothing.
        let e = tls.switch_to(&c1, &k2).unwrap_err().to_string();
        assert!(e.contains("one-cert.pem"), "{e}");
        assert_eq!(tls.source().0, c1);
        tls.switch_to(&c2, &k2).unwrap();
        assert_eq!(tls.source(), (c2.clone(), k2.clone()));
        let mail = handshake(tls.acceptor(), "mail.example", &[])
            .await
            .unwrap();
        let https = handshake(
            tls.acceptor_for(ListenerKind::Https),
            "mail.example",
            &[b"http/1.1"],
        )
        .await
        .unwrap();
        assert_ne!(first, mail);
        assert_eq!(mail, https);
        assert_eq!(tls.current_chain()[0], mail);
        // SIGHUP re-reads the new source, not the old one.
        tls.reload().unwrap();
        assert_eq!(handshake(tls.acceptor(), "x", &[]).await.unwrap(), mail);
    }

    #[tokio::test]
    async fn alpn_challenge_only_on_https_and_only_for_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = pair(dir.path(), "main", "mail.example");
        let tls = TlsManager::load(&c, &k).unwrap();
        let challenge = rcgen::generate_simple_self_signed(vec!["mta-sts.example".into()]).unwrap();
        tls.set_alpn_challenge(
            "MTA-STS.example",
            challenge.cert.der().clone(),
            PrivateKeyDer::Pkcs8(challenge.signing_key.serialize_der().into()),
        )
        .unwrap();
        let https = tls.acceptor_for(ListenerKind::Https);
        let got = handshake(https.clone(), "mta-sts.example", &[ACME_TLS_ALPN])
            .await
            .unwrap();
        assert_eq!(&got, challenge.cert.der());
        // Another name, or a mail listener, gets no validation certificate.
        assert!(
            handshake(https.clone(), "other.example", &[ACME_TLS_ALPN])
                .await
                .is_err()
        );
        assert!(
            handshake(tls.acceptor(), "mta-sts.example", &[ACME_TLS_ALPN])
                .await
                .is_err()
        );
        // Ordinary HTTPS clients still get the real certificate.
        let normal = handshake(https.clone(), "mta-sts.example", &[b"http/1.1"])
            .await
            .unwrap();
        assert_eq!(normal, tls.current_chain()[0]);
        // ALPACA: a client that wants IMAP on the HTTPS port is refused.
        assert!(
            handshake(https.clone(), "mail.example", &[b"imap"])
                .await
                .is_err()
        );
        tls.clear_alpn_challenge("mta-sts.example");
        assert!(
            handshake(https, "mta-sts.example", &[ACME_TLS_ALPN])
                .await
                .is_err()
        );
    }

    #[test]
    fn durable_write_is_0600_in_a_0700_folder_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme/sub/account.json");
        write_private_durable(&path, b"one").unwrap();
        write_private_durable(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[tokio::test]
    async fn named_certificates_by_sni_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = pair(dir.path(), "main", "mail.example");
        let (dc, dk) = pair(dir.path(), "domain", "mta-sts.example");
        let tls = TlsManager::load(&c, &k).unwrap();
        let main = tls.current_chain()[0].clone();
        tls.set_named(
            &["MTA-STS.example".into(), "autoconfig.example".into()],
            &dc,
            &dk,
        )
        .unwrap();
        let domain = handshake(tls.acceptor(), "mta-sts.example", &[])
            .await
            .unwrap();
        assert_ne!(domain, main);
        assert_eq!(
            handshake(tls.acceptor(), "autoconfig.example", &[])
                .await
                .unwrap(),
            domain
        );
        assert_eq!(
            handshake(tls.acceptor(), "mail.example", &[])
                .await
                .unwrap(),
            main
        );
        // Reload re-reads named pairs too; a broken one keeps its old contents.
        std::fs::remove_file(&dc).unwrap();
        let (dc2, _) = pair(dir.path(), "domain2", "mta-sts.example");
        std::fs::copy(&dc2, &dc).unwrap();
        assert!(
            tls.reload().is_err(),
            "key no longer matches the new certificate"
        );
        assert_eq!(
            handshake(tls.acceptor(), "mta-sts.example", &[])
                .await
                .unwrap(),
            domain
        );
        assert_eq!(tls.named_sources(), vec![dc.clone()]);
        tls.clear_named(&dc);
        assert_eq!(
            handshake(tls.acceptor(), "mta-sts.example", &[])
                .await
                .unwrap(),
            main
        );
        assert!(tls.named_sources().is_empty());
    }
}
