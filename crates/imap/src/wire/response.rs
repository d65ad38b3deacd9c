//! The response serializer (RFC 9051 section 7): status responses with
//! response codes, untagged data, continuation requests, and the string
//! forms (atom, quoted, literal) chosen for each value.
//!
//! Responses are typed ([`Status`], [`Code`]); NO versus BAD is decided by
//! the caller's types (see `crate::error`), never by looking at text.

use std::fmt::Write as _;

/// The condition of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok,
    /// Operational failure.
    No,
    /// Protocol error.
    Bad,
    /// Preauthenticated greeting (unused: every login is explicit).
    PreAuth,
    /// Closing.
    Bye,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// A response code (RFC 9051 7.1 and extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Code {
    Alert,
    AlreadyExists,
    AppendUid {
        uid_validity: u32,
        uid: u32,
    },
    /// APPENDUID with a set of UIDs (MULTIAPPEND, RFC 4315 section 3).
    AppendUids {
        uid_validity: u32,
        uids: String,
    },
    AuthenticationFailed,
    BadCharset,
    /// BADURL (RFC 4469 5): the URL as `catenate::badurl_text` made it.
    BadUrl(String),
    Cannot,
    Capability(String),
    ClientBug,
    Closed,
    CompressionActive,
    ContactAdmin,
    CopyUid {
        uid_validity: u32,
        from: String,
        to: String,
    },
    ExpungeIssued,
    HighestModSeq(u64),
    Limit,
    /// MESSAGELIMIT (RFC 9738): the limit, and with a command that did
    /// part of its set, the lowest UID it acted on.
    MessageLimit {
        limit: u32,
        lowest: Option<u32>,
    },
    /// MAILBOXID (RFC 8474 section 4).
    MailboxId(String),
    Modified(String),
    NoModSeq,
    NoPerm,
    /// METADATA (RFC 5464 4.2.1, 4.3): `LONGENTRIES n`, `MAXSIZE n`,
    /// `TOOMANY`.
    Metadata(String),
    /// NOUPDATE (RFC 5267 4.3.1): the tag whose UPDATE is refused.
    NoUpdate(String),
    /// NOTIFY (RFC 5465 5.x): `BADEVENT (...)`, `NOTIFICATIONOVERFLOW`.
    Notify(String),
    /// INPROGRESS (RFC 9585): a command's tag, messages done, and of how many.
    InProgress {
        tag: String,
        done: u32,
        goal: u32,
    },
    Nonexistent,
    OverQuota,
    Parse,
    PermanentFlags(String),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    /// Sequence numbers used under UIDONLY (RFC 9586 section 3).
    UidRequired,
    UidNext(u32),
    UidValidity(u32),
    Unavailable,
    UnknownCte,
    Unseen(u32),
}

