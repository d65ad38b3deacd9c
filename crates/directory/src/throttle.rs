//! Login throttling: failures per remote address and per account in a
//! sliding window, and a bounded queue for the password checks of one
//! address.
//!
//! Decisions, in the spirit of Dovecot's auth penalty and fail2ban:
//!
//! - Only failures count. A login whose password is still being checked
//!   is *in flight*, not a failure: a webmail server or a company NAT that
//!   opens 50 sessions at once with good passwords must never be refused for
//!   failures that did not happen. A failure is recorded when its check
//!   ends (by the check itself, on the blocking pool, so a client that hangs
//!   up mid-check cannot take its failure back).
//! - Once a window holds `limit` failures, attempts are refused before
//!   argon2 runs ([`Throttle::refused`]), so a throttled attacker costs us a
//!   hash-map lookup, not 19 MiB of memory-hard hashing.
//! - In-flight checks are bounded so that failures plus checks running can
//!   never exceed the limit: an attempt is admitted to the hash only while
//!   `failures + in flight < limit`, for its address and for its account,
//!   and while fewer than [`MAX_RUNNING_PER_IP`] checks of its address run.
//!   An attempt that cannot be admitted *waits* (it is not refused): when a
//!   check ends, waiters look again; if the window filled meanwhile they are
//!   refused as above, still without hashing. So a burst of parallel guesses
//!   gets at most `limit` hashes per window, and a burst of good logins is
//!   served in turn. At most [`MAX_WAITING_PER_IP`] attempts of one address
//!   wait at once; past that an attempt is refused as busy
//!   ([`ThrottleReason::Busy`]), which says so rather than blaming failures.
//! - Every name counts, known or not: if only real accounts could become
//!   throttled, "throttled" would reveal which accounts exist. Names that
//!   are not even valid addresses count against the remote address only.
//! - Success clears the account's failures but not the address's: one valid
//!   account must not let an address reset its count while guessing others.
//! - IPv6 addresses are counted per /64, the smallest block a customer is
//!   given; an IPv4-mapped IPv6 address counts as its IPv4 address.
//! - A limit of 0 turns that limit off (and the in-flight bound with it;
//!   [`MAX_RUNNING_PER_IP`] still applies).
//! - Memory is bounded: each failure window holds at most `limit` instants
//!   and each map at most [`MAX_TRACKED`] keys. When a map is full, expired
//!   windows are dropped; if that is not enough, the tenth least recently
//!   used windows go. In-flight and waiting counts exist only while an
//!   attempt does (each is a connection, itself bounded by `[limits]`).
//!
//! The cost of per-account throttling is that someone who knows an address
//! can keep its owner out for a window; the window is short (15 minutes in
//! the default config) and the per-address limit makes that attack need
//! many addresses.

use crate::{ThrottleLimits, ThrottleReason};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Most keys (addresses or accounts) each map tracks at once.
pub const MAX_TRACKED: usize = 100_000;

/// Most password checks of one address (IPv6: /64) admitted at once; the
/// directory's own bound (one check per CPU) applies on top. Keeps one busy
/// address from holding every hashing slot while other addresses wait.
pub const MAX_RUNNING_PER_IP: u32 = 4;

/// Most attempts of one address waiting for a check at once; beyond this
/// an attempt is refused as busy.
pub const MAX_WAITING_PER_IP: u32 = 1024;

/// How long a refused-as-busy client is told to wait.
const BUSY_RETRY: Duration = Duration::from_secs(1);

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

/// Why an attempt was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) reason: ThrottleReason,
    pub(crate) retry_after: Duration,
}

/// The throttle of one directory.
#[derive(Debug)]
pub(crate) struct Throttle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limits: ThrottleLimits,
    cap: usize,
    state: Mutex<State>,
    /// Woken whenever an admitted attempt ends.
    ended: Notify,
}

#[derive(Debug, Default)]
struct State {
    ips: Windows<IpKey>,
    accounts: Windows<String>,
    running_ips: Counts<IpKey>,
    running_accounts: Counts<String>,
    waiting_ips: Counts<IpKey>,
}

