// Store::append_stream (a message appended in pieces, memory flat), on
// every backend. Included by `store.rs` after `cases/store.rs`, whose
// helpers it uses.

fn streamed<'s>(s: &'s Store, a: AccountId, body: &[u8], piece: usize) -> AppendStream<'s> {
    let mut w = s.append_stream(a).unwrap();
    for part in body.chunks(piece) {
        w.write(part).unwrap();
    }
    assert_eq!(w.size(), body.len() as u64);
    w
}

#[test]
fn a_message_appended_in_pieces_reads_back_whole_under_the_uid_asked() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    // Several sealed pieces (64 KiB each), split unevenly by the writer.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let flags = Flags {
        system: Flags::SEEN,
        keywords: vec!["$Work".into()],
    };
    let first = streamed(&s, a, &body, 10_007)
        .finish(ib, &flags, Some(1_000_000), Some(Uid(7)))
        .unwrap();
    assert_eq!(first.uid, Uid(7), "the UID asked for is free");
    assert_eq!(s.read(a, ib, Uid(7)).unwrap().unwrap(), body);
    let meta = s.meta(a, ib, Uid(7)).unwrap().unwrap();
    assert_eq!((meta.size, meta.internal_date), (300_000, 1_000_000));
    assert_eq!(meta.flags, flags);
    // A UID below the next one is not possible: the next is taken.
    let second = streamed(&s, a, b"", 1)
        .finish(ib, &Flags::empty(), None, Some(Uid(3)))
        .unwrap();
    assert_eq!(second.uid, Uid(8));
    assert_eq!(s.read(a, ib, Uid(8)).unwrap().unwrap(), b"");
    assert_eq!(s.quota(a).unwrap().bytes, 300_000);
    drop(s);
    let s = open(&f);
    assert_eq!(s.read(a, ib, Uid(7)).unwrap().unwrap(), body, "after a restart");
    assert_eq!(s.status(a, ib).unwrap().uid_next, Uid(9));
}

#[test]
fn an_abandoned_or_refused_streamed_append_leaves_no_blob_and_no_quota() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    drop(streamed(&s, a, &vec![1u8; 200_000], 65_536));
    s.set_quota(a, Some(100_000));
    let refused = streamed(&s, a, &vec![2u8; 200_000], 65_536).finish(ib, &Flags::empty(), None, None);
    assert!(matches!(refused, Err(StoreError::OverQuota)), "{refused:?}");
    assert_eq!(s.raw_blob_count(a).unwrap(), 0, "no blob left behind");
    assert_eq!(s.status(a, ib).unwrap().messages, 0);
    assert_eq!(s.quota(a).unwrap().bytes, 0);
    if !IS_PG {
        let dir = std::fs::read_dir(f.data.join("blobs")).unwrap();
        for account_dir in dir {
            let left = std::fs::read_dir(account_dir.unwrap().path()).unwrap().count();
            assert_eq!(left, 0, "no temporary file left behind");
        }
    }
    let ok = streamed(&s, a, &vec![3u8; 90_000], 65_536).finish(ib, &Flags::empty(), None, None);
    assert_eq!(ok.unwrap().uid, Uid(1), "the refused append took no UID");
}

#[test]
fn prepared_messages_commit_together_in_their_order_or_not_at_all() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    // Prepared out of order (as import workers finish them), committed
    // in order, the UIDs asked for kept.
    let bodies: Vec<Vec<u8>> = (0..3u8).map(|n| vec![n; 70_000 + n as usize]).collect();
    let mut prepared: Vec<_> = bodies
        .iter()
        .rev()
        .map(|b| streamed(&s, a, b, 65_536).prepare().unwrap())
        .collect();
    prepared.reverse();
    let placed = prepared
        .into_iter()
        .enumerate()
        .map(|(n, p)| {
            let place = sealpost_store::Placement {
                flags: Flags::empty(),
                internal_date: Some(1_000 + n as i64),
                keep_uid: Some(Uid(10 + 2 * n as u32)),
            };
            (p, place)
        })
        .collect();
    let done = s.commit_prepared(ib, placed).unwrap();
    let uids: Vec<u32> = done.iter().map(|d| d.uid.0).collect();
    assert_eq!(uids, [10, 12, 14]);
    for (n, body) in bodies.iter().enumerate() {
        assert_eq!(&s.read(a, ib, Uid(10 + 2 * n as u32)).unwrap().unwrap(), body);
    }
    assert_eq!(s.raw_blob_count(a).unwrap(), 3);

    // Dropped uncommitted, or refused as a whole: no blob, no row.
    drop(streamed(&s, a, &bodies[0], 65_536).prepare().unwrap());
    s.set_quota(a, Some(300_000));
    let over: Vec<_> = bodies
        .iter()
        .map(|b| {
            let p = streamed(&s, a, b, 65_536).prepare().unwrap();
            (p, sealpost_store::Placement::default())
        })
        .collect();
    let refused = s.commit_prepared(ib, over);
    assert!(matches!(refused, Err(StoreError::OverQuota)), "{refused:?}");
    // PostgreSQL commits a batch one message at a time: the first fits.
    let kept = if IS_PG { 4 } else { 3 };
    assert_eq!(s.raw_blob_count(a).unwrap(), kept, "no blob left behind");
    assert_eq!(s.status(a, ib).unwrap().messages, kept as u32);
}
