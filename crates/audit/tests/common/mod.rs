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
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("keys")).unwrap();
        std::fs::write(tmp.path().join("keys/master.key"), [9u8; 32]).unwrap();
        Site { tmp }
    }
    pub fn master_key(&self) -> PathBuf {
        self.tmp.path().join("keys/master.key")
    }
    /// The site's config: `config` with the site's master key.
    pub fn config(&self, config: &AuditConfig) -> AuditConfig {
        AuditConfig {
            master_key: self.master_key(),
            ..config.clone()
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
        AuditLog::open(&self.dir(), &self.key(), &self.config(config)).unwrap()
    }
    pub fn pii_keys(&self) -> sealpost_audit::PiiKeys {
        sealpost_audit::PiiKeys::open(&self.dir(), &self.master_key()).unwrap()
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
        sealpost_audit::export_csv(&self.dir(), &self.pii_keys(), filter, &mut out).unwrap();
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
        app_password: None,
        mechanism: None,
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

/// The files of a log as a crash would leave them: copied (with the month
/// keys and the signing key) from `site` while its writer runs, after a
/// flush. The copy's writer lock is free, as after kill -9.
pub fn crash_copy(site: &Site) -> Site {
    let crashed = Site::new();
    std::fs::create_dir_all(crashed.dir().join("pii-keys")).unwrap();
    std::fs::copy(site.key(), crashed.key()).unwrap();
    for (p, bytes) in snapshot(&site.dir()) {
        std::fs::write(crashed.dir().join(p.file_name().unwrap()), bytes).unwrap();
    }
    for (p, bytes) in snapshot(&site.dir().join("pii-keys")) {
        std::fs::write(crashed.path("pii-keys").join(p.file_name().unwrap()), bytes).unwrap();
    }
    crashed
}

/// A record line that links to the last line of segment `n` (what a forger
/// who can write the directory, but has no signing key, can make).
pub fn forged_line(site: &Site, n: u64) -> Vec<u8> {
    use sha2::Digest;
    let data = std::fs::read(site.seg(n)).unwrap();
    let last = data
        .strip_suffix(b"\n")
        .unwrap()
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap();
    let text = String::from_utf8_lossy(last);
    let seq: u64 = text["{\"seq\":".len()..text.find(',').unwrap()]
        .parse()
        .unwrap();
    let prev = hex::encode(sha2::Sha256::digest(last));
    format!(
        "{{\"seq\":{},\"time_ms\":{},\"prev\":\"{prev}\",\"event\":\"account_deleted\",\"account\":\"c:{}\"}}\n",
        seq + 1,
        now_ms(),
        "0".repeat(64)
    )
    .into_bytes()
}

/// Appends bytes to a file.
pub fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}
