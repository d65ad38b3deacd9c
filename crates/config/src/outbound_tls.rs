//! `[smtp.outbound_tls]`: how mail that leaves is protected beyond
//! opportunistic STARTTLS: MTA-STS (RFC 8461) policies of recipient
//! domains and DANE (RFC 7672) TLSA records of their mail exchangers.
//!
//! Neither applies to a `[[smtp.route]]` hop: a fixed route is the
//! operator's own decision and carries its own `require_tls`/`ca_file`.

use crate::error::ConfigError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The largest policy body a fetch may take (RFC 8461 3.3 says 64 KiB is
/// enough for any policy; more than this bound is never useful).
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// Outbound TLS policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundTlsConfig {
    /// Look up and honour the MTA-STS policy of recipient domains (default
    /// true).
    pub mta_sts: bool,
    /// Authenticate mail exchangers with DNSSEC-validated TLSA records
    /// (default true). The records count as validated only when the
    /// resolver sets the AD bit (it must be a validating resolver the host
    /// trusts, e.g. a local unbound) or, for static records, with
    /// `secure = true`.
    pub dane: bool,
    /// PEM CA certificates trusted besides the system's roots when a
    /// policy asks for a valid certificate (WebPKI): the MTA-STS policy host
    /// and enforced mail exchangers. For private CAs and tests.
    pub ca_file: Option<PathBuf>,
    /// TCP port of the HTTPS policy host `mta-sts.DOMAIN` (443; another
    /// value only for tests).
    pub mta_sts_port: u16,
    /// Seconds for a whole policy fetch (connect, TLS, request, body).
    pub policy_timeout_secs: u64,
    /// Largest policy body in octets; a bigger one is not a policy.
    pub policy_max_bytes: usize,
    /// Send TLS reports (RFC 8460) to recipient domains that ask for them
    /// in `_smtp._tls` (default true).
    pub tls_rpt: bool,
    /// Seconds a report covers (86400: the daily report of RFC 8460;
    /// shorter only for tests).
    pub tls_rpt_interval_secs: u64,
    /// `contact-info` of the reports and their From: address; empty means
    /// `postmaster@` the server's hostname.
    pub tls_rpt_contact: String,
}

impl Default for OutboundTlsConfig {
    fn default() -> Self {
        OutboundTlsConfig {
            mta_sts: true,
            dane: true,
            ca_file: None,
            mta_sts_port: 443,
            policy_timeout_secs: 20,
            policy_max_bytes: 64 * 1024,
            tls_rpt: true,
            tls_rpt_interval_secs: 86400,
            tls_rpt_contact: String::new(),
        }
    }
}

impl OutboundTlsConfig {
    /// Checks the bounds; resolves `ca_file` against `base`.
    pub(crate) fn resolve(
        mut self,
        path: &Path,
        text: &str,
        base: &Path,
    ) -> Result<Self, ConfigError> {
        let fail = |key: &str, message: String| {
            let dotted = format!("smtp.outbound_tls.{key}");
            Err(ConfigError::key(
                path,
                dotted.clone(),
                crate::find_key_line(text, &dotted),
                message,
            ))
        };
        if !(1..=300).contains(&self.policy_timeout_secs) {
            return fail(
                "policy_timeout_secs",
                "must be between 1 and 300".to_string(),
            );
        }
        if !(1024..=MAX_POLICY_BYTES).contains(&self.policy_max_bytes) {
            return fail(
                "policy_max_bytes",
                format!("must be between 1024 and {MAX_POLICY_BYTES}"),
            );
        }
        if !(1..=7 * 86400).contains(&self.tls_rpt_interval_secs) {
            return fail(
                "tls_rpt_interval_secs",
                "must be between 1 and 604800".to_string(),
            );
        }
        if !self.tls_rpt_contact.is_empty()
            && (self.tls_rpt_contact.contains(['\r', '\n', '<', '>'])
                || !self.tls_rpt_contact.contains('@'))
        {
            return fail("tls_rpt_contact", "must be an email address".to_string());
        }
        if self.mta_sts_port == 0 {
            return fail("mta_sts_port", "must be a TCP port (1-65535)".to_string());
        }
        if let Some(ca) = &mut self.ca_file {
            *ca = base.join(&*ca);
        }
        Ok(self)
    }
}
