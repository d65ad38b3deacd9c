//! TLS reporting (RFC 8460) end to end: the real binary counts its
//! sessions to the loopback recipient domain remote.example
//! (tests/tls_policy_peer.py) and sends the aggregate report to the `rua`
//! of `_smtp._tls.remote.example` (a static record): by mail to a local
//! account read back over IMAPS (tests/tlsrpt_read.py), or as an HTTPS POST
//! to the peer. Reports go out when the period ends, or at once with
//! `sealpost tls-report send` (through the running server or offline); a
//! POST that fails is kept and sent by the next try.

mod common;
mod smtp_support;
mod tls_policy_support;

use common::*;
use smtp_support::*;
use std::io::Read;
use std::time::Duration;
use tls_policy_support::*;

/// The site's config with a `_smtp._tls` record naming `rua`.
fn with_rua(pki: &Pki, peer: &Peer, rua: &str) -> String {
    format!(
        "{}[[smtp.dns.txt]]\nname = \"_smtp._tls.remote.example\"\nvalue = \"v=TLSRPTv1; rua={rua}\"\n",
        config(pki, peer, &[])
    )
}

/// The first TLS report in bob@example.net's INBOX (tests/tlsrpt_read.py).
fn report_in_bobs_inbox(site: &Site, server: &Server) -> serde_json::Value {
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": "bob@example.net",
        "password": PASSWORD,
    });
    let out = python("tlsrpt_read.py", &[&args.to_string()]);
    assert!(
        out.ok(),
        "{}{}\nlog:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    serde_json::from_str(out.stdout.trim()).unwrap()
}

/// The reports the peer took by POST, gunzipped, with their media type.
fn posted_reports(peer: &Peer) -> Vec<(String, serde_json::Value)> {
    let mut files: Vec<_> = std::fs::read_dir(peer.dir.path().join("tx"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "gz"));
    files.sort();
    files
        .iter()
        .map(|p| {
            let media = std::fs::read_to_string(p.with_extension("type")).unwrap();
            let gz = std::fs::read(p).unwrap();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut text)
                .unwrap();
            (media, serde_json::from_str(&text).unwrap())
        })
        .collect()
}

