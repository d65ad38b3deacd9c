//! The embedded store killed (SIGKILL) between its write-ahead log and
//! sled (`backend/wal.rs`), through the public API on a real data
//! directory.
//!
//! A child process (this test binary run again, `kill_child`) opens a
//! store with checkpoints paused, so sled's files are never flushed after
//! the open, and makes acknowledged changes: mailbox creates, appends and
//! deliveries, flag changes, expunges, each printed once its call has
//! returned. Then it sets a crash hook (`sealpost_store::crash_hooks`,
//! the crate's test-only `crash-hooks` feature) and starts more changes,
//! each in an account of its own, which stop at the hook:
//! - `synced`: four changes whose log records are fdatasynced, none
//!   applied to sled, none acknowledged;
//! - `half`: one delivery whose first key is applied to sled and sled
//!   flushed, so sled's own files hold part of it.
//!
//! Once every held change has reached its hook the parent kills the child
//! with SIGKILL, reopens the store and checks it against what the child
//! printed: every acknowledged change there exactly once (each message
//! with its UID, content and flags, no other message, each mailbox once),
//! each held change whole (its record was durable: replay applies it),
//! the UID counters past every UID. With the last log record then torn
//! at a random byte (a record whose fdatasync had not returned), the held
//! change it carried is wholly absent and every other change whole.

use sealpost_store::crash_hooks::{self, Point};
use sealpost_store::*;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

/// Message `n` (numbers are unique over the whole run).
fn msg(n: u32) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

/// The number of a message made by [`msg`].
fn number(raw: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(raw);
    let rest = text
        .split("Subject: message ")
        .nth(1)
        .expect("a test message");
    rest.split('\r').next().unwrap().parse().unwrap()
}

/// The flags the test sets, as bits.
const FLAGS: u8 = Flags::SEEN | Flags::FLAGGED | Flags::DELETED;

fn name(s: &str) -> MailboxName {
    MailboxName::new(s).unwrap()
}

fn mailbox(s: &Store, a: AccountId, n: &str) -> MailboxId {
    s.mailbox(a, &name(n)).unwrap().expect(n).id
}

/// The accounts the child holds a change in, and what each change is.
const HELD: &[(&str, &str)] = &[
    ("h1@example.org", "deliver 100"),
    ("h2@example.org", "create Held"),
    ("h3@example.org", "flag 31 flagged"),
    ("h4@example.org", "expunge 41"),
];

