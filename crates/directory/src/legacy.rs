//! Password hashes other servers left behind, kept until the user's next
//! login replaces them with argon2id.
//!
//! Accepted, as Dovecot writes them (`{SCHEME}` then the hash, the form of
//! its passwd-files and `doveadm pw`) and, where the scheme has one, as a
//! bare crypt/PHC string:
//!
//! | scheme         | Dovecot form                  | bare form                   |
//! |----------------|-------------------------------|-----------------------------|
//! | SHA512-CRYPT   | `{SHA512-CRYPT}$6$salt$hash`  | `$6$[rounds=N$]salt$hash`   |
//! | SHA256-CRYPT   | `{SHA256-CRYPT}$5$salt$hash`  | `$5$[rounds=N$]salt$hash`   |
//! | BLF-CRYPT      | `{BLF-CRYPT}$2y$10$...`       | `$2a$`, `$2b$`, `$2y$`      |
//! | ARGON2I        | `{ARGON2I}$argon2i$v=19$...`  | `$argon2i$v=19$...`         |
//! | ARGON2ID       | `{ARGON2ID}$argon2id$v=19$..` | `$argon2id$v=19$...`        |
//! | SSHA, SSHA256, SSHA512 | `{SSHA}base64(digest ‖ salt)` (also `.b64`, `.hex`) | none |
//!
//! `{CRYPT}` holding one of the crypt strings above is accepted too (Dovecot
//! hands those to libc's crypt(3)). SHA-crypt is Ulrich Drepper's
//! specification (rounds below 1000 count as 1000, a salt is at most 16
//! characters); bcrypt is OpenBSD's; SSHA is OpenLDAP's salted SHA (the
//! digest of password then salt, followed by the salt).
//!
//! Refused, with a one-line reason: plain text (`{PLAIN}`, `{CLEARTEXT}`
//! and their encodings), unsalted digests (`{MD5}`, `{PLAIN-MD5}`,
//! `{LDAP-MD5}`, `{SHA}`, `{SHA1}`, `{SHA256}`, `{SHA512}`), and schemes
//! too weak to keep even for a while (`{CRYPT}` DES, `{MD5-CRYPT}`/`$1$`,
//! `{CRAM-MD5}`, `{DIGEST-MD5}`, NTLM, LANMAN, `$2x$`). Those accounts need a
//! new password (`sealpost account passwd`).
//!
//! Limits: a stored hash is at most 512 characters; SHA-crypt rounds at most
//! [`MAX_SHA_CRYPT_ROUNDS`], bcrypt cost at most [`MAX_BCRYPT_COST`], so a
//! typo in a hash cannot make every login burn seconds of CPU.

use crate::Secret;
use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Highest SHA-crypt rounds accepted (about half a second at SHA-512).
pub const MAX_SHA_CRYPT_ROUNDS: usize = 1_000_000;
/// Highest bcrypt cost accepted (2^15 rounds, about two seconds).
pub const MAX_BCRYPT_COST: u32 = 15;
/// Longest SSHA salt accepted, in octets.
const MAX_SSHA_SALT: usize = 64;

