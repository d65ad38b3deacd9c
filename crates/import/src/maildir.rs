//! A Maildir into an account: INBOX (`cur/`, `new/` at the top) and its
//! Maildir++ subfolders (`.Sent`, `.Lists.rust` → `Lists/rust`), each with
//! Dovecot's files when present.
//!
//! - `dovecot-uidlist` ([`parse_uidlist`]): its UIDVALIDITY and each file's
//!   UID are kept (the store's `set_uid_validity` and `append_with_uid`), so
//!   clients that synced against Dovecot download nothing again. Version 3
//!   lines are `UID [ext fields] :FILENAME`, version 1 `UID FILENAME`.
//! - `dovecot-keywords` ([`parse_keywords`]): `N NAME`, the keyword behind
//!   the letter `a + N` of a file name's flags.
//! - `subscriptions` at the top ([`parse_subscriptions`]): version 1 names
//!   one a line with `.` between levels; version 2 starts `V\t2`, a blank
//!   line, then names with tabs between levels.
//!
//! Flags come from the `:2,` suffix (D Draft, F Flagged, P `$Forwarded`,
//! R Answered, S Seen, T Deleted); INTERNALDATE is the file's modification
//! time, as Dovecot keeps it. Bare LF line endings become CRLF. Files
//! without a UID (or whose UID is taken) get the next UID; a mailbox that
//! already holds messages keeps its UIDVALIDITY.
//!
//! Speed ([`crate::pipeline`]): [`WORKERS`] threads read, seal and make
//! durable the next messages' blobs at once, and their rows are committed
//! in order, [`BATCH`] per transaction (one flush each), so fsyncs overlap
//! and are shared instead of three per message one after the other. One
//! message per worker is in memory at a time.
//!
//! Resumable ([`crate::resume`]): after each commit a folder's state
//! records how many of its files (in their sorted order) are done, with a
//! chain hash of their keys (UID and base name); a later run goes on after
//! them, once those a killed run committed after its last save are found
//! here by content. A folder whose files changed since has each file
//! looked for among the messages stored since the first run.
//!
//! Limits: a line of these files is at most [`MAX_LINE`] octets, a
//! uidlist at most [`MAX_UIDLIST_ENTRIES`] entries, a keyword at most
//! [`MAX_KEYWORD`] octets; going over one is an error naming file and line.

use crate::resume::{Matcher, Resume, Tracker, digest};
use crate::{ImportError, Result, Totals, ensure_mailbox};
use sealpost_store::{
    AccountId, Flags, MailboxId, MailboxName, Placement, Prepared, Store, StoreError, Uid,
    UidValidity,
};
use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Longest line of `dovecot-uidlist`, `dovecot-keywords` or `subscriptions`.
pub const MAX_LINE: usize = 8 * 1024;
/// Most entries of one `dovecot-uidlist`.
pub const MAX_UIDLIST_ENTRIES: usize = 10_000_000;
/// Longest keyword of `dovecot-keywords`.
pub const MAX_KEYWORD: usize = 255;
/// Most names in `subscriptions`.
pub const MAX_SUBSCRIPTIONS: usize = 100_000;
pub use crate::pipeline::{BATCH, WINDOW, WORKERS};

/// What `dovecot-uidlist` says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Uidlist {
    /// The folder's UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// Base file name (before `:`) → UID.
    pub uids: HashMap<String, u32>,
}

/// A parse error on `line` (1-based).
#[derive(Debug, PartialEq, Eq)]
pub struct LineError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads lines of at most [`MAX_LINE`] octets; `f` gets each (without its
/// line end) and its number.
fn each_line(
    mut input: impl BufRead,
    mut f: impl FnMut(usize, &str) -> std::result::Result<(), String>,
) -> std::result::Result<(), LineError> {
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        number += 1;
        let n = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| LineError {
                line: number,
                message: e.to_string(),
            })?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE {
            return Err(LineError {
                line: number,
                message: format!("longer than {MAX_LINE} octets"),
            });
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        f(number, text).map_err(|message| LineError {
            line: number,
            message,
        })?;
    }
}

