//! Sending the TLS reports (RFC 8460 5) that `crate::outbound::tlsrpt`
//! counted: when a report period is over, or when the operator asks
//! (`sealpost tls-report send`, [`Queue::send_tls_reports_now`]), each
//! counted domain that publishes `_smtp._tls` gets its aggregate report at
//! each `rua`: `mailto:` through our own delivery (a local account at
//! once, anything else through this queue, from the null sender so nothing
//! bounces back), `https:` as a POST. A domain without a record gets
//! nothing and its counts are dropped once handled.
//!
//! A send that fails is kept, sealed, in the counts' file and tried again
//! with backoff for up to a day (RFC 8460 5.4; `tlsrpt::PendingReport`);
//! the queue's runner wakes for it like for a due message.

use super::{NewMessage, NewRecipient, Queue};
use crate::outbound::tlsrpt::{self, PendingReport, Submitter};
use sealpost_directory::Recipient;

/// What became of one report (or of a domain without a `rua`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutcome {
    /// The policy domain.
    pub domain: String,
    /// The `rua`; `None` when the domain publishes none.
    pub uri: Option<String>,
    /// Sent (or queued, for a remote `mailto:`), or why not.
    pub result: Result<(), String>,
    /// When a failed report is tried again (`None`: given up or sent).
    pub retry_at: Option<i64>,
}

impl Queue {
    /// When the current TLS report period ends (`None`: reporting is off).
    pub(crate) fn tls_reports_due(&self) -> Option<i64> {
        let cfg = &self.inner.config.smtp.outbound_tls;
        if !cfg.tls_rpt {
            return None;
        }
        let reports = &self.inner.outbound.reports;
        let end = reports
            .period_start()
            .saturating_add(cfg.tls_rpt_interval_secs as i64);
        Some(reports.next_retry().map_or(end, |r| r.min(end)))
    }

    /// What the runner does when [`Queue::tls_reports_due`] has come: ends
    /// the period if it is over, retries the waiting reports that are due.
    pub(crate) async fn run_tls_reports(&self, now: i64) {
        let cfg = &self.inner.config.smtp.outbound_tls;
        let reports = &self.inner.outbound.reports;
        if reports
            .period_start()
            .saturating_add(cfg.tls_rpt_interval_secs as i64)
            <= now
            && let Err(e) = self.send_tls_reports(now, None).await
        {
            tracing::error!(error = %e, "TLS reports failed");
        }
        self.retry_tls_reports(now, Some(now), None).await;
    }

    /// Counts one session with `mx` for TLS reporting, unless the hop was
    /// never reached (a refused or timed-out connection is no TLS session:
    /// reporting it as `starttls-not-supported` would blame the wrong thing).
    pub(crate) async fn count_tls_session(
        &self,
        domain: &str,
        mx: &str,
        policy: &crate::outbound::HostPolicy,
        results: &[super::client::RcptResult],
    ) {
        if !super::client::never_connected(results) {
            self.inner.outbound.reports.record(domain, mx, policy).await;
        }
    }

    /// The operator's `tls-report send`: ends the period now for `only`
    /// that domain (or all), sends its reports, and tries every waiting
    /// report of that domain (or all) again at once.
    pub async fn send_tls_reports_now(
        &self,
        only: Option<&str>,
    ) -> Result<Vec<ReportOutcome>, String> {
        if !self.inner.config.smtp.outbound_tls.tls_rpt {
            return Err("TLS reporting is off ([smtp.outbound_tls] tls_rpt = false)".into());
        }
        let now = super::now();
        let mut out = self.retry_tls_reports(now, None, only).await;
        out.extend(self.send_tls_reports(now, only).await?);
        Ok(out)
    }

    /// Ends the report period at `now` (for `only` that domain, or all) and
    /// sends its reports.
    pub async fn send_tls_reports(
        &self,
        now: i64,
        only: Option<&str>,
    ) -> Result<Vec<ReportOutcome>, String> {
        let outbound = &self.inner.outbound;
        let period = outbound
            .reports
            .take(now, only)
            .await
            .map_err(|e| e.to_string())?;
        let (hostname, contact) = self.submitter();
        let who = Submitter {
            hostname: &hostname,
            contact: &contact,
        };
        let mut out = Vec::new();
        for (domain, counts) in &period.domains {
            let Some(rua) = outbound.rua(domain).await else {
                out.push(ReportOutcome {
                    domain: domain.clone(),
                    uri: None,
                    result: Err("no _smtp._tls record with a rua".into()),
                    retry_at: None,
                });
                continue;
            };
            let id = format!("{}.{}", now, super::new_id());
            let start = period.start_of(domain);
            let json = tlsrpt::report_json(&who, domain, counts, start, now, &id);
            let gz = tlsrpt::gzip(&json);
            for uri in rua {
                let result = self.deliver_report(&who, domain, &uri, &id, &gz).await;
                let pending = PendingReport {
                    domain: domain.clone(),
                    uri,
                    report_id: id.clone(),
                    gz: base64_of(&gz),
                    attempts: 0,
                    first_try: now,
                    next_try: now,
                };
                out.push(self.after_attempt(pending, result, now).await);
            }
        }
        Ok(out)
    }

