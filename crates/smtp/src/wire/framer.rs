//! The framer: cuts the client's byte stream into command lines, DATA
//! messages and BDAT chunks, with every limit enforced here (sans-IO).
//!
//! Push parser: append what the socket read to a buffer and call
//! [`Framer::next`] until it returns `None` (more input needed). Each unit is
//! consumed whole, even when it breaks a limit, so the rest of an oversized
//! line, message or chunk is never read as commands (Stalwart issue 2768).
//!
//! - Command lines end with CRLF and are at most 512 octets with it (RFC 5321
//!   4.5.3.1.4); an `AUTH` line and the responses of an AUTH exchange
//!   ([`Framer::set_auth_response`]) may have 12,288 (RFC 4954 4). A longer
//!   line is reported as [`Frame::LineTooLong`] as soon as the limit is
//!   passed (the client hears about it at once, not when the line ends) and
//!   the rest of it is discarded up to its LF; a line ending in a bare LF is
//!   reported as [`Frame::BareLf`].
//! - A BDAT line whose size is over the message limit (or too large to be
//!   a number at all) is [`Frame::BdatTooBig`]: the chunk is not read, and
//!   the session closes, since nothing would find the end of it.
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
//!   `<LF>.<CR><LF>`, `<CR><LF>.<LF>`, `<LF>.<LF>`, `<CR>.<CR>` and friends
//!   never end it: they are data (SMTP smuggling, CVE-2023-51764 class).
//!   For comparison, Postfix 3.7 (Debian 12) still ends DATA at
//!   `<LF>.<CR><LF>` by default; Postfix 3.9's `smtpd_forbid_bare_newline =
//!   normalize` requires `<CR><LF>.<CR><LF>` as we do. Leading dots are
//!   unstuffed (4.5.2).
//! - Content policy ([`LineEndings`], `[smtp] bare_lf`): by default a line
//!   ending in a bare LF is accepted and stored with CRLF, and a bare CR
//!   inside a line is kept as an octet of it (what Postfix accepts; the
//!   outbound client turns both into CRLF before the next hop sees them).
//!   [`LineEndings::Strict`] refuses either with
//!   [`DataError::BareLineEnding`]. Text lines are at most
//!   [`Limits::text_line`] octets with CRLF, not counting a stuffed dot
//!   (RFC 5321 4.5.3.1.6 says 1000; `[smtp] max_line_length`, 1 MiB by
//!   default as Postfix and Dovecot take long lines).

use super::command::Command;
use super::reply::{Enhanced, Reply};

/// Longest AUTH command line or AUTH response line, CRLF included (RFC 4954 4).
pub const MAX_AUTH_LINE: usize = 12_288;

/// What DATA does with bare line endings (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEndings {
    /// A bare LF ends a line (stored as CRLF); a bare CR is content.
    Normalize,
    /// A bare LF or CR refuses the message (RFC 5321 2.3.8).
    Strict,
}

/// Limits the framer enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line with its CRLF.
    pub command_line: usize,
    /// Longest DATA text line with its CRLF.
    pub text_line: usize,
    /// Largest message in octets (after unstuffing).
    pub max_message: u64,
    /// Bare CR and LF in DATA.
    pub line_endings: LineEndings,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            command_line: 512,
            text_line: 1024 * 1024,
            max_message: 50 * 1024 * 1024,
            line_endings: LineEndings::Normalize,
        }
    }
}

/// Why a DATA message was refused (the message was read to its end anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Bigger than the limit.
    #[error("message too big")]
    TooBig,
    /// A text line over the limit ([`Limits::text_line`], in octets with CRLF).
    #[error("line too long")]
    LineTooLong(usize),
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
            DataError::LineTooLong(limit) => Reply::new(
                500,
                Enhanced(5, 5, 6),
                format!("Line too long (at most {limit} octets with CRLF here)"),
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
    /// A BDAT line announcing more than the message limit (or a size too
    /// large to parse): its chunk is not read. The session must close.
    BdatTooBig,
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
    /// The next line is an AUTH response (longer lines allowed).
    auth_response: bool,
}

