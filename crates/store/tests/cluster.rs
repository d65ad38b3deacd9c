//! Two stores over one PostgreSQL database in one process, as two sealpost
//! nodes would be: each keeps its own in-memory mailbox indexes, and these
//! tests check that they stay true when the other writes (change notices,
//! the change log, catch-up on reconnect, reload past a pruned log).
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

use sealpost_store::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Generous: notices arrive in milliseconds, but the machine may be loaded
/// (the latency itself is measured in bench/, not asserted here).
const PATIENCE: Duration = Duration::from_secs(15);

struct Node {
    _dir: tempfile::TempDir,
    store: Store,
}

/// Two nodes over one fresh database, sharing one master key (as a cluster
/// must: data keys are wrapped by it).
fn two_nodes() -> (Node, Node, PgOptions) {
    let pg = testing::fresh_database();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    let open = |key: &PathBuf| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(
            StoreOptions {
                data_dir: dir.path().join("data"),
                master_key: key.clone(),
                summarizer: Arc::new(NoSummary),
            },
            &BackendOptions::PostgreSql(pg.clone()),
        )
        .unwrap();
        Node { _dir: dir, store }
    };
    let a = open(&key);
    let b = open(&key);
    // The key folder must outlive both stores (restore.key lives there).
    std::mem::forget(keys);
    (a, b, pg)
}

fn msg(n: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

fn inbox(s: &Store, a: AccountId) -> MailboxId {
    s.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id
}

/// Waits for an event matching `want`, failing after [`PATIENCE`].
fn wait_for(
    rx: &mut broadcast::Receiver<MailboxEvent>,
    what: &str,
    want: impl Fn(&MailboxEvent) -> bool,
) -> MailboxEvent {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match rx.try_recv() {
            Ok(e) if want(&e) => return e,
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "no {what} within {PATIENCE:?}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("watching for {what}: {e}"),
        }
    }
}

/// Polls until `f` holds, failing after [`PATIENCE`].
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "not within {PATIENCE:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn psql(pg: &PgOptions, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &pg.url,
            "-c",
            sql,
        ])
        .output()
        .expect("psql (postgresql-client) must be installed");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_delivery_on_one_node_reaches_a_watcher_on_the_other() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&b.store, id);
    let (snap, mut rx) = b.store.snapshot_and_watch(id, ib).unwrap();
    assert!(snap.entries.is_empty());
    let started = Instant::now();
    let got = a.store.deliver(id, &msg(1)).unwrap();
    let e = wait_for(
        &mut rx,
        "EXISTS on node B",
        |e| matches!(e, MailboxEvent::Appended(m) if m.uid == got.uid),
    );
    eprintln!("delivery on A seen on B after {:?}", started.elapsed());
    assert!(matches!(e, MailboxEvent::Appended(m) if m.modseq == got.modseq));
    // B's index now is A's, and B serves the message.
    assert_eq!(b.store.snapshot(id, ib).unwrap().entries.len(), 1);
    assert_eq!(b.store.read(id, ib, got.uid).unwrap().unwrap(), msg(1));
}

#[test]
fn appends_on_both_nodes_get_distinct_increasing_uids() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&a.store, id);
    let run = |s: Store, base: usize| {
        std::thread::spawn(move || {
            (0..25)
                .map(|i| s.deliver(id, &msg(base + i)).unwrap().uid)
                .collect::<Vec<_>>()
        })
    };
    let (ta, tb) = (run(a.store.clone(), 0), run(b.store.clone(), 1000));
    let (ua, ub) = (ta.join().unwrap(), tb.join().unwrap());
    for mine in [&ua, &ub] {
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "increasing per node");
    }
    let mut all: Vec<Uid> = ua.iter().chain(ub.iter()).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 50, "no UID handed out twice");
    // Both indexes converge on the database's 50 messages, in UID order.
    for s in [&a.store, &b.store] {
        let snap = s.snapshot(id, ib).unwrap();
        assert_eq!(snap.entries.iter().map(|e| e.uid).collect::<Vec<_>>(), all);
        assert_eq!(snap.uid_next, Uid(all.last().unwrap().0 + 1));
    }
    assert_eq!(a.store.quota(id).unwrap().messages, 50);
    assert_eq!(b.store.quota(id).unwrap().messages, 50);
}

