//! Logins with hashes kept from another server: they verify, the first
//! success replaces the hash with argon2id in the file (comments and the
//! other accounts untouched), and a hash changed meanwhile is not
//! overwritten.

mod common;

use common::{accounts_file, domains, limits};
use sealpost_directory::{AuthOutcome, Directory, Scheme, Secret, check_stored};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// `doveadm pw -s SHA512-CRYPT -p 'correct horse'` (Dovecot 2.3.19).
const SHA512: &str = "{SHA512-CRYPT}$6$CnNX5CchjCoIqTjO$2iQA5UoVkfr9HuqcNY9UhPzUtWvh9dqoSxJ0TiNdp1ra6IDyGUEcqKOD8ctAnmSEDGtYLM6XsZyLWUhMn2jTy0";
/// `doveadm pw -s SSHA512 -p 'correct horse'`.
const SSHA512: &str = "{SSHA512}koRNV0yZC2X/L+v1+yYGzFnISGe4cTNUrAlw3JSNgXKidtJiO6VAuIcHRpdrAr2uRs3p02xQvMAtduN6yE7ajlaikkY=";

fn peer() -> IpAddr {
    "192.0.2.7".parse().unwrap()
}

fn file_text() -> String {
    format!(
        "# migrated from Dovecot\n[[account]]\naddress = \"old@example.org\"\npassword = \"{SHA512}\" # kept from dovecot\nquota = \"1G\"\n\n# second one\n[[account]]\naddress = \"other@example.org\"\npassword = \"{SSHA512}\"\n"
    )
}

fn stored_hash(text: &str, address: &str) -> String {
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["account"]
        .as_array_of_tables()
        .unwrap()
        .iter()
        .find(|t| t["address"].as_str() == Some(address))
        .unwrap()["password"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_legacy_login_rehashes_to_argon2id_keeping_the_file() {
    let (_dir, path) = accounts_file(&file_text());
    let d = Directory::load(&path, domains(), limits()).unwrap();
    assert_eq!(
        d.authenticate("old@example.org", &Secret::new("wrong"), peer())
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), file_text());
    match d
        .authenticate("old@example.org", &Secret::new("correct horse"), peer())
        .await
    {
        AuthOutcome::Success(a) => assert_eq!(a.address, "old@example.org"),
        other => panic!("{other:?}"),
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let new = stored_hash(&text, "old@example.org");
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
    assert_eq!(check_stored(&new), Ok(Scheme::Argon2id));
    // Everything else as it was: comments, the quota, the other account.
    assert_eq!(text, file_text().replace(SHA512, &new));
    assert_eq!(common::mode(&path), 0o600);
    // The new hash takes the same password once loaded.
    d.reload(domains()).unwrap();
    assert!(matches!(
        d.authenticate("old@example.org", &Secret::new("correct horse"), peer())
            .await,
        AuthOutcome::Success(_)
    ));
    assert_eq!(
        d.authenticate("old@example.org", &Secret::new("wrong"), peer())
            .await,
        AuthOutcome::Failed
    );
}

#[tokio::test]
async fn a_hash_changed_meanwhile_is_not_overwritten() {
    let (_dir, path) = accounts_file(&file_text());
    let d = Directory::load(&path, domains(), limits()).unwrap();
    // An operator sets another hash after the directory loaded the file.
    let operator = common::cheap_hash("set by the operator");
    let edited = file_text().replace(SSHA512, &operator);
    std::fs::write(&path, &edited).unwrap();
    assert!(matches!(
        d.authenticate("other@example.org", &Secret::new("correct horse"), peer())
            .await,
        AuthOutcome::Success(_)
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

#[tokio::test]
async fn a_cheap_legacy_hash_costs_at_least_an_unknown_user() {
    let (_dir, path) = accounts_file(&file_text());
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let time = |user: &'static str| {
        let d = d.clone();
        async move {
            let t = Instant::now();
            let outcome = d.authenticate(user, &Secret::new("wrong"), peer()).await;
            assert_eq!(outcome, AuthOutcome::Failed);
            t.elapsed()
        }
    };
    // Warm up the argon2 buffers, then take the fastest of a few: SSHA512
    // alone is microseconds, the dummy argon2id check milliseconds.
    time("nobody@example.org").await;
    let mut unknown = Duration::MAX;
    let mut ssha = Duration::MAX;
    for _ in 0..3 {
        unknown = unknown.min(time("nobody@example.org").await);
        ssha = ssha.min(time("other@example.org").await);
    }
    assert!(ssha * 2 >= unknown, "SSHA {ssha:?} vs unknown {unknown:?}");
}
