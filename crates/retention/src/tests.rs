use super::*;
use sealpost_store::{Flags, MailboxName, MetadataScope, NoSummary, StoreOptions};
use std::io::Read;

fn setup(extra: &str) -> (tempfile::TempDir, Arc<Config>, Store) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sealpost.toml");
    std::fs::write(&cfg, format!("[[domain]]\nname = \"example.org\"\n{extra}")).unwrap();
    let config = Arc::new(Config::load(&cfg).unwrap());
    let store = Store::open(StoreOptions {
        data_dir: config.server.data_dir.clone(),
        master_key: config.server.master_key.clone(),
        summarizer: Arc::new(NoSummary),
    })
    .unwrap();
    (dir, config, store)
}

const T0: i64 = 1_800_000_000;

#[test]
fn purges_only_after_grace() {
    let (_d, config, store) = setup("");
    let a = store.create_account("a@example.org").unwrap();
    store.deliver(a, b"Subject: x\r\n\r\nhello\r\n").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let r = Retention::new(config, store.clone(), AuditLog::disabled());
    assert!(r.run_once(T0 + 29 * DAY).unwrap().purged.is_empty());
    let out = r.run_once(T0 + 30 * DAY).unwrap();
    assert_eq!(out.purged, vec!["a@example.org".to_string()]);
    assert_eq!(out.purged_messages, 1);
    assert!(store.accounts().unwrap().is_empty());
    assert!(
        r.run_once(T0 + 46 * DAY).unwrap().purged.is_empty(),
        "idempotent"
    );
}

#[test]
fn the_store_steps_wait_while_another_node_holds_the_retention_lease() {
    // Over PostgreSQL the lease is held across nodes; the pass is the same.
    let (_d, config, store) = setup("");
    store.create_account("a@example.org").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let r = Retention::new(config, store.clone(), AuditLog::disabled());
    let elsewhere = store.try_lease("retention").unwrap().expect("free");
    let out = r.run_once(T0 + 31 * DAY).unwrap();
    assert!(out.store_steps_elsewhere);
    assert!(out.purged.is_empty(), "not purged by this pass");
    drop(elsewhere);
    let out = r.run_once(T0 + 31 * DAY).unwrap();
    assert!(!out.store_steps_elsewhere);
    assert_eq!(out.purged, vec!["a@example.org".to_string()]);
}

#[test]
fn trash_and_junk_auto_expunge() {
    let (_d, config, store) = setup("[retention]\ntrash_days = 30\njunk_days = 0\n");
    let a = store.create_account("a@example.org").unwrap();
    let trash = store
        .mailbox(a, &MailboxName::new("Trash").unwrap())
        .unwrap()
        .unwrap();
    let junk = store
        .mailbox(a, &MailboxName::new("Junk").unwrap())
        .unwrap()
        .unwrap();
    store
        .append(
            a,
            trash.id,
            b"Subject: t\r\n\r\nx\r\n",
            &Flags::empty(),
            None,
        )
        .unwrap();
    store
        .append(
            a,
            junk.id,
            b"Subject: j\r\n\r\nx\r\n",
            &Flags::empty(),
            None,
        )
        .unwrap();
    store.deliver(a, b"Subject: i\r\n\r\nx\r\n").unwrap();
    let r = Retention::new(config, store.clone(), AuditLog::disabled());
    let now = chrono::Utc::now().timestamp();
    assert_eq!(r.run_once(now).unwrap().expunged_messages, 0);
    assert_eq!(r.run_once(now + 31 * DAY).unwrap().expunged_messages, 1);
    assert_eq!(store.status(a, trash.id).unwrap().messages, 0);
    assert_eq!(
        store.status(a, junk.id).unwrap().messages,
        1,
        "junk_days = 0 keeps Junk"
    );
}

