//! Forwarding: `[[forward]]` tables in the accounts file, their edits and
//! what a recipient address forwards to.
//!
//! ```toml
//! [[forward]]
//! address = "sales@example.org"            # in a hosted domain
//! to = ["bob@elsewhere.example"]           # outside addresses, 1 to 16
//! ```
//!
//! An alias whose target is outside the hosted domains is a forward. The
//! outside targets get a copy each, sent through the outbound queue with
//! the envelope sender rewritten (SRS, in the SMTP crate) so SPF keeps
//! passing at the next hop. The address may also be an account's address
//! or an account's alias: that account then keeps its copy as well (keep a
//! copy), which is how one address has local and outside targets at once.
//! A forward on an account's own address forwards everything that reaches
//! the account by its address or its aliases, but not what reaches it
//! through a catch-all (forwarding a domain's junk outward would make us
//! its sender).
//!
//! Refused, each as one `FILE:LINE:COL: key ...` error: a target in a
//! hosted domain (deliver to it with an alias of that account), `*`
//! anywhere (no catch-all forwarding, no patterns), a local part beginning
//! with `SRS0` (those addresses are the bounces of forwarded mail), two
//! tables for one address, more than [`MAX_TARGETS`] targets.
//!
//! Forwarding is not an open relay: only an address written here forwards,
//! and only to the targets written beside it.

use crate::address::{self, domain_of, shown};
use crate::file::Ctx;
use crate::{DirectoryError, edit};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// Most outside targets one forward may have.
pub const MAX_TARGETS: usize = 16;

/// One `[[forward]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The address that forwards, lower case, in a hosted domain.
    pub address: String,
    /// The outside addresses it forwards to, lower case.
    pub to: Vec<String>,
}

/// Where mail for a forwarding address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    /// The forward that matched (the address whose mail is forwarded and
    /// whose domain the rewritten sender takes).
    pub address: String,
    /// The hosted account that keeps a copy, if any.
    pub local: Option<String>,
    /// The outside targets.
    pub remote: Vec<String>,
}

impl crate::Snapshot {
    /// What a normalized hosted address forwards to: the forward of the
    /// address itself (or, when no account, alias or forward is exactly
    /// it, of the address without its `+tag`), joined by the forward of
    /// the account it reaches (not through the catch-all). `None` when
    /// nothing forwards.
    pub(crate) fn forwarding(&self, a: &str) -> Option<Forwarding> {
        let exact = self.forwards.contains_key(a)
            || self.accounts.contains_key(a)
            || self.aliases.contains_key(a);
        let key = match exact {
            true => a.to_owned(),
            false => address::without_subaddress(a).unwrap_or_else(|| a.to_owned()),
        };
        let local = self.resolve(a).map(str::to_owned);
        let mut remote: Vec<String> = self.forwards.get(&key).cloned().unwrap_or_default();
        let mut matched = (!remote.is_empty()).then(|| key.clone());
        if let Some(primary) = local.as_deref().filter(|p| *p != key)
            && let Some(more) = self.forwards.get(primary)
        {
            matched.get_or_insert_with(|| primary.to_owned());
            for t in more {
                if !remote.contains(t) {
                    remote.push(t.clone());
                }
            }
        }
        Some(Forwarding {
            address: matched?,
            local,
            remote,
        })
    }
}

/// Whether a local part is one of the forms SRS gives bounces (`SRS0=`,
/// `SRS1=`, with `+` or `-` for `=`, any case): no forward may have it.
pub fn is_srs_local(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    local.len() >= 5
        && local.is_char_boundary(5)
        && (local[..4].eq_ignore_ascii_case("srs0") || local[..4].eq_ignore_ascii_case("srs1"))
        && matches!(local.as_bytes()[4], b'=' | b'+' | b'-')
}

/// Checks a forward's address (normalized): no pattern, not an SRS form.
fn check_address(address: &str) -> Result<(), String> {
    if address.contains('*') {
        return Err("`*` in a forward: catch-all forwarding and patterns are not supported".into());
    }
    if is_srs_local(address) {
        return Err(
            "local parts beginning with SRS0 or SRS1 are the bounces of forwarded mail".into(),
        );
    }
    Ok(())
}

/// Checks a target (normalized): not in a hosted domain, no pattern.
fn check_target(target: &str, domains: Option<&HashSet<String>>) -> Result<(), String> {
    if target.contains('*') {
        return Err("`*` in a forward target".into());
    }
    if domains.is_some_and(|d| d.contains(domain_of(target))) {
        return Err(format!(
            "`{target}` is in a hosted domain: give its account an alias instead"
        ));
    }
    Ok(())
}

