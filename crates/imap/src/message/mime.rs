//! The MIME structure of a raw message, as byte offsets.
//!
//! RFC 5322 section 2.1-2.2 (header fields, folding, the blank line), RFC 2045
//! section 5-6 (Content-Type, Content-Transfer-Encoding), RFC 2046 section
//! 5.1.1 (boundary delimiters: the line break before a delimiter belongs to
//! the delimiter) and 5.2.1 (message/rfc822), and the part numbering of
//! RFC 9051 section 6.4.5.
//!
//! Everything works on the exact bytes of the message: an [`Entity`] is a
//! header range and a body range into the raw message, so `BODY[1.MIME]`,
//! `BODY[2.TEXT]` and the sizes in BODYSTRUCTURE are computed from the same
//! offsets and always agree.
//!
//! # Decisions
//!
//! - Only a blank line ends a header; a line without a colon is kept in the
//!   header range but is not a field.
//! - A multipart without a `boundary` parameter, or one nested past
//!   [`MAX_DEPTH`], is treated as `text/plain` (as Dovecot does), so the
//!   structure we report is always well-formed IMAP. A multipart whose body
//!   has no delimiter at all gets one empty `text/plain` part (the grammar
//!   requires at least one). A `message/rfc822` past the depth limit is
//!   reported as `application/octet-stream`.
//! - Past [`MAX_PARTS`] entities, further parts are not listed.
//! - A delimiter line is `--boundary` (optionally followed by `--`) and
//!   then only transport padding; a longer line that merely starts with the
//!   boundary is content (nested boundaries often share a prefix).

use std::ops::Range;

/// Deepest nesting of multiparts and encapsulated messages we descend into.
pub const MAX_DEPTH: usize = 64;
/// Most entities (parts at every level) we list for one message.
pub const MAX_PARTS: usize = 10_000;
/// Most header fields we keep per entity for the summary (sections re-scan
/// the header and see every field).
pub const MAX_FIELDS: usize = 2_000;
/// Most parameters kept from one Content-Type or Content-Disposition field.
pub const MAX_PARAMS: usize = 64;

/// One header field: offsets into the raw message.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The field name (trailing whitespace before the colon removed).
    pub name: Range<usize>,
    /// The raw value after the colon, folding included, line break excluded.
    pub value: Range<usize>,
}

/// A MIME entity: a header and a body.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// From the first header line to the start of the body (the blank line
    /// is included).
    pub header: Range<usize>,
    /// The body, without the line break that precedes a boundary delimiter.
    pub body: Range<usize>,
    /// The header fields (at most [`MAX_FIELDS`]).
    pub fields: Vec<Field>,
    /// The media type, as interpreted.
    pub ctype: ContentType,
    /// What the body contains.
    pub kind: Kind,
}

/// What an entity's body contains.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A leaf: text, image, application...
    Leaf,
    /// The parts of a multipart (never empty).
    Multipart(Vec<Entity>),
    /// The encapsulated message of a message/rfc822 (or message/global).
    Message(Box<Entity>),
}

/// A parsed Content-Type, strings as they appear in the message.
#[derive(Debug, Clone)]
pub(crate) struct ContentType {
    /// Top-level type (`text`).
    pub main: String,
    /// Subtype (`plain`).
    pub sub: String,
    /// Parameters: raw attribute and unquoted value.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ContentType {
    fn new(main: &str, sub: &str, params: Vec<(Vec<u8>, Vec<u8>)>) -> ContentType {
        ContentType {
            main: main.to_string(),
            sub: sub.to_string(),
            params,
        }
    }

    fn text_plain() -> ContentType {
        ContentType::new(
            "text",
            "plain",
            vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
        )
    }

    /// `main/sub` compared case-insensitively.
    pub fn is(&self, main: &str, sub: &str) -> bool {
        self.main.eq_ignore_ascii_case(main) && self.sub.eq_ignore_ascii_case(sub)
    }

    /// The top-level type compared case-insensitively.
    pub fn is_main(&self, main: &str) -> bool {
        self.main.eq_ignore_ascii_case(main)
    }

    /// A parameter's value by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether this is an encapsulated message (RFC 9051 `media-message`).
    pub fn is_message(&self) -> bool {
        self.is("message", "rfc822") || self.is("message", "global")
    }
}

impl Entity {
    /// The first field with this name (case-insensitive).
    pub fn field<'r>(&self, raw: &'r [u8], name: &str) -> Option<&'r [u8]> {
        self.fields
            .iter()
            .find(|f| raw[f.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| &raw[f.value.clone()])
    }
}

/// Parses the structure of a whole message. Never panics; total work is
/// bounded by [`MAX_DEPTH`] scans of the input.
pub(crate) fn parse(raw: &[u8]) -> Entity {
    let mut budget = MAX_PARTS;
    entity(raw, 0..raw.len(), 0, false, &mut budget)
}

