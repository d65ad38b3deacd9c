//! What each account's mail takes in the store, for `sealpost account
//! list`: through the admin socket while the server runs (sled allows one
//! process), from the store itself when none does.
//!
//! Uses `startup` and `admin` only.

use crate::admin::{self, Request};
use crate::startup::Failure;
use sealpost_config::Config;
use sealpost_store::Store;
use std::collections::BTreeMap;

/// Octets and messages stored, by account address.
pub type Usage = BTreeMap<String, (u64, u64)>;

/// Each account's usage; `None` when the store cannot be read (not made
/// yet: no server has started; or locked), so a listing shows `-`.
pub fn of(config: &Config) -> Result<Option<Usage>, Failure> {
    match admin::request(&config.admin_socket(), &Request::AccountUsage)
        .map_err(Failure::runtime)?
    {
        Some(r) if r.ok => serde_json::from_str(&r.message)
            .map(Some)
            .map_err(|e| Failure::runtime(format!("admin socket: bad usage answer: {e}"))),
        Some(r) => Err(Failure::runtime(r.message)),
        // A listing never makes a store (or its keys) that no server made.
        None if !config.server.master_key.exists() || !crate::startup::store_exists(config) => {
            Ok(None)
        }
        None => match crate::startup::open_store(config) {
            Ok(store) => in_store(&store).map(Some),
            Err(_) => Ok(None),
        },
    }
}

/// The admin socket's side: the usage as JSON.
pub fn in_server(store: &Store) -> Result<String, Failure> {
    serde_json::to_string(&in_store(store)?).map_err(Failure::runtime)
}

fn in_store(store: &Store) -> Result<Usage, Failure> {
    let mut usage = Usage::new();
    for record in store.accounts().map_err(Failure::runtime)? {
        if record.state != sealpost_store::AccountState::Active {
            continue;
        }
        let q = store.quota(record.id).map_err(Failure::runtime)?;
        usage.insert(record.address, (q.bytes, q.messages));
    }
    Ok(usage)
}
