//! `sealpost account ...`: edits the accounts file in place (comments kept)
//! and tells a running server, which reloads at once (it would also notice
//! the file change by itself within a second).

use crate::admin::{self, Request};
use crate::cli_edit::{Outcome, Undo, reload_or_undo};
use crate::startup::{Failure, load_config};
use clap::Subcommand;
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_directory::Secret;
use sealpost_store::Store;
use std::io::BufRead;
use std::path::Path;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Add an account (its domain must be a [[domain]] of the config).
    Add {
        /// The address, e.g. alice@example.org.
        address: String,
        /// Read the password from the first line of standard input (required:
        /// passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        address: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts with their quota, the octets their mail takes, and aliases.
    List,
    /// Set an account's quota (e.g. 500M, 2G; `none` for no limit).
    Quota { address: String, size: String },
    /// Delete an account: logins and deliveries stop at once, its mail becomes
    /// unreadable (its key is sealed away) and is purged after the grace period.
    Delete { address: String },
    /// Bring back a deleted account, with all its mail, within the grace period.
    Restore { address: String },
    /// App passwords: one per device, each revocable alone; they work on
    /// IMAP, POP3 and submission like the account's password.
    AppPassword {
        #[command(subcommand)]
        command: AppPasswordCommand,
    },
}

#[derive(Subcommand)]
pub enum AppPasswordCommand {
    /// Generate an app password and print it (once: only its hash is kept).
    Add {
        address: String,
        /// What it is for (e.g. "phone"); unique within the account.
        #[arg(long, required = true)]
        label: String,
    },
    /// List an account's app passwords by label.
    List { address: String },
    /// Revoke an app password: logins with it fail at once.
    Remove {
        address: String,
        #[arg(long, required = true)]
        label: String,
    },
}

fn app_password(config: &Config, command: AppPasswordCommand) -> Result<(), Failure> {
    let file = &config.server.accounts;
    match command {
        AppPasswordCommand::Add { address, label } => {
            let password = sealpost_directory::add_app_password(file, &address, &label)
                .map_err(Failure::runtime)?;
            notify(config)?;
            // The one place the password is ever shown.
            println!("{}", password.expose());
            eprintln!("sealpost: app password `{label}` added; it is not shown again");
        }
        AppPasswordCommand::List { address } => {
            for a in
                sealpost_directory::list_app_passwords(file, &address).map_err(Failure::runtime)?
            {
                println!("{}\tid={}", a.label, a.id);
            }
        }
        AppPasswordCommand::Remove { address, label } => {
            sealpost_directory::remove_app_password(file, &address, &label)
                .map_err(Failure::runtime)?;
            notify(config)?;
            println!("removed the app password `{label}`");
        }
    }
    Ok(())
}

fn read_password() -> Result<Secret, Failure> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::runtime(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(Failure::runtime("empty password on standard input"));
    }
    Ok(Secret::new(password))
}

/// `sealpost account quota ADDRESS SIZE` (`none`: no limit).
fn set_quota(config: &Config, address: &str, size: &str) -> Result<(), Failure> {
    let file = &config.server.accounts;
    let quota = match size.trim() {
        "none" | "unlimited" => None,
        text => Some(sealpost_directory::parse_quota(text).map_err(Failure::runtime)?),
    };
    let address = known_account(config, address)?;
    let undo = Undo::take(file)?;
    sealpost_directory::set_quota(file, &address, quota).map_err(Failure::runtime)?;
    notify_or_undo(config, undo)?;
    match quota {
        Some(q) => println!("quota of {address}: {q} octets"),
        None => println!("quota of {address}: none (no limit)"),
    }
    Ok(())
}

