//! A synchronous driver for the session state machine: the socket loop's
//! logic without sockets, over any [`Backend`].
//!
//! Transcript tests run it over [`MemoryBackend`] and over the real store,
//! and the fuzz target feeds it random bytes. It does what the TLS loop in
//! [`crate::server`] does with each [`Action`], in the same order: frames
//! are cut with the session's current line limit, STLS drops the buffered
//! input, store events are applied before each command.

use crate::session::{
    Action, LoginResult, Maildrop, MaildropRef, MessageOutcome, Session, SessionConfig,
};
use crate::wire::{LineFramer, Reply, RespCode, StuffedChunks};
use sealpost_directory::Secret;
use sealpost_store::{AccountId, MailboxId, Uid, UidValidity};
use std::collections::{BTreeMap, HashSet};

/// What the driver needs from the world.
pub trait Backend {
    /// Checks credentials and opens (and locks) the maildrop.
    fn login(&mut self, user: &str, secret: &Secret) -> LoginResult;
    /// A message's bytes; `None` when it was removed meanwhile.
    fn read(&mut self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, RespCode>;
    /// Removes messages (UPDATE); returns how many were there.
    fn remove(&mut self, at: MaildropRef, uids: &[Uid]) -> Result<usize, RespCode>;
    /// UIDs removed by others since the last call.
    fn vanished(&mut self, at: MaildropRef) -> Vec<Uid>;
    /// The session ended: release the maildrop.
    fn release(&mut self, at: MaildropRef);
}

impl<B: Backend + ?Sized> Backend for &mut B {
    fn login(&mut self, user: &str, secret: &Secret) -> LoginResult {
        (**self).login(user, secret)
    }
    fn read(&mut self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, RespCode> {
        (**self).read(at, uid)
    }
    fn remove(&mut self, at: MaildropRef, uids: &[Uid]) -> Result<usize, RespCode> {
        (**self).remove(at, uids)
    }
    fn vanished(&mut self, at: MaildropRef) -> Vec<Uid> {
        (**self).vanished(at)
    }
    fn release(&mut self, at: MaildropRef) {
        (**self).release(at)
    }
}

/// The session plus its framer and output, driven synchronously.
pub struct Driver<B: Backend> {
    session: Session,
    framer: LineFramer,
    backend: B,
    out: Vec<u8>,
    closed: bool,
    held: Option<MaildropRef>,
}

impl<B: Backend> Driver<B> {
    /// A session on an encrypted (`tls`) or plaintext connection; the
    /// greeting is in the output.
    pub fn new(backend: B, config: SessionConfig, tls: bool) -> Driver<B> {
        let session = Session::new(config, tls);
        let mut out = Vec::new();
        session.greeting().encode(&mut out);
        Driver {
            session,
            framer: LineFramer::new(),
            backend,
            out,
            closed: false,
            held: None,
        }
    }

    /// Feeds client bytes and runs every complete command.
    pub fn feed(&mut self, input: &[u8]) {
        if self.closed {
            return;
        }
        self.framer.push(input);
        while !self.closed {
            let Some(frame) = self.framer.next_frame(self.session.line_limit()) else {
                break;
            };
            if let Some(at) = self.held {
                let gone = self.backend.vanished(at);
                if !gone.is_empty() {
                    self.session.vanished(&gone);
                }
            }
            let action = self.session.on_frame(frame);
            self.run(action);
        }
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::Reply(r) => r.encode(&mut self.out),
            Action::Close(r) => {
                r.encode(&mut self.out);
                self.close();
            }
            Action::StartTls(r) => {
                r.encode(&mut self.out);
                self.framer.clear();
                self.session.on_tls_established();
            }
            Action::Login { user, secret } => {
                let result = self.backend.login(&user, &secret);
                if let LoginResult::Opened(m) = &result {
                    self.held = Some(m.at);
                }
                let next = self.session.on_login(result);
                self.run(next);
            }
            Action::Send {
                at,
                number,
                uid,
                top,
            } => {
                let read = self.backend.read(at, uid);
                let outcome = match &read {
                    Ok(Some(raw)) => MessageOutcome::Found(raw.len()),
                    Ok(None) => MessageOutcome::Gone,
                    Err(code) => MessageOutcome::Failed(*code),
                };
                let reply = self.session.on_message(number, top, outcome);
                reply.encode(&mut self.out);
                if let (true, Ok(Some(raw))) = (reply.is_ok(), &read) {
                    for chunk in StuffedChunks::new(raw, top) {
                        self.out.extend_from_slice(&chunk);
                    }
                }
            }
            Action::Update { at, uids } => {
                let result = self.backend.remove(at, &uids);
                self.session.on_update(result).encode(&mut self.out);
                self.close();
            }
        }
    }

