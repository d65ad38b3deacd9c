//! The grammar's building blocks (RFC 9051 section 9): atoms, strings,
//! literals, numbers, sequence sets, flags and dates, over one framed command.

use crate::wire::command::{MessageSet, SeqBound, SequenceSet, is_astring_char, is_atom_char};
use chrono::NaiveDate;

/// A grammar error's message (sent as the text of a tagged BAD).
pub(crate) type R<T> = Result<T, &'static str>;

/// Longest quoted string (the framer already bounds the whole line).
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A read position in one framed command.
pub(crate) struct Cursor<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, c: u8, msg: &'static str) -> R<()> {
        if self.eat(c) { Ok(()) } else { Err(msg) }
    }

    pub(crate) fn sp(&mut self) -> R<()> {
        self.expect(b' ', "expected a space")
    }

    /// Whether the command ends here (CRLF, or a bare LF, then nothing).
    pub(crate) fn at_end(&self) -> bool {
        let rest = &self.b[self.pos..];
        rest == b"\r\n" || rest == b"\n" || rest.is_empty()
    }

    pub(crate) fn end(&mut self) -> R<()> {
        if self.at_end() {
            self.pos = self.b.len();
            Ok(())
        } else {
            Err("unexpected characters at the end of the command")
        }
    }

    /// Consumes `kw` (ASCII, any case) if it comes next and is not followed
    /// by more atom characters.
    pub(crate) fn keyword(&mut self, kw: &str) -> bool {
        let end = self.pos + kw.len();
        if end > self.b.len() || !self.b[self.pos..end].eq_ignore_ascii_case(kw.as_bytes()) {
            return false;
        }
        if self.b.get(end).is_some_and(|&c| is_atom_char(c)) {
            return false;
        }
        self.pos = end;
        true
    }

    /// Bytes while `f` holds (at least one).
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool, msg: &'static str) -> R<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(msg);
        }
        // Only ASCII predicates are used, so this cannot fail.
        std::str::from_utf8(&self.b[start..self.pos]).map_err(|_| msg)
    }

    pub(crate) fn atom(&mut self) -> R<&'a str> {
        self.take_while(is_atom_char, "expected an atom")
    }

    pub(crate) fn number64(&mut self) -> R<u64> {
        let d = self.take_while(|c| c.is_ascii_digit(), "expected a number")?;
        if d.len() > 20 {
            return Err("number too large");
        }
        d.parse::<u64>().map_err(|_| "number too large")
    }

    pub(crate) fn number(&mut self) -> R<u32> {
        u32::try_from(self.number64()?).map_err(|_| "number too large")
    }

    pub(crate) fn nz_number(&mut self) -> R<u32> {
        match self.number()? {
            0 => Err("zero is not allowed here"),
            n => Ok(n),
        }
    }

    pub(crate) fn quoted(&mut self) -> R<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err("bad escape in quoted string"),
                    }
                }
                Some(0) => return Err("NUL in quoted string"),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `literal` or `literal8` (`~{n}`): the announcement, CRLF, then n octets
    /// (the framer has already made sure they are all here).
    pub(crate) fn literal(&mut self) -> R<&'a [u8]> {
        self.eat(b'~');
        self.expect(b'{', "expected a literal")?;
        let n = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "bad literal announcement")?;
        self.eat(b'\r');
        self.expect(b'\n', "expected CRLF after a literal announcement")?;
        let n = usize::try_from(n).map_err(|_| "literal too large")?;
        let end = self.pos.checked_add(n).ok_or("literal too large")?;
        if end > self.b.len() {
            return Err("literal shorter than announced");
        }
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn string(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') | Some(b'~') => Ok(self.literal()?.to_vec()),
            _ => Err("expected a string"),
        }
    }

    pub(crate) fn astring(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => Ok(self
                .take_while(is_astring_char, "expected an atom or string")?
                .as_bytes()
                .to_vec()),
        }
    }

    pub(crate) fn astring_utf8(&mut self) -> R<String> {
        String::from_utf8(self.astring()?).map_err(|_| "invalid UTF-8")
    }

    pub(crate) fn string_utf8(&mut self) -> R<String> {
        String::from_utf8(self.string()?).map_err(|_| "invalid UTF-8")
    }

    pub(crate) fn nstring_utf8(&mut self) -> R<Option<String>> {
        if self.keyword("NIL") {
            return Ok(None);
        }
        self.string_utf8().map(Some)
    }

    /// `list-mailbox`: list-chars (atom chars, `%`, `*`, `]`) or a string.
    pub(crate) fn list_mailbox(&mut self) -> R<String> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string_utf8(),
            _ => Ok(self
                .take_while(
                    |c| is_astring_char(c) || c == b'%' || c == b'*',
                    "expected a mailbox pattern",
                )?
                .to_string()),
        }
    }

    /// `sequence-set`.
    pub(crate) fn sequence_set(&mut self) -> R<SequenceSet> {
        let mut ranges = Vec::new();
        loop {
            let a = self.seq_bound()?;
            let b = if self.eat(b':') { self.seq_bound()? } else { a };
            ranges.push((a, b));
            if ranges.len() > 10_000 {
                return Err("sequence set too long");
            }
            if !self.eat(b',') {
                return Ok(SequenceSet(ranges));
            }
        }
    }

    /// `sequence-set` or `$` (RFC 5182 `seq-last-command`).
    pub(crate) fn message_set(&mut self) -> R<MessageSet> {
        if self.eat(b'$') {
            Ok(MessageSet::Saved)
        } else {
            self.sequence_set().map(MessageSet::Set)
        }
    }

    fn seq_bound(&mut self) -> R<SeqBound> {
        if self.eat(b'*') {
            Ok(SeqBound::Star)
        } else {
            self.nz_number().map(SeqBound::Num)
        }
    }

    /// `flag`: `\Word` or a keyword atom. `\*` only where `allow_star`.
    pub(crate) fn flag(&mut self, allow_star: bool) -> R<String> {
        if self.eat(b'\\') {
            if allow_star && self.eat(b'*') {
                return Ok("\\*".into());
            }
            Ok(format!("\\{}", self.atom()?))
        } else {
            Ok(self.atom()?.to_string())
        }
    }

    /// `flag-list`: `(` flags separated by spaces `)`.
    pub(crate) fn flag_list(&mut self) -> R<Vec<String>> {
        self.expect(b'(', "expected a flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag(false)?);
            if flags.len() > 1000 {
                return Err("too many flags");
            }
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// `date`: `d-Mon-yyyy`, bare or quoted.
    pub(crate) fn date(&mut self) -> R<NaiveDate> {
        let quoted = self.eat(b'"');
        let text = self.take_while(
            |c| c.is_ascii_alphanumeric() || c == b'-',
            "expected a date",
        )?;
        if quoted {
            self.expect(b'"', "unterminated date")?;
        }
        parse_date(text).ok_or("invalid date")
    }

    /// `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"` as Unix seconds.
    pub(crate) fn date_time(&mut self) -> R<i64> {
        let raw = self.quoted()?;
        let s = std::str::from_utf8(&raw).map_err(|_| "invalid date-time")?;
        parse_date_time(s).ok_or("invalid date-time")
    }
}

fn month(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut it = text.split('-');
    let (d, m, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || d.is_empty() || d.len() > 2 || y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, month(m)?, d.parse().ok()?)
}

pub(crate) fn parse_date_time(s: &str) -> Option<i64> {
    // "dd-Mon-yyyy hh:mm:ss +zzzz", the day possibly space-padded.
    let s = s.strip_prefix(' ').unwrap_or(s);
    let (date, rest) = s.split_once(' ')?;
    let (time, zone) = rest.split_once(' ')?;
    let date = parse_date(date)?;
    let mut t = time.split(':');
    let (h, mi, se) = (t.next()?, t.next()?, t.next()?);
    if t.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let dt = date.and_hms_opt(h.parse().ok()?, mi.parse().ok()?, se.parse().ok()?)?;
    let zb = zone.as_bytes();
    if zb.len() != 5 || !(zb[0] == b'+' || zb[0] == b'-') || !zb[1..].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let zh: i64 = zone[1..3].parse().ok()?;
    let zm: i64 = zone[3..5].parse().ok()?;
    let offset = (zh * 3600 + zm * 60) * if zb[0] == b'-' { -1 } else { 1 };
    Some(dt.and_utc().timestamp() - offset)
}
