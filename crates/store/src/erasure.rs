//! Audit erasures that every node must apply, and the nodes that must.
//!
//! Each node keeps its own audit log in its own data_dir, so when a purge
//! erases a purged account's personal fields from the audit log, the
//! purging node can only erase them in its own log. With several nodes over
//! one shared store the purge records an *erasure request* here, and every
//! node's worker applies the requests it has not applied yet to its own log
//! and records that it did. A node that was down at the time applies them
//! when it is back: what it applied is remembered in the store, not in its
//! memory, so a restart neither loses nor repeats more than the last one.
//!
//! Rows (metadata tables of `codec.rs`, so both backends hold them):
//!
//! - `ERASURE | account id` -> the names to erase (address and aliases),
//!   sealed by the caller under a key every node has (the system key,
//!   [`Store::seal_system`]): the database never sees an address. The
//!   account id pins the request, so a purge repeated after a crash
//!   records the same request again rather than a second one. Once every
//!   known node has applied it, the request and its `ERASURE_DONE` rows
//!   are removed: nothing keyed by the purged account stays (each node's
//!   audit log keeps its own record of the purge).
//! - `ERASURE_DONE | account id | node id` -> when that node applied it.
//! - `NODE | node id` -> when the node last started. A node is
//!   *known* from its first start on; the set of known nodes is who must
//!   apply an erasure. A node retired for good leaves its row behind and
//!   erasures stay pending for it until an operator removes it
//!   ([`Store::forget_node`]).
//!
//! A node id is random, made once per data_dir (`data_dir/node-id`), never
//! personal data: it names the node in these rows, in logs and in its audit
//! segments.

use crate::codec::{self, table};
use crate::{AccountId, Result, Store, StoreError};
use std::path::Path;

/// The file in data_dir that holds the node id.
const NODE_ID_FILE: &str = "node-id";

/// This data_dir's node id (`node-` and 12 hex digits), made and stored
/// durably (0600) at the first call.
pub fn node_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join(NODE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if valid_node_id(s.trim()) => return Ok(s.trim().to_string()),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{}: not a node id (node- and 12 hex digits)",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = format!("node-{}", hex::encode(rand::random::<[u8; 6]>()));
    match sealpost_durable::write_new(&path, format!("{id}\n").as_bytes()) {
        Ok(()) => Ok(id),
        // Another process made it first: theirs counts.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => node_id(data_dir),
        Err(e) => Err(e),
    }
}

