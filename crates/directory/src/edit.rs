//! Editing the accounts file for the CLI (`sealpost account ...`).
//!
//! Every edit reads the file, checks it, changes the document with toml_edit
//! (so the operator's comments, order and layout stay), checks the result
//! as the server would read it, and replaces the file atomically: a temporary
//! file in the same directory, written, fsynced, renamed over the old one,
//! then the directory fsynced. A crash leaves the old file or the new one,
//! never half of either. The file is always mode 0600 because it holds
//! password hashes. Edits from two CLI processes are serialized with an
//! exclusive lock on `.NAME.lock` next to the file, so neither loses the
//! other's change. If the file is a symbolic link, its target is replaced.
//!
//! Passwords are hashed before the lock is taken; an empty password and one
//! longer than [`MAX_PASSWORD_LEN`] are refused.

use crate::address::{self, check_quota, domain_of};
use crate::app_password::{self, AppPasswordInfo, MAX_APP_PASSWORDS};
use crate::file::{self, Entry};
use crate::password::{MAX_PASSWORD_LEN, hash_password};
use crate::{Account, DirectoryError, Refusal, Secret};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// Reads and checks an accounts file exactly as the server would, with the
/// hosted `domains`; returns its accounts sorted by address.
/// (`sealpost check-config` uses this.)
pub fn check_accounts(file: &Path, domains: &[String]) -> Result<Vec<Account>, DirectoryError> {
    let domains = domain_set(domains);
    let text = file::read(file)?.map(|(t, _)| t).unwrap_or_default();
    Ok(sorted(file::parse(file, &text, Some(&domains))?))
}

/// Every account in the file, sorted by address (domains are not checked,
/// so a file whose domain was dropped from the config can still be listed).
pub fn list_accounts(file: &Path) -> Result<Vec<Account>, DirectoryError> {
    let text = file::read(file)?.map(|(t, _)| t).unwrap_or_default();
    Ok(sorted(file::parse(file, &text, None)?))
}

fn sorted(entries: Vec<Entry>) -> Vec<Account> {
    let mut all: Vec<Account> = entries.into_iter().map(|e| e.account).collect();
    all.sort_by(|a, b| a.address.cmp(&b.address));
    all
}

pub(crate) fn domain_set(domains: &[String]) -> HashSet<String> {
    domains
        .iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .collect()
}

/// Adds an account with a new argon2id hash of `password`. Refuses a domain
/// not among `domains`, an address that is an account or alias already, and
/// an empty password. Creates the file if it does not exist.
pub fn add_account(
    file: &Path,
    domains: &[String],
    address: &str,
    password: &Secret,
) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let domains = domain_set(domains);
    if !domains.contains(domain_of(&address)) {
        return Err(DirectoryError::Invalid(format!(
            "domain `{}` is not hosted here (add a [[domain]] to the config first)",
            domain_of(&address)
        )));
    }
    let hash = hash_checked(password)?;
    edit(file, Some(&domains), |doc, entries| {
        if entries.iter().any(|e| e.account.address == address) {
            return Err(DirectoryError::Exists(address.clone()));
        }
        if let Some(owner) = alias_owner(entries, &address) {
            return Err(DirectoryError::Invalid(format!(
                "{address} is an alias of {owner}; remove the alias first"
            )));
        }
        let mut table = Table::new();
        table.insert("address", toml_edit::value(address.as_str()));
        table.insert("password", toml_edit::value(hash));
        let tables = doc
            .entry("account")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .ok_or_else(|| DirectoryError::Invalid("`account` is not [[account]] tables".into()))?;
        if !tables.is_empty() {
            table.decor_mut().set_prefix("\n");
        }
        tables.push(table);
        Ok(())
    })
}

