//! The selected state: the UID map and the untagged updates that follow
//! other sessions' changes (RFC 9051 7.5.1, 5.2-5.5; RFC 7162 3.2.10).
//!
//! The session keeps, per selected mailbox, the UIDs the client knows in
//! sequence order (the sequence number is the index + 1). Changes come as
//! `sealpost_store::MailboxEvent`s, which the driver hands over when a
//! command ends ([`super::Request::Updates`]), and are announced at the
//! points the RFC allows: EXISTS and flag FETCHes after any command,
//! EXPUNGE only after commands other than FETCH, STORE and SEARCH; until
//! then an expunged message keeps its sequence number. When events were
//! lost (the watcher fell behind), a fresh snapshot is compared instead.
//!
//! `\Recent` (IMAP4rev1 only, RFC 3501 2.3.2): a message is recent in
//! exactly one session, the first read-write one told of it. SELECT claims
//! what arrived since the last claim, up to its snapshot; a message that
//! arrives later is claimed when its event reaches a session (the driver
//! asks the store as it hands the events over), so of several sessions
//! with the mailbox selected only the first to see the arrival reports it
//! `\Recent` and counts it in RECENT; the others see it without. This is
//! Dovecot's behaviour too (its index keeps the first recent UID and the
//! session that syncs first takes the rest). EXAMINE and other read-only
//! sessions show `\Recent` on what no one has claimed yet and claim
//! nothing (RFC 3501 6.3.2). After lost events (a resync from a snapshot)
//! new messages are announced without `\Recent` and stay recent for the
//! next SELECT: the flag is never given twice.
//!
//! Keywords (RFC 9051 7.3.5, RFC 3501 7.2.6): the session remembers the
//! keywords its last untagged `FLAGS` named. Before any response shows a
//! keyword outside that list (a FETCH of this session, a STORE's echo, a
//! flag change or an append by another session), a new `FLAGS` and
//! `PERMANENTFLAGS` naming it are sent, so a client that builds its tag
//! list from FLAGS never meets an unknown one.

use super::Enabled;
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{MessageSet, SeqBound};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::{Flags, MailboxEvent, MailboxInfo, MessageEntry, ModSeq, Snapshot, Uid};
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;

/// A selected mailbox as this session sees it.
pub(crate) struct Selected {
    /// The mailbox, named as the user names it (`Shared/<owner>/...`
    /// through a grant); the name follows a rename made anywhere
    /// (`gone.rs`).
    pub info: MailboxInfo,
    pub read_only: bool,
    /// Opened by EXAMINE: read-only whatever a grant allows (`read_only`
    /// alone may also come from a grant, and follow it, `regrant`).
    pub examined: bool,
    /// UIDs in sequence order, as announced to the client (expunges not yet
    /// announced included).
    pub uids: Vec<Uid>,
    /// The EXISTS count the client has.
    pub exists_announced: usize,
    /// `\Recent` UIDs for this session (rev1).
    pub recent: HashSet<Uid>,
    /// Expunged by others, not yet announced.
    pub pending_expunge: HashSet<Uid>,
    /// Flag changes this session made and already reported.
    pub own_changes: HashSet<(Uid, ModSeq)>,
    /// Flag changes at or below this were in the snapshot at SELECT.
    pub base_modseq: ModSeq,
    /// HIGHESTMODSEQ as far as this session has seen.
    pub highest_modseq: ModSeq,
    /// Whether CONDSTORE is active for this mailbox (RFC 7162 3.1).
    pub condstore: bool,
    /// The search result variable `$` (RFC 5182 2.1), as UIDs, ascending:
    /// empty at SELECT, set by `SEARCH RETURN (SAVE)`, and losing messages
    /// as their expunges are announced.
    pub saved: Vec<Uid>,
    /// The keywords the last untagged FLAGS named (see the module docs).
    pub keywords: Vec<String>,
    /// Keywords were added to `keywords` and not yet announced.
    pub keywords_changed: bool,
    /// Another account's mailbox, opened through a grant (`acl.rs`):
    /// requests go to the owner's account, each checked against these
    /// rights.
    pub shared: Option<super::acl::SharedAccess>,
    /// Updating SEARCH/SORT results (RFC 5267 4.3, `super::context`).
    pub contexts: Vec<super::context::Context>,
    /// The running command stopped at MESSAGELIMIT (`super::limit`): the
    /// lowest UID it acted on.
    pub limit_hit: Option<u32>,
}

