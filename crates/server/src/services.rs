//! The running server's shared pieces ([`Services`]: config, store,
//! directory, audit log, certificates, outbound queue) and how they follow
//! the accounts file ([`sync_accounts`]) at start-up and on every reload.
//!
//! Uses `startup`, `accounts` and `accounts_audit`; used by the commands'
//! in-server handlers (`compliance`) and by `serve`.

use crate::startup::{Failure, domains};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::TlsManager;
use sealpost_store::Store;
use std::sync::Arc;

/// Makes the store follow the accounts file: audits what changed in the
/// file since it was last audited (see `accounts_audit`), creates store
/// accounts for configured ones (with quotas), and crypto-shreds
/// (restorably) accounts that were removed from the file, as `account
/// delete` would.
///
/// A missing accounts file is taken for an operator's mistake, not for
/// "delete everyone": nothing is deleted then, and an error is logged.
/// Likewise while the file has refused entries (each is logged): a broken
/// entry keeps its account.
pub fn sync_accounts(
    config: &Config,
    store: &Store,
    directory: &Directory,
    audit: &AuditLog,
) -> Result<(), Failure> {
    let mut problems = Vec::new();
    // Before store accounts are created: a first start audits every account.
    // A failure here must not stop the server: it is logged.
    if let Err(f) = crate::accounts_audit::audit_changes(config, audit, Some(store)) {
        tracing::error!(error = %f.message, "accounts file changes not audited");
    }
    let configured = directory.accounts();
    for account in &configured {
        match store.ensure_account(&account.address) {
            Ok(id) => store.set_quota(id, account.quota),
            // E.g. a deleted account put back by hand instead of `account restore`.
            Err(e) => problems.push(format!("account {}: {e}", account.address)),
        }
    }
    let records = store.accounts().map_err(Failure::runtime)?;
    let refused = directory.refused();
    for line in &refused {
        tracing::warn!(entry = %line, "accounts file entry refused");
    }
    if !refused.is_empty() {
        // A refused entry may be an account's: nobody is taken for removed
        // until the file is whole again.
        if problems.is_empty() {
            return Ok(());
        }
        return Err(Failure::runtime(problems.join("; ")));
    }
    if !directory.path().exists() {
        if records
            .iter()
            .any(|r| r.state == sealpost_store::AccountState::Active)
        {
            tracing::error!(file = %directory.path().display(), "accounts file is missing; no account is deleted until it is back");
        }
        return Ok(());
    }
    for record in records {
        if record.state == sealpost_store::AccountState::Active
            && !configured.iter().any(|a| a.address == record.address)
        {
            crate::accounts::delete_in_store(store, audit, &record.address)?;
            // The address goes to the audit log only (redactable there).
            tracing::info!(
                account_id = record.id.0,
                "account removed from the accounts file: mail sealed away until purge"
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(problems.join("; ")))
    }
}

/// The shared pieces every protocol and the admin socket use.
#[derive(Clone)]
pub struct Services {
    /// The config the server started with (protocols, listeners, paths).
    pub config: Arc<Config>,
    /// What runs now: the start-up config with the reloadable parts as of
    /// the last reload (retention worker, register, DPIA; see `running`).
    pub running: crate::running::RunningConfig,
    pub store: Store,
    pub directory: Directory,
    pub audit: AuditLog,
    pub tls: TlsManager,
    /// The outbound queue (absent in offline CLI use).
    pub queue: Option<sealpost_smtp::Queue>,
}

impl Services {
    /// Reloads the config file (its reloadable parts: see `running`),
    /// certificates and accounts; returns a one-line summary or error.
    pub fn reload(&self) -> Result<String, String> {
        let mut problems = Vec::new();
        let mut waiting = Vec::new();
        let queue = self.queue.clone();
        let keys = move |next: &Config| match &queue {
            Some(q) => q
                .reload_dkim(next)
                .map(|_| ())
                .map_err(|e| format!("DKIM keys not loaded: {e}")),
            None => Ok(()),
        };
        let shared = self.store.backend_name() == "postgresql";
        let (published, shared_dkim) = if shared {
            let domains = self.store.published_domains().unwrap_or_else(|e| {
                problems.push(format!("published domains not read: {e}"));
                Vec::new()
            });
            let dkim = crate::dkim_share::published(&self.store).unwrap_or_else(|e| {
                problems.push(e);
                Vec::new()
            });
            (domains, dkim)
        } else {
            (Vec::new(), Vec::new())
        };
        match self.running.reload(keys, &published, &shared_dkim) {
            Ok(r) => {
                if shared {
                    // Keys before the domain: no node serves a new domain
                    // without its keys in between.
                    crate::dkim_share::publish(
                        &self.store,
                        &self.running.current(),
                        &self.running.file_domains(),
                    )
                    .unwrap_or_else(|e| problems.push(e));
                    crate::domain_watch::publish(&self.store, &r.file_added, &r.file_removed)
                        .unwrap_or_else(|e| problems.push(e));
                }
                if !r.applied.is_empty() {
                    tracing::info!(keys = %r.applied.join(", "), "configuration reloaded");
                }
                if !r.restart.is_empty() {
                    tracing::warn!(keys = %r.restart.join(", "), "changed in the config file but only applied at a restart");
                    waiting = r.restart;
                }
            }
            Err(e) => problems.push(format!("config not reloaded: {e}")),
        }
        let running = self.running.current();
        self.directory
            .set_login_cache(std::time::Duration::from_secs(
                running.limits.login_cache_secs,
            ));
        if let Err(e) = self.tls.reload() {
            problems.push(format!("certificate not reloaded: {e}"));
        }
        match self.directory.reload(domains(&running)) {
            Ok(()) => {
                if let Err(f) =
                    sync_accounts(&self.config, &self.store, &self.directory, &self.audit)
                {
                    problems.push(f.message);
                }
            }
            Err(e) => problems.push(format!("accounts not reloaded: {e}")),
        }
        let ok = problems.is_empty();
        let mut refused = self.directory.refused();
        if self.directory.forwarding_kept() {
            tracing::warn!(
                "a [[forward]] table is refused: the previous forwarding table stays in force until the file is fixed"
            );
            refused.push("the previous [[forward]] tables stay in force until it is fixed".into());
        }
        // Audited as not ok while entries are refused; the answer is ok
        // (the valid entries are in force) and names them.
        let mut audited = problems.clone();
        if !refused.is_empty() {
            audited.push(format!(
                "accounts file entries refused: {}",
                refused.join("; ")
            ));
        }
        self.audit.record(Event::ConfigReloaded {
            ok: audited.is_empty(),
            error: (!audited.is_empty()).then(|| audited.join("; ")),
        });
        if ok {
            tracing::info!("reloaded certificates and accounts");
            Ok(format!(
                "reloaded ({} accounts){}{}",
                self.directory.accounts().len(),
                if refused.is_empty() {
                    String::new()
                } else {
                    format!("; accounts file entries refused: {}", refused.join("; "))
                },
                if waiting.is_empty() {
                    String::new()
                } else {
                    format!("; waiting for a restart: {}", waiting.join(", "))
                }
            ))
        } else {
            tracing::warn!(problems = %problems.join("; "), "reload incomplete");
            Err(problems.join("; "))
        }
    }
}
