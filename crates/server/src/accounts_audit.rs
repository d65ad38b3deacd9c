//! Auditing changes of the accounts file, however they were made: by
//! `sealpost account ...` or by hand in an editor.
//!
//! The file is compared with the version last audited, kept in
//! `data_dir/accounts-audited.json` (0600: each account's address, quota,
//! aliases and a SHA-256 of its password hash, never the hash itself),
//! sealed under a key derived from the master key (`FileKey`, purpose
//! `accounts-audited`) so no address is on disk in plaintext; a plaintext
//! file of an earlier version is still read, and sealed at the next write.
//! The comparison runs whenever the server takes the file (start, SIGHUP,
//! the admin socket's reload, the file watcher) and, when no server runs,
//! after each CLI edit, so each change is recorded once, when it is first
//! seen:
//!
//! - an address new to the file: [`Event::AccountCreated`], unless the
//!   account is coming back from deletion (a saved entry waits for it in
//!   `data_dir/deleted/`): `account restore` records
//!   [`Event::AccountRestored`] itself;
//! - a changed password, quota or alias list: [`Event::AccountChanged`]
//!   naming what changed (alias counts only, no addresses: `change` is not
//!   a personal field);
//! - a forward (`[[forward]]`) made, changed or removed:
//!   [`Event::AccountChanged`] under the forwarding address with `change`
//!   `forward targets +A -R` (counts only, as for aliases);
//! - an address gone from the file: deleting its store data records
//!   [`Event::AccountDeleted`] (see `accounts::delete_in_store`); the
//!   server records it here only for an account the store never had.
//!
//! Without a previous version on a data directory whose store has accounts
//! already (an upgrade), the current file is taken as audited without events.

use crate::startup::Failure;
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One account as audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Audited {
    /// Hex SHA-256 of the password hash string.
    password: String,
    /// The hash's scheme (`ARGON2ID`, `SHA512-CRYPT`, ...), so a legacy
    /// hash replaced at login reads as such; absent in earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheme: Option<String>,
    /// Hex SHA-256 of each app password's hash, sorted (never a label:
    /// `change` is not a personal field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    app_passwords: Vec<String>,
    quota: Option<u64>,
    aliases: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Baseline {
    version: u32,
    accounts: BTreeMap<String, Audited>,
    /// Forwarding address -> its outside targets, sorted (absent in
    /// versions from before forwarding).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    forwards: BTreeMap<String, Vec<String>>,
}

fn baseline_path(config: &Config) -> PathBuf {
    config.server.data_dir.join("accounts-audited.json")
}

fn baseline_key(config: &Config) -> Result<sealpost_store::FileKey, Failure> {
    sealpost_store::FileKey::load(&config.server.master_key, "accounts-audited")
        .map_err(Failure::runtime)
}

/// The accounts file as audited values; `None` if it is missing or does
/// not parse (the directory keeps the previous version then, and so do we).
fn current(config: &Config) -> Option<BTreeMap<String, Audited>> {
    let path = &config.server.accounts;
    let text = std::fs::read_to_string(path).ok()?;
    let accounts = sealpost_directory::file::parse_accounts(path, &text, None).ok()?;
    let doc: toml_edit::DocumentMut = text.parse().ok()?;
    let mut passwords: BTreeMap<String, (String, Option<String>, Vec<String>)> = BTreeMap::new();
    if let Some(tables) = doc.get("account").and_then(|a| a.as_array_of_tables()) {
        for t in tables.iter() {
            if let (Some(a), Some(p)) = (
                t.get("address").and_then(|v| v.as_str()),
                t.get("password").and_then(|v| v.as_str()),
            ) {
                let scheme = sealpost_directory::Scheme::of(p).map(|s| s.name().to_string());
                let mut apps: Vec<String> = t
                    .get("app_passwords")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_inline_table()?.get("password")?.as_str())
                    .map(|h| hex::encode(Sha256::digest(h.as_bytes())))
                    .collect();
                apps.sort();
                passwords.insert(
                    a.trim().to_ascii_lowercase(),
                    (hex::encode(Sha256::digest(p.as_bytes())), scheme, apps),
                );
            }
        }
    }
    Some(
        accounts
            .into_iter()
            .map(|a| {
                let mut aliases = a.aliases;
                aliases.sort();
                let (password, scheme, app_passwords) =
                    passwords.get(&a.address).cloned().unwrap_or_default();
                (
                    a.address,
                    Audited {
                        password,
                        scheme,
                        app_passwords,
                        quota: a.quota,
                        aliases,
                    },
                )
            })
            .collect(),
    )
}

