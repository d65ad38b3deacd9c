//! DKIM keys: generation for a new domain or a rotation, and the TXT record
//! that publishes each public key.
//!
//! A domain gets two keys, each under its own selector: Ed25519 (RFC 8463,
//! short and fast, but not every verifier knows it yet) and RSA-2048
//! (RFC 6376 3.3.3: 1024 to 4096 bits; 2048 fits a single 255-octet TXT
//! string split in two). Verifiers that ignore one algorithm check the
//! other (RFC 8463 4: signers SHOULD sign with both during the transition).
//!
//! Keys are PKCS#8 PEM, the format `[[smtp.dkim]] key` reads. The public
//! record is `v=DKIM1; k=ed25519; p=<32 octets, base64>` or
//! `v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo DER, base64>` (RFC 6376 3.6.1).

use crate::mailauth::MailAuthError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use sealpost_config::DkimAlgorithm;

/// RSA modulus size of generated keys.
pub const RSA_BITS: usize = 2048;

/// A new private key for `algorithm`, as PKCS#8 PEM. The string is wiped
/// when dropped.
pub fn generate_key(algorithm: DkimAlgorithm) -> Result<zeroize::Zeroizing<String>, MailAuthError> {
    let fail = |e: String| MailAuthError(format!("cannot generate a DKIM key: {e}"));
    let pem = match algorithm {
        DkimAlgorithm::Ed25519Sha256 => {
            use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
            let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            // PKCS#8 v1 (RFC 8410 7): the seed only. OpenSSL 3 does not
            // read the v2 form with the public key that dalek writes.
            KeypairBytes {
                secret_key: key.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(Default::default())
            .map_err(|e| fail(e.to_string()))?
        }
        DkimAlgorithm::RsaSha256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| fail(e.to_string()))?;
            key.to_pkcs8_pem(Default::default())
                .map_err(|e| fail(e.to_string()))?
        }
    };
    Ok(zeroize::Zeroizing::new(pem.to_string()))
}

/// The DNS TXT record text that publishes the public half of a PKCS#8 PEM
/// private key (RFC 6376 3.6.1).
pub fn public_record(algorithm: DkimAlgorithm, pem: &[u8]) -> Result<String, MailAuthError> {
    let bad = |e: String| MailAuthError(format!("not a usable DKIM key: {e}"));
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|e| bad(e.to_string()))?;
    match algorithm {
        DkimAlgorithm::Ed25519Sha256 => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der.secret_der())
                .map_err(|e| bad(e.to_string()))?;
            Ok(format!(
                "v=DKIM1; k=ed25519; p={}",
                B64.encode(key.verifying_key().as_bytes())
            ))
        }
        DkimAlgorithm::RsaSha256 => {
            use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der.secret_der())
                .map_err(|e| bad(e.to_string()))?;
            let spki = key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| bad(e.to_string()))?;
            Ok(format!("v=DKIM1; k=rsa; p={}", B64.encode(spki.as_bytes())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_as_signers_and_publish_their_public_half() {
        for (alg, k) in [
            (DkimAlgorithm::Ed25519Sha256, "k=ed25519"),
            (DkimAlgorithm::RsaSha256, "k=rsa"),
        ] {
            let pem = generate_key(alg).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{alg:?}");
            let record = public_record(alg, pem.as_bytes()).unwrap();
            assert!(record.starts_with(&format!("v=DKIM1; {k}; p=")), "{record}");
            // The record parses as a DKIM key record.
            use mail_auth::common::parse::TxtRecordParser;
            mail_auth::common::verify::DomainKey::parse(record.as_bytes()).unwrap();
        }
        let e = public_record(DkimAlgorithm::RsaSha256, b"nonsense").unwrap_err();
        assert!(e.0.contains("not a usable DKIM key"), "{e}");
    }
}
