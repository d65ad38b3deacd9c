//! The per-message summary computed once at delivery.
//!
//! It holds what FETCH ENVELOPE/BODY/BODYSTRUCTURE/PREVIEW (RFC 9051
//! 7.5.2, RFC 8970) and SORT/THREAD (RFC 5256, RFC 5957) need, so those never
//! read the message body. [`ImapSummarizer`] builds it for the store; the
//! binary encoding lives in `codec.rs`, the wire rendering in `render.rs`.
//!
//! Strings are kept as the message has them (RFC 2047 words left encoded in
//! the envelope, as RFC 9051 wants); 8-bit header bytes that are not UTF-8
//! are read as Latin-1 so that every stored string is valid UTF-8.

use mail_parser::DateTime;

use super::address::{Addr, parse_address_list};
use super::mime::{self, Entity, Kind};
use super::text::{decode_header_text, lossless_text, preview};

/// Most message-ids kept from a References header.
pub const MAX_REFERENCES: usize = 256;

/// The IMAP ENVELOPE of a message (RFC 9051 7.5.2), raw header values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<Addr>,
    pub sender: Vec<Addr>,
    pub reply_to: Vec<Addr>,
    pub to: Vec<Addr>,
    pub cc: Vec<Addr>,
    pub bcc: Vec<Addr>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
}

/// One node of the body structure (RFC 9051 7.5.2 BODYSTRUCTURE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyNode {
    pub main: String,
    pub sub: String,
    pub params: Vec<(String, String)>,
    pub id: Option<String>,
    pub description: Option<String>,
    pub encoding: String,
    pub size: u32,
    pub lines: u32,
    pub md5: Option<String>,
    pub disposition: Option<(String, Vec<(String, String)>)>,
    pub language: Vec<String>,
    pub location: Option<String>,
    pub kind: NodeKind,
}

/// What a body node contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Leaf,
    Multipart(Vec<BodyNode>),
    Message(Box<Envelope>, Box<BodyNode>),
}

/// Everything IMAP keeps about a message's content besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub(crate) envelope: Envelope,
    pub(crate) body: BodyNode,
    pub(crate) preview: String,
    pub(crate) subject: Option<String>,
    pub(crate) sent_date: Option<i64>,
    pub(crate) references: Vec<String>,
}

/// The [`sealpost_store::Summarizer`] that IMAP needs at delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImapSummarizer;

impl sealpost_store::Summarizer for ImapSummarizer {
    fn summarize(&self, raw: &[u8]) -> Vec<u8> {
        Summary::from_message(raw).encode()
    }
    fn stream(&self) -> Option<Box<dyn sealpost_store::SummaryStream>> {
        Some(Box::new(super::stream::StreamSummary::new()))
    }
}

fn text_of(raw: &[u8], e: &Entity, name: &str) -> Option<String> {
    e.field(raw, name).map(|v| lossless_text(&mime::unfold(v)))
}

fn addresses(raw: &[u8], e: &Entity, name: &str) -> Vec<Addr> {
    e.field(raw, name)
        .map(|v| parse_address_list(&lossless_text(&mime::unfold(v))))
        .unwrap_or_default()
}

fn params_text(params: &[(Vec<u8>, Vec<u8>)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (lossless_text(k), lossless_text(v)))
        .collect()
}

pub(crate) fn envelope_of(raw: &[u8], e: &Entity) -> Envelope {
    Envelope {
        date: text_of(raw, e, "date"),
        subject: text_of(raw, e, "subject"),
        from: addresses(raw, e, "from"),
        sender: addresses(raw, e, "sender"),
        reply_to: addresses(raw, e, "reply-to"),
        to: addresses(raw, e, "to"),
        cc: addresses(raw, e, "cc"),
        bcc: addresses(raw, e, "bcc"),
        in_reply_to: text_of(raw, e, "in-reply-to"),
        message_id: text_of(raw, e, "message-id"),
    }
}

/// Octets and lines of an entity's body, from the message's bytes.
fn measure(raw: &[u8], e: &Entity) -> (u32, u32) {
    let body = &raw[e.body.clone()];
    (
        u32::try_from(body.len()).unwrap_or(u32::MAX),
        mime::count_lines(body),
    )
}

