//! mbox files into an account: one file into INBOX, or a folder of them, a
//! mailbox each (named after the file, `.mbox` left off; `INBOX` in any
//! case is INBOX).
//!
//! [`Reader`] cuts messages at `From ` lines (at the start of the file or
//! after a blank line); `>From ` lines lose one `>` (mboxrd, which also
//! reads mboxo right). Flags come from `Status:` (R Seen) and `X-Status:`
//! (A Answered, F Flagged, T Draft, D Deleted), keywords from
//! `X-Keywords:`, INTERNALDATE from the `From ` line's date (asctime, UTC).
//! The file is read line by line, a long line in pieces, and
//! [`Reader::next_message_to`] hands each message over a piece at a time
//! (the import stores it as it goes, so memory stays flat, and commits
//! the messages in batches, [`import_file`]); a message
//! larger than the reader's limit (by default the store's,
//! [`crate::MAX_MESSAGE_SIZE`]) is an error as soon as it is seen.
//! [`Reader::resume_at`] tells where the next message starts, which the
//! import records after each commit so a later run goes on from there
//! ([`import_file`], [`crate::resume`]).

use crate::pipeline::Sender;
use crate::resume::{Matcher, Progress, Resume, Tracker, digest};
use crate::stream::Crlf;
use crate::{ImportError, Result, Totals, ensure_mailbox};
use sealpost_store::{AccountId, AppendStream, Appended, Flags, Placement, Store};
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::Ordering;

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
    /// The last piece read ended inside a line.
    mid_line: bool,
    /// The last whole line was blank.
    blank_before: bool,
    done: bool,
    count: u64,
    /// Octets of the input consumed (from where the reader started).
    pos: u64,
    /// Where the last `From ` line seen starts.
    from_at: u64,
}

/// How much of a line is read at a time: a longer line goes on in pieces.
const LINE_PIECE: usize = 64 * 1024;

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
            mid_line: false,
            blank_before: true,
            done: false,
            count: 0,
            pos: 0,
            from_at: 0,
        }
    }

    /// A reader of an input that starts at octet `offset` of the mbox
    /// (where a message's `From ` line starts), so that
    /// [`Reader::resume_at`] counts from the mbox's start.
    pub fn starting_at(input: R, offset: u64) -> Reader<R> {
        let mut r = Reader::new(input);
        r.pos = offset;
        r.from_at = offset;
        r
    }

    /// After a message was returned: the offset where the next one's
    /// `From ` line starts (the end of the input after the last).
    pub fn resume_at(&self) -> u64 {
        if self.done { self.pos } else { self.from_at }
    }

    /// The next message, `None` at the end.
    pub fn next_message(&mut self) -> std::result::Result<Option<Message>, MboxError> {
        let mut raw = Vec::new();
        let date = self.next_message_to(&mut |piece| {
            raw.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(date.map(|date| Message { date, raw }))
    }

    /// The next message handed to `out` a piece at a time (CRLF line
    /// endings, without the mbox's separator), so that at most one piece
    /// of it is in memory; returns its `From ` line's date, `None` at the
    /// end. `out`'s error stops the reader.
    pub fn next_message_to(
        &mut self,
        out: &mut dyn FnMut(&[u8]) -> std::result::Result<(), MboxError>,
    ) -> std::result::Result<Option<Option<i64>>, MboxError> {
        if self.done {
            return Ok(None);
        }
        let mut crlf = Crlf::default();
        let mut converted = Vec::new();
        let mut size = 0usize;
        // A blank line is held back: the last one before the next `From `
        // belongs to the mbox.
        let mut held_blank = false;
        loop {
            self.line.clear();
            let line_at = self.pos;
            let n = (&mut self.input)
                .take(LINE_PIECE as u64)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| MboxError::Io(e.to_string()))?;
            self.pos += n as u64;
            if n == 0 {
                self.done = true;
                return Ok(self.current.take());
            }
            let at_start = !self.mid_line;
            let whole = self.line.ends_with(b"\n");
            self.mid_line = !whole;
            if at_start && self.blank_before && self.line.starts_with(b"From ") {
                let date = from_line_date(&self.line);
                self.from_at = line_at;
                self.skip_rest_of_line()?;
                if let Some(previous) = self.current.replace(date) {
                    return Ok(Some(previous));
                }
                self.blank_before = false;
                self.count += 1;
                continue;
            }
            let blank = at_start && whole && (self.line == b"\n" || self.line == b"\r\n");
            self.blank_before = blank;
            if self.current.is_none() {
                self.done = true;
                return Err(MboxError::NotMbox);
            }
            converted.clear();
            if std::mem::replace(&mut held_blank, blank) {
                converted.extend_from_slice(b"\r\n");
            }
            if !blank {
                let line = &self.line[..];
                let body = match line.iter().position(|&b| b != b'>') {
                    Some(i) if at_start && i > 0 && line[i..].starts_with(b"From ") => &line[1..],
                    _ => line,
                };
                crlf.push(body, &mut converted);
            } else if size == 0 {
                // A message that starts with a blank line keeps it.
                held_blank = false;
                converted.extend_from_slice(b"\r\n");
            }
            size += converted.len();
            if size > self.limit {
                self.done = true;
                return Err(MboxError::TooLarge(self.count));
            }
            if !converted.is_empty() {
                out(&converted)?;
            }
        }
    }

    /// Reads past the rest of a `From ` line longer than a piece.
    fn skip_rest_of_line(&mut self) -> std::result::Result<(), MboxError> {
        let mut skipped = 0usize;
        while self.mid_line {
            self.line.clear();
            let n = (&mut self.input)
                .take(LINE_PIECE as u64)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| MboxError::Io(e.to_string()))?;
            self.pos += n as u64;
            skipped += n;
            if n == 0 || skipped > self.limit {
                return Err(MboxError::TooLarge(self.count));
            }
            self.mid_line = !self.line.ends_with(b"\n");
        }
        Ok(())
    }
}

