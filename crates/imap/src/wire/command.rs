//! Typed IMAP commands (RFC 9051 section 6, RFC 3501 section 6 and the
//! extensions sealpost implements), as the parser produces them.
//!
//! Mailbox names stay in their wire form ([`MailboxArg`]) here: whether they
//! are modified UTF-7 or UTF-8 depends on the session (ENABLE UTF8=ACCEPT /
//! IMAP4rev2), so the session converts them to `sealpost_store::MailboxName`.

use chrono::NaiveDate;
use sealpost_directory::Secret;
use std::fmt;

/// A command tag (RFC 9051 `tag`): 1-64 ASTRING-CHARs other than `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

/// Longest tag accepted.
pub const MAX_TAG: usize = 64;

impl Tag {
    /// Validates a tag.
    pub fn new(s: &str) -> Option<Tag> {
        if s.is_empty() || s.len() > MAX_TAG || !s.bytes().all(|b| is_astring_char(b) && b != b'+')
        {
            return None;
        }
        Some(Tag(s.to_string()))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 9051 `ATOM-CHAR`.
pub fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 9051 `ASTRING-CHAR` (atom chars plus `]`).
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// A mailbox name as sent (modified UTF-7 or UTF-8, not yet validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxArg(pub String);

/// One end of a sequence range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqBound {
    /// A number.
    Num(u32),
    /// `*`: the largest number in use.
    Star,
}

/// A sequence set (RFC 9051 `sequence-set`): ranges, each inclusive, in either order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqBound, SeqBound)>);

impl SequenceSet {
    /// Whether `n` is in the set, `star` being the value of `*`.
    pub fn contains(&self, n: u32, star: u32) -> bool {
        let v = |b: SeqBound| match b {
            SeqBound::Num(x) => x,
            SeqBound::Star => star,
        };
        self.0.iter().any(|&(a, b)| {
            let (lo, hi) = (v(a).min(v(b)), v(a).max(v(b)));
            n >= lo && n <= hi
        })
    }
}

/// The messages a command names (RFC 9051 `sequence-set`): explicit
/// ranges, or `$`, the result saved by the last `SEARCH RETURN (SAVE)`
/// (RFC 5182 `seq-last-command`, part of IMAP4rev2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSet {
    /// Numbers and ranges.
    Set(SequenceSet),
    /// `$`.
    Saved,
}

/// `CREATE ... (USE (\Sent))` etc. (RFC 6154 section 3) and other options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateOptions {
    /// Requested special-use attributes, as sent (e.g. `\Sent`).
    pub special_use: Vec<String>,
}

/// SELECT/EXAMINE parameters (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectOptions {
    /// `(CONDSTORE)`.
    pub condstore: bool,
    /// `(QRESYNC (uidvalidity modseq [known-uids [seq-match]]))`.
    pub qresync: Option<QresyncParams>,
}

/// The QRESYNC select parameter (RFC 7162 section 3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QresyncParams {
    /// UIDVALIDITY the client knows.
    pub uid_validity: u32,
    /// The last modseq it knows.
    pub modseq: u64,
    /// UIDs it knows, if given.
    pub known_uids: Option<SequenceSet>,
    /// Whether seq-match-data (sequence numbers) was given.
    pub seq_match: bool,
}

/// LIST selection and return options (RFC 5258, RFC 5819, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// `SUBSCRIBED` selection option.
    pub subscribed: bool,
    /// `RECURSIVEMATCH`.
    pub recursive_match: bool,
    /// `SPECIAL-USE` selection option.
    pub special_use: bool,
    /// RETURN (SUBSCRIBED).
    pub return_subscribed: bool,
    /// RETURN (CHILDREN).
    pub return_children: bool,
    /// RETURN (SPECIAL-USE).
    pub return_special_use: bool,
    /// RETURN (STATUS (...)).
    pub return_status: Option<Vec<StatusItem>>,
    /// RETURN (METADATA (...)) (RFC 9590).
    pub return_metadata: Option<ListMetadata>,
    /// Whether the extended syntax was used at all.
    pub extended: bool,
}

/// LIST's METADATA return option (RFC 9590): entries, and MAXSIZE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListMetadata {
    /// Entry names, as sent.
    pub entries: Vec<String>,
    /// Values longer than this are left out (`[METADATA LONGENTRIES]`).
    pub maxsize: Option<u32>,
    /// What below each entry is returned too (RFC 5464 4.2.2).
    pub depth: MetadataDepth,
}

/// A STATUS data item (RFC 9051 6.3.11, RFC 7162, RFC 8438).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    /// MESSAGES.
    Messages,
    /// UIDNEXT.
    UidNext,
    /// UIDVALIDITY.
    UidValidity,
    /// UNSEEN.
    Unseen,
    /// DELETED.
    Deleted,
    /// SIZE (RFC 8438).
    Size,
    /// RECENT (rev1).
    Recent,
    /// HIGHESTMODSEQ (RFC 7162).
    HighestModSeq,
    /// MAILBOXID (RFC 8474).
    MailboxId,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `FLAGS`.
    Replace,
    /// `+FLAGS`.
    Add,
    /// `-FLAGS`.
    Remove,
}

