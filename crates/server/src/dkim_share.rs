//! DKIM signing keys across the nodes of a shared store (PostgreSQL).
//!
//! A domain's `[[smtp.dkim]]` entries and key files live with the config
//! file of the node where `sealpost domain add` or `dkim rotate` ran. Over
//! a shared store that node also publishes them, private keys included,
//! through `sealpost_store::Store::publish_domain_keys` (sealed under a
//! key derived from the master key, so the database never holds a private
//! key in plaintext): at start and after every reload, for each domain of
//! its file that has at least one entry, and only when what it would
//! publish differs from what is published. Every other node signs with the
//! published keys of the domains its own file has no entry for: they join
//! its running `smtp.dkim` as entries holding the key in memory
//! (`DkimKeyConfig::shared_pem`, written to no file), at the reload that
//! `domain_watch` starts when they change, within a second. So a rotation,
//! activation or retirement on one node is what every node signs with
//! within two seconds. A node whose file has entries for a domain signs
//! with its own (the file wins); keep a domain's keys in one node's file.
//!
//! One node (embedded store) publishes nothing and reads nothing: its keys
//! are its files, as before.
//!
//! Uses `running`.

use sealpost_config::{Config, DkimAlgorithm, DkimKeyConfig, SharedKey, SmtpConfig};
use sealpost_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One published key, as the store row holds it (JSON, sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Published {
    selector: String,
    algorithm: String,
    sign: bool,
    pending: bool,
    pem: String,
}

fn algorithm_name(a: DkimAlgorithm) -> &'static str {
    match a {
        DkimAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        DkimAlgorithm::RsaSha256 => "rsa-sha256",
    }
}

/// Whether `config`'s file entries (not shared ones) name `domain`.
fn file_has(config: &Config, domain: &str) -> bool {
    config
        .smtp
        .dkim
        .iter()
        .any(|k| k.shared_pem.is_none() && k.domain.eq_ignore_ascii_case(domain))
}

/// The file's entries of `domain` with their keys read.
fn file_entries(config: &Config, domain: &str) -> Result<Vec<Published>, String> {
    config
        .smtp
        .dkim
        .iter()
        .filter(|k| k.shared_pem.is_none() && k.domain.eq_ignore_ascii_case(domain))
        .map(|k| {
            let path = SmtpConfig::resolve_path(&config.path, &k.key);
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| format!("DKIM key {}: {e}", path.display()))?;
            Ok(Published {
                selector: k.selector.clone(),
                algorithm: algorithm_name(k.algorithm).to_string(),
                sign: k.sign,
                pending: k.pending,
                pem,
            })
        })
        .collect()
}

/// Publishes the keys of the domains in `file_domains` that `config` (the
/// running configuration) has file entries for, where they differ from
/// what is published. One line per failure.
pub fn publish(store: &Store, config: &Config, file_domains: &[String]) -> Result<(), String> {
    let published: HashMap<String, Vec<u8>> = store
        .published_domain_keys()
        .map_err(|e| format!("published DKIM keys not read: {e}"))?
        .into_iter()
        .collect();
    for domain in file_domains.iter().filter(|d| file_has(config, d)) {
        let entries = file_entries(config, domain)?;
        let bytes = serde_json::to_vec(&entries).map_err(|e| e.to_string())?;
        if published.get(domain.as_str()) != Some(&bytes) {
            store
                .publish_domain_keys(domain, &bytes)
                .map_err(|e| format!("DKIM keys of {domain} not published: {e}"))?;
        }
    }
    Ok(())
}

