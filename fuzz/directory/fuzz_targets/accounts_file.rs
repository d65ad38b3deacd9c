//! Accounts file text, addresses and quotas from arbitrary bytes: never a
//! panic, errors on one line, accepted accounts normalized and consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_directory::fuzzing::accounts_file(data);
});
