//! A resumable file import ([`sealpost_import::resume`]) into a real
//! embedded store, where a kill is hard to aim: the moment between a
//! batch's commit and the save of the state that records it. That moment
//! is made exactly by putting back the state an earlier run saved after
//! later messages were committed; the next run must find those messages
//! here by their octets (not import them again), leave alone a message
//! delivered meanwhile, and import only what is really new.

use sealpost_import::imap::state::StateFiles;
use sealpost_import::resume::Resume;
use sealpost_import::{Totals, maildir, mbox};
use sealpost_store::{AccountId, MailboxName, Store, StoreOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn open(dir: &Path) -> (Store, AccountId, Resume) {
    let store = Store::open(StoreOptions {
        data_dir: dir.join("data"),
        master_key: dir.join("master.key"),
        summarizer: Arc::new(sealpost_store::NoSummary),
    })
    .unwrap();
    let account = store.create_account("r@example.org").unwrap();
    let resume = Resume {
        files: StateFiles::new(&dir.join("data"), &dir.join("master.key")).unwrap(),
        address: "r@example.org".into(),
    };
    (store, account, resume)
}

fn message(i: usize) -> String {
    format!("Subject: {i}\nMessage-ID: <{i}@r>\n\nbody {i}\n")
}

/// The one state file (there is one source and one mailbox).
fn state_file(dir: &Path) -> PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir.join("data/import"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// The Message-IDs in INBOX, in UID order.
fn inbox(store: &Store, account: AccountId) -> Vec<String> {
    let id = store
        .mailbox(account, &MailboxName::inbox())
        .unwrap()
        .unwrap()
        .id;
    store
        .snapshot(account, id)
        .unwrap()
        .entries
        .iter()
        .map(|e| {
            let raw = store.read(account, id, e.uid).unwrap().unwrap();
            let text = String::from_utf8(raw).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or("none")
                .to_string()
        })
        .collect()
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("<{i}@r>")).collect()
}

type Import = fn(&Store, AccountId, &Path, &Totals, &Resume) -> sealpost_import::Result<()>;

fn run(store: &Store, account: AccountId, from: &Path, resume: &Resume, f: Import) -> (u64, u64) {
    let totals = Totals::default();
    f(store, account, from, &totals, resume).unwrap();
    (Totals::get(&totals.messages), Totals::get(&totals.already))
}

fn append_mbox(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in range {
        write!(f, "From x Thu Jan  2 10:00:00 2020\n{}\n", message(i)).unwrap();
    }
}

#[test]
fn an_mbox_batch_committed_but_not_recorded_is_found_not_imported_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, resume) = open(dir.path());
    let path = dir.path().join("in.mbox");
    append_mbox(&path, 0..100);
    assert_eq!(run(&store, account, &path, &resume, mbox::import), (100, 0));
    let early = std::fs::read(state_file(dir.path())).unwrap();
    // 0600, sealed: neither address nor path nor mail in the clear.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state_file(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let name = state_file(dir.path()).display().to_string();
        let text = String::from_utf8_lossy(&early);
        for secret in ["r@example.org", "in.mbox", "Subject"] {
            assert!(!text.contains(secret) && !name.contains(secret), "{secret}");
        }
    }
    // The mbox grows at its end: the next run imports only the new ones.
    append_mbox(&path, 100..170);
    assert_eq!(
        run(&store, account, &path, &resume, mbox::import),
        (70, 100)
    );
    // As if the last run was killed after its commits, before its saves;
    // and a message delivered meanwhile.
    std::fs::write(state_file(dir.path()), &early).unwrap();
    store
        .deliver(account, b"Subject: meanwhile\r\n\r\nx\r\n")
        .unwrap();
    assert_eq!(run(&store, account, &path, &resume, mbox::import), (0, 170));
    append_mbox(&path, 170..175);
    assert_eq!(run(&store, account, &path, &resume, mbox::import), (5, 170));
    let mut want = ids(0..170);
    want.push("none".into());
    want.extend(ids(170..175));
    assert_eq!(inbox(&store, account), want);
    // Another file at the same path is not the same source: imported whole.
    std::fs::remove_file(&path).unwrap();
    append_mbox(&path, 500..503);
    assert_eq!(run(&store, account, &path, &resume, mbox::import), (3, 0));
}

fn maildir_files(root: &Path, range: std::ops::Range<usize>) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for i in range {
        std::fs::write(root.join(format!("cur/{i:05}.M1P1.h:2,S")), message(i)).unwrap();
    }
}

#[test]
fn a_maildir_batch_committed_but_not_recorded_is_found_and_a_changed_folder_is_matched() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, resume) = open(dir.path());
    let root = dir.path().join("Maildir");
    maildir_files(&root, 0..100);
    assert_eq!(
        run(&store, account, &root, &resume, maildir::import),
        (100, 0)
    );
    let early = std::fs::read(state_file(dir.path())).unwrap();
    maildir_files(&root, 100..150);
    assert_eq!(
        run(&store, account, &root, &resume, maildir::import),
        (50, 100)
    );
    std::fs::write(state_file(dir.path()), &early).unwrap();
    store
        .deliver(account, b"Subject: meanwhile\r\n\r\nx\r\n")
        .unwrap();
    assert_eq!(
        run(&store, account, &root, &resume, maildir::import),
        (0, 150)
    );
    // A file done goes away and a new one sorts before the rest: the
    // files done are no longer a prefix, each file is looked for here.
    std::fs::remove_file(root.join("cur/00003.M1P1.h:2,S")).unwrap();
    std::fs::write(root.join("cur/00000a.M1P1.h:2,S"), message(900)).unwrap();
    assert_eq!(
        run(&store, account, &root, &resume, maildir::import),
        (1, 149)
    );
    assert_eq!(
        run(&store, account, &root, &resume, maildir::import),
        (0, 150)
    );
    let mut want = ids(0..150);
    want.push("none".into());
    want.push("<900@r>".into());
    assert_eq!(inbox(&store, account), want);
}
