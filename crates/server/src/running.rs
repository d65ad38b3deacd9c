//! The configuration the server actually runs with, and what a reload
//! (SIGHUP, the admin socket's `reload`) can change without rebinding a
//! socket or reopening the store.
//!
//! Applied at reload: `[retention]` (the worker reads it at every pass),
//! `[compliance]` (the register and the DPIA), `[[domain]]` (the
//! directory; over a shared store the file's domains plus those other
//! nodes published, see `domain_watch`), `[[smtp.dkim]]` (the signing keys, and over a
//! shared store those other nodes published for the domains the file has
//! no key for, see `dkim_share`; loaded before anything
//! is applied: a key that does not load refuses the whole reload, so
//! `sealpost domain add` can roll its edit back), `limits.login_cache_secs`,
//! and the certificate files
//! (re-read from the same paths). Everything else (listeners, paths, keys,
//! protocol limits, `[audit]`, `[smtp]`, `[log]`) takes a restart: a reload says
//! which keys differ and waits for one. `sealpost compliance report` asks the
//! running server for this configuration and names every difference from
//! the file, with when it was loaded.

use sealpost_config::Config;
use std::sync::{Arc, RwLock};

/// The running configuration, shared by everything that can follow a reload.
#[derive(Clone)]
pub struct RunningConfig(Arc<RwLock<Running>>);

struct Running {
    config: Arc<Config>,
    /// When it was loaded (Unix seconds).
    loaded_at: i64,
    /// The domains of the config file as last read (the running config
    /// adds the domains other nodes published: `domain_watch`).
    file_domains: Vec<String>,
}

/// What a reload did.
pub struct Reloaded {
    /// Keys applied (their values changed).
    pub applied: Vec<String>,
    /// Keys that differ but wait for a restart.
    pub restart: Vec<String>,
    /// Domains new to the config file since it was last read.
    pub file_added: Vec<String>,
    /// Domains gone from the config file since it was last read.
    pub file_removed: Vec<String>,
}

/// A config's domain names, sorted.
pub fn domain_names(config: &Config) -> Vec<String> {
    let mut n: Vec<String> = config.domains.iter().map(|d| d.name.clone()).collect();
    n.sort();
    n.dedup();
    n
}

impl RunningConfig {
    /// The configuration the server started with.
    pub fn new(config: Arc<Config>) -> RunningConfig {
        RunningConfig(Arc::new(RwLock::new(Running {
            file_domains: domain_names(&config),
            config,
            loaded_at: chrono::Utc::now().timestamp(),
        })))
    }

    /// What runs now.
    pub fn current(&self) -> Arc<Config> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .config
            .clone()
    }

    /// When what runs now was loaded (Unix seconds).
    pub fn loaded_at(&self) -> i64 {
        self.0.read().unwrap_or_else(|e| e.into_inner()).loaded_at
    }

    /// The domains of the config file as last read.
    pub fn file_domains(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .file_domains
            .clone()
    }

    /// Reads the config file again and applies what can change live.
    /// `prepare` sees the configuration about to run first (to load what it
    /// names, such as DKIM keys); when it fails, nothing is applied.
    /// `published` are the domains other nodes publish (empty on one
    /// node): served too, except those this reload finds gone from the
    /// file (their withdrawal is the caller's next step). `shared_dkim`
    /// are the DKIM keys other nodes publish: signed with for the domains
    /// the file has no key for (see `dkim_share`).
    pub fn reload(
        &self,
        prepare: impl FnOnce(&Config) -> Result<(), String>,
        published: &[String],
        shared_dkim: &[sealpost_config::DkimKeyConfig],
    ) -> Result<Reloaded, String> {
        let path = self.current().path.clone();
        let mut file = Config::load(&path).map_err(|e| e.to_string())?;
        let mut running = self.0.write().unwrap_or_else(|e| e.into_inner());
        let names = domain_names(&file);
        let file_added: Vec<String> = names
            .iter()
            .filter(|n| !running.file_domains.contains(n))
            .cloned()
            .collect();
        let file_removed: Vec<String> = running
            .file_domains
            .iter()
            .filter(|n| !names.contains(n))
            .cloned()
            .collect();
        for name in published {
            if !names.contains(name) && !file_removed.contains(name) {
                file.domains
                    .push(sealpost_config::DomainConfig { name: name.clone() });
            }
        }
        crate::dkim_share::merge_into(&mut file, shared_dkim);
        let (merged, applied, restart) = merge(&running.config, &file);
        prepare(&merged)?;
        running.config = Arc::new(merged);
        running.loaded_at = chrono::Utc::now().timestamp();
        running.file_domains = names;
        Ok(Reloaded {
            applied,
            restart,
            file_added,
            file_removed,
        })
    }
}

/// `running` with the live-reloadable parts of `file`; the keys applied,
/// and the keys that differ but need a restart.
fn merge(running: &Config, file: &Config) -> (Config, Vec<String>, Vec<String>) {
    let mut merged = running.clone();
    merged.retention = file.retention.clone();
    merged.compliance = file.compliance.clone();
    merged.domains = file.domains.clone();
    merged.smtp.dkim = file.smtp.dkim.clone();
    merged.limits.login_cache_secs = file.limits.login_cache_secs;
    let applied = differences(running, &merged)
        .into_iter()
        .map(|d| d.key)
        .collect();
    let restart = differences(&merged, file)
        .into_iter()
        .map(|d| d.key)
        .collect();
    (merged, applied, restart)
}

