//! The catch-all alias `*@domain`: mail for an address of the domain that
//! no account or alias has goes to its account, which does not thereby own
//! (send as) those addresses; `*` anywhere else in an alias is refused, in
//! the file (with its line) and by the CLI's edit.

mod common;

use common::{account, accounts_file, domains, limits};
use sealpost_directory::{Directory, Recipient, add_alias};

#[test]
fn catch_all_takes_what_nobody_else_has_and_grants_no_sender_rights() {
    let text = format!(
        "{}aliases = [\"*@example.org\"]\n\n{}",
        account("alice@example.org", "pw", ""),
        account("bob@example.org", "pw", "")
    );
    let (_t, path) = accounts_file(&text);
    let d = Directory::load(&path, domains(), limits()).unwrap();
    assert_eq!(
        d.recipient("nobody@example.org"),
        Recipient::Local("alice@example.org".into())
    );
    assert_eq!(
        d.recipient("Bob+tag@Example.org"),
        Recipient::Local("bob@example.org".into())
    );
    // Another hosted domain without a catch-all still refuses.
    assert_eq!(d.recipient("nobody@example.net"), Recipient::UnknownUser);
    assert!(!d.owns_address("alice@example.org", "nobody@example.org"));
}

#[test]
fn a_star_elsewhere_in_an_alias_is_refused() {
    let text = format!(
        "{}aliases = [\"sales*@example.org\"]\n",
        account("alice@example.org", "pw", "")
    );
    let (_t, path) = accounts_file(&text);
    let err = Directory::load(&path, domains(), limits())
        .map(|d| d.refused().join("; "))
        .unwrap_or_else(|e| e.to_string());
    assert!(
        err.contains("account[0].aliases[0]") && err.contains("`*` only"),
        "{err}"
    );

    let (_t, path) = accounts_file(&account("alice@example.org", "pw", ""));
    let err = add_alias(&path, &domains(), "alice@example.org", "*x@example.org").unwrap_err();
    assert!(err.to_string().contains("`*` only"), "{err}");
    add_alias(&path, &domains(), "alice@example.org", "*@example.org").unwrap();
}
