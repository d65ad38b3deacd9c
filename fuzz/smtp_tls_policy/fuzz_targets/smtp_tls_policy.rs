#![no_main]
//! Fuzzes the MTA-STS record/policy and TLSA parsers; invariants are in
//! sealpost_smtp::fuzzing::tls_policy.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_smtp::fuzzing::tls_policy(data);
});