fn entity(
    raw: &[u8],
    range: Range<usize>,
    depth: usize,
    in_digest: bool,
    budget: &mut usize,
) -> Entity {
    *budget = budget.saturating_sub(1);
    let (fields, body_start) = header_fields(raw, range.clone(), MAX_FIELDS);
    let header = range.start..body_start;
    let body = body_start..range.end;
    let mut entity = Entity {
        header,
        body: body.clone(),
        fields,
        ctype: ContentType::text_plain(),
        kind: Kind::Leaf,
    };
    entity.ctype = match entity
        .field(raw, "content-type")
        .and_then(parse_content_type)
    {
        Some(ct) => ct,
        None if in_digest => ContentType::new("message", "rfc822", Vec::new()),
        None => ContentType::text_plain(),
    };
    let too_deep = depth + 1 >= MAX_DEPTH;
    if entity.ctype.is_main("multipart") {
        let boundary = entity.ctype.param("boundary").map(<[u8]>::to_vec);
        match boundary {
            Some(b) if !b.is_empty() && !too_deep => {
                let digest = entity.ctype.sub.eq_ignore_ascii_case("digest");
                let mut parts = Vec::new();
                for r in split_multipart(raw, body.clone(), &b) {
                    if *budget == 0 {
                        break;
                    }
                    parts.push(self::entity(raw, r, depth + 1, digest, budget));
                }
                if parts.is_empty() {
                    parts.push(Entity {
                        header: body.end..body.end,
                        body: body.end..body.end,
                        fields: Vec::new(),
                        ctype: ContentType::text_plain(),
                        kind: Kind::Leaf,
                    });
                }
                entity.kind = Kind::Multipart(parts);
            }
            _ => entity.ctype = ContentType::text_plain(),
        }
    } else if entity.ctype.is_message() {
        if too_deep || *budget == 0 {
            entity.ctype = ContentType::new("application", "octet-stream", Vec::new());
        } else {
            let inner = self::entity(raw, body, depth + 1, false, budget);
            entity.kind = Kind::Message(Box::new(inner));
        }
    }
    entity
}

/// The end of the line starting at `pos` (index after its `\n`, or `end`).
pub(crate) fn line_end(raw: &[u8], pos: usize, end: usize) -> usize {
    match raw[pos..end].iter().position(|&b| b == b'\n') {
        Some(i) => pos + i + 1,
        None => end,
    }
}

fn is_blank_line(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// Splits the header at the start of `range` into fields (at most `max`) and
/// returns them with the offset where the body starts (after the blank
/// line, or `range.end` when there is none).
pub(crate) fn header_fields(raw: &[u8], range: Range<usize>, max: usize) -> (Vec<Field>, usize) {
    let mut fields = Vec::new();
    let mut pos = range.start;
    let end = range.end;
    while pos < end {
        let next = line_end(raw, pos, end);
        let line = &raw[pos..next];
        if is_blank_line(line) {
            return (fields, next);
        }
        let continuation = line[0] == b' ' || line[0] == b'\t';
        if continuation {
            if let Some(last) = fields.last_mut() {
                last.value.end = strip_eol(raw, pos, next);
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let mut name_end = pos + colon;
            while name_end > pos && matches!(raw[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            if name_end > pos && fields.len() < max {
                fields.push(Field {
                    name: pos..name_end,
                    value: pos + colon + 1..strip_eol(raw, pos, next),
                });
            }
        }
        pos = next;
    }
    (fields, end)
}

/// The offset of the line break at the end of `[start, next)`.
fn strip_eol(raw: &[u8], start: usize, next: usize) -> usize {
    let mut e = next;
    if e > start && raw[e - 1] == b'\n' {
        e -= 1;
        if e > start && raw[e - 1] == b'\r' {
            e -= 1;
        }
    }
    e
}

/// Splits a multipart body into the ranges of its parts (RFC 2046 5.1.1).
pub(crate) fn split_multipart(
    raw: &[u8],
    body: Range<usize>,
    boundary: &[u8],
) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut pos = body.start;
    while pos < body.end {
        let next = line_end(raw, pos, body.end);
        if let Some(close) = delimiter(&raw[pos..next], boundary) {
            if let Some(start) = current.take() {
                parts.push(start..strip_eol(raw, start, pos).max(start));
            }
            if close || parts.len() >= MAX_PARTS {
                return parts;
            }
            current = Some(next);
        }
        pos = next;
    }
    if let Some(start) = current {
        parts.push(start..body.end);
    }
    parts
}

/// `Some(is_close)` when `line` is a delimiter line for `boundary`.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .then_some(close)
}

// ---- structured field values (RFC 2045 section 5.1, RFC 2183) -------------

/// A cursor over a structured header value that skips folding and comments.
pub(crate) struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(s: &'a [u8]) -> Lexer<'a> {
        Lexer { s, i: 0 }
    }

    /// Skips whitespace, line breaks and (nested) comments.
    pub fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.i += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    pub fn eat(&mut self, c: u8) -> bool {
        self.skip_cfws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub fn at_end(&mut self) -> bool {
        self.skip_cfws();
        self.i >= self.s.len()
    }

    /// An RFC 2045 token (8-bit bytes are tolerated).
    pub fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_cfws();
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            if c <= b' ' || c == 0x7f || b"()<>@,;:\\\"/[]?=".contains(&c) {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| &self.s[start..self.i])
    }

    /// A quoted string, unescaped.
    pub fn quoted(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    if let Some(&n) = self.s.get(self.i) {
                        out.push(n);
                        self.i += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(c),
            }
        }
        Some(out)
    }

    /// Skips to the next `;` (error recovery).
    fn skip_to_semicolon(&mut self) {
        while let Some(&c) = self.s.get(self.i) {
            if c == b';' {
                return;
            }
            self.i += 1;
        }
    }

    /// `*(";" attribute "=" value)`, at most [`MAX_PARAMS`].
    pub fn params(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            if self.at_end() || out.len() >= MAX_PARAMS {
                return out;
            }
            if !self.eat(b';') {
                self.skip_to_semicolon();
                continue;
            }
            let Some(name) = self.token() else { continue };
            let name = name.to_vec();
            if !self.eat(b'=') {
                continue;
            }
            let value = match self.quoted() {
                Some(v) => v,
                None => match self.token() {
                    Some(t) => t.to_vec(),
                    None => continue,
                },
            };
            out.push((name, value));
        }
    }
}