#[test]
fn flags_and_expunges_travel_both_ways() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&a.store, id);
    let u1 = a.store.deliver(id, &msg(1)).unwrap().uid;
    let u2 = a.store.deliver(id, &msg(2)).unwrap().uid;
    let (_, mut on_a) = a.store.snapshot_and_watch(id, ib).unwrap();
    let (_, mut on_b) = b.store.snapshot_and_watch(id, ib).unwrap();
    b.store
        .store_flags(
            id,
            ib,
            &[u1],
            FlagOp::Add,
            &Flags::system(Flags::SEEN),
            None,
        )
        .unwrap();
    wait_for(
        &mut on_a,
        "FETCH FLAGS on node A",
        |e| matches!(e, MailboxEvent::FlagsChanged(m) if m.uid == u1 && m.flags.has(Flags::SEEN)),
    );
    a.store.remove(id, ib, &[u2]).unwrap();
    wait_for(
        &mut on_b,
        "EXPUNGE on node B",
        |e| matches!(e, MailboxEvent::Expunged { uids, .. } if uids == &vec![u2]),
    );
    // CONDSTORE on B knows A's expunge, and A's index has B's flag.
    let base = ModSeq(1);
    assert_eq!(
        b.store.changes_since(id, ib, base).unwrap().vanished,
        vec![u2]
    );
    let snap = a.store.snapshot(id, ib).unwrap();
    assert!(snap.entries[0].flags.has(Flags::SEEN));
    assert_eq!(
        snap.highest_modseq,
        b.store.status(id, ib).unwrap().highest_modseq
    );
}

#[test]
fn a_write_on_a_stale_node_first_catches_up() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&a.store, id);
    // B has the mailbox open; A writes many times; B writes without waiting
    // for the notices: its write must not reuse a UID or a modseq.
    b.store.snapshot(id, ib).unwrap();
    let from_a: Vec<Appended> = (0..5)
        .map(|i| a.store.deliver(id, &msg(i)).unwrap())
        .collect();
    let from_b = b.store.deliver(id, &msg(99)).unwrap();
    assert!(
        from_a
            .iter()
            .all(|x| x.uid < from_b.uid && x.modseq < from_b.modseq)
    );
    let snap = b.store.snapshot(id, ib).unwrap();
    assert_eq!(snap.entries.len(), 6);
}

#[test]
fn renamed_or_deleted_elsewhere_sends_sessions_away() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let n = |x: &str| MailboxName::new(x).unwrap();
    let work = a.store.create_mailbox(id, &n("Work"), None).unwrap();
    let (_, mut rx) = b.store.snapshot_and_watch(id, work.id).unwrap();
    a.store.rename_mailbox(id, &n("Work"), &n("Job")).unwrap();
    wait_for(&mut rx, "Gone after a rename on the other node", |e| {
        matches!(e, MailboxEvent::Gone)
    });
    assert!(b.store.mailbox(id, &n("Work")).unwrap().is_none());
    let job = b.store.mailbox(id, &n("Job")).unwrap().unwrap();
    assert_eq!(job.id, work.id);
    let (_, mut rx) = b.store.snapshot_and_watch(id, job.id).unwrap();
    a.store.delete_mailbox(id, &n("Job")).unwrap();
    wait_for(&mut rx, "Gone after a delete on the other node", |e| {
        matches!(e, MailboxEvent::Gone)
    });
}

#[test]
fn an_account_deleted_on_one_node_is_unreadable_on_the_other() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&b.store, id);
    let u = a.store.deliver(id, &msg(1)).unwrap().uid;
    assert!(b.store.read(id, ib, u).unwrap().is_some());
    a.store.delete_account("u@example.org", 100).unwrap();
    eventually("node B drops the deleted account's key", || {
        b.store.read(id, ib, u).is_err()
    });
    a.store.restore_account("u@example.org").unwrap();
    assert_eq!(b.store.read(id, ib, u).unwrap().unwrap(), msg(1));
}

