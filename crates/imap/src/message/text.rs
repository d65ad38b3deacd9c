//! Text helpers: decoding header and body text (IMAP strings are written
//! by `crate::wire::response::push_string`).
//!
//! - RFC 2047 encoded words in unstructured header text, decoded with
//!   mail-parser's decoder;
//! - charsets (RFC 2045 5.1 `charset`), decoded with mail-parser's tables,
//!   falling back to UTF-8 (or Latin-1 when the bytes are not UTF-8);
//! - RFC 8970 preview text (section 3): at most 200 characters of the first
//!   displayable text part, whitespace collapsed, HTML reduced to its text.

use mail_parser::HeaderValue;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;

use super::mime::{self, Entity, Kind};
use super::section::decode_cte;

/// Longest preview in characters (RFC 8970 section 3).
pub const PREVIEW_CHARS: usize = 200;
/// Most raw bytes of a part read to make a preview.
pub(crate) const PREVIEW_SCAN: usize = 16 * 1024;

/// Bytes as text: UTF-8 when valid, else each byte as its Latin-1 character
/// (8-bit headers in the wild are mostly UTF-8 or Latin-1).
pub(crate) fn lossless_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Decodes an unstructured header value (RFC 2047 words, folding removed).
pub(crate) fn decode_header_text(raw: &[u8]) -> String {
    let mut buf = Vec::with_capacity(raw.len() + 2);
    buf.extend_from_slice(raw);
    buf.extend_from_slice(b"\r\n");
    let decoded = match MessageStream::new(&buf).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    };
    if decoded.contains('\u{fffd}') && std::str::from_utf8(raw).is_err() {
        // mail-parser read 8-bit bytes as UTF-8; Latin-1 keeps them readable.
        return lossless_text(&mime::unfold(raw)).trim().to_string();
    }
    decoded
}

/// Decodes body bytes in a charset (unknown charsets: UTF-8, else Latin-1).
pub(crate) fn decode_charset(charset: Option<&[u8]>, bytes: &[u8]) -> String {
    if let Some(cs) = charset
        && !cs.eq_ignore_ascii_case(b"utf-8")
        && !cs.eq_ignore_ascii_case(b"us-ascii")
        && let Some(decode) = charset_decoder(cs)
    {
        return decode(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The decoded text of a leaf entity: transfer encoding removed, charset
/// applied, HTML reduced to text. `limit` caps the raw bytes read.
pub(crate) fn entity_text(raw: &[u8], e: &Entity, limit: usize) -> String {
    let body = &raw[e.body.clone()];
    let body = &body[..body.len().min(limit)];
    let cte = e.field(raw, "content-transfer-encoding").map(mime::unfold);
    let decoded = decode_cte(cte.as_deref().unwrap_or(b""), body).unwrap_or_else(|| body.to_vec());
    let text = decode_charset(e.ctype.param("charset"), &decoded);
    if e.ctype.is("text", "html") {
        html_to_text(&text)
    } else {
        text
    }
}

fn is_attachment(raw: &[u8], e: &Entity) -> bool {
    e.field(raw, "content-disposition")
        .and_then(mime::parse_disposition)
        .is_some_and(|(kind, _)| kind.eq_ignore_ascii_case(b"attachment"))
}

/// The first inline text part of the given subtype, depth-first, not
/// descending into attached messages.
fn first_text<'e>(raw: &[u8], e: &'e Entity, sub: &str) -> Option<&'e Entity> {
    match &e.kind {
        Kind::Multipart(parts) => parts.iter().find_map(|p| first_text(raw, p, sub)),
        Kind::Message(_) => None,
        Kind::Leaf => (e.ctype.is("text", sub) && !is_attachment(raw, e)).then_some(e),
    }
}

/// The RFC 8970 preview of a message.
pub(crate) fn preview(raw: &[u8], root: &Entity) -> String {
    let Some(part) = first_text(raw, root, "plain").or_else(|| first_text(raw, root, "html"))
    else {
        return String::new();
    };
    collapse(&entity_text(raw, part, PREVIEW_SCAN), PREVIEW_CHARS)
}

/// Collapses runs of whitespace to one space, trims, and keeps at most
/// `max` characters.
pub(crate) fn collapse(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        for (i, c) in std::iter::once(' ').chain(word.chars()).enumerate() {
            if i == 0 && out.is_empty() {
                continue;
            }
            if count == max {
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2047_words_are_decoded() {
        assert_eq!(decode_header_text(b" =?UTF-8?Q?caf=C3=A9?= ok"), "café ok");
        assert_eq!(
            decode_header_text(b"=?iso-8859-1?b?Y2Fm6Q==?=\r\n =?utf-8?q?_x?="),
            "café x"
        );
        assert_eq!(decode_header_text(b" plain  text "), "plain  text");
    }

    #[test]
    fn eight_bit_latin1_header_is_kept_readable() {
        assert_eq!(decode_header_text(b" caf\xe9"), "café");
        assert_eq!(decode_header_text(" café".as_bytes()), "café");
    }

    #[test]
    fn charsets() {
        assert_eq!(decode_charset(Some(b"ISO-8859-1"), b"caf\xe9"), "café");
        assert_eq!(decode_charset(Some(b"utf-8"), "é".as_bytes()), "é");
        assert_eq!(decode_charset(Some(b"x-unknown"), b"abc"), "abc");
        assert_eq!(decode_charset(None, b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn collapse_whitespace_and_cut() {
        assert_eq!(collapse("  a \r\n\t b  ", 200), "a b");
        assert_eq!(collapse("abcdef", 3), "abc");
        assert_eq!(collapse("ab cd", 3), "ab ");
        assert_eq!(collapse("", 3), "");
        let long = "é".repeat(500);
        assert_eq!(
            collapse(&long, PREVIEW_CHARS).chars().count(),
            PREVIEW_CHARS
        );
    }

    #[test]
    fn preview_prefers_plain_then_html() {
        let raw = b"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>there</b></p>\r\n--a--\r\n";
        let root = mime::parse(raw);
        let p = preview(raw, &root);
        assert!(
            p.contains("Hello") && p.contains("there") && !p.contains('<'),
            "{p}"
        );
        let raw = b"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n  au   lait\r\n--a--\r\n";
        let root = mime::parse(raw);
        assert_eq!(preview(raw, &root), "Café au lait");
    }

    #[test]
    fn preview_skips_attachments() {
        let raw = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=x.txt\r\n\r\nsecret file\r\n--a--\r\n";
        let root = mime::parse(raw);
        assert_eq!(preview(raw, &root), "");
    }
}