/// Parses `dovecot-uidlist`. Lines that are not `UID ...` are skipped (as
/// Dovecot rebuilds the file, a damaged line loses that file's UID only).
pub fn parse_uidlist(input: impl BufRead) -> std::result::Result<Uidlist, LineError> {
    let mut list = Uidlist::default();
    each_line(input, |number, line| {
        if number == 1 {
            let mut fields = line.split(' ');
            match fields.next() {
                Some("1") => list.uid_validity = fields.next().and_then(|v| v.parse().ok()),
                _ => {
                    for f in fields {
                        if let Some(v) = f.strip_prefix('V') {
                            list.uid_validity = v.parse().ok();
                        }
                    }
                }
            }
            return Ok(());
        }
        let Some((uid, rest)) = line.split_once(' ') else {
            return Ok(());
        };
        let Ok(uid) = uid.parse::<u32>() else {
            return Ok(());
        };
        if uid == 0 {
            return Ok(());
        }
        // Version 3: `UID [ext fields] :FILENAME`; version 1: `UID FILENAME`.
        let name = match rest.rfind(" :").map(|i| &rest[i + 2..]) {
            Some(n) => n,
            None => rest.strip_prefix(':').unwrap_or(rest),
        };
        let name = base_name(name);
        if name.is_empty() {
            return Ok(());
        }
        if list.uids.len() >= MAX_UIDLIST_ENTRIES {
            return Err(format!("more than {MAX_UIDLIST_ENTRIES} entries"));
        }
        list.uids.insert(name.to_string(), uid);
        Ok(())
    })?;
    Ok(list)
}

/// Parses `dovecot-keywords`: letter (`a` + N, N below 26) → keyword.
/// Lines that are not `N KEYWORD` with a valid keyword are skipped.
pub fn parse_keywords(
    input: impl BufRead,
) -> std::result::Result<HashMap<char, String>, LineError> {
    let mut keywords = HashMap::new();
    each_line(input, |_, line| {
        let Some((n, word)) = line.split_once(' ') else {
            return Ok(());
        };
        let Ok(n) = n.parse::<u8>() else {
            return Ok(());
        };
        let valid = word.len() <= MAX_KEYWORD
            && !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
        if n < 26 && valid {
            keywords.insert((b'a' + n) as char, word.to_string());
        }
        Ok(())
    })?;
    Ok(keywords)
}

/// Parses `subscriptions` into mailbox names with `/` between levels.
pub fn parse_subscriptions(input: impl BufRead) -> std::result::Result<Vec<String>, LineError> {
    let mut names = Vec::new();
    let mut version2 = false;
    let mut in_body = true;
    each_line(input, |number, line| {
        if number == 1 && line.starts_with("V\t") {
            version2 = true;
            in_body = false;
            return Ok(());
        }
        if !in_body {
            in_body = line.is_empty();
            return Ok(());
        }
        if line.is_empty() {
            return Ok(());
        }
        if names.len() >= MAX_SUBSCRIPTIONS {
            return Err(format!("more than {MAX_SUBSCRIPTIONS} names"));
        }
        let sep = if version2 { '\t' } else { '.' };
        names.push(line.replace(sep, "/"));
        Ok(())
    })?;
    Ok(names)
}

/// A file name without its `:2,...` info part.
pub fn base_name(file: &str) -> &str {
    file.split(':').next().unwrap_or(file)
}

/// Flags of a Maildir file name (`...:2,FRS` plus keyword letters).
pub fn flags_of(file: &str, keywords: &HashMap<char, String>) -> Flags {
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
            'P' => push_keyword(&mut flags, "$Forwarded"),
            c => {
                if let Some(k) = keywords.get(&c) {
                    push_keyword(&mut flags, k);
                }
            }
        }
    }
    flags
}

fn push_keyword(flags: &mut Flags, k: &str) {
    if !flags.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
        flags.keywords.push(k.to_string());
    }
}

/// One Maildir folder to import.
struct Folder {
    name: String,
    path: PathBuf,
}

/// Imports the Maildir at `root` (with its subfolders and subscriptions).
pub fn import(
    store: &Store,
    account: AccountId,
    root: &Path,
    totals: &Totals,
    resume: &Resume,
) -> Result<()> {
    for folder in folders(root)? {
        import_folder(store, account, &folder, totals, resume)?;
    }
    subscribe(store, account, root)
}

/// INBOX and the Maildir++ subfolders, sorted.
fn folders(root: &Path) -> Result<Vec<Folder>> {
    let mut out = vec![Folder {
        name: "INBOX".into(),
        path: root.to_path_buf(),
    }];
    let entries = std::fs::read_dir(root).map_err(|source| ImportError::Io {
        path: root.to_path_buf(),
        source,
    })?;
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

/// Opens and parses one of Dovecot's files, if it is there.
fn read_file<T>(
    path: &Path,
    parse: impl FnOnce(std::io::BufReader<std::fs::File>) -> std::result::Result<T, LineError>,
) -> Result<Option<T>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ImportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse(std::io::BufReader::new(file))
        .map(Some)
        .map_err(|e| ImportError::Format(format!("{}:{}: {}", path.display(), e.line, e.message)))
}

