//! The shared namespace (RFC 2342) on the driver's side: names under
//! `Shared/<owner>/` resolved to the owner's account and mailbox, with the
//! rights the user holds there (RFC 4314); see `session/acl.rs` for which
//! command needs which right.
//!
//! Every store call stays scoped by an account id, as everywhere: a request
//! naming a shared mailbox is rewritten to the owner's account and the
//! owner's own name for it only after the grant was checked, and nothing
//! else of the owner's is reachable (the owner's other names are never
//! looked at, and the session only ever learns the owner's id through a
//! SELECT that passed the check). Invisible (no `l`), unknown owner and
//! missing mailbox all give the same [`StoreError::NoMailbox`].

use crate::mailstore::MailStore;
use crate::session::acl::{SHARED_ROOT, SharedAccess, allowed_flags, flag_rights};
use crate::session::{AppendItem, StoreRequest};
use crate::wire::acl::Rights;
use sealpost_store::{
    AccountId, CopyOutcome, FlagOp, MailboxId, MailboxInfo, MailboxName, MailboxStatus, NewMessage,
    Result, StoreError, Uid,
};

/// Where a name points.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Place<'a> {
    /// One of the user's own mailboxes.
    Own,
    /// `Shared` or `Shared/<owner>`: a level of the namespace, no mailbox.
    Level,
    /// `Shared/<owner>/<name>`.
    Shared { owner: &'a str, name: &'a str },
}

pub(super) fn place(name: &str) -> Place<'_> {
    let Some(rest) = name.strip_prefix(SHARED_ROOT) else {
        return Place::Own;
    };
    if rest.is_empty() {
        return Place::Level;
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Place::Own;
    };
    match rest.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() => {
            Place::Shared { owner, name }
        }
        _ => Place::Level,
    }
}

/// A mailbox as the user reaches it: whose, which, with what rights.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub owner: AccountId,
    pub info: MailboxInfo,
    pub rights: Rights,
}

impl Target {
    /// `StoreError::Denied` unless every right of `needed` is held.
    pub fn require(&self, needed: Rights) -> Result<()> {
        if self.rights.has(needed) {
            Ok(())
        } else {
            Err(StoreError::Denied)
        }
    }

    fn access(&self) -> SharedAccess {
        SharedAccess {
            owner: self.owner,
            rights: self.rights,
        }
    }
}

/// The rights `user` holds on the owner's mailbox (all on its own).
pub(super) fn rights_on<S: MailStore>(
    s: &S,
    user: AccountId,
    owner: AccountId,
    mailbox: MailboxId,
) -> Result<Rights> {
    if user == owner {
        return Ok(Rights::ALL);
    }
    Ok(Rights::from_bits(s.acl_rights(owner, mailbox, user)?.0))
}

/// Whether `user` may still read another account's mailbox it watches
/// (`l` and `r`); a store error counts as no.
pub(super) fn may_read<S: MailStore>(
    s: &S,
    user: AccountId,
    owner: AccountId,
    mailbox: MailboxId,
) -> bool {
    rights_on(s, user, owner, mailbox).is_ok_and(|r| r.has(Rights::LOOKUP.union(Rights::READ)))
}

/// Resolves a name under `Shared/`; `None` for one of the user's own.
/// A shared mailbox the user cannot see (no `l`) is `NoMailbox`.
pub(super) fn resolve<S: MailStore>(
    s: &S,
    user: AccountId,
    name: &MailboxName,
) -> Result<Option<Target>> {
    let (owner, local) = match place(name.as_str()) {
        Place::Own => return Ok(None),
        Place::Level => return Err(StoreError::NoMailbox),
        Place::Shared { owner, name } => (owner, name),
    };
    let owner = match s.account_id(owner)? {
        Some(id) if id != user => id,
        _ => return Err(StoreError::NoMailbox),
    };
    let local = MailboxName::new(local).map_err(|_| StoreError::NoMailbox)?;
    let info = s.mailbox(owner, &local)?.ok_or(StoreError::NoMailbox)?;
    let rights = rights_on(s, user, owner, info.id)?;
    if !rights.has(Rights::LOOKUP) {
        return Err(StoreError::NoMailbox);
    }
    Ok(Some(Target {
        owner,
        info,
        rights,
    }))
}