    fn close(&mut self) {
        self.closed = true;
        if let Some(at) = self.held.take() {
            self.backend.release(at);
        }
    }

    /// Server shutdown: the goodbye, nothing removed.
    pub fn shutdown(&mut self) {
        if !self.closed {
            self.session.on_shutdown().encode(&mut self.out);
            self.close();
        }
    }

    /// The connection dropped without QUIT: nothing removed.
    pub fn disconnect(&mut self) {
        self.close();
    }

    /// Takes what the server has written so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The backend.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }
}

impl<B: Backend> Drop for Driver<B> {
    fn drop(&mut self) {
        self.close();
    }
}

/// One account of a [`MemoryBackend`].
#[derive(Debug, Clone, Default)]
pub struct MemoryAccount {
    /// Its password.
    pub password: String,
    /// INBOX: UID to message.
    pub inbox: BTreeMap<u32, Vec<u8>>,
    /// Held by a session.
    pub locked: bool,
    /// Removed by "another session", not yet reported.
    pub pending_vanished: Vec<Uid>,
    /// Logged in already (for `login_delay`).
    pub logged_in_before: bool,
    /// Every store call for this account fails with this code.
    pub failing: Option<RespCode>,
}

/// An in-memory maildrop store with a password table, for transcripts and fuzzing.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    /// Accounts by address; account ids are positions + 1.
    pub accounts: Vec<(String, MemoryAccount)>,
    /// Users whose logins the "directory" throttles.
    pub throttled: HashSet<String>,
    /// Refuse a second login of the same account (`LOGIN-DELAY`).
    pub login_delay: bool,
    /// INBOX's UIDVALIDITY.
    pub uid_validity: u32,
}

impl MemoryBackend {
    /// Adds an account with messages (UIDs 1, 2, ...).
    pub fn add(&mut self, address: &str, password: &str, messages: &[&[u8]]) {
        let inbox = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u32 + 1, m.to_vec()))
            .collect();
        self.accounts.push((
            address.to_string(),
            MemoryAccount {
                password: password.to_string(),
                inbox,
                ..MemoryAccount::default()
            },
        ));
    }

    /// An account by address.
    pub fn account_mut(&mut self, address: &str) -> Option<&mut MemoryAccount> {
        self.accounts
            .iter_mut()
            .find(|(a, _)| a.eq_ignore_ascii_case(address))
            .map(|(_, acc)| acc)
    }

    /// Another session (IMAP) removes a message.
    pub fn expunge(&mut self, address: &str, uid: u32) {
        if let Some(acc) = self.account_mut(address)
            && acc.inbox.remove(&uid).is_some()
        {
            acc.pending_vanished.push(Uid(uid));
        }
    }

    fn by_ref(&mut self, at: MaildropRef) -> Option<&mut MemoryAccount> {
        let i = (at.account.0 as usize).checked_sub(1)?;
        self.accounts.get_mut(i).map(|(_, a)| a)
    }
}

