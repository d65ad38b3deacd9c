//! Any text fed to the config parser yields a config or a one-line error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match sealpost_config::Config::parse(std::path::Path::new("/nonexistent/sealpost.toml"), text) {
            Ok(_) => {}
            Err(e) => assert!(!e.to_string().contains('\n')),
        }
    }
});