/// Adds accounts with the hashes they already have (from another server:
/// `sealpost import-accounts`), in one edit: all of them or, on the first
/// refusal, none. Each hash must be one [`crate::check_stored`] accepts;
/// an address that is an account or alias already is refused
/// ([`DirectoryError::Exists`] names it), as is a domain not among
/// `domains`.
pub fn add_accounts_with_hashes(
    file: &Path,
    domains: &[String],
    accounts: &[(String, String)],
) -> Result<(), DirectoryError> {
    let domains = domain_set(domains);
    let mut checked = Vec::with_capacity(accounts.len());
    for (address, hash) in accounts {
        let address = address::normalize_address(address)?;
        if !domains.contains(domain_of(&address)) {
            return Err(DirectoryError::Invalid(format!(
                "{address}: domain `{}` is not hosted here (add a [[domain]] to the config first)",
                domain_of(&address)
            )));
        }
        crate::password::check_stored(hash)
            .map_err(|why| DirectoryError::Invalid(format!("{address}: {why}")))?;
        checked.push((address, hash));
    }
    edit(file, Some(&domains), |doc, entries| {
        for (address, _) in &checked {
            if entries.iter().any(|e| e.account.address == *address) {
                return Err(DirectoryError::Exists(address.clone()));
            }
            if let Some(owner) = alias_owner(entries, address) {
                return Err(DirectoryError::Invalid(format!(
                    "{address} is an alias of {owner}; remove the alias first"
                )));
            }
        }
        let tables = doc
            .entry("account")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .ok_or_else(|| DirectoryError::Invalid("`account` is not [[account]] tables".into()))?;
        for (address, hash) in &checked {
            let mut table = Table::new();
            table.insert("address", toml_edit::value(address.as_str()));
            table.insert("password", toml_edit::value(hash.as_str()));
            if !tables.is_empty() {
                table.decor_mut().set_prefix("\n");
            }
            tables.push(table);
        }
        Ok(())
    })
}

/// Adds an app password labelled `label` to an account and returns it
/// (generated; show it once, it is not kept). Refuses a label the account
/// has already, and more than [`MAX_APP_PASSWORDS`] app passwords.
pub fn add_app_password(file: &Path, address: &str, label: &str) -> Result<Secret, DirectoryError> {
    let address = address::normalize_address(address)?;
    app_password::check_label(label).map_err(Refusal::BadLabel)?;
    let password = app_password::generate();
    let hash = hash_password(&password);
    edit(file, None, |doc, entries| {
        let entry = entries
            .iter()
            .find(|e| e.account.address == address)
            .ok_or_else(|| DirectoryError::NotFound(address.clone()))?;
        if entry.apps.iter().any(|a| a.label == label) {
            return Err(Refusal::LabelTaken {
                address: address.clone(),
                label: label.to_string(),
            }
            .into());
        }
        if entry.apps.len() >= MAX_APP_PASSWORDS {
            return Err(Refusal::TooManyAppPasswords {
                address: address.clone(),
            }
            .into());
        }
        let id = app_password::id_of(password.expose()).unwrap_or_default();
        if entry.apps.iter().any(|a| a.id == id) {
            // One chance in a million per existing app password: try again.
            return Err(Refusal::AppPasswordIdTaken.into());
        }
        let mut row = toml_edit::InlineTable::new();
        row.insert("id", Value::from(id));
        row.insert("label", Value::from(label));
        row.insert("password", Value::from(hash.as_str()));
        let table = account_table(doc, &address)?;
        match table.get_mut("app_passwords").and_then(Item::as_array_mut) {
            Some(list) => {
                list.push(row);
                list.fmt();
            }
            None => {
                let mut list = toml_edit::Array::new();
                list.push(row);
                table.insert("app_passwords", toml_edit::value(list));
            }
        }
        Ok(())
    })?;
    Ok(password)
}

/// Removes (revokes) an account's app password by label.
pub fn remove_app_password(file: &Path, address: &str, label: &str) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    edit(file, None, |doc, _| {
        let table = account_table(doc, &address)?;
        let not_found = || {
            DirectoryError::from(Refusal::NoAppPassword {
                address: address.clone(),
                label: label.to_string(),
            })
        };
        let list = table
            .get_mut("app_passwords")
            .and_then(Item::as_array_mut)
            .ok_or_else(not_found)?;
        let i = list
            .iter()
            .position(|v| {
                v.as_inline_table()
                    .and_then(|t| t.get("label"))
                    .and_then(|l| l.as_str())
                    == Some(label)
            })
            .ok_or_else(not_found)?;
        list.remove(i);
        if list.is_empty() {
            table.remove("app_passwords");
        }
        Ok(())
    })
}

/// An account's app passwords (labels and ids, never hashes), in file order.
pub fn list_app_passwords(
    file: &Path,
    address: &str,
) -> Result<Vec<AppPasswordInfo>, DirectoryError> {
    let address = address::normalize_address(address)?;
    let text = file::read(file)?.map(|(t, _)| t).unwrap_or_default();
    let entries = file::parse(file, &text, None)?;
    let entry = entries
        .iter()
        .find(|e| e.account.address == address)
        .ok_or(DirectoryError::NotFound(address))?;
    Ok(entry
        .apps
        .iter()
        .map(|a| AppPasswordInfo {
            id: a.id.clone(),
            label: a.label.clone(),
        })
        .collect())
}

