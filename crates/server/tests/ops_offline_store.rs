//! The CLI with no server running on a data_dir that holds no store yet
//! (never started, or the data disk not mounted): the commands that only
//! read, or change what must already be there, fail with one line naming
//! data_dir and create nothing; `account list` reads the accounts file
//! (where `account add` writes before any server starts) and opens no
//! store; once a server has made the store, the same commands work.
//! `account delete|restore` with no server change the store itself: on a
//! data_dir missing or empty (the data disk not mounted) they refuse too,
//! before touching the accounts file, and the site is byte for byte as it
//! was; on a data_dir that only the CLI's own edits have used (no server
//! ever started, so no account has mail) they change the accounts file
//! and the audit log, and make no store.

mod common;

use common::*;

/// Every file and folder under `dir`, relative, sorted, with each file's
/// bytes (`None` for a folder).
fn tree(dir: &std::path::Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                out.push((name, None));
                stack.push(p);
            } else {
                out.push((name, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// The names in a [`tree`], for a readable failure.
fn names(tree: &[(String, Option<Vec<u8>>)]) -> Vec<&str> {
    tree.iter().map(|(n, _)| n.as_str()).collect()
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
    (&["store", "nodes"], "store nodes"),
    (
        &["store", "forget-node", "node-3f0c9a1b2d4e"],
        "store forget-node",
    ),
    // Refused before the target database is reached (nothing listens there).
    (
        &[
            "store",
            "copy",
            "--to",
            "postgresql://sealpost@127.0.0.1:9/none",
        ],
        "store copy",
    ),
];

/// The commands that change what may be in a store on a data disk that is
/// not mounted: refused on a data_dir missing or empty. (Deleting in the
/// accounts file alone would leave the account's data key in that store.)
const STORE_CHANGERS: &[(&[&str], &str)] = &[
    (
        &["account", "delete", "alice@example.org"],
        "account delete",
    ),
    (
        &["account", "restore", "alice@example.org"],
        "account restore",
    ),
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
        let after = tree(site.dir.path());
        assert!(
            after == before,
            "{args:?} changed the site: {:?} -> {:?}",
            names(&before),
            names(&after)
        );
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
    // No server has started on data_dir: no account has mail, so deleting
    // and restoring change the accounts file and the audit log only.
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "deleted alice@example.org: no mail was stored (no server has started on data_dir yet)\n"
    );
    assert!(site.cli(&["account", "list"], "").stdout.is_empty());
    let out = site.cli(&["account", "restore", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("restored alice@example.org: no mail was stored")
    );
    assert!(!data_dir.join("db").exists() && !data_dir.join("keycheck").exists());
    assert!(!data_dir.join("wal").exists() && !data_dir.join("blobs").exists());
    let out = site.cli(&["audit", "export", "--csv"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains("account_deleted"), "{}", out.stdout);
    assert!(out.stdout.contains("account_restored"), "{}", out.stdout);

    // data_dir absent (the data disk not mounted, the path mistyped).
    let saved = site.path("data.saved");
    std::fs::rename(&data_dir, &saved).unwrap();
    refused(&site, STORE_READERS, NO_STORE);
    refused(&site, STORE_CHANGERS, NO_STORE);
    refused(&site, AUDIT_READERS, NO_AUDIT);
    assert!(!data_dir.exists());

    // data_dir there but empty (a mount point without its disk).
    std::fs::create_dir(&data_dir).unwrap();
    refused(&site, STORE_READERS, NO_STORE);
    refused(&site, STORE_CHANGERS, NO_STORE);
    refused(&site, AUDIT_READERS, NO_AUDIT);
    assert!(tree(&data_dir).is_empty(), "{:?}", names(&tree(&data_dir)));

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
    let out = site.cli(&["store", "nodes"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains("last started"), "{}", out.stdout);
    // Delete and restore change the store now that it is there.
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("deleted alice@example.org: mail sealed away"),
        "{}",
        out.stdout
    );
    let out = site.cli(&["account", "list"], "");
    assert!(out.ok() && out.stdout.is_empty(), "{}", out.stdout);
    let out = site.cli(&["account", "restore", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("restored alice@example.org: mail restored"),
        "{}",
        out.stdout
    );
}

/// A store deleted away under a site that had one (the data disk not
/// mounted under the same data_dir): `account delete` leaves the account
/// in the accounts file, its saved entry unwritten, and says why.
#[test]
fn account_delete_refuses_when_the_data_disk_is_gone() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    assert_eq!(site.start().stop(), Some(0));
    let data_dir = site.path("data");
    let saved = site.path("data.mounted");
    std::fs::rename(&data_dir, &saved).unwrap();
    std::fs::create_dir(&data_dir).unwrap();
    let before = tree(site.dir.path());
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "account delete: data_dir {} holds no sealpost store",
            data_dir.display()
        )),
        "{}",
        out.stderr
    );
    assert!(tree(site.dir.path()) == before, "the site changed");
    // The disk back: the same command seals the account's mail away.
    std::fs::remove_dir(&data_dir).unwrap();
    std::fs::rename(&saved, &data_dir).unwrap();
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains("mail sealed away"), "{}", out.stdout);
}

/// The account and alias edits that audit offline, on a data_dir missing
/// or empty while the master key exists (the data disk not mounted): they
/// refuse in one line before the accounts file is touched, and make no
/// data_dir or audit log on the mount point that the next `serve` would
/// take for a data directory in use. `new-store` put there on purpose lets
/// them through, as it lets `serve` start an empty store.
#[test]
fn offline_edits_refuse_an_empty_data_dir_once_the_master_key_exists() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    assert_eq!(site.start().stop(), Some(0));
    let data_dir = site.path("data");
    std::fs::rename(&data_dir, site.path("data.mounted")).unwrap();
    let edits: &[(&[&str], &str, &str)] = &[
        (
            &["account", "add", "bob@example.org", "--password-stdin"],
            "account add",
            "a long enough password\n",
        ),
        (
            &["account", "passwd", "alice@example.org", "--password-stdin"],
            "account passwd",
            "another long password\n",
        ),
        (
            &["account", "quota", "alice@example.org", "1G"],
            "account quota",
            "",
        ),
        (
            &["alias", "add", "team@example.org", "alice@example.org"],
            "alias",
            "",
        ),
    ];
    for state in ["does not exist", "is empty"] {
        if state == "is empty" {
            std::fs::create_dir(&data_dir).unwrap();
        }
        // The edit locks beside the config files are empty and stay (see
        // `config_lock`): not a change of the site.
        let site_tree = || {
            let mut t = tree(site.dir.path());
            t.retain(|(name, _)| !name.ends_with(".toml.lock"));
            t
        };
        let before = site_tree();
        for (args, what, stdin) in edits {
            let out = site.cli(args, stdin);
            assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
            let line = out.stderr.trim_end();
            assert!(
                line.contains(&format!(
                    "{what}: data_dir {} {state}, but the master key",
                    data_dir.display()
                )),
                "{line}"
            );
            assert!(line.contains("is the data disk mounted?"), "{line}");
            assert!(site_tree() == before, "{args:?} changed the site");
        }
    }
    // On purpose: an empty store is wanted here.
    std::fs::write(data_dir.join("new-store"), b"").unwrap();
    let out = site.cli(
        &["account", "add", "bob@example.org", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(out.ok(), "{}", out.stderr);
}
