//! A hand edit of the config file's `[[domain]]` tables reaches the running
//! server within 2 seconds, without SIGHUP or the CLI: before it, the MX
//! refuses a recipient of the new domain as relaying (5.7.1); after, it
//! answers as the domain's host (5.1.1 for an unknown user). An invalid
//! edit is logged and the running domains stay.

mod common;
mod smtp_support;

use common::*;
use serde_json::json;
use smtp_support::*;
use std::time::{Duration, Instant};

fn rcpt(site: &Site, server: &Server, to: &str) -> String {
    let r = converse(
        site,
        server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<someone@foreign.example>",
            format!("RCPT TO:<{to}>")
        ]),
    );
    format!("{} {}", r[1].0, r[1].1)
}

#[test]
fn a_hand_added_domain_is_served_within_two_seconds() {
    let site = site("");
    let server = site.start();
    assert!(rcpt(&site, &server, "nobody@hand.example").starts_with("550 5.7.1"));

    // An invalid edit first: logged, nothing changes.
    let good = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!("{good}\n[[domain]]\nname = \"bad domain!\"\n"),
    )
    .unwrap();
    assert!(
        server.wait_log("config file changed but is invalid", Duration::from_secs(3)),
        "{}",
        server.log()
    );
    assert!(rcpt(&site, &server, "nobody@hand.example").starts_with("550 5.7.1"));

    std::fs::write(
        &site.config,
        format!("{good}\n[[domain]]\nname = \"hand.example\"\n"),
    )
    .unwrap();
    let start = Instant::now();
    loop {
        let r = rcpt(&site, &server, "nobody@hand.example");
        if r.starts_with("550 5.1.1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{r}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The line is written once the reload returns, which may be just after
    // the RCPT above already saw the new domain.
    assert!(
        server.wait_log(
            "config file's domains changed: reloaded",
            Duration::from_secs(2)
        ),
        "{}",
        server.log()
    );
}
