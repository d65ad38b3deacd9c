//! sealpost-directory: hosted domains, accounts, aliases, password checks and
//! login throttling.
//!
//! Accounts live in an operator-edited TOML file (`server.accounts`), one
//! `[[account]]` table each, the way Dovecot keeps passwd-files and mox its
//! domains.conf:
//!
//! ```toml
//! [[account]]
//! address = "alice@example.org"
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."   # PHC string, argon2id only
//! quota = 1073741824                                # octets, optional
//! aliases = ["postmaster@example.org"]              # optional
//! ```
//!
//! The CLI edits the file in place with toml_edit, keeping the operator's
//! comments and layout. A running server reloads it when it changes.

#![warn(missing_docs)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// A credential. Its Debug and Display print nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The credential itself: call only where it is checked.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why the directory could not be loaded or edited; one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The accounts file is malformed or refers to an unknown domain.
    #[error("{0}")]
    Invalid(String),
    /// I/O on the accounts file failed.
    #[error("{0}")]
    Io(String),
    /// `account add` for an address that exists.
    #[error("account {0} exists already")]
    Exists(String),
    /// No such account.
    #[error("no account {0}")]
    NotFound(String),
}

/// Throttling limits (from `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    /// Failures from one IP per window before it is throttled.
    pub per_ip: u32,
    /// Failures for one account per window before it is throttled.
    pub per_account: u32,
    /// The window.
    pub window: Duration,
}

/// An account as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its address, lower case.
    pub address: String,
    /// Quota in octets, if any.
    pub quota: Option<u64>,
    /// Other addresses delivered to it, lower case.
    pub aliases: Vec<String>,
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Credentials good.
    Success(Account),
    /// Unknown user or wrong password (indistinguishable, by design).
    Failed,
    /// Too many recent failures from this IP or for this account.
    Throttled {
        /// When to try again.
        retry_after: Duration,
    },
}

/// Where mail for an address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A hosted account (directly or through an alias): its primary address.
    Local(String),
    /// The domain is hosted but the user is not.
    UnknownUser,
    /// The domain is not hosted here.
    NotLocal,
}

/// The live directory: domains and accounts, reloadable. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Directory {}

#[allow(unused_variables)]
impl Directory {
    /// Loads the accounts file (absent means no accounts).
    pub fn load(
        accounts_file: &Path,
        domains: Vec<String>,
        limits: ThrottleLimits,
    ) -> Result<Directory, DirectoryError> {
        todo!()
    }

    /// Re-reads the accounts file (and takes a new domain list). On error the
    /// old contents stay in force.
    pub fn reload(&self, domains: Vec<String>) -> Result<(), DirectoryError> {
        todo!()
    }

    /// Checks a login. Runs argon2id (CPU-heavy: the async wrapper runs it on
    /// the blocking pool). Unknown users cost the same work as wrong passwords.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
        remote: IpAddr,
    ) -> AuthOutcome {
        todo!()
    }

    /// Resolves a recipient address (accounts and aliases, any case).
    pub fn recipient(&self, address: &str) -> Recipient {
        todo!()
    }

    /// Whether `account` may send as `address` (its own address or an alias).
    pub fn owns_address(&self, account: &str, address: &str) -> bool {
        todo!()
    }

    /// One account by primary address.
    pub fn account(&self, address: &str) -> Option<Account> {
        todo!()
    }

    /// Every account, sorted by address.
    pub fn accounts(&self) -> Vec<Account> {
        todo!()
    }

    /// Whether a domain is hosted.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        todo!()
    }
}
