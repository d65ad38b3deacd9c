//! Outbound TLS policy end to end: the real binary relays to a loopback
//! recipient domain (tests/tls_policy_peer.py: an HTTPS MTA-STS policy host
//! and an MX with STARTTLS) found through `[smtp.dns]` static records, and
//! its certificate is checked as the domain's MTA-STS policy (RFC 8461) or
//! its DANE TLSA records (RFC 7672) ask. The queue shows why a message is
//! deferred; the `queue_attempt` log line shows the policy decision.
//! REQUIRETLS (RFC 8689) and `TLS-Required: No` from the sender's side.

mod common;
mod smtp_support;

use common::*;
use sha2::Digest;
use smtp_support::*;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A test CA, a certificate from it for the peer's names, and a
/// self-signed one for the same names (invalid for WebPKI).
struct Pki {
    dir: tempfile::TempDir,
    /// The CA certificate's DER (hex), for a DANE-TA full-certificate record.
    ca_der: String,
    /// SHA-256 of the self-signed certificate's SubjectPublicKeyInfo (hex).
    bad_spki: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let names = vec![
            "mta-sts.remote.example".to_string(),
            "mx.remote.example".to_string(),
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "sealpost test CA for remote.example",
        );
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let good_key = rcgen::KeyPair::generate().unwrap();
        let good = rcgen::CertificateParams::new(names.clone())
            .unwrap()
            .signed_by(&good_key, &issuer)
            .unwrap();
        let bad_key = rcgen::KeyPair::generate().unwrap();
        let bad = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&bad_key)
            .unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca.pem());
        write("good.pem", good.pem());
        write("good.key", good_key.serialize_pem());
        write("bad.pem", bad.pem());
        write("bad.key", bad_key.serialize_pem());
        let spki = |k: &rcgen::KeyPair| {
            use rcgen::PublicKeyData;
            hex::encode(sha2::Sha256::digest(k.subject_public_key_info()))
        };
        Pki {
            ca_der: hex::encode(ca.der()),
            bad_spki: spki(&bad_key),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running tests/tls_policy_peer.py; killed on drop.
struct Peer {
    child: Child,
    dir: tempfile::TempDir,
    https: Option<u16>,
    smtp: u16,
}

impl Peer {
    /// The MX shows `cert` (`good` or `bad`); with `policy`, the policy
    /// host (always with the good certificate) serves it.
    fn start(pki: &Pki, cert: &str, policy: Option<&str>) -> Peer {
        Peer::start_with(pki, cert, policy, &[])
    }

    /// As [`Peer::start`], with more options (`--requiretls`).
    fn start_with(pki: &Pki, cert: &str, policy: Option<&str>, options: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/tls_policy_peer.py"
        );
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(dir.path().join("tx"))
            .arg(pki.path(&format!("{cert}.pem")))
            .arg(pki.path(&format!("{cert}.key")));
        if let Some(text) = policy {
            let file = dir.path().join("policy.txt");
            std::fs::write(&file, text).unwrap();
            cmd.arg("--https")
                .arg(pki.path("good.pem"))
                .arg(pki.path("good.key"))
                .arg(file);
        }
        cmd.args(options);
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 must be installed");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut port = |prefix: &str| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix(prefix)
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or_else(|| panic!("peer said {line:?}"))
        };
        let https = policy.map(|_| port("HTTPS "));
        let smtp = port("SMTP ");
        Peer {
            child,
            dir,
            https,
            smtp,
        }
    }

    /// Every message the MX took.
    fn delivered(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("tx"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    fn policy_fetches(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("tx/policy-fetches"))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ENFORCE: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.example\r\nmax_age: 86400\r\n";
const TESTING: &str =
    "version: STSv1\r\nmode: testing\r\nmx: mx.remote.example\r\nmax_age: 86400\r\n";

/// The site's config for mail to remote.example: its MX and policy host
/// on loopback, an `_mta-sts` record when the peer serves a policy, and
/// `tlsa` records (value, secure) for the MX.
fn config(pki: &Pki, peer: &Peer, tlsa: &[(String, bool)]) -> String {
    let mut text = format!(
        "[smtp]\nrelay_port = {}\nretry_initial_secs = 3600\nretry_max_secs = 3600\nrelay_timeout_secs = 10\n\
         [smtp.outbound_tls]\nca_file = \"{}\"\nmta_sts_port = {}\npolicy_timeout_secs = 5\n\
         [smtp.dns]\nstatic_only = true\n\
         [[smtp.dns.mx]]\nname = \"remote.example\"\nhost = \"mx.remote.example\"\npreference = 10\n\
         [[smtp.dns.a]]\nname = \"mx.remote.example\"\naddr = \"127.0.0.1\"\n\
         [[smtp.dns.a]]\nname = \"mta-sts.remote.example\"\naddr = \"127.0.0.1\"\n",
        peer.smtp,
        pki.path("ca.pem").display(),
        peer.https.unwrap_or(443),
    );
    if peer.https.is_some() {
        text.push_str(
            "[[smtp.dns.txt]]\nname = \"_mta-sts.remote.example\"\nvalue = \"v=STSv1; id=20261203T1;\"\n",
        );
    }
    for (value, secure) in tlsa {
        text.push_str(&format!(
            "[[smtp.dns.record]]\nname = \"_{}._tcp.mx.remote.example\"\ntype = \"TLSA\"\nvalue = \"{value}\"\nsecure = {secure}\n",
            peer.smtp
        ));
    }
    text
}

fn queue_list(site: &Site) -> String {
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "queue list: {}", out.stderr);
    out.stdout
}

/// Submits `subject` to carol@remote.example and waits until the MX has it.
fn expect_delivered(site: &Site, server: &Server, peer: &Peer, subject: &str) -> serde_json::Value {
    submit_as_alice(site, server, "submission", "carol@remote.example", subject);
    assert!(
        wait_for(Duration::from_secs(20), || peer.delivered().len() == 1),
        "not delivered; queue: {}\nlog:\n{}",
        queue_list(site),
        server.log()
    );
    let tx = peer.delivered().remove(0);
    assert!(tx["data"].as_str().unwrap().contains(subject), "{tx}");
    tx
}

/// Submits `subject` and waits for its first attempt; returns the queue line.
fn expect_deferred(site: &Site, server: &Server, subject: &str) -> String {
    submit_as_alice(site, server, "submission", "carol@remote.example", subject);
    let mut list = String::new();
    assert!(
        wait_for(Duration::from_secs(20), || {
            list = queue_list(site);
            list.contains("attempts=1")
        }),
        "{list}\nlog:\n{}",
        server.log()
    );
    list
}

/// The `tls` field of the first `queue_attempt` log line, and the rest of
/// the line after it.
fn attempt_tls(server: &Server) -> String {
    assert!(server.wait_log("queue_attempt", Duration::from_secs(10)));
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("queue_attempt"))
        .unwrap_or_else(|| panic!("no queue_attempt line:\n{log}"));
    line.split(" tls=")
        .nth(1)
        .unwrap_or_else(|| panic!("no tls field: {line}"))
        .to_string()
}

