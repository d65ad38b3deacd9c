//! App passwords: per-device passwords an account holder can hand to a
//! mail client and revoke alone, without changing the account's password.
//!
//! `sealpost account app-password add ADDRESS --label LABEL` generates one
//! and prints it once; the accounts file keeps only its argon2id hash, with
//! the label and a short id, in the account's table:
//!
//! ```toml
//! app_passwords = [
//!   { id = "k7qm", label = "phone", password = "$argon2id$v=19$..." },
//! ]
//! ```
//!
//! A generated password is six groups of four characters from a 32-letter
//! alphabet without look-alikes (`k7qm-...`, about 119 bits); the first group is
//! its id. A login whose password has that shape and whose first group is
//! one of the account's ids is checked against that app password only;
//! any other password against the account's own. So every login costs
//! exactly one argon2id check, however many app passwords an account has,
//! and an unknown user still costs the same as a wrong password. The id
//! holds about 20 of those bits; the other 99 are the secret.
//!
//! Limits: at most [`MAX_APP_PASSWORDS`] per account, a label at most
//! [`MAX_LABEL_LEN`] characters, printable, unique within the account.

use crate::Secret;
use rand::Rng;

/// Most app passwords one account may have.
pub const MAX_APP_PASSWORDS: usize = 100;
/// Longest label, in characters.
pub const MAX_LABEL_LEN: usize = 64;

/// The letters of generated passwords (31): no 0/o, 1/l/i.
const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS: usize = 6;
const GROUP_LEN: usize = 4;

/// One app password as the file keeps it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AppEntry {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) hash: String,
}

/// Digests of an account's credentials as the accounts file holds them:
/// its password hash and each app password's hash. Whoever keeps a
/// session (the account page) compares them with [`Credentials::ends`] to
/// learn that the password was changed or an app password revoked, here or
/// by another process editing the file (`sealpost account passwd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    password: [u8; 32],
    apps: Vec<[u8; 32]>,
}

impl Credentials {
    pub(crate) fn of<'a>(password: &str, apps: impl Iterator<Item = &'a str>) -> Credentials {
        use sha2::{Digest, Sha256};
        Credentials {
            password: Sha256::digest(password.as_bytes()).into(),
            apps: apps.map(|h| Sha256::digest(h.as_bytes()).into()).collect(),
        }
    }

    /// The digests as bytes (to keep a session across a restart).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.password.to_vec();
        out.extend_from_slice(&(self.apps.len() as u16).to_be_bytes());
        for a in &self.apps {
            out.extend_from_slice(a);
        }
        out
    }

    /// What [`Credentials::to_bytes`] wrote; `None` for anything else.
    pub fn from_bytes(b: &[u8]) -> Option<Credentials> {
        let password: [u8; 32] = b.get(..32)?.try_into().ok()?;
        let n = u16::from_be_bytes(b.get(32..34)?.try_into().ok()?) as usize;
        let rest = b.get(34..)?;
        if rest.len() != n * 32 {
            return None;
        }
        let apps = rest
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 octets"))
            .collect();
        Some(Credentials { password, apps })
    }

    /// Whether going from `self` to `now` ends a session: the password
    /// changed, or an app password was added or revoked. (Any change, not
    /// only a revocation: a session that missed an app password's short
    /// life would otherwise never learn of its revocation.)
    pub fn ends(&self, now: &Credentials) -> bool {
        self != now
    }
}

impl crate::Directory {
    /// What an account's credentials are now ([`Credentials`]); `None` for
    /// an unknown account.
    pub fn credentials(&self, address: &str) -> Option<Credentials> {
        let a = crate::address::normalize(address).ok()?;
        let snapshot = self.snapshot();
        let e = snapshot.accounts.get(&a)?;
        Some(Credentials::of(
            &e.hash,
            e.apps.iter().map(|x| x.hash.as_str()),
        ))
    }
}

/// What `app-password list` shows of one: never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPasswordInfo {
    /// Its id (the first group of the password).
    pub id: String,
    /// What the user called it.
    pub label: String,
}

