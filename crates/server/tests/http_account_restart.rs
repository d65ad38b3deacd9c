//! The account page's sessions survive a restart of the server (kept
//! sealed in `data_dir/account-sessions`, 0600), and so do their ends: a
//! sign-out, and a password changed while the server was down.

mod account_client;
mod common;
mod http_support;

use account_client::{Client, USER};
use common::{PASSWORD, Site};
use std::os::unix::fs::PermissionsExt;

#[test]
fn sessions_survive_a_restart_and_so_do_sign_outs_and_password_changes() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    c.sign_in(PASSWORD);
    let d = Client::new(&site, &server, "d");
    let csrf = d.sign_in(PASSWORD);
    std::fs::copy(site.path("d.jar"), site.path("d-old.jar")).unwrap();
    let out = d.post("/account/logout", &[("csrf", csrf.as_str())], &[]);
    assert_eq!(out.status, 200);
    let file = site.path("data/account-sessions");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        !std::fs::read(&file)
            .unwrap()
            .windows(USER.len())
            .any(|w| w == USER.as_bytes()),
        "sealed"
    );
    server.stop();

    let server = site.start();
    let c = Client::new(&site, &server, "c");
    assert_eq!(c.get("/account").status, 200, "the session survived");
    let replay = Client::new(&site, &server, "d-old");
    assert_eq!(
        replay.get("/account").status,
        303,
        "a signed-out session stays out"
    );
    server.stop();

    // The password changed while the server is down ends the session.
    let out = site.cli(
        &["account", "passwd", USER, "--password-stdin"],
        "a new and longer passphrase\n",
    );
    assert!(out.ok(), "{}", out.stderr);
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    let a = c.get("/account");
    assert_eq!(a.status, 303, "{}", a.body);
    server.stop();
}
