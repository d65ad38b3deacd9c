//! The open segment reaches the file, and a signed checkpoint covers it,
//! within about a second of a record, with no flush, close or durable
//! record asking for it (DESIGN.md promise 5: no record stays unattested for
//! more than about a second).

mod common;

use common::*;
use std::time::{Duration, Instant};

/// How long a test waits: the promise is one second; the rest is margin
/// for a loaded CI machine.
const WITHIN: Duration = Duration::from_millis(2500);

/// Waits until the first segment holds `needle`; returns how long it took.
fn seen_after(site: &Site, needle: &str, start: Instant) -> Option<Duration> {
    while start.elapsed() < WITHIN {
        if std::fs::read_to_string(site.seg(1)).is_ok_and(|t| t.contains(needle)) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn a_record_reaches_the_open_segment_within_a_second_without_a_flush() {
    let site = Site::new();
    let log = site.open();
    let start = Instant::now();
    log.record(login(1));
    let took = seen_after(&site, "\"seq\":0,", start).expect("not written within 2.5 s");
    println!("first record on file after {took:?}");
    // After a quiet spell, the next record is written as promptly.
    std::thread::sleep(Duration::from_millis(1500));
    let start = Instant::now();
    log.record(login(2));
    let took = seen_after(&site, "\"seq\":1,", start).expect("not written within 2.5 s");
    println!("second record on file after {took:?}");
    // Its personal fields' side file too, sealed (the address is not
    // readable there).
    let pii = std::fs::read_to_string(site.pii(1)).unwrap();
    assert!(
        pii.contains("\"seq\":1,") && !pii.contains("user2@example.org"),
        "{pii}"
    );
    // And a signed checkpoint of both records, within the same second.
    let start = Instant::now();
    let mut attested = false;
    while start.elapsed() < WITHIN && !attested {
        attested = std::fs::read_to_string(site.path(&format!("{:012}.att", 1)))
            .is_ok_and(|t| t.contains("\"records\":2,"));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(attested, "no checkpoint of record 1 within 2.5 s");
    let report = sealpost_audit::verify(&site.dir(), None).unwrap();
    let last = report.last_attested.clone().expect("a last attested point");
    assert_eq!(
        (last.segment.as_str(), last.record),
        ("000000000001.seg", 1)
    );
    assert_eq!(report.pending, 0, "{report:?}");
    // Still the open segment: nothing was sealed to get it there.
    assert!(!site.seal(1).exists());
    drop(log);
}

#[test]
fn a_steady_stream_is_written_at_least_every_second() {
    let site = Site::new();
    let log = site.open();
    // Records every 100 ms for 3 s: the file never lags more than ~1 s.
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..30u64 {
        log.record(login(i));
        let sent = Instant::now();
        std::thread::sleep(Duration::from_millis(100));
        if i % 10 == 9 {
            let took = seen_after(&site, &format!("\"seq\":{i},"), sent)
                .expect("a record was not written within 2.5 s");
            worst = worst.max(took + Duration::from_millis(100));
        }
    }
    println!("worst lag {worst:?} over {:?}", start.elapsed());
    drop(log);
}
