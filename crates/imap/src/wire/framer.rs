//! The framer: cuts the client's byte stream into whole commands
//! (RFC 9051 section 2.2 and 4.3: lines, synchronizing literals `{n}` and
//! non-synchronizing literals `{n+}` from RFC 7888 LITERAL+).
//!
//! It is a push parser: [`Framer::push`] bytes, then take [`Frame`]s with
//! [`Framer::next_frame`] until it returns `None`. Every limit is enforced
//! here, before the grammar sees a byte:
//!
//! - a command's text outside literals may be at most `max_line` octets;
//! - the literals of one command together at most `max_literal` octets.
//!
//! Going over a limit discards the *whole* command and yields one
//! [`Frame::Rejected`] *at once*, as soon as the limit is passed (the client
//! is answered without waiting for the rest, which may never come): a
//! too-long line is then skipped to its end; a too-large synchronizing
//! literal is refused before the client sends it (no `+`), so nothing more
//! of that command arrives; a too-large non-synchronizing literal is read
//! and thrown away, and so is the rest of its command, so its bytes are
//! never mistaken for commands. Whether skipping is worth it (or the
//! connection should rather be closed) is the session's call: the error
//! says how large the literal is.
//!
//! The framer holds at most one read's worth of unprocessed input plus the
//! command being assembled; [`Framer::shrink`] returns the memory after a
//! large command.

/// The framer's limits.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Longest command text outside literals, in octets.
    pub max_line: usize,
    /// Largest sum of a command's literals, in octets.
    pub max_literal: u64,
}

/// Why a command was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The command text is longer than `max_line`.
    #[error("command line too long")]
    LineTooLong,
    /// A literal (or the command's literals together) exceed `max_literal`.
    #[error("literal too large")]
    LiteralTooLarge {
        /// Whether it was a synchronizing literal (refused before it was sent).
        synchronizing: bool,
        /// The announced size of the literal that went over.
        size: u64,
    },
}

/// What the framer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole command: its lines (with CRLF) and literals, in wire order.
    Command(Vec<u8>),
    /// A synchronizing literal was accepted: send a continuation request (`+ `).
    Continue,
    /// A command was discarded whole.
    Rejected {
        /// The command's tag, when it could be read.
        tag: Option<String>,
        /// Why.
        error: FrameError,
    },
}

#[derive(Debug)]
enum State {
    /// Collecting command text.
    Line,
    /// Copying literal octets into the command.
    Literal { remaining: u64 },
    /// Skipping the rest of a rejected (and already answered) command's text.
    SkipLine,
    /// Skipping a rejected command's non-synchronizing literal.
    SkipLiteral { remaining: u64 },
}

/// The framer. See the module docs.
#[derive(Debug)]
pub struct Framer {
    limits: FrameLimits,
    input: Vec<u8>,
    command: Vec<u8>,
    /// Start in `command` of the line being collected.
    line_start: usize,
    text_len: usize,
    literal_len: u64,
    /// The last octets of a skipped command's current line (to see a
    /// literal announced at its end).
    skip_tail: Vec<u8>,
    state: State,
}

/// The longest literal announcement we look for at a line's end: `{` + 20 digits + `+}\r\n`.
const MARKER_TAIL: usize = 26;

impl Framer {
    /// A framer with these limits.
    pub fn new(limits: FrameLimits) -> Framer {
        Framer {
            limits,
            input: Vec::new(),
            command: Vec::new(),
            line_start: 0,
            text_len: 0,
            literal_len: 0,
            skip_tail: Vec::new(),
            state: State::Line,
        }
    }

