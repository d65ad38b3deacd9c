//! APPEND with MULTIAPPEND (RFC 3502 section 6: `append = "APPEND" SP
//! mailbox 1*append-message`) and REPLACE / UID REPLACE (RFC 8508
//! section 6: one message replacing a message of the selected mailbox).
//!
//! Each message is `[SP flag-list] [SP date-time] SP literal`, the literal
//! possibly as `UTF8 (~{n}...)` (RFC 6855 4: a message with UTF-8
//! headers). One message gives the plain `CommandKind::Append`; more give
//! `CommandKind::MultiAppend`, at most [`MAX_MULTIAPPEND`] of them (their
//! sizes together are bounded by the framer's literal limit). A message
//! may be built with CATENATE (RFC 4469, `catenate`): then the whole
//! APPEND is `CommandKind::Catenate`.

use super::catenate::{AppendData, catenate};
use super::{Cursor, R, mailbox};
use crate::wire::catenate::{CatPart, CatenateMessage};
use crate::wire::command::*;

/// Most messages one MULTIAPPEND may carry.
pub const MAX_MULTIAPPEND: usize = 1000;

/// `APPEND SP mailbox 1*(SP append-message)`.
pub(super) fn append(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    let mut parts = 0;
    let mut all = vec![any_message(c, &mut parts)?];
    while c.peek() == Some(b' ') {
        if all.len() >= MAX_MULTIAPPEND {
            return Err("too many messages in one APPEND");
        }
        all.push(any_message(c, &mut parts)?);
    }
    if parts > 0 {
        let messages = all.into_iter().map(catenated).collect();
        return Ok(CommandKind::Catenate {
            mailbox,
            messages,
            replace: None,
        });
    }
    let mut messages: Vec<AppendMessage> = all.into_iter().map(|(m, _)| m).collect();
    if messages.len() == 1 {
        let AppendMessage {
            flags,
            date,
            message,
        } = messages.remove(0);
        return Ok(CommandKind::Append {
            mailbox,
            flags,
            date,
            message,
        });
    }
    Ok(CommandKind::MultiAppend { mailbox, messages })
}

/// `[UID] REPLACE SP (seq-number / uid) SP mailbox SP append-message`.
pub(super) fn replace(c: &mut Cursor, uid: bool) -> R<CommandKind> {
    c.sp()?;
    let target = c.nz_number()?;
    c.sp()?;
    let mailbox = mailbox(c)?;
    let mut parts = 0;
    let one = any_message(c, &mut parts)?;
    if one.1.is_some() {
        // RFC 8508 4.3: REPLACE takes CATENATE's append-data too.
        return Ok(CommandKind::Catenate {
            mailbox,
            messages: vec![catenated(one)],
            replace: Some((uid, target)),
        });
    }
    let message = one.0;
    Ok(CommandKind::Replace {
        uid,
        target,
        mailbox,
        message,
    })
}

/// One message of an APPEND, whose content may come from CATENATE (then
/// the parts, and the message's content is empty).
fn any_message(c: &mut Cursor, parts: &mut usize) -> R<(AppendMessage, Option<Vec<CatPart>>)> {
    let (message, data) = options_and_data(c, parts)?;
    Ok(match data {
        AppendData::Literal(m) => (
            AppendMessage {
                message: m,
                ..message
            },
            None,
        ),
        AppendData::Catenate(p) => (message, Some(p)),
    })
}

/// A message of an APPEND that uses CATENATE: a plain one is one TEXT part.
fn catenated((m, parts): (AppendMessage, Option<Vec<CatPart>>)) -> CatenateMessage {
    CatenateMessage {
        flags: m.flags,
        date: m.date,
        parts: parts.unwrap_or_else(|| vec![CatPart::Text(m.message)]),
    }
}

/// `SP [flag-list SP] [date-time SP] (literal / "UTF8" SP "(" literal8 ")"
/// / catenate)`.
fn options_and_data(c: &mut Cursor, parts: &mut usize) -> R<(AppendMessage, AppendData)> {
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
    let data = if c.keyword("UTF8") {
        c.sp()?;
        c.expect(b'(', "expected (")?;
        let m = c.literal()?.to_vec();
        c.expect(b')', "expected )")?;
        AppendData::Literal(m)
    } else if c.keyword("CATENATE") {
        AppendData::Catenate(catenate(c, parts)?)
    } else {
        AppendData::Literal(c.literal()?.to_vec())
    };
    let message = AppendMessage {
        flags,
        date,
        message: Vec::new(),
    };
    Ok((message, data))
}
