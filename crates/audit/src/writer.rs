//! [`AuditLog`]: the handle every crate records through, and the writer
//! thread behind it that chains, flushes, rotates and seals segments.
//!
//! `record` is a channel send: the thread stamps, commits personal fields,
//! hashes and appends. The open segment is written to the kernel and
//! fdatasynced at least once a second; `record_durable` and `flush` wait for
//! an fdatasync. A segment is sealed when it reaches `segment_max_bytes`,
//! when it is `segment_max_age_secs` old, on [`AuditLog::close`], when the
//! last handle is dropped, and when the retention worker needs its records
//! sealed before anonymizing them ([`AuditLog::seal_if_older_than`]). A new
//! segment file is created with its first record.

use crate::error::AuditError;
use crate::format::{self, PiiLine, Seal};
use crate::recover::{self, ChainState, RecoveredTail};
use crate::{Event, keys};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use sealpost_config::AuditConfig;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

enum Msg {
    Event(Event),
    Durable(Event, mpsc::SyncSender<Result<(), String>>),
    Flush(mpsc::SyncSender<()>),
    /// Seal the open segment if its first record is older than this (Unix ms).
    SealBefore(i64, mpsc::SyncSender<Result<(), String>>),
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
/// The open segment reaches the disk at least this often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl AuditLog {
    /// Opens (creating) the log under `dir`, loads or generates the signing
    /// key (0600) at `signing_key`, seals a tail a crash left unsealed, and
    /// starts the writer thread. Only one process may write a log: a second
    /// `open` fails with [`AuditError::Locked`].
    pub fn open(
        dir: &Path,
        signing_key: &Path,
        config: &AuditConfig,
    ) -> Result<AuditLog, AuditError> {
        sealpost_durable::create_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        let lock = lock(dir)?;
        let key = keys::load_or_generate(signing_key)?;
        let public = keys::format_public_key(&key.verifying_key()) + "\n";
        let pub_path = dir.join(format::PUBKEY_FILE);
        if std::fs::read(&pub_path).ok().as_deref() != Some(public.as_bytes()) {
            format::write_atomic(&pub_path, public.as_bytes())?;
        }
        let (state, recovered) = recover::recover(dir, &key)?;
        let writer = Writer {
            dir: dir.to_path_buf(),
            key,
            max_bytes: config.segment_max_bytes.max(1),
            max_age: Duration::from_secs(config.segment_max_age_secs.max(1)),
            state,
            open: None,
            last_time_ms: i64::MIN,
            failed: None,
            _lock: lock,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(writer, rx))
            .map_err(|e| AuditError::io(dir, e))?;
        let log = AuditLog {
            inner: Some(Arc::new(Inner { tx })),
            recovered: recovered.map(Arc::new),
        };
        if let Some(tail) = &log.recovered {
            log.record(Event::AuditTailRecovered {
                segment: tail.segment.clone(),
                records: tail.records,
                torn_bytes: tail.torn_bytes,
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

    /// Records an event without waiting for the disk (a channel send).
    pub fn record(&self, event: Event) {
        if let Some(inner) = &self.inner {
            let _ = inner.tx.send(Msg::Event(event));
        }
    }

    /// Records an event and returns once it (and everything before it) is fsynced.
    pub fn record_durable(&self, event: Event) -> Result<(), AuditError> {
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

    /// Waits until everything recorded so far is written and fsynced.
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
    seg: BufWriter<File>,
    pii: BufWriter<File>,
    first_seq: u64,
    start_hash: [u8; 32],
    records: u64,
    bytes: u64,
    first_time_ms: Option<i64>,
    last_time_ms: Option<i64>,
    opened: Instant,
    dirty: bool,
    last_sync: Instant,
}

struct Writer {
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
    _lock: File,
}

fn run(mut w: Writer, rx: mpsc::Receiver<Msg>) {
    let mut closing = None;
    loop {
        let timeout = match &w.open {
            Some(s) if s.dirty => FLUSH_EVERY.saturating_sub(s.last_sync.elapsed()),
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
                let r = w.append(e).and_then(|_| w.sync());
                if let Err(err) = &r {
                    w.fail(err.clone());
                }
                let _ = done.send(r);
            }
            Ok(Msg::Flush(done)) => {
                if let Err(err) = w.sync() {
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
    drop(w);
    if let Some(done) = closing {
        let _ = done.send(r);
    }
}

impl Writer {
    fn fail(&mut self, err: String) {
        if self.failed.is_none() {
            tracing::error!(error = %err, "audit log write failed; recording stops until restart");
            self.failed = Some(err);
        }
    }

    /// Periodic work: the one-second flush and the age limit.
    fn tick(&mut self) -> Result<(), String> {
        let Some(s) = &self.open else { return Ok(()) };
        if s.opened.elapsed() >= self.max_age {
            return self.seal();
        }
        if s.dirty && s.last_sync.elapsed() >= FLUSH_EVERY {
            return self.sync();
        }
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
        let s = self.open.as_mut().expect("opened above");
        let seg_name = format::seg_name(s.number);
        if !fields.is_empty() {
            let pii = PiiLine {
                seq,
                time_ms: now,
                fields,
            };
            let mut bytes = serde_json::to_vec(&pii).map_err(|e| e.to_string())?;
            bytes.push(b'\n');
            s.pii
                .write_all(&bytes)
                .map_err(|e| format!("{}: {e}", format::pii_name(s.number)))?;
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
        if s.bytes >= self.max_bytes {
            self.seal()?;
        }
        Ok(())
    }

    fn create_segment(&mut self) -> Result<OpenSegment, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let n = self.state.next_segment;
        let open = |name: String| {
            let path = self.dir.join(&name);
            std::fs::OpenOptions::new()
                .append(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("{name}: {e}"))
        };
        let seg = open(format::seg_name(n))?;
        let pii = open(format::pii_name(n))?;
        format::sync_dir(&self.dir).map_err(|e| e.to_string())?;
        Ok(OpenSegment {
            number: n,
            seg: BufWriter::with_capacity(64 * 1024, seg),
            pii: BufWriter::with_capacity(16 * 1024, pii),
            first_seq: self.state.next_seq,
            start_hash: self.state.prev_hash,
            records: 0,
            bytes: 0,
            first_time_ms: None,
            last_time_ms: None,
            opened: Instant::now(),
            dirty: false,
            last_sync: Instant::now(),
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
                .map_err(|e| format!("{}: {e}", format::pii_name(s.number)))?;
            s.seg
                .flush()
                .and_then(|_| s.seg.get_ref().sync_data())
                .map_err(|e| format!("{}: {e}", format::seg_name(s.number)))?;
            s.dirty = false;
        }
        s.last_sync = Instant::now();
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
        let mut seal = Seal {
            version: 1,
            segment: s.number,
            first_seq: s.first_seq,
            records: s.records,
            bytes: s.bytes,
            first_time_ms: s.first_time_ms,
            last_time_ms: s.last_time_ms,
            prev_hash: hex::encode(s.start_hash),
            last_hash: hex::encode(self.state.prev_hash),
            prev_seal: hex::encode(self.state.prev_seal),
            after_crash: false,
            signature: String::new(),
        };
        seal.sign(&self.key);
        format::write_atomic(
            &self.dir.join(format::seal_name(s.number)),
            &seal.to_bytes(),
        )
        .map_err(|e| e.to_string())?;
        self.state.prev_seal = seal.seal_hash();
        self.state.next_segment = s.number + 1;
        Ok(())
    }
}

/// Serializes an event with each personal field replaced by a commitment
/// `"c:<hex SHA-256(salt || value)>"`; returns the JSON object and the
/// (commitment, salt, value) triples for the side file. Text fields are cut to
/// [`format::MAX_FIELD_BYTES`] first.
pub(crate) fn commit_personal(event: &Event) -> (String, Vec<(String, String, String)>) {
    let mut value = serde_json::to_value(event).expect("events serialize");
    let mut fields = Vec::new();
    let personal = event.personal_fields();
    let mut rng = rand::thread_rng();
    let mut commit = |s: &mut String| {
        format::clip(s);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let c = hex::encode(format::commitment(&salt, s));
        fields.push((c.clone(), hex::encode(salt), std::mem::take(s)));
        *s = format!("{}{c}", format::COMMIT_PREFIX);
    };
    if let serde_json::Value::Object(map) = &mut value {
        let mut omitted = Vec::new();
        for (k, v) in map.iter_mut() {
            if let serde_json::Value::Array(items) = v
                && items.len() > format::MAX_LIST_ITEMS
            {
                omitted.push((format!("{k}_omitted"), items.len() - format::MAX_LIST_ITEMS));
                items.truncate(format::MAX_LIST_ITEMS);
            }
        }
        for (k, n) in omitted {
            map.insert(k, n.into());
        }
        for (k, v) in map.iter_mut() {
            let is_personal = personal.contains(&k.as_str());
            match v {
                serde_json::Value::String(s) if is_personal => commit(s),
                serde_json::Value::String(s) => format::clip(s),
                serde_json::Value::Array(items) => {
                    for item in items {
                        if let serde_json::Value::String(s) = item {
                            if is_personal {
                                commit(s)
                            } else {
                                format::clip(s)
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (value.to_string(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoginOutcome, Protocol};

    #[test]
    fn personal_fields_become_commitments() {
        let event = Event::MessageAccepted {
            protocol: Protocol::Submission,
            id: "q1".into(),
            message_id: None,
            sender: "s@example.org".into(),
            recipients: vec!["r1@example.org".into(), "r2@example.org".into()],
            size: 10,
            remote: "192.0.2.1:465".into(),
            account: Some("s@example.org".into()),
        };
        let (json, fields) = commit_personal(&event);
        assert!(
            !json.contains("example.org") && !json.contains("192.0.2.1"),
            "{json}"
        );
        assert!(
            json.contains("\"message_id\":null") && json.contains("\"id\":\"q1\""),
            "{json}"
        );
        assert_eq!(fields.len(), 5);
        for (c, salt, value) in &fields {
            assert!(json.contains(&format!("\"c:{c}\"")));
            let salt = hex::decode(salt).unwrap();
            assert_eq!(salt.len(), 16);
            assert_eq!(hex::encode(format::commitment(&salt, value)), *c);
        }
        // The same value twice gets two unlinkable commitments.
        assert_ne!(fields[0].0, fields[4].0);
        assert_eq!(fields[0].2, fields[4].2);
    }

    #[test]
    fn over_long_fields_and_lists_are_bounded() {
        let event = Event::MessageQueued {
            id: "x".repeat(100_000),
            recipients: (0..5000).map(|i| format!("r{i}@example.org")).collect(),
        };
        let (json, fields) = commit_personal(&event);
        assert_eq!(fields.len(), format::MAX_LIST_ITEMS);
        assert!(
            json.contains("\"recipients_omitted\":4000"),
            "omitted count"
        );
        let line = format::encode_line(1, 2, &format::GENESIS, &json);
        assert!(line.len() <= format::MAX_LINE_BYTES);
        assert!(format::parse_head(&line).is_ok());
    }

    #[test]
    fn reload_errors_are_committed_they_may_quote_addresses() {
        let (json, fields) = commit_personal(&Event::ConfigReloaded {
            ok: false,
            error: Some("accounts.toml:3:1: domain of x@example.org is not hosted".into()),
        });
        assert!(
            !json.contains("example.org") && json.contains("\"ok\":false"),
            "{json}"
        );
        assert_eq!(fields.len(), 1);
        let (json, fields) = commit_personal(&Event::ConfigReloaded {
            ok: true,
            error: None,
        });
        assert!(
            json.contains("\"error\":null") && fields.is_empty(),
            "{json}"
        );
    }

    #[test]
    fn non_personal_events_have_no_side_entries() {
        let (json, fields) = commit_personal(&Event::ServerStopped);
        assert_eq!(json, r#"{"event":"server_stopped"}"#);
        assert!(fields.is_empty());
        let (_, fields) = commit_personal(&Event::Login {
            protocol: Protocol::Imap,
            account: "a".into(),
            remote: "b".into(),
            tls: None,
            outcome: LoginOutcome::Success,
        });
        assert_eq!(fields.len(), 2);
    }
}
