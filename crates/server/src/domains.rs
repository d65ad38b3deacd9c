//! `sealpost domain add|remove|list` and `sealpost dkim rotate|retire`:
//! hosted domains and their DKIM keys, edited in the config file in place
//! (`config_edit`) and taken by a running server at once (`cli_edit`: the
//! server reloads through the admin socket, and a refusal undoes the edit).
//!
//! A new domain gets two keys, Ed25519 (RFC 8463) and RSA-2048 (RFC 6376),
//! each under its own selector (`ed` or `rsa` and the date, a letter added
//! when that selector exists), written 0600 beside `server.master_key` as
//! `dkim-DOMAIN-SELECTOR.pem`. Submission signs with both.
//!
//! Rotation publishes before it signs: a receiver that sees a signature
//! whose selector is not in DNS yet fails it (RFC 6376 6.1.2), so `dkim
//! rotate` makes the new pair `pending = true` (published by `sealpost
//! dns`, never signing) and prints its TXT records; `dkim activate` looks
//! them up (through `[smtp.dns]`) and only when both are there as they
//! should be switches signing to them (`--force` skips the check). The
//! old entries then stay with `sign = false`, so their selectors stay
//! published for mail signed before, until `dkim retire` removes one with
//! its key file (a pending one too: that abandons the rotation); retire
//! waits `DKIM_RETIRE_GRACE_DAYS` (7) after the key stopped signing
//! (`stopped_signing`, written by activate) unless `--force`.
//!
//! Uses `startup`, `admin`, `cli_edit`, `config_edit` and `dns`.

use crate::cli_edit::{Outcome, Undo, reload_or_undo};
use crate::config_edit::{ConfigDoc, DkimEntry};
use crate::startup::{Failure, load_config};
use clap::Subcommand;
use sealpost_config::{Config, DkimAlgorithm, SmtpConfig};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Host a domain: a [[domain]] in the config and two DKIM keys
    /// (Ed25519 and RSA-2048); a running server takes it at once.
    Add { domain: String },
    /// Stop hosting a domain (refused while accounts of it exist); its DKIM
    /// entries and key files go too.
    Remove { domain: String },
    /// The hosted domains, their accounts and DKIM selectors.
    List,
}

#[derive(Subcommand)]
pub enum DkimCommand {
    /// New Ed25519 and RSA keys, pending: their DNS records are printed;
    /// the current keys go on signing until `dkim activate`.
    Rotate { domain: String },
    /// The pending keys sign from now on, once their records are found in
    /// DNS; the old selectors stay published until retired.
    Activate {
        domain: String,
        /// Switch without looking the records up.
        #[arg(long)]
        force: bool,
    },
    /// Remove a selector that no longer signs, and its key file.
    Retire {
        domain: String,
        selector: String,
        /// Retire within the grace period after it stopped signing.
        #[arg(long)]
        force: bool,
    },
}

/// A config file being edited: its validated config and its document.
struct Edit {
    /// Held until the edit is done (one CLI edit of the file at a time).
    _lock: crate::config_lock::ConfigLock,
    config: Config,
    doc: ConfigDoc,
    /// Key files made by this edit (removed if it does not go through).
    created: Vec<PathBuf>,
}

impl Edit {
    fn open(path: &Path) -> Result<Edit, Failure> {
        // Locked before the file is read: a concurrent edit is seen whole.
        let lock = crate::config_lock::ConfigLock::acquire(path)?;
        let config = load_config(path)?;
        let text = std::fs::read_to_string(&config.path)
            .map_err(|e| Failure::runtime(format!("{}: {e}", config.path.display())))?;
        let doc = ConfigDoc::parse(&text)
            .map_err(|e| Failure::config(format!("{}: {e}", config.path.display())))?;
        Ok(Edit {
            _lock: lock,
            config,
            doc,
            created: Vec::new(),
        })
    }

    fn hosted(&self, domain: &str) -> bool {
        self.config.is_local_domain(domain)
    }

