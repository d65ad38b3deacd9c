//! `[audit]`: the security event log and its witness.

use crate::{ConfigError, Location};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where the audit log's checkpoints are witnessed: somewhere outside
/// data_dir that remembers how far the chain got, so that removing the
/// newest records (or the whole log) is detected by
/// `sealpost audit verify --witness`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Witness {
    /// No witness: removal of the newest records cannot be detected (only
    /// for throw-away test servers and benchmarks).
    #[default]
    Off,
    /// One line per checkpoint appended to this file and fsynced.
    File(PathBuf),
    /// One datagram per checkpoint to this syslog socket (`/dev/log`).
    Syslog(PathBuf),
    /// One datagram per checkpoint to journald's native socket.
    Journald(PathBuf),
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Witness::Off => f.write_str("off"),
            Witness::File(p) => write!(f, "file {}", p.display()),
            Witness::Syslog(p) => write!(f, "syslog ({})", p.display()),
            Witness::Journald(p) => write!(f, "journald ({})", p.display()),
        }
    }
}

/// The syslog socket of `witness = "syslog"`.
pub const SYSLOG_SOCKET: &str = "/dev/log";
/// journald's native socket of `witness = "journald"`.
pub const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
/// The default witness file's name, beside the audit signing key.
pub const DEFAULT_WITNESS_FILE: &str = "audit-witness.log";
/// Upper bound of `segment_max_bytes` (1 GiB).
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;
/// Upper bound of `segment_max_age_secs` (a week).
pub const MAX_SEGMENT_AGE_SECS: u64 = 7 * 86_400;

/// Settings of the audit log.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Whether security events are recorded at all. Only for measuring what
    /// the log costs (the benchmark) or throw-away test servers: off breaks
    /// the promise of a sealed record, and `serve` warns at start.
    pub enabled: bool,
    /// A segment is closed and sealed once it reaches this many bytes.
    pub segment_max_bytes: u64,
    /// A segment is closed and sealed once it is this many seconds old.
    pub segment_max_age_secs: u64,
    /// Where checkpoints are witnessed (`witness`; default: a file beside
    /// the audit signing key).
    pub witness: Witness,
    /// The master key file: the keys that encrypt the personal fields of
    /// audit records (one per calendar month) are wrapped by a key derived
    /// from it. Set from `server.master_key`; empty in [`Default`] (the
    /// log then refuses to open).
    pub master_key: PathBuf,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            segment_max_bytes: 64 * 1024 * 1024,
            segment_max_age_secs: 3600,
            witness: Witness::Off,
            master_key: PathBuf::new(),
        }
    }
}

/// `[audit]` as written.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawAudit {
    enabled: bool,
    segment_max_bytes: Spanned<u64>,
    segment_max_age_secs: Spanned<u64>,
    witness: Option<Spanned<String>>,
}

impl Default for RawAudit {
    fn default() -> Self {
        let d = AuditConfig::default();
        RawAudit {
            enabled: d.enabled,
            segment_max_bytes: Spanned::new(0..0, d.segment_max_bytes),
            segment_max_age_secs: Spanned::new(0..0, d.segment_max_age_secs),
            witness: None,
        }
    }
}

/// What `resolve` needs to know of the rest of the config.
pub(crate) struct AuditContext<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub base: &'a Path,
    pub data_dir: &'a Path,
    pub audit_signing_key: &'a Path,
    pub master_key: &'a Path,
}

impl RawAudit {
    /// Validates and resolves paths.
    pub(crate) fn resolve(self, cx: &AuditContext<'_>) -> Result<AuditConfig, ConfigError> {
        let at = |span: std::ops::Range<usize>| {
            (span.end > span.start).then(|| Location::of_offset(cx.text, span.start))
        };
        for (key, value, max) in [
            (
                "audit.segment_max_bytes",
                &self.segment_max_bytes,
                MAX_SEGMENT_BYTES,
            ),
            (
                "audit.segment_max_age_secs",
                &self.segment_max_age_secs,
                MAX_SEGMENT_AGE_SECS,
            ),
        ] {
            if *value.get_ref() == 0 || *value.get_ref() > max {
                return Err(ConfigError::key(
                    cx.path,
                    key,
                    at(value.span()),
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        let witness = match &self.witness {
            None => {
                let dir = cx.audit_signing_key.parent().unwrap_or(Path::new("/"));
                let file = dir.join(DEFAULT_WITNESS_FILE);
                if crate::lexical(&file).starts_with(crate::lexical(cx.data_dir)) {
                    return Err(ConfigError::key(
                        cx.path,
                        "audit.witness",
                        None,
                        format!(
                            "the default witness {} (beside server.audit_signing_key) would be inside data_dir {}: set `witness` to a file outside data_dir, \"syslog\" or \"journald\"",
                            file.display(),
                            cx.data_dir.display()
                        ),
                    ));
                }
                Witness::File(file)
            }
            Some(w) => {
                let value = w.get_ref().trim();
                let socket = |rest: Option<&str>, default: &str| {
                    PathBuf::from(rest.filter(|s| !s.is_empty()).unwrap_or(default))
                };
                let parsed = match value.split_once(':') {
                    _ if value == "off" => Witness::Off,
                    _ if value == "syslog" => Witness::Syslog(socket(None, SYSLOG_SOCKET)),
                    _ if value == "journald" => Witness::Journald(socket(None, JOURNALD_SOCKET)),
                    Some(("syslog", rest)) => Witness::Syslog(socket(Some(rest), SYSLOG_SOCKET)),
                    Some(("journald", rest)) => {
                        Witness::Journald(socket(Some(rest), JOURNALD_SOCKET))
                    }
                    _ if value.is_empty() => {
                        return Err(ConfigError::key(
                            cx.path,
                            "audit.witness",
                            at(w.span()),
                            "must be a file, \"syslog\", \"journald\" or \"off\"",
                        ));
                    }
                    _ => Witness::File(cx.base.join(value)),
                };
                if let Witness::File(file) = &parsed
                    && crate::lexical(file).starts_with(crate::lexical(cx.data_dir))
                {
                    return Err(ConfigError::key(
                        cx.path,
                        "audit.witness",
                        at(w.span()),
                        format!(
                            "{} is inside data_dir {}: the witness must live where someone who can edit the log cannot (another disk, another machine, syslog)",
                            file.display(),
                            cx.data_dir.display()
                        ),
                    ));
                }
                parsed
            }
        };
        Ok(AuditConfig {
            enabled: self.enabled,
            segment_max_bytes: self.segment_max_bytes.into_inner(),
            segment_max_age_secs: self.segment_max_age_secs.into_inner(),
            witness,
            master_key: cx.master_key.to_path_buf(),
        })
    }
}
