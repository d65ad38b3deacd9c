//! Segment names carrying the node id: a log written before node ids goes
//! on verifying after the upgrade, its new segments named by the node;
//! recovery, export, erasure, anonymization and deletion work across the
//! two kinds of names; several nodes' logs export merged in time order.

mod common;

use common::*;
use sealpost_audit::{
    AuditLog, Event, ExportFilter, FailureKind, anonymize_before, delete_segments_before,
    export_csv_merged, verify,
};

const NODE: &str = "node-0123456789ab";

fn open_node(site: &Site, node: &str) -> AuditLog {
    AuditLog::open_node(
        &site.dir(),
        &site.key(),
        &site.config(&small_segments()),
        node,
    )
    .unwrap()
}

fn files(site: &Site, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(site.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(ext))
        .collect();
    out.sort();
    out
}

#[test]
fn an_old_log_keeps_verifying_and_new_segments_carry_the_node_id() {
    let site = Site::new();
    filled(&site, &small_segments(), 12);
    let old = files(&site, ".seg");
    assert!(
        old.len() >= 2 && old.iter().all(|n| n.len() == 16),
        "{old:?}"
    );
    let before = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(before.node, None);

    let log = open_node(&site, NODE);
    for i in 100..112 {
        log.record(login(i));
    }
    log.close().unwrap();
    let all = files(&site, ".seg");
    let new: Vec<&String> = all.iter().filter(|n| n.starts_with(NODE)).collect();
    assert!(new.len() >= 2, "{all:?}");
    assert_eq!(all.len(), old.len() + new.len());
    // Numbers continue across the two kinds of names.
    assert_eq!(new[0].as_str(), format!("{NODE}.{:012}.seg", old.len() + 1));
    for ext in [".seal", ".pii"] {
        assert!(files(&site, ext).iter().any(|n| n.starts_with(NODE)));
    }
    let after = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(after.node.as_deref(), Some(NODE));
    assert_eq!(after.records, 24);
    let csv = site.export(&ExportFilter::default());
    assert_eq!(csv.lines().count(), 1 + 24);
    assert!(csv.contains("user0@example.org") && csv.contains("user111@example.org"));

    // Erasure rewrites side files of both kinds of names.
    let log = open_node(&site, NODE);
    let r = log
        .erase_personal_data(&["user1@example.org".into(), "user101@example.org".into()])
        .unwrap();
    assert_eq!(r.records, 2, "{r:?}");
    log.close().unwrap();
    let csv = site.export(&ExportFilter::default());
    assert!(
        !csv.contains("user1@") && !csv.contains("user101@"),
        "{csv}"
    );
    verify(&site.dir(), Some(&site.pubkey())).unwrap();
}

