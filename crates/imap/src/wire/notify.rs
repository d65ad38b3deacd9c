//! NOTIFY (RFC 5465) as typed values: which mailboxes (a [`Filter`]) send
//! which events ([`Events`]). Parsing is in `parser/notify.rs`; what the
//! session does with it is in `session/notify.rs`.
//!
//! ```text
//! notify          = "NOTIFY" SP (notify-set / "NONE")
//! notify-set      = "SET" [SP "(" "STATUS" ")"] SP event-group *(SP event-group)
//!                   (the parentheses of STATUS and of events may be left out)
//! event-group     = "(" filter-mailboxes SP events ")"
//! filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal"
//!                 / "subscribed" / "subtree" SP one-or-more-mailbox
//!                 / "subtree-one" SP one-or-more-mailbox
//!                 / "mailboxes" SP one-or-more-mailbox
//! events          = "(" event *(SP event) ")" / "NONE"
//! event           = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]
//!                 / "MessageExpunge" / "FlagChange" / "AnnotationChange"
//!                 / "MailboxName" / "SubscriptionChange"
//!                 / "MailboxMetadataChange" / "ServerMetadataChange" / atom
//! ```

use super::command::{FetchAtt, MailboxArg};

/// Most event groups one NOTIFY SET may hold.
pub const MAX_GROUPS: usize = 16;
/// Most mailbox names in all the groups of one NOTIFY SET together.
pub const MAX_MAILBOXES: usize = 100;
/// Most FETCH items of MessageNew.
pub const MAX_FETCH_ATTS: usize = 32;

/// The events sealpost sends, named as in `[BADEVENT (...)]`.
pub const SUPPORTED: &str = "MessageNew MessageExpunge FlagChange MailboxName \
                             SubscriptionChange MailboxMetadataChange ServerMetadataChange";

/// NOTIFY's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyCommand {
    /// `NOTIFY NONE`: no unsolicited responses but those of the base spec.
    None,
    /// `NOTIFY SET`.
    Set {
        /// `(STATUS)`: a STATUS of every watched mailbox at once.
        status: bool,
        /// The groups, in order (a mailbox takes the first that names it).
        groups: Vec<EventGroup>,
    },
}

/// One `(filter events)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroup {
    /// Which mailboxes.
    pub filter: Filter,
    /// Which events (`NONE`: none).
    pub events: Events,
}

/// The mailboxes of an event group (RFC 5465 6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The selected mailbox; events are sent as they happen.
    Selected,
    /// The selected mailbox; expunges wait until they may be sent.
    SelectedDelayed,
    /// Mailboxes that receive new mail (INBOX here).
    Inboxes,
    /// The personal namespace.
    Personal,
    /// Subscribed mailboxes.
    Subscribed,
    /// These mailboxes and everything under them.
    Subtree(Vec<MailboxArg>),
    /// These mailboxes and their children.
    SubtreeOne(Vec<MailboxArg>),
    /// These mailboxes.
    Mailboxes(Vec<MailboxArg>),
}

impl Filter {
    /// Whether the filter names the selected mailbox.
    pub fn is_selected(&self) -> bool {
        matches!(self, Filter::Selected | Filter::SelectedDelayed)
    }
}

/// The events of an event group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// MessageNew, with the FETCH items to send (selected mailbox only).
    pub message_new: Option<Vec<FetchAtt>>,
    /// MessageExpunge.
    pub message_expunge: bool,
    /// FlagChange.
    pub flag_change: bool,
    /// MailboxName: created, deleted, renamed.
    pub mailbox_name: bool,
    /// SubscriptionChange.
    pub subscription_change: bool,
    /// MailboxMetadataChange (RFC 5464 with RFC 5465).
    pub mailbox_metadata: bool,
    /// ServerMetadataChange (RFC 5464 with RFC 5465).
    pub server_metadata: bool,
    /// Events sealpost does not send (answered `NO [BADEVENT]`).
    pub unsupported: Vec<String>,
}

impl Events {
    /// Whether no event is asked for.
    pub fn is_empty(&self) -> bool {
        self.message_new.is_none()
            && !self.message_expunge
            && !self.flag_change
            && !self.mailbox_name
            && !self.subscription_change
            && !self.mailbox_metadata
            && !self.server_metadata
            && self.unsupported.is_empty()
    }
}