/// A section of a message (RFC 9051 `section`) and its `section-text`:
/// one type, shared with the content logic that extracts it
/// (`crate::message::section`).
pub use crate::message::{SectionSpec as Section, SectionText};

/// A FETCH data item (RFC 9051 6.4.5 and extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAtt {
    /// ENVELOPE.
    Envelope,
    /// FLAGS.
    Flags,
    /// INTERNALDATE.
    InternalDate,
    /// RFC822 (rev1).
    Rfc822,
    /// RFC822.HEADER.
    Rfc822Header,
    /// RFC822.SIZE.
    Rfc822Size,
    /// RFC822.TEXT.
    Rfc822Text,
    /// BODY (non-extensible structure).
    Body,
    /// BODYSTRUCTURE.
    BodyStructure,
    /// UID.
    Uid,
    /// BODY[section]<partial> or BODY.PEEK[...].
    BodySection {
        /// BODY.PEEK: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<offset.count>`.
        partial: Option<(u32, u32)>,
    },
    /// BINARY[part]<partial> or BINARY.PEEK (RFC 3516).
    Binary {
        /// BINARY.PEEK.
        peek: bool,
        /// Part numbers.
        part: Vec<u32>,
        /// `<offset.count>`.
        partial: Option<(u32, u32)>,
    },
    /// BINARY.SIZE[part].
    BinarySize(Vec<u32>),
    /// MODSEQ (RFC 7162).
    ModSeq,
    /// SAVEDATE (RFC 8514).
    SaveDate,
    /// PREVIEW (RFC 8970), LAZY or not.
    Preview,
    /// EMAILID (RFC 8474).
    EmailId,
    /// THREADID (RFC 8474).
    ThreadId,
}

/// FETCH modifiers (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchModifiers {
    /// CHANGEDSINCE.
    pub changed_since: Option<u64>,
    /// VANISHED (UID FETCH only, with QRESYNC).
    pub vanished: bool,
    /// PARTIAL (UID FETCH only, RFC 9394): a page of the messages named.
    pub partial: Option<PartialRange>,
}

/// A date as in SEARCH (`date`).
pub type Date = NaiveDate;

/// A SEARCH key (RFC 9051 6.4.4, RFC 7162, RFC 5032, RFC 8514).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u32),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u32),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    SequenceSet(SequenceSet),
    And(Vec<SearchKey>),
    ModSeq(u64),
    Older(u32),
    Younger(u32),
    SaveDateBefore(Date),
    SaveDateOn(Date),
    SaveDateSince(Date),
    SaveDateSupported,
    /// `$` (or `UID $`): the saved search result (RFC 5182).
    Saved,
    /// EMAILID (RFC 8474 section 6).
    EmailId(String),
    /// THREADID (RFC 8474 section 6).
    ThreadId(String),
}

/// ESEARCH return options (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchReturn {
    /// Whether `RETURN (...)` was given at all (answer with ESEARCH).
    pub extended: bool,
    /// MIN.
    pub min: bool,
    /// MAX.
    pub max: bool,
    /// ALL.
    pub all: bool,
    /// COUNT.
    pub count: bool,
    /// SAVE (RFC 5182): keep the result for `$`.
    pub save: bool,
    /// PARTIAL (RFC 9394): a page of the results.
    pub partial: Option<PartialRange>,
    /// UPDATE (RFC 5267 4.3): keep the result up to date with ADDTO and
    /// REMOVEFROM while the mailbox stays selected.
    pub update: bool,
}

/// A PARTIAL range (RFC 9394 section 4): positions in the ascending list
/// of results, counted from the first (`1:500`) or, negated, from the last
/// (`-1:-500`). The two numbers may come in either order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialRange {
    /// Counted from the last result (`-a:-b`).
    pub from_end: bool,
    /// The first number, as sent (without its minus).
    pub a: u32,
    /// The second number, as sent (without its minus).
    pub b: u32,
}

impl PartialRange {
    /// The page of `items` (ascending) this range names.
    pub fn page<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let (lo, hi) = (self.a.min(self.b) as usize, self.a.max(self.b) as usize);
        let n = items.len();
        let (start, end) = if self.from_end {
            (n.saturating_sub(hi), n.saturating_sub(lo - 1))
        } else {
            ((lo - 1).min(n), hi.min(n))
        };
        &items[start..end]
    }
}

impl std::fmt::Display for PartialRange {
    /// The range as the client sent it (echoed in the ESEARCH response).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = if self.from_end { "-" } else { "" };
        write!(f, "{m}{}:{m}{}", self.a, self.b)
    }
}

