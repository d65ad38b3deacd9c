//! [`AuditLog`]: the handle every crate records through, and the writer
//! thread behind it that chains, attests, rotates and seals segments.
//!
//! `record` is a channel send: the thread stamps, commits personal fields
//! (`commit`), seals them under the month's key (`pii`), hashes and
//! appends. While records arrive, the open segment is fdatasynced and a
//! signed checkpoint of the chain is written (`attest`) and sent to the
//! witness (`witness`) at least once a second; `record_durable` and `flush`
//! return once their records are fdatasynced and attested. A segment is
//! sealed when it reaches `segment_max_bytes`, when it is
//! `segment_max_age_secs` old, on [`AuditLog::close`], when the last handle
//! is dropped, when the retention worker needs its records sealed before
//! anonymizing them ([`AuditLog::seal_if_older_than`]), and before a purged
//! account's records are erased ([`AuditLog::erase_personal_data`]). A new
//! segment file is created with its first record.

use crate::attest::Attestation;
use crate::commit::commit_personal;
use crate::error::AuditError;
use crate::format::{self, Seal, SealKind};
use crate::health::{AuditHealth, Status};
use crate::names::{self, SegmentName};
use crate::pii::{self, EraseReport, MonthKeys};
use crate::recover::{self, ChainState, RecoveredTail};
use crate::witness::{Sink, WitnessEntry};
use crate::{Event, keys};
use ed25519_dalek::SigningKey;
use sealpost_config::AuditConfig;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

enum Msg {
    Event(Event),
    Durable(Event, mpsc::SyncSender<Result<(), String>>),
    Flush(mpsc::SyncSender<()>),
    /// Seal the open segment if its first record is older than this (Unix ms).
    SealBefore(i64, mpsc::SyncSender<Result<(), String>>),
    /// Seal, then erase the records naming these addresses.
    Erase(Vec<String>, mpsc::SyncSender<Result<EraseReport, String>>),
    Close(mpsc::SyncSender<Result<(), String>>),
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// Handle to the audit log. Cheap to clone; a disabled one drops events.
/// Dropping the last clone closes the log like [`AuditLog::close`] (and
/// waits for the seal), so short-lived CLI uses leave no unsealed tail.
#[derive(Clone, Debug)]
pub struct AuditLog {
    inner: Option<Arc<Inner>>,
    recovered: Option<Arc<RecoveredTail>>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<Msg>,
    status: Arc<Status>,
}

impl Inner {
    /// Asks the writer to seal and stop; waits until it has (or is gone).
    fn close(&self) -> Result<(), String> {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Close(done_tx)).is_err() {
            return Ok(());
        }
        done_rx.recv().unwrap_or(Ok(()))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// How long `open` waits for a writer of the same process that is still
/// sealing (its last handle was just dropped) to let go of the lock.
const LOCK_WAIT: Duration = Duration::from_secs(3);
/// While records arrive, the open segment reaches the disk and a signed
/// checkpoint covers it at least this often.
const ATTEST_EVERY: Duration = Duration::from_secs(1);

impl AuditLog {
    /// Opens (creating) the log under `dir`, loads or generates the signing
    /// key (0600) at `signing_key`, opens the month keys under
    /// `config.master_key` and the witness `config.witness`, seals a tail a
    /// crash left unsealed (its unattested records as such), seals side
    /// files an earlier version wrote in plaintext, and starts the writer
    /// thread. Only one process may write a log: a second `open` fails with
    /// [`AuditError::Locked`].
    pub fn open(
        dir: &Path,
        signing_key: &Path,
        config: &AuditConfig,
    ) -> Result<AuditLog, AuditError> {
        Self::open_as(dir, signing_key, config, None)
    }

    /// As [`AuditLog::open`], naming new segments with `node`, the id of
    /// the node writing (see `names`; every node of a cluster keeps its own
    /// log, and `verify`/`export` of several folders name each by it). A
    /// log whose names already carry another node id keeps that one (the
    /// folder is one log; a warning says so).
    pub fn open_node(
        dir: &Path,
        signing_key: &Path,
        config: &AuditConfig,
        node: &str,
    ) -> Result<AuditLog, AuditError> {
        names::check_node(node).map_err(|e| AuditError::io(dir, e))?;
        Self::open_as(dir, signing_key, config, Some(node))
    }

