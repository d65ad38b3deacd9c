//! `[log]`: the operational log on standard error (the journal under
//! systemd): its level, its format, and how much personal data it shows.
//! The sealed audit log is apart and always complete (`[audit]`).

use serde::Deserialize;

/// `[log]`. The `SEALPOST_LOG` environment variable, when set, overrides
/// `level` with a full tracing filter (e.g. `info,sealpost_smtp=debug`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// The least severe level logged.
    pub level: LogLevel,
    /// One line of text per event, or one JSON object per line.
    pub format: LogFormat,
    /// Addresses and client IPs in log lines (the audit log always has them,
    /// sealed).
    pub personal_data: PersonalData,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LogLevel::Info,
            format: LogFormat::Text,
            personal_data: PersonalData::Minimal,
        }
    }
}

/// A log level.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// One line per event that matters (the default).
    Info,
    /// Protocol details, for finding a problem.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The level as a tracing filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// How a log line is written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `TIME LEVEL target: message key=value ...`.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Personal data in the operational log.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PersonalData {
    /// Account ids instead of addresses, client IPs cut to their /24 or /48.
    Minimal,
    /// Addresses and IPs as they are.
    Full,
}

impl PersonalData {
    /// The value as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalData::Minimal => "minimal",
            PersonalData::Full => "full",
        }
    }
}
