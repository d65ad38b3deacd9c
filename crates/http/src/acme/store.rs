//! Where ACME state lives on disk, and what a stored certificate says.
//!
//! ```text
//! acme.dir (default data_dir/acme), 0700
//!   account-<hash of directory URL>.json   account key and URL (0600)
//!   main/certificate.pem                   server.hostname + acme.names (0600)
//!   domains/<domain>/certificate.pem       acme.domain_names of one domain (0600)
//! ```
//!
//! A `certificate.pem` holds the private key followed by the chain (leaf
//! first), written at once with a rename: a crash leaves the old pair or
//! the new one, never a key that does not match its certificate. The
//! account file is per directory URL, so moving between Let's Encrypt's
//! staging and production never mixes their accounts.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which certificate of the server a file holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertId {
    /// The server's own: `server.hostname` and `acme.names`. Served on
    /// every listener to clients that ask for no other name.
    Main,
    /// One hosted domain's service names (`mta-sts.D`, `autoconfig.D`),
    /// served to clients that ask for them (SNI).
    Domain(String),
}

impl CertId {
    /// The folder of this certificate under `acme.dir`. Domain names come
    /// from the validated config (letters, digits, hyphens, dots; no empty
    /// label), so they cannot climb out of it.
    pub fn folder(&self, dir: &Path) -> PathBuf {
        match self {
            CertId::Main => dir.join("main"),
            CertId::Domain(d) => dir.join("domains").join(d),
        }
    }

    /// The key-and-chain file of this certificate.
    pub fn file(&self, dir: &Path) -> PathBuf {
        self.folder(dir).join("certificate.pem")
    }
}

/// The account file for a directory URL.
pub fn account_file(dir: &Path, directory_url: &str) -> PathBuf {
    let hash = hex::encode(&Sha256::digest(directory_url.as_bytes())[..8]);
    dir.join(format!("account-{hash}.json"))
}

/// What a stored certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCert {
    /// The DNS names of its subjectAltName, lower case, sorted.
    pub names: Vec<String>,
    /// Its notAfter.
    pub not_after: SystemTime,
    /// Its notAfter as RFC 2822 text (for the log).
    pub expires: String,
    /// Its serial number, hex (for the log).
    pub serial: String,
}

impl StoredCert {
    /// Whether it is missing a name, or expires within `renew_before`.
    pub fn needs_renewal(
        &self,
        wanted: &[String],
        renew_before: Duration,
        now: SystemTime,
    ) -> bool {
        let mut wanted: Vec<String> = wanted.to_vec();
        wanted.sort();
        wanted.dedup();
        self.names != wanted || now + renew_before >= self.not_after
    }
}

/// Reads the leaf of a PEM chain: `None` when there is no file or it holds
/// no parseable certificate.
pub fn inspect(file: &Path) -> Option<StoredCert> {
    let pem = std::fs::read(file).ok()?;
    let leaf = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
    inspect_der(&leaf)
}

/// What a DER certificate says about itself.
pub fn inspect_der(der: &[u8]) -> Option<StoredCert> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => {
                        Some(d.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    let secs = cert.validity().not_after.timestamp();
    let not_after = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    let expires = cert
        .validity()
        .not_after
        .to_rfc2822()
        .unwrap_or_else(|_| secs.to_string());
    Some(StoredCert {
        names,
        not_after,
        expires,
        serial: cert.raw_serial_as_string().replace(':', ""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_by_time_or_by_names() {
        let now = SystemTime::now();
        let c = StoredCert {
            names: vec!["a.example".into(), "b.example".into()],
            not_after: now + Duration::from_secs(40 * 86400),
            expires: String::new(),
            serial: "01".into(),
        };
        let day = Duration::from_secs(86400);
        let wanted = vec!["b.example".to_string(), "a.example".to_string()];
        assert!(!c.needs_renewal(&wanted, 30 * day, now));
        assert!(c.needs_renewal(&wanted, 41 * day, now));
        assert!(c.needs_renewal(&["a.example".to_string()], 30 * day, now));
        assert!(c.needs_renewal(
            &[wanted.clone(), vec!["c.example".into()]].concat(),
            30 * day,
            now
        ));
    }

    #[test]
    fn inspects_names_and_expiry() {
        let cert = rcgen::generate_simple_self_signed(vec![
            "B.example".to_string(),
            "a.example".to_string(),
        ])
        .unwrap();
        let c = inspect_der(cert.cert.der()).unwrap();
        assert_eq!(c.names, vec!["a.example", "b.example"]);
        assert!(c.not_after > SystemTime::now());
        assert!(!c.serial.is_empty());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(inspect(&dir.path().join("none.pem")), None);
        assert!(
            CertId::Domain("example.org".into())
                .file(dir.path())
                .ends_with("domains/example.org/certificate.pem")
        );
        assert_ne!(
            account_file(dir.path(), "https://a/dir"),
            account_file(dir.path(), "https://b/dir")
        );
    }
}
