//! Replays the checked-in fuzz corpus (`fuzz/import/corpus/`) through the
//! same checks the fuzz targets run, so CI guards every input that was ever
//! interesting; and checks that the seeds mean what their names say.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/import/corpus")
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

fn replay(target: &str, check: fn(&[u8])) {
    for (name, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}/{name} broke an invariant");
    }
}

#[test]
fn uidlist_corpus() {
    replay("uidlist", sealpost_import::fuzzing::uidlist);
}

#[test]
fn keywords_corpus() {
    replay("keywords", sealpost_import::fuzzing::keywords);
}

#[test]
fn mbox_corpus() {
    replay("mbox", sealpost_import::fuzzing::mbox);
}

#[test]
fn imap_responses_corpus() {
    replay("imap_responses", sealpost_import::fuzzing::imap_responses);
}

#[test]
fn seeds_mean_what_their_names_say() {
    use sealpost_import::maildir::{parse_keywords, parse_uidlist};
    for (name, bytes) in corpus("uidlist") {
        let parsed = parse_uidlist(&bytes[..]);
        assert_eq!(parsed.is_err(), name.contains("over_limit"), "{name}");
        if name.starts_with("valid") {
            assert!(!parsed.unwrap().uids.is_empty(), "{name}");
        }
    }
    for (name, bytes) in corpus("keywords") {
        let parsed = parse_keywords(&bytes[..]).unwrap();
        assert_eq!(name == "valid.txt", parsed.len() == 3, "{name}: {parsed:?}");
    }
    for (name, bytes) in corpus("mbox") {
        let mut reader = sealpost_import::mbox::Reader::with_limit(&bytes[..], 4096);
        let mut result = Ok(0);
        loop {
            match reader.next_message() {
                Ok(Some(_)) => result = result.map(|n| n + 1),
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let want_err = name.contains("over_limit") || name.starts_with("not_");
        assert_eq!(result.is_err(), want_err, "{name}: {result:?}");
    }
    let mut framer = sealpost_import::imap::framer::Framer::default();
    let over = &corpus("imap_responses")
        .into_iter()
        .find(|(n, _)| n == "literal_over_limit.txt")
        .unwrap()
        .1;
    assert!(framer.frame_with(over, 4096).is_err());
}
