//! The MTA-STS policy cache (RFC 8461 3.3, 5.1): each recipient domain's
//! last valid policy and its record `id`, kept until `max_age` runs out,
//! in one file `data_dir/mta-sts-cache.sealed` (`state_file.rs`: sealed
//! under a key derived from the master key, written durably off the
//! queue's task), so a restart keeps every policy (a policy in force must
//! not vanish because the server restarted: that is the downgrade MTA-STS
//! exists to prevent).
//!
//! The file holds recipient domains and their policies, no address and no
//! content; the domains are sealed all the same (they say whom our users
//! write to). At most [`MAX_DOMAINS`] domains: expired entries go first,
//! then the ones that expire soonest.

use super::mta_sts::Policy;
use super::state_file::StateFile;
use sealpost_store::FileKey;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// The most domains kept.
pub const MAX_DOMAINS: usize = 10_000;

/// One cached policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached {
    /// The `id` of the `_mta-sts` record it was fetched for.
    pub id: String,
    /// The policy.
    pub policy: Policy,
    /// When it was fetched (Unix seconds).
    pub fetched: i64,
}

impl Cached {
    /// Whether it is still in force at `now`.
    pub fn valid_at(&self, now: i64) -> bool {
        now < self.expires()
    }

    fn expires(&self) -> i64 {
        self.fetched.saturating_add(self.policy.max_age as i64)
    }
}

/// The cache and its file.
pub struct PolicyCache {
    file: StateFile,
    /// The entries and the number of the last snapshot taken of them.
    map: Mutex<(HashMap<String, Cached>, u64)>,
}

impl PolicyCache {
    /// Loads `data_dir/mta-sts-cache.sealed` (an absent or unreadable file
    /// is an empty cache; the latter is logged).
    pub fn open(data_dir: &Path, key: FileKey) -> PolicyCache {
        let (file, content) = StateFile::open(data_dir, "mta-sts-cache", key);
        let map = content
            .map(|bytes| {
                serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "MTA-STS cache unreadable; starting empty");
                    HashMap::new()
                })
            })
            .unwrap_or_default();
        PolicyCache {
            file,
            map: Mutex::new((map, 1)),
        }
    }

    /// The cached policy of `domain`, valid or not.
    pub fn get(&self, domain: &str) -> Option<Cached> {
        self.lock().0.get(domain).cloned()
    }

    /// Stores `entry` for `domain` and writes the file durably (on the
    /// blocking pool).
    pub async fn put(&self, domain: &str, entry: Cached, now: i64) -> std::io::Result<()> {
        let (seq, bytes) = {
            let mut guard = self.lock();
            guard.1 += 1;
            let (map, seq) = &mut *guard;
            map.insert(domain.to_string(), entry);
            if map.len() > MAX_DOMAINS {
                map.retain(|_, c| c.valid_at(now));
            }
            while map.len() > MAX_DOMAINS {
                let soonest = map
                    .iter()
                    .min_by_key(|(_, c)| c.expires())
                    .map(|(d, _)| d.clone());
                match soonest {
                    Some(d) => map.remove(&d),
                    None => break,
                };
            }
            (
                *seq,
                serde_json::to_vec(&*map).map_err(std::io::Error::other)?,
            )
        };
        self.file.write(seq, bytes).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Cached>, u64)> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::mta_sts::Mode;

    #[tokio::test]
    async fn survives_reopening_sealed_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let key = || crate::outbound::state_file::test_key(dir.path(), "mta-sts-cache");
        let path = dir.path().join("mta-sts-cache.sealed");
        let cache = PolicyCache::open(dir.path(), key());
        let policy = Policy {
            mode: Mode::Enforce,
            mx: vec!["mx.example".into()],
            max_age: 100,
        };
        let entry = Cached {
            id: "abc".into(),
            policy: policy.clone(),
            fetched: 1000,
        };
        cache.put("example", entry, 1000).await.unwrap();
        let sealed = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("example"));
        let again = PolicyCache::open(dir.path(), key());
        let got = again.get("example").unwrap();
        assert_eq!((got.id.as_str(), &got.policy), ("abc", &policy));
        assert!(got.valid_at(1099));
        assert!(!got.valid_at(1100));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, b"{not sealed").unwrap();
        assert!(
            PolicyCache::open(dir.path(), key())
                .get("example")
                .is_none()
        );
    }
}
