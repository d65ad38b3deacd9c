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
//! Only the domain name travels. A domain's DKIM signing keys
//! (`[[smtp.dkim]]` and their key files) stay with the config file and are
//! distributed as before: a node that has not got them accepts and
//! delivers the domain's mail but does not sign what it submits for it.
//!
//! Uses `services` and `running`.

use crate::services::Services;
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

/// Whether the running domains are the file's and the published ones.
fn in_step(services: &Services, published: &[String]) -> bool {
    let running = crate::running::domain_names(&services.running.current());
    let mut want = services.running.file_domains();
    want.extend(published.iter().cloned());
    want.sort();
    want.dedup();
    running == want
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
            // The published set a reload was refused for: not tried again
            // (nor logged) every second until it changes.
            let mut refused: Option<Vec<String>> = None;
            loop {
                if !published_own {
                    let own = services.running.file_domains();
                    match publish(&services.store, &own, &[]) {
                        Ok(()) => published_own = true,
                        Err(e) => tracing::warn!(error = %e, "retrying"),
                    }
                }
                match services.store.published_domains() {
                    Ok(published)
                        if !in_step(&services, &published)
                            && refused.as_ref() != Some(&published) =>
                    {
                        match services.reload() {
                            Ok(summary) => {
                                refused = None;
                                tracing::info!(
                                    %summary,
                                    "domains published by another node changed: reloaded"
                                )
                            }
                            Err(e) => {
                                refused = Some(published);
                                tracing::warn!(
                                    error = %e,
                                    "domains published by another node changed; reload refused"
                                )
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
