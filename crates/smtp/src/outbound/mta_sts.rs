//! MTA-STS records and policies (RFC 8461), sans-IO: the `_mta-sts` TXT
//! record (section 3.1), the policy text (section 3.2) and matching an MX
//! host against the policy's `mx` patterns (section 4.1).
//!
//! Limits: the record and the policy are parsed only up to what their
//! callers fetched (the fetch caps the body); a policy has at most
//! [`MAX_MX_PATTERNS`] patterns, `max_age` at most 31557600 seconds.

use serde::{Deserialize, Serialize};

/// The most `mx` lines a policy may carry; more is not a policy.
pub const MAX_MX_PATTERNS: usize = 64;
/// The largest `max_age` (RFC 8461 3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// What a policy asks of senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// MX must match and TLS must validate, else no delivery to that host.
    Enforce,
    /// Deliver anyway; report failures (TLS-RPT).
    Testing,
    /// No policy (a domain withdrawing one).
    None,
}

impl Mode {
    /// The mode's name in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `mode`.
    pub mode: Mode,
    /// `mx` patterns, lowercase, without a trailing dot.
    pub mx: Vec<String>,
    /// `max_age` in seconds (capped at [`MAX_AGE_LIMIT`]).
    pub max_age: u64,
}

/// Why a record or policy was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The first field is not `v=STSv1` / `version: STSv1`.
    #[error("not an STSv1 {0}")]
    Version(&'static str),
    /// A field the RFC requires is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A field's value is malformed.
    #[error("bad {0}")]
    Bad(&'static str),
}

/// The `id` of an `_mta-sts` TXT record (`v=STSv1; id=...;`), RFC 8461
/// 3.1: fields separated by `;`, `v` first, `id` 1 to 32 letters and
/// digits; unknown fields are ignored.
pub fn parse_record(txt: &str) -> Result<String, ParseError> {
    let mut fields = txt.split(';').map(str::trim).filter(|f| !f.is_empty());
    if fields.next() != Some("v=STSv1") {
        return Err(ParseError::Version("record"));
    }
    let mut id = None;
    for field in fields {
        if let Some((k, v)) = field.split_once('=')
            && k.trim() == "id"
        {
            let v = v.trim();
            if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ParseError::Bad("id"));
            }
            id = Some(v.to_string());
        }
    }
    id.ok_or(ParseError::Missing("id"))
}

/// The one STSv1 record among the TXT records of `_mta-sts.DOMAIN`:
/// records that do not start with `v=STSv1` are ignored, and more than one
/// means no policy (RFC 8461 3.1).
pub fn pick_record(txts: &[String]) -> Option<Result<String, ParseError>> {
    let sts: Vec<&String> = txts
        .iter()
        .filter(|t| t.trim_start().starts_with("v=STSv1"))
        .collect();
    match sts.as_slice() {
        [one] => Some(parse_record(one)),
        _ => None,
    }
}

/// Parses a policy body (RFC 8461 3.2): `key: value` lines ending in CRLF
/// or LF, `version: STSv1` first; unknown keys are ignored.
pub fn parse_policy(text: &str) -> Result<Policy, ParseError> {
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty());
    let first = lines.next().and_then(|l| l.split_once(':'));
    if !first.is_some_and(|(k, v)| k.trim() == "version" && v.trim() == "STSv1") {
        return Err(ParseError::Version("policy"));
    }
    let (mut mode, mut max_age, mut mx) = (None, None, Vec::new());
    for line in lines {
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::Bad("line"));
        };
        let value = value.trim();
        match key.trim() {
            "mode" => {
                mode = Some(match value {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    _ => return Err(ParseError::Bad("mode")),
                })
            }
            "max_age" => {
                if value.is_empty()
                    || value.len() > 10
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(ParseError::Bad("max_age"));
                }
                let n: u64 = value.parse().map_err(|_| ParseError::Bad("max_age"))?;
                max_age = Some(n.min(MAX_AGE_LIMIT));
            }
            "mx" => {
                if mx.len() >= MAX_MX_PATTERNS || !valid_pattern(value) {
                    return Err(ParseError::Bad("mx"));
                }
                mx.push(value.trim_end_matches('.').to_ascii_lowercase());
            }
            _ => {}
        }
    }
    let mode = mode.ok_or(ParseError::Missing("mode"))?;
    let max_age = max_age.ok_or(ParseError::Missing("max_age"))?;
    if mode != Mode::None && mx.is_empty() {
        return Err(ParseError::Missing("mx"));
    }
    Ok(Policy { mode, mx, max_age })
}

