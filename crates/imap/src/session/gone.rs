//! The selected mailbox deleted or renamed by another session: another
//! session of the owner, the owner (or a grantee with `x`) while a grantee
//! has it selected as `Shared/<owner>/...`, on this node or another node
//! of a cluster (RFC 2180 3.3, 3.4). The driver finds out which happened
//! (`driver/gone.rs`); this is what the session makes of it.
//!
//! # DELETE: `* BYE` and close, at once
//!
//! RFC 2180 (multi-accessed mailbox practice) 3 lists what a server may
//! do when a mailbox another client has selected is deleted or renamed.
//! Failing the DELETE (3.1) would let any idle session block it, and on
//! a cluster no node knows every session. The choice is between the
//! other sessions finding every message expunged, which is what they
//! used to get here, and 3.3: "allow the DELETE/RENAME of a
//! multi-accessed mailbox, but disconnect all other clients who have the
//! mailbox accessed by sending a untagged BYE response". We send the BYE:
//!
//! - A session left selected in a mailbox that no longer exists has no
//!   way on: every later command on it fails, its SELECT state can only
//!   end by a command the client has no reason to send, and a client
//!   that saw all its messages expunged (the former behaviour) believes
//!   the mail was removed and may mirror that into its offline copy,
//!   while no EXPUNGE ever took place.
//! - BYE may come at any time, before a command or in IDLE (RFC 9051
//!   7.1.5, RFC 3501 7.1.5); every client handles it by reconnecting,
//!   after which LIST no longer shows the mailbox and its SELECT answers
//!   `NO [NONEXISTENT]`.
//! - Dovecot does the same ("selected mailbox was deleted", then it
//!   disconnects), so clients are used to it.
//!
//! It is sent as soon as the deletion is known, between commands and in
//! IDLE alike, with no response code: none of RFC 5530 says "the
//! selected mailbox is gone" (`NONEXISTENT` is for a command naming a
//! missing mailbox, and a BYE is not the answer to a command). The same
//! BYE ends the session when the whole account is removed under it. A
//! grantee whose shared mailbox is deleted gets this BYE, not the
//! `BYE [NOPERM]` of a revoked grant (`regrant.rs`): the grant went with
//! the mailbox, nobody revoked it.
//!
//! The session that itself deleted the mailbox it has selected is not
//! closed: it asked for the deletion and its tagged OK tells it; it sees
//! the messages expunged at its next command, as before.
//!
//! # RENAME: the session goes on, under the new name
//!
//! RFC 2180 3.4 allows a RENAME of a multi-accessed mailbox "by simply
//! changing the name attribute on the mailbox", the other clients
//! carrying on with commands that do not name the mailbox. That is what
//! the store does: a renamed mailbox keeps its id, its UIDs and its
//! UIDVALIDITY (RFC 9051 6.3.6 keeps the messages; nothing the session
//! holds, sequence numbers, UIDs, MODSEQs, `$`, becomes wrong), so the
//! other sessions simply go on, seeing the mailbox's changes as before,
//! with nothing said. A client that later names the old mailbox gets
//! `NO [NONEXISTENT]` and finds the new name with LIST, as it would
//! after any rename made elsewhere. Dovecot's older notes
//! (doc/multiaccess.txt) say it disconnects on RENAME as on DELETE; we
//! keep the session, which loses nothing and which 3.4 allows. RENAME of
//! INBOX moves its messages to a new mailbox (RFC 9051 6.3.6): sessions
//! that have INBOX selected see those messages expunged, as any move,
//! and stay on INBOX, whose name does not change.
//!
//! The session's own copy of the name (`Selected::info`) follows
//! ([`Session::mailbox_renamed`], before the next command): the driver
//! reads the name the mailbox has now by its id whenever its `Gone` turns
//! out to be a rename, whoever renamed it (another session, another
//! node, the owner under a grantee, this session itself) and whether the
//! mailbox itself or a parent was renamed; a grantee gets the owner's new
//! name under `Shared/<owner>/`. The one use of that copy a client can
//! see is a CATENATE URL relative to the selected mailbox (RFC 4469 5,
//! `catenate.rs`), which reads it under its new name (with the old one
//! it would name nothing, or another mailbox created since under that
//! name). Everything else that concerns the selected mailbox goes by its
//! id (FETCH, STORE, SEARCH, EXPUNGE, COPY/MOVE, NOTIFY's filtering of
//! its events, `driver/notify.rs`) or by the name the command gives,
//! looked up afresh (STATUS, RENAME, DELETE, URLs naming a mailbox), and
//! no LIST output marks the selected mailbox, so nothing else changes.

use super::{Session, State};
use crate::wire::response::{Out, Status};
use sealpost_store::{MailboxId, MailboxName};

impl Session {
    /// The selected mailbox was deleted elsewhere (see the module docs):
    /// `* BYE`, and the session ends. Returns `true` when it did (the
    /// connection closes); a session with nothing selected ignores it.
    pub(crate) fn mailbox_deleted(&mut self, out: &mut Out) -> bool {
        if !matches!(self.state, State::Selected(..)) {
            return false;
        }
        out.status(
            None,
            Status::Bye,
            None,
            "The selected mailbox was deleted, closing the connection",
        );
        self.state = State::Logout;
        true
    }

    /// The selected mailbox `mailbox` is now named `name` (as the user
    /// names it: `Shared/<owner>/...` through a grant): the session's copy
    /// follows, with nothing said (see the module docs). A name for
    /// another mailbox than the selected one is ignored.
    pub(crate) fn mailbox_renamed(&mut self, mailbox: MailboxId, name: MailboxName) {
        if let State::Selected(_, sel) = &mut self.state
            && sel.info.id == mailbox
        {
            sel.info.name = name;
        }
    }
}
