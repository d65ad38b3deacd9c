//! NOTIFY's arguments (RFC 5465 section 8; the grammar is in
//! `wire/notify.rs`).
//!
//! What RFC 5465 5 makes a `BAD` is refused here: MessageNew without
//! MessageExpunge or the other way round, FlagChange or AnnotationChange
//! without both, FETCH items for other mailboxes than the selected one, an
//! empty event list. The parentheses around the events and around
//! `STATUS` may be left out, as in RFC 5465's examples. Unknown events are kept for the session, which
//! answers `NO [BADEVENT]`. Limits: [`MAX_GROUPS`] groups,
//! [`MAX_MAILBOXES`] names in all, [`MAX_FETCH_ATTS`] FETCH items.

use super::fetch::fetch_att;
use super::{Cursor, R, mailbox};
use crate::wire::command::{CommandKind, MailboxArg};
use crate::wire::notify::{
    EventGroup, Events, Filter, MAX_FETCH_ATTS, MAX_GROUPS, MAX_MAILBOXES, NotifyCommand,
};

/// Longest unknown event name kept.
const MAX_EVENT_NAME: usize = 64;

/// `NOTIFY SP ("NONE" / "SET" ...)`.
pub(super) fn notify(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    if c.keyword("NONE") {
        return Ok(CommandKind::Notify(NotifyCommand::None));
    }
    if !c.keyword("SET") {
        return Err("expected NONE or SET");
    }
    c.sp()?;
    let mut status = false;
    if c.keyword("(STATUS)") || c.keyword("STATUS") {
        status = true;
        c.sp()?;
    }
    let mut groups = Vec::new();
    let mut names = 0;
    loop {
        let group = event_group(c)?;
        names += match &group.filter {
            Filter::Subtree(m) | Filter::SubtreeOne(m) | Filter::Mailboxes(m) => m.len(),
            _ => 0,
        };
        if names > MAX_MAILBOXES {
            return Err("too many mailboxes in NOTIFY");
        }
        groups.push(group);
        if groups.len() > MAX_GROUPS {
            return Err("too many NOTIFY event groups");
        }
        if !c.eat(b' ') {
            break;
        }
    }
    Ok(CommandKind::Notify(NotifyCommand::Set { status, groups }))
}

/// `"(" filter-mailboxes SP events ")"`.
fn event_group(c: &mut Cursor) -> R<EventGroup> {
    c.expect(b'(', "expected (")?;
    let filter = filter(c)?;
    c.sp()?;
    let events = if c.keyword("NONE") {
        Events::default()
    } else {
        let parens = c.eat(b'(');
        events(c, filter.is_selected(), parens)?
    };
    c.expect(b')', "expected )")?;
    Ok(EventGroup { filter, events })
}

fn filter(c: &mut Cursor) -> R<Filter> {
    let name = c
        .take_while(
            |b| b.is_ascii_alphabetic() || b == b'-',
            "expected a filter",
        )?
        .to_ascii_lowercase();
    Ok(match name.as_str() {
        "selected" => Filter::Selected,
        "selected-delayed" => Filter::SelectedDelayed,
        "inboxes" => Filter::Inboxes,
        "personal" => Filter::Personal,
        "subscribed" => Filter::Subscribed,
        "subtree" => Filter::Subtree(mailboxes(c)?),
        "subtree-one" => Filter::SubtreeOne(mailboxes(c)?),
        "mailboxes" => Filter::Mailboxes(mailboxes(c)?),
        _ => return Err("unknown NOTIFY mailbox filter"),
    })
}

/// `SP (mailbox / "(" mailbox *(SP mailbox) ")")`.
fn mailboxes(c: &mut Cursor) -> R<Vec<MailboxArg>> {
    c.sp()?;
    if !c.eat(b'(') {
        return Ok(vec![mailbox(c)?]);
    }
    let mut v = Vec::new();
    loop {
        v.push(mailbox(c)?);
        if v.len() > MAX_MAILBOXES {
            return Err("too many mailboxes in NOTIFY");
        }
        if c.eat(b')') {
            return Ok(v);
        }
        c.sp()?;
    }
}

