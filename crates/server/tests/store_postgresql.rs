//! The real binary over PostgreSQL: refusing to start on a database that
//! is not ready (one line each), `sealpost store migrate-schema`, each
//! protocol's temporary error while the database is away and service
//! resuming by itself, and `sealpost store copy` from an embedded store.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`, which `.ci/run` runs);
//! fails without it. The outage test starts its own instance with the same
//! script, so stopping it disturbs no other test.

mod common;
mod pg_support;

use common::*;
use pg_support::*;
use sealpost_store::testing;
use std::time::{Duration, Instant};

/// A site whose store is the PostgreSQL database at `url`.
fn pg_site(url: &str) -> Site {
    let site = Site::new(&format!(
        "[store]\nbackend = \"postgresql\"\nurl = \"{url}\"\npool_size = 4\nstatement_timeout_secs = 10\nconnect_timeout_secs = 2\n"
    ));
    site.add_account("alice@example.org");
    site
}

fn serve_refused(site: &Site) -> CliOutput {
    let out = std::process::Command::new(BIN)
        .arg("-c")
        .arg(&site.config)
        .arg("serve")
        .output()
        .unwrap();
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one `sealpost: ...` line a refused start prints.
fn failure_line(out: &CliOutput) -> String {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("sealpost: "))
        .collect();
    assert_eq!(lines.len(), 1, "one failure line: {}", out.stderr);
    lines[0].to_string()
}

#[test]
fn an_unmigrated_database_refuses_to_start_until_migrate_schema() {
    if std::env::var("SEALPOST_E2E_STORE").is_ok() {
        // The [store] section is this test's own.
        return;
    }
    let pg = testing::fresh_unmigrated_database();
    let site = pg_site(&pg.url);
    let out = serve_refused(&site);
    assert_ne!(out.code, 0);
    let line = failure_line(&out);
    assert!(
        line.contains("no sealpost schema") && line.contains("migrate-schema"),
        "{line}"
    );
    assert!(
        !site.path("data/db").exists(),
        "no embedded store made on the side"
    );
    let out = site.cli(&["store", "migrate-schema"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains("from version 0 to 2"), "{}", out.stdout);
    let out = site.cli(&["store", "migrate-schema"], "");
    assert!(
        out.stdout.contains("already at version 2"),
        "{}",
        out.stdout
    );
    let server = site.start();
    assert!(
        server.log().contains("backend=\"postgresql\""),
        "{}",
        server.log()
    );
}

#[test]
fn a_database_that_is_down_refuses_to_start_with_one_line() {
    if std::env::var("SEALPOST_E2E_STORE").is_ok() {
        return;
    }
    testing::admin();
    let site = pg_site("postgresql://postgres@127.0.0.1:1/postgres");
    let out = serve_refused(&site);
    assert_ne!(out.code, 0);
    let line = failure_line(&out);
    assert!(
        line.contains("unavailable") && line.contains("127.0.0.1:1"),
        "{line}"
    );
}

fn try_protocols(site: &Site, server: &Server, subject: &str) -> serde_json::Value {
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "pop3s": server.addr("pop3s").port(),
        "smtp": server.addr("smtp").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
        "subject": subject,
    });
    let out = python("store_outage.py", &[&args.to_string()]);
    assert!(out.ok(), "store_outage.py: {}{}", out.stdout, out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap()
}

