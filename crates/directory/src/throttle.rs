//! Login throttling: failures per remote address and per account in a
//! sliding window.
//!
//! Decisions, in the spirit of Dovecot's auth penalty and fail2ban:
//!
//! - An attempt takes a slot in both the address's and the account's window
//!   *before* argon2 runs, under one lock: check and count are one step, so
//!   a burst of parallel attempts cannot all slip under the limit while
//!   their hashes run. A success gives the address's slot back and clears
//!   the account's window; a failure (or an attempt abandoned because the
//!   client went away) keeps both.
//! - Once a window is full the attempt is refused before argon2 runs, so a
//!   throttled attacker costs us a hash-map lookup, not 19 MiB of memory
//!   hard hashing.
//! - Every name counts, known or not: if only real accounts could become
//!   throttled, "throttled" would reveal which accounts exist. Names that
//!   are not even valid addresses count against the remote address only.
//! - Success clears the account's failures but not the address's: one valid
//!   account must not let an address reset its count while guessing others.
//! - IPv6 addresses are counted per /64, the smallest block a customer is
//!   given; an IPv4-mapped IPv6 address counts as its IPv4 address.
//! - A limit of 0 turns that limit off.
//! - Memory is bounded: each window holds at most `limit` instants and each
//!   map at most [`MAX_TRACKED`] keys. When a map is full, expired windows
//!   are dropped; if that is not enough, the tenth least recently used
//!   windows go.
//!
//! The cost of per-account throttling is that someone who knows an address
//! can keep its owner out for a window; the window is short (15 minutes in
//! the default config) and the per-address limit makes that attack need
//! many addresses.

use crate::ThrottleLimits;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most keys (addresses or accounts) each map tracks at once.
pub const MAX_TRACKED: usize = 100_000;

/// The key of a remote address: IPv4 as is, IPv6 by its /64 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IpKey {
    V4(u32),
    V6Prefix(u64),
}

