//! The on-disk format: segment lines, commitments, side-file lines, seals and
//! the checkpoint (layout described in the crate docs).
//!
//! Record lines are produced by this crate only, in one fixed shape, so the
//! verifier reads the fields it needs (`seq`, `time_ms`, `prev`) from a fixed
//! prefix of the raw bytes and hashes the line as it is, without a JSON parse.

use crate::error::AuditError;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The hash before the first record ever written.
pub(crate) const GENESIS: [u8; 32] = [0; 32];
/// The longest record line (and side-file line) accepted, newline excluded.
/// The writer shortens over-long text fields to stay under it.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The most items of a list field (recipients) stored in one record; the
/// number left out is stored as `<field>_omitted`.
pub(crate) const MAX_LIST_ITEMS: usize = 1000;
/// The longest text field the writer stores; longer ones are cut (at a
/// character boundary) and marked with `…`.
pub(crate) const MAX_FIELD_BYTES: usize = 4096;
/// The largest seal or checkpoint file read.
pub(crate) const MAX_SEAL_BYTES: u64 = 4096;
/// Prefix of a commitment in a sealed record.
pub(crate) const COMMIT_PREFIX: &str = "c:";

/// The signed checkpoint left by segment deletion.
pub(crate) const CHECKPOINT: &str = "checkpoint.json";
/// The public key the writer last used, for verification without `--pubkey`.
pub(crate) const PUBKEY_FILE: &str = "signing.pub";
/// The writer's lock file.
pub(crate) const LOCK_FILE: &str = "writer.lock";

/// SHA-256 of bytes.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The commitment to a personal value: SHA-256(salt || value).
pub(crate) fn commitment(salt: &[u8], value: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value.as_bytes());
    h.finalize().into()
}

/// Builds a record line (without the newline).
pub(crate) fn encode_line(seq: u64, time_ms: i64, prev: &[u8; 32], event_json: &str) -> Vec<u8> {
    debug_assert!(event_json.starts_with('{') && event_json.ends_with('}'));
    let mut line = Vec::with_capacity(event_json.len() + 110);
    line.extend_from_slice(b"{\"seq\":");
    line.extend_from_slice(seq.to_string().as_bytes());
    line.extend_from_slice(b",\"time_ms\":");
    line.extend_from_slice(time_ms.to_string().as_bytes());
    line.extend_from_slice(b",\"prev\":\"");
    line.extend_from_slice(hex::encode(prev).as_bytes());
    line.extend_from_slice(b"\",");
    line.extend_from_slice(&event_json.as_bytes()[1..]);
    line
}

/// The fields of a record line the chain needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineHead {
    pub seq: u64,
    pub time_ms: i64,
    pub prev: [u8; 32],
}

fn take_digits(s: &[u8], signed: bool) -> Option<(i128, &[u8])> {
    let (neg, body) = match s.first() {
        Some(b'-') if signed => (true, &s[1..]),
        _ => (false, s),
    };
    let n = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 19 || (n > 1 && body[0] == b'0') {
        return None;
    }
    let mut v: i128 = 0;
    for &b in &body[..n] {
        v = v * 10 + i128::from(b - b'0');
    }
    Some((if neg { -v } else { v }, &body[n..]))
}

/// Reads the fixed prefix of a record line: `{"seq":N,"time_ms":T,"prev":"<64 hex>",`
/// followed by at least `"x":..}`.
pub(crate) fn parse_head(line: &[u8]) -> Result<LineHead, &'static str> {
    let rest = line
        .strip_prefix(b"{\"seq\":")
        .ok_or("line does not start with a sequence number")?;
    let (seq, rest) = take_digits(rest, false).ok_or("bad sequence number")?;
    let seq = u64::try_from(seq).map_err(|_| "bad sequence number")?;
    let rest = rest
        .strip_prefix(b",\"time_ms\":")
        .ok_or("missing time_ms")?;
    let (time_ms, rest) = take_digits(rest, true).ok_or("bad time_ms")?;
    let time_ms = i64::try_from(time_ms).map_err(|_| "bad time_ms")?;
    let rest = rest.strip_prefix(b",\"prev\":\"").ok_or("missing prev")?;
    if rest.len() < 64 + 2 {
        return Err("line too short");
    }
    // Lowercase only, as written: one record has one byte form (found by
    // fuzzing: `regression-uppercase-prev-hex` in the corpus).
    if !rest[..64]
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err("bad prev hash");
    }
    let mut prev = [0u8; 32];
    hex::decode_to_slice(&rest[..64], &mut prev).map_err(|_| "bad prev hash")?;
    let rest = &rest[64..];
    if !rest.starts_with(b"\",\"") || !rest.ends_with(b"}") {
        return Err("malformed record");
    }
    Ok(LineHead { seq, time_ms, prev })
}

