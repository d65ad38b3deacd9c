//! Dovecot's dovecot-uidlist from arbitrary bytes: never a panic; no UID 0,
//! no empty name, the entry limit kept.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sealpost_import::fuzzing::uidlist(data);
});
