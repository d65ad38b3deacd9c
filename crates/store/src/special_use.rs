//! Giving a mailbox a special use after it was created (RFC 6154): an
//! import carries the source's `\Sent`, `\Drafts`, `\Trash`, `\Junk` and
//! `\Archive` onto the mailboxes it fills.
//!
//! A special use belongs to one mailbox of an account, as the default
//! mailboxes have them: giving it to one takes it from the mailbox that had
//! it (which stays, with its messages, as an ordinary mailbox), so a
//! client that looks for `\Sent` finds one answer.

use crate::backend::Notice;
use crate::codec::{self, table};
use crate::{AccountId, MailboxId, Result, SpecialUse, Store, StoreError};

impl Store {
    /// Gives `mailbox` the special use `special_use`, taking it from any
    /// other mailbox of the account; does nothing when it has it already.
    pub fn set_special_use(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        special_use: SpecialUse,
    ) -> Result<()> {
        let all = self.mailboxes(account)?;
        let target = all
            .iter()
            .find(|m| m.id == mailbox)
            .ok_or(StoreError::NoMailbox)?;
        if target.special_use == Some(special_use) {
            return Ok(());
        }
        let ctx = self.ctx(account)?;
        let _g = ctx.structure.lock();
        for other in all
            .iter()
            .filter(|m| m.id != mailbox && m.special_use == Some(special_use))
        {
            self.write_special_use(account, other.id, None)?;
        }
        self.write_special_use(account, mailbox, Some(special_use))
    }

    /// Rewrites one mailbox's row with `special_use` (the caller holds the
    /// account's structure lock).
    fn write_special_use(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let mut tx = self.tx()?;
        let mut st = state.lock();
        self.lock_for_write(&mut tx, &mut st, account, mailbox, Vec::new())?;
        let before = st.info.special_use;
        st.info.special_use = special_use;
        tx.put(
            codec::mailbox_key(table::MAILBOX, account, mailbox),
            st.row(&ctx.key, account),
        );
        if let Err(e) = tx.commit() {
            st.info.special_use = before;
            return Err(e);
        }
        drop(st);
        self.announce_notice(Notice::Structure(account, mailbox));
        Ok(())
    }
}
