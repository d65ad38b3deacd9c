use super::*;
use std::fs;

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("sealpost.toml");
    fs::write(&p, text).unwrap();
    p
}

fn err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), text);
    let e = Config::load(&p).expect_err("config should be refused");
    let s = e.to_string();
    assert!(!s.contains('\n'), "error must be one line: {s}");
    assert!(
        s.starts_with(&p.display().to_string()),
        "names the file: {s}"
    );
    s
}

#[test]
fn empty_config_uses_defaults_relative_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "");
    let c = Config::load(&p).unwrap();
    assert_eq!(c.server.hostname, "localhost");
    assert_eq!(c.server.data_dir, dir.path().join("data"));
    assert_eq!(c.tls.cert, dir.path().join("certs/cert.pem"));
    assert!(c.listen.imaps.is_empty());
    assert_eq!(c.retention.deleted_account_grace_days, 30);
}

#[test]
fn full_config_parses() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        r#"
[server]
hostname = "Mail.Example.org"
data_dir = "/var/lib/sealpost"
[listen]
imaps = ["127.0.0.1:9993", "[::1]:9993"]
smtp = ["127.0.0.1:2525"]
[imap]
max_line = 1000
[[domain]]
name = "Example.org"
[[domain]]
name = "example.net"
"#,
    );
    let c = Config::load(&p).unwrap();
    assert_eq!(c.server.hostname, "mail.example.org");
    assert_eq!(c.server.data_dir, PathBuf::from("/var/lib/sealpost"));
    assert_eq!(c.listen.imaps.len(), 2);
    assert_eq!(c.imap.max_line, 1000);
    assert!(c.is_local_domain("EXAMPLE.ORG"));
    assert!(!c.is_local_domain("example.com"));
}

#[test]
fn unknown_key_names_key_and_line() {
    let s = err("[server]\nhostname = \"a.example\"\nhostnme = \"x\"\n");
    assert!(s.contains(":3:"), "{s}");
    assert!(s.contains("hostnme"), "{s}");
}

#[test]
fn unknown_section_is_refused() {
    let s = err("[imapp]\nmax_line = 3\n");
    assert!(s.contains("imapp"), "{s}");
    assert!(s.contains(":1:"), "{s}");
}

#[test]
fn wrong_type_names_key_and_line() {
    let s = err("\n[imap]\nmax_line = \"big\"\n");
    assert!(s.contains("key `imap.max_line`"), "{s}");
    assert!(s.contains(":3:"), "{s}");
}

#[test]
fn bad_address_names_key_and_line() {
    let s = err("[listen]\nimaps = [\"127.0.0.1:99999\"]\n");
    assert!(s.contains("listen.imaps"), "{s}");
    assert!(s.contains(":2:"), "{s}");
}

#[test]
fn syntax_error_has_line() {
    let s = err("[server\nhostname = 1\n");
    assert!(s.contains(":1:"), "{s}");
}

#[test]
fn bad_hostname_is_refused() {
    let s = err("[server]\nhostname = \"bad host\"\n");
    assert!(s.contains("server.hostname") && s.contains(":2:"), "{s}");
}

#[test]
fn bad_and_duplicate_domains_are_refused() {
    let s = err("[[domain]]\nname = \"ex ample.org\"\n");
    assert!(s.contains("domain[0].name") && s.contains(":2:"), "{s}");
    let s = err("[[domain]]\nname = \"a.org\"\n[[domain]]\nname = \"A.org\"\n");
    assert!(s.contains("domain[1].name") && s.contains("twice"), "{s}");
}

#[test]
fn grace_over_45_days_is_refused_with_maximum() {
    let s = err("[retention]\ndeleted_account_grace_days = 46\n");
    assert!(s.contains("retention.deleted_account_grace_days"), "{s}");
    assert!(s.contains("maximum is 45"), "{s}");
    assert!(s.contains(":2:"), "{s}");
}

#[test]
fn zero_message_limit_is_refused() {
    let s = err("[imap]\nmessage_limit = 0\n");
    assert!(
        s.contains("imap.message_limit") && s.contains(":2:") && s.contains("at least 1"),
        "{s}"
    );
}

