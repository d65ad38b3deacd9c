//! Attestations: the short window between a record and its signature
//! (DESIGN.md promise 5: no record stays unattested for more than about a
//! second).
//!
//! While records arrive, the writer signs a checkpoint of the chain at
//! least once a second and with every `record_durable` (after the records
//! it covers are fdatasynced): the segment, the number of records in the
//! whole chain so far and the hash of the last one, with the time. The
//! checkpoints of the open segment are appended to `NNNNNNNNNNNN.att`, one
//! JSON line each (fdatasynced), and sent to the witness (`witness`). The
//! seal of the segment supersedes them, and the file is removed once the
//! seal is written.
//!
//! A checkpoint covers the records the writer itself chained, from its own
//! memory: a line appended to the segment by someone else is never covered,
//! and a covered record that is altered no longer matches the checkpoint's
//! hash. After a crash, recovery (`recover`) seals the segment with the
//! count the last matching checkpoint attests; the records after it are
//! sealed as *unattested*, and `verify` names them.

use crate::error::AuditError;
use crate::format;
use crate::names::SegmentName;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One signed checkpoint of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attestation {
    /// The segment being written.
    pub segment: u64,
    /// Records in the whole chain so far (the last one's sequence number + 1).
    pub records: u64,
    /// Hash (hex) of the last record.
    pub head: String,
    /// When it was signed (Unix ms).
    pub time_ms: i64,
    pub signature: String,
}

impl Attestation {
    fn signed_bytes(&self) -> Option<Vec<u8>> {
        let mut out = b"sealpost-audit-attestation-v1\0".to_vec();
        out.extend_from_slice(&self.segment.to_be_bytes());
        out.extend_from_slice(&self.records.to_be_bytes());
        out.extend_from_slice(&self.head()?);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        Some(out)
    }

    /// A signed checkpoint.
    pub(crate) fn new(
        key: &SigningKey,
        segment: u64,
        records: u64,
        head: &[u8; 32],
        time_ms: i64,
    ) -> Attestation {
        let mut a = Attestation {
            segment,
            records,
            head: hex::encode(head),
            time_ms,
            signature: String::new(),
        };
        let msg = a.signed_bytes().expect("built from a valid hash");
        a.signature = hex::encode(key.sign(&msg).to_bytes());
        a
    }

    pub(crate) fn verify(&self, key: &VerifyingKey) -> bool {
        let (Some(msg), Ok(sig)) = (self.signed_bytes(), hex::decode(&self.signature)) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&sig) else {
            return false;
        };
        key.verify(&msg, &sig).is_ok()
    }

    pub(crate) fn head(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.head, &mut out).ok()?;
        Some(out)
    }

    pub(crate) fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("attestations serialize");
        v.push(b'\n');
        v
    }

    pub(crate) fn parse(line: &[u8]) -> Option<Attestation> {
        if line.len() > format::MAX_SEAL_BYTES as usize {
            return None;
        }
        serde_json::from_slice(line).ok()
    }
}

/// What an attestation file holds: the checkpoints that verify, in order,
/// and how many lines did not (forged, damaged or torn).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttestFile {
    pub valid: Vec<Attestation>,
    pub invalid: u64,
}

impl AttestFile {
    /// The last valid checkpoint.
    pub(crate) fn last(&self) -> Option<&Attestation> {
        self.valid.last()
    }
}

/// Reads the checkpoints of segment `n` that verify with `key` and belong
/// to it; a missing file is empty. A checkpoint that does not count up from
/// the one before is treated as invalid.
pub(crate) fn read(
    dir: &Path,
    seg: &SegmentName,
    key: &VerifyingKey,
) -> Result<AttestFile, AuditError> {
    let n = seg.number;
    let path = dir.join(seg.att());
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AttestFile::default()),
        Err(e) => return Err(AuditError::io(&path, e)),
    };
    let mut out = AttestFile::default();
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match Attestation::parse(line) {
            Some(a)
                if a.segment == n
                    && a.verify(key)
                    && out.last().is_none_or(|p| a.records >= p.records) =>
            {
                out.valid.push(a)
            }
            _ => out.invalid += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_every_field() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let a = Attestation::new(&key, 4, 100, &[9; 32], 1234);
        assert!(a.verify(&key.verifying_key()));
        assert_eq!(
            Attestation::parse(a.to_line().trim_ascii_end()),
            Some(a.clone())
        );
        let edits: Vec<fn(&mut Attestation)> = vec![
            |a| a.segment += 1,
            |a| a.records -= 1,
            |a| a.head = hex::encode([8; 32]),
            |a| a.time_ms += 1,
        ];
        for e in edits {
            let mut b = a.clone();
            e(&mut b);
            assert!(!b.verify(&key.verifying_key()));
        }
        assert!(!a.verify(&SigningKey::from_bytes(&[4; 32]).verifying_key()));
    }

    #[test]
    fn read_keeps_valid_increasing_checkpoints_of_the_segment() {
        let d = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[5; 32]);
        let mut bytes = Vec::new();
        bytes.extend(Attestation::new(&key, 2, 10, &[1; 32], 1).to_line());
        bytes.extend(Attestation::new(&other, 2, 11, &[1; 32], 2).to_line());
        bytes.extend(Attestation::new(&key, 3, 12, &[1; 32], 3).to_line());
        bytes.extend(Attestation::new(&key, 2, 9, &[1; 32], 4).to_line());
        bytes.extend(Attestation::new(&key, 2, 13, &[2; 32], 5).to_line());
        bytes.extend(b"{\"torn");
        let two = SegmentName::new(2, Some("node-a"));
        std::fs::write(d.path().join(two.att()), bytes).unwrap();
        let f = read(d.path(), &two, &key.verifying_key()).unwrap();
        assert_eq!(
            f.valid.iter().map(|a| a.records).collect::<Vec<_>>(),
            vec![10, 13]
        );
        assert_eq!(f.invalid, 4);
        assert!(
            read(d.path(), &SegmentName::new(7, None), &key.verifying_key())
                .unwrap()
                .valid
                .is_empty()
        );
    }
}
