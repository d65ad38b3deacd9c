//! SEARCH arguments (RFC 9051 6.4.4, RFC 4731 ESEARCH RETURN options,
//! RFC 5182 SAVE and `$`, RFC 5032 WITHIN, RFC 7162 MODSEQ, RFC 8514
//! SAVEDATE).

use super::{BodyError, Cursor, R};
use crate::wire::command::*;

/// Deepest nesting of parentheses, NOT and OR in one SEARCH.
pub const MAX_SEARCH_DEPTH: usize = 32;
/// Most keys in one SEARCH (all levels together).
const MAX_SEARCH_KEYS: usize = 1000;

pub(super) fn search(c: &mut Cursor, uid: bool) -> Result<CommandKind, BodyError> {
    c.sp()?;
    let mut ret = SearchReturn::default();
    if c.keyword("RETURN") {
        ret = return_opts(c, true)?;
        c.sp()?;
    }
    if c.keyword("CHARSET") {
        c.sp()?;
        charset(c)?;
        c.sp()?;
    }
    let key = keys(c)?;
    Ok(CommandKind::Search { uid, ret, key })
}

/// ` SP "(" [return-opt *(SP return-opt)] ")"` after RETURN: RFC 4731
/// MIN, MAX, ALL, COUNT; RFC 5182 SAVE (SEARCH only, `save`); RFC 9394
/// PARTIAL; RFC 5267 CONTEXT (a hint, accepted and ignored) and UPDATE.
fn return_opts(c: &mut Cursor, save: bool) -> R<SearchReturn> {
    c.sp()?;
    c.expect(b'(', "expected (")?;
    let mut ret = SearchReturn {
        extended: true,
        ..SearchReturn::default()
    };
    let mut context = false;
    while !c.eat(b')') {
        c.eat(b' ');
        let a = c.atom()?.to_ascii_uppercase();
        let seen = match a.as_str() {
            "MIN" => std::mem::replace(&mut ret.min, true),
            "MAX" => std::mem::replace(&mut ret.max, true),
            "ALL" => std::mem::replace(&mut ret.all, true),
            "COUNT" => std::mem::replace(&mut ret.count, true),
            "SAVE" if save => std::mem::replace(&mut ret.save, true),
            "UPDATE" => std::mem::replace(&mut ret.update, true),
            "CONTEXT" => std::mem::replace(&mut context, true),
            "PARTIAL" if ret.partial.is_none() => {
                c.sp()?;
                ret.partial = Some(partial_range(c)?);
                false
            }
            _ => true,
        };
        if seen {
            return Err("unknown or repeated return option");
        }
    }
    // RFC 9394 3.1: one PARTIAL or one ALL, not both.
    if ret.all && ret.partial.is_some() {
        return Err("PARTIAL and ALL exclude each other");
    }
    // RFC 4731 3.1: `RETURN ()` means ALL (so does a mere CONTEXT hint);
    // SAVE alone returns nothing (RFC 5182 2.4), and neither does UPDATE
    // alone: its answers are the ADDTO and REMOVEFROM that follow.
    if !(ret.min || ret.max || ret.count || ret.save || ret.update || ret.partial.is_some()) {
        ret.all = true;
    }
    Ok(ret)
}

/// `CANCELUPDATE 1*(SP quoted)` (RFC 5267 4.3.5), at most 100 tags.
pub(super) fn cancel_update(c: &mut Cursor) -> R<CommandKind> {
    let mut tags = Vec::new();
    while c.eat(b' ') {
        let tag = String::from_utf8(c.quoted()?).map_err(|_| "a tag is ASCII")?;
        tags.push(tag);
        if tags.len() > 100 {
            return Err("too many tags");
        }
    }
    if tags.is_empty() {
        return Err("CANCELUPDATE needs a tag");
    }
    Ok(CommandKind::CancelUpdate(tags))
}

