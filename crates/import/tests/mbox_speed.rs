//! How fast an mbox of many small messages goes in (messages/s), into the
//! embedded store on the disk of `SEALPOST_SPEED_DIR` (the system's temp
//! folder by default). Ignored by default: a measurement, not a check;
//! run it in release: `cargo test --release -p sealpost-import --test
//! mbox_speed -- --ignored --nocapture`. `SEALPOST_SPEED_MESSAGES` sets
//! the count (20,000).

use sealpost_import::Totals;
use sealpost_store::{Store, StoreOptions};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

#[test]
#[ignore]
fn many_small_messages_per_second() {
    let count: usize = std::env::var("SEALPOST_SPEED_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = match std::env::var_os("SEALPOST_SPEED_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .unwrap();
    let store = Store::open(StoreOptions {
        data_dir: dir.path().join("data"),
        master_key: dir.path().join("master.key"),
        // The server's own: each message gets its IMAP summary, as it does there.
        summarizer: Arc::new(sealpost_imap::message::ImapSummarizer),
    })
    .unwrap();
    let path = dir.path().join("many.mbox");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for n in 0..count {
        writeln!(w, "From bob@example.net Thu Jan  2 10:00:00 2020").unwrap();
        write!(
            w,
            "From: bob@example.net\nTo: alice@example.org\nSubject: message {n}\nStatus: RO\n\n"
        )
        .unwrap();
        for line in 0..12 {
            writeln!(
                w,
                "line {line} of message {n}, a few words to make it look like mail"
            )
            .unwrap();
        }
        writeln!(w).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let account = store.create_account("speed@example.org").unwrap();
    let totals = Totals::default();
    let t = Instant::now();
    let state = sealpost_import::resume::Resume {
        files: sealpost_import::imap::state::StateFiles::new(
            &dir.path().join("data"),
            &dir.path().join("master.key"),
        )
        .unwrap(),
        address: "speed@example.org".into(),
    };
    sealpost_import::mbox::import(&store, account, &path, &totals, &state).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(Totals::get(&totals.messages), count as u64);
    println!(
        "mbox: {count} messages ({} KiB) in {secs:.2} s: {:.0} messages/s",
        Totals::get(&totals.octets) >> 10,
        count as f64 / secs
    );
}
