//! `sealpost compliance report` through the real binary: every key file by
//! its path, the TLS policy as configured, pending purges.

mod audit_support;
mod common;

use audit_support::*;
use common::*;

#[test]
fn retention_compliance_report_lists_keys_and_the_configured_tls_policy() {
    let site = Site::new(&format!(
        "{NO_DNS}[[smtp.route]]\ndomain = \"example.com\"\nhost = \"127.0.0.1:2999\"\nrequire_tls = true\nca_file = \"certs/cert.pem\"\n"
    ));
    site.add_account("alice@example.org");
    site.add_account("bob@example.org");
    let server = site.start();
    assert!(site.cli(&["account", "delete", "bob@example.org"], "").ok());
    let out = site.cli(&["compliance", "report"], "");
    assert!(out.ok(), "{}", out.stderr);
    let md = out.stdout;
    let path = |rel: &str| site.path(rel).display().to_string();
    for needle in [
        format!("| master key | `{}` |", path("keys/master.key")),
        format!("| restore key | `{}` (present) |", path("keys/restore.key")),
        format!("| TLS private key | `{}` |", path("certs/key.pem")),
        format!("| audit signing key | `{}` |", path("keys/audit.key")),
        format!("Server certificate `{}`", path("certs/cert.pem")),
        "| imaps | `127.0.0.1:0` | implicit TLS |".to_string(),
        "| submission | `127.0.0.1:0` | STARTTLS required before AUTH |".to_string(),
        "TLS versions accepted: TLS 1.2, TLS 1.3.".to_string(),
        format!(
            "Outbound mail for example.com goes to `127.0.0.1:2999`: TLS required, certificate verified against `{}`.",
            path("certs/cert.pem")
        ),
        "Deleted accounts awaiting purge: 1".to_string(),
        "| bob@example.org |".to_string(),
    ] {
        assert!(md.contains(&needle), "missing {needle:?} in\n{md}");
    }
    drop(server);
}
