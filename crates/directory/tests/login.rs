//! Logins through `Directory::authenticate`: argon2id verification, the same
//! argon2 work for unknown users as for wrong passwords, and throttling that
//! refuses without hashing.

mod common;

use common::{account, accounts_file, domains, limits};
use sealpost_directory::{
    AuthOutcome, Directory, Secret, ThrottleLimits, ThrottleReason, add_account,
};
use std::net::IpAddr;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn directory(text: &str, limits: ThrottleLimits) -> (tempfile::TempDir, Directory) {
    let (dir, path) = accounts_file(text);
    let d = Directory::load(&path, domains(), limits).unwrap();
    (dir, d)
}

fn two_accounts() -> String {
    format!(
        "{}quota = 1000\naliases = [\"info@example.org\"]\n\n{}",
        account("alice@example.org", "alice pw", ""),
        account("bob@example.net", "bob pw", "")
    )
}

#[tokio::test]
async fn argon2id_roundtrip_through_the_cli_and_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.toml");
    // The real default-cost hash, as `sealpost account add` writes it.
    add_account(
        &path,
        &domains(),
        "carol@example.org",
        &Secret::new("Tr0ub4dor&3"),
    )
    .unwrap();
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let peer = ip("192.0.2.1");
    match d
        .authenticate("Carol@Example.ORG", &Secret::new("Tr0ub4dor&3"), peer)
        .await
    {
        AuthOutcome::Success(a) => assert_eq!(a.address, "carol@example.org"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.authenticate("carol@example.org", &Secret::new("tr0ub4dor&3"), peer)
            .await,
        AuthOutcome::Failed
    );
}

#[tokio::test]
async fn success_returns_the_account() {
    let (_t, d) = directory(&two_accounts(), limits());
    let got = d
        .authenticate(
            "alice@example.org",
            &Secret::new("alice pw"),
            ip("192.0.2.1"),
        )
        .await;
    let AuthOutcome::Success(a) = got else {
        panic!("{got:?}")
    };
    assert_eq!(a.address, "alice@example.org");
    assert_eq!(a.quota, Some(1000));
    assert_eq!(a.aliases, ["info@example.org"]);
}

#[tokio::test]
async fn wrong_password_and_cross_account_password_fail() {
    let (_t, d) = directory(&two_accounts(), limits());
    let peer = ip("192.0.2.1");
    for (user, pw) in [
        ("alice@example.org", "alice pw "),
        ("alice@example.org", ""),
        ("alice@example.org", "bob pw"),
        ("bob@example.net", "alice pw"),
        // Aliases are for mail, not for logging in.
        ("info@example.org", "alice pw"),
    ] {
        assert_eq!(
            d.authenticate(user, &Secret::new(pw), peer).await,
            AuthOutcome::Failed,
            "{user}"
        );
    }
}

/// Unknown users, malformed names and wrong passwords each cost exactly one
/// argon2 check: timing cannot tell them apart.
#[tokio::test]
async fn unknown_user_costs_the_same_argon2_work() {
    let (_t, d) = directory(&two_accounts(), limits());
    let peer = ip("192.0.2.1");
    let before = d.password_checks();
    assert_eq!(
        d.authenticate("alice@example.org", &Secret::new("wrong"), peer)
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), before + 1, "wrong password");
    assert_eq!(
        d.authenticate("nobody@example.org", &Secret::new("wrong"), peer)
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), before + 2, "unknown user");
    assert_eq!(
        d.authenticate("nobody@elsewhere.example", &Secret::new("x"), peer)
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), before + 3, "foreign domain");
    assert_eq!(
        d.authenticate("not an address", &Secret::new("x"), peer)
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), before + 4, "malformed name");
}

#[tokio::test]
async fn too_long_password_fails_without_hashing() {
    let (_t, d) = directory(&two_accounts(), limits());
    let long = Secret::new("x".repeat(sealpost_directory::MAX_PASSWORD_LEN + 1));
    assert_eq!(
        d.authenticate("alice@example.org", &long, ip("192.0.2.1"))
            .await,
        AuthOutcome::Failed
    );
    assert_eq!(d.password_checks(), 0);
}