/// Child half: the acknowledged changes, then the held ones (see the
/// module docs); waits to be killed.
#[test]
fn kill_child() {
    let Ok(dir) = std::env::var("SEALPOST_KILL_CHILD") else {
        return;
    };
    let mode = std::env::var("SEALPOST_KILL_MODE").unwrap();
    testing::pause_checkpoints(true);
    let s = Arc::new(open_at(Path::new(&dir)));
    let out = Arc::new(parking_lot::Mutex::new(std::io::stdout()));
    let say = {
        let out = out.clone();
        move |line: String| {
            let mut o = out.lock();
            writeln!(o, "{line}").unwrap();
            o.flush().unwrap();
        }
    };

    // Acknowledged: each line printed once its call has returned. An
    // account comes with its mailboxes (INBOX and the special-use ones).
    let new_account = |account: &str| {
        let a = s.ensure_account(account).unwrap();
        say(format!("ACCOUNT {account}"));
        for m in s.mailboxes(a).unwrap() {
            say(format!("CREATE {account} {}", m.name.as_str()));
        }
        a
    };
    let a = new_account("a@example.org");
    for m in ["Kept", "Lists", "Lists/rust"] {
        s.create_mailbox(a, &name(m), None).unwrap();
        say(format!("CREATE a@example.org {m}"));
    }
    let ib = mailbox(&s, a, "INBOX");
    for n in 1..=12 {
        let uid = s.deliver(a, &msg(n)).unwrap().uid;
        say(format!("APPEND a@example.org INBOX {n} {} 0", uid.0));
        let mut bits = 0;
        if n % 3 == 0 {
            bits |= Flags::SEEN;
        }
        if [4, 5, 7].contains(&n) {
            bits |= Flags::DELETED;
        }
        if bits != 0 {
            let f = Flags::system(bits);
            s.store_flags(a, ib, &[uid], FlagOp::Add, &f, None).unwrap();
            say(format!("FLAG a@example.org INBOX {} {bits}", uid.0));
        }
        if n == 8 {
            for gone in s.expunge(a, ib, None).unwrap() {
                say(format!("EXPUNGE a@example.org INBOX {}", gone.0));
            }
        }
    }
    for (n, m, bits) in [
        (13, "Kept", Flags::FLAGGED),
        (14, "Kept", Flags::FLAGGED | Flags::SEEN),
        (15, "Kept", 0),
        (16, "Lists/rust", Flags::SEEN),
        (17, "Lists/rust", 0),
    ] {
        let mb = mailbox(&s, a, m);
        let uid = s
            .append(a, mb, &msg(n), &Flags::system(bits), None)
            .unwrap()
            .uid;
        say(format!("APPEND a@example.org {m} {n} {} {bits}", uid.0));
    }
    // The held changes' accounts, and what they start from.
    for (account, _) in HELD {
        new_account(account);
    }
    let h3 = s.account_id("h3@example.org").unwrap().unwrap();
    let uid = s.deliver(h3, &msg(31)).unwrap().uid;
    say(format!("APPEND h3@example.org INBOX 31 {} 0", uid.0));
    let h4 = s.account_id("h4@example.org").unwrap().unwrap();
    let h4_inbox = mailbox(&s, h4, "INBOX");
    for n in [41, 42] {
        let uid = s.deliver(h4, &msg(n)).unwrap().uid;
        say(format!("APPEND h4@example.org INBOX {n} {} 0", uid.0));
        if n == 41 {
            let f = Flags::system(Flags::DELETED);
            s.store_flags(h4, h4_inbox, &[uid], FlagOp::Add, &f, None)
                .unwrap();
            say(format!(
                "FLAG h4@example.org INBOX {} {}",
                uid.0,
                Flags::DELETED
            ));
        }
    }

    // Held: each change stops at the hook, in a thread named after it.
    let (point, held): (Point, &[(&str, &str)]) = match mode.as_str() {
        "synced" => (Point::Synced, HELD),
        "one" => (Point::Synced, &HELD[..1]),
        "half" => (Point::HalfApplied, &HELD[..1]),
        other => panic!("unknown mode {other}"),
    };
    let reached = Arc::new(AtomicUsize::new(0));
    {
        let reached = reached.clone();
        let say = say.clone();
        crash_hooks::hold(point, move |p| {
            let me = std::thread::current().name().unwrap_or("?").to_string();
            say(format!("HELD {me} {p:?}"));
            reached.fetch_add(1, Ordering::SeqCst);
        });
    }
    for &(account, change) in held {
        let s = s.clone();
        std::thread::Builder::new()
            .name(account.to_string())
            .spawn(move || {
                let a = s.account_id(account).unwrap().unwrap();
                let ib = mailbox(&s, a, "INBOX");
                let words: Vec<&str> = change.split(' ').collect();
                match words[..] {
                    ["deliver", n] => {
                        s.deliver(a, &msg(n.parse().unwrap())).unwrap();
                    }
                    ["create", m] => {
                        s.create_mailbox(a, &name(m), None).unwrap();
                    }
                    ["flag", _, _] => {
                        let uid = s.snapshot(a, ib).unwrap().entries[0].uid;
                        let f = Flags::system(Flags::FLAGGED);
                        s.store_flags(a, ib, &[uid], FlagOp::Add, &f, None).unwrap();
                    }
                    ["expunge", _] => {
                        s.expunge(a, ib, None).unwrap();
                    }
                    _ => unreachable!(),
                }
                panic!("{account}: {change} returned past the crash hook");
            })
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while reached.load(Ordering::SeqCst) < held.len() {
        assert!(std::time::Instant::now() < deadline, "held changes stuck");
        std::thread::sleep(Duration::from_millis(5));
    }
    say("ALL-HELD".to_string());
    loop {
        std::thread::park();
    }
}

/// One mailbox as the child left it: message number to (UID if known,
/// flag bits).
type Mailbox = BTreeMap<u32, (Option<u32>, u8)>;

/// What the store must hold: per account, its mailboxes.
#[derive(Default, Debug, Clone)]
struct Model {
    accounts: BTreeMap<String, BTreeMap<String, Mailbox>>,
}

impl Model {
    fn mailbox(&mut self, account: &str, m: &str) -> &mut Mailbox {
        self.accounts
            .get_mut(account)
            .unwrap_or_else(|| panic!("{account}: no such account"))
            .get_mut(m)
            .unwrap_or_else(|| panic!("{account}: no mailbox {m}"))
    }

    /// Takes one acknowledged line of the child.
    fn take(&mut self, line: &str) {
        let w: Vec<&str> = line.split(' ').collect();
        match w[..] {
            ["ACCOUNT", account] => {
                assert!(
                    self.accounts
                        .insert(account.into(), BTreeMap::new())
                        .is_none()
                );
            }
            ["CREATE", account, m] => {
                let mailboxes = self.accounts.get_mut(account).unwrap();
                assert!(mailboxes.insert(m.into(), Mailbox::new()).is_none());
            }
            ["APPEND", account, m, n, uid, bits] => {
                let entry = (Some(uid.parse().unwrap()), bits.parse().unwrap());
                self.mailbox(account, m).insert(n.parse().unwrap(), entry);
            }
            ["FLAG", account, m, uid, bits] => {
                let uid: u32 = uid.parse().unwrap();
                let bits: u8 = bits.parse().unwrap();
                let mut e = self.mailbox(account, m).values_mut();
                e.find(|e| e.0 == Some(uid)).unwrap().1 |= bits;
            }
            ["EXPUNGE", account, m, uid] => {
                let uid: u32 = uid.parse().unwrap();
                self.mailbox(account, m).retain(|_, e| e.0 != Some(uid));
            }
            _ => panic!("unknown line {line:?}"),
        }
    }

    /// The model after the held change of `account` (see [`HELD`]).
    fn with_held(&self, account: &str) -> Model {
        let mut m = self.clone();
        let inbox = m.mailbox(account, "INBOX");
        match account {
            "h1@example.org" => {
                inbox.insert(100, (None, 0));
            }
            "h2@example.org" => {
                let account = m.accounts.get_mut(account).unwrap();
                account.insert("Held".into(), Mailbox::new());
            }
            "h3@example.org" => inbox.get_mut(&31).unwrap().1 |= Flags::FLAGGED,
            "h4@example.org" => inbox.retain(|_, e| e.1 & Flags::DELETED == 0),
            _ => unreachable!(),
        }
        m
    }
}

/// Checks the store at `dir` holds exactly `model`: each account's
/// mailboxes (each once), each mailbox's messages with their UIDs,
/// contents and flags and no other message, UIDNEXT past every UID.
fn check(dir: &Path, model: &Model, what: &str) {
    let s = open_at(dir);
    for (account, mailboxes) in &model.accounts {
        let a = s.account_id(account).unwrap().expect(account);
        let mut names: Vec<String> = s
            .mailboxes(a)
            .unwrap()
            .iter()
            .map(|m| m.name.as_str().to_string())
            .collect();
        names.sort();
        let want: Vec<&String> = mailboxes.keys().collect();
        assert_eq!(names.iter().collect::<Vec<_>>(), want, "{what}: {account}");
        for (m, messages) in mailboxes {
            let mb = mailbox(&s, a, m);
            let snap = s.snapshot(a, mb).unwrap();
            let mut got = Mailbox::new();
            for e in &snap.entries {
                let raw = s.read(a, mb, e.uid).unwrap().expect("indexed message");
                let n = number(&raw);
                assert_eq!(raw, msg(n), "{what}: {account} {m} UID {}", e.uid.0);
                let bits = e.flags.system & FLAGS;
                let meta = s.meta(a, mb, e.uid).unwrap().expect("indexed message");
                assert_eq!(meta.flags.system & FLAGS, bits);
                let known = messages.get(&n).and_then(|w| w.0).map(|_| e.uid.0);
                let again = got.insert(n, (known, bits));
                assert!(again.is_none(), "{what}: {account} {m}: message {n} twice");
                assert!(snap.uid_next > e.uid, "{what}: UIDNEXT {}", snap.uid_next.0);
            }
            assert_eq!(&got, messages, "{what}: {account} {m}");
            assert_eq!(s.status(a, mb).unwrap().messages as usize, messages.len());
        }
    }
    // Counters came back: a new message gets a UID above every one.
    let a = s.account_id("a@example.org").unwrap().unwrap();
    let ib = mailbox(&s, a, "INBOX");
    let last = s.snapshot(a, ib).unwrap().entries.last().unwrap().uid;
    let next = s.deliver(a, &msg(999)).unwrap().uid;
    assert!(next > last, "{what}: UID {} handed out again", next.0);
    // Gone again, so the same model holds at the next check.
    s.remove(a, ib, &[next]).unwrap();
}

/// Runs the child in `mode` on `dir` until every held change has reached
/// its hook, kills it with SIGKILL; the model of what it acknowledged, and
/// the accounts whose change was held.
fn kill_child_at(dir: &Path, mode: &str) -> (Model, Vec<String>) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill_child", "--nocapture", "--test-threads=1"])
        .env("SEALPOST_KILL_CHILD", dir)
        .env("SEALPOST_KILL_MODE", mode)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut model = Model::default();
    let mut held = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) else {
            child.kill().unwrap();
            panic!("the child ({mode}) did not get to its crash hooks");
        };
        // The harness may have printed `running 1 test` or
        // `test kill_child ... ` before a line of ours.
        let line = [
            "CREATE ", "APPEND ", "FLAG ", "EXPUNGE ", "ACCOUNT ", "HELD ", "ALL-HELD",
        ]
        .iter()
        .filter_map(|w| line.find(w))
        .min()
        .map(|at| line[at..].to_string());
        let Some(line) = line else { continue };
        if line == "ALL-HELD" {
            break;
        }
        match line.split(' ').collect::<Vec<_>>()[..] {
            ["HELD", account, _] => held.push(account.to_string()),
            _ => model.take(&line),
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    held.sort();
    (model, held)
}

