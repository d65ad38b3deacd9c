//! Outbound TLS policy: what a mail exchanger must show before the queue
//! hands it a message, beyond opportunistic STARTTLS (RFC 7435).
//!
//! For each MX host of a recipient domain, in this order (RFC 8461 2:
//! DANE wins over MTA-STS, and an MTA-STS policy never overrides a failing
//! DANE check):
//!
//! 1. DANE (RFC 7672): DNSSEC-authenticated TLSA records at
//!    `_PORT._tcp.HOST` of an MX host from a DNSSEC-authenticated MX
//!    answer (`dns.rs`): TLS is required and the certificate
//!    must match a usable record (`dane.rs`, `verify.rs`); a host whose
//!    records are all unusable gets TLS without authentication.
//! 2. MTA-STS (RFC 8461): the domain's policy (`_mta-sts` TXT, policy over
//!    HTTPS in `fetch.rs`, cached per `max_age` in `cache.rs`). `enforce`:
//!    only MX hosts matching the policy's `mx` patterns are tried, TLS is
//!    required and the certificate must be valid for the host (WebPKI);
//!    `testing`: delivery goes ahead, failures are recorded and reported.
//! 3. Otherwise opportunistic TLS as before.
//!
//! A host that fails a required check is not given the message: the
//! attempt is deferred (`4.7.5`) and retried like any temporary failure
//! until the queue lifetime ends (RFC 8461 5.1 and RFC 7672 2.2 ask for a
//! deferral, not a bounce). Every decision is in the `tls` field of the
//! queue's `queue_attempt` log line.
//!
//! The sender can ask for more or less (RFC 8689, `requiretls.rs`):
//! `REQUIRETLS` keeps only hosts authenticated by DANE or MTA-STS (a
//! `testing` policy counts as `enforce`) and bounces (`5.7.10`) when there
//! is none; `TLS-Required: No` sets DANE and MTA-STS aside.
//!
//! `[[smtp.route]]` hops are outside this: the route is the operator's own
//! decision, with its own `require_tls` and `ca_file`.

pub mod cache;
pub mod dane;
pub mod dns;
pub mod fetch;
pub mod mta_sts;
pub mod requiretls;
pub mod state_file;
pub mod tlsrpt;
pub mod verify;

use crate::lookup::DnsLookup;
use cache::{Cached, PolicyCache};
use mta_sts::{Mode, Policy};
pub use requiretls::TlsDemand;
use sealpost_config::{OutboundTlsConfig, SmtpConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use verify::Checked;

/// Which policy governs a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// DANE TLSA records.
    Dane,
    /// An MTA-STS policy in `enforce` mode.
    MtaStsEnforce,
    /// An MTA-STS policy in `testing` mode.
    MtaStsTesting,
    /// None: opportunistic TLS.
    Opportunistic,
}

impl Basis {
    /// How the log names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Dane => "dane",
            Basis::MtaStsEnforce => "mta-sts enforce",
            Basis::MtaStsTesting => "mta-sts testing",
            Basis::Opportunistic => "opportunistic",
        }
    }
}

/// What one MX host must show.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// The policy it falls under.
    pub basis: Basis,
    /// Plaintext is refused.
    pub required: bool,
    /// The certificate check (none for opportunistic TLS).
    pub check: Option<Arc<Checked>>,
    /// A failure found before connecting (a `testing` policy whose `mx`
    /// does not match the host).
    pub note: Option<String>,
    /// The policy as published, for TLS reports (policy lines or TLSA
    /// records).
    pub policy_strings: Vec<String>,
}

impl HostPolicy {
    /// No policy: TLS when offered, any certificate, plaintext otherwise;
    /// the check only records whether TLS was negotiated (TLS-RPT's
    /// `no-policy-found` counts).
    pub(crate) fn opportunistic() -> HostPolicy {
        HostPolicy {
            basis: Basis::Opportunistic,
            required: false,
            check: Some(Arc::new(Checked::opportunistic())),
            note: None,
            policy_strings: Vec::new(),
        }
    }

    /// The decision and its outcome after an attempt, for the log:
    /// `mta-sts enforce: certificate valid`, `dane: failed: ...`.
    pub fn verdict(&self) -> String {
        let base = self.basis.as_str();
        let outcome = match self.check.as_ref().map(|c| c.outcome()) {
            None => return base.to_string(),
            Some(Some(Ok(()))) if self.basis == Basis::Opportunistic => "TLS".to_string(),
            Some(None) => "no TLS handshake".to_string(),
            Some(Some(Ok(()))) => "certificate valid".to_string(),
            Some(Some(Err(e))) => format!("failed: {e}"),
        };
        match &self.note {
            Some(n) => format!("{base}: {n}; {outcome}"),
            None => format!("{base}: {outcome}"),
        }
    }

