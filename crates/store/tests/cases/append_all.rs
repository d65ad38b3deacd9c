// Store::append_all (IMAP MULTIAPPEND) and Store::object_id (IMAP
// OBJECTID), on every backend. Included by `store.rs` after
// `cases/store.rs`, whose helpers it uses.

fn new_messages(bodies: &[Vec<u8>]) -> Vec<NewMessage<'_>> {
    bodies
        .iter()
        .map(|raw| NewMessage {
            raw,
            flags: Flags::empty(),
            internal_date: Some(1_000_000),
        })
        .collect()
}

#[test]
fn append_all_gives_consecutive_uids_and_one_modseq() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    s.append(a, ib, &msg(0), &Flags::empty(), None).unwrap();
    let (_, mut events) = s.snapshot_and_watch(a, ib).unwrap();
    let bodies: Vec<Vec<u8>> = (1..=3).map(msg).collect();
    let all = s.append_all(a, ib, &new_messages(&bodies)).unwrap();
    let uids: Vec<Uid> = all.iter().map(|x| x.uid).collect();
    assert_eq!(uids, [Uid(2), Uid(3), Uid(4)]);
    assert!(all.iter().all(|x| x.modseq == all[0].modseq));
    for (x, body) in all.iter().zip(&bodies) {
        assert_eq!(&s.read(a, ib, x.uid).unwrap().unwrap(), body);
        assert_eq!(s.meta(a, ib, x.uid).unwrap().unwrap().internal_date, 1_000_000);
    }
    for uid in uids {
        match events.try_recv().unwrap() {
            MailboxEvent::Appended(e) => assert_eq!(e.uid, uid),
            other => panic!("{other:?}"),
        }
    }
    assert!(s.append_all(a, ib, &[]).unwrap().is_empty());
    // They survive a restart like single appends.
    drop(s);
    let s = open(&f);
    assert_eq!(s.status(a, ib).unwrap().messages, 4);
    assert_eq!(s.status(a, ib).unwrap().uid_next, Uid(5));
}

#[test]
fn append_all_over_quota_stores_none() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let bodies: Vec<Vec<u8>> = (1..=3).map(msg).collect();
    let two: u64 = bodies[..2].iter().map(|b| b.len() as u64).sum();
    s.set_quota(a, Some(two));
    assert!(matches!(
        s.append_all(a, ib, &new_messages(&bodies)),
        Err(StoreError::OverQuota)
    ));
    assert_eq!(s.status(a, ib).unwrap().messages, 0);
    assert_eq!(s.quota(a).unwrap().bytes, 0);
    // The failed batch took no UID and no quota: two still fit.
    let all = s.append_all(a, ib, &new_messages(&bodies[..2])).unwrap();
    assert_eq!(all[0].uid, Uid(1));
    assert_eq!(s.quota(a).unwrap().bytes, two);
}

#[test]
fn object_ids_are_stable_per_account_and_domain() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    let id = s.object_id(a, b"imap-objectid", b"key").unwrap();
    assert_eq!(id, s.object_id(a, b"imap-objectid", b"key").unwrap());
    assert_ne!(id, s.object_id(b, b"imap-objectid", b"key").unwrap());
    assert_ne!(id, s.object_id(a, b"other", b"key").unwrap());
    assert!(matches!(
        s.object_id(a, &[b'x'; MAX_OBJECT_ID_DOMAIN + 1], b"key"),
        Err(StoreError::NotAllowed(_))
    ));
    drop(s);
    let s = open(&f);
    assert_eq!(id, s.object_id(a, b"imap-objectid", b"key").unwrap());
}

#[test]
fn metas_and_entries_answer_for_the_uids_asked_in_their_order() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let bodies: Vec<Vec<u8>> = (1..=5).map(msg).collect();
    let mut news = new_messages(&bodies);
    news[3].flags = Flags::system(Flags::FLAGGED);
    s.append_all(a, ib, &news).unwrap();
    s.store_flags(a, ib, &[Uid(2)], FlagOp::Add, &Flags::system(Flags::DELETED), None)
        .unwrap();
    s.expunge(a, ib, None).unwrap();
    let asked = [Uid(5), Uid(2), Uid(9), Uid(4), Uid(1)];
    let metas = s.metas(a, ib, &asked).unwrap();
    assert_eq!(metas.len(), asked.len());
    for (m, uid) in metas.iter().zip(asked) {
        match m {
            Some(m) => {
                assert_eq!(m.uid, uid);
                assert_eq!(m.size as usize, msg(uid.0 as usize).len());
            }
            None => assert!(uid == Uid(2) || uid == Uid(9), "{uid:?} is there"),
        }
    }
    assert!(metas[3].as_ref().unwrap().flags.has(Flags::FLAGGED));
    assert_eq!(s.metas(a, ib, &[]).unwrap().len(), 0);
    let some = s.entries(a, ib, &[Uid(4), Uid(2), Uid(1), Uid(4)]).unwrap();
    let uids: Vec<Uid> = some.entries.iter().map(|e| e.uid).collect();
    assert_eq!(uids, [Uid(1), Uid(4)]);
    assert_eq!(some.uid_next, s.snapshot(a, ib).unwrap().uid_next);
}