/// How much of a message's start is kept for its flags (`Status:` and
/// friends are in the header).
const HEAD_MAX: usize = 256 * 1024;

/// Imports one mbox file into `mailbox` (created if missing). This thread
/// reads the file and writes each message to the store while it reads it
/// (sealed a piece at a time, so memory stays flat whatever its size);
/// [`crate::pipeline`]'s workers end the messages (summary, blob made
/// durable) several at once, and their rows are committed in the file's
/// order, [`crate::pipeline::BATCH`] to a transaction. On an error, every
/// message before the failing one is stored, none after it.
///
/// Resumable ([`crate::resume`]): after each commit the offset of the
/// next message is saved; a later run of the same file starts there, once
/// the messages a killed run committed after its last save are found here
/// by content. The file is the same when its device and inode, its first
/// [`IDENTITY_OCTETS`] (up to the saved offset) and the [`CHECK_OCTETS`]
/// before the saved offset are (an mbox that only grew at its end goes on
/// where it stopped); any other file is imported whole.
pub fn import_file(
    store: &Store,
    account: AccountId,
    path: &Path,
    mailbox: &str,
    totals: &Totals,
    resume: &Resume,
) -> Result<()> {
    let id = ensure_mailbox(store, account, mailbox)?;
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let identity = identity(&file).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    // Offset 0 (saved before the first commit) needs no check.
    let valid = |p: &Progress| {
        p.offset == 0 || (p.offset <= len && check_at(&file, p.offset).is_ok_and(|c| c == p.check))
    };
    let mut tracker = Tracker::begin(resume, store, account, id, path, mailbox, identity, valid)?;
    let start = find_committed(store, account, id, path, &file, &mut tracker)?;
    totals
        .already
        .fetch_add(tracker.progress.done, Ordering::Relaxed);
    let mut input = file.try_clone().map_err(io)?;
    input.seek(SeekFrom::Start(start)).map_err(io)?;
    let reader = Reader::starting_at(std::io::BufReader::new(input), start);
    let mut checkpoint = |offset: u64, appended: &[Appended]| {
        let check = check_at(&file, offset).map_err(io)?;
        let highest = appended.iter().map(|a| a.uid).max();
        tracker.committed(appended.len() as u64, highest, offset, check)
    };
    crate::pipeline::import_in_order(
        store,
        id,
        totals,
        |sender| read_into(store, account, path, reader, sender),
        end,
        &mut checkpoint,
    )?;
    totals.mailboxes.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Octets of an mbox's start that a saved offset is checked against
/// (those before the offset, when it is smaller).
pub const IDENTITY_OCTETS: u64 = 64 * 1024;
/// Octets before a saved offset that must be the same for a run to go on
/// from it.
pub const CHECK_OCTETS: u64 = 4096;

/// The device and the inode of an mbox.
fn identity(file: &std::fs::File) -> std::io::Result<[u8; 32]> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok(digest(&[
        b"mbox",
        &meta.dev().to_le_bytes(),
        &meta.ino().to_le_bytes(),
    ]))
}

