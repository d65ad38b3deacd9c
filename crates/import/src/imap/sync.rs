//! One source folder into its mailbox here, as often as asked: the first
//! run copies everything, later runs copy what is new and apply the flag
//! changes made at the source since.
//!
//! 1. The mailbox here gets the folder's special use at the source (LIST's
//!    `\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, RFC 6154),
//!    taken from the mailbox here that had it. EXAMINE gives the source's
//!    UIDVALIDITY; the folder's [`FolderState`]
//!    holds for it (a new UIDVALIDITY starts a new state). A mailbox here
//!    that never held a message takes the source's UIDVALIDITY, and each
//!    message then keeps its source UID (clients that synced against the
//!    source download nothing again).
//! 2. `UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)`, streamed: a
//!    message the state knows gets the flags added and removed at the
//!    source since the last run added and removed here (other flags set
//!    here stay); one it does not know is either here already
//!    (a run that stopped before saving the state: same size and
//!    INTERNALDATE as an unrecorded message here) or missing.
//! 3. The missing are fetched [`BATCH`] at a time with `BODY.PEEK[]`;
//!    each is written here as it arrives (its body then dropped), ended
//!    (blob made durable) [`WORKERS`] at once, and what the FETCH brought
//!    is committed in one transaction when it ends (or every
//!    [`COMMIT_OCTETS`]), also when the connection dropped mid-way, and
//!    only then recorded in the state (a state saved before the commit
//!    would name messages that are not here). A run killed before a
//!    commit leaves none of that batch; one killed after it and before
//!    the state was saved finds the batch here by size and date (step 2).
//!    A message larger than [`STREAM_ABOVE`] (by its RFC822.SIZE) is
//!    fetched on its own and stored while it arrives, a piece at a time
//!    (`body_stream.rs`), with the flags and INTERNALDATE of step 2, so
//!    memory stays flat whatever its size.
//!
//! The state is saved every [`SAVE_EVERY`], when a run fails and at the end.

use super::client::{Client, ClientError, Fetched};
use super::state::{Copied, FolderState, flags_hash};
use super::{Failure, Job};
use crate::ensure_mailbox;
use crate::pipeline::WORKERS;
use sealpost_store::{
    AppendStream, FlagOp, Flags, MailboxId, Placement, Prepared, SpecialUse, StoreError, Uid,
    UidValidity,
};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Messages per `UID FETCH` of bodies.
pub const BATCH: usize = 50;
/// Messages larger than this are stored while they arrive.
pub const STREAM_ABOVE: u32 = 1 << 20;
/// Octets of a FETCH's messages past which those ended so far are
/// committed without waiting for the FETCH's end.
pub const COMMIT_OCTETS: u64 = 16 << 20;
/// How often the state is saved during a run.
pub const SAVE_EVERY: Duration = Duration::from_secs(2);

/// A folder at the source and its name here.
#[derive(Debug, Clone)]
pub struct RemoteFolder {
    /// Its name on the wire (modified UTF-7), as LIST sent it.
    pub wire: String,
    /// Its name here (UTF-8, `/` between levels).
    pub name: String,
    /// Its special use at the source (RFC 6154), given to the mailbox here.
    pub special_use: Option<SpecialUse>,
}

