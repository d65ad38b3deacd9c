//! Accounts file text, addresses and quotas from arbitrary bytes: never a
//! panic, errors on one line, accepted accounts normalized and consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys installs a hook that aborts on every panic, even one the
    // code catches; the directory deliberately catches toml_edit's parser
    // panics. Put the default hook back: a panic that escapes is still a
    // crash, because libfuzzer-sys aborts when the target unwinds.
    static HOOK: Once = Once::new();
    HOOK.call_once(|| drop(std::panic::take_hook()));
    sealpost_directory::fuzzing::accounts_file(data);
});