#[test]
fn short_imap_idle_timeout_is_refused() {
    let s = err("[imap]\nidle_timeout_secs = 60\n");
    assert!(
        s.contains("imap.idle_timeout_secs") && s.contains(":2:"),
        "{s}"
    );
}

#[test]
fn cert_without_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("certs")).unwrap();
    fs::write(dir.path().join("certs/cert.pem"), "x").unwrap();
    let p = write(dir.path(), "[tls]\ncert = \"certs/cert.pem\"\n");
    let s = Config::load(&p).unwrap_err().to_string();
    assert!(
        s.contains("tls.key") && s.contains("give both or neither"),
        "{s}"
    );
}

#[test]
fn missing_file_is_one_line() {
    let e = Config::load(Path::new("/nonexistent/sealpost.toml")).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("/nonexistent/sealpost.toml: cannot read"),
        "{s}"
    );
}

#[test]
fn location_of_offset() {
    assert_eq!(
        Location::of_offset("ab\ncd", 4),
        Location { line: 2, column: 2 }
    );
    assert_eq!(Location::of_offset("", 0), Location { line: 1, column: 1 });
}

#[test]
fn pop3_idle_timeout_error_names_the_pop3_line() {
    // [imap] comes first with a good value: the error must point at [pop3]'s.
    let s = err("[imap]\nidle_timeout_secs = 1800\n[pop3]\nidle_timeout_secs = 60\n");
    assert!(
        s.contains("pop3.idle_timeout_secs") && s.contains(":4:"),
        "{s}"
    );
}

#[test]
fn zero_per_ip_connections_names_its_own_key() {
    let s = err("[limits]\nmax_connections = 10\nmax_connections_per_ip = 0\n");
    assert!(
        s.contains("limits.max_connections_per_ip") && s.contains(":3:"),
        "{s}"
    );
}

#[test]
fn unreadable_certificate_is_refused_with_its_key() {
    // A folder where the certificate should be: it exists but cannot be read
    // (chmod would not stop root, who runs CI).
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("certs/cert.pem")).unwrap();
    fs::write(dir.path().join("certs/key.pem"), "k").unwrap();
    let p = write(
        dir.path(),
        "[tls]\ncert = \"certs/cert.pem\"\nkey = \"certs/key.pem\"\n",
    );
    let s = Config::load(&p).unwrap_err().to_string();
    assert!(
        s.contains("tls.cert") && s.contains("cannot read") && s.contains(":2:"),
        "{s}"
    );
}

#[test]
fn master_key_inside_data_dir_is_refused() {
    let s = err("[server]\ndata_dir = \"data\"\nmaster_key = \"./data/../data/keys/master.key\"\n");
    assert!(
        s.contains("server.master_key") && s.contains("inside data_dir") && s.contains(":3:"),
        "{s}"
    );
    // Beside it is fine.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "[server]\ndata_dir = \"data\"\nmaster_key = \"data-keys/master.key\"\n",
    );
    Config::load(&p).unwrap();
}

#[test]
fn route_ca_file_resolves_against_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[[smtp.route]]\ndomain = \"a.example\"\nhost = \"127.0.0.1:25\"\nca_file = \"certs/ca.pem\"\n";
    let p = write(dir.path(), text);
    let c = Config::load(&p).unwrap();
    assert_eq!(
        c.smtp.route[0].ca_file.as_deref(),
        Some(dir.path().join("certs/ca.pem").as_path())
    );
}

#[test]
fn witness_defaults_to_a_file_beside_the_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "");
    let c = Config::load(&p).unwrap();
    assert_eq!(
        c.audit.witness,
        Witness::File(dir.path().join("keys/audit-witness.log"))
    );
    assert_eq!(c.audit.master_key, dir.path().join("keys/master.key"));
    for (text, want) in [
        ("syslog", Witness::Syslog("/dev/log".into())),
        (
            "journald",
            Witness::Journald("/run/systemd/journal/socket".into()),
        ),
        ("syslog:/tmp/x.sock", Witness::Syslog("/tmp/x.sock".into())),
        ("off", Witness::Off),
        (
            "elsewhere/w.log",
            Witness::File(dir.path().join("elsewhere/w.log")),
        ),
    ] {
        let p = write(dir.path(), &format!("[audit]\nwitness = \"{text}\"\n"));
        assert_eq!(Config::load(&p).unwrap().audit.witness, want, "{text}");
    }
}

