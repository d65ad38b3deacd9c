//! Errors of the IMAP crate and their typed conversion to responses
//! (RFC 9051 section 7.1 response codes; RFC 5530).
//!
//! A handler returns [`CmdError`]; the session turns it into one tagged
//! `NO` or `BAD` with the right code. Store errors map through
//! [`From<StoreError>`]; nothing chooses NO versus BAD by looking at text.

use crate::wire::response::{Code, Status};
use sealpost_store::StoreError;

/// Why a command failed, as the client will be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct CmdError {
    /// NO or BAD.
    pub status: Status,
    /// The response code.
    pub code: Option<Code>,
    /// Human-readable text.
    pub text: String,
}

impl CmdError {
    /// A tagged NO.
    pub fn no(code: Option<Code>, text: impl Into<String>) -> CmdError {
        CmdError {
            status: Status::No,
            code,
            text: text.into(),
        }
    }

    /// A tagged BAD.
    pub fn bad(code: Option<Code>, text: impl Into<String>) -> CmdError {
        CmdError {
            status: Status::Bad,
            code,
            text: text.into(),
        }
    }
}

impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoMailbox => CmdError::no(Some(Code::Nonexistent), "No such mailbox"),
            StoreError::MailboxExists => {
                CmdError::no(Some(Code::AlreadyExists), "Mailbox already exists")
            }
            StoreError::NotAllowed(why) => CmdError::no(Some(Code::Cannot), why),
            StoreError::Denied => CmdError::no(Some(Code::NoPerm), "Permission denied"),
            StoreError::InvalidName(why) => CmdError::no(Some(Code::Cannot), why.to_string()),
            StoreError::OverQuota => CmdError::no(Some(Code::OverQuota), "Quota exceeded"),
            StoreError::TooLarge => CmdError::no(Some(Code::TooBig), "Message too large"),
            StoreError::NoAccount => CmdError::no(Some(Code::Unavailable), "Account unavailable"),
            StoreError::Corrupt(_) => CmdError::no(Some(Code::ServerBug), "Stored data unreadable"),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                CmdError::no(
                    Some(Code::Unavailable),
                    "Store unavailable, try again later",
                )
            }
            StoreError::AccountExists
            | StoreError::Conflict
            | StoreError::Schema(_)
            | StoreError::Locked(_)
            | StoreError::DataDir { .. }
            | StoreError::MasterKey { .. }
            | StoreError::Io(_) => {
                tracing::warn!(error = %e, "store failure");
                CmdError::no(Some(Code::Unavailable), "Temporary storage failure")
            }
        }
    }
}

/// Result of a command handler.
pub type CmdResult<T = ()> = Result<T, CmdError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_get_their_codes() {
        let cases = [
            (StoreError::NoMailbox, Code::Nonexistent),
            (StoreError::MailboxExists, Code::AlreadyExists),
            (StoreError::OverQuota, Code::OverQuota),
            (StoreError::TooLarge, Code::TooBig),
            (StoreError::NotAllowed("no"), Code::Cannot),
            (StoreError::Denied, Code::NoPerm),
            (StoreError::Io("disk".into()), Code::Unavailable),
            (StoreError::Unavailable("db down".into()), Code::Unavailable),
        ];
        for (e, code) in cases {
            let c = CmdError::from(e);
            assert_eq!(c.status, Status::No);
            assert_eq!(c.code, Some(code));
        }
    }
}
