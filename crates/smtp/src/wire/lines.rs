//! Keeping relayed lines within RFC 5321's limit (4.5.3.1.6: 998 octets
//! before CRLF) when the message was accepted with longer ones.
//!
//! sealpost accepts long lines and stores them as received (`[smtp]
//! max_line_length`), as Postfix and Dovecot LMTP do. The next hop may not
//! be as lenient, so mail going out is cut the way Postfix's SMTP client
//! does it (`smtp_line_length_limit`, default 998): a longer line is broken
//! by inserting CRLF and a space, so that in a header it reads as folding
//! and in a MIME body the damage is the least (base64 decoders skip the
//! whitespace). We also never cut inside a UTF-8 sequence. Submitted mail
//! for remote recipients is cut *before* it is DKIM-signed, so the
//! signature covers what the next hop receives; the outbound client cuts
//! again as a last guard (bounces, anything queued otherwise), which
//! changes nothing in a message already within the limit.

use std::borrow::Cow;

/// The longest line, CRLF excluded, that goes out (RFC 5321 4.5.3.1.6).
pub const MAX_RELAY_LINE: usize = 998;

/// `message` with every line longer than `max` octets (line end excluded)
/// broken by CRLF SPACE; borrowed when nothing is longer. Lines end at LF
/// (a CR before it is part of the line end); `max` below 2 counts as 2.
pub fn break_long_lines(message: &[u8], max: usize) -> Cow<'_, [u8]> {
    let max = max.max(2);
    let too_long = message
        .split(|&b| b == b'\n')
        .any(|l| l.strip_suffix(b"\r").unwrap_or(l).len() > max);
    if !too_long {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len() + message.len() / max * 3 + 3);
    let mut lines = message.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let (mut content, cr) = match line.strip_suffix(b"\r") {
            Some(c) if !last => (c, true),
            _ => (line, false),
        };
        // The first piece may fill the line; continuations start with a space.
        let mut room = max;
        while content.len() > room {
            let mut cut = room;
            // Back off to a character boundary (at most 3 continuation octets).
            while cut > room.saturating_sub(3) && cut > 1 && content[cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            out.extend_from_slice(&content[..cut]);
            out.extend_from_slice(b"\r\n ");
            content = &content[cut..];
            room = max - 1;
        }
        out.extend_from_slice(content);
        if cr {
            out.push(b'\r');
        }
        if !last {
            out.push(b'\n');
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(b: &[u8]) -> Vec<usize> {
        b.split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len())
            .collect()
    }

    #[test]
    fn short_lines_are_untouched_and_borrowed() {
        let m = b"Subject: x\r\n\r\nhello\r\n";
        assert!(matches!(break_long_lines(m, 998), Cow::Borrowed(_)));
        let exact = format!("{}\r\n", "a".repeat(998));
        assert!(matches!(
            break_long_lines(exact.as_bytes(), 998),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_2000_octet_line_becomes_three_within_the_limit() {
        let body = "b".repeat(2000);
        let m = format!("Subject: x\r\n\r\n{body}\r\nend\r\n");
        let out = break_long_lines(m.as_bytes(), 998);
        assert_eq!(lines(&out), vec![10, 0, 998, 998, 6, 3, 0]);
        let text = String::from_utf8(out.into_owned()).unwrap();
        // Unfolding (removing each CRLF before a space, and the space) gives the line back.
        assert_eq!(text.replace("\r\n ", ""), m);
    }

    #[test]
    fn never_cuts_inside_a_character() {
        let body = "é".repeat(600); // 1200 octets
        let out = break_long_lines(body.as_bytes(), 998).into_owned();
        for piece in out.split(|&b| b == b'\n') {
            let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
            assert!(std::str::from_utf8(piece).is_ok());
            assert!(piece.len() <= 998);
        }
    }

    #[test]
    fn bare_lf_and_no_final_newline_are_kept_as_they_are() {
        let m = format!("a\n{}", "c".repeat(5));
        assert_eq!(
            &*break_long_lines(m.as_bytes(), 2),
            b"a\ncc\r\n c\r\n c\r\n c"
        );
    }
}
