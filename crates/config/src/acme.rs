//! `[acme]`: certificates from an ACME certificate authority (RFC 8555),
//! validated with HTTP-01 (RFC 8555 section 8.3) on the `http` listener or
//! TLS-ALPN-01 (RFC 8737) on the `https` listener.

use serde::Deserialize;
use std::path::PathBuf;

/// Let's Encrypt's production directory (the default).
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (untrusted certificates, generous rate
/// limits: try a setup here first).
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// How sealpost obtains and renews its certificates.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcmeConfig {
    /// Off by default: `[tls]` cert/key are served as they are.
    pub enabled: bool,
    /// The CA's directory URL (https).
    pub directory: String,
    /// Must be true: you agree to the CA's terms of service (named in its directory).
    pub accept_terms: bool,
    /// Contact URLs for the account (`mailto:postmaster@example.org`), for
    /// the CA's expiry and incident notices.
    pub contact: Vec<String>,
    /// More names on the server's certificate, beside `server.hostname`
    /// (e.g. `imap.example.org`).
    pub names: Vec<String>,
    /// Labels put in front of each hosted domain; each domain gets its own
    /// certificate for those names (so one domain whose DNS is not ready
    /// never holds back the others). Empty: no per-domain certificates.
    pub domain_names: Vec<String>,
    /// `http-01` (needs an `http` listener reachable on port 80) or
    /// `tls-alpn-01` (needs an `https` listener reachable on port 443).
    pub challenge: AcmeChallenge,
    /// Where the account key and certificates live (folder 0700, files 0600);
    /// default `data_dir/acme`.
    pub dir: Option<PathBuf>,
    /// A PEM file of extra CA certificates trusted for the directory's HTTPS
    /// (a private ACME server); the system's roots are trusted as well.
    pub ca_file: Option<PathBuf>,
    /// Renew this many days before the certificate expires.
    pub renew_before_days: u64,
    /// Seconds between checks of the certificates' expiry and names.
    pub check_interval_secs: u64,
    /// Seconds before the first retry of a failed order; doubles after each
    /// failure up to `retry_max_secs`. The old certificate serves meanwhile.
    pub retry_initial_secs: u64,
    /// Longest wait between two attempts, in seconds.
    pub retry_max_secs: u64,
}

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            enabled: false,
            directory: LETS_ENCRYPT_PRODUCTION.to_string(),
            accept_terms: false,
            contact: Vec::new(),
            names: Vec::new(),
            domain_names: vec!["mta-sts".to_string(), "autoconfig".to_string()],
            challenge: AcmeChallenge::Http01,
            dir: None,
            ca_file: None,
            renew_before_days: 30,
            check_interval_secs: 12 * 3600,
            retry_initial_secs: 60,
            retry_max_secs: 6 * 3600,
        }
    }
}

/// The ACME challenge type sealpost answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AcmeChallenge {
    /// RFC 8555 section 8.3: a token under `/.well-known/acme-challenge/` on port 80.
    #[serde(rename = "http-01")]
    Http01,
    /// RFC 8737: a validation certificate for ALPN `acme-tls/1` on port 443.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl AcmeChallenge {
    /// The challenge type's name in RFC 8555 / RFC 8737.
    pub fn as_str(self) -> &'static str {
        match self {
            AcmeChallenge::Http01 => "http-01",
            AcmeChallenge::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

/// Most names a certificate may carry (Let's Encrypt's limit).
pub const MAX_NAMES_PER_CERTIFICATE: usize = 100;
