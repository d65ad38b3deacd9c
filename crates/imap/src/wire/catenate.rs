//! CATENATE (RFC 4469) on the wire: the parts of a message built on the
//! server, and the IMAP URLs (RFC 5092) its URL parts name.
//!
//! An APPEND message may be `CATENATE (cat-part *(SP cat-part))` instead
//! of a literal (RFC 4469 section 5), each part `TEXT literal` (or
//! `literal8` with BINARY) or `URL astring`. The parser (`parser/catenate.rs`)
//! makes [`CatenateMessage`]s; the session (`session/catenate.rs`) resolves
//! the URLs.
//!
//! Only the forms naming a message (or a part of one) on this server are
//! understood (RFC 5092 `imessagepart`):
//!
//! ```text
//! imap://[user@]host[:port]/mailbox[;UIDVALIDITY=n]/;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]
//! /mailbox[;UIDVALIDITY=n]/;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]    (absolute path)
//! ;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]                           (relative)
//! ```
//!
//! A relative URL is resolved against the selected mailbox's URL
//! (`imap://user@host/<selected>;UIDVALIDITY=<v>/`, RFC 3986 5.2), so it
//! needs a selected mailbox. The host of an absolute URL is not checked
//! (the server does not know every name clients reach it by); its user,
//! when given, must be the logged-in user (another user's URL would need
//! URLAUTH, RFC 4467, which we do not offer). Mailbox names are UTF-8,
//! %-encoded (RFC 5092 section 3). `;URLAUTH=`, `;EXPIRE=`, search
//! queries and anything else are refused, as a bad URL.

use crate::message::SectionSpec;

/// Most parts (TEXT and URL together) of all messages of one APPEND.
pub const MAX_CATENATE_PARTS: usize = 256;

/// One part of a CATENATE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatPart {
    /// `TEXT literal`: the octets as sent.
    Text(Vec<u8>),
    /// `URL astring`: the URL as sent.
    Url(String),
}

/// One message of an APPEND that uses CATENATE (the others of the same
/// APPEND have a single `TEXT` part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatenateMessage {
    /// Its flags, as sent.
    pub flags: Vec<String>,
    /// Its internal date.
    pub date: Option<i64>,
    /// Its parts, in order.
    pub parts: Vec<CatPart>,
}

/// A parsed IMAP URL naming a message or a part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    /// The user of an absolute URL (`imap://user@host/`), %-decoded.
    pub user: Option<String>,
    /// The mailbox; `None` for a relative URL (the selected one).
    pub mailbox: Option<String>,
    /// `;UIDVALIDITY=`.
    pub uid_validity: Option<u32>,
    /// `;UID=`.
    pub uid: u32,
    /// `;SECTION=`; `None` is the whole message.
    pub section: Option<SectionSpec>,
    /// `;PARTIAL=offset[.length]`.
    pub partial: Option<(u32, Option<u32>)>,
}

impl ImapUrl {
    /// Parses `text`; `None` when it is not a URL of the forms above.
    pub fn parse(text: &str) -> Option<ImapUrl> {
        let mut url = ImapUrl {
            user: None,
            mailbox: None,
            uid_validity: None,
            uid: 0,
            section: None,
            partial: None,
        };
        let rest = if let Some(abs) = strip_prefix_ci(text, "imap://") {
            let (authority, path) = abs.split_once('/')?;
            if let Some((user, _host)) = authority.rsplit_once('@') {
                // `user;AUTH=mech` is allowed by RFC 5092; the mechanism
                // does not matter here.
                let user = user.split(';').next().unwrap_or(user);
                url.user = Some(String::from_utf8(decode(user)?).ok()?);
            }
            url.mailbox_part(path)?
        } else if let Some(path) = text.strip_prefix('/') {
            url.mailbox_part(path)?
        } else {
            text
        };
        let mut segments = rest.split('/');
        url.uid = param(segments.next()?, ";UID=")?.parse().ok()?;
        if url.uid == 0 {
            return None;
        }
        for seg in segments {
            if url.partial.is_some() {
                return None;
            }
            if let Some(s) = param(seg, ";SECTION=") {
                if url.section.is_some() {
                    return None;
                }
                let s = String::from_utf8(decode(&s)?).ok()?;
                url.section = Some(crate::wire::parser::url_section(&s)?);
            } else if let Some(p) = param(seg, ";PARTIAL=") {
                url.partial = Some(partial(p)?);
            } else {
                return None;
            }
        }
        Some(url)
    }

