//! deploy/: the systemd unit passes `systemd-analyze verify` and scores 2.5
//! or better in `systemd-analyze security --offline=yes` (Debian's
//! `systemd` package; the test fails without it), keeps data_dir from
//! being created by systemd, and the sysusers.d/tmpfiles.d files parse.
//!
//! The unit's `SystemCallFilter=` allows every system call `sealpost serve`
//! makes: the server runs under `strace -f` (no systemd runs in the test
//! container, so `systemd-run` cannot apply the filter itself) through a
//! start, a submission over TLS with a login, a local delivery, an IMAP
//! login and search, an admin-socket request, a SIGHUP reload and a
//! SIGTERM stop; every call strace counted must be in the set
//! `systemd-analyze syscall-filter` gives for the unit's lines. A call the
//! filter refused would fail with EPERM (`SystemCallErrorNumber=`) on a
//! real host, on a path no other test would see.

mod common;
mod smtp_support;

use common::{BIN, Server};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(rel)
}

/// The unit, with ExecStart= pointing at the binary under test (verify
/// checks that the command exists), in a folder of its own.
fn unit_copy() -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(deploy("sealpost.service")).unwrap();
    assert!(
        text.contains("ExecStart=/usr/local/bin/sealpost "),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealpost.service");
    std::fs::write(
        &path,
        text.replace(
            "ExecStart=/usr/local/bin/sealpost ",
            &format!("ExecStart={BIN} "),
        ),
    )
    .unwrap();
    (dir, path)
}

fn analyze(args: &[&str], unit: &Path) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze must be installed (Debian package systemd)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_unit_verifies() {
    let (_dir, unit) = unit_copy();
    let (ok, out) = analyze(&["verify"], &unit);
    assert!(ok, "{out}");
    assert!(!out.contains("Unknown key"), "{out}");
}

#[test]
fn the_unit_scores_2_5_or_better() {
    let (_dir, unit) = unit_copy();
    let (_, out) = analyze(&["security", "--offline=yes", "--no-pager"], &unit);
    let score: f64 = out
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for sealpost.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    assert!(score <= 2.5, "exposure {score} > 2.5:\n{out}");
}

#[test]
fn the_unit_does_not_create_data_dir_and_waits_for_its_mount() {
    let text = std::fs::read_to_string(deploy("sealpost.service")).unwrap();
    let directives: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(!directives.iter().any(|l| l.starts_with("StateDirectory")));
    assert!(directives.contains(&"RequiresMountsFor=/var/lib/sealpost"));
    assert!(directives.contains(&"ProtectSystem=strict"));
    // The config stays read-only: /etc/sealpost as a whole is not
    // writable, only its keys/, certs/ and accounts/ (the account page
    // writes the accounts file).
    let rw = directives
        .iter()
        .find(|l| l.starts_with("ReadWritePaths="))
        .unwrap();
    assert!(!rw.split([' ', '=']).any(|p| p == "/etc/sealpost"), "{rw}");
    assert!(rw.contains("-/etc/sealpost/accounts"), "{rw}");
    assert!(rw.contains("-/var/backups/sealpost"), "{rw}");
    let tmpfiles = std::fs::read_to_string(deploy("tmpfiles.d/sealpost.conf")).unwrap();
    assert!(
        !tmpfiles
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("/var/lib/sealpost")),
        "tmpfiles.d must not create data_dir"
    );
}

#[test]
fn sysusers_then_tmpfiles_apply_in_a_scratch_root() {
    // As a package would: the user first, then its folders, here under a
    // scratch --root (nothing outside it changes); both fail on a line
    // they cannot parse or a user they cannot resolve.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let run = |tool: &str, args: &[&str], conf: &str| {
        let conf = deploy(conf).canonicalize().unwrap();
        let out = Command::new(tool)
            .args(args)
            .arg(format!("--root={}", root.path().display()))
            .arg(&conf)
            .output()
            .unwrap_or_else(|e| panic!("{tool} must be installed (Debian package systemd): {e}"));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{tool}: {err}");
    };
    run("systemd-sysusers", &[], "sysusers.d/sealpost.conf");
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    assert!(passwd.contains("sealpost:x:"), "{passwd}");
    run(
        "systemd-tmpfiles",
        &["--create"],
        "tmpfiles.d/sealpost.conf",
    );
    use std::os::unix::fs::PermissionsExt;
    for dir in ["keys", "certs", "accounts"] {
        let meta = std::fs::metadata(root.path().join("etc/sealpost").join(dir)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{dir}");
    }
    assert!(!root.path().join("var/lib/sealpost").exists());
}

