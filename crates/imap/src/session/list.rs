//! LIST (RFC 9051 6.3.9 with RFC 5258 LIST-EXTENDED, RFC 5819
//! LIST-STATUS, RFC 3348 CHILDREN, RFC 6154 SPECIAL-USE) and LSUB
//! (RFC 3501 6.3.9).
//!
//! Both read the account's mailboxes and subscriptions in one request
//! ([`StoreRequest::MailboxTree`]); LIST-STATUS then asks for the counters
//! of the mailboxes that met the selection ([`StoreRequest::Statuses`])
//! and writes each STATUS line right after its LIST line; LIST-METADATA
//! (RFC 9590, `list_metadata.rs`) then adds each mailbox's METADATA.
//!
//! Parents that do not exist (a child was created by another client or
//! survived a DELETE) are listed with `\NonExistent` (`\Noselect` for
//! IMAP4rev1) when a pattern matches them.

use super::mailbox::status_line;
use super::{Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{ListMetadata, ListOptions, MailboxArg, StatusItem};
use crate::wire::mutf7;
use crate::wire::response::{Code, Out};
use sealpost_store::{MailboxId, MailboxInfo, MailboxName, MailboxStatus, SpecialUse};
use std::collections::{BTreeMap, HashMap};

/// Longest LIST pattern, in octets.
const MAX_PATTERN: usize = 1024;

/// What LIST knows about one name.
#[derive(Default)]
struct Entry {
    exists: bool,
    special_use: Option<SpecialUse>,
    subscribed: bool,
    /// A descendant is subscribed (RFC 5258 CHILDINFO "SUBSCRIBED").
    subscribed_child: bool,
    has_children: bool,
    id: Option<MailboxId>,
}

/// A LIST response line, and the mailbox whose STATUS (and METADATA,
/// `list_metadata.rs`) follows it.
pub(crate) struct Line {
    pub(super) text: String,
    pub(super) wire_name: String,
    status_of: Option<MailboxId>,
    /// The mailbox whose METADATA follows (one that exists and met the
    /// selection).
    pub(super) metadata_of: Option<MailboxName>,
    /// Lines written right after it (its STATUS).
    pub(super) after: Vec<String>,
}

/// A LIST or LSUB waiting for the store.
pub(crate) enum ListJob {
    /// LIST waits for the mailbox tree.
    List {
        patterns: Vec<Vec<char>>,
        options: ListOptions,
    },
    /// LIST-STATUS waits for the counters; the lines are ready.
    Statuses {
        lines: Vec<Line>,
        items: Vec<StatusItem>,
        metadata: Option<ListMetadata>,
    },
    /// LIST-METADATA waits for the entries; lines and statuses are ready.
    Metadata {
        lines: Vec<Line>,
        metadata: ListMetadata,
    },
    /// LSUB waits for the mailbox tree.
    Lsub { pattern: Vec<char> },
}

/// Whether `name` matches an IMAP LIST pattern (`*` anything, `%` anything
/// but the separator). Dynamic programming over both strings: linear in
/// their product, no backtracking blow-up.
pub(crate) fn pattern_matches(pattern: &[char], name: &[char]) -> bool {
    let m = name.len();
    let mut prev = vec![false; m + 1];
    prev[0] = true;
    for &p in pattern {
        let mut cur = vec![false; m + 1];
        match p {
            '*' => {
                cur[0] = prev[0];
                for j in 1..=m {
                    cur[j] = prev[j] || cur[j - 1];
                }
            }
            '%' => {
                cur[0] = prev[0];
                for j in 1..=m {
                    cur[j] = prev[j] || (cur[j - 1] && name[j - 1] != '/');
                }
            }
            c => {
                for j in 1..=m {
                    cur[j] = prev[j - 1] && name[j - 1] == c;
                }
            }
        }
        prev = cur;
    }
    prev[m]
}

/// Every name LIST may show: existing mailboxes, their missing parents,
/// and subscribed names.
fn entries(boxes: Vec<MailboxInfo>, subs: Vec<MailboxName>) -> BTreeMap<String, Entry> {
    let mut map: BTreeMap<String, Entry> = BTreeMap::new();
    for b in boxes {
        let mut p = b.name.parent();
        while let Some(parent) = p {
            map.entry(parent.as_str().to_string())
                .or_default()
                .has_children = true;
            p = parent.parent();
        }
        let e = map.entry(b.name.as_str().to_string()).or_default();
        e.exists = true;
        e.special_use = b.special_use;
        e.id = Some(b.id);
    }
    for s in subs {
        let mut p = s.parent();
        while let Some(parent) = p {
            map.entry(parent.as_str().to_string())
                .or_default()
                .subscribed_child = true;
            p = parent.parent();
        }
        map.entry(s.as_str().to_string()).or_default().subscribed = true;
    }
    map
}

impl Session {
    fn wire_pattern(&self, arg: &MailboxArg) -> CmdResult<String> {
        self.pattern_text(arg)?
            .ok_or_else(|| CmdError::bad(None, "Invalid modified UTF-7 in pattern"))
    }

    /// A pattern from the wire; `None` when it is not valid modified
    /// UTF-7, which no mailbox name can match (LIST then answers OK with
    /// no match, as Dovecot does).
    fn pattern_text(&self, arg: &MailboxArg) -> CmdResult<Option<String>> {
        if arg.0.len() > MAX_PATTERN {
            return Err(CmdError::bad(Some(Code::Limit), "Pattern too long"));
        }
        if self.utf8_names() {
            Ok(Some(arg.0.clone()))
        } else {
            Ok(mutf7::decode(&arg.0).ok())
        }
    }

    fn tree_request(&self) -> CmdResult<Request> {
        Ok(Request::Store(StoreRequest::MailboxTree {
            account: self.account()?.id,
        }))
    }

    pub(super) fn list(
        &mut self,
        reference: MailboxArg,
        patterns: Vec<MailboxArg>,
        options: ListOptions,
        out: &mut Out,
    ) -> Flow {
        let plan = || -> CmdResult<Option<Vec<Vec<char>>>> {
            let reference = self.pattern_text(&reference)?;
            if patterns.len() == 1 && patterns[0].0.is_empty() && !options.extended {
                // The hierarchy delimiter query (RFC 9051 6.3.9).
                return Ok(None);
            }
            let mut pats = Vec::new();
            for p in &patterns {
                let (Some(reference), Some(p)) = (&reference, self.pattern_text(p)?) else {
                    // Not modified UTF-7: matches nothing.
                    continue;
                };
                if p.is_empty() {
                    continue;
                }
                let mut full = format!("{reference}{p}");
                // Bytes, not a str slice: byte 5 of a pattern like "*N-té"
                // may fall inside a character (an ASCII "INBOX" prefix
                // never does).
                if full
                    .as_bytes()
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"INBOX"))
                {
                    let rest = &full[5..];
                    if rest.is_empty() || rest.starts_with('/') {
                        full = format!("INBOX{rest}");
                    }
                }
                pats.push(full.chars().collect());
            }
            Ok(Some(pats))
        };
        let patterns = match plan() {
            Ok(Some(p)) => p,
            Ok(None) => {
                out.untagged("LIST (\\Noselect) \"/\" \"\"");
                return Flow::Done(super::Done::ok("LIST completed"));
            }
            Err(e) => return Flow::Done(Err(e)),
        };
        match self.tree_request() {
            Ok(r) => Flow::Need(r, Job::List(Box::new(ListJob::List { patterns, options }))),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn lsub(&mut self, reference: MailboxArg, pattern: MailboxArg) -> Flow {
        let plan = || -> CmdResult<(Request, Vec<char>)> {
            let reference = self.wire_pattern(&reference)?;
            let pattern = self.wire_pattern(&pattern)?;
            Ok((
                self.tree_request()?,
                format!("{reference}{pattern}").chars().collect(),
            ))
        };
        match plan() {
            Ok((r, pattern)) => Flow::Need(r, Job::List(Box::new(ListJob::Lsub { pattern }))),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn list_resume(&mut self, job: ListJob, reply: Reply, out: &mut Out) -> Flow {
        let reply = match store_reply(reply) {
            Ok(r) => r,
            Err(e) => return Flow::Done(Err(e)),
        };
        match (job, reply) {
            (ListJob::List { patterns, options }, StoreReply::Tree(boxes, subs)) => {
                self.list_lines(&patterns, &options, entries(boxes, subs), out)
            }
            (
                ListJob::Statuses {
                    mut lines,
                    items,
                    metadata,
                },
                StoreReply::Statuses(statuses),
            ) => {
                let statuses: HashMap<MailboxId, MailboxStatus> = statuses
                    .into_iter()
                    .filter_map(|(id, st)| Some((id, st?)))
                    .collect();
                for line in &mut lines {
                    let status = line.status_of.and_then(|id| Some((id, statuses.get(&id)?)));
                    if let Some((mailbox, st)) = status {
                        let id = self.mailbox_object_id(mailbox, st.uid_validity);
                        line.after
                            .push(status_line(&line.wire_name, st, &items, &id));
                    }
                }
                match metadata {
                    Some(m) => self.list_metadata(lines, m),
                    None => write_lines(lines, out),
                }
            }
            (ListJob::Metadata { lines, metadata }, StoreReply::MetadataOf(all)) => {
                self.list_metadata_resume(lines, metadata, all, out)
            }
            (ListJob::Lsub { pattern }, StoreReply::Tree(boxes, subs)) => {
                self.lsub_lines(&pattern, entries(boxes, subs), out);
                Flow::Done(super::Done::ok("LSUB completed"))
            }
            _ => Flow::Done(Err(super::unexpected())),
        }
    }

    fn list_lines(
        &mut self,
        patterns: &[Vec<char>],
        opts: &ListOptions,
        entries: BTreeMap<String, Entry>,
        out: &mut Out,
    ) -> Flow {
        let rev2 = self.enabled.rev2;
        let show_subscribed = opts.subscribed || opts.return_subscribed;
        let mut lines: Vec<Line> = Vec::new();
        for (name, e) in &entries {
            let chars: Vec<char> = name.chars().collect();
            if !patterns.iter().any(|p| pattern_matches(p, &chars)) {
                continue;
            }
            // RFC 5258 3.1 RECURSIVEMATCH: a name matching the pattern
            // with a subscribed descendant (matching the pattern or not) is
            // listed with CHILDINFO, even when it is not subscribed itself.
            let child_info = opts.recursive_match
                && e.subscribed_child
                && hidden_subscribed_child(&entries, name, patterns);
            if opts.subscribed && !e.subscribed && !child_info {
                continue;
            }
            let selected = !opts.subscribed || e.subscribed;
            if opts.special_use && e.special_use.is_none() {
                continue;
            }
            if !e.exists && !e.subscribed && !e.has_children && !child_info {
                continue;
            }
            let mut attrs: Vec<&str> = Vec::new();
            if !e.exists {
                // RFC 5258 3.4: \NonExistent implies \Noselect; only one.
                attrs.push(if rev2 || opts.extended {
                    "\\NonExistent"
                } else {
                    "\\Noselect"
                });
            }
            attrs.push(if e.has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if show_subscribed && e.subscribed {
                attrs.push("\\Subscribed");
            }
            if let Some(u) = e.special_use {
                attrs.push(u.attribute());
            }
            let extended = if child_info {
                " (\"CHILDINFO\" (\"SUBSCRIBED\"))"
            } else {
                ""
            };
            let wire_name = self.wire_name(name);
            lines.push(Line {
                text: format!("LIST ({}) \"/\" {wire_name}{extended}", attrs.join(" ")),
                wire_name,
                // RFC 5819: STATUS for the mailboxes that met the
                // selection, not for those listed only for their children.
                status_of: if selected { e.id } else { None },
                metadata_of: (selected && e.exists)
                    .then(|| MailboxName::new(name).ok())
                    .flatten(),
                after: Vec::new(),
            });
        }
        let Some(items) = opts.return_status.clone() else {
            return match opts.return_metadata.clone() {
                Some(m) => self.list_metadata(lines, m),
                None => write_lines(lines, out),
            };
        };
        let mailboxes: Vec<MailboxId> = lines.iter().filter_map(|l| l.status_of).collect();
        let account = match self.account() {
            Ok(a) => a.id,
            Err(e) => return Flow::Done(Err(e)),
        };
        Flow::Need(
            Request::Store(StoreRequest::Statuses { account, mailboxes }),
            Job::List(Box::new(ListJob::Statuses {
                lines,
                items,
                metadata: opts.return_metadata.clone(),
            })),
        )
    }

    fn lsub_lines(&mut self, pattern: &[char], entries: BTreeMap<String, Entry>, out: &mut Out) {
        let matches = |name: &str| pattern_matches(pattern, &name.chars().collect::<Vec<_>>());
        // Subscribed names the pattern does not reach, for RFC 3501 6.3.9:
        // with "%", a subscribed "foo/bar" under an unsubscribed "foo" shows
        // as "foo" flagged \Noselect.
        let unreached: Vec<&str> = entries
            .iter()
            .filter(|(name, e)| e.subscribed && !matches(name))
            .map(|(name, _)| name.as_str())
            .collect();
        for (name, e) in &entries {
            if !matches(name) {
                continue;
            }
            let attrs = if e.subscribed {
                if e.exists { "" } else { "\\Noselect" }
            } else if e.subscribed_child
                && unreached.iter().any(|s| {
                    s.strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
                })
            {
                "\\Noselect"
            } else {
                continue;
            };
            out.untagged(&format!("LSUB ({attrs}) \"/\" {}", self.wire_name(name)));
        }
    }
}

/// Writes the LIST lines, each followed by its own (STATUS) lines.
pub(super) fn write_lines(lines: Vec<Line>, out: &mut Out) -> Flow {
    for line in lines {
        out.untagged(&line.text);
        for after in &line.after {
            out.untagged(after);
        }
    }
    Flow::Done(super::Done::ok("LIST completed"))
}

/// Whether `name` has a subscribed descendant that the patterns do not
/// list by itself. RFC 5258 3.5: CHILDINFO tells the client of matching
/// children it would not otherwise see; with `*`, they are listed anyway
/// and the parent gets no CHILDINFO.
fn hidden_subscribed_child(
    entries: &BTreeMap<String, Entry>,
    name: &str,
    patterns: &[Vec<char>],
) -> bool {
    let prefix = format!("{name}/");
    entries
        .range::<str, _>((
            std::ops::Bound::Included(prefix.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(n, _)| n.starts_with(&prefix))
        .any(|(n, e)| {
            let chars: Vec<char> = n.chars().collect();
            e.subscribed && !patterns.iter().any(|p| pattern_matches(p, &chars))
        })
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    fn m(p: &str, n: &str) -> bool {
        pattern_matches(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "a/b/c"));
        assert!(m("%", "a"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("INBOX", "INBOX"));
        assert!(!m("INBOX", "INBOX/x"));
        assert!(m("*x*y*", "axbyc"));
        assert!(!m("", "a"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let p = "*a".repeat(500);
        let n = "a".repeat(1000) + "b";
        let t = std::time::Instant::now();
        assert!(!m(&p, &n));
        assert!(t.elapsed().as_secs() < 2);
    }
}
