//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): what IMAP4rev1
//! clients send and expect unless UTF8=ACCEPT (RFC 6855) or IMAP4rev2 is
//! enabled.
//!
//! Decoding is strict: an `&` run must be valid modified base64 of UTF-16BE,
//! close with `-`, not encode printable ASCII, and leave no stray bits; raw
//! 8-bit octets are refused. Strictness keeps one name from having two
//! spellings.

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// RFC 3501: base64 with "," in place of "/", no padding. Built once, at
/// compile time (building an alphabet per name showed in profiles).
const ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,") {
        Ok(a) => a,
        Err(_) => panic!("the modified base64 alphabet is valid"),
    };

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Why a modified UTF-7 name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid modified UTF-7 mailbox name")]
pub struct InvalidMutf7;

/// Decodes a modified UTF-7 name to UTF-8.
pub fn decode(s: &str) -> Result<String, InvalidMutf7> {
    let b = s.as_bytes();
    // The common case: printable ASCII without `&` is its own encoding.
    if b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'&') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let engine = &ENGINE;
    while i < b.len() {
        let c = b[i];
        if !(0x20..0x7f).contains(&c) {
            return Err(InvalidMutf7);
        }
        if c != b'&' {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = b[i + 1..]
            .iter()
            .position(|&x| x == b'-')
            .map(|p| i + 1 + p)
            .ok_or(InvalidMutf7)?;
        if end == i + 1 {
            out.push('&');
            i = end + 1;
            continue;
        }
        let bytes = engine.decode(&b[i + 1..end]).map_err(|_| InvalidMutf7)?;
        if bytes.len() % 2 != 0 {
            return Err(InvalidMutf7);
        }
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        for ch in char::decode_utf16(units) {
            let ch = ch.map_err(|_| InvalidMutf7)?;
            if (' '..='~').contains(&ch) {
                // Printable ASCII must be written directly.
                return Err(InvalidMutf7);
            }
            out.push(ch);
        }
        i = end + 1;
        // Two adjacent encoded runs are not canonical.
        if b.get(i) == Some(&b'&') && b.get(i + 1) != Some(&b'-') {
            return Err(InvalidMutf7);
        }
    }
    Ok(out)
}

/// Encodes a UTF-8 name to modified UTF-7.
pub fn encode(s: &str) -> String {
    if s.bytes().all(|c| (0x20..0x7f).contains(&c) && c != b'&') {
        return s.to_string();
    }
    let engine = &ENGINE;
    let mut out = String::with_capacity(s.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&engine.encode(bytes));
        out.push('-');
        pending.clear();
    };
    for ch in s.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(decode(wire).unwrap(), "~peter/mail/台北/日本語");
        assert_eq!(encode("~peter/mail/台北/日本語"), wire);
    }

    #[test]
    fn ampersand() {
        assert_eq!(decode("A&-B").unwrap(), "A&B");
        assert_eq!(encode("A&B"), "A&-B");
    }

    #[test]
    fn round_trips() {
        for s in ["Entwürfe", "Корзина", "a😀b", "&&", "plain", "é&é"] {
            assert_eq!(decode(&encode(s)).unwrap(), s, "{s}");
        }
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "&",          // unterminated
            "&AGE",       // unterminated
            "&AGE-",      // encodes printable ASCII "a"
            "&2D0-",      // lone surrogate / odd bits
            "caf\u{e9}",  // raw 8-bit
            "a\tb",       // control
            "&AOk-&AOk-", // two adjacent runs
            "&Jjo!-",     // bad base64
        ] {
            assert_eq!(decode(bad), Err(InvalidMutf7), "{bad:?}");
        }
    }
}