fn ascii_token(t: &[u8]) -> Option<String> {
    t.is_ascii()
        .then(|| String::from_utf8_lossy(t).into_owned())
}

/// `type "/" subtype *(";" parameter)`; `None` when malformed.
pub(crate) fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let mut lx = Lexer::new(value);
    let main = ascii_token(lx.token()?)?;
    if !lx.eat(b'/') {
        return None;
    }
    let sub = ascii_token(lx.token()?)?;
    let params = lx.params();
    Some(ContentType { main, sub, params })
}

/// Raw MIME parameters: attribute and unquoted value.
pub(crate) type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// Content-Disposition: `type *(";" parameter)`.
pub(crate) fn parse_disposition(value: &[u8]) -> Option<(Vec<u8>, Params)> {
    let mut lx = Lexer::new(value);
    let kind = lx.token()?.to_vec();
    Some((kind, lx.params()))
}

/// Content-Language: a comma-separated list of tags.
pub(crate) fn parse_language(value: &[u8]) -> Vec<Vec<u8>> {
    let mut lx = Lexer::new(value);
    let mut out = Vec::new();
    while !lx.at_end() && out.len() < MAX_PARAMS {
        if let Some(t) = lx.token() {
            out.push(t.to_vec());
        } else if !lx.eat(b',') {
            lx.i += 1;
        }
    }
    out
}

/// A header value unfolded (line breaks removed) and trimmed.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let v: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let start = v.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = v.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(s), Some(e)) => v[s..=e].to_vec(),
        _ => Vec::new(),
    }
}

/// Counts lines as IMAP reports them: line breaks, plus a final line
/// without one.
pub(crate) fn count_lines(body: &[u8]) -> u32 {
    let lf = body.iter().filter(|&&b| b == b'\n').count();
    let partial = usize::from(body.last().is_some_and(|&b| b != b'\n'));
    u32::try_from(lf + partial).unwrap_or(u32::MAX)
}

