//! Encryption at rest: XChaCha20-Poly1305 under per-account data keys,
//! which are stored wrapped by the master key.
//!
//! Sealed format: `version (1) | nonce (24) | ciphertext+tag`. The associated
//! data binds a ciphertext to its account and purpose, so a blob or summary
//! moved to another account or field fails to open instead of being misread.

use crate::{Result, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Overhead of sealing: version, nonce and tag.
pub const OVERHEAD: usize = 1 + NONCE_LEN + 16;

/// A 256-bit symmetric key, wiped from memory when dropped.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// A fresh random key.
    pub fn generate() -> Key {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        Key(k)
    }

    fn from_slice(b: &[u8]) -> Option<Key> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(Key(Zeroizing::new(arr)))
    }

    /// Seals `plaintext` with associated data `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The AEAD under this key (for sealing in pieces, `chunked.rs`).
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// Opens what [`Key::seal`] produced with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < OVERHEAD || sealed[0] != VERSION {
            return Err(StoreError::Corrupt("sealed data has a bad header".into()));
        }
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..1 + NONCE_LEN]),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad,
                },
            )
            .map_err(|_| StoreError::Corrupt("authentication failed".into()))
    }

    /// Wraps another key under this one.
    pub fn wrap(&self, purpose: &[u8], key: &Key) -> Vec<u8> {
        self.seal(purpose, key.0.as_ref())
    }

    /// Unwraps a key wrapped with [`Key::wrap`].
    pub fn unwrap_key(&self, purpose: &[u8], wrapped: &[u8]) -> Result<Key> {
        let raw = Zeroizing::new(self.open(purpose, wrapped)?);
        Key::from_slice(&raw)
            .ok_or_else(|| StoreError::Corrupt("wrapped key has a bad length".into()))
    }

    /// A MAC for indexes that must not reveal what they index (account
    /// addresses): BLAKE2b-256 in its keyed mode (RFC 7693 section 2.5) under
    /// this key, with `domain` (at most 16 bytes) as the personalization, so
    /// each index gets unrelated values from the same key.
    pub fn index_mac(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        use blake2::digest::{Mac, consts::U32};
        let mut mac =
            blake2::Blake2bMac::<U32>::new_with_salt_and_personal(self.0.as_ref(), &[], domain)
                .expect("a 32-byte key and a domain of at most 16 bytes");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// A key derived from this one for `label`, in the `domain` family
    /// (see [`Key::index_mac`]).
    pub fn derive(&self, domain: &[u8], label: &[u8]) -> Key {
        Key(Zeroizing::new(self.index_mac(domain, label)))
    }

    /// A keyed digest (for indexes that must not reveal names).
    pub fn keyed_hash(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0.as_ref());
        h.update((domain.len() as u32).to_be_bytes());
        h.update(domain);
        h.update(data);
        h.finalize().into()
    }
}

/// Loads a 32-byte key file, or creates one (mode 0600, parent 0700) when
/// `create` is true and it does not exist. Returns the key and whether it was created.
pub fn load_or_create_key_file(path: &Path, create: bool) -> Result<(Key, bool)> {
    let err = |m: String| StoreError::MasterKey {
        path: path.to_path_buf(),
        message: m,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let key = Key::from_slice(&bytes)
                .ok_or_else(|| err(format!("must be exactly 32 bytes, found {}", bytes.len())))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            if let Some(dir) = path.parent() {
                sealpost_durable::create_dir(dir)
                    .map_err(|e| err(format!("cannot create its folder: {e}")))?;
            }
            let key = Key::generate();
            // Whole or not at all, and never over a key another process
            // created meanwhile (the shared helper, 0600, folder fsynced).
            sealpost_durable::write_new(path, key.0.as_ref())
                .map_err(|e| err(format!("cannot create: {e}")))?;
            Ok((key, true))
        }
        Err(e) => Err(err(format!("cannot read: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let k = Key::generate();
        let s = k.seal(b"a", b"hello");
        assert_eq!(k.open(b"a", &s).unwrap(), b"hello");
        assert!(k.open(b"b", &s).is_err(), "other aad");
        assert!(Key::generate().open(b"a", &s).is_err(), "other key");
        let mut t = s.clone();
        *t.last_mut().unwrap() ^= 1;
        assert!(k.open(b"a", &t).is_err(), "tampered");
        assert!(!s.windows(5).any(|w| w == b"hello"));
    }

    #[test]
    fn index_macs_are_keyed_and_domain_separated() {
        let k = Key::generate();
        let a = k.index_mac(b"acct", b"a@example.org");
        assert_eq!(a, k.index_mac(b"acct", b"a@example.org"));
        assert_ne!(a, k.index_mac(b"other", b"a@example.org"));
        assert_ne!(a, Key::generate().index_mac(b"acct", b"a@example.org"));
        assert_ne!(a, k.index_mac(b"acct", b"b@example.org"));
    }

    #[test]
    fn wrap_unwrap() {
        let master = Key::generate();
        let data = Key::generate();
        let w = master.wrap(b"acct", &data);
        let u = master.unwrap_key(b"acct", &w).unwrap();
        assert_eq!(u.0.as_ref(), data.0.as_ref());
    }
}
