//! The register of processing and the DPIA through the real binary
//! (DESIGN.md promise 6): `[compliance]` facts printed, missing ones as
//! TODO lines, 0 as "never"; while `serve` runs, the report describes the
//! configuration the server runs with and names how the file differs,
//! until SIGHUP applies it; the DPIA ties each risk to its measure and
//! flags one switched off in the config.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::time::Duration;

const FILLED: &str = r#"
[compliance]
controller = "Example Hosting GmbH"
controller_address = "Musterstrasse 1, 10115 Berlin, Germany"
controller_contact = "privacy@example.org"
dpo_contact = "dpo@example.org"
data_subject_requests = "requests@example.org"
recipients = ["Rack Provider AG (colocation, processor under art. 28)"]
transfers_outside_eu = []
backups = "nightly encrypted copies to a second EU site, kept 14 days"
[[compliance.purpose]]
name = "Providing mailboxes to customers"
legal_basis = "art. 6(1)(b) GDPR (contract)"
[[compliance.purpose]]
name = "Security logging"
legal_basis = "art. 6(1)(f) GDPR (legitimate interest)"
"#;

fn report(site: &Site) -> String {
    if !site.path("data/keycheck").exists() {
        // It reports what the store holds: none is made offline
        // (ops_offline_store); a server's first start makes it.
        let out = site.cli(&["compliance", "report"], "");
        assert!(
            out.stderr.contains("holds no sealpost store"),
            "{}",
            out.stderr
        );
        assert_eq!(site.start().stop(), Some(0));
    }
    let out = site.cli(&["compliance", "report"], "");
    assert!(out.ok(), "{}", out.stderr);
    out.stdout
}

fn dpia(site: &Site) -> String {
    let out = site.cli(&["compliance", "dpia"], "");
    assert!(out.ok(), "{}", out.stderr);
    out.stdout
}