/// `event *(SP event)` after its `(` (or without one: RFC 5465's own
/// examples leave it out, and clients copy them), checked as RFC 5465 5
/// requires.
fn events(c: &mut Cursor, selected: bool, parens: bool) -> R<Events> {
    let mut e = Events::default();
    let mut annotation = false;
    loop {
        let name = c.atom()?;
        match name.to_ascii_lowercase().as_str() {
            "messagenew" if e.message_new.is_none() => {
                e.message_new = Some(Vec::new());
                if c.b.get(c.pos..c.pos + 2) == Some(b" (") {
                    c.pos += 2;
                    let atts = e.message_new.get_or_insert_default();
                    loop {
                        atts.push(fetch_att(c)?);
                        if atts.len() > MAX_FETCH_ATTS {
                            return Err("too many FETCH items in MessageNew");
                        }
                        if c.eat(b')') {
                            break;
                        }
                        c.sp()?;
                    }
                    if !selected {
                        return Err("FETCH items are only for the selected mailbox");
                    }
                }
            }
            "messageexpunge" => e.message_expunge = true,
            "flagchange" => e.flag_change = true,
            "mailboxname" => e.mailbox_name = true,
            "subscriptionchange" => e.subscription_change = true,
            "mailboxmetadatachange" => e.mailbox_metadata = true,
            "servermetadatachange" => e.server_metadata = true,
            _ if name.len() > MAX_EVENT_NAME => return Err("event name too long"),
            "annotationchange" => {
                annotation = true;
                e.unsupported.push(name.to_string());
            }
            _ if e.unsupported.len() < MAX_FETCH_ATTS => e.unsupported.push(name.to_string()),
            _ => return Err("too many NOTIFY events"),
        }
        if parens && c.eat(b')') || !parens && c.peek() == Some(b')') {
            break;
        }
        c.sp()?;
    }
    if e.message_new.is_some() != e.message_expunge {
        return Err("MessageNew and MessageExpunge go together");
    }
    if (e.flag_change || annotation) && e.message_new.is_none() {
        return Err("FlagChange needs MessageNew and MessageExpunge");
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use crate::wire::command::{CommandKind, FetchAtt, MailboxArg};
    use crate::wire::notify::{Events, Filter, NotifyCommand};
    use crate::wire::parser::parse_command;

    fn notify(line: &str) -> Result<NotifyCommand, &'static str> {
        match parse_command(format!("t {line}\r\n").as_bytes()) {
            Ok(c) => match c.kind {
                CommandKind::Notify(n) => Ok(n),
                other => panic!("{other:?}"),
            },
            Err(e) => Err(e.message),
        }
    }

    #[test]
    fn set_with_status_filters_and_fetch_items() {
        let NotifyCommand::Set { status, groups } = notify(
            "NOTIFY SET (STATUS) (selected (MessageNew (UID FLAGS) MessageExpunge)) \
             (subtree (Lists \"Work\") (MailboxName)) (mailboxes INBOX NONE)",
        )
        .unwrap() else {
            panic!("not SET")
        };
        assert!(status);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].filter, Filter::Selected);
        assert_eq!(
            groups[0].events.message_new,
            Some(vec![FetchAtt::Uid, FetchAtt::Flags])
        );
        assert!(groups[0].events.message_expunge);
        assert_eq!(
            groups[1].filter,
            Filter::Subtree(vec![MailboxArg("Lists".into()), MailboxArg("Work".into())])
        );
        assert!(groups[1].events.mailbox_name);
        assert_eq!(groups[2].events, Events::default());
        assert_eq!(notify("NOTIFY none").unwrap(), NotifyCommand::None);
    }

    #[test]
    fn the_rfc_examples_without_parentheses_parse() {
        let NotifyCommand::Set { status, groups } = notify(
            "NOTIFY SET STATUS (selected MessageNew (uid body.peek[header.fields (from to subject)]) \
             MessageExpunge) (subtree Lists MailboxName)",
        )
        .unwrap() else {
            panic!("not SET")
        };
        assert!(status);
        assert_eq!(groups[0].events.message_new.as_ref().map(Vec::len), Some(2));
        assert!(groups[1].events.mailbox_name);
    }

    #[test]
    fn rfc_5465_refusals_are_bad() {
        for line in [
            "NOTIFY SET (personal (MessageNew))",
            "NOTIFY SET (personal (MessageExpunge))",
            "NOTIFY SET (personal (FlagChange))",
            "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
            "NOTIFY SET (personal ())",
            "NOTIFY SET (nowhere (MailboxName))",
            "NOTIFY SET",
            "NOTIFY",
            "NOTIFY SET (personal (MailboxName)",
        ] {
            assert!(notify(line).is_err(), "{line}");
        }
    }

    #[test]
    fn unknown_events_are_kept_for_badevent() {
        let NotifyCommand::Set { groups, .. } =
            notify("NOTIFY SET (personal (MailboxName Frobnicate))").unwrap()
        else {
            panic!("not SET")
        };
        assert_eq!(groups[0].events.unsupported, vec!["Frobnicate".to_string()]);
        let NotifyCommand::Set { groups, .. } =
            notify("NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))").unwrap()
        else {
            panic!("not SET")
        };
        assert!(groups[0].events.mailbox_metadata && groups[0].events.server_metadata);
    }

    #[test]
    fn limits() {
        let groups = |n: usize| {
            (0..n)
                .map(|i| format!("(mailboxes m{i} (MailboxName))"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(notify(&format!("NOTIFY SET {}", groups(16))).is_ok());
        assert!(notify(&format!("NOTIFY SET {}", groups(17))).is_err());
        let names = |n: usize| {
            (0..n)
                .map(|i| format!("m{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let line = |n| format!("NOTIFY SET (mailboxes ({}) (MailboxName))", names(n));
        assert!(notify(&line(100)).is_ok());
        assert!(notify(&line(101)).is_err());
        let atts = |n: usize| vec!["UID"; n].join(" ");
        let line = |n| {
            format!(
                "NOTIFY SET (selected (MessageNew ({}) MessageExpunge))",
                atts(n)
            )
        };
        assert!(notify(&line(32)).is_ok());
        assert!(notify(&line(33)).is_err());
    }
}
