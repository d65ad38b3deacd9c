//! The account page's sessions kept across a restart: the table encoded,
//! handed to a [`SessionFile`] that seals it and writes it durably (the
//! server: `data_dir/account-sessions`, sealed under a key derived from
//! the master key, 0600 through `sealpost-durable`), and read back at
//! start. Only token digests are kept, never a token; with each session
//! its address, CSRF token, times (Unix milliseconds, so they mean the same
//! after the restart) and the digests of the credentials it was opened
//! under (a password changed while the server was down still ends it).
//! Notices are not kept. A file that does not decode is ignored: everyone
//! signs in again, the safe direction.
//!
//! Format (version 1): `1 | count (u32) | entry*`, an entry being
//! `digest (32) | address (u16 length, bytes) | csrf (u8 length, bytes) |
//! created (i64 ms) | seen (i64 ms) | credentials (u16 length, bytes; 0:
//! none yet)`, integers big-endian.

use super::session::Session;
use sealpost_directory::Credentials;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the sessions are kept (sealing and durable writing are its own).
pub trait SessionFile: Send + Sync + 'static {
    /// The bytes last saved, if any (and if they open).
    fn load(&self) -> Option<Vec<u8>>;
    /// Replaces what is kept with `bytes`; a failure is the implementor's
    /// to log (the sessions go on in memory).
    fn save(&self, bytes: &[u8]);
}

const VERSION: u8 = 1;
/// Most sessions read back (the table's own bound applies after that).
const MAX_ENTRIES: usize = 1 << 20;

fn unix_ms(at: Instant, now: Instant, wall: SystemTime) -> i64 {
    let wall = wall - now.saturating_duration_since(at);
    wall.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn instant(ms: i64, now: Instant, wall: SystemTime) -> Instant {
    let then = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    let ago = wall.duration_since(then).unwrap_or(Duration::ZERO);
    now.checked_sub(ago).unwrap_or(now)
}

/// The table as bytes.
pub(super) fn encode(table: &HashMap<[u8; 32], Session>) -> Vec<u8> {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut out = vec![VERSION];
    out.extend_from_slice(&(table.len() as u32).to_be_bytes());
    for (digest, s) in table {
        out.extend_from_slice(digest);
        out.extend_from_slice(&(s.address.len() as u16).to_be_bytes());
        out.extend_from_slice(s.address.as_bytes());
        out.push(s.csrf.len() as u8);
        out.extend_from_slice(s.csrf.as_bytes());
        out.extend_from_slice(&unix_ms(s.created, now, wall).to_be_bytes());
        out.extend_from_slice(&unix_ms(s.seen, now, wall).to_be_bytes());
        let c = s
            .credentials
            .as_ref()
            .map(Credentials::to_bytes)
            .unwrap_or_default();
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(&c);
    }
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u16(&mut self) -> Option<usize> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize)
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// What [`encode`] wrote; `None` for anything else.
pub(super) fn decode(b: &[u8]) -> Option<HashMap<[u8; 32], Session>> {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut c = Cursor(b);
    if c.take(1)? != [VERSION] {
        return None;
    }
    let count = u32::from_be_bytes(c.take(4)?.try_into().ok()?) as usize;
    if count > MAX_ENTRIES {
        return None;
    }
    let mut table = HashMap::with_capacity(count.min(1024));
    for _ in 0..count {
        let digest: [u8; 32] = c.take(32)?.try_into().ok()?;
        let n = c.u16()?;
        let address = String::from_utf8(c.take(n)?.to_vec()).ok()?;
        let n = *c.take(1)?.first()? as usize;
        let csrf = String::from_utf8(c.take(n)?.to_vec()).ok()?;
        let created = instant(c.i64()?, now, wall);
        let seen = instant(c.i64()?, now, wall);
        let n = c.u16()?;
        let credentials = match n {
            0 => None,
            n => Some(Credentials::from_bytes(c.take(n)?)?),
        };
        table.insert(
            digest,
            Session {
                address,
                csrf,
                created,
                seen,
                notice: None,
                credentials,
            },
        );
    }
    c.0.is_empty().then_some(table)
}

#[cfg(test)]
mod tests {
    use super::super::session::Sessions;
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Memory(Mutex<Option<Vec<u8>>>);

    impl SessionFile for Memory {
        fn load(&self) -> Option<Vec<u8>> {
            self.0.lock().unwrap().clone()
        }
        fn save(&self, bytes: &[u8]) {
            *self.0.lock().unwrap() = Some(bytes.to_vec());
        }
    }

    fn sessions(file: &Arc<Memory>) -> Sessions {
        let mut s = Sessions::new(Duration::from_secs(600), Duration::from_secs(3600), 10);
        s.keep_in(file.clone());
        s
    }

    #[test]
    fn sessions_and_their_credentials_survive_a_restart_sign_outs_too() {
        let file = Arc::new(Memory::default());
        let first = sessions(&file);
        let now = Instant::now();
        let kept = first.create("a@example.org", now).unwrap();
        let gone = first.create("a@example.org", now).unwrap();
        let mut raw = [7u8; 34];
        raw[32..].copy_from_slice(&[0, 0]);
        let creds = Credentials::from_bytes(&raw).unwrap();
        assert!(first.check_credentials(&kept, &creds));
        let csrf = first.get(&kept, now).unwrap().csrf;
        first.remove(&gone);
        drop(first);
        let second = sessions(&file);
        let got = second.get(&kept, Instant::now()).expect("restored");
        assert_eq!((got.address.as_str(), got.csrf), ("a@example.org", csrf));
        assert!(
            second.get(&gone, Instant::now()).is_none(),
            "signed out stays out"
        );
        let mut changed = raw;
        changed[0] = 8;
        let changed = Credentials::from_bytes(&changed).unwrap();
        assert!(
            !second.check_credentials(&kept, &changed),
            "credentials kept too"
        );
        let bytes = file.load().unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none() || cut == bytes.len());
        }
        assert!(decode(b"\x02").is_none());
    }
}
