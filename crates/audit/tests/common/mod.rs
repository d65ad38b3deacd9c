//! Helpers shared by the audit log's integration tests.
#![allow(dead_code)]

use sealpost_audit::{AuditLog, Event, LoginOutcome, Protocol};
use sealpost_config::AuditConfig;
use std::path::{Path, PathBuf};

/// A log directory and its key in a tempdir.
pub struct Site {
    pub tmp: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        Site {
            tmp: tempfile::tempdir().unwrap(),
        }
    }
    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("audit")
    }
    pub fn key(&self) -> PathBuf {
        self.tmp.path().join("keys/audit.key")
    }
    pub fn open(&self) -> AuditLog {
        self.open_with(&AuditConfig::default())
    }
    pub fn open_with(&self, config: &AuditConfig) -> AuditLog {
        AuditLog::open(&self.dir(), &self.key(), config).unwrap()
    }
    pub fn pubkey(&self) -> sealpost_audit::VerifyingKey {
        sealpost_audit::parse_public_key(&sealpost_audit::public_key(&self.key()).unwrap()).unwrap()
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
    pub fn seg(&self, n: u64) -> PathBuf {
        self.dir().join(format!("{n:012}.seg"))
    }
    pub fn seal(&self, n: u64) -> PathBuf {
        self.dir().join(format!("{n:012}.seal"))
    }
    pub fn pii(&self, n: u64) -> PathBuf {
        self.dir().join(format!("{n:012}.pii"))
    }
    pub fn export(&self, filter: &sealpost_audit::ExportFilter) -> String {
        let mut out = Vec::new();
        sealpost_audit::export_csv(&self.dir(), filter, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

/// Small segments: a few records each.
pub fn small_segments() -> AuditConfig {
    AuditConfig {
        segment_max_bytes: 2000,
        ..AuditConfig::default()
    }
}

pub fn login(i: u64) -> Event {
    Event::Login {
        protocol: Protocol::Imap,
        account: format!("user{i}@example.org"),
        remote: format!("192.0.2.{}:{}", i % 250, 40000 + i),
        tls: Some("TLSv1.3".into()),
        outcome: if i.is_multiple_of(3) {
            LoginOutcome::Failure
        } else {
            LoginOutcome::Success
        },
    }
}

pub fn delivered(i: u64, account: &str) -> Event {
    Event::MessageDelivered {
        id: format!("m{i}"),
        account: account.into(),
        size: 1000 + i,
    }
}

/// Writes `n` login records and closes the log (all segments sealed).
pub fn filled(site: &Site, config: &sealpost_config::AuditConfig, n: u64) {
    let log = site.open_with(config);
    for i in 0..n {
        log.record(login(i));
    }
    log.close().unwrap();
}

/// Waits until the wall clock is in a later Unix second than `ms`, and
/// returns that second (a cutoff between records before and after).
pub fn next_second_after(ms: i64) -> i64 {
    let cutoff = ms.div_euclid(1000) + 1;
    while chrono::Utc::now().timestamp_millis() < cutoff * 1000 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cutoff
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Copies a directory's files (flat) into another path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

/// Puts a snapshot back, removing files that were not in it.
pub fn restore(dir: &Path, snap: &[(PathBuf, Vec<u8>)]) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !snap.iter().any(|(q, _)| q == &p) {
            std::fs::remove_file(&p).unwrap();
        }
    }
    for (p, b) in snap {
        std::fs::write(p, b).unwrap();
    }
}
