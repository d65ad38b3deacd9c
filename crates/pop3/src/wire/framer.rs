//! Line framing for POP3 commands (RFC 1939 section 3, RFC 2449 section 4).
//!
//! A push framer: the driver [`LineFramer::push`]es whatever it read and
//! takes complete lines out with [`LineFramer::next_frame`]. A command line
//! may be at most `limit` octets *including* its CRLF (RFC 2449 section 4:
//! 255). A longer line is never parsed: the framer yields one
//! [`Frame::TooLong`] as soon as the line cannot fit any more (so the
//! client is answered at once, not when, if ever, the line ends) and drops
//! the rest of it as it arrives, up to and including the next LF. The
//! buffer therefore never holds more than `limit` octets plus one read.
//!
//! Lines end with CRLF; a bare LF is accepted as well (lenient clients) and
//! the CR before it, if any, is not part of the line.

/// One unit cut from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line without its line ending.
    Line(Vec<u8>),
    /// A line longer than the limit: reported as soon as that is known;
    /// the rest of it is dropped through its LF.
    TooLong,
}

/// The push framer. See the module documentation.
#[derive(Debug, Default)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Dropping an over-long line until its LF.
    discarding: bool,
}

impl LineFramer {
    /// An empty framer.
    pub fn new() -> LineFramer {
        LineFramer::default()
    }

    /// Adds bytes read from the client.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Drops everything buffered (before a STLS upgrade: bytes pipelined
    /// in plaintext after the STLS line must never be obeyed).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.discarding = false;
    }

    /// Octets held, for tests of the memory bound.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, if any, for lines of at most `limit` octets
    /// including the line ending.
    pub fn next_frame(&mut self, limit: usize) -> Option<Frame> {
        let limit = limit.max(2);
        let newline = self.buf.iter().position(|&b| b == b'\n');
        if self.discarding {
            // The rest of a line already answered as too long.
            return match newline {
                Some(i) => {
                    self.buf.drain(..=i);
                    self.discarding = false;
                    self.next_frame(limit)
                }
                None => {
                    self.buf.clear();
                    None
                }
            };
        }
        match newline {
            Some(i) => {
                // A bare LF counts as if it were CRLF for the limit: the
                // client could equally have sent the CR.
                let has_cr = i > 0 && self.buf[i - 1] == b'\r';
                let content = if has_cr { i - 1 } else { i };
                if content + 2 > limit {
                    self.buf.drain(..=i);
                    return Some(Frame::TooLong);
                }
                let line = self.buf[..content].to_vec();
                self.buf.drain(..=i);
                Some(Frame::Line(line))
            }
            None => {
                // The shortest this line can still turn out: what is here
                // plus its line ending (only the LF if a CR is already here).
                let ending = if self.buf.last() == Some(&b'\r') {
                    1
                } else {
                    2
                };
                if self.buf.len() + ending > limit {
                    self.buf.clear();
                    self.discarding = true;
                    return Some(Frame::TooLong);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], limit: usize) -> Vec<Frame> {
        let mut f = LineFramer::new();
        f.push(input);
        std::iter::from_fn(|| f.next_frame(limit)).collect()
    }

    /// Feeds `input` split at every position and checks the frames are the same.
    fn split_everywhere(input: &[u8], limit: usize) -> Vec<Frame> {
        let whole = frames(input, limit);
        for cut in 0..=input.len() {
            let mut f = LineFramer::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                f.push(part);
                while let Some(fr) = f.next_frame(limit) {
                    got.push(fr);
                }
            }
            assert_eq!(
                got,
                whole,
                "split at {cut} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        // And one byte at a time.
        let mut f = LineFramer::new();
        let mut got = Vec::new();
        for b in input {
            f.push(std::slice::from_ref(b));
            while let Some(fr) = f.next_frame(limit) {
                got.push(fr);
            }
        }
        assert_eq!(got, whole, "bytewise");
        whole
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], usize, Vec<Frame>)] = &[
            (b"", 255, vec![]),
            (b"NOOP", 255, vec![]),
            (b"NOOP\r\n", 255, vec![line("NOOP")]),
            (b"NOOP\n", 255, vec![line("NOOP")]),
            (b"\r\n", 255, vec![line("")]),
            (
                b"STAT\r\nLIST 1\r\nQUIT\r\n",
                255,
                vec![line("STAT"), line("LIST 1"), line("QUIT")],
            ),
            (b"a\rb\r\n", 255, vec![line("a\rb")]),
            // Exactly at the limit: 8 octets including CRLF.
            (
                b"USER abc\r\nNOOP\r\n",
                10,
                vec![line("USER abc"), line("NOOP")],
            ),
            // One over.
            (
                b"USER abcd\r\nNOOP\r\n",
                10,
                vec![Frame::TooLong, line("NOOP")],
            ),
            // Far over, then a good line.
            (
                b"USER aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nSTAT\r\n",
                10,
                vec![Frame::TooLong, line("STAT")],
            ),
            // Bare LF at the limit counts as CRLF.
            (b"USER abc\n", 10, vec![line("USER abc")]),
            (b"USER abcd\n", 10, vec![Frame::TooLong]),
            // The tail of a long line is never a command.
            (b"XXXXXXXXXXXXXXXXXXXXX QUIT\r\n", 10, vec![Frame::TooLong]),
        ];
        for (input, limit, want) in cases {
            assert_eq!(
                &split_everywhere(input, *limit),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// A 1 MB line without CRLF: answered once it passes the limit, held
    /// nowhere, and its tail is never a command.
    #[test]
    fn long_line_is_answered_at_once_and_not_buffered() {
        let mut f = LineFramer::new();
        f.push(&[b'x'; 253]);
        assert_eq!(f.next_frame(255), None, "253 + CRLF still fits");
        f.push(b"x");
        assert_eq!(f.next_frame(255), Some(Frame::TooLong));
        for _ in 0..1000 {
            f.push(&[b'x'; 1000]);
            assert_eq!(f.next_frame(255), None);
            assert!(f.buffered() <= 1000);
        }
        f.push(b"\r\nQUIT\r\n");
        assert_eq!(f.next_frame(255), Some(line("QUIT")));
        assert_eq!(f.next_frame(255), None);
    }

    #[test]
    fn clear_drops_pipelined_bytes() {
        let mut f = LineFramer::new();
        f.push(b"STLS\r\nUSER evil\r\n");
        assert_eq!(f.next_frame(255), Some(line("STLS")));
        f.clear();
        assert_eq!(f.next_frame(255), None);
        assert_eq!(f.buffered(), 0);
    }
}
