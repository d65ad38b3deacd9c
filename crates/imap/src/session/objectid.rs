//! OBJECTID (RFC 8474): MAILBOXID (section 4: in CREATE's tagged OK, in
//! an untagged OK on SELECT/EXAMINE, as a STATUS item), EMAILID and
//! THREADID (section 5: FETCH items; section 6: SEARCH keys).
//!
//! Every id is a keyed digest under [`ObjectKey`], a secret that the
//! store derives from the account's data key at login
//! (`MailStore::object_id`): stable for as long as the account lives,
//! unguessable without that key, and unrelated between accounts, so an id
//! seen by one user says nothing about another's mail (section 8). After
//! the account's key is destroyed no id can be recomputed.
//!
//! - MAILBOXID digests the store's mailbox id, which RENAME keeps and a
//!   new mailbox never reuses, with its UIDVALIDITY, so a mailbox deleted
//!   and created again under the same name gets a new id (section 4).
//! - EMAILID digests what a copy keeps of a message: its summary (parsed
//!   once from the content), internal date and size. MOVE and COPY keep
//!   them, so the id stays the same (section 5.1); messages that differ
//!   in content differ in their summary or size.
//! - THREADID digests the thread's root message-id: the first of
//!   References, else In-Reply-To, else the message's own Message-ID (a
//!   reply and its parent share it); a message with none of them is its
//!   own thread.
//!
//! Ids are a one-letter kind and 32 lowercase hex digits (128 bits), within
//! RFC 8474's `objectid` (1*255 of ALPHA, DIGIT, `_`, `-`).

use crate::message::Summary;
use blake2::digest::Mac;
use sealpost_store::{MailboxId, MessageMeta, UidValidity};
use std::fmt;

/// Domain under which the store derives the key (`MailStore::object_id`).
pub(crate) const KEY_DOMAIN: &[u8] = b"imap-objectid";

/// The account's secret for object ids. Its Debug prints nothing.
#[derive(Clone)]
pub struct ObjectKey([u8; 32]);

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObjectKey(..)")
    }
}

impl ObjectKey {
    /// From the store's derived secret.
    pub fn new(secret: [u8; 32]) -> ObjectKey {
        ObjectKey(secret)
    }

    fn id(&self, kind: char, domain: &[u8], data: &[&[u8]]) -> String {
        use blake2::digest::consts::U16;
        let mut mac = blake2::Blake2bMac::<U16>::new_with_salt_and_personal(&self.0, &[], domain)
            .expect("a 32-byte key and a short domain");
        for d in data {
            mac.update(&(d.len() as u64).to_be_bytes());
            mac.update(d);
        }
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(33);
        out.push(kind);
        for b in digest {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// MAILBOXID of a mailbox.
    pub(crate) fn mailbox(&self, id: MailboxId, uid_validity: UidValidity) -> String {
        self.id(
            'F',
            b"mailbox",
            &[&id.0.to_be_bytes(), &uid_validity.0.to_be_bytes()],
        )
    }

    /// EMAILID of a message.
    pub(crate) fn email(&self, meta: &MessageMeta) -> String {
        self.id(
            'M',
            b"email",
            &[
                &meta.summary,
                &meta.internal_date.to_be_bytes(),
                &meta.size.to_be_bytes(),
            ],
        )
    }

    /// THREADID of a message.
    pub(crate) fn thread(&self, meta: &MessageMeta, summary: &Summary) -> String {
        let root = summary
            .references()
            .into_iter()
            .next()
            .or_else(|| summary.in_reply_to())
            .or_else(|| summary.message_id());
        match root {
            Some(id) => self.id('T', b"thread", &[id.as_bytes()]),
            None => self.id('T', b"thread-self", &[self.email(meta).as_bytes()]),
        }
    }
}

impl super::Session {
    /// MAILBOXID of one of the account's mailboxes (empty before login,
    /// where no mailbox can be named).
    pub(crate) fn mailbox_object_id(&self, id: MailboxId, uid_validity: UidValidity) -> String {
        self.account()
            .map(|a| a.ids.mailbox(id, uid_validity))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_the_key_and_fit_the_grammar() {
        let a = ObjectKey::new([1; 32]);
        let b = ObjectKey::new([2; 32]);
        let m = |k: &ObjectKey| k.mailbox(MailboxId(7), UidValidity(9));
        assert_eq!(m(&a), m(&a));
        assert_ne!(m(&a), m(&b));
        assert_ne!(m(&a), a.mailbox(MailboxId(7), UidValidity(10)));
        let id = m(&a);
        assert_eq!(id.len(), 33);
        assert!(id.starts_with('F'));
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