#[test]
fn a_lost_notice_connection_catches_up_from_the_last_modseq() {
    let (a, b, pg) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&b.store, id);
    let (_, mut rx) = b.store.snapshot_and_watch(id, ib).unwrap();
    // Cut every LISTEN connection (both nodes'), then write at once: the
    // notice may be sent while B is not listening; B's resync after it
    // reconnects must find the message anyway.
    let cut = psql(
        &pg,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'sealpost' \
         AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')",
    );
    assert_ne!(cut, "0", "the notice connections were found and cut");
    let got = a.store.deliver(id, &msg(1)).unwrap();
    wait_for(
        &mut rx,
        "EXISTS on node B after its notice connection was cut",
        |e| matches!(e, MailboxEvent::Appended(m) if m.uid == got.uid),
    );
}

#[test]
fn a_node_behind_a_pruned_change_log_reloads_and_publishes_the_difference() {
    let (a, b, pg) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let ib = inbox(&a.store, id);
    let u1 = a.store.deliver(id, &msg(1)).unwrap().uid;
    let (snap, mut rx) = b.store.snapshot_and_watch(id, ib).unwrap();
    assert_eq!(snap.entries.len(), 1);
    // B hears nothing while A expunges and delivers, and the log rows B
    // would need are pruned meanwhile, as after a long partition: the log
    // does not reach back to B's modseq, so B reloads the mailbox.
    b.store.hold_notices(true);
    a.store.remove(id, ib, &[u1]).unwrap();
    let u2 = a.store.deliver(id, &msg(2)).unwrap().uid;
    psql(
        &pg,
        "DELETE FROM sealpost_kv WHERE substring(k from 1 for 1) = 'c'",
    );
    let u3 = a.store.deliver(id, &msg(3)).unwrap().uid;
    assert_eq!(
        psql(
            &pg,
            "SELECT count(*) FROM sealpost_kv WHERE substring(k from 1 for 1) = 'c'"
        ),
        "1",
        "only the last write's log row is left"
    );
    b.store.hold_notices(false);
    let mut seen_expunge = false;
    let mut seen_u2 = false;
    let deadline = Instant::now() + PATIENCE;
    while !(seen_expunge && seen_u2) {
        match rx.try_recv() {
            Ok(MailboxEvent::Expunged { uids, .. }) if uids.contains(&u1) => seen_expunge = true,
            Ok(MailboxEvent::Appended(m)) if m.uid == u2 => seen_u2 = true,
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "B did not catch up");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{e}"),
        }
    }
    let snap = b.store.snapshot(id, ib).unwrap();
    assert_eq!(
        snap.entries.iter().map(|e| e.uid).collect::<Vec<_>>(),
        vec![u2, u3]
    );
}

#[test]
fn quota_holds_across_nodes() {
    let (a, b, _) = two_nodes();
    let id = a.store.create_account("u@example.org").unwrap();
    let one = msg(1).len() as u64;
    a.store.set_quota(id, Some(one * 3));
    b.store.set_quota(id, Some(one * 3));
    a.store.deliver(id, &msg(1)).unwrap();
    b.store.deliver(id, &msg(2)).unwrap();
    a.store.deliver(id, &msg(3)).unwrap();
    assert!(matches!(
        b.store.deliver(id, &msg(4)),
        Err(StoreError::OverQuota)
    ));
    assert!(matches!(
        a.store.deliver(id, &msg(4)),
        Err(StoreError::OverQuota)
    ));
    assert_eq!(b.store.quota(id).unwrap().bytes, one * 3);
}