/// Lower-case hex of a hash, as record lines store it.
pub(crate) fn hex_lower(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// The decimal digits of `n`, in `buf`; returns the used tail.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// The verifier's fast path: whether `line` is a well-formed record with
/// sequence number `seq` and previous hash `prev_hex` (see [`hex_lower`]);
/// returns its `time_ms`. It compares the expected prefix byte for byte
/// instead of parsing it, and accepts exactly the lines [`parse_head`]
/// accepts with that `seq` and `prev` (the fuzz target checks this); on
/// `None` the caller parses the line to say what is wrong.
pub(crate) fn check_head(line: &[u8], seq: u64, prev_hex: &[u8; 64]) -> Option<i64> {
    let mut digits = [0u8; 20];
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let rest = rest.strip_prefix(decimal(seq, &mut digits))?;
    let rest = rest.strip_prefix(b",\"time_ms\":")?;
    let (neg, body) = match rest.first() {
        Some(b'-') => (true, &rest[1..]),
        _ => (false, rest),
    };
    let n = body
        .iter()
        .take(20)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == 0 || n > 19 || (n > 1 && body[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &body[..n] {
        v = v * 10 + u64::from(b - b'0');
    }
    let v = i128::from(v);
    let time_ms = i64::try_from(if neg { -v } else { v }).ok()?;
    let rest = body[n..].strip_prefix(b",\"prev\":\"")?;
    let rest = rest.strip_prefix(&prev_hex[..])?;
    (rest.starts_with(b"\",\"") && rest.ends_with(b"}")).then_some(time_ms)
}

/// How a segment came to be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SealKind {
    /// By the writer that wrote it: every record attested.
    Closed,
    /// At the next start after a crash: records after `attested` were never
    /// covered by a signed checkpoint.
    Recovered,
}

/// What a seal signs, in order (see [`Seal::signed_bytes`]). Version 1
/// (before attestations) has `after_crash`; version 2 has `kind`,
/// `attested`, `claimed` and `torn_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seal {
    pub version: u32,
    pub segment: u64,
    pub first_seq: u64,
    pub records: u64,
    pub bytes: u64,
    pub first_time_ms: Option<i64>,
    pub last_time_ms: Option<i64>,
    /// The chain hash before the segment's first record.
    pub prev_hash: String,
    /// The hash of the segment's last record (= `prev_hash` if empty).
    pub last_hash: String,
    /// [`Seal::seal_hash`] of the previous segment's seal (or the
    /// checkpoint's link, or zeros for the first segment).
    pub prev_seal: String,
    /// Version 1: sealed at the next start after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_crash: Option<bool>,
    /// Version 2: how it was sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SealKind>,
    /// Version 2: records of this segment covered by a signed checkpoint
    /// (the first ones); the rest are unattested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested: Option<u64>,
    /// Version 2: records of this segment the last valid checkpoint
    /// claimed; more than `attested` means attested records were lost or
    /// altered before recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<u64>,
    /// Version 2: bytes cut off the end at recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_bytes: Option<u64>,
    pub signature: String,
}

fn push_opt(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
        None => out.push(0),
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

impl Seal {
    /// A version 2 seal, unsigned.
    #[allow(clippy::too_many_arguments)]
    pub fn v2(
        segment: u64,
        first_seq: u64,
        records: u64,
        bytes: u64,
        times: (Option<i64>, Option<i64>),
        prev_hash: &[u8; 32],
        last_hash: &[u8; 32],
        prev_seal: &[u8; 32],
        kind: SealKind,
        attested: u64,
        claimed: u64,
        torn_bytes: u64,
    ) -> Seal {
        Seal {
            version: 2,
            segment,
            first_seq,
            records,
            bytes,
            first_time_ms: times.0,
            last_time_ms: times.1,
            prev_hash: hex::encode(prev_hash),
            last_hash: hex::encode(last_hash),
            prev_seal: hex::encode(prev_seal),
            after_crash: None,
            kind: Some(kind),
            attested: Some(attested),
            claimed: Some(claimed),
            torn_bytes: Some(torn_bytes),
            signature: String::new(),
        }
    }

    /// The bytes the signature covers: a domain label, then every field in a
    /// fixed binary layout. `None` for a malformed seal (a version 2 seal
    /// without its fields, a version 1 seal with them, a bad hash).
    pub fn signed_bytes(&self) -> Option<Vec<u8>> {
        let v2 = match self.version {
            1 => false,
            2 => true,
            _ => return None,
        };
        let fields_v2 = (self.kind, self.attested, self.claimed, self.torn_bytes);
        let mut out = if v2 {
            b"sealpost-audit-seal-v2\0".to_vec()
        } else {
            b"sealpost-audit-seal-v1\0".to_vec()
        };
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.segment.to_be_bytes());
        out.extend_from_slice(&self.first_seq.to_be_bytes());
        out.extend_from_slice(&self.records.to_be_bytes());
        out.extend_from_slice(&self.bytes.to_be_bytes());
        push_opt(&mut out, self.first_time_ms);
        push_opt(&mut out, self.last_time_ms);
        out.extend_from_slice(&hex32(&self.prev_hash)?);
        out.extend_from_slice(&hex32(&self.last_hash)?);
        out.extend_from_slice(&hex32(&self.prev_seal)?);
        match (v2, self.after_crash, fields_v2) {
            (false, Some(crash), (None, None, None, None)) => out.push(u8::from(crash)),
            (true, None, (Some(kind), Some(attested), Some(claimed), Some(torn))) => {
                out.push(match kind {
                    SealKind::Closed => 0,
                    SealKind::Recovered => 1,
                });
                out.extend_from_slice(&attested.to_be_bytes());
                out.extend_from_slice(&claimed.to_be_bytes());
                out.extend_from_slice(&torn.to_be_bytes());
            }
            _ => return None,
        }
        Some(out)
    }

    /// Records of the segment covered by a signature: all for a closed
    /// seal, the attested ones for a recovered one, none for a version 1
    /// seal made after a crash (written before attestations existed).
    pub fn attested_records(&self) -> u64 {
        match (self.kind, self.attested, self.after_crash) {
            (Some(SealKind::Recovered), Some(a), _) => a.min(self.records),
            (Some(SealKind::Closed), _, _) => self.records,
            (None, _, Some(true)) => 0,
            _ => self.records,
        }
    }

    /// Whether the segment was sealed at a start after a crash.
    pub fn after_crash(&self) -> bool {
        self.kind == Some(SealKind::Recovered) || self.after_crash == Some(true)
    }

    /// Signs the seal in place.
    pub fn sign(&mut self, key: &SigningKey) {
        let msg = self.signed_bytes().expect("seal built from valid hashes");
        self.signature = hex::encode(key.sign(&msg).to_bytes());
    }

    /// Whether the signature verifies with `key`.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let (Some(msg), Ok(sig)) = (self.signed_bytes(), hex::decode(&self.signature)) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&sig) else {
            return false;
        };
        key.verify(&msg, &sig).is_ok()
    }

    /// The link the next seal stores: SHA-256 over the signed bytes and the
    /// signature.
    pub fn seal_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.signed_bytes().unwrap_or_default());
        h.update(self.signature.as_bytes());
        h.finalize().into()
    }

    pub fn last_hash(&self) -> Option<[u8; 32]> {
        hex32(&self.last_hash)
    }

    pub fn prev_hash(&self) -> Option<[u8; 32]> {
        hex32(&self.prev_hash)
    }

    pub fn prev_seal(&self) -> Option<[u8; 32]> {
        hex32(&self.prev_seal)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("seal serializes");
        v.push(b'\n');
        v
    }

    pub fn parse(bytes: &[u8]) -> Result<Seal, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// Left by [`crate::delete_segments_before`]: where the remaining chain starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    pub version: u32,
    /// The first segment that remains.
    pub segment: u64,
    /// The first sequence number that remains.
    pub seq: u64,
    /// The hash of the last deleted record (the `prev` of the first remaining one).
    pub prev_hash: String,
    /// The seal hash of the last deleted segment.
    pub prev_seal: String,
    /// Segments deleted so far (all checkpoints together).
    pub deleted_segments: u64,
    /// When the checkpoint was made (Unix ms).
    pub time_ms: i64,
    pub signature: String,
}

