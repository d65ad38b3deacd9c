//! The command parser: one framed command (see [`crate::wire::framer`]) in,
//! a typed [`Command`] or a [`ParseError`] out (RFC 9051 section 9 grammar,
//! plus the extensions in the capability list).
//!
//! Command names and keywords are case-insensitive. Recursion (SEARCH
//! parentheses, NOT, OR) is bounded by [`MAX_SEARCH_DEPTH`], and list
//! lengths are bounded, so no input can exhaust the stack or memory beyond
//! what the framer let in.

mod cursor;
mod fetch;
mod search;

pub(crate) use cursor::{Cursor, R};
pub use search::MAX_SEARCH_DEPTH;

use crate::wire::command::*;
use sealpost_directory::Secret;

/// Why a command could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The command's tag, when it could be read (else answer with `* BAD`).
    pub tag: Option<Tag>,
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Human-readable text for the BAD response.
    pub message: &'static str,
}

/// The class of a parse error, for choosing the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The grammar was not followed: tagged `BAD`.
    Syntax,
    /// A SEARCH charset other than UTF-8/US-ASCII: `NO [BADCHARSET]`.
    BadCharset,
    /// An unknown command: tagged `BAD`.
    UnknownCommand,
}

/// Parses one framed command.
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut c = Cursor::new(input);
    let tag_text = c
        .take_while(|b| b != b' ' && b != b'\r' && b != b'\n', "")
        .ok();
    let Some(tag) = tag_text.and_then(Tag::new) else {
        return Err(ParseError {
            tag: None,
            kind: ParseErrorKind::Syntax,
            message: "missing or invalid tag",
        });
    };
    let err = |kind, message| ParseError {
        tag: Some(tag.clone()),
        kind,
        message,
    };
    if c.sp().is_err() {
        return Err(err(ParseErrorKind::Syntax, "expected a command"));
    }
    let name = match c.atom() {
        Ok(n) => n.to_ascii_uppercase(),
        Err(m) => return Err(err(ParseErrorKind::Syntax, m)),
    };
    let kind = match command_body(&mut c, &name) {
        Ok(Some(kind)) => kind,
        Ok(None) => return Err(err(ParseErrorKind::UnknownCommand, "unknown command")),
        Err(BodyError::Syntax(m)) => return Err(err(ParseErrorKind::Syntax, m)),
        Err(BodyError::BadCharset) => {
            return Err(err(ParseErrorKind::BadCharset, "unsupported charset"));
        }
    };
    Ok(Command { tag, kind })
}

pub(crate) enum BodyError {
    Syntax(&'static str),
    BadCharset,
}

impl From<&'static str> for BodyError {
    fn from(m: &'static str) -> Self {
        BodyError::Syntax(m)
    }
}

fn mailbox(c: &mut Cursor) -> R<MailboxArg> {
    Ok(MailboxArg(c.astring_utf8()?))
}

