//! APPEND with MULTIAPPEND (RFC 3502 section 6: `append = "APPEND" SP
//! mailbox 1*append-message`) and REPLACE / UID REPLACE (RFC 8508
//! section 6: one message replacing a message of the selected mailbox).
//!
//! Each message is `[SP flag-list] [SP date-time] SP literal`, the literal
//! possibly as `UTF8 (~{n}...)` (RFC 6855 4: a message with UTF-8
//! headers). One message gives the plain `CommandKind::Append`; more give
//! `CommandKind::MultiAppend`, at most [`MAX_MULTIAPPEND`] of them (their
//! sizes together are bounded by the framer's literal limit).

use super::{Cursor, R, mailbox};
use crate::wire::command::*;

/// Most messages one MULTIAPPEND may carry.
pub const MAX_MULTIAPPEND: usize = 1000;

/// `APPEND SP mailbox 1*(SP append-message)`.
pub(super) fn append(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    let mut messages = vec![message(c)?];
    while c.peek() == Some(b' ') {
        if messages.len() >= MAX_MULTIAPPEND {
            return Err("too many messages in one APPEND");
        }
        messages.push(message(c)?);
    }
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
    let message = message(c)?;
    Ok(CommandKind::Replace {
        uid,
        target,
        mailbox,
        message,
    })
}

/// `SP [flag-list SP] [date-time SP] (literal / "UTF8" SP "(" literal8 ")")`.
fn message(c: &mut Cursor) -> R<AppendMessage> {
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
    let message = if c.keyword("UTF8") {
        c.sp()?;
        c.expect(b'(', "expected (")?;
        let m = c.literal()?.to_vec();
        c.expect(b')', "expected )")?;
        m
    } else {
        c.literal()?.to_vec()
    };
    Ok(AppendMessage {
        flags,
        date,
        message,
    })
}
