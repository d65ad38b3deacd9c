//! sealpost-config: the TOML configuration of a sealpost server.
//!
//! One file (by default `config/sealpost.toml`) describes the server: its
//! hostname and data directory, TLS certificate, listeners, hosted domains,
//! protocol limits and retention periods. Relative paths resolve against the
//! folder of the config file, so a config and its neighbours can be moved
//! together. Accounts live in a second file named by `server.accounts`,
//! edited by `sealpost account ...` (see sealpost-directory).
//!
//! Every error is one line naming the file, the key and the line where it is
//! known (see [`ConfigError`]). Unknown keys are errors, not warnings: a typo in
//! a limit must not silently leave the default in force.

#![warn(missing_docs)]

mod account_page;
mod acme;
mod audit;
mod compliance;
mod error;
mod http;
mod imap;
mod log;
mod outbound_tls;
mod pop3;
mod resolve;
mod retention;
mod smtp;
mod store;

pub use account_page::AccountPageConfig;
pub use acme::{
    AcmeChallenge, AcmeConfig, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING,
    MAX_NAMES_PER_CERTIFICATE,
};
pub use audit::{
    AuditConfig, DEFAULT_WITNESS_FILE, JOURNALD_SOCKET, MAX_SEGMENT_AGE_SECS, MAX_SEGMENT_BYTES,
    SYSLOG_SOCKET, Witness,
};
pub use compliance::{ComplianceConfig, Purpose};
pub use error::{ConfigError, Location};
pub use http::{HttpConfig, IpNetwork, MTA_STS_MAX_AGE_LIMIT, MtaStsConfig, MtaStsMode};
pub use imap::ImapConfig;
pub use log::{LogConfig, LogFormat, LogLevel, PersonalData};
pub use outbound_tls::{MAX_POLICY_BYTES, OutboundTlsConfig};
pub use pop3::Pop3Config;
pub use retention::{
    MAX_AUDIT_MONTHS, MAX_DELETED_ACCOUNT_GRACE_DAYS, MAX_FOLDER_DAYS, MAX_INTERVAL_SECS,
    RetentionConfig,
};
pub use smtp::{
    BareLfPolicy, DKIM_RETIRE_GRACE_DAYS, DkimAlgorithm, DkimKeyConfig, SharedKey, SmtpConfig,
    StaticRecord, StaticRecordType,
};
pub use store::{MAX_POOL_SIZE, StoreBackend, StoreConfig};

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The default config file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/sealpost.toml";

/// The whole configuration, validated, with every path made absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file this was read from.
    pub path: PathBuf,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[tls]`.
    pub tls: TlsConfig,
    /// `[listen]`.
    pub listen: ListenConfig,
    /// `[limits]`.
    pub limits: LimitsConfig,
    /// `[imap]`.
    pub imap: ImapConfig,
    /// `[pop3]`.
    pub pop3: Pop3Config,
    /// `[smtp]`.
    pub smtp: SmtpConfig,
    /// `[audit]`.
    pub audit: AuditConfig,
    /// `[retention]`.
    pub retention: RetentionConfig,
    /// `[compliance]`: the controller's facts for the register and the DPIA.
    pub compliance: ComplianceConfig,
    /// `[http]`.
    pub http: HttpConfig,
    /// `[acme]`, with `dir` and `ca_file` made absolute.
    pub acme: AcmeConfig,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[[domain]]`, one per hosted domain, names in lower case.
    pub domains: Vec<DomainConfig>,
}

/// `[server]`: identity and where data lives.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The name the server greets with and puts in certificates and Received headers.
    pub hostname: String,
    /// Where the mailbox store, audit log and admin socket live.
    pub data_dir: PathBuf,
    /// The accounts file (addresses, password hashes, quotas, aliases).
    pub accounts: PathBuf,
    /// The master key that wraps every account's data key; keep it outside data_dir.
    pub master_key: PathBuf,
    /// The ed25519 key that seals audit log segments.
    pub audit_signing_key: PathBuf,
}

/// `[tls]`: the certificate every listener presents.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `[listen]`: socket addresses per listener; an empty list means the listener is off.
#[derive(Debug, Clone, Default)]
pub struct ListenConfig {
    /// IMAP with STARTTLS.
    pub imap: Vec<SocketAddr>,
    /// IMAP over implicit TLS.
    pub imaps: Vec<SocketAddr>,
    /// POP3 with STLS.
    pub pop3: Vec<SocketAddr>,
    /// POP3 over implicit TLS.
    pub pop3s: Vec<SocketAddr>,
    /// Inbound SMTP (MX) with STARTTLS.
    pub smtp: Vec<SocketAddr>,
    /// Message submission with STARTTLS (RFC 6409).
    pub submission: Vec<SocketAddr>,
    /// Message submission over implicit TLS (RFC 8314).
    pub submissions: Vec<SocketAddr>,
    /// HTTP: ACME HTTP-01 answers and client autoconfig (production: port 80).
    pub http: Vec<SocketAddr>,
    /// HTTPS: autoconfig, autodiscover, the MTA-STS policy and TLS-ALPN-01
    /// (production: port 443).
    pub https: Vec<SocketAddr>,
}

