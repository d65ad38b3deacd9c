//! GETMETADATA and SETMETADATA arguments (RFC 5464 sections 4.2, 4.3, 5).
//!
//! Limits: at most [`MAX_ENTRIES`] entries per command; an entry name is
//! 1-1024 printable ASCII octets under `/private/` or `/shared/`, without
//! `*`, `%`, `//` or a trailing `/` (RFC 5464 3.2); GETMETADATA may name
//! the roots `/private` and `/shared` themselves. Values are strings,
//! literals or literal8 (the framer bounds their size), or NIL.

use super::{Cursor, R};
use crate::wire::command::{CommandKind, ListMetadata, MailboxArg, MetadataDepth};

/// Most entries one GETMETADATA or SETMETADATA names.
pub const MAX_ENTRIES: usize = 100;
/// Longest entry name in octets.
const MAX_ENTRY: usize = 1024;

/// `GETMETADATA [SP "(" option *(SP option) ")"] SP mailbox SP entries`.
pub(super) fn get(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let (mut maxsize, mut depth) = (None, MetadataDepth::Zero);
    if c.eat(b'(') {
        loop {
            match c.atom()?.to_ascii_uppercase().as_str() {
                "MAXSIZE" if maxsize.is_none() => {
                    c.sp()?;
                    maxsize = Some(c.number()?);
                }
                "DEPTH" => {
                    c.sp()?;
                    depth = match c.atom()?.to_ascii_uppercase().as_str() {
                        "0" => MetadataDepth::Zero,
                        "1" => MetadataDepth::One,
                        "INFINITY" => MetadataDepth::Infinity,
                        _ => return Err("DEPTH is 0, 1 or infinity"),
                    };
                }
                _ => return Err("unknown or repeated GETMETADATA option"),
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
        c.sp()?;
    }
    let mailbox = MailboxArg(c.astring_utf8()?);
    c.sp()?;
    let mut entries = Vec::new();
    if c.eat(b'(') {
        loop {
            entries.push(entry(c, true)?);
            if entries.len() > MAX_ENTRIES {
                return Err("too many entries");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        entries.push(entry(c, true)?);
    }
    Ok(CommandKind::GetMetadata {
        mailbox,
        entries,
        maxsize,
        depth,
    })
}

/// `SETMETADATA SP mailbox SP "(" entry SP value *(SP entry SP value) ")"`.
pub(super) fn set(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let mailbox = MailboxArg(c.astring_utf8()?);
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut entries = Vec::new();
    loop {
        let name = entry(c, false)?;
        c.sp()?;
        let value = if c.keyword("NIL") {
            None
        } else {
            Some(c.string()?)
        };
        entries.push((name, value));
        if entries.len() > MAX_ENTRIES {
            return Err("too many entries");
        }
        if c.eat(b')') {
            break;
        }
        c.sp()?;
    }
    Ok(CommandKind::SetMetadata { mailbox, entries })
}

/// LIST's `METADATA` return option (RFC 9590 3), after `METADATA`:
/// `SP "(" item *(SP item) ")" [SP "(" "MAXSIZE" SP number ")"]`, an item
/// an entry name or `MAXSIZE n` (clients put the option inside the list
/// or in a list of its own after it; both are taken).
pub(super) fn list_return(c: &mut Cursor) -> R<ListMetadata> {
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut m = ListMetadata::default();
    loop {
        if c.keyword("MAXSIZE") {
            maxsize(c, &mut m)?;
        } else {
            m.entries.push(entry(c, false)?);
            if m.entries.len() > MAX_ENTRIES {
                return Err("too many entries");
            }
        }
        if c.eat(b')') {
            break;
        }
        c.sp()?;
    }
    if m.entries.is_empty() {
        return Err("METADATA needs an entry");
    }
    if c.b.get(c.pos..c.pos + 2) == Some(b" (") {
        c.pos += 2;
        if !c.keyword("MAXSIZE") {
            return Err("unknown METADATA option");
        }
        maxsize(c, &mut m)?;
        c.expect(b')', "expected )")?;
    }
    Ok(m)
}

fn maxsize(c: &mut Cursor, m: &mut ListMetadata) -> R<()> {
    if m.maxsize.is_some() {
        return Err("repeated MAXSIZE");
    }
    c.sp()?;
    m.maxsize = Some(c.number()?);
    Ok(())
}

/// An entry name (RFC 5464 3.2), checked; GETMETADATA may also name the
/// roots `/private` and `/shared` (with DEPTH, everything below them).
fn entry(c: &mut Cursor, get: bool) -> R<String> {
    let e = c.astring_utf8()?;
    let lower = e.to_ascii_lowercase();
    if get && (lower == "/private" || lower == "/shared") {
        return Ok(e);
    }
    let rest = lower
        .strip_prefix("/private/")
        .or_else(|| lower.strip_prefix("/shared/"))
        .ok_or("an entry name starts with /private/ or /shared/")?;
    if e.len() > MAX_ENTRY
        || rest.is_empty()
        || rest.ends_with('/')
        || e.contains("//")
        || !e
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b'*' && b != b'%')
    {
        return Err("invalid entry name");
    }
    Ok(e)
}