fn command_body(c: &mut Cursor, name: &str) -> Result<Option<CommandKind>, BodyError> {
    use CommandKind as K;
    let kind = match name {
        "CAPABILITY" => K::Capability,
        "NOOP" => K::Noop,
        "LOGOUT" => K::Logout,
        "STARTTLS" => K::StartTls,
        "NAMESPACE" => K::Namespace,
        "IDLE" => K::Idle,
        "CHECK" => K::Check,
        "CLOSE" => K::Close,
        "UNSELECT" => K::Unselect,
        "EXPUNGE" => K::Expunge { uids: None },
        "LOGIN" => {
            c.sp()?;
            let user = c.astring_utf8()?;
            c.sp()?;
            let password = Secret::new(c.astring_utf8()?);
            K::Login { user, password }
        }
        "AUTHENTICATE" => {
            c.sp()?;
            let mechanism = c.atom()?.to_ascii_uppercase();
            let initial = if c.eat(b' ') {
                Some(
                    c.take_while(
                        |b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=',
                        "expected base64",
                    )?
                    .to_string(),
                )
            } else {
                None
            };
            K::Authenticate { mechanism, initial }
        }
        "ENABLE" => {
            let mut caps = Vec::new();
            while c.eat(b' ') {
                caps.push(c.atom()?.to_ascii_uppercase());
                if caps.len() > 100 {
                    return Err("too many capabilities".into());
                }
            }
            if caps.is_empty() {
                return Err("ENABLE needs a capability".into());
            }
            K::Enable(caps)
        }
        "ID" => {
            c.sp()?;
            if c.keyword("NIL") {
                K::Id(None)
            } else {
                c.expect(b'(', "expected ( or NIL")?;
                let mut fields = Vec::new();
                if !c.eat(b')') {
                    loop {
                        let k = c.string_utf8()?;
                        c.sp()?;
                        let v = c.nstring_utf8()?;
                        fields.push((k, v));
                        if fields.len() > 30 {
                            return Err("too many ID fields".into());
                        }
                        if c.eat(b')') {
                            break;
                        }
                        c.sp()?;
                    }
                }
                K::Id(Some(fields))
            }
        }
        "SELECT" | "EXAMINE" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            let options = select_options(c)?;
            K::Select {
                mailbox,
                options,
                read_only: name == "EXAMINE",
            }
        }
        "CREATE" => {
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
                        return Err("unknown CREATE parameter".into());
                    }
                    if c.eat(b')') {
                        break;
                    }
                    c.sp()?;
                }
            }
            K::Create { mailbox, options }
        }
        "DELETE" => {
            c.sp()?;
            K::Delete(mailbox(c)?)
        }
        "RENAME" => {
            c.sp()?;
            let from = mailbox(c)?;
            c.sp()?;
            let to = mailbox(c)?;
            K::Rename { from, to }
        }
        "SUBSCRIBE" => {
            c.sp()?;
            K::Subscribe(mailbox(c)?)
        }
        "UNSUBSCRIBE" => {
            c.sp()?;
            K::Unsubscribe(mailbox(c)?)
        }
        "LIST" => list(c)?,
        "LSUB" => {
            c.sp()?;
            let reference = mailbox(c)?;
            c.sp()?;
            let pattern = MailboxArg(c.list_mailbox()?);
            K::Lsub { reference, pattern }
        }
        "STATUS" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            K::Status {
                mailbox,
                items: status_items(c)?,
            }
        }
        "APPEND" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            let mut flags = Vec::new();
            if c.peek() == Some(b'(') {
                flags = c.flag_list()?;
                c.sp()?;
            }
            let mut date = None;
            if c.peek() == Some(b'"') {
                date = Some(c.date_time()?);
                c.sp()?;
            }
            // RFC 6855 4: `UTF8 (~{n}...)` carries a message with UTF-8 headers.
            let message = if c.keyword("UTF8") {
                c.sp()?;
                c.expect(b'(', "expected (")?;
                let m = c.literal()?.to_vec();
                c.expect(b')', "expected )")?;
                m
            } else {
                c.literal()?.to_vec()
            };
            K::Append {
                mailbox,
                flags,
                date,
                message,
            }
        }
        "SEARCH" => search::search(c, false)?,
        "SORT" => search::sort(c, false)?,
        "THREAD" => search::thread(c, false)?,
        "FETCH" => fetch::fetch(c, false)?,
        "STORE" => fetch::store(c, false)?,
        "COPY" | "MOVE" => copy_move(c, name == "MOVE", false)?,
        "UID" => {
            c.sp()?;
            let sub = c.atom()?.to_ascii_uppercase();
            match sub.as_str() {
                "SEARCH" => search::search(c, true)?,
                "SORT" => search::sort(c, true)?,
                "THREAD" => search::thread(c, true)?,
                "FETCH" => fetch::fetch(c, true)?,
                "STORE" => fetch::store(c, true)?,
                "COPY" | "MOVE" => copy_move(c, sub == "MOVE", true)?,
                "EXPUNGE" => {
                    c.sp()?;
                    K::Expunge {
                        uids: Some(c.message_set()?),
                    }
                }
                _ => return Err("unknown UID command".into()),
            }
        }
        "COMPRESS" => {
            c.sp()?;
            K::Compress(c.atom()?.to_ascii_uppercase())
        }
        "GETQUOTA" => {
            c.sp()?;
            K::GetQuota(c.astring_utf8()?)
        }
        "GETQUOTAROOT" => {
            c.sp()?;
            K::GetQuotaRoot(mailbox(c)?)
        }
        "SETQUOTA" => set_quota(c)?,
        _ => return Ok(None),
    };
    c.end()?;
    Ok(Some(kind))
}

fn copy_move(c: &mut Cursor, is_move: bool, uid: bool) -> R<CommandKind> {
    c.sp()?;
    let set = c.message_set()?;
    c.sp()?;
    let mailbox = mailbox(c)?;
    Ok(if is_move {
        CommandKind::Move { uid, set, mailbox }
    } else {
        CommandKind::Copy { uid, set, mailbox }
    })
}

/// `SETQUOTA quota-root SP "(" [resource SP number64 *(SP ...)] ")"` (RFC 9208 4.3).
fn set_quota(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let root = c.astring_utf8()?;
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut limits = Vec::new();
    if !c.eat(b')') {
        loop {
            let resource = c.atom()?.to_ascii_uppercase();
            c.sp()?;
            limits.push((resource, c.number64()?));
            if limits.len() > 16 {
                return Err("too many quota resources");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    }
    Ok(CommandKind::SetQuota { root, limits })
}

fn select_options(c: &mut Cursor) -> R<SelectOptions> {
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
            if c.eat(b' ') {
                if c.peek() != Some(b'(') {
                    known_uids = Some(c.sequence_set()?);
                    c.eat(b' ');
                }
                if c.eat(b'(') {
                    // seq-match-data: accepted and not needed (we answer from modseqs).
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

pub(crate) fn status_items(c: &mut Cursor) -> R<Vec<StatusItem>> {
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

fn list(c: &mut Cursor) -> R<CommandKind> {
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

#[cfg(test)]
mod tests;
