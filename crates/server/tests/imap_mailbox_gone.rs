//! A selected mailbox deleted or renamed by another session (RFC 2180
//! 3.3, 3.4) through the real binary: tests/imap_mailbox_gone.py drives
//! alice's and bob's sessions with Python's imaplib over TLS. A RENAME
//! leaves the other sessions working on the mailbox under its new name;
//! a DELETE closes them with `* BYE` within a second, in IDLE or between
//! commands, a grantee's session on the shared mailbox too.

mod common;

use common::*;

#[test]
fn a_deleted_mailbox_closes_the_sessions_that_have_it_selected() {
    let site = Site::new("");
    for a in ["alice@example.org", "bob@example.org"] {
        site.add_account(a);
    }
    let server = site.start();
    run_imaps_script(&site, &server, "imap_mailbox_gone.py");
}
