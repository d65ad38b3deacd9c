//! Mailbox commands of the authenticated state: CREATE (RFC 9051 6.3.4,
//! RFC 6154 CREATE-SPECIAL-USE), DELETE (6.3.5), RENAME (6.3.6), SUBSCRIBE
//! and UNSUBSCRIBE (6.3.7-6.3.8), LIST (6.3.9 with RFC 5258 LIST-EXTENDED,
//! RFC 5819 LIST-STATUS, RFC 3348 CHILDREN, RFC 6154 SPECIAL-USE), LSUB
//! (RFC 3501 6.3.9), STATUS (6.3.11, RFC 8438 STATUS=SIZE), and QUOTA
//! (RFC 9208, one root `""` per account with the STORAGE resource;
//! GETQUOTA and GETQUOTAROOT answer, SETQUOTA is refused with
//! `NO [NOPERM]` since limits are the operator's).
//!
//! Names arrive in wire form and are validated into `MailboxName` first
//! (see `Session::mailbox_name`): a name can never become a path or reach
//! another account, since every store call is scoped by the account id.
//!
//! The store does not create parents implicitly; CREATE does, as RFC 9051
//! 6.3.4 recommends. Parents that do not exist (a child was created by
//! another client or survived a DELETE) are listed with `\NonExistent`
//! (`\Noselect` for IMAP4rev1) when a pattern matches them.

use super::{Done, Session};
use crate::error::{CmdError, CmdResult};
use crate::mailstore::MailStore;
use crate::wire::command::{CreateOptions, ListOptions, MailboxArg, StatusItem};
use crate::wire::mutf7;
use crate::wire::response::{Code, Out};
use sealpost_store::{MailboxName, SpecialUse, StoreError};
use std::collections::BTreeMap;

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
    id: Option<sealpost_store::MailboxId>,
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

fn special_use_from(attr: &str) -> Option<SpecialUse> {
    SpecialUse::ALL
        .into_iter()
        .find(|u| u.attribute().eq_ignore_ascii_case(attr))
}

impl<S: MailStore> Session<S> {
    fn wire_pattern(&self, arg: &MailboxArg) -> CmdResult<String> {
        if arg.0.len() > MAX_PATTERN {
            return Err(CmdError::bad(Some(Code::Limit), "Pattern too long"));
        }
        if self.utf8_names() {
            Ok(arg.0.clone())
        } else {
            mutf7::decode(&arg.0).map_err(|e| CmdError::bad(None, e.to_string()))
        }
    }

    pub(super) async fn create(&mut self, arg: MailboxArg, opts: CreateOptions) -> CmdResult<Done> {
        let account = self.account()?;
        let trimmed = MailboxArg(arg.0.strip_suffix('/').unwrap_or(&arg.0).to_string());
        let name = self.mailbox_name(&trimmed)?;
        if name.is_inbox() {
            return Err(CmdError::no(
                Some(Code::AlreadyExists),
                "INBOX always exists",
            ));
        }
        let special_use = match opts.special_use.as_slice() {
            [] => None,
            [one] => Some(special_use_from(one).ok_or_else(|| {
                CmdError::no(Some(Code::Cannot), "Unsupported special-use attribute")
            })?),
            _ => {
                return Err(CmdError::no(
                    Some(Code::Cannot),
                    "Only one special-use attribute per mailbox",
                ));
            }
        };
        let id = account.id;
        self.blocking(move |s| {
            // Superiors first (RFC 9051 6.3.4); existing ones are fine.
            let mut parents = Vec::new();
            let mut p = name.parent();
            while let Some(parent) = p {
                p = parent.parent();
                parents.push(parent);
            }
            for parent in parents.into_iter().rev() {
                match s.create_mailbox(id, &parent, None) {
                    Ok(_) | Err(StoreError::MailboxExists) => {}
                    Err(e) => return Err(e),
                }
            }
            s.create_mailbox(id, &name, special_use)
        })
        .await?;
        Done::ok("CREATE completed")
    }

    pub(super) async fn delete(&mut self, arg: MailboxArg) -> CmdResult<Done> {
        let account = self.account()?;
        let name = self.mailbox_name(&arg)?;
        if name.is_inbox() {
            return Err(CmdError::no(Some(Code::Cannot), "INBOX cannot be deleted"));
        }
        let id = account.id;
        self.blocking(move |s| s.delete_mailbox(id, &name)).await?;
        Done::ok("DELETE completed")
    }

