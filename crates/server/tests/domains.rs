//! `sealpost domain ...` and `sealpost dkim ...` through the real binary on
//! a running server: a domain added takes mail at once (no restart, no
//! SIGHUP) and its submitted mail carries an Ed25519 and an RSA signature
//! that mail-auth verifies against keys derived by openssl; removal is
//! refused while accounts exist; rotation publishes before it signs;
//! a refused edit is undone in the file.

mod common;
mod domains_support;

use common::*;
use domains_support::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// The `dkim SELECTOR (ALGORITHM): PATH` lines of `domain add`, the
/// `pending: ...` ones of `dkim rotate`.
fn selectors(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("dkim ")
                .or_else(|| l.strip_prefix("pending: "))?;
            let (sel, path) = rest.split_once(": ")?;
            Some((sel.split(' ').next()?.to_string(), path.to_string()))
        })
        .collect()
}

/// Sends to `rcpt` on the inbound listener (STARTTLS, no AUTH).
fn inbound(site: &Site, server: &Server, rcpt: &str, subject: &str) -> serde_json::Value {
    send(
        site,
        server,
        "smtp",
        json!({"from": "someone@example.net", "to": [rcpt], "subject": subject}),
    )
}

#[test]
fn domain_add_on_a_running_server_takes_mail_at_once_and_signs_with_both_keys() {
    let site = Site::new("");
    let server = site.start();
    let before = inbound(&site, &server, "dave@new.example", "before");
    assert_eq!(before["ok"], false, "{before}");
    assert_eq!(
        before["code"], 550,
        "not hosted yet: relay refused: {before}"
    );

    let add = site.cli(&["domain", "add", "New.Example"], "");
    assert!(add.ok(), "{}{}", add.stdout, add.stderr);
    assert!(
        add.stdout.starts_with("added new.example\n"),
        "{}",
        add.stdout
    );
    assert!(
        add.stdout.contains("the running server took it"),
        "{}",
        add.stdout
    );
    let keys = selectors(&add.stdout);
    assert_eq!(keys.len(), 2, "{}", add.stdout);
    assert!(
        keys[0].0.starts_with("ed") && keys[1].0.starts_with("rsa"),
        "{keys:?}"
    );
    for (_, path) in &keys {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(site.path(path))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{path}");
    }
    let config = std::fs::read_to_string(&site.config).unwrap();
    assert!(
        config.contains("[[domain]]\nname = \"new.example\""),
        "{config}"
    );

    site.add_account("carol@new.example");
    site.add_account("dave@new.example");
    // Within 2 s of the CLI returning, mail to the new domain is taken.
    let start = Instant::now();
    loop {
        let r = inbound(&site, &server, "dave@new.example", "inbound-new");
        if r["ok"] == true {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{r}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let r = send(
        &site,
        &server,
        "submissions",
        json!({"user": "carol@new.example", "password": PASSWORD,
               "from": "carol@new.example", "to": ["dave@new.example"], "subject": "signed-twice"}),
    );
    assert_eq!(r["ok"], true, "{r}\n{}", server.log());
    let raw = fetch_raw(&site, &server, "dave@new.example", "signed-twice");
    let records: Vec<(String, String)> = keys
        .iter()
        .map(|(sel, path)| {
            (
                format!("{sel}._domainkey.new.example"),
                openssl_record(&site.path(path)),
            )
        })
        .collect();
    let mut got = dkim_verify(&raw, &Records::new(&records));
    got.sort();
    let mut want: Vec<(String, bool)> = keys.iter().map(|(s, _)| (s.clone(), true)).collect();
    want.sort();
    assert_eq!(got, want, "message:\n{raw}");
    assert!(
        raw.contains("a=ed25519-sha256") && raw.contains("a=rsa-sha256"),
        "{raw}"
    );

    let list = site.cli(&["domain", "list"], "");
    assert!(list.ok(), "{}", list.stderr);
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("new.example\t"))
        .unwrap();
    assert!(line.contains("accounts=2"), "{line}");
    assert!(
        line.contains(&format!("{}(ed25519-sha256,signs)", keys[0].0)),
        "{line}"
    );
    assert!(
        line.contains(&format!("{}(rsa-sha256,signs)", keys[1].0)),
        "{line}"
    );
}

#[test]
fn domain_remove_is_refused_while_accounts_exist() {
    let site = Site::new("");
    let server = site.start();
    let add = site.cli(&["domain", "add", "gone.example"], "");
    assert!(add.ok(), "{}", add.stderr);
    let keys = selectors(&add.stdout);
    site.add_account("erin@gone.example");
    let before = std::fs::read_to_string(&site.config).unwrap();

    let refused = site.cli(&["domain", "remove", "gone.example"], "");
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert_eq!(
        refused.stderr,
        "sealpost: gone.example still has 1 account(s) (erin@gone.example): delete them first (sealpost account delete ADDRESS)\n"
    );
    assert_eq!(std::fs::read_to_string(&site.config).unwrap(), before);

    let del = site.cli(&["account", "delete", "erin@gone.example"], "");
    assert!(del.ok(), "{}", del.stderr);
    let removed = site.cli(&["domain", "remove", "gone.example"], "");
    assert!(removed.ok(), "{}", removed.stderr);
    assert!(
        removed
            .stdout
            .starts_with("removed gone.example (2 DKIM key(s) deleted)"),
        "{}",
        removed.stdout
    );
    let after = std::fs::read_to_string(&site.config).unwrap();
    assert!(!after.contains("gone.example"), "{after}");
    for (_, path) in keys {
        assert!(!site.path(&path).exists(), "{path} left behind");
    }
    // The running server no longer hosts it: relay refused, not unknown user.
    let r = inbound(&site, &server, "erin@gone.example", "after-remove");
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["error"].as_str().unwrap().contains("5.7.1"), "{r}");
    let unknown = site.cli(&["domain", "remove", "gone.example"], "");
    assert_eq!(
        unknown.stderr,
        "sealpost: gone.example is not hosted here\n"
    );
}

