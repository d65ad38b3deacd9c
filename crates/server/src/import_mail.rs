//! `sealpost import ADDRESS --from PATH`: moves a Maildir, an mbox file or a
//! folder of mbox files (see `import_mbox`) into an account,
//! offline (the embedded store refuses a second process, so stop the server
//! first; importing through the admin socket while serving is not there yet).
//!
//! Read: the Maildir at PATH (`cur/`, `new/`) as INBOX and its Maildir++
//! subfolders (`.Sent`, `.Lists.rust` → `Lists/rust`), each with Dovecot's
//! files when present: `dovecot-uidlist` (its UIDVALIDITY and each file's
//! UID are kept, through the store's `set_uid_validity` and
//! `append_with_uid`, so clients that synced against Dovecot download
//! nothing again), `dovecot-keywords` (the letters `a`-`z` of a file name's
//! flags), and `subscriptions` at the top. Flags come from the `:2,` suffix
//! (D Draft, F Flagged, P `$Forwarded`, R Answered, S Seen, T Deleted);
//! INTERNALDATE is the file's modification time, as Dovecot keeps it. Bare
//! LF line endings (Dovecot's on disk) become CRLF.
//! Files without a UID (or whose UID is taken) get the next UID. A mailbox
//! that holds messages already keeps its UIDVALIDITY.
//!
//! Memory stays flat: one message is in memory at a time. Progress goes to
//! a terminal; one summary line is printed. The import is audited
//! (`account_changed`, "imported N messages").

use crate::startup::{Failure, load_config};
use sealpost_audit::Event;
use sealpost_store::{AccountId, Flags, MailboxName, Store, StoreError, Uid, UidValidity};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// One Maildir folder to import.
struct Folder {
    name: String,
    path: PathBuf,
}

/// What Dovecot's per-folder files say.
#[derive(Default)]
struct Dovecot {
    uid_validity: Option<u32>,
    uids: HashMap<String, u32>,
    keywords: HashMap<char, String>,
}

#[derive(Default)]
struct Totals {
    messages: u64,
    octets: u64,
    kept_uids: u64,
    mailboxes: u64,
}

/// Runs the command.
pub fn run(config_path: &Path, address: &str, from: &Path) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let address = sealpost_directory::normalize_address(address).map_err(Failure::runtime)?;
    let known = sealpost_directory::list_accounts(&config.server.accounts)
        .map_err(Failure::runtime)?
        .iter()
        .any(|a| a.address == address);
    if !known {
        return Err(Failure::runtime(format!("no account {address}")));
    }
    let kind = if from.is_file() {
        "an mbox file"
    } else if from.join("cur").is_dir() {
        "a Maildir"
    } else if from.is_dir() {
        "a folder of mbox files"
    } else {
        return Err(Failure::runtime(format!(
            "{}: no such file or folder (give a Maildir, an mbox file or a folder of mbox files)",
            from.display()
        )));
    };
    let store = crate::startup::open_store(&config).map_err(|f| {
        Failure::runtime(format!(
            "{} (import runs with the server stopped)",
            f.message
        ))
    })?;
    let account = store.ensure_account(&address).map_err(Failure::runtime)?;
    let mut totals = Totals::default();
    let tty = std::io::stderr().is_terminal();
    match kind {
        "a Maildir" => {
            for folder in folders(from)? {
                import_folder(&store, account, &folder, &mut totals, tty)?;
            }
            subscribe(&store, account, from)?;
        }
        _ => import_mboxes(&store, account, from, &mut totals, tty)?,
    }
    if tty {
        eprintln!();
    }
    let audit = crate::startup::open_audit(&config)?;
    audit
        .record_durable(Event::AccountChanged {
            account: address.clone(),
            change: format!(
                "imported {} messages into {} mailboxes from {kind}",
                totals.messages, totals.mailboxes
            ),
        })
        .map_err(Failure::runtime)?;
    audit.close().map_err(Failure::runtime)?;
    println!(
        "imported {} messages ({} octets) into {} mailboxes of {address}; {} kept their UID",
        totals.messages, totals.octets, totals.mailboxes, totals.kept_uids
    );
    Ok(())
}