impl Code {
    fn write(&self, out: &mut String) {
        let _ = match self {
            Code::Alert => write!(out, "ALERT"),
            Code::AlreadyExists => write!(out, "ALREADYEXISTS"),
            Code::AppendUid { uid_validity, uid } => write!(out, "APPENDUID {uid_validity} {uid}"),
            Code::AppendUids { uid_validity, uids } => {
                write!(out, "APPENDUID {uid_validity} {uids}")
            }
            Code::AuthenticationFailed => write!(out, "AUTHENTICATIONFAILED"),
            Code::BadCharset => write!(out, "BADCHARSET (UTF-8 US-ASCII)"),
            Code::BadUrl(url) => write!(out, "BADURL {url}"),
            Code::Cannot => write!(out, "CANNOT"),
            Code::Capability(c) => write!(out, "CAPABILITY {c}"),
            Code::ClientBug => write!(out, "CLIENTBUG"),
            Code::Closed => write!(out, "CLOSED"),
            Code::CompressionActive => write!(out, "COMPRESSIONACTIVE"),
            Code::ContactAdmin => write!(out, "CONTACTADMIN"),
            Code::CopyUid {
                uid_validity,
                from,
                to,
            } => write!(out, "COPYUID {uid_validity} {from} {to}"),
            Code::ExpungeIssued => write!(out, "EXPUNGEISSUED"),
            Code::HighestModSeq(m) => write!(out, "HIGHESTMODSEQ {m}"),
            Code::Limit => write!(out, "LIMIT"),
            Code::MessageLimit { limit, lowest } => match lowest {
                Some(uid) => write!(out, "MESSAGELIMIT {limit} {uid}"),
                None => write!(out, "MESSAGELIMIT {limit}"),
            },
            Code::MailboxId(id) => write!(out, "MAILBOXID ({id})"),
            Code::Modified(s) => write!(out, "MODIFIED {s}"),
            Code::NoModSeq => write!(out, "NOMODSEQ"),
            Code::NoPerm => write!(out, "NOPERM"),
            Code::Nonexistent => write!(out, "NONEXISTENT"),
            Code::OverQuota => write!(out, "OVERQUOTA"),
            Code::Parse => write!(out, "PARSE"),
            Code::PermanentFlags(f) => write!(out, "PERMANENTFLAGS ({f})"),
            Code::PrivacyRequired => write!(out, "PRIVACYREQUIRED"),
            Code::ReadOnly => write!(out, "READ-ONLY"),
            Code::ReadWrite => write!(out, "READ-WRITE"),
            Code::ServerBug => write!(out, "SERVERBUG"),
            Code::TooBig => write!(out, "TOOBIG"),
            Code::UidRequired => write!(out, "UIDREQUIRED"),
            Code::TryCreate => write!(out, "TRYCREATE"),
            Code::UidNext(n) => write!(out, "UIDNEXT {n}"),
            Code::UidValidity(n) => write!(out, "UIDVALIDITY {n}"),
            Code::Unavailable => write!(out, "UNAVAILABLE"),
            Code::UnknownCte => write!(out, "UNKNOWN-CTE"),
            Code::Unseen(n) => write!(out, "UNSEEN {n}"),
            Code::NoUpdate(tag) => write!(out, "NOUPDATE {}", quoted(tag)),
            Code::Metadata(what) => write!(out, "METADATA {what}"),
            Code::Notify(what) => write!(out, "{what}"),
            Code::InProgress { tag, done, goal } => match goal {
                0 => write!(out, "INPROGRESS ({} {done} NIL)", quoted(tag)),
                _ => write!(out, "INPROGRESS ({} {done} {goal})", quoted(tag)),
            },
        };
    }
}

/// An output buffer of responses.
#[derive(Debug, Default)]
pub struct Out {
    /// The bytes to send.
    pub buf: Vec<u8>,
}

impl Out {
    /// An empty buffer.
    pub fn new() -> Out {
        Out::default()
    }

    /// A status response, tagged (`tag`) or untagged (`None`).
    pub fn status(&mut self, tag: Option<&str>, status: Status, code: Option<Code>, text: &str) {
        let mut line = String::with_capacity(64);
        line.push_str(tag.unwrap_or("*"));
        line.push(' ');
        line.push_str(status.as_str());
        line.push(' ');
        if let Some(code) = code {
            line.push('[');
            code.write(&mut line);
            line.push_str("] ");
        }
        // Response text must not break the line.
        line.extend(text.chars().filter(|c| !c.is_control()));
        line.push_str("\r\n");
        self.buf.extend_from_slice(line.as_bytes());
    }

