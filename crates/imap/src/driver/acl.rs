//! ACL commands carried out (RFC 4314; the rules are in `session/acl.rs`):
//! the mailbox resolved in the user's namespace (`shared.rs`), the right
//! checked (`a` to read or change the list, `l` for MYRIGHTS), the
//! identifier turned into an account, the grant stored, and every change
//! audited, in the owner's and the grantee's records alike
//! (`AccountChanged`, ids only besides the record's own account field:
//! that field is the one anonymization erases).

use super::shared::{self, Target};
use crate::mailstore::MailStore;
use crate::session::StoreReply;
use crate::session::acl::{AclReply, AclRequest};
use crate::wire::acl::{Rights, RightsChange};
use sealpost_audit::{AuditLog, Event};
use sealpost_directory::Directory;
use sealpost_store::{AccountId, AclRights, MailboxName, Result, StoreError};

/// Runs one ACL request.
pub(super) fn perform<S: MailStore>(
    s: &S,
    directory: &Directory,
    audit: &AuditLog,
    request: AclRequest,
) -> Result<StoreReply> {
    let reply = match request {
        AclRequest::Set {
            user,
            mailbox,
            identifier,
            change,
            rights,
        } => {
            let t = admin(s, user, &mailbox)?;
            let grantee = identifier_account(s, directory, &identifier)?;
            if grantee == t.owner {
                return Err(StoreError::NotAllowed(
                    "The owner's rights cannot be changed",
                ));
            }
            let old = shared::rights_on(s, grantee, t.owner, t.info.id)?;
            let new = match change {
                RightsChange::Replace => rights,
                RightsChange::Add => old.union(rights),
                RightsChange::Remove => old.minus(rights),
            };
            s.set_acl(t.owner, t.info.id, grantee, AclRights(new.bits()))?;
            record(s, audit, &t, user, grantee, new);
            AclReply::Changed
        }
        AclRequest::Get { user, mailbox } => {
            let t = admin(s, user, &mailbox)?;
            let mut entries = Vec::new();
            if let Some(owner) = s.account_address(t.owner)? {
                entries.push((owner, Rights::ALL));
            }
            for g in s.acl(t.owner, t.info.id)? {
                if let Some(address) = s.account_address(g.grantee)? {
                    entries.push((address, Rights::from_bits(g.rights.0)));
                }
            }
            AclReply::Acl(entries)
        }
        AclRequest::ListRights {
            user,
            mailbox,
            identifier,
        } => {
            let t = admin(s, user, &mailbox)?;
            // Read-only: the identifier's store account is not made here.
            let Some(account) = directory.account(&identifier) else {
                return Err(StoreError::NotAllowed("No such account"));
            };
            let owner = s.account_id(&account.address)? == Some(t.owner);
            AclReply::ListRights { owner }
        }
        AclRequest::MyRights { user, mailbox } => {
            AclReply::MyRights(shared::open(s, user, &mailbox)?.rights)
        }
    };
    Ok(StoreReply::Acl(reply))
}

/// The mailbox, if the user may administer it (`a`).
fn admin<S: MailStore>(s: &S, user: AccountId, mailbox: &MailboxName) -> Result<Target> {
    let t = shared::open(s, user, mailbox)?;
    t.require(Rights::ADMIN)?;
    Ok(t)
}

/// The account an identifier names: the address of an account in the
/// accounts file (its store account is made if it never logged in, as its
/// first login would). `anyone` and `authenticated` (and negative rights)
/// are refused, see the module docs of `session/acl.rs`.
fn identifier_account<S: MailStore>(
    s: &S,
    directory: &Directory,
    identifier: &str,
) -> Result<AccountId> {
    if identifier.eq_ignore_ascii_case("anyone") || identifier.eq_ignore_ascii_case("authenticated")
    {
        return Err(StoreError::NotAllowed(
            "Only accounts can be granted rights, not anyone or authenticated",
        ));
    }
    if identifier.starts_with('-') {
        return Err(StoreError::NotAllowed("Negative rights are not supported"));
    }
    let Some(account) = directory.account(identifier) else {
        return Err(StoreError::NotAllowed("No such account"));
    };
    match s.account_id(&account.address)? {
        Some(id) => Ok(id),
        None => s.ensure_account(&account.address),
    }
}

/// Audits a change in both accounts' records.
fn record<S: MailStore>(
    s: &S,
    audit: &AuditLog,
    t: &Target,
    user: AccountId,
    grantee: AccountId,
    rights: Rights,
) {
    let rights = if rights.is_empty() {
        "none".to_string()
    } else {
        rights.to_string()
    };
    let (owner, mailbox) = (t.owner.0, t.info.id.0);
    if let Ok(Some(address)) = s.account_address(t.owner) {
        audit.record(Event::AccountChanged {
            account: address,
            change: format!(
                "acl: mailbox {mailbox} rights of account {} set to {rights} by account {}",
                grantee.0, user.0
            ),
        });
    }
    if let Ok(Some(address)) = s.account_address(grantee) {
        audit.record(Event::AccountChanged {
            account: address,
            change: format!(
                "acl: granted {rights} on mailbox {mailbox} of account {owner} by account {}",
                user.0
            ),
        });
    }
}
