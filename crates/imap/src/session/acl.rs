//! Access control and shared mailboxes: SETACL, DELETEACL, GETACL,
//! LISTRIGHTS, MYRIGHTS (RFC 4314 section 3) and the session's side of a
//! mailbox opened through a grant.
//!
//! # The shared namespace (RFC 2342)
//!
//! Another account's mailbox that this account holds at least `l` on is
//! named `Shared/<owner address>/<mailbox>` ([`SHARED_ROOT`]; NAMESPACE
//! announces `"Shared/" "/"` as the other users' namespace, where RFC 2342
//! puts mailboxes named after their owner). Names are resolved by the
//! driver (`driver/shared.rs`): one under `Shared/` is never one of the
//! user's own mailboxes; one the user holds no `l` on is answered exactly
//! like a mailbox that does not exist (`NO [NONEXISTENT]`), so a grant's
//! absence does not reveal the mailbox; a missing right otherwise is
//! `NO [NOPERM]`.
//!
//! # Rights checked where
//!
//! | command | right | checked by |
//! |---|---|---|
//! | LIST, LSUB, existence of the name | `l` | driver |
//! | SELECT, EXAMINE, STATUS, GETQUOTAROOT | `r` | driver |
//! | APPEND, COPY/MOVE into, REPLACE into | `i` (flags without `s`/`t`/`w` dropped) | driver |
//! | CREATE a child | `k` on the parent | driver |
//! | DELETE | `x` | driver |
//! | RENAME | refused in the shared namespace | driver |
//! | STORE `\Seen` / `\Deleted` / other flags | `s` / `t` / `w` (flags without their right are left out; NO only when none may be changed) | session ([`flag_rights`]) |
//! | EXPUNGE, CLOSE's expunge, MOVE out, REPLACE out | `e` (and `t` to move) | session |
//! | FETCH setting `\Seen` | `s` (else it stays unset) | session |
//! | SETACL, DELETEACL, GETACL, LISTRIGHTS | `a` | driver |
//! | MYRIGHTS | `l` | driver |
//!
//! A SELECT with none of `s w i t e` opens read-only; otherwise its
//! PERMANENTFLAGS name only what the grant lets the grantee change
//! ([`permanent_flags`], RFC 4314 4): `\Seen` with `s`, `\Deleted` with
//! `t`, the other flags, keywords and `\*` with `w`. The session checks
//! the rights it was given at SELECT, and takes the new ones when the
//! owner changes the grant (`regrant`: before the grantee's next command,
//! with FLAGS and PERMANENTFLAGS again); the driver checks every request
//! on the selected mailbox against the grant as it is now
//! (`driver/shared.rs` `recheck`) as well. A grantee that loses `r` (or
//! `l`) on the selected mailbox is closed at once, in IDLE or not, with
//! `* BYE [NOPERM]` (RFC 4314 5.1.1; why this and not a NO to every
//! command: `regrant`), and hears nothing more of the mailbox: before
//! handing a grantee the mailbox's events the driver checks that it
//! still holds `l` and `r`, and drops them otherwise. Flags, `\Seen`
//! included, are the mailbox's and shared by everyone who opens it (no
//! per-user `\Seen`).
//!
//! `\Recent` stays the owner's: a grantee's SELECT shows the messages no
//! session has claimed yet as recent, as an EXAMINE does, and never
//! claims them, so mail arriving in a shared mailbox is still new to the
//! owner's own client (RFC 3501 2.3.2 leaves "which session" to the
//! server).
//!
//! GETQUOTAROOT of a shared mailbox (with `r`) answers `* QUOTAROOT
//! <mailbox>` with no root (RFC 9208 4.3 allows none): the quota is the
//! owner account's, and its usage and limit are the owner's business; no
//! right of RFC 4314 is about the account as a whole. An APPEND that
//! would pass the owner's quota still fails with `NO [OVERQUOTA]`.
//!
//! # Identifiers
//!
//! An identifier is an account's address. `anyone`, `authenticated` and
//! negative rights (`-bob`) are refused: a grant names one account, so
//! nothing is ever shared with people the owner did not name. The owner
//! holds every right on its own mailboxes, always; its entry cannot be
//! changed.

