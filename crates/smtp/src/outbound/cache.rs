//! The MTA-STS policy cache (RFC 8461 3.3, 5.1): each recipient domain's
//! last valid policy and its record `id`, kept until `max_age` runs out,
//! in one file `data_dir/mta-sts-cache.json` written through
//! sealpost-durable, so a restart keeps every policy (a policy in force
//! must not vanish because the server restarted: that is the downgrade
//! MTA-STS exists to prevent).
//!
//! The file holds recipient domains and their policies, no address and no
//! content. At most [`MAX_DOMAINS`] domains: expired entries go first,
//! then the ones that expire soonest.

use super::mta_sts::Policy;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
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
    path: PathBuf,
    map: Mutex<HashMap<String, Cached>>,
}

impl PolicyCache {
    /// Loads `path` (an absent or unreadable file is an empty cache; the
    /// latter is logged).
    pub fn open(path: PathBuf) -> PolicyCache {
        let map = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "MTA-STS cache unreadable; starting empty");
                HashMap::new()
            }),
            Err(_) => HashMap::new(),
        };
        PolicyCache {
            path,
            map: Mutex::new(map),
        }
    }

    /// The cached policy of `domain`, valid or not.
    pub fn get(&self, domain: &str) -> Option<Cached> {
        self.lock().get(domain).cloned()
    }

    /// Stores `entry` for `domain` and writes the file durably.
    pub fn put(&self, domain: &str, entry: Cached, now: i64) -> std::io::Result<()> {
        let bytes = {
            let mut map = self.lock();
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
            serde_json::to_vec(&*map).map_err(std::io::Error::other)?
        };
        sealpost_durable::write(&self.path, &bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::mta_sts::Mode;

    #[test]
    fn survives_reopening_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mta-sts-cache.json");
        let cache = PolicyCache::open(path.clone());
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
        cache.put("example", entry, 1000).unwrap();
        let again = PolicyCache::open(path.clone());
        let got = again.get("example").unwrap();
        assert_eq!((got.id.as_str(), &got.policy), ("abc", &policy));
        assert!(got.valid_at(1099));
        assert!(!got.valid_at(1100));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(PolicyCache::open(path).get("example").is_none());
    }
}