    /// Generates a signing Ed25519 and RSA key for `domain` and adds their
    /// entries; returns them.
    fn new_keys(&mut self, domain: &str, pending: bool) -> Result<Vec<DkimEntry>, Failure> {
        let dir = self.doc.key_dir();
        let today = chrono::Utc::now().format("%Y%m%d").to_string();
        let mut added = Vec::new();
        for (prefix, algorithm, name) in [
            ("ed", DkimAlgorithm::Ed25519Sha256, "ed25519-sha256"),
            ("rsa", DkimAlgorithm::RsaSha256, "rsa-sha256"),
        ] {
            let selector = self.free_selector(domain, &format!("{prefix}{today}"));
            let rel = dir.join(format!("dkim-{domain}-{selector}.pem"));
            let file = SmtpConfig::resolve_path(&self.config.path, &rel);
            let pem =
                sealpost_smtp::dkim::generate_key(algorithm).map_err(|e| Failure::runtime(e.0))?;
            if let Some(parent) = file.parent() {
                sealpost_durable::create_dir(parent)?;
            }
            sealpost_durable::write_new(&file, pem.as_bytes())
                .map_err(|e| Failure::runtime(format!("{}: {e}", file.display())))?;
            self.created.push(file);
            let e = DkimEntry {
                domain: domain.to_string(),
                selector,
                algorithm: name.to_string(),
                key: rel.to_string_lossy().into_owned(),
                sign: !pending,
                pending,
                stopped_signing: None,
            };
            self.doc.add_dkim(&e);
            added.push(e);
        }
        Ok(added)
    }

    /// `base`, or `base` with a letter, not yet a selector of `domain`.
    fn free_selector(&self, domain: &str, base: &str) -> String {
        let taken: Vec<String> = self
            .doc
            .dkim()
            .into_iter()
            .filter(|e| e.domain == domain)
            .map(|e| e.selector)
            .collect();
        std::iter::once(base.to_string())
            .chain(('b'..='z').map(|c| format!("{base}{c}")))
            .find(|s| !taken.contains(s))
            .unwrap_or_else(|| format!("{base}-{}", chrono::Utc::now().timestamp()))
    }

    /// Validates and writes the edited file, then has a running server take
    /// it (undone if it refuses). On any failure the key files made go.
    fn commit(self) -> Result<Outcome, Failure> {
        let text = self.doc.text();
        let checked = Config::parse(&self.config.path, &text);
        let written = checked
            .map_err(|e| Failure::config(e.to_string()))
            .and_then(|_| {
                let undo = Undo::take(&self.config.path)?;
                sealpost_durable::write_keeping_mode(&self.config.path, text.as_bytes())?;
                Ok(undo)
            });
        let undo = match written {
            Ok(u) => u,
            Err(f) => {
                for f in &self.created {
                    let _ = std::fs::remove_file(f);
                }
                return Err(f);
            }
        };
        reload_or_undo(&self.config, &[undo], &self.created)
    }
}

/// What a running server said, as a line for the operator.
fn said(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Taken(m) => format!("the running server took it: {m}"),
        Outcome::NoServer => "no server is running: it applies at the next start".into(),
    }
}

/// A domain name from the command line, checked, in lower case.
fn domain_arg(domain: &str) -> Result<String, Failure> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if !sealpost_config::is_domain_name(&d) || (!d.contains('.') && d != "localhost") {
        return Err(Failure::config(format!("`{domain}` is not a domain name")));
    }
    Ok(d)
}

/// The accounts of the accounts file with an address or alias in `domain`.
fn accounts_in(config: &Config, domain: &str) -> Result<Vec<String>, Failure> {
    let accounts =
        sealpost_directory::list_accounts(&config.server.accounts).map_err(Failure::runtime)?;
    let suffix = format!("@{domain}");
    Ok(accounts
        .into_iter()
        .filter(|a| a.address.ends_with(&suffix) || a.aliases.iter().any(|x| x.ends_with(&suffix)))
        .map(|a| a.address)
        .collect())
}

