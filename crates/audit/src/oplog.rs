//! The operational log line and the metrics of every audit event.
//!
//! Each event recorded through [`crate::AuditLog`] also becomes one INFO
//! line (tracing target `sealpost::event`, field `event` = the record's
//! tag) and moves the matching counters, whether the sealed log is enabled
//! or not. The line carries the same ids as the record (the queue id of a
//! message), so an operator can go from one to the other; personal fields
//! are shown as `[log] personal_data` says (see
//! `sealpost_telemetry::privacy`): account ids and client networks by
//! default, the full values only in the sealed record.

use crate::{Event, LoginOutcome, Protocol};
use sealpost_telemetry::metrics as m;
use sealpost_telemetry::privacy as p;

/// The tracing target of event lines.
pub(crate) const TARGET: &str = "sealpost::event";

/// The protocol's lower-case name, as in the sealed record.
pub(crate) fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Imap => "imap",
        Protocol::Pop3 => "pop3",
        Protocol::Smtp => "smtp",
        Protocol::Submission => "submission",
        Protocol::Admin => "admin",
        Protocol::Https => "https",
    }
}

/// Logs and counts `event`; `sealed` says whether the audit log records it.
pub(crate) fn emit(event: &Event, sealed: bool) {
    if sealed {
        m::counter!(m::AUDIT_RECORDS).increment(1);
    }
    match event {
        Event::Login { .. } => login(event),
        Event::MessageAccepted { .. }
        | Event::MessageDelivered { .. }
        | Event::MessageQueued { .. }
        | Event::MessageForwarded { .. }
        | Event::MessageRelayed { .. }
        | Event::MessageBounced { .. }
        | Event::MessageRefused { .. }
        | Event::QueueAdmin { .. } => message(event),
        Event::AccountCreated { .. }
        | Event::AccountChanged { .. }
        | Event::AccountDeleted { .. }
        | Event::AccountRestored { .. }
        | Event::AccountPurged { .. }
        | Event::DataExported { .. } => account(event),
        _ => admin(event),
    }
}

fn login(event: &Event) {
    let Event::Login {
        protocol,
        account,
        remote,
        tls,
        outcome,
        app_password,
        mechanism,
    } = event
    else {
        return;
    };
    // The label may name a person: the audit log keeps it, this says only
    // which kind of secret was used.
    let credential = if app_password.is_some() {
        "app password"
    } else {
        "password"
    };
    let protocol = protocol_name(*protocol);
    let result = match outcome {
        LoginOutcome::Success => "success",
        LoginOutcome::Failure => "failure",
        LoginOutcome::Throttled => "throttled",
    };
    m::counter!(m::LOGINS, "protocol" => protocol, "result" => result).increment(1);
    let (account, remote) = (p::account(account), p::remote(remote));
    let tls = tls.as_deref().unwrap_or("none");
    let mechanism = mechanism.as_deref().unwrap_or("-");
    match outcome {
        LoginOutcome::Success => tracing::info!(
            target: TARGET,
            event = "login", protocol, result, account, remote, tls, mechanism, credential,
            "login succeeded"
        ),
        LoginOutcome::Failure => tracing::info!(
            target: TARGET,
            event = "login", protocol, result, account, remote, tls, mechanism,
            reason = "wrong credentials or unknown user",
            "login failed"
        ),
        LoginOutcome::Throttled => tracing::info!(
            target: TARGET,
            event = "login", protocol, result, account, remote, tls, mechanism,
            reason = "too many failed logins from this address or for this account",
            "login refused"
        ),
    }
}

fn message(event: &Event) {
    match event {
        Event::MessageAccepted {
            protocol,
            id,
            sender,
            recipients,
            size,
            remote,
            account,
            ..
        } => {
            m::counter!(m::MESSAGES, "outcome" => "accepted").increment(1);
            let sender = match account {
                Some(_) => p::account(sender),
                None => p::foreign_address(sender),
            };
            tracing::info!(
                target: TARGET,
                event = "message_accepted",
                protocol = protocol_name(*protocol),
                id, size, recipients = recipients.len(),
                to = %p::accounts(recipients),
                from = %sender,
                account = %account.as_deref().map(p::account).unwrap_or_else(|| "-".into()),
                remote = %p::remote(remote),
                "message accepted"
            );
        }
        Event::MessageDelivered { id, account, size } => {
            m::counter!(m::MESSAGES, "outcome" => "delivered").increment(1);
            tracing::info!(
                target: TARGET,
                event = "message_delivered",
                id, size, account = %p::account(account),
                "delivered into a local mailbox"
            );
        }
        Event::MessageQueued { id, recipients } => {
            m::counter!(m::MESSAGES, "outcome" => "queued").increment(1);
            tracing::info!(
                target: TARGET,
                event = "message_queued",
                id, recipients = recipients.len(),
                "queued for remote recipients"
            );
        }
        Event::MessageForwarded {
            id,
            queue_id,
            recipients,
            ..
        } => {
            m::counter!(m::MESSAGES, "outcome" => "forwarded").increment(1);
            tracing::info!(
                target: TARGET,
                event = "message_forwarded",
                id, queue_id, recipients = recipients.len(),
                "queued for forwarding with a rewritten sender"
            );
        }
        Event::MessageRelayed {
            id,
            recipient,
            host,
        } => {
            m::counter!(m::MESSAGES, "outcome" => "relayed").increment(1);
            tracing::info!(
                target: TARGET,
                event = "message_relayed",
                id, to = %p::foreign_address(recipient), host,
                "handed to the next hop"
            );
        }
        Event::MessageBounced {
            id,
            recipient,
            reason,
        } => {
            m::counter!(m::MESSAGES, "outcome" => "bounced").increment(1);
            // A remote server's reply may quote the address.
            let reason = if p::is_full() { reason.as_str() } else { "-" };
            tracing::info!(
                target: TARGET,
                event = "message_bounced",
                id, to = %p::foreign_address(recipient), reason,
                "bounced: a delivery status notification goes to the sender"
            );
        }
        Event::MessageRefused { id, reason, .. } => {
            m::counter!(m::MESSAGES, "outcome" => "refused").increment(1);
            // Our own reply: it names no address.
            tracing::info!(
                target: TARGET,
                event = "message_refused",
                id, reply = %reason,
                "refused before anything was stored"
            );
        }
        Event::QueueAdmin { id, action } => {
            tracing::info!(
                target: TARGET,
                event = "queue_admin",
                id, action,
                "operator action on a queued message"
            );
        }
        _ => {}
    }
}

