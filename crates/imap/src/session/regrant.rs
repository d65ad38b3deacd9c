//! A grant changed under a shared mailbox the session has selected (RFC
//! 4314 5.1.1): what the grantee is told, and when.
//!
//! The driver follows the grantee's own change stream while a mailbox of
//! another account is selected (`driver/regrant.rs`): the owner's SETACL
//! or DELETEACL is told there as `AccountChange::Access`, and from another
//! node of a cluster as `AccountChange::Elsewhere`. It reads the grant
//! again and hands the rights to [`Session::grant_changed`] between
//! commands and during IDLE, so the change takes effect before the next
//! command runs and is told at once, unasked. Every request on the
//! mailbox is also checked against the grant as it is now
//! (`driver/shared.rs` `recheck`), which covers a change that lands while
//! a command runs.
//!
//! # Read access lost (`r` or `l`): `* BYE [NOPERM]` and close
//!
//! RFC 4314 5.1.1 leaves a server that checks rights on every command two
//! ways once "the user no longer has read access to the mailbox": send
//! an untagged BYE and close the connection, or refuse every command of
//! the selected state until the mailbox is closed, with the warning that
//! "most clients don't handle NO responses very well". We close:
//!
//! - BYE may be sent at any time and every client handles it (RFC 9051
//!   7.1.5; RFC 3501 7.1.5): imaplib raises `abort` at once, Thunderbird
//!   and other desktop clients drop the connection and reconnect, and
//!   their next SELECT of the mailbox answers `NO [NONEXISTENT]` or
//!   `NO [NOPERM]`, which they show as an unavailable folder.
//! - Refusing every command with NO leaves a client in the selected state
//!   of a mailbox it can never use again; clients retry FETCH and NOOP
//!   (Thunderbird shows an alert per refusal) and rarely think of CLOSE.
//! - Leaving the selected state unasked is not in the protocol: the state
//!   changes only by command, except BYE into logout (RFC 9051 3). The
//!   `[CLOSED]` code (RFC 7162 3.2.11) only marks the implicit close of a
//!   SELECT of another mailbox, so a client that did not send one would
//!   not understand it.
//! - It is what the deployed servers do when a selected mailbox becomes
//!   unusable under a session: Dovecot closes with "Selected mailbox was
//!   deleted, have to disconnect", as RFC 2180 3.3 describes for DELETE.
//!
//! The code is `NOPERM` (RFC 5530 3: the access control system does not
//! permit the operation). From then on nothing of the mailbox reaches the
//! session: the BYE is the last line, events received meanwhile are
//! dropped (the driver never hands a grantee events without `l` and `r`).
//!
//! # Other rights lost or gained (`s w i t e x ...`): the next command
//!
//! The session's copy of the rights is replaced before its next command,
//! so STORE, EXPUNGE, MOVE out, FETCH's implied `\Seen` (left unset
//! without `s`) and CLOSE's expunge (skipped without `e`, RFC 4314 4)
//! follow the grant as it is now; APPEND, COPY into, CREATE, DELETE and
//! RENAME read the grant afresh anyway. As 5.1.1 says a server that checks
//! each command SHOULD, FLAGS and PERMANENTFLAGS are sent again when what
//! may be changed changed, and when the mailbox became read-only (no
//! right to change anything left) or read-write again (a SELECT, not an
//! EXAMINE), the untagged `OK [READ-ONLY]` / `OK [READ-WRITE]` that RFC
//! 9051 7.1 defines for "its access while selected has changed".

use super::{Session, State};
use crate::wire::acl::Rights;
use crate::wire::response::{Code, Out, Status};

impl Session {
    /// The grant of the selected shared mailbox, read again: `rights` as
    /// they are now (see the module docs). Returns `true` when read
    /// access is gone and the session ended with `BYE` (the connection
    /// closes); a session without a shared mailbox selected ignores it.
    pub(crate) fn grant_changed(&mut self, rights: Rights, out: &mut Out) -> bool {
        let State::Selected(_, sel) = &mut self.state else {
            return false;
        };
        let Some(held) = sel.shared.map(|s| s.rights) else {
            return false;
        };
        if !rights.has(Rights::LOOKUP.union(Rights::READ)) {
            out.status(
                None,
                Status::Bye,
                Some(Code::NoPerm),
                "Access to the selected mailbox was revoked",
            );
            self.state = State::Logout;
            return true;
        }
        if held == rights {
            return false;
        }
        let before = (sel.read_only, held);
        if let Some(access) = sel.shared.as_mut() {
            access.rights = rights;
        }
        let may_change = sel.shared.is_some_and(|s| s.may_change());
        sel.read_only = sel.examined || !may_change;
        let kw: String = sel.keywords.iter().map(|k| format!(" {k}")).collect();
        let permanent = |(read_only, rights)| super::acl::permanent_flags(rights, read_only, &kw);
        if permanent(before) != permanent((sel.read_only, sel.rights())) {
            sel.announce_flags(out);
        }
        if before.0 != sel.read_only {
            let (code, text) = if sel.read_only {
                (Code::ReadOnly, "No right to change the mailbox is left")
            } else {
                (Code::ReadWrite, "The mailbox may be changed again")
            };
            out.status(None, Status::Ok, Some(code), text);
        }
        false
    }
}
