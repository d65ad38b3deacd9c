//! SMTP commands (RFC 5321 4.1.1) and their ESMTP parameters: SIZE (RFC
//! 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN's RET, ENVID,
//! NOTIFY and ORCPT (RFC 3461), AUTH (RFC 4954), BDAT (RFC 3030), STARTTLS
//! (RFC 3207).
//!
//! [`Command::parse`] takes one line without its CRLF (the framer cuts lines
//! and enforces the 512-octet limit) and returns a typed command or a
//! [`CommandError`] that knows its own reply.

use super::address::{Address, AddressError, split_path, strip_source_route};
use super::reply::{Enhanced, Reply};

/// The envelope sender: an address or the null path `<>` (bounces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`.
    Null,
    /// A mailbox.
    Address(Address),
}

impl std::fmt::Display for ReversePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReversePath::Null => Ok(()),
            ReversePath::Address(a) => a.fmt(f),
        }
    }
}

/// A recipient: a mailbox, or the special `<Postmaster>` (RFC 5321 4.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain.
    Postmaster,
    /// A mailbox.
    Address(Address),
}

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
    /// `BINARYMIME` (BDAT only).
    BinaryMime,
}

/// `RET=` (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ret {
    /// Return the whole message in a DSN.
    Full,
    /// Return only the headers.
    Hdrs,
}

/// Parameters of MAIL FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=`: the client's estimate.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=` (xtext, kept encoded).
    pub envid: Option<String>,
    /// `AUTH=` (RFC 4954 5), kept encoded.
    pub auth: Option<String>,
    /// `REQUIRETLS` (RFC 8689 4.1): relay only over validated TLS.
    pub requiretls: bool,
}

impl std::fmt::Display for Ret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        })
    }
}

/// `NOTIFY=` (RFC 3461 4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    /// `NEVER`.
    pub never: bool,
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// Whether a failure DSN is wanted. Without a NOTIFY parameter we act as
    /// if `NOTIFY=FAILURE,DELAY` had been given (RFC 3461 4.1).
    pub fn failure(notify: Option<Notify>) -> bool {
        notify.is_none_or(|n| n.failure)
    }

    /// Whether a delay DSN is wanted (also the default, see [`Notify::failure`]).
    pub fn delay(notify: Option<Notify>) -> bool {
        notify.is_none_or(|n| n.delay)
    }

    /// Whether a success DSN is wanted (only when asked for).
    pub fn success(notify: Option<Notify>) -> bool {
        notify.is_some_and(|n| n.success)
    }
}

/// The parameter value as sent on: `NEVER` or a list of `SUCCESS`,
/// `FAILURE`, `DELAY`.
impl std::fmt::Display for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.never {
            return f.write_str("NEVER");
        }
        let words: Vec<&str> = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ]
        .into_iter()
        .filter_map(|(on, w)| on.then_some(w))
        .collect();
        f.write_str(&words.join(","))
    }
}

/// Parameters of RCPT TO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=` (addr-type;xtext, kept encoded).
    pub orcpt: Option<String>,
}