impl Backend for MemoryBackend {
    fn login(&mut self, user: &str, secret: &Secret) -> LoginResult {
        if self.throttled.contains(user) {
            return LoginResult::Throttled;
        }
        let uid_validity = UidValidity(self.uid_validity);
        let login_delay = self.login_delay;
        let Some(pos) = self
            .accounts
            .iter()
            .position(|(a, acc)| a.eq_ignore_ascii_case(user) && acc.password == secret.expose())
        else {
            return LoginResult::Failed;
        };
        let (address, acc) = &mut self.accounts[pos];
        if acc.locked {
            return LoginResult::InUse;
        }
        if login_delay && acc.logged_in_before {
            return LoginResult::TooSoon;
        }
        if let Some(code) = acc.failing {
            return LoginResult::Unavailable(code);
        }
        acc.locked = true;
        acc.logged_in_before = true;
        acc.pending_vanished.clear();
        let at = MaildropRef {
            account: AccountId(pos as u64 + 1),
            mailbox: MailboxId(1),
        };
        let messages = acc.inbox.iter().map(|(uid, m)| (Uid(*uid), m.len() as u32));
        LoginResult::Opened(Maildrop::new(address.clone(), at, uid_validity, messages))
    }

    fn read(&mut self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, RespCode> {
        let acc = self.by_ref(at).ok_or(RespCode::SysPerm)?;
        if let Some(code) = acc.failing {
            return Err(code);
        }
        Ok(acc.inbox.get(&uid.0).cloned())
    }

    fn remove(&mut self, at: MaildropRef, uids: &[Uid]) -> Result<usize, RespCode> {
        let acc = self.by_ref(at).ok_or(RespCode::SysPerm)?;
        if let Some(code) = acc.failing {
            return Err(code);
        }
        Ok(uids
            .iter()
            .filter(|u| acc.inbox.remove(&u.0).is_some())
            .count())
    }

    fn vanished(&mut self, at: MaildropRef) -> Vec<Uid> {
        self.by_ref(at)
            .map(|a| std::mem::take(&mut a.pending_vanished))
            .unwrap_or_default()
    }

    fn release(&mut self, at: MaildropRef) {
        if let Some(a) = self.by_ref(at) {
            a.locked = false;
        }
    }
}

/// The reply a session sends for `reply` (tests compare wire text).
pub fn wire(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.to_bytes()).into_owned()
}

/// The fuzz target's body (fuzz/pop3_session), also replayed over the
/// checked-in corpus by `cargo test`: random bytes into the framer, parser
/// and session over an in-memory maildrop with two accounts.
///
/// The first byte chooses the policy (bit 0: TLS already on; bit 1: EXPIRE
/// 0; bits 2-3: line limit) and, in its high nibble, the size of the
/// chunks the rest is fed in. A chunk starting with 0x7F also makes
/// "another session" expunge a message. Panics if the server writes
/// anything that is not CRLF-terminated lines, or writes after closing.
pub fn fuzz_session(data: &[u8]) {
    let Some((&policy, rest)) = data.split_first() else {
        return;
    };
    let mut backend = MemoryBackend {
        uid_validity: 7,
        ..MemoryBackend::default()
    };
    backend.add(
        "a@example.org",
        "pw",
        &[
            b"Subject: x\r\n\r\nbody\r\n.\r\n",
            b".\r\n..\r\n\r\n.x",
            b"no header or end",
        ],
    );
    backend.add("b@example.org", "pw", &[]);
    backend.throttled.insert("t@example.org".into());
    let config = SessionConfig {
        max_line: [255, 16, 1000, 3][usize::from(policy >> 2 & 3)],
        expire_days: (policy & 2 != 0).then_some(0),
        ..SessionConfig::default()
    };
    let chunk = usize::from(policy >> 4) + 1;
    let mut driver = Driver::new(backend, config, policy & 1 != 0);
    let mut out = driver.take_output();
    for part in rest.chunks(chunk) {
        if part.first() == Some(&0x7F) {
            let uid = part.len() as u32 % 4;
            driver.backend_mut().expunge("a@example.org", uid);
        }
        let was_closed = driver.is_closed();
        driver.feed(part);
        let more = driver.take_output();
        assert!(!was_closed || more.is_empty(), "wrote after closing");
        out.extend(more);
    }
    driver.shutdown();
    out.extend(driver.take_output());
    assert!(
        out.is_empty() || out.ends_with(b"\r\n"),
        "output not line-terminated"
    );
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.ends_with(b"\r"), "bare LF in output");
    }
}