#[test]
fn an_unmigrated_database_is_refused_with_one_line() {
    let pg = testing::fresh_unmigrated_database();
    let dir = tempfile::tempdir().unwrap();
    let opts = || StoreOptions {
        data_dir: dir.path().join("data"),
        master_key: dir.path().join("master.key"),
        summarizer: Arc::new(NoSummary),
    };
    let e = Store::open_with(opts(), &BackendOptions::PostgreSql(pg.clone()))
        .err()
        .unwrap();
    let line = e.to_string();
    assert!(matches!(e, StoreError::Schema(_)), "{line}");
    assert!(
        line.contains("migrate-schema") && !line.contains('\n'),
        "{line}"
    );
    assert_eq!(schema_version(&pg).unwrap(), None);
    assert_eq!(migrate_schema(&pg).unwrap(), (0, SCHEMA_VERSION));
    assert_eq!(
        migrate_schema(&pg).unwrap(),
        (SCHEMA_VERSION, SCHEMA_VERSION)
    );
    // Another version is refused too, naming both.
    psql(&pg, "INSERT INTO sealpost_schema (version) VALUES (99)");
    let e = Store::open_with(opts(), &BackendOptions::PostgreSql(pg.clone()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("99"), "{e}");
    assert!(e.to_string().contains("upgrade sealpost"), "{e}");
    assert!(migrate_schema(&pg).is_err());
}

#[test]
fn a_database_that_is_not_there_is_refused_as_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on (the private instance's own is 55432).
    let pg = PgOptions {
        url: "postgresql://postgres@127.0.0.1:1/postgres".into(),
        ..testing::admin()
    };
    let e = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(pg),
    )
    .err()
    .unwrap();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

#[test]
fn tls_to_the_database_with_a_ca_file() {
    let tls_url =
        std::env::var("SEALPOST_TEST_PG_TLS").expect("SEALPOST_TEST_PG_TLS (tests/pg.sh)");
    let ca = std::env::var("SEALPOST_TEST_PG_CA").expect("SEALPOST_TEST_PG_CA (tests/pg.sh)");
    let plain = testing::fresh_database();
    // The fresh database's name, reached over TCP with TLS instead.
    let db = plain.url.rsplit("dbname=").next().unwrap().to_string();
    let pg = PgOptions {
        url: format!("{tls_url}&dbname={db}"),
        ca_file: Some(ca.into()),
        ..testing::admin()
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(pg.clone()),
    )
    .unwrap();
    let id = s.create_account("u@example.org").unwrap();
    s.deliver(id, &msg(1)).unwrap();
    let ssl = psql(
        &plain,
        "SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE datname = current_database() AND application_name = 'sealpost'",
    );
    assert_eq!(ssl, "t", "sealpost's connections use TLS");
    drop(s);
    // Without the CA file, sslmode=require is refused rather than unverified.
    let e = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(PgOptions {
            ca_file: None,
            ..pg.clone()
        }),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("ca_file"), "{e}");
    // A CA that did not sign the server's certificate fails the handshake.
    let other = dir.path().join("other-ca.pem");
    let key = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
    std::fs::write(&other, key.cert.pem()).unwrap();
    let e = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(PgOptions {
            ca_file: Some(other),
            ..pg
        }),
    )
    .err()
    .unwrap();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
}

/// A private instance this test may stop and start (the shared one serves
/// other tests meanwhile). Stopped and removed when dropped.
struct PrivateInstance {
    dir: tempfile::TempDir,
    admin: PgOptions,
}

fn pg_sh(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/pg.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("bash tests/pg.sh");
    assert!(
        out.status.success(),
        "tests/pg.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl PrivateInstance {
    fn start() -> PrivateInstance {
        // Fail (not skip) when the shared instance is not configured either:
        // this is the PostgreSQL part of the suite.
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
        let inst = dir.path().join("pg");
        let printed = pg_sh(&["start", inst.to_str().unwrap(), &port]);
        let url = printed
            .lines()
            .find_map(|l| l.strip_prefix("export SEALPOST_TEST_PG='"))
            .and_then(|l| l.strip_suffix('\''))
            .expect("pg.sh prints SEALPOST_TEST_PG")
            .to_string();
        PrivateInstance {
            dir,
            admin: PgOptions {
                url,
                ..testing::admin()
            },
        }
    }
    fn path(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }
}

impl Drop for PrivateInstance {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/pg.sh"))
            .args(["stop", &self.path()])
            .output();
    }
}

