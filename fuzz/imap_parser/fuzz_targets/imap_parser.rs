//! Framer + command parser on arbitrary client bytes (must never panic).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_imap::fuzzing::parser(data);
});