#[test]
fn enforce_policy_with_a_valid_certificate_delivers_over_tls_and_caches_the_policy() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", Some(ENFORCE));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "sts-enforce-valid");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.contains("mx.remote.example: mta-sts enforce: certificate valid"),
        "{tls}"
    );
    assert_eq!(peer.policy_fetches(), 1);
    let cache = site.path("data/mta-sts-cache.json");
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        text.contains("\"remote.example\"") && text.contains("enforce"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn enforce_policy_with_an_invalid_certificate_defers_with_the_reason() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "bad", Some(ENFORCE));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    let list = expect_deferred(&site, &server, "sts-enforce-invalid");
    assert!(
        list.contains("(pending: 4.7.5 mta-sts enforce policy of remote.example not met: mta-sts enforce: failed: invalid peer certificate: UnknownIssuer"),
        "{list}"
    );
    assert!(peer.delivered().is_empty());
    let tls = attempt_tls(&server);
    assert!(
        tls.contains("mta-sts enforce: failed: invalid peer certificate"),
        "{tls}"
    );
}

#[test]
fn testing_policy_with_an_invalid_certificate_delivers_and_reports_the_failure() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "bad", Some(TESTING));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "sts-testing-invalid");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.contains(
            "mx.remote.example: mta-sts testing: failed: invalid peer certificate: UnknownIssuer"
        ),
        "{tls}"
    );
}