/// Finds the entity named by a part path (RFC 9051 6.4.5). The returned flag
/// is true when the entity is a message (the top level, or one entered
/// through message/rfc822) rather than a body part.
pub(crate) fn resolve<'e>(root: &'e Entity, path: &[u32]) -> Option<(&'e Entity, bool)> {
    let mut cur = root;
    let mut at_message = true;
    for &n in path {
        if n == 0 {
            return None;
        }
        loop {
            match &cur.kind {
                Kind::Multipart(parts) => {
                    cur = parts.get(n as usize - 1)?;
                    at_message = false;
                    break;
                }
                _ if at_message => {
                    if n != 1 {
                        return None;
                    }
                    at_message = false;
                    break;
                }
                Kind::Message(inner) => {
                    cur = inner;
                    at_message = true;
                }
                Kind::Leaf => return None,
            }
        }
    }
    Some((cur, at_message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &[u8] = b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\n\r\nsecond\r\n--b1--\r\nepilogue\r\n";

    #[test]
    fn header_ends_at_blank_line_and_keeps_folding() {
        let raw = b"Subject: a\r\n b\r\nX: y\r\n\r\nbody";
        let (fields, body) = header_fields(raw, 0..raw.len(), 10);
        assert_eq!(fields.len(), 2);
        assert_eq!(&raw[fields[0].value.clone()], b" a\r\n b");
        assert_eq!(&raw[body..], b"body");
    }

    #[test]
    fn header_without_blank_line_has_empty_body() {
        let raw = b"Subject: a\r\nX: y";
        let (fields, body) = header_fields(raw, 0..raw.len(), 10);
        assert_eq!(fields.len(), 2);
        assert_eq!(body, raw.len());
    }

    #[test]
    fn multipart_parts_exclude_the_crlf_before_delimiters() {
        let e = parse(MULTI);
        let Kind::Multipart(parts) = &e.kind else {
            panic!("not multipart")
        };
        assert_eq!(parts.len(), 2);
        assert_eq!(&MULTI[parts[0].body.clone()], b"hello");
        assert_eq!(
            &MULTI[parts[0].header.clone()],
            b"Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(&MULTI[parts[1].header.clone()], b"\r\n");
        assert_eq!(&MULTI[parts[1].body.clone()], b"second");
    }

    #[test]
    fn boundary_prefix_of_longer_line_is_content() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b--\r\n";
        let e = parse(raw);
        let Kind::Multipart(parts) = &e.kind else {
            panic!()
        };
        assert_eq!(parts.len(), 1);
        assert_eq!(&raw[parts[0].body.clone()], b"--bx");
    }

    #[test]
    fn multipart_without_boundary_becomes_text() {
        let raw = b"Content-Type: multipart/mixed\r\n\r\nx\r\n";
        let e = parse(raw);
        assert!(matches!(e.kind, Kind::Leaf));
        assert!(e.ctype.is("text", "plain"));
    }

    #[test]
    fn multipart_without_delimiters_gets_one_empty_part() {
        let raw = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n";
        let e = parse(raw);
        let Kind::Multipart(parts) = &e.kind else {
            panic!()
        };
        assert_eq!(parts.len(), 1);
        assert!(parts[0].body.is_empty());
    }

    #[test]
    fn unterminated_multipart_ends_at_the_body_end() {
        let raw = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nabc\r\n";
        let e = parse(raw);
        let Kind::Multipart(parts) = &e.kind else {
            panic!()
        };
        assert_eq!(&raw[parts[0].body.clone()], b"abc\r\n");
    }

    #[test]
    fn depth_is_capped() {
        let mut raw = Vec::new();
        for i in 0..200 {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        raw.extend_from_slice(b"\r\nleaf\r\n");
        let e = parse(&raw);
        let mut depth = 0;
        let mut cur = &e;
        while let Kind::Multipart(p) = &cur.kind {
            cur = &p[0];
            depth += 1;
        }
        assert!(depth < MAX_DEPTH, "{depth}");
        assert!(depth > 10);
    }

    #[test]
    fn parts_are_capped() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..(MAX_PARTS + 50) {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        let e = parse(&raw);
        let Kind::Multipart(p) = &e.kind else {
            panic!()
        };
        assert!(p.len() < MAX_PARTS);
        assert!(p.len() > MAX_PARTS - 10);
    }

    #[test]
    fn content_type_params_and_comments() {
        let ct = parse_content_type(b" Text/HTML (c) ; charset = \"utf-8\" ; name=a\\b; junk; x=y")
            .unwrap();
        assert_eq!(ct.main, "Text");
        assert_eq!(ct.sub, "HTML");
        assert_eq!(ct.param("CHARSET"), Some(&b"utf-8"[..]));
        assert_eq!(ct.param("x"), Some(&b"y"[..]));
        assert!(parse_content_type(b"text").is_none());
        assert!(parse_content_type(b"").is_none());
    }

    #[test]
    fn digest_parts_default_to_message_rfc822() {
        let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\nhi\r\n--d--\r\n";
        let e = parse(raw);
        let Kind::Multipart(p) = &e.kind else {
            panic!()
        };
        assert!(matches!(p[0].kind, Kind::Message(_)));
    }

    #[test]
    fn resolve_follows_rfc9051_numbering() {
        let single = parse(b"Subject: x\r\n\r\nbody");
        assert!(resolve(&single, &[1]).is_some());
        assert!(resolve(&single, &[2]).is_none());
        assert!(resolve(&single, &[1, 1]).is_none());
        let m = parse(MULTI);
        assert!(resolve(&m, &[2]).is_some());
        assert!(resolve(&m, &[3]).is_none());
        assert!(resolve(&m, &[0]).is_none());
        assert!(resolve(&m, &[1, 1]).is_none());
    }

    #[test]
    fn lines_are_counted_with_partial_last_line() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\r\n"), 1);
        assert_eq!(count_lines(b"a\r\nb"), 2);
    }
}