pub fn run_domain(path: &Path, command: DomainCommand) -> Result<(), Failure> {
    match command {
        DomainCommand::Add { domain } => {
            let domain = domain_arg(&domain)?;
            let mut edit = Edit::open(path)?;
            if edit.hosted(&domain) {
                return Err(Failure::runtime(format!("{domain} is hosted already")));
            }
            edit.doc.add_domain(&domain);
            let keys = edit.new_keys(&domain, false)?;
            let outcome = edit.commit()?;
            println!("added {domain}");
            for k in keys {
                println!("dkim {} ({}): {}", k.selector, k.algorithm, k.key);
            }
            println!("{}", said(&outcome));
            println!("next: publish its DNS records (sealpost dns {domain})");
        }
        DomainCommand::Remove { domain } => {
            let domain = domain_arg(&domain)?;
            let mut edit = Edit::open(path)?;
            if !edit.hosted(&domain) {
                return Err(Failure::runtime(format!("{domain} is not hosted here")));
            }
            let accounts = accounts_in(&edit.config, &domain)?;
            if !accounts.is_empty() {
                return Err(Failure::runtime(format!(
                    "{domain} still has {} account(s) ({}): delete them first (sealpost account delete ADDRESS)",
                    accounts.len(),
                    accounts.join(", ")
                )));
            }
            let suffix = format!("@{domain}");
            let forwards: Vec<String> =
                sealpost_directory::list_forwards(&edit.config.server.accounts)
                    .map_err(Failure::runtime)?
                    .into_iter()
                    .map(|f| f.address)
                    .filter(|a| a.ends_with(&suffix))
                    .collect();
            if !forwards.is_empty() {
                return Err(Failure::runtime(format!(
                    "{domain} still forwards {}: remove them first (sealpost alias remove ADDRESS)",
                    forwards.join(", ")
                )));
            }
            edit.doc.remove_domain(&domain);
            let removed = edit.doc.remove_dkim(&domain, None);
            let key_files = key_files(&edit.config, &removed);
            let outcome = edit.commit()?;
            remove_files(&key_files);
            println!("removed {domain} ({} DKIM key(s) deleted)", removed.len());
            println!("{}", said(&outcome));
        }
        DomainCommand::List => {
            let edit = Edit::open(path)?;
            let dkim = edit.doc.dkim();
            for d in &edit.config.domains {
                let accounts = accounts_in(&edit.config, &d.name)?.len();
                let selectors: Vec<String> = dkim
                    .iter()
                    .filter(|e| e.domain == d.name)
                    .map(|e| {
                        let state = match (e.pending, e.sign) {
                            (true, _) => "pending",
                            (false, true) => "signs",
                            (false, false) => "published",
                        };
                        format!("{}({},{state})", e.selector, e.algorithm)
                    })
                    .collect();
                let selectors = if selectors.is_empty() {
                    "-".to_string()
                } else {
                    selectors.join(" ")
                };
                println!("{}\taccounts={accounts}\tdkim={selectors}", d.name);
            }
        }
    }
    Ok(())
}

pub fn run_dkim(path: &Path, command: DkimCommand) -> Result<(), Failure> {
    match command {
        DkimCommand::Rotate { domain } => rotate(path, &domain)?,
        DkimCommand::Activate { domain, force } => activate(path, &domain, force)?,
        DkimCommand::Retire {
            domain,
            selector,
            force,
        } => {
            let domain = domain_arg(&domain)?;
            let mut edit = Edit::open(path)?;
            let Some(e) = edit
                .doc
                .dkim()
                .into_iter()
                .find(|e| e.domain == domain && e.selector == selector)
            else {
                return Err(Failure::runtime(format!(
                    "{domain} has no DKIM selector {selector}"
                )));
            };
            if e.signs() {
                return Err(Failure::runtime(format!(
                    "selector {selector} of {domain} still signs: rotate first (sealpost dkim rotate {domain})"
                )));
            }
            if !force && let Some(until) = in_grace(&e, chrono::Utc::now()) {
                return Err(Failure::runtime(format!(
                    "selector {selector} of {domain} stopped signing at {}: mail signed just before is still being verified; retire it after {until}, or --force",
                    e.stopped_signing.as_deref().unwrap_or_default()
                )));
            }
            let removed = edit.doc.remove_dkim(&domain, Some(&selector));
            let key_files = key_files(&edit.config, &removed);
            let outcome = edit.commit()?;
            remove_files(&key_files);
            println!(
                "retired {selector} of {domain}; remove {selector}._domainkey.{domain} from DNS"
            );
            println!("{}", said(&outcome));
        }
    }
    Ok(())
}

