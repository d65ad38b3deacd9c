//! The embedded store's write-ahead log (`backend/wal.rs`), through the
//! public API on a real data directory: a commit is acknowledged once the
//! log holds it, whether or not sled ever wrote it.
//!
//! The crash tests re-run this test binary as a child (`wal_child`) that
//! opens a store with checkpoints paused (so sled is never flushed after
//! open), commits, prints each acknowledged commit and then aborts: no
//! destructor, no flush. The parent reopens the store and checks that
//! every acknowledged change is there.

use sealpost_store::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn open_at(dir: &Path) -> Store {
    Store::open_with(
        StoreOptions {
            data_dir: dir.join("data"),
            master_key: dir.join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::Embedded,
    )
    .unwrap()
}

fn msg(n: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

fn inbox(s: &Store, a: AccountId) -> MailboxId {
    s.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id
}

/// The log files under `dir`'s data directory, oldest first.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("data/wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

const HEADER_LEN: u64 = b"sealpost-wal 1\n".len() as u64;

/// What the child acknowledged: per message, its number and UID, and
/// whether it was flagged `\Seen` afterwards; and the UIDs expunged.
#[derive(Default, Debug)]
struct Acked {
    delivered: Vec<(usize, u32)>,
    seen: Vec<u32>,
    expunged: Vec<u32>,
}

/// Child half: delivers `SEALPOST_WAL_COUNT` messages, flags every third
/// `\Seen`, flags the fifth `\Deleted` and expunges it, printing each
/// acknowledged step, then aborts.
#[test]
fn wal_child() {
    let Ok(dir) = std::env::var("SEALPOST_WAL_CHILD") else {
        return;
    };
    let count: usize = std::env::var("SEALPOST_WAL_COUNT")
        .unwrap()
        .parse()
        .unwrap();
    testing::pause_checkpoints(true);
    let s = open_at(Path::new(&dir));
    let a = s.ensure_account("a@example.org").unwrap();
    let ib = inbox(&s, a);
    use std::io::Write;
    let mut out = std::io::stdout();
    for i in 0..count {
        let uid = s.deliver(a, &msg(i)).unwrap().uid;
        writeln!(out, "ACK {i} {}", uid.0).unwrap();
        out.flush().unwrap();
        if i % 3 == 0 {
            s.store_flags(
                a,
                ib,
                &[uid],
                FlagOp::Add,
                &Flags::system(Flags::SEEN),
                None,
            )
            .unwrap();
            writeln!(out, "SEEN {}", uid.0).unwrap();
            out.flush().unwrap();
        }
        if i == 4 {
            s.store_flags(
                a,
                ib,
                &[uid],
                FlagOp::Add,
                &Flags::system(Flags::DELETED),
                None,
            )
            .unwrap();
            for gone in s.expunge(a, ib, None).unwrap() {
                writeln!(out, "EXPUNGED {}", gone.0).unwrap();
            }
            out.flush().unwrap();
        }
    }
    writeln!(out, "DONE").unwrap();
    out.flush().unwrap();
    std::process::abort();
}

/// Runs the child on `dir` until it aborts; what it acknowledged.
fn crash_child(dir: &Path, count: usize) -> Acked {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "wal_child", "--nocapture", "--test-threads=1"])
        .env("SEALPOST_WAL_CHILD", dir)
        .env("SEALPOST_WAL_COUNT", count.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!child.status.success(), "the child must die by abort");
    let mut acked = Acked::default();
    let mut done = false;
    for line in child.stdout.lines() {
        let line = line.unwrap();
        // The harness may have printed `test wal_child ... ` on this line.
        let words: Vec<&str> = line.split(' ').collect();
        let start = words
            .iter()
            .position(|w| ["ACK", "SEEN", "EXPUNGED", "DONE"].contains(w))
            .unwrap_or(words.len());
        match &words[start..] {
            ["ACK", i, uid] => acked
                .delivered
                .push((i.parse().unwrap(), uid.parse().unwrap())),
            ["SEEN", uid] => acked.seen.push(uid.parse().unwrap()),
            ["EXPUNGED", uid] => acked.expunged.push(uid.parse().unwrap()),
            ["DONE"] => done = true,
            _ => {}
        }
    }
    assert!(done, "the child did not finish its commits");
    assert_eq!(acked.delivered.len(), count);
    acked
}

/// Every acknowledged change of `acked` is in the store at `dir`.
fn check(dir: &Path, acked: &Acked) {
    let s = open_at(dir);
    let a = s.account_id("a@example.org").unwrap().unwrap();
    let ib = inbox(&s, a);
    for &(i, uid) in &acked.delivered {
        let got = s.read(a, ib, Uid(uid)).unwrap();
        if acked.expunged.contains(&uid) {
            assert!(got.is_none(), "expunged UID {uid} is back");
            continue;
        }
        assert_eq!(got.as_deref(), Some(&msg(i)[..]), "acknowledged UID {uid}");
        let meta = s.meta(a, ib, Uid(uid)).unwrap().unwrap();
        assert_eq!(
            meta.flags.has(Flags::SEEN),
            acked.seen.contains(&uid),
            "\\Seen of UID {uid}"
        );
    }
    let live = acked.delivered.len() - acked.expunged.len();
    assert_eq!(s.status(a, ib).unwrap().messages as usize, live);
    // Counters came back too: a new message gets a UID above all of them.
    let last = acked.delivered.iter().map(|d| d.1).max().unwrap();
    let next = s.deliver(a, &msg(999)).unwrap().uid;
    assert!(
        next.0 > last,
        "UID {} handed out again (last {last})",
        next.0
    );
}