    fn open_as(
        dir: &Path,
        signing_key: &Path,
        config: &AuditConfig,
        node: Option<&str>,
    ) -> Result<AuditLog, AuditError> {
        sealpost_durable::create_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        let lock = lock(dir)?;
        let key = keys::load_or_generate(signing_key)?;
        let public = keys::format_public_key(&key.verifying_key()) + "\n";
        let pub_path = dir.join(format::PUBKEY_FILE);
        if std::fs::read(&pub_path).ok().as_deref() != Some(public.as_bytes()) {
            format::write_atomic(&pub_path, public.as_bytes())?;
        }
        let mut month_keys = MonthKeys::open(dir, &config.master_key)?;
        let witness = Sink::open(&config.witness)?;
        let (state, recovered) = recover::recover(dir, &key)?;
        pii::migrate_plaintext(dir, &mut month_keys)?;
        pii::collect_old_versions(dir, &mut month_keys)?;
        let node = names::writer_node(dir, node)?;
        let status = Arc::new(Status::default());
        let mut writer = Writer {
            status: status.clone(),
            dir: dir.to_path_buf(),
            key,
            max_bytes: config.segment_max_bytes.max(1),
            max_age: Duration::from_secs(config.segment_max_age_secs.max(1)),
            state,
            open: None,
            last_time_ms: i64::MIN,
            failed: None,
            keys: month_keys,
            witness,
            witness_failed: false,
            node,
            _lock: lock,
        };
        if recovered.is_some() {
            // The recovered seal is a checkpoint too.
            writer.witness_state();
        }
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(writer, rx))
            .map_err(|e| AuditError::io(dir, e))?;
        let log = AuditLog {
            inner: Some(Arc::new(Inner { tx, status })),
            recovered: recovered.map(Arc::new),
        };
        if let Some(tail) = &log.recovered {
            log.record(Event::AuditTailRecovered {
                segment: tail.segment.clone(),
                records: tail.records,
                torn_bytes: tail.torn_bytes,
                unattested: tail.unattested,
            });
        }
        Ok(log)
    }

    /// A log that records nothing (unit tests of other crates).
    pub fn disabled() -> AuditLog {
        AuditLog {
            inner: None,
            recovered: None,
        }
    }

    /// The segment a crash had left unsealed, if `open` found and sealed one.
    pub fn recovered_tail(&self) -> Option<&RecoveredTail> {
        self.recovered.as_deref()
    }

    /// The writer's health; `None` for a disabled log.
    pub fn health(&self) -> Option<AuditHealth> {
        Some(self.inner.as_ref()?.status.health())
    }

    /// Records an event without waiting for the disk (a channel send).
    /// Every event also gets its operational log line (see `oplog`).
    pub fn record(&self, event: Event) {
        crate::oplog::emit(&event, self.inner.is_some());
        if let Some(inner) = &self.inner {
            let _ = inner.tx.send(Msg::Event(event));
        }
    }

    /// Records an event and returns once it (and everything before it) is
    /// fdatasynced and covered by a signed checkpoint.
    pub fn record_durable(&self, event: Event) -> Result<(), AuditError> {
        crate::oplog::emit(&event, self.inner.is_some());
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        inner
            .tx
            .send(Msg::Durable(event, done_tx))
            .map_err(|_| AuditError::Closed)?;
        match done_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(AuditError::Io {
                path: PathBuf::from("audit"),
                message,
            }),
            Err(_) => Err(AuditError::Closed),
        }
    }

    /// Waits until everything recorded so far is written, fdatasynced and
    /// covered by a signed checkpoint.
    pub fn flush(&self) {
        if let Some(inner) = &self.inner {
            let (done_tx, done_rx) = mpsc::sync_channel(1);
            if inner.tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
        }
    }