impl IpKey {
    pub(crate) fn of(ip: IpAddr) -> IpKey {
        match ip {
            IpAddr::V4(v4) => IpKey::V4(v4.to_bits()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpKey::V4(v4.to_bits()),
                None => IpKey::V6Prefix((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

/// A slot taken by [`Throttle::begin`]; handed back to [`Throttle::succeeded`].
#[derive(Debug)]
pub(crate) struct Attempt {
    ip: IpKey,
    account: Option<String>,
    at: Instant,
}

/// The throttle of one directory.
#[derive(Debug)]
pub(crate) struct Throttle {
    limits: ThrottleLimits,
    cap: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    ips: Windows<IpKey>,
    accounts: Windows<String>,
}

/// Sliding windows of failure instants, one per key.
#[derive(Debug)]
struct Windows<K> {
    map: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Windows {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Windows<K> {
    /// Drops instants older than the window; returns when the key may try
    /// again if it is at `limit`, else `None`.
    fn full(&mut self, key: &K, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        let q = self.map.get_mut(key)?;
        while q
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            q.pop_front();
        }
        if q.is_empty() {
            self.map.remove(key);
            return None;
        }
        if q.len() < limit as usize {
            return None;
        }
        let oldest = *q.front()?;
        Some(
            (oldest + window)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }

    fn push(&mut self, key: K, limit: u32, window: Duration, now: Instant, cap: usize) {
        if limit == 0 {
            return;
        }
        if !self.map.contains_key(&key) && self.map.len() >= cap {
            self.make_room(window, now, cap);
        }
        let q = self.map.entry(key).or_default();
        q.push_back(now);
        while q.len() > limit as usize {
            q.pop_front();
        }
    }

    /// Drops expired windows; if the map is still full, the least recently
    /// used tenth.
    fn make_room(&mut self, window: Duration, now: Instant, cap: usize) {
        self.map.retain(|_, q| {
            q.back()
                .is_some_and(|&t| now.saturating_duration_since(t) < window)
        });
        if self.map.len() < cap {
            return;
        }
        let mut last: Vec<Instant> = self
            .map
            .values()
            .filter_map(|q| q.back().copied())
            .collect();
        if last.len() < 2 {
            self.map.clear();
            return;
        }
        let n = (cap / 10).max(1).min(last.len() - 1);
        let (_, &mut cutoff, _) = last.select_nth_unstable(n);
        self.map
            .retain(|_, q| q.back().is_some_and(|&t| t > cutoff));
    }

    fn give_back(&mut self, key: &K, at: Instant) {
        if let Some(q) = self.map.get_mut(key) {
            if let Some(i) = q.iter().rposition(|&t| t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                self.map.remove(key);
            }
        }
    }
}

impl Throttle {
    pub(crate) fn new(limits: ThrottleLimits) -> Throttle {
        Throttle::with_cap(limits, MAX_TRACKED)
    }

    pub(crate) fn with_cap(limits: ThrottleLimits, cap: usize) -> Throttle {
        Throttle {
            limits,
            cap: cap.max(2),
            state: Mutex::new(State::default()),
        }
    }

    /// Takes a slot for an attempt from `ip` for `account` (a normalized
    /// address, or `None` when the name given is not one), or says how long
    /// to wait.
    pub(crate) fn begin(
        &self,
        ip: IpAddr,
        account: Option<&str>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let l = self.limits;
        let ip = IpKey::of(ip);
        let account = account.map(str::to_owned);
        let mut s = self.state.lock();
        let ip_wait = s.ips.full(&ip, l.per_ip, l.window, now);
        let account_wait = account
            .as_ref()
            .and_then(|a| s.accounts.full(a, l.per_account, l.window, now));
        if let Some(wait) = ip_wait.max(account_wait) {
            return Err(wait);
        }
        s.ips.push(ip, l.per_ip, l.window, now, self.cap);
        if let Some(a) = &account {
            s.accounts
                .push(a.clone(), l.per_account, l.window, now, self.cap);
        }
        Ok(Attempt {
            ip,
            account,
            at: now,
        })
    }

    /// The attempt succeeded: its address slot is given back and the
    /// account's failures are forgotten.
    pub(crate) fn succeeded(&self, attempt: Attempt) {
        let mut s = self.state.lock();
        s.ips.give_back(&attempt.ip, attempt.at);
        if let Some(a) = &attempt.account {
            s.accounts.map.remove(a);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let s = self.state.lock();
        (s.ips.map.len(), s.accounts.map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const WINDOW: Duration = Duration::from_secs(900);

    fn limits(per_ip: u32, per_account: u32) -> ThrottleLimits {
        ThrottleLimits {
            per_ip,
            per_account,
            window: WINDOW,
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn per_ip_limit_counts_any_name() {
        let t = Throttle::new(limits(3, 100));
        let now = Instant::now();
        for i in 0..3 {
            t.begin(ip(1), Some(&format!("nobody{i}@example.org")), now)
                .unwrap();
        }
        t.begin(ip(1), None, now).unwrap_err();
        t.begin(ip(1), Some("other@example.org"), now).unwrap_err();
        // Another address is not affected.
        t.begin(ip(2), Some("nobody0@example.org"), now).unwrap();
    }

    #[test]
    fn per_account_limit_across_addresses() {
        let t = Throttle::new(limits(100, 2));
        let now = Instant::now();
        t.begin(ip(1), Some("alice@example.org"), now).unwrap();
        t.begin(ip(2), Some("alice@example.org"), now).unwrap();
        let wait = t.begin(ip(3), Some("alice@example.org"), now).unwrap_err();
        assert_eq!(wait, WINDOW);
        t.begin(ip(3), Some("bob@example.org"), now).unwrap();
    }

    #[test]
    fn window_slides() {
        let t = Throttle::new(limits(2, 100));
        let t0 = Instant::now();
        t.begin(ip(1), None, t0).unwrap();
        t.begin(ip(1), None, t0 + Duration::from_secs(100)).unwrap();
        let wait = t
            .begin(ip(1), None, t0 + Duration::from_secs(200))
            .unwrap_err();
        assert_eq!(wait, WINDOW - Duration::from_secs(200));
        // The first failure leaves the window; one slot opens.
        t.begin(ip(1), None, t0 + WINDOW).unwrap();
        t.begin(ip(1), None, t0 + WINDOW).unwrap_err();
    }

    #[test]
    fn success_clears_account_but_not_address() {
        let t = Throttle::new(limits(3, 2));
        let now = Instant::now();
        t.begin(ip(1), Some("alice@example.org"), now).unwrap();
        let ok = t.begin(ip(1), Some("alice@example.org"), now).unwrap();
        t.succeeded(ok);
        // Alice's window is empty again: two more attempts pass that check...
        t.begin(ip(2), Some("alice@example.org"), now).unwrap();
        t.begin(ip(2), Some("alice@example.org"), now).unwrap();
        // ...and ip(1) kept its one failure, the success gave its slot back.
        t.begin(ip(1), Some("bob@example.org"), now).unwrap();
        t.begin(ip(1), Some("carol@example.org"), now).unwrap();
        t.begin(ip(1), Some("dave@example.org"), now).unwrap_err();
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let t = Throttle::new(limits(0, 0));
        let now = Instant::now();
        for _ in 0..1000 {
            t.begin(ip(1), Some("alice@example.org"), now).unwrap();
        }
        assert_eq!(t.tracked(), (0, 0));
    }

    #[test]
    fn ipv6_counts_per_slash_64() {
        let t = Throttle::new(limits(2, 100));
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        t.begin(a, None, now).unwrap();
        t.begin(b, None, now).unwrap();
        t.begin(a, None, now).unwrap_err();
        t.begin(other, None, now).unwrap();
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(IpKey::of(mapped), IpKey::of(ip(7)));
        assert_ne!(IpKey::of(IpAddr::V6(Ipv6Addr::LOCALHOST)), IpKey::of(ip(1)));
    }

    #[test]
    fn memory_is_bounded() {
        let cap = 50;
        let t = Throttle::with_cap(limits(5, 5), cap);
        let now = Instant::now();
        for i in 0..10_000u32 {
            let addr = IpAddr::V4(Ipv4Addr::from_bits(i));
            let at = now + Duration::from_millis(u64::from(i));
            t.begin(addr, Some(&format!("u{i}@example.org")), at)
                .unwrap();
            let (ips, accounts) = t.tracked();
            assert!(ips <= cap && accounts <= cap, "{ips} {accounts}");
        }
        // The most recent keys are the ones kept.
        let last = IpAddr::V4(Ipv4Addr::from_bits(9_999));
        let at = now + Duration::from_millis(9_999);
        for _ in 0..4 {
            t.begin(last, None, at).unwrap();
        }
        t.begin(last, None, at).unwrap_err();
    }

    #[test]
    fn expired_windows_are_pruned_first() {
        let cap = 10;
        let t = Throttle::with_cap(limits(5, 5), cap);
        let t0 = Instant::now();
        for i in 0..10u32 {
            t.begin(IpAddr::V4(Ipv4Addr::from_bits(i)), None, t0)
                .unwrap();
        }
        let later = t0 + WINDOW;
        t.begin(ip(200), None, later).unwrap();
        assert_eq!(t.tracked(), (1, 0));
    }
}