/// An entity's BODYSTRUCTURE node; `measured` gives each body's octets and
/// lines (from `raw`, or as counted while the message streamed in,
/// `stream.rs`).
fn body_of(raw: &[u8], e: &Entity, measured: &dyn Fn(&Entity) -> (u32, u32)) -> BodyNode {
    let (size, lines) = measured(e);
    let disposition = e
        .field(raw, "content-disposition")
        .and_then(mime::parse_disposition)
        .map(|(kind, params)| (lossless_text(&kind), params_text(&params)));
    let kind = match &e.kind {
        Kind::Leaf => NodeKind::Leaf,
        Kind::Multipart(parts) => {
            NodeKind::Multipart(parts.iter().map(|p| body_of(raw, p, measured)).collect())
        }
        Kind::Message(inner) => NodeKind::Message(
            Box::new(envelope_of(raw, inner)),
            Box::new(body_of(raw, inner, measured)),
        ),
    };
    BodyNode {
        main: e.ctype.main.clone(),
        sub: e.ctype.sub.clone(),
        params: params_text(&e.ctype.params),
        id: text_of(raw, e, "content-id"),
        description: text_of(raw, e, "content-description"),
        encoding: text_of(raw, e, "content-transfer-encoding")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "7BIT".to_string()),
        size,
        lines,
        md5: text_of(raw, e, "content-md5"),
        disposition,
        language: e
            .field(raw, "content-language")
            .map(|v| {
                mime::parse_language(v)
                    .iter()
                    .map(|l| lossless_text(l))
                    .collect()
            })
            .unwrap_or_default(),
        location: text_of(raw, e, "content-location"),
        kind,
    }
}

/// The `<...>` message-ids in a header value, brackets removed.
pub(crate) fn msg_ids(value: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let id: String = after[..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() {
            if out.len() == max {
                break;
            }
            out.push(id);
        }
        rest = &after[close + 1..];
    }
    out
}

/// A header's first message-id, or its trimmed text when it has no `<...>`.
fn first_id(value: Option<&str>) -> Option<String> {
    let v = value?;
    msg_ids(v, 1).pop().or_else(|| {
        let t = v.trim();
        (!t.is_empty() && !t.contains(char::is_whitespace)).then(|| t.to_string())
    })
}

impl Summary {
    /// Summarizes a raw message. Never panics.
    pub fn from_message(raw: &[u8]) -> Summary {
        let root = mime::parse(raw);
        Summary::from_parsed(raw, &root, &|e: &Entity| measure(raw, e))
    }

    /// Summarizes the entity tree `root` of `raw`, with each body's
    /// octets and lines from `measured`.
    pub(crate) fn from_parsed(
        raw: &[u8],
        root: &Entity,
        measured: &dyn Fn(&Entity) -> (u32, u32),
    ) -> Summary {
        let envelope = envelope_of(raw, root);
        let subject = root.field(raw, "subject").map(decode_header_text);
        let sent_date = envelope.date.as_deref().and_then(parse_rfc5322_date);
        let references = root
            .field(raw, "references")
            .map(|v| msg_ids(&lossless_text(v), MAX_REFERENCES))
            .unwrap_or_default();
        Summary {
            body: body_of(raw, root, measured),
            preview: preview(raw, root),
            envelope,
            subject,
            sent_date,
            references,
        }
    }

    /// The RFC 8970 preview: up to 200 characters, whitespace collapsed.
    pub fn preview(&self) -> &str {
        &self.preview
    }

    /// The Subject, RFC 2047 decoded.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The RFC 5256 section 2.1 base subject (for SORT SUBJECT and THREAD).
    pub fn base_subject(&self) -> String {
        super::subject::base_subject(self.subject().unwrap_or(""))
    }

    /// The Date header as Unix seconds, if present and valid.
    pub fn sent_date(&self) -> Option<i64> {
        self.sent_date
    }