#[test]
fn abort_without_a_sled_flush_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let acked = crash_child(dir.path(), 30);
    assert_eq!(acked.expunged.len(), 1);
    // Only the log holds the commits: it has records.
    let files = log_files(dir.path());
    let size: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(
        size > HEADER_LEN * files.len() as u64 + 1000,
        "{files:?}: {size}"
    );
    for f in &files {
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(f).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    check(dir.path(), &acked);
    // Replayed, flushed into sled and dropped: one empty file after a
    // clean close.
    let files = log_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::metadata(&files[0]).unwrap().len(), HEADER_LEN);
}

#[test]
fn a_torn_last_record_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let acked = crash_child(dir.path(), 12);
    let files = log_files(dir.path());
    let last = files.last().unwrap();
    // A record cut short by the crash: its length says 500 bytes, 20 follow.
    let mut torn = std::fs::read(last).unwrap();
    torn.extend_from_slice(&500u32.to_be_bytes());
    torn.extend_from_slice(&[0xab; 4]);
    torn.extend_from_slice(&[7; 20]);
    std::fs::write(last, &torn).unwrap();
    check(dir.path(), &acked);

    // Cut inside the last record itself (the child's last commit, as if its
    // fdatasync had not returned): everything before it is still there.
    let dir = tempfile::tempdir().unwrap();
    let mut acked = crash_child(dir.path(), 12);
    let files = log_files(dir.path());
    let last = files.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    // The last step was a delivery (11 is not a multiple of 3): that one
    // may be lost, or half of it (the UID counter without the message).
    let (_, lost) = acked.delivered.pop().unwrap();
    let s = open_at(dir.path());
    let a = s.account_id("a@example.org").unwrap().unwrap();
    assert!(s.read(a, inbox(&s, a), Uid(lost)).unwrap().is_none());
    drop(s);
    check(dir.path(), &acked);
}

#[test]
fn replaying_records_sled_already_holds_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let acked = crash_child(dir.path(), 20);
    // A crash after a checkpoint's sled flush and before the log files it
    // covered were deleted, twice over: the files are kept aside, then put
    // back once sled holds everything they say, and replayed again.
    let kept = tempfile::tempdir().unwrap();
    let keep = |files: &[PathBuf]| {
        for f in files {
            std::fs::copy(f, kept.path().join(f.file_name().unwrap())).unwrap();
        }
    };
    keep(&log_files(dir.path()));
    let (a, ib, extra) = {
        let s = open_at(dir.path());
        let a = s.account_id("a@example.org").unwrap().unwrap();
        let ib = inbox(&s, a);
        // Later changes, in the fresh log file.
        let extra = s.deliver(a, &msg(500)).unwrap().uid;
        s.store_flags(
            a,
            ib,
            &[extra],
            FlagOp::Add,
            &Flags::system(Flags::FLAGGED),
            None,
        )
        .unwrap();
        keep(&log_files(dir.path()));
        (a, ib, extra)
    };
    for f in std::fs::read_dir(kept.path()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join("data/wal").join(f.file_name().unwrap())).unwrap();
    }
    assert!(log_files(dir.path()).len() >= 3);
    {
        let s = open_at(dir.path());
        let meta = s.meta(a, ib, extra).unwrap().expect("the later message");
        assert!(meta.flags.has(Flags::FLAGGED));
        assert_eq!(
            s.read(a, ib, extra).unwrap().as_deref(),
            Some(&msg(500)[..])
        );
        assert_eq!(
            s.status(a, ib).unwrap().messages as usize,
            acked.delivered.len() - acked.expunged.len() + 1
        );
        // The UID counter is where the later delivery left it.
        let next = s.deliver(a, &msg(501)).unwrap().uid;
        assert!(next > extra, "UID {} handed out again", next.0);
        s.remove(a, ib, &[extra, next]).unwrap();
    }
    check(dir.path(), &acked);
}

#[test]
fn damage_in_an_older_log_file_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    crash_child(dir.path(), 5);
    let files = log_files(dir.path());
    let last = files.last().unwrap().clone();
    // A later file after a damaged one: acknowledged writes would be missing.
    let name = last.file_name().unwrap().to_str().unwrap();
    let seq: u64 = name.trim_end_matches(".log").parse().unwrap();
    let later = last.with_file_name(format!("{:020}.log", seq + 1));
    std::fs::write(&later, b"sealpost-wal 1\n").unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x55;
    std::fs::write(&last, &bytes).unwrap();
    let err = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::Embedded,
    )
    .err()
    .expect("opening over a damaged older log file must fail");
    assert!(err.to_string().contains("damaged"), "{err}");
}