impl Checkpoint {
    fn signed_bytes(&self) -> Option<Vec<u8>> {
        let mut out = b"sealpost-audit-checkpoint-v1\0".to_vec();
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.segment.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&hex32(&self.prev_hash)?);
        out.extend_from_slice(&hex32(&self.prev_seal)?);
        out.extend_from_slice(&self.deleted_segments.to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        Some(out)
    }

    pub fn sign(&mut self, key: &SigningKey) {
        let msg = self
            .signed_bytes()
            .expect("checkpoint built from valid hashes");
        self.signature = hex::encode(key.sign(&msg).to_bytes());
    }

    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let (Some(msg), Ok(sig)) = (self.signed_bytes(), hex::decode(&self.signature)) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&sig) else {
            return false;
        };
        key.verify(&msg, &sig).is_ok()
    }

    pub fn prev_hash(&self) -> Option<[u8; 32]> {
        hex32(&self.prev_hash)
    }

    pub fn prev_seal(&self) -> Option<[u8; 32]> {
        hex32(&self.prev_seal)
    }
}

/// Reads a small file (seal, checkpoint), refusing anything over the limit.
pub(crate) fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_SEAL_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_SEAL_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "file over the size limit",
        ));
    }
    Ok(buf)
}

/// Reads and parses a seal file.
pub(crate) fn read_seal(path: &Path) -> Result<Seal, AuditError> {
    let bytes = read_small(path).map_err(|e| AuditError::io(path, e))?;
    Seal::parse(&bytes).map_err(|e| AuditError::format(path, e))
}

