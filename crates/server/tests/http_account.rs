//! The users' account page (`/account` on the HTTPS listener) on the real
//! server. Browser tests drive a real headless Chromium through selenium
//! (`tests/http_account_browser.py`) and check the effects over IMAP with
//! imaplib: sign-in, the export download and its content, app passwords,
//! a password change, deletion and the purge in the audit log. The curl
//! tests check what a browser does not show: cookie flags, security
//! headers, CSRF refusals, plain HTTP, throttling, limits and error pages.
//! A missing curl, python3, selenium or chromium fails the test.

mod account_client;
mod audit_support;
mod common;
mod http_support;

use account_client::{Answer, Client, USER};
use audit_support::{DAY, Row, audit_rows, events, now, wait_for};
use common::{PASSWORD, Server, Site, python};
use http_support::curl;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const NEW_PASSWORD: &str = "a new and longer passphrase";

fn site(extra: &str) -> (Site, Server) {
    let site = Site::with_listeners(&["http", "https"], extra);
    site.add_account(USER);
    let server = site.start();
    (site, server)
}

/// The audit export of `kind` once `done` holds for its rows (the writer
/// is asynchronous), or as it is after 10 s.
fn audit_until(site: &Site, kind: &str, done: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let mut rows = Vec::new();
    wait_for(Duration::from_secs(10), || {
        rows = audit_rows(site, &["--kind", kind]);
        done(&rows)
    });
    rows
}

/// The audit log's login records over `https`, once there are `n`.
fn https_logins(site: &Site, n: usize) -> Vec<Row> {
    audit_until(site, "login", |rows| {
        rows.iter().filter(|r| r["protocol"] == "https").count() >= n
    })
    .into_iter()
    .filter(|r| r["protocol"] == "https")
    .collect()
}

// ---------------------------------------------------------------- browser

