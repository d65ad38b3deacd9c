//! Claims that hold across every node of a shared store, for the crates
//! above it: named [`Lease`]s (a POP3 maildrop, the retention run) and the
//! [`SharedQueue`] of outbound mail.
//!
//! With PostgreSQL a lease is a row that this node's heartbeat renews and
//! that runs out `[store] lease_secs` after the node stops renewing it
//! (killed, cut off); see the backend's `claims.rs`. Embedded, there is
//! one process, so a lease is an entry in an in-process set: the same
//! exclusivity, without I/O. Callers keep their own in-process locks for
//! waiting and ordering; a lease only adds "and no other node".

use crate::backend::Claims;
use crate::{Result, Store};

/// A held lease; dropping it gives it back (to the other nodes at once,
/// or when it runs out if the release is lost).
pub struct Lease {
    store: Store,
    name: Vec<u8>,
    /// The database claim's token; `None` embedded.
    token: Option<u64>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &String::from_utf8_lossy(&self.name))
            .finish()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        match (self.token, self.store.inner.backend.claims()) {
            (Some(token), Some(claims)) => claims.release_lease(&self.name, token),
            _ => {
                self.store.inner.leases.lock().remove(&self.name);
            }
        }
    }
}

impl Lease {
    /// Gives the lease back and waits, up to `within`, until the other
    /// nodes can take it. For a process about to exit (the CLI): the
    /// release that dropping starts runs in the background and would be
    /// lost with the process, leaving the lease to run out after the
    /// lease time. Embedded, the release is immediate.
    pub fn release_and_wait(self, within: std::time::Duration) {
        let (store, name, token) = (self.store.clone(), self.name.clone(), self.token);
        drop(self);
        let (Some(token), Some(claims)) = (token, store.inner.backend.claims()) else {
            return;
        };
        let end = std::time::Instant::now() + within;
        while std::time::Instant::now() < end {
            match claims.lease_held(&name, token) {
                Ok(true) => std::thread::sleep(std::time::Duration::from_millis(20)),
                // Gone, or the database cannot say: it runs out then.
                Ok(false) | Err(_) => return,
            }
        }
    }

    /// Whether this node still holds the lease: `false` once its heartbeat
    /// failed for longer than the lease time (another node may have it).
    pub fn still_held(&self) -> Result<bool> {
        match (self.token, self.store.inner.backend.claims()) {
            (Some(token), Some(claims)) => claims.lease_held(&self.name, token),
            _ => Ok(true),
        }
    }
}

impl Store {
    /// Takes the lease `name` if no session of any node holds it. Names are
    /// ids and fixed words (`pop3/42`, `retention`), never personal data.
    pub fn try_lease(&self, name: &str) -> Result<Option<Lease>> {
        let name = name.as_bytes().to_vec();
        let token = match self.inner.backend.claims() {
            Some(claims) => match claims.try_lease(&name)? {
                Some(token) => Some(token),
                None => return Ok(None),
            },
            None => {
                if !self.inner.leases.lock().insert(name.clone()) {
                    return Ok(None);
                }
                None
            }
        };
        Ok(Some(Lease {
            store: self.clone(),
            name,
            token,
        }))
    }

    /// Tests: this node stops renewing its claims, as a node cut off from
    /// the database (or killed) would; they run out after the lease time.
    #[doc(hidden)]
    pub fn stop_renewing_claims(&self) {
        if let Some(claims) = self.inner.backend.claims() {
            claims.stop_heartbeat();
        }
    }

    /// The outbound queue shared by every node, when the store is shared
    /// (`None` embedded: the queue stays in spool files under data_dir).
    pub fn shared_queue(&self) -> Option<SharedQueue> {
        self.inner.backend.claims().map(|_| SharedQueue {
            store: self.clone(),
        })
    }
}

/// The outbound queue in the shared database. Entries are sealed by the
/// caller (the SMTP queue seals them with [`Store::seal_system`]); `due` is
/// when an entry next needs work (Unix seconds). Each entry is worked by
/// exactly one node at a time: [`SharedQueue::claim`] hands out due entries
/// nobody holds, and a claim lasts until released or until the node that
/// holds it stops renewing it (then another node's claim takes it).
#[derive(Clone)]
pub struct SharedQueue {
    store: Store,
}

impl SharedQueue {
    fn claims(&self) -> &dyn Claims {
        self.store
            .inner
            .backend
            .claims()
            .expect("a shared queue exists only over a shared backend")
    }

    /// Adds an entry; returns once it is committed.
    pub fn insert(&self, id: &str, due: i64, sealed: &[u8]) -> Result<()> {
        self.claims().queue_insert(id, due, sealed)
    }

    /// Replaces an entry; `false` (nothing written) when it was removed.
    pub fn update(&self, id: &str, due: i64, sealed: &[u8]) -> Result<bool> {
        self.claims().queue_update(id, due, sealed)
    }

    /// One sealed entry, `None` when it is gone.
    pub fn get(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.claims().queue_get(id)
    }

    /// Removes an entry (a missing one is fine).
    pub fn remove(&self, id: &str) -> Result<()> {
        self.claims().queue_delete(id)
    }

    /// Every entry's id, ascending.
    pub fn ids(&self) -> Result<Vec<String>> {
        self.claims().queue_ids()
    }

    /// Claims up to `limit` entries due at `now` that no live node holds.
    pub fn claim(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        self.claims().queue_claim(now, limit)
    }

    /// Gives a claimed entry back to every node.
    pub fn release(&self, id: &str) {
        self.claims().queue_release(id)
    }

    /// When the next entry needs work (entries other nodes hold: when
    /// their claims run out at the latest).
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.claims().queue_next_due()
    }
}
