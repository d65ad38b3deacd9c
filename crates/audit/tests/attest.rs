//! The short attestation window: signed checkpoints of the open segment,
//! and what recovery and verification make of records no checkpoint
//! covered (DESIGN.md promise 5: records written before a crash and never
//! attested are reported as such, never sealed as genuine).

mod common;

use common::*;
use sealpost_audit::{ExportFilter, FailureKind, WarningKind, verify};

/// A log with 5 attested records in its open segment, and a copy of it as
/// kill -9 would leave it (writer gone, nothing sealed).
fn crashed_with_attested_records() -> (Site, Site) {
    let site = Site::new();
    let log = site.open();
    for i in 0..5 {
        log.record(login(i));
    }
    log.flush();
    let crashed = crash_copy(&site);
    drop(log);
    (site, crashed)
}

fn attested_column(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_forged_record_appended_to_the_open_segment_is_sealed_as_unattested() {
    let (_site, crashed) = crashed_with_attested_records();
    append(&crashed.seg(1), &forged_line(&crashed, 1));
    // Before a restart: no writer, one record after the last checkpoint.
    let r = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap();
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert_eq!(r.warnings[0].kind, WarningKind::UnattestedOpen);
    assert_eq!(
        (
            r.warnings[0].first_record,
            r.warnings[0].last_record,
            r.warnings[0].count
        ),
        (5, 5, 1)
    );
    // The restart seals it, as unattested.
    let log = crashed.open();
    let tail = log.recovered_tail().unwrap().clone();
    assert_eq!(
        (tail.records, tail.unattested, tail.lost_attested),
        (6, 1, 0)
    );
    log.close().unwrap();
    let r = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap();
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    let w = &r.warnings[0];
    assert_eq!(w.kind, WarningKind::Unattested);
    assert_eq!(w.file, "000000000001.seg");
    assert_eq!((w.first_record, w.last_record, w.count), (5, 5, 1));
    assert!(w.to_string().contains("records 5..5 (1 record(s))"), "{w}");
    // The last attested record is the writer's own last one, not the forgery.
    let last = r.last_attested.unwrap();
    assert_eq!(last.segment, "000000000002.seg");
    let csv = crashed.export(&ExportFilter::default());
    let marks = attested_column(&csv);
    assert_eq!(
        &marks[..6],
        ["yes", "yes", "yes", "yes", "yes", "no"],
        "{csv}"
    );
    assert!(marks[6..].iter().all(|m| m == "yes"), "{csv}");
}

#[test]
fn a_flipped_byte_in_an_attested_record_of_the_open_segment_fails_verification() {
    let (_site, crashed) = crashed_with_attested_records();
    let mut data = std::fs::read(crashed.seg(1)).unwrap();
    let i = data.len() - 10;
    data[i] ^= 1;
    std::fs::write(crashed.seg(1), &data).unwrap();
    let err = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Attestation, "{err}");
    assert_eq!(err.record, Some(4), "{err}");
    // Recovery does not bless it either: the seal records what the last
    // checkpoint claimed (all 5, in one checkpoint: which of them changed
    // no signature can tell), and verification keeps failing.
    let log = crashed.open();
    let tail = log.recovered_tail().unwrap().clone();
    assert_eq!((tail.lost_attested, tail.unattested), (5, 5), "{tail:?}");
    log.close().unwrap();
    let err = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Attestation, "{err}");
    assert_eq!(err.file.as_deref(), Some("000000000001.seg"));
    assert!(err.detail.contains("records 0..4"), "{err}");
}

#[test]
fn a_truncated_last_record_of_the_open_segment_fails_verification() {
    let (_site, crashed) = crashed_with_attested_records();
    let data = std::fs::read(crashed.seg(1)).unwrap();
    std::fs::write(crashed.seg(1), &data[..data.len() - 20]).unwrap();
    let err = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Attestation, "{err}");
    assert!(
        err.detail.contains("removed after they were attested"),
        "{err}"
    );
    let log = crashed.open();
    assert_eq!(log.recovered_tail().unwrap().lost_attested, 5);
    log.close().unwrap();
    let err = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Attestation, "{err}");
    // The segment as found was kept for whoever investigates.
    assert!(
        std::fs::read_dir(crashed.dir()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".damaged-")),
        "no copy of the damaged segment"
    );
}

#[test]
fn a_forged_checkpoint_fails_verification() {
    let (_site, crashed) = crashed_with_attested_records();
    let att = crashed.path("000000000001.att");
    let text = std::fs::read_to_string(&att).unwrap();
    let last = text.lines().last().unwrap();
    append(&crashed.seg(1), &forged_line(&crashed, 1));
    // A checkpoint claiming the forgery, signed with no key we hold.
    let forged = last.replace("\"records\":5", "\"records\":6");
    append(&att, format!("{forged}\n").as_bytes());
    let err = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Signature, "{err}");
    // Recovery ignores it: the forgery is unattested.
    let log = crashed.open();
    assert_eq!(log.recovered_tail().unwrap().unattested, 1);
}

#[test]
fn records_after_the_last_checkpoint_are_pending_while_a_writer_runs() {
    let site = Site::new();
    let log = site.open();
    log.record(login(1));
    log.flush();
    // Appended behind the writer's back, with a writer running: pending,
    // not yet a warning (the writer would attest its own within a second,
    // never this one; a restart will seal it as unattested).
    append(&site.seg(1), &forged_line(&site, 1));
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!((r.pending, r.warnings.len()), (1, 0), "{r:?}");
    drop(log);
}