#[test]
fn restarting_the_database_under_load_loses_nothing_acknowledged() {
    let inst = PrivateInstance::start();
    migrate_schema(&inst.admin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(inst.admin.clone()),
    )
    .unwrap();
    let id = store.create_account("u@example.org").unwrap();
    let ib = inbox(&store, id);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (s, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut acked, mut refused) = (Vec::new(), 0usize);
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let n = t * 100_000 + i;
                    match s.deliver(id, &msg(n)) {
                        Ok(a) => acked.push((n, a.uid)),
                        Err(StoreError::Unavailable(_)) => {
                            refused += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => {
                            panic!("only Unavailable is expected while the database is away: {e}")
                        }
                    }
                }
                (acked, refused)
            })
        })
        .collect();
    let acked_count = |s: &Store| s.status(id, ib).map(|st| st.messages).unwrap_or(0);
    eventually("some deliveries before the restart", || {
        acked_count(&store) >= 20
    });
    pg_sh(&["pause", &inst.path()]);
    std::thread::sleep(Duration::from_millis(500));
    pg_sh(&["resume", &inst.path()]);
    let before = acked_count(&store);
    eventually("deliveries resume by themselves after the restart", || {
        acked_count(&store) >= before + 20
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut refused = 0;
    let mut acked = Vec::new();
    for w in writers {
        let (a, r) = w.join().unwrap();
        acked.extend(a);
        refused += r;
    }
    assert!(refused > 0, "the database was away and calls said so");
    // Every acknowledged message is there, with its bytes, in a store
    // opened afresh (nothing served from this node's memory).
    drop(store);
    let again = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: dir.path().join("master.key"),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(inst.admin.clone()),
    )
    .unwrap();
    for (n, uid) in &acked {
        let got = again.read(id, ib, *uid).unwrap();
        assert_eq!(
            got.as_deref(),
            Some(msg(*n).as_slice()),
            "acknowledged UID {uid} lost"
        );
    }
    eprintln!(
        "{} acknowledged, {refused} refused while the database restarted",
        acked.len()
    );
}

