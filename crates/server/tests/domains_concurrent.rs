//! Two `sealpost domain add` processes at once, offline and against a
//! running server: the config file's edit lock makes the second wait for
//! the first and edit the file the first wrote, so both domains (and their
//! DKIM keys) are there; without it, one edit overwrites the other.

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