/// The log files of the store at `dir`, oldest first.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("data/wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

/// Where each record of a log file starts, and the file's length: the
/// documented format (`backend/wal.rs`), read independently here.
fn records(file: &Path) -> (Vec<u64>, u64) {
    let bytes = std::fs::read(file).unwrap();
    let header = b"sealpost-wal 1\n";
    assert!(bytes.starts_with(header));
    let mut at = header.len();
    let mut starts = Vec::new();
    while at < bytes.len() {
        starts.push(at as u64);
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len(), "{}: ends inside a record", file.display());
    (starts, bytes.len() as u64)
}

#[test]
fn sigkill_after_the_log_fsync_before_sled_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (model, held) = kill_child_at(dir.path(), "synced");
    let want: Vec<String> = HELD.iter().map(|h| h.0.to_string()).collect();
    assert_eq!(held, want);
    let mut whole = model.clone();
    for account in &held {
        whole = whole.with_held(account);
    }
    check(dir.path(), &whole, "after SIGKILL");
    // Reopened once more (clean close, nothing to replay): the same.
    check(dir.path(), &whole, "after a clean close");
}

#[test]
fn sigkill_with_half_a_change_in_sled_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (model, held) = kill_child_at(dir.path(), "half");
    assert_eq!(held, ["h1@example.org"]);
    check(
        dir.path(),
        &model.with_held("h1@example.org"),
        "half applied",
    );
}

#[test]
fn a_torn_last_record_after_sigkill_drops_only_that_change() {
    let crashed = tempfile::tempdir().unwrap();
    let (model, held) = kill_child_at(crashed.path(), "one");
    assert_eq!(held, ["h1@example.org"]);
    let last = log_files(crashed.path()).pop().unwrap();
    let (starts, len) = records(&last);
    // The held delivery's commit is the last record: nothing was logged
    // after its fdatasync.
    let start = *starts.last().unwrap();
    // Cut at random bytes inside it (each on a copy of the crashed store),
    // and at its very start (a clean end: the same state).
    let mut cuts: Vec<u64> = (0..4)
        .map(|_| start + 1 + rand::random::<u64>() % (len - start - 1))
        .collect();
    cuts.push(start);
    for cut in cuts {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(crashed.path(), copy.path());
        let file = copy.path().join(last.strip_prefix(crashed.path()).unwrap());
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        check(copy.path(), &model, &format!("cut at {cut} of {len}"));
    }
    // Not cut: the held delivery's record is whole, so it is there.
    check(
        crashed.path(),
        &model.with_held("h1@example.org"),
        "not cut",
    );
}

/// Copies the folder `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
