//! Anonymization and deletion of old segments keep the log verifiable.

mod common;

use common::*;
use sealpost_audit::{
    ANONYMIZED, ExportFilter, FailureKind, anonymize_before, delete_segments_before, verify,
};

/// Batch one (logins 0..12) in sealed segments, then, a second later,
/// batch two (logins 100..112). Returns the cutoff between them.
fn two_batches(site: &Site) -> i64 {
    let log = site.open_with(&small_segments());
    for i in 0..12 {
        log.record(login(i));
    }
    log.close().unwrap();
    let cutoff = next_second_after(now_ms());
    let log = site.open_with(&small_segments());
    for i in 100..112 {
        log.record(login(i));
    }
    log.close().unwrap();
    cutoff
}

#[test]
fn anonymization_keeps_seals_and_erases_only_old_fields() {
    let site = Site::new();
    let cutoff = two_batches(&site);
    let before = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    let report = anonymize_before(&site.dir(), cutoff).unwrap();
    assert_eq!(report.records, 12);
    assert!(report.segments >= 2);
    let after = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(before, after);

    let csv = site.export(&ExportFilter::default());
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 24);
    for (i, row) in rows.iter().enumerate() {
        if i < 12 {
            assert!(row.contains(&format!("{ANONYMIZED},{ANONYMIZED}")), "{row}");
            assert!(!row.contains("@example.org"), "{row}");
            assert!(!row.contains("192.0.2."), "{row}");
        } else {
            let n = 100 + i - 12;
            assert!(
                row.contains(&format!(",user{n}@example.org,192.0.2.{}:", n % 250)),
                "{row}"
            );
        }
    }
    // The plaintext is gone from the files, not just from the export.
    for n in 1..=after.segments {
        for p in [site.seg(n), site.pii(n)] {
            if let Ok(text) = std::fs::read_to_string(&p) {
                assert!(!text.contains("user0@"), "{}", p.display());
            }
        }
    }
    // Idempotent.
    assert_eq!(anonymize_before(&site.dir(), cutoff).unwrap().records, 0);
    // Anonymized people no longer match an account filter.
    let only_old = ExportFilter {
        account: Some("user1@example.org".into()),
        ..ExportFilter::default()
    };
    assert_eq!(site.export(&only_old).lines().count(), 1);
}

#[test]
fn anonymization_leaves_the_open_segment_alone() {
    let site = Site::new();
    let log = site.open();
    log.record(login(1));
    log.flush();
    let future = next_second_after(now_ms());
    assert_eq!(anonymize_before(&site.dir(), future).unwrap().records, 0);
    assert!(
        site.export(&ExportFilter::default())
            .contains("user1@example.org")
    );
    log.close().unwrap();
    assert_eq!(anonymize_before(&site.dir(), future).unwrap().records, 1);
}

#[test]
fn deleting_old_segments_leaves_a_verifiable_rest() {
    let site = Site::new();
    let cutoff = two_batches(&site);
    let before = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    let report = delete_segments_before(&site.dir(), cutoff, &site.key()).unwrap();
    assert_eq!(report.records, 12);
    assert!(report.segments >= 2);
    let after = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(after.first_seq, 12);
    assert_eq!(after.records, 12);
    assert_eq!(after.deleted_segments, report.segments);
    assert_eq!(after.segments + report.segments, before.segments);
    assert_eq!(after.last_seal, before.last_seal);
    assert!(!site.seg(1).exists());
    let csv = site.export(&ExportFilter::default());
    assert!(csv.lines().nth(1).unwrap().starts_with("12,"), "{csv}");
    // Nothing more to delete; the writer continues after the checkpoint.
    assert_eq!(
        delete_segments_before(&site.dir(), cutoff, &site.key())
            .unwrap()
            .segments,
        0
    );
    let log = site.open();
    log.record(login(500));
    log.close().unwrap();
    assert_eq!(verify(&site.dir(), None).unwrap().records, 13);
}

#[test]
fn deleting_everything_sealed_then_writing_on() {
    let site = Site::new();
    two_batches(&site);
    let future = next_second_after(now_ms());
    let report = delete_segments_before(&site.dir(), future, &site.key()).unwrap();
    assert_eq!(report.records, 24);
    let empty = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!((empty.records, empty.segments, empty.first_seq), (0, 0, 24));
    let log = site.open();
    log.record(login(7));
    log.close().unwrap();
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!((r.records, r.first_seq), (1, 24));
}

#[test]
fn checkpoint_is_signed_and_needed() {
    let site = Site::new();
    let cutoff = two_batches(&site);
    delete_segments_before(&site.dir(), cutoff, &site.key()).unwrap();
    let cp = site.path("checkpoint.json");
    let saved = std::fs::read(&cp).unwrap();
    // Without it, the kept segments look like a log whose start was cut off.
    std::fs::remove_file(&cp).unwrap();
    let err = verify(&site.dir(), Some(&site.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::MissingSegment, "{err}");
    // Edited, its signature fails.
    let edited = String::from_utf8(saved.clone())
        .unwrap()
        .replace("\"seq\":12", "\"seq\":13");
    std::fs::write(&cp, edited).unwrap();
    let err = verify(&site.dir(), Some(&site.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Signature, "{err}");
    std::fs::write(&cp, saved).unwrap();
    verify(&site.dir(), Some(&site.pubkey())).unwrap();
}

#[test]
fn seal_if_older_than_seals_an_open_segment_with_old_records_only() {
    let site = Site::new();
    let log = site.open();
    log.record(login(1));
    log.flush();
    let past = now_ms() / 1000 - 3600;
    log.seal_if_older_than(past).unwrap();
    assert!(!site.seal(1).exists(), "records are newer than the cutoff");
    let future = next_second_after(now_ms());
    log.seal_if_older_than(future).unwrap();
    assert!(site.seal(1).exists(), "sealed at once");
    assert_eq!(anonymize_before(&site.dir(), future).unwrap().records, 1);
    // The writer goes on in a new segment; nothing to seal when it is empty.
    log.seal_if_older_than(future).unwrap();
    log.record(login(2));
    log.close().unwrap();
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!((r.segments, r.records), (2, 2));
}

#[test]
fn a_cutoff_in_the_future_is_refused_and_destroys_nothing() {
    let site = Site::new();
    let cutoff = two_batches(&site);
    let before = snapshot(&site.dir());
    let future = now_ms() / 1000 + 3 * 365 * 86_400;
    for e in [
        anonymize_before(&site.dir(), future).unwrap_err(),
        delete_segments_before(&site.dir(), future, &site.key()).unwrap_err(),
    ] {
        let text = e.to_string();
        assert!(
            text.contains("refusing") && text.contains("later than the current time"),
            "{text}"
        );
    }
    assert_eq!(snapshot(&site.dir()), before, "nothing changed");
    // A cutoff in the past still works.
    assert_eq!(anonymize_before(&site.dir(), cutoff).unwrap().records, 12);
}

#[test]
fn anonymization_destroys_the_keys_of_months_before_the_cutoff() {
    let site = Site::new();
    filled(&site, &small_segments(), 3);
    let keys = || {
        std::fs::read_dir(site.path("pii-keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys().len(), 1, "one month so far: {:?}", keys());
    // A cutoff inside the month: lines erased, the month's key kept (the
    // month is not over).
    let cutoff = next_second_after(now_ms());
    let r = anonymize_before(&site.dir(), cutoff).unwrap();
    assert_eq!((r.records, r.month_keys), (3, 0));
    assert_eq!(keys().len(), 1);
}
