//! The events the log records.

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
        /// Error, if not.
        error: Option<String>,
    },
    /// The server started.
    ServerStarted {
        /// Version.
        version: String,
    },
    /// The server stopped.
    ServerStopped,
    /// A retention run.
    RetentionRun {
        /// Accounts purged.
        purged_accounts: u64,
        /// Messages expunged by auto-expunge.
        expunged_messages: u64,
    },
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
