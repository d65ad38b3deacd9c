//! `[http.account]`: the users' self-service account page on the HTTPS
//! listener (sign-in, data export, password and app passwords, account
//! deletion: GDPR articles 15, 16, 17 and 20).
//!
//! On by default. The page exists only where an HTTPS listener is bound
//! (never on plain HTTP, which only redirects), signs in with the same
//! throttled argon2id check as IMAP, and is the way users exercise their
//! rights without writing to support (art. 12(2): the controller
//! facilitates the exercise of those rights). An operator who offers these
//! rights another way turns it off here.

use serde::Deserialize;

/// Bounds the validation enforces (minimum, maximum) per key.
pub(crate) const SESSION_SECS_RANGE: (u64, u64) = (60, 7 * 24 * 3600);
/// Shortest minimum password length an operator may set.
pub(crate) const MIN_PASSWORD_LEN_FLOOR: usize = 8;

/// Settings of the account page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountPageConfig {
    /// Serve `/account` on the HTTPS listener.
    pub enabled: bool,
    /// Seconds a signed-in session lives without a request.
    pub session_idle_secs: u64,
    /// Seconds a session lives at most, however active (then sign in again).
    pub session_max_secs: u64,
    /// Signed-in sessions kept at once for all users (server memory); a
    /// sign-in past it is answered `503` until one expires.
    pub max_sessions: usize,
    /// Largest form the page accepts, in octets (below `[http]
    /// max_body_bytes`); more is answered `413`.
    pub max_form_bytes: usize,
    /// Shortest new password the page accepts, in characters.
    pub min_password_len: usize,
    /// Data exports streaming at once for all users (each reads and
    /// decrypts a whole mailbox); more wait for `429`-and-retry.
    pub max_concurrent_exports: usize,
}

impl Default for AccountPageConfig {
    fn default() -> Self {
        AccountPageConfig {
            enabled: true,
            session_idle_secs: 900,
            session_max_secs: 8 * 3600,
            max_sessions: 10_000,
            max_form_bytes: 8192,
            min_password_len: 12,
            max_concurrent_exports: 2,
        }
    }
}
