//! The Sender Rewriting Scheme (SRS0) and hop counting for forwarded mail,
//! sans-IO: the pieces forwarding to an outside address needs (#15). The
//! session rewrites the sender of a forwarded copy at RCPT and reverses a
//! bounce to an SRS address of ours there (`session/envelope.rs`); delivery
//! checks for loops (`delivery.rs`); the queue reverses its own bounces of
//! forwarded copies (`queue/dsn.rs`).
//!
//! A message for `alias@ours` forwarded to `someone@elsewhere` keeps SPF
//! passing at the next hop only if its envelope sender is in a domain that
//! authorizes us; so the sender `user@origin` becomes
//!
//! ```text
//! SRS0=HHHHHHHH=TT=origin=user@ours
//! ```
//!
//! where `TT` is the day (two base32 characters, days since the epoch mod
//! 1024) and `HHHHHHHH` the first 40 bits, in base32, of HMAC-SHA256 over
//! `TT`, the origin domain and the local part (lowercased: next hops may
//! change case) under a secret kept in data_dir (`srs.key`, 0600). A bounce
//! to such an address is reversed to `user@origin` only if the hash checks
//! out and the day is at most [`MAX_AGE_DAYS`] old: nobody else can make
//! us relay to an address of their choice (no open relay), and old
//! addresses stop working. Forged or expired addresses are refused with
//! `550 5.1.1` ([`SrsError::reply`]).
//!
//! A sender that is already another forwarder's SRS address becomes SRS1
//! (the form libsrs2 and postsrsd use): `SRS0=H=TT=orig=user@first` is
//! sent on as `SRS1=HHHHHHHH=first==H=TT=orig=user@ours`, the hash (no
//! timestamp: the first forwarder checks its own) over the first
//! forwarder and the rest; a bounce to it goes back to the SRS0 address
//! at the first forwarder. An SRS1 sender keeps its first forwarder.
//!
//! Loops: each forwarded copy carries `Delivered-To:` for its forwarding
//! address (RFC 9228; added in `delivery.rs`). [`hops`] counts
//! `Received:` and `Delivered-To:` header fields; a forwarder refuses a
//! message past [`MAX_HOPS`], or one that carries `Delivered-To:` for the
//! address it is forwarding, with `554 5.4.6` (RFC 3463: routing loop
//! detected). Bounces to SRS addresses are rate limited (`srs_limit.rs`).

use crate::wire::{Enhanced, Reply};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// How long a rewritten sender can be bounced to.
pub const MAX_AGE_DAYS: i64 = 21;
/// Hops (Received plus Delivered-To fields) a forwarded message may carry.
pub const MAX_HOPS: usize = 50;
/// Longest local part produced or read (RFC 5321 allows 64; a longer one
/// is refused rather than cut).
pub const MAX_LOCAL: usize = 64;
/// The header section read by [`hops`] at most.
pub const MAX_HEADER: usize = 256 * 1024;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Why an SRS address was not reversed or a sender not rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    /// Not of the form `SRS0=HASH=TT=domain=local`.
    #[error("not an SRS0 address")]
    NotSrs,
    /// The hash does not match: forged, or made with another secret.
    #[error("forged SRS address")]
    Forged,
    /// Older than [`MAX_AGE_DAYS`] (or from the future).
    #[error("expired SRS address")]
    Expired,
    /// The rewritten local part would be over [`MAX_LOCAL`].
    #[error("sender too long to rewrite")]
    TooLong,
    /// A sender without a local part or a domain, or a domain with `=`.
    #[error("sender cannot be rewritten")]
    BadSender,
}

impl SrsError {
    /// The SMTP reply for a RCPT to an address that did not reverse, or
    /// to a forwarding address whose sender cannot be rewritten.
    pub fn reply(&self) -> Reply {
        let (code, text) = match self {
            SrsError::NotSrs => (Enhanced(5, 1, 1), "No such SRS address"),
            SrsError::Forged => (Enhanced(5, 1, 1), "Invalid SRS address"),
            SrsError::Expired => (Enhanced(5, 1, 1), "Expired SRS address"),
            SrsError::TooLong => (
                Enhanced(5, 1, 3),
                "Sender too long to rewrite for forwarding",
            ),
            SrsError::BadSender => (
                Enhanced(5, 1, 7),
                "Sender cannot be rewritten for forwarding",
            ),
        };
        Reply::new(550, code, text)
    }
}

