//! The DNS lookups of outbound policy: `_mta-sts` TXT, policy host
//! addresses, and DNSSEC-authenticated TLSA records.
//!
//! TLSA (RFC 7672 2.2): a record counts only when the answer is
//! authenticated. From `[smtp.dns]` static records that is their `secure`
//! marker (all of a name's records must carry it); otherwise the query
//! goes, with the AD and DO bits set (RFC 6840 5.7, RFC 3225), to the
//! configured resolver (or the first `nameserver` of /etc/resolv.conf),
//! and the answer is trusted only when that resolver sets the AD bit.
//! Like Postfix's `smtp_dns_support_level = dnssec`, this trusts the path
//! to the resolver: use a validating resolver on the same host.

use crate::lookup::DnsLookup;
use mail_auth::hickory_resolver::proto::op::{Edns, Message, MessageType, OpCode, Query};
use mail_auth::hickory_resolver::proto::rr::{Name, RData, RecordType};
use sealpost_config::SmtpConfig;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// What a TLSA lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsaAnswer {
    /// Authenticated records (zone-file data).
    Secure(Vec<String>),
    /// None, or none that DNSSEC vouches for: DANE does not apply.
    Insecure,
}

/// The TLSA records at `name` (`_25._tcp.mx.example`).
pub async fn tlsa(smtp: &SmtpConfig, name: &str) -> Result<TlsaAnswer, String> {
    let dns = &smtp.dns;
    let same = |n: &str| {
        n.trim_end_matches('.')
            .eq_ignore_ascii_case(name.trim_end_matches('.'))
    };
    let statics: Vec<_> = dns
        .record
        .iter()
        .filter(|r| r.kind == sealpost_config::StaticRecordType::Tlsa && same(&r.name))
        .collect();
    if !statics.is_empty() {
        return Ok(if statics.iter().all(|r| r.secure) {
            TlsaAnswer::Secure(statics.iter().map(|r| r.value.clone()).collect())
        } else {
            TlsaAnswer::Insecure
        });
    }
    if dns.static_only {
        return Ok(TlsaAnswer::Insecure);
    }
    let server = match dns.resolver {
        Some(a) => a,
        None => system_resolver().ok_or("no resolver for TLSA lookups")?,
    };
    query_ad(server, name).await
}

fn system_resolver() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines().find_map(|l| {
        let ip = l.trim().strip_prefix("nameserver")?.trim();
        IpAddr::from_str(ip).ok().map(|ip| SocketAddr::new(ip, 53))
    })
}

async fn query_ad(server: SocketAddr, name: &str) -> Result<TlsaAnswer, String> {
    let fqdn = Name::from_str(&format!("{}.", name.trim_end_matches('.')))
        .map_err(|e| format!("{name}: {e}"))?;
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.set_recursion_desired(true);
    msg.set_authentic_data(true);
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true);
    edns.set_max_payload(1232);
    msg.set_edns(edns);
    msg.add_query(Query::query(fqdn, RecordType::TLSA));
    let bytes = msg.to_vec().map_err(|e| e.to_string())?;
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("valid")
    } else {
        "[::]:0".parse().expect("valid")
    };
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        sock.send(&bytes).await?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = sock.recv(&mut buf).await?;
            if let Ok(m) = Message::from_vec(&buf[..n])
                && m.id() == id
            {
                return Ok::<_, std::io::Error>(m);
            }
        }
    })
    .await
    .map_err(|_| format!("TLSA {name}: timed out"))?
    .map_err(|e| format!("TLSA {name}: {e}"))?;
    let records: Vec<String> = answer
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::TLSA(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    use mail_auth::hickory_resolver::proto::op::ResponseCode;
    match answer.response_code() {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        // RFC 7672 2.1.1: a failed lookup is not an absent record.
        rc => return Err(format!("TLSA {name}: {rc}")),
    }
    Ok(if answer.authentic_data() && !records.is_empty() {
        TlsaAnswer::Secure(records)
    } else {
        TlsaAnswer::Insecure
    })
}

/// The addresses of `host`: static `[[smtp.dns.a]]` records, then A and
/// AAAA lookups.
pub async fn addresses(dns: &DnsLookup, host: &str, port: u16) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for kind in ["A", "AAAA"] {
        if let Ok(found) = dns.records(host, kind).await {
            out.extend(
                found
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                    .map(|ip| SocketAddr::new(ip, port)),
            );
        }
    }
    out
}