/// Whether `s` has the shape [`node_id`] makes.
pub fn valid_node_id(s: &str) -> bool {
    s.strip_prefix("node-")
        .is_some_and(|h| h.len() == 12 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Who has applied one erasure request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureStatus {
    /// The purged account's id.
    pub account: AccountId,
    /// Known nodes that applied it.
    pub applied: Vec<String>,
    /// Known nodes that have not yet.
    pub pending: Vec<String>,
}

impl ErasureStatus {
    /// Whether every known node applied it.
    pub fn complete(&self) -> bool {
        self.pending.is_empty()
    }
}

fn node_key(node: &str) -> Vec<u8> {
    let mut k = vec![table::NODE];
    k.extend_from_slice(node.as_bytes());
    k
}

fn done_key(account: AccountId, node: &str) -> Vec<u8> {
    let mut k = codec::account_prefix(table::ERASURE_DONE, account);
    k.extend_from_slice(node.as_bytes());
    k
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn id_of(key: &[u8]) -> Option<AccountId> {
    Some(AccountId(u64::from_be_bytes(
        key.get(1..9)?.try_into().ok()?,
    )))
}

impl Store {
    /// Records that `node` started (and is known from now on).
    pub fn register_node(&self, node: &str) -> Result<()> {
        if !valid_node_id(node) {
            return Err(StoreError::Corrupt(format!("not a node id: {node:?}")));
        }
        let mut tx = self.tx()?;
        tx.put(node_key(node), now().to_be_bytes().to_vec());
        tx.commit()
    }

    /// The known nodes with when each last started, by id.
    pub fn known_nodes(&self) -> Result<Vec<(String, i64)>> {
        Ok(self
            .scan_prefix(vec![table::NODE])?
            .into_iter()
            .filter_map(|(k, v)| {
                let id = String::from_utf8(k[1..].to_vec()).ok()?;
                let at = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
                Some((id, at))
            })
            .collect())
    }

    /// Removes a node retired for good: erasures no longer wait for it.
    /// Returns whether it was known.
    pub fn forget_node(&self, node: &str) -> Result<bool> {
        let mut tx = self.tx()?;
        let known = tx.get(node_key(node))?.is_some();
        tx.delete(node_key(node));
        tx.commit()?;
        // Requests that waited only for it are done now.
        for (k, _) in self.scan_prefix(vec![table::ERASURE])? {
            if let Some(id) = id_of(&k)
                && self.erasure_status(id)?.complete()
            {
                self.remove_request(id)?;
            }
        }
        Ok(known)
    }

    /// Removes a request every known node applied, with its bookkeeping,
    /// so nothing keyed by the purged account's id stays behind.
    fn remove_request(&self, account: AccountId) -> Result<()> {
        let mut tx = self.tx()?;
        tx.delete(codec::account_prefix(table::ERASURE, account));
        let done = codec::account_prefix(table::ERASURE_DONE, account);
        let end = crate::backend::prefix_end(&done);
        tx.delete_range(done, end);
        tx.commit()
    }

    /// Records that every node must erase `sealed` names (sealed by the
    /// caller) from its audit log, for the purge of `account`. Recording
    /// it again (a purge repeated) keeps what nodes applied already.
    pub fn request_erasure(&self, account: AccountId, sealed: &[u8]) -> Result<()> {
        let mut tx = self.tx()?;
        tx.put(
            codec::account_prefix(table::ERASURE, account),
            sealed.to_vec(),
        );
        tx.commit()
    }

    /// The requests `node` has not applied, oldest account first, each
    /// with its sealed names.
    pub fn pending_erasures(&self, node: &str) -> Result<Vec<(AccountId, Vec<u8>)>> {
        let mut tx = self.tx()?;
        let requests = tx.scan_prefix(vec![table::ERASURE])?;
        let done = tx.scan_prefix(vec![table::ERASURE_DONE])?;
        drop(tx);
        let applied: std::collections::BTreeSet<AccountId> = done
            .iter()
            .filter(|(k, _)| k.get(9..) == Some(node.as_bytes()))
            .filter_map(|(k, _)| id_of(k))
            .collect();
        Ok(requests
            .into_iter()
            .filter_map(|(k, v)| Some((id_of(&k)?, v)))
            .filter(|(id, _)| !applied.contains(id))
            .collect())
    }

    /// Records that `node` applied the request of `account`; once every
    /// known node has, the sealed names are destroyed. Returns the status.
    pub fn erasure_applied(&self, account: AccountId, node: &str) -> Result<ErasureStatus> {
        let mut tx = self.tx()?;
        tx.put(done_key(account, node), now().to_be_bytes().to_vec());
        tx.commit()?;
        let status = self.erasure_status(account)?;
        if status.complete() {
            self.remove_request(account)?;
        }
        Ok(status)
    }

    /// Who has applied the request of `account` (no request: nobody
    /// pending).
    pub fn erasure_status(&self, account: AccountId) -> Result<ErasureStatus> {
        let mut tx = self.tx()?;
        let request = tx.get(codec::account_prefix(table::ERASURE, account))?;
        let done = tx.scan_prefix(codec::account_prefix(table::ERASURE_DONE, account))?;
        let nodes = tx.scan_prefix(vec![table::NODE])?;
        drop(tx);
        let mut status = ErasureStatus {
            account,
            applied: Vec::new(),
            pending: Vec::new(),
        };
        if request.is_none() {
            return Ok(status);
        }
        let applied: std::collections::BTreeSet<&[u8]> =
            done.iter().filter_map(|(k, _)| k.get(9..)).collect();
        for (k, _) in &nodes {
            let id = String::from_utf8_lossy(&k[1..]).into_owned();
            if applied.contains(&k[1..]) {
                status.applied.push(id);
            } else {
                status.pending.push(id);
            }
        }
        Ok(status)
    }

    /// Every request some known node has not applied yet.
    pub fn incomplete_erasures(&self) -> Result<Vec<ErasureStatus>> {
        let mut out = Vec::new();
        for (k, _) in self.scan_prefix(vec![table::ERASURE])? {
            if let Some(id) = id_of(&k) {
                let s = self.erasure_status(id)?;
                if !s.complete() {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "node-aaaaaaaaaaaa";
    const B: &str = "node-bbbbbbbbbbbb";

    #[test]
    fn a_request_is_pending_on_every_known_node_until_each_applied_it() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            store.register_node(A).unwrap();
            store.register_node(B).unwrap();
            let id = AccountId(7);
            store.request_erasure(id, b"sealed names").unwrap();
            assert_eq!(
                store.pending_erasures(A).unwrap(),
                vec![(id, b"sealed names".to_vec())]
            );
            let s = store.erasure_applied(id, A).unwrap();
            assert_eq!(
                (s.applied, s.pending.clone()),
                (vec![A.to_string()], vec![B.to_string()])
            );
            assert!(store.pending_erasures(A).unwrap().is_empty());
            assert_eq!(store.incomplete_erasures().unwrap().len(), 1);
            // The purge repeated: what A applied still counts.
            store.request_erasure(id, b"sealed names").unwrap();
            assert!(store.pending_erasures(A).unwrap().is_empty());
            let pending_b = store.pending_erasures(B).unwrap();
            assert_eq!(pending_b, vec![(id, b"sealed names".to_vec())]);
            assert!(store.erasure_applied(id, B).unwrap().complete());
            // Every known node applied it: nothing of the request is left.
            assert!(store.incomplete_erasures().unwrap().is_empty());
            let left: Vec<_> = store
                .raw_entries()
                .unwrap()
                .into_iter()
                .filter(|(k, _)| k[0] == table::ERASURE || k[0] == table::ERASURE_DONE)
                .collect();
            assert!(left.is_empty(), "{left:?}");
            // A node that came later has nothing to apply; a retired node
            // that is forgotten is no longer waited for.
            let c = "node-cccccccccccc";
            store.register_node(c).unwrap();
            assert!(store.pending_erasures(c).unwrap().is_empty());
            store.request_erasure(AccountId(8), b"more").unwrap();
            store.erasure_applied(AccountId(8), A).unwrap();
            store.erasure_applied(AccountId(8), B).unwrap();
            assert_eq!(store.erasure_status(AccountId(8)).unwrap().pending, vec![c]);
            assert!(store.forget_node(c).unwrap());
            assert!(store.erasure_status(AccountId(8)).unwrap().complete());
            assert!(
                store
                    .raw_entries()
                    .unwrap()
                    .iter()
                    .all(|(k, _)| k[0] != table::ERASURE),
                "the request that waited only for the forgotten node is gone"
            );
            assert!(!store.forget_node(c).unwrap());
        });
    }

    #[test]
    fn a_node_id_is_made_once_per_data_dir_and_checked_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let id = node_id(dir.path()).unwrap();
        assert!(valid_node_id(&id), "{id}");
        assert_eq!(node_id(dir.path()).unwrap(), id);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(NODE_ID_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(NODE_ID_FILE), "../etc\n").unwrap();
        let e = node_id(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not a node id"), "{e}");
        assert!(!valid_node_id("node-AAAAAAAAAAA"));
    }
}
