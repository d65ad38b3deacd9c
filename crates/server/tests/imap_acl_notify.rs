//! NOTIFY and RENAME on shared mailboxes through the real binary:
//! tests/imap_acl_notify.py drives two accounts with Python's imaplib over
//! TLS (the owner's change told to the grantee as STATUS under its
//! `Shared/` name, a grantee's RENAME with `x` and `k`, a mailbox shared
//! after the grantee's NOTIFY SET told and watched from the grant on, a
//! revocation told as `LIST (\NoAccess)` and silence after it, RFC 5465
//! 5.9).

mod common;

use common::*;

#[test]
fn shared_mailboxes_are_notified_and_renamed_with_their_rights() {
    let site = Site::new("");
    for a in ["alice@example.org", "bob@example.org"] {
        site.add_account(a);
    }
    let server = site.start();
    run_imaps_script(&site, &server, "imap_acl_notify.py");
}
