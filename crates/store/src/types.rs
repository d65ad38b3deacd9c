//! The store's vocabulary: identifiers, flags, mailbox names and the records
//! the protocols read. Names follow IMAP (RFC 9051) because it is the richest
//! client of the store, but nothing here is IMAP wire syntax.

use std::fmt;

/// An account's internal id. Never reused: a re-created address gets a new id
/// and so starts empty, whatever was left of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u64);

/// A mailbox's internal id, unique within the store and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxId(pub u64);

/// A message's UID within its mailbox (RFC 9051 2.3.1.1): strictly ascending, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub u32);

/// UIDVALIDITY of a mailbox: changes only when a mailbox of the same name is re-created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UidValidity(pub u32);

/// A modification sequence (RFC 7162): every change to a mailbox gets a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ModSeq(pub u64);

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Special-use attributes (RFC 6154) of the mailboxes created with every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    /// `\Sent`.
    Sent,
    /// `\Drafts`.
    Drafts,
    /// `\Trash`.
    Trash,
    /// `\Junk`.
    Junk,
    /// `\Archive`.
    Archive,
}

impl SpecialUse {
    /// Every special use, in the order the default mailboxes are created.
    pub const ALL: [SpecialUse; 5] = [
        SpecialUse::Sent,
        SpecialUse::Drafts,
        SpecialUse::Trash,
        SpecialUse::Junk,
        SpecialUse::Archive,
    ];

    /// The name of the mailbox created for it with every account.
    pub fn default_name(self) -> &'static str {
        match self {
            SpecialUse::Sent => "Sent",
            SpecialUse::Drafts => "Drafts",
            SpecialUse::Trash => "Trash",
            SpecialUse::Junk => "Junk",
            SpecialUse::Archive => "Archive",
        }
    }

    /// The RFC 6154 attribute, e.g. `\Sent`.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Archive => "\\Archive",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            SpecialUse::Sent => 1,
            SpecialUse::Drafts => 2,
            SpecialUse::Trash => 3,
            SpecialUse::Junk => 4,
            SpecialUse::Archive => 5,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<SpecialUse> {
        Some(match c {
            1 => SpecialUse::Sent,
            2 => SpecialUse::Drafts,
            3 => SpecialUse::Trash,
            4 => SpecialUse::Junk,
            5 => SpecialUse::Archive,
            _ => return None,
        })
    }
}

/// The hierarchy separator of mailbox names.
pub const SEPARATOR: char = '/';
/// Longest mailbox name in bytes.
pub const MAX_MAILBOX_NAME: usize = 1024;
/// Deepest mailbox hierarchy.
pub const MAX_MAILBOX_DEPTH: usize = 32;

/// A validated mailbox name (UTF-8, `/`-separated). It is only ever a key in
/// the store, never a path: the checks here are about sanity, not safety.
///
/// Refused: empty names, empty components (leading, trailing or doubled `/`),
/// `.` and `..` components, control characters (NUL included), names over
/// [`MAX_MAILBOX_NAME`] bytes or deeper than [`MAX_MAILBOX_DEPTH`] levels.
/// `INBOX` in any case is normalized to `INBOX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName(String);

/// Why a mailbox name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMailboxName {
    /// The name is empty or has an empty component.
    #[error("mailbox name has an empty part")]
    Empty,
    /// A component is `.` or `..`.
    #[error("mailbox name has a `.` or `..` part")]
    DotComponent,
    /// A control character, NUL included.
    #[error("mailbox name contains a control character")]
    ControlCharacter,
    /// Too long.
    #[error("mailbox name is longer than {MAX_MAILBOX_NAME} bytes")]
    TooLong,
    /// Too deep.
    #[error("mailbox name is deeper than {MAX_MAILBOX_DEPTH} levels")]
    TooDeep,
}

