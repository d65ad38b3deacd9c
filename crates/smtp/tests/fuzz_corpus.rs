//! Replays the checked-in fuzz corpora (fuzz/smtp_command, fuzz/smtp_data)
//! through the same invariant checks the fuzz targets run.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(target)
        .join("corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        check(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus of {target} has only {n} inputs");
}

#[test]
fn smtp_command_corpus() {
    replay("smtp_command", sealpost_smtp::fuzzing::command);
}

#[test]
fn smtp_data_corpus() {
    replay("smtp_data", sealpost_smtp::fuzzing::data);
}
