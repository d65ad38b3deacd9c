//! Access control (RFC 4314): the rights of a mailbox and the commands
//! that read and change them (SETACL, DELETEACL, GETACL, LISTRIGHTS,
//! MYRIGHTS), as typed values. Parsing is in `parser/acl.rs`; what they do
//! is in `session/acl.rs`.
//!
//! Rights are the eleven letters of RFC 4314 2.1 (`lrswipkxtea`), plus the
//! obsolete `c` and `d` of RFC 2086, which RFC 4314 2.1.1 keeps meaningful:
//! sealpost is of the second group it describes, so `c` (create) is a
//! synonym of `k`, and `d` (delete) stands for `x`, `t` and `e` together.
//! A rights string given by a client may carry `c`/`d` and they are
//! expanded; a rights string sent by the server shows `c` when `k` is
//! held and `d` when any of `x`, `t`, `e` is (RFC 4314 2.1.1), so RFC 2086
//! clients see what they expect. An unknown letter (including the digits
//! RFC 4314 leaves to implementations) is a `BAD` (RFC 4314 3.1).

use super::command::MailboxArg;

/// The rights letters in the order they are written, and their bits.
const LETTERS: &[u8; 11] = b"lrswipkxtea";

/// A set of RFC 4314 rights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rights(u16);

impl Rights {
    /// `l`: the mailbox is visible (LIST, and it exists for the grantee).
    pub const LOOKUP: Rights = Rights::bit(b'l');
    /// `r`: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from.
    pub const READ: Rights = Rights::bit(b'r');
    /// `s`: keep `\Seen`.
    pub const SEEN: Rights = Rights::bit(b's');
    /// `w`: flags other than `\Seen` and `\Deleted`.
    pub const WRITE: Rights = Rights::bit(b'w');
    /// `i`: APPEND and COPY/MOVE into.
    pub const INSERT: Rights = Rights::bit(b'i');
    /// `p`: send mail to the mailbox's submission address (unused here).
    pub const POST: Rights = Rights::bit(b'p');
    /// `k`: create child mailboxes.
    pub const CREATE: Rights = Rights::bit(b'k');
    /// `x`: delete the mailbox.
    pub const DELETE_MAILBOX: Rights = Rights::bit(b'x');
    /// `t`: set or clear `\Deleted`.
    pub const DELETE_MESSAGES: Rights = Rights::bit(b't');
    /// `e`: EXPUNGE.
    pub const EXPUNGE: Rights = Rights::bit(b'e');
    /// `a`: administer (SETACL, DELETEACL, GETACL, LISTRIGHTS).
    pub const ADMIN: Rights = Rights::bit(b'a');
    /// Every right: what an owner has on its own mailboxes.
    pub const ALL: Rights = Rights((1 << LETTERS.len()) - 1);
    /// None.
    pub const NONE: Rights = Rights(0);

    const fn bit(letter: u8) -> Rights {
        let mut i = 0;
        while i < LETTERS.len() {
            if LETTERS[i] == letter {
                return Rights(1 << i);
            }
            i += 1;
        }
        panic!("not a right letter");
    }

    /// Parses a rights string (without a `+`/`-` prefix); `Err` with the
    /// first unknown letter.
    pub fn parse(text: &str) -> Result<Rights, char> {
        let mut r = Rights::NONE;
        for ch in text.chars() {
            r = r.union(match ch {
                'c' => Rights::CREATE,
                'd' => Rights::DELETE_MAILBOX
                    .union(Rights::DELETE_MESSAGES)
                    .union(Rights::EXPUNGE),
                _ => match LETTERS.iter().position(|&l| ch == l as char) {
                    Some(i) => Rights(1 << i),
                    None => return Err(ch),
                },
            });
        }
        Ok(r)
    }

    /// From the bits the store keeps (unknown bits are dropped).
    pub fn from_bits(bits: u32) -> Rights {
        Rights((bits & u32::from(Rights::ALL.0)) as u16)
    }

    /// The bits the store keeps.
    pub fn bits(self) -> u32 {
        u32::from(self.0)
    }

    /// Whether every right of `other` is held.
    pub fn has(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any right of `other` is held.
    pub fn any(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }

    /// Both.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// These without `other`.
    pub fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// Whether no right is held.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Rights {
    /// The letters in RFC order, then `c`/`d` for RFC 2086 clients.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, &l) in LETTERS.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                write!(f, "{}", l as char)?;
            }
        }
        if self.has(Rights::CREATE) {
            f.write_str("c")?;
        }
        if self.any(
            Rights::DELETE_MAILBOX
                .union(Rights::DELETE_MESSAGES)
                .union(Rights::EXPUNGE),
        ) {
            f.write_str("d")?;
        }
        Ok(())
    }
}

/// How SETACL changes an identifier's rights (RFC 4314 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsChange {
    /// No prefix: exactly these.
    Replace,
    /// `+`: these as well.
    Add,
    /// `-`: not these.
    Remove,
}

/// Longest identifier accepted (an address: 64 + 1 + 255).
pub const MAX_IDENTIFIER: usize = 320;

/// An ACL command (RFC 4314 3.1-3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCommand {
    /// `SETACL mailbox identifier mod-rights`.
    Set {
        /// The mailbox.
        mailbox: MailboxArg,
        /// Whose rights.
        identifier: String,
        /// Replace, add or remove.
        change: RightsChange,
        /// The rights.
        rights: Rights,
    },
    /// `DELETEACL mailbox identifier`.
    Delete {
        /// The mailbox.
        mailbox: MailboxArg,
        /// Whose rights.
        identifier: String,
    },
    /// `GETACL mailbox`.
    Get(MailboxArg),
    /// `LISTRIGHTS mailbox identifier`.
    ListRights {
        /// The mailbox.
        mailbox: MailboxArg,
        /// Whose rights.
        identifier: String,
    },
    /// `MYRIGHTS mailbox`.
    MyRights(MailboxArg),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_parse_and_print_with_obsolete_letters() {
        assert_eq!(Rights::parse("lr").unwrap().to_string(), "lr");
        assert_eq!(Rights::ALL.to_string(), "lrswipkxteacd");
        // c is k, d is x t e (RFC 4314 2.1.1, second group).
        assert_eq!(Rights::parse("c").unwrap(), Rights::CREATE);
        assert_eq!(Rights::parse("d").unwrap().to_string(), "xted");
        assert_eq!(Rights::parse("lrswipkxtecda").unwrap(), Rights::ALL);
        assert_eq!(Rights::parse("t").unwrap().to_string(), "td");
        assert_eq!(Rights::parse("lrz"), Err('z'));
        assert_eq!(Rights::parse("0"), Err('0'));
        assert_eq!(Rights::parse("").unwrap(), Rights::NONE);
        assert_eq!(Rights::from_bits(u32::MAX), Rights::ALL);
    }

    #[test]
    fn bits_mean_what_the_store_says_they_mean() {
        // The store's rows keep these bits (sealpost_store::ACL_LETTERS).
        assert_eq!(LETTERS, sealpost_store::ACL_LETTERS);
        let r = Rights::parse("lrx").unwrap();
        assert_eq!(sealpost_store::AclRights(r.bits()).letters(), "lrx");
    }
}
