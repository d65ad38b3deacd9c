//! Harness for end-to-end tests: starts the real `sealpost` binary on
//! ephemeral loopback ports in a temporary folder and drives its CLI.

#![allow(dead_code)]

use rustls::pki_types::pem::PemObject;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sealpost");
pub const PASSWORD: &str = "correct horse battery staple";

/// The listeners every test server opens.
pub const ALL_LISTENERS: [&str; 7] = [
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "smtp",
    "submission",
    "submissions",
];

/// A folder with a config for a test server.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Site {
    /// A config with every listener on 127.0.0.1:0, two hosted domains, and `extra` appended.
    pub fn new(extra: &str) -> Site {
        Site::with_listeners(&[], extra)
    }

    /// As [`Site::new`], with more listeners (`http`, `https`) on 127.0.0.1:0.
    pub fn with_listeners(more: &[&str], extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let listen: String = ALL_LISTENERS
            .iter()
            .chain(more)
            .map(|l| format!("{l} = [\"127.0.0.1:0\"]\n"))
            .collect();
        let text = format!(
            "[server]\nhostname = \"mail.example.org\"\ndata_dir = \"data\"\nmaster_key = \"keys/master.key\"\naudit_signing_key = \"keys/audit.key\"\n\
             [tls]\ncert = \"certs/cert.pem\"\nkey = \"certs/key.pem\"\n\
             [listen]\n{listen}\n\
             [[domain]]\nname = \"example.org\"\n[[domain]]\nname = \"example.net\"\n{extra}\n{}",
            store_section()
        );
        let config = dir.path().join("sealpost.toml");
        std::fs::write(&config, text).unwrap();
        Site { dir, config }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs the CLI with `args` (config added), feeding `stdin`.
    pub fn cli(&self, args: &[&str], stdin: &str) -> CliOutput {
        cli(&self.config, args, stdin)
    }

    /// Adds an account with the standard test password.
    pub fn add_account(&self, address: &str) {
        let out = self.cli(
            &["account", "add", address, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.ok(), "account add {address}: {}", out.stderr);
    }

    pub fn start(&self) -> Server {
        Server::start(&self.config)
    }
}

/// With `SEALPOST_E2E_STORE=postgresql` (`.ci/run` sets it for a fixed
/// set of these tests), every test server keeps its store in a fresh
/// database of the PostgreSQL instance that `SEALPOST_TEST_PG` names
/// (failing, not skipping, without it); otherwise the embedded store.
pub fn store_section() -> String {
    match std::env::var("SEALPOST_E2E_STORE").as_deref() {
        Ok("postgresql") => {
            let pg = sealpost_store::testing::fresh_database();
            format!(
                "[store]\nbackend = \"postgresql\"\nurl = \"{}\"\npool_size = 8\n",
                pg.url
            )
        }
        Ok("embedded") | Err(_) => String::new(),
        Ok(other) => panic!("SEALPOST_E2E_STORE={other}: embedded or postgresql"),
    }
}

pub struct CliOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

pub fn cli(config: &Path, args: &[&str], stdin: &str) -> CliOutput {
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses before reading its input (a data_dir not in
    // place, say) may be gone before this is written: the broken pipe is
    // no failure of the harness; its exit code and stderr tell the test.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    let out = child.wait_with_output().unwrap();
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running server. Stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addrs: HashMap<String, SocketAddr>,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(config: &Path) -> Server {
        Server::start_under(config, &[])
    }

    /// As [`Server::start`], the binary run by `wrapper` (a program and its
    /// arguments, e.g. `strace -f`): `child` is then the wrapper.
    pub fn start_under(config: &Path, wrapper: &[&str]) -> Server {
        Server::start_program(config, wrapper, Path::new(BIN))
    }

    /// As [`Server::start`], in a mount namespace of its own where
    /// `mounts` (a shell command; `$0` is `dir`) ran first: the server then
    /// sees another file system than the test and its CLI, as under
    /// deploy/'s unit (`PrivateTmp=`, `ProtectSystem=`). Needs root.
    pub fn start_with_mounts(config: &Path, dir: &Path, mounts: &str) -> Server {
        let script = format!("{mounts} && exec \"$@\"");
        Server::start_under(
            config,
            &[
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &script,
                dir.to_str().unwrap(),
            ],
        )
    }

    /// As [`Server::start_under`], with the binary at `bin` (a copy that
    /// another user than the test's can reach).
    pub fn start_program(config: &Path, wrapper: &[&str], bin: &Path) -> Server {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("-c")
            .arg(config)
            .arg("serve")
            .env("SEALPOST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {wrapper:?} {BIN}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                let _ = tx.send(line);
            }
        });
        let mut addrs = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("server did not start; log:\n{}", log.lock().unwrap());
                }
            };
            if line.contains(" listening ") {
                let kind = field(&line, "listener=").trim_matches('"').to_string();
                let addr: SocketAddr = field(&line, "addr=").parse().unwrap();
                addrs.insert(kind, addr);
            } else if line.starts_with('{') {
                // `[log] format = "json"`.
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let f = &v["fields"];
                if f["message"] == "listening" {
                    let kind = f["listener"].as_str().unwrap().to_string();
                    addrs.insert(kind, f["addr"].as_str().unwrap().parse().unwrap());
                }
            }
            if line.contains("sealpost is running") {
                break;
            }
        }
        Server { child, addrs, log }
    }

    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.addrs[listener]
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        self.signal("TERM");
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line
        .find(name)
        .map(|i| i + name.len())
        .unwrap_or(line.len());
    line[start..].split_whitespace().next().unwrap_or("")
}

/// A rustls client config that trusts the site's (self-signed) certificate only.
pub fn client_tls(cert: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// Runs `script` (under tests/) against `server`'s IMAPS listener with
/// the JSON arguments the IMAP scripts share (cafile, imaps, password)
/// and asserts it printed "ok", showing its output and the server's log
/// otherwise.
pub fn run_imaps_script(site: &Site, server: &Server, script: &str) {
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "password": PASSWORD,
    });
    let out = python(script, &[&args.to_string()]);
    assert!(
        out.ok() && out.stdout.contains("ok"),
        "{script}: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
}

/// Runs a Python script from the repository's tests/ folder with arguments; returns stdout.
pub fn python(script: &str, args: &[&str]) -> CliOutput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(script);
    let out = Command::new("python3")
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
