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
    AuthenticationFailed,
    BadCharset,
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
    Modified(String),
    NoModSeq,
    NoPerm,
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
            Code::AuthenticationFailed => write!(out, "AUTHENTICATIONFAILED"),
            Code::BadCharset => write!(out, "BADCHARSET (UTF-8 US-ASCII)"),
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
            Code::TryCreate => write!(out, "TRYCREATE"),
            Code::UidNext(n) => write!(out, "UIDNEXT {n}"),
            Code::UidValidity(n) => write!(out, "UIDVALIDITY {n}"),
            Code::Unavailable => write!(out, "UNAVAILABLE"),
            Code::UnknownCte => write!(out, "UNKNOWN-CTE"),
            Code::Unseen(n) => write!(out, "UNSEEN {n}"),
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

/// A string as an IMAP `string`: quoted when it can be, else a literal.
/// `utf8` allows non-ASCII in quoted strings (RFC 9051, RFC 6855).
pub fn string(s: &str, utf8: bool) -> String {
    let quotable = s.len() < 1024
        && s.bytes()
            .all(|b| b != b'\r' && b != b'\n' && b != 0 && (utf8 || b < 0x80));
    if quotable {
        quoted(s)
    } else {
        format!("{{{}}}\r\n{}", s.len(), s)
    }
}

/// A quoted string, escaping `"` and `\`.
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
    match s {
        None => "NIL".to_string(),
        Some(s) => string(s, utf8),
    }
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
        assert_eq!(string("abc", false), "\"abc\"");
        assert_eq!(string("a\"b\\", false), "\"a\\\"b\\\\\"");
        assert_eq!(string("é", false), "{2}\r\né");
        assert_eq!(string("é", true), "\"é\"");
        assert_eq!(string("a\r\nb", true), "{4}\r\na\r\nb");
        assert_eq!(nstring(None, true), "NIL");
    }
}
