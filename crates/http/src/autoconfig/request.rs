//! The body of an Outlook POX autodiscover request ([MS-OXDSCLI] 2.2.3.1,
//! namespace `.../outlook/requestschema/2006`):
//!
//! ```xml
//! <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
//!   <Request>
//!     <EMailAddress>user@example.org</EMailAddress>
//!     <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
//!   </Request>
//! </Autodiscover>
//! ```
//!
//! quick-xml tokenizes; this module decides. Limits: the body is already
//! capped by `[http] max_body_bytes`; on top, at most [`MAX_DEPTH`] open
//! elements, [`MAX_EVENTS`] tokens and [`MAX_TEXT`] octets per value. A
//! document type declaration is refused outright (no entity of ours to
//! expand, and none of anyone else's), as is any entity reference but the
//! five predefined ones and character references. Element names are
//! matched on their local part, case-insensitively (clients differ).

use quick_xml::events::Event;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 16;
/// Most tokens (elements, texts, comments...) in one request.
pub const MAX_EVENTS: usize = 4096;
/// Longest text of one field, in octets.
pub const MAX_TEXT: usize = 1024;

/// What an autodiscover request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutodiscoverRequest {
    /// `EMailAddress`, trimmed (not yet validated as an address).
    pub email: String,
    /// `AcceptableResponseSchema`, if sent.
    pub response_schema: Option<String>,
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not well-formed XML (or not UTF-8).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A `<!DOCTYPE ...>` was present.
    #[error("document type declarations are not accepted")]
    DocType,
    /// An entity other than the predefined ones.
    #[error("unknown entity reference")]
    Entity,
    /// The root is not `Autodiscover` or it has no `Request`.
    #[error("not an autodiscover request")]
    NotAutodiscover,
    /// `Request` has no `EMailAddress`.
    #[error("no EMailAddress in the request")]
    NoAddress,
    /// Over [`MAX_DEPTH`], [`MAX_EVENTS`] or [`MAX_TEXT`].
    #[error("request too large or too deep")]
    TooLarge,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    Schema,
}

/// Parses a POX autodiscover request body.
pub fn parse_autodiscover_request(body: &[u8]) -> Result<AutodiscoverRequest, RequestError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut seen_root = false;
    let mut seen_request = false;
    let mut email: Option<String> = None;
    let mut schema: Option<String> = None;
    let mut field: Option<(Field, String)> = None;
    let mut events = 0usize;
    loop {
        events += 1;
        if events > MAX_EVENTS {
            return Err(RequestError::TooLarge);
        }
        let event = reader
            .read_event()
            .map_err(|e| RequestError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                let name = local_name(start.local_name().as_ref())?;
                if stack.is_empty() {
                    if seen_root {
                        return Err(RequestError::Malformed("two root elements".into()));
                    }
                    seen_root = true;
                    if !name.eq_ignore_ascii_case("Autodiscover") {
                        return Err(RequestError::NotAutodiscover);
                    }
                }
                if stack.len() == 1 && name.eq_ignore_ascii_case("Request") {
                    seen_request = true;
                }
                if stack.len() == 2 && stack[1].eq_ignore_ascii_case("Request") {
                    if name.eq_ignore_ascii_case("EMailAddress") {
                        field = Some((Field::Email, String::new()));
                    } else if name.eq_ignore_ascii_case("AcceptableResponseSchema") {
                        field = Some((Field::Schema, String::new()));
                    }
                }
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return Err(RequestError::TooLarge);
                }
            }
            Event::Empty(start) => {
                let name = local_name(start.local_name().as_ref())?;
                if stack.is_empty() {
                    // `<Autodiscover/>`: a root with nothing in it.
                    return Err(RequestError::NotAutodiscover);
                }
                if stack.len() == 1 && name.eq_ignore_ascii_case("Request") {
                    seen_request = true;
                }
            }
            Event::End(_) => {
                if stack.len() == 3
                    && let Some((which, text)) = field.take()
                {
                    let text = text.trim().to_string();
                    match which {
                        Field::Email if email.is_none() => email = Some(text),
                        Field::Schema if schema.is_none() => schema = Some(text),
                        _ => {}
                    }
                }
                stack.pop();
            }
            Event::Text(text) => {
                let text = text
                    .decode()
                    .map_err(|e| RequestError::Malformed(e.to_string()))?;
                if stack.is_empty() && !text.trim().is_empty() {
                    return Err(RequestError::Malformed("text outside the root".into()));
                }
                push_text(&mut field, stack.len(), &text)?;
            }
            Event::CData(data) => {
                let text = std::str::from_utf8(&data)
                    .map_err(|_| RequestError::Malformed("CDATA is not UTF-8".into()))?;
                push_text(&mut field, stack.len(), text)?;
            }
            Event::GeneralRef(reference) => {
                let c = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .map_err(|e| RequestError::Malformed(e.to_string()))?
                        .ok_or(RequestError::Entity)?
                } else {
                    match &*reference {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        _ => return Err(RequestError::Entity),
                    }
                };
                if stack.is_empty() {
                    return Err(RequestError::Malformed("text outside the root".into()));
                }
                push_text(&mut field, stack.len(), c.encode_utf8(&mut [0u8; 4]))?;
            }
            Event::DocType(_) => return Err(RequestError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(RequestError::Malformed("unclosed element".into()));
    }
    if !seen_root || !seen_request {
        return Err(RequestError::NotAutodiscover);
    }
    match email.filter(|e| !e.is_empty()) {
        Some(email) => Ok(AutodiscoverRequest {
            email,
            response_schema: schema.filter(|s| !s.is_empty()),
        }),
        None => Err(RequestError::NoAddress),
    }
}

