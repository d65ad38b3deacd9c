//! Address lists for the IMAP ENVELOPE.
//!
//! RFC 5322 section 3.4 (`address-list`, `mailbox`, `group`, `angle-addr`,
//! obsolete routes of section 4.4) turned into RFC 9051 section 7.5.2
//! address structures: `(name adl mailbox host)`, with a group written as
//! `(NIL NIL "group" NIL)` ... `(NIL NIL NIL NIL)`.
//!
//! Names are kept as they appear (quotes and escapes removed, RFC 2047 words
//! left encoded, as the ENVELOPE carries them); a comment stands in for a
//! missing display name (`user@host (Real Name)`). The parser is lenient:
//! whatever it cannot make sense of it skips, and it lists at most
//! [`MAX_ADDRESSES`] entries.

/// Most entries (mailboxes and group markers) read from one header field.
pub const MAX_ADDRESSES: usize = 1_000;

/// One entry of an ENVELOPE address list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addr {
    /// A mailbox.
    Mailbox {
        /// Display name, raw.
        name: Option<String>,
        /// Source route (`@a,@b`), obsolete.
        adl: Option<String>,
        /// Local part.
        mailbox: String,
        /// Domain (empty when the address has none).
        host: String,
    },
    /// Start of a group: its display name.
    GroupStart(String),
    /// End of a group.
    GroupEnd,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String, bool),
    Comment(String),
    Special(u8),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut out = Vec::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    if b[i] != b'\r' && b[i] != b'\n' {
                        out.push(b[i]);
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Word(String::from_utf8_lossy(&out).into_owned(), true));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut out = Vec::new();
                while i < b.len() {
                    match b[i] {
                        b'(' => {
                            if depth > 0 {
                                out.push(b'(');
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                            out.push(b')');
                        }
                        b'\\' if i + 1 < b.len() => {
                            i += 1;
                            out.push(b[i]);
                        }
                        x => out.push(x),
                    }
                    i += 1;
                }
                toks.push(Tok::Comment(
                    String::from_utf8_lossy(&out).trim().to_string(),
                ));
            }
            b'[' => {
                let start = i;
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                toks.push(Tok::Word(s[start..i].to_string(), false));
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' => {
                toks.push(Tok::Special(c));
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b" \t\r\n\"(<>@,;:[".contains(&b[i]) {
                    i += 1;
                }
                // `s` is a str and we stop only at ASCII bytes: a char boundary.
                toks.push(Tok::Word(s[start..i].to_string(), false));
            }
        }
    }
    toks
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn special(&self) -> Option<u8> {
        match self.peek() {
            Some(Tok::Special(c)) => Some(*c),
            _ => None,
        }
    }

    /// Words up to the next special; comments go to `comment`.
    fn words(&mut self, comment: &mut Option<String>) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            match t {
                Tok::Word(w, q) => out.push((w.clone(), *q)),
                Tok::Comment(c) => {
                    if !c.is_empty() {
                        *comment = Some(c.clone());
                    }
                }
                Tok::Special(_) => break,
            }
            self.i += 1;
        }
        out
    }
}

