//! Replays the checked-in fuzz corpus (`fuzz/store/corpus/`) through the
//! same checks the fuzz target runs, and checks that the seeds mean what
//! their names say.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/store/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{target}: corpus went missing");
    files
}

#[test]
fn backup_rows_corpus() {
    for (name, bytes) in corpus("backup_rows") {
        let outcome = std::panic::catch_unwind(|| sealpost_store::fuzzing::backup_rows(&bytes));
        assert!(outcome.is_ok(), "backup_rows/{name} broke an invariant");
        let rows = sealpost_store::RowReader::new(&bytes[..]).map(|r| r.collect::<Vec<_>>());
        let ok = |n: usize| matches!(&rows, Ok(r) if r.len() == n && r.iter().all(|x| x.is_ok()));
        let fails = matches!(&rows, Ok(r) if r.last().is_some_and(|x| x.is_err()));
        match name.as_str() {
            "two_rows" | "empty_key_and_value" => assert!(ok(2), "{name}"),
            "magic_only" => assert!(ok(0), "{name}"),
            "not_a_dump" => assert!(rows.is_err(), "{name}"),
            _ => assert!(fails, "{name} should end in an error"),
        }
    }
}