/// Replaces an account's password hash.
pub fn set_password(file: &Path, address: &str, password: &Secret) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let hash = hash_checked(password)?;
    edit(file, None, |doc, _| {
        let table = account_table(doc, &address)?;
        set_value(table, "password", Value::from(hash));
        Ok(())
    })
}

/// Replaces an account's stored hash `old` with `new` (an argon2id hash of
/// the same password, made after a login verified `old`). Returns false,
/// writing nothing, when the account is gone or its hash is not `old` any
/// more (changed meanwhile: that change wins).
pub fn replace_legacy_hash(
    file: &Path,
    address: &str,
    old: &str,
    new: &str,
) -> Result<bool, DirectoryError> {
    let unchanged = |doc: &mut DocumentMut| -> Option<()> {
        let table = account_table(doc, address).ok()?;
        (table.get("password")?.as_str()? == old).then_some(())
    };
    let result = edit(file, None, |doc, _| {
        unchanged(doc).ok_or_else(|| DirectoryError::NotFound(address.to_owned()))?;
        let table = account_table(doc, address)?;
        set_value(table, "password", Value::from(new));
        Ok(())
    });
    match result {
        Ok(()) => Ok(true),
        Err(DirectoryError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes an account (its mail is the store's business). Comments above
/// it that are separated from it by a blank line stay in the file.
pub fn remove_account(file: &Path, address: &str) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    edit(file, None, |doc, _| {
        let i = position(doc, &address).ok_or_else(|| DirectoryError::NotFound(address.clone()))?;
        let Some(tables) = doc
            .get_mut("account")
            .and_then(Item::as_array_of_tables_mut)
        else {
            return Err(DirectoryError::NotFound(address.clone()));
        };
        let removed = tables.remove(i);
        let prefix = removed
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("");
        // What is above a blank line belongs to what came before, not to
        // this account: keep it.
        let keep = prefix.rfind("\n\n").map_or("", |k| &prefix[..k + 1]);
        if !keep.trim().is_empty() {
            if let Some(next) = tables.get_mut(i) {
                let next_prefix = next
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or("")
                    .trim_start_matches('\n')
                    .to_owned();
                next.decor_mut()
                    .set_prefix(format!("{keep}\n{next_prefix}"));
            } else {
                let gap = if tables.is_empty() { "" } else { "\n" };
                let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
                doc.set_trailing(format!("{gap}{keep}{trailing}"));
            }
        }
        Ok(())
    })
}

/// Sets an account's quota in octets, or removes it (no limit) with `None`.
pub fn set_quota(file: &Path, address: &str, quota: Option<u64>) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    if let Some(q) = quota {
        check_quota(q).map_err(|why| DirectoryError::Invalid(format!("quota {q}: {why}")))?;
    }
    edit(file, None, |doc, _| {
        let table = account_table(doc, &address)?;
        match quota {
            // check_quota bounds q at 2^50, well inside i64.
            Some(q) => set_value(table, "quota", Value::from(q as i64)),
            None => {
                table.remove("quota");
            }
        }
        Ok(())
    })
}

/// Adds an alias to an account. Refuses a domain not among `domains` and an
/// alias that is an account's address or another account's alias already.
pub fn add_alias(
    file: &Path,
    domains: &[String],
    address: &str,
    alias: &str,
) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let alias = address::normalize_address(alias)?;
    address::check_alias(&alias)
        .map_err(|why| DirectoryError::Invalid(format!("`{alias}`: {why}")))?;
    let domains = domain_set(domains);
    if !domains.contains(domain_of(&alias)) {
        return Err(DirectoryError::Invalid(format!(
            "domain `{}` is not hosted here (add a [[domain]] to the config first)",
            domain_of(&alias)
        )));
    }
    edit(file, Some(&domains), |doc, entries| {
        if entries.iter().any(|e| e.account.address == alias) {
            return Err(DirectoryError::Exists(alias.clone()));
        }
        if let Some(owner) = alias_owner(entries, &alias) {
            return Err(DirectoryError::Invalid(format!(
                "{alias} is an alias of {owner} already"
            )));
        }
        let table = account_table(doc, &address)?;
        match table.get_mut("aliases").and_then(Item::as_array_mut) {
            Some(list) => list.push(alias.as_str()),
            None => {
                let mut list = toml_edit::Array::new();
                list.push(alias.as_str());
                table.insert("aliases", toml_edit::value(list));
            }
        }
        Ok(())
    })
}

/// Removes an alias from an account.
pub fn remove_alias(file: &Path, address: &str, alias: &str) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let alias = address::normalize_address(alias)?;
    edit(file, None, |doc, _| {
        let table = account_table(doc, &address)?;
        let not_found = || DirectoryError::NotFound(format!("{address} with the alias {alias}"));
        let list = table
            .get_mut("aliases")
            .and_then(Item::as_array_mut)
            .ok_or_else(not_found)?;
        let i = list
            .iter()
            .position(|v| {
                v.as_str()
                    .and_then(|s| address::normalize(s).ok())
                    .as_deref()
                    == Some(alias.as_str())
            })
            .ok_or_else(not_found)?;
        list.remove(i);
        if list.is_empty() {
            table.remove("aliases");
        }
        Ok(())
    })
}

