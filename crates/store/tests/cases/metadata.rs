// Store::metadata and Store::set_metadata (IMAP METADATA, RFC 5464), on
// every backend. Included by `store.rs` after `cases/store.rs`, whose
// helpers it uses.

fn entries(v: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    v.iter()
        .map(|(n, x)| (n.to_string(), x.as_bytes().to_vec()))
        .collect()
}

fn set(name: &str, value: Option<&str>) -> (String, Option<Vec<u8>>) {
    (name.to_string(), value.map(|v| v.as_bytes().to_vec()))
}

#[test]
fn metadata_is_kept_per_scope_and_survives_a_restart() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let server = MetadataScope::Server;
    let inbox_scope = MetadataScope::Mailbox(ib);
    assert!(s.metadata(a, server).unwrap().is_empty());
    let changes = [
        set("/private/comment", Some("server note")),
        set("/shared/admin", Some("mailto:ops@example.org")),
    ];
    assert_eq!(s.set_metadata(a, server, &changes, 10).unwrap(), MetadataOutcome::Stored);
    let changes = [set("/private/comment", Some("inbox note"))];
    assert_eq!(s.set_metadata(a, inbox_scope, &changes, 10).unwrap(), MetadataOutcome::Stored);
    // Names are case-insensitive: this replaces the entry, keeping one.
    let changes = [set("/PRIVATE/Comment", Some("server note 2"))];
    s.set_metadata(a, server, &changes, 10).unwrap();
    drop(s);
    let s = open(&f);
    assert_eq!(
        s.metadata(a, server).unwrap(),
        entries(&[("/PRIVATE/Comment", "server note 2"), ("/shared/admin", "mailto:ops@example.org")])
    );
    assert_eq!(s.metadata(a, inbox_scope).unwrap(), entries(&[("/private/comment", "inbox note")]));
    // Removal.
    s.set_metadata(a, server, &[set("/shared/admin", None)], 10).unwrap();
    assert_eq!(s.metadata(a, server).unwrap().len(), 1);
}

#[test]
fn metadata_over_the_limit_stores_nothing() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let server = MetadataScope::Server;
    s.set_metadata(a, server, &[set("/private/a", Some("1"))], 2).unwrap();
    let changes = [set("/private/b", Some("2")), set("/private/c", Some("3"))];
    assert_eq!(s.set_metadata(a, server, &changes, 2).unwrap(), MetadataOutcome::TooMany);
    assert_eq!(s.metadata(a, server).unwrap(), entries(&[("/private/a", "1")]));
    // Replacing and removing in the same call counts what is left.
    let changes = [set("/private/a", None), set("/private/b", Some("2")), set("/private/c", Some("3"))];
    assert_eq!(s.set_metadata(a, server, &changes, 2).unwrap(), MetadataOutcome::Stored);
    assert_eq!(s.metadata(a, server).unwrap().len(), 2);
}

#[test]
fn metadata_follows_its_mailbox_and_is_sealed() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let old = MailboxName::new("Projects").unwrap();
    let id = s.create_mailbox(a, &old, None).unwrap().id;
    let scope = MetadataScope::Mailbox(id);
    let changes = [set("/private/marker-entry-name", Some("marker-entry-value"))];
    s.set_metadata(a, scope, &changes, 10).unwrap();
    s.set_metadata(a, MetadataScope::Server, &changes, 10).unwrap();
    // Neither the name nor the value is stored readable (nor hex, in
    // PostgreSQL's dump).
    drop(s);
    assert_absent_everywhere(&f, b"marker-entry");
    let s = open(&f);
    // RENAME keeps them (the id stays); DELETE takes them.
    let new = MailboxName::new("Archive/Projects").unwrap();
    s.rename_mailbox(a, &old, &new).unwrap();
    assert_eq!(s.metadata(a, scope).unwrap().len(), 1);
    let other = s.create_account("b@example.org").unwrap();
    assert!(s.metadata(other, MetadataScope::Server).unwrap().is_empty(), "per account");
    s.delete_mailbox(a, &new).unwrap();
    assert!(s.metadata(a, scope).unwrap().is_empty());
    assert_eq!(s.metadata(a, MetadataScope::Server).unwrap().len(), 1);
}

#[test]
fn metadata_goes_with_the_purged_account() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let changes = [set("/private/x", Some("y"))];
    s.set_metadata(a, MetadataScope::Server, &changes, 10).unwrap();
    s.set_metadata(a, MetadataScope::Mailbox(inbox(&s, a)), &changes, 10).unwrap();
    let rows = |s: &Store| {
        s.raw_entries()
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k.first() == Some(&b'T'))
            .count()
    };
    assert_eq!(rows(&s), 2);
    s.delete_account("a@example.org", 100).unwrap();
    s.purge_account("a@example.org").unwrap();
    assert_eq!(rows(&s), 0, "no METADATA row of the purged account");
}
