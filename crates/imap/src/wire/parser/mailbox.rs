//! Arguments of the mailbox commands (RFC 9051 6.3): SELECT and EXAMINE
//! with RFC 7162 CONDSTORE/QRESYNC parameters, CREATE with RFC 6154 USE,
//! RENAME, LIST with RFC 5258 LIST-EXTENDED and RFC 5819 RETURN STATUS,
//! LSUB, STATUS (APPEND is in `append`).

use super::{Cursor, R, mailbox};
use crate::wire::command::*;

/// `SELECT`/`EXAMINE SP mailbox [SP "(" select-param *(SP ...) ")"]`.
pub(super) fn select(c: &mut Cursor, read_only: bool) -> R<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    let options = select_options(c)?;
    Ok(CommandKind::Select {
        mailbox,
        options,
        read_only,
    })
}

/// `CREATE SP mailbox [SP "(" "USE" SP "(" flags ")" ")"]`.
pub(super) fn create(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    let mut options = CreateOptions::default();
    if c.eat(b' ') {
        c.expect(b'(', "expected (")?;
        loop {
            if c.keyword("USE") {
                c.sp()?;
                options.special_use = c.flag_list()?;
            } else {
                return Err("unknown CREATE parameter");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    }
    Ok(CommandKind::Create { mailbox, options })
}

/// `RENAME SP mailbox SP mailbox`.
pub(super) fn rename(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let from = mailbox(c)?;
    c.sp()?;
    let to = mailbox(c)?;
    Ok(CommandKind::Rename { from, to })
}

/// `LSUB SP mailbox SP list-mailbox`.
pub(super) fn lsub(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let reference = mailbox(c)?;
    c.sp()?;
    let pattern = MailboxArg(c.list_mailbox()?);
    Ok(CommandKind::Lsub { reference, pattern })
}

/// `STATUS SP mailbox SP "(" status-att *(SP status-att) ")"`.
pub(super) fn status(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    c.sp()?;
    Ok(CommandKind::Status {
        mailbox,
        items: status_items(c)?,
    })
}

pub(super) fn select_options(c: &mut Cursor) -> R<SelectOptions> {
    let mut o = SelectOptions::default();
    if !c.eat(b' ') {
        return Ok(o);
    }
    c.expect(b'(', "expected (")?;
    if c.eat(b')') {
        return Ok(o);
    }
    loop {
        if c.keyword("CONDSTORE") {
            o.condstore = true;
        } else if c.keyword("QRESYNC") {
            c.sp()?;
            c.expect(b'(', "expected (")?;
            let uid_validity = c.nz_number()?;
            c.sp()?;
            let modseq = c.number64()?;
            let mut known_uids = None;
            let mut seq_match = false;
            if c.eat(b' ') {
                if c.peek() != Some(b'(') {
                    known_uids = Some(c.sequence_set()?);
                    c.eat(b' ');
                }
                if c.eat(b'(') {
                    // seq-match-data: accepted and not needed (we answer
                    // from modseqs); noted, since UIDONLY refuses it.
                    seq_match = true;
                    c.sequence_set()?;
                    c.sp()?;
                    c.sequence_set()?;
                    c.expect(b')', "expected )")?;
                }
            }
            c.expect(b')', "expected )")?;
            o.qresync = Some(QresyncParams {
                uid_validity,
                modseq,
                known_uids,
                seq_match,
            });
        } else {
            return Err("unknown SELECT parameter");
        }
        if c.eat(b')') {
            return Ok(o);
        }
        c.sp()?;
    }
}

fn status_items(c: &mut Cursor) -> R<Vec<StatusItem>> {
    c.expect(b'(', "expected (")?;
    let mut items = Vec::new();
    loop {
        let a = c.atom()?.to_ascii_uppercase();
        items.push(match a.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "DELETED" => StatusItem::Deleted,
            "SIZE" => StatusItem::Size,
            "RECENT" => StatusItem::Recent,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            "MAILBOXID" => StatusItem::MailboxId,
            _ => return Err("unknown STATUS item"),
        });
        if items.len() > 32 {
            return Err("too many STATUS items");
        }
        if c.eat(b')') {
            return Ok(items);
        }
        c.sp()?;
    }
}

pub(super) fn list(c: &mut Cursor) -> R<CommandKind> {
    let mut options = ListOptions::default();
    c.sp()?;
    if c.eat(b'(') {
        options.extended = true;
        while !c.eat(b')') {
            c.eat(b' ');
            let a = c.atom()?.to_ascii_uppercase();
            match a.as_str() {
                "SUBSCRIBED" => options.subscribed = true,
                "RECURSIVEMATCH" => options.recursive_match = true,
                "SPECIAL-USE" => options.special_use = true,
                "REMOTE" => {}
                _ => return Err("unknown LIST selection option"),
            }
        }
        c.sp()?;
    }
    let reference = mailbox(c)?;
    c.sp()?;
    let mut patterns = Vec::new();
    if c.eat(b'(') {
        options.extended = true;
        loop {
            patterns.push(MailboxArg(c.list_mailbox()?));
            if patterns.len() > 100 {
                return Err("too many patterns");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        patterns.push(MailboxArg(c.list_mailbox()?));
    }
    if c.eat(b' ') {
        if !c.keyword("RETURN") {
            return Err("expected RETURN");
        }
        options.extended = true;
        c.sp()?;
        c.expect(b'(', "expected (")?;
        while !c.eat(b')') {
            c.eat(b' ');
            let a = c.atom()?.to_ascii_uppercase();
            match a.as_str() {
                "SUBSCRIBED" => options.return_subscribed = true,
                "CHILDREN" => options.return_children = true,
                "SPECIAL-USE" => options.return_special_use = true,
                "STATUS" => {
                    c.sp()?;
                    options.return_status = Some(status_items(c)?);
                }
                "METADATA" if options.return_metadata.is_none() => {
                    options.return_metadata = Some(super::metadata::list_return(c)?);
                }
                _ => return Err("unknown LIST return option"),
            }
        }
    }
    if options.recursive_match && !options.subscribed {
        return Err("RECURSIVEMATCH needs another selection option");
    }
    Ok(CommandKind::List {
        reference,
        patterns,
        options,
    })
}
