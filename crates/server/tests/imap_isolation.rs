//! Isolation between two accounts in two domains through the real binary
//! (DESIGN.md promise 3): tests/imap_isolation.py logs in as
//! alice@example.org and bob@example.net and tries every way into the
//! other's mailboxes, hostile names included, after SMTP delivered to each.

mod common;

use common::*;

#[test]
fn neither_account_reaches_the_others_mailboxes_by_any_name() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    site.add_account("bob@example.net");
    let server = site.start();
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "smtp": server.addr("smtp").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    let out = python("imap_isolation.py", &[&args.to_string()]);
    assert!(
        out.ok() && out.stdout.contains("ok"),
        "imap_isolation.py: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
}