#[test]
fn enforce_policy_refuses_an_mx_it_does_not_list() {
    let pki = Pki::new();
    let policy = ENFORCE.replace("mx: mx.remote.example", "mx: *.other.example");
    let peer = Peer::start(&pki, "good", Some(&policy));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    let list = expect_deferred(&site, &server, "sts-mx-mismatch");
    assert!(
        list.contains("(pending: 4.7.5 outbound TLS policy of remote.example leaves no mail exchanger: mx.remote.example (not in the MTA-STS policy))"),
        "{list}"
    );
    assert!(peer.delivered().is_empty());
}

#[test]
fn a_cached_enforce_policy_survives_a_restart_when_the_policy_host_is_gone() {
    let pki = Pki::new();
    let first = Peer::start(&pki, "good", Some(ENFORCE));
    let site = site(&config(&pki, &first, &[]));
    let server = site.start();
    expect_delivered(&site, &server, &first, "sts-cache-first");
    assert_eq!(server.stop(), Some(0));
    // Now the policy host is down and the MX shows a bad certificate:
    // without the cached policy the message would go out opportunistically.
    let second = Peer::start(&pki, "bad", None);
    let text = std::fs::read_to_string(&site.config).unwrap().replace(
        &format!("relay_port = {}", first.smtp),
        &format!("relay_port = {}", second.smtp),
    );
    std::fs::write(&site.config, text).unwrap();
    drop(first);
    let server = site.start();
    let list = expect_deferred(&site, &server, "sts-cache-second");
    assert!(
        list.contains("4.7.5 mta-sts enforce policy of remote.example not met"),
        "{list}\nlog:\n{}",
        server.log()
    );
    assert!(second.delivered().is_empty());
}

#[test]
fn dane_ee_match_wins_over_a_failing_mta_sts_policy() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "bad", Some(ENFORCE));
    let tlsa = vec![(format!("3 1 1 {}", pki.bad_spki), true)];
    let site = site(&config(&pki, &peer, &tlsa));
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "dane-ee-match");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.contains("mx.remote.example: dane: certificate valid"),
        "{tls}"
    );
}

#[test]
fn dane_mismatch_defers_even_with_a_valid_webpki_certificate() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", None);
    let tlsa = vec![(format!("3 1 1 {}", pki.bad_spki), true)];
    let site = site(&config(&pki, &peer, &tlsa));
    let server = site.start();
    let list = expect_deferred(&site, &server, "dane-mismatch");
    assert!(
        list.contains("(pending: 4.7.5 dane policy of remote.example not met: dane: failed: no TLSA record matches the certificate chain"),
        "{list}"
    );
    assert!(peer.delivered().is_empty());
}

#[test]
fn dane_ta_full_certificate_record_authenticates_the_chain_and_the_name() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", None);
    let tlsa = vec![(format!("2 0 0 {}", pki.ca_der), true)];
    let site = site(&config(&pki, &peer, &tlsa));
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "dane-ta");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.contains("mx.remote.example: dane: certificate valid"),
        "{tls}"
    );
}

#[test]
fn tlsa_records_without_dnssec_are_not_used() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", None);
    // Not validated: DANE does not apply, so the mismatch does not matter.
    let tlsa = vec![(format!("3 1 1 {}", pki.bad_spki), false)];
    let site = site(&config(&pki, &peer, &tlsa));
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "dane-insecure");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.starts_with("mx.remote.example: opportunistic "),
        "{tls}"
    );
}