    /// Changes the limits for the commands that follow (e.g. after login).
    pub fn set_limits(&mut self, limits: FrameLimits) {
        self.limits = limits;
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// Whether unprocessed input is waiting (pipelined commands).
    pub fn has_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Drops all buffered input and any partial command (after STARTTLS:
    /// whatever was pipelined in plaintext must not be obeyed).
    pub fn discard_buffered(&mut self) {
        self.input = Vec::new();
        self.reset_command();
        self.command = Vec::new();
        self.state = State::Line;
    }

    /// Refuses the synchronizing literal just announced (instead of sending
    /// `+`): the command is dropped and its tag returned for the tagged
    /// answer. The client, having had no continuation, sends nothing more
    /// of it.
    pub fn refuse_literal(&mut self) -> Option<String> {
        let tag = tag_of(&self.command);
        self.reset_command();
        self.state = State::Line;
        tag
    }

    /// Takes the raw input not yet framed (after COMPRESS it is compressed
    /// and must go through the inflater first).
    pub fn take_input(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.input)
    }

    /// Releases memory held after a large command.
    pub fn shrink(&mut self) {
        if self.command.is_empty() && self.command.capacity() > 4096 {
            self.command = Vec::new();
        }
        if self.input.is_empty() && self.input.capacity() > 4096 {
            self.input = Vec::new();
        }
    }

    fn reset_command(&mut self) {
        self.command.clear();
        self.line_start = 0;
        self.text_len = 0;
        self.literal_len = 0;
    }

    /// Rejects the command being assembled: its tag is kept for the
    /// answer, its text dropped, and the framer goes on in `next`.
    fn reject(&mut self, error: FrameError, next: State) -> Frame {
        let tag = tag_of(&self.command);
        self.reset_command();
        self.skip_tail.clear();
        self.state = next;
        Frame::Rejected { tag, error }
    }

    /// Takes the next frame, or `None` when more input is needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let mut pos = 0;
        let frame = loop {
            let avail = &self.input[pos..];
            match self.state {
                State::Line => {
                    let (chunk, complete) = match memchr(b'\n', avail) {
                        Some(i) => (&avail[..=i], true),
                        None => (avail, false),
                    };
                    if chunk.is_empty() {
                        break None;
                    }
                    let n = chunk.len();
                    self.text_len += n;
                    if self.text_len > self.limits.max_line {
                        let chunk = chunk.to_vec();
                        pos += n;
                        self.command.extend_from_slice(
                            &chunk[..chunk.len().min(super::command::MAX_TAG + 1)],
                        );
                        let frame = self.reject(FrameError::LineTooLong, State::SkipLine);
                        push_tail(&mut self.skip_tail, &chunk);
                        if complete {
                            self.end_of_skipped_line();
                        }
                        break Some(frame);
                    }
                    self.command.extend_from_slice(chunk);
                    pos += n;
                    if !complete {
                        break None;
                    }
                    let line = &self.command[self.line_start..];
                    match literal_marker(line) {
                        None => {
                            let cmd = std::mem::take(&mut self.command);
                            self.reset_command();
                            break Some(Frame::Command(cmd));
                        }
                        Some((size, sync)) => {
                            let total = self.literal_len.saturating_add(size);
                            if total > self.limits.max_literal {
                                let error = FrameError::LiteralTooLarge {
                                    synchronizing: sync,
                                    size,
                                };
                                let next = if sync {
                                    State::Line
                                } else {
                                    State::SkipLiteral { remaining: size }
                                };
                                break Some(self.reject(error, next));
                            }
                            self.literal_len = total;
                            self.state = State::Literal { remaining: size };
                            if sync {
                                break Some(Frame::Continue);
                            }
                        }
                    }
                }
                State::Literal { remaining } => {
                    if remaining == 0 {
                        self.line_start = self.command.len();
                        self.state = State::Line;
                        continue;
                    }
                    if avail.is_empty() {
                        break None;
                    }
                    let take = (remaining.min(avail.len() as u64)) as usize;
                    self.command.extend_from_slice(&avail[..take]);
                    pos += take;
                    self.state = State::Literal {
                        remaining: remaining - take as u64,
                    };
                }
                State::SkipLiteral { remaining } => {
                    if remaining == 0 {
                        self.skip_tail.clear();
                        self.state = State::SkipLine;
                        continue;
                    }
                    if avail.is_empty() {
                        break None;
                    }
                    let take = (remaining.min(avail.len() as u64)) as usize;
                    pos += take;
                    self.state = State::SkipLiteral {
                        remaining: remaining - take as u64,
                    };
                }
                State::SkipLine => {
                    let (chunk, complete) = match memchr(b'\n', avail) {
                        Some(i) => (&avail[..=i], true),
                        None => (avail, false),
                    };
                    if chunk.is_empty() {
                        break None;
                    }
                    push_tail(&mut self.skip_tail, chunk);
                    pos += chunk.len();
                    if complete {
                        self.end_of_skipped_line();
                    }
                }
            }
        };
        self.input.drain(..pos);
        frame
    }

