//! Sending a message in a multi-line response (RFC 1939 sections 3, 7 and
//! the TOP command of section 7).
//!
//! Lines that begin with `.` get one more `.` (byte-stuffing); every other
//! byte goes out exactly as stored, 8-bit clean. Stored messages have CRLF
//! line ends (SMTP delivers them so); a bare LF, should one be stored, is
//! sent as CRLF because the POP3 wire has no other line end, and a message
//! whose last line lacks its CRLF gets one before the terminating `.`. TOP
//! sends the header, the blank line and at most `n` body lines.
//!
//! [`StuffedChunks`] yields the stuffed bytes in bounded chunks, so a large
//! message is streamed rather than copied whole a second time.

/// Size of the chunks [`StuffedChunks`] produces (a little over, at most one line's worth).
pub const CHUNK: usize = 64 * 1024;

/// Iterator over the wire bytes of a message body (without the status line,
/// with the terminating `.` line).
#[derive(Debug)]
pub struct StuffedChunks<'a> {
    raw: &'a [u8],
    pos: usize,
    /// Body lines still allowed (TOP), counted once the header ended.
    body_lines_left: Option<u32>,
    in_header: bool,
    done: bool,
}

impl<'a> StuffedChunks<'a> {
    /// The whole message (RETR), or the header and `top` body lines (TOP).
    pub fn new(raw: &'a [u8], top: Option<u32>) -> StuffedChunks<'a> {
        StuffedChunks {
            raw,
            pos: 0,
            body_lines_left: top,
            in_header: true,
            done: false,
        }
    }

    /// Whether the line limit of TOP has been reached.
    fn exhausted(&self) -> bool {
        !self.in_header && self.body_lines_left == Some(0)
    }
}

impl Iterator for StuffedChunks<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK.min(self.raw.len() - self.pos + 16) + 8);
        while out.len() < CHUNK && self.pos < self.raw.len() && !self.exhausted() {
            let rest = &self.raw[self.pos..];
            let (line, consumed) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            self.pos += consumed;
            if self.in_header {
                if line.is_empty() {
                    self.in_header = false;
                }
            } else if let Some(n) = self.body_lines_left.as_mut() {
                *n -= 1;
            }
        }
        if self.pos >= self.raw.len() || self.exhausted() {
            out.extend_from_slice(b".\r\n");
            self.done = true;
        }
        Some(out)
    }
}

/// The whole stuffed form in one buffer (tests, the in-memory driver).
pub fn stuffed(raw: &[u8], top: Option<u32>) -> Vec<u8> {
    StuffedChunks::new(raw, top).flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], Option<u32>, &[u8])] = &[
            (b"", None, b".\r\n"),
            (b"A: b\r\n\r\nbody\r\n", None, b"A: b\r\n\r\nbody\r\n.\r\n"),
            (
                b"A: b\r\n\r\n.\r\n..x\r\n",
                None,
                b"A: b\r\n\r\n..\r\n...x\r\n.\r\n",
            ),
            (
                b"A: b\r\n\r\nno newline",
                None,
                b"A: b\r\n\r\nno newline\r\n.\r\n",
            ),
            (b"A: b\n\nbare\n", None, b"A: b\r\n\r\nbare\r\n.\r\n"),
            (
                b"A: \xff\xfe\r\n\r\n\x80\x00\r\n",
                None,
                b"A: \xff\xfe\r\n\r\n\x80\x00\r\n.\r\n",
            ),
            (
                b"A: b\r\n\r\n1\r\n2\r\n3\r\n",
                Some(0),
                b"A: b\r\n\r\n.\r\n",
            ),
            (
                b"A: b\r\n\r\n1\r\n2\r\n3\r\n",
                Some(2),
                b"A: b\r\n\r\n1\r\n2\r\n.\r\n",
            ),
            (
                b"A: b\r\n\r\n1\r\n2\r\n3\r\n",
                Some(9),
                b"A: b\r\n\r\n1\r\n2\r\n3\r\n.\r\n",
            ),
            (b"A: b\r\nC: d\r\n", Some(0), b"A: b\r\nC: d\r\n.\r\n"),
            (
                b".A: b\r\n\r\n.1\r\n",
                Some(1),
                b"..A: b\r\n\r\n..1\r\n.\r\n",
            ),
            (b"a\rb\r\n", None, b"a\rb\r\n.\r\n"),
        ];
        for (raw, top, want) in cases {
            assert_eq!(
                String::from_utf8_lossy(&stuffed(raw, *top)),
                String::from_utf8_lossy(want),
                "{:?} top {top:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn large_message_comes_in_bounded_chunks() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        for i in 0..100_000 {
            raw.extend_from_slice(if i % 7 == 0 {
                b".dotted line\r\n"
            } else {
                b"plain line\r\n"
            });
        }
        let chunks: Vec<Vec<u8>> = StuffedChunks::new(&raw, None).collect();
        assert!(chunks.len() > 10);
        assert!(chunks.iter().all(|c| c.len() < CHUNK + 100));
        let joined: Vec<u8> = chunks.concat();
        // Un-stuffing gives the original back.
        let mut back = Vec::new();
        for line in joined.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line == b"." {
                break;
            }
            back.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            back.extend_from_slice(b"\r\n");
        }
        assert_eq!(back, raw);
    }
}