#[test]
fn export_mbox_quotes_from_lines_and_carries_flags() {
    let (_d, _config, store) = setup("");
    let a = store.create_account("a@example.org").unwrap();
    let inbox = store.mailbox(a, &MailboxName::inbox()).unwrap().unwrap();
    let m1 = b"Subject: one\r\n\r\nFrom here\r\n>From there\r\n".to_vec();
    let flags = Flags {
        system: Flags::SEEN | Flags::FLAGGED,
        keywords: vec!["$Forwarded".into()],
    };
    store.append(a, inbox.id, &m1, &flags, Some(T0)).unwrap();
    store.deliver(a, b"Subject: two\r\n\r\nplain\r\n").unwrap();
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let report = export::export_account(
        &store,
        "a@example.org",
        export::Format::Mbox,
        b"time\n",
        &mut out,
        &mut |d, t| calls.push((d, t)),
    )
    .unwrap();
    assert_eq!(report.messages, 2);
    assert_eq!(calls.last(), Some(&(2, 2)));
    let mut archive = tar::Archive::new(out.as_slice());
    let mut files = std::collections::BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        files.insert(path, body);
    }
    assert!(files.contains_key("README.txt"));
    assert_eq!(files["access-log.csv"], b"time\n");
    let mbox = String::from_utf8(files["mbox/INBOX.mbox"].clone()).unwrap();
    assert!(mbox.starts_with("From MAILER-DAEMON "), "{mbox}");
    assert!(
        mbox.contains("Status: RO\r\nX-Status: F\r\nX-Keywords: $Forwarded\r\nSubject: one"),
        "{mbox}"
    );
    assert!(
        mbox.contains("\r\n>From here\r\n>>From there\r\n"),
        "{mbox}"
    );
    assert_eq!(
        mbox.matches("\nFrom MAILER-DAEMON").count(),
        1,
        "two messages, one separator"
    );
    assert!(files.contains_key("mbox/Trash.mbox"));
    assert!(
        !files.contains_key("metadata.json"),
        "none kept, none exported"
    );
}

#[test]
fn export_carries_metadata_entries() {
    let (_d, _config, store) = setup("");
    let a = store.create_account("a@example.org").unwrap();
    let inbox = store.mailbox(a, &MailboxName::inbox()).unwrap().unwrap();
    let set = |scope, entry: &str, value: &[u8]| {
        let change = [(entry.to_string(), Some(value.to_vec()))];
        store.set_metadata(a, scope, &change, 10).unwrap();
    };
    set(MetadataScope::Server, "/private/comment", b"server note");
    set(
        MetadataScope::Mailbox(inbox.id),
        "/shared/color",
        b"\xffred",
    );
    let mut out = Vec::new();
    export::export_account(
        &store,
        "a@example.org",
        export::Format::Mbox,
        b"",
        &mut out,
        &mut |_, _| {},
    )
    .unwrap();
    let mut archive = tar::Archive::new(out.as_slice());
    let mut json = None;
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().display().to_string() == "metadata.json" {
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            json = Some(body);
        }
    }
    let v: serde_json::Value = serde_json::from_str(&json.expect("metadata.json")).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"mailbox": null, "entry": "/private/comment", "value": "server note"},
            {"mailbox": "INBOX", "entry": "/shared/color", "value_hex": "ff726564"},
        ])
    );
}

#[test]
fn export_maildir_names_carry_flags() {
    let (_d, _config, store) = setup("");
    let a = store.create_account("a@example.org").unwrap();
    let inbox = store.mailbox(a, &MailboxName::inbox()).unwrap().unwrap();
    store
        .append(
            a,
            inbox.id,
            b"Subject: x\r\n\r\ny\r\n",
            &Flags::system(Flags::SEEN | Flags::ANSWERED),
            None,
        )
        .unwrap();
    let mut out = Vec::new();
    export::export_account(
        &store,
        "a@example.org",
        export::Format::Maildir,
        b"",
        &mut out,
        &mut |_, _| {},
    )
    .unwrap();
    let mut archive = tar::Archive::new(out.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("Maildir/INBOX/cur/") && n.ends_with(":2,RS")),
        "{names:?}"
    );
}

#[test]
fn report_lists_pending_purges_with_due_dates() {
    let (_d, config, store) = setup("");
    store.create_account("a@example.org").unwrap();
    store.create_account("b@example.org").unwrap();
    store.delete_account("b@example.org", T0).unwrap();
    let md = report::compliance_report(
        &config,
        &store,
        &report::ReportInputs {
            audit_public_key: Some("abc"),
            configured_accounts: 1,
            tls_versions: &["TLS 1.2", "TLS 1.3"],
            source: report::ConfigSource::File,
        },
        T0,
    )
    .unwrap();
    assert!(md.contains("Deleted accounts awaiting purge: 1"), "{md}");
    let due = chrono::DateTime::from_timestamp(T0 + 30 * DAY, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        md.contains("| b@example.org |") && md.contains(&due),
        "{md}"
    );
    assert!(md.contains("public key `abc`"));
    assert!(md.contains("anonymized after 6 months"));
}

