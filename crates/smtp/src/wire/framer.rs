//! The framer: cuts the client's byte stream into command lines, DATA
//! messages and BDAT chunks, with every limit enforced here (sans-IO).
//!
//! Push parser: append what the socket read to a buffer and call
//! [`Framer::next`] until it returns `None` (more input needed). Each unit is
//! consumed whole, even when it breaks a limit, so the rest of an oversized
//! line, message or chunk is never read as commands (Stalwart issue 2768).
//!
//! - Command lines end with CRLF and are at most 512 octets with it (RFC 5321
//!   4.5.3.1.4). A longer line is discarded up to its LF and reported as
//!   [`Frame::LineTooLong`]; a line ending in a bare LF as [`Frame::BareLf`].
//! - `BDAT n [LAST]` (RFC 3030 2) is recognized here: exactly `n` octets after
//!   its CRLF are the chunk, whatever they contain. The framer reports the
//!   command line first ([`Frame::BdatStart`]) and then *discards* the chunk
//!   as it streams past (counting octets down, keeping none) unless the
//!   caller says [`Framer::keep_chunk`] right away: only the session knows
//!   whether there is a transaction to put the octets in, and a client
//!   without one (no TLS, no AUTH, no MAIL) must not make us hold up to
//!   `max_message` octets. A chunk larger than the message limit is never
//!   kept either. The end of the chunk is [`Frame::Bdat`] (`chunk: None`
//!   when it was discarded).
//! - DATA (after the session said 354, [`Framer::begin_data`]) ends only at
//!   `CRLF . CRLF` where both line ends are real CRLF pairs (RFC 5321 4.1.1.4).
//!   A bare LF or bare CR anywhere marks the message
//!   [`DataError::BareLineEnding`] and never ends it: `<LF>.<CR><LF>`,
//!   `<CR><LF>.<LF>`, `<CR>.<CR>` and friends are data (SMTP smuggling,
//!   CVE-2023-51764 class). Leading dots are unstuffed (4.5.2). Text lines are
//!   at most 1000 octets with CRLF (4.5.3.1.6), not counting a stuffed dot.

use super::command::Command;
use super::reply::{Enhanced, Reply};

/// Limits the framer enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line with its CRLF.
    pub command_line: usize,
    /// Longest DATA text line with its CRLF.
    pub text_line: usize,
    /// Largest message in octets (after unstuffing).
    pub max_message: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            command_line: 512,
            text_line: 1000,
            max_message: 50 * 1024 * 1024,
        }
    }
}

/// Why a DATA message was refused (the message was read to its end anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Bigger than the limit.
    #[error("message too big")]
    TooBig,
    /// A text line over 1000 octets.
    #[error("line too long")]
    LineTooLong,
    /// A bare CR or bare LF (smuggling attempt or broken client).
    #[error("bare CR or LF")]
    BareLineEnding,
}

