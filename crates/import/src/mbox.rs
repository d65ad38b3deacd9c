//! mbox files into an account: one file into INBOX, or a folder of them, a
//! mailbox each (named after the file, `.mbox` left off; `INBOX` in any
//! case is INBOX).
//!
//! [`Reader`] cuts messages at `From ` lines (at the start of the file or
//! after a blank line); `>From ` lines lose one `>` (mboxrd, which also
//! reads mboxo right). Flags come from `Status:` (R Seen) and `X-Status:`
//! (A Answered, F Flagged, T Draft, D Deleted), keywords from
//! `X-Keywords:`, INTERNALDATE from the `From ` line's date (asctime, UTC).
//! The file is read line by line: one message is in memory at a time, and
//! a message (or line) larger than the reader's limit (by default the
//! store's, [`crate::MAX_MESSAGE_SIZE`]) is an error before it is buffered
//! further.

use crate::{ImportError, Result, Totals, ensure_mailbox, push_crlf};
use sealpost_store::{AccountId, Flags, Store};
use std::io::{BufRead, Read};
use std::path::Path;

/// One message of an mbox.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// INTERNALDATE from the `From ` line, Unix seconds.
    pub date: Option<i64>,
    /// The message, CRLF line endings, without the mbox's separator line.
    pub raw: Vec<u8>,
}

/// Why a [`Reader`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum MboxError {
    /// The first line is not a `From ` line.
    NotMbox,
    /// Message number `.0` (1-based) is larger than the limit.
    TooLarge(u64),
    /// Reading failed.
    Io(String),
}

impl std::fmt::Display for MboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MboxError::NotMbox => write!(
                f,
                "not an mbox file (it does not start with a `From ` line)"
            ),
            MboxError::TooLarge(n) => write!(
                f,
                "message {n} is larger than the limit (nothing after it imported)"
            ),
            MboxError::Io(e) => f.write_str(e),
        }
    }
}

/// Cuts an mbox into messages, one at a time.
pub struct Reader<R> {
    input: R,
    limit: usize,
    line: Vec<u8>,
    /// The `From ` line's date of the message being read, once one started.
    current: Option<Option<i64>>,
    done: bool,
    count: u64,
}

impl<R: BufRead> Reader<R> {
    /// A reader whose messages may be up to [`crate::MAX_MESSAGE_SIZE`].
    pub fn new(input: R) -> Reader<R> {
        Reader::with_limit(input, crate::MAX_MESSAGE_SIZE)
    }

    /// A reader whose messages (and lines) may be up to `limit` octets.
    pub fn with_limit(input: R, limit: usize) -> Reader<R> {
        Reader {
            input,
            limit,
            line: Vec::new(),
            current: None,
            done: false,
            count: 0,
        }
    }

    /// The next message, `None` at the end.
    pub fn next_message(&mut self) -> std::result::Result<Option<Message>, MboxError> {
        if self.done {
            return Ok(None);
        }
        let mut raw = Vec::new();
        let mut blank_before = self.current.is_none();
        loop {
            self.line.clear();
            // A line is read at most up to the limit.
            let n = (&mut self.input)
                .take(self.limit as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| MboxError::Io(e.to_string()))?;
            if n == 0 {
                self.done = true;
                return Ok(self.current.take().map(|date| finish(date, raw)));
            }
            if blank_before && self.line.starts_with(b"From ") {
                let date = from_line_date(&self.line);
                if let Some(previous) = self.current.replace(date) {
                    return Ok(Some(finish(previous, raw)));
                }
                blank_before = false;
                self.count += 1;
                continue;
            }
            blank_before = self.line == b"\n" || self.line == b"\r\n";
            if self.current.is_none() {
                self.done = true;
                return Err(MboxError::NotMbox);
            }
            let line = &self.line[..];
            let body = match line.iter().position(|&b| b != b'>') {
                Some(i) if i > 0 && line[i..].starts_with(b"From ") => &line[1..],
                _ => line,
            };
            push_crlf(&mut raw, body);
            if raw.len() > self.limit {
                self.done = true;
                return Err(MboxError::TooLarge(self.count));
            }
        }
    }
}

/// A message without the blank line before the next `From `, which belongs
/// to the mbox.
fn finish(date: Option<i64>, mut raw: Vec<u8>) -> Message {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    }
    Message { date, raw }
}

