//! dovecot-keywords and subscriptions from arbitrary bytes: never a panic;
//! letters a-z, keywords within the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_import::fuzzing::keywords(data);
});