/// What identifies `offset` of an mbox: the offset, the file's first
/// [`IDENTITY_OCTETS`] before it and the [`CHECK_OCTETS`] before it (so an
/// mbox that grew at its end still matches).
fn check_at(file: &std::fs::File, offset: u64) -> std::io::Result<[u8; 32]> {
    let start = read_range(file, 0, offset.min(IDENTITY_OCTETS))?;
    let before = read_range(file, offset.saturating_sub(CHECK_OCTETS), offset)?;
    Ok(digest(&[&offset.to_le_bytes(), &start, &before]))
}

fn read_range(file: &std::fs::File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; (to - from) as usize];
    file.read_exact_at(&mut buf, from)?;
    Ok(buf)
}

/// A run that resumes: the messages a killed run committed after its
/// last save are the next ones of the file, found here above the saved
/// UID by content ([`Matcher`]); they are recorded as done. Returns the
/// offset to go on from.
fn find_committed(
    store: &Store,
    account: AccountId,
    mailbox: sealpost_store::MailboxId,
    path: &Path,
    file: &std::fs::File,
    tracker: &mut Tracker<'_>,
) -> Result<u64> {
    let start = tracker.progress.offset;
    let mut matcher = Matcher::above(store, account, mailbox, tracker.progress.last_uid)?;
    if matcher.is_empty() {
        return Ok(start);
    }
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut input = file.try_clone().map_err(io)?;
    input.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut reader = Reader::starting_at(std::io::BufReader::new(input), start);
    let (mut found, mut offset, mut highest) = (0, start, None);
    while !matcher.is_empty() {
        let Ok(Some(message)) = reader.next_message() else {
            break;
        };
        let Some(uid) = matcher.take(&message.raw)? else {
            break;
        };
        found += 1;
        offset = reader.resume_at();
        highest = highest.max(Some(uid));
    }
    if found > 0 {
        let check = check_at(file, offset).map_err(io)?;
        tracker.committed(found, highest, offset, check)?;
    }
    Ok(offset)
}

/// A message read whole: ended, its blob made durable (on a worker).
fn end<'s>((w, placement): (AppendStream<'s>, Placement)) -> Result<crate::pipeline::Ready<'s>> {
    Ok((w.prepare()?, placement))
}