impl MailboxName {
    /// Validates and normalizes a name.
    pub fn new(name: &str) -> Result<MailboxName, InvalidMailboxName> {
        if name.len() > MAX_MAILBOX_NAME {
            return Err(InvalidMailboxName::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidMailboxName::ControlCharacter);
        }
        let mut depth = 0;
        for part in name.split(SEPARATOR) {
            depth += 1;
            if depth > MAX_MAILBOX_DEPTH {
                return Err(InvalidMailboxName::TooDeep);
            }
            if part.is_empty() {
                return Err(InvalidMailboxName::Empty);
            }
            if part == "." || part == ".." {
                return Err(InvalidMailboxName::DotComponent);
            }
        }
        let normalized = match name.split_once(SEPARATOR) {
            Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") => format!("INBOX/{rest}"),
            None if name.eq_ignore_ascii_case("INBOX") => "INBOX".to_string(),
            _ => name.to_string(),
        };
        Ok(MailboxName(normalized))
    }

    /// The INBOX.
    pub fn inbox() -> MailboxName {
        MailboxName("INBOX".to_string())
    }

    /// Whether this is the INBOX itself.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent's name, if any.
    pub fn parent(&self) -> Option<MailboxName> {
        self.0
            .rsplit_once(SEPARATOR)
            .map(|(p, _)| MailboxName(p.to_string()))
    }

    /// Whether `self` is a strict descendant of `ancestor`.
    pub fn is_descendant_of(&self, ancestor: &MailboxName) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(&ancestor.0)
            && self.0.as_bytes()[ancestor.0.len()] == SEPARATOR as u8
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Message flags: the five system flags as bits plus keywords.
///
/// `\Recent` is not stored: it is a session property (RFC 3501), handed out
/// by [`crate::Store::claim_recent`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Flags {
    /// System flags, a combination of the `Flags::SEEN`.. constants.
    pub system: u8,
    /// Keywords (e.g. `$Forwarded`, `$Junk`), without duplicates, case as first given.
    pub keywords: Vec<String>,
}

impl Flags {
    /// `\Seen`.
    pub const SEEN: u8 = 1;
    /// `\Answered`.
    pub const ANSWERED: u8 = 2;
    /// `\Flagged`.
    pub const FLAGGED: u8 = 4;
    /// `\Deleted`.
    pub const DELETED: u8 = 8;
    /// `\Draft`.
    pub const DRAFT: u8 = 16;

    /// No flags.
    pub fn empty() -> Flags {
        Flags::default()
    }

    /// Flags with just these system bits.
    pub fn system(bits: u8) -> Flags {
        Flags {
            system: bits,
            keywords: Vec::new(),
        }
    }

    /// Whether a system flag is set.
    pub fn has(&self, bit: u8) -> bool {
        self.system & bit != 0
    }

    /// Whether a keyword is set (keywords compare case-insensitively).
    pub fn has_keyword(&self, kw: &str) -> bool {
        self.keywords.iter().any(|k| k.eq_ignore_ascii_case(kw))
    }

    /// Applies an update.
    pub fn apply(&mut self, op: FlagOp, other: &Flags) {
        match op {
            FlagOp::Replace => *self = other.clone(),
            FlagOp::Add => {
                self.system |= other.system;
                for k in &other.keywords {
                    if !self.has_keyword(k) {
                        self.keywords.push(k.clone());
                    }
                }
            }
            FlagOp::Remove => {
                self.system &= !other.system;
                self.keywords
                    .retain(|k| !other.keywords.iter().any(|o| o.eq_ignore_ascii_case(k)));
            }
        }
    }
}

/// How a STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// `+FLAGS`.
    Add,
    /// `-FLAGS`.
    Remove,
    /// `FLAGS`.
    Replace,
}

/// A mailbox as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Internal id.
    pub id: MailboxId,
    /// Its name.
    pub name: MailboxName,
    /// Its special use, if any.
    pub special_use: Option<SpecialUse>,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
}

/// Counters of a mailbox (STATUS, SELECT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Messages in it.
    pub messages: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// Messages with `\Deleted`.
    pub deleted: u32,
    /// The UID the next message will get.
    pub uid_next: Uid,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// HIGHESTMODSEQ.
    pub highest_modseq: ModSeq,
    /// Sum of the messages' sizes in octets.
    pub size: u64,
    /// Messages that the next read-write SELECT would see `\Recent`
    /// (RFC 3501 STATUS RECENT).
    pub recent: u32,
}

