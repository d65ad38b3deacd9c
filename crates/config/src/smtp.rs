//! `[smtp]`: limits and relay policy of the SMTP server (RFC 5321).

use serde::Deserialize;

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
    /// Days a message may stay in the outbound queue before it bounces.
    pub queue_lifetime_secs: u64,
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
        }
    }
}
