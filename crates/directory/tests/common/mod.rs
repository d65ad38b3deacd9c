//! Helpers shared by the integration tests.
#![allow(dead_code)]

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sealpost_directory::ThrottleLimits;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An argon2id hash with tiny parameters: the directory accepts any
/// argon2id cost, and debug builds hash the default cost slowly.
pub fn cheap_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).unwrap();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// `[[account]]` text for an address with a cheap hash of `password`.
pub fn account(address: &str, password: &str, extra: &str) -> String {
    format!(
        "[[account]]\naddress = \"{address}\"\npassword = \"{}\"\n{extra}",
        cheap_hash(password)
    )
}

pub fn domains() -> Vec<String> {
    vec!["example.org".into(), "example.net".into()]
}

pub fn limits() -> ThrottleLimits {
    ThrottleLimits {
        per_ip: 1000,
        per_account: 1000,
        window: Duration::from_secs(900),
    }
}

/// A temporary directory holding `accounts.toml` with `text`.
pub fn accounts_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Replaces a file the way the CLI and most editors do: write a temporary
/// file, rename it over the old one.
pub fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-test");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
