//! Importing a large Maildir and a large mbox keeps the peak RSS flat: it
//! grows by a few messages' worth, not by the size of the source (160 MiB
//! each here). Ignored by default (slow unoptimized); `.ci/run` runs it in
//! release: `cargo test --release -p sealpost-import --test flat_memory --
//! --ignored --nocapture`.

use sealpost_import::Totals;
use sealpost_store::{Store, StoreOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Messages of 1 MiB each, LF line endings (as Dovecot keeps Maildir files).
const MESSAGES: usize = 160;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One 1 MiB message, written straight to `out` (never whole in memory
/// here either, so the generator does not raise the peak).
fn write_message(out: &mut impl Write, n: usize) {
    write!(out, "From: bob@example.net\nSubject: big {n}\n\n").unwrap();
    let line = [b'x'; 1000];
    for _ in 0..(1 << 20) / 1001 {
        out.write_all(&line).unwrap();
        out.write_all(b"\n").unwrap();
    }
}

fn maildir(root: &Path) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for n in 0..MESSAGES {
        let f = std::fs::File::create(root.join(format!("cur/{n}.M{n}P1.host:2,S"))).unwrap();
        let mut w = std::io::BufWriter::new(f);
        write_message(&mut w, n);
    }
}

fn mbox(path: &Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..MESSAGES {
        writeln!(w, "From bob@example.net Thu Jan  2 10:00:00 2020").unwrap();
        write_message(&mut w, n);
        writeln!(w).unwrap();
    }
}

#[test]
#[ignore]
fn a_large_import_runs_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions {
        data_dir: dir.path().join("data"),
        master_key: dir.path().join("master.key"),
        summarizer: Arc::new(sealpost_store::NoSummary),
    })
    .unwrap();
    maildir(&dir.path().join("Maildir"));
    mbox(&dir.path().join("big.mbox"));
    let before = peak_rss_kib();
    for (kind, address) in [("Maildir", "m@example.org"), ("mbox", "b@example.org")] {
        let account = store.create_account(address).unwrap();
        let totals = Totals::default();
        let t = Instant::now();
        match kind {
            "Maildir" => sealpost_import::maildir::import(
                &store,
                account,
                &dir.path().join("Maildir"),
                &totals,
            ),
            _ => sealpost_import::mbox::import(
                &store,
                account,
                &dir.path().join("big.mbox"),
                &totals,
            ),
        }
        .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let messages = Totals::get(&totals.messages);
        assert_eq!(messages, MESSAGES as u64);
        let grew = peak_rss_kib().saturating_sub(before);
        println!(
            "{kind}: {messages} messages, {} MiB in {secs:.1} s ({:.0} messages/s, {:.0} MiB/s), peak RSS {} MiB (grew {grew} KiB)",
            Totals::get(&totals.octets) >> 20,
            messages as f64 / secs,
            (Totals::get(&totals.octets) >> 20) as f64 / secs,
            peak_rss_kib() >> 10,
        );
        // A few messages' worth, not the source (160 MiB).
        assert!(
            grew < 48 * 1024,
            "{kind}: peak RSS grew {grew} KiB importing {MESSAGES} MiB"
        );
    }
}