#[test]
fn witness_inside_data_dir_is_refused() {
    let s = err("[server]\ndata_dir = \"data\"\n[audit]\nwitness = \"data/w.log\"\n");
    assert!(
        s.contains("audit.witness") && s.contains("inside data_dir") && s.contains(":4:"),
        "{s}"
    );
    let s = err("[server]\ndata_dir = \"data\"\naudit_signing_key = \"data/audit.key\"\n");
    assert!(
        s.contains("audit.witness") && s.contains("default witness"),
        "{s}"
    );
    let s = err("[audit]\nwitness = \"\"\n");
    assert!(s.contains("audit.witness") && s.contains(":2:"), "{s}");
}

#[test]
fn retention_bounds_name_key_and_line() {
    let s = err("[retention]\naudit_log_months = 12\nanonymize_after_months = 13\n");
    assert!(
        s.contains("retention.anonymize_after_months")
            && s.contains(":3:")
            && s.contains("longer than audit_log_months"),
        "{s}"
    );
    let s = err("[retention]\n\naudit_log_months = 600\n");
    assert!(
        s.contains("retention.audit_log_months")
            && s.contains(":3:")
            && s.contains("maximum is 120"),
        "{s}"
    );
    let s = err("[retention]\nanonymize_after_months = 121\naudit_log_months = 0\n");
    assert!(
        s.contains("retention.anonymize_after_months") && s.contains(":2:"),
        "{s}"
    );
    let s = err("[retention]\ntrash_days = 4000\n");
    assert!(
        s.contains("retention.trash_days") && s.contains(":2:"),
        "{s}"
    );
    let s = err("[retention]\ninterval_secs = 90000\n");
    assert!(
        s.contains("retention.interval_secs") && s.contains(":2:"),
        "{s}"
    );
    let s = err("[audit]\nsegment_max_bytes = 0\n");
    assert!(
        s.contains("audit.segment_max_bytes") && s.contains(":2:"),
        "{s}"
    );
    // Anonymizing with the log kept forever, or never anonymizing, is fine.
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "[retention]\naudit_log_months = 0\nanonymize_after_months = 120\n",
        "[retention]\naudit_log_months = 6\nanonymize_after_months = 0\n",
        "[retention]\naudit_log_months = 6\nanonymize_after_months = 6\n",
    ] {
        Config::load(&write(dir.path(), text)).unwrap();
    }
}

#[test]
fn compliance_section_parses_and_checks_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        r#"
[compliance]
controller = "Example Hosting GmbH"
dpo_contact = "dpo@example.org"
recipients = []
[[compliance.purpose]]
name = "mailboxes"
legal_basis = "art. 6(1)(b)"
"#,
    );
    let c = Config::load(&p).unwrap();
    assert_eq!(
        c.compliance.controller.as_deref(),
        Some("Example Hosting GmbH")
    );
    assert_eq!(c.compliance.recipients, Some(vec![]));
    assert_eq!(c.compliance.transfers_outside_eu, None);
    assert_eq!(c.compliance.purpose[0].legal_basis, "art. 6(1)(b)");
    assert_eq!(
        Config::load(&write(dir.path(), "")).unwrap().compliance,
        ComplianceConfig::default()
    );
    let s = err("[compliance]\ncontroller = \"  \"\n");
    assert!(
        s.contains("compliance.controller") && s.contains(":2:"),
        "{s}"
    );
    let s = err(
        "[compliance]\n[[compliance.purpose]]\nname = \"a\"\nlegal_basis = \"b\"\n[[compliance.purpose]]\nname = \"c\"\nlegal_basis = \"\"\n",
    );
    assert!(
        s.contains("compliance.purpose[1].legal_basis") && s.contains(":7:"),
        "{s}"
    );
    let s = err("[compliance]\ncontroler = \"x\"\n");
    assert!(s.contains("controler") && s.contains(":2:"), "{s}");
}

