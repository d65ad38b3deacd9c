//! NOTIFY (RFC 5465): which mailboxes tell the client of which changes,
//! unasked, between commands and during IDLE.
//!
//! ```text
//!   NOTIFY SET ──MailboxTree──▶ (STATUS) ──Statuses──▶ `* STATUS` per mailbox ──▶ OK
//!   NOTIFY NONE ──────────────────────────────────────────────────────────────▶ OK
//!
//!   between commands / IDLE:
//!     the account's stream (driver) ──▶ on_account_events ──▶ `* LIST` at once,
//!                                        `* STATUS` after Statuses
//!     the selected mailbox's watch ───▶ on_changes ──Updates──▶ EXISTS/EXPUNGE/FETCH
//!                                        (+ MessageNew's FETCH items, as UID FETCH)
//! ```
//!
//! The driver watches the account's change stream (`Store::watch_account`,
//! bounded) while [`Session::notify_account`] says so, and the streams of
//! the accounts that share mailboxes with the user: their events arrive
//! named `Shared/<owner>/<mailbox>`, only for the granted mailboxes and
//! only while the user may read them (`driver/notify.rs`), which follows
//! grants changed after NOTIFY SET: a mailbox that becomes readable or
//! stops being arrives as `AccountChange::Access`, told as `LIST ()` (and
//! `STATUS` when its messages are watched) or `LIST (\NoAccess)`
//! (RFC 5465 5.9). `personal`
//! covers the user's own mailboxes only (RFC 5465 6.3); `subtree`,
//! `mailboxes` and `subscribed` cover shared ones by name. Other
//! mailboxes' message events become `STATUS` responses, hierarchy events
//! `LIST` responses (RFC 5465 5.4-5.5).
//!
//! The selected mailbox (own or shared) is never told of by STATUS; its
//! events are the session's own EXISTS/EXPUNGE/FETCH responses, numbered
//! in the session's view, so sequence numbers stay consistent (RFC 5465
//! 5.2-5.3). With `selected` or `selected-delayed` they are sent as soon
//! as they happen (`selected-delayed`: expunges wait for a command that
//! may announce them), FlagChange's FETCH with the UID (5.1). Without
//! either group NOTIFY means `SELECTED NONE` (3.1): nothing is pushed for
//! the selected mailbox, not even in IDLE (section 4: IDLE sends exactly
//! NOTIFY's events); the changes come with the next command's responses,
//! as the base protocol says. A stream that overflows ends NOTIFY with
//! `* OK [NOTIFICATIONOVERFLOW]` (RFC 5465 5.8), as `NOTIFY NONE` would.

use super::mailbox::status_line;
use super::sync::AfterSync;
use super::{Done, Flow, Job, Mode, Next, Reply, Request, Session, State, Step, StoreReply};
use super::{StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{FetchAtt, FetchModifiers, MessageSet, SeqBound, SequenceSet};
use crate::wire::command::{StatusItem, Tag};
use crate::wire::notify::{Events, Filter, NotifyCommand, SUPPORTED};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::{AccountChange, AccountEvent, AccountId, MailboxId, MailboxInfo, MailboxName};
use std::collections::{BTreeMap, BTreeSet};

/// The tag a job without a command runs under; never written.
const UNSOLICITED: &str = "NOTIFY";

/// What a NOTIFY SET asked for.
pub(crate) struct Notify {
    groups: Vec<Group>,
    /// Tells one NOTIFY SET from the next (the driver rebuilds its watch
    /// of the shared mailboxes on each).
    generation: u64,
    /// The subscribed names (for `subscribed`), kept current by the stream.
    pub(super) subscriptions: BTreeSet<MailboxName>,
    /// The user's own mailboxes by id, kept current by the stream: what
    /// another node's changes are compared with (`notify_elsewhere.rs`).
    pub(super) tree: BTreeMap<MailboxId, MailboxName>,
}

/// An event group with its names checked.
struct Group {
    kind: Kind,
    events: Events,
}

enum Kind {
    Selected { delayed: bool },
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<MailboxName>),
    SubtreeOne(Vec<MailboxName>),
    Mailboxes(Vec<MailboxName>),
}

