//! The register of processing (GDPR article 30(1)): a Markdown report drawn
//! from the configuration the server runs with and the store, so an
//! operator starts from facts and sees what is missing.
//!
//! Sections follow article 30(1): (a) the controller and its contacts, (b)
//! purposes and legal bases, (c) categories of data subjects and of
//! personal data, (d) recipients, (e) transfers outside the EU, (f) time
//! limits, (g) security measures. What only the controller knows comes
//! from `[compliance]`; each missing item is a `TODO` line naming the key
//! to set, never a guess. A setting of 0 (never) prints as "never".

use crate::DAY;
use sealpost_config::Config;
use sealpost_store::{AccountState, Store, StoreError};
use std::fmt::Write;

/// Where the configuration the report describes comes from.
#[derive(Debug, Clone, Copy)]
pub enum ConfigSource<'a> {
    /// Read from the file: no server was running.
    File,
    /// Asked from the running server.
    Running {
        /// When the server loaded it (Unix seconds).
        loaded_at: i64,
        /// The settings in which the file differs from it, one line each.
        differences: &'a [String],
    },
}

/// Facts the report needs that live outside the config and the store.
pub struct ReportInputs<'a> {
    /// The audit log's public key, printable.
    pub audit_public_key: Option<&'a str>,
    /// Number of accounts in the accounts file.
    pub configured_accounts: usize,
    /// The TLS protocol versions the listeners accept (from the TLS layer).
    pub tls_versions: &'a [&'a str],
    /// Where the configuration comes from.
    pub source: ConfigSource<'a>,
}

/// `n unit` after something, or "never" for 0.
pub fn after(n: u64, unit: &str) -> String {
    match n {
        0 => "never".to_string(),
        1 => format!("after 1 {unit}"),
        n => format!("after {n} {unit}s"),
    }
}

/// A date (UTC) of a Unix time.
pub(crate) fn date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// A time (UTC, RFC 3339) of a Unix time.
pub(crate) fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The provenance lines: which configuration, loaded when, and how the
/// file differs.
pub(crate) fn provenance(md: &mut String, config: &Config, source: ConfigSource<'_>, now: i64) {
    match source {
        ConfigSource::File => {
            let _ = writeln!(
                md,
                "\nGenerated {} from the configuration file `{}` (no server is running) and the mailbox store.",
                date(now),
                config.path.display()
            );
        }
        ConfigSource::Running {
            loaded_at,
            differences,
        } => {
            let _ = writeln!(
                md,
                "\nGenerated {} from the configuration the running server uses, loaded {} from `{}`, and the mailbox store.",
                date(now),
                time(loaded_at),
                config.path.display()
            );
            if differences.is_empty() {
                let _ = writeln!(md, "\nThe file says the same as what runs.");
            } else {
                let _ = writeln!(
                    md,
                    "\n**The file differs from what runs** (this document describes what runs):\n"
                );
                for d in differences {
                    let _ = writeln!(md, "- {d}");
                }
            }
        }
    }
}

/// A line of a fact from `[compliance]`, or the TODO naming its key.
fn fact(md: &mut String, label: &str, value: &Option<String>, key: &str, why: &str) {
    match value {
        Some(v) => {
            let _ = writeln!(md, "- {label}: {v}");
        }
        None => {
            let _ = writeln!(md, "- TODO: {label}: set `[compliance] {key}` ({why}).");
        }
    }
}

/// A list fact: items, "none" (declared empty), or the TODO.
fn list(md: &mut String, value: &Option<Vec<String>>, key: &str, none: &str, why: &str) {
    match value {
        Some(items) if items.is_empty() => {
            let _ = writeln!(md, "- {none} (declared in `[compliance] {key}`).");
        }
        Some(items) => {
            for i in items {
                let _ = writeln!(md, "- {i}");
            }
        }
        None => {
            let _ = writeln!(
                md,
                "- TODO: set `[compliance] {key}` ({why}; `[]` if none)."
            );
        }
    }
}