/// `partial-range` (RFC 9394 section 4): `nz-number ":" nz-number` or
/// `"-" nz-number ":" "-" nz-number`, 32-bit, no `*`.
pub(super) fn partial_range(c: &mut Cursor) -> R<PartialRange> {
    let from_end = c.eat(b'-');
    let a = c.nz_number()?;
    c.expect(b':', "expected : in a PARTIAL range")?;
    if c.eat(b'-') != from_end {
        return Err("both ends of a PARTIAL range take the same sign");
    }
    let b = c.nz_number()?;
    Ok(PartialRange { from_end, a, b })
}

fn charset(c: &mut Cursor) -> Result<(), BodyError> {
    let cs = c.astring_utf8()?;
    if !cs.eq_ignore_ascii_case("UTF-8") && !cs.eq_ignore_ascii_case("US-ASCII") {
        return Err(BodyError::BadCharset);
    }
    Ok(())
}

/// `search-key *(SP search-key)`, as one key.
fn keys(c: &mut Cursor) -> R<SearchKey> {
    let mut count = 0;
    let mut keys = vec![key(c, 0, &mut count)?];
    while c.eat(b' ') {
        keys.push(key(c, 0, &mut count)?);
    }
    Ok(if keys.len() == 1 {
        keys.pop().unwrap_or(SearchKey::All)
    } else {
        SearchKey::And(keys)
    })
}

/// `SORT [RETURN (opts)] (criteria) charset keys` (RFC 5256 section 3,
/// RFC 5267 3: the return options of SEARCH but SAVE).
pub(super) fn sort(c: &mut Cursor, uid: bool) -> Result<CommandKind, BodyError> {
    c.sp()?;
    let mut ret = None;
    if c.keyword("RETURN") {
        ret = Some(return_opts(c, false)?);
        c.sp()?;
    }
    c.expect(b'(', "expected (")?;
    let mut criteria = Vec::new();
    loop {
        let reverse = c.keyword("REVERSE");
        if reverse {
            c.sp()?;
        }
        let name = c.atom()?.to_ascii_uppercase();
        let key = match name.as_str() {
            "ARRIVAL" => SortKey::Arrival,
            "CC" => SortKey::Cc,
            "DATE" => SortKey::Date,
            "FROM" => SortKey::From,
            "SIZE" => SortKey::Size,
            "SUBJECT" => SortKey::Subject,
            "TO" => SortKey::To,
            "DISPLAYFROM" => SortKey::DisplayFrom,
            "DISPLAYTO" => SortKey::DisplayTo,
            _ => return Err("unknown sort key".into()),
        };
        criteria.push(SortCriterion { reverse, key });
        if criteria.len() > 16 {
            return Err("too many sort keys".into());
        }
        if c.eat(b')') {
            break;
        }
        c.sp()?;
    }
    c.sp()?;
    charset(c)?;
    c.sp()?;
    let key = keys(c)?;
    Ok(CommandKind::Sort {
        uid,
        ret,
        criteria,
        key,
    })
}

/// `THREAD algorithm charset keys` (RFC 5256 section 3).
pub(super) fn thread(c: &mut Cursor, uid: bool) -> Result<CommandKind, BodyError> {
    c.sp()?;
    let algorithm = match c.atom()?.to_ascii_uppercase().as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        _ => return Err("unknown THREAD algorithm".into()),
    };
    c.sp()?;
    charset(c)?;
    c.sp()?;
    let key = keys(c)?;
    Ok(CommandKind::Thread {
        uid,
        algorithm,
        key,
    })
}

fn text(c: &mut Cursor) -> R<String> {
    c.sp()?;
    c.astring_utf8()
}

fn date(c: &mut Cursor) -> R<Date> {
    c.sp()?;
    c.date()
}

fn num(c: &mut Cursor) -> R<u32> {
    c.sp()?;
    c.number()
}