impl Notify {
    /// The events of the first non-selected group naming `name`.
    fn events_for(&self, name: &MailboxName) -> Option<&Events> {
        let matches = |g: &&Group| match &g.kind {
            Kind::Selected { .. } => false,
            Kind::Inboxes => name.is_inbox(),
            // The personal namespace (RFC 5465 6.3): not `Shared/`.
            Kind::Personal => !super::acl::in_shared_namespace(name.as_str()),
            Kind::Subscribed => self.subscriptions.contains(name),
            Kind::Subtree(v) => v.iter().any(|n| n == name || name.is_descendant_of(n)),
            Kind::SubtreeOne(v) => v
                .iter()
                .any(|n| n == name || name.parent().as_ref() == Some(n)),
            Kind::Mailboxes(v) => v.contains(name),
        };
        self.groups.iter().find(matches).map(|g| &g.events)
    }

    /// The selected mailbox's group: its events and whether it is delayed.
    fn selected(&self) -> Option<(&Events, bool)> {
        self.groups.iter().find_map(|g| match g.kind {
            Kind::Selected { delayed } if !g.events.is_empty() => Some((&g.events, delayed)),
            _ => None,
        })
    }
}

/// A NOTIFY step waiting for the driver.
pub(crate) enum NotifyJob {
    /// NOTIFY SET waits for the mailboxes and subscriptions.
    Tree { status: bool },
    /// NOTIFY SET (STATUS) waits for the counters.
    SetStatus(Vec<MailboxInfo>),
    /// Unsolicited STATUS responses wait for the counters.
    Status {
        names: Vec<(MailboxId, String)>,
        idle: bool,
    },
    /// Another node changed the hierarchy: the tree to compare with,
    /// then these STATUS responses.
    Elsewhere {
        statuses: Vec<(MailboxId, String)>,
        idle: bool,
    },
    /// MessageNew's FETCH items of the selected mailbox.
    Fetch {
        job: Box<super::fetch::Fetch>,
        idle: bool,
    },
}

/// After the selected mailbox's events were announced unasked.
pub(crate) struct Announced {
    idle: bool,
    /// The highest UID known before.
    before: u32,
}

/// The STATUS items of an unsolicited STATUS.
const ITEMS: &[StatusItem] = &[
    StatusItem::Messages,
    StatusItem::UidNext,
    StatusItem::UidValidity,
    StatusItem::Unseen,
];