impl DataError {
    /// The reply for this error.
    pub fn reply(self) -> Reply {
        match self {
            DataError::TooBig => Reply::new(
                552,
                Enhanced(5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ),
            DataError::LineTooLong => Reply::new(
                500,
                Enhanced(5, 5, 6),
                "Line too long (RFC 5321 4.5.3.1.6: 1000 octets)",
            ),
            DataError::BareLineEnding => Reply::new(
                550,
                Enhanced(5, 6, 0),
                "Bare CR or LF in message: lines must end with CRLF",
            ),
        }
    }
}

/// One unit cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A command line (or AUTH response) without its CRLF.
    Line(Vec<u8>),
    /// A command line over the limit, discarded whole.
    LineTooLong,
    /// A command line ending in a bare LF, discarded.
    BareLf,
    /// A DATA message, unstuffed, CRLF line ends, or why it was refused.
    Data(Result<Vec<u8>, DataError>),
    /// A valid BDAT command line. The framer now reads its `size` octets and
    /// drops them unless [`Framer::keep_chunk`] is called before the next
    /// [`Framer::next`].
    BdatStart {
        /// The declared size.
        size: u64,
        /// `LAST` given.
        last: bool,
    },
    /// The end of a BDAT chunk announced by [`Frame::BdatStart`].
    Bdat {
        /// The declared size (also the number of octets read).
        size: u64,
        /// `LAST` given.
        last: bool,
        /// The chunk; `None` when it was discarded (not kept, or over the limit).
        chunk: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
enum Mode {
    Command {
        discarding: bool,
    },
    Data(DataState),
    Bdat {
        size: u64,
        last: bool,
        remaining: u64,
        chunk: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
struct DataState {
    message: Vec<u8>,
    size: u64,
    error: Option<DataError>,
    /// Whether the previous line ended with a real CRLF.
    prev_crlf: bool,
    /// Inside an over-long line whose start was dropped.
    in_long_line: bool,
    /// The last dropped octet of that line was CR.
    dropped_cr: bool,
}

/// The push parser. See the module docs.
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    mode: Mode,
}

impl Framer {
    /// A framer in command mode.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            mode: Mode::Command { discarding: false },
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Switches to reading a DATA message (call after replying 354).
    pub fn begin_data(&mut self) {
        self.mode = Mode::Data(DataState {
            message: Vec::new(),
            size: 0,
            error: None,
            prev_crlf: true,
            in_long_line: false,
            dropped_cr: false,
        });
    }

    /// Keeps the chunk just announced by [`Frame::BdatStart`] instead of
    /// discarding it. Does nothing (the chunk stays discarded) when no chunk
    /// has started, when octets of it were already consumed, or when it is
    /// larger than the message limit.
    pub fn keep_chunk(&mut self) {
        if let Mode::Bdat {
            size,
            remaining,
            chunk: chunk @ None,
            ..
        } = &mut self.mode
            && *remaining == *size
            && *size <= self.limits.max_message
        {
            *chunk = Some(Vec::with_capacity((*size).min(1 << 20) as usize));
        }
    }

    /// Octets of message data the framer holds (a DATA message or a kept
    /// BDAT chunk being read). A discarded chunk or message holds none.
    pub fn buffered(&self) -> usize {
        match &self.mode {
            Mode::Command { .. } => 0,
            Mode::Data(state) => state.message.len(),
            Mode::Bdat { chunk, .. } => chunk.as_ref().map_or(0, Vec::len),
        }
    }

    /// Whether the framer is inside a DATA message or BDAT chunk.
    pub fn in_message(&self) -> bool {
        !matches!(self.mode, Mode::Command { .. })
    }

    /// Whether the framer is inside a BDAT chunk.
    pub fn in_chunk(&self) -> bool {
        matches!(self.mode, Mode::Bdat { .. })
    }

    /// Takes the next unit from the front of `input`, or `None` if more input is needed.
    pub fn next(&mut self, input: &mut Vec<u8>) -> Option<Frame> {
        match &mut self.mode {
            Mode::Command { discarding } => {
                let Some(lf) = input.iter().position(|&b| b == b'\n') else {
                    if input.len() >= self.limits.command_line || *discarding {
                        *discarding = true;
                        input.clear();
                    }
                    return None;
                };
                let line: Vec<u8> = input.drain(..=lf).collect();
                if *discarding || line.len() > self.limits.command_line {
                    *discarding = false;
                    return Some(Frame::LineTooLong);
                }
                if line.len() < 2 || line[line.len() - 2] != b'\r' {
                    return Some(Frame::BareLf);
                }
                let line = &line[..line.len() - 2];
                if line.len() >= 4
                    && line[..4].eq_ignore_ascii_case(b"BDAT")
                    && let Ok(Command::Bdat { size, last }) = Command::parse(line)
                {
                    // Discarded unless the session asks for the chunk.
                    self.mode = Mode::Bdat {
                        size,
                        last,
                        remaining: size,
                        chunk: None,
                    };
                    return Some(Frame::BdatStart { size, last });
                }
                Some(Frame::Line(line.to_vec()))
            }
            Mode::Bdat {
                size,
                last,
                remaining,
                chunk,
            } => {
                let take = (*remaining).min(input.len() as u64) as usize;
                if let Some(c) = chunk {
                    c.extend_from_slice(&input[..take]);
                }
                input.drain(..take);
                *remaining -= take as u64;
                if *remaining > 0 {
                    return None;
                }
                let frame = Frame::Bdat {
                    size: *size,
                    last: *last,
                    chunk: chunk.take(),
                };
                self.mode = Mode::Command { discarding: false };
                Some(frame)
            }
            Mode::Data(state) => {
                let result = state.feed(input, &self.limits)?;
                self.mode = Mode::Command { discarding: false };
                Some(Frame::Data(result))
            }
        }
    }
}

impl DataState {
    fn fail(&mut self, e: DataError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.message = Vec::new();
    }

    /// Consumes whole lines from `input`; returns the result at the terminator.
    fn feed(&mut self, input: &mut Vec<u8>, limits: &Limits) -> Option<Result<Vec<u8>, DataError>> {
        // A stuffed leading dot does not count against the line limit.
        let max_line = limits.text_line + 1;
        let mut pos = 0;
        let result = loop {
            let rest = &input[pos..];
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > max_line || (self.in_long_line && !rest.is_empty()) {
                    self.fail(DataError::LineTooLong);
                    self.in_long_line = true;
                    self.dropped_cr = rest.last() == Some(&b'\r');
                    pos = input.len();
                }
                break None;
            };
            let line = &rest[..=lf];
            pos += lf + 1;
            let crlf = if lf > 0 {
                line[lf - 1] == b'\r'
            } else {
                self.in_long_line && self.dropped_cr
            };
            if self.in_long_line {
                self.in_long_line = false;
                self.dropped_cr = false;
                if !crlf {
                    self.fail(DataError::BareLineEnding);
                }
                self.prev_crlf = crlf;
                continue;
            }
            if !crlf {
                self.fail(DataError::BareLineEnding);
                self.prev_crlf = false;
                continue;
            }
            let content = &line[..lf - 1];
            let prev_crlf = std::mem::replace(&mut self.prev_crlf, true);
            if content.contains(&b'\r') {
                self.fail(DataError::BareLineEnding);
                continue;
            }
            if content == b"." && prev_crlf {
                break Some(match self.error {
                    Some(e) => Err(e),
                    None => Ok(std::mem::take(&mut self.message)),
                });
            }
            if line.len() > max_line || (line.len() == max_line && content.first() != Some(&b'.')) {
                self.fail(DataError::LineTooLong);
                continue;
            }
            let text = content.strip_prefix(b".").unwrap_or(content);
            self.size += text.len() as u64 + 2;
            if self.size > limits.max_message {
                self.fail(DataError::TooBig);
            }
            if self.error.is_none() {
                self.message.extend_from_slice(text);
                self.message.extend_from_slice(b"\r\n");
            }
        };
        input.drain(..pos);
        result
    }
}

#[cfg(test)]
mod tests;
