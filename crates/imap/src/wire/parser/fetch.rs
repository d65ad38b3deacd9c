//! FETCH and STORE arguments (RFC 9051 6.4.5-6.4.6, RFC 3516 BINARY,
//! RFC 7162 CHANGEDSINCE/UNCHANGEDSINCE/VANISHED, RFC 8514, RFC 8970).

use super::{Cursor, R};
use crate::wire::command::*;

/// Most items in one FETCH.
const MAX_FETCH_ITEMS: usize = 64;
/// Deepest part number (`1.2.3...`).
const MAX_PART_DEPTH: usize = 32;

pub(super) fn fetch(c: &mut Cursor, uid: bool) -> R<CommandKind> {
    c.sp()?;
    let set = c.message_set()?;
    c.sp()?;
    let mut items = Vec::new();
    if c.keyword("ALL") {
        items.extend([
            FetchAtt::Flags,
            FetchAtt::InternalDate,
            FetchAtt::Rfc822Size,
            FetchAtt::Envelope,
        ]);
    } else if c.keyword("FAST") {
        items.extend([
            FetchAtt::Flags,
            FetchAtt::InternalDate,
            FetchAtt::Rfc822Size,
        ]);
    } else if c.keyword("FULL") {
        items.extend([
            FetchAtt::Flags,
            FetchAtt::InternalDate,
            FetchAtt::Rfc822Size,
            FetchAtt::Envelope,
            FetchAtt::Body,
        ]);
    } else if c.eat(b'(') {
        loop {
            items.push(fetch_att(c)?);
            if items.len() > MAX_FETCH_ITEMS {
                return Err("too many FETCH items");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        items.push(fetch_att(c)?);
    }
    let mut modifiers = FetchModifiers::default();
    if c.eat(b' ') {
        c.expect(b'(', "expected (")?;
        loop {
            if c.keyword("CHANGEDSINCE") {
                c.sp()?;
                modifiers.changed_since = Some(c.number64()?);
            } else if c.keyword("VANISHED") {
                modifiers.vanished = true;
            } else if modifiers.partial.is_none() && c.keyword("PARTIAL") {
                c.sp()?;
                modifiers.partial = Some(super::search::partial_range(c)?);
            } else {
                return Err("unknown FETCH modifier");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
        if modifiers.vanished && (!uid || modifiers.changed_since.is_none()) {
            return Err("VANISHED needs UID FETCH and CHANGEDSINCE");
        }
        if modifiers.partial.is_some() && !uid {
            return Err("PARTIAL needs UID FETCH");
        }
    }
    Ok(CommandKind::Fetch {
        uid,
        set,
        items,
        modifiers,
    })
}

pub(super) fn fetch_att(c: &mut Cursor) -> R<FetchAtt> {
    let name = c
        .take_while(
            |b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-',
            "expected a FETCH item",
        )?
        .to_ascii_uppercase();
    let att = match name.as_str() {
        "ENVELOPE" => FetchAtt::Envelope,
        "FLAGS" => FetchAtt::Flags,
        "INTERNALDATE" => FetchAtt::InternalDate,
        "RFC822" => FetchAtt::Rfc822,
        "RFC822.HEADER" => FetchAtt::Rfc822Header,
        "RFC822.SIZE" => FetchAtt::Rfc822Size,
        "RFC822.TEXT" => FetchAtt::Rfc822Text,
        "BODYSTRUCTURE" => FetchAtt::BodyStructure,
        "UID" => FetchAtt::Uid,
        "MODSEQ" => FetchAtt::ModSeq,
        "SAVEDATE" => FetchAtt::SaveDate,
        "EMAILID" => FetchAtt::EmailId,
        "THREADID" => FetchAtt::ThreadId,
        "PREVIEW" => {
            // RFC 8970 modifiers: `PREVIEW (LAZY)`. A space after PREVIEW
            // may as well start the next item (`(PREVIEW FLAGS)`) or the
            // FETCH modifiers (`PREVIEW (CHANGEDSINCE 5)`): only `(LAZY`
            // makes it a preview modifier list.
            let start = c.pos;
            if c.eat(b' ') && c.eat(b'(') && c.keyword("LAZY") {
                c.expect(b')', "expected )")?;
            } else {
                c.pos = start;
            }
            FetchAtt::Preview
        }
        "BODY" | "BODY.PEEK" if c.peek() == Some(b'[') => {
            let section = section(c)?;
            FetchAtt::BodySection {
                peek: name == "BODY.PEEK",
                section,
                partial: partial(c)?,
            }
        }
        "BODY" => FetchAtt::Body,
        "BINARY" | "BINARY.PEEK" => {
            let part = binary_part(c)?;
            FetchAtt::Binary {
                peek: name == "BINARY.PEEK",
                part,
                partial: partial(c)?,
            }
        }
        "BINARY.SIZE" => FetchAtt::BinarySize(binary_part(c)?),
        _ => return Err("unknown FETCH item"),
    };
    Ok(att)
}

fn part_numbers(c: &mut Cursor) -> R<Vec<u32>> {
    let mut part = Vec::new();
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part.push(c.nz_number()?);
        if part.len() > MAX_PART_DEPTH {
            return Err("part number too deep");
        }
        if !c.eat(b'.') {
            break;
        }
        if !c.peek().is_some_and(|b| b.is_ascii_digit()) {
            // `1.HEADER`: the dot introduced the section text; step back.
            c.pos -= 1;
            break;
        }
    }
    Ok(part)
}

fn binary_part(c: &mut Cursor) -> R<Vec<u32>> {
    c.expect(b'[', "expected [")?;
    let part = part_numbers(c)?;
    c.expect(b']', "expected ]")?;
    Ok(part)
}

pub(super) fn section(c: &mut Cursor) -> R<Section> {
    c.expect(b'[', "expected [")?;
    let part = part_numbers(c)?;
    if !part.is_empty() && !c.eat(b'.') {
        c.expect(b']', "expected ]")?;
        return Ok(Section {
            part,
            text: SectionText::Full,
        });
    }
    if c.eat(b']') {
        return Ok(Section {
            part,
            text: SectionText::Full,
        });
    }
    let kw = c
        .take_while(
            |b| b.is_ascii_alphabetic() || b == b'.',
            "expected a section",
        )?
        .to_ascii_uppercase();
    let text = match kw.as_str() {
        "HEADER" => SectionText::Header,
        "TEXT" => SectionText::Text,
        "MIME" if !part.is_empty() => SectionText::Mime,
        "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
            c.sp()?;
            c.expect(b'(', "expected (")?;
            let mut names = Vec::new();
            loop {
                names.push(c.astring_utf8()?);
                if names.len() > 100 {
                    return Err("too many header names");
                }
                if c.eat(b')') {
                    break;
                }
                c.sp()?;
            }
            if kw == "HEADER.FIELDS" {
                SectionText::HeaderFields(names)
            } else {
                SectionText::HeaderFieldsNot(names)
            }
        }
        _ => return Err("unknown section"),
    };
    c.expect(b']', "expected ]")?;
    Ok(Section { part, text })
}

fn partial(c: &mut Cursor) -> R<Option<(u32, u32)>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number()?;
    c.expect(b'.', "expected .")?;
    let count = c.nz_number()?;
    c.expect(b'>', "expected >")?;
    Ok(Some((offset, count)))
}

pub(super) fn store(c: &mut Cursor, uid: bool) -> R<CommandKind> {
    c.sp()?;
    let set = c.message_set()?;
    c.sp()?;
    let mut unchanged_since = None;
    if c.eat(b'(') {
        if !c.keyword("UNCHANGEDSINCE") {
            return Err("unknown STORE modifier");
        }
        c.sp()?;
        unchanged_since = Some(c.number64()?);
        c.expect(b')', "expected )")?;
        c.sp()?;
    }
    let op = if c.eat(b'+') {
        StoreOp::Add
    } else if c.eat(b'-') {
        StoreOp::Remove
    } else {
        StoreOp::Replace
    };
    let silent = if c.keyword("FLAGS") {
        false
    } else if c.keyword("FLAGS.SILENT") {
        true
    } else {
        return Err("expected FLAGS or FLAGS.SILENT");
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut flags = vec![c.flag(false)?];
        while c.eat(b' ') {
            flags.push(c.flag(false)?);
            if flags.len() > 1000 {
                return Err("too many flags");
            }
        }
        flags
    };
    Ok(CommandKind::Store {
        uid,
        set,
        op,
        silent,
        flags,
        unchanged_since,
    })
}
