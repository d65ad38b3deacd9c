//! The queue runner: picks due messages, resolves next hops, relays, and
//! records the outcome (delivered, retry later with backoff, or bounce).
//!
//! Next hops (RFC 5321 5.1): a `[[smtp.route]]` for the domain wins;
//! otherwise MX records in preference order (`[smtp.dns]` static records
//! first, then the hickory resolver); otherwise the domain's own address
//! records (the implicit MX). Host addresses likewise: static
//! `[[smtp.dns.a]]` records, then A/AAAA lookups. Mail exchangers are
//! reached on `smtp.relay_port` (25). Messages are processed one at a time,
//! domain by domain.
//!
//! After an attempt: a delivered recipient is done (with a `relayed` DSN
//! if it asked for SUCCESS and the next hop does not speak DSN), a 5xx one
//! fails with a DSN, a 4xx or unreachable one stays for the next attempt
//! after [`backoff`]; past `smtp.queue_lifetime_secs` it fails, and past
//! `smtp.delay_warning_secs` it gets one `delayed` DSN.
//!
//! MX hosts fall under the recipient domain's outbound TLS policy
//! (`crate::outbound`: DANE, MTA-STS); a host that fails a required check
//! defers with `4.7.5` and the reason, and the attempt's log line says
//! which policy applied and how the host fared (`tls`).

use super::client::{self, RcptResult, RcptSpec, TlsPolicy, Transfer};
use super::dsn::{self, DsnAction, Notice, RecipientReport};
use super::{Queue, QueueEntry, RecipientStatus, now};
use crate::mailauth::MailAuth;
use crate::outbound::{HostPolicy, Outbound, TlsDemand};
use crate::wire::Notify;
use sealpost_audit::Event;
use sealpost_config::SmtpConfig;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One place to try.
#[derive(Debug, Clone)]
struct Hop {
    addr: SocketAddr,
    name: String,
    tls: TlsPolicy,
    /// The outbound TLS policy of an MX host (none for a route).
    policy: Option<HostPolicy>,
}