/// The published keys as running entries holding their key in memory
/// (a row that does not decode is left out and logged).
pub fn published(store: &Store) -> Result<Vec<DkimKeyConfig>, String> {
    let rows = store
        .published_domain_keys()
        .map_err(|e| format!("published DKIM keys not read: {e}"))?;
    let mut out = Vec::new();
    for (domain, bytes) in rows {
        let Ok(entries) = serde_json::from_slice::<Vec<Published>>(&bytes) else {
            tracing::error!(%domain, "published DKIM keys do not decode; left out");
            continue;
        };
        for e in entries {
            let algorithm = match e.algorithm.as_str() {
                "ed25519-sha256" => DkimAlgorithm::Ed25519Sha256,
                "rsa-sha256" => DkimAlgorithm::RsaSha256,
                other => {
                    tracing::error!(%domain, algorithm = other, "published DKIM key of an unknown algorithm; left out");
                    continue;
                }
            };
            out.push(DkimKeyConfig {
                key: PathBuf::from(format!("(store: {domain} {})", e.selector)),
                domain: domain.clone(),
                selector: e.selector,
                algorithm,
                sign: e.sign,
                pending: e.pending,
                stopped_signing: None,
                shared_pem: Some(SharedKey(Arc::new(e.pem.into_bytes()))),
            });
        }
    }
    Ok(out)
}

/// Adds the `shared` entries of domains `file` has no entry for to its
/// `smtp.dkim` (the file wins for its own domains).
pub fn merge_into(file: &mut Config, shared: &[DkimKeyConfig]) {
    let own: Vec<String> = file
        .smtp
        .dkim
        .iter()
        .map(|k| k.domain.to_ascii_lowercase())
        .collect();
    for k in shared {
        if !own.contains(&k.domain.to_ascii_lowercase()) {
            file.smtp.dkim.push(k.clone());
        }
    }
}

/// What a set of shared entries signs with, comparable.
pub type Print = Vec<(String, String, bool, bool, Arc<Vec<u8>>)>;

/// The shared entries of `entries`, comparable.
pub fn fingerprint(entries: &[DkimKeyConfig]) -> Print {
    print(entries.iter())
}

fn print<'a>(entries: impl Iterator<Item = &'a DkimKeyConfig>) -> Print {
    let mut p: Print = entries
        .filter_map(|k| {
            Some((
                k.domain.to_ascii_lowercase(),
                k.selector.clone(),
                k.sign,
                k.pending,
                k.shared_pem.as_ref()?.0.clone(),
            ))
        })
        .collect();
    p.sort();
    p
}

/// Whether `running` signs with the `shared` keys it should (those of
/// domains its file has no entry for), and with no other shared key.
pub fn in_step(running: &Config, shared: &[DkimKeyConfig]) -> bool {
    let want = print(shared.iter().filter(|k| !file_has(running, &k.domain)));
    let have = print(running.smtp.dkim.iter());
    want == have
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(domain: &str, selector: &str, pem: Option<&str>) -> DkimKeyConfig {
        DkimKeyConfig {
            domain: domain.into(),
            selector: selector.into(),
            algorithm: DkimAlgorithm::Ed25519Sha256,
            key: PathBuf::from("k.pem"),
            sign: true,
            pending: false,
            stopped_signing: None,
            shared_pem: pem.map(|p| SharedKey(Arc::new(p.as_bytes().to_vec()))),
        }
    }

    #[test]
    fn the_file_wins_for_its_domains_and_shared_keys_join_the_rest() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("sealpost.toml"), "").unwrap();
        let mut config = Config::load(&d.path().join("sealpost.toml")).unwrap();
        config.smtp.dkim.push(entry("own.example", "ed1", None));
        let shared = vec![
            entry("Own.example", "other", Some("A")),
            entry("new.example", "ed2", Some("B")),
        ];
        assert!(!in_step(&config, &shared));
        merge_into(&mut config, &shared);
        let names: Vec<(&str, &str)> = config
            .smtp
            .dkim
            .iter()
            .map(|k| (k.domain.as_str(), k.selector.as_str()))
            .collect();
        assert_eq!(names, [("own.example", "ed1"), ("new.example", "ed2")]);
        assert!(in_step(&config, &shared));
        // A rotation elsewhere (another key) is a change; so is a key gone.
        assert!(!in_step(&config, &[entry("new.example", "ed2", Some("C"))]));
        assert!(!in_step(&config, &[]));
        // The key never shows in the configuration's Debug output.
        assert!(!format!("{:?}", config.smtp.dkim).contains("\"B\""));
    }
}
