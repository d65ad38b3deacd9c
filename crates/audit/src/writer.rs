//! The writer thread behind [`AuditLog`].

use crate::{Event, Record};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Why the audit log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// I/O on the log failed.
    #[error("audit log {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The writer has stopped.
    #[error("audit log is closed")]
    Closed,
}

enum Msg {
    Event(Event),
    Durable(Event, mpsc::SyncSender<Result<(), String>>),
    Flush(mpsc::SyncSender<()>),
}

/// Handle to the audit log. Cheap to clone; a disabled one drops events.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Msg>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl AuditLog {
    /// Opens (creating) the log under `dir` and starts its writer thread.
    pub fn open(dir: &Path) -> Result<AuditLog, AuditError> {
        let io = |path: &Path, e: std::io::Error| AuditError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io(dir, e))?;
        }
        let path = dir.join("events.jsonl");
        let next_seq = match File::open(&path) {
            Ok(f) => BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| serde_json::from_str::<Record>(&l).ok())
                .last()
                .map_or(0, |r| r.seq + 1),
            Err(_) => 0,
        };
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .mode(0o600)
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(file, rx, next_seq))
            .map_err(|e| io(dir, e))?;
        Ok(AuditLog { tx: Some(tx) })
    }

    /// A log that records nothing (unit tests of other crates).
    pub fn disabled() -> AuditLog {
        AuditLog { tx: None }
    }

    /// Records an event without waiting for the disk.
    pub fn record(&self, event: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Event(event));
        }
    }

    /// Records an event and returns once it (and everything before it) is fsynced.
    pub fn record_durable(&self, event: Event) -> Result<(), AuditError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        tx.send(Msg::Durable(event, done_tx))
            .map_err(|_| AuditError::Closed)?;
        match done_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(AuditError::Io {
                path: PathBuf::from("events.jsonl"),
                message,
            }),
            Err(_) => Err(AuditError::Closed),
        }
    }

    /// Waits until everything recorded so far is written and fsynced.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done_tx, done_rx) = mpsc::sync_channel(1);
            if tx.send(Msg::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
        }
    }
}

fn run(file: File, rx: mpsc::Receiver<Msg>, mut seq: u64) {
    let mut out = std::io::BufWriter::new(file);
    let mut dirty = false;
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut write = |event: Event, out: &mut std::io::BufWriter<File>| {
            let record = Record {
                seq,
                time_ms: chrono::Utc::now().timestamp_millis(),
                event,
            };
            seq += 1;
            let mut line = serde_json::to_vec(&record).unwrap_or_default();
            line.push(b'\n');
            out.write_all(&line)
        };
        match msg {
            Some(Msg::Event(e)) => {
                if let Err(e) = write(e, &mut out) {
                    tracing::error!(error = %e, "audit log write failed");
                }
                dirty = true;
                continue;
            }
            Some(Msg::Durable(e, done)) => {
                let r = write(e, &mut out)
                    .and_then(|_| out.flush())
                    .and_then(|_| out.get_ref().sync_data())
                    .map_err(|e| e.to_string());
                dirty = false;
                let _ = done.send(r);
            }
            Some(Msg::Flush(done)) => {
                let _ = out.flush().and_then(|_| out.get_ref().sync_data());
                dirty = false;
                let _ = done.send(());
            }
            None => {
                if dirty {
                    let _ = out.flush();
                    dirty = false;
                }
            }
        }
    }
    let _ = out.flush();
    let _ = out.get_ref().sync_data();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoginOutcome, Protocol};

    #[test]
    fn records_are_sequenced_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        log.record(Event::AccountCreated {
            account: "a@example.org".into(),
        });
        log.record_durable(Event::AccountDeleted {
            account: "a@example.org".into(),
        })
        .unwrap();
        drop(log);
        let log = AuditLog::open(dir.path()).unwrap();
        log.record(Event::Login {
            protocol: Protocol::Imap,
            account: "a@example.org".into(),
            remote: "127.0.0.1:4000".into(),
            tls: Some("TLSv1.3".into()),
            outcome: LoginOutcome::Failure,
        });
        log.flush();
        let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        let recs: Vec<Record> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(matches!(recs[2].event, Event::Login { .. }));
    }
}
