//! Replays the checked-in fuzz corpus (fuzz/config) so CI guards every input
//! that once mattered: each yields a config or a one-line error.

#[test]
fn corpus_replays_without_panics() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/config/corpus/config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Err(e) = sealpost_config::Config::parse(
                std::path::Path::new("/nonexistent/sealpost.toml"),
                text,
            )
        {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        n += 1;
    }
    assert!(n >= 5, "corpus present");
}
