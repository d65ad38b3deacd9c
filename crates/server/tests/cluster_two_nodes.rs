//! Two real `sealpost` nodes over one PostgreSQL database, as a host runs
//! them: one master key, one certificate, one database, each node its own
//! data_dir, audit log and listeners. Delivery through node 1 reaches an
//! IDLE session on node 2 within a second; concurrent APPENDs on both get
//! distinct, increasing UIDs; a POP3 session on node 1 makes node 2 answer
//! [IN-USE]; kill -9 of a node under SMTP load loses no acknowledged
//! message and the queue entries it held are delivered by the other.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`, which `.ci/run` runs);
//! fails without it. The `[store]` section is these tests' own, so they
//! must run without `SEALPOST_E2E_STORE`.

mod cluster_support;
mod common;
mod smtp_support;

use cluster_support::*;
use common::*;
use serde_json::json;
use smtp_support::*;
use std::time::Duration;

#[test]
fn delivery_through_node_1_reaches_an_idle_session_on_node_2_within_a_second() {
    let c = cluster("");
    // tests/idle_delivery.py: IDLE on `imaps`, SMTP to `smtp`, EXISTS
    // within 1 s of the 250.
    let out = c.script(
        "idle_delivery.py",
        json!({
            "imaps": c.node2.addr("imaps").port(),
            "smtp": c.node1().addr("smtp").port(),
        }),
    );
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn concurrent_appends_on_both_nodes_get_distinct_increasing_uids() {
    let c = cluster("");
    let out = c.script(
        "cluster_two_nodes.py",
        json!({"mode": "append", "count": 15}),
    );
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn pop3_on_node_2_gets_in_use_while_node_1_holds_the_maildrop() {
    let c = cluster("");
    let out = c.script("cluster_two_nodes.py", json!({"mode": "pop3-in-use"}));
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn an_account_added_through_node_1_logs_in_on_node_2_within_2_seconds() {
    let c = cluster("");
    let login = |user: &str| {
        let args = json!({
            "cafile": c.site2.path("certs/cert.pem"),
            "imaps": c.node2.addr("imaps").port(),
            "user": user,
            "password": PASSWORD,
        });
        python("imap_login.py", &[&args.to_string()]).stdout
    };
    assert!(
        login("carol@example.org").starts_with("NO"),
        "not there yet"
    );
    const RELOADED: &str = "accounts file changed: reloaded";
    let before = c.node2.log().matches(RELOADED).count();
    c.site1.add_account("carol@example.org");
    let added = std::time::Instant::now();
    // Node 2 reloads the shared file by itself (its watcher), nobody tells it.
    assert!(
        wait_for(Duration::from_secs(2), || c
            .node2
            .log()
            .matches(RELOADED)
            .count()
            > before),
        "node 2 did not reload the accounts within 2 s\nnode 2 log:\n{}",
        c.node2.log()
    );
    eprintln!("node 2 reloaded {:?} after account add", added.elapsed());
    assert_eq!(login("carol@example.org").trim(), "OK");
}

/// Each node keeps its own sealed log; `audit verify --dir A --dir B`
/// checks both, and `audit export --dir A --dir B` merges them in time
/// order with a `node` column, personal fields opened on both (one master
/// key). Damage in one node's log fails that folder only, by name.
#[test]
fn both_nodes_audit_logs_verify_and_export_merged_in_time_order() {
    let c = cluster("");
    let login = |node: &Server, user: &str, password: &str| {
        let args = json!({
            "cafile": c.site1.path("certs/cert.pem"),
            "imaps": node.addr("imaps").port(),
            "user": user,
            "password": password,
        });
        python("imap_login.py", &[&args.to_string()]).stdout
    };
    assert_eq!(login(c.node1(), "alice@example.org", PASSWORD).trim(), "OK");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(login(&c.node2, "bob@example.net", PASSWORD).trim(), "OK");
    std::thread::sleep(Duration::from_millis(30));
    assert!(login(c.node1(), "alice@example.org", "wrong").starts_with("NO"));

    let (a1, a2) = (c.site1.path("data/audit"), c.site2.path("data/audit"));
    let (d1, d2) = (a1.display().to_string(), a2.display().to_string());
    // Each log is named by its node's id (its segment names carry it).
    let id = |site: &Site| {
        std::fs::read_to_string(site.path("data/node-id"))
            .unwrap()
            .trim()
            .to_string()
    };
    let (n1, n2) = (id(&c.site1), id(&c.site2));
    let (l1, l2) = (format!("{n1} ({d1})"), format!("{n2} ({d2})"));
    // The writers are asynchronous: ask until the three logins are there.
    let export = || {
        c.site1.cli(
            &[
                "audit", "export", "--csv", "--kind", "login", "--dir", &d1, "--dir", &d2,
            ],
            "",
        )
    };
    let mut out = export();
    assert!(
        wait_for(Duration::from_secs(5), || {
            out = export();
            out.ok() && out.stdout.lines().count() >= 4
        }),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let mut lines = out.stdout.lines();
    let header = csv_fields(lines.next().unwrap());
    assert_eq!(
        header.last().map(String::as_str),
        Some("node"),
        "{header:?}"
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    let seen: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            (
                r[col("account")].as_str(),
                r[col("outcome")].as_str(),
                r[header.len() - 1].as_str(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 3, "{}", out.stdout);
    assert_eq!(seen[0].0, "alice@example.org");
    assert_eq!(seen[0].2, n1);
    assert_eq!(seen[1].0, "bob@example.net");
    assert_eq!(seen[1].2, n2);
    assert_eq!(seen[2].0, "alice@example.org");
    assert_eq!(seen[2].2, n1);
    assert_ne!(
        seen[2].1, seen[0].1,
        "the third login failed: {}",
        out.stdout
    );
    let times: Vec<i64> = rows
        .iter()
        .map(|r| r[col("time_ms")].parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let verify = c
        .site1
        .cli(&["audit", "verify", "--dir", &d1, "--dir", &d2], "");
    assert!(verify.ok(), "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains(&format!("{l1}: audit log verified")),
        "{}",
        verify.stdout
    );
    assert!(
        verify.stdout.contains(&format!("{l2}: audit log verified")),
        "{}",
        verify.stdout
    );
    let pubkey = c.site1.path("audit.pub");
    std::fs::write(&pubkey, c.site1.cli(&["audit", "pubkey"], "").stdout).unwrap();
    let p = pubkey.display().to_string();
    let odd = c.site1.cli(
        &[
            "audit", "verify", "--dir", &d1, "--dir", &d2, "--pubkey", &p,
        ],
        "",
    );
    assert!(
        !odd.ok() && odd.stderr.contains("once per --dir"),
        "{}",
        odd.stderr
    );

    // Node 2's open segment altered: node 2's folder fails, node 1's passes.
    let open = std::fs::read_dir(&a2)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .find(|p| !p.with_extension("seal").exists())
        .expect("node 2 has an open segment");
    let mut bytes = std::fs::read(&open).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\"login\"")
        .expect("a login record in node 2's open segment");
    bytes[at + 1] = b'L';
    std::fs::write(&open, bytes).unwrap();
    let bad = c
        .site1
        .cli(&["audit", "verify", "--dir", &d1, "--dir", &d2], "");
    assert!(!bad.ok(), "{}", bad.stdout);
    assert!(
        bad.stdout.contains(&format!("{l1}: audit log verified")),
        "{}",
        bad.stdout
    );
    assert!(
        bad.stderr.contains(&format!("1 of 2 folder(s): {l2}")),
        "{}",
        bad.stderr
    );
}

/// The fields of one RFC 4180 CSV line (quotes doubled inside quoted fields).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let (mut quoted, mut chars) = (false, line.chars().peekable());
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[test]
fn kill_9_of_a_node_under_smtp_load_loses_nothing_and_the_other_delivers_its_queue() {
    let sink = Sink::start(&[]);
    // The next hop hangs: node 1's delivery attempts stay in flight, so it
    // is killed holding its queue entries.
    sink.stall();
    let c = cluster(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 2\nrelay_timeout_secs = 60\n{}",
        route("remote.example", sink.port)
    ));
    let mut remote = Vec::new();
    for i in 0..4 {
        let subject = format!("remote {i}");
        assert!(try_submit(
            &c.site1,
            c.node1(),
            "carol@remote.example",
            &subject
        ));
        remote.push(subject);
    }
    // Local deliveries to bob keep coming through node 1 while it is
    // killed; every one acknowledged must be there afterwards.
    let acked = std::sync::Mutex::new(Vec::new());
    let node1 = c.node1.as_ref().unwrap();
    std::thread::scope(|s| {
        let load = s.spawn(|| {
            for i in 0..40 {
                let subject = format!("local {i} end");
                if try_submit(&c.site1, node1, "bob@example.net", &subject) {
                    acked.lock().unwrap().push(subject);
                } else {
                    break;
                }
            }
        });
        wait_for(Duration::from_secs(30), || acked.lock().unwrap().len() >= 3);
        // SIGKILL: no goodbye, no release of anything node 1 holds.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &node1.child.id().to_string()])
            .status();
        load.join().unwrap();
    });
    let mut c = c;
    c.node1.take().unwrap().kill9();
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() >= 3, "{acked:?}");
    sink.unstall();
    // Node 2 delivers what node 1 held once its claims run out.
    let all = wait_for(Duration::from_secs(40), || {
        let got = subjects_at(&sink);
        remote.iter().all(|s| got.contains(s))
    });
    let got = subjects_at(&sink);
    assert!(
        all,
        "delivered {got:?} of {remote:?}\nnode 2 log:\n{}",
        c.node2.log()
    );
    for s in &remote {
        let n = got.iter().filter(|g| *g == s).count();
        assert_eq!(n, 1, "{s} arrived {n} times");
    }
    // Every acknowledged local message is in bob's INBOX, read on node 2.
    for s in &acked {
        let n = count(&c.site2, &c.node2, "bob@example.net", s);
        assert_eq!(n, 1, "{s}: {n} copies after the kill");
    }
    let list = c.site2.cli(&["queue", "list"], "");
    assert!(
        wait_for(Duration::from_secs(20), || c
            .site2
            .cli(&["queue", "list"], "")
            .stdout
            == "queue is empty\n"),
        "{}",
        list.stdout
    );
}