fn valid_pattern(p: &str) -> bool {
    let name = p.strip_prefix("*.").unwrap_or(p).trim_end_matches('.');
    sealpost_config::is_domain_name(name)
}

impl Policy {
    /// The policy as lines (`version: STSv1`, `mode: ...`), as TLS
    /// reports quote it.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            "version: STSv1".to_string(),
            format!("mode: {}", self.mode.as_str()),
        ];
        out.extend(self.mx.iter().map(|m| format!("mx: {m}")));
        out.push(format!("max_age: {}", self.max_age));
        out
    }

    /// Whether `host` (an MX name) matches one of the `mx` patterns: the
    /// name itself, or `*.rest` for exactly one more leftmost label
    /// (RFC 8461 4.1). Case-insensitive, trailing dots ignored.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx.iter().any(|p| match p.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
            None => *p == host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        assert_eq!(
            parse_record("v=STSv1; id=20160831085700Z;"),
            Ok("20160831085700Z".into())
        );
        assert_eq!(parse_record("v=STSv1;id=abc ; ext=1"), Ok("abc".into()));
        assert_eq!(
            parse_record("v=STSv2; id=1"),
            Err(ParseError::Version("record"))
        );
        assert_eq!(
            parse_record("id=1; v=STSv1"),
            Err(ParseError::Version("record"))
        );
        assert_eq!(parse_record("v=STSv1;"), Err(ParseError::Missing("id")));
        assert_eq!(parse_record("v=STSv1; id=a-b"), Err(ParseError::Bad("id")));
        assert_eq!(
            parse_record(&format!("v=STSv1; id={}", "a".repeat(33))),
            Err(ParseError::Bad("id"))
        );
        let two = vec!["v=STSv1; id=1".to_string(), "v=STSv1; id=2".to_string()];
        assert_eq!(pick_record(&two), None);
        let one = vec!["v=spf1 -all".to_string(), "v=STSv1; id=2".to_string()];
        assert_eq!(pick_record(&one), Some(Ok("2".into())));
        assert_eq!(pick_record(&[]), None);
    }

    #[test]
    fn policies() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com.\r\nmax_age: 604800\r\nfuture: x\r\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert_eq!(
            p.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        let lf =
            parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 9999999999\n")
                .unwrap();
        assert_eq!((lf.mode, lf.max_age), (Mode::Testing, MAX_AGE_LIMIT));
        let none = parse_policy("version: STSv1\nmode: none\nmax_age: 1\n").unwrap();
        assert_eq!(none.mode, Mode::None);
        for (text, err) in [
            (
                "mode: enforce\nversion: STSv1\n",
                ParseError::Version("policy"),
            ),
            (
                "version: STSv1\nmx: a.example\nmax_age: 1\n",
                ParseError::Missing("mode"),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\n",
                ParseError::Missing("max_age"),
            ),
            (
                "version: STSv1\nmode: enforce\nmax_age: 1\n",
                ParseError::Missing("mx"),
            ),
            (
                "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n",
                ParseError::Bad("mode"),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n",
                ParseError::Bad("max_age"),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n",
                ParseError::Bad("mx"),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: **.a\nmax_age: 1\n",
                ParseError::Bad("mx"),
            ),
            ("version: STSv1\nmode enforce\n", ParseError::Bad("line")),
            ("<html>", ParseError::Version("policy")),
        ] {
            assert_eq!(parse_policy(text), Err(err), "{text:?}");
        }
        let many: String = (0..=MAX_MX_PATTERNS)
            .map(|i| format!("mx: m{i}.example\n"))
            .collect();
        assert_eq!(
            parse_policy(&format!(
                "version: STSv1\nmode: enforce\nmax_age: 1\n{many}"
            )),
            Err(ParseError::Bad("mx"))
        );
    }

    #[test]
    fn mx_patterns() {
        let p = parse_policy(
            "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 1\n",
        )
        .unwrap();
        assert!(p.matches("mail.example.com"));
        assert!(p.matches("MAIL.Example.com."));
        assert!(p.matches("mx1.example.net"));
        assert!(!p.matches("example.net"));
        assert!(!p.matches("a.b.example.net"));
        assert!(!p.matches("mail.example.com.evil"));
        assert!(!p.matches("other.example.com"));
    }
}
