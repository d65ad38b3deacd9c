//! Shared mailboxes (IMAP ACL, RFC 4314; shared namespace, RFC 2342)
//! through the real binary: tests/imap_acl.py drives three accounts with
//! Python's imaplib over TLS (grant, each right, revoke, nothing else of
//! the owner's visible), then each account's data export must list the
//! grants it gave or received; tests/imap_acl_revoke.py changes the grant
//! under a grantee that has the mailbox selected (RFC 4314 5.1.1).

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
    // GDPR art. 15: the owner's export names who may read what, and the
    // grantee's names what it may read; carol's names nothing.
    let alice = shared_access(&site, "alice@example.org");
    assert!(
        alice.contains("\r\nyou_shared,Team,bob@example.org,lrs\r\n"),
        "{alice:?}"
    );
    let bob = shared_access(&site, "bob@example.org");
    assert!(
        bob.contains("\r\nshared_with_you,Team,alice@example.org,lrs\r\n"),
        "{bob:?}"
    );
    let carol = shared_access(&site, "carol@example.org");
    assert_eq!(carol, "direction,mailbox,account,rights\r\n");
    // Every grant and revocation is in the owner's and the grantee's
    // audit records.
    for (who, text) in [
        ("alice@example.org", "set to lrs by account"),
        ("alice@example.org", "set to none by account"),
        ("bob@example.org", "acl: granted lrs on mailbox"),
    ] {
        let out = site.cli(&["audit", "export", "--csv", "--account", who], "");
        assert!(out.ok(), "{}", out.stderr);
        assert!(out.stdout.contains(text), "{who}: {text}: {}", out.stdout);
    }
}

/// A grantee that has the shared mailbox selected, or idles in it, is
/// closed with `* BYE [NOPERM]` within a second of losing `r`, and rights
/// lost short of that are refused at its next command.
#[test]
fn a_revocation_reaches_a_grantee_that_has_the_mailbox_selected() {
    let site = Site::new("");
    for a in ["alice@example.org", "bob@example.org"] {
        site.add_account(a);
    }
    let server = site.start();
    run_imaps_script(&site, &server, "imap_acl_revoke.py");
}

/// `shared-access.csv` from `sealpost export` of `address` (through the
/// running server's admin socket), read with tar(1).
fn shared_access(site: &Site, address: &str) -> String {
    let archive = site.path(&format!("{address}.tar"));
    let out = site.cli(&["export", address, "--out", archive.to_str().unwrap()], "");
    assert!(out.ok(), "export {address}: {}", out.stderr);
    let csv = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .arg("shared-access.csv")
        .output()
        .expect("tar(1) must be installed");
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    String::from_utf8(csv.stdout).unwrap()
}
