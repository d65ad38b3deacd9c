//! Signed-in sessions of the account page: server-side, in memory, random,
//! expiring.
//!
//! The browser holds only a random token (256 bits from the OS, base64url)
//! in a `__Host-` cookie that is `Secure`, `HttpOnly` and
//! `SameSite=Strict`; the server keeps, under the SHA-256 of that token
//! (so a look-up compares digests, never the secret itself), the account,
//! a per-session CSRF token and the times. A session ends at
//! `session_idle_secs` without a request, at `session_max_secs` in any
//! case, at sign-out, when the account's password changes (every session
//! of the account: the one that changed it here gets a new token), when
//! an app password is added or revoked (every session but the one that
//! did it here) and when the account is deleted or leaves the accounts
//! file. Changes made outside the page (`sealpost account passwd`,
//! `account app-password add|remove`, `account delete`) are seen at the
//! session's next request: each session keeps digests of the credentials
//! it was opened under ([`sealpost_directory::Credentials`]) and the
//! accounts file's are compared with them. (An account whose legacy password hash is upgraded
//! to argon2id at sign-in may be asked to sign in once more: the upgrade
//! is a new hash in the file.)
//!
//! Memory is bounded: at most `max_sessions` in all (expired ones are swept
//! when the table is full; a sign-in past the bound is refused) and
//! [`MAX_PER_ACCOUNT`] per account (the oldest goes). With a
//! [`SessionFile`] (the server gives one) sessions survive a restart
//! (`session_file.rs`): the table is saved at every sign-in, sign-out and
//! change, and at most a minute after a request; without one, users sign
//! in again after a restart.

pub use super::session_file::SessionFile;
use base64::Engine;
use parking_lot::Mutex;
use rand::RngCore;
use sealpost_directory::Credentials;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Most sessions one account may hold at once.
pub const MAX_PER_ACCOUNT: usize = 16;

/// A random 256-bit token, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(super) struct Session {
    pub(super) address: String,
    pub(super) csrf: String,
    pub(super) created: Instant,
    pub(super) seen: Instant,
    pub(super) notice: Option<String>,
    /// The credentials seen at its first request (or after its own change).
    pub(super) credentials: Option<Credentials>,
}

/// How often a request's "seen" alone makes the table be saved.
const SAVE_SEEN_EVERY: Duration = Duration::from_secs(60);

/// What a request learns of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The signed-in account (lower case).
    pub address: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// A one-time message for the next page ("Your password was changed.").
    pub notice: Option<String>,
}

/// The table is full of live sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Every session, by token digest.
pub struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    max_age: Duration,
    max: usize,
    file: Option<std::sync::Arc<dyn SessionFile>>,
    /// One save at a time, each of the table as it is then; when the last
    /// one was.
    saved: Mutex<Instant>,
}

impl Sessions {
    /// An empty table with these lifetimes and bound.
    pub fn new(idle: Duration, max_age: Duration, max: usize) -> Sessions {
        Sessions {
            table: Mutex::new(HashMap::new()),
            idle,
            max_age,
            max,
            file: None,
            saved: Mutex::new(Instant::now()),
        }
    }

    /// Keeps the sessions in `file` from now on, starting with the live
    /// ones it holds.
    pub fn keep_in(&mut self, file: std::sync::Arc<dyn SessionFile>) {
        if let Some(mut table) = file.load().and_then(|b| super::session_file::decode(&b)) {
            let now = Instant::now();
            table.retain(|_, s| self.live(s, now));
            *self.table.lock() = table;
        }
        self.file = Some(file);
    }

    /// Saves the table (when kept in a file).
    fn save(&self) {
        if let Some(file) = &self.file {
            let mut saved = self.saved.lock();
            let bytes = super::session_file::encode(&self.table.lock());
            file.save(&bytes);
            *saved = Instant::now();
        }
    }

