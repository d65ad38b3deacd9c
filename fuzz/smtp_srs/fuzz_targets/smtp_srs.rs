#![no_main]
//! Fuzzes SRS reversal, rewriting and hop counting; invariants are in
//! sealpost_smtp::fuzzing::srs.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_smtp::fuzzing::srs(data);
});
