//! [`Maildrops`] in memory, for the transcripts and the fuzz target: the
//! same interface as the real store, with removals by "another session"
//! and store failures that a test can cause on demand.

use super::{Maildrops, Vanished};
use crate::session::{Maildrop, MaildropRef};
use crate::wire::RespCode;
use sealpost_store::{AccountId, MailboxId, StoreError, Uid, UidValidity};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One account's INBOX.
#[derive(Debug, Clone, Default)]
struct Account {
    address: String,
    inbox: BTreeMap<u32, Vec<u8>>,
    /// Every UID removed so far, in order (watches keep a position in it).
    removed: Vec<Uid>,
    /// Every call for this account fails like this.
    failing: Option<RespCode>,
}

/// An in-memory store of INBOXes. Account ids are positions + 1.
#[derive(Debug, Default)]
pub struct MemoryMaildrops {
    accounts: Mutex<Vec<Account>>,
    uid_validity: u32,
}

/// A watch: the account and how many removals it has seen.
#[derive(Debug)]
pub struct MemoryWatch {
    account: usize,
    seen: usize,
}

fn failure(code: RespCode) -> StoreError {
    match code {
        RespCode::SysPerm => StoreError::Corrupt("made to fail by the test".into()),
        _ => StoreError::Io("made to fail by the test".into()),
    }
}

impl MemoryMaildrops {
    /// An empty store whose INBOXes have this UIDVALIDITY.
    pub fn new(uid_validity: u32) -> MemoryMaildrops {
        MemoryMaildrops {
            accounts: Mutex::default(),
            uid_validity,
        }
    }

    /// Adds an account with messages (UIDs 1, 2, ...).
    pub fn add(&self, address: &str, messages: &[&[u8]]) {
        let inbox = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u32 + 1, m.to_vec()))
            .collect();
        self.lock().push(Account {
            address: address.to_ascii_lowercase(),
            inbox,
            ..Account::default()
        });
    }

    /// Another session (IMAP) removes a message.
    pub fn expunge(&self, address: &str, uid: u32) {
        let mut accounts = self.lock();
        if let Some(a) = accounts.iter_mut().find(|a| a.address == address)
            && a.inbox.remove(&uid).is_some()
        {
            a.removed.push(Uid(uid));
        }
    }

    /// Every later call for the account fails with `code` (`SYS/TEMP`: a
    /// temporary store failure; `SYS/PERM`: unreadable data).
    pub fn fail(&self, address: &str, code: RespCode) {
        let mut accounts = self.lock();
        if let Some(a) = accounts.iter_mut().find(|a| a.address == address) {
            a.failing = Some(code);
        } else {
            accounts.push(Account {
                address: address.to_string(),
                failing: Some(code),
                ..Account::default()
            });
        }
    }

    /// The UIDs in an account's INBOX now.
    pub fn uids(&self, address: &str) -> Vec<u32> {
        self.lock()
            .iter()
            .find(|a| a.address == address)
            .map(|a| a.inbox.keys().copied().collect())
            .unwrap_or_default()
    }

    /// INBOX's UIDVALIDITY.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Account>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(
        &self,
        account: AccountId,
        f: impl FnOnce(&mut Account) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut accounts = self.lock();
        let i = (account.0 as usize)
            .checked_sub(1)
            .ok_or(StoreError::NoAccount)?;
        let a = accounts.get_mut(i).ok_or(StoreError::NoAccount)?;
        if let Some(code) = a.failing {
            return Err(failure(code));
        }
        f(a)
    }
}

impl Maildrops for MemoryMaildrops {
    type Watch = MemoryWatch;
    /// One process: the driver's own [`crate::locks`] are the whole truth.
    type Claim = ();

    fn claim(&self, _account: AccountId) -> Result<Option<()>, StoreError> {
        Ok(Some(()))
    }

    fn account(&self, address: &str) -> Result<AccountId, StoreError> {
        let mut accounts = self.lock();
        let address = address.to_ascii_lowercase();
        let i = match accounts.iter().position(|a| a.address == address) {
            Some(i) => i,
            None => {
                accounts.push(Account {
                    address,
                    ..Account::default()
                });
                accounts.len() - 1
            }
        };
        Ok(AccountId(i as u64 + 1))
    }

    fn open(
        &self,
        account: AccountId,
        address: &str,
    ) -> Result<(Maildrop, Self::Watch), StoreError> {
        let validity = UidValidity(self.uid_validity);
        self.with(account, |a| {
            let at = MaildropRef {
                account,
                mailbox: MailboxId(1),
            };
            let messages = a.inbox.iter().map(|(uid, m)| (Uid(*uid), m.len() as u32));
            let maildrop = Maildrop::new(address.to_string(), at, validity, messages);
            let watch = MemoryWatch {
                account: account.0 as usize - 1,
                seen: a.removed.len(),
            };
            Ok((maildrop, watch))
        })
    }

    fn read(&self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(at.account, |a| Ok(a.inbox.get(&uid.0).cloned()))
    }

    fn remove(&self, at: MaildropRef, uids: &[Uid]) -> Result<usize, StoreError> {
        self.with(at.account, |a| {
            let mut n = 0;
            for u in uids {
                if a.inbox.remove(&u.0).is_some() {
                    a.removed.push(*u);
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    fn vanished(&self, watch: &mut Self::Watch) -> Vanished {
        let accounts = self.lock();
        let Some(a) = accounts.get(watch.account) else {
            return Vanished {
                uids: Vec::new(),
                resync: true,
            };
        };
        let uids = a.removed[watch.seen.min(a.removed.len())..].to_vec();
        watch.seen = a.removed.len();
        Vanished {
            uids,
            resync: false,
        }
    }

    fn missing(&self, maildrop: &Maildrop) -> Result<Vec<Uid>, StoreError> {
        self.with(maildrop.at.account, |a| {
            Ok(maildrop
                .entries
                .iter()
                .map(|e| e.uid)
                .filter(|u| !a.inbox.contains_key(&u.0))
                .collect())
        })
    }
}
