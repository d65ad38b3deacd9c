//! Replays the checked-in fuzz corpora (fuzz/imap_parser,
//! fuzz/imap_session) so CI guards them without cargo-fuzz.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(target)
        .join("corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

#[test]
fn parser_corpus() {
    for (_, data) in corpus("imap_parser") {
        sealpost_imap::fuzzing::parser(&data);
    }
}

#[test]
fn session_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let world = sealpost_imap::fuzzing::FuzzWorld::new(dir.path());
    for (_, data) in corpus("imap_session") {
        world.session(&data);
    }
}