/// The hash schemes an account's password may be stored in, by Dovecot's
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// argon2id (RFC 9106), what every new password gets.
    Argon2id,
    /// argon2i.
    Argon2i,
    /// SHA-crypt with SHA-512 (`$6$`).
    Sha512Crypt,
    /// SHA-crypt with SHA-256 (`$5$`).
    Sha256Crypt,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`).
    BlfCrypt,
    /// Salted SHA-1.
    Ssha,
    /// Salted SHA-256.
    Ssha256,
    /// Salted SHA-512.
    Ssha512,
}

impl Scheme {
    /// Dovecot's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2id => "ARGON2ID",
            Scheme::Argon2i => "ARGON2I",
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Sha256Crypt => "SHA256-CRYPT",
            Scheme::BlfCrypt => "BLF-CRYPT",
            Scheme::Ssha => "SSHA",
            Scheme::Ssha256 => "SSHA256",
            Scheme::Ssha512 => "SSHA512",
        }
    }

    /// The scheme of a stored hash string, if it is one we accept (without
    /// checking the hash itself: see [`check`]).
    pub fn of(stored: &str) -> Option<Scheme> {
        parse(stored).ok().map(|p| p.scheme)
    }
}

/// A stored hash taken apart: its scheme, the crypt/PHC string or digest
/// text after any `{SCHEME}` prefix, and how SSHA text is encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    pub(crate) scheme: Scheme,
    pub(crate) body: &'a str,
    hex: bool,
}

/// Takes a stored hash apart, refusing what we never keep (module docs).
pub(crate) fn parse(stored: &str) -> Result<Parsed<'_>, String> {
    let Some(rest) = stored.strip_prefix('{') else {
        return bare(stored, None);
    };
    let Some((name, body)) = rest.split_once('}') else {
        return Err("a `{SCHEME}` prefix without its closing `}`".into());
    };
    // Scheme names are short and printable; anything else is refused
    // without echoing it (an error is one line, and names no odd bytes).
    if name.len() > 32 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a `{SCHEME}` name that is not a short printable word".into());
    }
    let upper = name.to_ascii_uppercase();
    let (base, encoding) = match upper.rsplit_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (upper.as_str(), None),
    };
    let hex = match encoding {
        None | Some("B64") | Some("BASE64") => false,
        Some("HEX") => true,
        Some(other) => return Err(format!("unknown encoding `.{other}` in `{{{name}}}`")),
    };
    let salted = |scheme| Ok(Parsed { scheme, body, hex });
    match base {
        "SSHA" => salted(Scheme::Ssha),
        "SSHA256" => salted(Scheme::Ssha256),
        "SSHA512" => salted(Scheme::Ssha512),
        "SHA512-CRYPT" => bare(body, Some(Scheme::Sha512Crypt)),
        "SHA256-CRYPT" => bare(body, Some(Scheme::Sha256Crypt)),
        "BLF-CRYPT" => bare(body, Some(Scheme::BlfCrypt)),
        "ARGON2I" => bare(body, Some(Scheme::Argon2i)),
        "ARGON2ID" => bare(body, Some(Scheme::Argon2id)),
        "CRYPT" if body.starts_with("$5$") || body.starts_with("$6$") || body.starts_with("$2") => {
            bare(body, None)
        }
        "CRYPT" | "DES-CRYPT" => Err(weak(name, "DES crypt")),
        "PLAIN" | "CLEARTEXT" | "PLAIN-TRUNC" => Err(format!(
            "`{{{name}}}` is a plain text password and is refused: set a new one with `sealpost account passwd`"
        )),
        "MD5" | "PLAIN-MD5" | "LDAP-MD5" | "SHA" | "SHA1" | "SHA256" | "SHA512" | "SMD5" => {
            Err(format!(
                "`{{{name}}}` is an unsalted or MD5 digest and is refused: set a new password with `sealpost account passwd`"
            ))
        }
        "MD5-CRYPT" => Err(weak(name, "MD5-crypt")),
        "CRAM-MD5" | "DIGEST-MD5" | "HMAC-MD5" | "NTLM" | "LANMAN" | "RPA" | "SKEY" | "OTP" => {
            Err(weak(name, "an MD5/MD4-based or challenge scheme"))
        }
        _ => Err(format!("unknown password scheme `{{{name}}}`")),
    }
}

fn weak(name: &str, what: &str) -> String {
    format!(
        "`{{{name}}}` ({what}) is too weak to keep and is refused: set a new password with `sealpost account passwd`"
    )
}

/// A crypt or PHC string, checked against the scheme its prefix names.
fn bare(s: &str, expected: Option<Scheme>) -> Result<Parsed<'_>, String> {
    let scheme = if s.starts_with("$6$") {
        Scheme::Sha512Crypt
    } else if s.starts_with("$5$") {
        Scheme::Sha256Crypt
    } else if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
        Scheme::BlfCrypt
    } else if s.starts_with("$argon2id$") {
        Scheme::Argon2id
    } else if s.starts_with("$argon2i$") {
        Scheme::Argon2i
    } else if s.starts_with("$1$") {
        return Err(weak("MD5-CRYPT", "MD5-crypt, `$1$`"));
    } else if s.starts_with("$2x$") {
        return Err("bcrypt `$2x$` hashes (made by a buggy implementation) are refused: set a new password with `sealpost account passwd`".into());
    } else if let Some(after) = s.strip_prefix('$') {
        let id = after.split('$').next().unwrap_or("");
        return Err(format!(
            "hash algorithm `{}` is not accepted (argon2id, argon2i, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, SSHA, SSHA256, SSHA512)",
            crate::address::shown(id)
        ));
    } else {
        return Err(
            "not a password hash: store `sealpost account passwd` output (or a `{SCHEME}` hash from Dovecot), never a plain password"
                .into(),
        );
    };
    match expected {
        Some(want) if want != scheme => Err(format!(
            "`{{{}}}` holds a {} hash",
            want.name(),
            scheme.name()
        )),
        _ => Ok(Parsed {
            scheme,
            body: s,
            hex: false,
        }),
    }
}

/// SHA-crypt's parts: rounds, salt, and the encoded hash.
fn sha_crypt_parts(body: &str) -> Result<(usize, &str, &str), String> {
    // `$6$` or `$5$`, then an optional `rounds=N$`, salt, hash.
    let rest = &body[3..];
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let (n, rest) = r.split_once('$').ok_or("SHA-crypt rounds without a salt")?;
            let n: usize = n.parse().map_err(|_| "SHA-crypt rounds must be a number")?;
            (n, rest)
        }
        None => (sha_crypt::ROUNDS_DEFAULT, rest),
    };
    if rounds > MAX_SHA_CRYPT_ROUNDS {
        return Err(format!(
            "SHA-crypt rounds {rounds} out of bounds (at most {MAX_SHA_CRYPT_ROUNDS})"
        ));
    }
    let (salt, hash) = rest
        .split_once('$')
        .ok_or("SHA-crypt hash lacks its salt or hash")?;
    let want = if body.starts_with("$6$") { 86 } else { 43 };
    if hash.len() != want || !hash.bytes().all(is_crypt64) {
        return Err(format!(
            "SHA-crypt hash must be {want} characters of ./0-9A-Za-z"
        ));
    }
    if salt.contains(['$', ':', '\n']) {
        return Err("SHA-crypt salt holds a character crypt does not allow".into());
    }
    Ok((rounds.max(sha_crypt::ROUNDS_MIN), salt, hash))
}

fn is_crypt64(b: u8) -> bool {
    b == b'.' || b == b'/' || b.is_ascii_alphanumeric()
}

/// The (digest, salt) of an SSHA hash.
fn ssha_parts(parsed: &Parsed<'_>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let raw = if parsed.hex {
        hex::decode(parsed.body).map_err(|_| "SSHA hash is not valid hex")?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(parsed.body)
            .map_err(|_| "SSHA hash is not valid base64")?
    };
    let len = match parsed.scheme {
        Scheme::Ssha => 20,
        Scheme::Ssha256 => 32,
        _ => 64,
    };
    if raw.len() <= len || raw.len() > len + MAX_SSHA_SALT {
        return Err(format!(
            "{} hash must hold a {len}-octet digest and a salt of 1 to {MAX_SSHA_SALT} octets",
            parsed.scheme.name()
        ));
    }
    let (digest, salt) = raw.split_at(len);
    Ok((digest.to_vec(), salt.to_vec()))
}

/// Checks a non-argon2 hash's own format and bounds (argon2 strings are the
/// `password` module's business). The reason is one line.
pub(crate) fn check(parsed: &Parsed<'_>) -> Result<(), String> {
    match parsed.scheme {
        Scheme::Argon2id | Scheme::Argon2i => Ok(()),
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => sha_crypt_parts(parsed.body).map(|_| ()),
        Scheme::BlfCrypt => {
            let b = parsed.body;
            if b.len() != 60 || !b.is_ascii() || b.as_bytes()[6] != b'$' {
                return Err("bcrypt hash must be 60 characters, `$2y$NN$` then 53".into());
            }
            let cost: u32 = b[4..6]
                .parse()
                .map_err(|_| "bcrypt cost must be two digits")?;
            if !(4..=MAX_BCRYPT_COST).contains(&cost) {
                return Err(format!(
                    "bcrypt cost {cost} out of bounds (4 to {MAX_BCRYPT_COST})"
                ));
            }
            if !b[7..].bytes().all(is_crypt64) {
                return Err("bcrypt salt and hash must be ./0-9A-Za-z".into());
            }
            Ok(())
        }
        Scheme::Ssha | Scheme::Ssha256 | Scheme::Ssha512 => ssha_parts(parsed).map(|_| ()),
    }
}

/// Verifies a password against a checked non-argon2 hash.
pub(crate) fn verify(parsed: &Parsed<'_>, password: &Secret) -> bool {
    let pw = password.expose().as_bytes();
    match parsed.scheme {
        Scheme::Argon2id | Scheme::Argon2i => false,
        Scheme::Sha512Crypt => {
            let Ok((rounds, salt, hash)) = sha_crypt_parts(parsed.body) else {
                return false;
            };
            let Ok(params) = sha_crypt::Sha512Params::new(rounds) else {
                return false;
            };
            sha_crypt::sha512_crypt_b64(pw, salt.as_bytes(), &params)
                .is_ok_and(|out| out.as_bytes().ct_eq(hash.as_bytes()).into())
        }
        Scheme::Sha256Crypt => {
            let Ok((rounds, salt, hash)) = sha_crypt_parts(parsed.body) else {
                return false;
            };
            let Ok(params) = sha_crypt::Sha256Params::new(rounds) else {
                return false;
            };
            sha_crypt::sha256_crypt_b64(pw, salt.as_bytes(), &params)
                .is_ok_and(|out| out.as_bytes().ct_eq(hash.as_bytes()).into())
        }
        Scheme::BlfCrypt => {
            // bcrypt reads at most 72 octets, as every implementation does.
            bcrypt::verify(pw, parsed.body).unwrap_or(false)
        }
        Scheme::Ssha | Scheme::Ssha256 | Scheme::Ssha512 => {
            let Ok((digest, salt)) = ssha_parts(parsed) else {
                return false;
            };
            let computed = match parsed.scheme {
                Scheme::Ssha => salted::<Sha1>(pw, &salt),
                Scheme::Ssha256 => salted::<Sha256>(pw, &salt),
                _ => salted::<Sha512>(pw, &salt),
            };
            computed.ct_eq(&digest).into()
        }
    }
}

fn salted<D: Digest>(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let mut d = D::new();
    d.update(password);
    d.update(salt);
    d.finalize().to_vec()
}

#[cfg(test)]
mod tests;