/// Reads the checkpoint, if there is one.
pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<Checkpoint>, AuditError> {
    let path = dir.join(CHECKPOINT);
    match read_small(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuditError::format(&path, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuditError::io(&path, e)),
    }
}

/// Writes `bytes` to `path` atomically and durably (the shared helper:
/// temporary file 0600, fsync, rename, directory fsync).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    sealpost_durable::write(path, bytes).map_err(|e| AuditError::io(path, e))
}

/// fsyncs a directory so renames and creations in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    sealpost_durable::sync_dir(dir).map_err(|e| AuditError::io(dir, e))
}

/// Cuts a text to [`MAX_FIELD_BYTES`] at a character boundary.
pub(crate) fn clip(s: &mut String) {
    if s.len() > MAX_FIELD_BYTES {
        let mut end = MAX_FIELD_BYTES - '…'.len_utf8();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trips() {
        let prev = sha256(b"x");
        for (seq, t) in [(0u64, 0i64), (17, 1_700_000_000_123), (u64::MAX / 10, -5)] {
            let line = encode_line(seq, t, &prev, r#"{"event":"server_stopped"}"#);
            assert_eq!(
                parse_head(&line),
                Ok(LineHead {
                    seq,
                    time_ms: t,
                    prev
                })
            );
        }
    }

    #[test]
    fn head_rejects_variants() {
        let prev = hex::encode(sha256(b"x"));
        let good = format!(r#"{{"seq":1,"time_ms":2,"prev":"{prev}","event":"x"}}"#);
        assert!(parse_head(good.as_bytes()).is_ok());
        for bad in [
            good.replace("\"seq\":1", "\"seq\":01"),
            good.replace("\"seq\":1", "\"seq\":-1"),
            good.replace("\"seq\":1", "\"seq\": 1"),
            good.replace("\"time_ms\":2", "\"time_ms\":"),
            good.replace(&prev, &prev[..63]),
            good.replace(&prev, &prev.replace(|c: char| c.is_ascii_digit(), "g")),
            good.replace(&prev, &prev.to_ascii_uppercase()),
            good.trim_end_matches('}').to_string(),
            "{\"seq\":99999999999999999999,\"time_ms\":2".to_string(),
            String::new(),
        ] {
            assert!(parse_head(bad.as_bytes()).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn check_head_agrees_with_parse_head() {
        let prev = sha256(b"x");
        let hex = hex_lower(&prev);
        assert_eq!(&hex[..], hex::encode(prev).as_bytes());
        for (seq, t) in [
            (0u64, 0i64),
            (9, -1),
            (10, 1_700_000_000_123),
            (u64::MAX, i64::MIN),
            (u64::MAX / 10, i64::MAX),
        ] {
            let line = encode_line(seq, t, &prev, r#"{"event":"server_stopped"}"#);
            assert_eq!(
                check_head(&line, seq, &hex),
                Some(t),
                "{}",
                String::from_utf8_lossy(&line)
            );
            assert_eq!(check_head(&line, seq.wrapping_add(1), &hex), None);
            assert_eq!(check_head(&line, seq, &hex_lower(&GENESIS)), None);
        }
        let good = format!(
            r#"{{"seq":1,"time_ms":2,"prev":"{}","event":"x"}}"#,
            hex::encode(prev)
        );
        for bad in [
            good.replace("\"time_ms\":2", "\"time_ms\":02"),
            good.replace("\"time_ms\":2", "\"time_ms\":"),
            good.replace("\"time_ms\":2", "\"time_ms\":99999999999999999999"),
            good.replace("\"time_ms\":2", "\"time_ms\":9223372036854775808"),
            good.replace(&hex::encode(prev), &hex::encode(prev).to_ascii_uppercase()),
            good.trim_end_matches('}').to_string(),
        ] {
            assert_eq!(check_head(bad.as_bytes(), 1, &hex), None, "{bad}");
            assert!(parse_head(bad.as_bytes()).is_err(), "{bad}");
        }
        let edge = good.replace("\"time_ms\":2", "\"time_ms\":-0");
        assert_eq!(check_head(edge.as_bytes(), 1, &hex), Some(0));
        assert_eq!(parse_head(edge.as_bytes()).map(|h| h.time_ms), Ok(0));
    }

    #[test]
    fn every_prefix_of_a_line_is_rejected_or_whole() {
        let line = encode_line(3, 4, &GENESIS, r#"{"event":"server_stopped"}"#);
        for cut in 0..line.len() {
            assert!(parse_head(&line[..cut]).is_err(), "prefix {cut} accepted");
        }
    }

    #[test]
    fn seal_signature_covers_every_field() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut seal = Seal::v2(
            2,
            10,
            5,
            900,
            (Some(1), Some(2)),
            &[1; 32],
            &[2; 32],
            &[3; 32],
            SealKind::Closed,
            5,
            5,
            0,
        );
        seal.sign(&key);
        assert!(seal.verify(&key.verifying_key()));
        let edits: Vec<fn(&mut Seal)> = vec![
            |s| s.segment += 1,
            |s| s.first_seq += 1,
            |s| s.records -= 1,
            |s| s.bytes += 1,
            |s| s.first_time_ms = None,
            |s| s.last_time_ms = Some(3),
            |s| s.prev_hash = hex::encode([9; 32]),
            |s| s.last_hash = hex::encode([9; 32]),
            |s| s.prev_seal = hex::encode([9; 32]),
            |s| s.kind = Some(SealKind::Recovered),
            |s| s.attested = Some(4),
            |s| s.claimed = Some(4),
            |s| s.torn_bytes = Some(1),
            |s| s.version = 1,
            |s| s.after_crash = Some(false),
        ];
        for edit in edits {
            let mut s = seal.clone();
            edit(&mut s);
            assert!(!s.verify(&key.verifying_key()), "{s:?}");
        }
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(!seal.verify(&other.verifying_key()));
        // A version 1 seal (before attestations) still verifies.
        let mut v1 = seal.clone();
        (v1.version, v1.after_crash) = (1, Some(true));
        (v1.kind, v1.attested, v1.claimed, v1.torn_bytes) = (None, None, None, None);
        v1.sign(&key);
        assert!(v1.verify(&key.verifying_key()));
        assert!(v1.after_crash() && v1.attested_records() == 0);
        let text = String::from_utf8(v1.to_bytes()).unwrap();
        assert!(
            text.contains("\"after_crash\":true") && !text.contains("kind"),
            "{text}"
        );
        assert_eq!(Seal::parse(text.as_bytes()).unwrap(), v1);
    }

    #[test]
    fn clip_keeps_char_boundaries() {
        let mut s = "é".repeat(MAX_FIELD_BYTES);
        clip(&mut s);
        assert!(s.len() <= MAX_FIELD_BYTES);
        assert!(s.ends_with('…'));
        let mut short = "abc".to_string();
        clip(&mut short);
        assert_eq!(short, "abc");
    }
}
