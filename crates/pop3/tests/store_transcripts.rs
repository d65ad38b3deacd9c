//! The C:/S: transcripts of `tests/transcripts/` replayed over the real
//! store (sled + encrypted blobs in a tempdir): maildrops are opened with
//! the server's own `open_maildrop`, removals at QUIT go through
//! `Store::remove`, and "another session" expunges the way IMAP does
//! (`\Deleted` + UID EXPUNGE), reaching the session through store events.

mod common;

use common::transcript::{TranscriptBackend, memory_only, run};
use common::*;
use sealpost_directory::Secret;
use sealpost_pop3::driver::Backend;
use sealpost_pop3::error::resp_code;
use sealpost_pop3::server::open_maildrop;
use sealpost_pop3::session::{LoginResult, MaildropRef};
use sealpost_pop3::wire::RespCode;
use sealpost_store::{
    AccountId, FlagOp, Flags, MailboxEvent, MailboxName, NoSummary, Store, StoreOptions, Uid,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::broadcast;

struct StoreBackend {
    _dir: tempfile::TempDir,
    store: Store,
    passwords: HashMap<String, String>,
    locked: HashSet<AccountId>,
    watches: HashMap<AccountId, broadcast::Receiver<MailboxEvent>>,
    alice_validity: String,
}

impl StoreBackend {
    fn new() -> StoreBackend {
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
        let passwords = [(ALICE, ALICE_PASS), (BOB, BOB_PASS)]
            .into_iter()
            .map(|(a, p)| (a.to_string(), p.to_string()))
            .collect();
        StoreBackend {
            _dir: dir,
            store,
            passwords,
            locked: HashSet::new(),
            watches: HashMap::new(),
            alice_validity: format!("{:08X}", inbox.uid_validity.0),
        }
    }
}

impl Backend for StoreBackend {
    fn login(&mut self, user: &str, secret: &Secret) -> LoginResult {
        if user == "throttled@example.org" {
            return LoginResult::Throttled;
        }
        if self.passwords.get(user).map(String::as_str) != Some(secret.expose()) {
            return LoginResult::Failed;
        }
        let id = self.store.account_id(user).unwrap().unwrap();
        if !self.locked.insert(id) {
            return LoginResult::InUse;
        }
        let inbox = self
            .store
            .mailbox(id, &MailboxName::inbox())
            .unwrap()
            .unwrap();
        self.watches
            .insert(id, self.store.watch(id, inbox.id).unwrap());
        match open_maildrop(&self.store, user) {
            Ok(m) => LoginResult::Opened(m),
            Err(e) => LoginResult::Unavailable(resp_code(&e)),
        }
    }

    fn read(&mut self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, RespCode> {
        self.store
            .read(at.account, at.mailbox, uid)
            .map_err(|e| resp_code(&e))
    }

    fn remove(&mut self, at: MaildropRef, uids: &[Uid]) -> Result<usize, RespCode> {
        self.store
            .remove(at.account, at.mailbox, uids)
            .map(|v| v.len())
            .map_err(|e| resp_code(&e))
    }

    fn vanished(&mut self, at: MaildropRef) -> Vec<Uid> {
        let mut gone = Vec::new();
        if let Some(rx) = self.watches.get_mut(&at.account) {
            while let Ok(ev) = rx.try_recv() {
                if let MailboxEvent::Expunged { uids, .. } = ev {
                    gone.extend(uids);
                }
            }
        }
        gone
    }

    fn release(&mut self, at: MaildropRef) {
        self.locked.remove(&at.account);
        self.watches.remove(&at.account);
    }
}

impl TranscriptBackend for StoreBackend {
    fn expunge(&mut self, user: &str, uid: u32) {
        // What an IMAP client does: STORE +FLAGS \Deleted, then UID EXPUNGE.
        let id = self.store.account_id(user).unwrap().unwrap();
        let inbox = self
            .store
            .mailbox(id, &MailboxName::inbox())
            .unwrap()
            .unwrap();
        self.store
            .store_flags(
                id,
                inbox.id,
                &[Uid(uid)],
                FlagOp::Add,
                &Flags::system(Flags::DELETED),
                None,
            )
            .unwrap();
        let gone = self.store.expunge(id, inbox.id, Some(&[Uid(uid)])).unwrap();
        assert_eq!(gone, vec![Uid(uid)]);
    }
    fn lock(&mut self, _user: &str) {
        unreachable!("in_use is memory-only; the real lock is tested in server.rs")
    }
    fn set_login_delay(&mut self) {
        unreachable!("login_delay is memory-only; the real one is tested in server.rs")
    }
    fn fail(&mut self, _user: &str, _code: &str) {
        unreachable!("store failures are memory-only")
    }
    fn uid_validity_hex(&self) -> String {
        self.alice_validity.clone()
    }
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let file = concat!(stringify!($name), ".txt");
            let text = include_str!(concat!("transcripts/", stringify!($name), ".txt"));
            assert!(!memory_only(text), "{file} is memory-only");
            run(file, text, &mut StoreBackend::new());
        }
    )*};
}

transcripts!(
    stls_first,
    user_pass_session,
    sasl_plain,
    auth_failures,
    throttled,
    expunged_by_imap,
    bad_commands,
    too_many_bad_commands,
    long_lines,
    utf8_and_apop,
    no_quit_deletes_nothing,
    shutdown,
    expire_zero,
    quit_before_login,
    pipelining,
);

/// Every transcript file is run by one of the two suites.
#[test]
fn every_transcript_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let memory = include_str!("transcripts.rs");
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".txt").unwrap();
        assert!(
            memory.contains(&format!("    {stem},")),
            "{name} is not in transcripts.rs"
        );
    }
}
