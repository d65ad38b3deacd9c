//! The DNS lookups of outbound policy: `_mta-sts` TXT, policy host
//! addresses, and DNSSEC-authenticated MX and TLSA answers.
//!
//! DANE (RFC 7672 2.2): TLSA records count only when the answer is
//! authenticated, and only for MX hosts that came from an authenticated MX
//! answer (2.2.1: an attacker who can forge the MX RRset picks hosts whose
//! TLSA records he controls; for a domain without MX, the authenticated
//! denial counts). From `[smtp.dns]` static records that is their `secure`
//! marker (all of a name's records must carry it); otherwise the query
//! goes, with the AD and DO bits set (RFC 6840 5.7, RFC 3225), to the
//! configured resolver (or the first `nameserver` of /etc/resolv.conf),
//! over UDP and again over TCP when the answer is truncated (RFC 7766),
//! and it is trusted only when that resolver sets the AD bit. Like
//! Postfix's `smtp_dns_support_level = dnssec`, this trusts the path to
//! the resolver: use a validating resolver on the same host.

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
    let statics: Vec<_> = dns
        .record
        .iter()
        .filter(|r| r.kind == sealpost_config::StaticRecordType::Tlsa && same(&r.name, name))
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
    let answer = query(resolver(smtp)?, name, RecordType::TLSA).await?;
    let records: Vec<String> = answer
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::TLSA(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    Ok(if answer.authentic_data() && !records.is_empty() {
        TlsaAnswer::Secure(records)
    } else {
        TlsaAnswer::Insecure
    })
}

/// Whether the MX answer of `domain` is DNSSEC-authenticated (an
/// authenticated "no MX" included): static MX records by their `secure`
/// marker (all of them), otherwise the resolver's AD bit.
pub async fn mx_secure(smtp: &SmtpConfig, domain: &str) -> Result<bool, String> {
    let statics: Vec<_> = smtp
        .dns
        .mx
        .iter()
        .filter(|m| same(&m.name, domain))
        .collect();
    if !statics.is_empty() {
        return Ok(statics.iter().all(|m| m.secure));
    }
    if smtp.dns.static_only {
        return Ok(false);
    }
    let answer = query(resolver(smtp)?, domain, RecordType::MX).await?;
    Ok(answer.authentic_data())
}

fn same(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

fn resolver(smtp: &SmtpConfig) -> Result<SocketAddr, String> {
    match smtp.dns.resolver {
        Some(a) => Ok(a),
        None => system_resolver().ok_or_else(|| "no resolver for DNSSEC lookups".to_string()),
    }
}

fn system_resolver() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines().find_map(|l| {
        let ip = l.trim().strip_prefix("nameserver")?.trim();
        IpAddr::from_str(ip).ok().map(|ip| SocketAddr::new(ip, 53))
    })
}

/// How long one query may take (each of UDP and TCP).
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read over TCP (the length prefix allows 65535).
const MAX_TCP_ANSWER: usize = 65_535;

/// Asks `server` for `name`/`rtype` with AD and DO set: over UDP, and over
/// TCP when the UDP answer is truncated. A failed lookup (other than
/// NXDOMAIN) is an error, not an absent record (RFC 7672 2.1.1).
async fn query(server: SocketAddr, name: &str, rtype: RecordType) -> Result<Message, String> {
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
    msg.add_query(Query::query(fqdn, rtype));
    let bytes = msg.to_vec().map_err(|e| e.to_string())?;
    let what = format!("{rtype} {name}");
    let mut answer = tokio::time::timeout(QUERY_TIMEOUT, over_udp(server, id, &bytes))
        .await
        .map_err(|_| format!("{what}: timed out"))?
        .map_err(|e| format!("{what}: {e}"))?;
    if answer.truncated() {
        answer = tokio::time::timeout(QUERY_TIMEOUT, over_tcp(server, id, &bytes))
            .await
            .map_err(|_| format!("{what}: timed out over TCP"))?
            .map_err(|e| format!("{what} over TCP: {e}"))?;
    }
    use mail_auth::hickory_resolver::proto::op::ResponseCode;
    match answer.response_code() {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(answer),
        rc => Err(format!("{what}: {rc}")),
    }
}

async fn over_udp(server: SocketAddr, id: u16, query: &[u8]) -> std::io::Result<Message> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("valid")
    } else {
        "[::]:0".parse().expect("valid")
    };
    let sock = tokio::net::UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    sock.send(query).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await?;
        if let Ok(m) = Message::from_vec(&buf[..n])
            && m.id() == id
        {
            return Ok(m);
        }
    }
}

