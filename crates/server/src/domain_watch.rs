//! Hosted domains across the nodes of a shared store (PostgreSQL).
//!
//! Each node publishes the `[[domain]]` tables of its own config file in
//! the store (`sealpost_store::Store::publish_domain`): at start, and at
//! every reload for the domains that came or went (`sealpost domain
//! add|remove` reloads the node it runs on; a hand edit is picked up by
//! `config_watch` or SIGHUP). Every node serves the union of its file's
//! domains and the published ones, and looks at the published ones every
//! [`POLL`]: when they are not what it serves, it reloads as on SIGHUP (so
//! the directory takes the accounts of a new domain too). A domain added
//! on any node is served on every node within two seconds.
//!
//! A domain's DKIM signing keys travel too (`dkim_share`): each node
//! publishes those of its file's domains, and the watcher reloads when the
//! published keys are not what it signs with, so every node signs a new
//! domain's mail, and follows a rotation made on another node, within two
//! seconds.
//!
//! Uses `services`, `running` and `dkim_share`.

use crate::dkim_share::Print;
use crate::services::Services;
use sealpost_config::DkimKeyConfig;
use sealpost_store::Store;
use std::time::Duration;

/// How often the published domains are looked at (one indexed range read
/// of a few rows; as often as the accounts file watcher looks at its file).
pub const POLL: Duration = Duration::from_millis(500);

/// Publishes `added` and withdraws `removed` (domains of this node's
/// config file that came or went); one line per failure.
pub fn publish(store: &Store, added: &[String], removed: &[String]) -> Result<(), String> {
    for name in added {
        store
            .publish_domain(name)
            .map_err(|e| format!("domain {name} not published to the other nodes: {e}"))?;
    }
    for name in removed {
        store
            .withdraw_domain(name)
            .map_err(|e| format!("domain {name} not withdrawn from the other nodes: {e}"))?;
    }
    Ok(())
}

/// Whether the running domains are the file's and the published ones,
/// and the running DKIM keys the published ones it should sign with.
fn in_step(services: &Services, published: &[String], dkim: &[DkimKeyConfig]) -> bool {
    let current = services.running.current();
    if !crate::dkim_share::in_step(&current, dkim) {
        return false;
    }
    let running = crate::running::domain_names(&current);
    let mut want = services.running.file_domains();
    want.extend(published.iter().cloned());
    want.sort();
    want.dedup();
    running == want
}

/// What the store publishes: domains, and DKIM keys as running entries.
fn seen(store: &Store) -> Result<(Vec<String>, Vec<DkimKeyConfig>), String> {
    let domains = store.published_domains().map_err(|e| e.to_string())?;
    Ok((domains, crate::dkim_share::published(store)?))
}

/// Publishes this node's file domains and their DKIM keys.
fn publish_own(services: &Services) -> Result<(), String> {
    let own = services.running.file_domains();
    crate::dkim_share::publish(&services.store, &services.running.current(), &own)?;
    publish(&services.store, &own, &[])
}

/// Starts the watcher thread over a shared store (it ends with the
/// process); nothing on one node.
pub fn spawn(services: &Services) {
    if services.store.backend_name() != "postgresql" {
        return;
    }
    let services = services.clone();
    let _ = std::thread::Builder::new()
        .name("domain-watch".into())
        .spawn(move || {
            let mut published_own = false;
            // What a reload was refused for: not tried again (nor logged)
            // every second until it changes.
            let mut refused: Option<(Vec<String>, Print)> = None;
            loop {
                if !published_own {
                    match publish_own(&services) {
                        Ok(()) => published_own = true,
                        Err(e) => tracing::warn!(error = %e, "retrying"),
                    }
                }
                match seen(&services.store) {
                    Ok((published, dkim)) if !in_step(&services, &published, &dkim) => {
                        let now = (published, crate::dkim_share::fingerprint(&dkim));
                        if refused.as_ref() != Some(&now) {
                            match services.reload() {
                                Ok(summary) => {
                                    refused = None;
                                    tracing::info!(
                                        %summary,
                                        "domains or DKIM keys published by another node changed: reloaded"
                                    )
                                }
                                Err(e) => {
                                    refused = Some(now);
                                    tracing::warn!(
                                        error = %e,
                                        "domains or DKIM keys published by another node changed; reload refused"
                                    )
                                }
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "published domains not read"),
                }
                std::thread::sleep(POLL);
            }
        });
}
