//! Replays the checked-in fuzz corpus (`fuzz/audit/corpus/`) through the
//! same checks the fuzz target runs, so CI guards every input that was ever
//! interesting.

mod common;

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/audit/corpus")
        .join(target)
}

#[test]
fn segment_corpus() {
    let dir = corpus_dir("segment");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "corpus went missing: {} files",
        files.len()
    );
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| sealpost_audit::fuzzing::segment(&bytes));
        assert!(r.is_ok(), "{} panicked", path.display());
    }
}

/// Writes seed inputs made by the real writer into the corpus:
/// `SEALPOST_WRITE_AUDIT_SEEDS=1 cargo test -p sealpost-audit --test fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seeds() {
    if std::env::var("SEALPOST_WRITE_AUDIT_SEEDS").is_err() {
        return;
    }
    let site = common::Site::new();
    let log = site.open_with(&common::small_segments());
    for i in 0..8 {
        log.record(common::login(i));
    }
    log.record(sealpost_audit::Event::MessageAccepted {
        protocol: sealpost_audit::Protocol::Smtp,
        id: "q1".into(),
        message_id: None,
        sender: "a,\"b\"@example.org".into(),
        recipients: vec!["x@example.org".into(), "ü@example.org".into()],
        size: 5,
        remote: "[::1]:25".into(),
        account: None,
    });
    log.close().unwrap();
    let out = corpus_dir("segment");
    let seg = std::fs::read(site.seg(1)).unwrap();
    std::fs::write(out.join("segment-1"), &seg).unwrap();
    std::fs::write(out.join("segment-2"), std::fs::read(site.seg(2)).unwrap()).unwrap();
    std::fs::write(out.join("seal-1"), std::fs::read(site.seal(1)).unwrap()).unwrap();
    std::fs::write(out.join("pii-1"), std::fs::read(site.pii(1)).unwrap()).unwrap();
    std::fs::write(out.join("torn-tail"), &seg[..seg.len() - 9]).unwrap();
    let first = seg.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(out.join("one-record"), &seg[..first]).unwrap();
    let mut flipped = seg.clone();
    flipped[first + 3] ^= 1;
    std::fs::write(out.join("flipped-seq"), &flipped).unwrap();
    std::fs::write(out.join("empty"), b"").unwrap();
    std::fs::write(out.join("newlines"), b"\n\n\n").unwrap();
    std::fs::write(
        out.join("huge-seq"),
        b"{\"seq\":99999999999999999999,\"time_ms\":-9223372036854775808,\"prev\":\"\"}\n",
    )
    .unwrap();
}