#[test]
fn a_crashed_tail_with_a_node_name_is_recovered() {
    let site = Site::new();
    let log = open_node(&site, NODE);
    log.record(login(1));
    log.flush();
    // Leave the segment open as a crash would: the handle is forgotten,
    // its lock released only by the process... so copy the folder instead.
    let crashed = Site::new();
    copy_dir(&site.dir(), &crashed.dir());
    std::fs::copy(site.key(), crashed.key()).unwrap();
    drop(log);
    let log = open_node(&crashed, NODE);
    let tail = log.recovered_tail().expect("tail recovered").clone();
    assert_eq!(tail.segment, format!("{NODE}.000000000001.seg"));
    log.record(login(2));
    log.close().unwrap();
    let r = verify(&crashed.dir(), None).unwrap();
    assert_eq!(r.records, 3, "login, tail-recovered record, login");
    assert_eq!(r.crash_sealed, vec![format!("{NODE}.000000000001.seg")]);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn retention_removes_and_anonymizes_segments_with_node_names() {
    let site = Site::new();
    filled(&site, &small_segments(), 6);
    let log = open_node(&site, NODE);
    for i in 0..12 {
        log.record(login(i));
    }
    log.close().unwrap();
    let cutoff = next_second_after(now_ms());
    let log = open_node(&site, NODE);
    log.record(login(500));
    log.close().unwrap();
    let a = anonymize_before(&site.dir(), cutoff).unwrap();
    assert_eq!(a.records, 18);
    let d = delete_segments_before(&site.dir(), cutoff, &site.key()).unwrap();
    assert!(d.segments >= 3, "{d:?}");
    // Every file of the deleted segments is gone, of both kinds of names.
    let left = files(&site, "");
    assert!(
        left.iter()
            .all(|n| !n.ends_with(".seg") || n.starts_with(NODE)),
        "{left:?}"
    );
    assert_eq!(files(&site, ".seg").len(), 1, "{left:?}");
    assert_eq!(files(&site, ".seal").len(), 1, "{left:?}");
    let r = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert_eq!(r.records, 1);
    assert_eq!(r.node.as_deref(), Some(NODE));
}

#[test]
fn a_folder_holding_two_nodes_logs_is_refused() {
    let site = Site::new();
    let log = open_node(&site, NODE);
    log.record(login(1));
    log.close().unwrap();
    std::fs::write(site.path("node-bbbbbbbbbbbb.000000000002.seg"), b"").unwrap();
    let err = verify(&site.dir(), None).unwrap_err();
    assert_eq!(err.kind, FailureKind::Io);
    assert!(err.detail.contains("two nodes"), "{err}");
}

#[test]
fn a_log_keeps_the_node_id_its_names_carry() {
    let site = Site::new();
    let log = open_node(&site, NODE);
    log.record(login(1));
    log.close().unwrap();
    // data_dir/node-id lost and made anew: the folder stays one log.
    let log = open_node(&site, "node-ffffffffffff");
    log.record(login(2));
    log.close().unwrap();
    assert!(files(&site, ".seg").iter().all(|n| n.starts_with(NODE)));
    verify(&site.dir(), None).unwrap();
    assert!(
        AuditLog::open_node(
            &site.dir(),
            &site.key(),
            &site.config(&small_segments()),
            "../x"
        )
        .is_err()
    );
}

#[test]
fn merged_export_names_each_row_by_its_node_in_time_order() {
    let a = Site::new();
    let b = Site::new();
    let la = open_node(&a, "node-aaaaaaaaaaaa");
    let lb = open_node(&b, "node-bbbbbbbbbbbb");
    for i in 0..6 {
        let log = if i % 2 == 0 { &la } else { &lb };
        log.record(login(i));
        log.flush();
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    la.record(Event::AuditVerificationFailed {
        segment: None,
        record: None,
        reason: "x".into(),
    });
    la.close().unwrap();
    lb.close().unwrap();
    // A log from before node ids is named by its label.
    let c = Site::new();
    filled(&c, &small_segments(), 1);
    let (ka, kb, kc) = (a.pii_keys(), b.pii_keys(), c.pii_keys());
    let (da, db, dc) = (a.dir(), b.dir(), c.dir());
    let logs = [
        ("first", da.as_path(), &ka),
        ("second", db.as_path(), &kb),
        ("old-node", dc.as_path(), &kc),
    ];
    let mut out = Vec::new();
    export_csv_merged(&logs, &ExportFilter::default(), &mut out).unwrap();
    let csv = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 8, "{csv}");
    let logins: Vec<(String, &str)> = rows
        .iter()
        .filter_map(|r| {
            let user = r.split(',').find(|c| c.starts_with("user"))?;
            Some((user.to_string(), r.rsplit(',').next().unwrap()))
        })
        .collect();
    let order: Vec<&str> = logins
        .iter()
        .filter(|(_, n)| n.starts_with("node-a") || n.starts_with("node-b"))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(
        order,
        [
            "node-aaaaaaaaaaaa",
            "node-bbbbbbbbbbbb",
            "node-aaaaaaaaaaaa",
            "node-bbbbbbbbbbbb",
            "node-aaaaaaaaaaaa",
            "node-bbbbbbbbbbbb"
        ],
        "{csv}"
    );
    assert!(rows.iter().any(|r| r.ends_with(",old-node")), "{csv}");
}
