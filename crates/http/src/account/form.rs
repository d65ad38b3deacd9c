//! The account page's forms: `application/x-www-form-urlencoded` bodies
//! (WHATWG URL standard, section 5 "application/x-www-form-urlencoded"),
//! parsed strictly and under limits, sans-IO.
//!
//! Stricter than the standard, because every form here is ours and a
//! browser never sends what is refused: a `%` not followed by two hex
//! digits, a name or value that is not UTF-8 once decoded, a field given
//! twice, an ASCII control character (including NUL, CR and LF), more than
//! [`MAX_FIELDS`] fields. The body's size is bounded before parsing
//! (`[http.account] max_form_bytes`); each field's length is bounded by the
//! handler that asks for it ([`Form::required`]).

use super::text::{EN, Text, fill};

/// Most fields in one form (the largest form has four).
pub const MAX_FIELDS: usize = 8;
/// Longest field name, in octets.
pub const MAX_NAME_LEN: usize = 32;

/// Why a form was refused: said to the user on a `400` page (no input is
/// echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// More than [`MAX_FIELDS`] fields, or a name longer than [`MAX_NAME_LEN`].
    TooManyFields,
    /// Not valid form encoding.
    Malformed(Malformed),
    /// A field the action needs is missing or empty.
    Missing(&'static str),
    /// A field is longer than the action allows (characters).
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
}

/// What is wrong with a form's encoding (worded by the page's text
/// table, [`Malformed::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A `%` not followed by two hex digits.
    Percent,
    /// A name or value that is not UTF-8 once decoded.
    NotUtf8,
    /// An ASCII control character.
    Control,
    /// A field given twice.
    Twice,
}

impl Malformed {
    /// The reason in the language of `t`.
    pub fn reason(self, t: &Text) -> &'static str {
        match self {
            Malformed::Percent => t.form_bad_percent,
            Malformed::NotUtf8 => t.form_not_utf8,
            Malformed::Control => t.form_control,
            Malformed::Twice => t.form_twice,
        }
    }
}

impl FormError {
    /// The sentence the refusal page shows, in the language of `t`.
    pub fn message(&self, t: &Text) -> String {
        match self {
            FormError::TooManyFields => t.form_too_many.to_string(),
            FormError::Malformed(why) => fill(t.form_malformed, &[("why", why.reason(t))]),
            FormError::Missing(field) => fill(t.form_missing, &[("field", field)]),
            FormError::TooLong { field, max } => fill(
                t.form_too_long,
                &[("field", field), ("max", &max.to_string())],
            ),
        }
    }
}

/// In English (logs, tests).
impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(&EN))
    }
}

/// A parsed form: names and values, in order, each name once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses a whole body.
    pub fn parse(body: &[u8]) -> Result<Form, FormError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for piece in body.split(|&b| b == b'&') {
            if piece.is_empty() {
                continue;
            }
            if fields.len() == MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &[][..]),
            };
            if name.len() > MAX_NAME_LEN * 3 {
                return Err(FormError::TooManyFields);
            }
            let name = decode(name)?;
            if name.len() > MAX_NAME_LEN {
                return Err(FormError::TooManyFields);
            }
            let value = decode(value)?;
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(FormError::Malformed(Malformed::Twice));
            }
            fields.push((name, value));
        }
        Ok(Form { fields })
    }

    /// A field's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field that must be present, not empty and at most `max` characters.
    pub fn required(&self, name: &'static str, max: usize) -> Result<&str, FormError> {
        match self.get(name) {
            None | Some("") => Err(FormError::Missing(name)),
            Some(v) if v.chars().count() > max => Err(FormError::TooLong { field: name, max }),
            Some(v) => Ok(v),
        }
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// `+` is a space, `%XX` an octet; the result must be UTF-8 without
/// control characters.
fn decode(raw: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .filter(|_| raw[i + 1].is_ascii_hexdigit() && raw[i + 2].is_ascii_hexdigit())
                    .ok_or(FormError::Malformed(Malformed::Percent))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    let s = String::from_utf8(out).map_err(|_| FormError::Malformed(Malformed::NotUtf8))?;
    if s.chars().any(|c| c.is_ascii_control()) {
        return Err(FormError::Malformed(Malformed::Control));
    }
    Ok(s)
}

/// Encodes fields as a browser would (for tests and the fuzz round trip).
pub fn encode(fields: &[(String, String)]) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b' ' => out.push('+'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Form, FormError> {
        Form::parse(s.as_bytes())
    }

    #[test]
    fn decodes_plus_percent_and_utf8() {
        let f = parse("address=alice%40example.org&password=p%C3%A4ss+w%2Bord&csrf=x").unwrap();
        assert_eq!(f.get("address"), Some("alice@example.org"));
        assert_eq!(f.get("password"), Some("päss w+ord"));
        assert_eq!(f.required("csrf", 4), Ok("x"));
        assert_eq!(parse("a&&b=").unwrap().fields().len(), 2);
    }

    #[test]
    fn refuses_what_no_browser_sends() {
        for (body, want) in [
            ("a=%zz", FormError::Malformed(Malformed::Percent)),
            ("a=%4", FormError::Malformed(Malformed::Percent)),
            ("a=%+1", FormError::Malformed(Malformed::Percent)),
            ("a=%FF", FormError::Malformed(Malformed::NotUtf8)),
            ("a=x%00", FormError::Malformed(Malformed::Control)),
            ("a=x%0D%0A", FormError::Malformed(Malformed::Control)),
            ("a=1&a=2", FormError::Malformed(Malformed::Twice)),
        ] {
            assert_eq!(parse(body), Err(want), "{body}");
        }
        let many: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("f{i}=v")).collect();
        assert_eq!(parse(&many.join("&")), Err(FormError::TooManyFields));
        assert_eq!(
            parse(&format!("{}=v", "n".repeat(MAX_NAME_LEN + 1))),
            Err(FormError::TooManyFields)
        );
    }

    #[test]
    fn required_fields_are_present_and_bounded() {
        let f = parse("a=&b=%C3%A4%C3%A4%C3%A4").unwrap();
        assert_eq!(f.required("a", 5), Err(FormError::Missing("a")));
        assert_eq!(f.required("c", 5), Err(FormError::Missing("c")));
        // Characters, not octets.
        assert_eq!(f.required("b", 3), Ok("äää"));
        assert_eq!(
            f.required("b", 2),
            Err(FormError::TooLong { field: "b", max: 2 })
        );
    }

    #[test]
    fn encode_then_parse_is_the_identity() {
        let fields = vec![
            ("address".to_string(), "a+b@example.org".to_string()),
            ("password".to_string(), "ä %&=;\"<>".to_string()),
        ];
        assert_eq!(parse(&encode(&fields)).unwrap().fields(), &fields[..]);
    }
}
