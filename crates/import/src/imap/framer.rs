//! Cuts an IMAP server's byte stream into whole responses (RFC 9051 2.2.2,
//! 4.3: a response is lines, each ending in a literal announcement
//! `{N}` followed by N octets, until a line without one), before anything
//! parses them. Sans-IO: bytes in, the length of the next whole response
//! out. Each byte is scanned once, so a large literal costs no rescans.
//!
//! Limits: a text line is at most [`MAX_LINE`] octets, a literal at most
//! [`crate::MAX_MESSAGE_SIZE`], a response at most [`MAX_RESPONSE`];
//! going over one is an error as soon as it is announced or seen.

/// Longest text line of a response (the parts between literals).
pub const MAX_LINE: usize = 1 << 20;
/// Largest whole response: one message literal and its FETCH line.
pub const MAX_RESPONSE: usize = crate::MAX_MESSAGE_SIZE + MAX_LINE;

/// A response over a limit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A line longer than [`MAX_LINE`].
    #[error("the server sent a line longer than {MAX_LINE} octets")]
    LineTooLong,
    /// A literal larger than the limit.
    #[error("the server announced a literal of {0} octets, over the limit")]
    LiteralTooLarge(u64),
}

/// Where the scan of the response at the start of the buffer stands.
#[derive(Debug, Default)]
pub struct Framer {
    /// Scanned up to here (may be past the buffer's end inside a literal).
    pos: usize,
    /// Where the current text line starts.
    line_start: usize,
}

impl Framer {
    /// The length of the whole response at the start of `buf`, once it is
    /// all there. Call again with the same buffer grown; after a response
    /// is taken off the front, start with a new `Framer`.
    pub fn frame(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        self.frame_with(buf, crate::MAX_MESSAGE_SIZE)
    }

    /// As [`Framer::frame`] with literals up to `max_literal` octets.
    pub fn frame_with(
        &mut self,
        buf: &[u8],
        max_literal: usize,
    ) -> Result<Option<usize>, FrameError> {
        loop {
            if self.pos > buf.len() {
                return Ok(None);
            }
            let Some(nl) = buf[self.pos..].iter().position(|&b| b == b'\n') else {
                self.pos = buf.len();
                if self.pos - self.line_start > MAX_LINE {
                    return Err(FrameError::LineTooLong);
                }
                return Ok(None);
            };
            let end = self.pos + nl + 1;
            if end - self.line_start > MAX_LINE + 2 {
                return Err(FrameError::LineTooLong);
            }
            let line = &buf[self.line_start..end];
            match literal_len(line) {
                Some(n) if n > max_literal as u64 => return Err(FrameError::LiteralTooLarge(n)),
                Some(n) => {
                    self.pos = end + n as usize;
                    self.line_start = self.pos;
                }
                None => return Ok(Some(end)),
            }
        }
    }
}

/// `{N}` or `{N+}` at the end of a line (before CRLF or LF).
fn literal_len(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let line = line.strip_suffix(b"+").unwrap_or(line);
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FETCH: &[u8] = b"* 1 FETCH (UID 5 BODY[] {5}\r\nab\r\n\n)\r\n* OK rest";

    #[test]
    fn a_response_with_a_literal_split_at_every_byte() {
        let whole = FETCH.len() - b"* OK rest".len();
        for cut in 0..FETCH.len() {
            let mut f = Framer::default();
            let first = f.frame(&FETCH[..cut]).unwrap();
            let second = f.frame(FETCH).unwrap();
            if cut >= whole {
                assert_eq!(first, Some(whole), "cut {cut}");
            } else {
                assert_eq!(first, None, "cut {cut}");
                assert_eq!(second, Some(whole), "cut {cut}");
            }
        }
    }

    #[test]
    fn limits() {
        let mut f = Framer::default();
        assert_eq!(
            f.frame_with(b"* 1 FETCH (BODY[] {101}\r\n", 100),
            Err(FrameError::LiteralTooLarge(101))
        );
        let long = vec![b'x'; MAX_LINE + 1];
        assert_eq!(Framer::default().frame(&long), Err(FrameError::LineTooLong));
    }
}
