//! Moving mail into an account from elsewhere (`sealpost import`): a
//! Maildir with Dovecot's files ([`maildir`]), an mbox file or a folder of
//! them ([`mbox`]), or a live IMAP server ([`imap`]).
//!
//! Every source is read one message at a time, and a message is stored
//! while it is read, a piece at a time ([`stream`]), so memory stays flat
//! whatever the size of the source or of its largest message. Messages are
//! ended several at once and committed in batches, in the source's order
//! ([`pipeline`] for files; an IMAP source commits what each FETCH brought
//! together). Every import resumes: a run killed half way and run again
//! stores each message once ([`resume`] for files, [`imap::state`] for
//! IMAP). The parsers of on-disk formats (`dovecot-uidlist`,
//! `dovecot-keywords`, mbox) and the IMAP response framer have explicit
//! limits and fuzz targets (`fuzz/import`, replayed by
//! `tests/fuzz_corpus.rs`).
//!
//! This crate stores through `sealpost-store` only; the binary decides
//! whether the store is its own (offline) or the running server's (the
//! admin socket), and audits.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fuzzing;
pub mod imap;
pub mod maildir;
pub mod mbox;
pub mod pipeline;
pub mod resume;
pub mod stream;

use sealpost_store::{AccountId, MailboxId, MailboxName, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Where the mail comes from, as the CLI hands it to the process that owns
/// the store (over the admin socket when the server runs).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// A Maildir, an mbox file or a folder of mbox files (absolute path).
    Path {
        /// The path.
        path: PathBuf,
    },
    /// A live IMAP server.
    Imap {
        /// `imaps://USER@HOST[:PORT]`.
        url: String,
        /// The source's password.
        password: imap::Password,
        /// PEM certificates to trust instead of the system's roots.
        ca_file: Option<PathBuf>,
        /// Connections at once.
        jobs: usize,
    },
}

/// Largest message imported: the store's own limit (1 GiB), which it would
/// refuse only after the whole message was buffered.
pub const MAX_MESSAGE_SIZE: usize = 1 << 30;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or folder of the source could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The source is not in the format it seemed to be.
    #[error("{0}")]
    Format(String),
    /// The store refused.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The IMAP source failed (after the retries, for a dropped connection).
    #[error("IMAP source: {0}")]
    Imap(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ImportError>;

/// What an import did; shared by the workers of an IMAP import, read by
/// whoever shows progress.
#[derive(Debug, Default)]
pub struct Totals {
    /// Messages stored.
    pub messages: AtomicU64,
    /// Their octets.
    pub octets: AtomicU64,
    /// Messages stored under the UID the source gave them.
    pub kept_uids: AtomicU64,
    /// Mailboxes gone through.
    pub mailboxes: AtomicU64,
    /// Messages already there (an earlier run) and left as they were.
    pub already: AtomicU64,
    /// Messages whose flags changed at the source since the last run and
    /// were changed here too.
    pub flags_changed: AtomicU64,
    /// Whether this import compares the flags of messages already here
    /// (an IMAP import does; a file import, whose state keeps no flags,
    /// does not, and its summary says nothing of flags).
    pub compares_flags: AtomicBool,
}

impl Totals {
    /// Adds one stored message.
    pub fn stored(&self, octets: usize, kept_uid: bool) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.octets.fetch_add(octets as u64, Ordering::Relaxed);
        if kept_uid {
            self.kept_uids.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The one summary line (`imported N messages (M octets) into K
    /// mailboxes of ADDRESS; ...`).
    pub fn summary(&self, address: &str) -> String {
        let mut line = format!(
            "imported {} messages ({} octets) into {} mailboxes of {address}; {} kept their UID",
            Self::get(&self.messages),
            Self::get(&self.octets),
            Self::get(&self.mailboxes),
            Self::get(&self.kept_uids)
        );
        let already = Self::get(&self.already);
        let flags = Self::get(&self.flags_changed);
        if already > 0 || flags > 0 {
            line.push_str(&format!("; {already} were already here"));
            if self.compares_flags.load(Ordering::Relaxed) {
                line.push_str(&format!(", {flags} had their flags changed"));
            }
        }
        line
    }
}

/// The mailbox `name` of `account`, created if missing.
pub fn ensure_mailbox(store: &Store, account: AccountId, name: &str) -> Result<MailboxId> {
    let name = MailboxName::new(name)
        .map_err(|e| ImportError::Format(format!("mailbox {name:?}: {e}")))?;
    Ok(match store.mailbox(account, &name)? {
        Some(info) => info.id,
        None => store.create_mailbox(account, &name, None)?.id,
    })
}

/// Appends a line with a bare LF ending turned into CRLF (mail on disk is
/// often LF-only; IMAP serves CRLF, as SMTP delivery stores it).
pub fn push_crlf(raw: &mut Vec<u8>, line: &[u8]) {
    match line.strip_suffix(b"\n") {
        Some(l) if !l.ends_with(b"\r") => {
            raw.extend_from_slice(l);
            raw.extend_from_slice(b"\r\n");
        }
        _ => raw.extend_from_slice(line),
    }
}

/// A whole message with its bare LF line endings turned into CRLF.
pub fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        push_crlf(&mut out, line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf() {
        assert_eq!(to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
        assert_eq!(to_crlf(b"\n\n"), b"\r\n\r\n");
    }
}