/// One query over TCP: two octets of length, then the message (RFC 1035
/// 4.2.2), each way.
async fn over_tcp(server: SocketAddr, id: u16, query: &[u8]) -> std::io::Result<Message> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let len = u16::try_from(query.len()).map_err(std::io::Error::other)?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(query);
    stream.write_all(&out).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let len = usize::from(u16::from_be_bytes(len)).min(MAX_TCP_ANSWER);
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    let m = Message::from_vec(&buf).map_err(std::io::Error::other)?;
    if m.id() != id {
        return Err(std::io::Error::other("answer to another query"));
    }
    Ok(m)
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

#[cfg(test)]
mod tests {
    use super::*;
    use mail_auth::hickory_resolver::proto::rr::Record;
    use mail_auth::hickory_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
    use mail_auth::hickory_resolver::proto::rr::rdata::{MX, TLSA};

    /// A resolver on loopback: over UDP every answer is truncated and
    /// empty; over TCP it answers with a TLSA or MX record, the AD bit set
    /// as `ad` says. Returns its address (UDP and TCP on one port).
    async fn resolver_truncating_udp(ad: bool) -> SocketAddr {
        let (tcp, udp) = loop {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = tcp.local_addr().unwrap().port();
            if let Ok(udp) = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await {
                break (tcp, udp);
            }
        };
        let addr = tcp.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                let mut r = Message::from_vec(&buf[..n]).unwrap().to_response();
                r.set_truncated(true);
                let _ = udp.send_to(&r.to_vec().unwrap(), peer).await;
            }
        });
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = tcp.accept().await {
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.unwrap();
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut q).await.unwrap();
                let mut r = Message::from_vec(&q).unwrap().to_response();
                let query = r.queries()[0].clone();
                let data = match query.query_type() {
                    RecordType::MX => RData::MX(MX::new(10, Name::from_str("mx.t.").unwrap())),
                    _ => RData::TLSA(TLSA::new(
                        CertUsage::DaneEe,
                        Selector::Spki,
                        Matching::Sha256,
                        vec![0xab; 32],
                    )),
                };
                r.add_answer(Record::from_rdata(query.name().clone(), 60, data));
                r.set_authentic_data(ad);
                let bytes = r.to_vec().unwrap();
                let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
                out.extend_from_slice(&bytes);
                let _ = s.write_all(&out).await;
            }
        });
        addr
    }

    fn smtp_with(resolver: SocketAddr) -> SmtpConfig {
        let mut smtp = SmtpConfig::default();
        smtp.dns.resolver = Some(resolver);
        smtp.dns.static_only = false;
        smtp
    }

    #[tokio::test]
    async fn a_truncated_answer_is_asked_again_over_tcp() {
        let smtp = smtp_with(resolver_truncating_udp(true).await);
        match tlsa(&smtp, "_25._tcp.mx.t").await.unwrap() {
            TlsaAnswer::Secure(records) => {
                assert_eq!(records.len(), 1);
                assert!(records[0].starts_with("3 1 1 "), "{records:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(mx_secure(&smtp, "t").await, Ok(true));
    }

    #[tokio::test]
    async fn answers_without_the_ad_bit_are_not_authenticated() {
        let smtp = smtp_with(resolver_truncating_udp(false).await);
        assert_eq!(
            tlsa(&smtp, "_25._tcp.mx.t").await.unwrap(),
            TlsaAnswer::Insecure
        );
        assert_eq!(mx_secure(&smtp, "t").await, Ok(false));
    }

    #[tokio::test]
    async fn static_mx_records_are_secure_only_when_all_say_so() {
        let text = "[smtp.dns]\nstatic_only = true\n\
            [[smtp.dns.mx]]\nname = \"a.example\"\nhost = \"mx1.a.example\"\nsecure = true\n\
            [[smtp.dns.mx]]\nname = \"b.example\"\nhost = \"mx1.b.example\"\nsecure = true\n\
            [[smtp.dns.mx]]\nname = \"b.example\"\nhost = \"mx2.b.example\"\n";
        let path = std::path::Path::new("/nonexistent/sealpost.toml");
        let config = sealpost_config::Config::parse(path, text).unwrap();
        let smtp = &config.smtp;
        assert_eq!(mx_secure(smtp, "A.example.").await, Ok(true));
        assert_eq!(mx_secure(smtp, "b.example").await, Ok(false));
        assert_eq!(mx_secure(smtp, "c.example").await, Ok(false));
    }
}
