//! Store requests carried out against a [`MailStore`]: one function from
//! each `StoreRequest` to its `StoreReply`, the only place the IMAP crate
//! calls the store.

use super::shared;
use crate::mailstore::MailStore;
use crate::session::acl::{SharedAccess, allowed_flags};
use crate::session::objectid::{KEY_DOMAIN, ObjectKey};
use crate::session::{AppendItem, StoreReply, StoreRequest};
use crate::wire::acl::Rights;
use sealpost_store::{
    AccountId, MailboxEvent, MailboxId, MailboxInfo, NewMessage, Result, StoreError, Uid,
};
use tokio::sync::broadcast;

/// A watch started by SELECT: whose mailbox, whether it was opened
/// read-only (EXAMINE), and its events.
pub(super) struct NewWatch {
    pub account: AccountId,
    pub mailbox: MailboxId,
    pub read_only: bool,
    pub events: broadcast::Receiver<MailboxEvent>,
}

/// The store account of a user who logged in: found, or made on the first
/// login; its quota brought in line with the accounts file.
pub(super) fn open_account<S: MailStore>(
    store: &S,
    address: &str,
    quota: Option<u64>,
) -> Result<(AccountId, ObjectKey)> {
    let id = match store.account_id(address)? {
        Some(id) => id,
        None => store.ensure_account(address)?,
    };
    if store.quota(id)?.limit != quota {
        store.set_quota(id, quota);
    }
    let secret = store.object_id(id, KEY_DOMAIN, b"key")?;
    Ok((id, ObjectKey::new(secret)))
}

/// Runs one store request; a SELECT also returns the watch it started.
pub(super) fn store<S: MailStore>(
    s: &S,
    user: Option<AccountId>,
    mut request: StoreRequest,
) -> (Result<StoreReply>, Option<NewWatch>) {
    let mut watch = None;
    // A shared mailbox selected earlier: the grant must still hold.
    if let Err(e) = shared::recheck(s, user, &request) {
        return (Err(e), None);
    }
    // Names in the shared namespace go to their owner's account, or fail.
    let reply = match shared::route(s, &mut request) {
        Ok(None) => run(s, request, None, &mut watch),
        Ok(Some((access, shown))) => {
            // Answers name the mailbox as the user knows it.
            run(s, request, Some(access), &mut watch).map(|r| match r {
                StoreReply::Status(info, st) => StoreReply::Status(
                    MailboxInfo {
                        name: shown,
                        ..info
                    },
                    st,
                ),
                StoreReply::Selected {
                    info,
                    snapshot,
                    recent,
                    changes,
                    shared,
                } => StoreReply::Selected {
                    info: MailboxInfo {
                        name: shown,
                        special_use: None,
                        ..info
                    },
                    snapshot,
                    recent,
                    changes,
                    shared,
                },
                other => other,
            })
        }
        Err(e) => Err(e),
    };
    (reply, watch)
}

