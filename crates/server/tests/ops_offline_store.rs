//! The CLI with no server running on a data_dir that holds no store yet
//! (never started, or the data disk not mounted): the commands that only
//! read, or change what must already be there, fail with one line naming
//! data_dir and create nothing; `account list` reads the accounts file
//! (where `account add` writes before any server starts) and opens no
//! store; once a server has made the store, the same commands work.

mod common;

use common::*;

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The commands that must not make a store, with the name their error
/// line gives.
const STORE_READERS: &[(&[&str], &str)] = &[
    (&["queue", "list"], "queue list"),
    (&["queue", "flush"], "queue flush"),
    (&["queue", "show", "0005e2a1b2c3d4e5f6a7b8"], "queue show"),
    (&["queue", "hold", "0005e2a1b2c3d4e5f6a7b8"], "queue hold"),
    (
        &["queue", "bounce", "0005e2a1b2c3d4e5f6a7b8"],
        "queue bounce",
    ),
    (
        &["export", "alice@example.org", "--out", "exported"],
        "export",
    ),
    (&["retention", "run"], "retention run"),
    (&["compliance", "report"], "compliance report"),
    (&["backup", "--out", "backup"], "backup"),
    (&["tls-report", "send"], "tls-report send"),
];

/// The commands that read this node's audit log.
const AUDIT_READERS: &[(&[&str], &str)] = &[
    (&["audit", "verify"], "audit verify"),
    (&["audit", "export", "--csv"], "audit export"),
];

/// Runs each command: refused in one line naming data_dir and `what`,
/// nothing created anywhere in the site.
fn refused(site: &Site, commands: &[(&[&str], &str)], what: &str) {
    let data_dir = site.path("data");
    let before = tree(site.dir.path());
    for (args, name) in commands {
        let out = site.cli(args, "");
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        let line = out.stderr.trim_end();
        assert!(line.contains(&format!("{name}: data_dir ")), "{line}");
        assert!(line.contains(&data_dir.display().to_string()), "{line}");
        assert!(line.contains(what), "{line}");
        assert!(line.ends_with("nothing was created"), "{line}");
        assert_eq!(tree(site.dir.path()), before, "{args:?} created data");
    }
}

const NO_STORE: &str = "holds no sealpost store";
const NO_AUDIT: &str = "holds no audit log";

#[test]
fn reading_commands_refuse_a_data_dir_without_a_store_and_create_nothing() {
    let site = Site::new("");
    // `account add` writes the accounts file and audits the change (the
    // audit log and its keys), but makes no store.
    site.add_account("alice@example.org");
    let data_dir = site.path("data");
    assert!(!data_dir.join("db").exists() && !data_dir.join("keycheck").exists());
    refused(&site, STORE_READERS, NO_STORE);
    // Its audit log is there to read.
    let out = site.cli(&["audit", "verify"], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);

    // data_dir absent (the data disk not mounted, the path mistyped).
    let saved = site.path("data.saved");
    std::fs::rename(&data_dir, &saved).unwrap();
    refused(&site, STORE_READERS, NO_STORE);
    refused(&site, AUDIT_READERS, NO_AUDIT);
    assert!(!data_dir.exists());

    // data_dir there but empty (a mount point without its disk).
    std::fs::create_dir(&data_dir).unwrap();
    refused(&site, STORE_READERS, NO_STORE);
    refused(&site, AUDIT_READERS, NO_AUDIT);
    assert!(tree(&data_dir).is_empty(), "{:?}", tree(&data_dir));

    // `account list` reads the accounts file, shows no usage, makes nothing.
    let before = tree(site.dir.path());
    let out = site.cli(&["account", "list"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("alice@example.org\tquota=-\tused=-"),
        "{}",
        out.stdout
    );
    assert_eq!(tree(site.dir.path()), before);

    // Once a server has made the store, the same commands read it.
    std::fs::remove_dir(&data_dir).unwrap();
    std::fs::rename(&saved, &data_dir).unwrap();
    assert_eq!(site.start().stop(), Some(0));
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains("queue is empty"), "{}", out.stdout);
    let out = site.cli(&["account", "list"], "");
    assert!(
        out.stdout.starts_with("alice@example.org\tquota=-\tused=0"),
        "{}",
        out.stdout
    );
}
