// Store semantics through the public API, on a real data directory and,
// with PostgreSQL, a real database. Included by `store.rs` once per
// backend, which defines `backend()` and `IS_PG`.

use sealpost_store::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
    backend: BackendOptions,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    Fixture {
        data: dir.path().join("data"),
        key: dir.path().join("keys/master.key"),
        _dir: dir,
        backend: backend(),
    }
}

fn open(f: &Fixture) -> Store {
    open_at(&f.data, &f.key, &f.backend)
}

fn open_at(data: &Path, key: &Path, backend: &BackendOptions) -> Store {
    Store::open_with(
        StoreOptions {
            data_dir: data.to_path_buf(),
            master_key: key.to_path_buf(),
            summarizer: Arc::new(NoSummary),
        },
        backend,
    )
    .unwrap()
}

/// Fails if `needle` is anywhere the backend keeps data: every file under
/// the data directory, and with PostgreSQL, a `pg_dump` of the database
/// (bytea in hex, so the needle is searched in hex too).
fn assert_absent_everywhere(f: &Fixture, needle: &[u8]) {
    assert_absent(&f.data, needle);
    if let BackendOptions::PostgreSql(pg) = &f.backend {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", "--dbname", &pg.url])
            .output()
            .expect("pg_dump (postgresql-client) must be installed");
        assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
        let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!out.stdout.is_empty());
        for n in [needle.to_vec(), hex.into_bytes()] {
            assert!(
                !out.stdout.windows(n.len()).any(|w| w == n.as_slice()),
                "found in the PostgreSQL database: {}",
                String::from_utf8_lossy(&n)
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn msg(n: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

fn inbox(s: &Store, a: AccountId) -> MailboxId {
    s.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id
}

#[test]
fn account_gets_default_mailboxes_and_subscriptions() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("Alice@Example.org").unwrap();
    assert_eq!(s.account_id("alice@example.org").unwrap(), Some(a));
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
    let trash = s
        .mailbox(a, &MailboxName::new("Trash").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(trash.special_use, Some(SpecialUse::Trash));
    assert_eq!(s.subscriptions(a).unwrap().len(), 6);
    assert!(matches!(
        s.create_account("alice@example.org"),
        Err(StoreError::AccountExists)
    ));
}

#[test]
fn append_read_meta_roundtrip() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let r = s
        .append(a, ib, &msg(1), &Flags::system(Flags::SEEN), Some(1_000_000))
        .unwrap();
    assert_eq!(r.uid, Uid(1));
    assert_eq!(s.read(a, ib, r.uid).unwrap().unwrap(), msg(1));
    let m = s.meta(a, ib, r.uid).unwrap().unwrap();
    assert_eq!(m.internal_date, 1_000_000);
    assert!(m.flags.has(Flags::SEEN));
    assert_eq!(m.size as usize, msg(1).len());
    assert!(s.read(a, ib, Uid(99)).unwrap().is_none());
}

#[test]
fn uids_survive_restart_and_uidvalidity_is_stable() {
    let f = fixture();
    let (a, uv, last) = {
        let s = open(&f);
        let a = s.create_account("a@example.org").unwrap();
        let ib = inbox(&s, a);
        let mut last = Uid(0);
        for i in 0..5 {
            last = s.deliver(a, &msg(i)).unwrap().uid;
        }
        s.expunge(a, ib, None).unwrap();
        s.store_flags(
            a,
            ib,
            &[last],
            FlagOp::Add,
            &Flags::system(Flags::DELETED),
            None,
        )
        .unwrap();
        assert_eq!(s.expunge(a, ib, None).unwrap(), vec![last]);
        (a, s.status(a, ib).unwrap().uid_validity, last)
    };
    let s = open(&f);
    let ib = inbox(&s, a);
    let st = s.status(a, ib).unwrap();
    assert_eq!(st.uid_validity, uv);
    assert_eq!(st.messages, 4);
    let next = s.deliver(a, &msg(9)).unwrap().uid;
    assert!(next > last, "UID {next} must be above the expunged {last}");
}

#[test]
fn copy_move_expunge_counts() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let arch = s
        .mailbox(a, &MailboxName::new("Archive").unwrap())
        .unwrap()
        .unwrap()
        .id;
    let uids: Vec<Uid> = (0..10)
        .map(|i| s.deliver(a, &msg(i)).unwrap().uid)
        .collect();
    let c = s.copy(a, ib, &uids[..3], arch).unwrap();
    assert_eq!(c.pairs.len(), 3);
    assert_eq!(s.status(a, arch).unwrap().messages, 3);
    assert_eq!(s.status(a, ib).unwrap().messages, 10);
    let m = s.move_messages(a, ib, &uids[3..6], arch).unwrap();
    assert_eq!(m.pairs.len(), 3);
    assert_eq!(s.status(a, arch).unwrap().messages, 6);
    assert_eq!(s.status(a, ib).unwrap().messages, 7);
    // Copies share bytes but live independently.
    s.remove(a, ib, &uids[..1]).unwrap();
    assert_eq!(s.read(a, arch, c.pairs[0].1).unwrap().unwrap(), msg(0));
    s.store_flags(
        a,
        ib,
        &uids[6..9],
        FlagOp::Add,
        &Flags::system(Flags::DELETED),
        None,
    )
    .unwrap();
    assert_eq!(s.expunge(a, ib, Some(&uids[6..7])).unwrap(), vec![uids[6]]);
    assert_eq!(s.expunge(a, ib, None).unwrap(), vec![uids[7], uids[8]]);
    assert_eq!(s.status(a, ib).unwrap().messages, 3);
    let q = s.quota(a).unwrap();
    assert_eq!(q.messages, 9);
}

#[test]
fn concurrent_appends_get_unique_increasing_uids() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let uids = rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..50 {
            let s = s.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                (0..4)
                    .map(|i| s.deliver(a, &msg(t * 100 + i)).unwrap().uid)
                    .collect::<Vec<_>>()
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            let mine = t.await.unwrap();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "per task increasing");
            all.extend(mine);
        }
        all
    });
    let mut sorted = uids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 200);
    let snap = s.snapshot(a, ib).unwrap();
    assert_eq!(snap.entries.len(), 200);
    assert!(snap.entries.windows(2).all(|w| w[0].uid < w[1].uid));
}

