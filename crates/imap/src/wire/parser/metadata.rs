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
                    depth = self::depth(c)?;
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

/// LIST's `METADATA` return option (RFC 9590 3), after `METADATA`: a
/// parenthesized list of the entries to return, and the options of
/// GETMETADATA (RFC 5464 4.2: `MAXSIZE n`, `DEPTH 0|1|infinity`), each
/// at most once:
///
/// ```text
/// "METADATA" SP "(" item *(SP item) ")" [SP "(" option *(SP option) ")"]
/// item   = entry / "(" entry *(SP entry) ")" / option
///        / "(" option *(SP option) ")"
/// option = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
/// ```
///
/// So every way RFC 9590 and its examples write it is taken: the entries
/// bare or as GETMETADATA's parenthesized `entries`, the options bare
/// inside the list (`(DEPTH 1 /private/comment)`), as GETMETADATA's
/// option list before the entries (`((DEPTH 1) (/private/comment))`), or
/// in a list of their own after it (`(/private/comment) (MAXSIZE 10)`).
pub(super) fn list_return(c: &mut Cursor) -> R<ListMetadata> {
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut m = ListMetadata::default();
    let mut seen = Seen::default();
    loop {
        if c.eat(b'(') {
            // A list of its own: options, or entries.
            if option(c, &mut m, &mut seen)? {
                list_rest(c, |c| expect_option(c, &mut m, &mut seen))?;
            } else {
                push_entry(c, &mut m)?;
                list_rest(c, |c| push_entry(c, &mut m))?;
            }
        } else if !option(c, &mut m, &mut seen)? {
            push_entry(c, &mut m)?;
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
        expect_option(c, &mut m, &mut seen)?;
        list_rest(c, |c| expect_option(c, &mut m, &mut seen))?;
    }
    Ok(m)
}

/// Which options were given (each may come once).
#[derive(Default)]
struct Seen {
    maxsize: bool,
    depth: bool,
}

/// The rest of a parenthesized list whose first item was read: `(SP
/// item)* ")"`.
fn list_rest<'a>(c: &mut Cursor<'a>, mut item: impl FnMut(&mut Cursor<'a>) -> R<()>) -> R<()> {
    while !c.eat(b')') {
        c.sp()?;
        item(c)?;
    }
    Ok(())
}

fn push_entry(c: &mut Cursor, m: &mut ListMetadata) -> R<()> {
    m.entries.push(entry(c, false)?);
    if m.entries.len() > MAX_ENTRIES {
        return Err("too many entries");
    }
    Ok(())
}

fn expect_option(c: &mut Cursor, m: &mut ListMetadata, seen: &mut Seen) -> R<()> {
    if option(c, m, seen)? {
        Ok(())
    } else {
        Err("unknown METADATA option")
    }
}

/// `MAXSIZE n` or `DEPTH d`, if one is next; a repeated one is an error.
fn option(c: &mut Cursor, m: &mut ListMetadata, seen: &mut Seen) -> R<bool> {
    if c.keyword("MAXSIZE") {
        if std::mem::replace(&mut seen.maxsize, true) {
            return Err("repeated MAXSIZE");
        }
        c.sp()?;
        m.maxsize = Some(c.number()?);
        return Ok(true);
    }
    if c.keyword("DEPTH") {
        if std::mem::replace(&mut seen.depth, true) {
            return Err("repeated DEPTH");
        }
        c.sp()?;
        m.depth = depth(c)?;
        return Ok(true);
    }
    Ok(false)
}

/// `0`, `1` or `infinity` (RFC 5464 4.2.2).
fn depth(c: &mut Cursor) -> R<MetadataDepth> {
    Ok(match c.atom()?.to_ascii_uppercase().as_str() {
        "0" => MetadataDepth::Zero,
        "1" => MetadataDepth::One,
        "INFINITY" => MetadataDepth::Infinity,
        _ => return Err("DEPTH is 0, 1 or infinity"),
    })
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

#[cfg(test)]
mod tests {
    use crate::wire::command::{CommandKind, ListMetadata, MetadataDepth};
    use crate::wire::parser::parse_command;

    /// The METADATA return option of `LIST "" * RETURN (<ret>)`.
    fn list_return(ret: &str) -> Option<ListMetadata> {
        let line = format!("a LIST \"\" * RETURN ({ret})\r\n");
        match parse_command(line.as_bytes()).ok()?.kind {
            CommandKind::List { options, .. } => options.return_metadata,
            _ => None,
        }
    }

    fn metadata(entries: &[&str], maxsize: Option<u32>, depth: MetadataDepth) -> ListMetadata {
        ListMetadata {
            entries: entries.iter().map(|e| e.to_string()).collect(),
            maxsize,
            depth,
        }
    }

    #[test]
    fn every_form_of_the_options_is_taken() {
        use MetadataDepth::*;
        let c = "/private/comment";
        let two = &["/private/comment", "/shared/x"][..];
        for (ret, want) in [
            ("METADATA (/private/comment)", metadata(&[c], None, Zero)),
            (
                "METADATA ((/private/comment /shared/x))",
                metadata(two, None, Zero),
            ),
            (
                "METADATA (DEPTH 1 (/private/comment))",
                metadata(&[c], None, One),
            ),
            (
                "METADATA (depth infinity /private/comment)",
                metadata(&[c], None, Infinity),
            ),
            (
                "METADATA ((DEPTH 1) (/private/comment))",
                metadata(&[c], None, One),
            ),
            (
                "METADATA ((MAXSIZE 9 DEPTH 0) (/private/comment /shared/x))",
                metadata(two, Some(9), Zero),
            ),
            (
                "METADATA (/private/comment /shared/x MAXSIZE 9 DEPTH 1)",
                metadata(two, Some(9), One),
            ),
            (
                "METADATA (/private/comment) (MAXSIZE 9 DEPTH infinity)",
                metadata(&[c], Some(9), Infinity),
            ),
            (
                "METADATA (DEPTH 1 /private/comment) (MAXSIZE 9)",
                metadata(&[c], Some(9), One),
            ),
            (
                "CHILDREN METADATA (/private/comment (/shared/x)) SUBSCRIBED",
                metadata(two, None, Zero),
            ),
        ] {
            assert_eq!(list_return(ret), Some(want), "{ret}");
        }
    }

    #[test]
    fn malformed_options_are_refused() {
        for ret in [
            "METADATA",
            "METADATA ()",
            "METADATA (DEPTH 1)",
            "METADATA ((DEPTH 1))",
            "METADATA (DEPTH 2 /private/a)",
            "METADATA (DEPTH 1 DEPTH 0 /private/a)",
            "METADATA ((DEPTH 1) /private/a) (DEPTH 0)",
            "METADATA (MAXSIZE 1 /private/a) (MAXSIZE 2)",
            "METADATA (/private/a (DEPTH 1 /private/b))",
            "METADATA ((/private/a MAXSIZE 1))",
            "METADATA (/private/a) (/private/b)",
            "METADATA (/private/a) ()",
            "METADATA ((/private/a)",
            "METADATA (MAXSIZE x /private/a)",
            "METADATA (/nope)",
        ] {
            let line = format!("a LIST \"\" * RETURN ({ret})\r\n");
            assert!(parse_command(line.as_bytes()).is_err(), "{ret}");
        }
    }
}
