//! Reading and validating the accounts file.
//!
//! The format is in the crate docs; `[[forward]]` tables are checked by
//! [`crate::forward`] with the same errors. Validation is strict, as for the config:
//! unknown keys, wrong types, malformed addresses, domains not hosted,
//! hashes that are neither argon2id nor an accepted legacy scheme (see
//! [`crate::legacy`]), a duplicate address or alias, and an alias that is
//! also an account's address are errors. Each error is one line,
//! ``FILE:LINE:COL: key `account[N].KEY`: what is wrong`` (N counts from 0 as
//! in the config's errors), made from toml_edit's spans. A file that does not
//! exist holds no accounts. The CLI's edits take a file only when every
//! entry passes ([`parse`]); a server loading it takes the entries that pass
//! and names each refused one (`parse_lenient`).
//!
//! Limits: the file is at most [`MAX_FILE_LEN`] octets, an account has at
//! most [`MAX_ALIASES`] aliases, a hash at most 512 characters, an address
//! at most 254 octets.

use crate::address::{self, check_quota, domain_of, shown};
use crate::app_password::{self, AppEntry, MAX_APP_PASSWORDS};
use crate::forward::{self, Forward};
use crate::{Account, DirectoryError, password};
use sealpost_config::{ConfigError, Location};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;
use toml_edit::{Document, Item, Table, Value};

/// Largest accounts file read, in octets (64 MiB: some 300,000 accounts).
pub const MAX_FILE_LEN: u64 = 64 << 20;
/// Most aliases one account may have.
pub const MAX_ALIASES: usize = 1000;

/// The keys an `[[account]]` table may have.
const KEYS: [&str; 5] = ["address", "password", "quota", "aliases", "app_passwords"];

/// One account as read from the file, with its password hash.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) account: Account,
    pub(crate) hash: String,
    /// The account's app passwords (see [`crate::app_password`]).
    pub(crate) apps: Vec<AppEntry>,
}

impl std::fmt::Debug for Entry {
    /// Leaves the hash out: it has no business in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// What identifies one version of the file on disk: a change to any of
/// these means it was edited or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: Option<SystemTime>,
    ctime: (i64, i64),
}

impl Stamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: meta.modified().ok(),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stamp of the file now; `None` if it does not exist.
    pub(crate) fn current(path: &Path) -> Result<Option<Stamp>, DirectoryError> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(Stamp::of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(path, "cannot stat", &e)),
        }
    }
}

pub(crate) fn io_error(path: &Path, what: &str, e: &std::io::Error) -> DirectoryError {
    DirectoryError::Io(format!("{}: {what}: {e}", path.display()))
}

