//! An IMAP session over a real store fed arbitrary client bytes (random
//! command sequences) through the connection loop: must never panic or
//! hang. The first byte chooses the start state (see
//! `sealpost_imap::fuzzing`).
//!
//! The store is shared between inputs, and a store that only grows makes
//! every input slower (bigger mailboxes to select and search); a fresh one
//! is made every `RESET_EVERY` inputs.
#![no_main]

use sealpost_imap::fuzzing::FuzzWorld;
use std::path::PathBuf;
use std::sync::Mutex;

const RESET_EVERY: usize = 1000;

struct Current {
    runs: usize,
    generation: usize,
    dir: PathBuf,
    world: FuzzWorld,
}

static WORLD: Mutex<Option<Current>> = Mutex::new(None);

fn fresh(generation: usize) -> Current {
    let dir = std::env::temp_dir().join(format!(
        "sealpost-imap-fuzz-{}-{generation}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    let world = FuzzWorld::new(&dir);
    Current {
        runs: 0,
        generation,
        dir,
        world,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut guard = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let generation = match guard.take() {
        Some(cur) if cur.runs < RESET_EVERY => {
            *guard = Some(cur);
            None
        }
        Some(old) => {
            let next = old.generation + 1;
            let dir = old.dir.clone();
            drop(old);
            let _ = std::fs::remove_dir_all(dir);
            Some(next)
        }
        None => Some(0),
    };
    if let Some(g) = generation {
        *guard = Some(fresh(g));
    }
    let cur = guard.as_mut().expect("world");
    cur.runs += 1;
    cur.world.session(data);
});