impl Session {
    /// The account whose change stream the driver must watch.
    pub fn notify_account(&self) -> Option<AccountId> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) if self.notify.is_some() => Some(a.id),
            _ => None,
        }
    }

    /// The account whose change streams the driver must watch, and which
    /// NOTIFY SET asked for it (the driver rebuilds its watch of the
    /// mailboxes shared with the user on each SET).
    pub fn notify_watch(&self) -> Option<(AccountId, u64)> {
        let generation = self.notify.as_ref()?.generation;
        self.notify_account().map(|a| (a, generation))
    }

    /// Whether the selected mailbox's changes are pushed as they happen
    /// now: with NOTIFY, only if a `selected` or `selected-delayed` group
    /// asks for them; without NOTIFY, during IDLE (RFC 2177). NOTIFY
    /// without such a group is `SELECTED NONE` (RFC 5465 3.1), in IDLE
    /// too (RFC 5465 4: IDLE sends exactly NOTIFY's events): the changes
    /// then come with the next command's responses, as the base protocol
    /// says.
    pub fn selected_live(&self) -> bool {
        match &self.notify {
            Some(_) => self.notify_selected(),
            None => self.idling(),
        }
    }

    /// Whether unsolicited responses may be written now (between commands
    /// or during IDLE).
    pub fn notify_ready(&self) -> bool {
        self.notify.is_some() && matches!(self.mode, Mode::Ready | Mode::Idle { .. })
    }

    /// Whether the selected mailbox's changes are sent as they happen.
    pub fn notify_selected(&self) -> bool {
        self.notify.as_ref().is_some_and(|n| n.selected().is_some())
    }

    /// Whether the selected mailbox's flag changes are sent as they happen
    /// (FlagChange); without it they wait for the next command, as in the
    /// base protocol.
    pub fn notify_selected_flags(&self) -> bool {
        self.notify
            .as_ref()
            .and_then(|n| n.selected())
            .is_some_and(|(e, _)| e.flag_change)
    }

    /// NOTIFY (RFC 5465 3).
    pub(super) fn notify(&mut self, command: NotifyCommand) -> Flow {
        let NotifyCommand::Set { status, groups } = command else {
            self.notify = None;
            return Flow::Done(Done::ok("NOTIFY completed"));
        };
        if groups.iter().any(|g| !g.events.unsupported.is_empty()) {
            return Flow::Done(Err(CmdError::no(
                Some(Code::Notify(format!("BADEVENT ({SUPPORTED})"))),
                "Unsupported NOTIFY event",
            )));
        }
        let checked = groups
            .into_iter()
            .map(|g| {
                let names = |v: Vec<crate::wire::command::MailboxArg>| {
                    v.iter()
                        .map(|m| self.mailbox_name(m))
                        .collect::<CmdResult<Vec<_>>>()
                };
                let kind = match g.filter {
                    Filter::Selected => Kind::Selected { delayed: false },
                    Filter::SelectedDelayed => Kind::Selected { delayed: true },
                    Filter::Inboxes => Kind::Inboxes,
                    Filter::Personal => Kind::Personal,
                    Filter::Subscribed => Kind::Subscribed,
                    Filter::Subtree(v) => Kind::Subtree(names(v)?),
                    Filter::SubtreeOne(v) => Kind::SubtreeOne(names(v)?),
                    Filter::Mailboxes(v) => Kind::Mailboxes(names(v)?),
                };
                Ok(Group {
                    kind,
                    events: g.events,
                })
            })
            .collect::<CmdResult<Vec<_>>>();
        let groups = match checked {
            Ok(g) => g,
            Err(e) => return Flow::Done(Err(e)),
        };
        let account = match self.account() {
            Ok(a) => a.id,
            Err(e) => return Flow::Done(Err(e)),
        };
        // Watching starts now (the driver follows `notify_account`), so
        // nothing falls between the counters below and the first event.
        static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        self.notify = Some(Box::new(Notify {
            groups,
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            subscriptions: BTreeSet::new(),
            tree: BTreeMap::new(),
        }));
        Flow::Need(
            Request::Store(StoreRequest::MailboxTree { account }),
            Job::Notify(NotifyJob::Tree { status }),
        )
    }

    /// The driver's answer to a NOTIFY step.
    pub(super) fn notify_resume(
        &mut self,
        tag: Tag,
        job: NotifyJob,
        reply: Reply,
        out: &mut Out,
    ) -> Step {
        match job {
            NotifyJob::Tree { status } => {
                let flow = self.notify_tree(status, reply);
                self.flow(tag, true, flow, out)
            }
            NotifyJob::SetStatus(infos) => {
                let names = infos_named(self, &infos);
                let result = self
                    .write_statuses(&names, reply, out)
                    .and_then(|()| Done::ok("NOTIFY completed"));
                self.flow(tag, true, Flow::Done(result), out)
            }
            NotifyJob::Status { names, idle } => {
                // A lost counter costs only that STATUS.
                let _ = self.write_statuses(&names, reply, out);
                self.unsolicited_done(tag, idle)
            }
            NotifyJob::Elsewhere { statuses, idle } => {
                self.elsewhere_compared(tag, statuses, idle, reply, out)
            }
            NotifyJob::Fetch { job, idle } => {
                let flow = self.fetch_resume(job, reply, out);
                self.notify_fetch_flow(tag, idle, flow)
            }
        }
    }

    /// The tree arrived: keep the subscriptions, and with `(STATUS)` ask
    /// for the counters of every watched mailbox but the selected one.
    fn notify_tree(&mut self, status: bool, reply: Reply) -> Flow {
        let (infos, subs) = match store_reply(reply) {
            Ok(StoreReply::Tree(infos, subs)) => (infos, subs),
            // NOTIFY is off rather than half on.
            Ok(_) => return self.notify_failed(super::unexpected()),
            Err(e) => return self.notify_failed(e),
        };
        let selected = self.selected_id();
        let Some(n) = self.notify.as_mut() else {
            return Flow::Done(Err(super::unexpected()));
        };
        n.subscriptions = subs.into_iter().collect();
        n.tree = super::notify_elsewhere::own_tree(&infos);
        if !status {
            return Flow::Done(Done::ok("NOTIFY completed"));
        }
        let watched: Vec<MailboxInfo> = infos
            .into_iter()
            .filter(|i| Some(i.id) != selected)
            .filter(|i| n.events_for(&i.name).is_some_and(|e| !e.is_empty()))
            .collect();
        let Ok(account) = self.account() else {
            return Flow::Done(Err(super::unexpected()));
        };
        let mailboxes = watched.iter().map(|i| i.id).collect();
        Flow::Need(
            Request::Store(StoreRequest::Statuses {
                account: account.id,
                mailboxes,
            }),
            Job::Notify(NotifyJob::SetStatus(watched)),
        )
    }

    fn notify_failed(&mut self, e: CmdError) -> Flow {
        self.notify = None;
        Flow::Done(Err(e))
    }

    /// Writes `* STATUS` for each mailbox whose counters came back.
    fn write_statuses(
        &self,
        names: &[(MailboxId, String)],
        reply: Reply,
        out: &mut Out,
    ) -> CmdResult<()> {
        let StoreReply::Statuses(counters) = store_reply(reply)? else {
            return Err(super::unexpected());
        };
        let mut items = ITEMS.to_vec();
        if self.enabled.condstore {
            items.push(StatusItem::HighestModSeq);
        }
        for (id, st) in counters {
            if let (Some(st), Some((_, name))) = (st, names.iter().find(|(i, _)| *i == id)) {
                out.untagged(&status_line(name, &st, &items, ""));
            }
        }
        Ok(())
    }

    /// The selected mailbox (the user's own or a shared one: mailbox ids
    /// are unique across accounts). Its message events never come as
    /// STATUS (RFC 5465 5.2-5.3): only as the session's own responses.
    pub(super) fn selected_id(&self) -> Option<MailboxId> {
        match &self.state {
            State::Selected(_, sel) => Some(sel.info.id),
            _ => None,
        }
    }

    /// Events of the account's other mailboxes arrived (the driver calls
    /// this only when [`Session::notify_ready`]); `lagged`: some were lost.
    pub fn on_account_events(
        &mut self,
        events: Vec<AccountEvent>,
        lagged: bool,
        out: &mut Out,
    ) -> Step {
        if lagged {
            self.notify = None;
            out.status(
                None,
                Status::Ok,
                Some(Code::Notify("NOTIFICATIONOVERFLOW".into())),
                "Too many changes at once; NOTIFY is off",
            );
            return Step::Done(Next::Continue);
        }
        let selected = self.selected_id();
        let mut statuses: Vec<(MailboxId, String)> = Vec::new();
        let mut elsewhere = false;
        for e in events {
            elsewhere |= e.change == AccountChange::Elsewhere;
            if let Some(line) = self.account_event(&e, selected, &mut statuses) {
                out.untagged(&line);
            }
        }
        let Ok(account) = self.account() else {
            return Step::Done(Next::Continue);
        };
        if elsewhere {
            return self.compare_elsewhere(account.id, statuses);
        }
        if statuses.is_empty() {
            return Step::Done(Next::Continue);
        }
        self.unsolicited_statuses(statuses)
    }

    /// Asks for the counters of the mailboxes in `statuses`, to be
    /// written unasked.
    pub(super) fn unsolicited_statuses(&mut self, statuses: Vec<(MailboxId, String)>) -> Step {
        let Ok(account) = self.account() else {
            return Step::Done(Next::Continue);
        };
        let (tag, idle) = self.unsolicited_tag();
        let request = StoreRequest::Statuses {
            account: account.id,
            mailboxes: statuses.iter().map(|(id, _)| *id).collect(),
        };
        let job = Job::Notify(NotifyJob::Status {
            names: statuses,
            idle,
        });
        self.wait(tag, true, job, Request::Store(request))
    }

    /// One event: a LIST line to write now, or a STATUS to ask for.
    pub(super) fn account_event(
        &mut self,
        e: &AccountEvent,
        selected: Option<MailboxId>,
        statuses: &mut Vec<(MailboxId, String)>,
    ) -> Option<String> {
        // `subscribed` covers a name from its subscription through its
        // unsubscription, both told.
        let n = self.notify.as_mut()?;
        if e.change == AccountChange::Subscribed(true) {
            n.subscriptions.insert(e.name.clone());
        }
        n.follow_tree(e);
        let line = self.account_event_line(e, selected, statuses);
        if e.change == AccountChange::Subscribed(false)
            && let Some(n) = self.notify.as_mut()
        {
            n.subscriptions.remove(&e.name);
        }
        line
    }

    fn account_event_line(
        &self,
        e: &AccountEvent,
        selected: Option<MailboxId>,
        statuses: &mut Vec<(MailboxId, String)>,
    ) -> Option<String> {
        let n = self.notify.as_ref()?;
        if let AccountChange::ServerMetadata(entries) = &e.change {
            // Not a mailbox's: any group that asks for it.
            let wanted = n.groups.iter().any(|g| g.events.server_metadata);
            return wanted.then(|| format!("METADATA \"\" {}", entry_list(entries)));
        }
        let events = match &e.change {
            AccountChange::Renamed { from } => n.events_for(&e.name).or(n.events_for(from)),
            _ => n.events_for(&e.name),
        }?;
        let wire = self.wire_name(e.name.as_str());
        let message = match e.change {
            AccountChange::MessageNew => events.message_new.is_some(),
            AccountChange::MessageExpunge => events.message_expunge,
            AccountChange::FlagChange => events.flag_change,
            _ => false,
        };
        if message {
            if let Some(id) = e.mailbox.filter(|id| Some(*id) != selected)
                && !statuses.iter().any(|(i, _)| *i == id)
            {
                statuses.push((id, wire));
            }
            return None;
        }
        match &e.change {
            // A shared mailbox became readable or stopped being (RFC 5465
            // 5.9): its events start or stop; the client hears the new
            // state as LIST, and the counters to go on from as STATUS
            // when it watches the mailbox's messages.
            AccountChange::Access { .. } if events.is_empty() => None,
            AccountChange::Access {
                readable: false, ..
            } => Some(format!("LIST (\\NoAccess) \"/\" {wire}")),
            AccountChange::Access { readable: true, .. } => {
                let counts =
                    events.message_new.is_some() || events.message_expunge || events.flag_change;
                if let Some(id) = e.mailbox.filter(|id| Some(*id) != selected)
                    && counts
                    && !statuses.iter().any(|(i, _)| *i == id)
                {
                    statuses.push((id, wire.clone()));
                }
                Some(format!("LIST () \"/\" {wire}"))
            }
            AccountChange::Created if events.mailbox_name => Some(format!("LIST () \"/\" {wire}")),
            AccountChange::Deleted if events.mailbox_name => {
                Some(format!("LIST (\\NonExistent) \"/\" {wire}"))
            }
            AccountChange::Renamed { from } if events.mailbox_name => Some(format!(
                "LIST () \"/\" {wire} (\"OLDNAME\" ({}))",
                self.wire_name(from.as_str())
            )),
            AccountChange::MailboxMetadata(entries) if events.mailbox_metadata => {
                Some(format!("METADATA {wire} {}", entry_list(entries)))
            }
            AccountChange::Subscribed(on) if events.subscription_change => {
                let attr = if *on { "\\Subscribed" } else { "" };
                Some(format!("LIST ({attr}) \"/\" {wire}"))
            }
            _ => None,
        }
    }

    /// The tag an unsolicited job runs under, and whether it interrupts IDLE.
    pub(super) fn unsolicited_tag(&mut self) -> (Tag, bool) {
        match std::mem::replace(&mut self.mode, Mode::Ready) {
            Mode::Idle { tag } => (tag, true),
            other => {
                self.mode = other;
                (
                    Tag::new(UNSOLICITED).unwrap_or_else(|| unreachable!()),
                    false,
                )
            }
        }
    }

    /// An unsolicited job is over: back to IDLE or to the next command.
    pub(super) fn unsolicited_done(&mut self, tag: Tag, idle: bool) -> Step {
        self.mode = if idle {
            Mode::Idle { tag }
        } else {
            Mode::Ready
        };
        Step::Done(Next::Continue)
    }

    /// The selected mailbox changed (in IDLE, or between commands when
    /// NOTIFY names it): announce the changes.
    pub(super) fn selected_changes(&mut self) -> Step {
        if !self.selected_live() {
            return Step::Done(Next::Continue);
        }
        let delayed = self
            .notify
            .as_ref()
            .and_then(|n| n.selected())
            .is_some_and(|(_, delayed)| delayed);
        let before = match &self.state {
            State::Selected(_, sel) => sel.uids.last().map_or(0, |u| u.0),
            _ => return Step::Done(Next::Continue),
        };
        let (tag, idle) = self.unsolicited_tag();
        let after = AfterSync::Notified(Announced { idle, before });
        self.wait(tag, idle || !delayed, Job::Sync(after), Request::Updates)
    }

    /// The selected mailbox's changes were announced: MessageNew's FETCH
    /// items for the new messages (RFC 5465 5.2), then back.
    pub(super) fn announced(&mut self, tag: Tag, a: Announced) -> Step {
        let atts: Vec<FetchAtt> = match self.notify.as_ref().and_then(|n| n.selected()) {
            Some((e, _)) => e.message_new.clone().unwrap_or_default(),
            None => Vec::new(),
        };
        let last = match &self.state {
            State::Selected(_, sel) => sel.uids.last().map_or(0, |u| u.0),
            _ => 0,
        };
        if atts.is_empty() || last <= a.before {
            return self.unsolicited_done(tag, a.idle);
        }
        let set = MessageSet::Set(SequenceSet(vec![(
            SeqBound::Num(a.before + 1),
            SeqBound::Num(last),
        )]));
        let flow = self.fetch(true, set, atts, FetchModifiers::default());
        self.notify_fetch_flow(tag, a.idle, flow)
    }

    fn notify_fetch_flow(&mut self, tag: Tag, idle: bool, flow: Flow) -> Step {
        match flow {
            Flow::Need(request, Job::Fetch(job)) => self.wait(
                tag,
                true,
                Job::Notify(NotifyJob::Fetch { job, idle }),
                request,
            ),
            // Done (or refused: nothing to tell unasked).
            _ => self.unsolicited_done(tag, idle),
        }
    }
}

