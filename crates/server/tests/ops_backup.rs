//! `sealpost backup` and `restore` through the real binary (#15): a backup
//! taken from a running server under SMTP and IMAP APPEND load (and a
//! client expunging all the while, so blob files are unlinked during the
//! copy) restores into another data_dir where every message acknowledged
//! before the backup began is present and whole, `audit verify` passes and
//! an account purged before the backup has left nothing; a second backup
//! into the same folder copies only the new blobs; restore refuses a
//! non-empty data_dir and a damaged backup; keys only with --include-keys.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const ALICE: &str = "alice@example.org";
const BOB: &str = "bob@example.org";
const CAROL: &str = "carol@example.org";

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// (time, token, user) per acknowledged message.
fn acked(log: &Path) -> Vec<(f64, String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some((
                it.next()?.parse().ok()?,
                it.next()?.to_string(),
                it.next()?.to_string(),
            ))
        })
        .collect()
}

/// The number before `word` in a backup summary ("12 copied").
fn count(summary: &str, word: &str) -> u64 {
    let at = summary
        .find(&format!(" {word}"))
        .unwrap_or_else(|| panic!("{word} in {summary}"));
    let digits: String = summary[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

/// Blob files of a backup folder and their modification times.
fn blob_mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut out = BTreeMap::new();
    for account in std::fs::read_dir(dir.join("blobs")).unwrap() {
        let account = account.unwrap();
        for blob in std::fs::read_dir(account.path()).unwrap() {
            let blob = blob.unwrap();
            out.insert(
                format!(
                    "{}/{}",
                    account.file_name().to_string_lossy(),
                    blob.file_name().to_string_lossy()
                ),
                blob.metadata().unwrap().modified().unwrap(),
            );
        }
    }
    out
}

fn wait_acked(log: &Path, at_least: usize) {
    assert!(
        wait_for(Duration::from_secs(60), || acked(log).len() >= at_least),
        "the load did not reach {at_least} messages"
    );
}

#[test]
fn backup_under_load_restores_every_acknowledged_message() {
    let site = Site::new(NO_DNS);
    for a in [ALICE, BOB, CAROL] {
        site.add_account(a);
    }
    let server = site.start();
    // Carol's mail, then her purge: before any backup.
    run_script(
        &site,
        &server,
        "smtp_send.py",
        json!({"to": CAROL, "subject": "carol-secret", "count": 2}),
    );
    assert!(site.cli(&["account", "delete", CAROL], "").ok());
    let purge = site.cli(
        &["retention", "run", "--at", &rfc3339(now() + 46 * DAY)],
        "",
    );
    assert!(purge.ok(), "{}", purge.stderr);

    let work = tempfile::tempdir().unwrap();
    let (log, stop, out) = (
        work.path().join("acked"),
        work.path().join("stop"),
        work.path().join("backup"),
    );
    let load = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/backup_load.py"))
        .arg(script_args(
            &site,
            &server,
            json!({"users": [ALICE, BOB], "log": log, "stop": stop}),
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    wait_acked(&log, 20);
    let first = site.cli(&["backup", "--out", out.to_str().unwrap()], "");
    assert!(first.ok(), "{}", first.stderr);
    assert!(
        first.stdout.contains("keys not included"),
        "{}",
        first.stdout
    );
    assert!(server.wait_log("event=\"backup_taken\"", Duration::from_secs(5)));
    let before_second_blobs = blob_mtimes(&out);
    assert_eq!(
        count(&first.stdout, "copied") as usize,
        before_second_blobs.len()
    );

    let n = acked(&log).len();
    wait_acked(&log, n + 20);
    let t2 = unix_now();
    let second = site.cli(&["backup", "--out", out.to_str().unwrap()], "");
    assert!(second.ok(), "{}", second.stderr);
    std::fs::write(&stop, "").unwrap();
    let load = load.wait_with_output().unwrap();
    assert!(
        load.status.success(),
        "load: {}{}",
        String::from_utf8_lossy(&load.stdout),
        String::from_utf8_lossy(&load.stderr)
    );

    // Incremental: the blobs of the first backup still held were not
    // copied again (same mtime), and only the others were.
    let after = blob_mtimes(&out);
    let kept: Vec<_> = after
        .iter()
        .filter(|(k, t)| before_second_blobs.get(*k) == Some(t))
        .collect();
    assert!(!kept.is_empty(), "no blob kept: {}", second.stdout);
    assert_eq!(
        count(&second.stdout, "unchanged") as usize,
        kept.len(),
        "{}",
        second.stdout
    );
    assert_eq!(
        count(&second.stdout, "copied") as usize,
        after.len() - kept.len(),
        "{}",
        second.stdout
    );
    assert!(count(&second.stdout, "copied") > 0, "{}", second.stdout);
    assert!(!out.join("keys").exists(), "keys without --include-keys");
    drop(server);

    // Restore elsewhere, with the keys the operator kept apart.
    let other = Site::new(NO_DNS);
    std::fs::create_dir_all(other.path("keys")).unwrap();
    for k in ["master.key", "audit.key"] {
        std::fs::copy(
            site.path(&format!("keys/{k}")),
            other.path(&format!("keys/{k}")),
        )
        .unwrap();
    }
    let restored = other.cli(&["restore", "--from", out.to_str().unwrap()], "");
    assert!(restored.ok(), "{}", restored.stderr);
    assert!(
        restored.stdout.contains("every checksum verified"),
        "{}",
        restored.stdout
    );
    assert!(
        restored.stdout.contains("master key opens it"),
        "{}",
        restored.stdout
    );

    let server = other.start();
    let read = run_script(
        &other,
        &server,
        "backup_check.py",
        json!({"users": [ALICE, BOB]}),
    );
    let present: BTreeSet<(String, String)> = read
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(u, t)| (u.to_string(), t.to_string()))
        .collect();
    let all = acked(&log);
    let must: Vec<_> = all.iter().filter(|(t, _, _)| *t < t2).collect();
    assert!(must.len() >= 40);
    for (_, token, user) in &must {
        assert!(
            present.contains(&(user.clone(), token.clone())),
            "{token} for {user} acknowledged before the backup, missing after restore"
        );
    }
    let known: BTreeSet<_> = all.iter().map(|(_, t, u)| (u.clone(), t.clone())).collect();
    assert!(present.is_subset(&known), "messages nobody sent");
    let carol = run_script(&other, &server, "imap_login.py", json!({"user": CAROL}));
    assert!(carol.starts_with("NO"), "carol logs in: {carol}");
    assert_eq!(server.stop(), Some(0));

    // Carol left nothing: no account, no blob folder, no key file.
    let store = open_store(&other);
    let ids: Vec<String> = store
        .accounts()
        .unwrap()
        .into_iter()
        .inspect(|a| assert_ne!(a.address, CAROL))
        .map(|a| format!("{:016x}", a.id.0))
        .collect();
    drop(store);
    for folder in files_in(&other, "data/blobs") {
        assert!(
            ids.contains(&folder),
            "blob folder {folder} of no live account"
        );
    }
    for key in files_in(&other, "data/account-keys") {
        assert!(
            ids.iter().any(|id| key.starts_with(id.as_str())),
            "key file {key} of no live account"
        );
    }
    let verify = other.cli(&["audit", "verify"], "");
    assert!(
        verify.ok(),
        "audit verify: {}{}",
        verify.stdout,
        verify.stderr
    );

    let again = other.cli(&["restore", "--from", out.to_str().unwrap()], "");
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("is not empty; restore only into an empty data_dir"),
        "{}",
        again.stderr
    );
    assert_eq!(again.stderr.lines().count(), 1, "{}", again.stderr);
}

#[test]
fn keys_only_on_request_and_a_damaged_backup_is_refused() {
    let site = Site::new(NO_DNS);
    site.add_account(ALICE);
    let server = site.start();
    run_script(
        &site,
        &server,
        "smtp_send.py",
        json!({"to": ALICE, "subject": "hello", "count": 3}),
    );
    assert_eq!(server.stop(), Some(0));

    // Offline (no server), keys included: with the warning.
    let work = tempfile::tempdir().unwrap();
    let with_keys = work.path().join("with-keys");
    let out = site.cli(
        &[
            "backup",
            "--out",
            with_keys.to_str().unwrap(),
            "--include-keys",
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stderr.contains("as sensitive as the mail"),
        "{}",
        out.stderr
    );
    let manifest = std::fs::read_to_string(with_keys.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"keys/master.key\""), "{manifest}");
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&with_keys), 0o700);
    assert_eq!(mode(&with_keys.join("keys/master.key")), 0o600);

    // A backup with the keys restores on a bare machine.
    let bare = Site::new(NO_DNS);
    let r = bare.cli(&["restore", "--from", with_keys.to_str().unwrap()], "");
    assert!(r.ok(), "{}", r.stderr);
    assert_eq!(
        std::fs::read(bare.path("keys/master.key")).unwrap(),
        std::fs::read(site.path("keys/master.key")).unwrap()
    );

    // A damaged blob: refused, nothing left in data_dir.
    let plain = work.path().join("plain");
    assert!(
        site.cli(&["backup", "--out", plain.to_str().unwrap()], "")
            .ok()
    );
    let blob = blob_mtimes(&plain).into_keys().next().expect("a blob");
    let path = plain.join("blobs").join(blob);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let other = Site::new(NO_DNS);
    let r = other.cli(&["restore", "--from", plain.to_str().unwrap()], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("does not match the manifest"),
        "{}",
        r.stderr
    );
    assert!(
        files_in(&other, "data").is_empty(),
        "restore left files behind"
    );

    // Each backup is in the audit log.
    let csv = site.cli(&["audit", "export", "--csv", "--kind", "admin"], "");
    assert!(csv.ok(), "{}", csv.stderr);
    assert_eq!(
        csv.stdout.matches("backup_taken").count(),
        2,
        "{}",
        csv.stdout
    );

    // The register says how backups meet crypto-shredding.
    let report = site.cli(&["compliance", "report"], "");
    assert!(report.ok(), "{}", report.stderr);
    assert!(
        report.stdout.contains("a backup taken after a purge holds nothing of the account")
            && report.stdout.contains("as long as the keys that unwrap them (master key, restore key) are not in the backup"),
        "{}",
        report.stdout
    );

    // One writer per folder: while a backup holds `plain` (its flock on
    // the folder, taken here as a backup in progress would), a second
    // backup into it and a restore from it are refused at once, and the
    // backup already there is left whole.
    {
        use rustix::fs::{FlockOperation, flock};
        let held = std::fs::File::open(&plain).unwrap();
        flock(&held, FlockOperation::NonBlockingLockExclusive).unwrap();
        let before = std::fs::read(plain.join("manifest.json")).unwrap();
        let r = site.cli(&["backup", "--out", plain.to_str().unwrap()], "");
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("is in use by a backup being written"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(plain.join("manifest.json")).unwrap(), before);
        let r = Site::new(NO_DNS).cli(&["restore", "--from", plain.to_str().unwrap()], "");
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("is in use by a backup being written"),
            "{}",
            r.stderr
        );
    }

    // A folder that is not a backup is not written into.
    let busy = work.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let r = site.cli(&["backup", "--out", busy.to_str().unwrap()], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("holds no complete sealpost backup"),
        "{}",
        r.stderr
    );
}