/// The forwarder's secret and the rewriting with it.
pub struct Srs {
    secret: [u8; 32],
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Srs(..)")
    }
}

impl Srs {
    /// With this secret.
    pub fn new(secret: [u8; 32]) -> Srs {
        Srs { secret }
    }

    /// The secret in `data_dir/srs.key`, made (0600, durably, once even
    /// when two processes race) on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Srs> {
        let path = data_dir.join("srs.key");
        if !path.exists() {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            match sealpost_durable::write_new(&path, &secret) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        let bytes = std::fs::read(&path)?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| {
            std::io::Error::other(format!("{}: not a 32-byte SRS secret", path.display()))
        })?;
        Ok(Srs { secret })
    }

    /// The envelope sender for a copy forwarded by `our_domain` at `now`
    /// (Unix seconds). The null sender stays null; a sender that is
    /// already an SRS address of another forwarder becomes SRS1
    /// ([`Srs::forward_srs`]).
    pub fn forward(&self, sender: &str, our_domain: &str, now: i64) -> Result<String, SrsError> {
        if sender.is_empty() {
            return Ok(String::new());
        }
        let Some((local, domain)) = sender.rsplit_once('@') else {
            return Err(SrsError::BadSender);
        };
        if local.is_empty() || domain.is_empty() || domain.contains('=') {
            return Err(SrsError::BadSender);
        }
        if let Some(rewritten) = self.forward_srs(local, domain) {
            if rewritten.len() > MAX_LOCAL {
                return Err(SrsError::TooLong);
            }
            return Ok(format!("{rewritten}@{our_domain}"));
        }
        let tt = timestamp(now);
        let hash = self.hash(&tt, domain, local);
        let rewritten = format!("SRS0={hash}={tt}={domain}={local}");
        if rewritten.len() > MAX_LOCAL {
            return Err(SrsError::TooLong);
        }
        Ok(format!("{rewritten}@{our_domain}"))
    }

    /// SRS1 for a sender that is another forwarder's SRS address (the
    /// shape libsrs2 and postsrsd use): `SRS0=H=TT=orig=user@first`
    /// becomes `SRS1=HASH=first==H=TT=orig=user`, and an SRS1 address
    /// keeps its first forwarder and gets our hash. A bounce to it goes
    /// back to the first forwarder, which checks its own SRS0 hash and
    /// age. `None` when the local part is no SRS form.
    fn forward_srs(&self, local: &str, domain: &str) -> Option<String> {
        let (first, rest) = if let Some(srs0) = strip_srs_prefix(local, "SRS0") {
            (domain, &local[local.len() - srs0.len() - 1..])
        } else {
            let srs1 = strip_srs_prefix(local, "SRS1")?;
            // hash=first=<rest>, where rest starts with its own separator.
            let (_hash, tail) = srs1.split_once('=')?;
            tail.split_once('=')?
        };
        if first.is_empty() || rest.len() < 2 {
            return None;
        }
        let hash = self.hash("srs1", first, rest);
        Some(format!("SRS1={hash}={first}={rest}"))
    }

    /// The original sender of a local part made by [`Srs::forward`], if its
    /// hash checks and it is not expired at `now`. For SRS1, the SRS0
    /// address at the first forwarder (which checks the age itself).
    pub fn reverse(&self, local: &str, now: i64) -> Result<String, SrsError> {
        if local.len() > MAX_LOCAL {
            return Err(SrsError::TooLong);
        }
        if let Some(srs1) = strip_srs_prefix(local, "SRS1") {
            let (hash, tail) = srs1.split_once('=').ok_or(SrsError::NotSrs)?;
            let (first, rest) = tail.split_once('=').ok_or(SrsError::NotSrs)?;
            if first.is_empty() || rest.len() < 2 {
                return Err(SrsError::NotSrs);
            }
            let expected = self.hash("srs1", first, rest);
            if !constant_time_eq_ci(hash.as_bytes(), expected.as_bytes()) {
                return Err(SrsError::Forged);
            }
            return Ok(format!("SRS0{rest}@{first}"));
        }
        let rest = strip_prefix_ci(local, "SRS0=")
            .or_else(|| strip_prefix_ci(local, "SRS0+"))
            .or_else(|| strip_prefix_ci(local, "SRS0-"))
            .ok_or(SrsError::NotSrs)?;
        let mut parts = rest.splitn(4, '=');
        let (Some(hash), Some(tt), Some(domain), Some(user)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SrsError::NotSrs);
        };
        if tt.len() != 2 || domain.is_empty() || user.is_empty() {
            return Err(SrsError::NotSrs);
        }
        let expected = self.hash(&tt.to_ascii_lowercase(), domain, user);
        if !constant_time_eq_ci(hash.as_bytes(), expected.as_bytes()) {
            return Err(SrsError::Forged);
        }
        let age = age_days(tt, now).ok_or(SrsError::NotSrs)?;
        if age > MAX_AGE_DAYS {
            return Err(SrsError::Expired);
        }
        Ok(format!("{user}@{domain}"))
    }

    fn hash(&self, tt: &str, domain: &str, local: &str) -> String {
        let mut msg = Vec::new();
        for part in [tt, domain, local] {
            msg.extend_from_slice(part.to_ascii_lowercase().as_bytes());
            msg.push(0);
        }
        let mac = hmac_sha256(&self.secret, &msg);
        base32_40(&mac[..5])
    }
}

