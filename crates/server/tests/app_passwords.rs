//! App passwords through the real binary: `account app-password add`
//! prints one once; imaplib, poplib and smtplib (submission) log in with
//! it; the audit log names it by label and never holds it; `list` shows
//! it; `remove` revokes it at once while the account's password goes on
//! working.

mod audit_support;
mod common;

use audit_support::*;
use common::*;

/// Logs in with imaplib (IMAPS), poplib (POP3S) and smtplib (submissions,
/// AUTH PLAIN) and prints `imap OK|NO`, `pop3 OK|NO`, `smtp OK|NO`.
const LOGIN: &str = r#"
import imaplib, poplib, smtplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
try:
    m.login(a["user"], a["password"]); print("imap OK"); m.logout()
except imaplib.IMAP4.error:
    print("imap NO")
p = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx)
try:
    p.user(a["user"]); p.pass_(a["password"]); print("pop3 OK"); p.quit()
except poplib.error_proto:
    print("pop3 NO")
s = smtplib.SMTP_SSL("127.0.0.1", a["submissions"], context=ctx, timeout=20)
try:
    s.login(a["user"], a["password"])
    s.sendmail(a["user"], [a["user"]], "From: " + a["user"] + "\r\nSubject: via app password\r\n\r\nhello\r\n")
    print("smtp OK")
except smtplib.SMTPAuthenticationError:
    print("smtp NO")
s.quit()
"#;

fn login(site: &Site, server: &Server, password: &str) -> String {
    let args = script_args(site, server, serde_json::json!({"password": password}));
    let out = std::process::Command::new("python3")
        .args(["-c", LOGIN, &args])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ALL_OK: &str = "imap OK\npop3 OK\nsmtp OK\n";
const ALL_NO: &str = "imap NO\npop3 NO\nsmtp NO\n";

fn add(site: &Site, label: &str) -> String {
    let out = site.cli(
        &[
            "account",
            "app-password",
            "add",
            "alice@example.org",
            "--label",
            label,
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    let password = out.stdout.trim().to_string();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert_eq!(password.len(), 29, "{password}");
    password
}

#[test]
fn app_passwords_work_on_every_protocol_are_audited_by_label_and_revoked() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let phone = add(&site, "phone");
    let server = site.start();
    let laptop = add(&site, "laptop");
    let list = site.cli(
        &["account", "app-password", "list", "alice@example.org"],
        "",
    );
    assert!(list.ok(), "{}", list.stderr);
    let labels: Vec<&str> = list
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(labels, ["phone", "laptop"]);
    assert!(!list.stdout.contains(&phone) && !list.stdout.contains("argon2"));

    assert_eq!(login(&site, &server, &phone), ALL_OK);
    assert_eq!(login(&site, &server, &laptop), ALL_OK);
    assert_eq!(login(&site, &server, PASSWORD), ALL_OK);

    let out = site.cli(
        &[
            "account",
            "app-password",
            "remove",
            "alice@example.org",
            "--label",
            "phone",
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(login(&site, &server, &phone), ALL_NO);
    assert_eq!(login(&site, &server, &laptop), ALL_OK);
    assert_eq!(login(&site, &server, PASSWORD), ALL_OK);
    server.stop();

    let rows = audit_rows(&site, &["--kind", "login"]);
    let successes = |label: &str| {
        rows.iter()
            .filter(|r| {
                r["account"] == "alice@example.org"
                    && r["outcome"] == "success"
                    && r["details"]
                        .split("; ")
                        .any(|d| d == format!("app_password={label}"))
            })
            .count()
    };
    // IMAP, POP3 and submission, each time it worked.
    assert_eq!(successes("phone"), 3, "{rows:?}");
    assert_eq!(successes("laptop"), 6, "{rows:?}");
    let own = rows
        .iter()
        .filter(|r| r["outcome"] == "success" && !r["details"].contains("app_password"))
        .count();
    assert_eq!(own, 6, "{rows:?}");
    let csv = site.cli(&["audit", "export", "--csv"], "");
    assert!(csv.ok(), "{}", csv.stderr);
    assert!(!csv.stdout.contains(&phone) && !csv.stdout.contains(&laptop));
    let changes = audit_rows(&site, &["--kind", "account"]);
    assert!(
        changes.iter().any(
            |r| r["event"] == "account_changed" && r["details"].contains("app passwords +0 -1")
        ),
        "{changes:?}"
    );
    verify_ok(&site);
}

#[test]
fn app_password_commands_refuse_bad_input_in_one_line() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    add(&site, "phone");
    let before = std::fs::read_to_string(site.path("accounts.toml")).unwrap();
    for (args, want) in [
        (
            vec!["add", "alice@example.org", "--label", "phone"],
            "already",
        ),
        (
            vec!["add", "alice@example.org", "--label", ""],
            "label is empty",
        ),
        (
            vec!["add", "nobody@example.org", "--label", "x"],
            "no account nobody@example.org",
        ),
        (
            vec!["remove", "alice@example.org", "--label", "tablet"],
            "labelled `tablet`",
        ),
        (vec!["list", "nobody@example.org"], "no account"),
    ] {
        let mut full = vec!["account", "app-password"];
        full.extend(&args);
        let out = site.cli(&full, "");
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(want),
            "{args:?}: want {want:?} in {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert_eq!(
            std::fs::read_to_string(site.path("accounts.toml")).unwrap(),
            before
        );
    }
}
