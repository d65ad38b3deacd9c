//! Recipient resolution, ownership checks and reloading (explicit and by the
//! watcher) of a live `Directory`.

mod common;

use common::{account, accounts_file, domains, limits, replace};
use sealpost_directory::{Directory, Recipient, Secret, add_account, remove_account};
use std::time::{Duration, Instant};

fn sample() -> String {
    format!(
        "{}aliases = [\"postmaster@example.org\", \"Sales@example.net\"]\n\n{}\n{}",
        account("alice@example.org", "pw", ""),
        account("bob@example.net", "pw", ""),
        account("dev+ci@example.org", "pw", "")
    )
}

fn load(text: &str) -> (tempfile::TempDir, Directory) {
    let (dir, path) = accounts_file(text);
    (dir, Directory::load(&path, domains(), limits()).unwrap())
}

fn local(a: &str) -> Recipient {
    Recipient::Local(a.into())
}

#[test]
fn recipients_resolve_accounts_aliases_and_subaddresses() {
    let (_t, d) = load(&sample());
    let table = [
        ("alice@example.org", local("alice@example.org")),
        ("ALICE@Example.Org", local("alice@example.org")),
        ("postmaster@example.org", local("alice@example.org")),
        ("PostMaster@EXAMPLE.org", local("alice@example.org")),
        ("sales@example.net", local("alice@example.org")),
        ("bob@example.net", local("bob@example.net")),
        ("bob+lists@example.net", local("bob@example.net")),
        ("postmaster+dmarc@example.org", local("alice@example.org")),
        // An account whose own name has a `+` wins over subaddressing...
        ("dev+ci@example.org", local("dev+ci@example.org")),
        // ...and without an account `dev`, `dev+other` is nobody.
        ("dev+other@example.org", Recipient::UnknownUser),
        ("nobody@example.org", Recipient::UnknownUser),
        ("bob@example.org", Recipient::UnknownUser),
        ("+@example.org", Recipient::UnknownUser),
        ("bad address@example.org", Recipient::UnknownUser),
        ("alice@example.com", Recipient::NotLocal),
        ("alice@sub.example.org", Recipient::NotLocal),
        ("alice", Recipient::NotLocal),
        ("", Recipient::NotLocal),
    ];
    for (address, want) in table {
        assert_eq!(d.recipient(address), want, "{address:?}");
    }
}

#[test]
fn owns_address() {
    let (_t, d) = load(&sample());
    assert!(d.owns_address("alice@example.org", "alice@example.org"));
    assert!(d.owns_address("Alice@example.org", "POSTMASTER@example.org"));
    assert!(d.owns_address("alice@example.org", "sales@example.net"));
    assert!(d.owns_address("alice@example.org", "alice+news@example.org"));
    assert!(!d.owns_address("bob@example.net", "alice@example.org"));
    assert!(!d.owns_address("bob@example.net", "postmaster@example.org"));
    assert!(!d.owns_address("bob@example.net", "nobody@example.net"));
    // An alias is not an account that owns things.
    assert!(!d.owns_address("postmaster@example.org", "postmaster@example.org"));
    assert!(!d.owns_address("ghost@example.org", "ghost@example.org"));
    assert!(!d.owns_address("not an address", "alice@example.org"));
}

#[test]
fn accounts_and_domains() {
    let (_t, d) = load(&sample());
    let all: Vec<String> = d.accounts().into_iter().map(|a| a.address).collect();
    assert_eq!(
        all,
        ["alice@example.org", "bob@example.net", "dev+ci@example.org"]
    );
    assert_eq!(
        d.account("BOB@example.net").unwrap().address,
        "bob@example.net"
    );
    assert_eq!(d.account("postmaster@example.org"), None);
    assert!(d.is_local_domain("Example.ORG"));
    assert!(d.is_local_domain("example.net"));
    assert!(!d.is_local_domain("example.com"));
    assert_eq!(d.domains(), ["example.net", "example.org"]);
}

#[test]
fn missing_file_means_no_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let d = Directory::load(&dir.path().join("none.toml"), domains(), limits()).unwrap();
    assert!(d.accounts().is_empty());
    assert_eq!(d.recipient("a@example.org"), Recipient::UnknownUser);
}

#[test]
fn load_takes_the_valid_entries_and_names_a_refused_one_with_its_line() {
    let text = format!(
        "{}\n[[account]]\naddress = \"x@unhosted.example\"\npassword = \"$argon2id$\"\n",
        account("a@example.org", "pw", "")
    );
    let (_t, path) = accounts_file(&text);
    let d = Directory::load(&path, domains(), limits()).unwrap();
    assert_eq!(d.accounts().len(), 1);
    let refused = d.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let msg = &refused[0];
    assert!(msg.starts_with(&format!("{}:6:", path.display())), "{msg}");
    assert!(
        msg.contains("account[1].address") && msg.contains("not hosted"),
        "{msg}"
    );
}

