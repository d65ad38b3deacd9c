//! Shared by the outbound TLS policy end-to-end tests (smtp_tls_policy.rs,
//! smtp_tls_report.rs): a test PKI, the loopback recipient domain
//! remote.example (tests/tls_policy_peer.py: an HTTPS policy and report
//! host and an MX with STARTTLS), the site's config pointing at it through
//! `[smtp.dns]` static records, and waits on the queue and the log.

#![allow(dead_code)]

use crate::common::*;
use crate::smtp_support::*;
use sha2::Digest;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A test CA, a certificate from it for the peer's names, and a
/// self-signed one for the same names (invalid for WebPKI).
pub struct Pki {
    pub dir: tempfile::TempDir,
    /// The CA certificate's DER (hex), for a DANE-TA full-certificate record.
    pub ca_der: String,
    /// SHA-256 of the self-signed certificate's SubjectPublicKeyInfo (hex).
    pub bad_spki: String,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let names = vec![
            "mta-sts.remote.example".to_string(),
            "mx.remote.example".to_string(),
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "sealpost test CA for remote.example",
        );
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let good_key = rcgen::KeyPair::generate().unwrap();
        let good = rcgen::CertificateParams::new(names.clone())
            .unwrap()
            .signed_by(&good_key, &issuer)
            .unwrap();
        let bad_key = rcgen::KeyPair::generate().unwrap();
        let bad = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&bad_key)
            .unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca.pem());
        write("good.pem", good.pem());
        write("good.key", good_key.serialize_pem());
        write("bad.pem", bad.pem());
        write("bad.key", bad_key.serialize_pem());
        let spki = |k: &rcgen::KeyPair| {
            use rcgen::PublicKeyData;
            hex::encode(sha2::Sha256::digest(k.subject_public_key_info()))
        };
        Pki {
            ca_der: hex::encode(ca.der()),
            bad_spki: spki(&bad_key),
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running tests/tls_policy_peer.py; killed on drop.
pub struct Peer {
    child: Child,
    pub dir: tempfile::TempDir,
    pub https: Option<u16>,
    pub smtp: u16,
}

impl Peer {
    /// The MX shows `cert` (`good` or `bad`); with `policy`, the policy
    /// host (always with the good certificate) serves it.
    pub fn start(pki: &Pki, cert: &str, policy: Option<&str>) -> Peer {
        Peer::start_with(pki, cert, policy, &[])
    }

    /// As [`Peer::start`], with more options (`--requiretls`).
    pub fn start_with(pki: &Pki, cert: &str, policy: Option<&str>, options: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/tls_policy_peer.py"
        );
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(dir.path().join("tx"))
            .arg(pki.path(&format!("{cert}.pem")))
            .arg(pki.path(&format!("{cert}.key")));
        if let Some(text) = policy {
            let file = dir.path().join("policy.txt");
            std::fs::write(&file, text).unwrap();
            cmd.arg("--https")
                .arg(pki.path("good.pem"))
                .arg(pki.path("good.key"))
                .arg(file);
        }
        cmd.args(options);
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 must be installed");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut port = |prefix: &str| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix(prefix)
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap_or_else(|| panic!("peer said {line:?}"))
        };
        let https = policy.map(|_| port("HTTPS "));
        let smtp = port("SMTP ");
        Peer {
            child,
            dir,
            https,
            smtp,
        }
    }

    /// Every message the MX took.
    pub fn delivered(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("tx"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    pub fn policy_fetches(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("tx/policy-fetches"))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const ENFORCE: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.example\r\nmax_age: 86400\r\n";
pub const TESTING: &str =
    "version: STSv1\r\nmode: testing\r\nmx: mx.remote.example\r\nmax_age: 86400\r\n";

/// The site's config for mail to remote.example: its MX and policy host
/// on loopback (the MX answer DNSSEC-authenticated), an `_mta-sts` record
/// when the peer serves a policy, and `tlsa` records (value, secure) for
/// the MX.
pub fn config(pki: &Pki, peer: &Peer, tlsa: &[(String, bool)]) -> String {
    let mut text = format!(
        "[smtp]\nrelay_port = {}\nretry_initial_secs = 3600\nretry_max_secs = 3600\nrelay_timeout_secs = 10\n\
         [smtp.outbound_tls]\nca_file = \"{}\"\nmta_sts_port = {}\npolicy_timeout_secs = 5\n\
         [smtp.dns]\nstatic_only = true\n\
         [[smtp.dns.mx]]\nname = \"remote.example\"\nhost = \"mx.remote.example\"\npreference = 10\nsecure = true\n\
         [[smtp.dns.a]]\nname = \"mx.remote.example\"\naddr = \"127.0.0.1\"\n\
         [[smtp.dns.a]]\nname = \"mta-sts.remote.example\"\naddr = \"127.0.0.1\"\n",
        peer.smtp,
        pki.path("ca.pem").display(),
        peer.https.unwrap_or(443),
    );
    if peer.https.is_some() {
        text.push_str(
            "[[smtp.dns.txt]]\nname = \"_mta-sts.remote.example\"\nvalue = \"v=STSv1; id=20261203T1;\"\n",
        );
    }
    for (value, secure) in tlsa {
        text.push_str(&format!(
            "[[smtp.dns.record]]\nname = \"_{}._tcp.mx.remote.example\"\ntype = \"TLSA\"\nvalue = \"{value}\"\nsecure = {secure}\n",
            peer.smtp
        ));
    }
    text
}

pub fn queue_list(site: &Site) -> String {
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "queue list: {}", out.stderr);
    out.stdout
}

/// Submits `subject` to carol@remote.example and waits until the MX has it.
pub fn expect_delivered(
    site: &Site,
    server: &Server,
    peer: &Peer,
    subject: &str,
) -> serde_json::Value {
    submit_as_alice(site, server, "submission", "carol@remote.example", subject);
    assert!(
        wait_for(Duration::from_secs(20), || peer.delivered().len() == 1),
        "not delivered; queue: {}\nlog:\n{}",
        queue_list(site),
        server.log()
    );
    let tx = peer.delivered().remove(0);
    assert!(tx["data"].as_str().unwrap().contains(subject), "{tx}");
    tx
}

/// Submits `subject` and waits for its first attempt; returns the queue line.
pub fn expect_deferred(site: &Site, server: &Server, subject: &str) -> String {
    submit_as_alice(site, server, "submission", "carol@remote.example", subject);
    let mut list = String::new();
    assert!(
        wait_for(Duration::from_secs(20), || {
            list = queue_list(site);
            list.contains("attempts=1")
        }),
        "{list}\nlog:\n{}",
        server.log()
    );
    list
}

/// The `tls` field of the first `queue_attempt` log line, and the rest of
/// the line after it.
pub fn attempt_tls(server: &Server) -> String {
    assert!(server.wait_log("queue_attempt", Duration::from_secs(10)));
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("queue_attempt"))
        .unwrap_or_else(|| panic!("no queue_attempt line:\n{log}"));
    line.split(" tls=")
        .nth(1)
        .unwrap_or_else(|| panic!("no tls field: {line}"))
        .to_string()
}

/// No file under `dir` (recursively) holds `needle` in plaintext, apart
/// from the audit log: its `MessageRelayed` records name the next hop
/// (`mx.remote.example`) in the clear by design; the recipient there is
/// a commitment.
pub fn assert_no_plaintext(dir: &std::path::Path, needle: &str) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n == "audit") {
            continue;
        }
        if path.is_dir() {
            assert_no_plaintext(&path, needle);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "{} holds {needle:?}", path.display());
        }
    }
}