impl Queue {
    /// Runs the queue until `shutdown`: attempts due messages, sleeps until
    /// the next one is due or [`Queue::flush_now`] / a new message wakes it.
    /// Over a shared store it also looks at least every `[store]
    /// lease_secs`: entries other nodes queued, or a dead node left, are
    /// not announced to this node.
    pub async fn run(self, shutdown: CancellationToken) {
        let longest = if self.inner.store.shared_queue().is_some() {
            (self.inner.config.store.lease_secs as i64).clamp(1, 300)
        } else {
            300
        };
        loop {
            let mut next = self.run_once().await;
            // TLS reports (RFC 8460): sent when their period is over,
            // retried when a failed one is due.
            if let Some(due) = self.tls_reports_due() {
                if due <= now() {
                    self.run_tls_reports(now()).await;
                }
                let due = self.tls_reports_due().unwrap_or(due);
                next = Some(next.map_or(due, |n| n.min(due)));
            }
            self.flush_tls_counts().await;
            let wait = next
                .map(|t| (t - now()).clamp(1, longest) as u64)
                .unwrap_or(longest as u64);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
            }
        }
        self.flush_tls_counts().await;
    }

    /// Writes the TLS-RPT counts of this pass (they are written lazily).
    async fn flush_tls_counts(&self) {
        if let Err(e) = self.inner.outbound.reports.flush().await {
            tracing::error!(error = %e, "cannot write the TLS-RPT counts");
        }
    }

    /// Attempts every due message once; returns when the next one is due.
    pub async fn run_once(&self) -> Option<i64> {
        self.run_once_at(now()).await
    }

    /// [`Queue::run_once`] as if the time were `now` (Unix seconds): what is
    /// due, what has expired, what has waited long enough for a delay DSN
    /// and when the next attempt is (backoff) are all reckoned from `now`.
    pub async fn run_once_at(&self, now: i64) -> Option<i64> {
        let spool = self.inner.spool.clone();
        let ids = match tokio::task::spawn_blocking(move || spool.pass(now)).await {
            Ok(Ok(ids)) => ids,
            _ => return Some(now + 60),
        };
        let mut next: Option<i64> = None;
        for id in ids {
            let spool = self.inner.spool.clone();
            let rid = id.clone();
            // The entry's work lock before reading it, held until the
            // result is written (`spool.rs`): an operator's hold, delete
            // or bounce of this entry waits for the attempt, and one in
            // progress now makes this pass skip the entry.
            let locked = tokio::task::spawn_blocking(move || {
                let lock = spool.lock(&rid)?;
                match lock {
                    Some(lock) => spool.read(&rid).map(|read| Some((lock, read))),
                    None => Ok(None),
                }
            })
            .await;
            let (lock, (entry, message)) = match locked {
                Ok(Ok(Some(got))) => got,
                Ok(Ok(None)) => {
                    self.inner.spool.release(&id);
                    next = Some(next.map_or(now + 1, |n| n.min(now + 1)));
                    continue;
                }
                _ => {
                    self.inner.spool.release(&id);
                    continue;
                }
            };
            let smtp = &self.inner.config.smtp;
            let due = if entry.held {
                // The operator holds it: nothing until released (control.rs).
                None
            } else if entry.next_attempt <= now {
                self.attempt(entry, message, now).await
            } else if delay_warning_at(smtp.delay_warning_secs, &entry).is_some_and(|t| t <= now) {
                // Warn on time, not only at the next attempt (up to
                // retry_max_secs later).
                self.warn_delay(entry, message, now).await
            } else {
                Some(entry.next_attempt)
            };
            // The result is written (`record` waits for it): give the
            // entry back to the operator, then to every node.
            drop(lock);
            self.inner.spool.release(&id);
            if let Some(t) = due {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        // Shared: what other nodes hold or this pass did not claim.
        let spool = self.inner.spool.clone();
        match tokio::task::spawn_blocking(move || spool.next_due()).await {
            Ok(Ok(Some(t))) => next = Some(next.map_or(t, |n| n.min(t))),
            Ok(Ok(None)) => {}
            _ => return Some(now + 60),
        }
        next
    }

    /// One attempt for one message; returns its next due time if it stays.
    async fn attempt(&self, mut entry: QueueEntry, message: Vec<u8>, now: i64) -> Option<i64> {
        let config = &self.inner.config;
        let smtp = &config.smtp;
        let mut domains: Vec<String> = Vec::new();
        for r in &entry.recipients {
            if r.status == RecipientStatus::Pending {
                let d = domain_of(&r.address);
                if !domains.contains(&d) {
                    domains.push(d);
                }
            }
        }
        let mut reports: Vec<RecipientReport> = Vec::new();
        let mut attempts: Vec<Attempt> = Vec::new();
        let demand = TlsDemand::of(entry.requiretls, &message);
        for domain in domains {
            let idx: Vec<usize> = entry
                .recipients
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.status == RecipientStatus::Pending && domain_of(&r.address) == domain
                })
                .map(|(i, _)| i)
                .collect();
            let rcpts: Vec<RcptSpec> = idx
                .iter()
                .map(|&i| {
                    let r = &entry.recipients[i];
                    RcptSpec {
                        address: r.address.clone(),
                        notify: r.notify,
                        orcpt: r.orcpt.clone(),
                    }
                })
                .collect();
            let mail_auth = self.inner.mail_auth.get().cloned();
            let mut tls_verdicts: Vec<String> = Vec::new();
            let outbound = &self.inner.outbound;
            let dns = mail_auth.as_deref();
            let results = match next_hops(smtp, dns, outbound, &domain, now, demand).await {
                Ok(hops) if !hops.is_empty() => {
                    let transfer = Transfer {
                        helo: &config.server.hostname,
                        sender: &entry.sender,
                        recipients: &rcpts,
                        message: &message,
                        smtputf8: entry.smtputf8,
                        ret: entry.ret,
                        envid: entry.envid.as_deref(),
                        timeout: Duration::from_secs(smtp.relay_timeout_secs.max(1)),
                        requiretls: demand == TlsDemand::RequireTls,
                    };
                    self.try_hops(hops, &transfer, &domain, &mut tls_verdicts)
                        .await
                }
                Ok(_) => {
                    vec![RcptResult::Temporary(format!("no next hop for {domain}")); rcpts.len()]
                }
                Err(e) => vec![e; rcpts.len()],
            };
            for (i, result) in idx.into_iter().zip(results) {
                let r = &mut entry.recipients[i];
                attempts.push(Attempt::of(&domain, &result, tls_verdicts.join("; ")));
                match result {
                    RcptResult::Delivered { host, dsn } => {
                        self.inner.audit.record(Event::MessageRelayed {
                            id: entry.id.clone(),
                            recipient: r.address.clone(),
                            host: host.clone(),
                        });
                        // A next hop that took NOTIFY reports delivery itself.
                        if !dsn && Notify::success(r.notify) {
                            reports.push(RecipientReport {
                                recipient: r.address.clone(),
                                orcpt: r.orcpt.clone(),
                                action: DsnAction::Relayed,
                                status: "2.0.0".into(),
                                diagnostic: None,
                                remote_mta: Some(host.clone()),
                            });
                        }
                        r.status = RecipientStatus::Delivered { host };
                    }
                    RcptResult::Permanent(reason) => {
                        if Notify::failure(r.notify) {
                            reports.push(RecipientReport::failed(
                                &r.address,
                                r.orcpt.as_deref(),
                                dsn::status_of(&reason, true),
                                &reason,
                            ));
                        }
                        r.status = RecipientStatus::Failed { reason };
                    }
                    RcptResult::Temporary(reason) => r.last_error = Some(reason),
                }
            }
        }
        let lifetime_end = entry.created + smtp.queue_lifetime_secs as i64;
        let expired = now >= lifetime_end;
        for r in &mut entry.recipients {
            if r.status != RecipientStatus::Pending {
                continue;
            }
            let why = r
                .last_error
                .clone()
                .unwrap_or_else(|| "not delivered".into());
            if expired {
                // Lifetime over: what is still pending fails now.
                if Notify::failure(r.notify) {
                    reports.push(RecipientReport::failed(
                        &r.address,
                        r.orcpt.as_deref(),
                        "4.4.7".into(),
                        &why,
                    ));
                }
                r.status = RecipientStatus::Failed {
                    reason: format!("4.4.7 message expired in queue; last error: {why}"),
                };
            }
        }
        if !expired {
            reports.extend(delay_reports(smtp, &mut entry, now));
        }
        entry.attempts += 1;
        entry.next_attempt = now + backoff(smtp, entry.attempts) as i64;
        let pending = entry
            .recipients
            .iter()
            .any(|r| r.status == RecipientStatus::Pending);
        for a in &attempts {
            a.log(&entry, now, pending);
        }
        self.record(entry, message, reports).await
    }

    /// Tries `hops` in order until one takes or refuses the message for
    /// good (the next only when this one failed for all, temporarily);
    /// the last hop's results. Each MX host's TLS policy verdict goes to
    /// `tls_verdicts` and its session to the TLS report counts.
    async fn try_hops(
        &self,
        hops: Vec<Hop>,
        transfer: &Transfer<'_>,
        domain: &str,
        tls_verdicts: &mut Vec<String>,
    ) -> Vec<RcptResult> {
        let mut results = Vec::new();
        for hop in hops {
            results = client::deliver(hop.addr, &hop.name, &hop.tls, transfer).await;
            if let Some(policy) = &hop.policy {
                self.count_tls_session(domain, &hop.name, policy, &results)
                    .await;
                tls_verdicts.push(format!("{}: {}", hop.name, policy.verdict()));
                explain_refusal(policy, domain, &mut results);
            }
            if !results
                .iter()
                .all(|r| matches!(r, RcptResult::Temporary(_)))
            {
                break;
            }
        }
        results
    }

    /// Sends the `delayed` DSNs that are due for a message not yet due for
    /// an attempt; returns when it is next due.
    async fn warn_delay(&self, mut entry: QueueEntry, message: Vec<u8>, now: i64) -> Option<i64> {
        let reports = delay_reports(&self.inner.config.smtp, &mut entry, now);
        self.record(entry, message, reports).await
    }

    /// Sends `reports`, then writes the entry back (or removes it when no
    /// recipient is pending); returns its next due time if it stays.
    async fn record(
        &self,
        entry: QueueEntry,
        message: Vec<u8>,
        reports: Vec<RecipientReport>,
    ) -> Option<i64> {
        let smtp = &self.inner.config.smtp;
        let pending = entry
            .recipients
            .iter()
            .any(|r| r.status == RecipientStatus::Pending);
        let next = delay_warning_at(smtp.delay_warning_secs, &entry)
            .map_or(entry.next_attempt, |t| t.min(entry.next_attempt));
        let retry_until = entry.created + smtp.queue_lifetime_secs as i64;
        let queue = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            // DSNs first: a crash in between re-sends one rather than losing it.
            let notice = Notice {
                sender: &entry.sender,
                id: &entry.id,
                envid: entry.envid.as_deref(),
                ret: entry.ret,
                arrival: entry.created,
                retry_until: Some(retry_until),
                original: &message,
                requiretls: entry.requiretls,
            };
            dsn::send(&queue, &notice, &reports);
            let result = if pending {
                queue.inner.spool.update(&entry, &message)
            } else {
                queue.inner.spool.remove(&entry.id)
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "queue update failed");
            }
        })
        .await;
        pending.then_some(next)
    }
}

