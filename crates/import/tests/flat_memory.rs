//! Importing a large Maildir and a large mbox keeps the peak RSS flat: it
//! grows by a few messages' worth, not by the size of the source (160 MiB
//! each here); and importing one message of 200 MiB grows it by a few
//! MiB, not by the message (it is stored while it is read), into the
//! embedded store and into PostgreSQL (`SEALPOST_TEST_PG`). Ignored by
//! default (slow unoptimized); `.ci/run` runs them in release, one at a
//! time (the peak is the process's): `cargo test --release -p
//! sealpost-import --test flat_memory -- --ignored --nocapture
//! --test-threads=1`.

use sealpost_import::Totals;
use sealpost_store::{BackendOptions, Store, StoreOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Messages of 1 MiB each, LF line endings (as Dovecot keeps Maildir files).
const MESSAGES: usize = 160;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Starts a new peak at the current RSS (Linux: `5` to `clear_refs`).
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:")
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
                &resume(dir.path()),
            ),
            _ => sealpost_import::mbox::import(
                &store,
                account,
                &dir.path().join("big.mbox"),
                &totals,
                &resume(dir.path()),
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

/// The huge message's size in MiB: 200, or `SEALPOST_HUGE_MIB` (a quick
/// run of unoptimized code).
fn huge_mib() -> usize {
    std::env::var("SEALPOST_HUGE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// A message of [`huge_mib`] MiB, written a line at a time.
fn write_huge(out: &mut impl Write) {
    let mib = huge_mib();
    write!(out, "From: bob@example.net\nSubject: huge\n\n").unwrap();
    let line = [b'y'; 1023];
    for _ in 0..mib << 10 {
        out.write_all(&line).unwrap();
        out.write_all(b"\n").unwrap();
    }
}

/// Where the imports of a test remember their progress.
fn resume(dir: &Path) -> sealpost_import::resume::Resume {
    sealpost_import::resume::Resume {
        files: sealpost_import::imap::state::StateFiles::new(
            &dir.join("data"),
            &dir.join("master.key"),
        )
        .unwrap(),
        address: "test@example.org".into(),
    }
}

fn open_store(dir: &Path, backend: &BackendOptions) -> Store {
    Store::open_with(
        StoreOptions {
            data_dir: dir.join("data"),
            master_key: dir.join("master.key"),
            summarizer: Arc::new(sealpost_store::NoSummary),
        },
        backend,
    )
    .unwrap()
}

#[test]
#[ignore]
fn one_huge_message_is_stored_in_flat_memory() {
    huge_message_in_flat_memory(&BackendOptions::Embedded);
}

/// The same into PostgreSQL (a fresh database on the instance that
/// `SEALPOST_TEST_PG` names; failing without it): the sealed pieces go to
/// the database while they are made (`postgres/sink.rs`), not whole in
/// memory first.
#[test]
#[ignore]
fn one_huge_message_is_stored_in_flat_memory_in_postgresql() {
    huge_message_in_flat_memory(&BackendOptions::PostgreSql(
        sealpost_store::testing::fresh_database(),
    ));
}

fn huge_message_in_flat_memory(backend: &BackendOptions) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path(), backend);
    for kind in ["Maildir", "mbox"] {
        let source = dir.path().join(kind);
        if kind == "Maildir" {
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(source.join(sub)).unwrap();
            }
            let f = std::fs::File::create(source.join("cur/1.M1P1.host:2,S")).unwrap();
            write_huge(&mut std::io::BufWriter::new(f));
        } else {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
            writeln!(w, "From bob@example.net Thu Jan  2 10:00:00 2020").unwrap();
            write_huge(&mut w);
            w.flush().unwrap();
        }
        let account = store
            .create_account(&format!("{kind}@example.org"))
            .unwrap();
        let totals = Totals::default();
        let state = resume(dir.path());
        let base = reset_peak();
        let t = Instant::now();
        match kind {
            "Maildir" => {
                sealpost_import::maildir::import(&store, account, &source, &totals, &state)
            }
            _ => sealpost_import::mbox::import(&store, account, &source, &totals, &state),
        }
        .unwrap();
        let grew = peak_rss_kib().saturating_sub(base);
        let mib = huge_mib();
        assert_eq!(Totals::get(&totals.messages), 1);
        // LF became CRLF: one more octet per line.
        let lines = (mib << 10) as u64 + 3;
        assert_eq!(
            Totals::get(&totals.octets),
            (mib << 20) as u64 + 37 + lines,
            "{kind}"
        );
        println!(
            "{kind} ({}): one {mib} MiB message in {:.1} s, peak RSS grew {grew} KiB",
            store.backend_name(),
            t.elapsed().as_secs_f64()
        );
        // The summary's share (4 MiB) and a few pieces, not the message.
        assert!(
            grew < 16 * 1024,
            "{kind}: peak RSS grew {grew} KiB storing one {mib} MiB message"
        );
        // What was stored is the message, whole.
        let inbox = store
            .mailbox(account, &sealpost_store::MailboxName::inbox())
            .unwrap()
            .unwrap()
            .id;
        let snapshot = store.snapshot(account, inbox).unwrap();
        let raw = store
            .read(account, inbox, snapshot.entries[0].uid)
            .unwrap()
            .unwrap();
        assert!(raw.starts_with(b"From: bob@example.net\r\nSubject: huge\r\n\r\nyyy"));
        assert_eq!(raw.len() as u64, Totals::get(&totals.octets));
        drop(raw);
        if kind == "Maildir" {
            std::fs::remove_dir_all(&source).unwrap();
        } else {
            std::fs::remove_file(&source).unwrap();
        }
    }
}