#[tokio::test]
async fn per_ip_throttle_counts_unknown_users_and_refuses_cheaply() {
    let limits = ThrottleLimits {
        per_ip: 3,
        per_account: 100,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    let attacker = ip("198.51.100.7");
    for i in 0..3 {
        let name = format!("guess{i}@example.org");
        assert_eq!(
            d.authenticate(&name, &Secret::new("x"), attacker).await,
            AuthOutcome::Failed
        );
    }
    let checks = d.password_checks();
    // Even the right password is refused now, and without running argon2.
    let got = d
        .authenticate("alice@example.org", &Secret::new("alice pw"), attacker)
        .await;
    let AuthOutcome::Throttled {
        retry_after,
        reason: ThrottleReason::Failures,
    } = got
    else {
        panic!("{got:?}")
    };
    assert!(
        retry_after > Duration::from_secs(800) && retry_after <= Duration::from_secs(900),
        "{retry_after:?}"
    );
    assert_eq!(d.password_checks(), checks, "throttled attempt ran argon2");
    // Another address is unaffected.
    let got = d
        .authenticate(
            "alice@example.org",
            &Secret::new("alice pw"),
            ip("198.51.100.8"),
        )
        .await;
    assert!(matches!(got, AuthOutcome::Success(_)), "{got:?}");
}

#[tokio::test]
async fn ipv6_neighbours_share_a_counter() {
    let limits = ThrottleLimits {
        per_ip: 2,
        per_account: 100,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    for peer in ["2001:db8:7:7::1", "2001:db8:7:7::2"] {
        assert_eq!(
            d.authenticate("alice@example.org", &Secret::new("no"), ip(peer))
                .await,
            AuthOutcome::Failed
        );
    }
    let got = d
        .authenticate(
            "bob@example.net",
            &Secret::new("bob pw"),
            ip("2001:db8:7:7::3"),
        )
        .await;
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
}

#[tokio::test]
async fn per_account_throttle_across_addresses() {
    let limits = ThrottleLimits {
        per_ip: 100,
        per_account: 3,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    for n in 1..=3 {
        let peer = ip(&format!("203.0.113.{n}"));
        assert_eq!(
            d.authenticate("ALICE@example.org", &Secret::new("guess"), peer)
                .await,
            AuthOutcome::Failed
        );
    }
    let checks = d.password_checks();
    let got = d
        .authenticate(
            "alice@example.org",
            &Secret::new("alice pw"),
            ip("203.0.113.9"),
        )
        .await;
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
    assert_eq!(d.password_checks(), checks);
    // Bob is not affected.
    let got = d
        .authenticate("bob@example.net", &Secret::new("bob pw"), ip("203.0.113.9"))
        .await;
    assert!(matches!(got, AuthOutcome::Success(_)), "{got:?}");
}

/// An account that does not exist gets throttled exactly like one that does,
/// so throttling does not reveal which accounts exist.
#[tokio::test]
async fn unknown_accounts_are_throttled_alike() {
    let limits = ThrottleLimits {
        per_ip: 100,
        per_account: 2,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    for user in ["alice@example.org", "ghost@example.org"] {
        for n in 1..=2 {
            let peer = ip(&format!("203.0.113.{n}"));
            assert_eq!(
                d.authenticate(user, &Secret::new("guess"), peer).await,
                AuthOutcome::Failed
            );
        }
        let got = d
            .authenticate(user, &Secret::new("guess"), ip("203.0.113.3"))
            .await;
        assert!(
            matches!(got, AuthOutcome::Throttled { .. }),
            "{user}: {got:?}"
        );
    }
}

#[tokio::test]
async fn success_clears_the_account_counter() {
    let limits = ThrottleLimits {
        per_ip: 100,
        per_account: 3,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    let peer = ip("192.0.2.50");
    for _ in 0..2 {
        assert_eq!(
            d.authenticate("bob@example.net", &Secret::new("typo"), peer)
                .await,
            AuthOutcome::Failed
        );
    }
    let got = d
        .authenticate("bob@example.net", &Secret::new("bob pw"), peer)
        .await;
    assert!(matches!(got, AuthOutcome::Success(_)), "{got:?}");
    // Without the reset the third failure below would already be refused.
    for _ in 0..3 {
        assert_eq!(
            d.authenticate("bob@example.net", &Secret::new("typo"), peer)
                .await,
            AuthOutcome::Failed
        );
    }
    let got = d
        .authenticate("bob@example.net", &Secret::new("bob pw"), peer)
        .await;
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
}

/// Parallel attempts cannot slip past the limit while their hashes run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_attempts_do_not_race_past_the_limit() {
    let limits = ThrottleLimits {
        per_ip: 4,
        per_account: 100,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move {
                d.authenticate(
                    "alice@example.org",
                    &Secret::new("guess"),
                    ip("198.51.100.1"),
                )
                .await
            })
        })
        .collect();
    let mut failed = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            AuthOutcome::Failed => failed += 1,
            AuthOutcome::Throttled { .. } => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((failed, throttled), (4, 16));
    assert_eq!(d.password_checks(), 4);
}

/// A webmail server or a company NAT: many sessions of many accounts, all
/// with the right password, from one address at once. Checks in flight are
/// not failures, so none is refused, with the default limits of
/// config/sealpost.toml (20 failures per address, 10 per account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_good_logins_from_one_address_all_succeed() {
    let limits = ThrottleLimits {
        per_ip: 20,
        per_account: 10,
        window: Duration::from_secs(900),
    };
    let text: String = (0..50)
        .map(|i| account(&format!("user{i}@example.org"), &format!("pw{i}"), "\n"))
        .collect();
    let (_t, d) = directory(&text, limits);
    let nat = ip("203.0.113.200");
    let tasks: Vec<_> = (0..400)
        .map(|n| {
            let d = d.clone();
            let i = n % 50;
            tokio::spawn(async move {
                d.authenticate(
                    &format!("user{i}@example.org"),
                    &Secret::new(format!("pw{i}")),
                    nat,
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let got = t.await.unwrap();
        assert!(matches!(got, AuthOutcome::Success(_)), "{got:?}");
    }
    assert_eq!(
        d.password_checks(),
        400,
        "the login cache is off: every login hashed"
    );
    // The address's failure window is still empty: a guess is checked.
    assert_eq!(
        d.authenticate("user1@example.org", &Secret::new("no"), nat)
            .await,
        AuthOutcome::Failed
    );
}

/// 30 bad logins at once from one address: the first 20 (the per-address
/// limit) are checked and fail, the rest are refused as throttled without a
/// check, and the refusal says it is for failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_concurrent_bad_logins_are_throttled_after_the_limit() {
    let limits = ThrottleLimits {
        per_ip: 20,
        per_account: 1000,
        window: Duration::from_secs(900),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move {
                d.authenticate(
                    "alice@example.org",
                    &Secret::new("guess"),
                    ip("198.51.100.9"),
                )
                .await
            })
        })
        .collect();
    let (mut failed, mut throttled) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            AuthOutcome::Failed => failed += 1,
            AuthOutcome::Throttled {
                reason: ThrottleReason::Failures,
                ..
            } => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((failed, throttled), (20, 10));
    assert_eq!(d.password_checks(), 20, "throttled attempts ran argon2");
}

#[tokio::test]
async fn window_expiry_lets_the_address_try_again() {
    let limits = ThrottleLimits {
        per_ip: 1,
        per_account: 100,
        window: Duration::from_secs(1),
    };
    let (_t, d) = directory(&two_accounts(), limits);
    let peer = ip("192.0.2.77");
    assert_eq!(
        d.authenticate("alice@example.org", &Secret::new("no"), peer)
            .await,
        AuthOutcome::Failed
    );
    let got = d
        .authenticate("alice@example.org", &Secret::new("alice pw"), peer)
        .await;
    assert!(matches!(got, AuthOutcome::Throttled { .. }), "{got:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let got = d
        .authenticate("alice@example.org", &Secret::new("alice pw"), peer)
        .await;
    assert!(matches!(got, AuthOutcome::Success(_)), "{got:?}");
}

#[test]
fn secret_never_prints() {
    let s = Secret::new("hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!(!format!("{s}").contains("hunter2"));
    assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
}