/// Renders the report as of `now`.
pub fn compliance_report(
    config: &Config,
    store: &Store,
    inputs: &ReportInputs<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Register of processing (GDPR art. 30): sealpost on {}",
        config.server.hostname
    );
    provenance(&mut md, config, inputs.source, now);

    controller_section(&mut md, &config.compliance);
    purposes_and_recipients(&mut md, &config.compliance);
    erasure_limits(&mut md, config);
    let _ = writeln!(md, "\n## Security measures (art. 30(1)(g), art. 32)");
    protection(&mut md, config, store, inputs);
    accounts_section(&mut md, config, store, inputs)?;
    Ok(md)
}

/// How a listener kind protects what crosses it.
const LISTENER_TLS: [(&str, &str); 7] = [
    ("imap", "STARTTLS required before login"),
    ("imaps", "implicit TLS"),
    ("pop3", "STLS required before login"),
    ("pop3s", "implicit TLS"),
    ("smtp", "inbound MX: STARTTLS required before MAIL"),
    ("submission", "STARTTLS required before AUTH"),
    ("submissions", "implicit TLS"),
];

/// Art. 30(1)(a): who the controller is.
fn controller_section(md: &mut String, c: &sealpost_config::ComplianceConfig) {
    let _ = writeln!(md, "\n## Controller (art. 30(1)(a))\n");
    fact(
        md,
        "Controller",
        &c.controller,
        "controller",
        "the name of the controller",
    );
    fact(
        md,
        "Address",
        &c.controller_address,
        "controller_address",
        "the controller's postal address",
    );
    fact(
        md,
        "Contact",
        &c.controller_contact,
        "controller_contact",
        "how to reach the controller",
    );
    fact(
        md,
        "Data protection officer",
        &c.dpo_contact,
        "dpo_contact",
        "the DPO's contact, or say that none is designated",
    );
    if let Some(rep) = &c.representative {
        let _ = writeln!(md, "- Representative in the Union (art. 27): {rep}");
    }
    fact(
        md,
        "Requests of data subjects (access, erasure, portability)",
        &c.data_subject_requests,
        "data_subject_requests",
        "where people send their requests",
    );
}

/// Art. 30(1)(b)-(e): purposes, data, recipients, transfers.
fn purposes_and_recipients(md: &mut String, c: &sealpost_config::ComplianceConfig) {
    let _ = writeln!(
        md,
        "\n## Purposes and legal bases (art. 30(1)(b), art. 6)\n"
    );
    if c.purpose.is_empty() {
        let _ = writeln!(
            md,
            "- TODO: add `[[compliance.purpose]]` tables with `name` and `legal_basis` (e.g. providing mailboxes under a contract, art. 6(1)(b); security logging, art. 6(1)(f) or (c))."
        );
    }
    for p in &c.purpose {
        let _ = writeln!(md, "- {}: {}", p.name, p.legal_basis);
    }

    let _ = writeln!(md, "\n## Data subjects and personal data (art. 30(1)(c))\n");
    let _ = writeln!(
        md,
        "- Data subjects: the holders of the accounts of the hosted domains, and the people who write to them or whom they write to (correspondents)."
    );
    let _ = writeln!(
        md,
        "- Personal data: the content and headers of messages (which may hold any kind of data, special categories included), mailbox names, addresses of account holders and correspondents, account data (password hash, quota, aliases), access data (IP addresses, times, protocols of logins and deliveries)."
    );

    let _ = writeln!(md, "\n## Recipients and processors (art. 30(1)(d))\n");
    list(
        md,
        &c.recipients,
        "recipients",
        "No recipients or processors",
        "who receives the data: hosting provider, backup provider, ...",
    );
    let _ = writeln!(
        md,
        "- By the nature of mail: the mail servers of correspondents receive the messages sent to them."
    );

    let _ = writeln!(md, "\n## Transfers outside the EU/EEA (art. 30(1)(e))\n");
    list(
        md,
        &c.transfers_outside_eu,
        "transfers_outside_eu",
        "No transfers",
        "the third countries and the safeguards (art. 46)",
    );
    let _ = writeln!(
        md,
        "- By the nature of mail: messages users send to addresses abroad travel there; that is the users' own act."
    );
}

