//! App passwords through the editing functions and `Directory::authenticate`:
//! generated once, hashed apart, listed by label, each login one argon2id
//! check naming the app password, revoked at once on reload.

mod common;

use common::{account, accounts_file, domains, limits};
use sealpost_directory::{
    AuthOutcome, Directory, DirectoryError, MAX_PASSWORD_LEN, Refusal, Secret, add_app_password,
    list_app_passwords, remove_app_password, set_password,
};
use std::net::IpAddr;

fn peer() -> IpAddr {
    "192.0.2.9".parse().unwrap()
}

async fn login(d: &Directory, user: &str, pw: &str) -> Option<Option<String>> {
    match d.authenticate(user, &Secret::new(pw), peer()).await {
        AuthOutcome::Success(a) => Some(a.app_password),
        AuthOutcome::Failed => None,
        other => panic!("{other:?}"),
    }
}

/// What a user can be told comes as a typed [`Refusal`] (the account page
/// words each case in its reader's language), its English line unchanged
/// for the CLI; an account that is not there stays `NotFound`.
#[test]
fn refusals_are_typed_cases() {
    let (_dir, path) = accounts_file(&account("alice@example.org", "alice pw", ""));
    let before = std::fs::read_to_string(&path).unwrap();
    let refusal = |e: DirectoryError| match e {
        DirectoryError::Refused(r) => r,
        other => panic!("{other:?}"),
    };
    add_app_password(&path, "alice@example.org", "phone").unwrap();
    let e = add_app_password(&path, "alice@example.org", "phone").unwrap_err();
    assert_eq!(
        e.to_string(),
        "alice@example.org has an app password labelled `phone` already"
    );
    assert_eq!(
        refusal(e),
        Refusal::LabelTaken {
            address: "alice@example.org".into(),
            label: "phone".into()
        }
    );
    let e = remove_app_password(&path, "Alice@example.org", "watch").unwrap_err();
    assert_eq!(
        e.to_string(),
        "no account alice@example.org with an app password labelled `watch`"
    );
    assert_eq!(
        refusal(e),
        Refusal::NoAppPassword {
            address: "alice@example.org".into(),
            label: "watch".into()
        }
    );
    assert!(matches!(
        refusal(add_app_password(&path, "alice@example.org", "a\nb").unwrap_err()),
        Refusal::BadLabel(_)
    ));
    // 520 characters, 1040 octets.
    let long = Secret::new("ä".repeat(520));
    assert!(long.expose().len() > MAX_PASSWORD_LEN);
    assert_eq!(
        refusal(set_password(&path, "alice@example.org", &long).unwrap_err()),
        Refusal::PasswordTooLong
    );
    assert_eq!(
        refusal(set_password(&path, "alice@example.org", &Secret::new("")).unwrap_err()),
        Refusal::PasswordEmpty
    );
    assert!(matches!(
        add_app_password(&path, "nobody@example.org", "x"),
        Err(DirectoryError::NotFound(_))
    ));
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after.matches("label = ").count(), 1, "{before}\n{after}");
}

