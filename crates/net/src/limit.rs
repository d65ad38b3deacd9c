//! Connection limits: a global cap and a per-IP cap, taken atomically
//! before a connection is served (no check-then-increment race).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Caps on open connections, shared by every listener.
#[derive(Clone, Debug)]
pub struct ConnLimiter {
    global: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

/// Held for the life of a connection; releases both caps when dropped.
#[derive(Debug)]
pub struct ConnPermit {
    _global: OwnedSemaphorePermit,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ConnLimiter {
    /// A limiter for `max` connections in all and `max_per_ip` from one address.
    pub fn new(max: usize, max_per_ip: usize) -> Self {
        ConnLimiter {
            global: Arc::new(Semaphore::new(max)),
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            max_per_ip,
        }
    }

    /// Takes a place for a connection from `ip`, or `None` when a cap is reached.
    pub fn try_acquire(&self, ip: IpAddr) -> Option<ConnPermit> {
        let global = self.global.clone().try_acquire_owned().ok()?;
        let mut map = self.per_ip.lock();
        let count = map.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            if *count == 0 {
                map.remove(&ip);
            }
            return None;
        }
        *count += 1;
        drop(map);
        Some(ConnPermit {
            _global: global,
            per_ip: self.per_ip.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.per_ip.lock().values().sum()
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut map = self.per_ip.lock();
        if let Some(c) = map.get_mut(&self.ip) {
            *c -= 1;
            if *c == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_ip_and_globally() {
        let l = ConnLimiter::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert!(l.try_acquire(a).is_none(), "per-IP cap");
        let _p3 = l.try_acquire(b).unwrap();
        assert!(l.try_acquire(b).is_none(), "global cap");
        drop(p1);
        assert!(l.try_acquire(a).is_some());
    }
}