/// The selectors whose DKIM signatures of `subject` (sent by fay) verify
/// against the records of every key of `keys`.
fn signed_by(
    site: &Site,
    server: &Server,
    subject: &str,
    keys: &[(String, String)],
) -> Vec<(String, bool)> {
    let r = send(
        site,
        server,
        "submissions",
        json!({"user": "fay@rot.example", "password": PASSWORD,
               "from": "fay@rot.example", "to": ["fay@rot.example"], "subject": subject}),
    );
    assert_eq!(r["ok"], true, "{r}");
    let raw = fetch_raw(site, server, "fay@rot.example", subject);
    let all: Vec<(String, String)> = keys
        .iter()
        .map(|(s, p)| {
            (
                format!("{s}._domainkey.rot.example"),
                openssl_record(&site.path(p)),
            )
        })
        .collect();
    let mut got = dkim_verify(&raw, &Records::new(&all));
    got.sort();
    got
}

fn sorted_true(keys: &[(String, String)]) -> Vec<(String, bool)> {
    let mut want: Vec<(String, bool)> = keys.iter().map(|(s, _)| (s.clone(), true)).collect();
    want.sort();
    want
}

#[test]
fn dkim_rotate_publishes_first_activate_switches_once_published_and_retire_removes_old_ones() {
    let site = Site::new("[smtp.dns]\nstatic_only = true\n");
    let server = site.start();
    let add = site.cli(&["domain", "add", "rot.example"], "");
    assert!(add.ok(), "{}", add.stderr);
    let old = selectors(&add.stdout);
    site.add_account("fay@rot.example");
    let rotate = site.cli(&["dkim", "rotate", "rot.example"], "");
    assert!(rotate.ok(), "{}", rotate.stderr);
    let new = selectors(&rotate.stdout);
    assert_eq!(new.len(), 2, "{}", rotate.stdout);
    assert!(new.iter().all(|n| !old.contains(n)), "{old:?} {new:?}");
    for (sel, _) in &new {
        let record = format!("{sel}._domainkey.rot.example. 3600 IN TXT \"v=DKIM1; k=");
        assert!(rotate.stdout.contains(&record), "{}", rotate.stdout);
    }
    let again = site.cli(&["dkim", "rotate", "rot.example"], "");
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("is pending"), "{}", again.stderr);
    let mut every = old.clone();
    every.extend(new.clone());
    // Pending: the old selectors still sign.
    assert_eq!(
        signed_by(&site, &server, "pending", &every),
        sorted_true(&old)
    );

    // Not in DNS yet: activation is refused.
    let early = site.cli(&["dkim", "activate", "rot.example"], "");
    assert_eq!(early.code, 1, "{}", early.stdout);
    assert!(
        early.stderr.contains(&format!(
            "not activated: missing {}._domainkey.rot.example.",
            new[0].0
        )),
        "{}",
        early.stderr
    );
    // Published (as openssl derives the records from the key files).
    let mut text = std::fs::read_to_string(&site.config).unwrap();
    for (sel, path) in &new {
        text.push_str(&format!(
            "[[smtp.dns.txt]]\nname = \"{sel}._domainkey.rot.example\"\nvalue = \"{}\"\n",
            openssl_record(&site.path(path))
        ));
    }
    std::fs::write(&site.config, text).unwrap();
    let activate = site.cli(&["dkim", "activate", "rot.example"], "");
    assert!(activate.ok(), "{}{}", activate.stdout, activate.stderr);
    for (sel, _) in &old {
        assert!(
            activate.stdout.contains(&format!("published only: {sel} ")),
            "{}",
            activate.stdout
        );
    }
    assert_eq!(
        signed_by(&site, &server, "rotated", &every),
        sorted_true(&new),
        "only the new selectors sign"
    );

    let signing = site.cli(&["dkim", "retire", "rot.example", &new[0].0], "");
    assert_eq!(signing.code, 1);
    assert!(
        signing.stderr.contains("still signs: rotate first"),
        "{}",
        signing.stderr
    );
    // Stopped signing a moment ago: kept published for the grace period.
    let early = site.cli(&["dkim", "retire", "rot.example", &old[0].0], "");
    assert_eq!(early.code, 1, "{}", early.stdout);
    assert!(
        early
            .stderr
            .contains("mail signed just before is still being verified; retire it after "),
        "{}",
        early.stderr
    );
    assert!(site.path(&old[0].1).exists());
    let retire = site.cli(&["dkim", "retire", "rot.example", &old[0].0, "--force"], "");
    assert!(retire.ok(), "{}", retire.stderr);
    assert!(!site.path(&old[0].1).exists());
    let list = site.cli(&["domain", "list"], "");
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("rot.example\t"))
        .unwrap();
    assert!(!line.contains(&format!("{}(", old[0].0)), "{line}");
    assert!(
        line.contains(&format!("{}(rsa-sha256,published)", old[1].0)),
        "{line}"
    );
}

