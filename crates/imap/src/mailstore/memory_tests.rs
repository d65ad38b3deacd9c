//! Unit tests of the in-memory model (`memory.rs`).

use super::*;

fn setup() -> (MemStore, AccountId, MailboxId) {
    let s = MemStore::new();
    let a = s.ensure_account("a@example.org").unwrap();
    let inbox = s.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id;
    (s, a, inbox)
}

#[test]
fn accounts_start_with_the_default_mailboxes_subscribed() {
    let (s, a, _) = setup();
    let names: Vec<String> = s
        .mailboxes(a)
        .unwrap()
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(
        names,
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    assert_eq!(s.subscriptions(a).unwrap().len(), 6);
    assert_eq!(s.ensure_account("A@Example.org ").unwrap(), a);
}

#[test]
fn modseqs_and_vanished_follow_the_store() {
    let (s, a, inbox) = setup();
    let one = s.append(a, inbox, b"x\r\n", &Flags::empty(), None).unwrap();
    assert_eq!((one.uid, one.modseq), (Uid(1), ModSeq(2)));
    s.append(a, inbox, b"y\r\n", &Flags::empty(), None).unwrap();
    let seen = Flags::system(Flags::DELETED);
    let o = s
        .store_flags(a, inbox, &[Uid(1)], FlagOp::Add, &seen, None)
        .unwrap();
    assert_eq!(o.updated[0].modseq, ModSeq(4));
    assert_eq!(s.expunge(a, inbox, None).unwrap(), vec![Uid(1)]);
    let c = s.changes_since(a, inbox, ModSeq(4)).unwrap();
    assert_eq!(c.vanished, vec![Uid(1)]);
    assert!(c.changed.is_empty());
}

#[test]
fn quota_refuses_what_would_not_fit() {
    let (s, a, inbox) = setup();
    s.set_quota(a, Some(10));
    assert!(matches!(
        s.append(a, inbox, &[b'x'; 11], &Flags::empty(), None),
        Err(StoreError::OverQuota)
    ));
    s.append(a, inbox, &[b'x'; 10], &Flags::empty(), None)
        .unwrap();
    assert_eq!(s.quota(a).unwrap().bytes, 10);
}
