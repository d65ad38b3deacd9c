//! The login mechanism in the audit record and the operational log line:
//! real clients log in every way sealpost offers (imaplib LOGIN and
//! AUTHENTICATE PLAIN, poplib USER/PASS and AUTH PLAIN, smtplib AUTH PLAIN
//! and AUTH LOGIN, one wrong password), and each attempt's record and
//! `event="login"` line name how.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::time::Duration;

/// Logs in each way, prints one line per attempt as it went.
const LOGINS: &str = r#"
import base64, imaplib, poplib, smtplib, ssl, sys, json
a = json.loads(sys.argv[1])
user, pw = a["user"], a["password"]
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(user, pw); m.logout(); print("imap LOGIN ok")
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, pw)).encode()); m.logout()
print("imap PLAIN ok")
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
try:
    m.login(user, "wrong")
    sys.exit("a wrong password logged in")
except imaplib.IMAP4.error:
    print("imap LOGIN refused")
m.logout()
p = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx)
p.user(user); p.pass_(pw); p.quit(); print("pop3 USER ok")
p = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx)
ir = base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
r = p._shortcmd("AUTH PLAIN " + ir)
p.quit(); print("pop3 PLAIN ok")
for mech in ["PLAIN", "LOGIN"]:
    s = smtplib.SMTP_SSL("127.0.0.1", a["submissions"], context=ctx, timeout=20)
    s.ehlo()
    s.user, s.password = user, pw
    s.auth(mech, getattr(s, "auth_" + mech.lower()))
    s.quit(); print("smtp %s ok" % mech)
"#;

#[test]
fn each_login_names_its_mechanism_in_the_audit_record_and_the_log_line() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let server = site.start();
    let args = script_args(&site, &server, serde_json::json!({}));
    let out = std::process::Command::new("python3")
        .args(["-c", LOGINS, &args])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let want = [
        ("imap", "success", "LOGIN"),
        ("imap", "success", "PLAIN"),
        ("imap", "failure", "LOGIN"),
        ("pop3", "success", "USER"),
        ("pop3", "success", "PLAIN"),
        ("submission", "success", "PLAIN"),
        ("submission", "success", "LOGIN"),
    ];
    for (protocol, result, mechanism) in want {
        let line = format!("protocol=\"{protocol}\" result=\"{result}\"");
        let found = server.wait_log(&line, Duration::from_secs(5))
            && server.log().lines().any(|l| {
                l.contains("event=\"login\"")
                    && l.contains(&line)
                    && l.contains(&format!("mechanism=\"{mechanism}\""))
            });
        assert!(
            found,
            "no {protocol} {result} {mechanism} line in\n{}",
            server.log()
        );
    }
    server.stop();
    let rows = audit_rows(&site, &["--kind", "login"]);
    for (protocol, result, mechanism) in want {
        let n = rows
            .iter()
            .filter(|r| {
                r["protocol"] == protocol
                    && r["outcome"] == result
                    && r["details"]
                        .split("; ")
                        .any(|d| d == format!("mechanism={mechanism}"))
            })
            .count();
        assert_eq!(n, 1, "{protocol} {result} {mechanism}: {rows:?}");
    }
}
