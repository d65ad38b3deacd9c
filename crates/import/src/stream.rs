//! A message stored while it is read, a piece at a time, so that memory
//! stays flat whatever its size ([`sealpost_store::AppendStream`]): from a
//! file (a Maildir message, [`append_file`]) or from whatever hands pieces
//! over (an mbox, an IMAP literal), with bare LF line endings turned into
//! CRLF on the way ([`Crlf`]).

use crate::{ImportError, Result};
use sealpost_store::{AccountId, AppendStream, Appended, Flags, MailboxId, Prepared, Store, Uid};
use std::io::Read;
use std::path::Path;

/// How much is read from a file at a time.
pub const READ_PIECE: usize = 64 * 1024;

/// Turns bare LF line endings into CRLF across pieces (a CR at the end of
/// one piece and the LF at the start of the next are one CRLF), as
/// [`crate::to_crlf`] does for a whole message.
#[derive(Debug, Default)]
pub struct Crlf {
    last_was_cr: bool,
}

impl Crlf {
    /// Appends `piece` to `out`, converted: the runs between LFs are
    /// copied whole (`memchr` finds the LFs), and only an LF without a CR
    /// before it (in this piece, or at the end of the last) gets one.
    pub fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = piece.last() else {
            return;
        };
        out.reserve(piece.len());
        let mut start = 0;
        for lf in memchr::memchr_iter(b'\n', piece) {
            let cr = match lf {
                0 => self.last_was_cr,
                i => piece[i - 1] == b'\r',
            };
            if !cr {
                out.extend_from_slice(&piece[start..lf]);
                out.extend_from_slice(b"\r\n");
                start = lf + 1;
            }
        }
        out.extend_from_slice(&piece[start..]);
        self.last_was_cr = last == b'\r';
    }
}

/// Where one message goes and how it is kept.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The account.
    pub account: AccountId,
    /// The mailbox.
    pub mailbox: MailboxId,
    /// Its flags.
    pub flags: &'a Flags,
    /// Its internal date (now when `None`).
    pub date: Option<i64>,
    /// The UID to keep, when still possible.
    pub uid: Option<Uid>,
}

/// Stores the message in the file at `path`, read a piece at a time, its
/// line endings made CRLF. Returns where it went and its size here.
pub fn append_file(store: &Store, path: &Path, to: &Target<'_>) -> Result<(Appended, u64)> {
    let w = stream_file(store, path, to.account)?;
    let size = w.size();
    Ok((finish(w, to)?, size))
}

/// The message in the file at `path`, read and sealed a piece at a time
/// (line endings made CRLF), its blob made durable, waiting for its row
/// ([`Store::commit_prepared`](sealpost_store::Store::commit_prepared)).
pub fn prepare_file<'s>(store: &'s Store, path: &Path, account: AccountId) -> Result<Prepared<'s>> {
    Ok(stream_file(store, path, account)?.prepare()?)
}

/// Every octet of the file at `path` written to a new append stream.
fn stream_file<'s>(store: &'s Store, path: &Path, account: AccountId) -> Result<AppendStream<'s>> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut w = store.append_stream(account)?;
    let mut crlf = Crlf::default();
    let mut piece = vec![0u8; READ_PIECE];
    let mut converted = Vec::with_capacity(READ_PIECE + READ_PIECE / 2);
    loop {
        let n = match file.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        converted.clear();
        crlf.push(&piece[..n], &mut converted);
        w.write(&converted)?;
    }
    Ok(w)
}

/// Ends a streamed append as `to` says.
pub fn finish(w: AppendStream<'_>, to: &Target<'_>) -> Result<Appended> {
    Ok(w.finish(to.mailbox, to.flags, to.date, to.uid)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_across_any_split_matches_the_whole_conversion() {
        let input: &[u8] = b"a\nb\r\nc\r\n\nd\re\n\r\n";
        let whole = crate::to_crlf(input);
        for cut in 0..=input.len() {
            for cut2 in cut..=input.len() {
                let mut c = Crlf::default();
                let mut out = Vec::new();
                c.push(&input[..cut], &mut out);
                c.push(&input[cut..cut2], &mut out);
                c.push(&input[cut2..], &mut out);
                assert_eq!(out, whole, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn crlf_of_long_runs_lone_crs_and_doubled_crs_at_every_split() {
        let mut input = Vec::new();
        for n in 0..40 {
            input.extend(std::iter::repeat_n(b'a' + (n % 26) as u8, n * 7));
            input.extend_from_slice([&b"\n"[..], b"\r\n", b"\r", b"\r\r\n", b"\n\n"][n % 5]);
        }
        let whole = crate::to_crlf(&input);
        assert_eq!(whole.iter().filter(|&&b| b == b'\n').count(), 40);
        for cut in 0..=input.len() {
            let mut c = Crlf::default();
            let mut out = Vec::new();
            c.push(&input[..cut], &mut out);
            c.push(&[], &mut out);
            c.push(&input[cut..], &mut out);
            assert_eq!(out, whole, "cut {cut}");
        }
        // One octet at a time.
        let mut c = Crlf::default();
        let mut out = Vec::new();
        for b in &input {
            c.push(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, whole);
    }
}