    /// Seals the open segment now if its first record is older than
    /// `cutoff_unix` (seconds), so that [`crate::anonymize_before`], which
    /// only touches sealed segments, reaches every record before the cutoff.
    /// The next record starts a new segment. Returns once the seal is written.
    pub fn seal_if_older_than(&self, cutoff_unix: i64) -> Result<(), AuditError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        inner
            .tx
            .send(Msg::SealBefore(cutoff_unix.saturating_mul(1000), done_tx))
            .map_err(|_| AuditError::Closed)?;
        match done_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(AuditError::Io {
                path: PathBuf::from("audit"),
                message,
            }),
            Err(_) => Err(AuditError::Closed),
        }
    }

    /// Erases every personal field of every record naming one of
    /// `addresses` (an account being purged: its address and aliases),
    /// as anonymization erases them: the open segment is sealed first, the
    /// matching side lines are removed, and the months they belonged to get
    /// a new key, their old keys destroyed (see `pii`). Seals stay valid.
    /// Returns once done.
    pub fn erase_personal_data(&self, addresses: &[String]) -> Result<EraseReport, AuditError> {
        let Some(inner) = &self.inner else {
            return Ok(EraseReport::default());
        };
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        inner
            .tx
            .send(Msg::Erase(addresses.to_vec(), done_tx))
            .map_err(|_| AuditError::Closed)?;
        match done_rx.recv() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(message)) => Err(AuditError::Io {
                path: PathBuf::from("audit"),
                message,
            }),
            Err(_) => Err(AuditError::Closed),
        }
    }

    /// Writes everything recorded so far, seals the open segment and stops
    /// the writer (graceful shutdown). Events recorded afterwards through any
    /// clone are dropped. Calling it again is harmless.
    pub fn close(&self) -> Result<(), AuditError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        inner.close().map_err(|message| AuditError::Io {
            path: PathBuf::from("audit"),
            message,
        })
    }
}

fn lock(dir: &Path) -> Result<File, AuditError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format::LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| AuditError::io(&path, e))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => return Ok(file),
            Ok(false) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(false) => return Err(AuditError::Locked(dir.to_path_buf())),
            Err(e) => return Err(AuditError::io(&path, e)),
        }
    }
}

struct OpenSegment {
    number: u64,
    name: SegmentName,
    seg: BufWriter<File>,
    pii: BufWriter<File>,
    att: File,
    first_seq: u64,
    start_hash: [u8; 32],
    records: u64,
    bytes: u64,
    first_time_ms: Option<i64>,
    last_time_ms: Option<i64>,
    opened: Instant,
    dirty: bool,
    /// Records of the chain covered by the last checkpoint.
    attested: u64,
    last_attest: Instant,
}

struct Writer {
    status: Arc<Status>,
    dir: PathBuf,
    key: SigningKey,
    max_bytes: u64,
    max_age: Duration,
    state: ChainState,
    open: Option<OpenSegment>,
    last_time_ms: i64,
    /// Set after an I/O error: the segment's tail is in an unknown state, so
    /// nothing more is appended; the next start seals it as recovered.
    failed: Option<String>,
    /// The month keys personal fields are sealed under.
    keys: MonthKeys,
    witness: Sink,
    /// Whether a witness failure was logged (once, until it works again).
    witness_failed: bool,
    /// The node id new segments are named with (see `names`).
    node: Option<String>,
    _lock: File,
}