/// When the message's pending recipients that want a `delayed` DSN and
/// have not had one are due for it; `None` when none is.
pub(crate) fn delay_warning_at(delay_warning_secs: u64, entry: &QueueEntry) -> Option<i64> {
    (delay_warning_secs > 0
        && entry.recipients.iter().any(|r| {
            r.status == RecipientStatus::Pending && !r.delay_reported && Notify::delay(r.notify)
        }))
    .then(|| entry.created.saturating_add(delay_warning_secs as i64))
}

/// The `delayed` reports due at `now`, marking those recipients reported.
fn delay_reports(smtp: &SmtpConfig, entry: &mut QueueEntry, now: i64) -> Vec<RecipientReport> {
    if delay_warning_at(smtp.delay_warning_secs, entry).is_none_or(|t| t > now) {
        return Vec::new();
    }
    let mut reports = Vec::new();
    for r in &mut entry.recipients {
        if r.status == RecipientStatus::Pending && !r.delay_reported && Notify::delay(r.notify) {
            let why = r
                .last_error
                .clone()
                .unwrap_or_else(|| "not delivered yet".into());
            reports.push(RecipientReport {
                recipient: r.address.clone(),
                orcpt: r.orcpt.clone(),
                action: DsnAction::Delayed,
                status: dsn::status_of(&why, false),
                diagnostic: Some(why),
                remote_mta: None,
            });
            r.delay_reported = true;
        }
    }
    reports
}