use super::selected::Selected;
use super::{
    Done, Flow, Job, Reply, Request, Session, State, StoreReply, StoreRequest, store_reply,
    unexpected,
};
use crate::error::{CmdError, CmdResult};
use crate::wire::acl::{AclCommand, Rights, RightsChange};
use crate::wire::response::{Code, Out, string};
use sealpost_store::{AccountId, Flags, MailboxName};

/// The first level of the shared namespace.
pub const SHARED_ROOT: &str = "Shared";

/// A mailbox of another account, opened through a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedAccess {
    /// The owner's account: every request on the mailbox goes there.
    pub owner: AccountId,
    /// What the grant allows.
    pub rights: Rights,
}

impl SharedAccess {
    /// Whether the grant allows any change (else SELECT opens read-only).
    pub fn may_change(&self) -> bool {
        self.rights.any(
            Rights::SEEN
                .union(Rights::WRITE)
                .union(Rights::INSERT)
                .union(Rights::DELETE_MESSAGES)
                .union(Rights::EXPUNGE),
        )
    }
}

impl Selected {
    /// The account whose mailbox this is: the owner's when shared, else
    /// the session's own (`own`).
    pub(crate) fn account_of(&self, own: AccountId) -> AccountId {
        self.shared.map_or(own, |s| s.owner)
    }

    /// This session's rights on the mailbox (all on its own).
    pub(crate) fn rights(&self) -> Rights {
        self.shared.map_or(Rights::ALL, |s| s.rights)
    }

    /// `NO [NOPERM]` unless every right in `needed` is held.
    pub(crate) fn require(&self, needed: Rights) -> CmdResult<()> {
        if self.rights().has(needed) {
            Ok(())
        } else {
            Err(no_perm())
        }
    }

    /// [`Selected::require`] when `cond` holds.
    pub(crate) fn require_if(&self, cond: bool, needed: Rights) -> CmdResult<()> {
        if cond { self.require(needed) } else { Ok(()) }
    }
}

fn no_perm() -> CmdError {
    CmdError::no(Some(Code::NoPerm), "Permission denied")
}

/// The rights a STORE of `flags` needs (RFC 4314 4): `s` for `\Seen`, `t`
/// for `\Deleted`, `w` for the others; replacing all flags touches every
/// kind, so it needs all three.
pub(crate) fn flag_rights(flags: &Flags, replace: bool) -> Rights {
    if replace {
        return Rights::SEEN
            .union(Rights::DELETE_MESSAGES)
            .union(Rights::WRITE);
    }
    let mut r = Rights::NONE;
    if flags.has(Flags::SEEN) {
        r = r.union(Rights::SEEN);
    }
    if flags.has(Flags::DELETED) {
        r = r.union(Rights::DELETE_MESSAGES);
    }
    if flags.system & !(Flags::SEEN | Flags::DELETED) != 0 || !flags.keywords.is_empty() {
        r = r.union(Rights::WRITE);
    }
    r
}

/// The flags of a message put into a shared mailbox, less those the
/// rights do not allow setting (RFC 4314 4, APPEND and COPY).
pub fn allowed_flags(flags: &Flags, rights: Rights) -> Flags {
    let mut f = flags.clone();
    if !rights.has(Rights::SEEN) {
        f.system &= !Flags::SEEN;
    }
    if !rights.has(Rights::DELETE_MESSAGES) {
        f.system &= !Flags::DELETED;
    }
    if !rights.has(Rights::WRITE) {
        f.system &= Flags::SEEN | Flags::DELETED;
        f.keywords.clear();
    }
    f
}