#[test]
fn an_embedded_store_copied_into_postgresql_serves_the_same_mail() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys/master.key");
    let opts = |data: &str| StoreOptions {
        data_dir: dir.path().join(data),
        master_key: key.clone(),
        summarizer: Arc::new(EchoSummary),
    };
    let n = |x: &str| MailboxName::new(x).unwrap();
    let e = Store::open(opts("embedded")).unwrap();
    let a = e.create_account("a@example.org").unwrap();
    let b = e.create_account("b@example.org").unwrap();
    let ib = inbox(&e, a);
    for i in 0..(sealpost_store::COPY_BATCH + 5) {
        e.deliver(a, &msg(i)).unwrap();
    }
    e.store_flags(
        a,
        ib,
        &[Uid(2), Uid(3)],
        FlagOp::Add,
        &Flags::system(Flags::SEEN),
        None,
    )
    .unwrap();
    e.remove(a, ib, &[Uid(1)]).unwrap();
    let work = e.create_mailbox(a, &n("Work/2026"), None).unwrap();
    e.copy(a, ib, &[Uid(2)], work.id).unwrap();
    e.set_subscribed(a, &n("Work/2026"), true).unwrap();
    e.set_acl(a, work.id, b, AclRights(3)).unwrap();
    let note = [("/private/comment".to_string(), Some(b"work".to_vec()))];
    e.set_metadata(a, MetadataScope::Mailbox(work.id), &note, 10)
        .unwrap();
    e.set_metadata(a, MetadataScope::Server, &note, 10).unwrap();
    e.deliver(b, &msg(7)).unwrap();
    e.create_account("gone@example.org").unwrap();
    e.delete_account("gone@example.org", 5).unwrap();
    let pg = testing::fresh_database();
    let mut lines = Vec::new();
    let report = e
        .copy_to_postgresql(&pg, &mut |p| lines.push(format!("{p:?}")))
        .unwrap();
    assert_eq!(report.accounts, 3);
    assert_eq!(report.mailboxes, 19);
    assert_eq!(
        report.messages,
        (sealpost_store::COPY_BATCH + 5 - 1 + 1 + 1) as u64
    );
    assert_eq!(lines.len(), 3);
    // Again: idempotent (what resuming an interrupted copy does).
    assert_eq!(e.copy_to_postgresql(&pg, &mut |_| {}).unwrap(), report);
    let p = Store::open_with(opts("node"), &BackendOptions::PostgreSql(pg.clone())).unwrap();
    for (addr, id) in [("a@example.org", a), ("b@example.org", b)] {
        assert_eq!(p.account_id(addr).unwrap(), Some(id));
        assert_eq!(p.mailboxes(id).unwrap(), e.mailboxes(id).unwrap());
        assert_eq!(p.subscriptions(id).unwrap(), e.subscriptions(id).unwrap());
        let server = MetadataScope::Server;
        assert_eq!(
            p.metadata(id, server).unwrap(),
            e.metadata(id, server).unwrap()
        );
        assert_eq!(p.quota(id).unwrap().bytes, e.quota(id).unwrap().bytes);
        for mb in e.mailboxes(id).unwrap() {
            let scope = MetadataScope::Mailbox(mb.id);
            assert_eq!(
                p.metadata(id, scope).unwrap(),
                e.metadata(id, scope).unwrap()
            );
            let (se, sp) = (
                e.snapshot(id, mb.id).unwrap(),
                p.snapshot(id, mb.id).unwrap(),
            );
            assert_eq!(se.entries, sp.entries);
            assert_eq!(
                (se.uid_next, se.highest_modseq),
                (sp.uid_next, sp.highest_modseq)
            );
            for entry in &se.entries {
                assert_eq!(
                    p.read(id, mb.id, entry.uid).unwrap(),
                    e.read(id, mb.id, entry.uid).unwrap()
                );
                assert_eq!(
                    p.meta(id, mb.id, entry.uid).unwrap().unwrap().summary,
                    e.meta(id, mb.id, entry.uid).unwrap().unwrap().summary
                );
            }
        }
    }
    assert_eq!(
        p.changes_since(a, ib, ModSeq(1)).unwrap().vanished,
        vec![Uid(1)]
    );
    // Grants come along, both ways.
    assert_eq!(p.acl_rights(a, work.id, b).unwrap(), AclRights(3));
    assert_eq!(p.acl_received(b).unwrap().len(), 1);
    assert_eq!(p.account_id("gone@example.org").unwrap(), None);
    p.restore_account("gone@example.org").unwrap();
    // New mail continues the UIDs; new mailboxes continue the ids.
    let next = p.deliver(a, &msg(999)).unwrap();
    assert_eq!(next.uid, e.snapshot(a, ib).unwrap().uid_next);
    let fresh = p.create_mailbox(a, &n("New"), None).unwrap();
    assert!(fresh.id > work.id);
    // A database made under another master key is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Store::open(StoreOptions {
        data_dir: other_dir.path().join("data"),
        master_key: other_dir.path().join("other.key"),
        summarizer: Arc::new(NoSummary),
    })
    .unwrap();
    let e2 = other.copy_to_postgresql(&pg, &mut |_| {}).err().unwrap();
    assert!(e2.to_string().contains("another master key"), "{e2}");
}

struct EchoSummary;
impl Summarizer for EchoSummary {
    fn summarize(&self, raw: &[u8]) -> Vec<u8> {
        raw[..raw.len().min(40)].to_vec()
    }
}

