//! The CLI run as root beside a service that runs as its own user, as the
//! unit in deploy/ sets it up: the config `root:<service>` 0640 in a folder
//! of root's, and the service's folders (data_dir, keys, certs, accounts)
//! its own. Whatever an administrator's `sudo sealpost ...` writes, offline
//! or beside the running server, the service can still read: a rewritten
//! config keeps its owner, group and mode (every other rewritten file its
//! owner and group); what is made in the service's folders is the
//! service's. (Before, `domain add` left the config 0600 root's, and an
//! offline `account delete` left root's audit segments in data_dir: the
//! service then could not start.)
//!
//! The service's user is uid/gid 65534 (`nobody`/`nogroup`) and the
//! server runs under `setpriv` as that user; giving files away needs root,
//! so the test runs as root, as CI does, and says so otherwise.

mod common;

use common::{BIN, CliOutput, PASSWORD, Server, cli, python};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The service's user and group.
const SERVICE: (u32, u32) = (65534, 65534);

struct Layout {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    bin: PathBuf,
}

impl Layout {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn cli(&self, args: &[&str], stdin: &str) -> CliOutput {
        let out = cli(&self.config, args, stdin);
        assert!(out.ok(), "sealpost {args:?}: {}{}", out.stdout, out.stderr);
        out
    }

    /// Every file and folder under the service's folders that is not the
    /// service's.
    fn not_the_services(&self) -> Vec<String> {
        let mut out = Vec::new();
        for top in ["data", "etc/keys", "etc/certs", "etc/accounts"] {
            walk(&self.path(top), &mut out);
        }
        out
    }

    /// The config's owner, group and mode.
    fn config_owner_and_mode(&self) -> (u32, u32, u32) {
        let m = std::fs::metadata(&self.config).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o777)
    }

    fn start(&self) -> Server {
        Server::start_program(
            &self.config,
            &[
                "setpriv",
                &format!("--reuid={}", SERVICE.0),
                &format!("--regid={}", SERVICE.1),
                "--clear-groups",
                "--",
            ],
            &self.bin,
        )
    }

    fn login(&self, server: &Server, user: &str) -> String {
        let args = json!({
            "cafile": self.path("etc/certs/cert.pem"),
            "imaps": server.addr("imaps").port(),
            "user": user,
            "password": PASSWORD,
        });
        let out = python("imap_login.py", &[&args.to_string()]);
        format!("{}{}", out.stdout, out.stderr)
    }
}

fn walk(path: &Path, out: &mut Vec<String>) {
    let m = std::fs::symlink_metadata(path).unwrap();
    if (m.uid(), m.gid()) != SERVICE {
        out.push(format!("{} ({}:{})", path.display(), m.uid(), m.gid()));
    }
    if m.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            walk(&e.unwrap().path(), out);
        }
    }
}

fn chown(path: &Path, owner: (u32, u32), mode: u32) {
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The deploy/ layout in a temporary folder: `etc/` root's, readable by
/// the service's group; its keys/, certs/, accounts/ and `data/` the
/// service's own; the config 0640 `root:<service>`; a copy of the binary
/// the service's user can reach.
fn layout() -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let probe = root.join("probe");
    std::fs::write(&probe, b"").unwrap();
    assert_eq!(
        std::fs::metadata(&probe).unwrap().uid(),
        0,
        "this test gives files to another user and must run as root (as CI does)"
    );
    std::fs::remove_file(&probe).unwrap();
    chown(&root, (0, 0), 0o755);
    let etc = root.join("etc");
    std::fs::create_dir(&etc).unwrap();
    chown(&etc, (0, SERVICE.1), 0o750);
    for sub in ["etc/keys", "etc/certs", "etc/accounts", "data"] {
        let p = root.join(sub);
        std::fs::create_dir(&p).unwrap();
        chown(&p, SERVICE, 0o700);
    }
    let listen: String = common::ALL_LISTENERS
        .iter()
        .map(|l| format!("{l} = [\"127.0.0.1:0\"]\n"))
        .collect();
    let r = root.display();
    let text = format!(
        "[server]\nhostname = \"mail.example.org\"\ndata_dir = \"{r}/data\"\n\
         accounts = \"{r}/etc/accounts/accounts.toml\"\n\
         master_key = \"{r}/etc/keys/master.key\"\naudit_signing_key = \"{r}/etc/keys/audit.key\"\n\
         [tls]\ncert = \"{r}/etc/certs/cert.pem\"\nkey = \"{r}/etc/certs/key.pem\"\n\
         [listen]\n{listen}\n"
    );
    let config = etc.join("sealpost.toml");
    std::fs::write(&config, text).unwrap();
    chown(&config, (0, SERVICE.1), 0o640);
    let bin = root.join("sealpost");
    std::fs::copy(BIN, &bin).unwrap();
    chown(&bin, (0, 0), 0o755);
    Layout {
        _dir: dir,
        root,
        config,
        bin,
    }
}

#[test]
fn what_root_writes_offline_and_beside_the_server_the_service_can_use() {
    let site = layout();
    // Offline, before the first start: a domain (the config rewritten,
    // DKIM keys made), an account (the accounts file and data_dir made).
    site.cli(&["domain", "add", "example.org"], "");
    site.cli(
        &["account", "add", "alice@example.org", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(site.config_owner_and_mode(), (0, SERVICE.1, 0o640));
    assert_eq!(site.not_the_services(), Vec::<String>::new());

    // The service starts as its own user and takes logins.
    let server = site.start();
    assert!(
        site.login(&server, "alice@example.org").starts_with("OK"),
        "{}",
        server.log()
    );

    // Beside the running server: what the CLI writes, the server reloads
    // at once (it refuses, and the CLI undoes, what it cannot read).
    let out = site.cli(&["domain", "add", "example.net"], "");
    assert!(
        out.stdout.contains("the running server took it"),
        "{}",
        out.stdout
    );
    let out = site.cli(
        &["account", "add", "bob@example.net", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.stdout.contains("added bob@example.net"),
        "{}",
        out.stdout
    );
    assert!(
        site.login(&server, "bob@example.net").starts_with("OK"),
        "{}",
        server.log()
    );
    assert_eq!(site.config_owner_and_mode(), (0, SERVICE.1, 0o640));
    assert_eq!(site.not_the_services(), Vec::<String>::new());
    assert_eq!(server.stop(), Some(0));

    // Offline again: a command that opens the store and the audit log as
    // root (an account deleted: its key sealed away, audited).
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(
        out.stdout.contains("deleted alice@example.org"),
        "{}",
        out.stdout
    );
    assert_eq!(site.not_the_services(), Vec::<String>::new());

    // The service starts again over what root left, and works.
    let server = site.start();
    assert!(
        site.login(&server, "bob@example.net").starts_with("OK"),
        "{}",
        server.log()
    );
    assert!(
        site.login(&server, "alice@example.org").starts_with("NO"),
        "{}",
        server.log()
    );
    assert_eq!(server.stop(), Some(0));
}
