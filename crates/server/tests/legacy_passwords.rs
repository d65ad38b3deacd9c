//! Password hashes kept from Dovecot, through the real binary: an account
//! with a SHA512-CRYPT hash logs in over IMAP (imaplib) and the accounts
//! file then holds argon2id, comments kept, the change audited;
//! `sealpost import-accounts` creates accounts from a Dovecot passwd-file
//! whose users then log in over IMAP and POP3, and refuses plain text and
//! unsalted hashes, naming the line, without writing anything.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::time::Duration;

/// `doveadm pw -s SHA512-CRYPT -p 'correct horse'` (Dovecot 2.3.19).
const SHA512: &str = "{SHA512-CRYPT}$6$CnNX5CchjCoIqTjO$2iQA5UoVkfr9HuqcNY9UhPzUtWvh9dqoSxJ0TiNdp1ra6IDyGUEcqKOD8ctAnmSEDGtYLM6XsZyLWUhMn2jTy0";
/// `doveadm pw -s BLF-CRYPT -r 5 -p 'correct horse'`.
const BLF: &str = "{BLF-CRYPT}$2y$05$tnrt.dbz12.8g/.yBonLUOoliJfveiOqEfuVqHa3vLnWVoSMeiCpm";
/// `doveadm pw -s SSHA512 -p 'correct horse'`.
const SSHA512: &str = "{SSHA512}koRNV0yZC2X/L+v1+yYGzFnISGe4cTNUrAlw3JSNgXKidtJiO6VAuIcHRpdrAr2uRs3p02xQvMAtduN6yE7ajlaikkY=";
const LEGACY_PW: &str = "correct horse";

/// Logs in over IMAPS and POP3S with imaplib and poplib; prints one line
/// per protocol: `imap OK` or `imap NO ...`.
const LOGIN: &str = r#"
import imaplib, poplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
try:
    m.login(a["user"], a["password"])
    m.select("INBOX")
    print("imap OK")
    m.logout()
except imaplib.IMAP4.error as e:
    print("imap NO", e)
p = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx)
try:
    p.user(a["user"])
    p.pass_(a["password"])
    print("pop3 OK")
    p.quit()
except poplib.error_proto as e:
    print("pop3 NO", e)
"#;

fn login(site: &Site, server: &Server, user: &str, password: &str) -> String {
    let args = script_args(
        site,
        server,
        serde_json::json!({"user": user, "password": password}),
    );
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

fn accounts(site: &Site) -> String {
    std::fs::read_to_string(site.path("accounts.toml")).unwrap()
}

#[test]
fn a_sha512_crypt_account_logs_in_over_imap_and_is_rehashed_to_argon2id() {
    let site = Site::new("");
    let text = format!(
        "# moved from Dovecot on 2026-12-03\n[[account]]\naddress = \"old@example.org\"\npassword = \"{SHA512}\" # from /etc/dovecot/users\n"
    );
    std::fs::write(site.path("accounts.toml"), &text).unwrap();
    let server = site.start();

    let wrong = login(&site, &server, "old@example.org", "correct horsE");
    assert!(
        wrong.contains("imap NO") && wrong.contains("pop3 NO"),
        "{wrong}"
    );
    assert_eq!(accounts(&site), text, "a failed login changed the file");

    let ok = login(&site, &server, "old@example.org", LEGACY_PW);
    assert_eq!(ok, "imap OK\npop3 OK\n");
    let mut now = String::new();
    assert!(
        wait_for(Duration::from_secs(10), || {
            now = accounts(&site);
            now.contains("$argon2id$")
        }),
        "never rehashed:\n{now}\nserver log:\n{}",
        server.log()
    );
    assert!(!now.contains("SHA512-CRYPT"), "{now}");
    assert!(
        now.starts_with("# moved from Dovecot on 2026-12-03\n"),
        "{now}"
    );
    assert!(now.contains("\" # from /etc/dovecot/users\n"), "{now}");

    // The change is audited, naming both schemes.
    let mut rows = Vec::new();
    assert!(
        wait_for(Duration::from_secs(10), || {
            rows = audit_rows(&site, &["--kind", "account"]);
            rows.iter().any(|r| {
                r["event"] == "account_changed"
                    && r["account"] == "old@example.org"
                    && r["details"].contains("password (SHA512-CRYPT -> ARGON2ID)")
            })
        }),
        "{rows:?}"
    );
    // The same password still works (now against argon2id); a wrong one not.
    assert_eq!(
        login(&site, &server, "old@example.org", LEGACY_PW),
        "imap OK\npop3 OK\n"
    );
    assert!(login(&site, &server, "old@example.org", "nope").contains("imap NO"));
    server.stop();
    verify_ok(&site);
}

#[test]
fn import_accounts_keeps_dovecot_hashes_and_users_log_in() {
    let site = Site::new("");
    let passwd = site.path("users");
    std::fs::write(
        &passwd,
        format!(
            "# Dovecot passwd-file\nbob:{BLF}:1000:1000::/var/mail/bob::userdb_quota_rule=*:storage=1G\ncarol@example.net:{SSHA512}::\n"
        ),
    )
    .unwrap();
    let out = site.cli(
        &[
            "import-accounts",
            "--dovecot-passwd",
            passwd.to_str().unwrap(),
            "--domain",
            "example.org",
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("imported 2 account(s) from "),
        "{}",
        out.stdout
    );
    let list = site.cli(&["account", "list"], "");
    assert!(
        list.stdout.contains("bob@example.org") && list.stdout.contains("carol@example.net"),
        "{}",
        list.stdout
    );
    let server = site.start();
    for user in ["bob@example.org", "carol@example.net"] {
        assert_eq!(login(&site, &server, user, LEGACY_PW), "imap OK\npop3 OK\n");
    }
    assert!(
        wait_for(Duration::from_secs(10), || {
            accounts(&site).matches("$argon2id$").count() == 2
        }),
        "{}",
        accounts(&site)
    );
    server.stop();
    let rows = audit_rows(&site, &["--kind", "account"]);
    for user in ["bob@example.org", "carol@example.net"] {
        assert_eq!(
            rows.iter()
                .filter(|r| r["event"] == "account_created" && r["account"] == user)
                .count(),
            1,
            "{rows:?}"
        );
    }
}

#[test]
fn import_accounts_refuses_plain_and_unsalted_hashes_and_writes_nothing() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let before = accounts(&site);
    let cases = [
        (
            format!("bob@example.org:{BLF}\ndan@example.org:{{PLAIN}}hunter2\n"),
            ":2: dan@example.org: `{PLAIN}` is a plain text password and is refused",
        ),
        (
            "dan@example.org:{MD5}X03MO1qnZdYdgyfeuILPmQ==\n".to_string(),
            ":1: dan@example.org: `{MD5}` is an unsalted",
        ),
        (
            format!("bob@example.org:{BLF}\nalice@example.org:{SSHA512}\n"),
            ":2: account alice@example.org exists already (nothing imported)",
        ),
        (format!("bob:{BLF}\n"), ":1: user `bob` has no domain"),
        (
            format!("bob@elsewhere.example:{BLF}\n"),
            "domain `elsewhere.example` is not hosted here",
        ),
    ];
    for (text, want) in cases {
        let passwd = site.path("users");
        std::fs::write(&passwd, &text).unwrap();
        let out = site.cli(
            &[
                "import-accounts",
                "--dovecot-passwd",
                passwd.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(out.code, 1, "{text}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(want), "want {want:?}:\n{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
        assert_eq!(accounts(&site), before, "{text}");
    }
}
