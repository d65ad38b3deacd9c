//! Sealing for the small files kept beside the store that would otherwise
//! hold personal data in plaintext: the accounts-file entry of a deleted
//! account, a purge in progress, the last audited version of the accounts
//! file (DESIGN.md promise 8).
//!
//! A [`FileKey`] is derived from the master key and a purpose (BLAKE2b-256
//! keyed by the master key, personalization `sealpost-file-k`), so it needs
//! no storage of its own and each kind of file gets an unrelated key. It
//! seals with XChaCha20-Poly1305 (associated data: the purpose) and names
//! files by a keyed MAC of what they are about (an address), never by the
//! address itself. These files live only until the account is restored or
//! purged; they are removed by overwriting with zeros, then unlinking.

use crate::Result;
use crate::crypto::{self, Key};
use std::path::Path;

const DOMAIN: &[u8] = b"sealpost-file-k";
const NAME_DOMAIN: &[u8] = b"sealpost-file-n";

/// A key for one purpose of sealed files, derived from the master key.
#[derive(Debug, Clone)]
pub struct FileKey {
    key: Key,
    purpose: String,
}

impl FileKey {
    /// Derives the key of `purpose` from the master key file (which must
    /// exist: it is made by the store's first open).
    pub fn load(master_key: &Path, purpose: &str) -> Result<FileKey> {
        let (master, _) = crypto::load_or_create_key_file(master_key, false)?;
        Ok(FileKey {
            key: master.derive(DOMAIN, purpose.as_bytes()),
            purpose: purpose.to_string(),
        })
    }

    /// Seals `plain`.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        self.key.seal(self.purpose.as_bytes(), plain)
    }

    /// Opens what [`FileKey::seal`] made under the same purpose.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        self.key.open(self.purpose.as_bytes(), sealed)
    }

    /// A file name for `subject` (an address): 32 hex digits of a keyed MAC,
    /// the same for the same subject, revealing nothing of it.
    pub fn name(&self, subject: &str) -> String {
        hex::encode(&self.key.index_mac(NAME_DOMAIN, subject.as_bytes())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_and_named_per_purpose() {
        let d = tempfile::tempdir().unwrap();
        let master = d.path().join("master.key");
        std::fs::write(&master, [1u8; 32]).unwrap();
        let a = FileKey::load(&master, "saved-entry").unwrap();
        let b = FileKey::load(&master, "purge-marker").unwrap();
        let sealed = a.seal(b"alice@example.org");
        assert!(!String::from_utf8_lossy(&sealed).contains("alice"));
        assert_eq!(a.open(&sealed).unwrap(), b"alice@example.org");
        assert!(b.open(&sealed).is_err(), "another purpose");
        assert_eq!(a.name("alice@example.org"), a.name("alice@example.org"));
        assert_ne!(a.name("alice@example.org"), b.name("alice@example.org"));
        assert_eq!(a.name("x").len(), 32);
        assert!(FileKey::load(&d.path().join("missing"), "x").is_err());
    }
}