/// Reads the messages of the mbox at `path`, each written to a new append
/// stream while it is read, and hands them over in order with their flags
/// and date, each marked with the offset of the message after it.
fn read_into<'s>(
    store: &'s Store,
    account: AccountId,
    path: &Path,
    mut reader: Reader<impl BufRead>,
    sender: &mut Sender<'_, (AppendStream<'s>, Placement)>,
) -> Result<()> {
    let format = |e: MboxError| ImportError::Format(format!("{}: {e}", path.display()));
    loop {
        // Stored while it is read; the header is kept (up to HEAD_MAX)
        // for the flags.
        let mut w = store.append_stream(account)?;
        let mut head = Vec::new();
        let mut failed = None;
        let read = reader.next_message_to(&mut |piece| {
            if head.len() < HEAD_MAX {
                head.extend_from_slice(&piece[..piece.len().min(HEAD_MAX - head.len())]);
            }
            w.write(piece).map_err(|e| {
                let m = e.to_string();
                failed = Some(e);
                MboxError::Io(m)
            })
        });
        let date = match (read, failed) {
            (_, Some(e)) => return Err(e.into()),
            (Ok(Some(date)), None) => date,
            (Ok(None), None) => return Ok(()),
            (Err(e), None) => return Err(format(e)),
        };
        let placement = Placement {
            flags: flags_of(&head),
            internal_date: date,
            keep_uid: None,
        };
        let octets = w.size();
        if !sender.send((w, placement), octets, reader.resume_at()) {
            return Ok(());
        }
    }
}

/// An mbox file into INBOX, or each file of a folder into its own mailbox.
pub fn import(
    store: &Store,
    account: AccountId,
    from: &Path,
    totals: &Totals,
    resume: &Resume,
) -> Result<()> {
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
        import_file(store, account, &path, &name, totals, resume)?;
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
    fn resume_at_is_the_next_from_line_and_a_reader_can_start_there() {
        let text: &[u8] = b"From a\nSubject: 1\n\nFrom b\nSubject: 2\n\n\nFrom c\nSubject: 3\n";
        let mut r = Reader::new(text);
        let mut offsets = Vec::new();
        while r.next_message().unwrap().is_some() {
            offsets.push(r.resume_at());
        }
        assert_eq!(offsets, [19, 39, text.len() as u64]);
        assert!(text[19..].starts_with(b"From b") && text[39..].starts_with(b"From c"));
        let mut r = Reader::starting_at(&text[19..], 19);
        assert_eq!(
            r.next_message().unwrap().unwrap().raw,
            b"Subject: 2\r\n\r\n"
        );
        assert_eq!(r.resume_at(), 39);
        assert_eq!(r.next_message().unwrap().unwrap().raw, b"Subject: 3\r\n");
        assert_eq!(r.resume_at(), text.len() as u64);
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

    #[test]
    fn a_line_longer_than_a_piece_goes_on_whole_and_blank_lines_are_kept_but_the_last() {
        // The piece boundary falls between a CR and its LF, and the next
        // piece starts with `>From ` inside the line (not unescaped).
        let mut long = "x".repeat(LINE_PIECE - 1);
        long.push('\r');
        long.push('\n');
        let mut cont = "y".repeat(LINE_PIECE);
        cont.push_str(">From inside\n");
        let text = format!("From a\n\nfirst\n{long}{cont}\n\nFrom b\nSubject: 2\n\n");
        let m = all(text.as_bytes(), 1 << 20).unwrap();
        assert_eq!(m.len(), 2);
        let want = format!(
            "\r\nfirst\r\n{}\r\n{}>From inside\r\n\r\n",
            "x".repeat(LINE_PIECE - 1),
            "y".repeat(LINE_PIECE)
        );
        assert_eq!(String::from_utf8_lossy(&m[0].raw), want);
        assert_eq!(m[1].raw, b"Subject: 2\r\n");
        let mut pieces = 0;
        let mut r = Reader::with_limit(text.as_bytes(), 1 << 20);
        r.next_message_to(&mut |p| {
            assert!(p.len() <= LINE_PIECE + 2, "{}", p.len());
            pieces += 1;
            Ok(())
        })
        .unwrap();
        assert!(pieces >= 4, "{pieces}");
    }
}
