//! CATENATE (RFC 4469): APPEND of messages built on the server from TEXT
//! literals and URLs naming messages, or parts of them, that the user can
//! already read.
//!
//! Each URL (`wire::catenate::ImapUrl`) is resolved in turn through
//! [`StoreRequest::UrlMessage`], which reads the message with the rights
//! a FETCH needs (RFC 4469 3: "the server MUST verify that the user has
//! access"): one of the user's own mailboxes, or a shared one with `l` and
//! `r` (RFC 4314). A mailbox the user cannot read answers exactly like a
//! missing one, and like a wrong UIDVALIDITY, a message that is gone or a
//! section that does not exist: `NO [BADURL url]` (RFC 4469 5), and
//! nothing is appended. A relative URL is relative to the selected
//! mailbox (so it inherits its UIDVALIDITY); with no mailbox selected it is
//! a bad URL.
//!
//! The built messages are then appended as MULTIAPPEND appends (all or
//! none, one `APPENDUID` with the UID set, RFC 4315 and RFC 3502; see
//! `multiappend`), or, for a REPLACE whose message is built so (RFC 8508
//! 4.3), replace the old message as `replace` does. Limits: at most `MAX_CATENATE_PARTS` parts in one
//! APPEND (a parse error beyond), MESSAGELIMIT messages, and the octets
//! of all built messages together at most APPENDLIMIT (the largest
//! literal): `NO [TOOBIG]` as soon as a part would pass it, before any
//! further URL is read.

use super::selected::parse_flags;
use super::{AppendItem, Flow, Job, Reply, Request, Session, State, StoreReply, StoreRequest};
use super::{store_reply, unexpected};
use crate::error::{CmdError, CmdResult};
use crate::message::section;
use crate::wire::catenate::{CatPart, CatenateMessage, ImapUrl, badurl_text};
use crate::wire::command::MailboxArg;
use crate::wire::response::Code;
use sealpost_store::{AccountId, Flags, MailboxName, Uid};
use std::collections::VecDeque;

/// A CATENATE APPEND in progress.
pub(crate) struct CatenateJob {
    account: AccountId,
    mailbox: MailboxName,
    /// Messages still being built, the current one first.
    todo: VecDeque<Pending>,
    /// Messages built.
    built: Vec<AppendItem>,
    /// The current message's content so far.
    current: Vec<u8>,
    /// The URL whose message is being read, as sent and as parsed.
    waiting: Option<(String, ImapUrl)>,
    /// Octets of all messages so far.
    total: u64,
    /// A REPLACE (UID or not, the message it replaces) rather than an
    /// APPEND (RFC 8508 4.3).
    replace: Option<(bool, u32)>,
}

struct Pending {
    flags: Flags,
    date: Option<i64>,
    parts: VecDeque<CatPart>,
}