/// alice submits `subject` to carol@remote.example with `extra` smtplib
/// arguments (mail_options, headers).
fn submit_with(site: &Site, server: &Server, subject: &str, extra: serde_json::Value) {
    let mut args = serde_json::json!({
        "user": "alice@example.org",
        "password": PASSWORD,
        "from": "alice@example.org",
        "to": ["carol@remote.example"],
        "subject": subject,
    });
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    let r = submit(site, server, "submission", args);
    assert_eq!(r["ok"], true, "{r}\nlog:\n{}", server.log());
}

/// The bounce alice got for `subject` (raw), once it is in her INBOX.
fn bounce(site: &Site, server: &Server) -> String {
    let subject = "Undelivered Mail Returned to Sender";
    assert!(
        wait_for(Duration::from_secs(20), || count(
            site,
            server,
            "alice@example.org",
            subject
        ) == 1),
        "no bounce; queue: {}\nlog:\n{}",
        queue_list(site),
        server.log()
    );
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
        "subject": subject,
    });
    let out = python("imap_fetch_raw.py", &[&args.to_string()]);
    assert!(out.ok(), "imap_fetch_raw.py: {}{}", out.stdout, out.stderr);
    out.stdout
}

#[test]
fn requiretls_relays_to_an_authenticated_hop_that_offers_it() {
    let pki = Pki::new();
    // A testing policy counts as enforce under REQUIRETLS.
    let peer = Peer::start_with(&pki, "good", Some(TESTING), &["--requiretls"]);
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    submit_with(
        &site,
        &server,
        "requiretls-ok",
        serde_json::json!({"mail_options": ["REQUIRETLS"]}),
    );
    assert!(
        wait_for(Duration::from_secs(20), || peer.delivered().len() == 1),
        "{}\n{}",
        queue_list(&site),
        server.log()
    );
    let tx = peer.delivered().remove(0);
    assert_eq!(tx["tls"], true, "{tx}");
    assert!(
        tx["mail"].as_str().unwrap().ends_with(" REQUIRETLS"),
        "{tx}"
    );
}

#[test]
fn requiretls_bounces_when_the_hop_does_not_offer_it() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", Some(ENFORCE));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    submit_with(
        &site,
        &server,
        "requiretls-no-ext",
        serde_json::json!({"mail_options": ["REQUIRETLS"], "body": "secret body"}),
    );
    let dsn = bounce(&site, &server);
    assert!(dsn.contains("Status: 5.7.30"), "{dsn}");
    assert!(dsn.contains("REQUIRETLS support required"), "{dsn}");
    // RFC 8689 5: headers only.
    assert!(dsn.contains("Subject: requiretls-no-ext"), "{dsn}");
    assert!(!dsn.contains("secret body"), "{dsn}");
    assert!(peer.delivered().is_empty());
}

#[test]
fn requiretls_bounces_without_dane_or_mta_sts() {
    let pki = Pki::new();
    let peer = Peer::start_with(&pki, "good", None, &["--requiretls"]);
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    submit_with(
        &site,
        &server,
        "requiretls-no-policy",
        serde_json::json!({"mail_options": ["REQUIRETLS"]}),
    );
    let dsn = bounce(&site, &server);
    assert!(dsn.contains("Status: 5.7.10"), "{dsn}");
    assert!(dsn.contains("neither DANE nor MTA-STS"), "{dsn}");
    assert!(peer.delivered().is_empty());
}

#[test]
fn tls_required_no_sets_a_failing_enforce_policy_aside() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "bad", Some(ENFORCE));
    let site = site(&config(&pki, &peer, &[]));
    let server = site.start();
    submit_with(
        &site,
        &server,
        "tls-required-no",
        serde_json::json!({"headers": ["TLS-Required: No"]}),
    );
    assert!(
        wait_for(Duration::from_secs(20), || peer.delivered().len() == 1),
        "{}\n{}",
        queue_list(&site),
        server.log()
    );
    assert_eq!(peer.delivered()[0]["tls"], true);
    let tls = attempt_tls(&server);
    assert!(
        tls.starts_with("mx.remote.example: opportunistic "),
        "{tls}"
    );
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
    // The counts are durable between reports, and reset after one.
    let counts = std::fs::read_to_string(site.path("data/tls-rpt.json")).unwrap();
    assert!(!counts.contains("remote.example"), "{counts}");
}