impl Framer {
    /// A framer in command mode.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            mode: Mode::Command { discarding: false },
            auth_response: false,
        }
    }

    /// Whether the next line is a response inside an AUTH exchange, which
    /// may be up to [`MAX_AUTH_LINE`] octets (the session knows; call
    /// before every [`Framer::next`]).
    pub fn set_auth_response(&mut self, expecting: bool) {
        self.auth_response = expecting;
    }

    /// The longest command line allowed for what `input` starts with.
    fn line_limit(&self, input: &[u8]) -> usize {
        let auth =
            self.auth_response || input.len() >= 5 && input[..5].eq_ignore_ascii_case(b"AUTH ");
        if auth {
            MAX_AUTH_LINE.max(self.limits.command_line)
        } else {
            self.limits.command_line
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
                let lf = input.iter().position(|&b| b == b'\n');
                if *discarding {
                    // The rest of a line already answered as too long.
                    let Some(lf) = lf else {
                        input.clear();
                        return None;
                    };
                    input.drain(..=lf);
                    *discarding = false;
                    return self.next(input);
                }
                let limit = self.line_limit(input);
                let Some(lf) = lf else {
                    if input.len() >= limit {
                        // Answer now; the rest of the line is dropped as it comes.
                        if let Mode::Command { discarding } = &mut self.mode {
                            *discarding = true;
                        }
                        input.clear();
                        return Some(Frame::LineTooLong);
                    }
                    return None;
                };
                let line: Vec<u8> = input.drain(..=lf).collect();
                if line.len() > limit {
                    return Some(Frame::LineTooLong);
                }
                if line.len() < 2 || line[line.len() - 2] != b'\r' {
                    return Some(Frame::BareLf);
                }
                let line = &line[..line.len() - 2];
                if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"BDAT") {
                    match Command::parse(line) {
                        Ok(Command::Bdat { size, .. }) if size > self.limits.max_message => {
                            return Some(Frame::BdatTooBig);
                        }
                        Ok(Command::Bdat { size, last }) => {
                            // Discarded unless the session asks for the chunk.
                            self.mode = Mode::Bdat {
                                size,
                                last,
                                remaining: size,
                                chunk: None,
                            };
                            return Some(Frame::BdatStart { size, last });
                        }
                        _ if bdat_size_overflows(line) => return Some(Frame::BdatTooBig),
                        _ => {}
                    }
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

/// Whether a BDAT line's first argument is all digits but too long for a
/// size (`BDAT 99999999999999999999999`): beyond any limit, not a syntax error.
fn bdat_size_overflows(line: &[u8]) -> bool {
    let size = line[4..]
        .split(|&b| b == b' ')
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    !size.is_empty()
        && size.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(size)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_none_or(|_| size.len() > 19)
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
        let text_line = limits.text_line.max(3);
        let max_line = text_line + 1;
        let strict = limits.line_endings == LineEndings::Strict;
        let mut pos = 0;
        let result = loop {
            let rest = &input[pos..];
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > max_line || (self.in_long_line && !rest.is_empty()) {
                    self.fail(DataError::LineTooLong(text_line));
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
                if !crlf && strict {
                    self.fail(DataError::BareLineEnding);
                }
                self.prev_crlf = crlf;
                continue;
            }
            if !crlf && strict {
                self.fail(DataError::BareLineEnding);
                self.prev_crlf = false;
                continue;
            }
            let content = if crlf { &line[..lf - 1] } else { &line[..lf] };
            let prev_crlf = std::mem::replace(&mut self.prev_crlf, crlf);
            if strict && content.contains(&b'\r') {
                self.fail(DataError::BareLineEnding);
                continue;
            }
            // Only <CRLF>.<CRLF> ends the message: both line ends real CRLF.
            if content == b"." && crlf && prev_crlf {
                break Some(match self.error {
                    Some(e) => Err(e),
                    None => Ok(std::mem::take(&mut self.message)),
                });
            }
            let stored = content.len() + 2;
            if stored > max_line || (stored == max_line && content.first() != Some(&b'.')) {
                self.fail(DataError::LineTooLong(text_line));
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
