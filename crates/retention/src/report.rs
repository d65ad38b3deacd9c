//! The register of processing (GDPR article 30): a Markdown report drawn
//! from the live config and store, so an operator starts from facts.

use crate::DAY;
use sealpost_config::Config;
use sealpost_store::{AccountState, Store, StoreError};
use std::fmt::Write;

/// Facts the report needs that live outside the config and the store.
pub struct ReportInputs<'a> {
    /// The audit log's public key, printable.
    pub audit_public_key: Option<&'a str>,
    /// Number of accounts in the accounts file.
    pub configured_accounts: usize,
    /// The TLS protocol versions the listeners accept (from the TLS layer).
    pub tls_versions: &'a [&'a str],
}

/// Renders the report as of `now`.
pub fn compliance_report(
    config: &Config,
    store: &Store,
    inputs: &ReportInputs<'_>,
    now: i64,
) -> Result<String, StoreError> {
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
                a.address.clone(),
                at,
                at + r.deleted_account_grace_days as i64 * DAY,
            )),
            AccountState::Active => None,
        })
        .collect();
    pending.sort_by_key(|p| p.2);
    let date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Register of processing: sealpost on {}",
        config.server.hostname
    );
    let _ = writeln!(
        md,
        "\nGenerated {} from the live configuration `{}` and the mailbox store.\n",
        date(now),
        config.path.display()
    );
    let _ = writeln!(md, "## Personal data kept\n");
    let _ = writeln!(md, "| data | where | how long |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| Mail (messages, mailbox names, message summaries) | `{}` (sled metadata in `db/`, one encrypted file per message in `blobs/`) | until the user deletes it; Trash after {} days, Junk after {} days (0 = never); deleted accounts purged {} days after deletion |",
        config.server.data_dir.display(),
        r.trash_days,
        r.junk_days,
        r.deleted_account_grace_days
    );
    let _ = writeln!(
        md,
        "| Account data (address, argon2id password hash, quota, aliases) | `{}` | while the account exists |",
        config.server.accounts.display()
    );
    let _ = writeln!(
        md,
        "| Deleted accounts' entries (address, password hash, quota, aliases), kept for restore | `{}` | until restored or purged ({} days) |",
        config.server.data_dir.join("deleted").display(),
        r.deleted_account_grace_days
    );
    let _ = writeln!(
        md,
        "| Last audited version of the accounts file (address, quota, aliases, SHA-256 of the password hash) | `{}` | while the account is in the accounts file |",
        config
            .server
            .data_dir
            .join("accounts-audited.json")
            .display()
    );
    let _ = writeln!(
        md,
        "| Access and audit logs (logins with IP address, deliveries with addresses, account changes) | `{}` | personal fields anonymized after {} months; segments deleted after {} months |",
        config.server.data_dir.join("audit").display(),
        r.anonymize_after_months,
        r.audit_log_months
    );
    let _ = writeln!(
        md,
        "| Outbound queue (messages in transit) | `{}` | until delivered or bounced, at most {} days |",
        config.server.data_dir.join("queue").display(),
        config.smtp.queue_lifetime_secs / 86_400
    );
    protection(&mut md, config, store, inputs);
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
    let _ = writeln!(md, "\n## Protection\n");
    let _ = writeln!(
        md,
        "### In transit (`[listen]`, `[tls]`, `[[smtp.route]]`)\n"
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
        "\nThe audit log is hash-chained and its segments are sealed with ed25519: anyone with the public key can verify it (`sealpost audit verify --pubkey FILE`)."
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
        "- Caveat: the metadata database (sled) is log-structured: a purged account's sealed summaries and mailbox names can stay in an old log segment until sled reuses that space, as ciphertext whose key is destroyed. Accounts made before key files kept their wrapped key in the database; it moves to a key file at the next deletion, and the old copy may then linger in the log the same way. Copy-on-write filesystems and SSD wear levelling may keep zeroed blocks of key files and blobs."
    );
}
