//! `sealpost tls-report send [--domain D]`: the TLS reports (RFC 8460) on
//! demand, so an operator (or a test) need not wait for the end of the
//! report period. The period ends now (for one domain, or all), its reports
//! go out, and every report waiting for a retry is tried again at once.
//! Through the admin socket while the server runs; otherwise on the store
//! directly (remote `mailto:` reports then wait in the queue for `serve`).
//!
//! One line per report: domain, rua, and `sent` or `failed: WHY` (with
//! when it is tried again); then how many counted domains publish no
//! `_smtp._tls` record (their counts are dropped). Exit 1 when any report
//! was not sent.

use crate::admin::{self, Request};
use crate::startup::{Failure, load_config};
use sealpost_smtp::ReportOutcome;
use std::path::Path;
use std::sync::Arc;

/// The answer's text: one line per outcome.
pub fn format_outcomes(outcomes: &[ReportOutcome]) -> String {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut out = String::new();
    let mut without_rua = 0;
    for o in outcomes {
        let Some(uri) = &o.uri else {
            without_rua += 1;
            continue;
        };
        let what = match (&o.result, o.retry_at) {
            (Ok(()), _) => "sent".to_string(),
            (Err(e), Some(at)) => format!("failed: {}; retry at {}", one_line(e), time(at)),
            (Err(e), None) => format!("failed: {}; given up", one_line(e)),
        };
        out.push_str(&format!("{}\t{uri}\t{what}\n", o.domain));
    }
    if without_rua > 0 {
        out.push_str(&format!(
            "{without_rua} domain(s) counted without a _smtp._tls record: nothing sent to them\n"
        ));
    }
    if outcomes.is_empty() {
        out.push_str("no TLS report to send\n");
    }
    out
}

/// Errors come from remote servers: no control characters reach the terminal.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// How many reports of `outcomes` were not sent.
fn failures(outcomes: &[ReportOutcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| o.uri.is_some() && o.result.is_err())
        .count()
}

/// Checks `--domain`: a domain name (lowercased).
fn domain_arg(domain: Option<String>) -> Result<Option<String>, Failure> {
    let Some(d) = domain else { return Ok(None) };
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    let valid = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(Failure::config(format!(
            "--domain: not a domain name: {:?}",
            one_line(&d)
        )));
    }
    Ok(Some(d))
}

/// The in-server side (admin socket, on the blocking pool).
pub fn in_server(
    queue: Option<&sealpost_smtp::Queue>,
    domain: Option<String>,
) -> Result<(String, bool), Failure> {
    let queue = queue.ok_or_else(|| Failure::runtime("no outbound queue"))?;
    let outcomes = tokio::runtime::Handle::current()
        .block_on(queue.send_tls_reports_now(domain.as_deref()))
        .map_err(Failure::runtime)?;
    Ok((format_outcomes(&outcomes), failures(&outcomes) == 0))
}

pub fn cli_send(path: &Path, domain: Option<String>) -> Result<(), Failure> {
    let domain = domain_arg(domain)?;
    let config = Arc::new(load_config(path)?);
    let req = Request::TlsReportSend {
        domain: domain.clone(),
    };
    let (text, all_sent) =
        match admin::request(&config.admin_socket(), &req).map_err(Failure::runtime)? {
            // The server answers not-ok with the lines when a report failed.
            Some(r) => (r.message, r.ok),
            None => {
                // What the config says first: with reporting off there is
                // nothing to look for in a store.
                if !config.smtp.outbound_tls.tls_rpt {
                    return Err(Failure::runtime(
                        "TLS reporting is off ([smtp.outbound_tls] tls_rpt = false)",
                    ));
                }
                crate::startup::require_store(&config, "tls-report send")?;
                let store = crate::startup::open_store(&config)?;
                let directory = crate::startup::load_directory(&config)?;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(Failure::runtime)?;
                let outcomes = rt
                    .block_on(sealpost_smtp::tls_report_send(
                        config.clone(),
                        store,
                        directory,
                        domain.as_deref(),
                    ))
                    .map_err(Failure::runtime)?;
                (format_outcomes(&outcomes), failures(&outcomes) == 0)
            }
        };
    if !text.contains('\t') && !all_sent {
        // Not a list of outcomes: the request itself failed.
        return Err(Failure::runtime(text));
    }
    print!("{text}");
    if !all_sent {
        return Err(Failure::runtime(
            "some TLS reports were not sent (kept for a retry unless given up)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_argument() {
        let ok = |d: Option<&str>| domain_arg(d.map(str::to_string)).ok();
        assert_eq!(
            ok(Some("Remote.Example.")),
            Some(Some("remote.example".into()))
        );
        assert_eq!(ok(None), Some(None));
        for bad in ["", "a..b", "a b", "x/y", "-\r\n"] {
            let Err(e) = domain_arg(Some(bad.into())) else {
                panic!("{bad:?} accepted")
            };
            assert!(e.message.starts_with("--domain: "), "{}", e.message);
            assert!(!e.message.contains('\n') && !e.message.contains('\r'));
        }
    }

    #[test]
    fn outcome_lines() {
        let o = |uri: Option<&str>, result: Result<(), String>, retry_at| ReportOutcome {
            domain: "remote.example".into(),
            uri: uri.map(str::to_string),
            result,
            retry_at,
        };
        let text = format_outcomes(&[
            o(Some("mailto:t@remote.example"), Ok(()), None),
            o(Some("https://r.example/"), Err("503\r\nx".into()), Some(0)),
            o(None, Err("no _smtp._tls record with a rua".into()), None),
        ]);
        assert_eq!(
            text,
            "remote.example\tmailto:t@remote.example\tsent\n\
             remote.example\thttps://r.example/\tfailed: 503  x; retry at 1970-01-01T00:00:00Z\n\
             1 domain(s) counted without a _smtp._tls record: nothing sent to them\n"
        );
        assert_eq!(format_outcomes(&[]), "no TLS report to send\n");
    }
}
