//! Random bytes through the IMAP message logic: summarize, encode/decode,
//! ENVELOPE, BODY/BODYSTRUCTURE, sections, BINARY, SEARCH and THREAD.
//! Nothing may panic, and a summary must decode back to itself. The body
//! is `sealpost_imap::fuzzing::message`, which the crate's test
//! `message::tests::fuzz_corpus_replays` runs on the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|raw: &[u8]| {
    sealpost_imap::fuzzing::message(raw);
});
