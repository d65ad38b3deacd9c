//! The account page's access log (`/account/access`, GDPR Art. 15) on the
//! real server, read with curl: the signed-in user sees their own
//! sign-ins (IMAP successes and failures, the page's own) with time,
//! protocol, client address and result, newest first and paged, and
//! nothing of another account. A missing curl or python3 fails the test.

mod account_client;
mod common;
mod http_support;

use account_client::{Client, USER};
use common::{PASSWORD, Server, Site, python};
use std::time::{Duration, Instant};

fn imap_login(site: &Site, server: &Server, user: &str, password: &str) -> bool {
    let arg = serde_json::json!({
        "imaps": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": user,
        "password": password,
    });
    let out = python("imap_login.py", &[&arg.to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.starts_with("OK")
}

/// The table's rows: (time, protocol, client address, result).
fn rows(body: &str) -> Vec<Vec<String>> {
    body.split("<tr><td>")
        .skip(1)
        .map(|row| {
            row.split("</tr>")
                .next()
                .unwrap()
                .split("<td>")
                .map(|cell| cell.replace("</td>", ""))
                .collect()
        })
        .collect()
}

#[test]
fn the_access_log_shows_the_users_own_sign_ins_only_newest_first() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    site.add_account("bob@example.org");
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    let signed_out = c.get("/account/access");
    assert_eq!(signed_out.status, 303);
    assert_eq!(signed_out.header("location"), Some("/account/login"));

    assert!(imap_login(&site, &server, USER, PASSWORD));
    assert!(!imap_login(&site, &server, USER, "not the password"));
    assert!(imap_login(&site, &server, "bob@example.org", PASSWORD));
    c.sign_in(PASSWORD);
    // The page's own sign-in is the newest; the audit log is written in
    // the background, so wait for all three.
    let end = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let page = c.get("/account/access");
        assert_eq!(page.status, 200, "{}", page.body);
        if rows(&page.body).len() >= 3 {
            break page;
        }
        assert!(
            Instant::now() < end,
            "not all sign-ins shown: {}",
            page.body
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let got = rows(&page.body);
    assert_eq!(got.len(), 3, "{}", page.body);
    // (protocol, result), and the client's address as recorded (with its
    // port).
    let summary: Vec<(&str, &str)> = got.iter().map(|r| (r[1].as_str(), r[3].as_str())).collect();
    assert_eq!(
        summary,
        [
            ("https", "success"),
            ("imap", "failure"),
            ("imap", "success")
        ],
        "{got:?}"
    );
    assert!(
        got.iter().all(|r| r[2].starts_with("127.0.0.1:")),
        "{got:?}"
    );
    assert!(
        got[0][0] >= got[1][0] && got[1][0] >= got[2][0],
        "newest first: {got:?}"
    );
    assert!(page.body.contains("3 in all; page 1 of 1"), "{}", page.body);
    assert!(!page.body.contains("bob@example.org"), "{}", page.body);
    // Past the last page: no rows, a way back, no error.
    let past = c.get("/account/access?page=2");
    assert_eq!(past.status, 200);
    assert!(rows(&past.body).is_empty());
    assert!(past.body.contains("id=\"no-accesses\""));
    assert!(past.body.contains("href=\"/account/access?page=1\""));
    server.stop();
}
