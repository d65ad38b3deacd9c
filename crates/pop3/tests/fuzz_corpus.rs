//! Replays the checked-in fuzz corpus (fuzz/pop3_session) so CI guards it
//! without cargo-fuzz, plus the same inputs cut at every chunk size.

use sealpost_pop3::driver::fuzz_session;
use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/pop3_session/corpus/pop3_session");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn corpus_replays_cleanly() {
    let inputs = corpus();
    assert!(inputs.len() >= 5, "corpus is missing");
    for (name, data) in inputs {
        eprintln!("{name}");
        fuzz_session(&data);
    }
}

#[test]
fn corpus_at_every_chunk_size_and_policy() {
    for (_, data) in corpus() {
        for policy in 0..=255u8 {
            let mut d = data.clone();
            if let Some(first) = d.first_mut() {
                *first = policy;
            }
            fuzz_session(&d);
        }
    }
}
