//! A logged-in IMAP session over a real store fed arbitrary client bytes
//! (random command sequences): must never panic or hang.
#![no_main]

use std::sync::OnceLock;

static WORLD: OnceLock<(std::path::PathBuf, sealpost_imap::fuzzing::FuzzWorld)> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, world) = WORLD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sealpost-imap-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz dir");
        let world = sealpost_imap::fuzzing::FuzzWorld::new(&dir);
        (dir, world)
    });
    world.session(data);
});
