//! `sealpost dns DOMAIN` and `--check` through the real binary: every
//! record of the issue, value by value (DKIM keys and the TLSA digest
//! computed independently by openssl), then lookups against static
//! `[smtp.dns]` records: all present (exit 0), then one missing and one
//! different (exit 1). No network: `static_only` answers everything.

mod common;
mod domains_support;

use common::*;
use domains_support::openssl_record;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A site whose config names production ports (nothing is started) and a
/// certificate made here; `new.example` added through the CLI.
fn site() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sealpost.toml");
    std::fs::write(
        &config,
        "[server]\nhostname = \"mail.example.org\"\ndata_dir = \"data\"\nmaster_key = \"keys/master.key\"\naudit_signing_key = \"keys/audit.key\"\n\
         [tls]\ncert = \"certs/cert.pem\"\nkey = \"certs/key.pem\"\n\
         [listen]\nimaps = [\"127.0.0.1:993\"]\nsmtp = [\"127.0.0.1:25\"]\nsubmissions = [\"127.0.0.1:465\"]\nsubmission = [\"127.0.0.1:587\"]\n\
         [[domain]]\nname = \"example.org\"\n",
    )
    .unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["mail.example.org".into()]).unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("certs/key.pem"),
        cert.signing_key.serialize_pem(),
    )
    .unwrap();
    let add = cli(&config, &["domain", "add", "new.example"], "");
    assert!(add.ok(), "{}", add.stderr);
    (dir, config)
}

/// (name, type) → data, from `sealpost dns` output (TXT strings joined).
fn parse(out: &str) -> BTreeMap<(String, String), String> {
    let mut map = BTreeMap::new();
    for l in out.lines().filter(|l| !l.starts_with(';')) {
        let mut parts = l.splitn(5, ' ');
        let (name, ttl, class, rtype, data) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!((ttl, class), ("3600", "IN"), "{l}");
        let data = if rtype == "TXT" {
            data.split('"').skip(1).step_by(2).collect::<String>()
        } else {
            data.to_string()
        };
        let old = map.insert((name.to_string(), rtype.to_string()), data);
        assert!(old.is_none(), "twice: {l}");
    }
    map
}

fn openssl_tlsa(cert: &Path) -> String {
    let sh = format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r",
        cert.display()
    );
    let out = Command::new("sh").args(["-c", &sh]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

fn key(name: &str, rtype: &str) -> (String, String) {
    (name.to_string(), rtype.to_string())
}

#[test]
fn dns_prints_every_record_in_zone_file_syntax() {
    let (dir, config) = site();
    let out = cli(&config, &["dns", "new.example"], "");
    assert!(out.ok(), "{}", out.stderr);
    let got = parse(&out.stdout);
    let keys: Vec<(String, String)> = std::fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| {
            let sel = n
                .strip_prefix("dkim-new.example-")?
                .strip_suffix(".pem")?
                .to_string();
            Some((sel, n))
        })
        .collect();
    assert_eq!(keys.len(), 2);
    let mut want: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut put = |n: &str, t: &str, d: &str| want.insert(key(n, t), d.to_string());
    put("new.example.", "MX", "10 mail.example.org.");
    put("new.example.", "TXT", "v=spf1 mx -all");
    put(
        "_dmarc.new.example.",
        "TXT",
        "v=DMARC1; p=quarantine; rua=mailto:postmaster@new.example",
    );
    put(
        "_smtp._tls.new.example.",
        "TXT",
        "v=TLSRPTv1; rua=mailto:postmaster@new.example",
    );
    put(
        "_imaps._tcp.new.example.",
        "SRV",
        "0 1 993 mail.example.org.",
    );
    put(
        "_submissions._tcp.new.example.",
        "SRV",
        "0 1 465 mail.example.org.",
    );
    put(
        "_submission._tcp.new.example.",
        "SRV",
        "0 1 587 mail.example.org.",
    );
    put("_pop3s._tcp.new.example.", "SRV", "0 0 0 .");
    put("_imap._tcp.new.example.", "SRV", "0 0 0 .");
    put("_pop3._tcp.new.example.", "SRV", "0 0 0 .");
    for l in ["mta-sts", "autoconfig", "autodiscover"] {
        put(&format!("{l}.new.example."), "CNAME", "mail.example.org.");
    }
    let tlsa = format!("3 1 1 {}", openssl_tlsa(&dir.path().join("certs/cert.pem")));
    put("_25._tcp.mail.example.org.", "TLSA", &tlsa);
    for (sel, file) in &keys {
        let record = openssl_record(&dir.path().join("keys").join(file));
        put(&format!("{sel}._domainkey.new.example."), "TXT", &record);
    }
    let sts = got
        .get(&key("_mta-sts.new.example.", "TXT"))
        .expect("_mta-sts record")
        .clone();
    assert!(sts.starts_with("v=STSv1; id=") && sts.len() > 14, "{sts}");
    want.insert(key("_mta-sts.new.example.", "TXT"), sts);
    assert_eq!(got, want, "output:\n{}", out.stdout);
    // The RSA record is longer than one TXT string: cut at 255 octets.
    let rsa_line = out.stdout.lines().find(|l| l.contains("k=rsa")).unwrap();
    assert_eq!(rsa_line.matches('"').count(), 4, "{rsa_line}");

    let unknown = cli(&config, &["dns", "other.example"], "");
    assert_eq!(unknown.code, 1);
    assert_eq!(
        unknown.stderr,
        "sealpost: other.example is not hosted here (sealpost domain add other.example)\n"
    );
}

