//! The driver's side of NOTIFY (RFC 5465): the account's change stream
//! (`MailStore::watch_account`), held while the session's NOTIFY is on
//! ([`Session::notify_account`]) and handed to the session between
//! commands and during IDLE. The stream is bounded: a session that falls
//! behind gets `[NOTIFICATIONOVERFLOW]` and NOTIFY ends.

use crate::mailstore::MailStore;
use crate::session::Session;
use sealpost_store::{AccountEvent, AccountId};
use tokio::sync::broadcast;

/// The account's change stream, as the driver receives it.
pub(super) struct AccountWatch {
    account: AccountId,
    events: broadcast::Receiver<AccountEvent>,
    /// Received while waiting, not yet handed over.
    stash: Vec<AccountEvent>,
    lagged: bool,
}

impl AccountWatch {
    /// Starts, keeps or ends the watch as the session's NOTIFY says.
    pub(super) fn follow<S: MailStore>(
        watch: &mut Option<AccountWatch>,
        session: &Session,
        store: &S,
    ) {
        let want = session.notify_account();
        if watch.as_ref().map(|w| w.account) == want {
            return;
        }
        *watch = want.and_then(|account| {
            let events = store.watch_account(account).ok()?;
            Some(AccountWatch {
                account,
                events,
                stash: Vec::new(),
                lagged: false,
            })
        });
    }

    /// Whether something waits to be handed over.
    pub(super) fn ready(&mut self) -> bool {
        use broadcast::error::TryRecvError;
        loop {
            match self.events.try_recv() {
                Ok(e) => self.stash.push(e),
                Err(TryRecvError::Lagged(_)) => self.lagged = true,
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
            }
        }
        self.lagged || !self.stash.is_empty()
    }

    /// Everything received, and whether some was lost.
    pub(super) fn drain(&mut self) -> (Vec<AccountEvent>, bool) {
        self.ready();
        (
            std::mem::take(&mut self.stash),
            std::mem::take(&mut self.lagged),
        )
    }

    /// Waits for the next event (cancel-safe: it is kept).
    pub(super) async fn changed(watch: Option<&mut AccountWatch>) {
        let Some(w) = watch else {
            return std::future::pending().await;
        };
        match w.events.recv().await {
            Ok(e) => w.stash.push(e),
            Err(broadcast::error::RecvError::Lagged(_)) => w.lagged = true,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
