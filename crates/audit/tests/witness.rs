//! The witness outside the log directory: removing the newest records, the
//! newest segment or the whole log is detected by `verify` with what the
//! witness saw; segments removed by a signed retention checkpoint are not
//! missing.

mod common;

use common::*;
use sealpost_audit::{FailureKind, VerifyOptions, read_witness, verify_with};
use sealpost_config::{AuditConfig, Witness};

fn witnessed(site: &Site) -> AuditConfig {
    AuditConfig {
        witness: Witness::File(site.tmp.path().join("elsewhere/witness.log")),
        ..small_segments()
    }
}

fn check(site: &Site) -> Result<sealpost_audit::VerifyReport, sealpost_audit::VerifyFailure> {
    let entries = read_witness(&site.tmp.path().join("elsewhere/witness.log")).unwrap();
    let key = site.pubkey();
    verify_with(
        &site.dir(),
        &VerifyOptions {
            pubkey: Some(&key),
            witness: Some(&entries),
        },
    )
}

fn witnessed_site() -> Site {
    let site = Site::new();
    let log = site.open_with(&witnessed(&site));
    for i in 0..30 {
        log.record(login(i));
        if i % 7 == 0 {
            log.flush();
        }
    }
    log.close().unwrap();
    site
}

#[test]
fn an_intact_log_agrees_with_its_witness() {
    let site = witnessed_site();
    let r = check(&site).unwrap();
    assert!(r.witness_lines.unwrap() >= 5, "{r:?}");
    let text = std::fs::read_to_string(site.tmp.path().join("elsewhere/witness.log")).unwrap();
    assert!(
        text.lines()
            .all(|l| l.starts_with("sealpost-audit-witness v1 "))
    );
    // The last line is where the chain stands: the last seal.
    assert!(
        text.lines().last().unwrap().contains(" records=30 "),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(site.tmp.path().join("elsewhere/witness.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn deleting_the_newest_segment_is_detected() {
    let site = witnessed_site();
    let last = verify_with(&site.dir(), &VerifyOptions::default())
        .unwrap()
        .segments;
    for ext in ["seg", "seal", "pii"] {
        let _ = std::fs::remove_file(site.path(&format!("{last:012}.{ext}")));
    }
    // The log alone still verifies: that is what the witness is for.
    verify_with(&site.dir(), &VerifyOptions::default()).unwrap();
    let err = check(&site).unwrap_err();
    assert_eq!(err.kind, FailureKind::Witness, "{err}");
    assert!(
        err.detail.contains("records") && err.detail.contains("missing"),
        "{err}"
    );
}

#[test]
fn deleting_the_whole_log_is_detected() {
    let site = witnessed_site();
    std::fs::remove_dir_all(site.dir()).unwrap();
    std::fs::create_dir_all(site.dir()).unwrap();
    let err = check(&site).unwrap_err();
    assert_eq!(err.kind, FailureKind::Witness, "{err}");
    assert!(
        err.detail
            .contains("the log holds 0: records 0..29 are missing"),
        "{err}"
    );
}

#[test]
fn an_altered_record_the_witness_saw_is_detected() {
    let site = witnessed_site();
    // Rewrite the chain from the end of segment 2 as a forger would, seals
    // aside: the witness's head hashes no longer match.
    let data = std::fs::read(site.seg(1)).unwrap();
    let mut bytes = data.clone();
    let i = bytes.len() - 5;
    bytes[i] ^= 1;
    std::fs::write(site.seg(1), &bytes).unwrap();
    let err = check(&site).unwrap_err();
    assert!(
        matches!(err.kind, FailureKind::Seal | FailureKind::Witness),
        "{err}"
    );
    std::fs::write(site.seg(1), &data).unwrap();
    check(&site).unwrap();
}

#[test]
fn segments_removed_by_retention_are_not_missing() {
    let site = witnessed_site();
    let cutoff = next_second_after(now_ms());
    let r = sealpost_audit::delete_segments_before(&site.dir(), cutoff, &site.key()).unwrap();
    assert!(r.segments >= 3);
    check(&site).unwrap();
    // But records after the checkpoint are still counted.
    let log = site.open_with(&witnessed(&site));
    log.record(login(99));
    log.close().unwrap();
    check(&site).unwrap();
}

#[test]
fn a_witness_socket_that_is_not_there_is_an_error() {
    let site = Site::new();
    let config = AuditConfig {
        witness: Witness::Syslog(site.tmp.path().join("no-such.sock")),
        ..AuditConfig::default()
    };
    let err = sealpost_audit::AuditLog::open(&site.dir(), &site.key(), &site.config(&config))
        .unwrap_err()
        .to_string();
    assert!(err.contains("witness socket"), "{err}");
}

#[test]
fn syslog_and_journald_witnesses_receive_one_datagram_per_checkpoint() {
    for journald in [false, true] {
        let site = Site::new();
        let path = site.tmp.path().join("log.sock");
        let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let witness = if journald {
            Witness::Journald(path.clone())
        } else {
            Witness::Syslog(path.clone())
        };
        let log = site.open_with(&AuditConfig {
            witness,
            ..AuditConfig::default()
        });
        log.record(login(1));
        log.flush();
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if journald {
            assert!(
                msg.contains("SYSLOG_IDENTIFIER=sealpost-audit\n")
                    && msg.contains("MESSAGE=sealpost-audit-witness v1 ")
                    && msg.contains("SEALPOST_AUDIT_RECORDS=1\n"),
                "{msg}"
            );
        } else {
            assert!(
                msg.starts_with("<86>sealpost-audit[") && msg.contains("records=1 "),
                "{msg}"
            );
        }
        // What an operator exports from the journal or syslog verifies.
        let export = site.tmp.path().join("exported.log");
        std::fs::write(&export, format!("Dec  3 10:00:00 host {msg}\n")).unwrap();
        let entries = read_witness(&export).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].records, 1);
        drop(log);
    }
}