/// Received plus Delivered-To fields in a message's header section (the
/// first [`MAX_HEADER`] octets at most), and whether one of the
/// Delivered-To fields names `address` (case-insensitive).
pub fn hops(message: &[u8], address: &str) -> (usize, bool) {
    let head = &message[..message.len().min(MAX_HEADER)];
    let mut count = 0;
    let mut delivered_to_us = false;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        if name.eq_ignore_ascii_case(b"received") {
            count += 1;
        } else if name.eq_ignore_ascii_case(b"delivered-to") {
            count += 1;
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            delivered_to_us |= value.trim().eq_ignore_ascii_case(address);
        }
    }
    (count, delivered_to_us)
}

/// Whether a message may be forwarded for `address`: `Err` with the reply
/// when it loops (`554 5.4.6`).
pub fn check_loop(message: &[u8], address: &str) -> Result<(), Reply> {
    let looped = |text: &str| Err(Reply::new(554, Enhanced(5, 4, 6), text));
    match hops(message, address) {
        (_, true) => looped("Mail loop: already delivered to this address"),
        (n, _) if n > MAX_HOPS => looped("Mail loop: too many hops"),
        _ => Ok(()),
    }
}

fn timestamp(now: i64) -> String {
    let day = now.div_euclid(86_400).rem_euclid(1024) as usize;
    let chars = [BASE32[day >> 5], BASE32[day & 31]];
    String::from_utf8_lossy(&chars).into_owned()
}

/// Days between the stamp and `now` (the stamp wraps every 1024 days).
fn age_days(tt: &str, now: i64) -> Option<i64> {
    let value = |c: u8| BASE32.iter().position(|&b| b == c.to_ascii_lowercase());
    let b = tt.as_bytes();
    let stamp = (value(b[0])? << 5 | value(b[1])?) as i64;
    let today = now.div_euclid(86_400).rem_euclid(1024);
    Some((today - stamp).rem_euclid(1024))
}

/// The part after `SRS0=`/`SRS1=` (or `+`, `-` as separator), any case.
fn strip_srs_prefix<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    ["=", "+", "-"]
        .iter()
        .find_map(|sep| strip_prefix_ci(local, &format!("{tag}{sep}")))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn constant_time_eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0u8, |acc, (x, y)| acc | (x.to_ascii_lowercase() ^ y))
            == 0
}