#[test]
fn http_and_acme_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "");
    let c = Config::load(&p).unwrap();
    assert!(c.listen.http.is_empty() && c.listen.https.is_empty());
    assert_eq!(c.http.max_body_bytes, 65536);
    assert_eq!(c.http.mta_sts.mode, MtaStsMode::Testing);
    assert_eq!(c.http.mta_sts.mx, vec!["localhost".to_string()]);
    assert!(c.http.private_from[0].contains("127.0.0.5".parse().unwrap()));
    assert!(!c.acme.enabled);
    assert_eq!(c.acme.directory, LETS_ENCRYPT_PRODUCTION);
    assert_eq!(c.acme.dir, Some(dir.path().join("data/acme")));
    assert_eq!(c.acme.renew_before_days, 30);
    assert_eq!(c.acme.domain_names, vec!["mta-sts", "autoconfig"]);
}

#[test]
fn http_and_acme_full() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        r#"
[server]
hostname = "mail.example.org"
[listen]
http = ["127.0.0.1:8080"]
https = ["127.0.0.1:8443", "[::1]:8443"]
[http]
max_connections_per_ip = 4
private_from = ["10.0.0.0/8", "2001:db8::/32"]
[http.mta_sts]
mode = "enforce"
max_age_secs = 86400
mx = ["MX1.example.org", "*.mx.example.org"]
[acme]
enabled = true
accept_terms = true
directory = "https://127.0.0.1:14000/dir"
contact = ["mailto:postmaster@example.org"]
names = ["IMAP.example.org"]
challenge = "tls-alpn-01"
dir = "state/acme"
ca_file = "pebble-ca.pem"
"#,
    );
    let c = Config::load(&p).unwrap();
    assert_eq!(c.listen.https.len(), 2);
    assert_eq!(c.http.max_connections_per_ip, 4);
    assert!(c.http.private_from[1].contains("2001:db8::9".parse().unwrap()));
    assert_eq!(c.http.mta_sts.mode, MtaStsMode::Enforce);
    assert_eq!(
        c.http.mta_sts.mx,
        vec!["mx1.example.org", "*.mx.example.org"]
    );
    assert_eq!(c.acme.challenge, AcmeChallenge::TlsAlpn01);
    assert_eq!(c.acme.names, vec!["imap.example.org"]);
    assert_eq!(c.acme.dir, Some(dir.path().join("state/acme")));
    assert_eq!(c.acme.ca_file, Some(dir.path().join("pebble-ca.pem")));
}

#[test]
fn http_and_acme_errors_name_the_key_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[http]\nmax_header_bytes = 10\n",
            ":2:1: key `http.max_header_bytes`: must be at least 1024",
        ),
        (
            "[http]\nprivate_from = [\"10.0.0.0/40\"]\n",
            "key `http.private_from[0]`",
        ),
        ("[http]\nbody = 1\n", "unknown field `body`"),
        (
            "[http.mta_sts]\nmode = \"strict\"\n",
            "key `http.mta_sts.mode`",
        ),
        (
            "[http.mta_sts]\nmax_age_secs = 99999999\n",
            ":2:1: key `http.mta_sts.max_age_secs`",
        ),
        (
            "[http.mta_sts]\nmx = [\"bad host\"]\n",
            "key `http.mta_sts.mx`: `bad host`",
        ),
        ("[acme]\nenabled = true\n", "key `acme.accept_terms`"),
        (
            "[acme]\nenabled = true\naccept_terms = true\n",
            "http-01 needs an http listener",
        ),
        (
            "[acme]\nenabled = true\naccept_terms = true\nchallenge = \"tls-alpn-01\"\n",
            "tls-alpn-01 needs an https listener",
        ),
        ("[acme]\nchallenge = \"dns-01\"\n", "key `acme.challenge`"),
        (
            "[acme]\ndirectory = \"http://ca.example/dir\"\n",
            "not an https:// URL",
        ),
        (
            "[acme]\ncontact = [\"postmaster@example.org\"]\n",
            "not a mailto: URL",
        ),
        ("[acme]\ndomain_names = [\"a.b\"]\n", "not one DNS label"),
        ("[acme]\nnames = [\"x y\"]\n", "key `acme.names`"),
        (
            "[acme]\nretry_initial_secs = 0\n",
            ":2:1: key `acme.retry_initial_secs`",
        ),
        ("[listen]\nhttp = [\"nowhere\"]\n", "key `listen.http[0]`"),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn too_many_names_on_one_certificate_is_refused() {
    let names: Vec<String> = (0..100).map(|i| format!("\"h{i}.example.org\"")).collect();
    let e = err(&format!("[acme]\nnames = [{}]\n", names.join(", ")));
    assert!(e.contains("101 names on one certificate"), "{e}");
}