/// The account's normalized address; an outside address (forwarding) or
/// an unknown one is refused with what to do.
pub(crate) fn known_account(config: &Config, account: &str) -> Result<String, Failure> {
    let account = sealpost_directory::normalize_address(account).map_err(Failure::runtime)?;
    let accounts =
        sealpost_directory::list_accounts(&config.server.accounts).map_err(Failure::runtime)?;
    if accounts.iter().any(|a| a.address == account) {
        return Ok(account);
    }
    let domain = account.rsplit_once('@').map_or("", |(_, d)| d);
    if domains(config)
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        Err(Failure::runtime(format!(
            "{account} is not an account (sealpost account add {account} first)"
        )))
    } else {
        Err(Failure::runtime(format!(
            "{account} is not an account of this server (its domain is not hosted here)"
        )))
    }
}

fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

pub fn run(config_path: &Path, command: AccountCommand) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    // Edits audited here when no server runs; `delete` and `restore`
    // check for the store itself (`delete_in_store`), `list` writes nothing.
    let edit = match &command {
        AccountCommand::Add { .. } => Some("account add"),
        AccountCommand::Passwd { .. } => Some("account passwd"),
        AccountCommand::Quota { .. } => Some("account quota"),
        AccountCommand::AppPassword { .. } => Some("account app-password"),
        _ => None,
    };
    if let Some(what) = edit {
        crate::startup::require_data_dir_in_place(&config, what)?;
    }
    let file = &config.server.accounts;
    match command {
        AccountCommand::AppPassword { command } => return app_password(&config, command),
        AccountCommand::Add { address, .. } => {
            let password = read_password()?;
            let undo = Undo::take(file)?;
            sealpost_directory::add_account(file, &domains(&config), &address, &password)
                .map_err(Failure::runtime)?;
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            notify_or_undo(&config, undo)?;
            println!("added {address}");
        }
        AccountCommand::Passwd { address, .. } => {
            let password = read_password()?;
            let undo = Undo::take(file)?;
            sealpost_directory::set_password(file, &address, &password)
                .map_err(Failure::runtime)?;
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            notify_or_undo(&config, undo)?;
            println!("changed the password of {address}");
        }
        AccountCommand::Quota { address, size } => {
            return set_quota(&config, &address, &size);
        }
        AccountCommand::List => {
            let accounts = sealpost_directory::list_accounts(file).map_err(Failure::runtime)?;
            let usage = crate::usage::of(&config)?;
            for a in accounts {
                let quota = a.quota.map_or("-".to_string(), |q| q.to_string());
                let used = match &usage {
                    Some(u) => u.get(&a.address).map_or(0, |(bytes, _)| *bytes).to_string(),
                    None => "-".to_string(),
                };
                let aliases = if a.aliases.is_empty() {
                    "-".to_string()
                } else {
                    a.aliases.join(",")
                };
                println!(
                    "{}\tquota={}\tused={}\taliases={}",
                    a.address, quota, used, aliases
                );
            }
        }
        AccountCommand::Restore { address } => {
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            server_or_store(&config, "account restore")?;
            let saved = saved_entries(&config)?;
            let entry = saved
                .load(&address)
                .map_err(Failure::runtime)?
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "{address} is not a deleted account that can be restored"
                    ))
                })?;
            if sealpost_directory::list_accounts(file)
                .map_err(Failure::runtime)?
                .iter()
                .any(|a| a.address == address)
            {
                return Err(Failure::runtime(format!(
                    "{address} is in the accounts file already"
                )));
            }
            // File first, so a reload in between never takes the restored
            // account for one removed from the file; undone if the store refuses.
            append_entry(file, &entry)?;
            let restored = match admin::request(
                &config.admin_socket(),
                &Request::RestoreAccount {
                    address: address.clone(),
                },
            )
            .map_err(Failure::runtime)?
            {
                Some(r) if r.ok => Ok(r.message),
                Some(r) => Err(Failure::runtime(r.message)),
                None if crate::startup::never_served(&config) => {
                    let audit = crate::startup::open_audit(&config)?;
                    audit
                        .record_durable(Event::AccountRestored {
                            account: address.clone(),
                        })
                        .map_err(Failure::runtime)?;
                    Ok(NO_STORE_YET.into())
                }
                None => {
                    let store = crate::startup::open_store(&config)?;
                    let audit = crate::startup::open_audit(&config)?;
                    restore_in_store(&store, &audit, &address)
                }
            };
            let message = match restored {
                Ok(m) => m,
                Err(f) => {
                    let _ = sealpost_directory::remove_account(file, &address);
                    return Err(f);
                }
            };
            // The saved entry goes last: while it exists, the audit of the
            // accounts file takes the entry for a restore, not a creation.
            notify(&config)?;
            let _ = saved.remove(&address);
            println!("restored {address}: {message}");
        }
        AccountCommand::Delete { address } => {
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            server_or_store(&config, "account delete")?;
            save_entry(&config, &address)?;
            sealpost_directory::remove_account(file, &address).map_err(Failure::runtime)?;
            // Logins stop with the reload; the store's data is sealed away now.
            let message = match admin::request(
                &config.admin_socket(),
                &Request::DeleteAccount {
                    address: address.clone(),
                },
            )
            .map_err(Failure::runtime)?
            {
                Some(r) if r.ok => {
                    notify(&config)?;
                    r.message
                }
                Some(r) => return Err(Failure::runtime(r.message)),
                // No store was ever made here: no data key to destroy.
                None if crate::startup::never_served(&config) => {
                    let audit = crate::startup::open_audit(&config)?;
                    audit
                        .record_durable(Event::AccountDeleted {
                            account: address.clone(),
                        })
                        .map_err(Failure::runtime)?;
                    crate::accounts_audit::audit_changes(&config, &audit, None)?;
                    NO_STORE_YET.into()
                }
                None => {
                    let store = crate::startup::open_store(&config)?;
                    let audit = crate::startup::open_audit(&config)?;
                    let m = delete_in_store(&store, &audit, &address)?;
                    crate::accounts_audit::audit_changes(&config, &audit, Some(&store))?;
                    m
                }
            };
            println!("deleted {address}: {message}");
        }
    }
    Ok(())
}

