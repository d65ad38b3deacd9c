//! Maildrop locks (RFC 1939 section 8: "the POP3 server acquires an
//! exclusive-access lock on the maildrop") and the last logins that
//! LOGIN-DELAY (RFC 2449 section 6.8) counts from.
//!
//! One POP3 session per maildrop, held in an in-process map keyed by account
//! id. The lock is a guard value ([`MaildropLock`]): the driver drops it at
//! QUIT before the `+OK` is written, on shutdown, and as soon as it sees the
//! connection is gone (EOF, a reset, a failed write); the task's end drops it
//! however the task ends (error, timeout, panic).
//!
//! A client that drops its connection and reconnects at once (mobile
//! clients do this all the time) can have its new login checked before the
//! old session has been scheduled to notice the end of its connection. So a
//! login that finds the maildrop held waits a moment ([`Locks::lock`]) for
//! it to be released before answering `[IN-USE]`; a maildrop held by a live
//! session still gets `[IN-USE]`, a moment later.
//!
//! # Across nodes
//!
//! These locks are one process's. When several sealpost nodes share a
//! PostgreSQL store, the driver also takes the maildrop's *lease* in the
//! database (`Maildrops::claim`, a `sealpost_store::Lease` named after
//! the account id) once it holds the local lock, waiting the same moment
//! for a session elsewhere that is letting go. The lease is renewed by the
//! node's heartbeat and released with the session; if the node dies, it
//! runs out after `[store] lease_secs` and the maildrop is free again on
//! every node. Embedded, the lease is an in-process entry and costs
//! nothing.

use sealpost_store::AccountId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The maildrop locks and last logins (see the module documentation).
#[derive(Debug, Default)]
pub struct Locks {
    held: Mutex<HashSet<AccountId>>,
    last_login: Mutex<HashMap<AccountId, Instant>>,
    released: Notify,
}

/// A held maildrop lock; dropping it releases the maildrop.
#[derive(Debug)]
pub struct MaildropLock {
    locks: Arc<Locks>,
    account: AccountId,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        if let Ok(mut held) = self.locks.held.lock() {
            held.remove(&self.account);
        }
        self.locks.released.notify_waiters();
    }
}

impl Locks {
    /// Takes the account's lock if it is free.
    pub fn try_lock(self: &Arc<Self>, account: AccountId) -> Option<MaildropLock> {
        let mut held = self.held.lock().ok()?;
        held.insert(account).then(|| MaildropLock {
            locks: self.clone(),
            account,
        })
    }

    /// Takes the account's lock, waiting up to `wait` for its holder to
    /// release it.
    pub async fn lock(
        self: &Arc<Self>,
        account: AccountId,
        wait: Duration,
    ) -> Option<MaildropLock> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if let Some(lock) = self.try_lock(account) {
                return Some(lock);
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return self.try_lock(account);
            }
        }
    }

    /// Whether a POP3 session holds this account's maildrop now.
    pub fn is_locked(&self, account: AccountId) -> bool {
        self.held
            .lock()
            .map(|h| h.contains(&account))
            .unwrap_or(false)
    }

    /// Whether a login now is too soon after the last (`delay`); records it
    /// when it is not.
    pub fn too_soon(&self, account: AccountId, delay: Duration) -> bool {
        if delay.is_zero() {
            return false;
        }
        let Ok(mut last) = self.last_login.lock() else {
            return false;
        };
        let now = Instant::now();
        if let Some(t) = last.get(&account)
            && now.duration_since(*t) < delay
        {
            return true;
        }
        last.insert(account, now);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildrop_lock_is_exclusive_and_released_on_drop() {
        let locks = Arc::new(Locks::default());
        let a = locks.try_lock(AccountId(1)).expect("free");
        assert!(locks.try_lock(AccountId(1)).is_none(), "held");
        let b = locks
            .try_lock(AccountId(2))
            .expect("other accounts are independent");
        drop(a);
        assert!(
            locks.try_lock(AccountId(1)).is_some(),
            "released when dropped"
        );
        drop(b);
        assert!(locks.held.lock().unwrap().is_empty());
    }

    #[test]
    fn login_delay_counts_from_the_last_login() {
        let locks = Locks::default();
        let delay = Duration::from_secs(300);
        assert!(!locks.too_soon(AccountId(1), delay));
        assert!(locks.too_soon(AccountId(1), delay));
        assert!(!locks.too_soon(AccountId(2), delay));
        assert!(!locks.too_soon(AccountId(3), Duration::ZERO));
        assert!(!locks.too_soon(AccountId(3), Duration::ZERO));
    }

    #[tokio::test]
    async fn a_login_waits_for_a_lock_being_released() {
        let locks = Arc::new(Locks::default());
        let old = locks.try_lock(AccountId(1)).unwrap();
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.lock(AccountId(1), Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        drop(old);
        assert!(waiting.await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_lock_that_stays_held_is_refused_after_the_wait() {
        let locks = Arc::new(Locks::default());
        let _held = locks.try_lock(AccountId(1)).unwrap();
        assert!(
            locks
                .lock(AccountId(1), Duration::from_millis(50))
                .await
                .is_none()
        );
    }
}