/// The database round trips of the operations the cluster write-up counts,
/// on a node whose index of the mailbox is current (the steady state of a
/// selected mailbox). Asserted so a change that adds one is noticed; the
/// numbers are printed for bench/RESULTS.md.
#[test]
fn round_trips_per_operation() {
    let (a, _b, _) = two_nodes();
    let s = &a.store;
    let id = s.create_account("u@example.org").unwrap();
    let ib = inbox(s, id);
    s.deliver(id, &msg(0)).unwrap();
    s.snapshot(id, ib).unwrap();
    let count = |what: &str, f: &dyn Fn()| {
        let before = s.database_round_trips();
        f();
        let n = s.database_round_trips() - before;
        eprintln!("{what}: {n} round trip(s)");
        n
    };
    // IMAP APPEND: the mailbox by name, then the append (BEGIN + blob +
    // locked mailbox row + change log + usage row in one; writes + COMMIT in
    // the other).
    let append = count("APPEND (mailbox lookup + append)", &|| {
        let mb = s.mailbox(id, &MailboxName::inbox()).unwrap().unwrap();
        s.append(id, mb.id, &msg(1), &Flags::empty(), None).unwrap();
    });
    assert_eq!(append, 3);
    // SMTP delivery to INBOX: the same.
    assert_eq!(
        count("SMTP delivery", &|| {
            s.deliver(id, &msg(2)).unwrap();
        }),
        3
    );
    // A snapshot of the index (STATUS, a session re-reading after its event
    // queue overflowed): one freshness check. FETCH FLAGS in a selected
    // session reads the session's own copy of the index, kept current by
    // events: no store call, 0 round trips.
    let snapshot = count("snapshot / STATUS", &|| {
        assert!(!s.snapshot(id, ib).unwrap().entries.is_empty());
    });
    assert_eq!(snapshot, 1);
    assert_eq!(
        count("status", &|| {
            s.status(id, ib).unwrap();
        }),
        1
    );
    // FETCH ENVELOPE (summary) and BODY[] of one message.
    assert_eq!(
        count("FETCH ENVELOPE", &|| {
            s.meta(id, ib, Uid(1)).unwrap();
        }),
        1
    );
    // FETCH 1:3 ENVELOPE and SEARCH SUBJECT read the metadata of a batch
    // of messages together: one round trip for all of them.
    assert_eq!(
        count("FETCH 1:3 ENVELOPE (metadata batch)", &|| {
            let metas = s.metas(id, ib, &[Uid(1), Uid(2), Uid(3)]).unwrap();
            assert!(metas.iter().all(Option::is_some));
        }),
        1
    );
    // The index entries of the messages a FETCH names: one freshness check.
    assert_eq!(
        count("FETCH's index entries", &|| {
            assert_eq!(s.entries(id, ib, &[Uid(2)]).unwrap().entries.len(), 1);
        }),
        1
    );
    assert_eq!(
        count("FETCH BODY[]", &|| {
            s.read(id, ib, Uid(1)).unwrap();
        }),
        2
    );
    // STORE +FLAGS on 3 messages: lock + their rows, then writes + COMMIT.
    let store = count("STORE 1:3 +FLAGS (\\Seen)", &|| {
        s.store_flags(
            id,
            ib,
            &[Uid(1), Uid(2), Uid(3)],
            FlagOp::Add,
            &Flags::system(Flags::SEEN),
            None,
        )
        .unwrap();
    });
    assert_eq!(store, 2);
    // SELECT: the mailbox by name, then watch + snapshot (freshness check
    // with the change log in one) + \Recent from memory.
    let select = count("SELECT", &|| {
        let mb = s.mailbox(id, &MailboxName::inbox()).unwrap().unwrap();
        let _rx = s.watch(id, mb.id).unwrap();
        s.snapshot(id, mb.id).unwrap();
        s.claim_recent(id, mb.id).unwrap();
    });
    assert_eq!(select, 2);
    // EXPUNGE of one message.
    s.store_flags(
        id,
        ib,
        &[Uid(3)],
        FlagOp::Add,
        &Flags::system(Flags::DELETED),
        None,
    )
    .unwrap();
    assert_eq!(
        count("EXPUNGE", &|| {
            s.expunge(id, ib, None).unwrap();
        }),
        2
    );
}
