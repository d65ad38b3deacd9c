//! Replays the checked-in fuzz corpus (`fuzz/directory/corpus/`) through
//! the same checks the fuzz targets run, so CI guards every input that was
//! ever interesting.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/directory/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn accounts_file_corpus() {
    let files = corpus("accounts_file");
    assert!(
        files.len() >= 10,
        "corpus went missing: {} files",
        files.len()
    );
    for (path, bytes) in files {
        let outcome =
            std::panic::catch_unwind(|| sealpost_directory::fuzzing::accounts_file(&bytes));
        assert!(outcome.is_ok(), "{} broke an invariant", path.display());
    }
}

#[test]
fn corpus_seeds_mean_what_their_names_say() {
    let domains = vec!["example.org".to_string(), "example.net".to_string()];
    for (path, bytes) in corpus("accounts_file") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".toml") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        let parsed = sealpost_directory::file::parse_accounts(&path, &text, Some(&domains));
        let want_ok = name.starts_with("valid") || name == "empty.toml" || name.starts_with("utf8");
        assert_eq!(parsed.is_ok(), want_ok, "{name}: {parsed:?}");
    }
}

#[test]
fn dovecot_passwd_corpus() {
    let files = corpus("dovecot_passwd");
    assert!(
        files.len() >= 5,
        "corpus went missing: {} files",
        files.len()
    );
    for (path, bytes) in files {
        let outcome =
            std::panic::catch_unwind(|| sealpost_directory::fuzzing::dovecot_passwd(&bytes));
        assert!(outcome.is_ok(), "{} broke an invariant", path.display());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = String::from_utf8_lossy(&bytes);
        let parsed =
            sealpost_directory::dovecot::parse_passwd_file(&path, &text, Some("example.org"));
        assert_eq!(
            parsed.is_ok(),
            name.starts_with("valid"),
            "{name}: {parsed:?}"
        );
    }
}
