#![no_main]
//! Fuzzes the account page's form parser (application/x-www-form-urlencoded
//! bodies under limits). Invariants are in sealpost_http::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_http::fuzzing::account_form(data);
});