fn run(mut w: Writer, rx: mpsc::Receiver<Msg>) {
    let mut closing = None;
    loop {
        let timeout = match &w.open {
            Some(s) if s.attested < w.state.next_seq => {
                ATTEST_EVERY.saturating_sub(s.last_attest.elapsed())
            }
            Some(s) => w.max_age.saturating_sub(s.opened.elapsed()),
            None => Duration::from_secs(3600),
        };
        match rx.recv_timeout(timeout.max(Duration::from_millis(1))) {
            Ok(Msg::Event(e)) => {
                if let Err(err) = w.append(e) {
                    w.fail(err);
                }
            }
            Ok(Msg::Durable(e, done)) => {
                let r = w.append(e).and_then(|_| w.attest());
                if let Err(err) = &r {
                    w.fail(err.clone());
                }
                let _ = done.send(r);
            }
            Ok(Msg::Flush(done)) => {
                if let Err(err) = w.attest() {
                    w.fail(err);
                }
                let _ = done.send(());
            }
            Ok(Msg::SealBefore(cutoff_ms, done)) => {
                let old = w
                    .open
                    .as_ref()
                    .and_then(|s| s.first_time_ms)
                    .is_some_and(|t| t < cutoff_ms);
                let r = if old { w.seal() } else { Ok(()) };
                let r = match (&w.failed, r) {
                    (Some(err), _) => Err(err.clone()),
                    (None, r) => r,
                };
                if let Err(err) = &r {
                    w.fail(err.clone());
                }
                let _ = done.send(r);
            }
            Ok(Msg::Erase(addresses, done)) => {
                let r = match &w.failed {
                    Some(err) => Err(err.clone()),
                    None => w.seal().and_then(|_| {
                        pii::erase_matching(&w.dir, &mut w.keys, &addresses)
                            .map_err(|e| e.to_string())
                    }),
                };
                let _ = done.send(r);
            }
            Ok(Msg::Close(done)) => {
                closing = Some(done);
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Err(err) = w.tick() {
            w.fail(err);
        }
    }
    let r = w.seal();
    if let Err(err) = &r {
        tracing::error!(error = %err, "could not seal the audit segment at close");
    }
    w.status.stopped.store(true, Ordering::Relaxed);
    drop(w);
    if let Some(done) = closing {
        let _ = done.send(r);
    }
}

impl Writer {
    fn fail(&mut self, err: String) {
        if self.failed.is_none() {
            tracing::error!(error = %err, "audit log write failed; recording stops until restart");
            self.status.failed.store(true, Ordering::Relaxed);
            self.failed = Some(err);
        }
    }

    /// Periodic work: the one-second checkpoint and the age limit.
    fn tick(&mut self) -> Result<(), String> {
        let Some(s) = &self.open else { return Ok(()) };
        if s.opened.elapsed() >= self.max_age {
            return self.seal();
        }
        if s.attested < self.state.next_seq && s.last_attest.elapsed() >= ATTEST_EVERY {
            return self.attest();
        }
        Ok(())
    }

    /// Sends where the chain stands to the witness. A witness that fails is
    /// logged (once until it works again), not fatal: the log itself goes on.
    fn witness_state(&mut self) {
        let entry = WitnessEntry {
            time_ms: chrono::Utc::now().timestamp_millis().max(self.last_time_ms),
            segment: self
                .state
                .next_segment
                .saturating_sub(u64::from(self.open.is_none())),
            records: self.state.next_seq,
            head: self.state.prev_hash,
        };
        let entry = match &self.open {
            Some(s) => WitnessEntry {
                segment: s.number,
                ..entry
            },
            None => entry,
        };
        match self.witness.send(&entry) {
            Ok(()) => self.witness_failed = false,
            Err(e) if !self.witness_failed => {
                tracing::error!(error = %e, "the audit witness cannot be written; removal of the newest records would go undetected until it works again");
                self.witness_failed = true;
            }
            Err(_) => {}
        }
    }

    /// fdatasyncs the open segment, then signs a checkpoint of the chain
    /// (if records came since the last), appends it to the segment's
    /// attestation file (fdatasynced) and tells the witness.
    fn attest(&mut self) -> Result<(), String> {
        self.sync()?;
        let Some(s) = &mut self.open else {
            return Ok(());
        };
        if s.attested == self.state.next_seq {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp_millis().max(self.last_time_ms);
        let a = Attestation::new(
            &self.key,
            s.number,
            self.state.next_seq,
            &self.state.prev_hash,
            now,
        );
        s.att
            .write_all(&a.to_line())
            .and_then(|_| s.att.sync_data())
            .map_err(|e| format!("{}: {e}", s.name.att()))?;
        s.attested = self.state.next_seq;
        s.last_attest = Instant::now();
        self.status.attested(now);
        self.witness_state();
        Ok(())
    }

    fn append(&mut self, event: Event) -> Result<(), String> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let now = chrono::Utc::now().timestamp_millis().max(self.last_time_ms);
        self.last_time_ms = now;
        if self.open.is_none() {
            self.open = Some(self.create_segment()?);
        }
        let seq = self.state.next_seq;
        let (event_json, fields) = commit_personal(&event);
        let line = format::encode_line(seq, now, &self.state.prev_hash, &event_json);
        let sealed_pii = if fields.is_empty() {
            None
        } else {
            Some(
                self.keys
                    .seal_line(seq, now, &fields)
                    .map_err(|e| e.to_string())?,
            )
        };
        let s = self.open.as_mut().expect("opened above");
        let seg_name = s.name.seg();
        if let Some(bytes) = sealed_pii {
            s.pii
                .write_all(&bytes)
                .map_err(|e| format!("{}: {e}", s.name.pii()))?;
        }
        // A side line reaches the file before its record line (readers
        // rely on it): flush the side file first when the segment's
        // buffer is about to spill.
        if s.seg.buffer().len() + line.len() + 1 > s.seg.capacity() {
            s.pii
                .flush()
                .map_err(|e| format!("{}: {e}", s.name.pii()))?;
        }
        s.seg
            .write_all(&line)
            .and_then(|_| s.seg.write_all(b"\n"))
            .map_err(|e| format!("{seg_name}: {e}"))?;
        self.state.prev_hash = format::sha256(&line);
        self.state.next_seq += 1;
        s.records += 1;
        s.bytes += line.len() as u64 + 1;
        s.first_time_ms.get_or_insert(now);
        s.last_time_ms = Some(now);
        s.dirty = true;
        let _ = self.status.oldest_unattested_ms.compare_exchange(
            0,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if s.bytes >= self.max_bytes {
            self.seal()?;
        }
        Ok(())
    }

    fn create_segment(&mut self) -> Result<OpenSegment, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let n = self.state.next_segment;
        let name = SegmentName::new(n, self.node.as_deref());
        let open = |name: String| {
            let path = self.dir.join(&name);
            std::fs::OpenOptions::new()
                .append(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("{name}: {e}"))
        };
        let seg = open(name.seg())?;
        let pii = open(name.pii())?;
        let att = open(name.att())?;
        format::sync_dir(&self.dir).map_err(|e| e.to_string())?;
        Ok(OpenSegment {
            number: n,
            name,
            seg: BufWriter::with_capacity(64 * 1024, seg),
            pii: BufWriter::with_capacity(16 * 1024, pii),
            att,
            first_seq: self.state.next_seq,
            start_hash: self.state.prev_hash,
            records: 0,
            bytes: 0,
            first_time_ms: None,
            last_time_ms: None,
            opened: Instant::now(),
            dirty: false,
            attested: self.state.next_seq,
            last_attest: Instant::now(),
        })
    }

    /// Writes and fdatasyncs the open segment and its side file.
    fn sync(&mut self) -> Result<(), String> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let Some(s) = &mut self.open else {
            return Ok(());
        };
        if s.dirty {
            s.pii
                .flush()
                .and_then(|_| s.pii.get_ref().sync_data())
                .map_err(|e| format!("{}: {e}", s.name.pii()))?;
            s.seg
                .flush()
                .and_then(|_| s.seg.get_ref().sync_data())
                .map_err(|e| format!("{}: {e}", s.name.seg()))?;
            s.dirty = false;
        }
        Ok(())
    }

    /// Seals the open segment (if any): sync, sign, write the seal file.
    fn seal(&mut self) -> Result<(), String> {
        if self.failed.is_some() {
            return Ok(());
        }
        self.sync()?;
        let Some(s) = self.open.take() else {
            return Ok(());
        };
        let mut seal = Seal::v2(
            s.number,
            s.first_seq,
            s.records,
            s.bytes,
            (s.first_time_ms, s.last_time_ms),
            &s.start_hash,
            &self.state.prev_hash,
            &self.state.prev_seal,
            SealKind::Closed,
            s.records,
            s.records,
            0,
        );
        seal.sign(&self.key);
        format::write_atomic(&self.dir.join(s.name.seal()), &seal.to_bytes())
            .map_err(|e| e.to_string())?;
        // The seal supersedes the segment's checkpoints.
        drop(s.att);
        let att = self.dir.join(s.name.att());
        match std::fs::remove_file(&att) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %att.display(), error = %e, "could not remove a sealed segment's checkpoints");
            }
            _ => {}
        }
        let witnessed = s.attested == self.state.next_seq;
        self.status
            .attested(chrono::Utc::now().timestamp_millis().max(self.last_time_ms));
        self.state.prev_seal = seal.seal_hash();
        self.state.next_segment = s.number + 1;
        if !witnessed {
            self.witness_state();
        }
        Ok(())
    }
}
