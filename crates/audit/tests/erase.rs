//! Erasing a purged account's personal fields (DESIGN.md promise 8): its
//! records keep their seals but no longer name anyone, the months they
//! were in get new keys and the old ones are destroyed, and everyone
//! else's records are untouched.

mod common;

use common::*;
use sealpost_audit::{ANONYMIZED, Event, ExportFilter, verify};

#[test]
fn a_purged_accounts_records_are_erased_and_the_old_month_keys_destroyed() {
    let site = Site::new();
    let log = site.open_with(&small_segments());
    for i in 0..6 {
        log.record(login(i));
    }
    log.record(delivered(1, "user2@example.org"));
    log.record(Event::MessageBounced {
        id: "q1".into(),
        recipient: "someone@example.net".into(),
        reason: "550 5.1.1 <user2+tag@Example.org> unknown".into(),
    });
    log.record(delivered(2, "user3@example.org"));
    // Names only a correspondent, but belongs to the message user2 got.
    log.record(Event::MessageQueued {
        id: "m1".into(),
        recipients: vec!["correspondent@example.net".into()],
    });
    log.flush();
    let keys_before = std::fs::read_dir(site.path("pii-keys")).unwrap().count();
    let old_key_bytes: Vec<(std::path::PathBuf, Vec<u8>)> = snapshot(&site.path("pii-keys"));
    let before = verify(&site.dir(), None).unwrap();
    let r = log
        .erase_personal_data(&["user2@example.org".into()])
        .unwrap();
    // The login, the delivery, the bounce that quotes a sub-address, and
    // the queue record of the same message.
    assert_eq!(r.records, 4, "{r:?}");
    assert_eq!(r.months, 1);
    log.close().unwrap();
    let after = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(after.records, before.records);
    let csv = site.export(&ExportFilter::default());
    assert!(
        !csv.contains("user2") && !csv.contains("correspondent@"),
        "{csv}"
    );
    assert_eq!(csv.matches(ANONYMIZED).count(), 2 + 1 + 2 + 1, "{csv}");
    for keep in [
        "user1@example.org",
        "user3@example.org",
        "user5@example.org",
    ] {
        assert!(csv.contains(keep), "{keep} lost: {csv}");
    }
    // One month, a new key version; the old one is gone from the disk.
    let keys_after: Vec<_> = snapshot(&site.path("pii-keys"));
    assert_eq!(keys_after.len(), keys_before);
    for (p, _) in &old_key_bytes {
        assert!(!p.exists(), "{} survived", p.display());
    }
    // Idempotent.
    let log = site.open();
    assert_eq!(
        log.erase_personal_data(&["user2@example.org".into()])
            .unwrap()
            .records,
        0
    );
}

#[test]
fn side_files_of_the_previous_format_are_sealed_at_open() {
    let site = Site::new();
    let log = site.open();
    log.record(login(4));
    log.close().unwrap();
    // Turn the side file into what an earlier version wrote: plaintext.
    let pii = std::fs::read_to_string(site.pii(1)).unwrap();
    assert!(!pii.contains("user4"), "{pii}");
    // A plaintext line as an earlier version wrote it (its commitment
    // made the same way; whether it matches the record does not matter
    // here: what matters is that the value gets sealed).
    use sha2::Digest;
    let salt = [1u8; 16];
    let value = "user4@example.org";
    let mut h = sha2::Sha256::new();
    h.update(salt);
    h.update(value);
    let c = hex::encode(h.finalize());
    std::fs::write(
        site.pii(1),
        format!(
            "{{\"seq\":0,\"time_ms\":{},\"fields\":[[\"{c}\",\"{}\",\"{value}\"]]}}\n",
            now_ms(),
            hex::encode(salt)
        ),
    )
    .unwrap();
    let log = site.open();
    log.close().unwrap();
    let pii = std::fs::read_to_string(site.pii(1)).unwrap();
    assert!(
        !pii.contains("user4") && pii.contains("\"sealed\":"),
        "{pii}"
    );
}
