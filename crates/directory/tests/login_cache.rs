//! The login cache through `Directory::authenticate`: a repeated correct
//! login skips argon2; every failure, unknown user and throttled attempt
//! takes the same path as without the cache; a password change or removal
//! invalidates at once; off by default.

mod common;

use common::{account, accounts_file, domains, limits, replace};
use sealpost_directory::{AuthOutcome, Directory, Secret, ThrottleLimits};
use std::net::IpAddr;
use std::time::Duration;

fn peer() -> IpAddr {
    "192.0.2.7".parse().unwrap()
}

fn cached(
    text: &str,
    limits: ThrottleLimits,
) -> (tempfile::TempDir, std::path::PathBuf, Directory) {
    let (dir, path) = accounts_file(text);
    let d = Directory::load(&path, domains(), limits).unwrap();
    d.set_login_cache(Duration::from_secs(600));
    (dir, path, d)
}

async fn login(d: &Directory, user: &str, pw: &str) -> AuthOutcome {
    d.authenticate(user, &Secret::new(pw), peer()).await
}

fn ok(o: &AuthOutcome) -> bool {
    matches!(o, AuthOutcome::Success(_))
}

#[tokio::test]
async fn a_repeated_correct_login_skips_argon2() {
    let (_t, _p, d) = cached(&account("alice@example.org", "pw", ""), limits());
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    assert_eq!(d.password_checks(), 1);
    // Any case of the address reaches the same entry.
    assert!(ok(&login(&d, "Alice@Example.org", "pw").await));
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    assert_eq!(d.password_checks(), 1, "answered from the cache");
}

#[tokio::test]
async fn failures_and_unknown_users_still_cost_argon2() {
    let (_t, _p, d) = cached(&account("alice@example.org", "pw", ""), limits());
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    let before = d.password_checks();
    assert_eq!(
        login(&d, "alice@example.org", "wrong").await,
        AuthOutcome::Failed
    );
    assert_eq!(
        login(&d, "nobody@example.org", "pw").await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), before + 2);
    // The right password is still remembered after a wrong one.
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    assert_eq!(d.password_checks(), before + 2);
}

#[tokio::test]
async fn a_password_change_or_removal_invalidates_at_once() {
    let (_t, path, d) = cached(&account("alice@example.org", "old", ""), limits());
    assert!(ok(&login(&d, "alice@example.org", "old").await));
    replace(&path, &account("alice@example.org", "new", ""));
    d.reload(domains()).unwrap();
    assert_eq!(
        login(&d, "alice@example.org", "old").await,
        AuthOutcome::Failed
    );
    assert!(ok(&login(&d, "alice@example.org", "new").await));
    replace(&path, "");
    d.reload(domains()).unwrap();
    assert_eq!(
        login(&d, "alice@example.org", "new").await,
        AuthOutcome::Failed
    );
}

#[tokio::test]
async fn throttling_comes_before_the_cache() {
    let limits = ThrottleLimits {
        per_ip: 2,
        per_account: 1000,
        window: Duration::from_secs(900),
    };
    let (_t, _p, d) = cached(&account("alice@example.org", "pw", ""), limits);
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    for _ in 0..2 {
        assert_eq!(
            login(&d, "alice@example.org", "x").await,
            AuthOutcome::Failed
        );
    }
    assert!(matches!(
        login(&d, "alice@example.org", "pw").await,
        AuthOutcome::Throttled { .. }
    ));
}

#[tokio::test]
async fn off_by_default_and_when_set_to_zero() {
    let (_t, path) = accounts_file(&account("alice@example.org", "pw", ""));
    let d = Directory::load(&path, domains(), limits()).unwrap();
    for _ in 0..2 {
        assert!(ok(&login(&d, "alice@example.org", "pw").await));
    }
    assert_eq!(d.password_checks(), 2);
    d.set_login_cache(Duration::from_secs(600));
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    d.set_login_cache(Duration::ZERO);
    assert!(ok(&login(&d, "alice@example.org", "pw").await));
    assert_eq!(d.password_checks(), 4);
}