#[test]
fn compliance_report_prints_the_controllers_facts_and_todo_lines_for_missing_ones() {
    let filled = Site::new(&format!("{NO_DNS}{FILLED}[retention]\ntrash_days = 0\n"));
    let md = report(&filled);
    for needle in [
        "- Controller: Example Hosting GmbH",
        "- Address: Musterstrasse 1, 10115 Berlin, Germany",
        "- Data protection officer: dpo@example.org",
        "- Requests of data subjects (access, erasure, portability): requests@example.org",
        "- Providing mailboxes to customers: art. 6(1)(b) GDPR (contract)",
        "- Security logging: art. 6(1)(f) GDPR (legitimate interest)",
        "- Rack Provider AG (colocation, processor under art. 28)",
        "- No transfers (declared in `[compliance] transfers_outside_eu`).",
        "Trash expunged never, Junk expunged after 30 days",
        "from the configuration file",
        "| Outbound TLS state (recipient domains with their MTA-STS policies and TLS report counts; no address; sealed) |",
        "counts until the report period ends (86400 s)",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert!(!md.contains("TODO"), "{md}");
    let empty = Site::new(&format!(
        "{NO_DNS}[retention]\naudit_log_months = 0\nanonymize_after_months = 0\n"
    ));
    let md = report(&empty);
    for key in [
        "controller`",
        "controller_address`",
        "controller_contact`",
        "dpo_contact`",
        "data_subject_requests`",
        "recipients`",
        "transfers_outside_eu`",
        "backups`",
    ] {
        assert!(
            md.lines().any(|l| l.contains("TODO") && l.contains(key)),
            "no TODO for {key} in\n{md}"
        );
    }
    assert!(md.contains("TODO: add `[[compliance.purpose]]`"), "{md}");
    assert!(
        md.contains("personal fields anonymized never; segments deleted never"),
        "{md}"
    );
    assert!(!md.contains("after 0"), "{md}");
}

#[test]
fn compliance_report_while_serving_shows_the_running_values_until_sighup_applies_the_file() {
    let site = Site::new(&format!("{NO_DNS}{FILLED}"));
    let server = site.start();
    let md = report(&site);
    assert!(md.contains("the running server uses, loaded 20"), "{md}");
    assert!(md.contains("The file says the same as what runs."), "{md}");
    // Edit the file while serving.
    let text = std::fs::read_to_string(&site.config).unwrap();
    let edited = text
        .replace("Example Hosting GmbH", "Renamed Hosting SE")
        .replace(
            "[listen]",
            "[retention]\ntrash_days = 7\n[imap]\nmax_line = 4096\n[listen]",
        );
    std::fs::write(&site.config, &edited).unwrap();
    let md = report(&site);
    assert!(md.contains("- Controller: Example Hosting GmbH"), "{md}");
    assert!(md.contains("Trash expunged after 30 days"), "{md}");
    assert!(md.contains("**The file differs from what runs**"), "{md}");
    for needle in [
        "`retention.trash_days`: runs with `30`, the file says `7` (applied at the next reload: SIGHUP)",
        "`compliance.controller`: runs with `Example Hosting GmbH`, the file says `Renamed Hosting SE` (applied at the next reload: SIGHUP)",
        "`[imap]`: runs with",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    // SIGHUP applies what can change live; [imap] waits for a restart.
    server.signal("HUP");
    assert!(
        server.wait_log("only applied at a restart", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let md = report(&site);
    assert!(md.contains("- Controller: Renamed Hosting SE"), "{md}");
    assert!(md.contains("Trash expunged after 7 days"), "{md}");
    assert!(!md.contains("`retention.trash_days`"), "{md}");
    assert!(
        md.contains("`[imap]`: runs with") && md.contains("(applied at a restart)"),
        "{md}"
    );
    assert_eq!(server.stop(), Some(0));
    // Offline, the file is what the report describes.
    let md = report(&site);
    assert!(
        md.contains("Trash expunged after 7 days") && md.contains("from the configuration file")
    );
}

#[test]
fn compliance_dpia_ties_each_risk_to_its_measure_and_flags_one_switched_off() {
    let site = Site::new(&format!("{NO_DNS}{FILLED}"));
    let on = dpia(&site);
    for risk in [
        "Interception in transit",
        "Disclosure at rest",
        "Unauthorised access to an account",
        "Over-retention",
        "Log tampering",
        "Loss of mail",
    ] {
        assert!(
            on.contains(&format!(" {risk} (")),
            "missing {risk} in\n{on}"
        );
    }
    assert!(on.contains("### 2.5 Log tampering (in place)"), "{on}");
    assert!(
        on.contains("Every checkpoint is witnessed outside data_dir: file "),
        "{on}"
    );
    assert!(on.contains("## 3. Necessity and proportionality"), "{on}");
    assert!(on.contains("**TODO (controller):**"), "{on}");
    assert!(on.contains("- Purpose: Security logging"), "{on}");
    // The witness switched off, Trash kept forever: those risks change.
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!("{text}\n[audit]\nwitness = \"off\"\n[retention]\ntrash_days = 0\n"),
    )
    .unwrap();
    let off = dpia(&site);
    assert!(off.contains("### 2.5 Log tampering (**OFF**)"), "{off}");
    assert!(
        off.contains("| **OFF** | No witness outside data_dir (`[audit] witness = \"off\"`)"),
        "{off}"
    );
    assert!(off.contains("### 2.4 Over-retention (**WEAK**)"), "{off}");
    assert!(off.contains("Mail in Trash is kept forever"), "{off}");
    assert!(!on.contains("Mail in Trash is kept forever"), "{on}");
    // The audit log off altogether.
    std::fs::write(&site.config, format!("{text}\n[audit]\nenabled = false\n")).unwrap();
    let none = dpia(&site);
    assert!(
        none.contains("The audit log is off (`[audit] enabled = false`)"),
        "{none}"
    );
    // While serving, the DPIA comes from the running server.
    std::fs::write(&site.config, &text).unwrap();
    let server = site.start();
    assert!(dpia(&site).contains("the running server uses, loaded"));
    drop(server);
}
