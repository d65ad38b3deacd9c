//! The mbox half of `sealpost import`: an mbox file into INBOX, or a folder
//! of mbox files, one mailbox each (named after the file, `.mbox` left off;
//! `INBOX` in any case is INBOX).
//!
//! Messages start at `From ` lines (at the start of the file or after a
//! blank line); `>From ` lines lose one `>` (mboxrd, which also reads
//! mboxo right). Flags come from `Status:` (R Seen) and `X-Status:` (A
//! Answered, F Flagged, T Draft, D Deleted), keywords from `X-Keywords:`,
//! INTERNALDATE from the `From ` line's date (asctime, UTC). The file is
//! read line by line: one message is in memory at a time, and a message
//! (or line) larger than [`MAX_MESSAGE_SIZE`] stops the import
//! with an error before it is buffered further.

use crate::startup::Failure;
use sealpost_store::{AccountId, Flags, MailboxName, Store};
use std::io::{BufRead, Read};

/// Largest message imported: the store's own limit (1 GiB), which it would
/// refuse only after the whole message was buffered.
const MAX_MESSAGE_SIZE: usize = 1 << 30;
use std::path::Path;

/// Counts kept while importing.
#[derive(Default)]
pub struct Count {
    pub messages: u64,
    pub octets: u64,
}

/// Imports one mbox file into `mailbox` (created if missing).
pub fn import_file(
    store: &Store,
    account: AccountId,
    path: &Path,
    mailbox: &str,
    count: &mut Count,
    tty: bool,
) -> Result<(), Failure> {
    let name = MailboxName::new(mailbox)
        .map_err(|e| Failure::runtime(format!("mailbox {mailbox:?}: {e}")))?;
    let id = match store.mailbox(account, &name).map_err(Failure::runtime)? {
        Some(info) => info.id,
        None => {
            store
                .create_mailbox(account, &name, None)
                .map_err(Failure::runtime)?
                .id
        }
    };
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut message: Option<(Option<i64>, Vec<u8>)> = None;
    let mut blank_before = true;
    loop {
        line.clear();
        // A line is read at most up to the largest message the store takes.
        let n = (&mut reader)
            .take(MAX_MESSAGE_SIZE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        if blank_before && line.starts_with(b"From ") {
            if let Some((date, raw)) = message.take() {
                store_one(store, account, id, date, raw, count, path)?;
                progress(tty, count, mailbox);
            }
            message = Some((from_line_date(&line), Vec::new()));
            blank_before = false;
            continue;
        }
        blank_before = line == b"\n" || line == b"\r\n";
        let Some((_, raw)) = message.as_mut() else {
            return Err(Failure::runtime(format!(
                "{}: not an mbox file (it does not start with a `From ` line)",
                path.display()
            )));
        };
        let body = match line.iter().position(|&b| b != b'>') {
            Some(i) if i > 0 && line[i..].starts_with(b"From ") => &line[1..],
            _ => &line[..],
        };
        push_crlf(raw, body);
        if raw.len() > MAX_MESSAGE_SIZE {
            return Err(Failure::runtime(format!(
                "{}: message {} is larger than {MAX_MESSAGE_SIZE} octets (nothing after it imported)",
                path.display(),
                count.messages + 1
            )));
        }
    }
    if let Some((date, raw)) = message.take() {
        store_one(store, account, id, date, raw, count, path)?;
        progress(tty, count, mailbox);
    }
    Ok(())
}

/// Appends a line with a bare LF ending turned into CRLF (mail on disk is
/// often LF-only; IMAP serves CRLF, as SMTP delivery stores it).
fn push_crlf(raw: &mut Vec<u8>, line: &[u8]) {
    match line.strip_suffix(b"\n") {
        Some(l) if !l.ends_with(b"\r") => {
            raw.extend_from_slice(l);
            raw.extend_from_slice(b"\r\n");
        }
        _ => raw.extend_from_slice(line),
    }
}

/// A whole message with its bare LF line endings turned into CRLF.
pub fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        push_crlf(&mut out, line);
    }
    out
}

fn progress(tty: bool, count: &Count, mailbox: &str) {
    if tty {
        eprint!(
            "\r{} messages, {} octets ({mailbox})",
            count.messages, count.octets
        );
    }
}

fn store_one(
    store: &Store,
    account: AccountId,
    mailbox: sealpost_store::MailboxId,
    date: Option<i64>,
    mut raw: Vec<u8>,
    count: &mut Count,
    path: &Path,
) -> Result<(), Failure> {
    // The blank line before the next `From ` belongs to the mbox, not the message.
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
    let flags = flags_of(&raw);
    store
        .append(account, mailbox, &raw, &flags, date)
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    count.messages += 1;
    count.octets += raw.len() as u64;
    Ok(())
}

/// `From sender Thu Jan  2 10:00:00 2020` → Unix seconds.
fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let rest = text.strip_prefix("From ")?;
    let (_, date) = rest.trim_start().split_once(' ')?;
    let date = date.split_whitespace().collect::<Vec<_>>().join(" ");
    chrono::NaiveDateTime::parse_from_str(&date, "%a %b %d %H:%M:%S %Y")
        .ok()
        .map(|d| d.and_utc().timestamp())
}

/// Flags from the header's `Status`, `X-Status` and `X-Keywords` fields.
fn flags_of(raw: &[u8]) -> Flags {
    let mut flags = Flags::default();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let header = String::from_utf8_lossy(&raw[..end]);
    for line in header.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "status" if value.contains('R') => flags.system |= Flags::SEEN,
            "x-status" => {
                for (c, bit) in [
                    ('A', Flags::ANSWERED),
                    ('F', Flags::FLAGGED),
                    ('T', Flags::DRAFT),
                    ('D', Flags::DELETED),
                ] {
                    if value.contains(c) {
                        flags.system |= bit;
                    }
                }
            }
            "x-keywords" => {
                for k in value.split([',', ' ']).filter(|k| !k.is_empty()) {
                    if !flags.keywords.iter().any(|x| x == k) {
                        flags.keywords.push(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_give_dates() {
        assert_eq!(
            from_line_date(b"From bob@example.net Thu Jan  2 10:00:00 2020\n"),
            Some(1_577_959_200)
        );
        assert_eq!(
            from_line_date(b"From - Fri Jan 03 10:00:00 2020\r\n"),
            Some(1_578_045_600)
        );
        assert_eq!(from_line_date(b"From bob\n"), None);
    }

    #[test]
    fn bare_lf_becomes_crlf() {
        assert_eq!(to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
        assert_eq!(to_crlf(b"\n\n"), b"\r\n\r\n");
    }

    #[test]
    fn header_fields_give_flags() {
        let f = flags_of(b"Status: RO\nX-Status: AF\nX-Keywords: Work, $Label1\n\nStatus: D\n");
        assert_eq!(f.system, Flags::SEEN | Flags::ANSWERED | Flags::FLAGGED);
        assert_eq!(f.keywords, ["Work", "$Label1"]);
        assert_eq!(flags_of(b"Subject: x\n\nbody").system, 0);
    }
}