    /// `mailbox[;UIDVALIDITY=n]/rest`: takes the mailbox (which may hold
    /// `/`, but never a raw `;`), returns the rest.
    fn mailbox_part<'a>(&mut self, path: &'a str) -> Option<&'a str> {
        let (head, tail) = path.split_at(path.find(';')?);
        let (name, rest) = match head.strip_suffix('/') {
            Some(name) => (name, tail),
            None => {
                let (v, rest) = tail[1..].split_once('/')?;
                let v: u32 = strip_prefix_ci(v, "UIDVALIDITY=")?.parse().ok()?;
                if v == 0 {
                    return None;
                }
                self.uid_validity = Some(v);
                (head, rest)
            }
        };
        let name = String::from_utf8(decode(name)?).ok()?;
        if name.is_empty() {
            return None;
        }
        self.mailbox = Some(name);
        Some(rest)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The value of `;NAME=value` (name case-insensitive), digits and all.
fn param(seg: &str, name: &str) -> Option<String> {
    strip_prefix_ci(seg, name).map(str::to_string)
}

/// `offset[.length]`, length not zero.
fn partial(p: String) -> Option<(u32, Option<u32>)> {
    match p.split_once('.') {
        Some((o, l)) => {
            let l: u32 = l.parse().ok()?;
            (l > 0).then_some(())?;
            Some((o.parse().ok()?, Some(l)))
        }
        None => Some((p.parse().ok()?, None)),
    }
}

/// %-decoding (RFC 3986 2.1); a `%` not followed by two hex digits fails.
fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The URL as a `BADURL` response code may carry it (RFC 4469 5 with
/// errata 2002: any TEXT-CHAR but `]`), cut to a sane length.
pub fn badurl_text(url: &str) -> String {
    url.chars()
        .filter(|&c| (' '..='~').contains(&c) && c != ']')
        .take(512)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SectionText;

    #[test]
    fn absolute_path_with_everything() {
        let u = ImapUrl::parse("/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9").unwrap();
        assert_eq!(u.mailbox.as_deref(), Some("INBOX"));
        assert_eq!(u.uid_validity, Some(785799047));
        assert_eq!(u.uid, 113330);
        assert_eq!(u.section.unwrap().part, vec![1, 5, 9]);
        assert_eq!(u.partial, None);
    }

    #[test]
    fn full_url_relative_url_and_encodings() {
        let u = ImapUrl::parse("imap://bob%40x.org@mail.x.org:993/Dr%C3%A4fts/;uid=7/;section=HEADER.FIELDS%20(SUBJECT)/;PARTIAL=2.10").unwrap();
        assert_eq!(u.user.as_deref(), Some("bob@x.org"));
        assert_eq!(u.mailbox.as_deref(), Some("Dräfts"));
        assert_eq!(u.uid_validity, None);
        let s = u.section.unwrap();
        assert_eq!(s.text, SectionText::HeaderFields(vec!["SUBJECT".into()]));
        assert_eq!(u.partial, Some((2, Some(10))));
        let r = ImapUrl::parse(";UID=20/;SECTION=TEXT").unwrap();
        let h = ImapUrl::parse("/Shared/a%40b/Team/Sub;UIDVALIDITY=3/;UID=2").unwrap();
        assert_eq!(h.mailbox.as_deref(), Some("Shared/a@b/Team/Sub"));
        assert_eq!((h.uid_validity, h.uid), (Some(3), 2));
        assert_eq!((r.mailbox, r.uid), (None, 20));
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "",
            "/INBOX",
            "/INBOX/;UID=0",
            "/INBOX;UIDVALIDITY=0/;UID=1",
            "/INBOX;UIDVALIDITY=x/;UID=1",
            "//;UID=1",
            "/INBOX/;UID=1/;SECTION=BOGUS",
            "/INBOX/;UID=1/;PARTIAL=1.0",
            "/INBOX/;UID=1/;PARTIAL=1/;SECTION=1",
            "/INBOX/;UID=1/;URLAUTH=anonymous",
            "/INBOX?SUBJECT%20x",
            "/IN%zzBOX/;UID=1",
            "http://x/INBOX/;UID=1",
            "imap://host",
        ] {
            assert_eq!(ImapUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn badurl_text_cannot_close_the_code() {
        assert_eq!(badurl_text("/a]b\r\n\u{e9}c"), "/abc");
    }
}
