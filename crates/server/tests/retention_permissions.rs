//! Every file sealpost creates is 0600 and every folder 0700, whatever the
//! umask it runs under; files made more open by someone else are named by
//! `check-config` and `serve`, one line each.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

/// `sh -c 'umask 022; exec sealpost ARGS'`: the umask most systems give.
fn umask_022() -> [&'static str; 3] {
    ["sh", "-c", "umask 022; exec \"$0\" \"$@\""]
}

fn cli_022(site: &Site, args: &[&str], stdin: &str) -> CliOutput {
    use std::io::Write;
    let [sh, c, script] = umask_022();
    let mut child = std::process::Command::new(sh)
        .args([c, script, BIN, "-c"])
        .arg(&site.config)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// (path, mode) of everything under `dir`, recursively.
fn modes(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u32, bool)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        out.push((e.path(), meta.permissions().mode() & 0o777, meta.is_dir()));
        if meta.is_dir() {
            modes(&e.path(), out);
        }
    }
}

#[test]
fn retention_every_file_is_0600_and_every_folder_0700_under_umask_022() {
    let site = Site::new(&format!(
        "{NO_DNS}[[smtp.route]]\ndomain = \"example.com\"\nhost = \"127.0.0.1:{}\"\n",
        closed_port()
    ));
    for a in ["alice@example.org", "bob@example.org"] {
        let out = cli_022(
            &site,
            &["account", "add", a, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.ok(), "{}", out.stderr);
    }
    let server = start_wrapped(&site, &umask_022(), &[]);
    // A full exercise: delivery, submission (queued), logins, export,
    // deletion, purge.
    run_script(
        &site,
        &server,
        "smtp_send.py",
        json!({"to": "alice@example.org", "subject": "p"}),
    );
    run_script(
        &site,
        &server,
        "audit_submit.py",
        json!({"to": "carol@example.com"}),
    );
    run_script(&site, &server, "imap_login.py", json!({"subject": "p"}));
    let export = site.path("exports/alice.tar");
    std::fs::create_dir_all(site.path("exports")).unwrap();
    std::fs::set_permissions(site.path("exports"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = cli_022(
        &site,
        &[
            "export",
            "alice@example.org",
            "--out",
            export.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    let out = cli_022(&site, &["account", "delete", "bob@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    let out = cli_022(
        &site,
        &["retention", "run", "--at", &rfc3339(now() + 46 * DAY)],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert!(server.wait_log("sealpost is running", std::time::Duration::from_secs(1)));
    assert!(!server.log().contains("open to others"), "{}", server.log());
    assert_eq!(server.stop(), Some(0));
    let mut all = Vec::new();
    modes(site.dir.path(), &mut all);
    let mut wrong = Vec::new();
    for (path, mode, dir) in &all {
        // The test's own config is not sealpost's.
        if path == &site.config {
            continue;
        }
        let want = if *dir { 0o700 } else { 0o600 };
        if *mode != want {
            wrong.push(format!("{} {mode:o}", path.display()));
        }
    }
    assert!(all.len() > 40, "{all:?}");
    assert!(wrong.is_empty(), "not private: {wrong:#?}");
}

#[test]
fn retention_check_config_and_serve_name_each_file_open_to_others() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    assert_eq!(server.stop(), Some(0));
    let keycheck = site.path("data/keycheck");
    std::fs::set_permissions(&keycheck, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(site.path("data"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = site.cli(&["check-config"], "");
    assert!(out.ok(), "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "file {} is open to others (mode 0644); chmod 600 it",
            keycheck.display()
        ))),
        "{}",
        out.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("folder") && l.contains("(mode 0755); chmod 700 it")),
        "{}",
        out.stderr
    );
    let server = site.start();
    assert!(
        server.wait_log(
            "keycheck is open to others",
            std::time::Duration::from_secs(10)
        ),
        "{}",
        server.log()
    );
    drop(server);
}