/// `[smtp.dns]` static records holding `records`, as a config fragment.
fn statics(records: &BTreeMap<(String, String), String>) -> String {
    let mut s = String::from("\n[smtp.dns]\nstatic_only = true\n");
    for ((name, rtype), data) in records {
        s += &match rtype.as_str() {
            "TXT" => format!("[[smtp.dns.txt]]\nname = \"{name}\"\nvalue = \"{data}\"\n"),
            "MX" => {
                let (pref, host) = data.split_once(' ').unwrap();
                format!(
                    "[[smtp.dns.mx]]\nname = \"{name}\"\nhost = \"{host}\"\npreference = {pref}\n"
                )
            }
            _ => format!(
                "[[smtp.dns.record]]\nname = \"{name}\"\ntype = \"{rtype}\"\nvalue = \"{data}\"\n"
            ),
        };
    }
    s
}

#[test]
fn dns_check_says_present_missing_or_different_per_record() {
    let (_dir, config) = site();
    let printed = cli(&config, &["dns", "new.example"], "");
    let records = parse(&printed.stdout);
    let base = std::fs::read_to_string(&config).unwrap();

    std::fs::write(&config, format!("{base}{}", statics(&records))).unwrap();
    let all = cli(&config, &["dns", "new.example", "--check"], "");
    assert_eq!(all.code, 0, "{}{}", all.stdout, all.stderr);
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), records.len() + 1, "{}", all.stdout);
    for (name, rtype) in records.keys() {
        assert!(
            lines.contains(&format!("present   {name} {rtype}").as_str()),
            "{name} {rtype}\n{}",
            all.stdout
        );
    }
    assert_eq!(
        lines.last().unwrap(),
        &format!("all {} records of new.example are published", records.len())
    );

    let mut some = records.clone();
    some.remove(&key("_dmarc.new.example.", "TXT"));
    some.insert(key("new.example.", "TXT"), "v=spf1 a -all".into());
    some.insert(
        key("_imaps._tcp.new.example.", "SRV"),
        "0 1 9993 mail.example.org.".into(),
    );
    std::fs::write(&config, format!("{base}{}", statics(&some))).unwrap();
    let out = cli(&config, &["dns", "new.example", "--check"], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("missing   _dmarc.new.example. 3600 IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@new.example\"\n"), "{}", out.stdout);
    assert!(out.stdout.contains("different new.example. TXT: found v=spf1 a -all\n          want  new.example. 3600 IN TXT \"v=spf1 mx -all\"\n"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("different _imaps._tcp.new.example. SRV: found 0 1 9993 mail.example.org.\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("present   new.example. MX\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr,
        format!(
            "sealpost: 3 of {} records of new.example are missing or different\n",
            records.len()
        )
    );
}
