//! The ed25519 key pair that seals segments.
//!
//! The signing key is a PKCS#8 PEM file (RFC 8410) at
//! `config.server.audit_signing_key`, generated on first start with mode
//! 0600. The public key's printable form is the 64 lowercase hex digits of
//! its 32 bytes (RFC 8032 encoding); `sealpost audit pubkey` prints it and
//! `sealpost audit verify --pubkey FILE` reads it back from a file.

use crate::error::AuditError;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::Path;

/// Loads the signing key, generating it (0600, parent directory 0700) when
/// the file does not exist.
pub(crate) fn load_or_generate(path: &Path) -> Result<SigningKey, AuditError> {
    match std::fs::metadata(path) {
        Ok(_) => load(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate(path),
        Err(e) => Err(AuditError::io(path, e)),
    }
}

fn generate(path: &Path) -> Result<SigningKey, AuditError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    sealpost_durable::create_dir(parent).map_err(|e| AuditError::io(parent, e))?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| AuditError::key(path, e.to_string()))?;
    // Created only if absent: two processes racing to generate cannot
    // overwrite each other; the loser loads the winner's key.
    match sealpost_durable::write_new(path, pem.as_bytes()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return load(path),
        Err(e) => return Err(AuditError::io(path, e)),
    }
    tracing::info!(path = %path.display(), "generated the audit signing key");
    Ok(key)
}

/// Loads an existing signing key.
pub(crate) fn load(path: &Path) -> Result<SigningKey, AuditError> {
    let bytes = crate::format::read_small(path).map_err(|e| AuditError::io(path, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "audit signing key is readable by others; chmod 600 it");
        }
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| AuditError::key(path, "not PEM text"))?;
    SigningKey::from_pkcs8_pem(text)
        .map_err(|e| AuditError::key(path, format!("not an ed25519 PKCS#8 key: {e}")))
}

/// The printable public key (64 hex digits) of the signing key at `signing_key`.
/// The key must exist (the server generates it on first start).
pub fn public_key(signing_key: &Path) -> Result<String, AuditError> {
    Ok(format_public_key(&load(signing_key)?.verifying_key()))
}

/// The printable form of a public key.
pub fn format_public_key(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// Parses the printable form (surrounding whitespace ignored).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bad = |m: &str| AuditError::key(Path::new("-"), m);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| bad("a public key is 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not a valid ed25519 public key"))
}

/// Reads a public key file holding the printable form.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let bytes = crate::format::read_small(path).map_err(|e| AuditError::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| AuditError::key(path, "not text"))?;
    parse_public_key(text).map_err(|e| match e {
        AuditError::Key { message, .. } => AuditError::key(path, message),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/audit.key");
        let a = load_or_generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = load_or_generate(&path).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        let printed = public_key(&path).unwrap();
        assert_eq!(printed.len(), 64);
        let pubfile = dir.path().join("audit.pub");
        std::fs::write(&pubfile, format!("{printed}\n")).unwrap();
        assert_eq!(read_public_key(&pubfile).unwrap(), a.verifying_key());
    }

    #[test]
    fn bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(load(&path), Err(AuditError::Key { .. })));
        assert!(public_key(&dir.path().join("missing")).is_err());
        assert!(parse_public_key("abcd").is_err());
        assert!(parse_public_key(&"zz".repeat(32)).is_err());
    }
}