/// Parses the `[[forward]]` tables of the file's root (absent: none); an
/// entry that fails a check is left out and named, as for accounts.
pub(crate) fn parse_tables(
    ctx: &Ctx<'_>,
    root: &Table,
    domains: Option<&HashSet<String>>,
) -> Result<(Vec<Forward>, Vec<DirectoryError>), DirectoryError> {
    let Some(item) = root.get("forward") else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Some(tables) = item.as_array_of_tables() else {
        let span = root.key("forward").and_then(|k| k.span());
        return Err(ctx.err(Some("forward".into()), span, "must be [[forward]] tables"));
    };
    let mut forwards = Vec::new();
    let mut refused = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, table) in tables.iter().enumerate() {
        match parse_one(ctx, i, table, domains) {
            Ok(f) => {
                if let Some(first) = seen.get(&f.address) {
                    refused.push(ctx.err(
                        Some(format!("forward[{i}].address")),
                        table.get("address").and_then(Item::span),
                        format!("`{}` is already `forward[{first}]`", f.address),
                    ));
                    continue;
                }
                seen.insert(f.address.clone(), i);
                forwards.push(f);
            }
            Err(e) => refused.push(e),
        }
    }
    Ok((forwards, refused))
}

fn parse_one(
    ctx: &Ctx<'_>,
    i: usize,
    table: &Table,
    domains: Option<&HashSet<String>>,
) -> Result<Forward, DirectoryError> {
    let key = |k: &str| format!("forward[{i}].{k}");
    for (k, _) in table.iter() {
        if k != "address" && k != "to" {
            return Err(ctx.err(
                Some(key(k)),
                table.key(k).and_then(|k| k.span()),
                "unknown key (expected address, to)",
            ));
        }
    }
    let missing = |k: &str| {
        ctx.err(
            Some(format!("forward[{i}]")),
            table.span(),
            format!("missing key `{k}`"),
        )
    };
    let item = table.get("address").ok_or_else(|| missing("address"))?;
    let Some(text) = item.as_str() else {
        return Err(ctx.err(Some(key("address")), item.span(), "must be a string"));
    };
    let address = address::normalize(text)
        .and_then(|a| check_address(&a).map(|()| a))
        .map_err(|why| {
            ctx.err(
                Some(key("address")),
                item.span(),
                format!("`{}`: {why}", shown(text)),
            )
        })?;
    if let Some(d) = domains
        && !d.contains(domain_of(&address))
    {
        return Err(ctx.err(
            Some(key("address")),
            item.span(),
            format!(
                "domain `{}` is not hosted here (add a [[domain]] to the config first)",
                domain_of(&address)
            ),
        ));
    }
    let item = table.get("to").ok_or_else(|| missing("to"))?;
    let array = match item.as_array() {
        Some(a) if !a.is_empty() && a.len() <= MAX_TARGETS => a,
        _ => {
            return Err(ctx.err(
                Some(key("to")),
                item.span(),
                format!("must be an array of 1 to {MAX_TARGETS} outside addresses"),
            ));
        }
    };
    let mut to: Vec<String> = Vec::with_capacity(array.len());
    for (j, v) in array.iter().enumerate() {
        let k = format!("forward[{i}].to[{j}]");
        let Some(s) = v.as_str() else {
            return Err(ctx.err(Some(k), v.span(), "must be a string"));
        };
        let target = address::normalize(s)
            .and_then(|t| check_target(&t, domains).map(|()| t))
            .map_err(|why| ctx.err(Some(k.clone()), v.span(), format!("`{}`: {why}", shown(s))))?;
        if !to.contains(&target) {
            to.push(target);
        }
    }
    Ok(Forward { address, to })
}

/// Every forward in the file, sorted by address (domains not checked).
pub fn list_forwards(file: &Path) -> Result<Vec<Forward>, DirectoryError> {
    let text = crate::file::read(file)?.map(|(t, _)| t).unwrap_or_default();
    let mut all = crate::file::parse_forwards(file, &text)?;
    all.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(all)
}

