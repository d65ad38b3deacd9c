//! Arbitrary bytes as an audit segment, seal and side file: verification,
//! record-head parsing and seal checks must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_audit::fuzzing::segment(data);
});