impl Session {
    pub(super) fn catenate(
        &mut self,
        dest: MailboxArg,
        messages: Vec<CatenateMessage>,
        replace: Option<(bool, u32)>,
    ) -> Flow {
        if replace.is_some() && !matches!(self.state, State::Selected(..)) {
            return Flow::Done(Err(CmdError::bad(None, "No mailbox selected")));
        }
        if messages.len() > self.config.message_limit as usize {
            return Flow::Done(Err(super::limit::over_limit(self.config.message_limit)));
        }
        let plan = || -> CmdResult<Box<CatenateJob>> {
            let todo = messages
                .into_iter()
                .map(|m| {
                    Ok(Pending {
                        flags: parse_flags(&m.flags)?,
                        date: m.date,
                        parts: m.parts.into(),
                    })
                })
                .collect::<CmdResult<_>>()?;
            Ok(Box::new(CatenateJob {
                account: self.account()?.id,
                mailbox: self.mailbox_name(&dest)?,
                todo,
                built: Vec::new(),
                current: Vec::new(),
                waiting: None,
                total: 0,
                replace,
            }))
        };
        match plan() {
            Ok(job) => self.catenate_next(job),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn catenate_resume(&mut self, mut job: Box<CatenateJob>, reply: Reply) -> Flow {
        let Some((text, url)) = job.waiting.take() else {
            return Flow::Done(Err(unexpected()));
        };
        let raw = match store_reply(reply) {
            Ok(StoreReply::Message { raw, .. }) => raw,
            Ok(_) => return Flow::Done(Err(unexpected())),
            Err(e) => return Flow::Done(Err(e)),
        };
        let Some(part) = raw.and_then(|raw| url_part(&raw, &url)) else {
            return Flow::Done(Err(bad_url(&text)));
        };
        if let Err(e) = job.add(&part, self.config.max_literal) {
            return Flow::Done(Err(e));
        }
        self.catenate_next(job)
    }

    /// Builds on until a URL must be read or every message is built.
    fn catenate_next(&mut self, mut job: Box<CatenateJob>) -> Flow {
        loop {
            let Some(message) = job.todo.front_mut() else {
                if let Some((uid, target)) = job.replace {
                    let Some(item) = job.built.pop() else {
                        return Flow::Done(Err(unexpected()));
                    };
                    return self.replace_with(uid, target, job.mailbox, item);
                }
                let request = StoreRequest::AppendAll {
                    account: job.account,
                    mailbox: job.mailbox,
                    messages: job.built,
                };
                return Flow::Need(Request::Store(request), Job::MultiAppend);
            };
            match message.parts.pop_front() {
                Some(CatPart::Text(text)) => {
                    if let Err(e) = job.add(&text, self.config.max_literal) {
                        return Flow::Done(Err(e));
                    }
                }
                Some(CatPart::Url(text)) => {
                    return match self.url_request(job.account, &text) {
                        Ok((request, url)) => {
                            job.waiting = Some((text, url));
                            Flow::Need(Request::Store(request), Job::Catenate(job))
                        }
                        Err(e) => Flow::Done(Err(e)),
                    };
                }
                None => {
                    let Some(done) = job.todo.pop_front() else {
                        return Flow::Done(Err(unexpected()));
                    };
                    if job.current.is_empty() {
                        return Flow::Done(Err(CmdError::no(Some(Code::Cannot), "Empty message")));
                    }
                    let message = std::mem::take(&mut job.current);
                    job.built.push(AppendItem {
                        message,
                        flags: done.flags,
                        date: done.date,
                    });
                }
            }
        }
    }

    /// The request that reads what `text` names, or `BADURL`.
    fn url_request(&self, user: AccountId, text: &str) -> CmdResult<(StoreRequest, ImapUrl)> {
        let url = ImapUrl::parse(text).ok_or_else(|| bad_url(text))?;
        if let Some(u) = &url.user {
            let me = self.account()?.address;
            if !u.eq_ignore_ascii_case(&me) {
                return Err(bad_url(text));
            }
        }
        let (mailbox, uid_validity) = match (&url.mailbox, &self.state) {
            (Some(name), _) => (
                MailboxName::new(name).map_err(|_| bad_url(text))?,
                url.uid_validity,
            ),
            // RFC 3986 5.2: `;UID=n` against `/<selected>;UIDVALIDITY=v/`.
            (None, State::Selected(_, sel)) => {
                (sel.info.name.clone(), Some(sel.info.uid_validity.0))
            }
            (None, _) => return Err(bad_url(text)),
        };
        let request = StoreRequest::UrlMessage {
            user,
            mailbox,
            uid_validity,
            uid: Uid(url.uid),
        };
        Ok((request, url))
    }
}

impl CatenateJob {
    /// Adds octets to the current message, within APPENDLIMIT for all.
    fn add(&mut self, bytes: &[u8], limit: u64) -> CmdResult<()> {
        let total = self.total.saturating_add(bytes.len() as u64);
        if total > limit {
            return Err(CmdError::no(
                Some(Code::TooBig),
                format!("Message too large (APPENDLIMIT is {limit} octets)"),
            ));
        }
        self.total = total;
        self.current.extend_from_slice(bytes);
        Ok(())
    }
}

/// The section (and range) of `raw` that `url` names; `None` if it does
/// not exist.
fn url_part(raw: &[u8], url: &ImapUrl) -> Option<Vec<u8>> {
    let data = match &url.section {
        Some(spec) => section(raw, spec)?,
        None => raw.to_vec(),
    };
    Some(match url.partial {
        None => data,
        Some((offset, length)) => {
            let start = (offset as usize).min(data.len());
            let end = match length {
                Some(l) => start.saturating_add(l as usize).min(data.len()),
                None => data.len(),
            };
            data[start..end].to_vec()
        }
    })
}

fn bad_url(text: &str) -> CmdError {
    CmdError::no(
        Some(Code::BadUrl(badurl_text(text))),
        "CATENATE: the URL names nothing this user can read",
    )
}
