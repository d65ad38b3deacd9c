// Mailbox grants (the storage of IMAP ACL, RFC 4314) on every backend.
// Included by `store.rs` after `cases/store.rs`, whose helpers it uses.

fn work_mailbox(s: &Store, a: AccountId) -> MailboxId {
    let name = MailboxName::new("Team").unwrap();
    s.create_mailbox(a, &name, None).unwrap().id
}

#[test]
fn acl_grants_persist_and_are_listed_both_ways() {
    let f = fixture();
    let s = open(&f);
    let owner = s.create_account("owner@example.org").unwrap();
    let bob = s.create_account("bob@example.org").unwrap();
    let carol = s.create_account("carol@example.org").unwrap();
    let team = work_mailbox(&s, owner);
    s.set_acl(owner, team, bob, AclRights(0b11)).unwrap();
    s.set_acl(owner, team, carol, AclRights(0b1)).unwrap();
    // A new value replaces the old one.
    s.set_acl(owner, team, carol, AclRights(0b101)).unwrap();
    assert!(matches!(
        s.set_acl(owner, MailboxId(999_999), bob, AclRights(1)),
        Err(StoreError::NoMailbox)
    ));
    drop(s);
    let s = open(&f);
    assert_eq!(s.acl_rights(owner, team, bob).unwrap(), AclRights(0b11));
    assert_eq!(s.acl_rights(owner, team, carol).unwrap(), AclRights(0b101));
    assert_eq!(s.acl_rights(bob, team, owner).unwrap(), AclRights(0));
    let mut on_team: Vec<(AccountId, AclRights)> = s
        .acl(owner, team)
        .unwrap()
        .iter()
        .map(|g| (g.grantee, g.rights))
        .collect();
    on_team.sort_by_key(|g| g.0);
    assert_eq!(on_team, [(bob, AclRights(0b11)), (carol, AclRights(0b101))]);
    assert_eq!(s.acl_given(owner).unwrap().len(), 2);
    let received = s.acl_received(bob).unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].owner, received[0].mailbox), (owner, team));
    assert!(s.acl_received(owner).unwrap().is_empty());
    assert_eq!(
        s.account_address(owner).unwrap().as_deref(),
        Some("owner@example.org")
    );
    // Zero rights remove the grant from both lists.
    s.set_acl(owner, team, bob, AclRights(0)).unwrap();
    assert_eq!(s.acl_rights(owner, team, bob).unwrap(), AclRights(0));
    assert!(s.acl_received(bob).unwrap().is_empty());
    assert_eq!(s.acl(owner, team).unwrap().len(), 1);
}

#[test]
fn acl_follows_rename_and_dies_with_the_mailbox() {
    let f = fixture();
    let s = open(&f);
    let owner = s.create_account("owner@example.org").unwrap();
    let bob = s.create_account("bob@example.org").unwrap();
    let team = work_mailbox(&s, owner);
    s.set_acl(owner, team, bob, AclRights(7)).unwrap();
    let renamed = MailboxName::new("Team2").unwrap();
    s.rename_mailbox(owner, &MailboxName::new("Team").unwrap(), &renamed)
        .unwrap();
    let id = s.mailbox(owner, &renamed).unwrap().unwrap().id;
    assert_eq!(s.acl_rights(owner, id, bob).unwrap(), AclRights(7));
    s.delete_mailbox(owner, &renamed).unwrap();
    assert!(s.acl(owner, id).unwrap().is_empty());
    assert!(s.acl_received(bob).unwrap().is_empty());
}

#[test]
fn acl_purge_of_either_account_removes_its_grants() {
    let f = fixture();
    let s = open(&f);
    let owner = s.create_account("owner@example.org").unwrap();
    let bob = s.create_account("bob@example.org").unwrap();
    let carol = s.create_account("carol@example.org").unwrap();
    let team = work_mailbox(&s, owner);
    let bobs = work_mailbox(&s, bob);
    s.set_acl(owner, team, bob, AclRights(3)).unwrap();
    s.set_acl(owner, team, carol, AclRights(3)).unwrap();
    s.set_acl(bob, bobs, carol, AclRights(1)).unwrap();
    // The grantee bob goes: the owner's list loses him, carol keeps hers.
    s.delete_account("bob@example.org", 100).unwrap();
    s.purge_account("bob@example.org").unwrap();
    let left: Vec<AccountId> = s.acl(owner, team).unwrap().iter().map(|g| g.grantee).collect();
    assert_eq!(left, [carol]);
    // What bob had shared with carol is gone from her list.
    let received = s.acl_received(carol).unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].owner, owner);
    // The owner goes: carol's list is empty, no row of either remains.
    s.delete_account("owner@example.org", 100).unwrap();
    s.purge_account("owner@example.org").unwrap();
    assert!(s.acl_received(carol).unwrap().is_empty());
    let needle_owner = owner.0.to_be_bytes();
    for (k, _) in s.raw_entries().unwrap() {
        if k[0] == b'L' || k[0] == b'G' {
            panic!("acl row left after both purges: {k:?} ({needle_owner:?})");
        }
    }
}
