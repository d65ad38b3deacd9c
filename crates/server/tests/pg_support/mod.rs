//! A private PostgreSQL instance that a test may stop and start again
//! (tests/pg.sh in a temporary folder, on a free loopback port), for the
//! tests that take the database away: `store_postgresql`,
//! `cluster_pg_restart`. Needs Debian's postgresql package (and
//! `SEALPOST_TEST_PG` set, as a sign that the PostgreSQL tests are meant
//! to run); fails without them.

#![allow(dead_code)]

use sealpost_store::testing;

/// The script's path.
pub const PG_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/pg.sh");

/// A private PostgreSQL instance this test may stop and start.
pub struct Instance {
    dir: tempfile::TempDir,
    /// Its libpq URL (Unix socket).
    pub url: String,
}

/// Runs tests/pg.sh with `args`; its standard output.
pub fn pg_sh(args: &[&str]) -> String {
    let out = std::process::Command::new("bash")
        .arg(PG_SH)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Instance {
    /// initdb and start in a temporary folder, on a free loopback port.
    pub fn start() -> Instance {
        testing::admin();
        let dir = tempfile::Builder::new().prefix("sp-pg-").tempdir().unwrap();
        // The server runs as the postgres user when the tests run as root.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let printed = pg_sh(&["start", &dir.path().join("pg").display().to_string(), &port]);
        let url = printed
            .lines()
            .find_map(|l| l.strip_prefix("export SEALPOST_TEST_PG='"))
            .and_then(|l| l.strip_suffix('\''))
            .unwrap()
            .to_string();
        Instance { dir, url }
    }
    /// The folder to give `pg.sh pause|resume`.
    pub fn path(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(PG_SH)
            .args(["stop", &self.path()])
            .output();
    }
}