/// One account's `[[account]]` table as TOML text, password hash included,
/// so it can be put back with [`import_account`] (`sealpost account delete`
/// saves it before removing the account; `account restore` imports it).
/// The text holds a password hash: keep it 0600.
pub fn export_account(file: &Path, address: &str) -> Result<String, DirectoryError> {
    let address = address::normalize_address(address)?;
    let text = file::read(file)?.map(|(t, _)| t).unwrap_or_default();
    file::parse(file, &text, None)?;
    let doc = file::parse_document(&text)
        .map_err(|(_, why)| DirectoryError::Invalid(format!("{}: {why}", file.display())))?
        .into_mut();
    let i = position(&doc, &address).ok_or_else(|| DirectoryError::NotFound(address.clone()))?;
    let Some(table) = doc
        .get("account")
        .and_then(Item::as_array_of_tables)
        .and_then(|t| t.get(i))
    else {
        return Err(DirectoryError::NotFound(address));
    };
    let mut one = ArrayOfTables::new();
    let mut table = table.clone();
    table.decor_mut().set_prefix("");
    one.push(table);
    let mut out = DocumentMut::new();
    out.insert("account", Item::ArrayOfTables(one));
    Ok(out.to_string())
}

/// Adds back an account exported by [`export_account`]: exactly one
/// `[[account]]` table, checked like the accounts file. Refuses what
/// [`add_account`] refuses, and aliases that are taken meanwhile.
pub fn import_account(
    file: &Path,
    domains: &[String],
    entry: &str,
) -> Result<Account, DirectoryError> {
    let domains = domain_set(domains);
    let entries = file::parse(Path::new("exported account"), entry, Some(&domains))?;
    let [imported] = entries.as_slice() else {
        return Err(DirectoryError::Invalid(format!(
            "an exported account is one [[account]] table, not {}",
            entries.len()
        )));
    };
    let account = imported.account.clone();
    let doc_in = file::parse_document(entry)
        .map_err(|(_, why)| DirectoryError::Invalid(format!("exported account: {why}")))?
        .into_mut();
    let Some(mut table) = doc_in
        .get("account")
        .and_then(Item::as_array_of_tables)
        .and_then(|t| t.get(0))
        .cloned()
    else {
        return Err(DirectoryError::Invalid(
            "exported account holds no [[account]]".into(),
        ));
    };
    edit(file, Some(&domains), |doc, entries| {
        if entries.iter().any(|e| e.account.address == account.address) {
            return Err(DirectoryError::Exists(account.address.clone()));
        }
        for name in std::iter::once(&account.address).chain(&account.aliases) {
            if let Some(e) = entries.iter().find(|e| e.account.address == *name) {
                return Err(DirectoryError::Invalid(format!(
                    "{name} is the account {} now",
                    e.account.address
                )));
            }
            if let Some(owner) = alias_owner(entries, name) {
                return Err(DirectoryError::Invalid(format!(
                    "{name} is an alias of {owner} now"
                )));
            }
        }
        let tables = doc
            .entry("account")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .ok_or_else(|| DirectoryError::Invalid("`account` is not [[account]] tables".into()))?;
        table
            .decor_mut()
            .set_prefix(if tables.is_empty() { "" } else { "\n" });
        tables.push(table);
        Ok(())
    })?;
    Ok(account)
}

