//! A purge's audit erasure on every node, not only the purging one.
//!
//! Each node keeps its own audit log, so the purge (step 6 of [`crate::purge`])
//! records an erasure request in the shared store
//! ([`Store::request_erasure`]): the names to erase (address and aliases)
//! sealed under the store's system key, which every node opens with the
//! common master key and the database never sees in plaintext. Then it
//! erases in its own log and records that it did. Every node applies the
//! requests it has not applied yet ([`apply_pending`]): `serve` runs it
//! every couple of seconds, and each retention pass runs it too, so a node
//! that was down when the purge ran applies it when it is back (what a node
//! applied is remembered in the store, so a restart repeats at most the
//! erasure it was in the middle of; erasing again finds nothing).
//!
//! The retention run's report says, per purge and for every request still
//! open, which known nodes have not applied it yet.

use crate::RetentionError;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_store::{AccountId, ErasureStatus, Store};

/// This node's id (made at its first start, `data_dir/node-id`).
pub fn this_node(config: &Config) -> Result<String, RetentionError> {
    let dir = &config.server.data_dir;
    sealpost_store::node_id(dir).map_err(|e| RetentionError::io(&dir.join("node-id"), e))
}

/// Records the request for `names` (purge of `account`), erases them in
/// this node's log and records that. Returns the records erased here and
/// the request's status across the known nodes.
pub(crate) fn erase_everywhere(
    config: &Config,
    store: &Store,
    audit: &AuditLog,
    account: AccountId,
    names: &[String],
) -> Result<(u64, ErasureStatus), RetentionError> {
    let node = this_node(config)?;
    store.register_node(&node)?;
    let plain = serde_json::to_vec(names).map_err(|e| RetentionError::Marker(e.to_string()))?;
    store.request_erasure(account, &store.seal_system(&plain))?;
    let erased = audit.erase_personal_data(names)?.records;
    let status = store.erasure_applied(account, &node)?;
    Ok((erased, status))
}

/// Applies every erasure request this node has not applied yet to its own
/// audit log; returns the audit records erased.
pub fn apply_pending(
    config: &Config,
    store: &Store,
    audit: &AuditLog,
) -> Result<u64, RetentionError> {
    let node = this_node(config)?;
    let mut erased = 0;
    for (account, sealed) in store.pending_erasures(&node)? {
        let names: Option<Vec<String>> = store
            .open_system(&sealed)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok());
        let Some(names) = names else {
            // One damaged request must not hold up the others; it stays
            // pending (and reported) for this node.
            tracing::error!(
                account_id = account.0,
                "an audit erasure request cannot be opened with the master key; left pending"
            );
            continue;
        };
        let r = audit.erase_personal_data(&names)?;
        erased += r.records;
        // No address in the operational log.
        tracing::info!(
            account_id = account.0,
            node = %node,
            erased_audit_records = r.records,
            "applied a purge's audit erasure to this node's audit log"
        );
        store.erasure_applied(account, &node)?;
    }
    Ok(erased)
}

/// One line on a request some node has not applied: which nodes.
pub fn describe_pending(status: &ErasureStatus) -> String {
    format!(
        "audit erasure of purged account {} applied on {} of {} known node(s); not yet on {}",
        status.account.0,
        status.applied.len(),
        status.applied.len() + status.pending.len(),
        status.pending.join(", ")
    )
}
