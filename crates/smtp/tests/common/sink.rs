//! A next hop on loopback that records every transaction
//! (tests/smtp_sink.py), shared by the smtp crate's tests and the server's
//! smtp_* end-to-end tests (included there by `#[path]`). Each crate adds
//! its own `wait_accepted` (async here, blocking there).

/// A running `tests/smtp_sink.py`; killed on drop.
pub struct Sink {
    child: std::process::Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Sink {
    /// Starts the sink with its options (`--dsn`, `--rcpt 550`, `--data 451,250`);
    /// `--hold DIR/hold` and `--stall DIR/stall` are always given: see
    /// [`Sink::hold`] and [`Sink::stall`].
    pub fn start(options: &[&str]) -> Sink {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(dir.path().join("tx"))
            .arg("--hold")
            .arg(dir.path().join("hold"))
            .arg("--stall")
            .arg(dir.path().join("stall"))
            .args(options)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 must be installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("sink said {line:?}"));
        Sink { child, dir, port }
    }

    /// From now on MAIL gets 451 (busy) until [`Sink::release`].
    pub fn hold(&self) {
        std::fs::write(self.dir.path().join("hold"), b"").unwrap();
    }

    /// From now on new connections hang without a greeting (a delivery
    /// attempt stays in flight) until [`Sink::unstall`].
    pub fn stall(&self) {
        std::fs::write(self.dir.path().join("stall"), b"").unwrap();
    }

    pub fn unstall(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("stall"));
    }

    pub fn release(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("hold"));
    }

    /// Every transaction so far, in order.
    pub fn transactions(&self) -> Vec<serde_json::Value> {
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

    /// Transactions whose DATA was accepted.
    pub fn accepted(&self) -> Vec<serde_json::Value> {
        self.transactions()
            .into_iter()
            .filter(|t| t["reply"] == 250)
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
