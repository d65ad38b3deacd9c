//! CATENATE's grammar (RFC 4469 section 5), the `append-data-ext` of an
//! APPEND message:
//!
//! ```text
//! catenate     = "CATENATE" SP "(" cat-part *(SP cat-part) ")"
//! cat-part     = text-literal / url
//! text-literal = "TEXT" SP literal      ; literal8 with BINARY (RFC 4469 4)
//! url          = "URL" SP astring
//! ```
//!
//! and the section of an IMAP URL (`;SECTION=`, RFC 5092), which is a
//! FETCH section-spec. The parts of one APPEND together are at most
//! [`MAX_CATENATE_PARTS`].

use super::{Cursor, R};
use crate::wire::catenate::{CatPart, MAX_CATENATE_PARTS};
use crate::wire::command::Section;

/// What follows an APPEND message's options: a literal, or CATENATE.
pub(super) enum AppendData {
    Literal(Vec<u8>),
    Catenate(Vec<CatPart>),
}

/// `"CATENATE" SP "(" cat-part *(SP cat-part) ")"`, once `CATENATE` was
/// seen; `parts` counts the parts of the whole APPEND so far.
pub(super) fn catenate(c: &mut Cursor, parts: &mut usize) -> R<Vec<CatPart>> {
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut out = Vec::new();
    loop {
        *parts += 1;
        if *parts > MAX_CATENATE_PARTS {
            return Err("too many CATENATE parts");
        }
        if c.keyword("TEXT") {
            c.sp()?;
            out.push(CatPart::Text(c.literal()?.to_vec()));
        } else if c.keyword("URL") {
            c.sp()?;
            let url = String::from_utf8(c.astring()?).map_err(|_| "invalid UTF-8 in URL")?;
            out.push(CatPart::Url(url));
        } else {
            return Err("expected TEXT or URL");
        }
        if c.eat(b')') {
            return Ok(out);
        }
        c.sp()?;
    }
}

/// An IMAP URL's `;SECTION=` text (%-decoded) as a section-spec.
pub(crate) fn url_section(text: &str) -> Option<Section> {
    let framed = format!("[{text}]");
    let mut c = Cursor::new(framed.as_bytes());
    let section = super::fetch::section(&mut c).ok()?;
    c.peek().is_none().then_some(section)
}
