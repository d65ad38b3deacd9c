//! Sending the TLS reports (RFC 8460 5) that `crate::outbound::tlsrpt`
//! counted: when a report period is over, each counted policy domain that
//! publishes `_smtp._tls` gets its aggregate report at each `rua`:
//! `mailto:` through our own delivery (a local account at once, anything
//! else through this queue, from the null sender so nothing bounces back),
//! `https:` as a POST. A domain without a record gets nothing, and the
//! period's counts are dropped once handled: a failed send is logged, not
//! retried (RFC 8460 5.1 lets reporters give up).

use super::{NewMessage, NewRecipient, Queue};
use crate::outbound::tlsrpt::{self, Submitter};
use sealpost_directory::Recipient;

impl Queue {
    /// Whether the current TLS report period is over at `now`.
    pub(crate) fn tls_reports_due(&self) -> Option<i64> {
        let cfg = &self.inner.config.smtp.outbound_tls;
        if !cfg.tls_rpt {
            return None;
        }
        Some(
            self.inner
                .outbound
                .reports
                .period_start()
                .saturating_add(cfg.tls_rpt_interval_secs as i64),
        )
    }

    /// Ends the report period now and sends its reports; returns how many
    /// went out (or were queued).
    pub async fn send_tls_reports(&self, now: i64) -> Result<usize, String> {
        let outbound = &self.inner.outbound;
        let period = outbound.reports.take(now).map_err(|e| e.to_string())?;
        let hostname = self.inner.config.server.hostname.clone();
        let contact = match outbound.config().tls_rpt_contact.as_str() {
            "" => format!("postmaster@{hostname}"),
            c => c.to_string(),
        };
        let who = Submitter {
            hostname: &hostname,
            contact: &contact,
        };
        let mut sent = 0;
        for (domain, counts) in &period.domains {
            let Some(rua) = outbound.rua(domain).await else {
                continue;
            };
            let id = format!("{}.{}", now, super::new_id());
            let json = tlsrpt::report_json(&who, domain, counts, period.start, now, &id);
            let gz = tlsrpt::gzip(&json);
            for uri in rua {
                let result = match uri.strip_prefix("mailto:") {
                    Some(to) => {
                        let to = to.split('?').next().unwrap_or(to).to_string();
                        let mail = tlsrpt::report_mail(&who, domain, &to, &id, &gz);
                        let queue = self.clone();
                        tokio::task::spawn_blocking(move || queue.post_report(&to, &mail))
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r)
                    }
                    None => outbound.post_https_report(&uri, &gz).await,
                };
                match result {
                    Ok(()) => {
                        sent += 1;
                        tracing::info!(%domain, rua = %uri, "TLS report sent");
                    }
                    Err(e) => {
                        tracing::warn!(%domain, rua = %uri, error = %e, "TLS report not sent")
                    }
                }
            }
        }
        Ok(sent)
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
            Recipient::UnknownUser => Err(format!("no local account {to}")),
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