    /// Whether this host failed what its policy asks (for reports).
    pub fn failed(&self) -> bool {
        self.note.is_some()
            || self
                .check
                .as_ref()
                .is_some_and(|c| !matches!(c.outcome(), Some(Ok(()))))
    }
}

/// The MX hosts of a domain under its policy.
#[derive(Debug)]
pub struct DomainPlan {
    /// Hosts to try, in order, with what each must show.
    pub hosts: Vec<(String, HostPolicy)>,
    /// Hosts an `enforce` policy excludes.
    pub refused: Vec<String>,
}

/// Outbound policy lookups and the policy cache.
pub struct Outbound {
    smtp: SmtpConfig,
    dns: Option<DnsLookup>,
    cache: PolicyCache,
    /// TLS-RPT counts (RFC 8460).
    pub reports: tlsrpt::TlsRpt,
}

impl Outbound {
    /// Policies for the queue of `data_dir` (its sealed cache and report
    /// files are there, sealed under keys derived from `master_key`).
    pub fn new(
        smtp: &SmtpConfig,
        data_dir: &Path,
        master_key: &Path,
    ) -> Result<Outbound, sealpost_store::StoreError> {
        let dns = DnsLookup::new(smtp)
            .inspect_err(|e| tracing::warn!(error = %e, "no resolver for outbound TLS policy"))
            .ok();
        let cache_key = sealpost_store::FileKey::load(master_key, "mta-sts-cache")?;
        let report_key = sealpost_store::FileKey::load(master_key, "tls-rpt")?;
        Ok(Outbound {
            smtp: smtp.clone(),
            dns,
            cache: PolicyCache::open(data_dir, cache_key),
            reports: tlsrpt::TlsRpt::open(data_dir, report_key, crate::queue::now()),
        })
    }

    /// The `rua` URIs of `domain`'s `_smtp._tls` record (RFC 8460 3).
    pub async fn rua(&self, domain: &str) -> Option<Vec<String>> {
        let txt = self
            .dns
            .as_ref()?
            .records(&format!("_smtp._tls.{domain}"), "TXT")
            .await
            .ok()?;
        txt.iter().find_map(|t| tlsrpt::parse_rua(t))
    }

