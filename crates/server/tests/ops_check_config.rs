//! `check-config` finds what `serve` would fail on at start, through the
//! real binary: a certificate that is not PEM, a missing DKIM key file,
//! two listeners on one address, a data_dir that cannot be written. Each
//! is one line naming the key and the path, exit code 2.

mod common;

use common::{CliOutput, Site};

fn check(site: &Site) -> CliOutput {
    site.cli(&["check-config"], "")
}

fn assert_refused(out: &CliOutput, words: &[&str]) {
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("serve would fail"), "{line}");
    for w in words {
        assert!(line.contains(w), "{w} not in {line}");
    }
}

#[test]
fn a_garbage_certificate_is_refused_as_serve_refuses_it() {
    let site = Site::new("");
    std::fs::create_dir_all(site.path("certs")).unwrap();
    std::fs::write(site.path("certs/cert.pem"), "not a certificate\n").unwrap();
    std::fs::write(site.path("certs/key.pem"), "not a key\n").unwrap();
    assert_refused(&check(&site), &["[tls] certificate", "cert.pem"]);
    let serve = site.cli(&["serve"], "");
    assert_ne!(serve.code, 0, "serve started with a garbage certificate");
}

#[test]
fn a_missing_dkim_key_file_is_refused() {
    let site = Site::new(
        "[[smtp.dkim]]\ndomain = \"example.org\"\nselector = \"s1\"\nalgorithm = \"ed25519-sha256\"\nkey = \"keys/dkim-missing.pem\"\n",
    );
    assert_refused(
        &check(&site),
        &["[[smtp.dkim]] example.org selector s1", "dkim-missing.pem"],
    );
}

#[test]
fn a_dkim_key_that_is_not_pem_is_refused() {
    let site = Site::new(
        "[[smtp.dkim]]\ndomain = \"example.org\"\nselector = \"s1\"\nalgorithm = \"ed25519-sha256\"\nkey = \"dkim.pem\"\n",
    );
    std::fs::write(site.path("dkim.pem"), "garbage").unwrap();
    assert_refused(&check(&site), &["dkim.pem", "not a PEM file"]);
}

#[test]
fn two_listeners_on_one_address_are_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sealpost.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nhostname = \"mail.example.org\"\n[listen]\nimaps = [\"127.0.0.1:{port}\"]\npop3s = [\"127.0.0.1:{port}\"]\n[[domain]]\nname = \"example.org\"\n"
        ),
    )
    .unwrap();
    let out = common::cli(&config, &["check-config"], "");
    assert_refused(
        &out,
        &["[listen] imaps and pop3s both on", &port.to_string()],
    );
}

#[test]
fn a_data_dir_that_cannot_be_written_is_refused() {
    // Under a regular file: no folder can be made there, whoever runs it.
    let site = Site::new("");
    std::fs::write(site.path("not-a-folder"), "").unwrap();
    let text = std::fs::read_to_string(&site.config)
        .unwrap()
        .replace("data_dir = \"data\"", "data_dir = \"not-a-folder/data\"");
    std::fs::write(&site.config, text).unwrap();
    assert_refused(&check(&site), &["[server] data_dir", "not-a-folder"]);
}

#[test]
fn a_good_config_still_passes() {
    let site = Site::new("");
    let out = check(&site);
    assert!(out.ok(), "{}", out.stderr);
    assert!(out.stdout.contains(": ok ("), "{}", out.stdout);
}