#[test]
fn report_names_every_key_and_takes_the_tls_policy_from_the_config() {
    let (d, config, store) = setup(
        "[listen]\nimaps = [\"127.0.0.1:1993\"]\nsmtp = [\"127.0.0.1:2525\"]\n\
         [[smtp.route]]\ndomain = \"example.net\"\nhost = \"127.0.0.1:2600\"\nrequire_tls = true\n",
    );
    let inputs = report::ReportInputs {
        audit_public_key: None,
        configured_accounts: 0,
        tls_versions: &["TLS 1.3"],
        source: report::ConfigSource::File,
    };
    let md = report::compliance_report(&config, &store, &inputs, T0).unwrap();
    let keys = d.path().join("keys");
    for line in [
        format!("| master key | `{}` |", config.server.master_key.display()),
        format!("| restore key | `{}` (created at the first deletion) |", keys.join("restore.key").display()),
        format!("| TLS private key | `{}` |", config.tls.key.display()),
        format!("| audit signing key | `{}` |", config.server.audit_signing_key.display()),
        format!(
            "| account data keys (wrapped) | `{}` |",
            config.server.data_dir.join("account-keys").display()
        ),
        "| imaps | `127.0.0.1:1993` | implicit TLS |".to_string(),
        "| smtp | `127.0.0.1:2525` | inbound MX: STARTTLS required before MAIL |".to_string(),
        "| imap | off | - |".to_string(),
        "TLS versions accepted: TLS 1.3.".to_string(),
        "Outbound mail for example.net goes to `127.0.0.1:2600`: TLS required (certificate not verified).".to_string(),
        "log-structured".to_string(),
    ] {
        assert!(md.contains(&line), "missing {line:?} in\n{md}");
    }
    store.create_account("a@example.org").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let md = report::compliance_report(&config, &store, &inputs, T0).unwrap();
    assert!(md.contains("restore.key` (present)"), "{md}");
}

fn open_audit(config: &Config) -> AuditLog {
    AuditLog::open(
        &config.server.data_dir.join("audit"),
        &config.server.audit_signing_key,
        &sealpost_config::AuditConfig {
            segment_max_bytes: 2000,
            ..config.audit.clone()
        },
    )
    .unwrap()
}

