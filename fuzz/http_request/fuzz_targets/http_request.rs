#![no_main]
//! Fuzzes what sealpost parses itself on the HTTP listener: the Outlook
//! autodiscover request body and the Host header. Invariants are in
//! sealpost_http::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_http::fuzzing::autodiscover_request(data);
    sealpost_http::fuzzing::host(data);
});
