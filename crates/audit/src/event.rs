//! The events the log records, which of their fields are personal data, and
//! the [`Kind`] each belongs to for exports.
//!
//! No event carries message content or a subject line. Personal fields
//! (account names, email addresses, remote IPs, Message-IDs, bounce texts that
//! quote addresses) are listed by [`Event::personal_fields`]: the sealed log
//! stores them only as salted commitments (see the crate docs).

use serde::{Deserialize, Serialize};

/// Which protocol an event came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IMAP.
    Imap,
    /// POP3.
    Pop3,
    /// SMTP (inbound MX).
    Smtp,
    /// Submission.
    Submission,
    /// The admin CLI or socket.
    Admin,
    /// The users' account page on the HTTPS listener.
    Https,
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginOutcome {
    /// Accepted.
    Success,
    /// Wrong credentials or unknown user.
    Failure,
    /// Refused because of throttling.
    Throttled,
}

/// One security-relevant event. Addresses and IPs are personal data: the
/// sealed log stores them as commitments that anonymization can erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A login attempt.
    Login {
        /// Protocol.
        protocol: Protocol,
        /// The user name given.
        account: String,
        /// Remote address (ip:port).
        remote: String,
        /// Negotiated TLS version, if any.
        tls: Option<String>,
        /// Outcome.
        outcome: LoginOutcome,
        /// The label of the app password that logged in, if one did (never
        /// the password). Absent from records written before app passwords.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_password: Option<String>,
        /// How the client logged in: the SASL mechanism (`PLAIN`, `LOGIN`)
        /// or the protocol's own command (IMAP `LOGIN`, POP3 `USER`).
        /// Absent from records written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mechanism: Option<String>,
    },
    /// A message accepted by SMTP (before delivery or queueing).
    MessageAccepted {
        /// Protocol (smtp or submission).
        protocol: Protocol,
        /// Our queue/message id.
        id: String,
        /// Message-ID header, if any.
        message_id: Option<String>,
        /// Envelope sender.
        sender: String,
        /// Envelope recipients.
        recipients: Vec<String>,
        /// Size in octets.
        size: u64,
        /// Remote address.
        remote: String,
        /// Authenticated account (submission).
        account: Option<String>,
    },
    /// A message stored into a local mailbox.
    MessageDelivered {
        /// Our id.
        id: String,
        /// The account.
        account: String,
        /// Size in octets.
        size: u64,
    },
    /// A message put in the outbound queue.
    MessageQueued {
        /// Our id.
        id: String,
        /// Recipients.
        recipients: Vec<String>,
    },
    /// Copies of a message for forwarding addresses (`[[forward]]`) put in
    /// the outbound queue under the rewritten (SRS) sender: `id` is the
    /// message as accepted, `queue_id` the entry its forwarded copies
    /// leave under (its `message_relayed` and `message_bounced` records
    /// carry that id).
    MessageForwarded {
        /// Our id of the accepted message.
        id: String,
        /// The queue entry of the forwarded copies.
        queue_id: String,
        /// The forwarding addresses.
        aliases: Vec<String>,
        /// The outside targets.
        recipients: Vec<String>,
    },
    /// A message handed to the next hop.
    MessageRelayed {
        /// Our id.
        id: String,
        /// Recipient.
        recipient: String,
        /// The next hop.
        host: String,
    },
    /// A message bounced.
    MessageBounced {
        /// Our id.
        id: String,
        /// Recipient.
        recipient: String,
        /// Why.
        reason: String,
    },
    /// A message refused at the end of DATA before anything was stored,
    /// for a reason an operator must be able to trace (a forwarding loop:
    /// it carried `Delivered-To:` for the forwarding address, RFC 9228, or
    /// too many hops). Nothing was delivered, queued or bounced by us: the
    /// client got the reply and keeps the message.
    MessageRefused {
        /// Our id of the transaction.
        id: String,
        /// The address it was refused for (ours: the forwarding address).
        recipient: String,
        /// The reply sent.
        reason: String,
    },
    /// The operator acted on a queued message (`sealpost queue show`,
    /// `hold`, `release`, `delete`, `bounce`).
    QueueAdmin {
        /// Our id.
        id: String,
        /// `shown`, `shown_with_body`, `held`, `released`, `deleted`,
        /// `recipients_deleted` (`--all-for` on a message with recipients
        /// elsewhere) or `bounced`.
        action: String,
    },
    /// An account was created.
    AccountCreated {
        /// Address.
        account: String,
    },
    /// An account was changed (password, quota, aliases).
    AccountChanged {
        /// Address.
        account: String,
        /// What changed (no secrets).
        change: String,
    },
    /// An account was deleted (crypto-shredded, purge scheduled).
    AccountDeleted {
        /// Address.
        account: String,
    },
    /// A deleted account was restored.
    AccountRestored {
        /// Address.
        account: String,
    },
    /// A deleted account was purged.
    AccountPurged {
        /// Address.
        account: String,
        /// Messages removed.
        messages: u64,
        /// Bytes removed.
        bytes: u64,
        /// Mailboxes removed.
        #[serde(default)]
        mailboxes: u64,
        /// Outbound queue entries (messages it sent) removed.
        #[serde(default)]
        queued: u64,
    },
    /// An account's data was exported.
    DataExported {
        /// Address.
        account: String,
        /// Format.
        format: String,
    },
    /// The configuration (or accounts file) was reloaded.
    ConfigReloaded {
        /// Whether it took effect.
        ok: bool,
        /// Error, if not (a personal field: it may quote addresses).
        error: Option<String>,
    },
    /// The server started.
    ServerStarted {
        /// Version.
        version: String,
    },
    /// The server stopped.
    ServerStopped,
    /// A backup of the store was taken (`sealpost backup`): a copy of
    /// every account's sealed mail now exists elsewhere.
    BackupTaken {
        /// The backup folder.
        dir: String,
        /// Files the backup holds.
        files: u64,
        /// Files copied by this run (the others were there already).
        copied: u64,
        /// Whether the master, restore and audit signing keys are in it.
        keys_included: bool,
    },
    /// A retention run.
    RetentionRun {
        /// Accounts purged.
        purged_accounts: u64,
        /// Messages expunged by auto-expunge.
        expunged_messages: u64,
    },
    /// Personal fields of old audit records were erased
    /// ([`crate::anonymize_before`]).
    AuditAnonymized {
        /// Records older than this (Unix seconds) were anonymized.
        cutoff_unix: i64,
        /// Segments whose side files were rewritten or removed.
        segments: u64,
        /// Records whose personal fields were erased.
        records: u64,
    },
    /// Old sealed segments were deleted ([`crate::delete_segments_before`]).
    AuditSegmentsDeleted {
        /// Segments that ended before this (Unix seconds) were deleted.
        cutoff_unix: i64,
        /// Segments deleted.
        segments: u64,
        /// Records they held.
        records: u64,
    },
    /// A verification of the log failed ([`crate::verify`]).
    AuditVerificationFailed {
        /// The segment file named by the failure, if any.
        segment: Option<String>,
        /// The record (sequence number) named by the failure, if any.
        record: Option<u64>,
        /// What was wrong.
        reason: String,
    },
    /// The writer found a segment left unsealed by a crash and sealed it
    /// (written by the log itself as the first record after a restart).
    AuditTailRecovered {
        /// The segment file.
        segment: String,
        /// Complete records kept in it.
        records: u64,
        /// Bytes of a torn or invalid tail that were cut off.
        torn_bytes: u64,
        /// Of the records kept, those no signed checkpoint covered (sealed
        /// as unattested: `audit verify` names them).
        #[serde(default)]
        unattested: u64,
    },
}