fn audit_csv(config: &Config) -> String {
    let dir = config.server.data_dir.join("audit");
    let keys = sealpost_audit::PiiKeys::open(&dir, &config.server.master_key).unwrap();
    let mut out = Vec::new();
    sealpost_audit::export_csv(&dir, &keys, &Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn login(i: u32) -> Event {
    Event::Login {
        protocol: sealpost_audit::Protocol::Imap,
        account: format!("user{i}@example.org"),
        remote: format!("192.0.2.{i}:4{i:04}"),
        tls: Some("TLSv1.3".into()),
        outcome: sealpost_audit::LoginOutcome::Success,
        app_password: None,
        mechanism: None,
    }
}

#[test]
fn a_purge_killed_after_the_store_step_is_finished_and_recorded() {
    let (_d, config, store) = setup("");
    let a = store.create_account("a@example.org").unwrap();
    store.deliver(a, b"Subject: x\r\n\r\none\r\n").unwrap();
    store.deliver(a, b"Subject: y\r\n\r\ntwo\r\n").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let audit = open_audit(&config);
    let purger = purge::Purger {
        config: &config,
        store: &store,
        audit: &audit,
        queue: None,
    };
    // The pass that was killed: marker written, store purged, nothing else.
    let marker = purger.begin(a, "a@example.org").unwrap().unwrap();
    assert_eq!((marker.messages, marker.mailboxes), (2, 6));
    store
        .purge_account_id("a@example.org", a, &mut |_| {})
        .unwrap();
    assert!(store.accounts().unwrap().is_empty());
    // The next pass, long before the grace period would make it due.
    let r = Retention::new(config.clone(), store.clone(), audit.clone());
    let out = r.run_once(T0 + DAY).unwrap();
    assert_eq!(out.purged, vec!["a@example.org".to_string()]);
    assert_eq!(out.purged_messages, 2);
    audit.flush();
    let csv = audit_csv(&config);
    let purged: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains("account_purged"))
        .collect();
    assert_eq!(purged.len(), 1, "{csv}");
    // Recorded, then erased with the account's other records (no legal hold).
    assert!(
        purged[0].contains("[anonymized]")
            && !purged[0].contains("a@example.org")
            && purged[0].contains("messages=2"),
        "{}",
        purged[0]
    );
    assert!(
        std::fs::read_dir(config.server.data_dir.join("purging"))
            .unwrap()
            .next()
            .is_none(),
        "marker removed"
    );
    assert!(r.run_once(T0 + 2 * DAY).unwrap().purged.is_empty());
}

/// Stands in for the SMTP crate's queue, which this crate does not depend
/// on (the end-to-end tests purge through the real one).
#[derive(Default)]
struct ListQueue(parking_lot::Mutex<Vec<(String, String)>>);

impl OutboundQueue for ListQueue {
    fn queued_by(&self, addresses: &[String]) -> Result<Vec<String>, String> {
        Ok(self
            .0
            .lock()
            .iter()
            .filter(|(_, s)| addresses.contains(s))
            .map(|(id, _)| id.clone())
            .collect())
    }
    fn remove(&self, ids: &[String]) -> Result<(), String> {
        self.0.lock().retain(|(id, _)| !ids.contains(id));
        Ok(())
    }
}

#[test]
fn a_purge_removes_queued_mail_of_the_address_and_its_aliases_and_the_saved_entry() {
    let (_d, config, store) = setup("");
    store.create_account("a@example.org").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let entries = SavedEntries::open(&config).unwrap();
    entries
        .save(
            "a@example.org",
            "[[account]]\naddress = \"a@example.org\"\npassword = \"x\"\naliases = [\"Al@example.org\"]\n",
        )
        .unwrap();
    let saved = entries.path("a@example.org");
    let queue = Arc::new(ListQueue::default());
    for (id, sender) in [
        ("q1", "a@example.org"),
        ("q2", "al@example.org"),
        ("q3", "b@example.org"),
    ] {
        queue.0.lock().push((id.into(), sender.into()));
    }
    let r = Retention::new(config.clone(), store.clone(), AuditLog::disabled())
        .with_queue(queue.clone());
    let out = r.run_once(T0 + 30 * DAY).unwrap();
    assert_eq!(out.purged_queued, 2);
    assert_eq!(
        *queue.0.lock(),
        vec![("q3".to_string(), "b@example.org".to_string())]
    );
    assert!(!saved.exists());
}

#[test]
fn a_pass_as_if_in_the_future_purges_accounts_but_never_reaches_the_audit_log_early() {
    let (_d, config, store) =
        setup("[retention]\naudit_log_months = 18\nanonymize_after_months = 6\n");
    let audit = open_audit(&config);
    for i in 0..20 {
        audit.record(login(i));
    }
    audit.close().unwrap();
    let audit = open_audit(&config);
    store.create_account("a@example.org").unwrap();
    store.delete_account("a@example.org", T0).unwrap();
    let dir = config.server.data_dir.join("audit");
    let before = sealpost_audit::verify(&dir, None).unwrap();
    let r = Retention::new(config.clone(), store.clone(), audit.clone());
    let three_years = chrono::Utc::now().timestamp() + 3 * 12 * MONTH;
    let out = r.run_once(three_years).unwrap();
    assert_eq!(out.purged.len(), 1, "accounts due by then are purged");
    assert_eq!(
        (out.anonymized_records, out.deleted_segments),
        (0, 0),
        "{out:?}"
    );
    assert!(out.audit_at_real_time.is_some());
    audit.flush();
    let after = sealpost_audit::verify(&dir, None).unwrap();
    assert_eq!(after.first_seq, 0);
    assert_eq!(after.deleted_segments, 0);
    assert!(after.records > before.records);
    let csv = audit_csv(&config);
    for i in 0..20 {
        assert!(
            csv.contains(&format!("user{i}@example.org")),
            "user{i}: {csv}"
        );
    }
}

#[test]
fn a_purge_erases_the_accounts_audit_records_unless_under_legal_hold() {
    for hold in [false, true] {
        let (_d, config, store) = setup(&format!(
            "[retention]\nkeep_audit_personal_data_after_purge = {hold}\n"
        ));
        let audit = open_audit(&config);
        audit.record(login(1));
        audit.record(Event::Login {
            protocol: sealpost_audit::Protocol::Imap,
            account: "a@example.org".into(),
            remote: "198.51.100.7:1234".into(),
            tls: None,
            outcome: sealpost_audit::LoginOutcome::Success,
            app_password: None,
            mechanism: None,
        });
        audit.record(Event::MessageAccepted {
            protocol: sealpost_audit::Protocol::Smtp,
            id: "m1".into(),
            message_id: Some("<x@example.net>".into()),
            sender: "correspondent@example.net".into(),
            recipients: vec!["A@example.org".into()],
            size: 10,
            remote: "203.0.113.9:25".into(),
            account: None,
        });
        store.create_account("a@example.org").unwrap();
        store.delete_account("a@example.org", T0).unwrap();
        let r = Retention::new(config.clone(), store.clone(), audit.clone());
        let out = r.run_once(T0 + 30 * DAY).unwrap();
        audit.flush();
        let csv = audit_csv(&config);
        for gone in [
            "a@example.org",
            "198.51.100.7",
            "correspondent@example.net",
            "<x@example.net>",
        ] {
            assert_eq!(csv.contains(gone), hold, "{gone} (hold {hold}): {csv}");
        }
        assert!(csv.contains("user1@example.org"), "{csv}");
        if hold {
            assert_eq!(out.erased_audit_records, 0);
        } else {
            // The login, the delivery and the purge record itself.
            assert_eq!(out.erased_audit_records, 3, "{out:?}");
        }
        sealpost_audit::verify(&config.server.data_dir.join("audit"), None).unwrap();
    }
}

#[test]
fn months_are_fixed_length_and_zero_is_off() {
    assert_eq!(months_before(T0, 0), None);
    assert_eq!(months_before(T0, 6), Some(T0 - 6 * 2_629_746));
    assert_eq!(months_before(i64::MIN + 5, 18), Some(i64::MIN));
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 320 MiB through both formats, with the peak RSS checked. Ignored by
/// default: a debug build takes about 11 minutes (encryption and the mbox
/// quoting scan run unoptimized; the mbox pass reads every message twice);
/// `.ci/run` runs it in release after the workspace tests:
/// `cargo test --release -p sealpost-retention export_of_a_large -- --ignored --nocapture`.
#[test]
#[ignore]
fn export_of_a_large_mailbox_streams_in_flat_memory() {
    let (_d, _config, store) = setup("");
    let a = store.create_account("big@example.org").unwrap();
    let inbox = store.mailbox(a, &MailboxName::inbox()).unwrap().unwrap();
    // 1 MiB messages of 1000-octet lines, some starting with "From ".
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    while body.len() < 1 << 20 {
        body.extend_from_slice(b"From ");
        body.extend_from_slice(&[b'x'; 993]);
        body.extend_from_slice(b"\r\n");
    }
    let n = 320u64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        store
            .append(a, inbox.id, &body, &Flags::empty(), None)
            .unwrap();
    }
    println!("filled {n} MiB in {:?}", t.elapsed());
    let before = peak_rss_kib();
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    for format in [export::Format::Mbox, export::Format::Maildir] {
        let t = std::time::Instant::now();
        let mut out = Count(0);
        let r = export::export_account(
            &store,
            "big@example.org",
            format,
            b"",
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(r.messages, n);
        assert!(out.0 > n << 20, "{} bytes", out.0);
        let grew = peak_rss_kib().saturating_sub(before);
        println!(
            "{format:?}: {} MiB out in {:?}, peak RSS grew {grew} KiB",
            out.0 >> 20,
            t.elapsed()
        );
        // A few messages' worth, not the mailbox (320 MiB).
        assert!(
            grew < 64 * 1024,
            "peak RSS grew {grew} KiB exporting {n} MiB"
        );
    }
}
