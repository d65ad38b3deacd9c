//! DANE for SMTP (RFC 7672, RFC 6698): TLSA records of a mail exchanger
//! and matching them against the certificate chain it presents.
//!
//! - Usable records (RFC 7672 3.1): DANE-EE(3) and DANE-TA(2), selectors
//!   Cert(0) and SPKI(1), matching types Full(0), SHA2-256(1) and
//!   SHA2-512(2). PKIX-TA(0)/PKIX-EE(1) and unknown values are unusable;
//!   a host whose records are all unusable still needs TLS but is not
//!   authenticated (RFC 7672 2.2).
//! - DANE-EE(3): the end-entity certificate or its key must match; names
//!   and validity dates are not checked (RFC 7672 3.1.1).
//! - DANE-TA(2): some certificate the server sends must match; the
//!   end-entity certificate must chain to it and carry the MX host name
//!   (RFC 7672 3.1.2, 3.2.2), checked by webpki with that certificate as
//!   the only root.
//!
//! Parsing is sans-IO; the rustls verifier is in `verify.rs`.

use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256, Sha512};

/// The most TLSA records looked at for one host.
pub const MAX_TLSA: usize = 32;

/// A usable TLSA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    /// 2 (DANE-TA) or 3 (DANE-EE).
    pub usage: u8,
    /// 0 (whole certificate) or 1 (SubjectPublicKeyInfo).
    pub selector: u8,
    /// 0 (exact), 1 (SHA-256), 2 (SHA-512).
    pub matching: u8,
    /// The association data.
    pub data: Vec<u8>,
}

/// Parses a TLSA record in zone-file form (`3 1 1 ABCD...`); `None` when
/// it is malformed or unusable for SMTP.
pub fn parse_tlsa(text: &str) -> Option<Tlsa> {
    let mut words = text.split_whitespace();
    let mut num = || words.next()?.parse::<u8>().ok();
    let (usage, selector, matching) = (num()?, num()?, num()?);
    let hex: String = words.collect();
    if !(2..=3).contains(&usage) || selector > 1 || matching > 2 || hex.len() > 8192 {
        return None;
    }
    let data = hex::decode(hex).ok()?;
    let expected = match matching {
        1 => 32,
        2 => 64,
        _ => data.len(),
    };
    (!data.is_empty() && data.len() == expected).then_some(Tlsa {
        usage,
        selector,
        matching,
        data,
    })
}

impl Tlsa {
    /// Whether `cert` matches this record's selector and matching type.
    pub fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let selected: Vec<u8> = match self.selector {
            0 => cert.as_ref().to_vec(),
            _ => match spki(cert) {
                Some(s) => s,
                None => return false,
            },
        };
        let digest: Vec<u8> = match self.matching {
            0 => selected,
            1 => Sha256::digest(&selected).to_vec(),
            _ => Sha512::digest(&selected).to_vec(),
        };
        digest == self.data
    }
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.tbs_certificate.subject_pki.raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["mx.example".into()]).unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn parse_and_match() {
        let c = cert();
        let sha = hex::encode(Sha256::digest(spki(&c).unwrap()));
        let r = parse_tlsa(&format!("3 1 1 {sha}")).unwrap();
        assert!(r.matches(&c));
        assert!(!r.matches(&cert()));
        let full = parse_tlsa(&format!("3 0 0 {}", hex::encode(c.as_ref()))).unwrap();
        assert!(full.matches(&c));
        let sha512 = hex::encode(Sha512::digest(c.as_ref()));
        assert!(parse_tlsa(&format!("2 0 2 {sha512}")).unwrap().matches(&c));
        // Split hex (as some zone files print it) is one value.
        let (a, b) = sha.split_at(10);
        assert_eq!(parse_tlsa(&format!("3 1 1 {a} {b}")), Some(r));
        for bad in [
            format!("1 1 1 {sha}"),
            format!("0 0 1 {sha}"),
            format!("3 2 1 {sha}"),
            format!("3 1 3 {sha}"),
            "3 1 1 abc".to_string(),
            "3 1 1 00".to_string(),
            "3 1".to_string(),
            "".to_string(),
            format!("3 1 1 {}zz", &sha[2..]),
        ] {
            assert_eq!(parse_tlsa(&bad), None, "{bad}");
        }
    }
}
