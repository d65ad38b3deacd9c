//! The command parser: one framed command (see [`crate::wire::framer`]) in,
//! a typed [`Command`] or a [`ParseError`] out (RFC 9051 section 9 grammar,
//! plus the extensions in the capability list).
//!
//! Command names and keywords are case-insensitive. Recursion (SEARCH
//! parentheses, NOT, OR) is bounded by [`MAX_SEARCH_DEPTH`], and list
//! lengths are bounded, so no input can exhaust the stack or memory beyond
//! what the framer let in.

mod acl;
mod append;
mod catenate;
mod cursor;
mod fetch;
mod mailbox;
mod metadata;
mod notify;
mod search;

pub use append::MAX_MULTIAPPEND;
pub(crate) use catenate::url_section;
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

/// ` SP mailbox`, the argument of DELETE, SUBSCRIBE and the like.
fn sp_mailbox(c: &mut Cursor) -> R<MailboxArg> {
    c.sp()?;
    mailbox(c)
}

/// The arguments of the command `name` (upper-cased); `None` for an
/// unknown command. One line per command: the longer grammars have their
/// own functions, by family (here the session-wide and authentication
/// commands; `mailbox` for the mailbox commands, `fetch` for FETCH and
/// STORE, `search` for SEARCH, SORT and THREAD).
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
        "LOGIN" => login(c)?,
        "AUTHENTICATE" => authenticate(c)?,
        "ENABLE" => enable(c)?,
        "ID" => id(c)?,
        "COMPRESS" => {
            c.sp()?;
            K::Compress(c.atom()?.to_ascii_uppercase())
        }
        "SELECT" | "EXAMINE" => mailbox::select(c, name == "EXAMINE")?,
        "CREATE" => mailbox::create(c)?,
        "DELETE" => K::Delete(sp_mailbox(c)?),
        "RENAME" => mailbox::rename(c)?,
        "SUBSCRIBE" => K::Subscribe(sp_mailbox(c)?),
        "UNSUBSCRIBE" => K::Unsubscribe(sp_mailbox(c)?),
        "LIST" => mailbox::list(c)?,
        "LSUB" => mailbox::lsub(c)?,
        "STATUS" => mailbox::status(c)?,
        "APPEND" => append::append(c)?,
        "REPLACE" => append::replace(c, false)?,
        "SEARCH" => search::search(c, false)?,
        "SORT" => search::sort(c, false)?,
        "THREAD" => search::thread(c, false)?,
        "CANCELUPDATE" => search::cancel_update(c)?,
        "GETMETADATA" => metadata::get(c)?,
        "SETMETADATA" => metadata::set(c)?,
        "NOTIFY" => notify::notify(c)?,
        "FETCH" => fetch::fetch(c, false)?,
        "STORE" => fetch::store(c, false)?,
        "COPY" | "MOVE" => copy_move(c, name == "MOVE", false)?,
        "UID" => uid(c)?,
        "GETQUOTA" => {
            c.sp()?;
            K::GetQuota(c.astring_utf8()?)
        }
        "GETQUOTAROOT" => K::GetQuotaRoot(sp_mailbox(c)?),
        "SETQUOTA" => set_quota(c)?,
        "SETACL" | "DELETEACL" | "GETACL" | "LISTRIGHTS" | "MYRIGHTS" => acl::acl(c, name)?,
        _ => return Ok(None),
    };
    c.end()?;
    Ok(Some(kind))
}

/// `LOGIN SP userid SP password`.
fn login(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    let user = c.astring_utf8()?;
    c.sp()?;
    let password = Secret::new(c.astring_utf8()?);
    Ok(CommandKind::Login { user, password })
}

/// `AUTHENTICATE SP mechanism [SP initial-response]` (RFC 4959 SASL-IR).
fn authenticate(c: &mut Cursor) -> R<CommandKind> {
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
    Ok(CommandKind::Authenticate { mechanism, initial })
}

/// `ENABLE 1*(SP capability)` (RFC 5161).
fn enable(c: &mut Cursor) -> R<CommandKind> {
    let mut caps = Vec::new();
    while c.eat(b' ') {
        caps.push(c.atom()?.to_ascii_uppercase());
        if caps.len() > 100 {
            return Err("too many capabilities");
        }
    }
    if caps.is_empty() {
        return Err("ENABLE needs a capability");
    }
    Ok(CommandKind::Enable(caps))
}

/// `ID SP ("(" string SP nstring *(SP string SP nstring) ")" / NIL)`
/// (RFC 2971), at most 30 fields.
fn id(c: &mut Cursor) -> R<CommandKind> {
    c.sp()?;
    if c.keyword("NIL") {
        return Ok(CommandKind::Id(None));
    }
    c.expect(b'(', "expected ( or NIL")?;
    let mut fields = Vec::new();
    if !c.eat(b')') {
        loop {
            let k = c.string_utf8()?;
            c.sp()?;
            let v = c.nstring_utf8()?;
            fields.push((k, v));
            if fields.len() > 30 {
                return Err("too many ID fields");
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    }
    Ok(CommandKind::Id(Some(fields)))
}

/// `UID SP (SEARCH / SORT / THREAD / FETCH / STORE / COPY / MOVE /
/// EXPUNGE) ...` (RFC 9051 6.4.9, RFC 4315 UID EXPUNGE).
fn uid(c: &mut Cursor) -> Result<CommandKind, BodyError> {
    c.sp()?;
    let sub = c.atom()?.to_ascii_uppercase();
    Ok(match sub.as_str() {
        "SEARCH" => search::search(c, true)?,
        "SORT" => search::sort(c, true)?,
        "THREAD" => search::thread(c, true)?,
        "FETCH" => fetch::fetch(c, true)?,
        "STORE" => fetch::store(c, true)?,
        "COPY" | "MOVE" => copy_move(c, sub == "MOVE", true)?,
        "REPLACE" => append::replace(c, true)?,
        "EXPUNGE" => {
            c.sp()?;
            CommandKind::Expunge {
                uids: Some(c.message_set()?),
            }
        }
        _ => return Err("unknown UID command".into()),
    })
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

/// ` SP objectid` (RFC 8474 section 7: 1*255 of ALPHA, DIGIT, `_`, `-`).
fn objectid(c: &mut Cursor) -> R<String> {
    c.sp()?;
    let id = c.take_while(
        |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
        "expected an object id",
    )?;
    if id.len() > 255 {
        return Err("object id too long");
    }
    Ok(id.to_string())
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

#[cfg(test)]
mod tests;
