//! `[smtp]`: limits and relay policy of the SMTP server (RFC 5321), the
//! outbound queue, next-hop routes (`[[smtp.route]]`), DKIM signing keys
//! (`[[smtp.dkim]]`), DNS overrides (`[smtp.dns]`) and DMARC policy
//! (`[smtp.dmarc]`).
//!
//! Relative paths in these tables (route CA files, DKIM keys) resolve against
//! the folder of the config file; sealpost-smtp does that with
//! [`SmtpConfig::resolve_path`].

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Limits and policy of the SMTP listeners and the outbound queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Largest message in octets, advertised with SIZE.
    pub max_message_size: u64,
    /// Recipients accepted per message.
    pub max_recipients: usize,
    /// Protocol errors before the session is closed.
    pub max_errors: u32,
    /// Failed authentications before the connection is closed (submission).
    pub max_auth_failures: u32,
    /// Seconds of silence before the session is closed.
    pub timeout_secs: u64,
    /// Seconds a message may stay in the outbound queue before it bounces.
    pub queue_lifetime_secs: u64,
    /// Seconds before the first retry of a deferred message; doubles after
    /// every failed attempt up to `retry_max_secs`.
    pub retry_initial_secs: u64,
    /// Longest wait between two attempts, in seconds.
    pub retry_max_secs: u64,
    /// Seconds to connect to a next hop and for each of its replies.
    pub relay_timeout_secs: u64,
    /// Seconds a recipient may wait in the queue before its sender gets one
    /// `delayed` DSN (RFC 3461 NOTIFY=DELAY, or no NOTIFY); 0 sends none.
    pub delay_warning_secs: u64,
    /// TCP port of mail exchangers found through MX or address records
    /// (25; `[[smtp.route]]` hosts name their own port).
    pub relay_port: u16,
    /// Longest line of message content accepted (DATA), in octets with its
    /// CRLF. RFC 5321 4.5.3.1.6 says 1000; Postfix and Dovecot accept longer
    /// lines and so do we by default (1 MiB). Values below 1000 count as 1000.
    pub max_line_length: usize,
    /// What DATA does with a line ending in a bare LF.
    pub bare_lf: BareLfPolicy,
    /// Fixed next hops per recipient domain (`[[smtp.route]]`).
    pub route: Vec<RouteConfig>,
    /// DKIM signing keys per sending domain (`[[smtp.dkim]]`).
    pub dkim: Vec<DkimKeyConfig>,
    /// DNS: a resolver address and/or static records (`[smtp.dns]`).
    pub dns: DnsConfig,
    /// What to do with mail that fails DMARC (`[smtp.dmarc]`).
    pub dmarc: DmarcConfig,
    /// MTA-STS and DANE for mail that leaves (`[smtp.outbound_tls]`).
    pub outbound_tls: crate::outbound_tls::OutboundTlsConfig,
    /// Bounces to the SRS address of one original sender (forwarded mail
    /// coming back) relayed on per `srs_bounce_window_secs`; more get
    /// `451 4.7.1` at RCPT. Keeps forwarding from being turned into a
    /// bounce reflector aimed at one address.
    pub srs_bounces_per_sender: u32,
    /// RCPTs to SRS addresses of ours, valid or not, all senders together,
    /// per `srs_bounce_window_secs`; more get `451 4.7.1`.
    pub srs_bounces_total: u32,
    /// The window of both SRS bounce limits, in seconds.
    pub srs_bounce_window_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 10,
            max_auth_failures: 3,
            timeout_secs: 300,
            queue_lifetime_secs: 5 * 24 * 3600,
            retry_initial_secs: 300,
            retry_max_secs: 4 * 3600,
            relay_timeout_secs: 300,
            delay_warning_secs: 4 * 3600,
            relay_port: 25,
            max_line_length: 1024 * 1024,
            bare_lf: BareLfPolicy::Normalize,
            route: Vec::new(),
            dkim: Vec::new(),
            dns: DnsConfig::default(),
            dmarc: DmarcConfig::default(),
            outbound_tls: Default::default(),
            srs_bounces_per_sender: 20,
            srs_bounces_total: 500,
            srs_bounce_window_secs: 3600,
        }
    }
}

impl SmtpConfig {
    /// The route for a recipient domain (exact match, any case), if any.
    pub fn route_for(&self, domain: &str) -> Option<&RouteConfig> {
        self.route
            .iter()
            .find(|r| r.domain.eq_ignore_ascii_case(domain))
    }

    /// Makes a path from these tables absolute against the config file's folder.
    pub fn resolve_path(config_file: &Path, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            config_file.parent().unwrap_or(Path::new("/")).join(p)
        }
    }
}

/// `[smtp] bare_lf`: a DATA line that ends in LF without CR.
///
/// Either way only `<CRLF>.<CRLF>` ends a message: a `.` line after or
/// before a bare LF is content (the SMTP smuggling defence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BareLfPolicy {
    /// Accept it and store the line with CRLF (what Postfix 3.9's
    /// `smtpd_forbid_bare_newline = normalize` does). The default.
    Normalize,
    /// Refuse the message with `550 5.6.0` (RFC 5321 2.3.8 strictly).
    Reject,
}

