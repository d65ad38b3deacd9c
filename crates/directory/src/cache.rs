//! A short-lived memory of verified logins, so a client that reconnects
//! with the same password does not pay argon2id again (Dovecot's
//! `auth_cache` keeps only the passdb entry and still checks the password
//! against the cached hash at every login).
//!
//! What is kept, per account: a keyed BLAKE2b-256 MAC over the account's
//! stored PHC string and the password that matched it, and when the entry
//! expires. The MAC key is random per process and never leaves memory, so
//! the cache is useless to anyone who reads it from disk (it is never
//! written) and a stolen entry cannot be checked against guesses without
//! that key. Binding the stored hash into the MAC means a password change
//! (a new hash) or an account's removal invalidates its entry at once, with
//! no explicit flush.
//!
//! What it does not change:
//! - Only successes are cached. A wrong password, an unknown user and a
//!   throttled attempt take exactly the path they take without the cache,
//!   so failures still cost argon2 work and unknown users still look like
//!   wrong passwords. A hit answers faster, but only for the right password,
//!   which the client learns from the answer anyway.
//! - Throttling runs before the cache is consulted.
//!
//! Bounded: at most [`MAX_ENTRIES`] accounts; when full, expired entries are
//! dropped and, if that is not enough, the new one is not cached. A TTL of 0
//! turns the cache off.

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Most accounts remembered at once (about 100 octets each).
pub(crate) const MAX_ENTRIES: usize = 100_000;

type Fingerprint = [u8; 32];

struct Entry {
    fingerprint: Fingerprint,
    expires: Instant,
}

/// Verified logins, by account address.
pub(crate) struct LoginCache {
    key: [u8; 32],
    /// Entry lifetime in milliseconds; changeable while running.
    ttl_ms: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub(crate) fn new(ttl: Duration) -> LoginCache {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        LoginCache {
            key,
            ttl_ms: AtomicU64::new(ttl.as_millis().min(u64::MAX as u128) as u64),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    /// Changes the lifetime of new entries; zero also forgets every entry.
    pub(crate) fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(
            ttl.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
        if ttl.is_zero() {
            self.entries.lock().clear();
        }
    }

    fn fingerprint(&self, phc: &str, password: &str) -> Fingerprint {
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(&self.key)
            .expect("32 octets is a valid BLAKE2b key");
        // Length-prefixed, so (hash, password) pairs cannot run into each other.
        mac.update(&(phc.len() as u64).to_be_bytes());
        mac.update(phc.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `password` was verified against `phc` for `address` within the TTL.
    pub(crate) fn hit(&self, address: &str, phc: &str, password: &str, now: Instant) -> bool {
        if self.ttl().is_zero() {
            return false;
        }
        let want = self.fingerprint(phc, password);
        let entries = self.entries.lock();
        entries.get(address).is_some_and(|e| {
            // Constant-time: a near miss must not answer faster than a far one.
            let same = want
                .iter()
                .zip(e.fingerprint.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
            same && now < e.expires
        })
    }

    /// Remembers a verified login.
    pub(crate) fn remember(&self, address: &str, phc: &str, password: &str, now: Instant) {
        let ttl = self.ttl();
        if ttl.is_zero() {
            return;
        }
        let entry = Entry {
            fingerprint: self.fingerprint(phc, password),
            expires: now + ttl,
        };
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(address) {
            entries.retain(|_, e| now < e.expires);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(address.to_owned(), entry);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHC: &str = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

    #[test]
    fn hits_only_the_same_password_and_hash_within_the_ttl() {
        let c = LoginCache::new(Duration::from_secs(60));
        let t = Instant::now();
        assert!(!c.hit("a@x.org", PHC, "pw", t));
        c.remember("a@x.org", PHC, "pw", t);
        assert!(c.hit("a@x.org", PHC, "pw", t + Duration::from_secs(59)));
        assert!(!c.hit("a@x.org", PHC, "pw", t + Duration::from_secs(60)));
        assert!(!c.hit("a@x.org", PHC, "pW", t));
        assert!(!c.hit("b@x.org", PHC, "pw", t));
        // A changed stored hash (password changed) misses.
        assert!(!c.hit("a@x.org", "$argon2id$other", "pw", t));
        // The length prefix keeps (hash, password) boundaries apart.
        assert!(!c.hit("a@x.org", &PHC[..PHC.len() - 1], "Apw", t));
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let c = LoginCache::new(Duration::ZERO);
        let t = Instant::now();
        c.remember("a@x.org", PHC, "pw", t);
        assert!(!c.hit("a@x.org", PHC, "pw", t));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn turning_it_off_forgets_everything() {
        let c = LoginCache::new(Duration::from_secs(60));
        let t = Instant::now();
        c.remember("a@x.org", PHC, "pw", t);
        c.set_ttl(Duration::ZERO);
        assert_eq!(c.len(), 0);
        c.set_ttl(Duration::from_secs(60));
        assert!(!c.hit("a@x.org", PHC, "pw", t));
    }

    #[test]
    fn keys_differ_per_process_instance() {
        let a = LoginCache::new(Duration::from_secs(1));
        let b = LoginCache::new(Duration::from_secs(1));
        assert_ne!(a.fingerprint(PHC, "pw"), b.fingerprint(PHC, "pw"));
    }

    #[test]
    fn stays_bounded_and_makes_room_from_expired_entries() {
        let c = LoginCache::new(Duration::from_secs(10));
        let t = Instant::now();
        for i in 0..MAX_ENTRIES {
            c.remember(&format!("u{i}@x.org"), PHC, "pw", t);
        }
        // Full of live entries: a new account is not cached, old ones stay.
        c.remember("new@x.org", PHC, "pw", t);
        assert!(!c.hit("new@x.org", PHC, "pw", t));
        assert_eq!(c.len(), MAX_ENTRIES);
        // Once they have expired, the new one gets in.
        let later = t + Duration::from_secs(11);
        c.remember("new@x.org", PHC, "pw", later);
        assert!(c.hit("new@x.org", PHC, "pw", later));
        assert_eq!(c.len(), 1);
    }
}
