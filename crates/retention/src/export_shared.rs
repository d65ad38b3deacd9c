//! `shared-access.csv` of the data-subject export (GDPR article 15): who
//! else may read the account's mailboxes, and whose mailboxes it may read
//! (IMAP ACL grants, stored by `sealpost_store`'s `acl.rs`).
//!
//! One row per grant: `direction` (`you_shared` or `shared_with_you`),
//! `mailbox` (its name in its owner's account), `account` (the other
//! party's address) and `rights` (RFC 4314 letters: l lookup, r read, s
//! keep seen, w write flags, i insert, p post, k create child, x delete
//! mailbox, t delete messages, e expunge, a administer). Cells are quoted
//! as RFC 4180 says, and a cell a spreadsheet would run as a formula starts
//! with `'`.

use sealpost_store::{AccountId, Grant, Store, StoreError};

/// The CSV of the grants `account` gave and received.
pub(crate) fn shared_access_csv(store: &Store, account: AccountId) -> Result<Vec<u8>, StoreError> {
    let mut out = String::from("direction,mailbox,account,rights\r\n");
    for g in store.acl_given(account)? {
        row(store, &mut out, "you_shared", &g, g.grantee)?;
    }
    for g in store.acl_received(account)? {
        row(store, &mut out, "shared_with_you", &g, g.owner)?;
    }
    Ok(out.into_bytes())
}

fn row(
    store: &Store,
    out: &mut String,
    direction: &str,
    g: &Grant,
    other: AccountId,
) -> Result<(), StoreError> {
    let Some(mailbox) = store
        .mailboxes(g.owner)?
        .into_iter()
        .find(|m| m.id == g.mailbox)
    else {
        return Ok(());
    };
    // An account purged or deleted meanwhile has no address to show.
    let other = store.account_address(other)?.unwrap_or_default();
    let cells = [
        direction.to_string(),
        mailbox.name.to_string(),
        other,
        g.rights.letters(),
    ];
    let cells: Vec<String> = cells.into_iter().map(cell).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
    Ok(())
}

/// One CSV cell: formulas defused, quoted when needed (RFC 4180).
fn cell(s: String) -> String {
    let s = match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}"),
        _ => s,
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell("INBOX".into()), "INBOX");
        assert_eq!(cell("a,b".into()), "\"a,b\"");
        assert_eq!(cell("say \"hi\"".into()), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd()".into()), "'=cmd()");
    }
}