/// An mbox file into INBOX, or each file of a folder into its own mailbox.
fn import_mboxes(
    store: &Store,
    account: AccountId,
    from: &Path,
    totals: &mut Totals,
    tty: bool,
) -> Result<(), Failure> {
    let mut files = Vec::new();
    if from.is_file() {
        files.push((from.to_path_buf(), "INBOX".to_string()));
    } else {
        let entries = std::fs::read_dir(from)
            .map_err(|e| Failure::runtime(format!("{}: {e}", from.display())))?;
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if file.starts_with('.') || !e.path().is_file() {
                continue;
            }
            let stem = file.strip_suffix(".mbox").unwrap_or(&file);
            let name = if stem.eq_ignore_ascii_case("inbox") {
                "INBOX".to_string()
            } else {
                stem.to_string()
            };
            files.push((e.path(), name));
        }
        files.sort();
    }
    for (path, name) in files {
        let mut count = crate::import_mbox::Count::default();
        crate::import_mbox::import_file(store, account, &path, &name, &mut count, tty)?;
        totals.messages += count.messages;
        totals.octets += count.octets;
        totals.mailboxes += 1;
    }
    Ok(())
}

/// INBOX and the Maildir++ subfolders, sorted.
fn folders(root: &Path) -> Result<Vec<Folder>, Failure> {
    let mut out = vec![Folder {
        name: "INBOX".into(),
        path: root.to_path_buf(),
    }];
    let entries = std::fs::read_dir(root)
        .map_err(|e| Failure::runtime(format!("{}: {e}", root.display())))?;
    let mut subs = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix('.') else {
            continue;
        };
        if rest.is_empty() || rest == "." || !e.path().join("cur").is_dir() {
            continue;
        }
        subs.push(Folder {
            name: rest.replace('.', "/"),
            path: e.path(),
        });
    }
    subs.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(subs);
    Ok(out)
}

fn read_dovecot(dir: &Path) -> Dovecot {
    let mut d = Dovecot::default();
    if let Ok(text) = std::fs::read_to_string(dir.join("dovecot-uidlist")) {
        let mut lines = text.lines();
        if let Some(header) = lines.next() {
            let mut fields = header.split(' ');
            match fields.next() {
                Some("1") => d.uid_validity = fields.next().and_then(|v| v.parse().ok()),
                _ => {
                    for f in fields {
                        if let Some(v) = f.strip_prefix('V') {
                            d.uid_validity = v.parse().ok();
                        }
                    }
                }
            }
        }
        for line in lines {
            let Some((uid, rest)) = line.split_once(' ') else {
                continue;
            };
            let Ok(uid) = uid.parse::<u32>() else {
                continue;
            };
            // Version 3: `UID [ext fields] :FILENAME`; version 1: `UID FILENAME`.
            let name = match rest.rfind(" :").map(|i| &rest[i + 2..]) {
                Some(n) => n,
                None => rest.strip_prefix(':').unwrap_or(rest),
            };
            d.uids.insert(base_name(name).to_string(), uid);
        }
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("dovecot-keywords")) {
        for line in text.lines() {
            if let Some((n, word)) = line.split_once(' ')
                && let Ok(n) = n.parse::<u8>()
                && n < 26
            {
                d.keywords.insert((b'a' + n) as char, word.to_string());
            }
        }
    }
    d
}

fn base_name(file: &str) -> &str {
    file.split(':').next().unwrap_or(file)
}

