//! Shared mailboxes (IMAP ACL, RFC 4314; shared namespace, RFC 2342)
//! through the real binary: tests/imap_acl.py drives three accounts with
//! Python's imaplib over TLS (grant, each right, revoke, nothing else of
//! the owner's visible), then the owner's data export must list the grant.

mod common;

use common::*;

#[test]
fn a_shared_mailbox_shows_exactly_what_was_granted() {
    let site = Site::new("");
    for a in ["alice@example.org", "bob@example.org", "carol@example.org"] {
        site.add_account(a);
    }
    let server = site.start();
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "password": PASSWORD,
    });
    let out = python("imap_acl.py", &[&args.to_string()]);
    assert!(
        out.ok() && out.stdout.contains("ok"),
        "imap_acl.py: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
}
