//! sealpost-audit: the sealed, hash-chained security event log (DESIGN.md
//! promises 5 and 8).
//!
//! Every crate records security-relevant events through one small API:
//! [`AuditLog::record`] (a channel send: never blocks a session on disk I/O;
//! a writer thread appends, fdatasyncs and signs a checkpoint at least once
//! a second while records arrive) and [`AuditLog::record_durable`] (returns
//! once the event is fdatasynced and covered by a signed checkpoint; used
//! where a promise needs it: account deletion, purge, export). No message
//! content or subject is ever an event field.
//!
//! # Layout of `data_dir/audit/`
//!
//! Each segment's files share a stem, `<node id>.NNNNNNNNNNNN` when the
//! writer was opened with its node's id ([`AuditLog::open_node`]: the
//! server passes `data_dir/node-id`), or `NNNNNNNNNNNN` as logs were named
//! before node ids, which are still read (see `names`: one module builds
//! and parses every name). Below, `NNNNNNNNNNNN` stands for either stem.
//!
//! - `NNNNNNNNNNNN.seg`: a segment, append-only, one record per line:
//!   `{"seq":N,"time_ms":T,"prev":"<hex>","event":"login",...}`. `seq` counts
//!   from 0 without gaps across segments; `prev` is the SHA-256 of the
//!   previous record's line as stored (without its newline), zeros before the
//!   first record: a hash chain across segments. Personal fields (see
//!   [`Event::personal_fields`]) hold only a commitment
//!   `"c:<hex SHA-256(salt || value)>"` with a fresh 16-byte salt each.
//! - `NNNNNNNNNNNN.pii`: the side file, outside what the chain and seals
//!   cover: one line per record with personal fields, holding the values and
//!   salts behind its commitments sealed under the key of the record's
//!   calendar month (see `pii`): `{"seq":N,"time_ms":T,"key":"2025-01.0",
//!   "sealed":"<base64>"}`. Anonymization ([`anonymize_before`]) drops old
//!   lines and destroys the keys of months past the cutoff; erasure of a
//!   purged account ([`AuditLog::erase_personal_data`]) drops its lines and
//!   re-keys the months they were in. The segment and its seal stay as they
//!   are and still verify. Export shows a field whose side entry is gone as
//!   `[anonymized]`.
//! - `pii-keys/YYYY-MM.V.key`: the month keys, wrapped under a key derived
//!   from the master key (`server.master_key`, outside data_dir).
//! - `NNNNNNNNNNNN.att`: the signed checkpoints of the open segment (see
//!   `attest`), removed once the segment is sealed.
//! - `NNNNNNNNNNNN.seal`: written (atomically) when the segment is closed: by
//!   size (`[audit] segment_max_bytes`), by age (`segment_max_age_secs`), by
//!   [`AuditLog::close`] or by dropping the last handle. It holds the segment
//!   number, first sequence number, record count, byte size, first and last
//!   record times, the chain hash before and after the segment, the hash of
//!   the previous seal, how it was sealed (`closed`, or `recovered` at the
//!   next start after a crash, with how many of its records a checkpoint had
//!   attested), and an ed25519 signature over all of these
//!   (domain-separated, fixed binary layout). Seals of the previous version
//!   (`after_crash` flag, no attestation) still verify.
//! - `checkpoint.json`: after [`delete_segments_before`], a signed record of
//!   where the kept chain starts (segment, sequence number, chain hash and
//!   seal hash of what was deleted).
//! - `signing.pub`: the writer's public key (64 hex digits), used by
//!   [`verify`] when no key is given; `writer.lock`: one writer per log.
//!
//! Outside data_dir, the witness (`[audit] witness`: a file beside the
//! keys by default, or syslog, or journald) receives every checkpoint as one
//! line (see `witness`), so removing the newest records or the whole log
//! is detected by [`verify_with`] given what it saw.
//!
//! The signing key (PKCS#8 PEM, mode 0600) lives at
//! `config.server.audit_signing_key`, generated on first start; see [`keys`].
//! A crash leaves the last segment unsealed: the next [`AuditLog::open`]
//! cuts a torn last line, seals the segment as `recovered` (its records
//! after the last checkpoint as unattested), records
//! [`Event::AuditTailRecovered`] and reports it through
//! [`AuditLog::recovered_tail`] (see [`recover`]).
//!
//! Reading: [`verify`] / [`verify_with`] (chain, seals, checkpoints,
//! witness, at hashing speed), [`export_csv`] (RFC 4180, personal fields
//! opened with [`PiiKeys`]), [`anonymize_before`] and
//! [`delete_segments_before`] for the retention worker (which refuse a
//! cutoff later than the real time). These read files only and run beside a
//! writing server: they never touch the open segment.

#![warn(missing_docs)]

mod access;
mod attest;
mod commit;
mod error;
mod event;
mod export;
mod format;
mod health;
pub mod keys;
pub mod names;
mod oplog;
mod pii;
pub mod recover;
mod retention;
mod verify;
mod verify_report;
mod witness;
mod writer;

#[doc(hidden)]
pub mod fuzzing;

pub use access::{Access, AccessPage, accesses};
pub use ed25519_dalek::VerifyingKey;
pub use error::{AuditError, FailureKind, VerifyFailure};
pub use event::{Event, Kind, LoginOutcome, Protocol, Record};
pub use export::{ANONYMIZED, COLUMNS, ExportFilter, export_csv, export_csv_merged};
pub use format::MAX_LINE_BYTES;
pub use health::AuditHealth;
pub use keys::{format_public_key, parse_public_key, public_key, read_public_key};
pub use pii::{EraseReport, PiiKeys, names_address};
pub use recover::RecoveredTail;
pub use retention::{AnonymizeReport, DeleteReport, anonymize_before, delete_segments_before};
pub use verify::{
    AttestedPoint, VerifyOptions, VerifyReport, VerifyWarning, WarningKind, verify, verify_with,
};
pub use witness::{MARKER as WITNESS_MARKER, WitnessEntry, read_witness};
pub use writer::AuditLog;
