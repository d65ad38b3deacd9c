//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (no zlib header) both ways,
//! each batch of responses ended with a sync flush so the client can read
//! it at once.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::io;

/// Most octets one read may inflate to (a DEFLATE bomb closes the connection).
pub const MAX_INFLATE: usize = 8 * 1024 * 1024;

/// Both directions of a compressed connection.
pub struct Deflate {
    compress: Compress,
    decompress: Decompress,
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
        }
    }
}

impl Deflate {
    /// Compresses `input` and sync-flushes.
    pub fn deflate(&mut self, input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before = self.compress.total_in();
            self.compress
                .compress_vec(&input[pos..], &mut out, FlushCompress::Sync)
                .map_err(io::Error::other)?;
            pos += (self.compress.total_in() - before) as usize;
            // Done when all input is in and the flush left room to spare.
            if pos >= input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    /// Inflates what the client sent.
    pub fn inflate(&mut self, input: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            if out.len() > MAX_INFLATE {
                return Err(io::Error::other("compressed input expands too much"));
            }
            let before = self.decompress.total_in();
            let status = self
                .decompress
                .decompress_vec(&input[pos..], &mut out, FlushDecompress::None)
                .map_err(io::Error::other)?;
            pos += (self.decompress.total_in() - before) as usize;
            if status == Status::StreamEnd {
                return Ok(out);
            }
            if pos >= input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_between_two_ends() {
        let (mut a, mut b) = (Deflate::default(), Deflate::default());
        for msg in [&b"a NOOP\r\n"[..], &[b'x'; 100_000], b""] {
            let wire = a.deflate(msg).unwrap();
            assert_eq!(b.inflate(&wire).unwrap(), msg);
        }
    }

    #[test]
    fn inflate_bomb_is_refused() {
        let mut a = Deflate::default();
        let wire = a.deflate(&vec![0u8; 3 * MAX_INFLATE]).unwrap();
        assert!(Deflate::default().inflate(&wire).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Deflate::default();
        let _ = d.inflate(&[0xff; 64]);
    }
}