/// Seconds to wait after the `attempts`-th failed attempt: the initial
/// wait, doubled after each attempt, at most the maximum.
pub(crate) fn backoff(smtp: &SmtpConfig, attempts: u32) -> u64 {
    smtp.retry_initial_secs
        .max(1)
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
        .min(smtp.retry_max_secs.max(1))
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// A hop whose required TLS check failed: each temporary result says
/// which policy refused it and why (`4.7.5`, RFC 3463 cryptographic
/// failure), instead of a bare handshake error.
fn explain_refusal(policy: &HostPolicy, domain: &str, results: &mut [RcptResult]) {
    if !policy.required || !policy.failed() {
        return;
    }
    for r in results.iter_mut() {
        if let RcptResult::Temporary(reason) = r {
            *reason = format!(
                "4.7.5 {} policy of {domain} not met: {} ({reason})",
                policy.basis.as_str(),
                policy.verdict()
            );
        }
    }
}

async fn next_hops(
    smtp: &SmtpConfig,
    dns: Option<&MailAuth>,
    outbound: &Outbound,
    domain: &str,
    now: i64,
    demand: TlsDemand,
) -> Result<Vec<Hop>, RcptResult> {
    if let Some(route) = smtp.route_for(domain) {
        if demand == TlsDemand::RequireTls && !(route.require_tls && route.ca_file.is_some()) {
            return Err(RcptResult::Permanent(format!(
                "550 5.7.10 REQUIRETLS: the route for {domain} does not verify its next hop (require_tls and ca_file)"
            )));
        }
        let tls = TlsPolicy {
            required: route.require_tls,
            ca_file: route.ca_file.clone(),
            verifier: None,
        };
        let name = route
            .host
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .unwrap_or_else(|| route.host.clone());
        let addrs: Vec<SocketAddr> = match route.host.parse::<SocketAddr>() {
            Ok(a) => vec![a],
            Err(_) => resolve(smtp, dns, &name, port_of(&route.host))
                .await
                .map_err(RcptResult::Temporary)?,
        };
        return Ok(addrs
            .into_iter()
            .map(|addr| Hop {
                addr,
                name: name.clone(),
                tls: tls.clone(),
                policy: None,
            })
            .collect());
    }
    // MX records (static ones first); none means the implicit MX (RFC 5321 5.1).
    let hosts: Vec<String> = match dns {
        Some(d) => match d.mx(domain).await {
            Ok(hosts) if !hosts.is_empty() => hosts,
            _ => vec![domain.to_string()],
        },
        None => vec![domain.to_string()],
    };
    let plan = outbound.plan(domain, hosts, now, demand).await;
    let mut hops = Vec::new();
    for (host, policy) in plan.hosts {
        if let Ok(addrs) = resolve(smtp, dns, &host, smtp.relay_port).await {
            hops.extend(addrs.into_iter().map(|addr| Hop {
                addr,
                name: host.clone(),
                tls: TlsPolicy {
                    required: policy.required,
                    ca_file: None,
                    verifier: policy.check.clone().map(|c| c as _),
                },
                policy: Some(policy.clone()),
            }));
        }
    }
    let lookup_failed = plan.refused.iter().any(|r| r.contains("lookup failed"));
    if hops.is_empty() && demand == TlsDemand::RequireTls && !lookup_failed {
        return Err(RcptResult::Permanent(format!(
            "550 5.7.10 REQUIRETLS: no mail exchanger of {domain} is authenticated by DANE or MTA-STS: {}",
            plan.refused.join(", ")
        )));
    }
    if hops.is_empty() && !plan.refused.is_empty() {
        return Err(RcptResult::Temporary(format!(
            "4.7.5 outbound TLS policy of {domain} leaves no mail exchanger: {}",
            plan.refused.join(", ")
        )));
    }
    if hops.is_empty() {
        return Err(RcptResult::Temporary(format!(
            "cannot resolve a mail exchanger for {domain}"
        )));
    }
    Ok(hops)
}

fn port_of(host: &str) -> u16 {
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(25)
}

async fn resolve(
    smtp: &SmtpConfig,
    dns: Option<&MailAuth>,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let fixed: Vec<SocketAddr> = smtp
        .dns
        .a
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case(host))
        .map(|a| SocketAddr::new(a.addr, port))
        .collect();
    if !fixed.is_empty() {
        return Ok(fixed);
    }
    if let Some(d) = dns {
        return d.addresses(host).await.map(|ips| {
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect()
        });
    }
    tokio::net::lookup_host((host, port))
        .await
        .map(|a| a.collect())
        .map_err(|e| format!("resolving {host}: {e}"))
}