/// Runs one scenario of the browser script; screenshots go to
/// `target/tmp/account-page-screenshots/`.
fn browser(site: &Site, server: &Server, scenario: &str) {
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("account-page-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let work = site.path(&format!("browser-{scenario}"));
    let arg = serde_json::json!({
        "https": server.addr("https").port(),
        "imaps": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": USER,
        "password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "work": work,
        "shots": shots,
        "scenario": scenario,
    });
    let out = python("http_account_browser.py", &[&arg.to_string()]);
    assert_eq!(
        out.code,
        0,
        "browser scenario {scenario}: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    assert!(
        out.stdout.contains(&format!("OK {scenario}")),
        "{}",
        out.stdout
    );
}

#[test]
fn browser_signs_in_and_downloads_the_export_with_the_mail() {
    let (site, server) = site("");
    browser(&site, &server, "export");
    let rows = audit_until(&site, "account", |r| !events(r, "data_exported").is_empty());
    let exported = events(&rows, "data_exported");
    assert_eq!(exported.len(), 1, "the download is audited: {rows:?}");
    assert_eq!(exported[0]["account"], USER);
}

#[test]
fn browser_app_password_works_over_imap_and_a_changed_password_replaces_the_old() {
    let (site, server) = site("");
    browser(&site, &server, "password");
    let rows = audit_until(&site, "account", |r| {
        events(r, "account_changed").len() >= 2
    });
    let changes: Vec<&String> = events(&rows, "account_changed")
        .iter()
        .map(|r| &r["details"])
        .collect();
    assert!(
        !changes.is_empty(),
        "the accounts-file edits are audited: {rows:?}"
    );
}

#[test]
fn browser_deletes_the_account_imap_fails_and_the_purge_is_audited() {
    let (site, server) = site("");
    browser(&site, &server, "delete");
    let rows = audit_until(&site, "account", |r| {
        !events(r, "account_deleted").is_empty()
    });
    assert_eq!(events(&rows, "account_deleted").len(), 1, "{rows:?}");
    // The retention worker's purge, as if the grace period had passed.
    let at = chrono::DateTime::from_timestamp(now() + 31 * DAY, 0)
        .unwrap()
        .to_rfc3339();
    let out = site.cli(&["retention", "run", "--at", &at], "");
    assert!(out.ok(), "retention run: {}", out.stderr);
    assert!(out.stdout.contains("purged 1 account(s)"), "{}", out.stdout);
    let rows = audit_until(&site, "account", |r| {
        !events(r, "account_purged").is_empty()
    });
    assert_eq!(events(&rows, "account_purged").len(), 1, "{rows:?}");
    drop(server);
}

// ------------------------------------------------------------------- curl

/// A curl "browser" with a cookie jar, talking to the HTTPS listener by
/// the server's name.
fn imap_login_ok(site: &Site, server: &Server, password: &str) -> bool {
    let arg = serde_json::json!({
        "imaps": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": USER,
        "password": password,
    });
    let out = python("imap_login.py", &[&arg.to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.starts_with("OK")
}

#[test]
fn every_answer_has_the_security_headers_and_cookies_are_host_secure_httponly_strict() {
    let (site, server) = site("");
    let c = Client::new(&site, &server, "c");
    let login = c.get("/account/login");
    assert_eq!(login.status, 200);
    let check_headers = |a: &Answer| {
        let csp = a.header("content-security-policy").unwrap_or_default();
        for part in [
            "default-src 'none'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "CSP {csp:?} lacks {part}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"));
        let want = HashMap::from([
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("cache-control", "no-store"),
        ]);
        for (name, value) in want {
            assert_eq!(a.header(name), Some(value), "{name}");
        }
        assert!(a.header("strict-transport-security").is_some());
    };
    check_headers(&login);
    assert!(!login.body.contains("<script"), "no script at all");
    assert!(login.body.contains("<label for=\"password\">"));
    let cookie = login.all("set-cookie").join("\n");
    assert!(
        cookie.starts_with("__Host-sealpost-login=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let token = login.csrf();
    let signed = c.post(
        "/account/login",
        &[
            ("csrf", token.as_str()),
            ("address", USER),
            ("password", PASSWORD),
        ],
        &[],
    );
    assert_eq!(signed.status, 303);
    let session = signed
        .all("set-cookie")
        .into_iter()
        .find(|v| v.starts_with("__Host-sealpost-session="))
        .expect("a session cookie")
        .to_string();
    for flag in [
        "; Path=/",
        "; Secure",
        "; HttpOnly",
        "; SameSite=Strict",
        "; Max-Age=28800",
    ] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    let value = &session["__Host-sealpost-session=".len()..session.find(';').unwrap()];
    assert_eq!(value.len(), 43, "256 random bits: {value}");
    assert!(!session.contains("Domain"), "{session}");
    check_headers(&c.get("/account"));
    check_headers(&c.get("/account/style.css"));
    check_headers(&c.get("/account/nowhere"));
    // The audit log has the sign-in, over https, with its TLS version.
    let https = https_logins(&site, 1);
    assert_eq!(https.len(), 1, "{https:?}");
    assert_eq!(https[0]["outcome"], "success");
    assert!(https[0]["tls"].starts_with("TLSv1."), "{:?}", https[0]);
    drop(server);
}

#[test]
fn plain_http_serves_nothing_of_the_page_but_a_redirect() {
    let (_site, server) = site("");
    let http = server.addr("http");
    let https = server.addr("https").port();
    for (method, path) in [("GET", "/account"), ("POST", "/account/login")] {
        let out = curl(&[
            "-X",
            method,
            "-H",
            "Host: mail.example.org",
            "--dump-header",
            "-",
            "--output",
            "/dev/null",
            &format!("http://{http}{path}"),
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let head = out.stdout.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 308"), "{method} {path}: {head}");
        assert!(
            head.contains(&format!("location: https://mail.example.org:{https}{path}")),
            "{head}"
        );
        assert!(!head.contains("set-cookie"), "{head}");
    }
}

#[test]
fn state_changing_requests_without_the_right_csrf_token_or_origin_are_refused() {
    let (site, server) = site("");
    let c = Client::new(&site, &server, "c");
    // Sign-in without the double-submit cookie (a forged cross-site form).
    let forged = Client::new(&site, &server, "forged");
    let a = forged.post(
        "/account/login",
        &[("csrf", "x"), ("address", USER), ("password", PASSWORD)],
        &[],
    );
    assert_eq!(a.status, 403);
    assert!(a.all("set-cookie").iter().all(|v| !v.contains("session=")));
    assert!(a.body.contains("Request refused"), "{}", a.body);
    // Cookie present, field differs. (Two sign-in tabs share one token.)
    let first = c.get("/account/login").csrf();
    assert_eq!(c.get("/account/login").csrf(), first);
    let a = c.post(
        "/account/login",
        &[("csrf", "wrong"), ("address", USER), ("password", PASSWORD)],
        &[],
    );
    assert_eq!(a.status, 403);

    let csrf = c.sign_in(PASSWORD);
    // A second browser, signed in too: the password change ends its session.
    let other = Client::new(&site, &server, "other");
    other.sign_in(PASSWORD);
    let change = |token: &str, extra: &[&str]| {
        c.post(
            "/account/password",
            &[
                ("csrf", token),
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            extra,
        )
    };
    assert_eq!(change("", &[]).status, 403);
    assert_eq!(change("not-the-token", &[]).status, 403);
    let cross = change(&csrf, &["-H", "Origin: https://evil.example"]);
    assert_eq!(cross.status, 403);
    assert_eq!(
        change(&csrf, &["-H", "Sec-Fetch-Site: cross-site"]).status,
        403
    );
    // Nothing changed: the old password still works over IMAP.
    assert!(imap_login_ok(&site, &server, PASSWORD));
    // Sign-out and app-password removal need the token too.
    assert_eq!(c.post("/account/logout", &[("csrf", "x")], &[]).status, 403);
    assert_eq!(c.get("/account").status, 200, "still signed in");
    // With the token, from our own origin, it works.
    let port = server.addr("https").port();
    let ok = change(
        &csrf,
        &["-H", &format!("Origin: https://mail.example.org:{port}")],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(imap_login_ok(&site, &server, NEW_PASSWORD));
    assert!(!imap_login_ok(&site, &server, PASSWORD));
    assert_eq!(
        c.get("/account").status,
        200,
        "this browser got a new session"
    );
    let ended = other.get("/account");
    assert_eq!(ended.status, 303, "the other session ended");
    assert_eq!(ended.header("location"), Some("/account/login"));
}

#[test]
fn signing_out_ends_the_session_on_the_server() {
    let (site, server) = site("");
    let c = Client::new(&site, &server, "c");
    let csrf = c.sign_in(PASSWORD);
    let jar = std::fs::read_to_string(site.path("c.jar")).unwrap();
    let token = jar
        .lines()
        .find(|l| l.contains("__Host-sealpost-session"))
        .and_then(|l| l.split('\t').next_back())
        .expect("session cookie in the jar")
        .to_string();
    let out = c.post("/account/logout", &[("csrf", csrf.as_str())], &[]);
    assert_eq!(out.status, 200);
    assert!(out.body.contains("You are signed out"));
    assert!(
        out.all("set-cookie")
            .iter()
            .any(|v| v.starts_with("__Host-sealpost-session=;") && v.contains("Max-Age=0")),
        "the cookie is expired"
    );
    // The old cookie, replayed by hand, opens nothing.
    let replay = Client::new(&site, &server, "replay");
    let cookie = format!("Cookie: __Host-sealpost-session={token}");
    let a = replay.request("/account", &["-H", &cookie]);
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("/account/login"));
}

/// `sealpost account app-password add|remove` and `account passwd`, run
/// beside the server, end the account's page sessions at their next
/// request (the accounts file's credentials no longer match theirs).
#[test]
fn credentials_changed_with_the_cli_end_the_page_sessions() {
    let (site, server) = site("");
    let signed_out = |c: &Client| {
        let end = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let a = c.get("/account");
            if a.status == 303 && a.header("location") == Some("/account/login") {
                return;
            }
            assert_eq!(a.status, 200, "{}", a.body);
            assert!(std::time::Instant::now() < end, "the session did not end");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (a, b) = (
        Client::new(&site, &server, "a"),
        Client::new(&site, &server, "b"),
    );
    for change in [
        vec!["account", "app-password", "add", USER, "--label", "phone"],
        vec![
            "account",
            "app-password",
            "remove",
            USER,
            "--label",
            "phone",
        ],
        vec!["account", "passwd", USER, "--password-stdin"],
    ] {
        a.sign_in(PASSWORD);
        b.sign_in(PASSWORD);
        let out = site.cli(&change, &format!("{NEW_PASSWORD}\n"));
        assert!(out.ok(), "{change:?}: {}", out.stderr);
        signed_out(&a);
        signed_out(&b);
    }
    // The new password opens a new session.
    a.sign_in(NEW_PASSWORD);
    server.stop();
}

#[test]
fn failed_sign_ins_are_throttled_like_imap_and_audited() {
    let (site, server) = site("[limits]\nauth_failures_per_ip = 3\n");
    let c = Client::new(&site, &server, "c");
    for _ in 0..3 {
        let token = c.get("/account/login").csrf();
        let a = c.post(
            "/account/login",
            &[
                ("csrf", token.as_str()),
                ("address", USER),
                ("password", "wrong"),
            ],
            &[],
        );
        assert_eq!(a.status, 403);
        assert!(a.body.contains("The address or password is wrong"));
    }
    let token = c.get("/account/login").csrf();
    let a = c.post(
        "/account/login",
        &[
            ("csrf", token.as_str()),
            ("address", USER),
            ("password", PASSWORD),
        ],
        &[],
    );
    assert_eq!(a.status, 429, "{}", a.body);
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0);
    assert!(a.body.contains("Too many failed logins"), "{}", a.body);
    // The same throttle as IMAP: this address is refused there too.
    assert!(!imap_login_ok(&site, &server, PASSWORD));
    let logins = https_logins(&site, 4);
    let outcomes: Vec<&str> = logins.iter().map(|r| r["outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        ["failure", "failure", "failure", "throttled"],
        "{logins:?}"
    );
}

#[test]
fn an_app_password_does_not_open_the_account_page() {
    let (site, server) = site("");
    let out = site.cli(
        &["account", "app-password", "add", USER, "--label", "phone"],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    let app = out.stdout.trim().to_string();
    assert!(
        imap_login_ok(&site, &server, app.as_str()),
        "it works over IMAP"
    );
    let c = Client::new(&site, &server, "c");
    let token = c.get("/account/login").csrf();
    let a = c.post(
        "/account/login",
        &[
            ("csrf", token.as_str()),
            ("address", USER),
            ("password", app.as_str()),
        ],
        &[],
    );
    assert_eq!(a.status, 403);
    assert!(a.body.contains("App passwords do not work here"));
    assert_eq!(c.get("/account").status, 303, "not signed in");
    let refused = https_logins(&site, 1);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["outcome"], "failure");
    assert!(
        refused[0]["details"].contains("app_password=phone"),
        "{refused:?}"
    );
}

/// A bad request: path, fields, extra curl arguments, the status and a
/// text the error page must hold.
type BadCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, u16, &'a str);

#[test]
fn bad_input_gets_an_error_page_with_the_right_status_and_changes_nothing() {
    let (site, server) = site("[http.account]\nmax_form_bytes = 2048\n");
    let c = Client::new(&site, &server, "c");
    let csrf = c.sign_in(PASSWORD);
    let big = "x".repeat(3000);
    let cases: Vec<BadCase> = vec![
        (
            "/account/app-passwords/add",
            vec![("csrf", csrf.as_str()), ("label", big.as_str())],
            vec![],
            413,
            "larger than 2048 bytes",
        ),
        (
            "/account/app-passwords/add",
            vec![("csrf", csrf.as_str()), ("label", "phone")],
            vec!["-H", "Content-Type: text/plain"],
            415,
            "application/x-www-form-urlencoded",
        ),
        (
            "/account/app-passwords/add",
            vec![("csrf", csrf.as_str()), ("label", "a\u{1}b")],
            vec![],
            400,
            "control characters",
        ),
        (
            "/account/app-passwords/add",
            vec![("csrf", csrf.as_str()), ("label", "")],
            vec![],
            400,
            "Please fill in the field",
        ),
        (
            "/account/password",
            vec![
                ("csrf", csrf.as_str()),
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
            vec![],
            400,
            "shorter than 12 characters",
        ),
        (
            "/account/password",
            vec![
                ("csrf", csrf.as_str()),
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "something else entirely"),
            ],
            vec![],
            400,
            "differ",
        ),
        (
            "/account/password",
            vec![
                ("csrf", csrf.as_str()),
                ("current_password", "wrong"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            vec![],
            403,
            "password is wrong",
        ),
        (
            "/account/app-passwords/remove",
            vec![("csrf", csrf.as_str()), ("label", "none-such")],
            vec![],
            404,
            "none-such",
        ),
        (
            "/account/export",
            vec![("csrf", csrf.as_str()), ("format", "zip")],
            vec![],
            400,
            "mbox or Maildir",
        ),
        (
            "/account/delete",
            vec![
                ("csrf", csrf.as_str()),
                ("confirm_address", "bob@example.org"),
                ("password", PASSWORD),
            ],
            vec![],
            400,
            "not deleted",
        ),
    ];
    for (path, fields, extra, status, text) in cases {
        let a = c.post(path, &fields, &extra);
        assert_eq!(a.status, status, "{path} {fields:?}: {}", a.body);
        assert!(a.body.contains(text), "{path}: {text:?} not in {}", a.body);
        assert!(a.body.contains("<h1>") && a.body.contains("role=\"alert\""));
    }
    let a = c.get("/account/nowhere");
    assert_eq!(a.status, 404);
    assert!(a.body.contains("Page not found"));
    let a = c.get("/account/password");
    assert_eq!(a.status, 405);
    // Nothing was half done.
    let overview = c.get("/account");
    assert!(overview.body.contains("You have no app passwords"));
    assert!(imap_login_ok(&site, &server, PASSWORD));
    let out = site.cli(&["account", "list"], "");
    assert!(out.stdout.contains(USER), "the account is still there");
}

#[test]
fn the_page_can_be_turned_off() {
    let (site, server) = site("[http.account]\nenabled = false\n");
    let c = Client::new(&site, &server, "c");
    assert_eq!(c.get("/account").status, 404);
    assert_eq!(c.get("/account/login").status, 404);
}