#[test]
fn reload_picks_up_changes_and_keeps_old_contents_on_error() {
    let (_t, path) = accounts_file(&account("a@example.org", "pw", ""));
    let d = Directory::load(&path, domains(), limits()).unwrap();
    std::fs::write(
        &path,
        format!(
            "{}\n{}",
            account("a@example.org", "pw", ""),
            account("b@example.org", "pw", "")
        ),
    )
    .unwrap();
    d.reload(domains()).unwrap();
    assert_eq!(
        d.recipient("b@example.org"),
        Recipient::Local("b@example.org".into())
    );

    std::fs::write(&path, "[[account]]\naddress = ").unwrap();
    let e = d.reload(domains()).unwrap_err();
    assert!(e.to_string().contains(":2:"), "{e}");
    assert_eq!(d.accounts().len(), 2, "old contents must stay in force");

    // A new domain list takes effect with a good file.
    std::fs::write(&path, account("a@example.org", "pw", "")).unwrap();
    d.reload(vec!["example.org".into(), "new.example".into()])
        .unwrap();
    assert!(d.is_local_domain("new.example"));
    assert!(!d.is_local_domain("example.net"));
    // Dropping a domain that accounts use refuses those accounts only.
    d.reload(vec!["example.net".into()]).unwrap();
    assert!(
        d.refused()[0].contains("account[0].address"),
        "{:?}",
        d.refused()
    );
    assert!(!d.is_local_domain("example.org"));
    assert!(d.accounts().is_empty());
}

/// Polls until `cond` holds or two seconds pass (the promise to operators).
async fn within_two_seconds(cond: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "not picked up within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn watcher_picks_up_cli_edits_within_two_seconds() {
    let (_t, path) = accounts_file(&account("a@example.org", "pw", ""));
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = d.spawn_watcher(Duration::from_millis(100), move |r| {
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });

    add_account(&path, &domains(), "new@example.org", &Secret::new("pw")).unwrap();
    within_two_seconds(|| d.account("new@example.org").is_some()).await;
    assert_eq!(rx.recv().await.unwrap(), Ok(()));

    remove_account(&path, "a@example.org").unwrap();
    within_two_seconds(|| d.account("a@example.org").is_none()).await;
    assert_eq!(rx.recv().await.unwrap(), Ok(()));
    watcher.abort();
}

#[tokio::test]
async fn watcher_reports_a_bad_entry_once_and_keeps_its_old_account() {
    let (_t, path) = accounts_file(&account("a@example.org", "pw", ""));
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = d.spawn_watcher(Duration::from_millis(50), move |r| {
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    // An edit that breaks the file.
    replace(
        &path,
        "[[account]]\naddress = \"a@example.org\"\nbogus = 1\n",
    );
    let got = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Ok(()));
    let err = d.refused().join("\n");
    assert!(err.contains(":3:1:") && err.contains("bogus"), "{err}");
    assert_eq!(d.accounts().len(), 1, "a@ keeps its previous entry");
    // Not reported again while the file stays the same.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err());
    // Fixing it is picked up.
    replace(
        &path,
        &format!(
            "{}\n{}",
            account("a@example.org", "pw", ""),
            account("b@example.org", "pw", "")
        ),
    );
    within_two_seconds(|| d.accounts().len() == 2).await;
    watcher.abort();
}

#[tokio::test]
async fn watcher_sees_the_file_appear_and_disappear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.toml");
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let watcher = d.spawn_watcher(Duration::from_millis(50), |_| {});
    std::fs::write(&path, account("a@example.org", "pw", "")).unwrap();
    within_two_seconds(|| d.accounts().len() == 1).await;
    std::fs::remove_file(&path).unwrap();
    within_two_seconds(|| d.accounts().is_empty()).await;
    watcher.abort();
}

#[tokio::test]
async fn watcher_ends_when_the_directory_is_dropped() {
    let (_t, path) = accounts_file("");
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let watcher = d.spawn_watcher(Duration::from_millis(20), |_| {});
    drop(d);
    tokio::time::timeout(Duration::from_secs(2), watcher)
        .await
        .unwrap()
        .unwrap();
}

/// A file truncated and rewritten in place is not read while half-written:
/// the watcher waits until it has been stable for a poll.
#[tokio::test]
async fn watcher_waits_for_an_in_place_save_to_settle() {
    let (_t, path) = accounts_file(&account("a@example.org", "pw", ""));
    let d = Directory::load(&path, domains(), limits()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = d.spawn_watcher(Duration::from_millis(100), move |r| {
        let _ = tx.send(r.is_ok());
    });
    // Truncate, pause less than a poll, write the rest.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    use std::io::Write;
    let text = format!(
        "{}\n{}",
        account("a@example.org", "pw", ""),
        account("b@example.org", "pw", "")
    );
    f.write_all(text.as_bytes()).unwrap();
    drop(f);
    within_two_seconds(|| d.accounts().len() == 2).await;
    // The empty moment was never loaded: every reload had two accounts.
    assert_eq!(rx.recv().await, Some(true));
    assert!(rx.try_recv().is_err());
    watcher.abort();
}