/// A message addressed by a command: its sequence number and UID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub seq: u32,
    pub uid: Uid,
}

/// Flag changes to announce, by UID.
pub(crate) type FlagUpdates = BTreeMap<Uid, MessageEntry>;

impl Selected {
    /// Adds the keywords of `flags` that the client has not been told of
    /// (they are announced by [`Selected::flush_keywords`]).
    pub fn note_keywords(&mut self, flags: &Flags) {
        for k in &flags.keywords {
            if !self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                self.keywords.push(k.clone());
                self.keywords_changed = true;
            }
        }
    }

    /// Sends FLAGS and PERMANENTFLAGS when keywords were added since the
    /// last ones sent (RFC 9051 7.3.5); call before a response that may
    /// show them.
    pub fn flush_keywords(&mut self, out: &mut Out) {
        if std::mem::take(&mut self.keywords_changed) {
            self.announce_flags(out);
        }
    }

    /// The untagged FLAGS and the PERMANENTFLAGS OK (RFC 9051 7.3.5,
    /// 7.1 PERMANENTFLAGS): empty permanent flags when read-only, those
    /// the grant allows on a shared mailbox.
    pub fn announce_flags(&self, out: &mut Out) {
        let mut kw = String::new();
        for k in &self.keywords {
            kw.push(' ');
            kw.push_str(k);
        }
        out.untagged(&format!(
            "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw})"
        ));
        let permanent = super::acl::permanent_flags(self.rights(), self.read_only, &kw);
        out.status(
            None,
            Status::Ok,
            Some(Code::PermanentFlags(permanent)),
            "Flags permitted",
        );
    }

    /// The first CONDSTORE-enabling command while the mailbox is selected
    /// (ENABLE, FETCH MODSEQ, ...): the mailbox's HIGHESTMODSEQ, once
    /// (RFC 7162 3.1).
    pub fn condstore_enabled(&mut self, enabled: Enabled, out: &mut Out) {
        if enabled.condstore && !self.condstore {
            self.condstore = true;
            out.status(
                None,
                Status::Ok,
                Some(Code::HighestModSeq(self.highest_modseq.0)),
                "Highest",
            );
        }
    }

    /// The sequence number of a UID.
    pub fn seq_of(&self, uid: Uid) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// The messages a sequence set names, ascending, without duplicates.
    /// Sequence numbers past the end are a client error (RFC 9051 6.4.5),
    /// except that a range with `*` names nothing in an empty mailbox;
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
                if n == 0 && (a == SeqBound::Star || b == SeqBound::Star) {
                    // `*` in an empty mailbox names no message: `1:*`
                    // matches nothing and the command succeeds, as in
                    // Dovecot (clients send `FETCH 1:*` right after
                    // SELECT without looking at EXISTS).
                    continue;
                }
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
    /// `VANISHED` under QRESYNC (RFC 7162 3.2.10) or UIDONLY (RFC 9586),
    /// else `EXPUNGE`s in descending order so each number is right when it
    /// is sent.
    pub fn announce_expunged(&mut self, gone: &[Uid], vanished: bool, out: &mut Out) {
        let known: Vec<Uid> = gone
            .iter()
            .copied()
            .filter(|u| self.seq_of(*u).is_some())
            .collect();
        if known.is_empty() {
            return;
        }
        self.remove_expunged_from_contexts(&known, out);
        if vanished {
            out.untagged(&format!("VANISHED {}", uid_set(&known)));
        } else {
            for u in known.iter().rev() {
                if let Some(seq) = self.seq_of(*u) {
                    out.untagged(&format!("{seq} EXPUNGE"));
                }
            }
        }
        self.forget(&known);
    }

    /// Takes in change events; returns the flag changes to announce.
    /// `recent`: the appended UIDs that are `\Recent` for this session
    /// (claimed by the driver, see the module docs).
    pub fn absorb(&mut self, events: Vec<MailboxEvent>, recent: &[Uid]) -> FlagUpdates {
        let mut flag_updates = FlagUpdates::new();
        for ev in events {
            match ev {
                MailboxEvent::Appended(e) => {
                    self.highest_modseq = self.highest_modseq.max(e.modseq);
                    self.note_keywords(&e.flags);
                    if self.uids.last().is_none_or(|l| e.uid > *l) {
                        self.uids.push(e.uid);
                        if recent.contains(&e.uid) {
                            self.recent.insert(e.uid);
                        }
                    }
                }
                MailboxEvent::FlagsChanged(e) => {
                    self.highest_modseq = self.highest_modseq.max(e.modseq);
                    if self.own_changes.remove(&(e.uid, e.modseq)) || e.modseq <= self.base_modseq {
                        continue;
                    }
                    self.note_keywords(&e.flags);
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
        flag_updates
    }

    /// Takes in a fresh snapshot after events were lost: what is gone is
    /// pending expunge, what is new is appended, what changed since the
    /// last modseq seen is announced.
    pub fn absorb_snapshot(&mut self, snap: Snapshot) -> FlagUpdates {
        let mut flag_updates = FlagUpdates::new();
        let now: HashSet<Uid> = snap.entries.iter().map(|e| e.uid).collect();
        let last = self.uids.last().copied().unwrap_or(Uid(0));
        for u in &self.uids {
            if !now.contains(u) {
                self.pending_expunge.insert(*u);
            }
        }
        for e in snap.entries {
            self.note_keywords(&e.flags);
            if e.uid > last {
                // Not claimed as `\Recent` here: the next SELECT will.
                self.uids.push(e.uid);
            } else if e.modseq > self.highest_modseq {
                flag_updates.insert(e.uid, e);
            }
        }
        self.highest_modseq = self.highest_modseq.max(snap.highest_modseq);
        flag_updates
    }

    /// Announces expunges (when allowed), the new EXISTS count and flag
    /// changes (see the module docs).
    pub fn announce(
        &mut self,
        flag_updates: FlagUpdates,
        enabled: Enabled,
        out: &mut Out,
        allow_expunge: bool,
    ) {
        if allow_expunge && !self.pending_expunge.is_empty() {
            let mut gone: Vec<Uid> = self.pending_expunge.drain().collect();
            gone.sort_unstable();
            self.announce_expunged(&gone, enabled.vanished(), out);
        }
        if self.uids.len() != self.exists_announced {
            out.untagged(&format!("{} EXISTS", self.uids.len()));
            if !enabled.rev2 {
                out.untagged(&format!("{} RECENT", self.recent.len()));
            }
            self.exists_announced = self.uids.len();
        }
        self.flush_keywords(out);
        let condstore = self.condstore || enabled.condstore;
        let mut line = Vec::with_capacity(64);
        for (uid, e) in flag_updates {
            if self.pending_expunge.contains(&uid) {
                continue;
            }
            if let Some(seq) = self.seq_of(uid) {
                let recent = !enabled.rev2 && self.recent.contains(&uid);
                line.clear();
                super::uidonly::write_fetch_start(&mut line, seq, uid, enabled.uidonly);
                if (enabled.qresync || enabled.flag_uid) && !enabled.uidonly {
                    let _ = write!(line, "UID {uid} ");
                }
                line.extend_from_slice(b"FLAGS (");
                write_flags(&mut line, &e.flags, recent);
                line.push(b')');
                if condstore {
                    let _ = write!(line, " MODSEQ ({})", e.modseq);
                }
                line.extend_from_slice(b")\r\n");
                out.raw(&line);
            }
        }
    }
}

/// A compact UID set (`1:3,7`) for COPYUID, MODIFIED and VANISHED.
pub(crate) fn uid_set(uids: &[Uid]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i].0;
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1].0 == end.wrapping_add(1) {
            i += 1;
            end = uids[i].0;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        let u = |v: &[u32]| v.iter().map(|&x| Uid(x)).collect::<Vec<_>>();
        assert_eq!(uid_set(&u(&[1, 2, 3, 5, 7, 8])), "1:3,5,7:8");
        assert_eq!(uid_set(&u(&[4])), "4");
        assert_eq!(uid_set(&u(&[])), "");
    }
}
