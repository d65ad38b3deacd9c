//! The users' self-service account page (`/account` on the HTTPS
//! listener): sign in and out, download one's data (GDPR art. 15 and 20),
//! change the password (art. 16), manage app passwords, delete the account
//! (art. 17). Plain HTML forms, no JavaScript, in English or German by the
//! browser's `Accept-Language` ([`text`]).
//!
//! # Where it runs
//!
//! Registered `Exposure::HttpsOnly` by the server wiring: on the HTTP
//! listener nothing of it is served; a browser asking there for one of our
//! names is redirected to HTTPS by the listener's fallback (`308`), so a
//! password or cookie never crosses plaintext.
//!
//! # Security
//!
//! - Sign-in: address and the account's own password, through
//!   `Directory::authenticate`, the argon2id check and failure throttling
//!   IMAP uses (per IP and per account; throttled is `429` with
//!   `Retry-After`). An app password that matches is refused: it opens mail
//!   apps only, never the page that manages it. Every attempt, and every
//!   re-entry of the password (password change, deletion), is an audit
//!   `Login` record with protocol `https`.
//! - Sessions: see [`session`] (server-side, random, expiring; the cookie
//!   is `__Host-`, `Secure`, `HttpOnly`, `SameSite=Strict`).
//! - CSRF: every state-changing request is a POST carrying a token the
//!   server compares in constant time: the session's token once signed in,
//!   before that a double-submit token (a `__Host-` cookie and the form's
//!   field must match) so nobody can sign a victim into their own account.
//!   A POST whose `Origin` is another origin, or whose `Sec-Fetch-Site` says
//!   cross-site, is refused (`403`) before anything else (`Origin: null`,
//!   which browsers send under our `no-referrer` policy, decides nothing).
//! - Headers on every answer ([`headers`]): a Content-Security-Policy that
//!   allows our own style sheet and nothing else (no script at all, forms to
//!   ourselves only, `frame-ancestors 'none'`), `Referrer-Policy:
//!   no-referrer`, `X-Content-Type-Options: nosniff`, `X-Frame-Options:
//!   DENY`, `Cache-Control: no-store`, HSTS, same-origin opener and
//!   resource policies.
//! - Limits: a form is at most `[http.account] max_form_bytes` (`413`),
//!   must be `application/x-www-form-urlencoded` (`415`), is parsed strictly
//!   ([`form`]: `400` with what was wrong) and each field has a length
//!   bound. Exports run at most `max_concurrent_exports` at once and one per
//!   account (`429`). An action either happens whole or the page says it did
//!   not (the accounts file is edited under its lock and written durably;
//!   the export is a download that is cut, not completed, if it fails).
//!
//! # What it does, and who does it
//!
//! The account operations themselves (the export archive, the accounts
//! file edits, the crypto-shredding of a deleted account) are the server's:
//! this module calls them through [`AccountBackend`], which `crates/server`
//! implements over the same functions the operator's CLI uses, so the page
//! and the CLI cannot drift apart.

mod access;
mod actions;
mod confirm;
mod delete;
mod export;
pub mod form;
mod headers;
pub mod html;
mod login;
mod pages;
mod request;
pub mod session;
mod session_file;
pub mod text;

use crate::routes::RequestInfo;
use axum::Router;
use axum::routing::{any, get, post};
use sealpost_audit::AuditLog;
use sealpost_config::AccountPageConfig;
use sealpost_directory::{AppPasswordInfo, Directory, Refusal, Secret};
use std::sync::Arc;
use std::time::Duration;

pub use request::PageError;

/// The archive format of an export (as `sealpost export` writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One mbox file per mailbox.
    Mbox,
    /// One Maildir per mailbox.
    Maildir,
}

/// Why an account operation did not happen. Each case but [`ActionError::Failed`]
/// is shown to the user, worded by the page in the request's language
/// (`text.rs`); the English of [`std::fmt::Display`] is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The accounts file refused the edit for a reason the user can act on
    /// (mostly an edit that raced another: a label taken meanwhile, an app
    /// password removed meanwhile): `400`/`404`/`409`.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The account is not in the accounts file (any more): `404`.
    #[error("the account is not in the accounts file")]
    NoAccount,
    /// The account has no mail store yet, so there is nothing to export:
    /// `404`.
    #[error("the account has no mail store yet: there is nothing to export")]
    NoMailStore,
    /// The server failed (`500`); the message is logged, the user told
    /// that nothing was changed.
    #[error("{0}")]
    Failed(String),
}

/// What happens to a deleted account, from the running configuration's
/// `[retention]`, for the deletion page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionTerms {
    /// Days between deletion and purge.
    pub grace_days: u32,
    /// Whether the account's audit records keep their personal fields
    /// after the purge (a legal hold), instead of being erased with it.
    pub audit_kept_after_purge: bool,
    /// Months after which audit records' personal fields are erased anyway
    /// (0: never).
    pub anonymize_after_months: u32,
    /// Months the audit log is kept (0: forever).
    pub audit_log_months: u32,
}