    /// The Date header's calendar date as written, its time and zone
    /// disregarded: what SEARCH SENTBEFORE/SENTON/SENTSINCE compare (RFC
    /// 9051 6.4.4). It can differ from the UTC date of [`Self::sent_date`].
    pub fn sent_day(&self) -> Option<chrono::NaiveDate> {
        let dt = DateTime::parse_rfc822(self.envelope.date.as_deref()?)?;
        if !dt.is_valid() {
            return None;
        }
        chrono::NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))
    }

    fn first_mailbox(list: &[Addr]) -> Option<(&Option<String>, &str, &str)> {
        list.iter().find_map(|a| match a {
            Addr::Mailbox {
                name,
                mailbox,
                host,
                ..
            } => Some((name, mailbox.as_str(), host.as_str())),
            _ => None,
        })
    }

    /// The addr-mailbox (local part) of the first From address: the SORT
    /// FROM key of RFC 5256 section 3.
    pub fn from_addr(&self) -> Option<String> {
        Self::first_mailbox(&self.envelope.from).map(|(_, m, _)| m.to_string())
    }

    /// The addr-mailbox of the first To address (SORT TO).
    pub fn to_addr(&self) -> Option<String> {
        Self::first_mailbox(&self.envelope.to).map(|(_, m, _)| m.to_string())
    }

    /// The addr-mailbox of the first Cc address (SORT CC).
    pub fn cc_addr(&self) -> Option<String> {
        Self::first_mailbox(&self.envelope.cc).map(|(_, m, _)| m.to_string())
    }

    fn display(list: &[Addr]) -> Option<String> {
        // RFC 5957 section 3: the decoded display-name of the first address,
        // or when it has none, its addr-spec; a group counts by its name.
        match list.first()? {
            Addr::GroupStart(name) if !name.is_empty() => Some(decode_header_text(name.as_bytes())),
            _ => {
                let (name, mailbox, host) = Self::first_mailbox(list)?;
                match name.as_deref().map(|n| decode_header_text(n.as_bytes())) {
                    Some(n) if !n.is_empty() => Some(n),
                    _ if host.is_empty() => Some(mailbox.to_string()),
                    _ => Some(format!("{mailbox}@{host}")),
                }
            }
        }
    }

    /// The RFC 5957 DISPLAYFROM sort key.
    pub fn display_from(&self) -> Option<String> {
        Self::display(&self.envelope.from)
    }

    /// The RFC 5957 DISPLAYTO sort key.
    pub fn display_to(&self) -> Option<String> {
        Self::display(&self.envelope.to)
    }

    /// The Message-ID, angle brackets removed.
    pub fn message_id(&self) -> Option<String> {
        first_id(self.envelope.message_id.as_deref())
    }

    /// The first message-id of In-Reply-To, angle brackets removed.
    pub fn in_reply_to(&self) -> Option<String> {
        first_id(self.envelope.in_reply_to.as_deref())
    }

    /// SEARCH on a header the summary holds, without reading the message:
    /// `Some(matched)` for Subject, From, Sender, Reply-To, To, Cc, Bcc,
    /// Message-ID, In-Reply-To and Date; `None` for any other field (use
    /// [`super::search_text`] with [`super::TextWhere::Header`] on the raw
    /// message then). Matching is case-insensitive on decoded text; an
    /// empty needle matches when the field is present (RFC 9051 6.4.4).
    pub fn search_header(&self, field: &str, needle: &str) -> Option<bool> {
        let e = &self.envelope;
        let f = field.to_ascii_lowercase();
        let text: Option<String> = match f.as_str() {
            "subject" => self.subject.clone(),
            "date" => e.date.clone(),
            "message-id" => e.message_id.clone(),
            "in-reply-to" => e.in_reply_to.clone(),
            "from" | "sender" | "reply-to" | "to" | "cc" | "bcc" => {
                let list = match f.as_str() {
                    "from" => &e.from,
                    "sender" => &e.sender,
                    "reply-to" => &e.reply_to,
                    "to" => &e.to,
                    "cc" => &e.cc,
                    _ => &e.bcc,
                };
                (!list.is_empty()).then(|| address_text(list))
            }
            _ => return None,
        };
        Some(match text {
            None => false,
            Some(_) if needle.is_empty() => true,
            Some(t) => t.to_lowercase().contains(&needle.to_lowercase()),
        })
    }

    /// The message-ids of References, in order, angle brackets removed
    /// (at most [`MAX_REFERENCES`]).
    pub fn references(&self) -> Vec<String> {
        self.references.clone()
    }
}

/// An address list as searchable text: `Name <mailbox@host>, ...`, display
/// names decoded.
fn address_text(list: &[Addr]) -> String {
    let mut out = String::new();
    for a in list {
        let piece = match a {
            Addr::Mailbox {
                name,
                mailbox,
                host,
                ..
            } => {
                let spec = if host.is_empty() {
                    mailbox.clone()
                } else {
                    format!("{mailbox}@{host}")
                };
                match name {
                    Some(n) => format!("{} <{spec}>", decode_header_text(n.as_bytes())),
                    None => spec,
                }
            }
            Addr::GroupStart(g) => format!("{}:", decode_header_text(g.as_bytes())),
            Addr::GroupEnd => ";".to_string(),
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&piece);
    }
    out
}

