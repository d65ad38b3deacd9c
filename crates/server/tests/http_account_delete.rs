//! The account page's deletion needs the link mailed to the account
//! (`/account/delete/confirm`): asked for with the right address and
//! password, nothing is deleted yet; a wrong or missing code deletes
//! nothing. (The whole way, link read over IMAP and confirmed in Chromium,
//! is `browser_deletes_the_account...` in http_account.rs.)

mod account_client;
mod common;
mod http_support;

use account_client::{Client, USER};
use common::{PASSWORD, Server, Site, python};

fn imap_login_ok(site: &Site, server: &Server) -> bool {
    let arg = serde_json::json!({
        "imaps": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": USER,
        "password": PASSWORD,
    });
    let out = python("imap_login.py", &[&arg.to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.starts_with("OK")
}

#[test]
fn a_deletion_waits_for_the_mailed_code_and_a_wrong_one_deletes_nothing() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    assert_eq!(
        c.get("/account/delete/confirm?code=x").status,
        303,
        "signed out"
    );
    c.sign_in(PASSWORD);
    let csrf = c.get("/account/delete").csrf();
    let asked = c.post(
        "/account/delete",
        &[
            ("csrf", csrf.as_str()),
            ("confirm_address", USER),
            ("password", PASSWORD),
        ],
        &[],
    );
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Check your mailbox"), "{}", asked.body);
    assert!(
        imap_login_ok(&site, &server),
        "not deleted before the confirmation"
    );
    let form = c.get("/account/delete/confirm?code=not-the-code");
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    for code in ["not-the-code", ""] {
        let refused = c.post(
            "/account/delete/confirm",
            &[("csrf", csrf.as_str()), ("code", code)],
            &[],
        );
        assert_eq!(refused.status, 400, "{code:?}: {}", refused.body);
        assert!(
            code.is_empty() || refused.body.contains("was not deleted"),
            "{}",
            refused.body
        );
    }
    assert!(imap_login_ok(&site, &server), "still there");
    assert_eq!(c.get("/account").status, 200, "still signed in");
    server.stop();
}