#[test]
fn a_database_outage_gives_temporary_errors_and_service_resumes_by_itself() {
    if std::env::var("SEALPOST_E2E_STORE").is_ok() {
        return;
    }
    let pg = Instance::start();
    let site = pg_site(&pg.url);
    assert!(site.cli(&["store", "migrate-schema"], "").ok());
    let server = site.start();
    let up = try_protocols(&site, &server, "before");
    assert!(up["imap"].as_str().unwrap().starts_with("OK"), "{up}");
    assert_eq!(up["smtp"], "250", "{up}");
    assert!(up["pop3"].as_str().unwrap().starts_with("+OK"), "{up}");

    pg_sh(&["pause", &pg.path()]);
    let down = try_protocols(&site, &server, "during");
    let imap = down["imap"].as_str().unwrap();
    assert!(
        imap.starts_with("NO") && imap.contains("[UNAVAILABLE]"),
        "{down}"
    );
    let smtp = down["smtp"].as_str().unwrap();
    assert!(smtp.starts_with("451") && smtp.contains("4.3.0"), "{down}");
    let pop3 = down["pop3"].as_str().unwrap();
    assert!(
        pop3.starts_with("-ERR") && pop3.contains("[SYS/TEMP]"),
        "{down}"
    );

    pg_sh(&["resume", &pg.path()]);
    // No restart of sealpost: the pool reconnects on its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    let again = loop {
        let r = try_protocols(&site, &server, "after");
        if r["smtp"] == "250" || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(again["imap"].as_str().unwrap().starts_with("OK"), "{again}");
    assert_eq!(again["smtp"], "250", "{again}");
    assert!(
        again["pop3"].as_str().unwrap().starts_with("+OK"),
        "{again}"
    );
    // What was acknowledged is there; what was refused is not.
    let subjects = run_imap_subjects(&site, &server);
    assert_eq!(
        subjects.iter().filter(|s| s.as_str() == "before").count(),
        2,
        "{subjects:?}"
    );
    assert_eq!(
        subjects.iter().filter(|s| s.as_str() == "during").count(),
        0,
        "{subjects:?}"
    );
    assert!(
        subjects.iter().filter(|s| s.as_str() == "after").count() >= 2,
        "{subjects:?}"
    );
}

/// Subjects of INBOX, read with imaplib through `imap_basic`-style FETCH.
fn run_imap_subjects(site: &Site, server: &Server) -> Vec<String> {
    let script = format!(
        "import imaplib, ssl\nctx = ssl.create_default_context(cafile={cafile:?})\nctx.check_hostname = False\n\
         m = imaplib.IMAP4_SSL('127.0.0.1', {port}, ssl_context=ctx)\nm.login('alice@example.org', {pw:?})\n\
         m.select('INBOX')\ntyp, data = m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')\n\
         for d in data:\n    if isinstance(d, tuple): print(d[1].decode().strip().split(': ', 1)[1])\nm.logout()\n",
        cafile = site.path("certs/cert.pem").display().to_string(),
        port = server.addr("imaps").port(),
        pw = PASSWORD,
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn store_copy_moves_an_embedded_store_into_postgresql() {
    if std::env::var("SEALPOST_E2E_STORE").is_ok() {
        return;
    }
    let site = Site::new("");
    site.add_account("alice@example.org");
    {
        let server = site.start();
        let up = try_protocols(&site, &server, "kept");
        assert_eq!(up["smtp"], "250", "{up}");
        server.stop();
    }
    let pg = testing::fresh_unmigrated_database();
    // Not migrated yet: refused with what to do.
    let out = site.cli(&["store", "copy", "--to", &pg.url], "");
    assert!(
        !out.ok() && out.stderr.contains("migrate-schema"),
        "{}",
        out.stderr
    );
    assert!(
        site.cli(&["store", "migrate-schema", "--url", &pg.url], "")
            .ok()
    );
    let out = site.cli(&["store", "copy", "--to", &pg.url], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stderr.contains("account 1/1"),
        "progress per account: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("1 account(s)")
            && out.stdout.contains("2 message(s)")
            && out.stdout.contains("verified"),
        "{}",
        out.stdout
    );
    // The same site, now serving from PostgreSQL, has the mail.
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!(
            "{text}\n[store]\nbackend = \"postgresql\"\nurl = \"{}\"\n",
            pg.url
        ),
    )
    .unwrap();
    std::fs::rename(site.path("data/db"), site.path("data/db.embedded")).unwrap();
    let server = site.start();
    let subjects = run_imap_subjects(&site, &server);
    assert_eq!(subjects, vec!["kept", "kept"], "{subjects:?}");
}
