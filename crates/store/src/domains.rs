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

use crate::codec::table;
use crate::{Result, Store};

/// Domain separation of the MAC (16 bytes, BLAKE2b's personalization).
const MAC_DOMAIN: &[u8] = b"sealpost-domains";

impl Store {
    fn domain_key(&self, name: &str) -> Vec<u8> {
        let mut k = vec![table::DOMAIN];
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
        tx.commit()
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
}
