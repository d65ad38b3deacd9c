//! SMTP TLS Reporting (RFC 8460), the sending side: per recipient policy
//! domain, how many sessions under a DANE or MTA-STS policy succeeded and
//! how many failed (by result type and MX host), kept durably in
//! `data_dir/tls-rpt.json` (sealpost-durable) so a restart loses no count;
//! once a report period is over, the aggregate report (section 4, JSON)
//! goes gzipped (section 5.1) to each `rua` of the domain's `_smtp._tls`
//! TXT record (section 3): `mailto:` as a `multipart/report;
//! report-type=tlsrpt` message (section 5.3) through our own delivery,
//! `https:` as a POST of `application/tlsrpt+gzip` (section 5.4).
//!
//! Only sessions under a policy are counted: opportunistic sessions have
//! nothing to report against. Limits: at most [`MAX_DOMAINS`] domains and
//! [`MAX_FAILURE_KINDS`] failure kinds a domain per period.

use super::{Basis, HostPolicy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// The most policy domains counted in one period.
pub const MAX_DOMAINS: usize = 10_000;
/// The most (result type, MX) failure kinds a domain keeps per period.
pub const MAX_FAILURE_KINDS: usize = 100;

/// The counts of one policy domain.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DomainCounts {
    /// `sts` or `tlsa`.
    pub policy_type: String,
    /// The policy as published (policy lines, or TLSA records).
    pub policy_strings: Vec<String>,
    /// MX hosts the policy concerned.
    pub mx_hosts: Vec<String>,
    /// Sessions that met the policy.
    pub success: u64,
    /// Failed sessions by "result-type mx-host".
    pub failures: BTreeMap<String, u64>,
}

/// Counts since `start` (Unix seconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Period {
    /// When the period began.
    pub start: i64,
    /// Per policy domain.
    pub domains: BTreeMap<String, DomainCounts>,
}

/// The counter and its file.
pub struct TlsRpt {
    path: PathBuf,
    period: Mutex<Period>,
}

/// The RFC 8460 4.3 result type of a failed host.
pub fn result_type(policy: &HostPolicy) -> Option<&'static str> {
    if policy.note.is_some() {
        return Some("validation-failure");
    }
    let outcome = policy.check.as_ref()?.outcome();
    Some(match outcome {
        Some(Ok(())) => return None,
        None => "starttls-not-supported",
        Some(Err(e)) if e.contains("UnknownIssuer") => "certificate-not-trusted",
        Some(Err(e)) if e.contains("NotValidForName") => "certificate-host-mismatch",
        Some(Err(e)) if e.contains("Expired") => "certificate-expired",
        Some(Err(_)) => "validation-failure",
    })
}