/// Counts that exist only while non-zero.
#[derive(Debug)]
struct Counts<K>(HashMap<K, u32>);

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts(HashMap::new())
    }
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn get(&self, key: &K) -> u32 {
        self.0.get(key).copied().unwrap_or(0)
    }

    fn add(&mut self, key: &K) {
        *self.0.entry(key.clone()).or_insert(0) += 1;
    }

    fn sub(&mut self, key: &K) {
        if let Some(n) = self.0.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.0.remove(key);
            }
        }
    }
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
    /// Drops instants older than the window; returns how many remain and
    /// when the oldest of them leaves the window.
    fn recent(&mut self, key: &K, window: Duration, now: Instant) -> (u32, Option<Duration>) {
        let Some(q) = self.map.get_mut(key) else {
            return (0, None);
        };
        while q
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            q.pop_front();
        }
        let Some(&oldest) = q.front() else {
            self.map.remove(key);
            return (0, None);
        };
        let leaves = (oldest + window)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        (q.len() as u32, Some(leaves))
    }

    /// How many keys hold at least `limit` failures in the window now.
    fn count_full(&mut self, limit: u32, window: Duration, now: Instant) -> usize {
        if limit == 0 {
            return 0;
        }
        let keys: Vec<K> = self.map.keys().cloned().collect();
        keys.iter()
            .filter(|k| self.recent(k, window, now).0 >= limit)
            .count()
    }

    /// Returns when the key may try again if it holds `limit` failures.
    fn full(&mut self, key: &K, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        match self.recent(key, window, now) {
            (n, wait) if n >= limit => wait,
            _ => None,
        }
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
}

/// What [`State::decide`] found for one attempt.
enum Decision {
    Refuse(Duration),
    Admit,
    Wait,
}

impl State {
    fn full(
        &mut self,
        l: &ThrottleLimits,
        ip: &IpKey,
        account: Option<&String>,
        now: Instant,
    ) -> Option<Duration> {
        let ip_wait = self.ips.full(ip, l.per_ip, l.window, now);
        let account_wait =
            account.and_then(|a| self.accounts.full(a, l.per_account, l.window, now));
        ip_wait.max(account_wait)
    }

    fn decide(
        &mut self,
        l: &ThrottleLimits,
        ip: &IpKey,
        account: Option<&String>,
        now: Instant,
    ) -> Decision {
        if let Some(wait) = self.full(l, ip, account, now) {
            return Decision::Refuse(wait);
        }
        let running_ip = self.running_ips.get(ip);
        let under =
            |failures: u32, running: u32, limit: u32| limit == 0 || failures + running < limit;
        let ip_ok = running_ip < MAX_RUNNING_PER_IP
            && under(self.ips.recent(ip, l.window, now).0, running_ip, l.per_ip);
        let account_ok = account.is_none_or(|a| {
            under(
                self.accounts.recent(a, l.window, now).0,
                self.running_accounts.get(a),
                l.per_account,
            )
        });
        if ip_ok && account_ok {
            Decision::Admit
        } else {
            Decision::Wait
        }
    }
}

/// An admitted attempt: counted in flight until it ends with
/// [`Attempt::succeeded`] or [`Attempt::failed`] (dropped without either,
/// it counts as failed).
#[derive(Debug)]
pub(crate) struct Attempt {
    shared: Arc<Shared>,
    ip: IpKey,
    account: Option<String>,
    ended: bool,
}

impl Attempt {
    /// The password was right: the account's failures are forgotten.
    pub(crate) fn succeeded(mut self) {
        self.end(false);
    }

    /// The password was wrong (or the user unknown): one failure for the
    /// address and the account.
    pub(crate) fn failed(mut self) {
        self.end(true);
    }

    fn end(&mut self, failed: bool) {
        if self.ended {
            return;
        }
        self.ended = true;
        let l = self.shared.limits;
        let now = Instant::now();
        {
            let mut s = self.shared.state.lock();
            s.running_ips.sub(&self.ip);
            if let Some(a) = &self.account {
                s.running_accounts.sub(a);
            }
            if failed {
                s.ips
                    .push(self.ip, l.per_ip, l.window, now, self.shared.cap);
                if let Some(a) = &self.account {
                    s.accounts
                        .push(a.clone(), l.per_account, l.window, now, self.shared.cap);
                }
            } else if let Some(a) = &self.account {
                s.accounts.map.remove(a);
            }
        }
        self.shared.ended.notify_waiters();
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.end(true);
    }
}

/// A place in an address's queue, given back however the wait ends.
struct Queued<'a> {
    shared: &'a Shared,
    ip: IpKey,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.shared.state.lock().waiting_ips.sub(&self.ip);
    }
}

