//! Message authentication: DKIM signing of submitted mail (RFC 6376,
//! ed25519-sha256 per RFC 8463; every key of the From: domain signs, and
//! the keys are replaced whole on a reload), and on inbound mail SPF (RFC 7208), DKIM
//! and DMARC (RFC 7489) checks written into an `Authentication-Results`
//! header (RFC 8601). The work is done by the mail-auth crate; DNS goes
//! through its hickory resolver, with `[smtp.dns]` static records answered
//! first (and, with `static_only`, exclusively).
//!
//! DMARC `p=reject` is honoured when `smtp.dmarc.enforce_reject` is set:
//! such mail is refused with `550 5.7.1`. `p=quarantine` mail is delivered
//! (the header records the failure). Incoming `Authentication-Results`
//! headers that claim our host name are removed (RFC 8601 5).

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::{DkimSigner, Done};
use mail_auth::dmarc::{Dmarc, Policy};
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::{Spf, verify::SpfParameters};
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DmarcResult, Error as AuthError, MX,
    MessageAuthenticator, Parameters, ResolverCache, Txt, dmarc::verify::DmarcParameters,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::{self, PemObject};
use sealpost_config::{Config, SmtpConfig};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Headers covered by our DKIM signatures.
const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// A ready signer per domain (key, `d=`, `s=`, signed headers).
enum Signer {
    Ed25519(String, DkimSigner<Ed25519Key, Done>),
    Rsa(String, DkimSigner<RsaKey<Sha256>, Done>),
}

impl Signer {
    fn domain(&self) -> &str {
        match self {
            Signer::Ed25519(d, _) | Signer::Rsa(d, _) => d,
        }
    }
}

/// Why authentication could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailAuthError(pub String);

/// The verdict on an inbound message.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// The `Authentication-Results:` header, CRLF-terminated.
    pub header: String,
    /// DMARC failed and the domain asks for rejection.
    pub dmarc_reject: bool,
    /// Why the message must not be forwarded outside, if it must not: SPF
    /// failed hard (`-all`), or DMARC failed where the domain publishes
    /// `p=reject` (whatever `enforce_reject` says). See `delivery.rs`.
    pub no_forward: Option<&'static str>,
}

/// DKIM signing keys, the resolver and the static DNS records.
pub(crate) struct MailAuth {
    authenticator: MessageAuthenticator,
    dns: StaticDns,
    /// The keys that sign, replaced whole by [`MailAuth::reload_signers`].
    signers: RwLock<Arc<Vec<Signer>>>,
    enforce_reject: bool,
}

impl MailAuth {
    /// Loads DKIM keys and builds the resolver from `[smtp]`.
    pub(crate) fn new(config: &Config) -> Result<MailAuth, MailAuthError> {
        let smtp = &config.smtp;
        let signers = RwLock::new(Arc::new(load_signers(config)?));
        let authenticator = authenticator(smtp)?;
        Ok(MailAuth {
            authenticator,
            dns: StaticDns::new(smtp),
            signers,
            enforce_reject: smtp.dmarc.enforce_reject,
        })
    }

    /// Loads the `[[smtp.dkim]]` keys of `config` and signs with them from
    /// now on; on error the keys in use stay. Returns how many sign.
    pub(crate) fn reload_signers(&self, config: &Config) -> Result<usize, MailAuthError> {
        let signers = load_signers(config)?;
        let n = signers.len();
        *self.signers.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(signers);
        Ok(n)
    }

