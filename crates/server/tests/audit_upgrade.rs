//! An audit log from before node ids (`000000000001.seg`, ...) keeps
//! verifying after the upgrade: the server goes on writing it, its new
//! segments named by the node's id (`node-....000000000002.seg`), and
//! `audit verify` and `audit export` read the two kinds of names as one
//! chain. The old log is made by renaming a log's files to the old names
//! (seals, checkpoints and the witness name segments by number only).

mod audit_support;
mod common;

use audit_support::*;
use common::*;

fn node_id(site: &Site) -> String {
    std::fs::read_to_string(site.path("data/node-id"))
        .unwrap()
        .trim()
        .to_string()
}

fn audit_files(site: &Site) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(site.path("data/audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_log_with_the_old_names_verifies_and_continues_under_the_node_id() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let server = site.start();
    verify_ok(&site);
    assert_eq!(server.stop(), Some(0));
    let id = node_id(&site);
    // As the previous version left it: no node id in the names.
    let mut renamed = 0;
    for name in audit_files(&site) {
        if let Some(old) = name.strip_prefix(&format!("{id}.")) {
            std::fs::rename(
                site.path(&format!("data/audit/{name}")),
                site.path(&format!("data/audit/{old}")),
            )
            .unwrap();
            renamed += 1;
        }
    }
    assert!(renamed >= 2, "{:?}", audit_files(&site));
    let before = audit_files(&site);
    assert!(before.iter().any(|n| n == "000000000001.seg"), "{before:?}");
    let witness = site.path("keys/audit-witness.log");
    let w = witness.to_str().unwrap();
    let out = site.cli(&["audit", "verify", "--strict", "--witness", w], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);

    // Upgraded: the server writes on, under its node id.
    let server = site.start();
    site.add_account("bob@example.org");
    assert_eq!(server.stop(), Some(0));
    let after = segments(&site);
    assert!(after.contains(&"000000000001.seg".to_string()), "{after:?}");
    let new: Vec<&String> = after
        .iter()
        .filter(|n| n.starts_with(&format!("{id}.")))
        .collect();
    assert!(!new.is_empty(), "{after:?}");
    let out = site.cli(&["audit", "verify", "--strict", "--witness", w], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    // One chain in the export: sequence numbers without a gap.
    let rows = audit_rows(&site, &[]);
    let seqs: Vec<u64> = rows.iter().map(|r| r["seq"].parse().unwrap()).collect();
    assert!(seqs.len() > 2);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}
