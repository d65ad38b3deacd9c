//! `[pop3]`: limits and policy of the POP3 server (RFC 1939, RFC 2449).

use serde::Deserialize;

/// Limits of the POP3 listeners.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Config {
    /// Longest command line in octets (RFC 2449 says 255).
    pub max_line: usize,
    /// Failed authentications before the connection is closed.
    pub max_auth_failures: u32,
    /// Bad command lines (unknown, malformed, too long, wrong state) before
    /// the connection is closed; each one is answered `-ERR` until then.
    pub max_bad_commands: u32,
    /// Seconds of silence before the session is closed (RFC 1939: at least 600).
    pub idle_timeout_secs: u64,
    /// Days a retrieved message is kept at least, advertised as EXPIRE;
    /// `None` means NEVER. `0` means retrieved messages are removed at QUIT
    /// even without DELE (RFC 2449 section 6.7). Above 0 it is the minimum
    /// retention promised to clients: sealpost itself deletes nothing then.
    pub expire_days: Option<u32>,
    /// Minimum seconds between logins, advertised as LOGIN-DELAY; 0 means none.
    pub login_delay_secs: u64,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            max_line: 255,
            max_auth_failures: 3,
            max_bad_commands: 20,
            idle_timeout_secs: 600,
            expire_days: None,
            login_delay_secs: 0,
        }
    }
}
