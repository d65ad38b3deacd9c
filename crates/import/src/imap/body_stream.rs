//! `UID FETCH uid (BODY.PEEK[])` with the message handed on a piece at a
//! time while it arrives, for messages too large to hold whole (the
//! store appends it while it is read, `sealpost_store::AppendStream`).
//!
//! The response is read line by line (RFC 9051 2.2.2, 4.3): a line that
//! ends in a literal announcement `{N}` is followed by N octets. The first
//! literal of a FETCH response whose announcement follows `BODY[]` is the
//! message: its octets go to the sink as they come; any other literal is
//! read past. A line is at most [`MAX_LINE`] octets, the message at most
//! [`crate::MAX_MESSAGE_SIZE`]; every read has the client's timeout.

use super::client::{Client, ClientError, IO_TIMEOUT, conn_err};
use super::framer::{FrameError, MAX_LINE};
use tokio::io::AsyncReadExt;

/// How much is read from the socket at a time.
const PIECE: usize = 64 * 1024;

/// What one line of the response is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The tagged completion of `tag`: OK or not, and its text.
    Done {
        /// OK.
        ok: bool,
        /// The rest of the line.
        text: String,
    },
    /// `* BYE`.
    Bye(String),
    /// A line announcing a literal of this many octets; `body` when it is
    /// a FETCH's `BODY[]`.
    Literal {
        /// Its size.
        len: u64,
        /// Whether it is the message.
        body: bool,
    },
    /// Anything else (other untagged data, the end of a FETCH).
    Other,
}

/// Reads one line (CRLF or LF at its end) of the response to `tag`.
/// `in_fetch`: the line continues an untagged FETCH after a literal.
pub fn classify(line: &[u8], tag: &str, in_fetch: bool) -> Line {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim_end_matches(['\r', '\n']);
    if let Some(open) = trimmed.strip_suffix('}').and_then(|t| t.rfind('{')) {
        let digits = &trimmed[open + 1..trimmed.len() - 1];
        let digits = digits.strip_suffix('+').unwrap_or(digits);
        if !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let before = trimmed[..open].trim_end().to_ascii_uppercase();
            let fetch = in_fetch || (before.starts_with("* ") && before.contains(" FETCH ("));
            return Line::Literal {
                len: digits.parse().unwrap_or(u64::MAX),
                body: fetch && before.ends_with("BODY[]"),
            };
        }
    }
    let mut words = trimmed.splitn(3, ' ');
    match (words.next(), words.next()) {
        (Some("*"), Some(w)) if w.eq_ignore_ascii_case("BYE") => {
            Line::Bye(words.next().unwrap_or("").to_string())
        }
        (Some(t), Some(status)) if t == tag => Line::Done {
            ok: status.eq_ignore_ascii_case("OK"),
            text: words.next().unwrap_or("").to_string(),
        },
        _ => Line::Other,
    }
}

impl Client {
    /// `UID FETCH uid (BODY.PEEK[])`, the message's octets handed to `sink`
    /// a piece at a time. Returns whether the message was there (a message
    /// expunged at the source meanwhile is not an error). An error of
    /// `sink` stops the read (the connection is then of no further use).
    pub async fn uid_fetch_body_to<E: From<ClientError>>(
        &mut self,
        uid: u32,
        mut sink: impl FnMut(&[u8]) -> Result<(), E> + Send,
    ) -> Result<bool, E> {
        let tag = self
            .send(format!("UID FETCH {uid} (BODY.PEEK[])").as_bytes())
            .await?;
        let mut got = false;
        let mut in_fetch = false;
        loop {
            let line = self.line().await?;
            match classify(&line, &tag, in_fetch) {
                Line::Done { ok: true, .. } => return Ok(got),
                Line::Done { ok: false, text } => return Err(ClientError::Refused(text).into()),
                Line::Bye(text) => {
                    return Err(conn_err(format!("the server said BYE: {text}")).into());
                }
                Line::Literal { len, body } => {
                    if len > crate::MAX_MESSAGE_SIZE as u64 {
                        return Err(ClientError::from(FrameError::LiteralTooLarge(len)).into());
                    }
                    let wanted = body && !got;
                    got |= wanted;
                    self.literal(len, &mut |piece| match wanted {
                        true => sink(piece),
                        false => Ok(()),
                    })
                    .await?;
                    in_fetch = true;
                }
                Line::Other => in_fetch = false,
            }
        }
    }

    /// The next line (at most [`MAX_LINE`] octets), taken off the buffer.
    async fn line(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut scanned = 0;
        loop {
            if let Some(nl) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + nl + 1;
                return Ok(self.buf.drain(..end).collect());
            }
            scanned = self.buf.len();
            if scanned > MAX_LINE {
                return Err(FrameError::LineTooLong.into());
            }
            self.fill().await?;
        }
    }

    /// Reads more from the socket onto the buffer.
    async fn fill(&mut self) -> Result<(), ClientError> {
        let before = self.buf.len();
        self.buf.resize(before + PIECE, 0);
        let n = tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut self.buf[before..]))
            .await
            .map_err(|_| conn_err("reading timed out"))?;
        self.buf.truncate(before + n.as_ref().map_or(0, |n| *n));
        match n {
            Ok(0) => Err(conn_err("the server closed the connection")),
            Ok(_) => Ok(()),
            Err(e) => Err(conn_err(e)),
        }
    }

    /// Hands the next `len` octets to `each`, a piece at a time.
    async fn literal<E: From<ClientError>>(
        &mut self,
        mut len: u64,
        each: &mut (dyn FnMut(&[u8]) -> Result<(), E> + Send),
    ) -> Result<(), E> {
        while len > 0 {
            if self.buf.is_empty() {
                self.fill().await?;
            }
            let take = (self.buf.len() as u64).min(len) as usize;
            each(&self.buf[..take])?;
            self.buf.drain(..take);
            len -= take as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_a_streamed_fetch() {
        assert_eq!(
            classify(b"* 3 FETCH (UID 7 BODY[] {1234}\r\n", "i4", false),
            Line::Literal {
                len: 1234,
                body: true
            }
        );
        assert_eq!(
            classify(b"* 3 FETCH (UID 7 BODY[HEADER] {12}\r\n", "i4", false),
            Line::Literal {
                len: 12,
                body: false
            }
        );
        assert_eq!(
            classify(b" BODY[] {5}\r\n", "i4", true),
            Line::Literal { len: 5, body: true }
        );
        assert_eq!(
            classify(b"* LIST () \"/\" {5}\r\n", "i4", false),
            Line::Literal {
                len: 5,
                body: false
            }
        );
        assert_eq!(classify(b")\r\n", "i4", true), Line::Other);
        assert_eq!(
            classify(b"i4 OK Fetch completed.\r\n", "i4", false),
            Line::Done {
                ok: true,
                text: "Fetch completed.".into()
            }
        );
        assert_eq!(
            classify(b"i4 NO gone\r\n", "i4", false),
            Line::Done {
                ok: false,
                text: "gone".into()
            }
        );
        assert_eq!(classify(b"i3 OK old\r\n", "i4", false), Line::Other);
        assert_eq!(
            classify(b"* BYE shutting down\r\n", "i4", false),
            Line::Bye("shutting down".into())
        );
    }
}