fn run<S: MailStore>(
    s: &S,
    request: StoreRequest,
    shared: Option<SharedAccess>,
    watch: &mut Option<NewWatch>,
) -> Result<StoreReply> {
    use StoreRequest as R;
    Ok(match request {
        R::CreateMailbox {
            account,
            parents,
            name,
            special_use,
        } => {
            for parent in parents {
                match s.create_mailbox(account, &parent, None) {
                    Ok(_) | Err(StoreError::MailboxExists) => {}
                    Err(e) => return Err(e),
                }
            }
            StoreReply::Created(s.create_mailbox(account, &name, special_use)?)
        }
        R::DeleteMailbox { account, name } => {
            s.delete_mailbox(account, &name)?;
            StoreReply::Done
        }
        R::RenameMailbox { account, from, to } => {
            s.rename_mailbox(account, &from, &to)?;
            StoreReply::Done
        }
        R::Subscribe { account, name, on } => {
            s.set_subscribed(account, &name, on)?;
            StoreReply::Done
        }
        R::MailboxTree { account } => {
            let mut all = s.mailboxes(account)?;
            all.extend(shared::tree(s, account)?);
            all.sort_by(|a, b| a.name.cmp(&b.name));
            StoreReply::Tree(all, s.subscriptions(account)?)
        }
        R::Statuses { account, mailboxes } => StoreReply::Statuses(
            mailboxes
                .into_iter()
                .map(|id| {
                    let status = s.status(account, id).ok();
                    (id, status.or_else(|| shared::status(s, account, id)))
                })
                .collect(),
        ),
        R::Status { account, name } => {
            let info = s.mailbox(account, &name)?.ok_or(StoreError::NoMailbox)?;
            let status = s.status(account, info.id)?;
            StoreReply::Status(info, status)
        }
        R::Quota { account } => StoreReply::Quota(s.quota(account)?),
        R::GetMetadata { account, mailbox } => {
            StoreReply::Metadata(s.metadata(account, mailbox.as_ref())?)
        }
        R::MetadataOf { account, mailboxes } => StoreReply::MetadataOf(
            mailboxes
                .iter()
                .map(|m| s.metadata(account, Some(m)).ok())
                .collect(),
        ),
        R::SetMetadata {
            account,
            mailbox,
            changes,
            max,
        } => StoreReply::MetadataSet(s.set_metadata(account, mailbox.as_ref(), &changes, max)?),
        R::QuotaRoot { account, name } => StoreReply::QuotaRoot {
            exists: s.mailbox(account, &name)?.is_some(),
            quota: s.quota(account)?,
        },
        R::Select {
            account,
            name,
            read_only,
            changes_since,
        } => {
            let info = s.mailbox(account, &name)?.ok_or(StoreError::NoMailbox)?;
            // Atomically: no change falls between the snapshot and the watch.
            let (snapshot, events) = s.snapshot_and_watch(account, info.id)?;
            // `\Recent` as far as the snapshot goes: later arrivals are
            // claimed when their events reach the session.
            let through = snapshot.entries.last().map_or(Uid(0), |e| e.uid);
            // A grantee never claims: new mail stays recent for the owner.
            let claim = !read_only && shared.is_none();
            let recent = s.recent_through(account, info.id, through, claim)?;
            let changes = match changes_since {
                Some(since) => Some(s.changes_since(account, info.id, since)?),
                None => None,
            };
            *watch = Some(NewWatch {
                account,
                mailbox: info.id,
                read_only,
                events,
            });
            StoreReply::Selected {
                info,
                snapshot,
                recent,
                changes,
                shared,
            }
        }
        R::ChangesSince {
            account,
            mailbox,
            since,
        } => StoreReply::Changes(s.changes_since(account, mailbox, since)?),
        R::Snapshot { account, mailbox } => StoreReply::Snapshot(s.snapshot(account, mailbox)?),
        R::Entries {
            account,
            mailbox,
            uids,
        } => StoreReply::Snapshot(s.entries(account, mailbox, &uids)?),
        R::Metas {
            account,
            mailbox,
            uids,
        } => StoreReply::Metas(s.metas(account, mailbox, &uids)?),
        R::Message {
            account,
            mailbox,
            uid,
            meta,
            raw,
        } => StoreReply::Message {
            meta: if meta {
                s.meta(account, mailbox, uid)?
            } else {
                None
            },
            raw: if raw {
                s.read(account, mailbox, uid)?
            } else {
                None
            },
        },
        R::StoreFlags {
            account,
            mailbox,
            uids,
            op,
            flags,
            unchanged_since,
        } => StoreReply::Flags(s.store_flags(
            account,
            mailbox,
            &uids,
            op,
            &flags,
            unchanged_since,
        )?),
        R::Expunge {
            account,
            mailbox,
            only,
        } => StoreReply::Expunged(s.expunge(account, mailbox, only.as_deref())?),
        R::CopyMove {
            account,
            user,
            from,
            uids,
            to,
            is_move,
        } => {
            let target = shared::open(s, user, &to)?;
            target.require(Rights::INSERT)?;
            if target.owner != account {
                let from = (account, from);
                return Ok(StoreReply::Copied(shared::copy_across(
                    s, from, &uids, &target, is_move,
                )?));
            }
            let to = target.info;
            StoreReply::Copied(if is_move {
                s.move_messages(account, from, &uids, to.id)?
            } else {
                s.copy(account, from, &uids, to.id)?
            })
        }
        R::Uncopy { user, to, uids } => {
            let target = shared::open(s, user, &to)?;
            s.remove(target.owner, target.info.id, &uids)?;
            StoreReply::Done
        }
        R::Append {
            account,
            mailbox,
            message,
            flags,
            date,
        } => {
            let mb = s.mailbox(account, &mailbox)?.ok_or(StoreError::NoMailbox)?;
            StoreReply::Appended(s.append(account, mb.id, &message, &flags, date)?)
        }
        R::AppendAll {
            account,
            mailbox,
            messages,
        } => {
            let mb = s.mailbox(account, &mailbox)?.ok_or(StoreError::NoMailbox)?;
            let all: Vec<NewMessage<'_>> = messages.iter().map(new_message).collect();
            StoreReply::AppendedAll(s.append_all(account, mb.id, &all)?)
        }
        R::Replace {
            account,
            user,
            from,
            uid,
            to,
            item,
        } => {
            let target = shared::open(s, user, &to)?;
            target.require(Rights::INSERT)?;
            let flags = allowed_flags(&item.flags, target.rights);
            let (owner, mb) = (target.owner, target.info.id);
            let appended = s.append(owner, mb, &item.message, &flags, item.date)?;
            // RFC 8508 3.3: the old message goes only once the new one is in.
            let removed = s.remove(account, from, &[uid])?;
            StoreReply::Replaced { appended, removed }
        }
        R::UrlMessage {
            user,
            mailbox,
            uid_validity,
            uid,
        } => StoreReply::Message {
            meta: None,
            raw: shared::url_message(s, user, &mailbox, uid_validity, uid)?,
        },
        // Audited: performed by `driver::acl` before reaching here.
        R::Acl(_) => return Err(StoreError::NotAllowed("ACL request without audit")),
    })
}

fn new_message(item: &AppendItem) -> NewMessage<'_> {
    NewMessage {
        raw: &item.message,
        flags: item.flags.clone(),
        internal_date: item.date,
    }
}