/// PERMANENTFLAGS for a session holding `rights` (RFC 4314 4: only the
/// flags it may change): `\Seen` with `s`, `\Deleted` with `t`, the other
/// flags, the mailbox's keywords `kw` (each after a space) and `\*` with
/// `w`; nothing when read-only.
pub(crate) fn permanent_flags(rights: Rights, read_only: bool, kw: &str) -> String {
    if read_only {
        return String::new();
    }
    let mut flags: Vec<&str> = Vec::new();
    let write = rights.has(Rights::WRITE);
    if write {
        flags.extend(["\\Answered", "\\Flagged"]);
    }
    if rights.has(Rights::DELETE_MESSAGES) {
        flags.push("\\Deleted");
    }
    if rights.has(Rights::SEEN) {
        flags.push("\\Seen");
    }
    if !write {
        return flags.join(" ");
    }
    format!("{} \\Draft{kw} \\*", flags.join(" "))
}

/// Whether a name is in the shared namespace (another account's).
pub(crate) fn in_shared_namespace(name: &str) -> bool {
    name.strip_prefix(SHARED_ROOT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// An ACL command for the driver; mailbox names are in the user's
/// namespace (own, or `Shared/...`).
#[derive(Debug)]
pub enum AclRequest {
    /// SETACL (and DELETEACL, with no rights).
    Set {
        /// The logged-in account.
        user: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
        /// Whose rights (an address).
        identifier: String,
        /// Replace, add or remove.
        change: RightsChange,
        /// The rights.
        rights: Rights,
    },
    /// GETACL.
    Get {
        /// The logged-in account.
        user: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// LISTRIGHTS: whether the identifier is the owner.
    ListRights {
        /// The logged-in account.
        user: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
        /// Whose rights.
        identifier: String,
    },
    /// MYRIGHTS.
    MyRights {
        /// The logged-in account.
        user: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
    },
}

impl AclRequest {
    /// Whether it writes (SETACL, DELETEACL).
    pub fn writes(&self) -> bool {
        matches!(self, AclRequest::Set { .. })
    }
}

/// The driver's answer to an [`AclRequest`].
#[derive(Debug)]
pub enum AclReply {
    /// The rights were changed.
    Changed,
    /// GETACL: the owner first (all rights), then each grantee.
    Acl(Vec<(String, Rights)>),
    /// LISTRIGHTS: whether the identifier is the mailbox's owner.
    ListRights {
        /// The owner, whose rights are all and fixed.
        owner: bool,
    },
    /// MYRIGHTS.
    MyRights(Rights),
}

/// An ACL command waiting for the driver: what its answer names.
pub(crate) struct AclJob {
    /// The mailbox as the client wrote it (for the untagged answer).
    wire_name: String,
    identifier: String,
    command: &'static str,
}

impl Session {
    /// The logged-in account's id (the driver checks requests on other
    /// accounts' mailboxes against it, `driver/shared.rs`).
    pub fn account_id(&self) -> Option<AccountId> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) => Some(a.id),
            _ => None,
        }
    }

    /// SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS.
    pub(super) fn acl(&mut self, command: AclCommand, _out: &mut Out) -> Flow {
        match self.plan_acl(command) {
            Ok((request, job)) => {
                Flow::Need(Request::Store(StoreRequest::Acl(request)), Job::Acl(job))
            }
            Err(e) => Flow::Done(Err(e)),
        }
    }

    fn plan_acl(&self, command: AclCommand) -> CmdResult<(AclRequest, AclJob)> {
        let user = self.account()?.id;
        let job = |arg: &crate::wire::command::MailboxArg, identifier: &str, command| {
            let name = self.mailbox_name(arg)?;
            let job = AclJob {
                wire_name: self.wire_name(name.as_str()),
                identifier: identifier.to_string(),
                command,
            };
            Ok::<_, CmdError>((name, job))
        };
        Ok(match command {
            AclCommand::Set {
                mailbox,
                identifier,
                change,
                rights,
            } => {
                let (mailbox, j) = job(&mailbox, &identifier, "SETACL")?;
                let request = AclRequest::Set {
                    user,
                    mailbox,
                    identifier,
                    change,
                    rights,
                };
                (request, j)
            }
            AclCommand::Delete {
                mailbox,
                identifier,
            } => {
                let (mailbox, j) = job(&mailbox, &identifier, "DELETEACL")?;
                let request = AclRequest::Set {
                    user,
                    mailbox,
                    identifier,
                    change: RightsChange::Replace,
                    rights: Rights::NONE,
                };
                (request, j)
            }
            AclCommand::Get(mailbox) => {
                let (mailbox, j) = job(&mailbox, "", "GETACL")?;
                (AclRequest::Get { user, mailbox }, j)
            }
            AclCommand::ListRights {
                mailbox,
                identifier,
            } => {
                let (mailbox, j) = job(&mailbox, &identifier, "LISTRIGHTS")?;
                let request = AclRequest::ListRights {
                    user,
                    mailbox,
                    identifier,
                };
                (request, j)
            }
            AclCommand::MyRights(mailbox) => {
                let (mailbox, j) = job(&mailbox, "", "MYRIGHTS")?;
                (AclRequest::MyRights { user, mailbox }, j)
            }
        })
    }

    pub(super) fn acl_resume(&mut self, job: AclJob, reply: Reply, out: &mut Out) -> Flow {
        let reply = match store_reply(reply) {
            Ok(StoreReply::Acl(r)) => r,
            Ok(_) => return Flow::Done(Err(unexpected())),
            Err(e) => return Flow::Done(Err(e)),
        };
        let name = &job.wire_name;
        match reply {
            AclReply::Changed => {}
            AclReply::Acl(entries) => {
                let mut line = format!("ACL {name}");
                for (id, rights) in entries {
                    line.push_str(&format!(" {} {}", string(&id, true), rights_atom(rights)));
                }
                out.untagged(&line);
            }
            AclReply::ListRights { owner } => {
                let id = string(&job.identifier, true);
                if owner {
                    out.untagged(&format!("LISTRIGHTS {name} {id} {}", Rights::ALL));
                } else {
                    // Nothing is required; every right can be granted on
                    // its own (c and d shown for RFC 2086 clients).
                    out.untagged(&format!(
                        "LISTRIGHTS {name} {id} \"\" l r s w i p k x t e a c d"
                    ));
                }
            }
            AclReply::MyRights(rights) => {
                out.untagged(&format!("MYRIGHTS {name} {}", rights_atom(rights)));
            }
        }
        Flow::Done(Done::ok(format!("{} completed", job.command)))
    }
}

