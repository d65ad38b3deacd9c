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
fn store_defaults_to_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&write(dir.path(), "")).unwrap();
    assert_eq!(c.store.backend, StoreBackend::Embedded);
    assert_eq!(c.store.pool_size, 16);
    assert!(c.store.url.is_none());
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
    let s = err("[store]\nurl = \"postgresql:///x\"\nca_file = \"missing.pem\"\n");
    assert!(
        s.contains("store.ca_file") && s.contains("missing.pem"),
        "{s}"
    );
    let s = err("[store]\npool = 3\n");
    assert!(s.contains("pool") && s.contains(":2:"), "{s}");
}