impl Throttle {
    pub(crate) fn new(limits: ThrottleLimits) -> Throttle {
        Throttle::with_cap(limits, MAX_TRACKED)
    }

    pub(crate) fn with_cap(limits: ThrottleLimits, cap: usize) -> Throttle {
        Throttle {
            shared: Arc::new(Shared {
                limits,
                cap: cap.max(2),
                state: Mutex::new(State::default()),
                ended: Notify::new(),
            }),
        }
    }

    /// Client addresses (per /64 for IPv6) and accounts refused now for
    /// their failures (bounded by the tracked-keys cap).
    pub(crate) fn throttled(&self, now: Instant) -> (usize, usize) {
        let l = self.shared.limits;
        let mut s = self.shared.state.lock();
        (
            s.ips.count_full(l.per_ip, l.window, now),
            s.accounts.count_full(l.per_account, l.window, now),
        )
    }

    /// When the failures of `ip` or `account` (a normalized address, or
    /// `None` when the name given is not one) fill their window: how long
    /// until they may try again.
    pub(crate) fn refused(
        &self,
        ip: IpAddr,
        account: Option<&str>,
        now: Instant,
    ) -> Option<Duration> {
        let account = account.map(str::to_owned);
        let l = self.shared.limits;
        self.shared
            .state
            .lock()
            .full(&l, &IpKey::of(ip), account.as_ref(), now)
    }

    /// Records a failure that needed no check (a password too long to be
    /// anyone's).
    pub(crate) fn failed_at_once(&self, ip: IpAddr, account: Option<&str>, now: Instant) {
        let l = self.shared.limits;
        let mut s = self.shared.state.lock();
        s.ips
            .push(IpKey::of(ip), l.per_ip, l.window, now, self.shared.cap);
        if let Some(a) = account {
            s.accounts
                .push(a.to_owned(), l.per_account, l.window, now, self.shared.cap);
        }
    }

    /// A success that needed no check (the login cache): the account's
    /// failures are forgotten.
    pub(crate) fn succeeded_at_once(&self, account: &str) {
        self.shared.state.lock().accounts.map.remove(account);
    }

    /// Waits until the attempt may run its password check (see the module
    /// documentation), or says why it is refused.
    pub(crate) async fn admit(
        &self,
        ip: IpAddr,
        account: Option<&str>,
    ) -> Result<Attempt, Refused> {
        let shared = &*self.shared;
        let l = shared.limits;
        let key = IpKey::of(ip);
        let account = account.map(str::to_owned);
        let mut queued: Option<Queued<'_>> = None;
        loop {
            // Registered before looking, so an end between the look and the
            // wait still wakes us.
            let ended = shared.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            {
                let mut s = shared.state.lock();
                match s.decide(&l, &key, account.as_ref(), Instant::now()) {
                    Decision::Refuse(retry_after) => {
                        return Err(Refused {
                            reason: ThrottleReason::Failures,
                            retry_after,
                        });
                    }
                    Decision::Admit => {
                        s.running_ips.add(&key);
                        if let Some(a) = &account {
                            s.running_accounts.add(a);
                        }
                        drop(s);
                        drop(queued);
                        return Ok(Attempt {
                            shared: self.shared.clone(),
                            ip: key,
                            account,
                            ended: false,
                        });
                    }
                    Decision::Wait if queued.is_none() => {
                        if s.waiting_ips.get(&key) >= MAX_WAITING_PER_IP {
                            return Err(Refused {
                                reason: ThrottleReason::Busy,
                                retry_after: BUSY_RETRY,
                            });
                        }
                        s.waiting_ips.add(&key);
                        queued = Some(Queued { shared, ip: key });
                    }
                    Decision::Wait => {}
                }
            }
            ended.await;
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let s = self.shared.state.lock();
        (s.ips.map.len(), s.accounts.map.len())
    }

    #[cfg(test)]
    fn in_flight(&self) -> (usize, usize, usize) {
        let s = self.shared.state.lock();
        (
            s.running_ips.0.values().sum::<u32>() as usize,
            s.running_accounts.0.values().sum::<u32>() as usize,
            s.waiting_ips.0.values().sum::<u32>() as usize,
        )
    }
}

#[cfg(test)]
#[path = "throttle/tests.rs"]
mod tests;