#[test]
fn flags_with_unchanged_since_and_changes_since() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let u1 = s.deliver(a, &msg(1)).unwrap();
    let u2 = s.deliver(a, &msg(2)).unwrap();
    let base = s.status(a, ib).unwrap().highest_modseq;
    let kw = Flags {
        system: Flags::FLAGGED,
        keywords: vec!["$Forwarded".into()],
    };
    let out = s
        .store_flags(a, ib, &[u1.uid], FlagOp::Add, &kw, None)
        .unwrap();
    assert_eq!(out.updated.len(), 1);
    assert!(out.updated[0].flags.has_keyword("$forwarded"));
    let out = s
        .store_flags(
            a,
            ib,
            &[u1.uid, u2.uid],
            FlagOp::Add,
            &Flags::system(Flags::SEEN),
            Some(base),
        )
        .unwrap();
    assert_eq!(out.modified, vec![u1.uid]);
    assert_eq!(out.updated.len(), 1);
    s.remove(a, ib, &[u2.uid]).unwrap();
    let ch = s.changes_since(a, ib, base).unwrap();
    assert_eq!(
        ch.changed.iter().map(|e| e.uid).collect::<Vec<_>>(),
        vec![u1.uid]
    );
    assert_eq!(ch.vanished, vec![u2.uid]);
}

