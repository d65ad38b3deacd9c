//! A backup's metadata dump from arbitrary bytes: never a panic, rows
//! within the limits, nothing after an error, rows re-encode to their bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_store::fuzzing::backup_rows(data);
});