    pub(super) async fn rename(&mut self, from: MailboxArg, to: MailboxArg) -> CmdResult<Done> {
        let account = self.account()?;
        let from = self.mailbox_name(&from)?;
        let to = self.mailbox_name(&to)?;
        if to.is_inbox() {
            return Err(CmdError::no(
                Some(Code::AlreadyExists),
                "INBOX always exists",
            ));
        }
        if to == from || to.is_descendant_of(&from) {
            return Err(CmdError::no(
                Some(Code::Cannot),
                "Cannot rename a mailbox into itself",
            ));
        }
        let id = account.id;
        self.blocking(move |s| s.rename_mailbox(id, &from, &to))
            .await?;
        Done::ok("RENAME completed")
    }

    pub(super) async fn subscribe(&mut self, arg: MailboxArg, on: bool) -> CmdResult<Done> {
        let account = self.account()?;
        let name = self.mailbox_name(&arg)?;
        let id = account.id;
        self.blocking(move |s| s.set_subscribed(id, &name, on))
            .await?;
        Done::ok(if on {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        })
    }

    /// Every name LIST may show: existing mailboxes, their missing
    /// parents, and subscribed names.
    async fn entries(&self) -> CmdResult<BTreeMap<String, Entry>> {
        let id = self.account()?.id;
        let (boxes, subs) = self
            .blocking(move |s| Ok((s.mailboxes(id)?, s.subscriptions(id)?)))
            .await?;
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
        Ok(map)
    }

