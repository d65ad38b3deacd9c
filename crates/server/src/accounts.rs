//! `sealpost account ...`: edits the accounts file in place (comments kept)
//! and tells a running server, which reloads at once (it would also notice
//! the file change by itself within a second).

use crate::admin::{self, Request};
use crate::{Failure, load_config};
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
    /// List accounts.
    List,
    /// Delete an account: logins and deliveries stop at once, its mail becomes
    /// unreadable (its key is sealed away) and is purged after the grace period.
    Delete { address: String },
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

fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

pub fn run(config_path: &Path, command: AccountCommand) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let file = &config.server.accounts;
    match command {
        AccountCommand::Add { address, .. } => {
            let password = read_password()?;
            sealpost_directory::add_account(file, &domains(&config), &address, &password)
                .map_err(Failure::runtime)?;
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            record(
                &config,
                Event::AccountCreated {
                    account: address.clone(),
                },
            );
            notify(&config)?;
            println!("added {address}");
        }
        AccountCommand::Passwd { address, .. } => {
            let password = read_password()?;
            sealpost_directory::set_password(file, &address, &password)
                .map_err(Failure::runtime)?;
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
            record(
                &config,
                Event::AccountChanged {
                    account: address.clone(),
                    change: "password".into(),
                },
            );
            notify(&config)?;
            println!("changed the password of {address}");
        }
        AccountCommand::List => {
            let accounts = sealpost_directory::list_accounts(file).map_err(Failure::runtime)?;
            for a in accounts {
                let quota = a.quota.map_or("-".to_string(), |q| q.to_string());
                let aliases = if a.aliases.is_empty() {
                    "-".to_string()
                } else {
                    a.aliases.join(",")
                };
                println!("{}\tquota={}\taliases={}", a.address, quota, aliases);
            }
        }
        AccountCommand::Delete { address } => {
            let address =
                sealpost_directory::normalize_address(&address).map_err(Failure::runtime)?;
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
                None => {
                    let store = crate::serve::open_store(&config)?;
                    let audit = AuditLog::open(&config.server.data_dir.join("audit"))
                        .map_err(Failure::runtime)?;
                    delete_in_store(&store, &audit, &address)?
                }
            };
            println!("deleted {address}: {message}");
        }
    }
    Ok(())
}

/// Crypto-shreds an account in the store (restorable until purged) and audits it durably.
pub fn delete_in_store(store: &Store, audit: &AuditLog, address: &str) -> Result<String, Failure> {
    let now = chrono::Utc::now().timestamp();
    match store.delete_account(address, now) {
        Ok(_) => {
            audit
                .record_durable(Event::AccountDeleted {
                    account: address.to_string(),
                })
                .map_err(Failure::runtime)?;
            Ok("mail sealed away; purged after the grace period".into())
        }
        Err(sealpost_store::StoreError::NoAccount) => Ok("no mail was stored".into()),
        Err(e) => Err(Failure::runtime(e)),
    }
}

/// Tells a running server to reload; silent when none runs.
fn notify(config: &Config) -> Result<(), Failure> {
    match admin::request(&config.admin_socket(), &Request::Reload).map_err(Failure::runtime)? {
        Some(r) if !r.ok => Err(Failure::runtime(format!(
            "the running server did not take the change: {}",
            r.message
        ))),
        _ => Ok(()),
    }
}

/// Records an audit event: through the server when it runs, else directly.
fn record(config: &Config, event: Event) {
    // The running server's writer owns the log; the CLI writes only when
    // no server runs (checked through the admin socket).
    match admin::request(&config.admin_socket(), &Request::Ping) {
        Ok(Some(_)) => {
            // The server audits the reload; an account event is sent with it.
            let _ = admin::request(&config.admin_socket(), &Request::Audit { event });
        }
        _ => {
            if let Ok(log) = AuditLog::open(&config.server.data_dir.join("audit")) {
                let _ = log.record_durable(event);
            }
        }
    }
}
