//! Personal data in the operational log (`[log] personal_data`).
//!
//! In the default, minimal mode a log line names an account by its store
//! id (`account=#12`; `account=-` when the name is not a hosted account,
//! e.g. a failed login for an unknown user) and a client by its network
//! (`192.0.2.0/24`, `2001:db8:1::/48`): enough to follow one session or one
//! message and to see an attack's origin, not enough to name a person
//! without the sealed audit log, whose personal fields anonymization
//! erases on schedule. `full` logs addresses and IPs as they are, for
//! operators whose logs are kept under the same rules as the audit log
//! (the compliance report says which mode runs).

use parking_lot::RwLock;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

static FULL: AtomicBool = AtomicBool::new(false);

type Resolver = Box<dyn Fn(&str) -> Option<u64> + Send + Sync>;

static RESOLVER: RwLock<Option<Resolver>> = RwLock::new(None);

/// Sets the mode: `true` for `personal_data = "full"`.
pub fn set_full(full: bool) {
    FULL.store(full, Ordering::Relaxed);
}

/// Whether personal data is logged in full.
pub fn is_full() -> bool {
    FULL.load(Ordering::Relaxed)
}

/// Installs how an address becomes an account id (the store's lookup);
/// without one, minimal mode logs every account as `-`.
pub fn set_account_resolver(resolve: impl Fn(&str) -> Option<u64> + Send + Sync + 'static) {
    *RESOLVER.write() = Some(Box::new(resolve));
}

/// A client IP address as the log shows it: its /24 or /48 network in
/// minimal mode (an IPv4-mapped IPv6 address counts as IPv4).
pub fn ip(ip: IpAddr) -> String {
    if is_full() {
        return ip.to_string();
    }
    match ip {
        IpAddr::V4(v4) => network_v4(v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_v4(v4.octets()),
            None => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                format!("{net}/48")
            }
        },
    }
}

fn network_v4(o: [u8; 4]) -> String {
    format!("{}.{}.{}.0/24", o[0], o[1], o[2])
}

/// A client's `ip:port` as the log shows it: [`ip`] in minimal mode (the
/// port identifies a connection, and goes with the address), as written
/// in full mode; `-` when it is not a socket address.
pub fn remote(text: &str) -> String {
    match text.parse::<SocketAddr>() {
        Ok(a) if !is_full() => ip(a.ip()),
        Ok(a) => a.to_string(),
        Err(_) => match text.parse::<IpAddr>() {
            Ok(a) => ip(a),
            Err(_) => "-".to_string(),
        },
    }
}

/// An account as the log shows it: `#ID` in minimal mode (`-` when the
/// name is not a hosted account), the address in full mode.
pub fn account(address: &str) -> String {
    if is_full() {
        return address.to_string();
    }
    let id = RESOLVER.read().as_ref().and_then(|r| r(address));
    match id {
        Some(id) => format!("#{id}"),
        None => "-".to_string(),
    }
}

/// A list of addresses (envelope recipients) as the log shows it: the
/// addresses in full mode, their hosted accounts' ids in minimal mode
/// (others as `-`).
pub fn accounts(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|a| account(a))
        .collect::<Vec<_>>()
        .join(",")
}

/// An address that never names a hosted account (an envelope sender from
/// outside, a remote recipient): itself in full mode, `-` otherwise.
pub fn foreign_address(address: &str) -> String {
    if is_full() {
        address.to_string()
    } else {
        "-".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the mode is process-wide.
    #[test]
    fn minimal_mode_truncates_and_pseudonymizes_full_mode_does_not() {
        set_account_resolver(|a| (a == "alice@example.org").then_some(7));
        set_full(false);
        assert_eq!(ip("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(ip("2001:db8:1:2::9".parse().unwrap()), "2001:db8:1::/48");
        assert_eq!(ip("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.0/24");
        assert_eq!(remote("192.0.2.77:4410"), "192.0.2.0/24");
        assert_eq!(remote("[2001:db8::1]:25"), "2001:db8::/48");
        assert_eq!(remote("garbage"), "-");
        assert_eq!(account("alice@example.org"), "#7");
        assert_eq!(account("mallory@example.org"), "-");
        assert_eq!(
            accounts(&["alice@example.org".into(), "x@y.z".into()]),
            "#7,-"
        );
        assert_eq!(foreign_address("x@y.z"), "-");
        set_full(true);
        assert_eq!(ip("192.0.2.77".parse().unwrap()), "192.0.2.77");
        assert_eq!(remote("192.0.2.77:4410"), "192.0.2.77:4410");
        assert_eq!(account("alice@example.org"), "alice@example.org");
        assert_eq!(foreign_address("x@y.z"), "x@y.z");
        set_full(false);
    }
}