    /// A skipped command's line ended: it goes on if a non-synchronizing
    /// literal is announced (a synchronizing one gets no `+`, so the client
    /// sends nothing more of it; it already has its answer).
    fn end_of_skipped_line(&mut self) {
        self.state = match literal_marker(&self.skip_tail) {
            Some((size, false)) => State::SkipLiteral { remaining: size },
            None | Some((_, true)) => State::Line,
        };
        self.skip_tail.clear();
    }
}

fn push_tail(tail: &mut Vec<u8>, bytes: &[u8]) {
    tail.extend_from_slice(&bytes[bytes.len().saturating_sub(MARKER_TAIL)..]);
    if tail.len() > MARKER_TAIL {
        tail.drain(..tail.len() - MARKER_TAIL);
    }
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// The tag of a command, if its start holds a valid one.
fn tag_of(command: &[u8]) -> Option<String> {
    let end = command
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n')?;
    let s = std::str::from_utf8(&command[..end]).ok()?;
    super::command::Tag::new(s).map(|t| t.as_str().to_string())
}

/// A literal announced at the end of `line` (`{n}\r\n` or `{n+}\r\n`):
/// its size and whether it is synchronizing.
pub(crate) fn literal_marker(line: &[u8]) -> Option<(u64, bool)> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let (line, sync) = match line.strip_suffix(b"+") {
        Some(l) => (l, false),
        None => (line, true),
    };
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Too many digits for a u64 is simply too large.
    let size = std::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .unwrap_or(u64::MAX);
    Some((size, sync))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> FrameLimits {
        FrameLimits {
            max_line: 64,
            max_literal: 10,
        }
    }

    fn run(input: &[u8], split: usize) -> Vec<Frame> {
        let mut f = Framer::new(limits());
        let mut out = Vec::new();
        for chunk in input.chunks(split.max(1)) {
            f.push(chunk);
            while let Some(fr) = f.next_frame() {
                out.push(fr);
            }
        }
        out
    }

    /// Every table entry must give the same frames however the input is split.
    fn check(input: &[u8], expected: &[Frame]) {
        for split in 1..=input.len() {
            assert_eq!(run(input, split), expected, "split every {split} bytes");
        }
    }

    fn cmd(s: &[u8]) -> Frame {
        Frame::Command(s.to_vec())
    }

    #[test]
    fn plain_lines() {
        check(
            b"a NOOP\r\nb CAPABILITY\r\n",
            &[cmd(b"a NOOP\r\n"), cmd(b"b CAPABILITY\r\n")],
        );
    }

    #[test]
    fn synchronizing_literal_asks_for_continuation() {
        check(
            b"a LOGIN {5}\r\nalice {3}\r\npwd\r\n",
            &[
                Frame::Continue,
                Frame::Continue,
                cmd(b"a LOGIN {5}\r\nalice {3}\r\npwd\r\n"),
            ],
        );
    }

    #[test]
    fn non_synchronizing_literal_needs_no_continuation() {
        check(
            b"a LOGIN {5+}\r\nalice x\r\n",
            &[cmd(b"a LOGIN {5+}\r\nalice x\r\n")],
        );
    }

    #[test]
    fn literal_may_contain_crlf_and_braces() {
        check(
            b"a APPEND x {9+}\r\n{1}\r\nab\r\n\r\n",
            &[cmd(b"a APPEND x {9+}\r\n{1}\r\nab\r\n\r\n")],
        );
    }

    #[test]
    fn too_long_line_is_rejected_whole() {
        let mut input = b"t1 NOOP ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\r\nt2 NOOP\r\n");
        check(
            &input,
            &[
                Frame::Rejected {
                    tag: Some("t1".into()),
                    error: FrameError::LineTooLong,
                },
                cmd(b"t2 NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn too_long_line_ending_in_literal_skips_the_literal() {
        let mut input = b"t1 APPEND ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b" {4+}\r\nt9 X\r\nt2 NOOP\r\n");
        check(
            &input,
            &[
                Frame::Rejected {
                    tag: Some("t1".into()),
                    error: FrameError::LineTooLong,
                },
                cmd(b"t2 NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn too_large_sync_literal_is_refused_without_continuation() {
        check(
            b"a APPEND x {11}\r\nb NOOP\r\n",
            &[
                Frame::Rejected {
                    tag: Some("a".into()),
                    error: FrameError::LiteralTooLarge {
                        synchronizing: true,
                        size: 11,
                    },
                },
                cmd(b"b NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn too_large_non_sync_literal_is_read_and_discarded_with_its_command() {
        // The literal holds what looks like a command; it must not run, nor
        // must the rest of the rejected command (which has a second literal).
        check(
            b"a APPEND x {11+}\r\nz LOGOUT\r\n {2+}\r\nzz rest\r\nb NOOP\r\n",
            &[
                Frame::Rejected {
                    tag: Some("a".into()),
                    error: FrameError::LiteralTooLarge {
                        synchronizing: false,
                        size: 11,
                    },
                },
                cmd(b"b NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn literals_of_one_command_count_together() {
        check(
            b"a X {6+}\r\n123456 {6+}\r\n123456\r\nb NOOP\r\n",
            &[
                Frame::Rejected {
                    tag: Some("a".into()),
                    error: FrameError::LiteralTooLarge {
                        synchronizing: false,
                        size: 6,
                    },
                },
                cmd(b"b NOOP\r\n"),
            ],
        );
    }

    #[test]
    fn literal_limit_is_inclusive() {
        check(
            b"a X {10+}\r\n0123456789\r\n",
            &[cmd(b"a X {10+}\r\n0123456789\r\n")],
        );
    }

    #[test]
    fn huge_literal_size_does_not_overflow() {
        check(
            b"a X {99999999999999999999}\r\n",
            &[Frame::Rejected {
                tag: Some("a".into()),
                error: FrameError::LiteralTooLarge {
                    synchronizing: true,
                    size: u64::MAX,
                },
            }],
        );
    }

    #[test]
    fn too_long_line_is_answered_before_it_ends() {
        let mut f = Framer::new(limits());
        f.push(b"t1 LOGIN ");
        f.push(&[b'x'; 100]);
        assert_eq!(
            f.next_frame(),
            Some(Frame::Rejected {
                tag: Some("t1".into()),
                error: FrameError::LineTooLong,
            })
        );
        // The rest of the line, however long, is skipped in silence.
        f.push(&[b'y'; 1000]);
        assert_eq!(f.next_frame(), None);
        f.push(b"z\r\nt2 NOOP\r\n");
        assert_eq!(f.next_frame(), Some(cmd(b"t2 NOOP\r\n")));
    }

    #[test]
    fn too_large_non_sync_literal_is_answered_before_its_octets() {
        let mut f = Framer::new(limits());
        f.push(b"a APPEND INBOX {99999999999+}\r\n");
        assert_eq!(
            f.next_frame(),
            Some(Frame::Rejected {
                tag: Some("a".into()),
                error: FrameError::LiteralTooLarge {
                    synchronizing: false,
                    size: 99_999_999_999,
                },
            })
        );
        f.push(b"b LOGOUT\r\n");
        assert_eq!(f.next_frame(), None, "literal octets are not commands");
    }

    #[test]
    fn discard_buffered_drops_pipelined_bytes() {
        let mut f = Framer::new(limits());
        f.push(b"a STARTTLS\r\nb LOGIN x y\r\n");
        assert_eq!(f.next_frame(), Some(cmd(b"a STARTTLS\r\n")));
        f.discard_buffered();
        assert_eq!(f.next_frame(), None);
        f.push(b"c NOOP\r\n");
        assert_eq!(f.next_frame(), Some(cmd(b"c NOOP\r\n")));
    }

    #[test]
    fn refused_literal_resets_to_a_new_command() {
        let mut f = Framer::new(limits());
        f.push(b"a LOGIN {5}\r\n");
        assert_eq!(f.next_frame(), Some(Frame::Continue));
        assert_eq!(f.refuse_literal().as_deref(), Some("a"));
        f.push(b"b NOOP\r\n");
        assert_eq!(f.next_frame(), Some(cmd(b"b NOOP\r\n")));
    }

    #[test]
    fn marker_parsing() {
        assert_eq!(literal_marker(b"a {5}\r\n"), Some((5, true)));
        assert_eq!(literal_marker(b"a {5+}\r\n"), Some((5, false)));
        assert_eq!(literal_marker(b"a {}\r\n"), None);
        assert_eq!(literal_marker(b"a {5 }\r\n"), None);
        assert_eq!(literal_marker(b"a 5}\r\n"), None);
    }
}