    /// Tries again the waiting reports due at `due` (all with `None`), of
    /// `only` that domain or all.
    async fn retry_tls_reports(
        &self,
        now: i64,
        due: Option<i64>,
        only: Option<&str>,
    ) -> Vec<ReportOutcome> {
        let waiting = match self.inner.outbound.reports.take_due(due, only).await {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "cannot write the TLS-RPT state");
                return Vec::new();
            }
        };
        let (hostname, contact) = self.submitter();
        let who = Submitter {
            hostname: &hostname,
            contact: &contact,
        };
        let mut out = Vec::new();
        for pending in waiting {
            let gz = pending.gz_bytes();
            let result = self
                .deliver_report(&who, &pending.domain, &pending.uri, &pending.report_id, &gz)
                .await;
            out.push(self.after_attempt(pending, result, now).await);
        }
        out
    }

    /// Logs an attempt; a failed one waits for its next try unless it is
    /// given up.
    async fn after_attempt(
        &self,
        pending: PendingReport,
        result: Result<(), String>,
        now: i64,
    ) -> ReportOutcome {
        let (domain, uri) = (pending.domain.clone(), pending.uri.clone());
        let retry = match &result {
            Ok(()) => {
                tracing::info!(%domain, rua = %uri, "TLS report sent");
                None
            }
            Err(e) => match pending.failed_again(now) {
                Some(next) => {
                    let at = next.next_try;
                    tracing::warn!(%domain, rua = %uri, error = %e, retry_at = at, "TLS report not sent; will retry");
                    match self.inner.outbound.reports.defer(next).await {
                        Ok(()) => Some(at),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot keep the TLS report for a retry");
                            None
                        }
                    }
                }
                None => {
                    tracing::warn!(%domain, rua = %uri, error = %e, "TLS report not sent; given up");
                    None
                }
            },
        };
        ReportOutcome {
            domain,
            uri: Some(uri),
            result,
            retry_at: retry,
        }
    }

    /// The host name and contact the reports name.
    fn submitter(&self) -> (String, String) {
        let hostname = self.inner.config.server.hostname.clone();
        let contact = match self.inner.outbound.config().tls_rpt_contact.as_str() {
            "" => format!("postmaster@{hostname}"),
            c => c.to_string(),
        };
        (hostname, contact)
    }

    /// Sends one report to one `rua`.
    async fn deliver_report(
        &self,
        who: &Submitter<'_>,
        domain: &str,
        uri: &str,
        id: &str,
        gz: &[u8],
    ) -> Result<(), String> {
        match uri.strip_prefix("mailto:") {
            Some(to) => {
                let to = to.split('?').next().unwrap_or(to).to_string();
                let mail = tlsrpt::report_mail(who, domain, &to, id, gz);
                let queue = self.clone();
                tokio::task::spawn_blocking(move || queue.post_report(&to, &mail))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            None => self.inner.outbound.post_https_report(uri, gz).await,
        }
    }

    fn post_report(&self, to: &str, mail: &[u8]) -> Result<(), String> {
        let inner = &self.inner;
        match inner.directory.recipient(to) {
            Recipient::Local(primary) => inner
                .store
                .ensure_account(&primary)
                .and_then(|acct| inner.store.deliver(acct, mail))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Recipient::UnknownUser | Recipient::Forward(_) => Err(format!("no local account {to}")),
            Recipient::NotLocal => self
                .enqueue(
                    NewMessage {
                        sender: String::new(),
                        recipients: vec![NewRecipient {
                            address: to.to_string(),
                            orcpt: None,
                            notify: None,
                        }],
                        envid: None,
                        ret: None,
                        smtputf8: false,
                        requiretls: false,
                    },
                    mail,
                )
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
