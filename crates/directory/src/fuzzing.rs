//! The checks behind the fuzz targets under `fuzz/directory/`, shared with
//! the test that replays their corpus in every `cargo test`.
//!
//! Each function takes arbitrary bytes and panics only if an invariant
//! breaks: parsing never panics, errors are one line, and whatever is
//! accepted is normalized and consistent.

use crate::{address, file};
use std::collections::HashSet;
use std::path::Path;

/// The domains the fuzzed files may use.
const DOMAINS: [&str; 2] = ["example.org", "example.net"];

/// Parses bytes as an accounts file (and as an address and a quota).
pub fn accounts_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let domains: Vec<String> = DOMAINS.iter().map(|d| d.to_string()).collect();
    match file::parse_accounts(Path::new("fuzz.toml"), text, Some(&domains)) {
        Ok(accounts) => {
            let mut seen = HashSet::new();
            for a in &accounts {
                for addr in std::iter::once(&a.address).chain(&a.aliases) {
                    assert_eq!(
                        address::normalize(addr).as_ref(),
                        Ok(addr),
                        "not normalized"
                    );
                    assert!(
                        DOMAINS.contains(&address::domain_of(addr)),
                        "domain not hosted"
                    );
                    assert!(seen.insert(addr.clone()), "{addr} twice");
                }
                assert!(a.aliases.len() <= file::MAX_ALIASES);
                if let Some(q) = a.quota {
                    assert!(q > 0 && q <= address::MAX_QUOTA);
                }
            }
            // Without the domain check, the same file gives the same accounts.
            let unchecked = file::parse_accounts(Path::new("fuzz.toml"), text, None);
            assert_eq!(unchecked.as_ref().ok(), Some(&accounts));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.toml"), "{message}");
            assert!(
                !message.contains('\n') && !message.contains('\r'),
                "{message:?}"
            );
        }
    }
    if let Ok(a) = address::normalize(text) {
        assert!(a.len() <= address::MAX_ADDRESS_LEN);
        assert_eq!(
            address::normalize(&a).as_ref(),
            Ok(&a),
            "normalize not idempotent"
        );
    }
    if let Ok(q) = address::quota(text) {
        assert!(q > 0 && q <= address::MAX_QUOTA);
    }
}

/// Parses bytes as a Dovecot passwd-file: never a panic, errors one line
/// naming the file and a line, accepted users normalized and unique.
pub fn dovecot_passwd(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::dovecot::parse_passwd_file(Path::new("users"), text, Some("example.org")) {
        Ok(users) => {
            let mut seen = HashSet::new();
            for u in &users {
                assert_eq!(address::normalize(&u.address).as_ref(), Ok(&u.address));
                assert!(seen.insert(u.address.clone()), "{} twice", u.address);
                assert!(crate::password::check_stored(&u.hash).is_ok());
            }
        }
        Err(e) => {
            assert!(e.starts_with("users:"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
        }
    }
}
