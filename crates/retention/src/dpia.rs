//! A data protection impact assessment to start from (GDPR article 35):
//! Markdown drawn from the configuration the server runs with.
//!
//! Article 35(7) asks for (a) a description of the processing and its
//! purposes, (b) necessity and proportionality, (c) the risks to the rights
//! and freedoms of data subjects, (d) the measures against them. sealpost
//! can state (a) from what it knows and `[compliance]`, and (c)/(d) for the
//! risks a mail host carries, each tied to the measure sealpost applies and
//! its *current* state in this configuration: every measure that is off or
//! weak is flagged (**OFF**, **WEAK**), so changing the configuration
//! changes the assessment. (b), the residual risk and the consultation are
//! the controller's judgements: they are left as marked TODO sections.

use crate::report::{ConfigSource, after, provenance};
use sealpost_config::{Config, Witness};
use std::fmt::Write;

/// Facts the DPIA needs beyond the config.
pub struct DpiaInputs<'a> {
    /// Where the configuration comes from.
    pub source: ConfigSource<'a>,
    /// Accounts in the accounts file.
    pub accounts: usize,
    /// Files or folders under data_dir or the keys that others can read
    /// (one line each).
    pub permission_warnings: &'a [String],
    /// Whether the master key is on the same filesystem as data_dir
    /// (`None`: unknown).
    pub master_key_beside_data: Option<bool>,
    /// The TLS versions the listeners accept.
    pub tls_versions: &'a [&'a str],
}

/// The state of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    On,
    Weak,
    Off,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::On => "in place",
            State::Weak => "**WEAK**",
            State::Off => "**OFF**",
        }
    }
}

/// A measure and its state in this configuration.
type Measure = (State, String);

/// One risk with its measures and their state.
struct Risk {
    title: &'static str,
    threat: &'static str,
    measures: Vec<Measure>,
}

fn risks(config: &Config, inputs: &DpiaInputs<'_>) -> Vec<Risk> {
    vec![
        Risk {
            title: "Interception in transit",
            threat: "Someone on the network reads or alters mail, passwords or mailbox names.",
            measures: transit_measures(config, inputs),
        },
        Risk {
            title: "Disclosure at rest",
            threat: "Someone with a copy of the disk, a backup or a stolen machine reads mail or learns who has an account.",
            measures: rest_measures(config, inputs),
        },
        Risk {
            title: "Unauthorised access to an account",
            threat: "Someone guesses or reuses a password, or one account reaches another's mail.",
            measures: access_measures(config),
        },
        Risk {
            title: "Over-retention",
            threat: "Data is kept longer than its purpose needs, or survives a deletion.",
            measures: retention_measures(config),
        },
        Risk {
            title: "Log tampering",
            threat: "An insider or intruder edits, forges or removes records of what happened, hiding access to personal data.",
            measures: log_measures(config),
        },
        Risk {
            title: "Loss of mail",
            threat: "Acknowledged mail is lost through a crash, a disk failure or an operator's mistake.",
            measures: loss_measures(config),
        },
    ]
}

/// Measures against interception in transit.
fn transit_measures(config: &Config, inputs: &DpiaInputs<'_>) -> Vec<Measure> {
    let l = &config.listen;
    let listeners = [
        &l.imap,
        &l.imaps,
        &l.pop3,
        &l.pop3s,
        &l.smtp,
        &l.submission,
        &l.submissions,
    ]
    .iter()
    .map(|v| v.len())
    .sum::<usize>();
    let mut transit = vec![(
        State::On,
        format!(
            "TLS only on every listener ({listeners} address(es)): {}; credentials, mail and mailbox names are accepted only after TLS, bytes pipelined before STARTTLS are discarded.",
            inputs.tls_versions.join(", ")
        ),
    )];
    transit.push((
        State::Weak,
        "Mail to other domains uses opportunistic STARTTLS (RFC 7435): a receiving server that offers no TLS gets it in plaintext, and certificates of MX hosts are not verified.".to_string(),
    ));
    for route in &config.smtp.route {
        transit.push(match (route.require_tls, route.ca_file.is_some()) {
            (true, true) => (
                State::On,
                format!(
                    "Mail for {} requires TLS with a verified certificate.",
                    route.domain
                ),
            ),
            (true, false) => (
                State::Weak,
                format!(
                    "Mail for {} requires TLS but does not verify the certificate.",
                    route.domain
                ),
            ),
            (false, _) => (
                State::Weak,
                format!(
                    "Mail for {} goes to a fixed host with opportunistic TLS.",
                    route.domain
                ),
            ),
        });
    }
    transit
}