    /// `DKIM-Signature:` headers, one per signing key of the domain of the
    /// message's From: (RFC 6376 and RFC 8463 both: a verifier that knows
    /// only one algorithm checks that one); `None` when no key is for it.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<String> {
        let parsed = mail_parser::MessageParser::default().parse_headers(message)?;
        let from = parsed.from()?.first()?.address()?.to_ascii_lowercase();
        let domain = from.rsplit_once('@')?.1;
        let signers = self
            .signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut headers = String::new();
        for signer in signers.iter().filter(|s| s.domain() == domain) {
            let result = match signer {
                Signer::Ed25519(_, s) => s.sign(message),
                Signer::Rsa(_, s) => s.sign(message),
            };
            match result {
                Ok(sig) => headers.push_str(&sig.to_header()),
                Err(e) => tracing::warn!(error = %e, "DKIM signing failed"),
            }
        }
        (!headers.is_empty()).then_some(headers)
    }

    /// Checks SPF, DKIM and DMARC of an inbound message.
    pub(crate) async fn verify(
        &self,
        message: &[u8],
        ip: IpAddr,
        helo: &str,
        sender: &str,
        hostname: &str,
    ) -> Verdict {
        let spf = self
            .authenticator
            .verify_spf(
                Parameters::new(SpfParameters::verify_mail_from(ip, helo, hostname, sender))
                    .with_txt_cache(&self.dns)
                    .with_mx_cache(&self.dns)
                    .with_ipv4_cache(&self.dns)
                    .with_ipv6_cache(&self.dns)
                    .with_ptr_cache(&self.dns),
            )
            .await;
        let mut ar = AuthenticationResults::new(hostname);
        let spf_fail = (spf.result() == mail_auth::SpfResult::Fail).then_some("SPF failed");
        let Some(parsed) = AuthenticatedMessage::parse(message) else {
            ar = ar.with_spf_mailfrom_result(&spf, ip, sender, helo);
            return Verdict {
                header: clean_header(&ar.to_header()),
                dmarc_reject: false,
                no_forward: spf_fail,
            };
        };
        let dkim = self
            .authenticator
            .verify_dkim(Parameters::new(&parsed).with_txt_cache(&self.dns))
            .await;
        let mail_from_domain = sender.rsplit_once('@').map_or(helo, |(_, d)| d);
        let dmarc = self
            .authenticator
            .verify_dmarc(
                Parameters::new(DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf))
                    .with_txt_cache(&self.dns),
            )
            .await;
        let from_domain = parsed
            .from
            .first()
            .and_then(|f| f.rsplit_once('@'))
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        ar = ar
            .with_dkim_results(&dkim, &from_domain)
            .with_spf_mailfrom_result(&spf, ip, sender, helo)
            .with_dmarc_result(&dmarc);
        // A published policy and neither an aligned SPF pass nor an aligned
        // DKIM pass is a DMARC failure (RFC 7489 4.2). mail-auth leaves both
        // results at None then, and its header says "none": say "fail".
        let failed = dmarc.dmarc_record().is_some()
            && dmarc.dkim_result() != &DmarcResult::Pass
            && dmarc.spf_result() != &DmarcResult::Pass
            && !matches!(dmarc.dkim_result(), DmarcResult::TempError(_))
            && !matches!(dmarc.spf_result(), DmarcResult::TempError(_));
        let mut header = ar.to_header();
        if failed {
            header = header.replace(";\r\n\tdmarc=none ", ";\r\n\tdmarc=fail ");
        }
        let policy_reject = failed && dmarc.policy() == Policy::Reject;
        Verdict {
            header: clean_header(&header),
            dmarc_reject: self.enforce_reject && policy_reject,
            no_forward: spf_fail.or(policy_reject.then_some("DMARC failed under p=reject")),
        }
    }

    /// MX hosts of a domain in preference order (static records first).
    pub(crate) async fn mx(&self, domain: &str) -> Result<Vec<String>, String> {
        let mx = self
            .authenticator
            .mx_lookup(domain, Some(&self.dns))
            .await
            .map_err(|e| e.to_string())?;
        let mut list: Vec<&MX> = mx.iter().collect();
        list.sort_by_key(|m| m.preference);
        Ok(list
            .into_iter()
            .flat_map(|m| {
                m.exchanges
                    .iter()
                    .map(|e| e.trim_end_matches('.').to_string())
            })
            .collect())
    }

    /// Addresses of a host (static records first).
    pub(crate) async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let mut out: Vec<IpAddr> = Vec::new();
        if let Ok(v4) = self.authenticator.ipv4_lookup(host, Some(&self.dns)).await {
            out.extend(v4.iter().map(|a| IpAddr::V4(*a)));
        }
        if let Ok(v6) = self.authenticator.ipv6_lookup(host, Some(&self.dns)).await {
            out.extend(v6.iter().map(|a| IpAddr::V6(*a)));
        }
        if out.is_empty() {
            Err(format!("no address for {host}"))
        } else {
            Ok(out)
        }
    }
}

