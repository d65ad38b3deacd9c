//! Forwarding (`[[forward]]`): what recipients forward to, keeping a copy
//! through an account or alias, and the file's errors with their lines.

mod common;

use common::{account, accounts_file, domains, limits};
use sealpost_directory::{
    Directory, Forwarding, Recipient, add_forward, list_forwards, remove_forward,
};

fn forward(address: &str, local: Option<&str>, remote: &[&str]) -> Recipient {
    Recipient::Forward(Forwarding {
        address: address.into(),
        local: local.map(str::to_owned),
        remote: remote.iter().map(|s| s.to_string()).collect(),
    })
}

#[test]
fn forwards_resolve_with_and_without_a_local_copy() {
    let text = format!(
        "{}aliases = [\"sales@example.org\", \"*@example.org\"]\n\n\
         [[forward]]\naddress = \"sales@example.org\"\nto = [\"bob@elsewhere.example\"]\n\n\
         [[forward]]\naddress = \"Only@Example.org\"\nto = [\"x@one.example\", \"y@two.example\"]\n\n\
         [[forward]]\naddress = \"carol@example.org\"\nto = [\"carol@home.example\"]\n\n{}\
         aliases = [\"c@example.org\"]\n",
        account("alice@example.org", "pw", ""),
        account("carol@example.org", "pw", "")
    );
    let (_t, path) = accounts_file(&text);
    let d = Directory::load(&path, domains(), limits()).unwrap();
    assert!(d.refused().is_empty(), "{:?}", d.refused());
    // An alias with an outside target: the account keeps its copy.
    assert_eq!(
        d.recipient("Sales@example.org"),
        forward(
            "sales@example.org",
            Some("alice@example.org"),
            &["bob@elsewhere.example"]
        )
    );
    assert_eq!(
        d.recipient("sales+q@example.org"),
        forward(
            "sales@example.org",
            Some("alice@example.org"),
            &["bob@elsewhere.example"]
        )
    );
    // Outside targets only.
    assert_eq!(
        d.recipient("only@example.org"),
        forward(
            "only@example.org",
            None,
            &["x@one.example", "y@two.example"]
        )
    );
    // An account's forward covers its aliases too...
    assert_eq!(
        d.recipient("c@example.org"),
        forward(
            "carol@example.org",
            Some("carol@example.org"),
            &["carol@home.example"]
        )
    );
    // ...but not what reaches an account through the catch-all.
    assert_eq!(
        d.recipient("nobody@example.org"),
        Recipient::Local("alice@example.org".into())
    );
    assert_eq!(
        d.recipient("alice@example.org"),
        Recipient::Local("alice@example.org".into())
    );
    // A forward does not let anybody send as its address.
    assert!(!d.owns_address("alice@example.org", "only@example.org"));
}

#[test]
fn bad_forwards_are_refused_with_their_line() {
    let cases = [
        (
            "[[forward]]\naddress = \"a@example.org\"\nto = [\"b@example.net\"]\n",
            "forward[0].to[0]",
            "hosted domain",
        ),
        (
            "[[forward]]\naddress = \"*@example.org\"\nto = [\"b@else.example\"]\n",
            "forward[0].address",
            "catch-all forwarding",
        ),
        (
            "[[forward]]\naddress = \"srs0=x@example.org\"\nto = [\"b@else.example\"]\n",
            "forward[0].address",
            "SRS0",
        ),
        (
            "[[forward]]\naddress = \"a@elsewhere.example\"\nto = [\"b@else.example\"]\n",
            "forward[0].address",
            "not hosted",
        ),
        (
            "[[forward]]\naddress = \"a@example.org\"\nto = []\n",
            "forward[0].to",
            "1 to 16",
        ),
        (
            "[[forward]]\naddress = \"a@example.org\"\nto = [\"b@else.example\"]\nkeep = true\n",
            "forward[0].keep",
            "unknown key",
        ),
        (
            "[[forward]]\naddress = \"a@example.org\"\nto = [\"b@else.example\"]\n\n\
             [[forward]]\naddress = \"A@example.org\"\nto = [\"c@else.example\"]\n",
            "forward[1].address",
            "already",
        ),
        (
            "[[forward]]\naddress = \"a@example.org\"\n",
            "forward[0]",
            "missing key `to`",
        ),
        ("forward = 3\n", "forward", "[[forward]] tables"),
    ];
    for (text, key, why) in cases {
        let (_t, path) = accounts_file(text);
        let err = Directory::load(&path, domains(), limits())
            .map(|d| d.refused().join("; "))
            .unwrap_or_else(|e| e.to_string());
        assert!(
            err.contains("accounts.toml:")
                && err.contains(&format!("`{key}`"))
                && err.contains(why),
            "{text:?}: {err}"
        );
    }
    // The line is the second address's (line 6).
    let (_t, path) = accounts_file(cases[6].0);
    let d = Directory::load(&path, domains(), limits()).unwrap();
    assert!(
        d.refused()[0].contains("accounts.toml:6:"),
        "{:?}",
        d.refused()
    );
    // The valid first one still forwards.
    assert!(matches!(
        d.recipient("a@example.org"),
        Recipient::Forward(_)
    ));
}

#[test]
fn cli_edits_add_and_remove_targets() {
    let (_t, path) = accounts_file(&format!(
        "# kept\n{}",
        account("alice@example.org", "pw", "")
    ));
    add_forward(&path, &domains(), "Sales@example.org", "bob@else.example").unwrap();
    add_forward(
        &path,
        &domains(),
        "sales@example.org",
        "carol@other.example",
    )
    .unwrap();
    let err = add_forward(&path, &domains(), "sales@example.org", "bob@else.example").unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");
    let err = add_forward(&path, &domains(), "sales@example.org", "bob@example.net").unwrap_err();
    assert!(err.to_string().contains("hosted domain"), "{err}");
    let err = add_forward(&path, &domains(), "*@example.org", "bob@else.example").unwrap_err();
    assert!(err.to_string().contains("catch-all"), "{err}");
    let list = list_forwards(&path).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].to, ["bob@else.example", "carol@other.example"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# kept\n"), "{text}");
    remove_forward(&path, "sales@example.org", Some("bob@else.example")).unwrap();
    assert_eq!(list_forwards(&path).unwrap()[0].to, ["carol@other.example"]);
    remove_forward(&path, "sales@example.org", Some("carol@other.example")).unwrap();
    assert!(list_forwards(&path).unwrap().is_empty());
    assert!(!std::fs::read_to_string(&path).unwrap().contains("forward"));
    assert!(remove_forward(&path, "sales@example.org", None).is_err());
}
