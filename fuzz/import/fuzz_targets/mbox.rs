//! An mbox from arbitrary bytes: never a panic; every message within the
//! reader's limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_import::fuzzing::mbox(data);
});