fn phrase(words: &[(String, bool)]) -> Option<String> {
    let s = words
        .iter()
        .map(|(w, _)| w.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (!s.is_empty()).then_some(s)
}

fn local_part(words: &[(String, bool)]) -> String {
    words
        .iter()
        .map(|(w, quoted)| {
            if *quoted {
                format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                w.clone()
            }
        })
        .collect()
}

/// Parses an address-list header value (already unfolded).
pub(crate) fn parse_address_list(value: &str) -> Vec<Addr> {
    let mut p = Parser {
        toks: tokenize(value),
        i: 0,
    };
    let mut out = Vec::new();
    let mut in_group = false;
    while p.i < p.toks.len() && out.len() < MAX_ADDRESSES {
        let before = p.i;
        let mut comment = None;
        let words = p.words(&mut comment);
        match p.special() {
            Some(b':') if !in_group => {
                p.i += 1;
                out.push(Addr::GroupStart(phrase(&words).unwrap_or_default()));
                in_group = true;
            }
            Some(b'<') => {
                p.i += 1;
                let mut adl = None;
                if p.special() == Some(b'@') {
                    // Obsolete route: "@a,@b:" up to the colon.
                    let mut route = String::new();
                    while let Some(t) = p.peek().cloned() {
                        p.i += 1;
                        match &t {
                            Tok::Special(b':') | Tok::Special(b'>') => break,
                            Tok::Special(c) => route.push(char::from(*c)),
                            Tok::Word(w, _) => route.push_str(w),
                            Tok::Comment(_) => {}
                        }
                    }
                    adl = Some(route);
                }
                let mut inner_comment = None;
                let local = p.words(&mut inner_comment);
                let mut host = String::new();
                if p.special() == Some(b'@') {
                    p.i += 1;
                    host = local_part(&p.words(&mut inner_comment));
                }
                // Skip to the closing '>' (tolerating junk).
                while let Some(t) = p.peek().cloned() {
                    p.i += 1;
                    if t == Tok::Special(b'>') {
                        break;
                    }
                }
                let mut trailing = None;
                p.words(&mut trailing);
                out.push(Addr::Mailbox {
                    name: phrase(&words).or(comment).or(trailing),
                    adl,
                    mailbox: local_part(&local),
                    host,
                });
            }
            Some(b'@') => {
                p.i += 1;
                let host = local_part(&p.words(&mut comment));
                out.push(Addr::Mailbox {
                    name: comment,
                    adl: None,
                    mailbox: local_part(&words),
                    host,
                });
            }
            _ => {
                if !words.is_empty() {
                    out.push(Addr::Mailbox {
                        name: comment,
                        adl: None,
                        mailbox: local_part(&words),
                        host: String::new(),
                    });
                }
            }
        }
        match p.special() {
            Some(b',') => p.i += 1,
            Some(b';') => {
                p.i += 1;
                if in_group {
                    out.push(Addr::GroupEnd);
                    in_group = false;
                }
            }
            _ => {}
        }
        if p.i == before {
            // A stray special ('>' or ':' inside a group): skip it.
            p.i += 1;
        }
    }
    if in_group {
        out.push(Addr::GroupEnd);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, mailbox: &str, host: &str) -> Addr {
        Addr::Mailbox {
            name: name.map(str::to_string),
            adl: None,
            mailbox: mailbox.into(),
            host: host.into(),
        }
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Addr>)> = vec![
            ("a@example.com", vec![mb(None, "a", "example.com")]),
            (
                "\"Doe, John\" <john.doe@example.com>",
                vec![mb(Some("Doe, John"), "john.doe", "example.com")],
            ),
            (
                "John Q. Public <jqp@x.org>, b@y.org",
                vec![
                    mb(Some("John Q. Public"), "jqp", "x.org"),
                    mb(None, "b", "y.org"),
                ],
            ),
            ("u@h (Real Name)", vec![mb(Some("Real Name"), "u", "h")]),
            (
                "=?utf-8?q?J=C3=B6rg?= <j@h>",
                vec![mb(Some("=?utf-8?q?J=C3=B6rg?="), "j", "h")],
            ),
            (
                "undisclosed-recipients:;",
                vec![
                    Addr::GroupStart("undisclosed-recipients".into()),
                    Addr::GroupEnd,
                ],
            ),
            (
                "Team: a@x, B <b@y>; c@z",
                vec![
                    Addr::GroupStart("Team".into()),
                    mb(None, "a", "x"),
                    mb(Some("B"), "b", "y"),
                    Addr::GroupEnd,
                    mb(None, "c", "z"),
                ],
            ),
            ("\"john doe\"@h", vec![mb(None, "\"john doe\"", "h")]),
            ("localonly", vec![mb(None, "localonly", "")]),
            ("<>", vec![mb(None, "", "")]),
            ("", vec![]),
            (",,,", vec![]),
            ("a@[127.0.0.1]", vec![mb(None, "a", "[127.0.0.1]")]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_address_list(input), want, "{input}");
        }
    }

    #[test]
    fn obsolete_route() {
        let got = parse_address_list("<@r1,@r2:u@h>");
        assert_eq!(
            got,
            vec![Addr::Mailbox {
                name: None,
                adl: Some("@r1,@r2".into()),
                mailbox: "u".into(),
                host: "h".into(),
            }]
        );
    }

    #[test]
    fn junk_does_not_loop_or_panic() {
        for s in [
            "<<<>>>",
            ":::;;;",
            "a@@b",
            "(unclosed",
            "\"unclosed",
            "[x",
            ">a@b",
            "é@ü <ö>",
        ] {
            let _ = parse_address_list(s);
        }
    }

    #[test]
    fn address_count_is_capped() {
        let many = "a@b,".repeat(MAX_ADDRESSES * 2);
        assert_eq!(parse_address_list(&many).len(), MAX_ADDRESSES);
    }
}