/// A SORT key (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

/// One SORT criterion: a key, possibly reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// REVERSE.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A THREAD algorithm (RFC 5256 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// ORDEREDSUBJECT.
    OrderedSubject,
    /// REFERENCES.
    References,
}

/// One message of APPEND, MULTIAPPEND (RFC 3502) or REPLACE (RFC 8508).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Its flags, as sent.
    pub flags: Vec<String>,
    /// Its internal date.
    pub date: Option<i64>,
    /// Its content.
    pub message: Vec<u8>,
}

/// A command's verb and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CommandKind {
    Capability,
    Noop,
    Logout,
    StartTls,
    Login {
        user: String,
        password: Secret,
    },
    Authenticate {
        mechanism: String,
        /// SASL-IR initial response, still base64 (`=` for empty).
        initial: Option<String>,
    },
    Enable(Vec<String>),
    Id(Option<Vec<(String, Option<String>)>>),
    Namespace,
    Select {
        mailbox: MailboxArg,
        options: SelectOptions,
        read_only: bool,
    },
    Create {
        mailbox: MailboxArg,
        options: CreateOptions,
    },
    Delete(MailboxArg),
    Rename {
        from: MailboxArg,
        to: MailboxArg,
    },
    Subscribe(MailboxArg),
    Unsubscribe(MailboxArg),
    List {
        reference: MailboxArg,
        patterns: Vec<MailboxArg>,
        options: ListOptions,
    },
    Lsub {
        reference: MailboxArg,
        pattern: MailboxArg,
    },
    Status {
        mailbox: MailboxArg,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: MailboxArg,
        flags: Vec<String>,
        date: Option<i64>,
        message: Vec<u8>,
    },
    /// APPEND of several messages (RFC 3502), all or none.
    MultiAppend {
        mailbox: MailboxArg,
        messages: Vec<AppendMessage>,
    },
    /// APPEND (or MULTIAPPEND) with CATENATE (RFC 4469); with `replace`
    /// (UID or not, and the message), a REPLACE whose one message is
    /// built so (RFC 8508 4.3).
    Catenate {
        mailbox: MailboxArg,
        messages: Vec<crate::wire::catenate::CatenateMessage>,
        replace: Option<(bool, u32)>,
    },
    /// REPLACE / UID REPLACE (RFC 8508).
    Replace {
        uid: bool,
        target: u32,
        mailbox: MailboxArg,
        message: AppendMessage,
    },
    Idle,
    Check,
    Close,
    Unselect,
    Expunge {
        uids: Option<MessageSet>,
    },
    Search {
        uid: bool,
        ret: SearchReturn,
        key: SearchKey,
    },
    Sort {
        uid: bool,
        /// `RETURN (...)` (ESORT, CONTEXT=SORT: RFC 5267 3, 4): answer
        /// with ESEARCH in sort order.
        ret: Option<SearchReturn>,
        criteria: Vec<SortCriterion>,
        key: SearchKey,
    },
    /// CANCELUPDATE (RFC 5267 4.3.5): the tags of the searches whose
    /// updates stop.
    CancelUpdate(Vec<String>),
    /// GETMETADATA (RFC 5464 4.2); mailbox `""` is the server.
    GetMetadata {
        mailbox: MailboxArg,
        entries: Vec<String>,
        /// Values longer than this are left out (`[METADATA LONGENTRIES]`).
        maxsize: Option<u32>,
        depth: MetadataDepth,
    },
    /// SETMETADATA (RFC 5464 4.3): entries and values, `None` removes.
    SetMetadata {
        mailbox: MailboxArg,
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        key: SearchKey,
    },
    Fetch {
        uid: bool,
        set: MessageSet,
        items: Vec<FetchAtt>,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: MessageSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<String>,
        unchanged_since: Option<u64>,
    },
    Copy {
        uid: bool,
        set: MessageSet,
        mailbox: MailboxArg,
    },
    Move {
        uid: bool,
        set: MessageSet,
        mailbox: MailboxArg,
    },
    /// COMPRESS (RFC 4978), the mechanism upper-cased.
    Compress(String),
    GetQuota(String),
    GetQuotaRoot(MailboxArg),
    /// SETQUOTA (RFC 9208 4.3): the root and its `(resource limit)` pairs.
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },
    /// SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314).
    Acl(crate::wire::acl::AclCommand),
    /// NOTIFY (RFC 5465).
    Notify(crate::wire::notify::NotifyCommand),
}

/// GETMETADATA's DEPTH (RFC 5464 4.2.2): the entry itself, its children
/// too, or everything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataDepth {
    /// `0`.
    #[default]
    Zero,
    /// `1`.
    One,
    /// `infinity`.
    Infinity,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Its tag.
    pub tag: Tag,
    /// What it asks.
    pub kind: CommandKind,
}