/// Parses an RFC 5322 date-time into Unix seconds.
pub(crate) fn parse_rfc5322_date(value: &str) -> Option<i64> {
    let dt = DateTime::parse_rfc822(value)?;
    dt.is_valid().then(|| dt.to_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: =?ISO-8859-1?Q?Fred_Fo=F6?= <fred@example.com>\r\nTo: Team: a@x.org, b@y.org;, zed@z.org\r\nSubject: =?utf-8?q?Re=3A_caf=C3=A9?=\r\nMessage-ID: <B27397-0100000@example.com>\r\nIn-Reply-To: <parent@example.com> (comment)\r\nReferences: <root@example.com>\r\n <parent@example.com>\r\n\r\nHello   world\r\n";

    #[test]
    fn sort_and_thread_keys() {
        let s = Summary::from_message(MSG);
        assert_eq!(s.subject(), Some("Re: café"));
        assert_eq!(s.base_subject(), "café");
        assert_eq!(s.sent_date(), Some(760_686_745));
        // 21:52 at -0800 is already the next day in UTC; SENTON uses the
        // date as written.
        assert_eq!(s.sent_day(), chrono::NaiveDate::from_ymd_opt(1994, 2, 7));
        assert_eq!(s.from_addr().as_deref(), Some("fred"));
        assert_eq!(s.to_addr().as_deref(), Some("a"));
        assert_eq!(s.cc_addr(), None);
        assert_eq!(s.display_from().as_deref(), Some("Fred Foö"));
        assert_eq!(s.display_to().as_deref(), Some("Team"));
        assert_eq!(
            s.message_id().as_deref(),
            Some("B27397-0100000@example.com")
        );
        assert_eq!(s.in_reply_to().as_deref(), Some("parent@example.com"));
        assert_eq!(
            s.references(),
            vec!["root@example.com", "parent@example.com"]
        );
        assert_eq!(s.preview(), "Hello world");
    }

    #[test]
    fn search_header_from_the_summary() {
        let s = Summary::from_message(MSG);
        assert_eq!(s.search_header("FROM", "fred foö"), Some(true));
        assert_eq!(s.search_header("from", "FRED@EXAMPLE.COM"), Some(true));
        assert_eq!(s.search_header("to", "b@y.org"), Some(true));
        assert_eq!(s.search_header("to", "team"), Some(true));
        assert_eq!(s.search_header("subject", "CAFÉ"), Some(true));
        assert_eq!(s.search_header("subject", "tea"), Some(false));
        assert_eq!(s.search_header("cc", ""), Some(false));
        assert_eq!(s.search_header("from", ""), Some(true));
        assert_eq!(s.search_header("message-id", "b27397"), Some(true));
        assert_eq!(s.search_header("x-mailer", "x"), None);
        // Agrees with the raw search on the fields both can answer.
        for (field, needle) in [
            ("from", "fred"),
            ("subject", "re: caf"),
            ("to", "zed@z.org"),
            ("cc", "x"),
        ] {
            assert_eq!(
                s.search_header(field, needle),
                Some(super::super::search_text(
                    MSG,
                    needle,
                    super::super::TextWhere::Header(field.into())
                )),
                "{field} {needle}"
            );
        }
    }

    #[test]
    fn display_falls_back_to_addr_spec() {
        let s = Summary::from_message(b"From: u@h\r\nTo: \"\" <v@w>\r\n\r\n");
        assert_eq!(s.display_from().as_deref(), Some("u@h"));
        assert_eq!(s.display_to().as_deref(), Some("v@w"));
    }

    #[test]
    fn missing_headers() {
        let s = Summary::from_message(b"\r\nbody only");
        assert_eq!(s.subject(), None);
        assert_eq!(s.base_subject(), "");
        assert_eq!(s.sent_date(), None);
        assert_eq!(s.sent_day(), None);
        assert_eq!(s.from_addr(), None);
        assert_eq!(s.display_from(), None);
        assert_eq!(s.message_id(), None);
        assert!(s.references().is_empty());
    }

    #[test]
    fn bad_date_is_none() {
        let s = Summary::from_message(b"Date: not a date\r\n\r\n");
        assert_eq!(s.sent_date(), None);
    }

    #[test]
    fn msg_id_extraction() {
        assert_eq!(msg_ids("<a@b> junk <c@d>", 10), vec!["a@b", "c@d"]);
        assert_eq!(msg_ids("<a@b> <c@d>", 1), vec!["a@b"]);
        assert_eq!(msg_ids("<unclosed", 10), Vec::<String>::new());
        assert_eq!(first_id(Some("bare@id")), Some("bare@id".into()));
    }
}
