//! The server's Prometheus metrics: their names, help texts and buckets,
//! the recorder that collects them, and the text exposition.
//!
//! Crates count through the `metrics` facade with the names below
//! (`metrics::counter!(metrics::CONNECTIONS, "protocol" => "imaps")`);
//! until [`install`] runs (tests of a single crate, the offline CLI) the
//! facade drops every update. Labels only ever take values from closed
//! sets (listener names, command names the parser knows, outcomes), never
//! client input, so the number of series stays bounded.
//!
//! Counters end in `_total`, durations are seconds, every metric has help
//! text: `promtool check metrics` accepts the exposition without lint
//! complaints (the end-to-end test runs it).

pub use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Connections accepted, by `protocol` (listener name).
pub const CONNECTIONS: &str = "sealpost_connections_total";
/// Connections open now, by `protocol`.
pub const CONNECTIONS_OPEN: &str = "sealpost_connections_open";
/// TLS handshakes that failed or timed out, by `protocol`.
pub const TLS_HANDSHAKE_FAILURES: &str = "sealpost_tls_handshake_failures_total";
/// Connections refused at the connection caps, by `protocol`.
pub const CONNECTIONS_REFUSED: &str = "sealpost_connections_refused_total";
/// Login attempts, by `protocol` and `result` (success, failure, throttled).
pub const LOGINS: &str = "sealpost_logins_total";
/// Command latency, by `protocol` and `command`.
pub const COMMAND_SECONDS: &str = "sealpost_command_duration_seconds";
/// Messages, by `outcome` (accepted, delivered, queued, relayed, bounced).
pub const MESSAGES: &str = "sealpost_messages_total";
/// Outbound delivery attempts, by `result` (delivered, deferred, failed).
pub const QUEUE_ATTEMPTS: &str = "sealpost_queue_attempts_total";
/// Messages in the outbound queue.
pub const QUEUE_MESSAGES: &str = "sealpost_queue_messages";
/// Age of the oldest message in the outbound queue.
pub const QUEUE_OLDEST_SECONDS: &str = "sealpost_queue_oldest_age_seconds";
/// Octets stored in mailboxes (all accounts).
pub const STORE_BYTES: &str = "sealpost_store_bytes";
/// Messages stored in mailboxes (all accounts).
pub const STORE_MESSAGES: &str = "sealpost_store_messages";
/// Accounts in the store, by `state`.
pub const STORE_ACCOUNTS: &str = "sealpost_store_accounts";
/// Audit records handed to the audit log.
pub const AUDIT_RECORDS: &str = "sealpost_audit_records_total";
/// How long the oldest audit record not yet covered by a signed checkpoint
/// has waited (the promise: about a second at most).
pub const AUDIT_UNATTESTED_SECONDS: &str = "sealpost_audit_unattested_age_seconds";
/// When the audit log last signed a checkpoint or sealed a segment.
pub const AUDIT_LAST_ATTESTED: &str = "sealpost_audit_last_attestation_timestamp_seconds";
/// Whether the audit writer is writing (1) or stopped after an error (0).
pub const AUDIT_WRITING: &str = "sealpost_audit_writing";
/// Retention actions, by `action` (accounts_purged, messages_expunged,
/// audit_records_anonymized, audit_segments_deleted).
pub const RETENTION_ACTIONS: &str = "sealpost_retention_actions_total";
/// Client addresses and accounts throttled after failed logins now, by
/// `kind` (address, account).
pub const THROTTLED: &str = "sealpost_throttled_addresses";

/// Command latency buckets, in seconds: 0.5 ms to about 30 s.
const COMMAND_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same
/// handle) and describes every metric.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(COMMAND_SECONDS.into()), COMMAND_BUCKETS)
                .expect("buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test harness's) already in place: ours
            // then renders nothing, which the metrics test would notice.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

/// The text exposition of every metric (empty before [`install`]).
pub fn render() -> String {
    HANDLE.get().map(|h| h.render()).unwrap_or_default()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(CONNECTIONS, "Connections accepted, by listener.");
    describe_gauge!(CONNECTIONS_OPEN, "Connections open now, by listener.");
    describe_counter!(
        TLS_HANDSHAKE_FAILURES,
        "TLS handshakes that failed or timed out (implicit TLS and STARTTLS), by listener."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections closed at once because a connection cap was reached, by listener."
    );
    describe_counter!(LOGINS, "Login attempts, by protocol and result.");
    describe_histogram!(
        COMMAND_SECONDS,
        Unit::Seconds,
        "Time from a command's arrival to its answer, by protocol and command."
    );
    describe_counter!(
        MESSAGES,
        "Messages accepted by SMTP, delivered into a local mailbox, queued, relayed or bounced."
    );
    describe_counter!(
        QUEUE_ATTEMPTS,
        "Outbound delivery attempts per recipient, by result."
    );
    describe_gauge!(QUEUE_MESSAGES, "Messages in the outbound queue.");
    describe_gauge!(
        QUEUE_OLDEST_SECONDS,
        Unit::Seconds,
        "Age of the oldest message in the outbound queue (0 when empty)."
    );
    describe_gauge!(
        STORE_BYTES,
        Unit::Bytes,
        "Octets of mail stored, all accounts."
    );
    describe_gauge!(STORE_MESSAGES, "Messages stored, all accounts.");
    describe_gauge!(STORE_ACCOUNTS, "Accounts in the store, by state.");
    describe_counter!(AUDIT_RECORDS, "Events handed to the sealed audit log.");
    describe_gauge!(
        AUDIT_UNATTESTED_SECONDS,
        Unit::Seconds,
        "Age of the oldest audit record not yet covered by a signed checkpoint (0 when all are)."
    );
    describe_gauge!(
        AUDIT_LAST_ATTESTED,
        Unit::Seconds,
        "Unix time of the audit log's last signed checkpoint or seal (0 before the first)."
    );
    describe_gauge!(
        AUDIT_WRITING,
        "1 while the audit writer records, 0 after a write failure stopped it (or the log is off)."
    );
    describe_counter!(
        RETENTION_ACTIONS,
        "What retention passes did, by action (accounts purged, messages expunged, audit records anonymized, audit segments deleted)."
    );
    describe_gauge!(
        THROTTLED,
        "Client addresses and accounts refused logins now after too many failures, by kind."
    );
}
