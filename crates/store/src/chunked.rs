//! Message bodies sealed in pieces, so that a message of any size is
//! encrypted and written while it arrives, with one piece in memory.
//!
//! Format (version 2; version 1 is [`crate::crypto::Key::seal`]'s single
//! piece): `2 | nonce prefix (19) | piece*`. Every piece but the last holds
//! [`PIECE`] octets of the message sealed with XChaCha20-Poly1305 (so it is
//! `PIECE + 16` octets on disk); the last holds the rest (possibly none).
//! Piece `i` is sealed under the nonce `prefix | i (u32, big-endian) |
//! last (0 or 1)` and the blob's associated data (its account). This is
//! the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár,
//! "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
//! 2015): a piece moved, dropped, repeated or cut off, or a blob cut after
//! a piece, fails to open, because the counter and the last flag are bound
//! into every nonce.

use crate::crypto::Key;
use crate::{Result, StoreError};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, Payload};
use rand::RngCore;

/// The version byte of a blob sealed in pieces.
pub(crate) const VERSION: u8 = 2;
/// Octets of the message per piece.
pub(crate) const PIECE: usize = 64 * 1024;
const PREFIX: usize = 19;
const TAG: usize = 16;

fn nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&counter.to_be_bytes());
    n[23] = u8::from(last);
    *XNonce::from_slice(&n)
}

/// Seals a message piece by piece; what it produces goes to `out`.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
    aad: Vec<u8>,
    prefix: [u8; PREFIX],
    counter: u32,
    pending: Vec<u8>,
}

impl Sealer {
    /// A sealer and the header that starts the blob.
    pub fn new(key: &Key, aad: Vec<u8>) -> (Sealer, Vec<u8>) {
        let mut prefix = [0u8; PREFIX];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        let mut header = vec![VERSION];
        header.extend_from_slice(&prefix);
        let sealer = Sealer {
            cipher: key.cipher(),
            aad,
            prefix,
            counter: 0,
            pending: Vec::with_capacity(PIECE),
        };
        (sealer, header)
    }

    fn seal(&mut self, plain: &[u8], last: bool) -> Result<Vec<u8>> {
        let n = nonce(&self.prefix, self.counter, last);
        self.counter = self.counter.checked_add(1).ok_or(StoreError::TooLarge)?;
        self.cipher
            .encrypt(
                &n,
                Payload {
                    msg: plain,
                    aad: &self.aad,
                },
            )
            .map_err(|_| StoreError::TooLarge)
    }

    /// Takes more of the message; whole pieces go to `out` once it is
    /// known that more follows (the last piece is sealed differently).
    pub fn push(
        &mut self,
        mut data: &[u8],
        out: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        while !data.is_empty() {
            if self.pending.len() == PIECE {
                let piece = std::mem::take(&mut self.pending);
                out(&self.seal(&piece, false)?)?;
                self.pending = piece;
                self.pending.clear();
            }
            let take = (PIECE - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the last piece.
    pub fn finish(mut self, out: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let piece = std::mem::take(&mut self.pending);
        out(&self.seal(&piece, true)?)
    }
}

/// Opens a blob sealed in pieces.
fn open_pieces(key: &Key, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let bad = |m: &str| StoreError::Corrupt(format!("sealed message: {m}"));
    let prefix: &[u8; PREFIX] = sealed
        .get(1..1 + PREFIX)
        .and_then(|p| p.try_into().ok())
        .ok_or_else(|| bad("header cut short"))?;
    let cipher = key.cipher();
    let mut rest = &sealed[1 + PREFIX..];
    let mut out = Vec::with_capacity(rest.len());
    let mut counter = 0u32;
    loop {
        let last = rest.len() <= PIECE + TAG;
        let (piece, tail) = rest.split_at(if last { rest.len() } else { PIECE + TAG });
        let plain = cipher
            .decrypt(&nonce(prefix, counter, last), Payload { msg: piece, aad })
            .map_err(|_| bad("authentication failed"))?;
        out.extend_from_slice(&plain);
        if last {
            return Ok(out);
        }
        rest = tail;
        counter = counter
            .checked_add(1)
            .ok_or_else(|| bad("too many pieces"))?;
    }
}

/// Opens a message blob in either format.
pub(crate) fn open_blob(key: &Key, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    match sealed.first() {
        Some(&VERSION) => open_pieces(key, aad, sealed),
        _ => key.open(aad, sealed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(key: &Key, aad: &[u8], message: &[u8], split: usize) -> Vec<u8> {
        let (mut s, mut blob) = Sealer::new(key, aad.to_vec());
        let mut out = |b: &[u8]| {
            blob.extend_from_slice(b);
            Ok(())
        };
        for part in message.chunks(split.max(1)) {
            s.push(part, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        blob
    }

    #[test]
    fn round_trips_at_every_size_around_a_piece_and_any_split() {
        let k = Key::generate();
        for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE, 3 * PIECE + 7] {
            let m: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for split in [1000, PIECE, PIECE + 3, len + 1] {
                let blob = seal_all(&k, b"acct", &m, split);
                assert_eq!(
                    blob.len(),
                    1 + PREFIX
                        + len
                        + TAG * (len / PIECE + usize::from(len % PIECE != 0 || len == 0)),
                    "len {len}"
                );
                assert_eq!(open_blob(&k, b"acct", &blob).unwrap(), m, "len {len}");
            }
        }
    }

    #[test]
    fn cut_reordered_or_foreign_blobs_do_not_open() {
        let k = Key::generate();
        let m = vec![7u8; 2 * PIECE + 10];
        let blob = seal_all(&k, b"acct", &m, PIECE);
        assert!(open_blob(&k, b"other", &blob).is_err(), "other account");
        assert!(
            open_blob(&Key::generate(), b"acct", &blob).is_err(),
            "other key"
        );
        let cut = &blob[..1 + PREFIX + 2 * (PIECE + TAG)];
        assert!(
            open_blob(&k, b"acct", cut).is_err(),
            "cut after a whole piece"
        );
        let mut swapped = blob[..1 + PREFIX].to_vec();
        swapped.extend_from_slice(&blob[1 + PREFIX + PIECE + TAG..1 + PREFIX + 2 * (PIECE + TAG)]);
        swapped.extend_from_slice(&blob[1 + PREFIX..1 + PREFIX + PIECE + TAG]);
        swapped.extend_from_slice(&blob[1 + PREFIX + 2 * (PIECE + TAG)..]);
        assert!(open_blob(&k, b"acct", &swapped).is_err(), "pieces swapped");
        assert!(open_blob(&k, b"acct", &blob[..5]).is_err(), "header cut");
        let old = k.seal(b"acct", b"single piece");
        assert_eq!(open_blob(&k, b"acct", &old).unwrap(), b"single piece");
    }
}
