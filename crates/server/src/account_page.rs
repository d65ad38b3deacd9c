//! The account page's operations over the running server: the
//! `AccountBackend` of `sealpost_http::account`, made of the same functions
//! as the operator's CLI (`accounts`, `compliance`), so what a user does on
//! the page and what `sealpost account ...`/`sealpost export` do cannot
//! drift apart.
//!
//! Accounts-file edits (password, app passwords, deletion) are serialized
//! here, made under the file's own lock by sealpost-directory, then taken
//! by the running server at once (directory reload, then `sync_accounts`,
//! which audits the change like any other edit of the file) rather than
//! when the file watcher next notices: a user who changed a password
//! expects the old one to stop working now.
//!
//! Used by `web`; uses `services`, `accounts`, `startup`.

use crate::services::{Services, sync_accounts};
use sealpost_audit::Event;
use sealpost_directory::{AppPasswordInfo, DirectoryError, Secret};
use sealpost_http::account::{AccountBackend, ActionError, DeletionTerms, ExportFormat};
use sealpost_retention::export;
use std::sync::Mutex;

/// The page's backend over the server's services.
pub struct Backend {
    services: Services,
    edits: Mutex<()>,
}

impl Backend {
    pub fn new(services: &Services) -> Backend {
        Backend {
            services: services.clone(),
            edits: Mutex::new(()),
        }
    }

    /// Makes the running server take the edited accounts file now.
    fn take_accounts_file(&self) -> Result<(), ActionError> {
        let s = &self.services;
        let running = s.running.current();
        s.directory
            .reload(crate::startup::domains(&running))
            .map_err(|e| ActionError::Failed(e.to_string()))?;
        sync_accounts(&s.config, &s.store, &s.directory, &s.audit)
            .map_err(|f| ActionError::Failed(f.message))
    }

    /// One edit of the accounts file, then taken.
    fn edit<T>(&self, f: impl FnOnce() -> Result<T, DirectoryError>) -> Result<T, ActionError> {
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        let out = f().map_err(directory_error)?;
        self.take_accounts_file()?;
        Ok(out)
    }
}

/// The page's typed case of a directory error, worded by the page in the
/// user's language. An accounts file that does not load (or an edit that
/// would not) is the operator's to fix: logged, and the user told that
/// nothing was changed.
fn directory_error(e: DirectoryError) -> ActionError {
    match e {
        DirectoryError::Refused(r) => ActionError::Refused(r),
        DirectoryError::NotFound(_) => ActionError::NoAccount,
        DirectoryError::Invalid(m) | DirectoryError::Io(m) => ActionError::Failed(m),
        DirectoryError::Exists(_) => ActionError::Failed(e.to_string()),
    }
}

fn failed(e: impl std::fmt::Display) -> ActionError {
    ActionError::Failed(e.to_string())
}