/// The account operations the page offers, performed by the server with
/// the same functions as the operator's CLI. Each is blocking (file and
/// store I/O, argon2id): the page calls them on the blocking pool.
pub trait AccountBackend: Send + Sync + 'static {
    /// Writes the data-subject export of `address` (the archive `sealpost
    /// export` writes) to `out`, flushes it, then audits it durably.
    fn export(
        &self,
        address: &str,
        format: ExportFormat,
        out: &mut dyn std::io::Write,
    ) -> Result<(), ActionError>;
    /// Sets the account's password (argon2id) and makes the running server
    /// take it (audited as an accounts-file change).
    fn change_password(&self, address: &str, password: &Secret) -> Result<(), ActionError>;
    /// The account's app passwords.
    fn app_passwords(&self, address: &str) -> Result<Vec<AppPasswordInfo>, ActionError>;
    /// Generates an app password labelled `label`; returns it (shown once).
    fn add_app_password(&self, address: &str, label: &str) -> Result<Secret, ActionError>;
    /// Revokes the app password labelled `label`.
    fn remove_app_password(&self, address: &str, label: &str) -> Result<(), ActionError>;
    /// Deletes the account as `sealpost account delete` does: out of the
    /// accounts file (entry saved for a restore), data key sealed away,
    /// purge after the grace period; audited.
    fn delete_account(&self, address: &str) -> Result<(), ActionError>;
    /// The retention terms in force now.
    fn deletion_terms(&self) -> DeletionTerms;
    /// Delivers `raw` to the account's INBOX (the deletion's confirmation
    /// message).
    fn deliver_to_account(&self, address: &str, raw: &[u8]) -> Result<(), ActionError> {
        let _ = (address, raw);
        Err(ActionError::Failed("delivery is not available here".into()))
    }
    /// The account's own sign-ins from the audit log, newest first,
    /// skipping `skip`, at most `take` (the access-log page).
    fn access_log(
        &self,
        address: &str,
        skip: u64,
        take: usize,
    ) -> Result<sealpost_audit::AccessPage, ActionError> {
        let _ = (address, skip, take);
        Err(ActionError::Failed(
            "the access log is not available here".into(),
        ))
    }
}

/// Everything the page's handlers share.
pub struct AccountPage {
    config: AccountPageConfig,
    directory: Directory,
    audit: AuditLog,
    backend: Arc<dyn AccountBackend>,
    sessions: session::Sessions,
    exports: export::Exports,
    pending: confirm::Pending,
}

impl AccountPage {
    /// The page over the live directory, the audit log and the server's
    /// account operations.
    pub fn new(
        config: &AccountPageConfig,
        directory: Directory,
        audit: AuditLog,
        backend: Arc<dyn AccountBackend>,
    ) -> AccountPage {
        AccountPage {
            sessions: session::Sessions::new(
                Duration::from_secs(config.session_idle_secs),
                Duration::from_secs(config.session_max_secs),
                config.max_sessions,
            ),
            exports: export::Exports::new(config.max_concurrent_exports),
            pending: confirm::Pending::default(),
            config: config.clone(),
            directory,
            audit,
            backend,
        }
    }
}

impl AccountPage {
    /// Keeps the sessions in `file`, so they survive a restart (see
    /// `session.rs`), starting with the ones it holds.
    pub fn keep_sessions_in(mut self, file: Arc<dyn session::SessionFile>) -> AccountPage {
        self.sessions.keep_in(file);
        self
    }
}

/// The page's routes, to register as `Exposure::HttpsOnly`.
pub fn router(page: AccountPage) -> Router {
    let page = Arc::new(page);
    Router::new()
        .route("/account", get(pages::overview))
        .route("/account/", get(pages::to_overview))
        .route("/account/style.css", get(pages::style))
        .route("/account/login", get(login::form).post(login::submit))
        .route("/account/logout", post(login::logout))
        .route("/account/export", post(export::download))
        .route("/account/access", get(access::list))
        .route("/account/password", post(actions::change_password))
        .route(
            "/account/app-passwords/add",
            post(actions::add_app_password),
        )
        .route(
            "/account/app-passwords/remove",
            post(actions::remove_app_password),
        )
        .route("/account/delete", get(delete::form).post(delete::submit))
        .route(
            "/account/delete/confirm",
            get(delete::confirm_form).post(delete::confirm_submit),
        )
        .route("/account/{*rest}", any(pages::not_found))
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(axum::middleware::map_response(headers::secure))
        .layer(axum::middleware::from_fn(text::negotiate))
        .with_state(page)
}

/// The client's address as the audit log records it.
fn remote(info: &RequestInfo) -> String {
    info.peer.to_string()
}