#[test]
fn watchers_see_changes_in_order() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let (snap, mut rx) = s.snapshot_and_watch(a, ib).unwrap();
    assert!(snap.entries.is_empty());
    let u = s.deliver(a, &msg(1)).unwrap().uid;
    s.store_flags(a, ib, &[u], FlagOp::Add, &Flags::system(Flags::SEEN), None)
        .unwrap();
    s.remove(a, ib, &[u]).unwrap();
    assert!(matches!(rx.try_recv().unwrap(), MailboxEvent::Appended(e) if e.uid == u));
    assert!(
        matches!(rx.try_recv().unwrap(), MailboxEvent::FlagsChanged(e) if e.flags.has(Flags::SEEN))
    );
    assert!(
        matches!(rx.try_recv().unwrap(), MailboxEvent::Expunged { uids, .. } if uids == vec![u])
    );
}

#[test]
fn mailbox_create_rename_delete() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let n = |x: &str| MailboxName::new(x).unwrap();
    s.create_mailbox(a, &n("Work"), None).unwrap();
    s.create_mailbox(a, &n("Work/2026"), None).unwrap();
    assert!(matches!(
        s.create_mailbox(a, &n("Work"), None),
        Err(StoreError::MailboxExists)
    ));
    let w = s.mailbox(a, &n("Work/2026")).unwrap().unwrap();
    s.append(a, w.id, &msg(1), &Flags::empty(), None).unwrap();
    s.rename_mailbox(a, &n("Work"), &n("Job")).unwrap();
    assert!(s.mailbox(a, &n("Work/2026")).unwrap().is_none());
    let j = s.mailbox(a, &n("Job/2026")).unwrap().unwrap();
    assert_eq!(j.uid_validity, w.uid_validity);
    assert_eq!(s.status(a, j.id).unwrap().messages, 1);
    s.delete_mailbox(a, &n("Job/2026")).unwrap();
    assert!(s.mailbox(a, &n("Job/2026")).unwrap().is_none());
    assert!(matches!(
        s.delete_mailbox(a, &MailboxName::inbox()),
        Err(StoreError::NotAllowed(_))
    ));
    // Re-created name gets a new UIDVALIDITY.
    let again = s.create_mailbox(a, &n("Job/2026"), None).unwrap();
    assert_ne!(again.uid_validity, w.uid_validity);
    // Renaming INBOX moves its messages.
    let ib = inbox(&s, a);
    s.deliver(a, &msg(2)).unwrap();
    s.rename_mailbox(a, &MailboxName::inbox(), &n("Old"))
        .unwrap();
    assert_eq!(s.status(a, ib).unwrap().messages, 0);
    let old = s.mailbox(a, &n("Old")).unwrap().unwrap();
    assert_eq!(s.status(a, old.id).unwrap().messages, 1);
}

#[test]
fn mailbox_names_are_validated() {
    for bad in [
        "", "/a", "a/", "a//b", "..", "a/../b", "a\0b", "a\nb", "./x",
    ] {
        assert!(MailboxName::new(bad).is_err(), "{bad:?}");
    }
    let deep = vec!["a"; 10_000].join("/");
    assert_eq!(MailboxName::new(&deep), Err(InvalidMailboxName::TooLong));
    let deep = vec!["a"; 40].join("/");
    assert_eq!(MailboxName::new(&deep), Err(InvalidMailboxName::TooDeep));
    assert_eq!(MailboxName::new("inbox/Sub").unwrap().as_str(), "INBOX/Sub");
    assert!(MailboxName::new("Ünïcode ✓").is_ok());
}

#[test]
fn accounts_are_isolated() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.net").unwrap();
    let ia = inbox(&s, a);
    let u = s.deliver(a, &msg(1)).unwrap().uid;
    // b cannot reach a's mailbox by id.
    assert!(s.read(b, ia, u).is_err() || s.read(b, ia, u).unwrap().is_none());
    assert_eq!(s.status(b, inbox(&s, b)).unwrap().messages, 0);
}

#[test]
fn quota_is_enforced_without_race() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let one = msg(1).len() as u64;
    s.set_quota(a, Some(one * 3));
    for i in 0..3 {
        s.deliver(a, &msg(i)).unwrap();
    }
    assert!(matches!(s.deliver(a, &msg(9)), Err(StoreError::OverQuota)));
    s.remove(a, ib, &[Uid(1)]).unwrap();
    s.deliver(a, &msg(5)).unwrap();
    assert_eq!(s.quota(a).unwrap().bytes, one * 3);
}