#[test]
fn store_defaults_to_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&write(dir.path(), "")).unwrap();
    assert_eq!(c.store.backend, StoreBackend::Embedded);
    assert_eq!(c.store.pool_size, 16);
    assert!(c.store.url.is_none());
}

#[test]
fn store_errors_name_key_and_line() {
    let s = err("[store]\nbackend = \"postgresql\"\n");
    assert!(s.contains("store.url") && s.contains("required"), "{s}");
    let s = err("[store]\nbackend = \"mysql\"\n");
    assert!(s.contains("store.backend") && s.contains(":2:"), "{s}");
    let s = err("[store]\nbackend = \"postgresql\"\nurl = \"db.example.org\"\n");
    assert!(s.contains("store.url") && s.contains(":3:"), "{s}");
    let s = err("[store]\nurl = \"postgresql:///x\"\npool_size = 0\n");
    assert!(s.contains("store.pool_size") && s.contains(":3:"), "{s}");
    let s = err("[store]\nstatement_timeout_secs = 0\n");
    assert!(s.contains("store.statement_timeout_secs"), "{s}");
    let s = err("[store]\nlease_secs = 1\n");
    assert!(
        s.contains("store.lease_secs") && s.contains("between 2 and 3600") && s.contains(":2:"),
        "{s}"
    );
    let s = err("[store]\nurl = \"postgresql:///x\"\nca_file = \"missing.pem\"\n");
    assert!(
        s.contains("store.ca_file") && s.contains("missing.pem"),
        "{s}"
    );
    let s = err("[store]\npool = 3\n");
    assert!(s.contains("pool") && s.contains(":2:"), "{s}");
}

#[test]
fn store_postgresql_parses_with_a_relative_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("db-ca.pem"), "x").unwrap();
    let c = Config::load(&write(
        dir.path(),
        "[store]\nbackend = \"postgresql\"\nurl = \"postgresql://sealpost@db.example.org/mail?host=/run/postgresql\"\nca_file = \"db-ca.pem\"\npool_size = 32\n",
    ))
    .unwrap();
    assert_eq!(c.store.backend, StoreBackend::Postgresql);
    assert_eq!(c.store.ca_file, Some(dir.path().join("db-ca.pem")));
    assert_eq!(c.store.pool_size, 32);
}

#[test]
fn log_section_defaults_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&write(dir.path(), "")).unwrap();
    assert_eq!(c.log, LogConfig::default());
    assert_eq!(c.log.personal_data, PersonalData::Minimal);
    let p = write(
        dir.path(),
        "[log]\nlevel = \"debug\"\nformat = \"json\"\npersonal_data = \"full\"\n",
    );
    let c = Config::load(&p).unwrap();
    assert_eq!(c.log.level, LogLevel::Debug);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.log.personal_data, PersonalData::Full);
}

#[test]
fn log_section_bad_values_name_key_and_line() {
    for (text, line, word) in [
        ("[log]\nlevel = \"loud\"\n", ":2:", "loud"),
        ("[log]\n\nformat = \"xml\"\n", ":3:", "xml"),
        ("[log]\npersonal_data = \"some\"\n", ":2:", "some"),
        ("[log]\nlevle = \"info\"\n", ":2:", "levle"),
    ] {
        let s = err(text);
        assert!(s.contains(line) && s.contains(word), "{text:?}: {s}");
    }
}

