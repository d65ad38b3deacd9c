//! Dovecot passwd-file text from arbitrary bytes: never a panic, errors on
//! one line naming a line, accepted users normalized and unique.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_directory::fuzzing::dovecot_passwd(data);
});
