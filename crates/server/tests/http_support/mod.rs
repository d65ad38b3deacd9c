//! Test servers with the HTTP(S) listeners, and the clients that drive them
//! (curl, Python), for the `http_*` and `acme_*` end-to-end tests.

#![allow(dead_code)]

use crate::common::{CliOutput, PASSWORD, Server};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A free TCP port on 127.0.0.1 (bound and released: for services such as
/// pebble that must be told a port before they start).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder with a sealpost config: host `mail.example.org`, domains
/// `example.org` and `example.net`, the given `[listen]` lines, then `extra`.
pub struct HttpSite {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// The listeners most HTTP tests want, all on ephemeral loopback ports.
pub const LISTEN_ALL: &str = "imap = [\"127.0.0.1:0\"]\nimaps = [\"127.0.0.1:0\"]\npop3s = [\"127.0.0.1:0\"]\nsmtp = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nsubmissions = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]\n";

impl HttpSite {
    pub fn new(listen: &str, extra: &str) -> HttpSite {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sealpost.toml");
        HttpSite { dir, config }.with(listen, extra)
    }

    /// Rewrites the config (same folder, same data).
    pub fn with(self, listen: &str, extra: &str) -> HttpSite {
        let text = format!(
            "[server]\nhostname = \"mail.example.org\"\ndata_dir = \"data\"\nmaster_key = \"keys/master.key\"\naudit_signing_key = \"keys/audit.key\"\n\
             [tls]\ncert = \"certs/cert.pem\"\nkey = \"certs/key.pem\"\n\
             [listen]\n{listen}\n{extra}\n\
             [[domain]]\nname = \"example.org\"\n[[domain]]\nname = \"example.net\"\n"
        );
        std::fs::write(&self.config, text).unwrap();
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn start(&self) -> Server {
        Server::start(&self.config)
    }

    pub fn add_account(&self, address: &str) {
        let out = crate::common::cli(
            &self.config,
            &["account", "add", address, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.ok(), "account add {address}: {}", out.stderr);
    }

    /// The self-signed certificate sealpost generated (trust anchor for curl/Python).
    pub fn cert(&self) -> PathBuf {
        self.path("certs/cert.pem")
    }
}

/// Runs curl with `args`; a missing curl fails the test.
pub fn curl(args: &[&str]) -> CliOutput {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl must be installed (apt-get install curl)");
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// curl to `https://NAME:PORT/PATH` where NAME resolves to the listener
/// (`--resolve`), trusting `ca`; returns (status, body).
pub fn curl_https(
    name: &str,
    addr: SocketAddr,
    path: &str,
    ca: &Path,
    extra: &[&str],
) -> (u16, String) {
    let resolve = format!("{name}:{}:{}", addr.port(), addr.ip());
    let url = format!("https://{name}:{}{path}", addr.port());
    let mut args = vec![
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &resolve,
        "--write-out",
        "\n%{http_code}",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    status_and_body(curl(&args))
}

/// curl to `http://ADDR/PATH` with `Host: host`; returns (status, body).
pub fn curl_http(host: &str, addr: SocketAddr, path: &str, extra: &[&str]) -> (u16, String) {
    let header = format!("Host: {host}");
    let url = format!("http://{addr}{path}");
    let mut args = vec!["-H", &header, "--write-out", "\n%{http_code}"];
    args.extend_from_slice(extra);
    args.push(&url);
    status_and_body(curl(&args))
}

fn status_and_body(out: CliOutput) -> (u16, String) {
    assert_eq!(out.code, 0, "curl failed: {}", out.stderr);
    let (body, code) = out.stdout.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}
