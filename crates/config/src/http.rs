//! `[http]`: limits of the HTTP and HTTPS listeners (`[listen] http`,
//! `https`), who may reach their private routes (metrics, health), and the
//! MTA-STS policy they publish (`[http.mta_sts]`, RFC 8461 section 3.2).

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Limits of the HTTP(S) listeners. They have their own connection caps,
/// apart from `[limits]`, so a flood of web requests never takes the places
/// of mail sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Connections open at once on the HTTP and HTTPS listeners together.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_connections_per_ip: usize,
    /// Largest request head (request line and headers) in octets; more is
    /// answered `431` and the connection closed.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more is answered `431`.
    pub max_headers: usize,
    /// Largest request body in octets; more is answered `413` (at once when
    /// Content-Length says so, else when the limit is crossed).
    pub max_body_bytes: usize,
    /// Seconds a client has to send a whole request head, counted from the
    /// moment the server waits for one: also how long an idle keep-alive
    /// connection stays open. Slow senders (slowloris) are closed.
    pub header_timeout_secs: u64,
    /// Seconds to receive the body and produce the answer once the head is
    /// in; a request over it gets `408` and the connection is closed.
    pub request_timeout_secs: u64,
    /// Client networks that may reach private routes (metrics, health):
    /// loopback only by default. Requests from elsewhere get `404`.
    pub private_from: Vec<IpNetwork>,
    /// The MTA-STS policy published at `mta-sts.DOMAIN`.
    pub mta_sts: MtaStsConfig,
    /// The users' account page (`[http.account]`).
    pub account: crate::AccountPageConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 1024,
            max_connections_per_ip: 32,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 64 * 1024,
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            private_from: vec![
                IpNetwork::from_str("127.0.0.0/8").expect("valid"),
                IpNetwork::from_str("::1/128").expect("valid"),
            ],
            mta_sts: MtaStsConfig::default(),
            account: crate::AccountPageConfig::default(),
        }
    }
}

/// `[http.mta_sts]`: the policy served at
/// `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` for every hosted domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MtaStsConfig {
    /// `testing` (senders report failures but deliver anyway), `enforce`
    /// (senders refuse MX hosts without valid TLS) or `none`.
    pub mode: MtaStsMode,
    /// Seconds senders may cache the policy (at most 31557600, a year).
    pub max_age_secs: u64,
    /// MX host names (or `*.example.org` patterns) senders may deliver to;
    /// empty means `server.hostname`.
    pub mx: Vec<String>,
}

/// The largest `max_age` RFC 8461 section 3.2 allows.
pub const MTA_STS_MAX_AGE_LIMIT: u64 = 31_557_600;

impl Default for MtaStsConfig {
    fn default() -> Self {
        MtaStsConfig {
            mode: MtaStsMode::Testing,
            max_age_secs: 7 * 24 * 3600,
            mx: Vec::new(),
        }
    }
}

/// An MTA-STS policy mode (RFC 8461 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MtaStsMode {
    /// Senders deliver even when TLS fails, and report.
    Testing,
    /// Senders refuse MX hosts that fail the policy.
    Enforce,
    /// No policy in force (used to withdraw one).
    None,
}

impl MtaStsMode {
    /// The mode as written in the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            MtaStsMode::Testing => "testing",
            MtaStsMode::Enforce => "enforce",
            MtaStsMode::None => "none",
        }
    }
}

/// An IP network, `ADDRESS/PREFIX` (a bare address is a /32 or /128).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Debug for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an IP network (ADDRESS/PREFIX, e.g. 10.0.0.0/8)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(IpNetwork { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for IpNetwork {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let n: IpNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()), "v4-mapped");
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let one: IpNetwork = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("127.0.0.1".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/+8",
            "1/2/3",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }
}