/// METADATA's unsolicited entry list (RFC 5464 4.4.2): names only (the
/// parser let only entry names through, which are atoms).
fn entry_list(entries: &[String]) -> String {
    entries.join(" ")
}

/// The wire names of mailboxes.
fn infos_named(s: &Session, infos: &[MailboxInfo]) -> Vec<(MailboxId, String)> {
    infos
        .iter()
        .map(|i| (i.id, s.wire_name(i.name.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionConfig;
    use crate::wire::framer::Frame;
    use std::time::Duration;

    fn session() -> Session {
        let config = SessionConfig {
            max_literal: 1 << 20,
            max_auth_failures: 3,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(1800),
            message_limit: 1000,
            progress_interval: Duration::from_secs(1),
        };
        Session::logged_in(config, AccountId(7), "a@example.org".into())
    }

    fn event(name: &str, change: AccountChange) -> AccountEvent {
        AccountEvent {
            mailbox: Some(MailboxId(3)),
            name: MailboxName::new(name).unwrap(),
            change,
        }
    }

    /// NOTIFY SET answered with an empty tree.
    fn set(s: &mut Session, line: &str) -> String {
        let mut out = Out::new();
        let frame = Frame::Command(format!("{line}\r\n").into_bytes());
        let Step::Need(Request::Store(StoreRequest::MailboxTree { .. })) =
            s.on_frame(frame, &mut out)
        else {
            panic!("expected a tree request")
        };
        let reply = Reply::Store(Ok(StoreReply::Tree(Vec::new(), Vec::new())));
        assert!(matches!(s.resume(reply, &mut out), Step::Done(_)));
        String::from_utf8(out.buf).unwrap()
    }

    #[test]
    fn overflow_ends_notify_with_notificationoverflow() {
        let mut s = session();
        assert_eq!(
            set(&mut s, "n NOTIFY SET (personal (MailboxName))"),
            "n OK NOTIFY completed\r\n"
        );
        assert_eq!(s.notify_account(), Some(AccountId(7)));
        let mut out = Out::new();
        s.on_account_events(vec![event("A", AccountChange::Created)], true, &mut out);
        let text = String::from_utf8(out.buf).unwrap();
        assert!(text.starts_with("* OK [NOTIFICATIONOVERFLOW] "), "{text}");
        assert_eq!(s.notify_account(), None);
        assert!(!s.notify_ready());
    }

    #[test]
    fn a_failed_set_leaves_notify_off() {
        let mut s = session();
        let mut out = Out::new();
        let frame = Frame::Command(b"n NOTIFY SET (personal (MailboxName))\r\n".to_vec());
        assert!(matches!(s.on_frame(frame, &mut out), Step::Need(_)));
        let reply = Reply::Store(Err(sealpost_store::StoreError::NoAccount));
        s.resume(reply, &mut out);
        let text = String::from_utf8(out.buf).unwrap();
        assert!(text.starts_with("n NO "), "{text}");
        assert_eq!(s.notify_account(), None);
    }

    #[test]
    fn events_outside_every_filter_say_nothing() {
        let mut s = session();
        set(&mut s, "n NOTIFY SET (mailboxes Work (MailboxName))");
        let mut out = Out::new();
        s.on_account_events(
            vec![
                event("Other", AccountChange::Created),
                event("Work", AccountChange::Subscribed(true)),
                event("Work", AccountChange::Deleted),
            ],
            false,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out.buf).unwrap(),
            "* LIST (\\NonExistent) \"/\" \"Work\"\r\n"
        );
    }
}