/// What `account delete|restore` say when no store was ever made.
const NO_STORE_YET: &str = "no mail was stored (no server has started on data_dir yet)";

/// Before `account delete|restore` change anything. With no server
/// running they change the store in data_dir, and never make one (only
/// `serve`, `restore` and `import` do). Without a store they go ahead only
/// where no store was ever made (`startup::never_served`: data_dir holds
/// the audit log of the CLI's own edits), changing the accounts file and
/// the audit log alone. A data_dir missing or empty is most likely a data
/// disk that is not mounted: a deletion in the accounts file alone would
/// leave the account's data key in the real store, its mail readable
/// (DESIGN.md promise 4: unreadable at once), so it is refused in one
/// line, nothing changed. A running server's store is always there.
fn server_or_store(config: &Config, what: &str) -> Result<(), Failure> {
    match admin::request(&config.admin_socket(), &Request::Ping).map_err(Failure::runtime)? {
        Some(_) => Ok(()),
        None if crate::startup::never_served(config) => Ok(()),
        None => crate::startup::require_store(config, what),
    }
}

/// The saved accounts-file entries of deleted accounts (sealed, named by a
/// keyed MAC: see `sealpost_retention::SavedEntries`). The purge removes
/// them, so the retention crate owns the format.
pub fn saved_entries(config: &Config) -> Result<sealpost_retention::SavedEntries, Failure> {
    sealpost_retention::SavedEntries::open(config).map_err(|e| {
        Failure::runtime(format!(
            "{e} (the master key is made when the server first starts)"
        ))
    })
}

/// Saves the `[[account]]` table of `address` before it leaves the file.
pub(crate) fn save_entry(config: &Config, address: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&config.server.accounts)
        .map_err(|e| Failure::runtime(format!("{}: {e}", config.server.accounts.display())))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::runtime(format!("{}: {e}", config.server.accounts.display())))?;
    let Some(tables) = doc.get("account").and_then(|a| a.as_array_of_tables()) else {
        return Ok(());
    };
    for t in tables.iter() {
        let addr = t
            .get("address")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if addr.eq_ignore_ascii_case(address) {
            let mut one = toml_edit::DocumentMut::new();
            let mut arr = toml_edit::ArrayOfTables::new();
            arr.push(t.clone());
            one.insert("account", toml_edit::Item::ArrayOfTables(arr));
            saved_entries(config)?
                .save(address, &one.to_string())
                .map_err(Failure::runtime)?;
        }
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        sealpost_durable::create_dir(dir)?;
    }
    Ok(sealpost_durable::write(path, bytes)?)
}

