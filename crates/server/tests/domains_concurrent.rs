//! Two `sealpost domain add` processes at once, offline and against a
//! running server: the config file's edit lock makes the second wait for
//! the first and edit the file the first wrote, so both domains (and their
//! DKIM keys) are there; without it, one edit overwrites the other.
//! `alias add` and `alias remove` take the same lock.

mod common;

use common::*;

fn add_two_at_once(site: &Site) {
    let config = site.config.clone();
    let one = std::thread::spawn(move || cli(&config, &["domain", "add", "one.example"], ""));
    let config = site.config.clone();
    let two = std::thread::spawn(move || cli(&config, &["domain", "add", "two.example"], ""));
    for out in [one.join().unwrap(), two.join().unwrap()] {
        assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    }
    let text = std::fs::read_to_string(&site.config).unwrap();
    for d in ["one.example", "two.example"] {
        assert!(
            text.contains(&format!("name = \"{d}\"")),
            "{d} lost:\n{text}"
        );
        assert_eq!(
            text.matches(&format!("domain = \"{d}\"")).count(),
            2,
            "both DKIM keys of {d}:\n{text}"
        );
    }
    let list = site.cli(&["domain", "list"], "");
    assert!(list.ok(), "{}", list.stderr);
    assert!(
        list.stdout.contains("one.example") && list.stdout.contains("two.example"),
        "{}",
        list.stdout
    );
}

#[test]
fn concurrent_domain_adds_offline_both_land() {
    let site = Site::new("");
    add_two_at_once(&site);
}

#[test]
fn concurrent_domain_adds_with_a_running_server_both_land() {
    let site = Site::new("");
    let server = site.start();
    add_two_at_once(&site);
    drop(server);
}

/// Runs `alias ARGS` while this test holds the config edit lock: the
/// command must wait (nothing changes) until the lock is let go.
fn alias_edit_waits_for_the_lock(site: &Site, args: &[&str]) -> CliOutput {
    use std::os::unix::fs::OpenOptionsExt;
    let lock = site.dir.path().join(".sealpost.toml.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock)
        .unwrap();
    file.lock().unwrap();
    let before = site.cli(&["alias", "list"], "").stdout;
    let config = site.config.clone();
    let mut full = vec!["alias".to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    let edit = std::thread::spawn(move || {
        let args: Vec<&str> = full.iter().map(String::as_str).collect();
        cli(&config, &args, "")
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        !edit.is_finished(),
        "alias {args:?} did not wait for the lock"
    );
    assert_eq!(site.cli(&["alias", "list"], "").stdout, before);
    drop(file);
    edit.join().unwrap()
}

#[test]
fn alias_edits_wait_for_the_config_edit_lock() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let out =
        alias_edit_waits_for_the_lock(&site, &["add", "sales@example.org", "alice@example.org"]);
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert_eq!(
        site.cli(&["alias", "list"], "").stdout,
        "sales@example.org\talice@example.org\n"
    );
    let out = alias_edit_waits_for_the_lock(&site, &["remove", "sales@example.org"]);
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert_eq!(site.cli(&["alias", "list"], "").stdout, "");
}