/// Reads the file with its stamp (taken from the open file, so the two
/// match); `None` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<(String, Stamp)>, DirectoryError> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot open accounts file", &e)),
    };
    let meta = f
        .metadata()
        .map_err(|e| io_error(path, "cannot stat accounts file", &e))?;
    if !meta.is_file() {
        return Err(DirectoryError::Io(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(DirectoryError::Invalid(format!(
            "{}: larger than {MAX_FILE_LEN} octets",
            path.display()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "cannot read accounts file", &e))?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(DirectoryError::Invalid(format!(
            "{}: larger than {MAX_FILE_LEN} octets",
            path.display()
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
        let loc = Location::of_offset(&prefix, at);
        DirectoryError::Invalid(format!(
            "{}:{}:{}: not valid UTF-8",
            path.display(),
            loc.line,
            loc.column
        ))
    })?;
    Ok(Some((text, Stamp::of(&meta))))
}

/// Where errors point: the file's name and its text.
pub(crate) struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        key: Option<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> DirectoryError {
        let e = ConfigError {
            file: self.file.to_path_buf(),
            // A quoted TOML key may hold any character; keep the error one line.
            key: key.map(|k| shown(&k)),
            location: span.map(|s| Location::of_offset(self.text, s.start)),
            message: message.into(),
        };
        DirectoryError::Invalid(e.to_string())
    }
}

/// An address with where it was written, for cross-checks.
struct Spot {
    address: String,
    key: String,
    span: Option<Range<usize>>,
}

/// Parses and validates accounts file text as if read from `file` (which
/// only names it in errors), in file order. `domains` are the hosted domains;
/// `None` skips that check.
pub fn parse_accounts(
    file: &Path,
    text: &str,
    domains: Option<&[String]>,
) -> Result<Vec<Account>, DirectoryError> {
    let domains: Option<HashSet<String>> =
        domains.map(|d| d.iter().map(|d| d.to_ascii_lowercase()).collect());
    Ok(parse(file, text, domains.as_ref())?
        .into_iter()
        .map(|e| e.account)
        .collect())
}

/// Parses and validates accounts file text. `domains` (lower case) are the
/// hosted domains; `None` skips that check (for editing and listing a file
/// whose domains the caller does not know). The first refused entry is the
/// error.
pub(crate) fn parse(
    file: &Path,
    text: &str,
    domains: Option<&HashSet<String>>,
) -> Result<Vec<Entry>, DirectoryError> {
    let (entries, _forwards, mut refused, _) = parse_lenient(file, text, domains)?;
    if refused.is_empty() {
        Ok(entries)
    } else {
        Err(refused.swap_remove(0))
    }
}

/// The `[[forward]]` tables of accounts file text, every one checked
/// (domains not: for listing). The first refused one is the error.
pub(crate) fn parse_forwards(file: &Path, text: &str) -> Result<Vec<Forward>, DirectoryError> {
    let (_, forwards, mut refused, _) = parse_lenient(file, text, None)?;
    if refused.is_empty() {
        Ok(forwards)
    } else {
        Err(refused.swap_remove(0))
    }
}

/// The valid accounts, the valid forwards, the refused entries, and
/// whether a `[[forward]]` table is among them.
pub(crate) type Parsed = (Vec<Entry>, Vec<Forward>, Vec<DirectoryError>, bool);

/// Like [`parse`], but an entry that fails a check is left out and named
/// (one line each, in the order found) instead of failing the file: the
/// valid accounts are the first value, the valid forwards
/// ([`crate::forward`]) the second. A later duplicate of an address is
/// refused, and so is the account holding an alias that clashes. Only a
/// file that is not TOML or not made of `[[account]]` and `[[forward]]`
/// tables is an error.
pub(crate) fn parse_lenient(
    file: &Path,
    text: &str,
    domains: Option<&HashSet<String>>,
) -> Result<Parsed, DirectoryError> {
    let ctx = Ctx { file, text };
    let doc = parse_document(text).map_err(|(span, message)| ctx.err(None, span, message))?;
    let root = doc.as_table();
    for (k, _) in root.iter() {
        if k != "account" && k != "forward" {
            let span = root.key(k).and_then(|k| k.span());
            return Err(ctx.err(
                Some(k.to_string()),
                span,
                "unknown key: the file holds only [[account]] and [[forward]] tables",
            ));
        }
    }
    let (forwards, forwards_refused) = forward::parse_tables(&ctx, root, domains)?;
    let forward_refused = !forwards_refused.is_empty();
    let Some(item) = root.get("account") else {
        return Ok((Vec::new(), forwards, forwards_refused, forward_refused));
    };
    let Some(tables) = item.as_array_of_tables() else {
        let span = root.key("account").and_then(|k| k.span());
        return Err(ctx.err(Some("account".into()), span, "must be [[account]] tables"));
    };

    let mut entries = Vec::with_capacity(tables.len());
    let mut refused = Vec::new();
    let mut alias_spots: Vec<(usize, Spot)> = Vec::new();
    let mut addresses: HashMap<String, String> = HashMap::new();
    for (i, table) in tables.iter().enumerate() {
        let (entry, aliases) = match parse_account(&ctx, i, table, domains) {
            Ok(parsed) => parsed,
            Err(e) => {
                refused.push(e);
                continue;
            }
        };
        let key = format!("account[{i}].address");
        if let Some(first) = addresses.get(&entry.account.address) {
            refused.push(ctx.err(
                Some(key),
                table.get("address").and_then(Item::span),
                format!("address `{}` is already `{first}`", entry.account.address),
            ));
            continue;
        }
        addresses.insert(entry.account.address.clone(), key);
        alias_spots.extend(aliases.into_iter().map(|a| (entries.len(), a)));
        entries.push(entry);
    }
    let mut seen_aliases: HashMap<&str, &str> = HashMap::new();
    let mut clashing: HashSet<usize> = HashSet::new();
    for (owner, spot) in &alias_spots {
        let clash = if let Some(account_key) = addresses.get(&spot.address) {
            Some(format!(
                "alias `{}` is the address of `{account_key}`",
                spot.address
            ))
        } else {
            seen_aliases
                .insert(&spot.address, &spot.key)
                .map(|first| format!("alias `{}` is already `{first}`", spot.address))
        };
        if let Some(why) = clash {
            refused.push(ctx.err(Some(spot.key.clone()), spot.span.clone(), why));
            clashing.insert(*owner);
        }
    }
    let entries = entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !clashing.contains(i))
        .map(|(_, e)| e)
        .collect();
    refused.extend(forwards_refused);
    Ok((entries, forwards, refused, forward_refused))
}

/// toml_edit's parser with its panics turned into errors: 0.23 panics
/// ("all items have spans") on some malformed input such as `==.ne\n.====`,
/// found by our fuzz target (`fuzz/directory/corpus/accounts_file/
/// toml_edit_span_panic.toml`). A broken accounts file must give an error,
/// never take the server or the CLI down.
pub(crate) fn parse_document(text: &str) -> Result<Document<&str>, (Option<Range<usize>>, String)> {
    match std::panic::catch_unwind(|| Document::parse(text)) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err((e.span(), e.message().to_owned())),
        Err(_) => Err((None, "not valid TOML (the parser gave up)".to_owned())),
    }
}

fn parse_account(
    ctx: &Ctx<'_>,
    i: usize,
    table: &Table,
    domains: Option<&HashSet<String>>,
) -> Result<(Entry, Vec<Spot>), DirectoryError> {
    let key = |k: &str| format!("account[{i}].{k}");
    for (k, _) in table.iter() {
        if !KEYS.contains(&k) {
            return Err(ctx.err(
                Some(key(k)),
                table.key(k).and_then(|k| k.span()),
                "unknown key (expected address, password, quota, aliases, app_passwords)",
            ));
        }
    }
    let required = |k: &str| {
        table.get(k).ok_or_else(|| {
            ctx.err(
                Some(format!("account[{i}]")),
                table.span(),
                format!("missing key `{k}`"),
            )
        })
    };
    let string = |k: &str, item: &'_ Item| -> Result<String, DirectoryError> {
        item.as_str()
            .map(str::to_owned)
            .ok_or_else(|| ctx.err(Some(key(k)), item.span(), "must be a string"))
    };
    let hosted = |address: &str, k: String, span: Option<Range<usize>>| match domains {
        Some(d) if !d.contains(domain_of(address)) => Err(ctx.err(
            Some(k),
            span,
            format!(
                "domain `{}` is not hosted here (add a [[domain]] to the config first)",
                domain_of(address)
            ),
        )),
        _ => Ok(()),
    };

    let item = required("address")?;
    let address = address::normalize(&string("address", item)?).map_err(|why| {
        ctx.err(
            Some(key("address")),
            item.span(),
            format!("`{}`: {why}", shown(item.as_str().unwrap_or(""))),
        )
    })?;
    hosted(&address, key("address"), item.span())?;

    let item = required("password")?;
    let hash = string("password", item)?;
    password::check_stored(&hash)
        .map_err(|why| ctx.err(Some(key("password")), item.span(), why))?;

    let quota = match table.get("quota") {
        None => None,
        Some(item) => {
            let q = match item.as_value() {
                Some(Value::Integer(n)) => u64::try_from(*n.value())
                    .map_err(|_| "must be positive; leave quota out for no limit".to_string())
                    .and_then(check_quota),
                Some(Value::String(s)) => address::quota(s.value()),
                _ => {
                    Err("must be an integer (octets) or a string such as \"1G\" or \"500M\"".into())
                }
            };
            Some(q.map_err(|why| ctx.err(Some(key("quota")), item.span(), why))?)
        }
    };

    let mut aliases = Vec::new();
    let mut spots = Vec::new();
    if let Some(item) = table.get("aliases") {
        let Some(array) = item.as_array() else {
            return Err(ctx.err(
                Some(key("aliases")),
                item.span(),
                "must be an array of addresses",
            ));
        };
        if array.len() > MAX_ALIASES {
            return Err(ctx.err(
                Some(key("aliases")),
                item.span(),
                format!("more than {MAX_ALIASES} aliases"),
            ));
        }
        for (j, v) in array.iter().enumerate() {
            let k = format!("account[{i}].aliases[{j}]");
            let Some(s) = v.as_str() else {
                return Err(ctx.err(Some(k), v.span(), "must be a string"));
            };
            let alias = address::normalize(s).map_err(|why| {
                ctx.err(Some(k.clone()), v.span(), format!("`{}`: {why}", shown(s)))
            })?;
            address::check_alias(&alias).map_err(|why| {
                ctx.err(Some(k.clone()), v.span(), format!("`{}`: {why}", shown(s)))
            })?;
            hosted(&alias, k.clone(), v.span())?;
            aliases.push(alias.clone());
            spots.push(Spot {
                address: alias,
                key: k,
                span: v.span(),
            });
        }
    }
    let apps = match table.get("app_passwords") {
        None => Vec::new(),
        Some(item) => parse_apps(ctx, i, item)?,
    };
    let account = Account {
        address,
        quota,
        aliases,
        app_password: None,
    };
    Ok((
        Entry {
            account,
            hash,
            apps,
        },
        spots,
    ))
}

