//! `[imap]`: limits and timeouts of the IMAP server (RFC 9051, RFC 3501).

use serde::Deserialize;

/// Limits of the IMAP listeners.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// Longest command in octets, literals not counted; a longer one is
    /// discarded whole and answered `BAD [LIMIT]`.
    pub max_line: usize,
    /// Largest sum of one command's literals in octets, advertised as
    /// APPENDLIMIT; more is refused with `NO [TOOBIG]` (a synchronizing
    /// literal before it is sent, a LITERAL+ one after reading it away).
    /// Before login literals are further capped at 8 KiB.
    pub max_literal: u64,
    /// Pipelined commands whose responses may wait unsent: commands read
    /// together run one after another and their responses go out in one
    /// write per this many commands (or per 64 KiB). The loop reads again
    /// only once every command read is answered, so at most one read
    /// (4 KiB) of pipelined commands waits to run. 0 counts as 1 (a write
    /// after every command).
    pub max_in_flight: usize,
    /// Failed authentications before the connection is closed.
    pub max_auth_failures: u32,
    /// Seconds of silence allowed before login.
    pub login_timeout_secs: u64,
    /// Seconds of silence allowed after login (RFC 9051 asks for at least 30 minutes).
    pub idle_timeout_secs: u64,
    /// Most messages one FETCH, SEARCH, STORE, COPY, MOVE, UID EXPUNGE or
    /// MULTIAPPEND acts on, advertised as MESSAGELIMIT (RFC 9738); at
    /// least 1.
    pub message_limit: u32,
    /// Milliseconds between INPROGRESS notes (RFC 9585) of a long SEARCH,
    /// SORT or THREAD, the first one as long after the command began.
    pub progress_interval_ms: u64,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            max_line: 64 * 1024,
            max_literal: 50 * 1024 * 1024,
            max_in_flight: 64,
            max_auth_failures: 3,
            login_timeout_secs: 60,
            idle_timeout_secs: 30 * 60,
            message_limit: 100_000,
            progress_interval_ms: 2000,
        }
    }
}
