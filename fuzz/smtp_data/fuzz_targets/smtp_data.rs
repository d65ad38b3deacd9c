#![no_main]
//! Fuzzes the SMTP framer in data mode; invariants are in sealpost_smtp::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_smtp::fuzzing::data(data);
});
