#![no_main]
//! Fuzzes the SMTP session state machine with its framer: random client
//! input against each role, TLS or not; invariants are in
//! sealpost_smtp::fuzzing::session.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_smtp::fuzzing::session(data);
});
