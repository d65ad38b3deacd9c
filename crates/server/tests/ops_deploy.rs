//! deploy/: the systemd unit passes `systemd-analyze verify` and scores 2.5
//! or better in `systemd-analyze security --offline=yes` (Debian's
//! `systemd` package; the test fails without it), keeps data_dir from
//! being created by systemd, and the sysusers.d/tmpfiles.d files parse.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sealpost");

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
    // The config and the accounts file stay read-only: /etc/sealpost as a
    // whole is not writable, only its keys/ and certs/.
    let rw = directives
        .iter()
        .find(|l| l.starts_with("ReadWritePaths="))
        .unwrap();
    assert!(!rw.split([' ', '=']).any(|p| p == "/etc/sealpost"), "{rw}");
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
    let keys = std::fs::metadata(root.path().join("etc/sealpost/keys")).unwrap();
    assert_eq!(keys.permissions().mode() & 0o777, 0o700);
    assert!(!root.path().join("var/lib/sealpost").exists());
}