/// Where one folder's sync stands.
struct Run<'a> {
    job: &'a Job,
    mailbox: MailboxId,
    state: FolderState,
    path: std::path::PathBuf,
    /// Messages here not in the state, by (size, INTERNALDATE); built at
    /// the first source message the state does not know.
    unrecorded: Option<HashMap<(u32, i64), Vec<u32>>>,
    /// The source's UIDVALIDITY is this mailbox's: UIDs may be kept.
    same_validity: bool,
    saved: Instant,
    /// Messages of the current FETCH written here, not ended yet (at most
    /// [`WORKERS`]), with their source UID.
    written: Vec<(AppendStream<'a>, Placement, u32)>,
    /// Messages of the current FETCH ended (blobs durable), waiting for
    /// the FETCH's commit.
    ended: Vec<(Prepared<'a>, Placement, u32)>,
}

/// Brings `folder` up to date; saves the state on the way out either way.
pub async fn sync(client: &mut Client, job: &Job, folder: &RemoteFolder) -> Result<(), Failure> {
    let selected = client.examine(&folder.wire).await?;
    let (mut run, exists) =
        tokio::task::block_in_place(|| start(job, folder, selected.uid_validity))
            .map(|run| (run, selected.exists))?;
    let result = copy(client, &mut run, exists).await;
    let saved = tokio::task::block_in_place(|| job.state.save(&run.path, &run.state));
    result?;
    saved?;
    job.totals.mailboxes.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn start<'a>(job: &'a Job, folder: &RemoteFolder, uid_validity: u32) -> crate::Result<Run<'a>> {
    let store = &job.store;
    let mailbox = ensure_mailbox(store, job.account, &folder.name)?;
    if let Some(special_use) = folder.special_use {
        store.set_special_use(job.account, mailbox, special_use)?;
    }
    let path = job
        .state
        .path(&job.address, &job.source.to_string(), &folder.name);
    let state = match job.state.load(&path)? {
        Some(s) if s.uid_validity == uid_validity => s,
        _ => FolderState::new(uid_validity),
    };
    let snapshot = store.snapshot(job.account, mailbox)?;
    let mut same_validity = snapshot.mailbox.uid_validity.0 == uid_validity;
    if !same_validity && snapshot.uid_next.0 == 1 && snapshot.entries.is_empty() {
        match store.set_uid_validity(job.account, mailbox, UidValidity(uid_validity)) {
            Ok(()) => same_validity = true,
            Err(StoreError::NotAllowed(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Run {
        job,
        mailbox,
        state,
        path,
        unrecorded: None,
        same_validity,
        saved: Instant::now(),
        written: Vec::new(),
        ended: Vec::new(),
    })
}

async fn copy(client: &mut Client, run: &mut Run<'_>, exists: u32) -> Result<(), Failure> {
    if exists == 0 {
        return Ok(());
    }
    let mut missing: Vec<Fetched> = Vec::new();
    client
        .uid_fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)", |f| {
            tokio::task::block_in_place(|| run.check(f, &mut missing))
        })
        .await?;
    let (large, small): (Vec<Fetched>, Vec<Fetched>) = missing
        .into_iter()
        .partition(|f| f.size.is_some_and(|s| s > STREAM_ABOVE));
    let small: Vec<u32> = small.into_iter().filter_map(|f| f.uid).collect();
    for batch in small.chunks(BATCH) {
        let set = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetched = client
            .uid_fetch(&set, "(UID FLAGS INTERNALDATE BODY.PEEK[])", |f| {
                tokio::task::block_in_place(|| run.take(f))
            })
            .await;
        // What arrived whole is committed even when the connection then
        // dropped: the next connection fetches only the rest.
        let committed = tokio::task::block_in_place(|| run.commit_taken());
        fetched?;
        committed?;
    }
    for f in large {
        run.stream(client, f).await?;
    }
    Ok(())
}

/// Flags as the store keeps them, from a FETCH's FLAGS.
pub fn store_flags(flags: &[String]) -> Flags {
    let mut out = Flags::default();
    for f in flags {
        let bit = match f.to_ascii_lowercase().as_str() {
            "\\seen" => Flags::SEEN,
            "\\answered" => Flags::ANSWERED,
            "\\flagged" => Flags::FLAGGED,
            "\\deleted" => Flags::DELETED,
            "\\draft" => Flags::DRAFT,
            _ if f.starts_with('\\') => continue,
            _ => {
                if !out.keywords.iter().any(|k| k.eq_ignore_ascii_case(f)) {
                    out.keywords.push(f.clone());
                }
                continue;
            }
        };
        out.system |= bit;
    }
    out
}

