//! One test per kind of tampering `verify` must detect; each restores the
//! files afterwards and checks that verification passes again.

mod common;

use common::*;
use sealpost_audit::{FailureKind, VerifyFailure, verify};

/// A log of 40 logins in several sealed segments.
fn sealed_site() -> Site {
    let site = Site::new();
    filled(&site, &small_segments(), 40);
    let report = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert!(report.segments >= 5, "{report:?}");
    site
}

/// Runs `damage`, expects a failure of `kind` naming `file`, restores, verifies again.
fn expect_failure(
    site: &Site,
    damage: impl FnOnce(&Site),
    kind: FailureKind,
    file: &str,
) -> VerifyFailure {
    let snap = snapshot(&site.dir());
    damage(site);
    let err = verify(&site.dir(), Some(&site.pubkey())).expect_err("damage not detected");
    assert_eq!(err.kind, kind, "{err}");
    assert_eq!(err.file.as_deref(), Some(file), "{err}");
    restore(&site.dir(), &snap);
    verify(&site.dir(), Some(&site.pubkey())).expect("restored log verifies");
    err
}

fn lines(site: &Site, n: u64) -> Vec<Vec<u8>> {
    std::fs::read(site.seg(n))
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(site: &Site, n: u64, lines: &[Vec<u8>]) {
    std::fs::write(site.seg(n), lines.concat()).unwrap();
}

fn seg_name(n: u64) -> String {
    format!("{n:012}.seg")
}

#[test]
fn clean_log_verifies_and_reports() {
    let site = sealed_site();
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(r.records, 40);
    assert!(r.key_given);
    assert!(r.crash_sealed.is_empty());
    assert_eq!(r.open_segment, None);
    let total: u64 = (1..=r.segments)
        .map(|n| std::fs::metadata(site.seg(n)).unwrap().len())
        .sum();
    assert_eq!(r.bytes, total);
    let (first, last) = (r.first_time_ms.unwrap(), r.last_time_ms.unwrap());
    assert!(first <= last && last <= now_ms());
    // Without a key, the directory's own signing.pub is used.
    let r2 = verify(&site.dir(), None).unwrap();
    assert!(!r2.key_given);
    assert_eq!(r2.records, 40);
}

#[test]
fn flipped_byte_in_a_record_is_found() {
    let site = sealed_site();
    let err = expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 2);
            let i = l[1].len() - 10;
            l[1][i] ^= 0x01;
            write_lines(s, 2, &l);
        },
        FailureKind::Chain,
        &seg_name(2),
    );
    assert!(err.record.is_some());
}

#[test]
fn flipped_byte_in_the_last_record_is_found_by_the_seal() {
    let site = sealed_site();
    expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 2);
            let last = l.len() - 1;
            let i = l[last].len() - 5;
            l[last][i] ^= 0x20;
            write_lines(s, 2, &l);
        },
        FailureKind::Seal,
        &seg_name(2),
    );
}

#[test]
fn flipped_byte_in_a_sequence_number_is_found() {
    let site = sealed_site();
    expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 3);
            let i = b"{\"seq\":".len();
            l[0][i] = if l[0][i] == b'9' { b'8' } else { l[0][i] + 1 };
            write_lines(s, 3, &l);
        },
        FailureKind::Sequence,
        &seg_name(3),
    );
}

#[test]
fn removed_record_is_found() {
    let site = sealed_site();
    let err = expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 2);
            l.remove(1);
            write_lines(s, 2, &l);
        },
        FailureKind::Sequence,
        &seg_name(2),
    );
    assert!(err.to_string().contains(&seg_name(2)), "{err}");
}

#[test]
fn inserted_record_is_found() {
    let site = sealed_site();
    expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 2);
            let copy = l[0].clone();
            l.insert(1, copy);
            write_lines(s, 2, &l);
        },
        FailureKind::Sequence,
        &seg_name(2),
    );
}

#[test]
fn removed_segment_is_found() {
    let site = sealed_site();
    for n in [1, 3] {
        expect_failure(
            &site,
            |s| {
                for p in [s.seg(n), s.seal(n), s.pii(n)] {
                    std::fs::remove_file(p).unwrap();
                }
            },
            FailureKind::MissingSegment,
            &seg_name(n + 1),
        );
    }
}