    pub(super) async fn list(
        &mut self,
        reference: MailboxArg,
        patterns: Vec<MailboxArg>,
        opts: ListOptions,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let reference = self.wire_pattern(&reference)?;
        if patterns.len() == 1 && patterns[0].0.is_empty() && !opts.extended {
            // The hierarchy delimiter query (RFC 9051 6.3.9).
            out.untagged("LIST (\\Noselect) \"/\" \"\"");
            return Done::ok("LIST completed");
        }
        let mut pats: Vec<Vec<char>> = Vec::new();
        for p in &patterns {
            let p = self.wire_pattern(p)?;
            if p.is_empty() {
                continue;
            }
            let mut full = format!("{reference}{p}");
            // Bytes, not a str slice: byte 5 of a pattern like "*N-té" may
            // fall inside a character (an ASCII "INBOX" prefix never does).
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
        let entries = self.entries().await?;
        let rev2 = self.enabled.rev2;
        let show_subscribed = opts.subscribed || opts.return_subscribed;
        let mut status_of = Vec::new();
        for (name, e) in &entries {
            let chars: Vec<char> = name.chars().collect();
            if !pats.iter().any(|p| pattern_matches(p, &chars)) {
                continue;
            }
            // RFC 5258 3.1 RECURSIVEMATCH: a name matching the pattern
            // with a subscribed descendant (matching the pattern or not) is
            // listed with CHILDINFO, even when it is not subscribed itself.
            let child_info = opts.recursive_match && e.subscribed_child;
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
                if rev2 || opts.extended {
                    attrs.push("\\NonExistent");
                }
                attrs.push("\\Noselect");
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
            out.untagged(&format!(
                "LIST ({}) \"/\" {}{extended}",
                attrs.join(" "),
                self.wire_name(name)
            ));
            // RFC 5819: STATUS for the mailboxes that met the selection,
            // not for those listed only for their children.
            if let (true, Some(items), Some(id)) = (selected, &opts.return_status, e.id) {
                status_of.push((name.clone(), id, items.clone()));
            }
            // Keep memory bounded for huge answers: STATUS lines are
            // written right after their LIST line.
            for (n, id, items) in status_of.drain(..) {
                if let Ok(line) = self.status_line(&n, id, &items).await {
                    out.untagged(&line);
                }
            }
        }
        Done::ok("LIST completed")
    }

    pub(super) async fn lsub(
        &mut self,
        reference: MailboxArg,
        pattern: MailboxArg,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let reference = self.wire_pattern(&reference)?;
        let pattern = self.wire_pattern(&pattern)?;
        let pat: Vec<char> = format!("{reference}{pattern}").chars().collect();
        let entries = self.entries().await?;
        let matches = |name: &str| pattern_matches(&pat, &name.chars().collect::<Vec<_>>());
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
        Done::ok("LSUB completed")
    }

    async fn status_line(
        &self,
        name: &str,
        mailbox: sealpost_store::MailboxId,
        items: &[StatusItem],
    ) -> CmdResult<String> {
        let id = self.account()?.id;
        let st = self.blocking(move |s| s.status(id, mailbox)).await?;
        let mut parts = Vec::new();
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", st.messages),
                StatusItem::UidNext => format!("UIDNEXT {}", st.uid_next),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", st.uid_validity),
                StatusItem::Unseen => format!("UNSEEN {}", st.unseen),
                StatusItem::Deleted => format!("DELETED {}", st.deleted),
                StatusItem::Size => format!("SIZE {}", st.size),
                // Counting \Recent would claim it; report none (RFC 3501
                // leaves \Recent to the server's judgement).
                StatusItem::Recent => "RECENT 0".to_string(),
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", st.highest_modseq),
            });
        }
        Ok(format!(
            "STATUS {} ({})",
            self.wire_name(name),
            parts.join(" ")
        ))
    }

    pub(super) async fn status(
        &mut self,
        arg: MailboxArg,
        items: Vec<StatusItem>,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let account = self.account()?;
        let name = self.mailbox_name(&arg)?;
        let id = account.id;
        let lookup = name.clone();
        let info = self
            .blocking(move |s| s.mailbox(id, &lookup))
            .await?
            .ok_or_else(|| CmdError::from(StoreError::NoMailbox))?;
        if items.contains(&StatusItem::HighestModSeq) {
            self.enabled.condstore = true;
        }
        let line = self.status_line(name.as_str(), info.id, &items).await?;
        out.untagged(&line);
        Done::ok("STATUS completed")
    }

    pub(super) async fn get_quota(&mut self, root: String, out: &mut Out) -> CmdResult<Done> {
        if !root.is_empty() {
            return Err(CmdError::no(Some(Code::Nonexistent), "No such quota root"));
        }
        let id = self.account()?.id;
        let q = self.blocking(move |s| s.quota(id)).await?;
        out.untagged(&quota_line(&q));
        Done::ok("GETQUOTA completed")
    }

    /// SETQUOTA (RFC 9208 4.3): limits come from the operator's accounts
    /// file, so a user may not change them (QUOTASET is not advertised).
    /// The root is checked first, so a wrong root still says NONEXISTENT.
    pub(super) fn set_quota(
        &mut self,
        root: String,
        limits: Vec<(String, u64)>,
    ) -> CmdResult<Done> {
        if !root.is_empty() {
            return Err(CmdError::no(Some(Code::Nonexistent), "No such quota root"));
        }
        if let Some((r, _)) = limits.iter().find(|(r, _)| r != "STORAGE") {
            return Err(CmdError::no(
                Some(Code::Cannot),
                format!("Unsupported quota resource {r}"),
            ));
        }
        Err(CmdError::no(
            Some(Code::NoPerm),
            "Quotas are set by the operator",
        ))
    }

    pub(super) async fn get_quota_root(
        &mut self,
        arg: MailboxArg,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let id = self.account()?.id;
        let name = self.mailbox_name(&arg)?;
        let lookup: MailboxName = name.clone();
        let (exists, q) = self
            .blocking(move |s| Ok((s.mailbox(id, &lookup)?.is_some(), s.quota(id)?)))
            .await?;
        if !exists {
            return Err(CmdError::from(StoreError::NoMailbox));
        }
        out.untagged(&format!("QUOTAROOT {} \"\"", self.wire_name(name.as_str())));
        out.untagged(&quota_line(&q));
        Done::ok("GETQUOTAROOT completed")
    }
}

/// `QUOTA "" (STORAGE used limit)` in KiB (RFC 9208 5.1), an empty list
/// when the account has no limit.
fn quota_line(q: &sealpost_store::QuotaUsage) -> String {
    match q.limit {
        Some(limit) => format!(
            "QUOTA \"\" (STORAGE {} {})",
            q.bytes.div_ceil(1024),
            limit / 1024
        ),
        None => "QUOTA \"\" ()".to_string(),
    }
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