    /// `* <data>\r\n`.
    pub fn untagged(&mut self, data: &str) {
        self.buf.extend_from_slice(b"* ");
        self.buf.extend_from_slice(data.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+ <text>\r\n`.
    pub fn cont(&mut self, text: &str) {
        self.buf.extend_from_slice(b"+ ");
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Raw bytes (pieces of a FETCH response).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the bytes written so far.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// Longest value sent as a quoted string; longer ones go as literals.
pub const MAX_QUOTED: usize = 1024;

/// Whether `s` may be sent as a quoted string (RFC 9051 4.3, RFC 3501
/// 4.3): short, no CR, LF or NUL, none of the quoted-specials `"` and `\`
/// (sent as literals rather than escaped, so no client has to undo
/// escapes), and 7-bit unless the client accepts UTF-8 (`utf8`: UTF8=ACCEPT
/// or IMAP4rev2, RFC 6855).
fn quotable(s: &str, utf8: bool) -> bool {
    s.len() < MAX_QUOTED
        && s.bytes()
            .all(|b| !matches!(b, b'\r' | b'\n' | 0 | b'"' | b'\\') && (utf8 || b < 0x80))
}

/// Appends `s` as an IMAP `string`: quoted when it can be (see
/// `quotable`), else a synchronizing literal. NUL may be in neither a
/// quoted string nor a non-binary literal (RFC 9051 4.3): it is dropped.
/// The one string encoder of the crate: responses and the ENVELOPE and
/// BODYSTRUCTURE of `crate::message` alike.
pub fn push_string(out: &mut String, s: &str, utf8: bool) {
    if quotable(s, utf8) {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    let len = s.len() - s.bytes().filter(|&b| b == 0).count();
    out.push('{');
    out.push_str(&len.to_string());
    out.push_str("}\r\n");
    out.extend(s.chars().filter(|&c| c != '\0'));
}

/// Appends an `nstring`: `NIL` or a string.
pub fn push_nstring(out: &mut String, s: Option<&str>, utf8: bool) {
    match s {
        Some(s) => push_string(out, s, utf8),
        None => out.push_str("NIL"),
    }
}

/// `s` as an IMAP `string` (see [`push_string`]).
pub fn string(s: &str, utf8: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s, utf8);
    out
}

/// A quoted string, escaping `"` and `\`: for values known to be short,
/// 7-bit and free of CR/LF (dates, header field names, tags, constants).
/// Anything from a message or a user goes through [`string`].
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An `nstring`: NIL or a string.
pub fn nstring(s: Option<&str>, utf8: bool) -> String {
    let mut out = String::new();
    push_nstring(&mut out, s, utf8);
    out
}

/// Literal bytes: `{n}\r\n` followed by the bytes (or `~{n}` for BINARY).
pub fn literal(out: &mut Vec<u8>, bytes: &[u8], binary: bool) {
    if binary {
        out.push(b'~');
    }
    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_with_code() {
        let mut o = Out::new();
        o.status(
            Some("a1"),
            Status::No,
            Some(Code::TryCreate),
            "no such mailbox",
        );
        o.status(
            None,
            Status::Ok,
            Some(Code::UidNext(5)),
            "next\r\n* injected",
        );
        assert_eq!(
            String::from_utf8(o.take()).unwrap(),
            "a1 NO [TRYCREATE] no such mailbox\r\n* OK [UIDNEXT 5] next* injected\r\n"
        );
    }

    #[test]
    fn strings_pick_their_form() {
        let cases: &[(&str, bool, &str)] = &[
            ("abc", false, "\"abc\""),
            ("", false, "\"\""),
            // Quoted-specials go as literals, not escaped.
            ("a\"b\\", false, "{4}\r\na\"b\\"),
            ("a \"q\" \\ b", true, "{9}\r\na \"q\" \\ b"),
            // 8-bit: quoted only when the client accepts UTF-8.
            ("é", false, "{2}\r\né"),
            ("caf\u{e9}", false, "{5}\r\ncaf\u{e9}"),
            ("é", true, "\"é\""),
            ("a\r\nb", true, "{4}\r\na\r\nb"),
            // NUL is in neither form.
            ("a\0b", false, "{2}\r\nab"),
            ("a\0b", true, "{2}\r\nab"),
        ];
        for (s, utf8, want) in cases {
            assert_eq!(&string(s, *utf8), want, "{s:?} utf8={utf8}");
        }
        assert_eq!(nstring(None, true), "NIL");
        assert_eq!(nstring(Some("x"), false), "\"x\"");
    }

    #[test]
    fn long_strings_are_literals() {
        let short = "x".repeat(MAX_QUOTED - 1);
        assert_eq!(string(&short, false), format!("\"{short}\""));
        let long = "x".repeat(MAX_QUOTED);
        assert_eq!(string(&long, false), format!("{{{MAX_QUOTED}}}\r\n{long}"));
    }
}
