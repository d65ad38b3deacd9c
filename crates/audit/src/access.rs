//! One account's own access log, for the account page (GDPR Art. 15): its
//! login records (every protocol, successes and failures) with time,
//! protocol, the client's address as recorded and the result, newest
//! first, a page at a time. Only records whose `account` is the address
//! are read (the export's filter with the login kind); personal fields are
//! opened as for the export, `[anonymized]` once erased.
//!
//! Memory is one page: a first pass counts the matching records, a second
//! keeps only the page's window (records stream in the log's order, oldest
//! first).

use crate::error::AuditError;
use crate::event::Kind;
use crate::export::{ExportFilter, Rows};
use crate::pii::PiiKeys;
use std::path::Path;

/// One access as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// When, as the export writes it (UTC, RFC 3339).
    pub time: String,
    /// `imap`, `pop3`, `submission`, `https`...
    pub protocol: String,
    /// The client's address as recorded.
    pub remote: String,
    /// `success`, `failure`, `throttled`...
    pub outcome: String,
}

/// One page of an account's accesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPage {
    /// Newest first.
    pub accesses: Vec<Access>,
    /// How many there are in all.
    pub total: u64,
}

fn column(name: &str) -> usize {
    crate::COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("a column of the export")
}

/// The accesses of `address` under `dir`, newest first, skipping the
/// newest `skip` and taking at most `take`.
pub fn accesses(
    dir: &Path,
    keys: &PiiKeys,
    address: &str,
    skip: u64,
    take: usize,
) -> Result<AccessPage, AuditError> {
    let filter = ExportFilter {
        account: Some(address.to_string()),
        kind: Some(Kind::Login),
        ..ExportFilter::default()
    };
    let mut total = 0u64;
    let mut rows = Rows::new(dir, keys, &filter)?;
    while rows.next_row()?.is_some() {
        total += 1;
    }
    // Oldest-first positions [first, end) are the page, newest first.
    let end = total.saturating_sub(skip);
    let first = end.saturating_sub(take as u64);
    let (time, protocol, remote, outcome) = (
        column("time"),
        column("protocol"),
        column("remote"),
        column("outcome"),
    );
    let mut accesses = Vec::with_capacity(take.min((end - first) as usize));
    let mut rows = Rows::new(dir, keys, &filter)?;
    let mut at = 0u64;
    while at < end {
        let Some((_, cells)) = rows.next_row()? else {
            break;
        };
        if at >= first {
            accesses.push(Access {
                time: cells[time].clone(),
                protocol: cells[protocol].clone(),
                remote: cells[remote].clone(),
                outcome: cells[outcome].clone(),
            });
        }
        at += 1;
    }
    accesses.reverse();
    Ok(AccessPage { accesses, total })
}
