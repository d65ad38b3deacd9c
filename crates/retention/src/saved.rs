//! The accounts-file entry of a deleted account, kept for `account
//! restore` until the purge: `data_dir/deleted/<name>.entry`, where the
//! name is a keyed MAC of the address and the content (the `[[account]]`
//! table: address, password hash, quota, aliases) is sealed under a key
//! derived from the master key ([`FileKey`], purpose `saved-entry`). Nothing
//! in the folder names or shows the account.
//!
//! Entries of the previous format (`<hex of address>.toml`, plaintext) are
//! still read, and removed with the new one.

use crate::RetentionError;
use sealpost_config::Config;
use sealpost_store::FileKey;
use std::path::{Path, PathBuf};

/// The saved entries of deleted accounts.
pub struct SavedEntries {
    dir: PathBuf,
    key: FileKey,
}

/// Hex of the address bytes: the name entries had before they were sealed.
pub(crate) fn hex_name(address: &str) -> String {
    address.bytes().map(|b| format!("{b:02x}")).collect()
}

impl SavedEntries {
    /// The saved entries of the server `config` describes (the master key
    /// must exist).
    pub fn open(config: &Config) -> Result<SavedEntries, RetentionError> {
        Ok(SavedEntries {
            dir: config.server.data_dir.join("deleted"),
            key: FileKey::load(&config.server.master_key, "saved-entry")?,
        })
    }

    /// Where the entry of `address` is kept.
    pub fn path(&self, address: &str) -> PathBuf {
        self.dir
            .join(format!("{}.entry", self.key.name(&normalize(address))))
    }

    fn legacy_path(&self, address: &str) -> PathBuf {
        self.dir
            .join(format!("{}.toml", hex_name(&normalize(address))))
    }

    /// Whether an entry waits for `address`.
    pub fn exists(&self, address: &str) -> bool {
        self.path(address).exists() || self.legacy_path(address).exists()
    }

    /// Saves the `[[account]]` table of `address` (TOML text), sealed,
    /// durably, 0600.
    pub fn save(&self, address: &str, entry: &str) -> Result<(), RetentionError> {
        crate::files::write_durable(&self.path(address), &self.key.seal(entry.as_bytes()))
    }

    /// The saved TOML text of `address`, if any.
    pub fn load(&self, address: &str) -> Result<Option<String>, RetentionError> {
        let path = self.path(address);
        match std::fs::read(&path) {
            Ok(sealed) => {
                let plain = self.key.open(&sealed).map_err(|e| RetentionError::Io {
                    path: path.clone(),
                    message: format!("cannot open the saved entry: {e}"),
                })?;
                return String::from_utf8(plain)
                    .map(Some)
                    .map_err(|_| RetentionError::Io {
                        path,
                        message: "the saved entry is not text".into(),
                    });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RetentionError::io(&path, e)),
        }
        let legacy = self.legacy_path(address);
        match std::fs::read_to_string(&legacy) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RetentionError::io(&legacy, e)),
        }
    }

    /// The aliases in the saved entry of `address` (lower case).
    pub fn aliases(&self, address: &str) -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct Saved {
            #[serde(default)]
            account: Vec<SavedAccount>,
        }
        #[derive(serde::Deserialize)]
        struct SavedAccount {
            #[serde(default)]
            aliases: Vec<String>,
        }
        let Ok(Some(text)) = self.load(address) else {
            return Vec::new();
        };
        toml::from_str::<Saved>(&text)
            .map(|s| {
                s.account
                    .into_iter()
                    .flat_map(|a| a.aliases)
                    .map(|a| a.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes the entry of `address` (both formats): overwritten with
    /// zeros, then unlinked. A missing one is fine.
    pub fn remove(&self, address: &str) -> Result<(), RetentionError> {
        crate::files::scrub_remove(&self.path(address))?;
        crate::files::scrub_remove(&self.legacy_path(address))
    }

    /// The folder (for permission checks and reports).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn normalize(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_sealed_named_by_mac_and_legacy_ones_still_read() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("keys")).unwrap();
        std::fs::write(d.path().join("keys/master.key"), [3u8; 32]).unwrap();
        let cfg = d.path().join("sealpost.toml");
        std::fs::write(&cfg, "").unwrap();
        let config = Config::load(&cfg).unwrap();
        let saved = SavedEntries::open(&config).unwrap();
        let entry =
            "[[account]]\naddress = \"alice@example.org\"\naliases = [\"Al@example.org\"]\n";
        saved.save("Alice@example.org", entry).unwrap();
        let path = saved.path("alice@example.org");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains("alice") && !name.contains(&hex_name("alice")));
        let raw = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("alice"));
        assert_eq!(
            saved.load("alice@example.org").unwrap().as_deref(),
            Some(entry)
        );
        assert_eq!(saved.aliases("alice@example.org"), vec!["al@example.org"]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        saved.remove("alice@example.org").unwrap();
        assert!(!saved.exists("alice@example.org"));
        // An entry an earlier version wrote.
        let legacy = saved
            .dir()
            .join(format!("{}.toml", hex_name("bob@example.org")));
        std::fs::write(&legacy, "[[account]]\naddress = \"bob@example.org\"\n").unwrap();
        assert!(saved.exists("bob@example.org"));
        assert!(
            saved
                .load("bob@example.org")
                .unwrap()
                .unwrap()
                .contains("bob")
        );
        saved.remove("bob@example.org").unwrap();
        assert!(!legacy.exists());
    }
}