/// Art. 30(1)(f): where each kind of data is and how long it is kept.
fn erasure_limits(md: &mut String, config: &Config) {
    let r = &config.retention;
    let c = &config.compliance;
    let _ = writeln!(md, "\n## Time limits for erasure (art. 30(1)(f))\n");
    let _ = writeln!(md, "| data | where | kept |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| Mail (messages, mailbox names, message summaries) | `{}` (sled metadata in `db/`, one encrypted file per message in `blobs/`) | until the user deletes it; Trash expunged {}, Junk expunged {}; deleted accounts purged {} after deletion |",
        config.server.data_dir.display(),
        after(r.trash_days.into(), "day"),
        after(r.junk_days.into(), "day"),
        after(r.deleted_account_grace_days.into(), "day"),
    );
    let _ = writeln!(
        md,
        "| Account data (address, argon2id password hash, quota, aliases) | `{}` | while the account exists |",
        config.server.accounts.display()
    );
    let _ = writeln!(
        md,
        "| Deleted accounts' entries (address, password hash, quota, aliases, sealed), kept for restore | `{}` | until restored or purged ({} days) |",
        config.server.data_dir.join("deleted").display(),
        r.deleted_account_grace_days
    );
    let _ = writeln!(
        md,
        "| Last audited version of the accounts file (address, quota, aliases, SHA-256 of the password hash; sealed) | `{}` | while the account is in the accounts file |",
        config
            .server
            .data_dir
            .join("accounts-audited.json")
            .display()
    );
    let _ = writeln!(
        md,
        "| Access and audit logs (logins with IP address, deliveries with addresses, account changes) | `{}` | personal fields anonymized {}; segments deleted {}; a purged account's personal fields {} |",
        config.server.data_dir.join("audit").display(),
        after(r.anonymize_after_months.into(), "month"),
        after(r.audit_log_months.into(), "month"),
        if r.keep_audit_personal_data_after_purge {
            "kept until anonymized (legal hold: `keep_audit_personal_data_after_purge = true`)"
        } else if config.store.backend == sealpost_config::StoreBackend::Postgresql {
            "erased at the purge, on the purging node at once and on every other node sharing the store within seconds of the request (`sealpost store nodes` lists any node still owing it)"
        } else {
            "erased at the purge"
        }
    );
    let _ = writeln!(md, "{}", operational_log_row(config));
    let _ = writeln!(
        md,
        "| Outbound queue (messages in transit) | `{}` | until delivered or bounced, at most {} days |",
        config.server.data_dir.join("queue").display(),
        config.smtp.queue_lifetime_secs / 86_400
    );
    let _ = writeln!(
        md,
        "| Outbound TLS state (recipient domains with their MTA-STS policies and TLS report counts; no address; sealed) | `{}`, `{}` | policies until their `max_age` runs out; counts until the report period ends ({} s), a report not sent at most a day more |",
        config
            .server
            .data_dir
            .join("mta-sts-cache.sealed")
            .display(),
        config.server.data_dir.join("tls-rpt.sealed").display(),
        config.smtp.outbound_tls.tls_rpt_interval_secs
    );
    let _ = writeln!(
        md,
        "| Backups | {} | {} |",
        c.backups
            .as_deref()
            .unwrap_or("TODO: set `[compliance] backups`"),
        if c.backups.is_some() {
            "as stated"
        } else {
            "TODO"
        }
    );
}

/// The hosted domains and accounts, and the purges due.
fn accounts_section(
    md: &mut String,
    config: &Config,
    store: &Store,
    inputs: &ReportInputs<'_>,
) -> Result<(), StoreError> {
    let r = &config.retention;
    let accounts = store.accounts()?;
    let active = accounts
        .iter()
        .filter(|a| a.state == AccountState::Active)
        .count();
    let mut pending: Vec<(String, i64, i64)> = accounts
        .iter()
        .filter_map(|a| match a.state {
            AccountState::Deleted { at } => Some((
                if a.address.is_empty() {
                    format!("account #{} (purge in progress)", a.id.0)
                } else {
                    a.address.clone()
                },
                at,
                at + r.deleted_account_grace_days as i64 * DAY,
            )),
            AccountState::Active => None,
        })
        .collect();
    pending.sort_by_key(|p| p.2);
    let _ = writeln!(md, "\n## Accounts\n");
    let _ = writeln!(
        md,
        "- Hosted domains: {}",
        config
            .domains
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        md,
        "- Accounts in the accounts file: {}",
        inputs.configured_accounts
    );
    let _ = writeln!(md, "- Accounts with mail in the store: {active}");
    let _ = writeln!(md, "- Deleted accounts awaiting purge: {}", pending.len());
    if !pending.is_empty() {
        let _ = writeln!(md, "\n| account | deleted | purge due |\n|---|---|---|");
        for (a, at, due) in &pending {
            let _ = writeln!(md, "| {a} | {} | {} |", date(*at), date(*due));
        }
    }
    Ok(())
}

