//! Random bytes into the POP3 framer, parser and session state machine over
//! an in-memory maildrop (see `sealpost_pop3::driver::fuzz_session`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sealpost_pop3::driver::fuzz_session(data);
});
