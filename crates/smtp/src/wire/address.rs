//! Mailbox addresses in SMTP paths (RFC 5321 4.1.2, 4.5.3.1; RFC 6531 3.3).
//!
//! `Path = "<" [ A-d-l ":" ] Mailbox ">"`. Source routes (`A-d-l`) are
//! accepted and ignored (RFC 5321 C). The local part is a dot-string or a
//! quoted string; the domain a host name or an address literal. UTF-8 is
//! allowed in both when the transaction uses SMTPUTF8 (RFC 6531). Control
//! characters (CR, LF, NUL...) are refused everywhere, so an [`Address`] is
//! always safe to write into a header.
//!
//! Limits (RFC 5321 4.5.3.1): local part 64 octets, domain 255 octets, path
//! 256 octets.

use std::fmt;

/// Longest local part in octets (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain in octets (RFC 5321 4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Longest path, angle brackets included, in octets (RFC 5321 4.5.3.1.3).
pub const MAX_PATH: usize = 256;

/// A validated `local@domain` mailbox. The domain is kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    local: String,
    domain: String,
}

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Missing angle brackets or other path syntax.
    #[error("path syntax error")]
    Syntax,
    /// A CR, LF, NUL or other control character.
    #[error("control character in address")]
    ControlCharacter,
    /// A non-ASCII character without SMTPUTF8.
    #[error("non-ASCII address without SMTPUTF8")]
    NeedsUtf8,
    /// Over one of the RFC 5321 length limits.
    #[error("address too long")]
    TooLong,
    /// The local part is malformed.
    #[error("bad local part")]
    BadLocalPart,
    /// The domain is malformed.
    #[error("bad domain")]
    BadDomain,
}

impl Address {
    /// Parses a bare `local@domain` (no angle brackets).
    pub fn parse(text: &str, utf8: bool) -> Result<Address, AddressError> {
        if text.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        if !utf8 && !text.is_ascii() {
            return Err(AddressError::NeedsUtf8);
        }
        let at = text.rfind('@').ok_or(AddressError::BadLocalPart)?;
        let (local, domain) = (&text[..at], &text[at + 1..]);
        if local.len() > MAX_LOCAL_PART {
            return Err(AddressError::TooLong);
        }
        if domain.len() > MAX_DOMAIN {
            return Err(AddressError::TooLong);
        }
        if !valid_local_part(local) {
            return Err(AddressError::BadLocalPart);
        }
        if !valid_domain(domain) {
            return Err(AddressError::BadDomain);
        }
        Ok(Address {
            local: local.to_string(),
            domain: domain.to_lowercase(),
        })
    }

    /// The local part as given (a quoted string keeps its quotes).
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain, lower case.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the address needs SMTPUTF8 to be relayed.
    pub fn is_utf8(&self) -> bool {
        !self.local.is_ascii() || !self.domain.is_ascii()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Splits `<path> rest` into the path's inside and the rest; the path may
/// contain a quoted local part with `>` in it.
pub(crate) fn split_path(text: &str) -> Result<(&str, &str), AddressError> {
    let text = text.trim_start_matches(' ');
    let inner = text.strip_prefix('<').ok_or(AddressError::Syntax)?;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => {
                if i + 2 > MAX_PATH {
                    return Err(AddressError::TooLong);
                }
                return Ok((&inner[..i], &inner[i + 1..]));
            }
            _ => {}
        }
    }
    Err(AddressError::Syntax)
}

/// Drops a source route `@a,@b:` from the start of a path's inside.
pub(crate) fn strip_source_route(inner: &str) -> &str {
    if inner.starts_with('@')
        && let Some(colon) = inner.find(':')
    {
        return &inner[colon + 1..];
    }
    inner
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

fn valid_local_part(local: &str) -> bool {
    if local.is_empty() {
        return false;
    }
    if let Some(q) = local.strip_prefix('"') {
        let Some(body) = q.strip_suffix('"') else {
            return false;
        };
        let mut escaped = false;
        for c in body.chars() {
            if escaped {
                // quoted-pairSMTP = "\" %d32-126
                if !(' '..='~').contains(&c) {
                    return false;
                }
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' || (c.is_ascii() && !(' '..='~').contains(&c)) {
                return false;
            }
        }
        return !escaped;
    }
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn valid_domain(domain: &str) -> bool {
    if let Some(lit) = domain.strip_prefix('[') {
        let Some(lit) = lit.strip_suffix(']') else {
            return false;
        };
        if let Some(v6) = lit
            .strip_prefix("IPv6:")
            .or_else(|| lit.strip_prefix("ipv6:"))
        {
            return v6.parse::<std::net::Ipv6Addr>().is_ok();
        }
        return lit.parse::<std::net::Ipv4Addr>().is_ok();
    }
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_forms() {
        for a in [
            "alice@example.org",
            "a.b+tag@sub.example.org",
            "\"john doe\"@example.org",
            "x@[192.0.2.1]",
            "x@[IPv6:2001:db8::1]",
        ] {
            assert!(Address::parse(a, false).is_ok(), "{a}");
        }
    }

    #[test]
    fn domain_is_lowercased_local_part_kept() {
        let a = Address::parse("Alice@Example.ORG", false).unwrap();
        assert_eq!(a.to_string(), "Alice@example.org");
    }

    #[test]
    fn refuses_control_characters_and_bad_syntax() {
        assert_eq!(
            Address::parse("a\r\nb@example.org", false),
            Err(AddressError::ControlCharacter)
        );
        assert_eq!(
            Address::parse("a\0@example.org", false),
            Err(AddressError::ControlCharacter)
        );
        for bad in [
            "@example.org",
            "a..b@example.org",
            ".a@example.org",
            "a@",
            "a@-x.org",
            "a@x..org",
            "noat",
            "a b@example.org",
            "\"unterminated@example.org",
            "a@[300.1.1.1]",
        ] {
            assert!(Address::parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn utf8_needs_smtputf8() {
        assert_eq!(
            Address::parse("jörg@example.org", false),
            Err(AddressError::NeedsUtf8)
        );
        let a = Address::parse("jörg@bücher.example", true).unwrap();
        assert!(a.is_utf8());
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(MAX_LOCAL_PART);
        assert!(Address::parse(&format!("{local}@example.org"), false).is_ok());
        let local = "a".repeat(MAX_LOCAL_PART + 1);
        assert_eq!(
            Address::parse(&format!("{local}@example.org"), false),
            Err(AddressError::TooLong)
        );
        let long = format!("<{}@{}.org>", "a".repeat(60), "b".repeat(200));
        assert_eq!(split_path(&long), Err(AddressError::TooLong));
    }

    #[test]
    fn split_path_respects_quotes() {
        assert_eq!(
            split_path("<\"a>b\"@x.org> SIZE=10"),
            Ok(("\"a>b\"@x.org", " SIZE=10"))
        );
        assert_eq!(split_path("x@y.org"), Err(AddressError::Syntax));
        assert_eq!(strip_source_route("@a.org,@b.org:c@d.org"), "c@d.org");
    }
}