/// 40 bits as eight base32 characters.
fn base32_40(bytes: &[u8]) -> String {
    let mut v: u64 = 0;
    for &b in bytes {
        v = v << 8 | b as u64;
    }
    (0..8)
        .rev()
        .map(|i| BASE32[((v >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let pad = |b: u8| block.map(|k| k ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_342_400; // 2026-12-03
    const DAY: i64 = 86_400;

    fn srs() -> Srs {
        Srs::new([7u8; 32])
    }

    #[test]
    fn hmac_matches_rfc_4231_case_1() {
        // RFC 4231 test case 1 uses a 20-byte key; padded with zeros to
        // 32 bytes it is the same HMAC key (keys are zero-padded to 64).
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn forward_then_reverse() {
        let s = srs();
        let a = s
            .forward("alice@origin.example", "example.org", NOW)
            .unwrap();
        assert!(
            a.starts_with("SRS0=") && a.ends_with("=origin.example=alice@example.org"),
            "{a}"
        );
        let local = a.rsplit_once('@').unwrap().0;
        assert_eq!(s.reverse(local, NOW).unwrap(), "alice@origin.example");
        // Next hops may change case.
        assert_eq!(
            s.reverse(&local.to_ascii_uppercase(), NOW + 3 * DAY)
                .unwrap(),
            "ALICE@ORIGIN.EXAMPLE"
        );
        assert_eq!(s.forward("", "example.org", NOW).unwrap(), "");
    }

    #[test]
    fn forged_expired_and_malformed_are_refused() {
        let s = srs();
        let a = s
            .forward("alice@origin.example", "example.org", NOW)
            .unwrap();
        let local = a.rsplit_once('@').unwrap().0;
        let forged = local.replace("=alice", "=mallory");
        assert_eq!(s.reverse(&forged, NOW), Err(SrsError::Forged));
        assert_eq!(
            Srs::new([8u8; 32]).reverse(local, NOW),
            Err(SrsError::Forged)
        );
        assert_eq!(s.reverse(local, NOW + 22 * DAY), Err(SrsError::Expired));
        assert_eq!(
            s.reverse(local, NOW + 21 * DAY).unwrap(),
            "alice@origin.example"
        );
        for bad in [
            "alice",
            "SRS0=",
            "SRS0=abc",
            "SRS0=h=t=d=",
            "SRS0=h=ttt=d=u",
        ] {
            assert_eq!(s.reverse(bad, NOW), Err(SrsError::NotSrs), "{bad}");
        }
        assert!(
            SrsError::Forged
                .reply()
                .to_string()
                .starts_with("550 5.1.1")
        );
        let long = format!("{}@origin.example", "x".repeat(60));
        assert_eq!(s.forward(&long, "example.org", NOW), Err(SrsError::TooLong));
    }

    #[test]
    fn srs_senders_of_other_forwarders_become_srs1() {
        let s = srs();
        let first = Srs::new([9u8; 32])
            .forward("alice@origin.example", "fwd1.example", NOW)
            .unwrap();
        let a = s.forward(&first, "example.org", NOW).unwrap();
        let local = a.rsplit_once('@').unwrap().0;
        let srs0 = first.rsplit_once('@').unwrap().0;
        assert_eq!(
            a,
            format!(
                "SRS1={}=fwd1.example={}@example.org",
                &local[5..13],
                &srs0[4..]
            )
        );
        // A bounce goes back to the first forwarder's SRS0 address.
        assert_eq!(s.reverse(local, NOW).unwrap(), first);
        // Forwarded again: still SRS1 to the first forwarder, our hash.
        let b = Srs::new([3u8; 32])
            .forward(&a, "third.example", NOW)
            .unwrap();
        assert!(
            b.starts_with("SRS1=") && b.contains("=fwd1.example=="),
            "{b}"
        );
        let forged = local.replace("fwd1", "evil");
        assert_eq!(s.reverse(&forged, NOW), Err(SrsError::Forged));
        assert_eq!(s.reverse("SRS1=abc", NOW), Err(SrsError::NotSrs));
    }

    #[test]
    fn hops_and_loops() {
        let msg = b"Received: from a\r\nDelivered-To: other@example.org\r\nReceived: by b\r\n\r\nReceived: in the body\r\n";
        assert_eq!(hops(msg, "fwd@example.org"), (3, false));
        assert!(check_loop(msg, "fwd@example.org").is_ok());
        assert!(
            check_loop(msg, "OTHER@example.org")
                .unwrap_err()
                .to_string()
                .starts_with("554 5.4.6")
        );
        let many = "Received: x\r\n".repeat(MAX_HOPS + 1) + "\r\nbody";
        assert_eq!(
            check_loop(many.as_bytes(), "a@b").unwrap_err().to_string(),
            "554 5.4.6 Mail loop: too many hops"
        );
    }

    #[test]
    fn the_secret_is_made_once_and_private() {
        let d = tempfile::tempdir().unwrap();
        let a = Srs::load_or_create(d.path()).unwrap();
        let b = Srs::load_or_create(d.path()).unwrap();
        assert_eq!(a.secret, b.secret);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("srs.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(d.path().join("srs.key"), b"short").unwrap();
        assert!(Srs::load_or_create(d.path()).is_err());
    }
}