/// One setting that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The key (`retention.trash_days`, or a whole section `[imap]`).
    pub key: String,
    /// Its value in the running configuration.
    pub running: String,
    /// Its value in the file.
    pub file: String,
    /// Whether a reload applies it (else a restart).
    pub reloadable: bool,
}

/// Every setting whose value differs between two configurations.
pub fn differences(running: &Config, file: &Config) -> Vec<Difference> {
    let a = settings(running);
    let b = settings(file);
    a.into_iter()
        .zip(b)
        .filter(|(x, y)| x.1 != y.1)
        .map(|(x, y)| Difference {
            reloadable: x.2,
            key: x.0,
            running: x.1,
            file: y.1,
        })
        .collect()
}

/// The settings as (key, value, reloadable), in a fixed order: one per key
/// of the sections a reload applies, one per section for the rest.
fn settings(c: &Config) -> Vec<(String, String, bool)> {
    let r = &c.retention;
    let mut out: Vec<(String, String, bool)> = vec![
        (
            "retention.deleted_account_grace_days",
            r.deleted_account_grace_days.to_string(),
        ),
        ("retention.audit_log_months", r.audit_log_months.to_string()),
        (
            "retention.anonymize_after_months",
            r.anonymize_after_months.to_string(),
        ),
        (
            "retention.keep_audit_personal_data_after_purge",
            r.keep_audit_personal_data_after_purge.to_string(),
        ),
        ("retention.trash_days", r.trash_days.to_string()),
        ("retention.junk_days", r.junk_days.to_string()),
        ("retention.interval_secs", r.interval_secs.to_string()),
        (
            "limits.login_cache_secs",
            c.limits.login_cache_secs.to_string(),
        ),
        (
            "domain",
            c.domains
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v, true))
    .collect();
    let p = &c.compliance;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
    let list = |v: &Option<Vec<String>>| match v {
        None => "(not set)".to_string(),
        Some(l) if l.is_empty() => "(none)".to_string(),
        Some(l) => l.join("; "),
    };
    out.push((
        "smtp.dkim".to_string(),
        c.smtp
            .dkim
            .iter()
            .map(|k| {
                format!(
                    "{}/{} ({}{})",
                    k.domain,
                    k.selector,
                    k.key.display(),
                    match (k.pending, k.sign) {
                        (true, _) => ", pending",
                        (false, true) => "",
                        (false, false) => ", published only",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        true,
    ));
    for (k, v) in [
        ("compliance.controller", opt(&p.controller)),
        ("compliance.controller_address", opt(&p.controller_address)),
        ("compliance.controller_contact", opt(&p.controller_contact)),
        ("compliance.representative", opt(&p.representative)),
        ("compliance.dpo_contact", opt(&p.dpo_contact)),
        (
            "compliance.data_subject_requests",
            opt(&p.data_subject_requests),
        ),
        (
            "compliance.purpose",
            p.purpose
                .iter()
                .map(|x| format!("{} ({})", x.name, x.legal_basis))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("compliance.recipients", list(&p.recipients)),
        (
            "compliance.transfers_outside_eu",
            list(&p.transfers_outside_eu),
        ),
        ("compliance.backups", opt(&p.backups)),
    ] {
        out.push((k.to_string(), v, true));
    }
    let mut limits = c.limits.clone();
    limits.login_cache_secs = 0;
    for (k, v) in [
        ("[server]", format!("{:?}", c.server)),
        ("[tls]", format!("{:?}", c.tls)),
        ("[listen]", format!("{:?}", c.listen)),
        (
            "[limits] (other than login_cache_secs)",
            format!("{limits:?}"),
        ),
        ("[imap]", format!("{:?}", c.imap)),
        ("[pop3]", format!("{:?}", c.pop3)),
        ("[smtp] (other than dkim)", {
            let mut smtp = c.smtp.clone();
            smtp.dkim.clear();
            format!("{smtp:?}")
        }),
        ("[audit]", format!("{:?}", c.audit)),
        ("[log]", format!("{:?}", c.log)),
    ] {
        out.push((k.to_string(), v, false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, text: &str) -> Config {
        let p = dir.join("sealpost.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(&p).unwrap()
    }

    #[test]
    fn reload_applies_retention_and_compliance_and_names_what_waits_for_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let old = config(d.path(), "[retention]\ntrash_days = 30\n");
        let running = RunningConfig::new(Arc::new(old));
        config(
            d.path(),
            "[retention]\ntrash_days = 7\n[compliance]\ncontroller = \"X\"\n[imap]\nmax_line = 1000\n",
        );
        let r = running.reload(|_| Ok(()), &[], &[]).unwrap();
        assert_eq!(
            r.applied,
            vec!["retention.trash_days", "compliance.controller"]
        );
        assert_eq!(r.restart, vec!["[imap]"]);
        let now = running.current();
        assert_eq!(now.retention.trash_days, 7);
        assert_eq!(now.imap.max_line, 65536, "waits for a restart");
        let file = Config::load(&now.path).unwrap();
        let diff = differences(&now, &file);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].key, "[imap]");
        assert!(!diff[0].reloadable);
        // A broken file changes nothing.
        std::fs::write(&now.path, "[retention]\ntrash_days = \"x\"\n").unwrap();
        assert!(running.reload(|_| Ok(()), &[], &[]).is_err());
        assert_eq!(running.current().retention.trash_days, 7);
    }
}
