//! POP3 responses (RFC 1939 section 3) with RFC 2449 / RFC 3206 response codes.
//!
//! A response is a status (`+OK` / `-ERR`), an optional `[CODE]` and text;
//! multi-line responses add lines, each dot-stuffed, and end with `.`. SASL
//! challenges are `+ ` lines (RFC 5034 section 4). Lines we generate are
//! ASCII (or UTF-8 user names) and never carry CR or LF of their own.

use std::borrow::Cow;

/// Extended response codes (RFC 2449 section 8, RFC 3206).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RespCode {
    /// `[IN-USE]`: the maildrop is locked by another POP3 session.
    InUse,
    /// `[LOGIN-DELAY]`: logged in again too soon.
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary failure; try again later.
    SysTemp,
    /// `[SYS/PERM]`: a permanent failure; telling the user is the only cure.
    SysPerm,
    /// `[AUTH]`: the credentials were not accepted.
    Auth,
}

impl RespCode {
    /// The code as sent, without brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
        }
    }
}

/// One response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK text`, optionally followed by lines and the terminating `.`.
    Ok {
        /// The status line's text.
        text: Cow<'static, str>,
        /// `Some` for a multi-line response.
        lines: Option<Vec<String>>,
    },
    /// `-ERR [CODE] text`.
    Err {
        /// The response code, if any.
        code: Option<RespCode>,
        /// The text.
        text: Cow<'static, str>,
    },
    /// `+ ` (an empty SASL challenge).
    Continue,
}

impl Reply {
    /// `+OK text`.
    pub fn ok(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Ok {
            text: text.into(),
            lines: None,
        }
    }

    /// `+OK text` and lines.
    pub fn multi(text: impl Into<Cow<'static, str>>, lines: Vec<String>) -> Reply {
        Reply::Ok {
            text: text.into(),
            lines: Some(lines),
        }
    }

    /// `-ERR text`.
    pub fn err(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Err {
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR [code] text`.
    pub fn err_code(code: RespCode, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Err {
            code: Some(code),
            text: text.into(),
        }
    }

    /// Whether this is `+OK` (or a continuation).
    pub fn is_ok(&self) -> bool {
        !matches!(self, Reply::Err { .. })
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Continue => out.extend_from_slice(b"+ \r\n"),
            Reply::Ok { text, lines } => {
                out.extend_from_slice(b"+OK");
                if !text.is_empty() {
                    out.push(b' ');
                    push_clean(out, text);
                }
                out.extend_from_slice(b"\r\n");
                if let Some(lines) = lines {
                    for line in lines {
                        if line.starts_with('.') {
                            out.push(b'.');
                        }
                        push_clean(out, line);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b".\r\n");
                }
            }
            Reply::Err { code, text } => {
                out.extend_from_slice(b"-ERR");
                if let Some(code) = code {
                    out.extend_from_slice(b" [");
                    out.extend_from_slice(code.as_str().as_bytes());
                    out.push(b']');
                }
                if !text.is_empty() {
                    out.push(b' ');
                    push_clean(out, text);
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// Text without CR/LF (a defence: nothing we send should contain them).
fn push_clean(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::ok("hi"), "+OK hi\r\n"),
            (Reply::ok(""), "+OK\r\n"),
            (Reply::err("no"), "-ERR no\r\n"),
            (
                Reply::err_code(RespCode::InUse, "locked"),
                "-ERR [IN-USE] locked\r\n",
            ),
            (
                Reply::err_code(RespCode::SysTemp, "x"),
                "-ERR [SYS/TEMP] x\r\n",
            ),
            (
                Reply::err_code(RespCode::SysPerm, "x"),
                "-ERR [SYS/PERM] x\r\n",
            ),
            (Reply::err_code(RespCode::Auth, "x"), "-ERR [AUTH] x\r\n"),
            (
                Reply::err_code(RespCode::LoginDelay, "x"),
                "-ERR [LOGIN-DELAY] x\r\n",
            ),
            (
                Reply::multi("2 messages", vec!["1 10".into(), ".dot".into()]),
                "+OK 2 messages\r\n1 10\r\n..dot\r\n.\r\n",
            ),
            (Reply::multi("none", vec![]), "+OK none\r\n.\r\n"),
            (Reply::Continue, "+ \r\n"),
            (Reply::err("a\r\nb"), "-ERR a  b\r\n"),
        ];
        for (reply, want) in cases {
            assert_eq!(String::from_utf8(reply.to_bytes()).unwrap(), want);
        }
    }
}