fn account(event: &Event) {
    let (tag, address, what) = match event {
        Event::AccountCreated { account } => ("account_created", account, "created".to_string()),
        Event::AccountChanged { account, change } => {
            ("account_changed", account, format!("changed: {change}"))
        }
        Event::AccountDeleted { account } => (
            "account_deleted",
            account,
            "deleted (crypto-shredded, purge scheduled)".to_string(),
        ),
        Event::AccountRestored { account } => ("account_restored", account, "restored".into()),
        Event::AccountPurged {
            account,
            messages,
            bytes,
            ..
        } => {
            m::counter!(m::RETENTION_ACTIONS, "action" => "accounts_purged").increment(1);
            (
                "account_purged",
                account,
                format!("purged ({messages} messages, {bytes} octets)"),
            )
        }
        Event::DataExported { account, format } => {
            ("data_exported", account, format!("exported as {format}"))
        }
        _ => return,
    };
    tracing::info!(
        target: TARGET,
        event = tag, account = %p::account(address),
        "account {what}"
    );
}

fn admin(event: &Event) {
    match event {
        Event::ConfigReloaded { ok, error } => {
            let error = match error {
                Some(e) if p::is_full() => e.as_str(),
                Some(_) => "see the audit log",
                None => "-",
            };
            tracing::info!(target: TARGET, event = "config_reloaded", ok, error, "configuration reloaded");
        }
        Event::ServerStarted { version } => {
            tracing::info!(target: TARGET, event = "server_started", version, "server started");
        }
        Event::ServerStopped => {
            tracing::info!(target: TARGET, event = "server_stopped", "server stopped");
        }
        Event::RetentionRun {
            purged_accounts,
            expunged_messages,
        } => {
            m::counter!(m::RETENTION_ACTIONS, "action" => "messages_expunged")
                .increment(*expunged_messages);
            tracing::info!(
                target: TARGET,
                event = "retention_run", purged_accounts, expunged_messages,
                "retention pass"
            );
        }
        Event::BackupTaken {
            dir,
            files,
            copied,
            keys_included,
        } => {
            tracing::info!(
                target: TARGET,
                event = "backup_taken", dir, files, copied, keys_included,
                "backup taken"
            );
        }
        Event::AuditAnonymized {
            cutoff_unix,
            segments,
            records,
        } => {
            m::counter!(m::RETENTION_ACTIONS, "action" => "audit_records_anonymized")
                .increment(*records);
            tracing::info!(
                target: TARGET,
                event = "audit_anonymized", cutoff_unix, segments, records,
                "audit records anonymized"
            );
        }
        Event::AuditSegmentsDeleted {
            cutoff_unix,
            segments,
            records,
        } => {
            m::counter!(m::RETENTION_ACTIONS, "action" => "audit_segments_deleted")
                .increment(*segments);
            tracing::info!(
                target: TARGET,
                event = "audit_segments_deleted", cutoff_unix, segments, records,
                "old audit segments deleted"
            );
        }
        Event::AuditVerificationFailed {
            segment, reason, ..
        } => {
            tracing::warn!(
                target: TARGET,
                event = "audit_verification_failed",
                segment = segment.as_deref().unwrap_or("-"), reason,
                "audit log verification failed"
            );
        }
        Event::AuditTailRecovered {
            segment,
            records,
            torn_bytes,
            unattested,
        } => {
            tracing::info!(
                target: TARGET,
                event = "audit_tail_recovered", segment, records, torn_bytes, unattested,
                "sealed an audit segment a crash left open"
            );
        }
        _ => {}
    }
}
