use super::*;
use sealpost_store::{Flags, MailboxName, NoSummary, StoreOptions};
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
