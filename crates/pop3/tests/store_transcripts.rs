//! The C:/S: transcripts of `tests/transcripts/` replayed through the same
//! driver over the real store (sled + encrypted blobs in a tempdir): the
//! maildrop is the store's INBOX, removals at QUIT go through
//! `Store::remove`, and "another session" expunges the way IMAP does
//! (`\Deleted` + UID EXPUNGE), reaching the session through store events.

mod common;

use common::transcript::{Harness, directory, memory_only, policy, run, services};
use common::*;
use sealpost_pop3::driver::Services;
use sealpost_store::{FlagOp, Flags, MailboxName, NoSummary, Store, StoreOptions, Uid};
use std::sync::Arc;

struct RealStore {
    services: Arc<Services<Store>>,
    alice_validity: String,
    _dir: tempfile::TempDir,
}

impl RealStore {
    async fn new(text: &str) -> RealStore {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        })
        .unwrap();
        let alice = store.create_account(ALICE).unwrap();
        for m in MESSAGES {
            store.deliver(alice, m).unwrap();
        }
        store.create_account(BOB).unwrap();
        let inbox = store
            .mailbox(alice, &MailboxName::inbox())
            .unwrap()
            .unwrap();
        let (session, _) = policy(text);
        RealStore {
            alice_validity: format!("{:08X}", inbox.uid_validity.0),
            services: services(store, directory(dir.path()).await, session),
            _dir: dir,
        }
    }
}

impl Harness for RealStore {
    type M = Store;
    fn services(&self) -> &Arc<Services<Store>> {
        &self.services
    }
    fn expunge(&self, user: &str, uid: u32) {
        // What an IMAP client does: STORE +FLAGS \Deleted, then UID EXPUNGE.
        let store = &self.services.maildrops;
        let id = store.account_id(user).unwrap().unwrap();
        let inbox = store.mailbox(id, &MailboxName::inbox()).unwrap().unwrap();
        store
            .store_flags(
                id,
                inbox.id,
                &[Uid(uid)],
                FlagOp::Add,
                &Flags::system(Flags::DELETED),
                None,
            )
            .unwrap();
        let gone = store.expunge(id, inbox.id, Some(&[Uid(uid)])).unwrap();
        assert_eq!(gone, vec![Uid(uid)]);
    }
    fn fail(&self, _user: &str, _code: &str) {
        unreachable!("store failures cannot be caused on demand: memory-only")
    }
    fn uid_validity_hex(&self) -> String {
        self.alice_validity.clone()
    }
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let file = concat!(stringify!($name), ".txt");
            let text = include_str!(concat!("transcripts/", stringify!($name), ".txt"));
            assert!(!memory_only(text), "{file} is memory-only");
            run(file, text, &RealStore::new(text).await).await;
        }
    )*};
}

transcripts!(
    stls_first,
    user_pass_session,
    sasl_plain,
    auth_failures,
    throttled,
    in_use,
    login_delay,
    expunged_by_imap,
    bad_commands,
    too_many_bad_commands,
    long_lines,
    long_line_before_login,
    utf8_and_apop,
    no_quit_deletes_nothing,
    shutdown,
    expire_zero,
    quit_before_login,
    pipelining,
);

/// Every transcript file is run by both suites, except the memory-only
/// ones (store failures on demand), which only the memory suite runs.
#[test]
fn every_transcript_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let memory = include_str!("transcripts.rs");
    let store = include_str!("store_transcripts.rs");
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let stem = name.strip_suffix(".txt").unwrap();
        let entry = format!("    {stem},");
        assert!(memory.contains(&entry), "{name} is not in transcripts.rs");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            store.contains(&entry),
            !memory_only(&text),
            "{name}: store_transcripts.rs must list exactly the files that are not memory-only"
        );
    }
}
