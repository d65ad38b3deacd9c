//! The directory's errors: [`DirectoryError`] for loading and editing the
//! accounts file, and [`Refusal`], the cases of an edit of one account's
//! credentials that its user can be told about (the account page words
//! each in the reader's language; the CLI prints the English line).

use crate::app_password::MAX_APP_PASSWORDS;
use crate::password::MAX_PASSWORD_LEN;

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
    /// An edit of one account's password or app passwords refused for a
    /// reason its user can act on.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// Why a password change or an app-password edit was refused. The account
/// page checks most of these before it asks, so it meets them when another
/// edit (another tab, the operator's CLI) came first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The new password is empty.
    #[error("the password is empty")]
    PasswordEmpty,
    /// The new password is longer than [`MAX_PASSWORD_LEN`] octets.
    #[error("the password is longer than {MAX_PASSWORD_LEN} octets")]
    PasswordTooLong,
    /// The label is empty, too long or holds control characters (the
    /// reason, from [`crate::app_password::check_label`]).
    #[error("{0}")]
    BadLabel(String),
    /// The account has an app password of this label already.
    #[error("{address} has an app password labelled `{label}` already")]
    LabelTaken {
        /// The account.
        address: String,
        /// The label.
        label: String,
    },
    /// The account has [`MAX_APP_PASSWORDS`] app passwords already.
    #[error("{address} has {MAX_APP_PASSWORDS} app passwords already: remove one first")]
    TooManyAppPasswords {
        /// The account.
        address: String,
    },
    /// The generated app password's id is one the account has (one chance
    /// in a million per app password): asking again makes another.
    #[error("the generated app password's id is taken: run the command again")]
    AppPasswordIdTaken,
    /// The account has no app password of this label (any more).
    #[error("no account {address} with an app password labelled `{label}`")]
    NoAppPassword {
        /// The account.
        address: String,
        /// The label.
        label: String,
    },
}
