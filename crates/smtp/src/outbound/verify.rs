//! The certificate checks an outbound policy asks for, as one rustls
//! verifier that remembers its verdict: WebPKI (MTA-STS: a chain to a
//! trusted root and the MX host name, RFC 8461 4.2), DANE (TLSA records,
//! `dane.rs`) or none (TLS required but not authenticated).
//!
//! An enforcing check fails the handshake; a reporting one (MTA-STS
//! `testing`) lets it go on and only records the failure, which the
//! queue's attempt line and TLS reporting show.

use super::dane::Tlsa;
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// What the check asks of the certificate.
#[derive(Debug)]
enum Kind {
    WebPki(Arc<WebPkiServerVerifier>),
    Dane(Vec<Tlsa>),
    TlsOnly,
    /// The check could not be set up (no roots): every certificate fails.
    Broken(String),
}

/// A certificate check that records its outcome.
#[derive(Debug)]
pub struct Checked {
    kind: Kind,
    enforce: bool,
    provider: Arc<CryptoProvider>,
    outcome: Mutex<Option<Result<(), String>>>,
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots (read once) plus the certificates of `ca_file`.
pub fn webpki_roots(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, String> {
    static SYSTEM: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let system = SYSTEM.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(Arc::new(roots))
}

impl Checked {
    /// WebPKI validation against `roots`.
    pub fn webpki(roots: Arc<RootCertStore>, enforce: bool) -> Result<Checked, String> {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Checked::of(Kind::WebPki(verifier), enforce))
    }

    /// DANE matching against usable TLSA records (always enforced).
    pub fn dane(records: Vec<Tlsa>) -> Checked {
        Checked::of(Kind::Dane(records), true)
    }

    /// Any certificate: TLS is required, authentication is not possible.
    pub fn tls_only() -> Checked {
        Checked::of(Kind::TlsOnly, true)
    }

    /// Any certificate, and plaintext is not refused (opportunistic TLS):
    /// only records whether a handshake happened.
    pub fn opportunistic() -> Checked {
        Checked::of(Kind::TlsOnly, false)
    }

    /// A check that fails every certificate with `why`.
    pub fn failing(why: String, enforce: bool) -> Checked {
        Checked::of(Kind::Broken(why), enforce)
    }

    fn of(kind: Kind, enforce: bool) -> Checked {
        Checked {
            kind,
            enforce,
            provider: provider(),
            outcome: Mutex::new(None),
        }
    }

    /// Whether a failed check stops the handshake.
    pub fn enforces(&self) -> bool {
        self.enforce
    }

    /// The verdict of the last handshake: `None` when no certificate was
    /// seen (no STARTTLS, or the connection failed before).
    pub fn outcome(&self) -> Option<Result<(), String>> {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), String> {
        match &self.kind {
            Kind::WebPki(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Kind::Dane(records) => dane_verify(
                records,
                end_entity,
                intermediates,
                server_name,
                now,
                &self.provider,
            ),
            Kind::TlsOnly => Ok(()),
            Kind::Broken(why) => Err(why.clone()),
        }
    }
}

/// DANE-EE: the end entity matches; DANE-TA: a sent certificate (or a full
/// one in the record) matches and the end entity chains to it with the
/// right name.
fn dane_verify(
    records: &[Tlsa],
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
    provider: &Arc<CryptoProvider>,
) -> Result<(), String> {
    if records
        .iter()
        .any(|r| r.usage == 3 && r.matches(end_entity))
    {
        return Ok(());
    }
    let mut anchors: Vec<CertificateDer<'static>> = Vec::new();
    for r in records.iter().filter(|r| r.usage == 2) {
        anchors.extend(
            intermediates
                .iter()
                .filter(|c| r.matches(c))
                .map(|c| c.clone().into_owned()),
        );
        if r.selector == 0 && r.matching == 0 {
            anchors.push(CertificateDer::from(r.data.clone()));
        }
    }
    let mut why = "no TLSA record matches the certificate chain".to_string();
    for anchor in anchors {
        let mut roots = RootCertStore::empty();
        if roots.add(anchor).is_err() {
            continue;
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| e.to_string())?;
        match verifier.verify_server_cert(end_entity, intermediates, server_name, &[], now) {
            Ok(_) => return Ok(()),
            Err(e) => why = format!("DANE-TA: {e}"),
        }
    }
    Err(why)
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.judge(end_entity, intermediates, server_name, ocsp, now);
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict.clone());
        match verdict {
            Err(e) if self.enforce => Err(rustls::Error::General(e)),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