#[test]
fn postgresql_backup_is_refused_with_one_line() {
    // The refusal comes before any connection: no database needed.
    let site = Site::new(
        "[store]\nbackend = \"postgresql\"\nurl = \"postgresql://sealpost@127.0.0.1:1/sealpost\"\n",
    );
    let out = site.path("backup");
    let r = site.cli(&["backup", "--out", out.to_str().unwrap()], "");
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("pg_dump or point-in-time recovery"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let r = site.cli(&["restore", "--from", out.to_str().unwrap()], "");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("PostgreSQL backend"), "{}", r.stderr);
}

#[test]
fn a_backup_or_export_the_server_writes_where_this_command_cannot_see_it_is_an_error() {
    // The server in a mount namespace of its own, as deploy/'s unit puts
    // it: a /tmp of its own (PrivateTmp=: a tmpfs over `private/` here)
    // and paths it may not write (ProtectSystem=: `readonly/` bound
    // read-only). Needs root (mount), as CI runs.
    let site = Site::new(NO_DNS);
    site.add_account(ALICE);
    for dir in ["private", "readonly", "ok"] {
        std::fs::create_dir(site.path(dir)).unwrap();
    }
    let root = site.path("");
    let server = Server::start_with_mounts(
        &site.config,
        &root,
        "mount -t tmpfs tmpfs \"$0/private\" && mount --bind \"$0/readonly\" \"$0/readonly\" \
         && mount -o remount,bind,ro \"$0/readonly\"",
    );
    let backup = |dir: &str| {
        let out = site.path(dir).join("backup");
        (
            site.cli(&["backup", "--out", out.to_str().unwrap()], ""),
            out,
        )
    };

    let (r, out) = backup("private");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("but this command does not see it there")
            && r.stderr.contains("/var/backups/sealpost"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());

    let (r, _) = backup("readonly");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);

    let (r, out) = backup("ok");
    assert!(r.ok(), "{}", r.stderr);
    assert!(out.join("manifest.json").is_file());

    // A data export the same way.
    let export = |dir: &str| {
        let out = site.path(dir).join("alice.mbox");
        (
            site.cli(&["export", ALICE, "--out", out.to_str().unwrap()], ""),
            out,
        )
    };
    let (r, out) = export("private");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.starts_with("sealpost: export: the server wrote")
            && r.stderr.contains("but this command does not see it there"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let (r, out) = export("ok");
    assert!(r.ok(), "{}", r.stderr);
    assert!(out.is_file());
    assert_eq!(server.stop(), Some(0));
}