/// One SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`.
    Ehlo(String),
    /// `HELO domain`.
    Helo(String),
    /// `MAIL FROM:<path> params`.
    Mail {
        /// The sender.
        from: ReversePath,
        /// Parameters.
        params: MailParams,
    },
    /// `RCPT TO:<path> params`.
    Rcpt {
        /// The recipient.
        to: ForwardPath,
        /// Parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]`; the framer reads the chunk.
    Bdat {
        /// Octets that follow the command line.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY`.
    Vrfy,
    /// `EXPN`.
    Expn,
    /// `HELP`.
    Help,
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]`.
    Auth {
        /// The mechanism, upper case.
        mechanism: String,
        /// The initial response (base64 or `=`), if given.
        initial: Option<String>,
    },
}

/// Why a command line was refused. Each knows its reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not a command we know.
    #[error("command unrecognized")]
    Unrecognized,
    /// A known command with bad syntax.
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// A bad address.
    #[error("bad address: {0}")]
    Address(#[from] AddressError),
    /// An ESMTP parameter we do not know, or a bad value.
    #[error("parameter not recognized: {0}")]
    Parameter(&'static str),
    /// The line is not UTF-8.
    #[error("line is not UTF-8")]
    NotUtf8,
}

impl CommandError {
    /// The reply for this error.
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::Unrecognized => {
                Reply::new(500, Enhanced(5, 5, 1), "Command unrecognized")
            }
            CommandError::Syntax(why) => {
                Reply::new(501, Enhanced(5, 5, 4), format!("Syntax error: {why}"))
            }
            CommandError::Address(AddressError::NeedsUtf8) => Reply::new(
                553,
                Enhanced(5, 6, 7),
                "Non-ASCII address requires SMTPUTF8",
            ),
            CommandError::Address(e) => {
                Reply::new(553, Enhanced(5, 1, 3), format!("Bad address syntax: {e}"))
            }
            CommandError::Parameter(p) => Reply::new(
                555,
                Enhanced(5, 5, 4),
                format!("Parameter not recognized or bad value: {p}"),
            ),
            CommandError::NotUtf8 => Reply::new(500, Enhanced(5, 5, 2), "Line is not UTF-8"),
        }
    }
}

impl Command {
    /// Parses one command line (without CRLF).
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let line = std::str::from_utf8(line).map_err(|_| CommandError::NotUtf8)?;
        if line.chars().any(|c| c.is_control()) {
            return Err(CommandError::Syntax("control character in command"));
        }
        let (verb, rest) = match line.find(' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        let no_args = |c: Command| {
            if rest.trim().is_empty() {
                Ok(c)
            } else {
                Err(CommandError::Syntax("no arguments allowed"))
            }
        };
        match verb.as_str() {
            "EHLO" => Ok(Command::Ehlo(parse_helo(rest)?)),
            "HELO" => Ok(Command::Helo(parse_helo(rest)?)),
            "MAIL" => parse_mail(rest),
            "RCPT" => parse_rcpt(rest),
            "DATA" => no_args(Command::Data),
            "BDAT" => parse_bdat(rest),
            "RSET" => no_args(Command::Rset),
            // NOOP, VRFY, EXPN and HELP may carry an argument, which we ignore.
            "NOOP" => Ok(Command::Noop),
            "QUIT" => no_args(Command::Quit),
            "VRFY" => Ok(Command::Vrfy),
            "EXPN" => Ok(Command::Expn),
            "HELP" => Ok(Command::Help),
            "STARTTLS" => no_args(Command::StartTls),
            "AUTH" => parse_auth(rest),
            _ => Err(CommandError::Unrecognized),
        }
    }
}

fn parse_helo(rest: &str) -> Result<String, CommandError> {
    let name = rest.trim();
    if name.is_empty() || name.contains(' ') {
        return Err(CommandError::Syntax(
            "EHLO/HELO needs one domain or address literal",
        ));
    }
    Ok(name.to_string())
}

fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let head = rest.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &rest[keyword.len()..])
}

/// Splits the parameters after a path into `(KEYWORD, value)` pairs (RFC 5321 4.1.2).
fn params(text: &str) -> Result<Vec<(String, Option<&str>)>, CommandError> {
    let mut out = Vec::new();
    for p in text.split(' ').filter(|p| !p.is_empty()) {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (p, None),
        };
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(CommandError::Syntax("bad parameter keyword"));
        }
        if let Some(v) = v
            && (v.is_empty() || !v.bytes().all(|b| (33..=126).contains(&b) && b != b'='))
        {
            return Err(CommandError::Syntax("bad parameter value"));
        }
        out.push((k.to_ascii_uppercase(), v));
    }
    Ok(out)
}

/// Checks xtext (RFC 3461 4): printable ASCII, `+XX` hex escapes.
fn valid_xtext(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+' {
            if i + 2 >= b.len() {
                return false;
            }
            if !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    v.len() <= 100
}

fn parse_mail(rest: &str) -> Result<Command, CommandError> {
    let rest =
        strip_keyword(rest, "FROM:").ok_or(CommandError::Syntax("expected MAIL FROM:<address>"))?;
    let (inner, tail) = split_path(rest)?;
    let plist = params(tail)?;
    let mut p = MailParams::default();
    for (k, v) in &plist {
        match (k.as_str(), v) {
            ("SIZE", Some(v)) => {
                p.size = Some(v.parse().map_err(|_| CommandError::Parameter("SIZE"))?)
            }
            ("BODY", Some(v)) => {
                p.body = Some(match v.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(CommandError::Parameter("BODY")),
                })
            }
            ("SMTPUTF8", None) => p.smtputf8 = true,
            ("REQUIRETLS", None) => p.requiretls = true,
            ("RET", Some(v)) => {
                p.ret = Some(match v.to_ascii_uppercase().as_str() {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(CommandError::Parameter("RET")),
                })
            }
            ("ENVID", Some(v)) if valid_xtext(v) => p.envid = Some(v.to_string()),
            ("AUTH", Some(v)) if valid_xtext(v) || *v == "<>" => p.auth = Some(v.to_string()),
            _ => return Err(CommandError::Parameter("unknown MAIL parameter")),
        }
    }
    let inner = strip_source_route(inner);
    let from = if inner.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Address(Address::parse(inner, p.smtputf8)?)
    };
    Ok(Command::Mail { from, params: p })
}

fn parse_rcpt(rest: &str) -> Result<Command, CommandError> {
    let rest =
        strip_keyword(rest, "TO:").ok_or(CommandError::Syntax("expected RCPT TO:<address>"))?;
    let (inner, tail) = split_path(rest)?;
    let plist = params(tail)?;
    let mut p = RcptParams::default();
    for (k, v) in &plist {
        match (k.as_str(), v) {
            ("NOTIFY", Some(v)) => {
                let mut n = Notify::default();
                for item in v.split(',') {
                    match item.to_ascii_uppercase().as_str() {
                        "NEVER" => n.never = true,
                        "SUCCESS" => n.success = true,
                        "FAILURE" => n.failure = true,
                        "DELAY" => n.delay = true,
                        _ => return Err(CommandError::Parameter("NOTIFY")),
                    }
                }
                if n.never && (n.success || n.failure || n.delay) {
                    return Err(CommandError::Parameter("NOTIFY"));
                }
                p.notify = Some(n);
            }
            ("ORCPT", Some(v)) if v.contains(';') && valid_xtext(v) => {
                p.orcpt = Some(v.to_string())
            }
            _ => return Err(CommandError::Parameter("unknown RCPT parameter")),
        }
    }
    let inner = strip_source_route(inner);
    if inner.eq_ignore_ascii_case("postmaster") {
        return Ok(Command::Rcpt {
            to: ForwardPath::Postmaster,
            params: p,
        });
    }
    // Whether UTF-8 is allowed depends on MAIL's SMTPUTF8: the session checks.
    let to = Address::parse(inner, true)?;
    Ok(Command::Rcpt {
        to: ForwardPath::Address(to),
        params: p,
    })
}

fn parse_bdat(rest: &str) -> Result<Command, CommandError> {
    let mut words = rest.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .ok_or(CommandError::Syntax("BDAT needs a size"))?;
    if size.is_empty() || size.len() > 19 || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::Syntax("bad BDAT size"));
    }
    let size: u64 = size
        .parse()
        .map_err(|_| CommandError::Syntax("bad BDAT size"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(CommandError::Syntax("expected BDAT size [LAST]")),
    };
    if words.next().is_some() {
        return Err(CommandError::Syntax("expected BDAT size [LAST]"));
    }
    Ok(Command::Bdat { size, last })
}

fn parse_auth(rest: &str) -> Result<Command, CommandError> {
    let mut words = rest.split(' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(CommandError::Syntax("AUTH needs a mechanism"))?
        .to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(CommandError::Syntax(
            "expected AUTH mechanism [initial-response]",
        ));
    }
    Ok(Command::Auth { mechanism, initial })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Address {
        Address::parse(s, true).unwrap()
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Result<Command, CommandError>)> = vec![
            (
                "EHLO client.example",
                Ok(Command::Ehlo("client.example".into())),
            ),
            ("ehlo [192.0.2.1]", Ok(Command::Ehlo("[192.0.2.1]".into()))),
            ("HELO x", Ok(Command::Helo("x".into()))),
            (
                "EHLO",
                Err(CommandError::Syntax(
                    "EHLO/HELO needs one domain or address literal",
                )),
            ),
            (
                "MAIL FROM:<a@b.org>",
                Ok(Command::Mail {
                    from: ReversePath::Address(addr("a@b.org")),
                    params: MailParams::default(),
                }),
            ),
            (
                "mail from: <a@b.org> SIZE=100 BODY=8BITMIME",
                Ok(Command::Mail {
                    from: ReversePath::Address(addr("a@b.org")),
                    params: MailParams {
                        size: Some(100),
                        body: Some(Body::EightBitMime),
                        ..Default::default()
                    },
                }),
            ),
            (
                "MAIL FROM:<> RET=HDRS ENVID=abc+2B",
                Ok(Command::Mail {
                    from: ReversePath::Null,
                    params: MailParams {
                        ret: Some(Ret::Hdrs),
                        envid: Some("abc+2B".into()),
                        ..Default::default()
                    },
                }),
            ),
            (
                "MAIL FROM:<a@b.org> FOO=1",
                Err(CommandError::Parameter("unknown MAIL parameter")),
            ),
            (
                "MAIL FROM:<a@b.org> SIZE=x",
                Err(CommandError::Parameter("SIZE")),
            ),
            (
                "MAIL FROM:a@b.org",
                Err(CommandError::Address(AddressError::Syntax)),
            ),
            (
                "MAIL TO:<a@b.org>",
                Err(CommandError::Syntax("expected MAIL FROM:<address>")),
            ),
            (
                "MAIL FROM:<jö@b.org>",
                Err(CommandError::Address(AddressError::NeedsUtf8)),
            ),
            (
                "MAIL FROM:<a@b.org> REQUIRETLS",
                Ok(Command::Mail {
                    from: ReversePath::Address(addr("a@b.org")),
                    params: MailParams {
                        requiretls: true,
                        ..Default::default()
                    },
                }),
            ),
            (
                "MAIL FROM:<a@b.org> REQUIRETLS=yes",
                Err(CommandError::Parameter("unknown MAIL parameter")),
            ),
            (
                "MAIL FROM:<jö@b.org> SMTPUTF8",
                Ok(Command::Mail {
                    from: ReversePath::Address(addr("jö@b.org")),
                    params: MailParams {
                        smtputf8: true,
                        ..Default::default()
                    },
                }),
            ),
            (
                "RCPT TO:<Postmaster>",
                Ok(Command::Rcpt {
                    to: ForwardPath::Postmaster,
                    params: RcptParams::default(),
                }),
            ),
            (
                "RCPT TO:<@relay.org:c@d.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.org",
                Ok(Command::Rcpt {
                    to: ForwardPath::Address(addr("c@d.org")),
                    params: RcptParams {
                        notify: Some(Notify {
                            success: true,
                            failure: true,
                            ..Default::default()
                        }),
                        orcpt: Some("rfc822;c@d.org".into()),
                    },
                }),
            ),
            (
                "RCPT TO:<c@d.org> NOTIFY=NEVER,DELAY",
                Err(CommandError::Parameter("NOTIFY")),
            ),
            ("DATA", Ok(Command::Data)),
            ("DATA x", Err(CommandError::Syntax("no arguments allowed"))),
            (
                "BDAT 100",
                Ok(Command::Bdat {
                    size: 100,
                    last: false,
                }),
            ),
            (
                "bdat 0 last",
                Ok(Command::Bdat {
                    size: 0,
                    last: true,
                }),
            ),
            ("BDAT -1", Err(CommandError::Syntax("bad BDAT size"))),
            (
                "BDAT 99999999999999999999",
                Err(CommandError::Syntax("bad BDAT size")),
            ),
            (
                "BDAT 1 LAST x",
                Err(CommandError::Syntax("expected BDAT size [LAST]")),
            ),
            ("RSET", Ok(Command::Rset)),
            ("NOOP whatever", Ok(Command::Noop)),
            ("QUIT", Ok(Command::Quit)),
            ("VRFY bob", Ok(Command::Vrfy)),
            ("EXPN list", Ok(Command::Expn)),
            ("HELP", Ok(Command::Help)),
            ("STARTTLS", Ok(Command::StartTls)),
            (
                "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
                Ok(Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: Some("AGFsaWNlAHNlY3JldA==".into()),
                }),
            ),
            (
                "auth login",
                Ok(Command::Auth {
                    mechanism: "LOGIN".into(),
                    initial: None,
                }),
            ),
            ("XYZZY", Err(CommandError::Unrecognized)),
            ("", Err(CommandError::Unrecognized)),
        ];
        for (line, want) in cases {
            assert_eq!(Command::parse(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn control_characters_and_bad_utf8_refused() {
        assert_eq!(
            Command::parse(b"MAIL FROM:<a\0@b.org>"),
            Err(CommandError::Syntax("control character in command"))
        );
        assert_eq!(
            Command::parse(b"MAIL FROM:<\xff@b.org>"),
            Err(CommandError::NotUtf8)
        );
    }

    #[test]
    fn errors_map_to_reply_codes() {
        assert_eq!(CommandError::Unrecognized.reply().code, 500);
        assert_eq!(CommandError::Syntax("x").reply().code, 501);
        assert_eq!(CommandError::Parameter("x").reply().code, 555);
        assert_eq!(
            CommandError::Address(AddressError::BadDomain).reply().code,
            553
        );
    }
}