impl AccountBackend for Backend {
    fn export(
        &self,
        address: &str,
        format: ExportFormat,
        out: &mut dyn std::io::Write,
    ) -> Result<(), ActionError> {
        let s = &self.services;
        if s.store.account_id(address).map_err(failed)?.is_none() {
            return Err(ActionError::NoMailStore);
        }
        // The account's own logins, as the CLI's export includes them.
        s.audit.flush();
        let access_log = crate::startup::audit_access_log(&s.config, address).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "access log not included in the export");
            Vec::new()
        });
        let (format, name) = match format {
            ExportFormat::Mbox => (export::Format::Mbox, "mbox"),
            ExportFormat::Maildir => (export::Format::Maildir, "maildir"),
        };
        export::export_account(
            &s.store,
            address,
            format,
            &access_log,
            &mut *out,
            &mut |_, _| {},
        )
        .map_err(failed)?;
        out.flush().map_err(failed)?;
        s.audit
            .record_durable(Event::DataExported {
                account: address.to_string(),
                format: name.into(),
            })
            .map_err(failed)
    }

    fn change_password(&self, address: &str, password: &Secret) -> Result<(), ActionError> {
        let file = &self.services.config.server.accounts;
        self.edit(|| sealpost_directory::set_password(file, address, password))
    }

    fn app_passwords(&self, address: &str) -> Result<Vec<AppPasswordInfo>, ActionError> {
        sealpost_directory::list_app_passwords(&self.services.config.server.accounts, address)
            .map_err(directory_error)
    }

    fn add_app_password(&self, address: &str, label: &str) -> Result<Secret, ActionError> {
        let file = &self.services.config.server.accounts;
        self.edit(|| sealpost_directory::add_app_password(file, address, label))
    }

    fn remove_app_password(&self, address: &str, label: &str) -> Result<(), ActionError> {
        let file = &self.services.config.server.accounts;
        self.edit(|| sealpost_directory::remove_app_password(file, address, label))
    }

    fn delete_account(&self, address: &str) -> Result<(), ActionError> {
        let s = &self.services;
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        // As `sealpost account delete`: the entry saved for a restore, out
        // of the file, the store's key sealed away (audited durably), then
        // the running server takes the file (logins stop).
        crate::accounts::save_entry(&s.config, address).map_err(|f| failed(f.message))?;
        sealpost_directory::remove_account(&s.config.server.accounts, address)
            .map_err(directory_error)?;
        crate::accounts::delete_in_store(&s.store, &s.audit, address)
            .map_err(|f| failed(f.message))?;
        self.take_accounts_file()
    }

    fn deliver_to_account(&self, address: &str, raw: &[u8]) -> Result<(), ActionError> {
        let store = &self.services.store;
        let account = store
            .account_id(address)
            .map_err(failed)?
            .ok_or_else(|| failed("the account has no mailbox"))?;
        store.deliver(account, raw).map(drop).map_err(failed)
    }

    fn access_log(
        &self,
        address: &str,
        skip: u64,
        take: usize,
    ) -> Result<sealpost_audit::AccessPage, ActionError> {
        let config = &self.services.config;
        let dir = crate::startup::audit_dir(config);
        let keys = sealpost_audit::PiiKeys::open(&dir, &config.server.master_key)
            .map_err(|e| failed(e.to_string()))?;
        sealpost_audit::accesses(&dir, &keys, address, skip, take)
            .map_err(|e| failed(e.to_string()))
    }

    fn deletion_terms(&self) -> DeletionTerms {
        let r = self.services.running.current().retention.clone();
        DeletionTerms {
            grace_days: r.deleted_account_grace_days,
            audit_kept_after_purge: r.keep_audit_personal_data_after_purge,
            anonymize_after_months: r.anonymize_after_months,
            audit_log_months: r.audit_log_months,
        }
    }
}

/// Where the account page keeps its sessions across a restart:
/// `data_dir/account-sessions`, sealed under a key derived from the master
/// key (purpose `account-sessions`), written 0600 through `sealpost-durable`.
pub struct SessionFile {
    path: std::path::PathBuf,
    key: sealpost_store::FileKey,
}

impl SessionFile {
    /// The file of this server's data directory.
    pub fn open(config: &sealpost_config::Config) -> Result<SessionFile, String> {
        let key = sealpost_store::FileKey::load(&config.server.master_key, "account-sessions")
            .map_err(|e| e.to_string())?;
        Ok(SessionFile {
            path: config.server.data_dir.join("account-sessions"),
            key,
        })
    }
}

impl sealpost_http::account::session::SessionFile for SessionFile {
    fn load(&self) -> Option<Vec<u8>> {
        let sealed = std::fs::read(&self.path).ok()?;
        match self.key.open(&sealed) {
            Ok(plain) => Some(plain),
            Err(e) => {
                tracing::warn!(error = %e, "account page sessions not restored: the file does not open");
                None
            }
        }
    }

    fn save(&self, bytes: &[u8]) {
        if let Err(e) = sealpost_durable::write(&self.path, &self.key.seal(bytes)) {
            tracing::warn!(error = %e, "account page sessions not saved");
        }
    }
}
