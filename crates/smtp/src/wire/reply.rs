//! SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 2034, RFC 3463).
//!
//! A [`Reply`] is a code, an optional enhanced code and one or more text
//! lines. Serialization writes `code-text` for every line but the last and
//! `code text` for the last (RFC 5321 4.2.1). Text is sanitized: CR, LF and
//! other control characters never reach the wire, so nothing a client sent
//! and we echo can split a reply.

use std::fmt;

/// An enhanced status code `class.subject.detail` (RFC 3463).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enhanced(pub u8, pub u16, pub u16);

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code, printed before the text of each line.
    pub enhanced: Option<Enhanced>,
    /// Text lines (at least one).
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code.
    pub fn new(code: u16, enhanced: Enhanced, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced code (greeting, EHLO, 354, AUTH challenges).
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply without an enhanced code (the EHLO response).
    pub fn multiline(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// Whether the code is 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// Whether the code is 5xx.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let n = self.lines.len().max(1);
        for i in 0..n {
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            let sep = if i + 1 == n { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{}", self.code, sep).as_bytes());
            if let Some(e) = self.enhanced {
                out.extend_from_slice(format!("{e} ").as_bytes());
            }
            out.extend_from_slice(sanitize(text).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(String::from_utf8_lossy(&self.to_bytes()).trim_end())
    }
}

/// Replaces control characters (CR, LF, NUL...) with `?`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_with_enhanced_code() {
        let r = Reply::new(250, Enhanced(2, 1, 0), "OK");
        assert_eq!(r.to_bytes(), b"250 2.1.0 OK\r\n");
    }

    #[test]
    fn multiline_uses_dash_until_last() {
        let r = Reply::multiline(250, vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(r.to_bytes(), b"250-a\r\n250-b\r\n250 c\r\n");
    }

    #[test]
    fn text_cannot_inject_lines() {
        let r = Reply::new(501, Enhanced(5, 5, 4), "bad\r\n250 OK\0");
        assert_eq!(r.to_bytes(), b"501 5.5.4 bad??250 OK?\r\n");
    }
}