/// `[limits]`: connection limits shared by every listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Connections open at once across all listeners.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_connections_per_ip: usize,
    /// Seconds a TLS handshake may take.
    pub tls_handshake_timeout_secs: u64,
    /// Failed logins from one IP address per 15 minutes before it is throttled.
    pub auth_failures_per_ip: u32,
    /// Failed logins for one account per 15 minutes before it is throttled.
    pub auth_failures_per_account: u32,
    /// Seconds a verified login is remembered, so a client reconnecting with
    /// the same password skips argon2id; 0 turns the cache off.
    pub login_cache_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 20_000,
            max_connections_per_ip: 2_000,
            tls_handshake_timeout_secs: 30,
            auth_failures_per_ip: 20,
            auth_failures_per_account: 10,
            login_cache_secs: 300,
        }
    }
}

/// `[[domain]]`: one hosted domain.
#[derive(Debug, Clone)]
pub struct DomainConfig {
    /// The domain name, in lower case.
    pub name: String,
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("cannot read config file: {e}")))?;
        Config::parse(path, &text)
    }

    /// Parses and validates config text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let path = absolute(path);
        let raw: RawConfig = deserialize(&path, text)?;
        let base = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        resolve::resolve(path, &base, text, raw)
    }

    /// Whether `domain` (any case) is hosted here.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(domain))
    }

    /// The admin socket of a running server, inside data_dir.
    pub fn admin_socket(&self) -> PathBuf {
        self.server.data_dir.join("admin.sock")
    }
}

/// `path` with `.` and `..` resolved by name only (no file system access),
/// so that `config/../data` and `data` compare equal.
pub(crate) fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Deserializes with the key path and line of the first error.
fn deserialize<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(path, text, None, &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = (key != "." && !key.is_empty()).then_some(key);
        toml_error(path, text, key, e.inner())
    })
}

fn toml_error(path: &Path, text: &str, key: Option<String>, e: &toml::de::Error) -> ConfigError {
    ConfigError {
        file: path.to_path_buf(),
        key,
        location: e.span().map(|s| Location::of_offset(text, s.start)),
        message: e.message().to_string(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    listen: RawListen,
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    imap: ImapConfig,
    #[serde(default)]
    pop3: Pop3Config,
    #[serde(default)]
    smtp: SmtpConfig,
    #[serde(default)]
    audit: audit::RawAudit,
    #[serde(default)]
    retention: RetentionConfig,
    #[serde(default)]
    compliance: ComplianceConfig,
    #[serde(default)]
    http: HttpConfig,
    #[serde(default)]
    acme: AcmeConfig,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    domain: Vec<RawDomain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_hostname")]
    hostname: Spanned<String>,
    #[serde(default = "default_data_dir")]
    data_dir: Spanned<PathBuf>,
    #[serde(default = "default_accounts")]
    accounts: Spanned<PathBuf>,
    #[serde(default = "default_master_key")]
    master_key: Spanned<PathBuf>,
    #[serde(default = "default_audit_key")]
    audit_signing_key: Spanned<PathBuf>,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            hostname: default_hostname(),
            data_dir: default_data_dir(),
            accounts: default_accounts(),
            master_key: default_master_key(),
            audit_signing_key: default_audit_key(),
        }
    }
}

fn unspanned<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}
fn default_hostname() -> Spanned<String> {
    unspanned("localhost".into())
}
fn default_data_dir() -> Spanned<PathBuf> {
    unspanned("data".into())
}
fn default_accounts() -> Spanned<PathBuf> {
    unspanned("accounts.toml".into())
}
fn default_master_key() -> Spanned<PathBuf> {
    unspanned("keys/master.key".into())
}
fn default_audit_key() -> Spanned<PathBuf> {
    unspanned("keys/audit-signing.key".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default = "default_cert")]
    cert: Spanned<PathBuf>,
    #[serde(default = "default_key")]
    key: Spanned<PathBuf>,
}

impl Default for RawTls {
    fn default() -> Self {
        RawTls {
            cert: default_cert(),
            key: default_key(),
        }
    }
}
fn default_cert() -> Spanned<PathBuf> {
    unspanned("certs/cert.pem".into())
}
fn default_key() -> Spanned<PathBuf> {
    unspanned("certs/key.pem".into())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawListen {
    #[serde(default)]
    imap: Vec<SocketAddr>,
    #[serde(default)]
    imaps: Vec<SocketAddr>,
    #[serde(default)]
    pop3: Vec<SocketAddr>,
    #[serde(default)]
    pop3s: Vec<SocketAddr>,
    #[serde(default)]
    smtp: Vec<SocketAddr>,
    #[serde(default)]
    submission: Vec<SocketAddr>,
    #[serde(default)]
    submissions: Vec<SocketAddr>,
    #[serde(default)]
    http: Vec<SocketAddr>,
    #[serde(default)]
    https: Vec<SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    name: Spanned<String>,
}

/// The location of the first line that assigns `key` (for errors found after parsing).
pub(crate) fn find_key_line(text: &str, dotted: &str) -> Option<Location> {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut offset = 0;
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            // `[name]` or `[[name]]`, possibly with a trailing comment.
            let header = header.trim_start_matches('[');
            if let Some(end) = header.find(']') {
                current = header[..end].trim().to_string();
            }
        } else if current == table
            && let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(Location::of_offset(
                text,
                offset + (line.len() - trimmed.len()),
            ));
        }
        offset += line.len();
    }
    None
}

/// A host or domain name per RFC 1123: labels of letters, digits and hyphens.
pub fn is_domain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests;
