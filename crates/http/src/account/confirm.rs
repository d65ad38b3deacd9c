//! The confirmation of an account's deletion by mail (GDPR art. 17 done
//! deliberately): after the address is typed again and the password
//! checked, a message with a one-time link is delivered to the account's
//! own INBOX, and the deletion happens only when that link is opened and
//! confirmed in a signed-in session of the same account within
//! [`CONFIRM_TTL`]. A stolen session alone cannot delete the account: it
//! takes the password, then the mailbox.
//!
//! The code is 256 random bits; the server keeps its SHA-256 only, one per
//! account (a new request replaces the old), compared in constant time and
//! used once. Memory is bounded by the number of accounts.

use super::session::random_token;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How long a confirmation link works.
pub const CONFIRM_TTL: Duration = Duration::from_secs(30 * 60);

/// Confirmations waiting, by account.
#[derive(Default)]
pub struct Pending {
    table: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

impl Pending {
    /// A new code for `address` (replacing any earlier one).
    pub fn issue(&self, address: &str, now: Instant) -> String {
        let code = random_token();
        let mut table = self.table.lock();
        table.retain(|_, (_, expires)| *expires > now);
        table.insert(
            address.to_string(),
            (Sha256::digest(code.as_bytes()).into(), now + CONFIRM_TTL),
        );
        code
    }

    /// Whether `code` is `address`'s and still good; used up when it is.
    pub fn take(&self, address: &str, code: &str, now: Instant) -> bool {
        let mut table = self.table.lock();
        let Some((digest, expires)) = table.get(address) else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        if *expires <= now {
            table.remove(address);
            return false;
        }
        if bool::from(given.ct_eq(digest)) {
            table.remove(address);
            return true;
        }
        false
    }
}

/// The message that carries the link, as delivered to the account, in
/// the language of the request that asked for it ([`super::text`]).
pub fn message(address: &str, host: &str, code: &str) -> Vec<u8> {
    let t = super::text::t();
    let domain = address.rsplit_once('@').map_or(host, |(_, d)| d);
    let date = chrono::Utc::now().to_rfc2822();
    let minutes = (CONFIRM_TTL.as_secs() / 60).to_string();
    let link = format!("https://{host}/account/delete/confirm?code={code}");
    let body = super::text::fill(
        t.mail_body,
        &[("address", address), ("minutes", &minutes), ("link", &link)],
    );
    format!(
        "From: {} <postmaster@{domain}>\r\n\
         To: <{address}>\r\n\
         Subject: {}\r\n\
         Date: {date}\r\n\
         Message-ID: <{}@{domain}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Language: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}",
        super::text::header_text(t.mail_from_name),
        super::text::header_text(t.mail_subject),
        &random_token()[..22],
        t.code,
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_for_its_account_until_it_expires() {
        let p = Pending::default();
        let t0 = Instant::now();
        let code = p.issue("a@example.org", t0);
        assert!(!p.take("b@example.org", &code, t0), "another account");
        assert!(!p.take("a@example.org", "wrong", t0));
        assert!(p.take("a@example.org", &code, t0));
        assert!(!p.take("a@example.org", &code, t0), "used once");
        let late = p.issue("a@example.org", t0);
        assert!(!p.take("a@example.org", &late, t0 + CONFIRM_TTL), "expired");
        let first = p.issue("a@example.org", t0);
        let second = p.issue("a@example.org", t0);
        assert!(!p.take("a@example.org", &first, t0), "replaced");
        assert!(p.take("a@example.org", &second, t0));
        let m = String::from_utf8(message("a@example.org", "mail.example.org", &second)).unwrap();
        assert!(m.contains(&format!(
            "https://mail.example.org/account/delete/confirm?code={second}"
        )));
    }
}
