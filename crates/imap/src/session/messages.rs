//! Message-changing commands: STORE (RFC 9051 6.4.6, RFC 7162
//! UNCHANGEDSINCE), EXPUNGE and UID EXPUNGE (6.4.3, RFC 4315), COPY and
//! MOVE with COPYUID (6.4.7-6.4.8, RFC 6851, RFC 4315), APPEND with
//! APPENDUID and APPENDLIMIT (6.3.12, RFC 4315, RFC 7889).
//!
//! Every write runs on the blocking pool and returns only once the store
//! has it on disk, so a tagged OK always means durable.

use super::select::{Target, flags_str, parse_flags};
use super::{Done, Session};
use crate::error::{CmdError, CmdResult};
use crate::mailstore::MailStore;
use crate::wire::command::{MailboxArg, MessageSet, StoreOp};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::{FlagOp, StoreError, Uid};

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

impl<S: MailStore> Session<S> {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_flags(
        &mut self,
        uid: bool,
        set: MessageSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<String>,
        unchanged_since: Option<u64>,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let flags = parse_flags(&flags)?;
        if unchanged_since.is_some() {
            self.enabled.condstore = true;
        }
        let condstore = self.enabled.condstore;
        let rev2 = self.enabled.rev2;
        let (account, sel) = self.selected()?;
        if sel.read_only {
            return Err(CmdError::no(Some(Code::Cannot), "Mailbox is read-only"));
        }
        let targets = sel.resolve(&set, uid)?;
        let (aid, mid) = (account.id, sel.info.id);
        let uids: Vec<Uid> = targets.iter().map(|t| t.uid).collect();
        let op = match op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        };
        let since = unchanged_since.map(sealpost_store::ModSeq);
        let outcome = self
            .blocking(move |s| s.store_flags(aid, mid, &uids, op, &flags, since))
            .await?;
        let (_, sel) = self.selected()?;
        for e in &outcome.updated {
            sel.own_change(e);
            if silent && !condstore {
                continue;
            }
            let Some(seq) = sel.seq_of(e.uid) else {
                continue;
            };
            let recent = !rev2 && sel.recent.contains(&e.uid);
            let mut items = Vec::new();
            if uid {
                items.push(format!("UID {}", e.uid));
            }
            if !silent {
                items.push(format!("FLAGS ({})", flags_str(&e.flags, recent)));
            }
            if condstore {
                items.push(format!("MODSEQ ({})", e.modseq));
            }
            out.untagged(&format!("{seq} FETCH ({})", items.join(" ")));
        }
        if !outcome.modified.is_empty() {
            let mut modified = outcome.modified.clone();
            modified.sort_unstable();
            let set = if uid {
                uid_set(&modified)
            } else {
                let seqs: Vec<Uid> = modified
                    .iter()
                    .filter_map(|u| sel.seq_of(*u))
                    .map(Uid)
                    .collect();
                uid_set(&seqs)
            };
            return Done::with(Code::Modified(set), "Conditional STORE failed for some");
        }
        Done::ok("STORE completed")
    }

    /// Announces messages this session removed, and forgets them.
    fn announce_expunged(&mut self, gone: &[Uid], out: &mut Out) {
        let qresync = self.enabled.qresync;
        if let Ok((_, sel)) = self.selected() {
            sel.announce_expunged(gone, qresync, out);
        }
    }

    pub(super) async fn expunge(
        &mut self,
        uids: Option<MessageSet>,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let (account, sel) = self.selected()?;
        if sel.read_only {
            return Err(CmdError::no(Some(Code::Cannot), "Mailbox is read-only"));
        }
        let only: Option<Vec<Uid>> = match &uids {
            Some(set) => Some(sel.resolve(set, true)?.into_iter().map(|t| t.uid).collect()),
            None => None,
        };
        let (aid, mid) = (account.id, sel.info.id);
        let gone = self
            .blocking(move |s| s.expunge(aid, mid, only.as_deref()))
            .await?;
        self.announce_expunged(&gone, out);
        Done::ok("EXPUNGE completed")
    }

    pub(super) async fn copy_move(
        &mut self,
        uid: bool,
        set: MessageSet,
        dest: MailboxArg,
        is_move: bool,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let dest = self.mailbox_name(&dest)?;
        let (account, sel) = self.selected()?;
        if is_move && sel.read_only {
            return Err(CmdError::no(Some(Code::Cannot), "Mailbox is read-only"));
        }
        let targets: Vec<Target> = sel.resolve(&set, uid)?;
        if targets.is_empty() {
            return Done::ok("Nothing to do");
        }
        let (aid, from) = (account.id, sel.info.id);
        let uids: Vec<Uid> = targets.iter().map(|t| t.uid).collect();
        let outcome = self
            .blocking(move |s| {
                let Some(to) = s.mailbox(aid, &dest)? else {
                    return Err(StoreError::NoMailbox);
                };
                if is_move {
                    s.move_messages(aid, from, &uids, to.id)
                } else {
                    s.copy(aid, from, &uids, to.id)
                }
            })
            .await
            .map_err(|e| {
                if e.code == Some(Code::Nonexistent) {
                    CmdError::no(Some(Code::TryCreate), "No such destination mailbox")
                } else {
                    e
                }
            })?;
        let src: Vec<Uid> = outcome.pairs.iter().map(|p| p.0).collect();
        let dst: Vec<Uid> = outcome.pairs.iter().map(|p| p.1).collect();
        let code = (!src.is_empty()).then(|| Code::CopyUid {
            uid_validity: outcome.uid_validity.0,
            from: uid_set(&src),
            to: uid_set(&dst),
        });
        if is_move {
            // RFC 6851 3.3: COPYUID in an untagged OK, then the expunges.
            if let Some(code) = code {
                out.status(None, Status::Ok, Some(code), "Moved");
            }
            self.announce_expunged(&src, out);
            return Done::ok("MOVE completed");
        }
        match code {
            Some(code) => Done::with(code, "COPY completed"),
            None => Done::ok("COPY completed"),
        }
    }

    pub(super) async fn append(
        &mut self,
        dest: MailboxArg,
        flags: Vec<String>,
        date: Option<i64>,
        message: Vec<u8>,
    ) -> CmdResult<Done> {
        let account = self.account()?;
        let name = self.mailbox_name(&dest)?;
        let flags = parse_flags(&flags)?;
        if message.is_empty() {
            return Err(CmdError::no(Some(Code::Cannot), "Empty message"));
        }
        let aid = account.id;
        let appended = self
            .blocking(move |s| {
                let Some(mb) = s.mailbox(aid, &name)? else {
                    return Err(StoreError::NoMailbox);
                };
                s.append(aid, mb.id, &message, &flags, date)
            })
            .await
            .map_err(|e| {
                if e.code == Some(Code::Nonexistent) {
                    CmdError::no(Some(Code::TryCreate), "No such mailbox")
                } else {
                    e
                }
            })?;
        Done::with(
            Code::AppendUid {
                uid_validity: appended.uid_validity.0,
                uid: appended.uid.0,
            },
            "APPEND completed",
        )
    }
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