/// One message's entry in a mailbox index: what SELECT and FETCH FLAGS need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEntry {
    /// UID.
    pub uid: Uid,
    /// Flags.
    pub flags: Flags,
    /// The modseq of its last change.
    pub modseq: ModSeq,
    /// Size in octets of the stored message.
    pub size: u32,
}

/// The state of a mailbox at one moment: its index in UID order.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The mailbox.
    pub mailbox: MailboxInfo,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ.
    pub highest_modseq: ModSeq,
    /// Every message, ascending by UID (position + 1 = sequence number).
    pub entries: Vec<MessageEntry>,
}

/// Everything the store knows about one message besides its bytes.
#[derive(Debug, Clone)]
pub struct MessageMeta {
    /// UID.
    pub uid: Uid,
    /// Flags.
    pub flags: Flags,
    /// Last change.
    pub modseq: ModSeq,
    /// Size in octets.
    pub size: u32,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// SAVEDATE (RFC 8514), Unix seconds: when it entered this mailbox.
    pub save_date: i64,
    /// The summary made at delivery by the configured [`crate::Summarizer`], decrypted.
    pub summary: Vec<u8>,
}

/// What an append or delivery produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox.
    pub mailbox: MailboxId,
    /// Its UIDVALIDITY (for APPENDUID).
    pub uid_validity: UidValidity,
    /// The new message's UID.
    pub uid: Uid,
    /// The new message's modseq.
    pub modseq: ModSeq,
}

/// The result of a flag change.
#[derive(Debug, Clone, Default)]
pub struct FlagsOutcome {
    /// Messages whose flags were written, with their new flags and modseq.
    pub updated: Vec<MessageEntry>,
    /// UIDs left alone because their modseq was above UNCHANGEDSINCE (RFC 7162 3.1.3).
    pub modified: Vec<Uid>,
}

/// The result of a copy or move.
#[derive(Debug, Clone)]
pub struct CopyOutcome {
    /// UIDVALIDITY of the destination (for COPYUID).
    pub uid_validity: UidValidity,
    /// (source UID, destination UID) pairs in source UID order.
    pub pairs: Vec<(Uid, Uid)>,
}

/// Changes since a modseq (CONDSTORE/QRESYNC resynchronization).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Messages still present whose modseq is above the given one.
    pub changed: Vec<MessageEntry>,
    /// UIDs expunged after the given modseq, ascending.
    pub vanished: Vec<Uid>,
}

/// A change to a mailbox, published to every watcher (IDLE, selected sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxEvent {
    /// A message was added.
    Appended(MessageEntry),
    /// A message's flags changed.
    FlagsChanged(MessageEntry),
    /// Messages were expunged (UIDs ascending) at this modseq.
    Expunged {
        /// The UIDs.
        uids: Vec<Uid>,
        /// The modseq of the expunge.
        modseq: ModSeq,
    },
    /// The mailbox was deleted or renamed away; selected sessions must leave it.
    Gone,
}

/// Storage used by an account, and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Octets of all messages in all mailboxes.
    pub bytes: u64,
    /// Number of messages in all mailboxes.
    pub messages: u64,
    /// The limit in octets, if any.
    pub limit: Option<u64>,
}

/// Life-cycle state of an account in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Usable.
    Active,
    /// Deleted at this Unix time: unreadable, waiting for purge or restore.
    Deleted {
        /// When.
        at: i64,
    },
}

/// An account as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Internal id.
    pub id: AccountId,
    /// Its address, lower case.
    pub address: String,
    /// Active or deleted.
    pub state: AccountState,
    /// Creation time, Unix seconds.
    pub created: i64,
}

/// What a purge removed (for the audit record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Messages removed.
    pub messages: u64,
    /// Blob bytes removed.
    pub bytes: u64,
    /// Mailboxes removed.
    pub mailboxes: u64,
}