/// The protection section: transport as configured, encryption at rest,
/// where every key lives, and what deletion does and does not erase.
fn protection(md: &mut String, config: &Config, store: &Store, inputs: &ReportInputs<'_>) {
    let l = &config.listen;
    let addresses = [
        &l.imap,
        &l.imaps,
        &l.pop3,
        &l.pop3s,
        &l.smtp,
        &l.submission,
        &l.submissions,
    ];
    let _ = writeln!(
        md,
        "\n### In transit (`[listen]`, `[tls]`, `[[smtp.route]]`)\n"
    );
    let _ = writeln!(
        md,
        "TLS versions accepted: {}. Nothing personal (credentials, mail, mailbox names) is accepted before TLS; bytes pipelined before a STARTTLS are discarded.\n",
        inputs.tls_versions.join(", ")
    );
    let _ = writeln!(md, "| listener | addresses | TLS |\n|---|---|---|");
    for ((name, tls), addrs) in LISTENER_TLS.iter().zip(addresses) {
        if addrs.is_empty() {
            let _ = writeln!(md, "| {name} | off | - |");
        } else {
            let list: Vec<String> = addrs.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(md, "| {name} | {} | {tls} |", list.join(", "));
        }
    }
    let _ = writeln!(
        md,
        "\n- Server certificate `{}`, private key `{}`.",
        config.tls.cert.display(),
        config.tls.key.display()
    );
    let _ = writeln!(
        md,
        "- Outbound mail to MX hosts: opportunistic STARTTLS (RFC 7435; the next hop's certificate is not verified, plaintext only when it offers no TLS)."
    );
    for r in &config.smtp.route {
        let policy = match (r.require_tls, &r.ca_file) {
            (true, Some(ca)) => format!(
                "TLS required, certificate verified against `{}`",
                sealpost_config::SmtpConfig::resolve_path(&config.path, ca).display()
            ),
            (true, None) => "TLS required (certificate not verified)".to_string(),
            (false, _) => "opportunistic STARTTLS".to_string(),
        };
        let _ = writeln!(
            md,
            "- Outbound mail for {} goes to `{}`: {policy}.",
            r.domain, r.host
        );
    }
    let _ = writeln!(
        md,
        "- Forwarding: mail for an address with a `[[forward]]` in the accounts file goes on to the outside addresses the operator named there and to no other, with the envelope sender rewritten (SRS; HMAC under `{}`, which holds no personal data); each forward is a `message_forwarded` audit record with its addresses sealed.",
        config.server.data_dir.join("srs.key").display()
    );
    let _ = writeln!(md, "\n### At rest\n");
    let _ = writeln!(
        md,
        "- Message bodies, message summaries and mailbox names are encrypted with XChaCha20-Poly1305 under a per-account data key; the outbound queue under a system key. Accounts are indexed by a keyed MAC (BLAKE2b) of their address, and the address is sealed under the account's data key: the database holds no address in plaintext. Flags, sizes and dates in the metadata are not encrypted."
    );
    let _ = writeln!(
        md,
        "- Passwords: argon2id hashes; failed logins throttled per IP ({} / 15 min) and per account ({} / 15 min).",
        config.limits.auth_failures_per_ip, config.limits.auth_failures_per_account
    );
    let _ = writeln!(md, "\n### Keys\n");
    let _ = writeln!(md, "| key | file | what it protects |\n|---|---|---|");
    let restore = store.restore_key_path();
    let _ = writeln!(
        md,
        "| master key | `{}` | the data keys of active accounts, the system key |",
        config.server.master_key.display()
    );
    let _ = writeln!(
        md,
        "| restore key | `{}` ({}) | the data keys of deleted accounts, until purge or restore |",
        restore.display(),
        if restore.exists() {
            "present"
        } else {
            "created at the first deletion"
        }
    );
    let _ = writeln!(
        md,
        "| account data keys (wrapped) | `{}` | one file per account, wrapped by the master key (active) or the restore key (deleted); zeroed in place when replaced or purged |",
        config.server.data_dir.join("account-keys").display()
    );
    let _ = writeln!(
        md,
        "| TLS private key | `{}` | the server certificate |",
        config.tls.key.display()
    );
    let _ = writeln!(
        md,
        "| audit signing key | `{}` | the seals of the audit log{} |",
        config.server.audit_signing_key.display(),
        inputs
            .audit_public_key
            .map(|k| format!("; public key `{k}`"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        md,
        "\nThe audit log is hash-chained, attested by a signed checkpoint at least once a second and its segments are sealed with ed25519: anyone with the public key can verify it (`sealpost audit verify --pubkey FILE`). Its personal fields are sealed under keys per calendar month, wrapped by the master key. Witness of its checkpoints outside data_dir: {}.",
        if config.audit.enabled {
            match &config.audit.witness {
                sealpost_config::Witness::Off => {
                    "**off** (removal of the newest records would go unnoticed)".to_string()
                }
                w => format!("{w} (`sealpost audit verify --witness FILE`)"),
            }
        } else {
            "none: **the audit log is off** (`[audit] enabled = false`)".to_string()
        }
    );
    let _ = writeln!(md, "\n### Deletion\n");
    let _ = writeln!(
        md,
        "- At deletion an account's data key is re-wrapped under the restore key and its master-wrapped copy overwritten with zeros in place (its key file, not the log-structured database): the running server cannot read the account's mail, logins and deliveries stop at once. Purge after {} days destroys the restore-wrapped key, removes every row, zeroes and removes every blob file, the account's outbound queue entries and its saved accounts entry.",
        config.retention.deleted_account_grace_days
    );
    let _ = writeln!(
        md,
        "- During the grace period, someone holding the disk and the restore key can read the deleted account's mail (what makes restore possible). The restore key lives beside the master key (`{}`): keep that folder off the data disk.",
        restore
            .parent()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    let _ = writeln!(
        md,
        "- Backups (`sealpost backup`): a backup taken after a purge holds nothing of the account. One taken before holds its sealed mail and its wrapped data key, which stay unreadable as long as the keys that unwrap them (master key, restore key) are not in the backup: `sealpost backup` leaves them out unless `--include-keys` is given, and they are to be kept apart from the data backups (`{}`). Restoring such a backup onto a server that holds the master key brings the account back, so crypto-shredding reaches old backups only when they are deleted: keep data backups no longer than needed, and a backup made with `--include-keys` as carefully as the mail itself.",
        restore
            .parent()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    let _ = writeln!(
        md,
        "- Caveat: the metadata database (sled) is log-structured: a purged account's sealed summaries, mailbox names and address can stay in an old log segment until sled reuses that space, as ciphertext whose key is destroyed, beside the keyed MAC of its address. Stores made before the keyed account index kept addresses in plaintext in the database; those rows are migrated at the first start, and the old copies may linger in the log the same way. Accounts made before key files kept their wrapped key in the database; it moves to a key file at the next deletion. Copy-on-write filesystems and SSD wear levelling may keep zeroed blocks of key files, blobs and removed files."
    );
}

/// The register's row for the operational log (standard error, the
/// journal under systemd): what `[log] personal_data` puts in it.
fn operational_log_row(config: &Config) -> String {
    match config.log.personal_data {
        sealpost_config::PersonalData::Minimal => "| Operational log (standard error / the journal: connections, logins, messages, queue attempts, account changes; `[log] personal_data = \"minimal\"`) | the service manager's log | as the journal keeps it; it names accounts by store id and clients by their /24 (IPv4) or /48 (IPv6) network, never an address or a full IP |".to_string(),
        sealpost_config::PersonalData::Full => "| Operational log (standard error / the journal: connections, logins with IP address, messages with addresses, queue attempts, account changes; `[log] personal_data = \"full\"`) | the service manager's log | **as the journal keeps it, with addresses and full IPs**: set the journal's retention (`MaxRetentionSec=`) no longer than the audit log's anonymization |".to_string(),
    }
}
