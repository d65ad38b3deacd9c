#![no_main]
//! Fuzzes the SMTP framer in command mode; invariants are in sealpost_smtp::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_smtp::fuzzing::command(data);
});