/// The families of events, for filtering exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Login attempts.
    Login,
    /// Messages accepted, delivered, queued, relayed, bounced.
    Delivery,
    /// Accounts created, changed, deleted, restored, purged, exported.
    Account,
    /// Server, configuration, retention and audit-log events.
    Admin,
}

impl Kind {
    /// The lower-case name used on the command line and in CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Delivery => "delivery",
            Kind::Account => "account",
            Kind::Admin => "admin",
        }
    }

    /// The kind of an event by its stored tag (`"login"`, `"message_queued"`, ...).
    pub(crate) fn of_tag(tag: &str) -> Kind {
        match tag {
            "login" => Kind::Login,
            t if t.starts_with("message_") || t == "queue_admin" => Kind::Delivery,
            t if t.starts_with("account_") || t == "data_exported" => Kind::Account,
            _ => Kind::Admin,
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        match s.to_ascii_lowercase().as_str() {
            "login" => Ok(Kind::Login),
            "delivery" => Ok(Kind::Delivery),
            "account" => Ok(Kind::Account),
            "admin" => Ok(Kind::Admin),
            _ => Err(format!(
                "unknown event kind {s:?} (login, delivery, account, admin)"
            )),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Event {
    /// The family this event belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Event::Login { .. } => Kind::Login,
            Event::MessageAccepted { .. }
            | Event::MessageDelivered { .. }
            | Event::MessageQueued { .. }
            | Event::MessageForwarded { .. }
            | Event::MessageRelayed { .. }
            | Event::MessageBounced { .. }
            | Event::MessageRefused { .. }
            | Event::QueueAdmin { .. } => Kind::Delivery,
            Event::AccountCreated { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDeleted { .. }
            | Event::AccountRestored { .. }
            | Event::AccountPurged { .. }
            | Event::DataExported { .. } => Kind::Account,
            Event::ConfigReloaded { .. }
            | Event::ServerStarted { .. }
            | Event::ServerStopped
            | Event::RetentionRun { .. }
            | Event::BackupTaken { .. }
            | Event::AuditAnonymized { .. }
            | Event::AuditSegmentsDeleted { .. }
            | Event::AuditVerificationFailed { .. }
            | Event::AuditTailRecovered { .. } => Kind::Admin,
        }
    }

    /// The (serialized) names of this event's personal fields: stored only
    /// as salted commitments, erased by anonymization.
    pub fn personal_fields(&self) -> &'static [&'static str] {
        match self {
            // A label may name a person ("Alice's phone").
            Event::Login { .. } => &["account", "remote", "app_password"],
            Event::MessageAccepted { .. } => {
                &["message_id", "sender", "recipients", "remote", "account"]
            }
            Event::MessageDelivered { .. } => &["account"],
            Event::MessageQueued { .. } => &["recipients"],
            Event::MessageForwarded { .. } => &["aliases", "recipients"],
            Event::MessageRelayed { .. } => &["recipient"],
            // Remote servers' bounce texts routinely quote the address.
            Event::MessageBounced { .. } => &["recipient", "reason"],
            Event::MessageRefused { .. } => &["recipient"],
            Event::AccountCreated { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDeleted { .. }
            | Event::AccountRestored { .. }
            | Event::AccountPurged { .. }
            | Event::DataExported { .. } => &["account"],
            // Accounts-file errors quote addresses ("domain of x@y is not hosted").
            Event::ConfigReloaded { .. } => &["error"],
            Event::ServerStarted { .. }
            | Event::ServerStopped
            | Event::QueueAdmin { .. }
            | Event::BackupTaken { .. }
            | Event::RetentionRun { .. }
            | Event::AuditAnonymized { .. }
            | Event::AuditSegmentsDeleted { .. }
            | Event::AuditVerificationFailed { .. }
            | Event::AuditTailRecovered { .. } => &[],
        }
    }
}

/// An event with its sequence number and time, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number, from 0, gapless.
    pub seq: u64,
    /// Unix time in milliseconds.
    pub time_ms: i64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}
