//! `sealpost alias add|remove|list`: address management in the accounts file, edited in place (comments kept, 0600),
//! like `account add`. A running server takes the edit at once (the CLI
//! asks it to reload; its watcher would within a second anyway) and the
//! edit is undone if it refuses; the change is audited either way (the
//! accounts file audit: `account_changed` with the aliases).
//!
//! An alias points at an account of this server. `*@domain` is the
//! domain's catch-all (off until added): mail for any address there that
//! no account or alias has. Forwarding to an outside address is refused
//! for now: it needs sender rewriting (SRS) to keep SPF passing at the
//! destination, which sealpost does not do yet.
//!
//! `add` and `remove` hold the config file's edit lock (`config_lock.rs`)
//! from before they read the config until the server has taken or refused
//! the edit, like the `domain` commands: an alias is never added to a
//! domain that a concurrent `domain remove` is taking away (that command
//! refuses while the domain has an alias), and an edit undone after a
//! refusal never restores a file another alias command has changed since.
//!
//! Uses `startup`, `cli_edit`, `config_lock` and `accounts`.

use crate::accounts::{known_account, notify_or_undo};
use crate::cli_edit::Undo;
use crate::startup::{Failure, load_config};
use clap::Subcommand;
use sealpost_config::Config;
use std::path::Path;

#[derive(Subcommand)]
pub enum AliasCommand {
    /// Deliver mail for ALIAS to ACCOUNT (`*@domain`: the domain's
    /// catch-all, for every address there nobody else has).
    Add {
        /// The alias, e.g. sales@example.org or *@example.org.
        alias: String,
        /// The account of this server that receives its mail.
        account: String,
    },
    /// Stop delivering mail for ALIAS.
    Remove { alias: String },
    /// Every alias with its account, one per line (tab-separated).
    List,
}

pub fn run(config_path: &Path, command: AliasCommand) -> Result<(), Failure> {
    // Locked before the config is read (edits only).
    let _lock = match command {
        AliasCommand::List => None,
        _ => Some(crate::config_lock::ConfigLock::acquire(config_path)?),
    };
    let config = load_config(config_path)?;
    let file = &config.server.accounts;
    match command {
        AliasCommand::Add { alias, account } => {
            let account = known_account(&config, &account)?;
            let undo = Undo::take(file)?;
            sealpost_directory::add_alias(file, &domains(&config), &account, &alias)
                .map_err(Failure::runtime)?;
            let alias = normalize(&alias)?;
            notify_or_undo(&config, undo)?;
            match alias.starts_with("*@") {
                true => println!("{alias} (catch-all) -> {account}"),
                false => println!("{alias} -> {account}"),
            }
        }
        AliasCommand::Remove { alias } => {
            let alias = normalize(&alias)?;
            let owner = aliases(&config)?
                .into_iter()
                .find(|(a, _)| *a == alias)
                .map(|(_, owner)| owner)
                .ok_or_else(|| Failure::runtime(format!("{alias} is not an alias")))?;
            let undo = Undo::take(file)?;
            sealpost_directory::remove_alias(file, &owner, &alias).map_err(Failure::runtime)?;
            notify_or_undo(&config, undo)?;
            println!("removed {alias} (was -> {owner})");
        }
        AliasCommand::List => {
            for (alias, owner) in aliases(&config)? {
                println!("{alias}\t{owner}");
            }
        }
    }
    Ok(())
}

fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

fn normalize(address: &str) -> Result<String, Failure> {
    sealpost_directory::normalize_address(address).map_err(Failure::runtime)
}

/// Every (alias, account), sorted by alias.
fn aliases(config: &Config) -> Result<Vec<(String, String)>, Failure> {
    let mut out: Vec<(String, String)> = sealpost_directory::list_accounts(&config.server.accounts)
        .map_err(Failure::runtime)?
        .into_iter()
        .flat_map(|a| {
            let owner = a.address.clone();
            a.aliases
                .into_iter()
                .map(move |alias| (alias, owner.clone()))
        })
        .collect();
    out.sort();
    Ok(out)
}
