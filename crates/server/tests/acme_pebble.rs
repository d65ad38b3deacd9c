//! ACME end to end (RFC 8555, RFC 8737) against a real CA: Debian's pebble,
//! started by the test on free loopback ports with its validation ports
//! pointed at sealpost's HTTP/HTTPS listeners. Certificates are checked by
//! real clients (Python's imaplib, curl) against pebble's issuing root.

mod acme_support;
mod common;
mod http_support;

use acme_support::{Pebble, PebbleOptions};
use common::{PASSWORD, Server};
use http_support::{HttpSite, curl_https, free_port};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY: u64 = 86400;

/// `[listen]` with fixed HTTP/HTTPS ports (pebble must know them first).
fn listen(http: u16, https: u16) -> String {
    format!(
        "imaps = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:{http}\"]\nhttps = [\"127.0.0.1:{https}\"]\n"
    )
}

/// What an IMAPS client verifying against `root` sees (serial, names);
/// logs in as alice when `login`.
fn imaps_cert(server: &Server, name: &str, root: &Path, login: bool) -> (String, Vec<String>) {
    let mut a = serde_json::json!({
        "name": name,
        "port": server.addr("imaps").port(),
        "cafile": root,
    });
    if login {
        a["user"] = "alice@example.org".into();
        a["password"] = PASSWORD.into();
    }
    let out = common::python("acme_imaps_cert.py", &[&a.to_string()]);
    assert_eq!(out.code, 0, "IMAPS client: {}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let names = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    (v["serial"].as_str().unwrap().to_string(), names)
}

/// Waits until the log has `n` lines containing every needle.
fn wait_lines(server: &Server, needles: &[&str], n: usize, within: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    loop {
        let lines: Vec<String> = server
            .log()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < end,
            "no {n} log lines with {needles:?}; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An IMAPS connection held open across certificate swaps (rustls, the
/// chain verified against `root` for `mail.example.org`).
struct OpenImaps {
    reader: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
    leaf: Vec<u8>,
}

impl OpenImaps {
    fn connect(addr: SocketAddr, root: &Path) -> OpenImaps {
        let pem = std::fs::read(root).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("mail.example.org").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let mut greeting = String::new();
        reader.read_line(&mut greeting).unwrap();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        let leaf = reader.get_ref().conn.peer_certificates().unwrap()[0].to_vec();
        OpenImaps { reader, leaf }
    }

    fn noop(&mut self) {
        self.reader.get_mut().write_all(b"a1 NOOP\r\n").unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            assert!(!line.is_empty(), "connection closed");
            if line.starts_with("a1 ") {
                assert!(line.starts_with("a1 OK"), "{line}");
                return;
            }
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn http01_issues_renews_and_swaps_every_listener_without_dropping_connections() {
    let (http, https) = (free_port(), free_port());
    // Valid 10 days, renewed 30 days before expiry: due again at every
    // check, so the test sees renewals every 2 seconds.
    let pebble = Pebble::start(PebbleOptions {
        http_port: http,
        tls_port: https,
        validity_secs: 10 * DAY,
        blocklist: vec![],
    });
    let site = HttpSite::new(
        &listen(http, https),
        &pebble.acme_config("http-01", "check_interval_secs = 2\nrenew_before_days = 30"),
    );
    site.add_account("alice@example.org");
    let server = site.start();
    wait_lines(
        &server,
        &["ACME certificate installed", "names=mail.example.org "],
        1,
        Duration::from_secs(60),
    );
    let root = pebble.issuing_root();

    // A real client, verifying chain and name against pebble's root.
    let (first, names) = imaps_cert(&server, "mail.example.org", &root, true);
    assert_eq!(names, vec!["mail.example.org"]);
    let mut open = OpenImaps::connect(server.addr("imaps"), &root);

    // Renewal: the next connection sees a new certificate...
    let end = Instant::now() + Duration::from_secs(60);
    let renewed = loop {
        let (serial, _) = imaps_cert(&server, "mail.example.org", &root, false);
        if serial != first && open.leaf != current_leaf(&server, &root) {
            break serial;
        }
        assert!(
            Instant::now() < end,
            "no renewal seen; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_ne!(renewed, first);
    // ...while the connection opened before it stays up and served.
    open.noop();
    let (_, _) = imaps_cert(&server, "mail.example.org", &root, true);
    assert!(server.log().contains("renewed=true"));

    // The HTTPS listener got the swap too: the domain's own certificate
    // for mta-sts.example.org (curl checks chain and name), the main one
    // for the mail host name.
    let (status, body) = curl_https(
        "mta-sts.example.org",
        server.addr("https"),
        "/.well-known/mta-sts.txt",
        &root,
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("version: STSv1\r\n"), "{body}");
    let (status, _) = curl_https(
        "mail.example.org",
        server.addr("https"),
        "/mail/config-v1.1.xml?emailaddress=alice@example.org",
        &root,
        &[],
    );
    assert_eq!(status, 200);

    // Stored 0600 in a 0700 folder.
    let dir = site.path("data/acme");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("main/certificate.pem")), 0o600);
    assert_eq!(
        mode(&dir.join("domains/example.net/certificate.pem")),
        0o600
    );
    let accounts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(accounts.len(), 1, "one account for the directory");
    assert_eq!(mode(&accounts[0]), 0o600);
    assert!(server.stop().is_some());
}

/// The leaf a fresh rustls connection is shown now.
fn current_leaf(server: &Server, root: &Path) -> Vec<u8> {
    OpenImaps::connect(server.addr("imaps"), root).leaf
}

#[test]
fn tls_alpn01_on_the_https_listener() {
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start(PebbleOptions {
        http_port: http,
        tls_port: https,
        validity_secs: 90 * DAY,
        blocklist: vec![],
    });
    // No HTTP listener at all: validation can only be TLS-ALPN-01.
    let listen = format!(
        "imaps = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:{https}\"]\n"
    );
    let site = HttpSite::new(&listen, &pebble.acme_config("tls-alpn-01", ""));
    site.add_account("alice@example.org");
    let server = site.start();
    wait_lines(
        &server,
        &["ACME certificate installed", "names=mail.example.org "],
        1,
        Duration::from_secs(60),
    );
    wait_lines(
        &server,
        &["ACME certificate installed", "autoconfig.example.net"],
        1,
        Duration::from_secs(60),
    );
    let root = pebble.issuing_root();
    let (_, names) = imaps_cert(&server, "mail.example.org", &root, true);
    assert_eq!(names, vec!["mail.example.org"]);
    let (status, body) = curl_https(
        "autoconfig.example.net",
        server.addr("https"),
        "/mail/config-v1.1.xml",
        &root,
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<domain>example.net</domain>"));
    assert!(
        !pebble.log().contains("validate w/ HTTP"),
        "{}",
        pebble.log()
    );
}

#[test]
fn a_refused_order_is_logged_with_the_problem_and_retried_while_others_are_issued() {
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start(PebbleOptions {
        http_port: http,
        tls_port: https,
        validity_secs: 90 * DAY,
        blocklist: vec!["example.net".into()],
    });
    let site = HttpSite::new(&listen(http, https), &pebble.acme_config("http-01", ""));
    let server = site.start();
    let failures = wait_lines(
        &server,
        &["ACME order failed", "mta-sts.example.net"],
        3,
        Duration::from_secs(60),
    );
    // One line each, with the CA's problem type and detail, and backoff.
    for line in &failures {
        assert!(line.contains("rejectedIdentifier:"), "{line}");
        assert!(line.contains("forbidden by policy"), "{line}");
    }
    assert!(failures[0].contains("retry_in_secs=1"), "{}", failures[0]);
    assert!(failures[1].contains("retry_in_secs=2"), "{}", failures[1]);
    // The other certificates were not held back.
    wait_lines(
        &server,
        &["ACME certificate installed", "names=mail.example.org "],
        1,
        Duration::from_secs(60),
    );
    wait_lines(
        &server,
        &["ACME certificate installed", "mta-sts.example.org"],
        1,
        Duration::from_secs(60),
    );
    // The refused names are served the main certificate meanwhile: the
    // handshake works, the name does not verify.
    let root = pebble.issuing_root();
    let resolve = format!("autoconfig.example.net:{https}:127.0.0.1");
    let url = format!("https://autoconfig.example.net:{https}/mail/config-v1.1.xml");
    let strict = http_support::curl(&[
        "--cacert",
        root.to_str().unwrap(),
        "--resolve",
        &resolve,
        &url,
    ]);
    assert_eq!(strict.code, 60, "name mismatch expected: {}", strict.stderr);
    let lax = http_support::curl(&["--insecure", "--resolve", &resolve, &url]);
    assert_eq!(lax.code, 0, "{}", lax.stderr);
    assert!(lax.stdout.contains("<domain>example.net</domain>"));
}

#[test]
fn the_old_certificate_serves_while_the_ca_is_down_and_after_a_restart() {
    let (http, https) = (free_port(), free_port());
    let mut pebble = Pebble::start(PebbleOptions {
        http_port: http,
        tls_port: https,
        validity_secs: 90 * DAY,
        blocklist: vec![],
    });
    let site = HttpSite::new(
        &listen(http, https),
        &pebble.acme_config("http-01", "check_interval_secs = 1"),
    );
    site.add_account("alice@example.org");
    let server = site.start();
    wait_lines(
        &server,
        &["ACME certificate installed", "names=mail.example.org "],
        1,
        Duration::from_secs(60),
    );
    let root = pebble.issuing_root();
    let (serial, _) = imaps_cert(&server, "mail.example.org", &root, true);
    assert_eq!(server.stop(), Some(0));

    // The CA goes away; renewal is due (renew 100 days before a 90-day expiry).
    pebble.stop();
    let site = site.with(
        &listen(http, https),
        &pebble.acme_config(
            "http-01",
            "check_interval_secs = 1\nrenew_before_days = 100",
        ),
    );
    let server = site.start();
    assert!(
        server.log().contains("serving stored ACME certificates"),
        "{}",
        server.log()
    );
    // From the first connection on, the stored certificate is served...
    assert_eq!(
        imaps_cert(&server, "mail.example.org", &root, true).0,
        serial
    );
    // ...and failed renewals are logged with the reason and backed off.
    let failures = wait_lines(
        &server,
        &["ACME order failed", "names=mail.example.org "],
        3,
        Duration::from_secs(60),
    );
    assert!(failures[0].contains("retry_in_secs=1"), "{}", failures[0]);
    assert!(failures[1].contains("retry_in_secs=2"), "{}", failures[1]);
    assert!(failures[2].contains("retry_in_secs=4"), "{}", failures[2]);
    assert!(
        failures[0].contains("Connection refused") || failures[0].contains("connect"),
        "{}",
        failures[0]
    );
    assert_eq!(
        imaps_cert(&server, "mail.example.org", &root, true).0,
        serial
    );
}
