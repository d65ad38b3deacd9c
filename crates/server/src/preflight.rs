//! What `sealpost serve` would fail on at start, found by `check-config`
//! without starting: two listeners on one address, a certificate or key
//! that does not load (unreadable, not PEM, not a pair), a DKIM key file
//! that is missing or not PEM, and a data_dir (or, before its first start,
//! the folder it would be made in) that does not take a durable write.
//!
//! A certificate pair absent on both sides is fine: `serve` generates a
//! self-signed one there on its first start.
//!
//! Uses `startup` (see the module order in `main.rs`).

use crate::startup::listeners;
use sealpost_config::Config;
use sealpost_net::TlsManager;
use std::collections::HashMap;
use std::path::Path;

/// Every problem found, one line each (empty when `serve` would start).
pub fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    duplicate_listeners(config, &mut out);
    let (cert, key) = (&config.tls.cert, &config.tls.key);
    if (cert.exists() || key.exists())
        && let Err(e) = TlsManager::load(cert, key)
    {
        out.push(format!(
            "[tls] certificate {} / key {}: {e}",
            cert.display(),
            key.display()
        ));
    }
    for dkim in &config.smtp.dkim {
        // Relative to the config file's folder, as `serve` reads it.
        let path = sealpost_config::SmtpConfig::resolve_path(&config.path, &dkim.key);
        if let Err(e) = pem_file(&path) {
            out.push(format!(
                "[[smtp.dkim]] {} selector {}: key {}: {e}",
                dkim.domain,
                dkim.selector,
                path.display()
            ));
        }
    }
    if let Err(e) = writable(&config.server.data_dir) {
        out.push(format!(
            "[server] data_dir {}: {e}",
            config.server.data_dir.display()
        ));
    }
    out
}

/// Two listeners (or one listed twice) on the same address: the second
/// bind would fail. Port 0 (any free port) never clashes.
fn duplicate_listeners(config: &Config, out: &mut Vec<String>) {
    let mut seen = HashMap::new();
    for (kind, addr) in listeners(config) {
        if addr.port() == 0 {
            continue;
        }
        if let Some(first) = seen.insert(addr, kind) {
            out.push(format!(
                "[listen] {} and {} both on {addr}",
                first.name(),
                kind.name()
            ));
        }
    }
}

/// The file is readable and holds a PEM block.
fn pem_file(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN ") && text.contains("-----END ") {
        Ok(())
    } else {
        Err("not a PEM file".to_string())
    }
}

/// `dir` (or the nearest folder above it that exists, where `serve`
/// would create it) takes a durable write, checked with a probe file
/// removed at once.
fn writable(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    while !at.exists() {
        at = at.parent().ok_or("no existing parent folder")?;
    }
    if !at.is_dir() {
        return Err(format!("{} is not a folder", at.display()));
    }
    let probe = at.join(".sealpost-check-config");
    sealpost_durable::write(&probe, b"").map_err(|e| format!("not writable ({e})"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