impl Run<'_> {
    /// Step 2 for one message.
    fn check(&mut self, f: Fetched, missing: &mut Vec<Fetched>) -> Result<(), Failure> {
        let Some(uid) = f.uid else {
            return Ok(());
        };
        let flags = store_flags(f.flags.as_deref().unwrap_or_default());
        let hash = flags_hash(&flags);
        let job = self.job;
        if let Some(c) = self.state.get(uid) {
            job.totals.already.fetch_add(1, Ordering::Relaxed);
            if c.flags != hash {
                self.apply_change(&c, &flags)?;
                self.state.record(uid, c.here, &flags);
                job.totals.flags_changed.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        if let (Some(size), Some(date)) = (f.size, f.date)
            && let Some(here) = self.take_unrecorded(size, date)?
        {
            self.state.record(uid, here, &flags);
            job.totals.already.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        missing.push(f);
        Ok(())
    }

    /// Applies a change of a message's flags at the source here: the
    /// flags added there are added, those removed there are removed, and
    /// whatever else changed here stays; replaced whole when the flags it
    /// had there are not known (see `state.rs`).
    fn apply_change(&self, c: &Copied, now: &Flags) -> Result<(), Failure> {
        let job = self.job;
        let here = [Uid(c.here)];
        let change = |op, flags: &Flags| {
            job.store
                .store_flags(job.account, self.mailbox, &here, op, flags, None)
                .map(drop)
                .map_err(|e| Failure::from(crate::ImportError::from(e)))
        };
        let Some(before) = self.state.flags_of(c) else {
            return change(FlagOp::Replace, now);
        };
        let missing_from = |a: &Flags, b: &Flags| Flags {
            system: a.system & !b.system,
            keywords: a
                .keywords
                .iter()
                .filter(|k| !b.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)))
                .cloned()
                .collect(),
        };
        let (added, removed) = (missing_from(now, &before), missing_from(&before, now));
        if added != Flags::default() {
            change(FlagOp::Add, &added)?;
        }
        if removed != Flags::default() {
            change(FlagOp::Remove, &removed)?;
        }
        Ok(())
    }

    /// A message here that no state records, of this size and date.
    fn take_unrecorded(&mut self, size: u32, date: i64) -> crate::Result<Option<u32>> {
        if self.unrecorded.is_none() {
            let job = self.job;
            let above = self.state.highest_here();
            let snapshot = job.store.snapshot(job.account, self.mailbox)?;
            let mut map: HashMap<(u32, i64), Vec<u32>> = HashMap::new();
            for e in snapshot.entries.iter().filter(|e| e.uid.0 > above) {
                if let Some(meta) = job.store.meta(job.account, self.mailbox, e.uid)? {
                    map.entry((e.size, meta.internal_date))
                        .or_default()
                        .push(e.uid.0);
                }
            }
            self.unrecorded = Some(map);
        }
        let map = self.unrecorded.as_mut().expect("built above");
        Ok(map.get_mut(&(size, date)).and_then(|v| v.pop()))
    }

    /// Step 3 for one large message (`f` from step 2), stored while it
    /// arrives.
    async fn stream(&mut self, client: &mut Client, f: Fetched) -> Result<(), Failure> {
        let Some(uid) = f.uid else {
            return Ok(());
        };
        let job = self.job;
        let store = &job.store;
        let mut w = tokio::task::block_in_place(|| store.append_stream(job.account))
            .map_err(crate::ImportError::from)?;
        let there = client
            .uid_fetch_body_to(uid, |piece| {
                tokio::task::block_in_place(|| w.write(piece)).map_err(|e| Failure::Fatal(e.into()))
            })
            .await?;
        if !there {
            // Expunged at the source meanwhile.
            return Ok(());
        }
        let flags = store_flags(f.flags.as_deref().unwrap_or_default());
        let keep = self.same_validity.then_some(Uid(uid));
        let size = w.size();
        let here = tokio::task::block_in_place(|| w.finish(self.mailbox, &flags, f.date, keep))
            .map_err(crate::ImportError::from)?
            .uid;
        tokio::task::block_in_place(|| {
            self.stored(uid, here, &flags, size as usize, keep == Some(here))
        })
    }

    /// Records a stored message in the state (saved now and then).
    fn stored(
        &mut self,
        source: u32,
        here: Uid,
        flags: &Flags,
        size: usize,
        kept: bool,
    ) -> Result<(), Failure> {
        let job = self.job;
        self.state.record(source, here.0, flags);
        job.totals.stored(size, kept);
        if self.saved.elapsed() >= SAVE_EVERY {
            job.state.save(&self.path, &self.state)?;
            self.saved = Instant::now();
        }
        Ok(())
    }

    /// Step 3 for one message of a FETCH: written here at once (its body
    /// is dropped), ended [`WORKERS`] at a time, committed with the rest
    /// of its FETCH ([`Run::commit_taken`]).
    fn take(&mut self, f: Fetched) -> Result<(), Failure> {
        let (Some(uid), Some(raw)) = (f.uid, f.body) else {
            return Ok(());
        };
        let job = self.job;
        let fatal = |e: StoreError| Failure::from(crate::ImportError::from(e));
        let mut w = job.store.append_stream(job.account).map_err(fatal)?;
        w.write(&raw).map_err(fatal)?;
        drop(raw);
        let placement = Placement {
            flags: store_flags(f.flags.as_deref().unwrap_or_default()),
            internal_date: f.date,
            keep_uid: self.same_validity.then_some(Uid(uid)),
        };
        self.written.push((w, placement, uid));
        if self.written.len() >= WORKERS {
            self.end_written()?;
        }
        // A backend may hold a prepared message's sealed octets until its
        // commit (PostgreSQL, under a MiB): a FETCH of large ones is
        // committed in parts.
        let held: u64 = self.ended.iter().map(|(p, _, _)| p.size()).sum();
        if held >= COMMIT_OCTETS {
            self.commit_taken()?;
        }
        Ok(())
    }

    /// Ends the messages written (their summaries made, their blobs made
    /// durable), each on a thread of its own, so their fsyncs overlap.
    fn end_written(&mut self) -> Result<(), Failure> {
        let written = std::mem::take(&mut self.written);
        let ended: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = written
                .into_iter()
                .map(|(w, placement, uid)| {
                    scope.spawn(move || w.prepare().map(|p| (p, placement, uid)))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or(Err(StoreError::NotAllowed("ending a message panicked")))
                })
                .collect()
        });
        for e in ended {
            self.ended.push(e.map_err(crate::ImportError::from)?);
        }
        Ok(())
    }

    /// Commits the messages a FETCH brought, in its order, in one
    /// transaction (all or none), then records them in the state (saved
    /// now and then): a run stopped before the state is saved finds them
    /// here by size and date next time ([`Run::take_unrecorded`]).
    fn commit_taken(&mut self) -> Result<(), Failure> {
        let ended = self.end_written();
        let taken = std::mem::take(&mut self.ended);
        ended?;
        if taken.is_empty() {
            return Ok(());
        }
        let job = self.job;
        let mut batch = Vec::with_capacity(taken.len());
        let mut sources = Vec::with_capacity(taken.len());
        for (prepared, placement, uid) in taken {
            sources.push((
                uid,
                placement.flags.clone(),
                placement.keep_uid,
                prepared.size(),
            ));
            batch.push((prepared, placement));
        }
        let appended = job
            .store
            .commit_prepared(self.mailbox, batch)
            .map_err(crate::ImportError::from)?;
        for ((uid, flags, keep, size), a) in sources.into_iter().zip(appended) {
            self.stored(uid, a.uid, &flags, size as usize, keep == Some(a.uid))?;
        }
        Ok(())
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Connection(m) => Failure::Connection(m),
            ClientError::Refused(m) => Failure::Fatal(crate::ImportError::Imap(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_flags_become_store_flags() {
        let f = store_flags(&[
            "\\Seen".into(),
            "\\Recent".into(),
            "$Forwarded".into(),
            "\\FLAGGED".into(),
            "$forwarded".into(),
        ]);
        assert_eq!(f.system, Flags::SEEN | Flags::FLAGGED);
        assert_eq!(f.keywords, ["$Forwarded"]);
    }
}
