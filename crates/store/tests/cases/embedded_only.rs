// What only the embedded backend has: blob files in data_dir. Included by
// `store.rs` in its embedded half only, after `cases/store.rs`, whose
// helpers it uses.

/// A write cut short (SIGKILL, power loss) leaves its temporary file in the
/// account's blob folder, up to a whole streamed message; the next open
/// removes it and nothing else.
#[test]
fn opening_removes_what_interrupted_blob_writes_left() {
    let f = fixture();
    let a;
    let ib;
    {
        let s = open(&f);
        a = s.create_account("a@example.org").unwrap();
        ib = inbox(&s, a);
        s.append(a, ib, &msg(1), &Flags::empty(), None).unwrap();
    }
    let folders: Vec<PathBuf> = std::fs::read_dir(f.data.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let left = folders[0].join(".0123abcd.4242.7.tmp");
    std::fs::write(&left, vec![7u8; 300_000]).unwrap();
    let mine = folders[0].join("notes.txt");
    std::fs::write(&mine, b"not a temporary name").unwrap();
    let blobs_before = walk(&folders[0]).len();

    let s = open(&f);
    assert!(!left.exists(), "the temporary file is still there");
    assert!(mine.exists(), "a file with another name was removed");
    assert_eq!(walk(&folders[0]).len(), blobs_before - 1);
    assert_eq!(s.read(a, ib, Uid(1)).unwrap().unwrap(), msg(1));
}
