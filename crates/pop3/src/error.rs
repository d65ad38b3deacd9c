//! Errors of the POP3 crate and their mapping to RFC 3206 response codes.

use crate::wire::RespCode;
use sealpost_store::StoreError;

/// Why a connection ended abnormally (for logs; the client has been told
/// what it can be told).
#[derive(Debug, thiserror::Error)]
pub enum Pop3Error {
    /// Reading from or writing to the client failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The STLS handshake failed.
    #[error("TLS handshake after STLS: {0}")]
    Tls(std::io::Error),
    /// A store call failed in a way the session could not answer.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

/// The response code for a store failure: `[SYS/PERM]` when retrying cannot
/// help (unreadable data, no account), `[SYS/TEMP]` otherwise.
pub fn resp_code(e: &StoreError) -> RespCode {
    match e {
        StoreError::Corrupt(_)
        | StoreError::NoAccount
        | StoreError::NoMailbox
        | StoreError::NotAllowed(_)
        | StoreError::Denied
        | StoreError::InvalidName(_)
        | StoreError::DataDir { .. }
        | StoreError::MasterKey { .. }
        | StoreError::Schema(_) => RespCode::SysPerm,
        StoreError::Unavailable(_) | StoreError::Conflict => RespCode::SysTemp,
        StoreError::Locked(_)
        | StoreError::Io(_)
        | StoreError::OverQuota
        | StoreError::TooLarge
        | StoreError::AccountExists
        | StoreError::MailboxExists => RespCode::SysTemp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            resp_code(&StoreError::Corrupt("x".into())),
            RespCode::SysPerm
        );
        assert_eq!(resp_code(&StoreError::NoAccount), RespCode::SysPerm);
        assert_eq!(resp_code(&StoreError::Io("disk".into())), RespCode::SysTemp);
        assert_eq!(
            resp_code(&StoreError::Unavailable("db down".into())),
            RespCode::SysTemp
        );
    }
}