impl TlsRpt {
    /// Loads `path` (absent or unreadable: a new period from `now`).
    pub fn open(path: PathBuf, now: i64) -> TlsRpt {
        let period = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Period {
                start: now,
                domains: BTreeMap::new(),
            });
        TlsRpt {
            path,
            period: Mutex::new(period),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Period> {
        self.period.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one session with `mx` under `policy` for `domain`.
    pub fn record(&self, domain: &str, mx: &str, policy: &HostPolicy) {
        let policy_type = match policy.basis {
            Basis::Dane => "tlsa",
            Basis::MtaStsEnforce | Basis::MtaStsTesting => "sts",
            Basis::Opportunistic => return,
        };
        let bytes = {
            let mut period = self.lock();
            if !period.domains.contains_key(domain) && period.domains.len() >= MAX_DOMAINS {
                return;
            }
            let c = period.domains.entry(domain.to_string()).or_default();
            c.policy_type = policy_type.to_string();
            c.policy_strings = policy.policy_strings.clone();
            if !c.mx_hosts.iter().any(|h| h == mx) && c.mx_hosts.len() < MAX_FAILURE_KINDS {
                c.mx_hosts.push(mx.to_string());
            }
            match result_type(policy) {
                None => c.success += 1,
                Some(kind) => {
                    let key = format!("{kind} {mx}");
                    if c.failures.contains_key(&key) || c.failures.len() < MAX_FAILURE_KINDS {
                        *c.failures.entry(key).or_default() += 1;
                    }
                }
            }
            serde_json::to_vec(&*period)
        };
        if let Err(e) = bytes
            .map_err(std::io::Error::other)
            .and_then(|b| sealpost_durable::write(&self.path, &b))
        {
            tracing::error!(error = %e, "cannot write the TLS-RPT counts");
        }
    }

    /// Ends the period at `now`: returns what it counted and starts a new
    /// one (written durably before the reports go out, so a crash loses a
    /// report rather than sending one twice).
    pub fn take(&self, now: i64) -> std::io::Result<Period> {
        let mut period = self.lock();
        let old = std::mem::replace(
            &mut *period,
            Period {
                start: now,
                domains: BTreeMap::new(),
            },
        );
        let bytes = serde_json::to_vec(&*period).map_err(std::io::Error::other)?;
        sealpost_durable::write(&self.path, &bytes)?;
        Ok(old)
    }

    /// When the current period began.
    pub fn period_start(&self) -> i64 {
        self.lock().start
    }
}

/// The `rua` URIs of a `_smtp._tls` TXT record (`v=TLSRPTv1; rua=...`,
/// RFC 8460 3): `mailto:` and `https:` only, at most 8.
pub fn parse_rua(txt: &str) -> Option<Vec<String>> {
    let mut fields = txt.split(';').map(str::trim).filter(|f| !f.is_empty());
    if fields.next()? != "v=TLSRPTv1" {
        return None;
    }
    let rua = fields.find_map(|f| f.strip_prefix("rua="))?;
    let uris: Vec<String> = rua
        .split(',')
        .map(str::trim)
        .filter(|u| u.starts_with("mailto:") || u.starts_with("https://"))
        .take(8)
        .map(str::to_string)
        .collect();
    (!uris.is_empty()).then_some(uris)
}

/// Who sends the reports.
pub struct Submitter<'a> {
    /// `organization-name` and the submitter in the mail headers.
    pub hostname: &'a str,
    /// `contact-info`.
    pub contact: &'a str,
}

/// The aggregate report of `domain` (RFC 8460 4.4) over `[start, end)`.
pub fn report_json(
    who: &Submitter<'_>,
    domain: &str,
    counts: &DomainCounts,
    start: i64,
    end: i64,
    report_id: &str,
) -> serde_json::Value {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let failed: u64 = counts.failures.values().sum();
    let details: Vec<serde_json::Value> = counts
        .failures
        .iter()
        .map(|(key, n)| {
            let (kind, mx) = key.split_once(' ').unwrap_or((key, ""));
            serde_json::json!({
                "result-type": kind,
                "receiving-mx-hostname": mx,
                "failed-session-count": n,
            })
        })
        .collect();
    serde_json::json!({
        "organization-name": who.hostname,
        "date-range": {"start-datetime": time(start), "end-datetime": time(end)},
        "contact-info": who.contact,
        "report-id": report_id,
        "policies": [{
            "policy": {
                "policy-type": counts.policy_type,
                "policy-string": counts.policy_strings,
                "policy-domain": domain,
                "mx-host": counts.mx_hosts,
            },
            "summary": {
                "total-successful-session-count": counts.success,
                "total-failure-session-count": failed,
            },
            "failure-details": details,
        }],
    })
}

/// The report gzipped (RFC 8460 5.1).
pub fn gzip(json: &serde_json::Value) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(json.to_string().as_bytes());
    enc.finish().unwrap_or_default()
}

