//! The CLI's editing functions against real files: comments and layout
//! survive, writes are atomic and 0600, refusals leave the file alone.

mod common;

use common::{account, accounts_file, cheap_hash, domains, mode};
use sealpost_directory::{
    Account, DirectoryError, Secret, add_account, add_alias, check_accounts, export_account,
    import_account, list_accounts, remove_account, remove_alias, set_password, set_quota,
};
use std::path::Path;

/// A file an operator wrote by hand: header, comments on and between
/// accounts, odd spacing.
fn handwritten() -> String {
    format!(
        "# Accounts for example.org — edit with `sealpost account`.\n\
         # Keep this header.\n\
         \n\
         # Alice runs the office.\n\
         [[account]]\n\
         address = \"alice@example.org\"   # primary\n\
         password = \"{}\"  # rotated 2026-01\n\
         quota   = \"1G\"  # she asked for more\n\
         aliases = [\"office@example.org\"]\n\
         \n\
         # Bob is a contractor until June.\n\
         [[account]]\n\
         address = \"bob@example.net\"\n\
         password = \"{}\"\n",
        cheap_hash("alice-pw"),
        cheap_hash("bob-pw")
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Lines of `before` that must be in `after` unchanged.
fn assert_kept(after: &str, lines: &[&str]) {
    for l in lines {
        assert!(after.lines().any(|a| a == *l), "lost {l:?}:\n{after}");
    }
}

const COMMENTS: &[&str] = &[
    "# Accounts for example.org — edit with `sealpost account`.",
    "# Keep this header.",
    "# Alice runs the office.",
    "# Bob is a contractor until June.",
];

fn password_of(text: &str, address: &str) -> String {
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

#[test]
fn add_account_keeps_comments_and_writes_0600() {
    let (_dir, path) = accounts_file(&handwritten());
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    add_account(
        &path,
        &domains(),
        "Carol@Example.org",
        &Secret::new("c4rol!"),
    )
    .unwrap();
    let after = read(&path);
    assert_kept(&after, COMMENTS);
    assert_kept(&after, &["quota   = \"1G\"  # she asked for more"]);
    assert!(after.contains("address = \"carol@example.org\""), "{after}");
    let hash = password_of(&after, "carol@example.org");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(mode(&path), 0o600);
    let all = list_accounts(&path).unwrap();
    let names: Vec<&str> = all.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(
        names,
        ["alice@example.org", "bob@example.net", "carol@example.org"]
    );
}

#[test]
fn add_account_creates_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.toml");
    add_account(&path, &domains(), "a@example.org", &Secret::new("pw-a")).unwrap();
    add_account(&path, &domains(), "b@example.net", &Secret::new("pw-b")).unwrap();
    assert_eq!(mode(&path), 0o600);
    let text = read(&path);
    assert!(
        text.contains("\n\n[[account]]\naddress = \"b@example.net\""),
        "{text}"
    );
    assert_eq!(check_accounts(&path, &domains()).unwrap().len(), 2);
}

#[test]
fn add_account_refuses_domain_not_hosted() {
    let (_dir, path) = accounts_file(&handwritten());
    let before = read(&path);
    let e = add_account(&path, &domains(), "eve@evil.example", &Secret::new("x")).unwrap_err();
    assert!(matches!(e, DirectoryError::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("evil.example"), "{e}");
    assert!(e.to_string().contains("not hosted"), "{e}");
    assert_eq!(read(&path), before);
}

#[test]
fn add_account_refuses_existing_address_and_alias() {
    let (_dir, path) = accounts_file(&handwritten());
    let before = read(&path);
    let e = add_account(&path, &domains(), "ALICE@example.org", &Secret::new("x")).unwrap_err();
    assert!(
        matches!(&e, DirectoryError::Exists(a) if a == "alice@example.org"),
        "{e:?}"
    );
    let e = add_account(&path, &domains(), "office@example.org", &Secret::new("x")).unwrap_err();
    assert!(e.to_string().contains("alias of alice@example.org"), "{e}");
    assert_eq!(read(&path), before);
}

#[test]
fn add_account_refuses_malformed_address_and_empty_password() {
    let (_dir, path) = accounts_file(&handwritten());
    let before = read(&path);
    for bad in ["alice", "a b@example.org", "a@b@example.org", ""] {
        let e = add_account(&path, &domains(), bad, &Secret::new("x")).unwrap_err();
        assert!(matches!(e, DirectoryError::Invalid(_)), "{bad:?}: {e:?}");
    }
    let e = add_account(&path, &domains(), "new@example.org", &Secret::new("")).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    assert_eq!(read(&path), before);
}

#[test]
fn set_password_keeps_the_line_comment() {
    let (_dir, path) = accounts_file(&handwritten());
    let old = password_of(&read(&path), "alice@example.org");
    set_password(&path, "Alice@example.org", &Secret::new("new secret")).unwrap();
    let after = read(&path);
    let new = password_of(&after, "alice@example.org");
    assert_ne!(old, new);
    assert!(
        after.contains(&format!("password = \"{new}\"  # rotated 2026-01")),
        "{after}"
    );
    assert_kept(&after, COMMENTS);
    assert_eq!(mode(&path), 0o600);
    let e = set_password(&path, "nobody@example.org", &Secret::new("x")).unwrap_err();
    assert!(matches!(e, DirectoryError::NotFound(_)), "{e:?}");
}

#[test]
fn set_quota_sets_replaces_and_removes() {
    let (_dir, path) = accounts_file(&handwritten());
    set_quota(&path, "alice@example.org", Some(5 << 30)).unwrap();
    let after = read(&path);
    assert!(
        after.contains("quota   = 5368709120  # she asked for more"),
        "{after}"
    );
    set_quota(&path, "bob@example.net", Some(1000)).unwrap();
    let bob = |p: &Path| {
        list_accounts(p)
            .unwrap()
            .into_iter()
            .find(|a| a.address == "bob@example.net")
            .unwrap()
    };
    assert_eq!(bob(&path).quota, Some(1000));
    set_quota(&path, "bob@example.net", None).unwrap();
    assert_eq!(bob(&path).quota, None);
    assert!(set_quota(&path, "bob@example.net", Some(0)).is_err());
    assert_kept(&read(&path), COMMENTS);
}

#[test]
fn aliases_add_and_remove() {
    let (_dir, path) = accounts_file(&handwritten());
    add_alias(&path, &domains(), "bob@example.net", "Billing@example.net").unwrap();
    add_alias(&path, &domains(), "bob@example.net", "sales@example.org").unwrap();
    add_alias(&path, &domains(), "alice@example.org", "boss@example.org").unwrap();
    let accounts = list_accounts(&path).unwrap();
    assert_eq!(
        accounts,
        vec![
            Account {
                address: "alice@example.org".into(),
                quota: Some(1 << 30),
                aliases: vec!["office@example.org".into(), "boss@example.org".into()],
                app_password: None,
            },
            Account {
                address: "bob@example.net".into(),
                quota: None,
                aliases: vec!["billing@example.net".into(), "sales@example.org".into()],
                app_password: None,
            },
        ]
    );
    remove_alias(&path, "bob@example.net", "BILLING@example.net").unwrap();
    remove_alias(&path, "bob@example.net", "sales@example.org").unwrap();
    let after = read(&path);
    assert!(
        !after.contains("aliases = []"),
        "empty list left behind:\n{after}"
    );
    assert_kept(&after, COMMENTS);
    let e = remove_alias(&path, "bob@example.net", "sales@example.org").unwrap_err();
    assert!(matches!(e, DirectoryError::NotFound(_)), "{e:?}");
}

#[test]
fn add_alias_refusals() {
    let (_dir, path) = accounts_file(&handwritten());
    let before = read(&path);
    // Another account's alias, an account's address, a foreign domain, no such account.
    assert!(add_alias(&path, &domains(), "bob@example.net", "office@example.org").is_err());
    assert!(matches!(
        add_alias(&path, &domains(), "bob@example.net", "alice@example.org"),
        Err(DirectoryError::Exists(_))
    ));
    let e = add_alias(
        &path,
        &domains(),
        "bob@example.net",
        "bob@elsewhere.example",
    )
    .unwrap_err();
    assert!(e.to_string().contains("not hosted"), "{e}");
    assert!(matches!(
        add_alias(&path, &domains(), "nobody@example.net", "x@example.net"),
        Err(DirectoryError::NotFound(_))
    ));
    assert_eq!(read(&path), before);
}

#[test]
fn remove_account_keeps_file_header() {
    let (_dir, path) = accounts_file(&handwritten());
    remove_account(&path, "alice@example.org").unwrap();
    let after = read(&path);
    assert_kept(&after, &COMMENTS[..2]);
    assert_kept(&after, &[COMMENTS[3]]);
    assert!(!after.contains("Alice runs the office"), "{after}");
    assert!(!after.contains("alice@"), "{after}");
    assert_eq!(list_accounts(&path).unwrap().len(), 1);
    remove_account(&path, "bob@example.net").unwrap();
    let after = read(&path);
    assert_kept(&after, &COMMENTS[..2]);
    assert!(list_accounts(&path).unwrap().is_empty());
    let e = remove_account(&path, "bob@example.net").unwrap_err();
    assert!(matches!(e, DirectoryError::NotFound(_)), "{e:?}");
}

#[test]
fn editing_refuses_a_broken_file_and_leaves_it() {
    let text = format!("{}colour = \"red\"\n", account("a@example.org", "pw", ""));
    let (_dir, path) = accounts_file(&text);
    let e = set_quota(&path, "a@example.org", Some(10)).unwrap_err();
    assert!(e.to_string().contains(":4:1:"), "{e}");
    assert!(e.to_string().contains("colour"), "{e}");
    assert_eq!(read(&path), text);
}

#[test]
fn remove_works_for_a_domain_no_longer_hosted() {
    let text = format!(
        "{}\n{}",
        account("a@example.org", "pw", ""),
        account("old@gone.example", "pw", "")
    );
    let (_dir, path) = accounts_file(&text);
    assert!(check_accounts(&path, &domains()).is_err());
    remove_account(&path, "old@gone.example").unwrap();
    assert_eq!(check_accounts(&path, &domains()).unwrap().len(), 1);
}

#[test]
fn edits_replace_a_symlink_target() {
    let (dir, real) = accounts_file(&account("a@example.org", "pw", ""));
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    set_quota(&link, "a@example.org", Some(42)).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(list_accounts(&real).unwrap()[0].quota, Some(42));
}

#[test]
fn no_temporary_files_are_left_behind() {
    let (dir, path) = accounts_file(&handwritten());
    set_quota(&path, "alice@example.org", Some(1)).unwrap();
    let _ = add_account(&path, &domains(), "bad@nowhere.example", &Secret::new("x"));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".accounts.toml.lock", "accounts.toml"]);
}

#[test]
fn concurrent_edits_are_not_lost() {
    let (_dir, path) = accounts_file(&account("a@example.org", "pw", ""));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                add_alias(
                    &path,
                    &domains(),
                    "a@example.org",
                    &format!("x{i}@example.org"),
                )
                .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(list_accounts(&path).unwrap()[0].aliases.len(), 8);
}

#[test]
fn export_remove_import_restores_the_account() {
    let (_dir, path) = accounts_file(&handwritten());
    let before = list_accounts(&path).unwrap();
    let hash = password_of(&read(&path), "alice@example.org");
    let saved = export_account(&path, "Alice@example.org").unwrap();
    assert!(saved.starts_with("[[account]]\n"), "{saved}");
    assert!(saved.contains(&hash));
    assert!(!saved.contains("Keep this header"), "{saved}");
    remove_account(&path, "alice@example.org").unwrap();
    let restored = import_account(&path, &domains(), &saved).unwrap();
    assert_eq!(restored.address, "alice@example.org");
    let mut after = list_accounts(&path).unwrap();
    after.sort_by(|a, b| a.address.cmp(&b.address));
    assert_eq!(after, before);
    assert_eq!(password_of(&read(&path), "alice@example.org"), hash);
    assert_eq!(mode(&path), 0o600);
    // Twice is refused.
    assert!(matches!(
        import_account(&path, &domains(), &saved),
        Err(DirectoryError::Exists(_))
    ));
}

#[test]
fn import_refuses_taken_aliases_and_bad_entries() {
    let (_dir, path) = accounts_file(&handwritten());
    let saved = export_account(&path, "alice@example.org").unwrap();
    remove_account(&path, "alice@example.org").unwrap();
    add_alias(&path, &domains(), "bob@example.net", "office@example.org").unwrap();
    let before = read(&path);
    let e = import_account(&path, &domains(), &saved).unwrap_err();
    assert!(
        e.to_string()
            .contains("office@example.org is an alias of bob@example.net"),
        "{e}"
    );
    assert!(import_account(&path, &domains(), "").is_err());
    assert!(
        import_account(
            &path,
            &domains(),
            &format!("{saved}\n{}", account("z@example.org", "pw", ""))
        )
        .is_err()
    );
    assert!(import_account(&path, &["example.net".to_string()], &saved).is_err());
    assert_eq!(read(&path), before);
    assert!(matches!(
        export_account(&path, "ghost@example.org"),
        Err(DirectoryError::NotFound(_))
    ));
}