#[test]
fn second_open_is_refused_and_wrong_key_is_refused() {
    let f = fixture();
    let s = open(&f);
    s.create_account("a@example.org").unwrap();
    let e = Store::open_with(
        StoreOptions {
            data_dir: f.data.clone(),
            master_key: f.key.clone(),
            summarizer: Arc::new(NoSummary),
        },
        &f.backend,
    )
    .err()
    .unwrap();
    assert!(matches!(e, StoreError::Locked(_)), "{e}");
    drop(s);
    let other = f.key.with_file_name("other.key");
    std::fs::write(&other, [7u8; 32]).unwrap();
    let e = Store::open_with(
        StoreOptions {
            data_dir: f.data.clone(),
            master_key: other,
            summarizer: Arc::new(NoSummary),
        },
        &f.backend,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("is not the key"), "{e}");
    // A missing key for an existing store is an error, never a silent new key.
    let missing = f.key.with_file_name("missing.key");
    let e = Store::open_with(
        StoreOptions {
            data_dir: f.data.clone(),
            master_key: missing.clone(),
            summarizer: Arc::new(NoSummary),
        },
        &f.backend,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("missing.key"), "{e}");
    assert!(!missing.exists());
}

#[test]
fn master_key_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let _s = open(&f);
    let mode = std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Walks every file under `dir` and fails if `needle` appears in any of them.
fn assert_absent(dir: &Path, needle: &[u8]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            assert_absent(&p, needle);
        } else {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext marker found in {}",
                p.display()
            );
        }
    }
}

struct EchoSummary;
impl Summarizer for EchoSummary {
    fn summarize(&self, raw: &[u8]) -> Vec<u8> {
        raw.to_vec()
    }
}

#[test]
fn no_plaintext_under_data_dir() {
    let f = fixture();
    let marker = "Zq7MarkerXv93-unique";
    {
        // A summarizer that keeps the whole message proves summaries are sealed too.
        let s = Store::open_with(
            StoreOptions {
                data_dir: f.data.clone(),
                master_key: f.key.clone(),
                summarizer: Arc::new(EchoSummary),
            },
            &f.backend,
        )
        .unwrap();
        let a = s.create_account("marker-owner@example.org").unwrap();
        let m = format!("Subject: {marker}\r\n\r\n{marker} body\r\n");
        s.deliver(a, m.as_bytes()).unwrap();
        s.create_mailbox(
            a,
            &MailboxName::new(&format!("Folder {marker}")).unwrap(),
            None,
        )
        .unwrap();
        s.set_subscribed(
            a,
            &MailboxName::new(&format!("Sub {marker}")).unwrap(),
            true,
        )
        .unwrap();
        let ib = inbox(&s, a);
        assert!(
            String::from_utf8(s.read(a, ib, Uid(1)).unwrap().unwrap())
                .unwrap()
                .contains(marker)
        );
    }
    assert_absent_everywhere(&f, marker.as_bytes());
    // Nor the account's address (the account index is a keyed MAC and the
    // address is sealed): not in sled, not in PostgreSQL.
    assert_absent_everywhere(&f, b"marker-owner");
}