fn local_name(raw: &[u8]) -> Result<String, RequestError> {
    std::str::from_utf8(raw)
        .map(str::to_string)
        .map_err(|_| RequestError::Malformed("element name is not UTF-8".into()))
}

/// Adds text to the field being read, if the text is directly inside it.
fn push_text(
    field: &mut Option<(Field, String)>,
    depth: usize,
    text: &str,
) -> Result<(), RequestError> {
    if depth != 3 {
        return Ok(());
    }
    if let Some((_, value)) = field {
        if value.len() + text.len() > MAX_TEXT {
            return Err(RequestError::TooLarge);
        }
        value.push_str(text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTLOOK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>Alice@Example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#;

    #[test]
    fn outlook_request() {
        let r = parse_autodiscover_request(OUTLOOK.as_bytes()).unwrap();
        assert_eq!(r.email, "Alice@Example.org");
        assert!(r.response_schema.unwrap().ends_with("responseschema/2006a"));
    }

    #[test]
    fn prefixes_entities_and_cdata() {
        let body = r#"<a:Autodiscover xmlns:a="x"><a:Request><!-- hi --><a:EMailAddress> b&#x6f;b&amp;<![CDATA[x]]>@example.org </a:EMailAddress></a:Request></a:Autodiscover>"#;
        let r = parse_autodiscover_request(body.as_bytes()).unwrap();
        assert_eq!(r.email, "bob&x@example.org");
        assert_eq!(r.response_schema, None);
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, RequestError)] = &[
            ("", RequestError::NotAutodiscover),
            ("<Other/>", RequestError::NotAutodiscover),
            (
                "<Autodiscover><Request/></Autodiscover>",
                RequestError::NoAddress,
            ),
            (
                "<Autodiscover></Autodiscover>",
                RequestError::NotAutodiscover,
            ),
            (
                "<!DOCTYPE x [<!ENTITY e \"boom\">]><Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
                RequestError::DocType,
            ),
            (
                "<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
                RequestError::Entity,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                &parse_autodiscover_request(body.as_bytes()).unwrap_err(),
                want,
                "{body}"
            );
        }
        for body in [
            "<Autodiscover><Request><EMailAddress>a@b</Request></Autodiscover>",
            "<Autodiscover><Request><EMailAddress>a@b</EMailAddress></Request>",
            "<Autodiscover/><Autodiscover/>",
            "<Autodiscover><Request><EMailAddress>a@b</EMailAddress></Request></Autodiscover><x/>",
            "junk<Autodiscover/>",
        ] {
            assert!(
                parse_autodiscover_request(body.as_bytes()).is_err(),
                "{body}"
            );
        }
        assert!(matches!(
            parse_autodiscover_request(b"<Autodiscover>\xff</Autodiscover>"),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn limits() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        let deep = format!("<Autodiscover>{deep}</Autodiscover>");
        assert_eq!(
            parse_autodiscover_request(deep.as_bytes()),
            Err(RequestError::TooLarge)
        );
        let long = format!(
            "<Autodiscover><Request><EMailAddress>{}@example.org</EMailAddress></Request></Autodiscover>",
            "a".repeat(MAX_TEXT)
        );
        assert_eq!(
            parse_autodiscover_request(long.as_bytes()),
            Err(RequestError::TooLarge)
        );
        let many = format!("<Autodiscover>{}</Autodiscover>", "<x/>".repeat(MAX_EVENTS));
        assert_eq!(
            parse_autodiscover_request(many.as_bytes()),
            Err(RequestError::TooLarge)
        );
    }

    #[test]
    fn every_split_point_of_a_valid_request_parses_the_same_when_whole() {
        // The parser is not incremental (the body is collected first); a
        // truncated body must fail cleanly, never panic or half-succeed.
        let body = OUTLOOK.as_bytes();
        for cut in 0..body.len() {
            let r = parse_autodiscover_request(&body[..cut]);
            assert!(r.is_err(), "truncated at {cut} parsed: {r:?}");
        }
    }
}
