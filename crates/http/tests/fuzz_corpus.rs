//! Replays the checked-in fuzz corpus (fuzz/http_request) through the same
//! invariant checks the fuzz target runs.

use std::path::Path;

#[test]
fn http_request_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/http_request/corpus/http_request");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        sealpost_http::fuzzing::autodiscover_request(&data);
        sealpost_http::fuzzing::host(&data);
        sealpost_http::fuzzing::accept_language(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus has only {n} inputs");
}

#[test]
fn account_form_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/http_request/corpus/account_form");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        sealpost_http::fuzzing::account_form(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus has only {n} inputs");
}