#[test]
fn account_page_is_on_by_default_and_its_bounds_name_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&write(dir.path(), "")).unwrap();
    assert!(c.http.account.enabled);
    assert_eq!(c.http.account.session_idle_secs, 900);
    let c = Config::load(&write(
        dir.path(),
        "[http.account]\nenabled = false\nmin_password_len = 16\n",
    ))
    .unwrap();
    assert!(!c.http.account.enabled);
    assert_eq!(c.http.account.min_password_len, 16);
    // Left at its default, the form limit follows a smaller body limit.
    let c = Config::load(&write(dir.path(), "[http]\nmax_body_bytes = 2048\n")).unwrap();
    assert_eq!(c.http.account.max_form_bytes, 2048);
    for (text, want) in [
        (
            "[http.account]\nsession_idle_secs = 10\n",
            ":2:1: key `http.account.session_idle_secs`: must be between 60",
        ),
        (
            "[http.account]\nsession_max_secs = 600\nsession_idle_secs = 900\n",
            ":3:1: key `http.account.session_idle_secs`: 900 is longer than session_max_secs",
        ),
        (
            "[http.account]\nmin_password_len = 4\n",
            ":2:1: key `http.account.min_password_len`: must be at least 8",
        ),
        (
            "[http]\nmax_body_bytes = 4096\n[http.account]\nmax_form_bytes = 8192\n",
            ":4:1: key `http.account.max_form_bytes`: 8192 is more than http.max_body_bytes",
        ),
        (
            "[http.account]\nmax_sessions = 0\n",
            ":2:1: key `http.account.max_sessions`: must be at least 1",
        ),
        ("[http.account]\nenable = true\n", "enable"),
    ] {
        let s = err(text);
        assert!(s.contains(want), "{text:?}: {s}");
    }
}

#[test]
fn outbound_tls_bounds_and_paths() {
    let s = err("[smtp.outbound_tls]\nmta_sts = true\npolicy_max_bytes = 100\n");
    assert!(
        s.contains(":3:") && s.contains("smtp.outbound_tls.policy_max_bytes"),
        "{s}"
    );
    let s = err("[smtp.outbound_tls]\npolicy_timeout_secs = 0\n");
    assert!(s.contains(":2:") && s.contains("between 1 and 300"), "{s}");
    let s = err("[smtp.outbound_tls]\nmta_sts_port = 0\n");
    assert!(s.contains("smtp.outbound_tls.mta_sts_port"), "{s}");
    let s = err("[smtp.outbound_tls]\nmta_sts = \"yes\"\n");
    assert!(s.contains("mta_sts"), "{s}");
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "[smtp.outbound_tls]\nca_file = \"roots.pem\"\n[[smtp.dns.record]]\nname = \"_25._tcp.mx.example\"\ntype = \"TLSA\"\nvalue = \"3 1 1 00\"\nsecure = true\n",
    );
    let c = Config::load(&p).unwrap();
    assert_eq!(
        c.smtp.outbound_tls.ca_file,
        Some(dir.path().join("roots.pem"))
    );
    assert!(c.smtp.outbound_tls.mta_sts && c.smtp.outbound_tls.dane);
    assert_eq!(c.smtp.outbound_tls.mta_sts_port, 443);
    assert!(c.smtp.dns.record[0].secure);
}

#[test]
fn tls_rpt_settings() {
    let s = err("[smtp.outbound_tls]\ntls_rpt_interval_secs = 0\n");
    assert!(
        s.contains("smtp.outbound_tls.tls_rpt_interval_secs") && s.contains(":2:"),
        "{s}"
    );
    let s = err("[smtp.outbound_tls]\ntls_rpt_contact = \"nobody\"\n");
    assert!(
        s.contains("tls_rpt_contact") && s.contains("email address"),
        "{s}"
    );
}