fn key(c: &mut Cursor, depth: usize, count: &mut usize) -> R<SearchKey> {
    if depth > MAX_SEARCH_DEPTH {
        return Err("search too deeply nested");
    }
    *count += 1;
    if *count > MAX_SEARCH_KEYS {
        return Err("too many search keys");
    }
    use SearchKey as S;
    if c.eat(b'(') {
        let mut keys = vec![key(c, depth + 1, count)?];
        while c.eat(b' ') {
            keys.push(key(c, depth + 1, count)?);
        }
        c.expect(b')', "expected )")?;
        return Ok(if keys.len() == 1 {
            keys.pop().unwrap_or(S::All)
        } else {
            S::And(keys)
        });
    }
    if c.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*') {
        return Ok(S::SequenceSet(c.sequence_set()?));
    }
    if c.eat(b'$') {
        return Ok(S::Saved);
    }
    let name = c.atom()?.to_ascii_uppercase();
    Ok(match name.as_str() {
        "ALL" => S::All,
        "ANSWERED" => S::Answered,
        "BCC" => S::Bcc(text(c)?),
        "BEFORE" => S::Before(date(c)?),
        "BODY" => S::Body(text(c)?),
        "CC" => S::Cc(text(c)?),
        "DELETED" => S::Deleted,
        "DRAFT" => S::Draft,
        "FLAGGED" => S::Flagged,
        "FROM" => S::From(text(c)?),
        "HEADER" => {
            let name = text(c)?;
            S::Header(name, text(c)?)
        }
        "KEYWORD" => {
            c.sp()?;
            S::Keyword(c.atom()?.to_string())
        }
        "LARGER" => S::Larger(num(c)?),
        "NEW" => S::New,
        "NOT" => {
            c.sp()?;
            S::Not(Box::new(key(c, depth + 1, count)?))
        }
        "OLD" => S::Old,
        "ON" => S::On(date(c)?),
        "OR" => {
            c.sp()?;
            let a = key(c, depth + 1, count)?;
            c.sp()?;
            let b = key(c, depth + 1, count)?;
            S::Or(Box::new(a), Box::new(b))
        }
        "RECENT" => S::Recent,
        "SEEN" => S::Seen,
        "SENTBEFORE" => S::SentBefore(date(c)?),
        "SENTON" => S::SentOn(date(c)?),
        "SENTSINCE" => S::SentSince(date(c)?),
        "SINCE" => S::Since(date(c)?),
        "SMALLER" => S::Smaller(num(c)?),
        "SUBJECT" => S::Subject(text(c)?),
        "EMAILID" => S::EmailId(super::objectid(c)?),
        "THREADID" => S::ThreadId(super::objectid(c)?),
        "TEXT" => S::Text(text(c)?),
        "TO" => S::To(text(c)?),
        "UID" => {
            c.sp()?;
            match c.message_set()? {
                MessageSet::Set(set) => S::Uid(set),
                MessageSet::Saved => S::Saved,
            }
        }
        "UNANSWERED" => S::Unanswered,
        "UNDELETED" => S::Undeleted,
        "UNDRAFT" => S::Undraft,
        "UNFLAGGED" => S::Unflagged,
        "UNKEYWORD" => {
            c.sp()?;
            S::Unkeyword(c.atom()?.to_string())
        }
        "UNSEEN" => S::Unseen,
        "MODSEQ" => {
            c.sp()?;
            // Optional entry name and type (RFC 7162 3.1.5): accepted, ignored.
            if c.peek() == Some(b'"') {
                c.quoted()?;
                c.sp()?;
                c.atom()?;
                c.sp()?;
            }
            S::ModSeq(c.number64()?)
        }
        "OLDER" => S::Older(num(c)?),
        "YOUNGER" => S::Younger(num(c)?),
        "SAVEDBEFORE" => S::SaveDateBefore(date(c)?),
        "SAVEDON" => S::SaveDateOn(date(c)?),
        "SAVEDSINCE" => S::SaveDateSince(date(c)?),
        "SAVEDATESUPPORTED" => S::SaveDateSupported,
        _ => return Err("unknown search key"),
    })
}