    /// POSTs a gzipped report to an `https:` rua.
    pub async fn post_https_report(&self, uri: &str, gz: &[u8]) -> Result<(), String> {
        let dns = self.dns.as_ref().ok_or("no resolver")?;
        let rest = uri.strip_prefix("https://").ok_or("not an https URI")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| "bad port")?),
            None => (authority, 443),
        };
        let addrs = dns::addresses(dns, host, port).await;
        let roots = verify::webpki_roots(self.config().ca_file.as_deref())?;
        let tls = rustls::ClientConfig::builder_with_provider(verify::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let timeout = Duration::from_secs(self.config().policy_timeout_secs);
        fetch::post_report(host, path, &addrs, Arc::new(tls), gz.to_vec(), timeout).await
    }

    pub(crate) fn config(&self) -> &OutboundTlsConfig {
        &self.smtp.outbound_tls
    }

    /// What each of `hosts` (the MX hosts of `domain`, in preference
    /// order) must show.
    pub async fn plan(
        &self,
        domain: &str,
        hosts: Vec<String>,
        now: i64,
        demand: TlsDemand,
    ) -> DomainPlan {
        let mut plan = DomainPlan {
            hosts: Vec::new(),
            refused: Vec::new(),
        };
        if demand == TlsDemand::PolicyIgnored {
            plan.hosts = hosts
                .into_iter()
                .map(|h| (h, HostPolicy::opportunistic()))
                .collect();
            return plan;
        }
        let require = demand == TlsDemand::RequireTls;
        // RFC 7672 2.2.1: TLSA records count only for MX hosts from an
        // authenticated MX answer.
        let dane = match self.config().dane {
            false => false,
            true => match dns::mx_secure(&self.smtp, domain).await {
                Ok(secure) => secure,
                Err(e) => {
                    plan.refused = hosts
                        .into_iter()
                        .map(|h| format!("{h} (DANE lookup failed: {e})"))
                        .collect();
                    return plan;
                }
            },
        };
        let sts = if self.config().mta_sts {
            self.mta_sts_policy(domain, now).await
        } else {
            None
        };
        for host in hosts {
            if dane {
                match self.dane_policy(&host).await {
                    Ok(Some(p)) => {
                        plan.hosts.push((host, p));
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // RFC 7672 2.1.1: the host cannot be used now.
                        plan.refused
                            .push(format!("{host} (DANE lookup failed: {e})"));
                        continue;
                    }
                }
            }
            match &sts {
                Some(policy) if policy.mode != Mode::None => {
                    let enforce = policy.mode == Mode::Enforce || require;
                    let matches = policy.matches(&host);
                    if enforce && !matches {
                        plan.refused
                            .push(format!("{host} (not in the MTA-STS policy)"));
                        continue;
                    }
                    let mut p = self.sts_host(enforce, matches);
                    p.policy_strings = policy.lines();
                    plan.hosts.push((host.clone(), p));
                }
                _ if require => plan
                    .refused
                    .push(format!("{host} (neither DANE nor MTA-STS: REQUIRETLS)")),
                _ => plan.hosts.push((host, HostPolicy::opportunistic())),
            }
        }
        plan
    }

    fn sts_host(&self, enforce: bool, matches: bool) -> HostPolicy {
        let ca = self.config().ca_file.as_deref();
        let check = verify::webpki_roots(ca).and_then(|roots| Checked::webpki(roots, enforce));
        let check = match check {
            Ok(c) => Arc::new(c),
            Err(e) => {
                // No roots: an enforced policy cannot be met (defer), a
                // testing one still delivers.
                tracing::error!(error = %e, "cannot load the WebPKI roots for MTA-STS");
                Arc::new(Checked::failing(e, enforce))
            }
        };
        HostPolicy {
            basis: if enforce {
                Basis::MtaStsEnforce
            } else {
                Basis::MtaStsTesting
            },
            required: enforce,
            check: Some(check),
            note: (!matches).then(|| "MX host not in the policy".to_string()),
            policy_strings: Vec::new(),
        }
    }

    async fn dane_policy(&self, host: &str) -> Result<Option<HostPolicy>, String> {
        let name = format!(
            "_{}._tcp.{}",
            self.smtp.relay_port,
            host.trim_end_matches('.')
        );
        let dns::TlsaAnswer::Secure(records) = dns::tlsa(&self.smtp, &name).await? else {
            return Ok(None);
        };
        let usable: Vec<_> = records
            .iter()
            .take(dane::MAX_TLSA)
            .filter_map(|r| dane::parse_tlsa(r))
            .collect();
        let check = if usable.is_empty() {
            Checked::tls_only()
        } else {
            Checked::dane(usable)
        };
        Ok(Some(HostPolicy {
            basis: Basis::Dane,
            required: true,
            check: Some(Arc::new(check)),
            note: None,
            policy_strings: records.into_iter().take(dane::MAX_TLSA).collect(),
        }))
    }

    /// The policy of `domain` in force at `now`: the cached one while the
    /// record's `id` is unchanged and it has not expired; otherwise a fresh
    /// fetch; a failed fetch or lookup falls back to a cached policy still
    /// in force (RFC 8461 5.1: never a downgrade because of a failure).
    pub async fn mta_sts_policy(&self, domain: &str, now: i64) -> Option<Policy> {
        let dns = self.dns.as_ref()?;
        let cached = self.cache.get(domain).filter(|c| c.valid_at(now));
        let txt = dns.records(&format!("_mta-sts.{domain}"), "TXT").await;
        let id = match txt.ok().and_then(|t| mta_sts::pick_record(&t)) {
            Some(Ok(id)) => id,
            _ => return cached.map(|c| c.policy),
        };
        if let Some(c) = &cached
            && c.id == id
        {
            return Some(c.policy.clone());
        }
        match self.fetch(dns, domain).await {
            Ok(policy) => {
                let entry = Cached {
                    id,
                    policy: policy.clone(),
                    fetched: now,
                };
                if let Err(e) = self.cache.put(domain, entry, now).await {
                    tracing::error!(error = %e, "cannot write the MTA-STS cache");
                }
                Some(policy)
            }
            Err(e) => {
                tracing::warn!(%domain, error = %e, "MTA-STS policy fetch failed");
                cached.map(|c| c.policy)
            }
        }
    }

    async fn fetch(&self, dns: &DnsLookup, domain: &str) -> Result<Policy, String> {
        let cfg = self.config();
        let host = format!("mta-sts.{domain}");
        let addrs = dns::addresses(dns, &host, cfg.mta_sts_port).await;
        let roots = verify::webpki_roots(cfg.ca_file.as_deref())?;
        let tls = rustls::ClientConfig::builder_with_provider(verify::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let limits = fetch::FetchLimits {
            timeout: Duration::from_secs(cfg.policy_timeout_secs),
            max_bytes: cfg.policy_max_bytes,
        };
        let text = fetch::fetch_policy(&host, &addrs, Arc::new(tls), &limits).await?;
        mta_sts::parse_policy(&text).map_err(|e| format!("policy of {domain}: {e}"))
    }
}