/// The resolver `[smtp.dns]` names: its `resolver`, none with
/// `static_only`, else the system's.
pub(crate) fn authenticator(smtp: &SmtpConfig) -> Result<MessageAuthenticator, MailAuthError> {
    match smtp.dns.resolver {
        Some(addr) => MessageAuthenticator::new(
            ResolverConfig::from_parts(
                None,
                vec![],
                NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
            ),
            ResolverOpts::default(),
        ),
        None if smtp.dns.static_only => MessageAuthenticator::new(
            ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::default()),
            ResolverOpts::default(),
        ),
        None => MessageAuthenticator::new_system_conf(),
    }
    .map_err(|e| MailAuthError(format!("DNS resolver: {e}")))
}

/// A signer for every `[[smtp.dkim]]` key that signs (`sign = true`).
fn load_signers(config: &Config) -> Result<Vec<Signer>, MailAuthError> {
    let mut signers = Vec::new();
    for k in config.smtp.dkim.iter().filter(|k| k.signs()) {
        let path = SmtpConfig::resolve_path(&config.path, &k.key);
        let bad = |e: String| MailAuthError(format!("DKIM key {}: {e}", path.display()));
        let pem = match &k.shared_pem {
            Some(shared) => shared.0.to_vec(),
            None => std::fs::read(&path).map_err(|e| bad(e.to_string()))?,
        };
        let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
            pem::Error::NoItemsFound => bad("no private key in the file".into()),
            e => bad(e.to_string()),
        })?;
        let domain = k.domain.to_ascii_lowercase();
        signers.push(if k.is_ed25519() {
            let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(der.secret_der())
                .map_err(|e| bad(e.to_string()))?;
            Signer::Ed25519(
                domain.clone(),
                DkimSigner::from_key(key)
                    .domain(&domain)
                    .selector(&k.selector)
                    .headers(SIGNED_HEADERS),
            )
        } else {
            let key = RsaKey::<Sha256>::from_key_der(der).map_err(|e| bad(e.to_string()))?;
            Signer::Rsa(
                domain.clone(),
                DkimSigner::from_key(key)
                    .domain(&domain)
                    .selector(&k.selector)
                    .headers(SIGNED_HEADERS),
            )
        });
    }
    Ok(signers)
}

/// Keeps the header's folding (CRLF + tab) and replaces any other control
/// character, so nothing taken from the message can add a header line.
fn clean_header(h: &str) -> String {
    let mut out = String::with_capacity(h.len() + 2);
    for (i, piece) in h.trim_end_matches("\r\n").split("\r\n").enumerate() {
        if i > 0 {
            out.push_str("\r\n");
            if !piece.starts_with([' ', '\t']) {
                out.push('\t');
            }
        }
        out.extend(
            piece
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c }),
        );
    }
    out.push_str("\r\n");
    out
}

/// Removes `Authentication-Results` header fields that claim `hostname`
/// as their authserv-id (RFC 8601 5): they are forgeries.
pub(crate) fn strip_forged_results(message: &[u8], hostname: &str) -> Vec<u8> {
    let header_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(message.len());
    let mut skipping = false;
    let mut pos = 0;
    while pos < header_end {
        let end = message[pos..header_end]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| pos + p + 2)
            .unwrap_or(header_end);
        let line = &message[pos..end];
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = false;
            if line.len() > 23 && line[..23].eq_ignore_ascii_case(b"Authentication-Results:") {
                let id: Vec<u8> = line[23..]
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace())
                    .take_while(|b| !b.is_ascii_whitespace() && **b != b';')
                    .copied()
                    .collect();
                skipping = id.eq_ignore_ascii_case(hostname.as_bytes());
            }
        }
        if !skipping {
            out.extend_from_slice(line);
        }
        pos = end;
    }
    out.extend_from_slice(&message[header_end..]);
    out
}