/// Measures against disclosure at rest.
fn rest_measures(config: &Config, inputs: &DpiaInputs<'_>) -> Vec<Measure> {
    let mut rest = vec![(
        State::On,
        format!(
            "Message bodies, summaries, mailbox names and addresses are encrypted (XChaCha20-Poly1305) under per-account keys wrapped by the master key `{}`; indexes hold keyed MACs, never addresses; the audit log's personal fields are sealed under monthly keys.",
            config.server.master_key.display()
        ),
    )];
    match inputs.master_key_beside_data {
        Some(true) => rest.push((
            State::Weak,
            "The master key is on the same filesystem as data_dir: a copy of that disk holds the data and its key. Keep the key folder on another device.".to_string(),
        )),
        Some(false) => rest.push((
            State::On,
            "The master key is on another filesystem than data_dir.".to_string(),
        )),
        None => {}
    }
    if inputs.permission_warnings.is_empty() {
        rest.push((
            State::On,
            "Every file under data_dir and the keys is readable by the server's user only (0600/0700).".to_string(),
        ));
    } else {
        rest.push((
            State::Weak,
            format!(
                "Others can read {} file(s) or folder(s) under data_dir or the keys, e.g. {}.",
                inputs.permission_warnings.len(),
                inputs.permission_warnings[0]
            ),
        ));
    }
    rest
}

/// Measures against unauthorised access to an account.
fn access_measures(config: &Config) -> Vec<Measure> {
    let lim = &config.limits;
    let throttle = |n: u32, what: &str| match n {
        0 => (
            State::Off,
            format!(
                "Failed logins per {what} are not throttled (`limits.auth_failures_per_{what} = 0`)."
            ),
        ),
        n if n > 100 => (
            State::Weak,
            format!("Failed logins per {what}: {n} per 15 minutes before throttling (high)."),
        ),
        n => (
            State::On,
            format!("Failed logins per {what}: throttled after {n} per 15 minutes."),
        ),
    };
    vec![
        (
            State::On,
            "Passwords are stored as argon2id hashes; unknown users cost the same work as known ones; no password is accepted before TLS.".to_string(),
        ),
        throttle(lim.auth_failures_per_ip, "ip"),
        throttle(lim.auth_failures_per_account, "account"),
        (
            State::On,
            "One account never reaches another's data: every store call is scoped by account; mailbox names are never paths.".to_string(),
        ),
    ]
}