fn hash_checked(password: &Secret) -> Result<String, DirectoryError> {
    let len = password.expose().len();
    if len == 0 {
        return Err(Refusal::PasswordEmpty.into());
    }
    if len > MAX_PASSWORD_LEN {
        return Err(Refusal::PasswordTooLong.into());
    }
    Ok(hash_password(password))
}

fn alias_owner<'e>(entries: &'e [Entry], alias: &str) -> Option<&'e str> {
    entries
        .iter()
        .find(|e| e.account.aliases.iter().any(|a| a == alias))
        .map(|e| e.account.address.as_str())
}

/// The index of the account with this (normalized) address.
fn position(doc: &DocumentMut, address: &str) -> Option<usize> {
    doc.get("account")?
        .as_array_of_tables()?
        .iter()
        .position(|t| {
            t.get("address")
                .and_then(Item::as_str)
                .and_then(|a| address::normalize(a).ok())
                .as_deref()
                == Some(address)
        })
}

fn account_table<'d>(
    doc: &'d mut DocumentMut,
    address: &str,
) -> Result<&'d mut Table, DirectoryError> {
    let i = position(doc, address).ok_or_else(|| DirectoryError::NotFound(address.to_owned()))?;
    doc.get_mut("account")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|t| t.get_mut(i))
        .ok_or_else(|| DirectoryError::NotFound(address.to_owned()))
}

/// Sets a value, keeping the spacing and the comment of the one it replaces.
fn set_value(table: &mut Table, key: &str, new: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, Item::Value(new));
        }
    }
}

/// Read, check, change, check, write: see the module docs.
pub(crate) fn edit(
    path: &Path,
    domains: Option<&HashSet<String>>,
    change: impl FnOnce(&mut DocumentMut, &[Entry]) -> Result<(), DirectoryError>,
) -> Result<(), DirectoryError> {
    let path = &target(path)?;
    let _lock = lock(path)?;
    let text = file::read(path)?.map(|(t, _)| t).unwrap_or_default();
    let entries = file::parse(path, &text, domains)?;
    // `parse` above accepted the same text, so this cannot fail or panic.
    let mut doc: DocumentMut = file::parse_document(&text)
        .map_err(|(_, why)| DirectoryError::Invalid(format!("{}: {why}", path.display())))?
        .into_mut();
    change(&mut doc, &entries)?;
    let new_text = doc.to_string();
    file::parse(path, &new_text, domains).map_err(|e| {
        DirectoryError::Invalid(format!(
            "refusing to write an edit that would not load: {e}"
        ))
    })?;
    write_atomic(path, new_text.as_bytes())
}

/// The file to replace: the target of a symbolic link, else the path.
fn target(path: &Path) -> Result<PathBuf, DirectoryError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)
            .map_err(|e| file::io_error(path, "cannot resolve symbolic link", &e)),
        _ => Ok(path.to_path_buf()),
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> Result<String, DirectoryError> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| DirectoryError::Io(format!("{}: not a file name", path.display())))
}

/// An exclusive lock on `.NAME.lock` beside the file, held while it lives.
fn lock(path: &Path) -> Result<File, DirectoryError> {
    let lock_path = parent(path).join(format!(".{}.lock", file_name(path)?));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| file::io_error(&lock_path, "cannot open lock file", &e))?;
    f.lock()
        .map_err(|e| file::io_error(&lock_path, "cannot lock", &e))?;
    Ok(f)
}

/// Replaces `path` with `bytes` through the shared helper: temporary file
/// 0600, fsync, rename, dir fsync.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DirectoryError> {
    sealpost_durable::write(path, bytes)
        .map_err(|e| file::io_error(path, "cannot write accounts file", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_passwords_before_touching_anything() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("accounts.toml");
        let d = vec!["example.org".to_string()];
        let e = add_account(&f, &d, "a@example.org", &Secret::new("")).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let long = Secret::new("x".repeat(MAX_PASSWORD_LEN + 1));
        let e = add_account(&f, &d, "a@example.org", &long).unwrap_err();
        assert!(e.to_string().contains("longer"), "{e}");
        assert!(!f.exists());
    }

    #[test]
    fn atomic_write_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.toml");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["x.toml".to_string()]);
    }

    #[test]
    fn failed_write_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.toml");
        write_atomic(&f, b"old").unwrap();
        // Renaming a file over a non-empty directory fails.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("inside"), b"").unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&f).unwrap(), b"old");
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
