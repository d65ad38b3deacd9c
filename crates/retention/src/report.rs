//! The register of processing (GDPR article 30): a Markdown report drawn
//! from the live config and store, so an operator starts from facts.

use crate::DAY;
use sealpost_config::Config;
use sealpost_store::{AccountState, Store, StoreError};
use std::fmt::Write;

/// Facts the report needs that live outside the store.
pub struct ReportInputs<'a> {
    /// The audit log's public key, printable.
    pub audit_public_key: Option<&'a str>,
    /// Number of accounts in the accounts file.
    pub configured_accounts: usize,
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
    let _ = writeln!(md, "\n## Protection\n");
    let _ = writeln!(
        md,
        "- Transport: TLS 1.2 and 1.3 only; nothing personal is accepted before TLS (implicit TLS or STARTTLS/STLS). Certificate `{}`.",
        config.tls.cert.display()
    );
    let _ = writeln!(
        md,
        "- At rest: message bodies, summaries and mailbox names are encrypted with XChaCha20-Poly1305 under a per-account key; account keys are wrapped by the master key `{}` (kept outside the data directory).",
        config.server.master_key.display()
    );
    let _ = writeln!(
        md,
        "- Deletion: an account's key is sealed away at deletion (its mail unreadable at once) and destroyed at purge."
    );
    let _ = writeln!(
        md,
        "- Passwords: argon2id hashes; failed logins throttled per IP ({} / 15 min) and per account ({} / 15 min).",
        config.limits.auth_failures_per_ip, config.limits.auth_failures_per_account
    );
    let _ = writeln!(
        md,
        "- Audit log: hash-chained segments sealed with ed25519, signing key `{}`{}.",
        config.server.audit_signing_key.display(),
        inputs
            .audit_public_key
            .map(|k| format!(", public key `{k}`"))
            .unwrap_or_default()
    );
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