/// Measures against over-retention.
fn retention_measures(config: &Config) -> Vec<Measure> {
    let r = &config.retention;
    let mut retention = Vec::new();
    let days = |n: u32, what: &str, key: &str| {
        if n == 0 {
            (
                State::Weak,
                format!("{what} is kept forever (`retention.{key} = 0`)."),
            )
        } else {
            (
                State::On,
                format!("{what} is removed {}.", after(n.into(), "day")),
            )
        }
    };
    retention.push((
        State::On,
        format!(
            "Deleted accounts are unreadable at once (crypto-shredding) and purged {} (at most 45), every byte of them.",
            after(r.deleted_account_grace_days.into(), "day")
        ),
    ));
    retention.push(days(r.trash_days, "Mail in Trash", "trash_days"));
    retention.push(days(r.junk_days, "Mail in Junk", "junk_days"));
    retention.push(match r.anonymize_after_months {
        0 => (
            State::Weak,
            "IP addresses and addresses in the audit log are never anonymized (`retention.anonymize_after_months = 0`).".to_string(),
        ),
        n => (
            State::On,
            format!("Personal fields of audit records are anonymized {} (their monthly keys destroyed).", after(n.into(), "month")),
        ),
    });
    retention.push(match r.audit_log_months {
        0 => (
            State::Weak,
            "Audit segments are never deleted (`retention.audit_log_months = 0`).".to_string(),
        ),
        n => (
            State::On,
            format!("Audit segments are deleted {}.", after(n.into(), "month")),
        ),
    });
    retention.push(if r.keep_audit_personal_data_after_purge {
        (
            State::Weak,
            "A purged account's audit records keep its personal fields until anonymization (legal hold: `keep_audit_personal_data_after_purge = true`).".to_string(),
        )
    } else {
        (
            State::On,
            if config.store.backend == sealpost_config::StoreBackend::Postgresql {
                "A purged account's personal fields in the audit log are erased at the purge, in every node's own log: the request is kept in the shared store until every known node has applied it (`sealpost store nodes`).".to_string()
            } else {
                "A purged account's personal fields in the audit log are erased at the purge.".to_string()
            },
        )
    });
    retention.push((
        State::On,
        "No date given to `retention run --at` destroys an audit record early: audit retention runs on the real clock.".to_string(),
    ));
    retention
}

/// Measures against log tampering.
fn log_measures(config: &Config) -> Vec<Measure> {
    let mut log = Vec::new();
    if config.audit.enabled {
        log.push((
            State::On,
            format!(
                "Security events go to a hash-chained log, attested by a signed checkpoint at least once a second and sealed with ed25519 (public key: `sealpost audit pubkey`); segments sealed at {} bytes or {} s.",
                config.audit.segment_max_bytes, config.audit.segment_max_age_secs
            ),
        ));
        log.push(match &config.audit.witness {
            Witness::Off => (
                State::Off,
                "No witness outside data_dir (`[audit] witness = \"off\"`): removing the newest records or the whole log cannot be detected.".to_string(),
            ),
            w => (
                State::On,
                format!("Every checkpoint is witnessed outside data_dir: {w}; ship it off the machine."),
            ),
        });
    } else {
        log.push((
            State::Off,
            "The audit log is off (`[audit] enabled = false`): logins, deliveries and account changes are not recorded, nothing is sealed.".to_string(),
        ));
    }
    log
}

/// Measures against loss of mail.
fn loss_measures(config: &Config) -> Vec<Measure> {
    let backups = match &config.compliance.backups {
        Some(b) => (State::On, format!("Backups: {b}")),
        None => (
            State::Weak,
            "No backup is declared (`[compliance] backups`): sealpost does not back data_dir up itself.".to_string(),
        ),
    };
    vec![
        (
            State::On,
            "Nothing acknowledged is lost: SMTP 250 and IMAP APPEND OK are sent only after the message is fsynced and the metadata flushed.".to_string(),
        ),
        backups,
    ]
}

