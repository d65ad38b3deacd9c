//! SMTP TLS Reporting (RFC 8460), the sending side: per recipient policy
//! domain, how many sessions succeeded and how many failed (by result type
//! and MX host), kept in `data_dir/tls-rpt.sealed` (`state_file.rs`:
//! sealed, written off the queue's task) so a restart loses no count:
//! counted sessions are written at most every [`WRITE_EVERY`] and after
//! each queue pass and at shutdown (a crash loses at most those seconds'
//! counts; reports are best effort), everything else at once; once
//! a report period is over (or `sealpost tls-report send` asks), the
//! aggregate report (section 4, JSON) goes gzipped (section 5.1) to each
//! `rua` of the domain's `_smtp._tls` TXT record (section 3): `mailto:` as
//! a `multipart/report; report-type=tlsrpt` message (section 5.3) through
//! our own delivery, `https:` as a POST of `application/tlsrpt+gzip`
//! (section 5.4).
//!
//! Sessions under DANE count as `tlsa`, under MTA-STS as `sts`, and the
//! others as `no-policy-found` (section 4.4): TLS negotiated is a success,
//! no STARTTLS a `starttls-not-supported` failure.
//!
//! A report that could not be sent waits in the same file's outbox and is
//! tried again with exponential backoff from [`RETRY_FIRST_SECS`] for at
//! most [`RETRY_FOR_SECS`] after its first attempt (section 5.4: a day),
//! then dropped with a log line. Limits: at most [`MAX_DOMAINS`] domains
//! and [`MAX_FAILURE_KINDS`] failure kinds a domain per period, at most
//! [`MAX_OUTBOX`] reports waiting.

use super::state_file::StateFile;
use super::{Basis, HostPolicy};
use sealpost_store::FileKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most policy domains counted in one period.
pub const MAX_DOMAINS: usize = 10_000;
/// The most (result type, MX) failure kinds a domain keeps per period.
pub const MAX_FAILURE_KINDS: usize = 100;
/// The most reports waiting to be sent again (the oldest go first).
pub const MAX_OUTBOX: usize = 1_000;
/// The wait before the first retry of a report; doubled after each.
pub const RETRY_FIRST_SECS: i64 = 300;
/// How long after its first attempt a report is still tried.
pub const RETRY_FOR_SECS: i64 = 86_400;

/// The counts of one policy domain.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DomainCounts {
    /// `sts`, `tlsa` or `no-policy-found`.
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
    /// Domains whose report was sent early (`tls-report send --domain`):
    /// their counts run from this time, not from `start`.
    #[serde(default)]
    pub since: BTreeMap<String, i64>,
}

impl Period {
    fn new(start: i64) -> Period {
        Period {
            start,
            ..Period::default()
        }
    }

    /// When the counts of `domain` began.
    pub fn start_of(&self, domain: &str) -> i64 {
        self.since.get(domain).copied().unwrap_or(self.start)
    }
}

/// A report that could not be sent, waiting for its next try.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingReport {
    /// The policy domain.
    pub domain: String,
    /// The `rua` it goes to.
    pub uri: String,
    /// Its `report-id`.
    pub report_id: String,
    /// The gzipped report, base64.
    pub gz: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The first attempt (Unix seconds).
    pub first_try: i64,
    /// When it is tried again.
    pub next_try: i64,
}

impl PendingReport {
    /// The gzipped report.
    pub fn gz_bytes(&self) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.gz)
            .unwrap_or_default()
    }

    /// After another failed attempt at `now`: the next try, or `None` when
    /// the report is given up.
    pub fn failed_again(mut self, now: i64) -> Option<PendingReport> {
        self.attempts += 1;
        let wait = RETRY_FIRST_SECS.saturating_mul(1 << self.attempts.saturating_sub(1).min(20));
        self.next_try = now.saturating_add(wait);
        (self.next_try <= self.first_try.saturating_add(RETRY_FOR_SECS)).then_some(self)
    }
}

/// What the file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    period: Period,
    #[serde(default)]
    outbox: Vec<PendingReport>,
}

/// How often counted sessions are written at most: the counts of every
/// relayed session would otherwise cost a whole-file write each.
pub const WRITE_EVERY: Duration = Duration::from_secs(10);

/// The counter and its file.
pub struct TlsRpt {
    file: StateFile,
    state: Mutex<State>,
}

struct State {
    saved: Saved,
    /// The number of the last snapshot taken.
    seq: u64,
    /// Changed since the last snapshot.
    dirty: bool,
    /// When the last snapshot was taken.
    written_at: Option<Instant>,
}

