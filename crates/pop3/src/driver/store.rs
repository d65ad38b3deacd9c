//! [`Maildrops`] over the real store: INBOX as the maildrop, store events
//! for removals by other sessions (IMAP EXPUNGE, another protocol's
//! delete), a snapshot comparison when events were lost.

use super::{Maildrops, Vanished};
use crate::session::{Maildrop, MaildropRef};
use sealpost_store::{AccountId, Lease, MailboxEvent, MailboxName, Store, StoreError, Uid};
use std::collections::HashSet;
use tokio::sync::broadcast;

/// Opens an account's INBOX as a POP3 maildrop (creating the account in the
/// store if the directory knows it and the store does not yet). Blocking.
pub fn open_maildrop(store: &Store, address: &str) -> Result<Maildrop, StoreError> {
    let account = store.ensure_account(address)?;
    let inbox = store
        .mailbox(account, &MailboxName::inbox())?
        .ok_or(StoreError::NoMailbox)?;
    let snapshot = store.snapshot(account, inbox.id)?;
    Ok(Maildrop::new(
        address.to_string(),
        MaildropRef {
            account,
            mailbox: inbox.id,
        },
        snapshot.mailbox.uid_validity,
        snapshot.entries.iter().map(|e| (e.uid, e.size)),
    ))
}

/// UIDs of `maildrop` that are no longer in the store (after lagging events).
pub fn missing_uids(store: &Store, maildrop: &Maildrop) -> Result<Vec<Uid>, StoreError> {
    let snapshot = store.snapshot(maildrop.at.account, maildrop.at.mailbox)?;
    let now: HashSet<Uid> = snapshot.entries.iter().map(|e| e.uid).collect();
    Ok(maildrop
        .entries
        .iter()
        .map(|e| e.uid)
        .filter(|u| !now.contains(u))
        .collect())
}

impl Maildrops for Store {
    type Watch = broadcast::Receiver<MailboxEvent>;
    type Claim = Lease;

    fn claim(&self, account: AccountId) -> Result<Option<Lease>, StoreError> {
        self.try_lease(&format!("pop3/{}", account.0))
    }

    fn account(&self, address: &str) -> Result<AccountId, StoreError> {
        self.ensure_account(address)
    }

    fn open(
        &self,
        account: AccountId,
        address: &str,
    ) -> Result<(Maildrop, Self::Watch), StoreError> {
        let inbox = self
            .mailbox(account, &MailboxName::inbox())?
            .ok_or(StoreError::NoMailbox)?;
        // Watch before the snapshot, so no removal falls between them.
        let events = self.watch(account, inbox.id)?;
        let maildrop = open_maildrop(self, address)?;
        Ok((maildrop, events))
    }

    fn read(&self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, StoreError> {
        Store::read(self, at.account, at.mailbox, uid)
    }

    fn remove(&self, at: MaildropRef, uids: &[Uid]) -> Result<usize, StoreError> {
        Store::remove(self, at.account, at.mailbox, uids).map(|gone| gone.len())
    }

    fn vanished(&self, watch: &mut Self::Watch) -> Vanished {
        let mut found = Vanished::default();
        loop {
            match watch.try_recv() {
                Ok(MailboxEvent::Expunged { uids, .. }) => found.uids.extend(uids),
                Ok(MailboxEvent::Gone) | Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    found.resync = true
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        found
    }

    fn missing(&self, maildrop: &Maildrop) -> Result<Vec<Uid>, StoreError> {
        missing_uids(self, maildrop)
    }
}
