//! Fuzz entry points, shared by `fuzz/http_request` and the corpus replay
//! in `cargo test`. Each checks invariants and panics if one breaks; any
//! other panic is a bug too.

use crate::autoconfig::{RequestError, parse_autodiscover_request};

/// The autodiscover body parser: never panics; whatever it accepts has an
/// address of bounded length; a body it accepts is still accepted when
/// wrapped in an XML declaration and whitespace.
pub fn autodiscover_request(data: &[u8]) {
    match parse_autodiscover_request(data) {
        Ok(r) => {
            assert!(!r.email.is_empty());
            assert!(r.email.len() <= crate::autoconfig::MAX_TEXT_LEN);
            let mut wrapped = b"<?xml version=\"1.0\"?>\n".to_vec();
            wrapped.extend_from_slice(data);
            wrapped.extend_from_slice(b"\n");
            if !data.starts_with(b"<?xml") && !data.starts_with(b"\xef\xbb\xbf") {
                assert_eq!(parse_autodiscover_request(&wrapped), Ok(r));
            }
        }
        Err(RequestError::Malformed(m)) => assert!(!m.is_empty()),
        Err(_) => {}
    }
}

/// The Host normalizer: never panics; what it returns is a lower-case host
/// name that normalizes to itself.
pub fn host(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(h) = crate::normalize_host(s)
    {
        assert_eq!(h, h.to_ascii_lowercase());
        assert!(h.len() <= 253);
        assert_eq!(crate::normalize_host(&h).as_deref(), Some(h.as_str()));
    }
}

/// The account page's `Accept-Language` negotiation: never panics; German
/// only when a range of the header's first [`MAX_HEADER`] octets names
/// `de`; the answer does not depend on anything past that limit.
///
/// [`MAX_HEADER`]: crate::account::text::MAX_HEADER
pub fn accept_language(data: &[u8]) {
    use crate::account::text::{Lang, MAX_HEADER};
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let lang = Lang::from_accept_language(Some(s));
    if lang == Lang::De {
        assert!(s.to_ascii_lowercase().contains("de"), "{s:?}");
    }
    let longer = format!("{s}{}, de", " ".repeat(MAX_HEADER));
    if s.len() <= MAX_HEADER {
        assert_eq!(Lang::from_accept_language(Some(&longer)), lang, "{s:?}");
    }
}

/// The account page's form parser: never panics; what it accepts has at
/// most `MAX_FIELDS` fields, unique names without control characters, and
/// encodes back to a body that parses to the same fields.
pub fn account_form(data: &[u8]) {
    use crate::account::form::{Form, MAX_FIELDS, MAX_NAME_LEN, encode};
    if let Ok(f) = Form::parse(data) {
        let fields = f.fields();
        assert!(fields.len() <= MAX_FIELDS);
        for (i, (n, v)) in fields.iter().enumerate() {
            assert!(n.len() <= MAX_NAME_LEN);
            assert!(!n.chars().chain(v.chars()).any(|c| c.is_ascii_control()));
            assert!(fields[..i].iter().all(|(m, _)| m != n));
        }
        let again = Form::parse(encode(fields).as_bytes()).expect("re-encoded form parses");
        assert_eq!(again.fields(), fields);
    }
}