/// Imports one mbox file into `mailbox` (created if missing).
pub fn import_file(
    store: &Store,
    account: AccountId,
    path: &Path,
    mailbox: &str,
    totals: &Totals,
) -> Result<()> {
    let id = ensure_mailbox(store, account, mailbox)?;
    let file = std::fs::File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Reader::new(std::io::BufReader::new(file));
    loop {
        let message = match reader.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => return Err(ImportError::Format(format!("{}: {e}", path.display()))),
        };
        let flags = flags_of(&message.raw);
        store.append(account, id, &message.raw, &flags, message.date)?;
        totals.stored(message.raw.len(), false);
    }
    totals
        .mailboxes
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// An mbox file into INBOX, or each file of a folder into its own mailbox.
pub fn import(store: &Store, account: AccountId, from: &Path, totals: &Totals) -> Result<()> {
    let mut files = Vec::new();
    if from.is_file() {
        files.push((from.to_path_buf(), "INBOX".to_string()));
    } else {
        let entries = std::fs::read_dir(from).map_err(|source| ImportError::Io {
            path: from.to_path_buf(),
            source,
        })?;
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if file.starts_with('.') || !e.path().is_file() {
                continue;
            }
            let stem = file.strip_suffix(".mbox").unwrap_or(&file);
            let name = if stem.eq_ignore_ascii_case("inbox") {
                "INBOX".to_string()
            } else {
                stem.to_string()
            };
            files.push((e.path(), name));
        }
        files.sort();
    }
    for (path, name) in files {
        import_file(store, account, &path, &name, totals)?;
    }
    Ok(())
}

/// `From sender Thu Jan  2 10:00:00 2020` → Unix seconds.
pub fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let rest = text.strip_prefix("From ")?;
    let (_, date) = rest.trim_start().split_once(' ')?;
    let date = date.split_whitespace().collect::<Vec<_>>().join(" ");
    chrono::NaiveDateTime::parse_from_str(&date, "%a %b %d %H:%M:%S %Y")
        .ok()
        .map(|d| d.and_utc().timestamp())
}

/// Flags from the header's `Status`, `X-Status` and `X-Keywords` fields.
pub fn flags_of(raw: &[u8]) -> Flags {
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
                    if k.len() <= crate::maildir::MAX_KEYWORD
                        && !flags.keywords.iter().any(|x| x == k)
                    {
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

    fn all(text: &[u8], limit: usize) -> std::result::Result<Vec<Message>, MboxError> {
        let mut r = Reader::with_limit(text, limit);
        let mut out = Vec::new();
        while let Some(m) = r.next_message()? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn messages_are_cut_at_from_lines_and_unescaped() {
        let text = b"From a Thu Jan  2 10:00:00 2020\nSubject: 1\n\n>From here\nFrom the text\n\nFrom b Fri Jan  3 10:00:00 2020\nSubject: 2\n\nx\n";
        let m = all(text, 1 << 20).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].date, Some(1_577_959_200));
        assert_eq!(
            m[0].raw,
            b"Subject: 1\r\n\r\nFrom here\r\nFrom the text\r\n"
        );
        assert_eq!(m[1].raw, b"Subject: 2\r\n\r\nx\r\n");
    }

    #[test]
    fn not_an_mbox_and_too_large() {
        assert_eq!(all(b"Subject: x\n", 100), Err(MboxError::NotMbox));
        let big = format!("From a\n{}\n", "x".repeat(200));
        assert_eq!(all(big.as_bytes(), 100), Err(MboxError::TooLarge(1)));
    }

    #[test]
    fn from_lines_give_dates() {
        assert_eq!(
            from_line_date(b"From - Fri Jan 03 10:00:00 2020\r\n"),
            Some(1_578_045_600)
        );
        assert_eq!(from_line_date(b"From bob\n"), None);
    }

    #[test]
    fn header_fields_give_flags() {
        let f = flags_of(b"Status: RO\nX-Status: AF\nX-Keywords: Work, $Label1\n\nStatus: D\n");
        assert_eq!(f.system, Flags::SEEN | Flags::ANSWERED | Flags::FLAGGED);
        assert_eq!(f.keywords, ["Work", "$Label1"]);
        assert_eq!(flags_of(b"Subject: x\n\nbody").system, 0);
    }
}