/// Renders the DPIA as of `now`.
pub fn dpia(config: &Config, inputs: &DpiaInputs<'_>, now: i64) -> String {
    let c = &config.compliance;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Data protection impact assessment (GDPR art. 35): sealpost on {}",
        config.server.hostname
    );
    provenance(&mut md, config, inputs.source, now);
    let _ = writeln!(
        md,
        "\nThis assessment states what sealpost does and how this server is configured; the parts marked **TODO (controller)** are judgements only the controller can make."
    );
    let _ = writeln!(md, "\n## 1. The processing (art. 35(7)(a))\n");
    let _ = writeln!(
        md,
        "- Controller: {}",
        c.controller
            .as_deref()
            .unwrap_or("TODO: set `[compliance] controller`")
    );
    let _ = writeln!(
        md,
        "- What: receiving, storing and sending e-mail for the account holders of {} ({} account(s)), and keeping a security log of logins, deliveries and account changes.",
        config
            .domains
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        inputs.accounts
    );
    let _ = writeln!(
        md,
        "- Whose: account holders and their correspondents; message content may hold special categories of data (art. 9) about anyone."
    );
    if c.purpose.is_empty() {
        let _ = writeln!(
            md,
            "- Purposes and legal bases: TODO: add `[[compliance.purpose]]` tables."
        );
    } else {
        for p in &c.purpose {
            let _ = writeln!(md, "- Purpose: {} ({})", p.name, p.legal_basis);
        }
    }
    let r = &config.retention;
    let _ = writeln!(
        md,
        "- How long: mail until users delete it (Trash expunged {}, Junk {}); deleted accounts purged {}; audit personal fields anonymized {}, audit segments deleted {}.",
        after(r.trash_days.into(), "day"),
        after(r.junk_days.into(), "day"),
        after(r.deleted_account_grace_days.into(), "day"),
        after(r.anonymize_after_months.into(), "month"),
        after(r.audit_log_months.into(), "month")
    );
    let _ = writeln!(
        md,
        "- Where: `{}` on {}; keys in `{}`.",
        config.server.data_dir.display(),
        config.server.hostname,
        config
            .server
            .master_key
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    let _ = writeln!(
        md,
        "- Recipients and processors: {}",
        match &c.recipients {
            None => "TODO: set `[compliance] recipients`".to_string(),
            Some(v) if v.is_empty() => "none declared".to_string(),
            Some(v) => v.join("; "),
        }
    );
    let _ = writeln!(
        md,
        "- Transfers outside the EU/EEA: {}",
        match &c.transfers_outside_eu {
            None => "TODO: set `[compliance] transfers_outside_eu`".to_string(),
            Some(v) if v.is_empty() => "none declared".to_string(),
            Some(v) => v.join("; "),
        }
    );

    let _ = writeln!(md, "\n## 2. Risks and measures (art. 35(7)(c), (d))\n");
    let all = risks(config, inputs);
    let flagged: Vec<&str> = all
        .iter()
        .filter(|r| r.measures.iter().any(|(s, _)| *s != State::On))
        .map(|r| r.title)
        .collect();
    let _ = writeln!(
        md,
        "Risks with a measure off or weak: {}.",
        if flagged.is_empty() {
            "none".to_string()
        } else {
            flagged.join(", ")
        }
    );
    for (i, risk) in all.iter().enumerate() {
        let worst = risk
            .measures
            .iter()
            .map(|(s, _)| *s)
            .max_by_key(|s| match s {
                State::On => 0,
                State::Weak => 1,
                State::Off => 2,
            })
            .unwrap_or(State::On);
        let _ = writeln!(md, "\n### 2.{} {} ({})\n", i + 1, risk.title, worst.label());
        let _ = writeln!(md, "Risk: {}\n", risk.threat);
        let _ = writeln!(md, "| state | measure |\n|---|---|");
        for (state, text) in &risk.measures {
            let _ = writeln!(md, "| {} | {} |", state.label(), text.replace('|', "\\|"));
        }
    }
    for (n, title, what) in [
        (
            3,
            "Necessity and proportionality (art. 35(7)(b))",
            "Why each purpose needs this processing, why the retention periods above are as short as they can be, how data subjects are informed and exercise their rights.",
        ),
        (
            4,
            "Residual risk",
            "For each risk above, the likelihood and severity that remain with the measures in place, and whether they are acceptable; what is done about the flagged measures.",
        ),
        (
            5,
            "Consultation",
            "The DPO's advice (art. 35(2)), the views of data subjects or their representatives where appropriate (art. 35(9)), and whether the supervisory authority must be consulted (art. 36).",
        ),
    ] {
        let _ = writeln!(md, "\n## {n}. {title}\n\n**TODO (controller):** {what}");
    }
    md
}