/// What changed between two versions of one account, in words.
fn changes(old: &Audited, new: &Audited) -> Option<String> {
    let mut what = Vec::new();
    if old.password != new.password {
        match (&old.scheme, &new.scheme) {
            (Some(from), Some(to)) if from != to => {
                what.push(format!("password ({from} -> {to})"));
            }
            _ => what.push("password".to_string()),
        }
    }
    if old.app_passwords != new.app_passwords {
        let added = new
            .app_passwords
            .iter()
            .filter(|a| !old.app_passwords.contains(a))
            .count();
        let removed = old
            .app_passwords
            .iter()
            .filter(|a| !new.app_passwords.contains(a))
            .count();
        what.push(format!("app passwords +{added} -{removed}"));
    }
    if old.quota != new.quota {
        let q = |q: Option<u64>| q.map_or("none".to_string(), |q| q.to_string());
        what.push(format!("quota {} -> {}", q(old.quota), q(new.quota)));
    }
    if old.aliases != new.aliases {
        let added = new
            .aliases
            .iter()
            .filter(|a| !old.aliases.contains(a))
            .count();
        let removed = old
            .aliases
            .iter()
            .filter(|a| !new.aliases.contains(a))
            .count();
        what.push(format!("aliases +{added} -{removed}"));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// Compares the accounts file with the version last audited, records what
/// changed, and makes the file the audited version. `store` (in the server)
/// tells removals the store never knew from the rest.
pub fn audit_changes(
    config: &Config,
    audit: &AuditLog,
    store: Option<&Store>,
) -> Result<(), Failure> {
    // One comparison at a time (watcher, SIGHUP and admin reloads race).
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    // Nothing is recorded with the audit log off; the baseline stays where
    // it was, so turning the log back on records what changed meanwhile.
    // (Before a first start there is no master key to seal it with either.)
    if !config.audit.enabled {
        return Ok(());
    }
    let (Some(now), Some(forwards_now)) = (current(config), current_forwards(config)) else {
        return Ok(());
    };
    let path = baseline_path(config);
    let before = match std::fs::read(&path) {
        Ok(bytes) => {
            // Sealed, or plaintext JSON from an earlier version.
            let plain = match bytes.first() {
                Some(b'{') => bytes,
                _ => baseline_key(config)?
                    .open(&bytes)
                    .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?,
            };
            let baseline = serde_json::from_slice::<Baseline>(&plain)
                .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
            (baseline.accounts, baseline.forwards)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let upgrade = match store {
                Some(store) => !store.accounts().map_err(Failure::runtime)?.is_empty(),
                None => config.server.data_dir.join("db").exists(),
            };
            if upgrade {
                tracing::info!(file = %path.display(), "no audited version of the accounts file yet: taking the current one");
                return write_baseline(config, now, forwards_now);
            }
            (BTreeMap::new(), BTreeMap::new())
        }
        Err(e) => return Err(Failure::runtime(format!("{}: {e}", path.display()))),
    };
    let (before, forwards_before) = before;
    let mut events = forward_events(&forwards_before, &forwards_now);
    let saved = crate::accounts::saved_entries(config)?;
    for (address, new) in &now {
        match before.get(address) {
            None if saved.exists(address) => {}
            None => events.push(Event::AccountCreated {
                account: address.clone(),
            }),
            Some(old) => {
                if let Some(change) = changes(old, new) {
                    events.push(Event::AccountChanged {
                        account: address.clone(),
                        change,
                    });
                }
            }
        }
    }
    if let Some(store) = store {
        let known = store.accounts().map_err(Failure::runtime)?;
        for address in before.keys().filter(|a| !now.contains_key(*a)) {
            if !known.iter().any(|k| &k.address == address) {
                events.push(Event::AccountDeleted {
                    account: address.clone(),
                });
            }
        }
    }
    if !events.is_empty() {
        for e in events {
            audit.record(e);
        }
        // On disk before the file counts as audited: a crash in between
        // records a change twice rather than never.
        audit.flush();
    }
    write_baseline(config, now, forwards_now)
}

/// The forwards of the accounts file (targets sorted); `None` if it does
/// not parse.
fn current_forwards(config: &Config) -> Option<BTreeMap<String, Vec<String>>> {
    let forwards = sealpost_directory::list_forwards(&config.server.accounts).ok()?;
    Some(
        forwards
            .into_iter()
            .map(|mut f| {
                f.to.sort();
                (f.address, f.to)
            })
            .collect(),
    )
}

/// One `account_changed` per forwarding address whose targets changed.
fn forward_events(
    before: &BTreeMap<String, Vec<String>>,
    now: &BTreeMap<String, Vec<String>>,
) -> Vec<Event> {
    let none = Vec::new();
    before
        .keys()
        .chain(now.keys().filter(|a| !before.contains_key(*a)))
        .filter_map(|address| {
            let (old, new) = (
                before.get(address).unwrap_or(&none),
                now.get(address).unwrap_or(&none),
            );
            let added = new.iter().filter(|t| !old.contains(t)).count();
            let removed = old.iter().filter(|t| !new.contains(t)).count();
            (added + removed > 0).then(|| Event::AccountChanged {
                account: address.clone(),
                change: format!("forward targets +{added} -{removed}"),
            })
        })
        .collect()
}

fn write_baseline(
    config: &Config,
    accounts: BTreeMap<String, Audited>,
    forwards: BTreeMap<String, Vec<String>>,
) -> Result<(), Failure> {
    let path = baseline_path(config);
    let plain = serde_json::to_vec(&Baseline {
        version: 1,
        accounts,
        forwards,
    })
    .map_err(Failure::runtime)?;
    let bytes = baseline_key(config)?.seal(&plain);
    // Through the shared helper, which also fsyncs the folder after the
    // rename: an acknowledged accounts-audit state survives a power cut.
    sealpost_durable::create_dir(&config.server.data_dir)?;
    Ok(sealpost_durable::write(&path, &bytes)?)
}

/// After a CLI edit when no server runs: audits the change here.
pub fn audit_offline(config: &Config) -> Result<(), Failure> {
    let audit = crate::startup::open_audit(config)?;
    audit_changes(config, &audit, None)?;
    audit.close().map_err(Failure::runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(password: &str, quota: Option<u64>, aliases: &[&str]) -> Audited {
        Audited {
            password: password.into(),
            scheme: None,
            app_passwords: Vec::new(),
            quota,
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn changes_name_what_changed_without_addresses() {
        let old = a("p1", None, &["x@example.org"]);
        assert_eq!(changes(&old, &old), None);
        assert_eq!(
            changes(&old, &a("p2", None, &["x@example.org"])).as_deref(),
            Some("password")
        );
        let c = changes(
            &old,
            &a("p1", Some(10), &["y@example.org", "z@example.org"]),
        )
        .unwrap();
        assert_eq!(c, "quota none -> 10, aliases +2 -1");
        assert!(!c.contains('@'));
    }

    #[test]
    fn forward_changes_are_counted_without_addresses() {
        let map = |entries: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            entries
                .iter()
                .map(|(a, t)| (a.to_string(), t.iter().map(|s| s.to_string()).collect()))
                .collect()
        };
        let before = map(&[
            ("a@example.org", &["x@else.example"]),
            ("gone@example.org", &["y@else.example"]),
        ]);
        let now = map(&[
            ("a@example.org", &["x@else.example", "z@else.example"]),
            ("new@example.org", &["y@else.example"]),
        ]);
        let changes: Vec<(String, String)> = forward_events(&before, &now)
            .into_iter()
            .map(|e| match e {
                Event::AccountChanged { account, change } => (account, change),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            changes,
            [
                (
                    "a@example.org".to_string(),
                    "forward targets +1 -0".to_string()
                ),
                (
                    "gone@example.org".to_string(),
                    "forward targets +0 -1".to_string()
                ),
                (
                    "new@example.org".to_string(),
                    "forward targets +1 -0".to_string()
                ),
            ]
        );
        assert!(forward_events(&now, &now).is_empty());
    }

    #[test]
    fn a_replaced_legacy_hash_names_both_schemes() {
        let mut old = a("p1", None, &[]);
        old.scheme = Some("SHA512-CRYPT".into());
        let mut new = a("p2", None, &[]);
        new.scheme = Some("ARGON2ID".into());
        assert_eq!(
            changes(&old, &new).as_deref(),
            Some("password (SHA512-CRYPT -> ARGON2ID)")
        );
        // Same scheme, or an audited version from before schemes: plain.
        old.scheme = Some("ARGON2ID".into());
        assert_eq!(changes(&old, &new).as_deref(), Some("password"));
        old.scheme = None;
        assert_eq!(changes(&old, &new).as_deref(), Some("password"));
    }
}