/// `[[smtp.route]]`: send mail for `domain` to a fixed host instead of its MX.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The recipient domain.
    pub domain: String,
    /// `host:port` of the next hop (an IP address or a name).
    pub host: String,
    /// Refuse to send without STARTTLS (default: opportunistic TLS).
    #[serde(default)]
    pub require_tls: bool,
    /// PEM CA certificates that verify the next hop when `require_tls` is
    /// set; without it, required TLS verifies against nothing but still
    /// refuses plaintext.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `[[smtp.dkim]]`: a DKIM signing key (RFC 6376, RFC 8463).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimKeyConfig {
    /// The signing domain (`d=`): mail whose From: is in it is signed.
    pub domain: String,
    /// The selector (`s=`): the public key is at `selector._domainkey.domain`.
    pub selector: String,
    /// `ed25519-sha256` or `rsa-sha256`.
    pub algorithm: DkimAlgorithm,
    /// PEM (PKCS#8) private key file.
    pub key: PathBuf,
    /// Whether submitted mail is signed with it (default true). A rotated
    /// key keeps its entry with `sign = false` until `sealpost dkim retire`:
    /// its selector stays published, so mail signed before the rotation
    /// still verifies.
    #[serde(default = "yes")]
    pub sign: bool,
    /// Made by `sealpost dkim rotate` and not yet confirmed in DNS: its
    /// selector is published (`sealpost dns`) but it never signs, whatever
    /// `sign` says, until `sealpost dkim activate` has found its record.
    /// Default false.
    #[serde(default)]
    pub pending: bool,
    /// When `sealpost dkim activate` stopped it signing (a TOML date-time,
    /// written by the CLI): `dkim retire` waits [`DKIM_RETIRE_GRACE_DAYS`]
    /// after it, so mail signed just before still verifies.
    #[serde(default)]
    pub stopped_signing: Option<toml::value::Datetime>,
    /// The private key itself (PEM), for a key another node of a shared
    /// store published (never read from the file: `key` is then only a
    /// label). Signers use it instead of reading `key`.
    #[serde(skip)]
    pub shared_pem: Option<SharedKey>,
}

/// A private key held in memory; its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedKey(pub std::sync::Arc<Vec<u8>>);

impl std::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKey(..)")
    }
}

/// Days a selector stays published after it stopped signing before `sealpost
/// dkim retire` takes it away without `--force`: receivers verify mail
/// later than it is sent (queues, retries, a user's client rechecking).
pub const DKIM_RETIRE_GRACE_DAYS: i64 = 7;

fn yes() -> bool {
    true
}

impl DkimKeyConfig {
    /// Whether submitted mail is signed with it now.
    pub fn signs(&self) -> bool {
        self.sign && !self.pending
    }

    /// Whether the key is ed25519 (else RSA).
    pub fn is_ed25519(&self) -> bool {
        self.algorithm == DkimAlgorithm::Ed25519Sha256
    }
}

/// A DKIM signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DkimAlgorithm {
    /// RFC 8463.
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
    /// RFC 6376.
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
}

/// `[smtp.dns]`: where SPF, DKIM, DMARC and MX lookups go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// A resolver `ip:port` to use instead of the system's.
    pub resolver: Option<SocketAddr>,
    /// Answer only from the static records below: any other name does not
    /// exist (tests, air-gapped setups). Default false.
    pub static_only: bool,
    /// Static TXT records, answered before (and instead of) the resolver.
    pub txt: Vec<StaticTxt>,
    /// Static MX records.
    pub mx: Vec<StaticMx>,
    /// Static A/AAAA records.
    pub a: Vec<StaticAddr>,
    /// Static records of other types (SRV, CNAME, TLSA): `sealpost dns
    /// --check` looks them up, and the queue the TLSA records of mail
    /// exchangers (DANE).
    pub record: Vec<StaticRecord>,
}

/// A static record of a type mail flow does not look up (`[[smtp.dns.record]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRecord {
    /// Owner name, e.g. `_imaps._tcp.example.org`.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub kind: StaticRecordType,
    /// The data as in a zone file, e.g. `0 1 993 mail.example.org.`.
    pub value: String,
    /// Whether the record counts as DNSSEC-validated (what the AD bit of a
    /// validating resolver says): DANE uses only such TLSA records.
    /// Default false.
    #[serde(default)]
    pub secure: bool,
}

/// The types `[[smtp.dns.record]]` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum StaticRecordType {
    /// RFC 2782 service location.
    #[serde(rename = "SRV")]
    Srv,
    /// An alias.
    #[serde(rename = "CNAME")]
    Cname,
    /// RFC 6698 DANE.
    #[serde(rename = "TLSA")]
    Tlsa,
}

impl StaticRecordType {
    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaticRecordType::Srv => "SRV",
            StaticRecordType::Cname => "CNAME",
            StaticRecordType::Tlsa => "TLSA",
        }
    }
}

/// A static TXT record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTxt {
    /// Owner name, e.g. `sel._domainkey.example.org`.
    pub name: String,
    /// The text.
    pub value: String,
}

/// A static MX record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticMx {
    /// The domain.
    pub name: String,
    /// The exchange host.
    pub host: String,
    /// Preference (lower first).
    #[serde(default)]
    pub preference: u16,
    /// Whether the domain's MX answer counts as DNSSEC-validated: DANE
    /// applies to its hosts only then (RFC 7672 2.2.1). All of a domain's
    /// static MX records must say so. Default false.
    #[serde(default)]
    pub secure: bool,
}

/// A static A or AAAA record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticAddr {
    /// The host name.
    pub name: String,
    /// Its address.
    pub addr: IpAddr,
}

/// `[smtp.dmarc]`: DMARC enforcement on inbound mail (RFC 7489 6.6).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DmarcConfig {
    /// Refuse (550 5.7.1) mail that fails DMARC when its domain publishes
    /// `p=reject`; otherwise such mail is delivered with the failure recorded
    /// in Authentication-Results.
    pub enforce_reject: bool,
}

impl Default for DmarcConfig {
    fn default() -> Self {
        DmarcConfig {
            enforce_reject: true,
        }
    }
}