fn letters() -> &'static [u8] {
    LETTERS
}

/// A new app password, `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`.
pub(crate) fn generate() -> Secret {
    let mut rng = rand::rngs::OsRng;
    let set = letters();
    let mut s = String::with_capacity(GROUPS * (GROUP_LEN + 1));
    for g in 0..GROUPS {
        if g > 0 {
            s.push('-');
        }
        for _ in 0..GROUP_LEN {
            s.push(set[rng.gen_range(0..set.len())] as char);
        }
    }
    Secret::new(s)
}

/// The id of a password shaped like a generated one, else `None`.
pub(crate) fn id_of(password: &str) -> Option<&str> {
    let b = password.as_bytes();
    if b.len() != GROUPS * (GROUP_LEN + 1) - 1 {
        return None;
    }
    let shaped = b.iter().enumerate().all(|(i, c)| {
        if i % (GROUP_LEN + 1) == GROUP_LEN {
            *c == b'-'
        } else {
            letters().contains(c)
        }
    });
    shaped.then(|| &password[..GROUP_LEN])
}

/// Whether `id` could be an id of a generated password.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.len() == GROUP_LEN && id.bytes().all(|c| letters().contains(&c)) {
        Ok(())
    } else {
        Err(format!(
            "an app password id is {GROUP_LEN} characters of a-z and 2-9 (no i, l, o)"
        ))
    }
}

/// Checks a label: not empty, at most [`MAX_LABEL_LEN`] characters, no
/// control characters.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.trim().is_empty() {
        return Err("the app password label is empty".into());
    }
    if label.chars().count() > MAX_LABEL_LEN {
        return Err(format!(
            "the app password label is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if label.chars().any(char::is_control) {
        return Err("the app password label holds a control character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_their_shape_and_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.expose(), b.expose());
        for p in [&a, &b] {
            let id = id_of(p.expose()).expect("shaped");
            assert_eq!(id, &p.expose()[..4]);
            check_id(id).unwrap();
            assert!(!p.expose().contains(['0', '1', 'i', 'l', 'o', '_']));
        }
    }

    #[test]
    fn other_passwords_have_no_id() {
        for p in [
            "",
            "correct horse battery staple",
            "abcd-efgh-jkmn-pqrs-tuvw-xyz2-",
            "abcd-efgh-jkmn-pqrs-tuvw",
            "abcd-efgh-jkmn-pqrs-tuvw-xyz0",
            "ABCD-efgh-jkmn-pqrs-tuvw-xyz2",
            "abcdxefgh-jkmn-pqrs-tuvw-xyz2",
            "abcd-efgh-jkmn-pqrs-tuvw-xy_2",
        ] {
            assert_eq!(id_of(p), None, "{p}");
        }
        assert_eq!(id_of("abcd-efgh-jkmn-pqrs-tuvw-xyz2"), Some("abcd"));
    }

    #[test]
    fn labels_are_bounded() {
        check_label("phone").unwrap();
        check_label("Telefon von Jürgen").unwrap();
        assert!(check_label("").is_err());
        assert!(check_label("  ").is_err());
        assert!(check_label("a\nb").is_err());
        assert!(check_label(&"x".repeat(MAX_LABEL_LEN + 1)).is_err());
        check_label(&"x".repeat(MAX_LABEL_LEN)).unwrap();
    }

    #[test]
    fn credentials_end_a_session_on_any_change() {
        let before = Credentials::of("h1", ["a1", "a2"].into_iter());
        assert!(!before.ends(&Credentials::of("h1", ["a1", "a2"].into_iter())));
        assert!(before.ends(&Credentials::of("h1", ["a1", "a2", "a3"].into_iter())));
        assert!(before.ends(&Credentials::of("h2", ["a1", "a2"].into_iter())));
        assert!(before.ends(&Credentials::of("h1", ["a2"].into_iter())));
        let bytes = before.to_bytes();
        assert_eq!(Credentials::from_bytes(&bytes), Some(before));
        assert_eq!(Credentials::from_bytes(&bytes[..bytes.len() - 1]), None);
    }
}
