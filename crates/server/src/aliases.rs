//! `sealpost alias add|remove|list`: address management in the accounts file, edited in place (comments kept, 0600),
//! like `account add`. A running server takes the edit at once (the CLI
//! asks it to reload; its watcher would within a second anyway) and the
//! edit is undone if it refuses; the change is audited either way (the
//! accounts file audit: `account_changed` with the aliases).
//!
//! An alias points at an account of this server, or at an outside
//! address: that is forwarding (a `[[forward]]` table in the accounts file,
//! see `sealpost_directory::forward`), sent on with the sender rewritten
//! (SRS) so SPF keeps passing at the destination. One alias may have
//! several targets: at most one account (which keeps a copy) and up to 16
//! outside addresses; `alias add` adds one target at a time, `alias
//! remove ALIAS TARGET` takes one away and `alias remove ALIAS` all.
//! `*@domain` is the domain's catch-all (off until added): mail for any
//! address there that no account or alias has; it takes an account only
//! (forwarding a catch-all would forward a domain's junk).
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
    /// Deliver mail for ALIAS to TARGET: an account of this server, or an
    /// outside address (forwarding, with the sender rewritten by SRS).
    /// `*@domain`: the domain's catch-all, for every address there nobody
    /// else has (an account only).
    Add {
        /// The alias, e.g. sales@example.org or *@example.org.
        alias: String,
        /// An account of this server, or an outside address to forward to.
        target: String,
    },
    /// Stop delivering mail for ALIAS to TARGET (without TARGET: to any).
    Remove {
        alias: String,
        target: Option<String>,
    },
    /// Every alias with its target, one per line (tab-separated); an
    /// alias with several targets has a line for each.
    List,
}

pub fn run(config_path: &Path, command: AliasCommand) -> Result<(), Failure> {
    // Locked before the config is read (edits only).
    let _lock = match command {
        AliasCommand::List => None,
        _ => Some(crate::config_lock::ConfigLock::acquire(config_path)?),
    };
    let config = load_config(config_path)?;
    if !matches!(command, AliasCommand::List) {
        crate::startup::require_data_dir_in_place(&config, "alias")?;
    }
    match command {
        AliasCommand::Add { alias, target } => add(&config, &alias, &target),
        AliasCommand::Remove { alias, target } => remove(&config, &alias, target.as_deref()),
        AliasCommand::List => {
            for (alias, target) in aliases(&config)? {
                println!("{alias}\t{target}");
            }
            Ok(())
        }
    }
}

fn add(config: &Config, alias: &str, target: &str) -> Result<(), Failure> {
    let file = &config.server.accounts;
    let target_normalized = normalize(target)?;
    if !is_hosted(config, &target_normalized) {
        let alias = normalize(alias)?;
        let undo = Undo::take(file)?;
        sealpost_directory::add_forward(file, &domains(config), &alias, &target_normalized)
            .map_err(Failure::runtime)?;
        notify_or_undo(config, undo)?;
        println!("{alias} -> {target_normalized} (forwarded, sender rewritten with SRS)");
        return Ok(());
    }
    let account = known_account(config, target)?;
    let undo = Undo::take(file)?;
    sealpost_directory::add_alias(file, &domains(config), &account, alias)
        .map_err(Failure::runtime)?;
    let alias = normalize(alias)?;
    notify_or_undo(config, undo)?;
    match alias.starts_with("*@") {
        true => println!("{alias} (catch-all) -> {account}"),
        false => println!("{alias} -> {account}"),
    }
    Ok(())
}

fn remove(config: &Config, alias: &str, target: Option<&str>) -> Result<(), Failure> {
    let file = &config.server.accounts;
    let alias = normalize(alias)?;
    let target = target.map(normalize).transpose()?;
    let wanted: Vec<String> = aliases(config)?
        .into_iter()
        .filter(|(a, t)| *a == alias && target.as_ref().is_none_or(|want| want == t))
        .map(|(_, t)| t)
        .collect();
    if wanted.is_empty() {
        return Err(Failure::runtime(match &target {
            Some(t) => format!("{alias} is not an alias of {t}"),
            None => format!("{alias} is not an alias"),
        }));
    }
    let undo = Undo::take(file)?;
    let mut forwards_gone = false;
    for t in &wanted {
        if is_hosted(config, t) {
            sealpost_directory::remove_alias(file, t, &alias).map_err(Failure::runtime)?;
        } else if target.is_some() {
            sealpost_directory::remove_forward(file, &alias, Some(t)).map_err(Failure::runtime)?;
        } else if !forwards_gone {
            sealpost_directory::remove_forward(file, &alias, None).map_err(Failure::runtime)?;
            forwards_gone = true;
        }
    }
    notify_or_undo(config, undo)?;
    for t in wanted {
        println!("removed {alias} (was -> {t})");
    }
    Ok(())
}

/// Whether an address (normalized) is in a hosted domain.
fn is_hosted(config: &Config, address: &str) -> bool {
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    domains(config)
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
}

fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

fn normalize(address: &str) -> Result<String, Failure> {
    sealpost_directory::normalize_address(address).map_err(Failure::runtime)
}

/// Every (alias, target): accounts' aliases and forwards, sorted.
fn aliases(config: &Config) -> Result<Vec<(String, String)>, Failure> {
    let file = &config.server.accounts;
    let mut out: Vec<(String, String)> = sealpost_directory::list_accounts(file)
        .map_err(Failure::runtime)?
        .into_iter()
        .flat_map(|a| {
            let owner = a.address.clone();
            a.aliases
                .into_iter()
                .map(move |alias| (alias, owner.clone()))
        })
        .collect();
    for f in sealpost_directory::list_forwards(file).map_err(Failure::runtime)? {
        out.extend(f.to.into_iter().map(|t| (f.address.clone(), t)));
    }
    out.sort();
    Ok(out)
}
