//! DKIM, SPF and DMARC between two instances: A signs (ed25519-sha256 and
//! rsa-sha256 keys made with openssl), B verifies with the public key served
//! from its `[smtp.dns]` static records.

mod common;

use common::{ALICE, Server};
use std::path::Path;
use tokio::process::Command;

const CAROL: (&str, &str, &[&str]) = ("carol@example.net", "pw", &[]);

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Makes a key; returns the DKIM `p=` value.
fn make_key(dir: &Path, name: &str, ed25519: bool) -> String {
    use base64::Engine;
    let key = dir.join(name);
    let key = key.to_str().unwrap();
    if ed25519 {
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", key]);
    } else {
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            key,
        ]);
    }
    let spki = openssl(&["pkey", "-in", key, "-pubout", "-outform", "DER"]);
    // ed25519: the raw 32-octet key (RFC 8463 4); RSA: the SubjectPublicKeyInfo.
    let p = if ed25519 {
        &spki[spki.len() - 32..]
    } else {
        &spki[..]
    };
    base64::engine::general_purpose::STANDARD.encode(p)
}

async fn submit(a: &Server, to: &str) {
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &a.submissions.port().to_string(),
            "--tlsc",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice@example.org",
            "--auth-password",
            "secret",
            "--from",
            "alice@example.org",
            "--to",
            to,
            "--helo",
            "mx.example.org",
            "--header",
            "From: alice@example.org",
            "--header",
            "Subject: signed",
            "--timeout",
            "20",
        ])
        .output()
        .await
        .expect("swaks must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

async fn relay_signed(ed25519: bool) {
    let keys = tempfile::tempdir().unwrap();
    let p = make_key(keys.path(), "dkim.pem", ed25519);
    let (alg, k) = if ed25519 {
        ("ed25519-sha256", "ed25519")
    } else {
        ("rsa-sha256", "rsa")
    };
    let b = Server::start(
        "example.net",
        &[CAROL],
        "",
        &format!(
            r#"[[smtp.dns.txt]]
name = "sel._domainkey.example.org"
value = "v=DKIM1; k={k}; p={p}"
[[smtp.dns.txt]]
name = "example.org"
value = "v=spf1 ip4:127.0.0.1 -all"
[[smtp.dns.txt]]
name = "_dmarc.example.org"
value = "v=DMARC1; p=reject"
"#
        ),
    )
    .await;
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &format!(
            r#"[[smtp.dkim]]
domain = "example.org"
selector = "sel"
algorithm = "{alg}"
key = "{}"
[[smtp.route]]
domain = "example.net"
host = "127.0.0.1:{}"
"#,
            keys.path().join("dkim.pem").display(),
            b.smtp.port()
        ),
    )
    .await;
    a.spawn_queue();
    submit(&a, "carol@example.net").await;
    let inbox = b.wait_inbox("carol@example.net", 1, 20).await;
    assert_eq!(inbox.len(), 1, "queue: {:?}", a.queue.list());
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(
        m.contains(&format!(
            "DKIM-Signature: v=1; a={alg}; s=sel; d=example.org;"
        )),
        "{m}"
    );
    assert!(
        m.contains("dkim=pass header.d=example.org header.s=sel"),
        "{m}"
    );
    assert!(m.contains("spf=pass"), "{m}");
    assert!(m.contains("dmarc=pass header.from=example.org"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_signature_verifies_at_the_other_instance() {
    relay_signed(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_signature_verifies_at_the_other_instance() {
    relay_signed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_reject_policy_is_honoured() {
    // example.org says only 192.0.2.1 sends its mail and asks for rejection.
    let b = Server::start(
        "example.net",
        &[CAROL],
        "",
        r#"[[smtp.dns.txt]]
name = "example.org"
value = "v=spf1 ip4:192.0.2.1 -all"
[[smtp.dns.txt]]
name = "_dmarc.example.org"
value = "v=DMARC1; p=reject"
"#,
    )
    .await;
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &b.smtp.port().to_string(),
            "--tls",
            "--from",
            "alice@example.org",
            "--to",
            "carol@example.net",
            "--helo",
            "forger.example",
            "--header",
            "From: alice@example.org",
            "--timeout",
            "20",
        ])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "{:?}",
        b.inbox("carol@example.net")
            .first()
            .map(|m| String::from_utf8_lossy(m).into_owned())
    );
    assert!(text.contains("550 5.7.1"), "{text}");
    assert!(b.inbox("carol@example.net").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_failure_is_recorded_when_not_enforced() {
    let b = Server::start(
        "example.net",
        &[CAROL],
        "[smtp.dmarc]\nenforce_reject = false",
        r#"[[smtp.dns.txt]]
name = "example.org"
value = "v=spf1 ip4:192.0.2.1 -all"
[[smtp.dns.txt]]
name = "_dmarc.example.org"
value = "v=DMARC1; p=reject"
"#,
    )
    .await;
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &b.smtp.port().to_string(),
            "--tls",
            "--from",
            "alice@example.org",
            "--to",
            "carol@example.net",
            "--helo",
            "forger.example",
            "--header",
            "From: alice@example.org",
            "--header",
            "Authentication-Results: mx.example.net; dmarc=pass (forged)",
            "--timeout",
            "20",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let inbox = b.inbox("carol@example.net");
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(m.contains("spf=fail"), "{m}");
    assert!(
        m.contains("dmarc=fail header.from=example.org policy.dmarc=reject"),
        "{m}"
    );
    assert!(!m.contains("(forged)"), "forged results header kept: {m}");
}
