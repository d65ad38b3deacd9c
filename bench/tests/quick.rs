//! The load generator's quick mode against a real sealpost binary that this
//! test starts itself on free loopback ports (no Dovecot/Postfix: the peers
//! are for `bench/run`). It proves every workload speaks the protocols end to
//! end and reports plausible numbers; it does not judge speed.
//!
//! The sealpost binary comes from another package, so it is located in
//! target/{debug,release} (newest first) or built with `cargo build -p
//! sealpost` when absent.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LOADGEN: &str = env!("CARGO_BIN_EXE_sealpost-bench");
const PASS: &str = "bench-password";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

fn sealpost_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let newest = |target: &Path| {
        ["debug", "release"]
            .iter()
            .map(|p| target.join(p).join("sealpost"))
            .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
            .max()
            .map(|(_, p)| p)
    };
    if let Some(p) = newest(&target) {
        return p;
    }
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "sealpost"])
        .current_dir(workspace())
        .status()
        .expect("running cargo build -p sealpost");
    assert!(status.success(), "cargo build -p sealpost failed");
    newest(&target).expect("sealpost binary after cargo build")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the load generator; returns its RESULT lines as metric -> value.
fn loadgen(args: &[&str]) -> HashMap<String, f64> {
    let out = Command::new(LOADGEN)
        .args(args)
        .output()
        .expect("running sealpost-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sealpost-bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "RESULT").then_some(())?;
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
fn quick_mode_against_real_sealpost() {
    let bin = sealpost_binary();
    let dir = tempfile::tempdir().unwrap();
    let (imaps, pop3s, smtp) = (free_port(), free_port(), free_port());
    let config = dir.path().join("sealpost.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
hostname = "localhost"
data_dir = "data"
accounts = "accounts.toml"
master_key = "keys/master.key"
audit_signing_key = "keys/audit-signing.key"
[tls]
cert = "certs/cert.pem"
key = "certs/key.pem"
[listen]
imaps = ["127.0.0.1:{imaps}"]
pop3s = ["127.0.0.1:{pop3s}"]
smtp = ["127.0.0.1:{smtp}"]
[smtp.dns]
static_only = true
[[domain]]
name = "bench.test"
"#
        ),
    )
    .unwrap();
    for user in ["u1", "u2", "p1", "big"] {
        let mut add = Command::new(&bin)
            .args(["-c", config.to_str().unwrap(), "account", "add"])
            .arg(format!("{user}@bench.test"))
            .arg("--password-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(add.stdin.take().unwrap(), "{PASS}").unwrap();
        assert!(add.wait().unwrap().success(), "account add {user}");
    }
    let log = dir.path().join("serve.log");
    let child = Command::new(&bin)
        .args(["-c", config.to_str().unwrap(), "serve"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("serve.err")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let _server = Server { child };
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(dir.path().join("serve.err")).unwrap_or_default();
        if text.contains("sealpost is running") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "sealpost did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let imap = format!("127.0.0.1:{imaps}");
    let pop3 = format!("127.0.0.1:{pop3s}");
    let smtp = format!("127.0.0.1:{smtp}");

    loadgen(&["fill", "--imap", &imap, "--users", "2", "--count", "3"]);
    loadgen(&[
        "fill",
        "--imap",
        &imap,
        "--user-fmt",
        "p{}@bench.test",
        "--users",
        "1",
        "--count",
        "5",
        "--size",
        "16384",
    ]);
    loadgen(&[
        "fill",
        "--imap",
        &imap,
        "--user-fmt",
        "big@bench.test",
        "--users",
        "1",
        "--count",
        "150",
        "--size",
        "1024",
        "--window",
        "32",
    ]);

    let r = loadgen(&[
        "imap-mixed",
        "--imap",
        &imap,
        "--users",
        "2",
        "--clients",
        "2",
        "--sessions",
        "6",
        "--secs",
        "60",
        "--keep",
        "3",
    ]);
    assert!(r["imap_mixed_ops_per_s"] > 0.0, "{r:?}");
    assert!(r["imap_mixed_sessions_per_s"] > 0.0, "{r:?}");
    // 6 sessions of 8 commands each (LOGIN..LOGOUT; mailboxes are never
    // empty), from the counts: two rates over one window are not exact.
    let sessions = r["imap_mixed_sessions"];
    assert_eq!(sessions, 6.0, "{r:?}");
    let ratio = r["imap_mixed_commands"] / sessions;
    assert!(
        (ratio - 8.0).abs() < 0.01,
        "commands per session {ratio}: {r:?}"
    );
    for cmd in [
        "login",
        "select",
        "fetch_flags",
        "fetch_body",
        "store",
        "append",
        "expunge",
    ] {
        let (p50, p99) = (
            r[&format!("imap_mixed_{cmd}_p50")],
            r[&format!("imap_mixed_{cmd}_p99")],
        );
        assert!(p50 > 0.0 && p99 >= p50, "{cmd}: {r:?}");
    }

    // Persistent sessions, every command on its own and the mix: each
    // reports its rate and latencies; --reset-to gives every run the same
    // INBOX (4 messages) and an empty Archive.
    for only in [
        "mix",
        "select",
        "fetch-flags",
        "fetch-envelope",
        "fetch-body",
        "fetch-partial",
        "search",
        "store",
        "append",
        "list",
        "status",
        "copy",
        "move",
        "expunge",
        "idle",
    ] {
        let r = loadgen(&[
            "imap-persistent",
            "--imap",
            &imap,
            "--users",
            "2",
            "--per-user",
            "2",
            "--ops",
            "6",
            "--secs",
            "60",
            "--keep",
            "2",
            "--reset-to",
            "4",
            "--only",
            only,
        ]);
        let name = format!("imap_persistent_{}", only.replace('-', "_"));
        // 4 sessions x 6 commands (IDLE: 2 pairs x 6 wake-ups, each with
        // its APPEND); EXPUNGE and MOVE add what keeps them going.
        let commands = r[&format!("{name}_commands")];
        assert!(commands >= 24.0, "{only}: {r:?}");
        assert!(r[&format!("{name}_ops_per_s")] > 0.0, "{only}: {r:?}");
        if only == "mix" {
            let drawn = r
                .keys()
                .filter(|k| k.starts_with("imap_persistent_mix_") && k.ends_with("_p50"))
                .count();
            assert!(drawn >= 2, "{r:?}");
        } else {
            let (p50, p99) = (r[&format!("{name}_p50")], r[&format!("{name}_p99")]);
            assert!(p50 > 0.0 && p99 >= p50, "{only}: {r:?}");
        }
        if only == "idle" {
            assert_eq!(commands, 24.0, "{r:?}");
        }
    }

    let r = loadgen(&[
        "pop3",
        "--pop3",
        &pop3,
        "--user-fmt",
        "p{}@bench.test",
        "--users",
        "1",
        "--clients",
        "2",
        "--logins",
        "4",
        "--retr-sessions",
        "2",
    ]);
    assert!(r["pop3_logins_per_s"] > 0.0, "{r:?}");
    assert!(
        r["pop3_retr_mb_per_s"] > 0.0 && r["pop3_retr_msgs_per_s"] > 0.0,
        "{r:?}"
    );

    let r = loadgen(&[
        "smtp",
        "--smtp",
        &smtp,
        "--imap",
        &imap,
        "--users",
        "2",
        "--sessions",
        "2",
        "--messages",
        "6",
        "--size",
        "2048",
        "--secs",
        "60",
    ]);
    assert!(r["smtp_delivered_msgs_per_s"] > 0.0, "{r:?}");
    assert!(
        r["smtp_accepted_msgs_per_s"] >= r["smtp_delivered_msgs_per_s"],
        "{r:?}"
    );

    let r = loadgen(&[
        "imap-large",
        "--imap",
        &imap,
        "--user",
        "big@bench.test",
        "--rounds",
        "2",
    ]);
    assert_eq!(r["imap_large_messages"], 150.0, "{r:?}");
    assert!(r["imap_large_select_ms"] > 0.0 && r["imap_large_fetch_flags_ms"] > 0.0);

    let r = loadgen(&[
        "imap-idle",
        "--imap",
        &imap,
        "--users",
        "2",
        "--conns",
        "10",
        "--pid",
        &pid,
        "--mem",
        "rss",
        "--settle",
        "1",
    ]);
    assert!(r.contains_key("imap_idle_kib_per_conn"), "{r:?}");

    // The report reads what bench/run stores and compares both servers.
    let results = dir.path().join("results/1");
    for who in ["sealpost", "peer"] {
        std::fs::create_dir_all(results.join(who)).unwrap();
        let out = Command::new(LOADGEN)
            .args([
                "imap-large",
                "--imap",
                &imap,
                "--user",
                "big@bench.test",
                "--rounds",
                "1",
            ])
            .output()
            .unwrap();
        std::fs::write(results.join(who).join("imap-large.out"), out.stdout).unwrap();
    }
    let out = Command::new(LOADGEN)
        .args([
            "report",
            "--dir",
            dir.path().join("results").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        table.contains("| imap_large_messages | messages | 150 | 150 | - | 1/1 |"),
        "{table}"
    );
    assert!(table.contains("| imap_large_select_ms | ms |"), "{table}");
}

#[test]
fn audit_fill_writes_a_log_the_real_cli_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = loadgen(&[
        "audit-fill",
        "--dir",
        d.join("data/audit").to_str().unwrap(),
        "--key",
        d.join("keys/audit.key").to_str().unwrap(),
        "--mb",
        "2",
    ]);
    assert!(r["audit_fill_mb"] >= 2.0, "{r:?}");
    let records = r["audit_fill_records"];
    std::fs::write(
        d.join("sealpost.toml"),
        "[server]\ndata_dir = \"data\"\nmaster_key = \"keys/master.key\"\naudit_signing_key = \"keys/audit.key\"\n",
    )
    .unwrap();
    let out = Command::new(sealpost_binary())
        .arg("-c")
        .arg(d.join("sealpost.toml"))
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("{records} record(s)")), "{text}");
}