    fn live(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.seen) < self.idle
            && now.saturating_duration_since(s.created) < self.max_age
    }

    /// Opens a session for `address`; returns its token (for the cookie).
    pub fn create(&self, address: &str, now: Instant) -> Result<String, Full> {
        let mut table = self.table.lock();
        if table.len() >= self.max {
            table.retain(|_, s| self.live(s, now));
        }
        let mine: Vec<([u8; 32], Instant)> = table
            .iter()
            .filter(|(_, s)| s.address == address)
            .map(|(k, s)| (*k, s.created))
            .collect();
        if mine.len() >= MAX_PER_ACCOUNT
            && let Some((oldest, _)) = mine.iter().min_by_key(|(_, c)| *c)
        {
            table.remove(oldest);
        }
        if table.len() >= self.max {
            return Err(Full);
        }
        let token = random_token();
        table.insert(
            digest(&token),
            Session {
                address: address.to_string(),
                csrf: random_token(),
                created: now,
                seen: now,
                notice: None,
                credentials: None,
            },
        );
        drop(table);
        self.save();
        Ok(token)
    }

    /// The live session of `token`, marked as seen now; its notice is
    /// handed out once. An expired session is removed.
    pub fn get(&self, token: &str, now: Instant) -> Option<Current> {
        let key = digest(token);
        let mut table = self.table.lock();
        let live = self.live(table.get(&key)?, now);
        if !live {
            table.remove(&key);
            return None;
        }
        let s = table.get_mut(&key)?;
        s.seen = now;
        let current = Current {
            address: s.address.clone(),
            csrf: s.csrf.clone(),
            notice: s.notice.take(),
        };
        drop(table);
        let stale = now.saturating_duration_since(*self.saved.lock()) >= SAVE_SEEN_EVERY;
        if stale {
            self.save();
        }
        Some(current)
    }

    /// Whether the session of `token` still stands with the account's
    /// credentials as they are `now` (see the module docs); the first call
    /// records them. A session that does not stand is removed.
    pub fn check_credentials(&self, token: &str, now: &Credentials) -> bool {
        let key = digest(token);
        let mut table = self.table.lock();
        let Some(s) = table.get_mut(&key) else {
            return false;
        };
        let stands = match &s.credentials {
            Some(c) if c.ends(now) => {
                table.remove(&key);
                false
            }
            Some(_) => return true,
            None => {
                s.credentials = Some(now.clone());
                true
            }
        };
        drop(table);
        self.save();
        stands
    }

    /// Records the account's credentials after a change this session made
    /// itself, so that the change does not end it.
    pub fn set_credentials(&self, token: &str, now: Credentials) {
        if let Some(s) = self.table.lock().get_mut(&digest(token)) {
            s.credentials = Some(now);
        }
        self.save();
    }

    /// Leaves a one-time message for the session's next page.
    pub fn set_notice(&self, token: &str, notice: impl Into<String>) {
        if let Some(s) = self.table.lock().get_mut(&digest(token)) {
            s.notice = Some(notice.into());
        }
    }

    /// Ends one session.
    pub fn remove(&self, token: &str) {
        self.table.lock().remove(&digest(token));
        self.save();
    }

    /// Ends every session of `address`.
    pub fn remove_account(&self, address: &str) {
        self.table.lock().retain(|_, s| s.address != address);
        self.save();
    }

    /// Sessions held now (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.table.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const MAX: Duration = Duration::from_secs(300);

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &random_token()));
        assert!(!tokens_equal(&a, &a[..42]));
    }

    #[test]
    fn a_session_expires_when_idle_and_at_its_maximum_age() {
        let s = Sessions::new(IDLE, MAX, 10);
        let t0 = Instant::now();
        let token = s.create("a@example.org", t0).unwrap();
        let cur = s.get(&token, t0 + Duration::from_secs(59)).unwrap();
        assert_eq!(cur.address, "a@example.org");
        assert_eq!(cur.csrf.len(), 43);
        assert_ne!(cur.csrf, token);
        // Kept alive by requests, but never past the maximum age.
        for m in 1..5 {
            assert!(s.get(&token, t0 + Duration::from_secs(m * 59)).is_some());
        }
        assert!(s.get(&token, t0 + MAX).is_none());
        assert!(s.is_empty(), "an expired session is removed");
        let token = s.create("a@example.org", t0).unwrap();
        assert!(s.get(&token, t0 + IDLE).is_none());
        assert!(s.get("not-a-token", t0).is_none());
    }

    #[test]
    fn notices_are_shown_once() {
        let s = Sessions::new(IDLE, MAX, 10);
        let t0 = Instant::now();
        let token = s.create("a@example.org", t0).unwrap();
        s.set_notice(&token, "done");
        assert_eq!(s.get(&token, t0).unwrap().notice.as_deref(), Some("done"));
        assert_eq!(s.get(&token, t0).unwrap().notice, None);
    }

    #[test]
    fn the_table_is_bounded_in_all_and_per_account() {
        let s = Sessions::new(IDLE, MAX, 3);
        let t0 = Instant::now();
        for i in 0..3 {
            s.create(&format!("u{i}@example.org"), t0).unwrap();
        }
        assert_eq!(s.create("x@example.org", t0), Err(Full));
        // Expired sessions make room.
        assert!(s.create("x@example.org", t0 + IDLE).is_ok());
        assert_eq!(s.len(), 1);

        let s = Sessions::new(IDLE, MAX, 100);
        let first = s.create("a@example.org", t0).unwrap();
        for i in 1..=MAX_PER_ACCOUNT as u64 {
            s.create("a@example.org", t0 + Duration::from_millis(i))
                .unwrap();
        }
        assert_eq!(s.len(), MAX_PER_ACCOUNT);
        assert!(s.get(&first, t0).is_none(), "the oldest went");
    }

    #[test]
    fn sign_out_and_account_wide_removal() {
        let s = Sessions::new(IDLE, MAX, 10);
        let t0 = Instant::now();
        let a1 = s.create("a@example.org", t0).unwrap();
        let a2 = s.create("a@example.org", t0).unwrap();
        let b = s.create("b@example.org", t0).unwrap();
        s.remove(&a1);
        assert!(s.get(&a1, t0).is_none());
        assert!(s.get(&a2, t0).is_some());
        s.remove_account("a@example.org");
        assert!(s.get(&a2, t0).is_none());
        assert!(s.get(&b, t0).is_some());
    }
}