/// `dkim rotate`: a pending pair and the records to publish.
fn rotate(path: &Path, domain: &str) -> Result<(), Failure> {
    let domain = domain_arg(domain)?;
    let mut edit = Edit::open(path)?;
    if !edit.hosted(&domain) {
        return Err(Failure::runtime(format!("{domain} is not hosted here")));
    }
    let pending: Vec<String> = pending_selectors(&edit, &domain);
    if !pending.is_empty() {
        return Err(Failure::runtime(format!(
            "a rotation of {domain} is pending ({}): sealpost dkim activate {domain}, or retire those selectors",
            pending.join(", ")
        )));
    }
    let keys = edit.new_keys(&domain, true)?;
    let outcome = edit.commit()?;
    let selectors: Vec<String> = keys.iter().map(|k| k.selector.clone()).collect();
    for k in &keys {
        println!("pending: {} ({}): {}", k.selector, k.algorithm, k.key);
    }
    println!("{}", said(&outcome));
    println!("; publish these records, then: sealpost dkim activate {domain}");
    let config = load_config(path)?;
    for r in crate::dns::dkim_records(&config, &domain, &selectors)? {
        println!("{}", r.line());
    }
    Ok(())
}

/// `dkim activate`: the pending pair signs once its records are in DNS.
fn activate(path: &Path, domain: &str, force: bool) -> Result<(), Failure> {
    let domain = domain_arg(domain)?;
    let mut edit = Edit::open(path)?;
    let pending = pending_selectors(&edit, &domain);
    if pending.is_empty() {
        return Err(Failure::runtime(format!(
            "{domain} has no pending DKIM key (sealpost dkim rotate {domain})"
        )));
    }
    if !force {
        let records = crate::dns::dkim_records(&edit.config, &domain, &pending)?;
        let missing = crate::dns::unpublished(&edit.config, &records)?;
        if !missing.is_empty() {
            return Err(Failure::runtime(format!(
                "not activated: {}; publish them (sealpost dns {domain}) and try again, or --force",
                missing.join("; ")
            )));
        }
    }
    let (now, stopped) = edit.doc.activate(&domain, chrono::Utc::now());
    let outcome = edit.commit()?;
    for s in now {
        println!("signing now: {s}");
    }
    for s in stopped {
        println!(
            "published only: {s} (sealpost dkim retire {domain} {s} once mail signed with it is old)"
        );
    }
    println!("{}", said(&outcome));
    Ok(())
}

/// The end of the grace period of a key that stopped signing, if `now`
/// is still inside it.
fn in_grace(e: &DkimEntry, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let stopped = chrono::DateTime::parse_from_rfc3339(e.stopped_signing.as_deref()?).ok()?;
    let until = stopped + chrono::Duration::days(sealpost_config::DKIM_RETIRE_GRACE_DAYS);
    (now < until).then(|| until.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn pending_selectors(edit: &Edit, domain: &str) -> Vec<String> {
    edit.doc
        .dkim()
        .into_iter()
        .filter(|e| e.domain == domain && e.pending)
        .map(|e| e.selector)
        .collect()
}

fn key_files(config: &Config, entries: &[DkimEntry]) -> Vec<PathBuf> {
    entries
        .iter()
        .map(|e| SmtpConfig::resolve_path(&config.path, Path::new(&e.key)))
        .collect()
}

/// Removes key files no entry names any more (after the server let go).
fn remove_files(files: &[PathBuf]) {
    for f in files {
        if let Err(e) = std::fs::remove_file(f)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("sealpost: warning: {}: {e}", f.display());
        }
    }
}