impl State {
    /// A numbered snapshot to write.
    fn snapshot(&mut self) -> std::io::Result<(u64, Vec<u8>)> {
        let bytes = serde_json::to_vec(&self.saved).map_err(std::io::Error::other)?;
        self.seq += 1;
        self.dirty = false;
        self.written_at = Some(Instant::now());
        Ok((self.seq, bytes))
    }
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
    /// Loads `data_dir/tls-rpt.sealed` (absent or unreadable: a new period
    /// from `now`; the legacy plaintext `tls-rpt.json` is moved into it).
    pub fn open(data_dir: &Path, key: FileKey, now: i64) -> TlsRpt {
        let (file, content) = StateFile::open(data_dir, "tls-rpt", key);
        let saved = content
            .and_then(|b| {
                serde_json::from_slice::<Saved>(&b).ok().or_else(|| {
                    // The legacy file held the period alone.
                    serde_json::from_slice::<Period>(&b)
                        .ok()
                        .map(|period| Saved {
                            period,
                            outbox: Vec::new(),
                        })
                })
            })
            .unwrap_or_else(|| Saved {
                period: Period::new(now),
                outbox: Vec::new(),
            });
        TlsRpt {
            file,
            state: Mutex::new(State {
                saved,
                seq: 1,
                dirty: false,
                written_at: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state with `change` and writes it durably (on the
    /// blocking pool); with `lazy`, only when the last write is
    /// [`WRITE_EVERY`] old (else [`TlsRpt::flush`] writes it). Returns
    /// what `change` returned.
    async fn update<R>(
        &self,
        lazy: bool,
        change: impl FnOnce(&mut Saved) -> R,
    ) -> std::io::Result<R> {
        let (r, (seq, bytes)) = {
            let mut state = self.lock();
            let r = change(&mut state.saved);
            state.dirty = true;
            if lazy && state.written_at.is_some_and(|t| t.elapsed() < WRITE_EVERY) {
                return Ok(r);
            }
            (r, state.snapshot()?)
        };
        self.file.write(seq, bytes).await?;
        Ok(r)
    }

    /// Writes the counts if sessions were counted since the last write
    /// (the queue's runner calls it after each pass and at shutdown).
    pub async fn flush(&self) -> std::io::Result<()> {
        let (seq, bytes) = {
            let mut state = self.lock();
            if !state.dirty {
                return Ok(());
            }
            state.snapshot()?
        };
        self.file.write(seq, bytes).await
    }

    /// Counts one session with `mx` under `policy` for `domain`.
    pub async fn record(&self, domain: &str, mx: &str, policy: &HostPolicy) {
        let policy_type = match policy.basis {
            Basis::Dane => "tlsa",
            Basis::MtaStsEnforce | Basis::MtaStsTesting => "sts",
            Basis::Opportunistic => "no-policy-found",
        };
        let result = self
            .update(true, |saved| {
                count(&mut saved.period, domain, mx, policy_type, policy)
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot write the TLS-RPT counts");
        }
    }

    /// Ends the period at `now` (for `only` that domain, or all): returns
    /// what it counted and starts anew (written durably before the reports
    /// go out, so a crash loses a report rather than sending one twice).
    pub async fn take(&self, now: i64, only: Option<&str>) -> std::io::Result<Period> {
        self.update(false, |saved| match only {
            None => std::mem::replace(&mut saved.period, Period::new(now)),
            Some(domain) => {
                let period = &mut saved.period;
                let mut taken = Period::new(period.start_of(domain));
                if let Some(counts) = period.domains.remove(domain) {
                    taken.domains.insert(domain.to_string(), counts);
                }
                period.since.insert(domain.to_string(), now);
                taken
            }
        })
        .await
    }

    /// When the current period began.
    pub fn period_start(&self) -> i64 {
        self.lock().saved.period.start
    }

    /// Keeps `report` for another try (the oldest waiting report makes
    /// room when the outbox is full).
    pub async fn defer(&self, report: PendingReport) -> std::io::Result<()> {
        self.update(false, |saved| {
            if saved.outbox.len() >= MAX_OUTBOX {
                saved.outbox.remove(0);
            }
            saved.outbox.push(report);
        })
        .await
    }

    /// Takes the waiting reports due at `now` (every one with `now` as
    /// `None`), of `only` that domain or all.
    pub async fn take_due(
        &self,
        now: Option<i64>,
        only: Option<&str>,
    ) -> std::io::Result<Vec<PendingReport>> {
        let due = |r: &PendingReport| {
            now.is_none_or(|t| r.next_try <= t) && only.is_none_or(|d| d == r.domain)
        };
        if !self.lock().saved.outbox.iter().any(due) {
            return Ok(Vec::new());
        }
        self.update(false, |saved| {
            let (taken, kept) = std::mem::take(&mut saved.outbox)
                .into_iter()
                .partition(|r| due(r));
            saved.outbox = kept;
            taken
        })
        .await
    }

    /// When the next waiting report is due.
    pub fn next_retry(&self) -> Option<i64> {
        self.lock().saved.outbox.iter().map(|r| r.next_try).min()
    }
}

/// Adds one session to `period`.
fn count(period: &mut Period, domain: &str, mx: &str, policy_type: &str, policy: &HostPolicy) {
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
    use crate::outbound::state_file;
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

    #[tokio::test]
    async fn counts_survive_reopening_sealed_and_a_period_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let key = || crate::outbound::state_file::test_key(dir.path(), "tls-rpt");
        let rpt = TlsRpt::open(dir.path(), key(), 100);
        // A check never run counts as "no STARTTLS".
        rpt.record("remote.example", "mx.remote.example", &sts(false))
            .await;
        let failing = sts(true);
        let _ = failing.check.as_ref().unwrap().outcome();
        rpt.record("remote.example", "mx.remote.example", &failing)
            .await;
        let sealed = std::fs::read(dir.path().join("tls-rpt.sealed")).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("remote"));
        // The first count was written at once, the second waits (lazy).
        let early = TlsRpt::open(dir.path(), key(), 500);
        let early = early.take(200, None).await.unwrap();
        let c = &early.domains["remote.example"];
        assert_eq!(c.failures.values().sum::<u64>(), 1, "{c:?}");
        rpt.flush().await.unwrap();
        let again = TlsRpt::open(dir.path(), key(), 500);
        assert_eq!(again.period_start(), 100);
        let period = again.take(200, None).await.unwrap();
        let c = &period.domains["remote.example"];
        assert_eq!(c.policy_type, "sts");
        assert_eq!(
            c.failures.get("starttls-not-supported mx.remote.example"),
            Some(&2)
        );
        assert_eq!(again.take(300, None).await.unwrap().domains.len(), 0);
    }

    #[tokio::test]
    async fn sessions_without_a_policy_count_as_no_policy_found() {
        let dir = tempfile::tempdir().unwrap();
        let rpt = TlsRpt::open(dir.path(), state_file::test_key(dir.path(), "t"), 0);
        let tls = HostPolicy::opportunistic();
        let check = tls.check.as_ref().unwrap();
        assert!(
            !check.enforces(),
            "opportunistic TLS accepts any certificate"
        );
        rpt.record("plain.example", "mx.plain.example", &tls).await;
        let period = rpt.take(10, None).await.unwrap();
        let c = &period.domains["plain.example"];
        assert_eq!(c.policy_type, "no-policy-found");
        assert_eq!(
            c.failures.get("starttls-not-supported mx.plain.example"),
            Some(&1)
        );
    }

    #[tokio::test]
    async fn one_domain_taken_early_keeps_the_others_and_restarts_its_own_range() {
        let dir = tempfile::tempdir().unwrap();
        let rpt = TlsRpt::open(dir.path(), state_file::test_key(dir.path(), "t"), 100);
        rpt.record("a.example", "mx.a.example", &sts(false)).await;
        rpt.record("b.example", "mx.b.example", &sts(false)).await;
        let a = rpt.take(150, Some("a.example")).await.unwrap();
        assert_eq!(a.start_of("a.example"), 100);
        assert_eq!(a.domains.keys().collect::<Vec<_>>(), ["a.example"]);
        rpt.record("a.example", "mx.a.example", &sts(false)).await;
        let rest = rpt.take(200, None).await.unwrap();
        assert_eq!(rest.domains.len(), 2);
        assert_eq!(rest.start_of("a.example"), 150);
        assert_eq!(rest.start_of("b.example"), 100);
    }

    #[tokio::test]
    async fn a_failed_report_waits_with_backoff_for_at_most_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let key = || state_file::test_key(dir.path(), "t");
        let rpt = TlsRpt::open(dir.path(), key(), 0);
        let first = PendingReport {
            domain: "a.example".into(),
            uri: "https://r.a.example/".into(),
            report_id: "r1".into(),
            gz: String::new(),
            attempts: 0,
            first_try: 1000,
            next_try: 0,
        }
        .failed_again(1000)
        .unwrap();
        assert_eq!(
            (first.attempts, first.next_try),
            (1, 1000 + RETRY_FIRST_SECS)
        );
        rpt.defer(first.clone()).await.unwrap();
        let reopened = TlsRpt::open(dir.path(), key(), 0);
        assert_eq!(reopened.next_retry(), Some(1300));
        assert!(
            reopened
                .take_due(Some(1299), None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            reopened
                .take_due(None, Some("b.example"))
                .await
                .unwrap()
                .is_empty()
        );
        let due = reopened.take_due(Some(1300), None).await.unwrap();
        assert_eq!(due, vec![first.clone()]);
        assert_eq!(reopened.next_retry(), None);
        let second = first.failed_again(1300).unwrap();
        assert_eq!(second.next_try, 1300 + 2 * RETRY_FIRST_SECS);
        let mut r = second;
        let mut tries = 2;
        while let Some(next) = r.clone().failed_again(r.next_try) {
            r = next;
            tries += 1;
        }
        assert!(r.next_try <= 1000 + RETRY_FOR_SECS, "{r:?}");
        assert!((5..=10).contains(&tries), "{tries}");
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
