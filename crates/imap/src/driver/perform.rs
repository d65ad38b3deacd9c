//! Store requests carried out against a [`MailStore`]: one function from
//! each `StoreRequest` to its `StoreReply`, the only place the IMAP crate
//! calls the store.

use crate::mailstore::MailStore;
use crate::session::objectid::{KEY_DOMAIN, ObjectKey};
use crate::session::{AppendItem, StoreReply, StoreRequest};
use sealpost_store::{AccountId, MailboxEvent, MailboxId, NewMessage, Result, StoreError, Uid};
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
    request: StoreRequest,
) -> (Result<StoreReply>, Option<NewWatch>) {
    let mut watch = None;
    let reply = run(s, request, &mut watch);
    (reply, watch)
}

fn run<S: MailStore>(
    s: &S,
    request: StoreRequest,
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
            StoreReply::Tree(s.mailboxes(account)?, s.subscriptions(account)?)
        }
        R::Statuses { account, mailboxes } => StoreReply::Statuses(
            mailboxes
                .into_iter()
                .map(|id| (id, s.status(account, id).ok()))
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
            let recent = s.recent_through(account, info.id, through, !read_only)?;
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
            }
        }
        R::ChangesSince {
            account,
            mailbox,
            since,
        } => StoreReply::Changes(s.changes_since(account, mailbox, since)?),
        R::Snapshot { account, mailbox } => StoreReply::Snapshot(s.snapshot(account, mailbox)?),
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
            from,
            uids,
            to,
            is_move,
        } => {
            let to = s.mailbox(account, &to)?.ok_or(StoreError::NoMailbox)?;
            StoreReply::Copied(if is_move {
                s.move_messages(account, from, &uids, to.id)?
            } else {
                s.copy(account, from, &uids, to.id)?
            })
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
            from,
            uid,
            to,
            item,
        } => {
            let mb = s.mailbox(account, &to)?.ok_or(StoreError::NoMailbox)?;
            let appended = s.append(account, mb.id, &item.message, &item.flags, item.date)?;
            // RFC 8508 3.3: the old message goes only once the new one is in.
            let removed = s.remove(account, from, &[uid])?;
            StoreReply::Replaced { appended, removed }
        }
    })
}

fn new_message(item: &AppendItem) -> NewMessage<'_> {
    NewMessage {
        raw: &item.message,
        flags: item.flags.clone(),
        internal_date: item.date,
    }
}
