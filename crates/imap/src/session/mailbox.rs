//! Mailbox commands of the authenticated state: CREATE (RFC 9051 6.3.4,
//! RFC 6154 CREATE-SPECIAL-USE), DELETE (6.3.5), RENAME (6.3.6), SUBSCRIBE
//! and UNSUBSCRIBE (6.3.7-6.3.8), STATUS (6.3.11, RFC 8438 STATUS=SIZE),
//! and QUOTA (RFC 9208, one root `""` per account with the STORAGE
//! resource; GETQUOTA and GETQUOTAROOT answer, SETQUOTA is refused with
//! `NO [NOPERM]` since limits are the operator's). LIST and LSUB are in
//! [`super::list`].
//!
//! Names arrive in wire form and are validated into `MailboxName` first
//! (see `Session::mailbox_name`): a name can never become a path or reach
//! another account, since every store call is scoped by the account id.
//!
//! The store does not create parents implicitly; CREATE does, as RFC 9051
//! 6.3.4 recommends (the request lists the superiors to create first).

use super::{Done, Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{CreateOptions, MailboxArg, StatusItem};
use crate::wire::response::{Code, Out};
use sealpost_store::{MailboxStatus, QuotaUsage, SpecialUse};

/// A mailbox command waiting for the store.
pub(crate) enum MailboxJob {
    Create,
    Delete,
    Rename,
    Subscribe {
        on: bool,
    },
    Status {
        items: Vec<StatusItem>,
    },
    GetQuota,
    /// `shared`: another account's mailbox, whose quota root is not shown.
    GetQuotaRoot {
        wire_name: String,
        shared: bool,
    },
}

fn special_use_from(attr: &str) -> Option<SpecialUse> {
    SpecialUse::ALL
        .into_iter()
        .find(|u| u.attribute().eq_ignore_ascii_case(attr))
}

fn need(request: StoreRequest, job: MailboxJob) -> Flow {
    Flow::Need(Request::Store(request), Job::Mailbox(job))
}

/// A plan that either asks the store or fails.
fn flow(plan: CmdResult<(StoreRequest, MailboxJob)>) -> Flow {
    match plan {
        Ok((request, job)) => need(request, job),
        Err(e) => Flow::Done(Err(e)),
    }
}

impl Session {
    pub(super) fn create(&mut self, arg: MailboxArg, opts: CreateOptions) -> Flow {
        flow((|| {
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
            // Superiors first (RFC 9051 6.3.4), outermost first.
            let mut parents = Vec::new();
            let mut p = name.parent();
            while let Some(parent) = p {
                p = parent.parent();
                parents.push(parent);
            }
            parents.reverse();
            Ok((
                StoreRequest::CreateMailbox {
                    account: account.id,
                    parents,
                    name,
                    special_use,
                },
                MailboxJob::Create,
            ))
        })())
    }

    pub(super) fn delete(&mut self, arg: MailboxArg) -> Flow {
        flow((|| {
            let account = self.account()?;
            let name = self.mailbox_name(&arg)?;
            if name.is_inbox() {
                return Err(CmdError::no(Some(Code::Cannot), "INBOX cannot be deleted"));
            }
            Ok((
                StoreRequest::DeleteMailbox {
                    account: account.id,
                    name,
                },
                MailboxJob::Delete,
            ))
        })())
    }

    pub(super) fn rename(&mut self, from: MailboxArg, to: MailboxArg) -> Flow {
        flow((|| {
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
            Ok((
                StoreRequest::RenameMailbox {
                    account: account.id,
                    from,
                    to,
                },
                MailboxJob::Rename,
            ))
        })())
    }

    pub(super) fn subscribe(&mut self, arg: MailboxArg, on: bool) -> Flow {
        flow((|| {
            let account = self.account()?;
            let name = self.mailbox_name(&arg)?;
            Ok((
                StoreRequest::Subscribe {
                    account: account.id,
                    name,
                    on,
                },
                MailboxJob::Subscribe { on },
            ))
        })())
    }

    pub(super) fn status(&mut self, arg: MailboxArg, items: Vec<StatusItem>) -> Flow {
        flow((|| {
            let account = self.account()?;
            let name = self.mailbox_name(&arg)?;
            if items.contains(&StatusItem::HighestModSeq) {
                self.enabled.condstore = true;
            }
            Ok((
                StoreRequest::Status {
                    account: account.id,
                    name,
                },
                MailboxJob::Status { items },
            ))
        })())
    }

    pub(super) fn get_quota(&mut self, root: String) -> Flow {
        flow((|| {
            if !root.is_empty() {
                return Err(CmdError::no(Some(Code::Nonexistent), "No such quota root"));
            }
            let account = self.account()?;
            Ok((
                StoreRequest::Quota {
                    account: account.id,
                },
                MailboxJob::GetQuota,
            ))
        })())
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

    pub(super) fn get_quota_root(&mut self, arg: MailboxArg) -> Flow {
        flow((|| {
            let account = self.account()?;
            let name = self.mailbox_name(&arg)?;
            let wire_name = self.wire_name(name.as_str());
            let shared = super::acl::in_shared_namespace(name.as_str());
            Ok((
                StoreRequest::QuotaRoot {
                    account: account.id,
                    name,
                },
                MailboxJob::GetQuotaRoot { wire_name, shared },
            ))
        })())
    }

    pub(super) fn mailbox_resume(&mut self, job: MailboxJob, reply: Reply, out: &mut Out) -> Flow {
        let reply = match store_reply(reply) {
            Ok(r) => r,
            Err(e) => return Flow::Done(Err(e)),
        };
        Flow::Done(match (job, reply) {
            (MailboxJob::Create, StoreReply::Created(info)) => Done::with(
                Code::MailboxId(self.mailbox_object_id(info.id, info.uid_validity)),
                "CREATE completed",
            ),
            (MailboxJob::Delete, StoreReply::Done) => Done::ok("DELETE completed"),
            (MailboxJob::Rename, StoreReply::Done) => Done::ok("RENAME completed"),
            (MailboxJob::Subscribe { on }, StoreReply::Done) => Done::ok(if on {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            }),
            (MailboxJob::Status { items }, StoreReply::Status(info, st)) => {
                let id = self.mailbox_object_id(info.id, info.uid_validity);
                out.untagged(&status_line(
                    &self.wire_name(info.name.as_str()),
                    &st,
                    &items,
                    &id,
                ));
                Done::ok("STATUS completed")
            }
            (MailboxJob::GetQuota, StoreReply::Quota(q)) => {
                out.untagged(&quota_line(&q));
                Done::ok("GETQUOTA completed")
            }
            (
                MailboxJob::GetQuotaRoot { wire_name, shared },
                StoreReply::QuotaRoot { exists, quota },
            ) => {
                if !exists {
                    return Flow::Done(Err(CmdError::from(sealpost_store::StoreError::NoMailbox)));
                }
                if shared {
                    // The owner's usage is the owner's: no right of RFC
                    // 4314 covers an account's totals (see `acl.rs`).
                    out.untagged(&format!("QUOTAROOT {wire_name}"));
                    return Flow::Done(Done::ok("GETQUOTAROOT completed"));
                }
                out.untagged(&format!("QUOTAROOT {wire_name} \"\""));
                out.untagged(&quota_line(&quota));
                Done::ok("GETQUOTAROOT completed")
            }
            _ => Err(super::unexpected()),
        })
    }
}

/// `STATUS name (items)` (RFC 9051 7.3.1), the name in wire form;
/// `mailbox_id` is its MAILBOXID (RFC 8474 4).
pub(super) fn status_line(
    wire_name: &str,
    st: &MailboxStatus,
    items: &[StatusItem],
    mailbox_id: &str,
) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            StatusItem::Messages => format!("MESSAGES {}", st.messages),
            StatusItem::UidNext => format!("UIDNEXT {}", st.uid_next),
            StatusItem::UidValidity => format!("UIDVALIDITY {}", st.uid_validity),
            StatusItem::Unseen => format!("UNSEEN {}", st.unseen),
            StatusItem::Deleted => format!("DELETED {}", st.deleted),
            StatusItem::Size => format!("SIZE {}", st.size),
            // What a SELECT would claim, unclaimed (RFC 3501 6.3.10).
            StatusItem::Recent => format!("RECENT {}", st.recent),
            StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", st.highest_modseq),
            StatusItem::MailboxId => format!("MAILBOXID ({mailbox_id})"),
        })
        .collect();
    format!("STATUS {wire_name} ({})", parts.join(" "))
}

/// `QUOTA "" (STORAGE used limit)` in KiB (RFC 9208 5.1), an empty list
/// when the account has no limit.
fn quota_line(q: &QuotaUsage) -> String {
    match q.limit {
        Some(limit) => format!(
            "QUOTA \"\" (STORAGE {} {})",
            q.bytes.div_ceil(1024),
            limit / 1024
        ),
        None => "QUOTA \"\" ()".to_string(),
    }
}
