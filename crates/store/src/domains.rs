//! Hosted domains that every node of a shared store serves.
//!
//! Each node reads `[[domain]]` from its own config file; over a shared
//! store (PostgreSQL) a node also publishes the domains of its file here,
//! and every node serves the union of its file's and the published ones
//! (the server's `domain_watch`), so a domain added on any node works on
//! every node within a couple of seconds, without the config file being
//! distributed first.
//!
//! Row: `DOMAIN | keyed MAC of the name` -> the name sealed under the
//! system key (the database sees neither in plaintext, like every other
//! name it holds).
//!
//! A domain's DKIM signing keys travel the same way, so that every node
//! signs its mail: `DKIM | keyed MAC of the name` -> the name and the keys
//! (bytes the server encodes, private keys included) sealed under the
//! system key, which is derived from the master key: the database never
//! holds a private key in plaintext. Withdrawing the domain drops them.

use crate::codec::table;
use crate::{Result, Store};

/// Domain separation of the MAC (16 bytes, BLAKE2b's personalization).
const MAC_DOMAIN: &[u8] = b"sealpost-domains";

impl Store {
    fn domain_key(&self, name: &str) -> Vec<u8> {
        self.domain_row(table::DOMAIN, name)
    }

    fn domain_row(&self, tag: u8, name: &str) -> Vec<u8> {
        let mut k = vec![tag];
        k.extend_from_slice(
            &self
                .inner
                .master
                .index_mac(MAC_DOMAIN, name.to_ascii_lowercase().as_bytes()),
        );
        k
    }

    /// Publishes a hosted domain (lower-cased) to every node.
    pub fn publish_domain(&self, name: &str) -> Result<()> {
        let name = name.to_ascii_lowercase();
        let mut tx = self.tx()?;
        tx.put(self.domain_key(&name), self.seal_system(name.as_bytes()));
        tx.commit()
    }

    /// Withdraws a published domain (a missing one is fine).
    pub fn withdraw_domain(&self, name: &str) -> Result<()> {
        let mut tx = self.tx()?;
        tx.delete(self.domain_key(name));
        tx.delete(self.domain_row(table::DKIM, name));
        tx.commit()
    }

    /// Publishes the DKIM keys of a hosted domain (`keys`: opaque to the
    /// store, sealed), replacing what was published for it.
    pub fn publish_domain_keys(&self, name: &str, keys: &[u8]) -> Result<()> {
        let name = name.to_ascii_lowercase();
        let mut plain = Vec::with_capacity(name.len() + 1 + keys.len());
        plain.extend_from_slice(name.as_bytes());
        plain.push(b'\n');
        plain.extend_from_slice(keys);
        let mut tx = self.tx()?;
        tx.put(
            self.domain_row(table::DKIM, &name),
            self.seal_system(&plain),
        );
        tx.commit()
    }

    /// The published DKIM keys as (domain, keys), sorted by domain; a row
    /// that cannot be opened (another master key) is left out and logged.
    pub fn published_domain_keys(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for (_, v) in self.scan_prefix(vec![table::DKIM])? {
            let opened = self.open_system(&v).ok().and_then(|p| {
                let at = p.iter().position(|&b| b == b'\n')?;
                let name = String::from_utf8(p[..at].to_vec()).ok()?;
                Some((name, p[at + 1..].to_vec()))
            });
            match opened {
                Some(entry) => out.push(entry),
                None => tracing::error!("published DKIM keys cannot be opened with the master key"),
            }
        }
        out.sort();
        Ok(out)
    }

    /// The published domains, sorted; one that cannot be opened (another
    /// master key) is left out and logged.
    pub fn published_domains(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (_, v) in self.scan_prefix(vec![table::DOMAIN])? {
            match self
                .open_system(&v)
                .ok()
                .and_then(|p| String::from_utf8(p).ok())
            {
                Some(name) => out.push(name),
                None => tracing::error!("a published domain cannot be opened with the master key"),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn published_domains_are_sealed_listed_and_withdrawn() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            store.publish_domain("New.Example").unwrap();
            store.publish_domain("new.example").unwrap();
            store.publish_domain("b.example").unwrap();
            assert_eq!(
                store.published_domains().unwrap(),
                vec!["b.example".to_string(), "new.example".to_string()]
            );
            for (k, v) in store.raw_entries().unwrap() {
                for bytes in [&k, &v] {
                    assert!(!bytes.windows(7).any(|w| w == b"example"), "{k:?}");
                }
            }
            store.withdraw_domain("NEW.example").unwrap();
            store.withdraw_domain("gone.example").unwrap();
            assert_eq!(store.published_domains().unwrap(), vec!["b.example"]);
        });
    }

    #[test]
    fn published_dkim_keys_are_sealed_replaced_and_withdrawn_with_the_domain() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let secret = b"-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n";
            store.publish_domain("new.example").unwrap();
            store.publish_domain_keys("New.Example", b"old").unwrap();
            store.publish_domain_keys("new.example", secret).unwrap();
            store.publish_domain_keys("b.example", b"").unwrap();
            assert_eq!(
                store.published_domain_keys().unwrap(),
                vec![
                    ("b.example".to_string(), Vec::new()),
                    ("new.example".to_string(), secret.to_vec())
                ]
            );
            for (k, v) in store.raw_entries().unwrap() {
                for bytes in [&k, &v] {
                    assert!(!bytes.windows(7).any(|w| w == b"example"), "{k:?}");
                    assert!(!bytes.windows(9).any(|w| w == b"SECRETKEY"), "{k:?}");
                }
            }
            store.withdraw_domain("new.example").unwrap();
            assert_eq!(store.published_domain_keys().unwrap().len(), 1);
        });
    }
}