#[test]
fn tls_report_counts_a_failure_and_arrives_at_the_rua() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "bad", Some(TESTING));
    let extra = format!(
        "{}[[smtp.dns.txt]]\nname = \"_smtp._tls.remote.example\"\nvalue = \"v=TLSRPTv1; rua=mailto:bob@example.net\"\n",
        config(&pki, &peer, &[])
    )
    .replace(
        "policy_timeout_secs = 5\n",
        "policy_timeout_secs = 5\ntls_rpt_interval_secs = 4\n",
    );
    let site = site(&extra);
    let server = site.start();
    expect_delivered(&site, &server, &peer, "tls-report");
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": "bob@example.net",
        "password": PASSWORD,
    });
    let mut out = python("tlsrpt_read.py", &[&args.to_string()]);
    // The period ends at most 4 s after the server started.
    wait_for(Duration::from_secs(20), || {
        out = python("tlsrpt_read.py", &[&args.to_string()]);
        out.ok()
    });
    assert!(
        out.ok(),
        "{}{}\nlog:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    let got: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(got["domain"], "remote.example", "{got}");
    assert_eq!(got["submitter"], "mail.example.org");
    assert!(
        got["subject"]
            .as_str()
            .unwrap()
            .starts_with("Report Domain: remote.example Submitter: mail.example.org Report-ID: <"),
        "{got}"
    );
    assert!(
        got["filename"]
            .as_str()
            .unwrap()
            .starts_with("mail.example.org!remote.example!")
    );
    let r = &got["report"];
    assert_eq!(r["organization-name"], "mail.example.org");
    assert_eq!(r["contact-info"], "postmaster@mail.example.org");
    assert!(
        r["date-range"]["start-datetime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let p = &r["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "sts");
    assert_eq!(p["policy"]["policy-domain"], "remote.example");
    assert_eq!(p["policy"]["policy-string"][1], "mode: testing");
    assert_eq!(p["policy"]["mx-host"][0], "mx.remote.example");
    assert_eq!(p["summary"]["total-successful-session-count"], 0);
    assert_eq!(p["summary"]["total-failure-session-count"], 1);
    let d = &p["failure-details"][0];
    assert_eq!(d["result-type"], "certificate-not-trusted");
    assert_eq!(d["receiving-mx-hostname"], "mx.remote.example");
    assert_eq!(d["failed-session-count"], 1);
    // The counts are durable between reports, sealed.
    assert!(site.path("data/tls-rpt.sealed").exists());
    assert!(!site.path("data/tls-rpt.json").exists());
    assert_no_plaintext(&site.path("data"), "remote.example");
}

#[test]
fn tls_report_send_on_demand_keeps_a_failed_post_and_sends_it_on_the_next_try() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", Some(TESTING));
    let rua = format!(
        "https://mta-sts.remote.example:{}/tlsrpt",
        peer.https.unwrap()
    );
    let site = site(&with_rua(&pki, &peer, &rua));
    let server = site.start();
    expect_delivered(&site, &server, &peer, "tls-report-post");
    // The report host is down: the report is kept for a retry.
    std::fs::write(peer.dir.path().join("tx/post-fail"), "").unwrap();
    let out = site.cli(&["tls-report", "send"], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with(&format!("remote.example\t{rua}\tfailed: ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("503"), "{}", out.stdout);
    assert!(out.stdout.contains("; retry at 20"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("some TLS reports were not sent (kept for a retry"),
        "{}",
        out.stderr
    );
    assert!(posted_reports(&peer).is_empty());
    // Kept sealed, across a restart.
    assert_no_plaintext(&site.path("data"), "remote.example");
    server.stop();
    let server = site.start();
    std::fs::remove_file(peer.dir.path().join("tx/post-fail")).unwrap();
    let out = site.cli(&["tls-report", "send", "--domain", "Remote.Example"], "");
    assert!(
        out.ok(),
        "{}{}\nlog:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    assert_eq!(out.stdout, format!("remote.example\t{rua}\tsent\n"));
    let posted = posted_reports(&peer);
    assert_eq!(posted.len(), 1, "{posted:?}");
    let (media, r) = &posted[0];
    assert_eq!(media, "application/tlsrpt+gzip");
    let p = &r["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "sts");
    assert_eq!(p["policy"]["policy-domain"], "remote.example");
    assert_eq!(p["summary"]["total-successful-session-count"], 1);
    assert_eq!(p["summary"]["total-failure-session-count"], 0);
    // Sent once: nothing is left.
    let out = site.cli(&["tls-report", "send"], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "no TLS report to send\n");
    assert_eq!(posted_reports(&peer).len(), 1);
}

#[test]
fn a_session_without_a_policy_is_reported_as_no_policy_found_by_the_offline_cli() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", None);
    let site = site(&with_rua(&pki, &peer, "mailto:bob@example.net"));
    let server = site.start();
    expect_delivered(&site, &server, &peer, "no-policy");
    server.stop();
    // No server: the CLI opens the store and delivers to bob itself.
    let out = site.cli(&["tls-report", "send", "--domain", "remote.example"], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "remote.example\tmailto:bob@example.net\tsent\n");
    let server = site.start();
    let got = report_in_bobs_inbox(&site, &server);
    let p = &got["report"]["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "no-policy-found", "{got}");
    assert_eq!(p["policy"]["mx-host"][0], "mx.remote.example");
    assert_eq!(p["summary"]["total-successful-session-count"], 1);
    assert_eq!(p["summary"]["total-failure-session-count"], 0);
}

#[test]
fn tls_report_send_refuses_a_bad_domain_and_reporting_turned_off() {
    let site = site("[smtp.outbound_tls]\ntls_rpt = false\n");
    let out = site.cli(&["tls-report", "send", "--domain", "a b"], "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "sealpost: --domain: not a domain name: \"a b\"\n"
    );
    let out = site.cli(&["tls-report", "send"], "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("TLS reporting is off"),
        "{}",
        out.stderr
    );
}
