//! `sealpost import-accounts --dovecot-passwd FILE [--domain D]`: creates
//! accounts from a Dovecot passwd-file with the hashes they have there, so
//! users keep their passwords (each is replaced with argon2id at its first
//! login: see `sealpost_directory::legacy`).
//!
//! All or nothing: the whole file is read and checked first (a plain text
//! or unsalted hash, a user twice, an account that exists already all stop
//! the import, naming the line), then every account is added in one edit
//! of the accounts file. A running server is told to reload, which audits
//! each new account (`account.created`) and creates its mailboxes; without
//! one the creation is audited here.

use crate::accounts::notify;
use crate::startup::{Failure, load_config};
use sealpost_directory::DirectoryError;
use sealpost_directory::dovecot::parse_passwd_file;
use std::io::Read;
use std::path::Path;

/// Runs the command; prints one summary line.
pub fn run(config_path: &Path, passwd: &Path, domain: Option<String>) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    crate::startup::require_data_dir_in_place(&config, "import-accounts")?;
    let domain = match domain {
        Some(d) => {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            if !config
                .domains
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(&d))
            {
                return Err(Failure::runtime(format!(
                    "--domain {d} is not hosted here (add a [[domain]] to the config first)"
                )));
            }
            Some(d)
        }
        None => None,
    };
    let text = read_bounded(passwd)?;
    let users = parse_passwd_file(passwd, &text, domain.as_deref()).map_err(Failure::runtime)?;
    if users.is_empty() {
        return Err(Failure::runtime(format!(
            "{}: no users in the file",
            passwd.display()
        )));
    }
    let pairs: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.address.clone(), u.hash.clone()))
        .collect();
    let domains: Vec<String> = config.domains.iter().map(|d| d.name.clone()).collect();
    let line_of = |address: &str| {
        users
            .iter()
            .find(|u| u.address == address)
            .map_or(0, |u| u.line)
    };
    sealpost_directory::add_accounts_with_hashes(&config.server.accounts, &domains, &pairs)
        .map_err(|e| match e {
            DirectoryError::Exists(a) => Failure::runtime(format!(
                "{}:{}: account {a} exists already (nothing imported)",
                passwd.display(),
                line_of(&a)
            )),
            other => Failure::runtime(format!("{other} (nothing imported)")),
        })?;
    notify(&config)?;
    println!(
        "imported {} account(s) from {} into {}",
        users.len(),
        passwd.display(),
        config.server.accounts.display()
    );
    Ok(())
}

fn read_bounded(path: &Path) -> Result<String, Failure> {
    let limit = sealpost_directory::file::MAX_FILE_LEN;
    let f = std::fs::File::open(path)
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > limit {
        return Err(Failure::runtime(format!(
            "{}: larger than {limit} octets",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Failure::runtime(format!("{}: not valid UTF-8", path.display())))
}