/// One recipient's outcome in a delivery attempt, for its log line.
struct Attempt {
    /// The recipient's domain (the next hop's name when it took the message).
    hop: String,
    result: &'static str,
    reply: String,
    /// The outbound TLS policy decisions per MX host tried (empty for a
    /// route or when no host was reached).
    tls: String,
}

impl Attempt {
    fn of(domain: &str, result: &RcptResult, tls: String) -> Attempt {
        let (hop, result, reply) = match result {
            RcptResult::Delivered { host, .. } => (host.clone(), "delivered", "250".to_string()),
            RcptResult::Permanent(r) => (domain.to_string(), "failed", reply_summary(r)),
            RcptResult::Temporary(r) => (domain.to_string(), "deferred", reply_summary(r)),
        };
        Attempt {
            hop,
            result,
            reply,
            tls,
        }
    }

    /// The `queue_attempt` line: next hop, reply, how long the message has
    /// waited, when it is tried again (if it stays).
    fn log(&self, entry: &QueueEntry, now: i64, pending: bool) {
        sealpost_telemetry::metrics::counter!(
            sealpost_telemetry::metrics::QUEUE_ATTEMPTS,
            "result" => self.result
        )
        .increment(1);
        let next_retry = if pending {
            chrono::DateTime::from_timestamp(entry.next_attempt, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        } else {
            "-".to_string()
        };
        tracing::info!(
            target: "sealpost::event",
            event = "queue_attempt",
            id = %entry.id,
            attempt = entry.attempts,
            result = self.result,
            next_hop = %self.hop,
            reply = %self.reply,
            tls = %self.tls,
            delay_secs = (now - entry.created).max(0),
            next_retry = %next_retry,
            "delivery attempt"
        );
    }
}

/// A remote reply as the log shows it: whole with `personal_data = "full"`;
/// otherwise only its leading code and enhanced status (the text may quote
/// the recipient's address), or `-` for a local error without a code.
fn reply_summary(reason: &str) -> String {
    if sealpost_telemetry::privacy::is_full() {
        return reason.to_string();
    }
    let codes: Vec<&str> = reason
        .split_whitespace()
        .take(2)
        .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .collect();
    if codes.is_empty() {
        // Connection errors name the host or the failure, not a person.
        reason.chars().take(120).collect()
    } else {
        codes.join(" ")
    }
}