/// The system calls a group (`@system-service`) or a name stands for, as
/// `systemd-analyze syscall-filter` lists them, nested groups expanded.
fn syscalls(entry: &str, out: &mut BTreeSet<String>) {
    if !entry.starts_with('@') {
        out.insert(entry.to_string());
        return;
    }
    let list = Command::new("systemd-analyze")
        .args(["syscall-filter", entry])
        .output()
        .expect("systemd-analyze must be installed (Debian package systemd)");
    assert!(list.status.success(), "syscall-filter {entry}");
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    for line in text.lines().skip(1).map(str::trim) {
        if !line.is_empty() && !line.starts_with('#') {
            syscalls(line, out);
        }
    }
}

/// What the unit's `SystemCallFilter=` lines allow: the allow lists'
/// calls, less those of every `~` line (systemd's reading when the first
/// line is an allow list).
fn allowed_by_the_unit() -> BTreeSet<String> {
    let text = std::fs::read_to_string(deploy("sealpost.service")).unwrap();
    let (mut allow, mut deny) = (BTreeSet::new(), BTreeSet::new());
    for value in text
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
    {
        let (set, value) = match value.strip_prefix('~') {
            Some(v) => (&mut deny, v),
            None => (&mut allow, value),
        };
        for entry in value.split_whitespace() {
            syscalls(entry, set);
        }
    }
    assert!(allow.contains("read") && deny.contains("setrlimit"));
    allow.retain(|c| !deny.contains(c));
    allow
}

/// The system calls of a `strace -c` summary (one name a line at the end).
fn counted(summary: &str) -> BTreeSet<String> {
    summary
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .is_some()
        })
        .filter_map(|l| l.split_whitespace().last())
        .filter(|name| *name != "total")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_unit_allows_every_system_call_serve_makes() {
    use smtp_support::*;
    let allowed = allowed_by_the_unit();
    let site = site("");
    let summary = site.path("strace.txt");
    let out = summary.display().to_string();
    let mut server = Server::start_under(&site.config, &["strace", "-f", "-qq", "-c", "-o", &out]);
    // The traced server is strace's child.
    let tracer = server.child.id();
    let children =
        std::fs::read_to_string(format!("/proc/{tracer}/task/{tracer}/children")).unwrap();
    let pid = children
        .split_whitespace()
        .next()
        .expect("sealpost under strace")
        .to_string();

    submit_as_alice(&site, &server, "submission", "bob@example.net", "filtered");
    assert!(wait_for(std::time::Duration::from_secs(10), || {
        count(&site, &server, "bob@example.net", "filtered") == 1
    }));
    let listed = site.cli(&["account", "list"], "");
    assert!(
        listed.stdout.contains("bob@example.net"),
        "{}",
        listed.stderr
    );
    let kill = |sig: &str| {
        let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(ok.success());
    };
    kill("-HUP");
    let reloaded = "reloaded certificates and accounts";
    assert!(
        server.wait_log(reloaded, std::time::Duration::from_secs(10)),
        "{}",
        server.log()
    );
    kill("-TERM");
    // strace ends with the server, with its exit status.
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", server.log());
    let made = counted(&std::fs::read_to_string(&summary).unwrap());
    assert!(
        made.contains("fdatasync") && made.contains("accept4"),
        "{made:?}"
    );
    let refused: Vec<&String> = made.iter().filter(|c| !allowed.contains(*c)).collect();
    assert!(
        refused.is_empty(),
        "the unit's SystemCallFilter= refuses (EPERM) {refused:?}, which serve made"
    );
}
