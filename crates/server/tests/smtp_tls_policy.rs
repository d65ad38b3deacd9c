//! Outbound TLS policy end to end: the real binary relays to a loopback
//! recipient domain (tests/tls_policy_peer.py: an HTTPS MTA-STS policy host
//! and an MX with STARTTLS) found through `[smtp.dns]` static records, and
//! its certificate is checked as the domain's MTA-STS policy (RFC 8461) or
//! its DANE TLSA records (RFC 7672) ask. The queue shows why a message is
//! deferred; the `queue_attempt` log line shows the policy decision.
//! REQUIRETLS (RFC 8689) and `TLS-Required: No` from the sender's side.
//! (TLS reports: smtp_tls_report.rs.)

mod common;
mod smtp_support;
mod tls_policy_support;

use common::*;
use smtp_support::*;
use std::time::Duration;
use tls_policy_support::*;

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
    // Sealed (DESIGN.md promise 8): no recipient domain in plaintext.
    let cache = site.path("data/mta-sts-cache.sealed");
    assert!(cache.exists() && !site.path("data/mta-sts-cache.json").exists());
    assert_no_plaintext(&site.path("data"), "remote.example");
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
        tls.starts_with("mx.remote.example: opportunistic: TLS "),
        "{tls}"
    );
}

#[test]
fn tlsa_records_of_an_mx_from_an_insecure_mx_answer_are_not_used() {
    let pki = Pki::new();
    let peer = Peer::start(&pki, "good", None);
    // Secure TLSA that does not match: DANE would defer. But the MX answer
    // is not authenticated (RFC 7672 2.2.1), so DANE does not apply.
    let tlsa = vec![(format!("3 1 1 {}", pki.bad_spki), true)];
    let text =
        config(&pki, &peer, &tlsa).replace("preference = 10\nsecure = true\n", "preference = 10\n");
    let site = site(&text);
    let server = site.start();
    let tx = expect_delivered(&site, &server, &peer, "dane-insecure-mx");
    assert_eq!(tx["tls"], true, "{tx}");
    let tls = attempt_tls(&server);
    assert!(
        tls.starts_with("mx.remote.example: opportunistic: TLS "),
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
        tls.starts_with("mx.remote.example: opportunistic: TLS "),
        "{tls}"
    );
}