/// Any name of the user's: its own mailbox (all rights) or a shared one.
pub(super) fn open<S: MailStore>(s: &S, user: AccountId, name: &MailboxName) -> Result<Target> {
    if let Some(t) = resolve(s, user, name)? {
        return Ok(t);
    }
    let info = s.mailbox(user, name)?.ok_or(StoreError::NoMailbox)?;
    Ok(Target {
        owner: user,
        info,
        rights: Rights::ALL,
    })
}

/// The content of a message named by a CATENATE URL (RFC 4469 3): read
/// as a FETCH would, so a shared mailbox needs `r` (and `l` to be found
/// at all). A mailbox the user cannot read answers exactly as a missing
/// one, and so do a UIDVALIDITY that differs and a message that is gone:
/// `None`, which the session answers with `BADURL`.
pub(super) fn url_message<S: MailStore>(
    s: &S,
    user: AccountId,
    name: &MailboxName,
    uid_validity: Option<u32>,
    uid: Uid,
) -> Result<Option<Vec<u8>>> {
    let target = match open(s, user, name) {
        Ok(t) => t,
        Err(StoreError::NoMailbox) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !target.rights.has(Rights::READ) {
        return Ok(None);
    }
    if uid_validity.is_some_and(|v| v != target.info.uid_validity.0) {
        return Ok(None);
    }
    s.read(target.owner, target.info.id, uid)
}

/// Rewrites a request that names a shared mailbox to the owner's account
/// and name, once the rights it needs are checked. Returns the access a
/// SELECT (or STATUS) opened, and the name as the user wrote it, which its
/// answer must show. Requests on the user's own names pass unchanged.
pub(super) fn route<S: MailStore>(
    s: &S,
    request: &mut StoreRequest,
) -> Result<Option<(SharedAccess, MailboxName)>> {
    use StoreRequest as R;
    match request {
        R::Select { account, name, .. }
        | R::Status { account, name }
        | R::QuotaRoot { account, name } => {
            if let Some(t) = resolve(s, *account, name)? {
                t.require(Rights::READ)?;
                *account = t.owner;
                let shown = std::mem::replace(name, t.info.name.clone());
                return Ok(Some((t.access(), shown)));
            }
        }
        R::Append {
            account,
            mailbox,
            flags,
            ..
        } => {
            if let Some(t) = resolve(s, *account, mailbox)? {
                t.require(Rights::INSERT)?;
                *flags = allowed_flags(flags, t.rights);
                *account = t.owner;
                *mailbox = t.info.name.clone();
            }
        }
        R::AppendAll {
            account,
            mailbox,
            messages,
        } => {
            if let Some(t) = resolve(s, *account, mailbox)? {
                t.require(Rights::INSERT)?;
                for m in messages.iter_mut() {
                    m.flags = allowed_flags(&m.flags, t.rights);
                }
                *account = t.owner;
                *mailbox = t.info.name.clone();
            }
        }
        R::CreateMailbox {
            account,
            parents,
            name,
            special_use,
        } => route_create(s, account, parents, name, special_use)?,
        R::DeleteMailbox { account, name } => {
            if let Some(t) = resolve(s, *account, name)? {
                t.require(Rights::DELETE_MAILBOX)?;
                *account = t.owner;
                *name = t.info.name.clone();
            }
        }
        R::RenameMailbox { account, from, to } => route_rename(s, account, from, to)?,
        _ => {}
    }
    Ok(None)
}

/// Checks a request on a mailbox the session opened earlier through a
/// grant (the request names another account than `user`) against the
/// grant as it is now: a revocation takes effect at the next command, not
/// only at the next SELECT. Without `l` the mailbox is gone
/// (`NoMailbox`); without the right the request needs, `Denied`.
pub(super) fn recheck<S: MailStore>(
    s: &S,
    user: Option<AccountId>,
    request: &StoreRequest,
) -> Result<()> {
    use StoreRequest as R;
    let Some(user) = user else {
        return Ok(());
    };
    let move_out = Rights::DELETE_MESSAGES.union(Rights::EXPUNGE);
    let (account, mailbox, needed) = match request {
        R::Snapshot { account, mailbox }
        | R::Entries {
            account, mailbox, ..
        }
        | R::Metas {
            account, mailbox, ..
        }
        | R::ChangesSince {
            account, mailbox, ..
        }
        | R::Message {
            account, mailbox, ..
        } => (*account, *mailbox, Rights::NONE),
        R::StoreFlags {
            account,
            mailbox,
            op,
            flags,
            ..
        } => (
            *account,
            *mailbox,
            flag_rights(flags, *op == FlagOp::Replace),
        ),
        R::Expunge {
            account, mailbox, ..
        } => (*account, *mailbox, Rights::EXPUNGE),
        R::CopyMove {
            account,
            from,
            is_move,
            ..
        } => (
            *account,
            *from,
            if *is_move { move_out } else { Rights::NONE },
        ),
        R::Replace { account, from, .. } => (*account, *from, move_out),
        _ => return Ok(()),
    };
    if account == user {
        return Ok(());
    }
    let rights = rights_on(s, user, account, mailbox)?;
    if !rights.has(Rights::LOOKUP.union(Rights::READ)) {
        return Err(StoreError::NoMailbox);
    }
    if !rights.has(needed) {
        return Err(StoreError::Denied);
    }
    Ok(())
}

/// CREATE under `Shared/<owner>/`: a child of a mailbox the user holds
/// `k` on; the owner's own level takes none.
fn route_create<S: MailStore>(
    s: &S,
    account: &mut AccountId,
    parents: &mut Vec<MailboxName>,
    name: &mut MailboxName,
    special_use: &mut Option<sealpost_store::SpecialUse>,
) -> Result<()> {
    match place(name.as_str()) {
        Place::Own => return Ok(()),
        Place::Level => return Err(StoreError::Denied),
        Place::Shared { .. } => {}
    }
    let parent = name.parent().ok_or(StoreError::Denied)?;
    let t = match resolve(s, *account, &parent) {
        Ok(Some(t)) => t,
        _ => return Err(StoreError::Denied),
    };
    t.require(Rights::CREATE)?;
    let (_, leaf) = name.as_str().rsplit_once('/').ok_or(StoreError::Denied)?;
    let local = MailboxName::new(&format!("{}/{leaf}", t.info.name))?;
    *account = t.owner;
    *name = local;
    parents.clear();
    *special_use = None;
    Ok(())
}

/// Why a RENAME between two accounts is refused.
const ACROSS_OWNERS: &str = "A mailbox cannot move to another account";

/// RENAME under `Shared/<owner>/` (RFC 4314 4): `x` on the mailbox and
/// `k` on the new parent, which must be one of the same owner's mailboxes
/// the user sees (the owner's own level takes none). The owner's mailbox
/// is renamed, with its children. A mailbox never moves between accounts:
/// `NO [CANNOT]`, once the source is known to be visible (a mailbox
/// without `l` answers as a missing one).
fn route_rename<S: MailStore>(
    s: &S,
    account: &mut AccountId,
    from: &mut MailboxName,
    to: &mut MailboxName,
) -> Result<()> {
    if place(from.as_str()) == Place::Own && place(to.as_str()) == Place::Own {
        return Ok(());
    }
    let source = match place(from.as_str()) {
        Place::Own => return Err(StoreError::NotAllowed(ACROSS_OWNERS)),
        Place::Level => return Err(StoreError::NoMailbox),
        Place::Shared { .. } => resolve(s, *account, from)?.ok_or(StoreError::NoMailbox)?,
    };
    let to_owner = to
        .as_str()
        .strip_prefix(SHARED_ROOT)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .filter(|o| !o.is_empty());
    let same_owner = match to_owner {
        Some(owner) => s.account_id(owner)? == Some(source.owner),
        None => false,
    };
    if !same_owner {
        return Err(StoreError::NotAllowed(ACROSS_OWNERS));
    }
    source.require(Rights::DELETE_MAILBOX)?;
    let parent = match to.parent().map(|p| resolve(s, *account, &p)) {
        Some(Ok(Some(t))) => t,
        _ => return Err(StoreError::Denied),
    };
    parent.require(Rights::CREATE)?;
    let (_, leaf) = to.as_str().rsplit_once('/').ok_or(StoreError::Denied)?;
    let local = MailboxName::new(&format!("{}/{leaf}", parent.info.name))?;
    *account = source.owner;
    *from = source.info.name.clone();
    *to = local;
    Ok(())
}

/// The shared mailboxes the user can see, named in its namespace, for
/// LIST (ids are the owner's: [`status`] answers for them).
pub(super) fn tree<S: MailStore>(s: &S, user: AccountId) -> Result<Vec<MailboxInfo>> {
    let mut out = Vec::new();
    for g in s.acl_received(user)? {
        if !Rights::from_bits(g.rights.0).has(Rights::LOOKUP) {
            continue;
        }
        let Some(owner) = s.account_address(g.owner)? else {
            continue;
        };
        let Some(info) = s
            .mailboxes(g.owner)?
            .into_iter()
            .find(|m| m.id == g.mailbox)
        else {
            continue;
        };
        let Some(name) = shared_name(&owner, &info.name) else {
            continue;
        };
        out.push(MailboxInfo {
            name,
            special_use: None,
            ..info
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `Shared/<owner>/<name>`: the owner's mailbox `local` in a grantee's
/// namespace (`None` if that makes no valid name).
fn shared_name(owner_address: &str, local: &MailboxName) -> Option<MailboxName> {
    MailboxName::new(&format!("{SHARED_ROOT}/{owner_address}/{local}")).ok()
}

/// The name `owner`'s mailbox has now, by id, as `user` names it: the
/// owner's own name, or as [`tree`] lists it for a grantee. `None`: the
/// mailbox (or its owner) is gone.
pub(super) fn name_now<S: MailStore>(
    s: &S,
    user: AccountId,
    owner: AccountId,
    mailbox: MailboxId,
) -> Result<Option<MailboxName>> {
    let Some(info) = s.mailboxes(owner)?.into_iter().find(|m| m.id == mailbox) else {
        return Ok(None);
    };
    if user == owner {
        return Ok(Some(info.name));
    }
    let Some(address) = s.account_address(owner)? else {
        return Ok(None);
    };
    Ok(shared_name(&address, &info.name))
}

/// LIST-STATUS's counters of a shared mailbox listed by [`tree`] (`None`
/// without `r`).
pub(super) fn status<S: MailStore>(
    s: &S,
    user: AccountId,
    mailbox: MailboxId,
) -> Option<MailboxStatus> {
    let g = s
        .acl_received(user)
        .ok()?
        .into_iter()
        .find(|g| g.mailbox == mailbox)?;
    if !Rights::from_bits(g.rights.0).has(Rights::LOOKUP.union(Rights::READ)) {
        return None;
    }
    s.status(g.owner, mailbox).ok()
}

/// Messages (or octets) held in memory at once by [`copy_across`].
const COPY_BATCH: usize = 64;
const COPY_BATCH_BYTES: usize = 32 << 20;

/// COPY or MOVE between two accounts (a shared mailbox on either side):
/// each message is read under its owner's key and stored anew under the
/// destination's, with the flags the destination's rights allow; MOVE then
/// removes the originals. Done in batches, so memory stays bounded
/// whatever the set's size (each batch is one change in the destination).
pub(super) fn copy_across<S: MailStore>(
    s: &S,
    (from_account, from): (AccountId, MailboxId),
    uids: &[Uid],
    to: &Target,
    is_move: bool,
) -> Result<CopyOutcome> {
    let mut pairs = Vec::with_capacity(uids.len());
    let mut rest = uids;
    while !rest.is_empty() {
        let mut items = Vec::new();
        let mut copied = Vec::new();
        let mut bytes = 0;
        while let Some((&uid, tail)) = rest.split_first() {
            if items.len() >= COPY_BATCH || bytes >= COPY_BATCH_BYTES {
                break;
            }
            rest = tail;
            let (Some(meta), Some(raw)) = (
                s.meta(from_account, from, uid)?,
                s.read(from_account, from, uid)?,
            ) else {
                continue;
            };
            bytes += raw.len();
            items.push(AppendItem {
                message: raw,
                flags: allowed_flags(&meta.flags, to.rights),
                date: Some(meta.internal_date),
            });
            copied.push(uid);
        }
        let all: Vec<NewMessage<'_>> = items
            .iter()
            .map(|i| NewMessage {
                raw: &i.message,
                flags: i.flags.clone(),
                internal_date: i.date,
            })
            .collect();
        let appended = s.append_all(to.owner, to.info.id, &all)?;
        if is_move {
            s.remove(from_account, from, &copied)?;
        }
        pairs.extend(copied.into_iter().zip(appended.iter().map(|a| a.uid)));
    }
    Ok(CopyOutcome {
        uid_validity: to.info.uid_validity,
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_place_in_the_namespace() {
        assert_eq!(place("INBOX"), Place::Own);
        assert_eq!(place("Sharedx"), Place::Own);
        assert_eq!(place("Shared"), Place::Level);
        assert_eq!(place("Shared/a@b.c"), Place::Level);
        assert_eq!(place("Shared//x"), Place::Level);
        assert_eq!(
            place("Shared/a@b.c/INBOX/Sub"),
            Place::Shared {
                owner: "a@b.c",
                name: "INBOX/Sub"
            }
        );
    }
}