/// Rights as an astring: `""` when empty.
fn rights_atom(r: Rights) -> String {
    if r.is_empty() {
        "\"\"".into()
    } else {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_needs_the_right_per_flag_kind() {
        let seen = Flags {
            system: Flags::SEEN,
            keywords: vec![],
        };
        assert_eq!(flag_rights(&seen, false), Rights::SEEN);
        let deleted = Flags {
            system: Flags::DELETED,
            keywords: vec![],
        };
        assert_eq!(flag_rights(&deleted, false), Rights::DELETE_MESSAGES);
        let kw = Flags {
            system: 0,
            keywords: vec!["$Work".into()],
        };
        assert_eq!(flag_rights(&kw, false), Rights::WRITE);
        assert_eq!(
            flag_rights(&Flags::default(), true),
            Rights::parse("swt").unwrap()
        );
    }

    #[test]
    fn appended_flags_lose_what_the_grant_does_not_allow() {
        let all = Flags {
            system: Flags::SEEN | Flags::DELETED | Flags::ANSWERED,
            keywords: vec!["$Work".into()],
        };
        let f = allowed_flags(&all, Rights::parse("lri").unwrap());
        assert_eq!(f, Flags::default());
        let f = allowed_flags(&all, Rights::parse("lris").unwrap());
        assert_eq!(f.system, Flags::SEEN);
        assert_eq!(allowed_flags(&all, Rights::ALL), all);
    }
}