/// `app_passwords = [{ id = "...", label = "...", password = "$argon2id$..." }, ...]`.
fn parse_apps(ctx: &Ctx<'_>, i: usize, item: &Item) -> Result<Vec<AppEntry>, DirectoryError> {
    let key = format!("account[{i}].app_passwords");
    let Some(array) = item.as_array() else {
        return Err(ctx.err(
            Some(key),
            item.span(),
            "must be an array of { id, label, password } tables",
        ));
    };
    if array.len() > MAX_APP_PASSWORDS {
        return Err(ctx.err(
            Some(key),
            item.span(),
            format!("more than {MAX_APP_PASSWORDS} app passwords"),
        ));
    }
    let mut apps: Vec<AppEntry> = Vec::with_capacity(array.len());
    for (j, v) in array.iter().enumerate() {
        let k = format!("{key}[{j}]");
        let err = |why: String| ctx.err(Some(k.clone()), v.span(), why);
        let Some(t) = v.as_inline_table() else {
            return Err(err("must be a table { id, label, password }".into()));
        };
        if let Some((bad, _)) = t
            .iter()
            .find(|(name, _)| !["id", "label", "password"].contains(name))
        {
            return Err(err(format!(
                "unknown key `{}` (expected id, label, password)",
                crate::address::shown(bad)
            )));
        }
        let field = |name: &str| {
            t.get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| err(format!("`{name}` must be a string")))
        };
        let (id, label, hash) = (field("id")?, field("label")?, field("password")?);
        app_password::check_id(&id).map_err(&err)?;
        app_password::check_label(&label).map_err(&err)?;
        match password::check_stored(&hash) {
            Ok(crate::Scheme::Argon2id) => {}
            Ok(other) => {
                return Err(err(format!(
                    "an app password is hashed with argon2id, not {}",
                    other.name()
                )));
            }
            Err(why) => return Err(err(why)),
        }
        if apps.iter().any(|a| a.id == id) {
            return Err(err(format!("id `{id}` twice")));
        }
        if apps.iter().any(|a| a.label == label) {
            return Err(err(format!(
                "label `{}` twice",
                crate::address::shown(&label)
            )));
        }
        apps.push(AppEntry { id, label, hash });
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

    fn domains() -> HashSet<String> {
        ["example.org", "example.net"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn parse_ok(text: &str) -> Vec<Account> {
        parse(Path::new("/etc/acc.toml"), text, Some(&domains()))
            .unwrap()
            .into_iter()
            .map(|e| e.account)
            .collect()
    }

    fn parse_err(text: &str) -> String {
        match parse(Path::new("/etc/acc.toml"), text, Some(&domains())) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(DirectoryError::Invalid(m)) => m,
            Err(e) => panic!("wrong error kind {e:?}"),
        }
    }

    #[test]
    fn empty_file_has_no_accounts() {
        assert!(parse_ok("").is_empty());
        assert!(parse_ok("# nothing here yet\n").is_empty());
    }

    #[test]
    fn reads_all_keys() {
        let text = format!(
            "# our users\n[[account]]\naddress = \"Alice@Example.org\"\npassword = \"{HASH}\"\nquota = \"1G\"\naliases = [\"Postmaster@example.org\", \"a@example.net\"]\n\n[[account]]\naddress = \"bob@example.net\"\npassword = '{HASH}'\nquota = 5000\n"
        );
        let got = parse_ok(&text);
        assert_eq!(
            got,
            vec![
                Account {
                    address: "alice@example.org".into(),
                    quota: Some(1 << 30),
                    aliases: vec!["postmaster@example.org".into(), "a@example.net".into()],
                    app_password: None,
                },
                Account {
                    address: "bob@example.net".into(),
                    quota: Some(5000),
                    aliases: vec![],
                    app_password: None,
                },
            ]
        );
    }

    /// Each bad file, the line its error must name and words it must contain.
    #[test]
    fn errors_name_file_key_and_line() {
        let ok = |addr: &str| format!("[[account]]\naddress = \"{addr}\"\npassword = \"{HASH}\"\n");
        let table: Vec<(String, &str, &[&str])> = vec![
            ("[[account]\n".into(), ":1:", &["/etc/acc.toml"]),
            (format!("{}colour = \"red\"\n", ok("a@example.org")), ":4:1:", &["account[0].colour", "unknown key"]),
            ("users = 3\n".into(), ":1:1:", &["key `users`", "unknown key"]),
            ("account = 3\n".into(), ":1:1:", &["key `account`", "[[account]]"]),
            (format!("{}\n[[account]]\npassword = \"{HASH}\"\n", ok("a@example.org")), ":5:", &["account[1]", "missing key `address`"]),
            ("[[account]]\naddress = \"a@example.org\"\n".into(), ":1:", &["account[0]", "missing key `password`"]),
            (format!("[[account]]\naddress = 7\npassword = \"{HASH}\"\n"), ":2:11:", &["account[0].address", "must be a string"]),
            (format!("[[account]]\naddress = \"not an address\"\npassword = \"{HASH}\"\n"), ":2:11:", &["account[0].address", "local@domain"]),
            (format!("[[account]]\naddress = \"a@elsewhere.com\"\npassword = \"{HASH}\"\n"), ":2:", &["account[0].address", "`elsewhere.com` is not hosted"]),
            ("[[account]]\naddress = \"a@example.org\"\npassword = \"hunter2\"\n".into(), ":3:12:", &["account[0].password", "not a password hash"]),
            ("[[account]]\naddress = \"a@example.org\"\npassword = \"{PLAIN}hunter2\"\n".into(), ":3:12:", &["account[0].password", "plain text", "refused"]),
            ("[[account]]\naddress = \"a@example.org\"\npassword = \"{MD5}X03MO1qnZdYdgyfeuILPmQ==\"\n".into(), ":3:12:", &["account[0].password", "unsalted", "refused"]),
            ("[[account]]\naddress = \"a@example.org\"\npassword = \"$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"\n".into(), ":3:", &["account[0].password", "bcrypt cost 31"]),
            (format!("{}quota = 0\n", ok("a@example.org")), ":4:9:", &["account[0].quota", "positive"]),
            (format!("{}quota = -5\n", ok("a@example.org")), ":4:", &["account[0].quota"]),
            (format!("{}quota = \"lots\"\n", ok("a@example.org")), ":4:", &["account[0].quota"]),
            (format!("{}quota = 1.5\n", ok("a@example.org")), ":4:", &["account[0].quota", "integer"]),
            (format!("{}aliases = \"x@example.org\"\n", ok("a@example.org")), ":4:", &["account[0].aliases", "array"]),
            (format!("{}aliases = [\"x@example.org\", 3]\n", ok("a@example.org")), ":4:", &["account[0].aliases[1]", "string"]),
            (format!("{}aliases = [\"x@other.com\"]\n", ok("a@example.org")), ":4:", &["account[0].aliases[0]", "not hosted"]),
            (format!("{}\n{}", ok("a@example.org"), ok("A@example.org")), ":6:", &["account[1].address", "already `account[0].address`"]),
            (format!("{}\n{}aliases = [\"a@example.org\"]\n", ok("a@example.org"), ok("b@example.org")), ":8:", &["account[1].aliases[0]", "is the address of `account[0].address`"]),
            (format!("{}aliases = [\"b@example.org\"]\n\n{}", ok("a@example.org"), ok("b@example.org")), ":4:", &["account[0].aliases[0]", "is the address of `account[1].address`"]),
            (format!("{}aliases = [\"x@example.org\"]\n\n{}aliases = [\"X@example.org\"]\n", ok("a@example.org"), ok("b@example.org")), ":9:", &["account[1].aliases[0]", "already `account[0].aliases[0]`"]),
            (format!("{}aliases = [\"x@example.org\", \"x@example.org\"]\n", ok("a@example.org")), ":4:", &["account[0].aliases[1]", "already"]),
            (format!("{}[account.extra]\nk = 1\n", ok("a@example.org")), ":4:", &["account[0].extra", "unknown key"]),
        ];
        for (text, line, words) in table {
            let e = parse_err(&text);
            assert!(e.starts_with("/etc/acc.toml:"), "{e}");
            assert!(e.contains(line), "want {line} in {e}\n{text}");
            for w in words {
                assert!(e.contains(w), "want {w:?} in {e}\n{text}");
            }
            assert!(!e.contains('\n'), "not one line: {e}");
        }
    }

    /// Regression: toml_edit 0.23 panics on this input; it must be an error.
    #[test]
    fn toml_edit_span_panic_is_an_error() {
        let e = parse_err("==.ne\n.====");
        assert!(e.contains("not valid TOML"), "{e}");
    }

    #[test]
    fn domain_check_can_be_skipped() {
        let text = format!("[[account]]\naddress = \"a@gone.example\"\npassword = \"{HASH}\"\n");
        assert_eq!(parse(Path::new("f"), &text, None).unwrap().len(), 1);
    }

    #[test]
    fn too_many_aliases() {
        let list: Vec<String> = (0..=MAX_ALIASES)
            .map(|i| format!("\"x{i}@example.org\""))
            .collect();
        let text = format!(
            "[[account]]\naddress = \"a@example.org\"\npassword = \"{HASH}\"\naliases = [{}]\n",
            list.join(",")
        );
        assert!(parse_err(&text).contains("more than 1000 aliases"));
        let list: Vec<String> = (0..MAX_ALIASES)
            .map(|i| format!("\"x{i}@example.org\""))
            .collect();
        let text = format!(
            "[[account]]\naddress = \"a@example.org\"\npassword = \"{HASH}\"\naliases = [{}]\n",
            list.join(",")
        );
        assert_eq!(parse_ok(&text)[0].aliases.len(), MAX_ALIASES);
    }
}