fn import_folder(
    store: &Store,
    account: AccountId,
    folder: &Folder,
    totals: &Totals,
    resume: &Resume,
) -> Result<()> {
    let mailbox = ensure_mailbox(store, account, &folder.name)?;
    let uidlist =
        read_file(&folder.path.join("dovecot-uidlist"), parse_uidlist)?.unwrap_or_default();
    let keywords =
        read_file(&folder.path.join("dovecot-keywords"), parse_keywords)?.unwrap_or_default();
    let keep_uids = match uidlist.uid_validity {
        Some(v) if v > 0 => match store.set_uid_validity(account, mailbox, UidValidity(v)) {
            Ok(()) => true,
            // Kept too when an earlier run (of this import) gave it.
            Err(StoreError::NotAllowed(_)) => {
                store.snapshot(account, mailbox)?.mailbox.uid_validity.0 == v
            }
            Err(e) => return Err(e.into()),
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
                .then(|| uidlist.uids.get(base_name(&file)).copied())
                .flatten();
            files.push((uid.unwrap_or(u32::MAX), file, e.path()));
        }
    }
    files.sort();
    let mut tracker = Tracker::begin(
        resume,
        store,
        account,
        mailbox,
        &folder.path,
        &folder.name,
        digest(&[b"maildir"]),
        |_| true,
    )?;
    let (todo, prefix) = still_to_import(store, account, mailbox, &files, &mut tracker)?;
    totals.already.fetch_add(
        (files.len() - todo.len()) as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    // The files done stay a prefix of the sorted list (the common case):
    // each commit records how long it is now, and the chain of its keys.
    let mut chain = (tracker.progress.done as usize, tracker.progress.check);
    let mut checkpoint = |mark: u64, appended: &[sealpost_store::Appended]| {
        let highest = appended.iter().map(|a| a.uid).max();
        if prefix {
            while chain.0 < mark as usize {
                chain.1 = link(&chain.1, &files[chain.0]);
                chain.0 += 1;
            }
        }
        tracker.committed(appended.len() as u64, highest, 0, chain.1)
    };
    import_files(
        store,
        account,
        mailbox,
        &keywords,
        &todo,
        totals,
        &mut checkpoint,
    )?;
    totals
        .mailboxes
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// One message file: its UID from the uidlist (`u32::MAX`: none), its
/// name and its path.
type File = (u32, String, PathBuf);

/// The next link of the chain of the keys of the files done (UID and base
/// name: a file renamed for its flags, or moved from `new/` to `cur/`,
/// keeps its key).
fn link(chain: &[u8; 32], file: &File) -> [u8; 32] {
    digest(&[chain, &file.0.to_le_bytes(), base_name(&file.1).as_bytes()])
}

/// The files of a folder a run still has to import, each with its mark
/// (its position + 1), and whether the files done stay a prefix of the
/// sorted list. A run that resumes where the list is as it was goes on
/// after the files done, once those a killed run committed after its
/// last save are found here by content; where the folder changed since,
/// every file is looked for among the messages stored since the first
/// run (all of them read once).
fn still_to_import<'f>(
    store: &Store,
    account: AccountId,
    mailbox: MailboxId,
    files: &'f [File],
    tracker: &mut Tracker<'_>,
) -> Result<(Vec<(u64, &'f File)>, bool)> {
    let marked = |from: usize| -> Vec<(u64, &'f File)> {
        files
            .iter()
            .enumerate()
            .skip(from)
            .map(|(i, f)| (i as u64 + 1, f))
            .collect()
    };
    if !tracker.resumed {
        return Ok((marked(0), true));
    }
    let p = tracker.progress.clone();
    let done = usize::try_from(p.done).unwrap_or(usize::MAX);
    let holds = done <= files.len()
        && files[..done]
            .iter()
            .fold([0; 32], |chain, f| link(&chain, f))
            == p.check;
    if holds {
        let mut matcher = Matcher::above(store, account, mailbox, p.last_uid)?;
        let (mut next, mut chain, mut highest) = (done, p.check, None);
        while next < files.len() && !matcher.is_empty() {
            let Some(uid) = matcher.take(&read_crlf(&files[next].2)?)? else {
                break;
            };
            highest = highest.max(Some(uid));
            chain = link(&chain, &files[next]);
            next += 1;
        }
        if next > done {
            tracker.committed((next - done) as u64, highest, 0, chain)?;
        }
        return Ok((marked(next), true));
    }
    let mut matcher = Matcher::above(store, account, mailbox, p.base_uid)?;
    let mut todo = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if matcher.is_empty() || matcher.take(&read_crlf(&f.2)?)?.is_none() {
            todo.push((i as u64 + 1, f));
        }
    }
    // No prefix any more: the next run looks again the same way.
    tracker.progress.done = u64::MAX;
    tracker.save()?;
    Ok((todo, false))
}

/// A file's octets, line endings made CRLF as they are stored.
fn read_crlf(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(crate::to_crlf(&raw))
}

/// The message in `file`, read, sealed and its blob made durable, with
/// where it goes.
fn prepare<'s>(
    store: &'s Store,
    account: AccountId,
    file: &File,
    keywords: &HashMap<char, String>,
) -> Result<(Prepared<'s>, Placement)> {
    let (uid, name, path) = file;
    let io = |source| ImportError::Io {
        path: path.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > crate::MAX_MESSAGE_SIZE as u64 {
        return Err(ImportError::Format(format!(
            "{}: larger than {} octets",
            path.display(),
            crate::MAX_MESSAGE_SIZE
        )));
    }
    let internal_date = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    // Dovecot writes Maildir files with LF line endings: made CRLF while
    // the file is stored, a piece at a time.
    let prepared = crate::stream::prepare_file(store, path, account)?;
    let placement = Placement {
        flags: flags_of(name, keywords),
        internal_date,
        keep_uid: (*uid != u32::MAX).then_some(Uid(*uid)),
    };
    Ok((prepared, placement))
}

/// Stores `files` in `mailbox`, in their order ([`crate::pipeline`]): the
/// workers read, seal and make durable the next files' messages at once,
/// their rows are committed in order, so the UIDs asked for are kept as in
/// a one-by-one import. Each worker holds one message's pieces, so memory
/// stays flat. It returns once every message is committed durably; on an
/// error, the messages before the failing one are committed and what came
/// after leaves no blob behind.
fn import_files(
    store: &Store,
    account: AccountId,
    mailbox: MailboxId,
    keywords: &HashMap<char, String>,
    files: &[(u64, &File)],
    totals: &Totals,
    checkpoint: &mut dyn FnMut(u64, &[sealpost_store::Appended]) -> Result<()>,
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    crate::pipeline::import_in_order(
        store,
        mailbox,
        totals,
        |sender| {
            for &(mark, file) in files {
                let octets = std::fs::metadata(&file.2).map_or(0, |m| m.len());
                if !sender.send(file, octets, mark) {
                    break;
                }
            }
            Ok(())
        },
        |file| prepare(store, account, file, keywords),
        checkpoint,
    )
}

fn subscribe(store: &Store, account: AccountId, root: &Path) -> Result<()> {
    let names = read_file(&root.join("subscriptions"), parse_subscriptions)?.unwrap_or_default();
    for n in names {
        if let Ok(name) = MailboxName::new(&n) {
            store.set_subscribed(account, &name, true)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidlist_versions() {
        let v3 = parse_uidlist(&b"3 V1577000000 N9 G1a2b\n3 :a.M1\n7 W300 :b.M2:2,S\nx :c\n"[..])
            .unwrap();
        assert_eq!(v3.uid_validity, Some(1_577_000_000));
        assert_eq!(v3.uids.get("a.M1"), Some(&3));
        assert_eq!(v3.uids.get("b.M2"), Some(&7));
        assert_eq!(v3.uids.len(), 2);
        let v1 = parse_uidlist(&b"1 42 5\n4 d.M3:2,\n"[..]).unwrap();
        assert_eq!(v1.uid_validity, Some(42));
        assert_eq!(v1.uids.get("d.M3"), Some(&4));
    }

    #[test]
    fn a_line_over_the_limit_is_refused_with_its_number() {
        let mut text = b"3 V1\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        let e = parse_uidlist(&text[..]).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("longer than"));
    }

    #[test]
    fn keywords_and_their_limits() {
        let long = "k".repeat(MAX_KEYWORD + 1);
        let text = format!("0 Work\n1 $Label1\n26 Past\n2 bad(word\n3 {long}\n");
        let k = parse_keywords(text.as_bytes()).unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k[&'a'], "Work");
        assert_eq!(k[&'b'], "$Label1");
    }

    #[test]
    fn subscriptions_both_versions() {
        assert_eq!(
            parse_subscriptions(&b"V\t2\n\nLists\trust\nSent\n"[..]).unwrap(),
            ["Lists/rust", "Sent"]
        );
        assert_eq!(
            parse_subscriptions(&b"Lists.rust\n\nSent\n"[..]).unwrap(),
            ["Lists/rust", "Sent"]
        );
    }

    #[test]
    fn file_names_give_flags() {
        let k = HashMap::from([('a', "Work".to_string())]);
        let f = flags_of("1.M1:2,FPRSTa", &k);
        assert_eq!(
            f.system,
            Flags::FLAGGED | Flags::ANSWERED | Flags::SEEN | Flags::DELETED
        );
        assert_eq!(f.keywords, ["$Forwarded", "Work"]);
        assert_eq!(flags_of("1.M1", &k), Flags::default());
    }
}
