//! The checks behind the fuzz target under `fuzz/audit/`, shared with the
//! test that replays its corpus in every `cargo test`.
//!
//! The audit files are read back by `verify`, `export_csv`, start-up
//! recovery and retention; whoever can write the directory controls their
//! bytes (and whoever can write the witness, its lines). [`segment`] feeds
//! arbitrary bytes to each of those parsers (segments, seals, side-file
//! lines, checkpoint lines, witness lines, segment file names): none may panic, and a
//! verification that succeeds must be repeatable.

use crate::format::{self, GENESIS, Seal};
use crate::verify::{Walk, walk_segment};

/// Parses `data` as a segment (sealed and open), a seal, side-file lines
/// and record heads.
pub fn segment(data: &[u8]) {
    // Start the chain where the first line says, so that a segment from the
    // middle of a log is walked to its end.
    let (seq, prev) = data
        .split(|&b| b == b'\n')
        .next()
        .and_then(|l| format::parse_head(l).ok())
        .map_or((0, GENESIS), |h| (h.seq, h.prev));
    // The walker's 2 MiB read buffer is made once per thread, as verify
    // makes it once per run (zeroing it per input slowed fuzzing to ~85/s).
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    for sealed in [true, false] {
        let (first, second, walk, again) = BUF.with_borrow_mut(|buf| {
            let mut walk = Walk::new(seq, prev);
            let first = walk_segment(data, "fuzz.seg", &mut walk, sealed, buf);
            let mut again = Walk::new(seq, prev);
            let second = walk_segment(data, "fuzz.seg", &mut again, sealed, buf);
            (first, second, walk, again)
        });
        assert_eq!(first, second, "verification is not deterministic");
        assert_eq!(walk.records, again.records);
        if first.is_ok() {
            assert!(walk.bytes as usize <= data.len());
            if sealed {
                assert_eq!(
                    walk.bytes as usize,
                    data.len(),
                    "a sealed walk must consume all"
                );
            }
        }
    }
    let prev_hex = format::hex_lower(&prev);
    for line in data.split(|&b| b == b'\n') {
        if let Ok(head) = format::parse_head(line) {
            // A head that parses re-encodes to the same prefix.
            let again = format::encode_line(head.seq, head.time_ms, &head.prev, "{\"x\":0}");
            let n = again.len() - "\"x\":0}".len();
            assert_eq!(&again[..n], &line[..n]);
            // The verifier's fast path accepts it with its own seq and prev.
            assert_eq!(
                format::check_head(line, head.seq, &format::hex_lower(&head.prev)),
                Some(head.time_ms),
                "fast path refused a head that parses"
            );
        }
        // And accepts nothing the full parser refuses.
        if let Some(t) = format::check_head(line, seq, &prev_hex) {
            let head = format::parse_head(line).expect("fast path accepted a malformed head");
            assert_eq!((head.seq, head.prev, head.time_ms), (seq, prev, t));
        }
        let _ = crate::pii::Line::parse(line);
        let _ = crate::attest::Attestation::parse(line);
        let _ = crate::witness::WitnessEntry::find(&String::from_utf8_lossy(line));
        // A file name that parses is rebuilt as it was.
        if let Ok(name) = std::str::from_utf8(line)
            && let Some((seg, kind)) = crate::names::SegmentName::parse(name)
        {
            assert_eq!(seg.file(kind), name, "segment name not rebuilt as parsed");
        }
    }
    if let Ok(seal) = Seal::parse(data) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let _ = seal.verify(&key.verifying_key());
        let _ = seal.seal_hash();
        let mut signed = seal.clone();
        if signed.signed_bytes().is_some() {
            signed.sign(&key);
            assert!(signed.verify(&key.verifying_key()));
        }
    }
}