/// Puts a saved `[[account]]` table back at the end of the accounts file.
fn append_entry(file: &Path, entry: &str) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::runtime(format!("{}: {e}", file.display())))?;
    let saved: toml_edit::DocumentMut = entry
        .parse()
        .map_err(|e| Failure::runtime(format!("saved entry: {e}")))?;
    let Some(table) = saved
        .get("account")
        .and_then(|a| a.as_array_of_tables())
        .and_then(|a| a.get(0))
    else {
        return Err(Failure::runtime("saved entry holds no account"));
    };
    match doc
        .get_mut("account")
        .and_then(|a| a.as_array_of_tables_mut())
    {
        Some(arr) => arr.push(table.clone()),
        None => {
            let mut arr = toml_edit::ArrayOfTables::new();
            arr.push(table.clone());
            doc.insert("account", toml_edit::Item::ArrayOfTables(arr));
        }
    }
    write_private(file, doc.to_string().as_bytes())
}

/// Restores an account's key in the store and audits it durably.
pub fn restore_in_store(store: &Store, audit: &AuditLog, address: &str) -> Result<String, Failure> {
    store.restore_account(address).map_err(|e| match e {
        sealpost_store::StoreError::NoAccount => Failure::runtime(format!(
            "{address} is not a deleted account (purged already?)"
        )),
        other => Failure::runtime(other),
    })?;
    audit
        .record_durable(Event::AccountRestored {
            account: address.to_string(),
        })
        .map_err(Failure::runtime)?;
    Ok("mail restored".into())
}

/// Crypto-shreds an account in the store (restorable until purged) and audits it durably.
pub fn delete_in_store(store: &Store, audit: &AuditLog, address: &str) -> Result<String, Failure> {
    let now = chrono::Utc::now().timestamp();
    let already = store
        .accounts()
        .map_err(Failure::runtime)?
        .iter()
        .any(|a| a.address == address && a.state != sealpost_store::AccountState::Active);
    if already {
        return Ok("mail sealed away; purged after the grace period".into());
    }
    match store.delete_account(address, now) {
        Ok(_) => {
            audit
                .record_durable(Event::AccountDeleted {
                    account: address.to_string(),
                })
                .map_err(Failure::runtime)?;
            Ok("mail sealed away; purged after the grace period".into())
        }
        // An account the store never had (added and removed while no
        // server ran) is still a deletion to audit.
        Err(sealpost_store::StoreError::NoAccount) => {
            audit
                .record_durable(Event::AccountDeleted {
                    account: address.to_string(),
                })
                .map_err(Failure::runtime)?;
            Ok("no mail was stored".into())
        }
        Err(e) => Err(Failure::runtime(e)),
    }
}

/// Tells a running server to reload (which audits the change to the
/// accounts file); when none runs, audits the change here.
pub(crate) fn notify(config: &Config) -> Result<(), Failure> {
    match admin::request(&config.admin_socket(), &Request::Reload { config: None })
        .map_err(Failure::runtime)?
    {
        Some(r) if !r.ok => Err(Failure::runtime(format!(
            "the running server did not take the change: {}",
            r.message
        ))),
        Some(_) => Ok(()),
        None => crate::accounts_audit::audit_offline(config),
    }
}

/// Tells a running server to reload the edited file; if it refuses, the
/// file is put back (see `cli_edit`). When none runs, audits the change here.
pub(crate) fn notify_or_undo(config: &Config, undo: Undo) -> Result<(), Failure> {
    match reload_or_undo(config, &[undo], &[])? {
        Outcome::Taken(_) => Ok(()),
        Outcome::NoServer => crate::accounts_audit::audit_offline(config),
    }
}
