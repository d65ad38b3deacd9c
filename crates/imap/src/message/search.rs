//! SEARCH BODY, TEXT and HEADER matching (RFC 9051 section 6.4.4).
//!
//! Matching is on decoded text: header values with RFC 2047 words decoded,
//! bodies with their Content-Transfer-Encoding removed and their charset
//! converted to UTF-8, HTML reduced to its text. The comparison is a
//! case-insensitive substring match (Unicode lowercase), as RFC 9051 asks
//! ("case-insensitive substring").
//!
//! - BODY searches the text parts (`text/*`) and the headers and text
//!   parts of attached messages; other attachments are not text and are
//!   not searched.
//! - TEXT searches the message header and the body.
//! - HEADER searches every field of the top-level header with that name;
//!   an empty needle matches when the field is present at all (RFC 9051).
//!
//! At most [`MAX_PART_SCAN`] raw bytes of each part are decoded.

use super::mime::{self, Entity, Kind};
use super::text::{decode_header_text, entity_text};

/// Most raw bytes of one part decoded for a search.
pub const MAX_PART_SCAN: usize = 64 * 1024 * 1024;

/// Where a text search looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextWhere {
    /// The body (SEARCH BODY).
    Body,
    /// Header and body (SEARCH TEXT).
    Text,
    /// One header field, by name (SEARCH HEADER name ...).
    Header(String),
}

fn contains(hay: &str, needle_lower: &str) -> bool {
    hay.to_lowercase().contains(needle_lower)
}

fn header_matches(raw: &[u8], e: &Entity, name: Option<&str>, needle: &str) -> bool {
    // Re-scan without the summary's field cap: every field counts.
    let (fields, _) = mime::header_fields(raw, e.header.clone(), usize::MAX);
    fields.iter().any(|f| {
        let field_name = &raw[f.name.clone()];
        match name {
            Some(n) if !field_name.eq_ignore_ascii_case(n.as_bytes()) => false,
            Some(_) => {
                needle.is_empty() || contains(&decode_header_text(&raw[f.value.clone()]), needle)
            }
            None => {
                let text = format!(
                    "{}: {}",
                    String::from_utf8_lossy(field_name),
                    decode_header_text(&raw[f.value.clone()])
                );
                contains(&text, needle)
            }
        }
    })
}

fn body_matches(raw: &[u8], root: &Entity, needle: &str) -> bool {
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        match &e.kind {
            Kind::Multipart(parts) => stack.extend(parts.iter().rev()),
            Kind::Message(inner) => {
                if header_matches(raw, inner, None, needle) {
                    return true;
                }
                stack.push(inner);
            }
            Kind::Leaf => {
                if e.ctype.is_main("text") && contains(&entity_text(raw, e, MAX_PART_SCAN), needle)
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `needle` occurs in the message where `where_` says.
pub fn search_text(raw: &[u8], needle: &str, where_: TextWhere) -> bool {
    let needle = needle.to_lowercase();
    let root = mime::parse(raw);
    match where_ {
        TextWhere::Header(name) => header_matches(raw, &root, Some(&name), &needle),
        TextWhere::Body => needle.is_empty() || body_matches(raw, &root, &needle),
        TextWhere::Text => {
            needle.is_empty()
                || header_matches(raw, &root, None, &needle)
                || body_matches(raw, &root, &needle)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?= aus Berlin\r\nX-Tag: alpha\r\nX-Tag: beta\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDas Stra=DFenfest ist am Montag.\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+PGI+SGVsbG88L2I+IFdvcmxkPC9wPg==\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nsecretbinary\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner subject\r\n\r\ninner body words\r\n--b--\r\n";

    fn body(n: &str) -> bool {
        search_text(MSG, n, TextWhere::Body)
    }

    #[test]
    fn body_is_decoded_and_case_insensitive() {
        assert!(body("straßenfest"));
        assert!(body("MONTAG"));
        assert!(body("hello world"));
        assert!(!body("<b>"), "HTML tags are not text");
        assert!(!body("=DF"), "QP escapes are decoded");
        assert!(body("inner body"));
        assert!(body("inner subject"), "attached message headers are body");
        assert!(
            !body("secretbinary"),
            "non-text attachments are not searched"
        );
        assert!(!body("Berlin"), "the top-level header is not body");
        assert!(body(""));
    }

    #[test]
    fn text_includes_header() {
        assert!(search_text(MSG, "grüße aus", TextWhere::Text));
        assert!(search_text(MSG, "jörg", TextWhere::Text));
        assert!(search_text(MSG, "x-tag: beta", TextWhere::Text));
        assert!(search_text(MSG, "straßenfest", TextWhere::Text));
        assert!(!search_text(MSG, "nowhere", TextWhere::Text));
    }

    #[test]
    fn header_fields() {
        let h = |name: &str, n: &str| search_text(MSG, n, TextWhere::Header(name.into()));
        assert!(h("subject", "GRÜßE"));
        assert!(h("SUBJECT", "berlin"));
        assert!(h("x-tag", "beta"), "every occurrence is searched");
        assert!(h("from", "j@example.com"));
        assert!(h("from", "jörg"));
        assert!(!h("to", ""), "absent header");
        assert!(h("x-tag", ""), "empty needle matches a present header");
        assert!(!h("subject", "inner"));
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for raw in [
            &b""[..],
            b"\r\n",
            b"Content-Type: text/plain; charset=\xff\r\n\r\n\xff\xfe",
            b"Subject: =?x?q?=?=\r\n\r\n",
        ] {
            let _ = search_text(raw, "x", TextWhere::Text);
            let _ = search_text(raw, "x", TextWhere::Header("subject".into()));
        }
    }
}