#[test]
fn delete_restore_purge() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    s.deliver(a, &msg(1)).unwrap();
    let master_wrapped = s.raw_key_copies(a).unwrap().remove(0);
    s.delete_account("a@example.org", 100).unwrap();
    assert_eq!(s.account_id("a@example.org").unwrap(), None);
    assert!(s.read(a, ib, Uid(1)).is_err(), "unreadable once deleted");
    // The master-wrapped copy is gone from every file of data_dir (it is
    // not in sled's log either: the key never lived there), and from the
    // database's current rows.
    let restore_wrapped = s.raw_key_copies(a).unwrap().remove(0);
    assert_ne!(restore_wrapped, master_wrapped);
    if !IS_PG {
        for path in walk(&f.data) {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(master_wrapped.len())
                    .any(|w| w == master_wrapped),
                "old wrapped key still in {}",
                path.display()
            );
        }
    } else {
        assert_absent_everywhere(&f, &master_wrapped);
    }
    s.restore_account("a@example.org").unwrap();
    assert_eq!(s.read(a, ib, Uid(1)).unwrap().unwrap(), msg(1));
    s.delete_account("a@example.org", 100).unwrap();
    assert!(s.data_key_exists(a).unwrap());
    let r = s.purge_account("a@example.org").unwrap();
    assert_eq!(r.messages, 1);
    assert_eq!(r.mailboxes, 6);
    assert!(s.accounts().unwrap().is_empty());
    assert!(!s.data_key_exists(a).unwrap(), "the key is shredded");
    assert!(s.raw_key_copies(a).unwrap().is_empty());
    if IS_PG {
        assert_absent_everywhere(&f, &restore_wrapped);
    }
    assert_eq!(
        s.purge_account("a@example.org").unwrap(),
        PurgeReport::default()
    );
    let b = s.create_account("a@example.org").unwrap();
    assert_ne!(a, b);
    assert_eq!(s.status(b, inbox(&s, b)).unwrap().messages, 0);
    if !IS_PG {
        let blobs = f.data.join("blobs");
        assert_eq!(
            std::fs::read_dir(&blobs).unwrap().count(),
            0,
            "no blob of the purged account"
        );
    }
    assert_eq!(s.raw_blob_count(a).unwrap(), 0, "no blob of the purged account");
}

/// Child half of the kill -9 test: appends forever, printing each acknowledged UID.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("SEALPOST_CRASH_CHILD") else {
        return;
    };
    if std::env::var("SEALPOST_CRASH_PG").is_ok() != IS_PG {
        return;
    }
    let dir = PathBuf::from(dir);
    let backend = match std::env::var("SEALPOST_CRASH_PG") {
        Ok(url) => BackendOptions::PostgreSql(PgOptions {
            url,
            ..testing::admin()
        }),
        Err(_) => BackendOptions::Embedded,
    };
    let s = open_at(&dir.join("data"), &dir.join("master.key"), &backend);
    let a = s.ensure_account("a@example.org").unwrap();
    use std::io::Write;
    let mut out = std::io::stdout();
    for i in 0.. {
        let r = s.deliver(a, &msg(i)).unwrap();
        writeln!(out, "ACK {} {}", i, r.uid.0).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_after_acknowledged_append_loses_nothing() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let backend = backend();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        &format!("{}::crash_child", module_path!().rsplit("::").next().unwrap()),
        "--nocapture",
        "--test-threads=1",
    ])
    .env("SEALPOST_CRASH_CHILD", dir.path())
    .stdout(std::process::Stdio::piped());
    if let BackendOptions::PostgreSql(pg) = &backend {
        cmd.env("SEALPOST_CRASH_PG", &pg.url);
    }
    let mut child = cmd.spawn().unwrap();
    let mut acked = Vec::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 40 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let mut it = rest.split(' ');
            let i: usize = it.next().unwrap().parse().unwrap();
            let uid: u32 = it.next().unwrap().parse().unwrap();
            acked.push((i, uid));
        }
    }
    // SIGKILL: no destructor, no flush, no goodbye.
    child.kill().unwrap();
    child.wait().unwrap();
    let s = open_at(&dir.path().join("data"), &dir.path().join("master.key"), &backend);
    let a = s.account_id("a@example.org").unwrap().unwrap();
    let ib = inbox(&s, a);
    for (i, uid) in acked {
        let got = s
            .read(a, ib, Uid(uid))
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged UID {uid} lost"));
        assert_eq!(got, msg(i));
    }
}

#[test]
fn saved_before_finds_old_messages_only() {
    let f = fixture();
    let s = open(&f);
    let a = s.create_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    let u = s.deliver(a, &msg(1)).unwrap().uid;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(s.saved_before(a, ib, now - 60).unwrap().is_empty());
    assert_eq!(s.saved_before(a, ib, now + 60).unwrap(), vec![u]);
}

