//! The selected state: SELECT/EXAMINE (RFC 9051 6.3.2-6.3.3, RFC 7162 3.1.8),
//! CLOSE (6.4.1), UNSELECT (6.4.2), the UID map and the untagged updates
//! that follow other sessions' changes (RFC 9051 7.5.1, 5.2-5.5).
//!
//! The session keeps, per selected mailbox, the UIDs the client knows in
//! sequence order (the sequence number is the index + 1). Changes arrive
//! from `Store::watch` and are announced at the points the RFC allows:
//! EXISTS and flag FETCHes after any command, EXPUNGE only after commands
//! other than FETCH, STORE and SEARCH; until then an expunged message keeps
//! its sequence number. A receiver that lagged takes a fresh snapshot and
//! announces the difference.
//!
//! `\Recent` (IMAP4rev1 only): the UIDs claimed from the store at SELECT,
//! plus messages that arrive while this session has the mailbox selected.

use super::{Account, Done, Enabled, Session, State};
use crate::error::{CmdError, CmdResult};
use crate::mailstore::MailStore;
use crate::wire::command::{MailboxArg, MessageSet, SelectOptions, SeqBound};
use crate::wire::response::{Code, Out};
use sealpost_store::{AccountId, Flags, MailboxEvent, MailboxInfo, MessageEntry, ModSeq, Uid};
use std::collections::{BTreeMap, HashSet, VecDeque};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// A selected mailbox as this session sees it.
pub(crate) struct Selected {
    pub info: MailboxInfo,
    pub read_only: bool,
    /// UIDs in sequence order, as announced to the client (expunges not yet
    /// announced included).
    pub uids: Vec<Uid>,
    /// The EXISTS count the client has.
    exists_announced: usize,
    /// `\Recent` UIDs for this session (rev1).
    pub recent: HashSet<Uid>,
    events: broadcast::Receiver<MailboxEvent>,
    queue: VecDeque<MailboxEvent>,
    lagged: bool,
    /// Expunged by others, not yet announced.
    pending_expunge: HashSet<Uid>,
    /// Flag changes this session made and already reported.
    pub own_changes: HashSet<(Uid, ModSeq)>,
    /// Flag changes at or below this were in the snapshot at SELECT.
    base_modseq: ModSeq,
    /// HIGHESTMODSEQ as far as this session has seen.
    pub highest_modseq: ModSeq,
    /// Whether CONDSTORE is active for this mailbox (RFC 7162 3.1).
    pub condstore: bool,
    /// The search result variable `$` (RFC 5182 2.1), as UIDs, ascending:
    /// empty at SELECT, set by `SEARCH RETURN (SAVE)`, and losing messages
    /// as their expunges are announced.
    pub saved: Vec<Uid>,
}

/// A message addressed by a command: its sequence number and UID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub seq: u32,
    pub uid: Uid,
}

