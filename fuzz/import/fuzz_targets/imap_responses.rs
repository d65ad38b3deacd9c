//! An IMAP server's responses from arbitrary bytes: the framer never claims
//! more than it has, keeps its limits, and whatever it cuts parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_import::fuzzing::imap_responses(data);
});