#[test]
fn an_edit_the_running_server_refuses_is_undone_in_the_file() {
    let site = Site::new("");
    let server = site.start();
    // A copy of the config beside it: same data_dir, same admin socket, but
    // not the file the server runs from.
    let copy = site.path("copy.toml");
    std::fs::copy(&site.config, &copy).unwrap();
    let config_before = std::fs::read(&copy).unwrap();
    let out = cli(&copy, &["domain", "add", "side.example"], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.starts_with("sealpost: the running server refused the change, so it was undone in the file: this server runs from "),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        config_before,
        "config restored"
    );
    let keys: Vec<_> = std::fs::read_dir(site.path("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("side.example"))
        .collect();
    assert!(keys.is_empty(), "key files left: {keys:?}");

    // The same for an accounts edit.
    site.add_account("gus@example.org");
    let accounts_before = std::fs::read(site.path("accounts.toml")).unwrap();
    let out = cli(
        &copy,
        &["account", "add", "hal@example.org", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("undone in the file"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(site.path("accounts.toml")).unwrap(),
        accounts_before
    );
    let r = inbound(&site, &server, "hal@example.org", "never");
    assert_eq!(r["ok"], false, "{r}");
}

#[test]
fn an_accounts_file_with_bad_entries_applies_the_rest_and_names_each_refused_line() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    site.add_account("bob@example.org");
    let server = site.start();
    let file = site.path("accounts.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let hash = text
        .lines()
        .find_map(|l| l.strip_prefix("password = "))
        .unwrap()
        .to_string();
    // By hand: alice's hash broken, carol new and valid, one entry in a
    // domain not hosted.
    let edited = text.replacen(&hash, "\"oops\"", 1)
        + &format!("\n[[account]]\naddress = \"carol@example.org\"\npassword = {hash}\n")
        + &format!("\n[[account]]\naddress = \"zed@unhosted.example\"\npassword = {hash}\n");
    let line_of = |needle: &str| edited.lines().position(|l| l.contains(needle)).unwrap() + 1;
    std::fs::write(&file, &edited).unwrap();

    let start = Instant::now();
    loop {
        if inbound(&site, &server, "carol@example.org", "carol-new")["ok"] == true {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(2), "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let want = [
        format!(
            "accounts.toml:{}:12: key `account[0].password`",
            line_of("\"oops\"")
        ),
        format!(
            "accounts.toml:{}:11: key `account[3].address`",
            line_of("zed@")
        ),
    ];
    for w in &want {
        assert!(
            server.wait_log(w, Duration::from_secs(2)),
            "{w} not in:\n{}",
            server.log()
        );
    }
    // alice keeps her previous entry: mail is taken, nothing is deleted.
    let r = inbound(&site, &server, "alice@example.org", "alice-kept");
    assert_eq!(r["ok"], true, "{r}");
    assert!(
        !server.log().contains("mail sealed away"),
        "{}",
        server.log()
    );
    let check = site.cli(&["check-config"], "");
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(check.stderr.contains(&want[0]), "{}", check.stderr);
}

#[test]
fn a_dkim_key_the_running_server_cannot_load_undoes_the_edit() {
    let site = Site::new("");
    let server = site.start();
    // By hand (no reload yet): an entry whose key file holds no key.
    std::fs::write(site.path("keys/broken.pem"), "not a key\n").unwrap();
    let mut text = std::fs::read_to_string(&site.config).unwrap();
    text += "\n[[smtp.dkim]]\ndomain = \"example.org\"\nselector = \"b\"\nalgorithm = \"rsa-sha256\"\nkey = \"keys/broken.pem\"\n";
    std::fs::write(&site.config, &text).unwrap();

    let out = site.cli(&["domain", "add", "keyless.example"], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.starts_with("sealpost: the running server refused the change, so it was undone in the file: config not reloaded: DKIM keys not loaded: DKIM key "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("broken.pem"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&site.config).unwrap(), text);
    let left: Vec<_> = std::fs::read_dir(site.path("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("keyless.example"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let r = inbound(&site, &server, "x@keyless.example", "never");
    assert!(
        r["error"].as_str().unwrap().contains("5.7.1"),
        "not hosted: {r}"
    );
}