/// Adds `target` (an outside address) to the forward of `address` (in one
/// of `domains`), making the `[[forward]]` table if there is none.
pub fn add_forward(
    file: &Path,
    domains: &[String],
    address: &str,
    target: &str,
) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let target = address::normalize_address(target)?;
    let domains = edit::domain_set(domains);
    check_address(&address)
        .map_err(|why| DirectoryError::Invalid(format!("`{address}`: {why}")))?;
    check_target(&target, Some(&domains))
        .map_err(|why| DirectoryError::Invalid(format!("`{target}`: {why}")))?;
    if !domains.contains(domain_of(&address)) {
        return Err(DirectoryError::Invalid(format!(
            "domain `{}` is not hosted here (add a [[domain]] to the config first)",
            domain_of(&address)
        )));
    }
    edit::edit(file, Some(&domains), |doc, _| {
        match forward_table(doc, &address) {
            Some(table) => {
                let list = table
                    .get_mut("to")
                    .and_then(Item::as_array_mut)
                    .ok_or_else(|| DirectoryError::Invalid(format!("{address}: no `to` list")))?;
                if list.iter().any(|v| v.as_str() == Some(target.as_str())) {
                    return Err(DirectoryError::Invalid(format!(
                        "{address} forwards to {target} already"
                    )));
                }
                list.push(target.as_str());
            }
            None => {
                let mut table = Table::new();
                table.insert("address", toml_edit::value(address.as_str()));
                let mut list = toml_edit::Array::new();
                list.push(target.as_str());
                table.insert("to", toml_edit::value(list));
                match doc
                    .get_mut("forward")
                    .and_then(Item::as_array_of_tables_mut)
                {
                    Some(tables) => tables.push(table),
                    None => {
                        let mut tables = ArrayOfTables::new();
                        tables.push(table);
                        doc.insert("forward", Item::ArrayOfTables(tables));
                    }
                }
            }
        }
        Ok(())
    })
}

/// Removes `target` from the forward of `address` (the whole table when it
/// was the last, or when `target` is `None`).
pub fn remove_forward(
    file: &Path,
    address: &str,
    target: Option<&str>,
) -> Result<(), DirectoryError> {
    let address = address::normalize_address(address)?;
    let target = target.map(address::normalize_address).transpose()?;
    edit::edit(file, None, |doc, _| {
        let not_found = || DirectoryError::NotFound(format!("forward {address}"));
        let table = forward_table(doc, &address).ok_or_else(not_found)?;
        let emptied = match &target {
            None => true,
            Some(t) => {
                let list = table
                    .get_mut("to")
                    .and_then(Item::as_array_mut)
                    .ok_or_else(not_found)?;
                let i = list
                    .iter()
                    .position(|v| {
                        v.as_str().and_then(|s| address::normalize(s).ok()).as_ref() == Some(t)
                    })
                    .ok_or_else(|| DirectoryError::NotFound(format!("{address} -> {t}")))?;
                list.remove(i);
                list.is_empty()
            }
        };
        if emptied {
            let tables = doc
                .get_mut("forward")
                .and_then(Item::as_array_of_tables_mut)
                .ok_or_else(not_found)?;
            let i = position(tables, &address).ok_or_else(not_found)?;
            tables.remove(i);
            if tables.is_empty() {
                doc.remove("forward");
            }
        }
        Ok(())
    })
}

fn position(tables: &ArrayOfTables, address: &str) -> Option<usize> {
    tables.iter().position(|t| {
        t.get("address")
            .and_then(Item::as_str)
            .and_then(|a| address::normalize(a).ok())
            .as_deref()
            == Some(address)
    })
}

fn forward_table<'d>(doc: &'d mut DocumentMut, address: &str) -> Option<&'d mut Table> {
    let tables = doc.get_mut("forward")?.as_array_of_tables_mut()?;
    let i = position(tables, address)?;
    tables.get_mut(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srs_local_parts() {
        for a in [
            "SRS0=h=tt=d=u@x",
            "srs0+x@y",
            "Srs0-a@b",
            "SRS1=h=f==h=t=d=u@x",
        ] {
            assert!(is_srs_local(a), "{a}");
        }
        for a in ["srs@x", "srs0@x", "srs2=a@x", "srs0é@x", "alice@x"] {
            assert!(!is_srs_local(a), "{a}");
        }
    }

    #[test]
    fn address_and_target_checks() {
        assert!(check_address("sales@example.org").is_ok());
        assert!(check_address("*@example.org").is_err());
        assert!(check_address("srs0=x@example.org").is_err());
        let hosted: HashSet<String> = ["example.org".to_string()].into();
        assert!(check_target("bob@elsewhere.example", Some(&hosted)).is_ok());
        assert!(check_target("bob@example.org", Some(&hosted)).is_err());
        assert!(check_target("bob@example.org", None).is_ok());
    }
}
