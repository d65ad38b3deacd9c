#![no_main]
//! Fuzzes what sealpost parses itself on the HTTP listener: the Outlook
//! autodiscover request body, the Host header and the account page's
//! Accept-Language. Invariants are in
//! sealpost_http::fuzzing.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_http::fuzzing::autodiscover_request(data);
    sealpost_http::fuzzing::host(data);
    sealpost_http::fuzzing::accept_language(data);
});