/// Flags of a Maildir file name (`...:2,FRS` plus keyword letters).
fn flags_of(file: &str, keywords: &HashMap<char, String>) -> Flags {
    let mut flags = Flags::default();
    let Some((_, info)) = file.split_once(":2,") else {
        return flags;
    };
    for c in info.chars() {
        match c {
            'D' => flags.system |= Flags::DRAFT,
            'F' => flags.system |= Flags::FLAGGED,
            'R' => flags.system |= Flags::ANSWERED,
            'S' => flags.system |= Flags::SEEN,
            'T' => flags.system |= Flags::DELETED,
            'P' => flags.keywords.push("$Forwarded".into()),
            c => {
                if let Some(k) = keywords.get(&c) {
                    flags.keywords.push(k.clone());
                }
            }
        }
    }
    flags
}

fn import_folder(
    store: &Store,
    account: AccountId,
    folder: &Folder,
    totals: &mut Totals,
    tty: bool,
) -> Result<(), Failure> {
    let name = MailboxName::new(&folder.name)
        .map_err(|e| Failure::runtime(format!("mailbox {:?}: {e}", folder.name)))?;
    let mailbox = match store.mailbox(account, &name).map_err(Failure::runtime)? {
        Some(info) => info.id,
        None => {
            store
                .create_mailbox(account, &name, None)
                .map_err(Failure::runtime)?
                .id
        }
    };
    let dovecot = read_dovecot(&folder.path);
    let keep_uids = match dovecot.uid_validity {
        Some(v) if v > 0 => match store.set_uid_validity(account, mailbox, UidValidity(v)) {
            Ok(()) => true,
            Err(StoreError::NotAllowed(_)) => false,
            Err(e) => return Err(Failure::runtime(e)),
        },
        _ => false,
    };
    // (UID or none, file name, path), UIDs first in order.
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let Ok(entries) = std::fs::read_dir(folder.path.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if file.starts_with('.') || !e.path().is_file() {
                continue;
            }
            let uid = keep_uids
                .then(|| dovecot.uids.get(base_name(&file)).copied())
                .flatten();
            files.push((uid.unwrap_or(u32::MAX), file, e.path()));
        }
    }
    files.sort();
    for (uid, file, path) in files {
        let raw = std::fs::read(&path)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        // Dovecot writes Maildir files with LF line endings.
        let raw = crate::import_mbox::to_crlf(&raw);
        let date = std::fs::metadata(&path)
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        let flags = flags_of(&file, &dovecot.keywords);
        let kept = if uid != u32::MAX {
            match store.append_with_uid(account, mailbox, &raw, &flags, date, Uid(uid)) {
                Ok(_) => true,
                Err(StoreError::NotAllowed(_)) => false,
                Err(e) => return Err(Failure::runtime(format!("{}: {e}", path.display()))),
            }
        } else {
            false
        };
        if kept {
            totals.kept_uids += 1;
        } else {
            store
                .append(account, mailbox, &raw, &flags, date)
                .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        }
        totals.messages += 1;
        totals.octets += raw.len() as u64;
        if tty {
            eprint!(
                "\r{} messages, {} octets ({})",
                totals.messages, totals.octets, folder.name
            );
        }
    }
    totals.mailboxes += 1;
    Ok(())
}

/// Dovecot's `subscriptions` file: version 1 names one a line with `.`
/// between levels; version 2 starts `V\t2`, a blank line, then names with
/// tabs between levels.
fn subscribe(store: &Store, account: AccountId, root: &Path) -> Result<(), Failure> {
    let Ok(text) = std::fs::read_to_string(root.join("subscriptions")) else {
        return Ok(());
    };
    let (names, sep): (Vec<&str>, char) = if text.starts_with("V\t") {
        (
            text.lines().skip_while(|l| !l.is_empty()).skip(1).collect(),
            '\t',
        )
    } else {
        (text.lines().collect(), '.')
    };
    for n in names.into_iter().filter(|n| !n.is_empty()) {
        if let Ok(name) = MailboxName::new(&n.replace(sep, "/")) {
            store
                .set_subscribed(account, &name, true)
                .map_err(Failure::runtime)?;
        }
    }
    Ok(())
}