#[tokio::test]
async fn app_passwords_log_in_apart_and_are_revoked() {
    let text = format!(
        "# staff\n{}\n{}",
        account("alice@example.org", "alice pw", ""),
        account("bob@example.org", "bob pw", "")
    );
    let (_dir, path) = accounts_file(&text);
    let phone = add_app_password(&path, "Alice@example.org", "phone").unwrap();
    let laptop = add_app_password(&path, "alice@example.org", "laptop").unwrap();
    assert_ne!(phone.expose(), laptop.expose());
    assert_eq!(phone.expose().len(), 29);
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.starts_with("# staff\n"), "{after}");
    assert!(!after.contains(phone.expose()) && !after.contains(laptop.expose()));
    assert_eq!(after.matches("$argon2id$").count(), 4, "{after}");
    assert_eq!(common::mode(&path), 0o600);
    let listed: Vec<String> = list_app_passwords(&path, "alice@example.org")
        .unwrap()
        .into_iter()
        .map(|a| a.label)
        .collect();
    assert_eq!(listed, ["phone", "laptop"]);
    assert!(
        add_app_password(&path, "alice@example.org", "phone")
            .unwrap_err()
            .to_string()
            .contains("already")
    );
    assert!(add_app_password(&path, "nobody@example.org", "x").is_err());
    assert!(add_app_password(&path, "alice@example.org", "a\nb").is_err());

    let d = Directory::load(&path, domains(), limits()).unwrap();
    let checks = d.password_checks();
    assert_eq!(
        login(&d, "alice@example.org", phone.expose()).await,
        Some(Some("phone".into()))
    );
    assert_eq!(
        login(&d, "alice@example.org", laptop.expose()).await,
        Some(Some("laptop".into()))
    );
    assert_eq!(login(&d, "alice@example.org", "alice pw").await, Some(None));
    // One argon2id check a login, however many app passwords there are.
    assert_eq!(d.password_checks(), checks + 3);
    // Another account cannot use them; a changed character fails.
    assert_eq!(login(&d, "bob@example.org", phone.expose()).await, None);
    let mut bent = phone.expose().to_string();
    let last = if bent.ends_with('a') { "b" } else { "a" };
    bent.replace_range(28.., last);
    assert_eq!(login(&d, "alice@example.org", &bent).await, None);

    remove_app_password(&path, "alice@example.org", "phone").unwrap();
    assert!(remove_app_password(&path, "alice@example.org", "phone").is_err());
    d.reload(domains()).unwrap();
    assert_eq!(login(&d, "alice@example.org", phone.expose()).await, None);
    assert_eq!(
        login(&d, "alice@example.org", laptop.expose()).await,
        Some(Some("laptop".into()))
    );
    remove_app_password(&path, "alice@example.org", "laptop").unwrap();
    let last_text = std::fs::read_to_string(&path).unwrap();
    assert!(!last_text.contains("app_passwords"), "{last_text}");
}

#[tokio::test]
async fn the_login_cache_keeps_app_passwords_apart() {
    let (_dir, path) = accounts_file(&account("alice@example.org", "alice pw", ""));
    let phone = add_app_password(&path, "alice@example.org", "phone").unwrap();
    let d = Directory::load(&path, domains(), limits()).unwrap();
    d.set_login_cache(std::time::Duration::from_secs(60));
    for _ in 0..2 {
        assert_eq!(
            login(&d, "alice@example.org", phone.expose()).await,
            Some(Some("phone".into()))
        );
        assert_eq!(login(&d, "alice@example.org", "alice pw").await, Some(None));
    }
    // Each was checked once, then answered from the cache.
    assert_eq!(d.password_checks(), 2);
    remove_app_password(&path, "alice@example.org", "phone").unwrap();
    d.reload(domains()).unwrap();
    assert_eq!(login(&d, "alice@example.org", phone.expose()).await, None);
}

#[test]
fn bad_app_password_entries_name_their_key() {
    let hash = common::cheap_hash("x");
    let table = [
        ("app_passwords = 3\n".to_string(), "must be an array"),
        ("app_passwords = [3]\n".into(), "must be a table"),
        (
            format!("app_passwords = [{{ id = \"abcd\", label = \"p\", password = \"{hash}\", x = 1 }}]\n"),
            "unknown key `x`",
        ),
        (
            format!("app_passwords = [{{ id = \"ab\", label = \"p\", password = \"{hash}\" }}]\n"),
            "id is 4 characters",
        ),
        (
            format!("app_passwords = [{{ id = \"abcd\", label = \"\", password = \"{hash}\" }}]\n"),
            "label is empty",
        ),
        (
            "app_passwords = [{ id = \"abcd\", label = \"p\", password = \"{SSHA}0lpq5y/8N6G2RocKq2rjc3f7/p/+z+nG\" }]\n".into(),
            "argon2id, not SSHA",
        ),
        (
            format!("app_passwords = [{{ id = \"abcd\", label = \"p\", password = \"{hash}\" }}, {{ id = \"abcd\", label = \"q\", password = \"{hash}\" }}]\n"),
            "id `abcd` twice",
        ),
        (
            format!("app_passwords = [{{ id = \"abcd\", label = \"p\", password = \"{hash}\" }}, {{ id = \"abce\", label = \"p\", password = \"{hash}\" }}]\n"),
            "label `p` twice",
        ),
    ];
    for (extra, want) in table {
        let text = account("alice@example.org", "pw", &extra);
        let e =
            sealpost_directory::file::parse_accounts(std::path::Path::new("acc.toml"), &text, None)
                .expect_err(&extra)
                .to_string();
        assert!(e.contains("account[0].app_passwords"), "{e}");
        assert!(e.contains(want), "want {want:?} in {e}");
        assert!(e.starts_with("acc.toml:4:"), "{e}");
    }
}