/// `[smtp.dns]` static records, consulted before the resolver.
pub(crate) struct StaticDns {
    txt: HashMap<String, Txt>,
    mx: HashMap<String, Arc<Vec<MX>>>,
    v4: HashMap<String, Arc<Vec<Ipv4Addr>>>,
    v6: HashMap<String, Arc<Vec<Ipv6Addr>>>,
    static_only: bool,
}

fn fqdn(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

impl StaticDns {
    fn new(smtp: &SmtpConfig) -> StaticDns {
        let mut txt = HashMap::new();
        for r in &smtp.dns.txt {
            let v = r.value.as_bytes();
            let lower = r.value.trim_start().to_ascii_lowercase();
            let record: Txt = if lower.starts_with("v=spf1") {
                Spf::parse(v).into()
            } else if lower.starts_with("v=dmarc1") {
                Dmarc::parse(v).into()
            } else {
                DomainKey::parse(v).into()
            };
            txt.insert(fqdn(&r.name), record);
        }
        let mut mx: HashMap<String, Vec<MX>> = HashMap::new();
        for r in &smtp.dns.mx {
            mx.entry(fqdn(&r.name)).or_default().push(MX {
                exchanges: vec![fqdn(&r.host)],
                preference: r.preference,
            });
        }
        let mut v4: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
        let mut v6: HashMap<String, Vec<Ipv6Addr>> = HashMap::new();
        for r in &smtp.dns.a {
            match r.addr {
                IpAddr::V4(a) => v4.entry(fqdn(&r.name)).or_default().push(a),
                IpAddr::V6(a) => v6.entry(fqdn(&r.name)).or_default().push(a),
            }
        }
        StaticDns {
            txt,
            mx: mx.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            v4: v4.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            v6: v6.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            static_only: smtp.dns.static_only,
        }
    }
}

macro_rules! static_cache {
    ($map:ident, $v:ty, $missing:expr) => {
        impl ResolverCache<String, $v> for StaticDns {
            fn get<Q>(&self, name: &Q) -> Option<$v>
            where
                String: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                match self.$map.get(name) {
                    Some(v) => Some(v.clone()),
                    None if self.static_only => Some($missing),
                    None => None,
                }
            }
            fn remove<Q>(&self, _: &Q) -> Option<$v>
            where
                String: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                None
            }
            fn insert(&self, _: String, _: $v, _: Instant) {}
        }
    };
}

static_cache!(
    txt,
    Txt,
    Txt::Error(AuthError::DnsRecordNotFound(ResponseCode::NXDomain))
);
static_cache!(mx, Arc<Vec<MX>>, Arc::new(Vec::new()));
static_cache!(v4, Arc<Vec<Ipv4Addr>>, Arc::new(Vec::new()));
static_cache!(v6, Arc<Vec<Ipv6Addr>>, Arc::new(Vec::new()));

impl ResolverCache<IpAddr, Arc<Vec<String>>> for StaticDns {
    fn get<Q>(&self, _: &Q) -> Option<Arc<Vec<String>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.static_only.then(|| Arc::new(Vec::new()))
    }
    fn remove<Q>(&self, _: &Q) -> Option<Arc<Vec<String>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: IpAddr, _: Arc<Vec<String>>, _: Instant) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_results_are_removed() {
        let m = b"Authentication-Results: mx.example.org; dkim=pass\r\n\theader.d=x\r\nAuthentication-Results: other.example; spf=pass\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.org; body\r\n";
        let out = strip_forged_results(m, "mx.example.org");
        assert_eq!(
            out,
            b"Authentication-Results: other.example; spf=pass\r\nSubject: x\r\n\r\nAuthentication-Results: mx.example.org; body\r\n"
        );
    }

    #[test]
    fn header_cleaning_keeps_folding_only() {
        assert_eq!(
            clean_header("A-R: x;\r\n\tdkim=pass\r\nevil: y\0"),
            "A-R: x;\r\n\tdkim=pass\r\n\tevil: y \r\n"
        );
    }
}