#[test]
fn an_account_is_never_found_without_its_mailboxes() {
    // Creation writes the mailboxes before the rows that let anyone find the
    // account: a reader racing the creator sees no account or all of it.
    let f = fixture();
    let s = Arc::new(open(&f));
    let addresses: Vec<String> = (0..40).map(|i| format!("u{i}@example.org")).collect();
    let creator = {
        let s = s.clone();
        let addresses = addresses.clone();
        std::thread::spawn(move || {
            for a in &addresses {
                s.create_account(a).unwrap();
            }
        })
    };
    let mut seen = 0;
    while seen < addresses.len() {
        seen = 0;
        for a in &addresses {
            if let Some(id) = s.account_id(a).unwrap() {
                let names: Vec<String> = s
                    .mailboxes(id)
                    .unwrap()
                    .iter()
                    .map(|m| m.name.as_str().to_string())
                    .collect();
                assert_eq!(names.len(), 6, "{a}: {names:?}");
                assert!(names.iter().any(|n| n == "INBOX"), "{a}: {names:?}");
                seen += 1;
            }
        }
    }
    creator.join().unwrap();
    // Two creators of one address: exactly one wins.
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.create_account("same@example.org").is_ok())
        })
        .collect();
    let wins = racers
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
}

/// Imports keep another server's UIDVALIDITY and UIDs (Dovecot's
/// dovecot-uidlist), flags, keywords and INTERNALDATE; the next ordinary
/// append continues above them, and both survive a restart.
#[test]
fn imports_keep_given_uidvalidity_uids_flags_and_dates() {
    let f = fixture();
    let (a, id) = {
        let s = open(&f);
        let a = s.create_account("a@example.org").unwrap();
        let name = MailboxName::new("Imported").unwrap();
        let id = s.create_mailbox(a, &name, None).unwrap().id;
        s.set_uid_validity(a, id, UidValidity(1_234_567)).unwrap();
        assert!(matches!(
            s.set_uid_validity(a, id, UidValidity(0)),
            Err(StoreError::NotAllowed(_))
        ));
        let flags = Flags {
            system: Flags::SEEN,
            keywords: vec!["$Forwarded".into(), "Work".into()],
        };
        let got = s
            .append_with_uid(a, id, &msg(1), &flags, Some(1_000_000_000), Uid(5))
            .unwrap();
        assert_eq!(got.uid, Uid(5));
        assert_eq!(got.uid_validity, UidValidity(1_234_567));
        s.append_with_uid(a, id, &msg(2), &Flags::default(), None, Uid(9))
            .unwrap();
        // UIDs only grow; UIDVALIDITY is fixed once a message is in.
        for uid in [Uid(9), Uid(3), Uid(u32::MAX)] {
            assert!(
                matches!(
                    s.append_with_uid(a, id, &msg(3), &Flags::default(), None, uid),
                    Err(StoreError::NotAllowed(_))
                ),
                "{uid}"
            );
        }
        assert!(matches!(
            s.set_uid_validity(a, id, UidValidity(7)),
            Err(StoreError::NotAllowed(_))
        ));
        let next = s.append(a, id, &msg(4), &Flags::default(), None).unwrap();
        assert_eq!(next.uid, Uid(10));
        (a, id)
    };
    let s = open(&f);
    let st = s.status(a, id).unwrap();
    assert_eq!(st.uid_validity, UidValidity(1_234_567));
    assert_eq!(st.messages, 3);
    assert_eq!(st.uid_next, Uid(11));
    let m = s.meta(a, id, Uid(5)).unwrap().unwrap();
    assert_eq!(m.internal_date, 1_000_000_000);
    assert_eq!(m.flags.system, Flags::SEEN);
    assert_eq!(m.flags.keywords, ["$Forwarded", "Work"]);
    assert_eq!(s.read(a, id, Uid(9)).unwrap().unwrap(), msg(2));
}