#[test]
fn reordered_segments_are_found() {
    let site = sealed_site();
    expect_failure(
        &site,
        |s| {
            for (a, b) in [
                (s.seg(2), s.seg(3)),
                (s.seal(2), s.seal(3)),
                (s.pii(2), s.pii(3)),
            ] {
                let tmp = a.with_extension("x");
                std::fs::rename(&a, &tmp).unwrap();
                std::fs::rename(&b, &a).unwrap();
                std::fs::rename(&tmp, &b).unwrap();
            }
        },
        FailureKind::Seal,
        &format!("{:012}.seal", 2),
    );
}

#[test]
fn duplicated_segment_is_found() {
    let site = sealed_site();
    let last = verify(&site.dir(), None).unwrap().segments;
    // With its seal: the seal names the original segment.
    expect_failure(
        &site,
        |s| {
            std::fs::copy(s.seg(last), s.seg(last + 1)).unwrap();
            std::fs::copy(s.seal(last), s.seal(last + 1)).unwrap();
        },
        FailureKind::Seal,
        &format!("{:012}.seal", last + 1),
    );
    // Without: read as the open segment, it repeats sequence numbers.
    expect_failure(
        &site,
        |s| {
            std::fs::copy(s.seg(2), s.seg(last + 1)).unwrap();
        },
        FailureKind::Sequence,
        &seg_name(last + 1),
    );
}

#[test]
fn truncated_sealed_segment_is_found() {
    let site = sealed_site();
    // Inside a record.
    expect_failure(
        &site,
        |s| {
            let len = std::fs::metadata(s.seg(2)).unwrap().len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(s.seg(2))
                .unwrap();
            f.set_len(len - 7).unwrap();
        },
        FailureKind::Truncated,
        &seg_name(2),
    );
    // At a record boundary.
    expect_failure(
        &site,
        |s| {
            let mut l = lines(s, 2);
            l.pop();
            write_lines(s, 2, &l);
        },
        FailureKind::Truncated,
        &seg_name(2),
    );
}

#[test]
fn segment_sealed_with_another_key_is_found() {
    let site = sealed_site();
    // A forger with their own key rewrites segment 1 and seals it.
    let forger = Site::new();
    filled(&forger, &small_segments(), 40);
    expect_failure(
        &site,
        |s| {
            std::fs::copy(forger.seg(1), s.seg(1)).unwrap();
            std::fs::copy(forger.seal(1), s.seal(1)).unwrap();
        },
        FailureKind::Signature,
        &format!("{:012}.seal", 1),
    );
    // And the whole log checked against someone else's public key fails too.
    let err = verify(&site.dir(), Some(&forger.pubkey())).unwrap_err();
    assert_eq!(err.kind, FailureKind::Signature);
}

#[test]
fn unsealed_segment_in_the_middle_is_found() {
    let site = sealed_site();
    expect_failure(
        &site,
        |s| std::fs::remove_file(s.seal(2)).unwrap(),
        FailureKind::Unsealed,
        &seg_name(2),
    );
}

#[test]
fn verify_runs_beside_a_writer() {
    let site = Site::new();
    let log = site.open_with(&small_segments());
    for i in 0..25 {
        log.record(login(i));
    }
    log.flush();
    let r = verify(&site.dir(), None).unwrap();
    assert_eq!(r.records, 25);
    let open = r.open_segment.clone().expect("an open segment");
    // A line being written (no newline yet) is not an error.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(site.path(&open))
        .unwrap();
    f.write_all(b"{\"seq\":25,\"time_ms\"").unwrap();
    assert_eq!(verify(&site.dir(), None).unwrap().records, 25);
    drop(log);
}

#[test]
fn verify_keeps_passing_while_segments_rotate() {
    let site = Site::new();
    let log = site.open_with(&sealpost_config::AuditConfig {
        segment_max_bytes: 3000,
        ..Default::default()
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            // Bounded: each sealed segment costs verify an ed25519 check,
            // slow in debug builds.
            while i < 300 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                log.record(login(i));
                if i % 20 == 0 {
                    log.flush();
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
                i += 1;
            }
            i
        })
    };
    let mut last = 0;
    for _ in 0..6 {
        let r = verify(&site.dir(), Some(&site.pubkey())).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.records >= last, "{r:?}");
        last = r.records;
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    log.close().unwrap();
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(r.records, written);
    assert!(r.segments > 3, "{r:?}");
}