/// The report as a message to `to` (RFC 8460 5.3).
pub fn report_mail(
    who: &Submitter<'_>,
    domain: &str,
    to: &str,
    report_id: &str,
    gz: &[u8],
) -> Vec<u8> {
    use base64::Engine;
    let host = who.hostname;
    let boundary = format!("=_sealpost_tlsrpt_{report_id}");
    let date = chrono::Utc::now();
    let file = format!(
        "{host}!{domain}!{}!{report_id}.json.gz",
        date.format("%Y%m%d")
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(gz);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "From: TLS reporting <{contact}>\r\nTo: <{to}>\r\n\
         Subject: Report Domain: {domain} Submitter: {host} Report-ID: <{report_id}>\r\n\
         Date: {date}\r\nMessage-ID: <{report_id}@{host}>\r\nTLS-Report-Domain: {domain}\r\n\
         TLS-Report-Submitter: {host}\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         This is an aggregate TLS report from {host} for {domain} (RFC 8460).\r\n\r\n\
         --{boundary}\r\nContent-Type: application/tlsrpt+gzip\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"{file}\"\r\n\r\n\
         {body}\r\n--{boundary}--\r\n",
        contact = who.contact.trim_start_matches("mailto:"),
        date = date.to_rfc2822(),
        body = wrapped.join("\r\n"),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::verify::Checked;
    use std::sync::Arc;

    fn sts(outcome_fails: bool) -> HostPolicy {
        let check = if outcome_fails {
            Checked::failing("invalid peer certificate: UnknownIssuer".into(), true)
        } else {
            Checked::tls_only()
        };
        HostPolicy {
            basis: Basis::MtaStsEnforce,
            required: true,
            check: Some(Arc::new(check)),
            note: None,
            policy_strings: vec!["version: STSv1".into(), "mode: enforce".into()],
        }
    }

    #[test]
    fn rua_records() {
        assert_eq!(
            parse_rua("v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/x"),
            Some(vec![
                "mailto:tls@example.com".into(),
                "https://r.example/x".into()
            ])
        );
        assert_eq!(parse_rua("v=TLSRPTv1; rua=ftp://x"), None);
        assert_eq!(parse_rua("v=DMARC1; rua=mailto:x@y"), None);
        assert_eq!(parse_rua("v=TLSRPTv1;"), None);
    }

    #[test]
    fn counts_survive_reopening_and_a_period_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls-rpt.json");
        let rpt = TlsRpt::open(path.clone(), 100);
        // A check never run counts as "no STARTTLS".
        rpt.record("remote.example", "mx.remote.example", &sts(false));
        let failing = sts(true);
        let _ = failing.check.as_ref().unwrap().outcome();
        rpt.record("remote.example", "mx.remote.example", &failing);
        let again = TlsRpt::open(path, 500);
        assert_eq!(again.period_start(), 100);
        let period = again.take(200).unwrap();
        let c = &period.domains["remote.example"];
        assert_eq!(c.policy_type, "sts");
        assert_eq!(
            c.failures.get("starttls-not-supported mx.remote.example"),
            Some(&2)
        );
        assert_eq!(again.take(300).unwrap().domains.len(), 0);
    }

    #[test]
    fn report_fields() {
        let mut counts = DomainCounts {
            policy_type: "sts".into(),
            policy_strings: vec!["version: STSv1".into()],
            mx_hosts: vec!["mx.remote.example".into()],
            success: 3,
            failures: BTreeMap::new(),
        };
        counts
            .failures
            .insert("certificate-not-trusted mx.remote.example".into(), 2);
        let who = Submitter {
            hostname: "mail.example.org",
            contact: "mailto:postmaster@example.org",
        };
        let r = report_json(&who, "remote.example", &counts, 0, 86400, "id1");
        assert_eq!(r["date-range"]["start-datetime"], "1970-01-01T00:00:00Z");
        assert_eq!(r["date-range"]["end-datetime"], "1970-01-02T00:00:00Z");
        let p = &r["policies"][0];
        assert_eq!(p["policy"]["policy-domain"], "remote.example");
        assert_eq!(p["summary"]["total-successful-session-count"], 3);
        assert_eq!(p["summary"]["total-failure-session-count"], 2);
        assert_eq!(
            p["failure-details"][0]["result-type"],
            "certificate-not-trusted"
        );
        let gz = gzip(&r);
        let mut text = String::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), r);
        let mail = String::from_utf8(report_mail(
            &who,
            "remote.example",
            "tls@remote.example",
            "id1",
            &gz,
        ))
        .unwrap();
        assert!(mail.contains("report-type=\"tlsrpt\""));
        assert!(mail.contains("TLS-Report-Domain: remote.example\r\n"));
        assert!(mail.contains("Content-Type: application/tlsrpt+gzip\r\n"));
    }
}
