//! The promise of the helper under a real crash: a child process (this test
//! binary, run again with [`CHILD_DIR`] set) rewrites a handful of files in
//! a loop and reports each write once [`sealpost_durable::write`] returns;
//! the parent kills it with SIGKILL in the middle, then checks that every
//! file holds one whole version (never a mix, never a cut), that every
//! reported write is there, and that nothing but temporary names is left.
//!
//! SIGKILL stops the process, not the kernel: this shows the atomicity and
//! the order of the steps, not the fsyncs (which only a power cut tests).
//! A second check runs the helper under a hostile umask (0277) through
//! `sh -c 'umask 0277; exec ...'` and checks the modes it sets.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Set in the child: the folder it writes in.
const CHILD_DIR: &str = "SEALPOST_DURABLE_CRASH_DIR";
/// Set in the child: the first generation it writes.
const CHILD_FIRST_GEN: &str = "SEALPOST_DURABLE_CRASH_GEN";
/// Set in the umask child: the folder it creates things in.
const UMASK_DIR: &str = "SEALPOST_DURABLE_UMASK_DIR";

const FILES: u64 = 6;

/// One version of file `i`: a header naming the generation and the length,
/// then a body whose length varies (1 byte to about 300 KiB, more than one
/// page and more than one write call) and whose bytes depend on both.
fn content(gen_: u64, i: u64) -> Vec<u8> {
    let len = ((gen_ * 7919 + i * 104_729) % 300_000 + 1) as usize;
    let mut v = format!("gen {gen_:020} file {i} len {len:010}\n").into_bytes();
    let fill = (gen_.wrapping_mul(31).wrapping_add(i) % 251) as u8;
    v.extend(std::iter::repeat_n(fill, len));
    v
}

/// The generation a file's bytes are a whole version of, or a description
/// of what is wrong with them.
fn whole_version(bytes: &[u8], i: u64) -> Result<u64, String> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| format!("no header in {} bytes", bytes.len()))?;
    let head = std::str::from_utf8(&bytes[..nl]).map_err(|e| e.to_string())?;
    let gen_: u64 = head
        .split(' ')
        .nth(1)
        .and_then(|g| g.parse().ok())
        .ok_or_else(|| format!("bad header {head:?}"))?;
    if bytes != content(gen_, i).as_slice() {
        return Err(format!(
            "file {i}: {} bytes are not generation {gen_} whole",
            bytes.len()
        ));
    }
    Ok(gen_)
}

/// Not a test of its own: the body of the child process. It does nothing
/// unless the parent test started it with [`CHILD_DIR`] set.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let first: u64 = std::env::var(CHILD_FIRST_GEN).unwrap().parse().unwrap();
    for gen_ in first.. {
        for i in 0..FILES {
            sealpost_durable::write(&dir.join(format!("f{i}")), &content(gen_, i)).unwrap();
            // stdout is line-buffered: the line is out before the next write.
            println!("wrote {i} {gen_}");
        }
    }
}

#[test]
fn a_process_killed_in_the_middle_of_writes_leaves_whole_files() {
    let d = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // The generation each file held when the last round was checked.
    let mut before: BTreeMap<u64, u64> = BTreeMap::new();
    let mut next_gen = 1;
    // Kill after different numbers of reported writes, so the kill lands on
    // different steps of different writes.
    for (round, kill_after) in [1usize, 7, 40, 3, 95, 16, 2, 61, 11, 29]
        .into_iter()
        .enumerate()
    {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, d.path())
            .env(CHILD_FIRST_GEN, next_gen.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the child writer");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // The last generation reported written, per file, in this round.
        let mut reported: BTreeMap<u64, u64> = BTreeMap::new();
        let mut record = |line: &str| {
            // libtest may print `test child_writer ... ` on the same line.
            let line = line.trim_end();
            let rest = &line[line.find("wrote ")? + "wrote ".len()..];
            let (i, g) = rest.split_once(' ')?;
            reported.insert(i.parse().ok()?, g.parse().ok()?);
            Some(())
        };
        let mut seen = 0;
        let mut line = String::new();
        while seen < kill_after {
            line.clear();
            assert_ne!(
                out.read_line(&mut line).unwrap(),
                0,
                "round {round}: the child stopped on its own"
            );
            if record(&line).is_some() {
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        // Writes reported between our last read and the kill count too.
        for line in out.lines() {
            record(&line.unwrap());
        }
        child.wait().unwrap();

        let mut now: BTreeMap<u64, u64> = BTreeMap::new();
        let mut temporaries = 0;
        for entry in std::fs::read_dir(d.path()).unwrap() {
            let name = entry.unwrap().file_name();
            if sealpost_durable::is_temporary(&name) {
                // Swept as callers sweep their folders on start.
                std::fs::remove_file(d.path().join(&name)).unwrap();
                temporaries += 1;
                continue;
            }
            let s = name.to_string_lossy();
            let i: u64 = s
                .strip_prefix('f')
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("round {round}: unexpected file {s}"));
            let bytes = std::fs::read(d.path().join(&*name)).unwrap();
            let got = whole_version(&bytes, i).unwrap_or_else(|e| panic!("round {round}: {e}"));
            now.insert(i, got);
        }
        // Each file holds what was last reported for it (or, if nothing was
        // this round, what it held before), except the one file whose write
        // was in flight at the kill, which may hold the next generation.
        let mut in_flight = Vec::new();
        for i in 0..FILES {
            let (settled, next) = match reported.get(&i) {
                Some(&g) => (Some(g), g + 1),
                None => (before.get(&i).copied(), next_gen),
            };
            let got = now.get(&i).copied();
            if got != settled {
                assert_eq!(
                    got,
                    Some(next),
                    "round {round}: file {i} holds {got:?}, reported or earlier {settled:?}"
                );
                in_flight.push(i);
            }
        }
        assert!(
            in_flight.len() <= 1,
            "round {round}: files {in_flight:?} ahead of their report; only one write is ever in flight"
        );
        assert!(
            temporaries <= 1,
            "round {round}: {temporaries} temporary files"
        );
        next_gen = now.values().copied().max().unwrap_or(0) + 1;
        before = now;
    }
    assert_eq!(before.len() as u64, FILES, "every file was written");
}

/// Not a test of its own: run by the next test under umask 0277.
#[test]
fn umask_child() {
    let Some(dir) = std::env::var_os(UMASK_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    sealpost_durable::create_dir(&dir.join("a/b")).unwrap();
    sealpost_durable::write(&dir.join("a/b/file"), b"x").unwrap();
    sealpost_durable::write_new(&dir.join("a/new"), b"y").unwrap();
    let streamed: std::io::Result<()> =
        sealpost_durable::write_with(&dir.join("a/streamed"), |f| {
            std::io::Write::write_all(f, b"z")
        });
    streamed.unwrap();
}

#[test]
fn modes_are_0600_and_0700_whatever_the_umask() {
    let d = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 0277 && exec "$0" --exact umask_child --test-threads=1"#)
        .arg(&exe)
        .env(UMASK_DIR, d.path())
        .stdout(Stdio::null())
        .status()
        .expect("sh must be installed to run this test");
    assert!(status.success(), "umask child failed: {status}");
    let mode = |p: &str| {
        std::fs::metadata(d.path().join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("a"), 0o700);
    assert_eq!(mode("a/b"), 0o700);
    assert_eq!(mode("a/b/file"), 0o600);
    assert_eq!(mode("a/new"), 0o600);
    assert_eq!(mode("a/streamed"), 0o600);
}