impl Selected {
    /// Receives one change into the queue (cancel-safe).
    pub(super) async fn wait_event(&mut self) {
        match self.events.recv().await {
            Ok(ev) => self.queue.push_back(ev),
            Err(broadcast::error::RecvError::Lagged(_)) => self.lagged = true,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }

    /// The sequence number of a UID.
    pub fn seq_of(&self, uid: Uid) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// The messages a sequence set names, ascending, without duplicates.
    /// Sequence numbers past the end are a client error (RFC 9051 6.4.5);
    /// UIDs that do not exist are simply skipped. `$` names the saved
    /// result's messages, in UID and sequence-number commands alike
    /// (RFC 5182 2.1).
    pub fn resolve(&self, set: &MessageSet, uid: bool) -> CmdResult<Vec<Target>> {
        let set = match set {
            MessageSet::Set(set) => set,
            MessageSet::Saved => {
                return Ok(self
                    .saved
                    .iter()
                    .filter_map(|&u| self.seq_of(u).map(|seq| Target { seq, uid: u }))
                    .collect());
            }
        };
        let mut idx: Vec<usize> = Vec::new();
        if uid {
            let star = self.uids.last().map(|u| u.0).unwrap_or(0);
            for &(a, b) in &set.0 {
                let v = |x: SeqBound| match x {
                    SeqBound::Num(n) => n,
                    SeqBound::Star => star,
                };
                let (lo, hi) = (v(a).min(v(b)), v(a).max(v(b)));
                let start = self.uids.partition_point(|u| u.0 < lo);
                let end = self.uids.partition_point(|u| u.0 <= hi);
                idx.extend(start..end);
            }
        } else {
            let n = self.uids.len() as u32;
            for &(a, b) in &set.0 {
                let v = |x: SeqBound| match x {
                    SeqBound::Num(k) => k,
                    SeqBound::Star => n,
                };
                let (lo, hi) = (v(a).min(v(b)), v(a).max(v(b)));
                if hi > n || lo == 0 {
                    return Err(CmdError::bad(None, "Invalid message sequence number"));
                }
                idx.extend((lo - 1) as usize..hi as usize);
            }
        }
        idx.sort_unstable();
        idx.dedup();
        Ok(idx
            .into_iter()
            .map(|i| Target {
                seq: i as u32 + 1,
                uid: self.uids[i],
            })
            .collect())
    }

    /// Records a change this session made and reported itself.
    pub fn own_change(&mut self, e: &MessageEntry) {
        self.own_changes.insert((e.uid, e.modseq));
        self.highest_modseq = self.highest_modseq.max(e.modseq);
    }

    /// Removes UIDs this session expunged (and announced) itself.
    pub fn forget(&mut self, uids: &[Uid]) {
        let gone: HashSet<Uid> = uids.iter().copied().collect();
        let before = self.uids.len();
        self.uids.retain(|u| !gone.contains(u));
        self.exists_announced = self
            .exists_announced
            .saturating_sub(before - self.uids.len());
        for u in uids {
            self.recent.remove(u);
            self.pending_expunge.remove(u);
        }
        if !self.saved.is_empty() {
            self.saved.retain(|u| !gone.contains(u));
        }
    }

    /// Announces that `gone` (ascending, all known) left the mailbox:
    /// `VANISHED` under QRESYNC (RFC 7162 3.2.10), else `EXPUNGE`s in
    /// descending order so each number is right when it is sent.
    pub fn announce_expunged(&mut self, gone: &[Uid], qresync: bool, out: &mut Out) {
        let known: Vec<Uid> = gone
            .iter()
            .copied()
            .filter(|u| self.seq_of(*u).is_some())
            .collect();
        if known.is_empty() {
            return;
        }
        if qresync {
            out.untagged(&format!("VANISHED {}", super::messages::uid_set(&known)));
        } else {
            for u in known.iter().rev() {
                if let Some(seq) = self.seq_of(*u) {
                    out.untagged(&format!("{seq} EXPUNGE"));
                }
            }
        }
        self.forget(&known);
    }

    /// Announces queued changes (see the module docs).
    pub(super) fn sync(
        &mut self,
        store: &impl MailStore,
        account: AccountId,
        enabled: Enabled,
        out: &mut Out,
        allow_expunge: bool,
    ) {
        loop {
            match self.events.try_recv() {
                Ok(ev) => self.queue.push_back(ev),
                Err(TryRecvError::Lagged(_)) => self.lagged = true,
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
            }
        }
        let mut flag_updates: BTreeMap<Uid, MessageEntry> = BTreeMap::new();
        if self.lagged {
            self.lagged = false;
            self.queue.clear();
            if let Ok(snap) = store.snapshot(account, self.info.id) {
                let now: HashSet<Uid> = snap.entries.iter().map(|e| e.uid).collect();
                let last = self.uids.last().copied().unwrap_or(Uid(0));
                for u in &self.uids {
                    if !now.contains(u) {
                        self.pending_expunge.insert(*u);
                    }
                }
                for e in snap.entries {
                    if e.uid > last {
                        self.uids.push(e.uid);
                        self.recent.insert(e.uid);
                    } else if e.modseq > self.highest_modseq {
                        flag_updates.insert(e.uid, e);
                    }
                }
                self.highest_modseq = self.highest_modseq.max(snap.highest_modseq);
            }
        }
        while let Some(ev) = self.queue.pop_front() {
            match ev {
                MailboxEvent::Appended(e) => {
                    self.highest_modseq = self.highest_modseq.max(e.modseq);
                    if self.uids.last().is_none_or(|l| e.uid > *l) {
                        self.uids.push(e.uid);
                        self.recent.insert(e.uid);
                    }
                }
                MailboxEvent::FlagsChanged(e) => {
                    self.highest_modseq = self.highest_modseq.max(e.modseq);
                    if self.own_changes.remove(&(e.uid, e.modseq)) || e.modseq <= self.base_modseq {
                        continue;
                    }
                    flag_updates.insert(e.uid, e);
                }
                MailboxEvent::Expunged { uids, modseq } => {
                    self.highest_modseq = self.highest_modseq.max(modseq);
                    for u in uids {
                        if self.uids.binary_search(&u).is_ok() {
                            self.pending_expunge.insert(u);
                        }
                    }
                }
                MailboxEvent::Gone => {
                    self.pending_expunge.extend(self.uids.iter().copied());
                }
            }
        }
        if allow_expunge && !self.pending_expunge.is_empty() {
            let mut gone: Vec<Uid> = self.pending_expunge.drain().collect();
            gone.sort_unstable();
            self.announce_expunged(&gone, enabled.qresync, out);
        }
        if self.uids.len() != self.exists_announced {
            out.untagged(&format!("{} EXISTS", self.uids.len()));
            if !enabled.rev2 {
                out.untagged(&format!("{} RECENT", self.recent.len()));
            }
            self.exists_announced = self.uids.len();
        }
        let condstore = self.condstore || enabled.condstore;
        for (uid, e) in flag_updates {
            if self.pending_expunge.contains(&uid) {
                continue;
            }
            if let Some(seq) = self.seq_of(uid) {
                let recent = !enabled.rev2 && self.recent.contains(&uid);
                let mut line = format!("{seq} FETCH (");
                if enabled.qresync {
                    line.push_str(&format!("UID {uid} "));
                }
                line.push_str(&format!("FLAGS ({})", flags_str(&e.flags, recent)));
                if condstore {
                    line.push_str(&format!(" MODSEQ ({})", e.modseq));
                }
                line.push(')');
                out.untagged(&line);
            }
        }
    }
}

/// `FLAGS (...)` contents.
pub(crate) fn flags_str(f: &Flags, recent: bool) -> String {
    let mut out = Vec::with_capacity(32);
    write_flags(&mut out, f, recent);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the flags, space-separated, without parentheses (the FETCH hot
/// path: no allocation per message).
pub(crate) fn write_flags(out: &mut Vec<u8>, f: &Flags, recent: bool) {
    let mut first = true;
    let mut put = |out: &mut Vec<u8>, name: &[u8]| {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(name);
    };
    for (bit, name) in [
        (Flags::SEEN, &b"\\Seen"[..]),
        (Flags::ANSWERED, b"\\Answered"),
        (Flags::FLAGGED, b"\\Flagged"),
        (Flags::DELETED, b"\\Deleted"),
        (Flags::DRAFT, b"\\Draft"),
    ] {
        if f.has(bit) {
            put(out, name);
        }
    }
    if recent {
        put(out, b"\\Recent");
    }
    for k in &f.keywords {
        put(out, k.as_bytes());
    }
}

/// Turns wire flags into store flags. `\Recent` cannot be set (RFC 9051
/// 2.3.2) and is ignored; other unknown system flags are refused.
pub(crate) fn parse_flags(flags: &[String]) -> CmdResult<Flags> {
    let mut out = Flags::empty();
    for f in flags {
        if let Some(name) = f.strip_prefix('\\') {
            let bit = match name.to_ascii_lowercase().as_str() {
                "seen" => Flags::SEEN,
                "answered" => Flags::ANSWERED,
                "flagged" => Flags::FLAGGED,
                "deleted" => Flags::DELETED,
                "draft" => Flags::DRAFT,
                "recent" => 0,
                _ => return Err(CmdError::bad(None, "Unknown system flag")),
            };
            out.system |= bit;
        } else if !out.has_keyword(f) {
            out.keywords.push(f.clone());
        }
    }
    Ok(out)
}

impl<S: MailStore> Session<S> {
    pub(super) async fn select(
        &mut self,
        arg: MailboxArg,
        options: SelectOptions,
        read_only: bool,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let account = self.account()?;
        // Leaving the old mailbox first (RFC 9051 6.3.2).
        if let State::Selected(a, _) = &self.state {
            let a = a.clone();
            self.state = State::Authenticated(a);
            if self.enabled.rev2 || self.enabled.condstore || self.enabled.qresync {
                out.status(
                    None,
                    crate::wire::response::Status::Ok,
                    Some(Code::Closed),
                    "Previous mailbox closed",
                );
            }
        }
        if options.qresync.is_some() && !self.enabled.qresync {
            return Err(CmdError::bad(
                Some(Code::ClientBug),
                "QRESYNC parameter without ENABLE QRESYNC",
            ));
        }
        let name = self.mailbox_name(&arg)?;
        let id = account.id;
        let lookup = name.clone();
        let (info, events, snap, recent) = self
            .blocking(move |s| {
                let Some(info) = s.mailbox(id, &lookup)? else {
                    return Err(sealpost_store::StoreError::NoMailbox);
                };
                // Atomically: no change falls between snapshot and watch.
                let (snap, events) = s.snapshot_and_watch(id, info.id)?;
                let recent = if read_only {
                    Vec::new()
                } else {
                    s.claim_recent(id, info.id)?
                };
                Ok((info, events, snap, recent))
            })
            .await?;
        let condstore = options.condstore || self.enabled.condstore;
        if options.condstore {
            self.enabled.condstore = true;
        }
        let uids: Vec<Uid> = snap.entries.iter().map(|e| e.uid).collect();
        let first_unseen = snap
            .entries
            .iter()
            .position(|e| !e.flags.has(Flags::SEEN))
            .map(|i| i + 1);
        let mut keywords: Vec<&str> = Vec::new();
        for e in &snap.entries {
            for k in &e.flags.keywords {
                if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) && keywords.len() < 200 {
                    keywords.push(k);
                }
            }
        }
        let kw = if keywords.is_empty() {
            String::new()
        } else {
            format!(" {}", keywords.join(" "))
        };
        let ok = crate::wire::response::Status::Ok;
        out.untagged(&format!(
            "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw})"
        ));
        out.untagged(&format!("{} EXISTS", uids.len()));
        if !self.enabled.rev2 {
            out.untagged(&format!("{} RECENT", recent.len()));
            if let Some(n) = first_unseen {
                out.status(None, ok, Some(Code::Unseen(n as u32)), "First unseen");
            }
        }
        let permanent = if read_only {
            String::new()
        } else {
            format!("\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw} \\*")
        };
        out.status(
            None,
            ok,
            Some(Code::PermanentFlags(permanent)),
            "Flags permitted",
        );
        out.status(
            None,
            ok,
            Some(Code::UidValidity(info.uid_validity.0)),
            "UIDs valid",
        );
        out.status(
            None,
            ok,
            Some(Code::UidNext(snap.uid_next.0)),
            "Predicted next UID",
        );
        if condstore {
            out.status(
                None,
                ok,
                Some(Code::HighestModSeq(snap.highest_modseq.0)),
                "Highest",
            );
        }
        if self.enabled.rev2 {
            let attrs = info
                .special_use
                .map(|u| u.attribute().to_string())
                .unwrap_or_default();
            out.untagged(&format!(
                "LIST ({attrs}) \"/\" {}",
                self.wire_name(info.name.as_str())
            ));
        }
        let mut resync = None;
        if let Some(q) = &options.qresync
            && q.uid_validity == info.uid_validity.0
        {
            let (mbox, since) = (info.id, sealpost_store::ModSeq(q.modseq));
            let changes = self
                .blocking(move |s| s.changes_since(id, mbox, since))
                .await?;
            resync = Some((changes, q.known_uids.clone()));
        }
        let sel = Selected {
            read_only,
            exists_announced: uids.len(),
            uids,
            recent: recent.into_iter().collect(),
            events,
            queue: VecDeque::new(),
            lagged: false,
            pending_expunge: HashSet::new(),
            own_changes: HashSet::new(),
            base_modseq: snap.highest_modseq,
            highest_modseq: snap.highest_modseq,
            condstore,
            saved: Vec::new(),
            info,
        };
        if let Some((changes, known)) = resync {
            // RFC 7162 3.2.5.1: what vanished, then what changed.
            let max = sel
                .uids
                .last()
                .map(|u| u.0)
                .unwrap_or(0)
                .max(snap.uid_next.0);
            let vanished: Vec<Uid> = changes
                .vanished
                .into_iter()
                .filter(|u| known.as_ref().is_none_or(|k| k.contains(u.0, max)))
                .collect();
            if !vanished.is_empty() {
                out.untagged(&format!(
                    "VANISHED (EARLIER) {}",
                    super::messages::uid_set(&vanished)
                ));
            }
            for e in changes.changed {
                if let Some(seq) = sel.seq_of(e.uid) {
                    let recent = !self.enabled.rev2 && sel.recent.contains(&e.uid);
                    out.untagged(&format!(
                        "{seq} FETCH (UID {} FLAGS ({}) MODSEQ ({}))",
                        e.uid,
                        flags_str(&e.flags, recent),
                        e.modseq
                    ));
                }
            }
        }
        self.state = State::Selected(account, Box::new(sel));
        if read_only {
            Done::with(Code::ReadOnly, "EXAMINE completed")
        } else {
            Done::with(Code::ReadWrite, "SELECT completed")
        }
    }

    /// CLOSE (expunging `\Deleted` silently unless read-only) or UNSELECT.
    pub(super) async fn close(&mut self, expunge: bool) -> CmdResult<Done> {
        let State::Selected(account, sel) = std::mem::replace(&mut self.state, State::Logout)
        else {
            return Err(CmdError::bad(None, "No mailbox selected"));
        };
        let (aid, mid, read_only) = (account.id, sel.info.id, sel.read_only);
        self.state = State::Authenticated(Account { ..account });
        if expunge && !read_only {
            self.blocking(move |s| s.expunge(aid, mid, None)).await?;
        }
        Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }

    /// The selected mailbox, or BAD.
    pub(crate) fn selected(&mut self) -> CmdResult<(Account, &mut Selected)> {
        match &mut self.state {
            State::Selected(a, sel) => Ok((a.clone(), sel)),
            _ => Err(CmdError::bad(None, "No mailbox selected")),
        }
    }
}
