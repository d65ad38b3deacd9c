//! The short attestation window and the witness, through the real binary
//! (DESIGN.md promise 5): a record appended to the open segment behind the
//! server's back is sealed as unattested at the next start (a warning
//! naming file, record range and count; `--strict` fails; the CSV marks
//! it), a flipped byte or a truncated last record among attested records
//! fails verification, and removing the newest segment or the whole log
//! fails `audit verify --witness`.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

/// A running server whose every record so far is covered by a checkpoint
/// (verify no longer reports records awaiting one); returns it and the open
/// segment's path.
fn attested_server(site: &Site) -> (Server, std::path::PathBuf) {
    site.add_account("alice@example.org");
    let server = site.start();
    let out = run_script(site, &server, "imap_login.py", json!({}));
    assert_eq!(out.trim(), "OK");
    assert!(
        wait_for(Duration::from_secs(10), || {
            let v = site.cli(&["audit", "verify"], "");
            v.ok() && !v.stdout.contains("awaiting")
        }),
        "records stayed unattested"
    );
    let open = segments(site)
        .into_iter()
        .rfind(|s| {
            !site
                .path(&format!("data/audit/{}", s.replace(".seg", ".seal")))
                .exists()
        })
        .expect("an open segment");
    (server, site.path(&format!("data/audit/{open}")))
}

/// A record line that links to the last line of `seg` (what someone who
/// can write data_dir, but has not the signing key, can make).
fn forged_line(seg: &std::path::Path) -> Vec<u8> {
    use sha2::Digest;
    let data = std::fs::read(seg).unwrap();
    let last = data
        .strip_suffix(b"\n")
        .unwrap()
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap();
    let text = String::from_utf8_lossy(last);
    let seq: u64 = text["{\"seq\":".len()..text.find(',').unwrap()]
        .parse()
        .unwrap();
    format!(
        "{{\"seq\":{},\"time_ms\":{},\"prev\":\"{}\",\"event\":\"server_stopped\"}}\n",
        seq + 1,
        now() * 1000,
        hex::encode(sha2::Sha256::digest(last))
    )
    .into_bytes()
}

fn append(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn audit_forged_record_in_the_open_segment_is_sealed_as_unattested_after_kill_9() {
    let site = Site::new(NO_DNS);
    let (server, seg) = attested_server(&site);
    let forged = forged_line(&seg);
    let forged_seq: u64 = String::from_utf8_lossy(&forged)["{\"seq\":".len()..]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    append(&seg, &forged);
    server.kill9();
    let server = site.start();
    let name = seg.file_name().unwrap().to_string_lossy().into_owned();
    let out = site.cli(&["audit", "verify"], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "warning: {name}: records {forged_seq}..{forged_seq} (1 record(s)) sealed after a crash as unattested"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("last attested: segment "),
        "{}",
        out.stdout
    );
    let strict = site.cli(&["audit", "verify", "--strict"], "");
    assert_ne!(strict.code, 0, "{}", strict.stdout);
    assert!(strict.stderr.contains("--strict"), "{}", strict.stderr);
    // The CSV marks it; the server's own records are attested.
    let rows = audit_rows(&site, &[]);
    let row = rows
        .iter()
        .find(|r| r["seq"] == forged_seq.to_string())
        .unwrap();
    assert_eq!(row["attested"], "no", "{row:?}");
    assert!(
        rows.iter()
            .filter(|r| r["seq"] != forged_seq.to_string())
            .all(|r| r["attested"] != "no"),
        "{rows:?}"
    );
    let recovered = events(&rows, "audit_tail_recovered");
    assert!(
        recovered[0]["details"].contains("unattested=1"),
        "{recovered:?}"
    );
    drop(server);
}

/// Damages the last record of the open segment after kill -9, restarts,
/// and expects verification to fail naming the segment (also --strict).
fn damaged_attested_record_fails(damage: impl FnOnce(&std::path::Path)) {
    let site = Site::new(NO_DNS);
    let (server, seg) = attested_server(&site);
    server.kill9();
    damage(&seg);
    let server = site.start();
    let name = seg.file_name().unwrap().to_string_lossy().into_owned();
    for args in [&["audit", "verify"][..], &["audit", "verify", "--strict"]] {
        let out = site.cli(args, "");
        assert_ne!(out.code, 0, "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.contains(&name) && out.stderr.contains("attested"),
            "{}",
            out.stderr
        );
    }
    // The segment as found is kept for whoever investigates.
    assert!(
        files_in(&site, "data/audit")
            .iter()
            .any(|f| f.starts_with(&name) && f.contains(".damaged-")),
        "{:?}",
        files_in(&site, "data/audit")
    );
    drop(server);
}

#[test]
fn audit_flipped_byte_in_the_last_attested_record_fails_verification() {
    damaged_attested_record_fails(|seg| {
        let mut data = std::fs::read(seg).unwrap();
        let i = data.len() - 4;
        data[i] ^= 0x01;
        std::fs::write(seg, data).unwrap();
    });
}

#[test]
fn audit_truncated_last_attested_record_fails_verification() {
    damaged_attested_record_fails(|seg| {
        let data = std::fs::read(seg).unwrap();
        std::fs::write(seg, &data[..data.len() - 12]).unwrap();
    });
}

#[test]
fn audit_witness_detects_a_removed_newest_segment_and_a_removed_log() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    for _ in 0..2 {
        let server = site.start();
        run_script(&site, &server, "imap_login.py", json!({}));
        assert_eq!(server.stop(), Some(0));
    }
    let witness = site.path("keys/audit-witness.log");
    let w = witness.to_str().unwrap();
    let out = site.cli(&["audit", "verify", "--witness", w], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("agrees with the"), "{}", out.stdout);
    // The newest segment goes: the log alone still verifies...
    let last = segments(&site).pop().unwrap();
    let stem = last.trim_end_matches(".seg").to_string();
    for ext in ["seg", "seal", "pii"] {
        let _ = std::fs::remove_file(site.path(&format!("data/audit/{stem}.{ext}")));
    }
    assert!(site.cli(&["audit", "verify"], "").ok());
    // ...the witness does not.
    let out = site.cli(&["audit", "verify", "--witness", w], "");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("the witness saw") && out.stderr.contains("are missing"),
        "{}",
        out.stderr
    );
    // The whole log goes.
    std::fs::remove_dir_all(site.path("data/audit")).unwrap();
    std::fs::create_dir(site.path("data/audit")).unwrap();
    let out = site.cli(&["audit", "verify", "--witness", w], "");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("the log holds 0: records 0.."),
        "{}",
        out.stderr
    );
}
